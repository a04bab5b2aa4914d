package doc2repo

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// TestGradeInTheTaskOwnImage: a Doc2Repo task that names its own image
// (DeNovoSWE's image: the reference installed, plus what only that image
// has, here a marker file) grades in that image after the agent's purge,
// committed once per run: the commit keeps the image's own files, the
// purge is proven (an empty submission scores 0 where the reference would
// otherwise be found) and the reference's own code scores every test.
func TestGradeInTheTaskOwnImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	ctx := context.Background()
	cli := testenv.Docker(t)
	rt := sandbox.NewDocker(cli, sandbox.Options{})
	b := images.New(cli, images.Options{})
	base, err := b.Resolve(ctx, testenv.BaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Env(ctx, base, images.EnvSpec{})
	if err != nil {
		t.Fatal(err)
	}
	tk := task(t)
	tk.Doc2Repo.Image = ""
	withRef, err := b.Doc2Repo(ctx, env, *tk) // the reference installed, as a publisher's image has it
	if err != nil {
		t.Fatal(err)
	}
	own := "sweval-test/own-image:" + tk.ID
	dockerfile := "FROM " + withRef.Tag + "\nRUN echo only-in-the-task-image > /opt/own-image-marker\n"
	buildDockerfile(t, cli, own, dockerfile)
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), own, client.ImageRemoveOptions{}) })
	tk.Doc2Repo.Image = own

	h := NewHooks(rt, HooksOptions{RunID: "doc2repo-own-image"})
	graded, ok, err := h.GradeImage(ctx, *tk, own)
	if err != nil || !ok {
		t.Fatalf("GradeImage: %q %v %v", graded, ok, err)
	}
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), graded, client.ImageRemoveOptions{}) })
	if again, _, _ := h.GradeImage(ctx, *tk, own); again != graded {
		t.Errorf("second GradeImage: %q, want the same commit %q", again, graded)
	}
	sb, err := rt.Create(ctx, sandbox.Spec{Image: graded, RunID: "doc2repo-own-image", Task: tk.ID, Workdir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	marker, err := sandbox.ReadFile(ctx, sb, "/opt/own-image-marker")
	sb.Close(ctx)
	if err != nil || !bytes.Contains(marker, []byte("only-in-the-task-image")) {
		t.Errorf("the graded image lacks the task image's own file: %q %v", marker, err)
	}
	ref, err := TarDir(tk.Doc2Repo.Reference)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		sub    Submission
		passed int
	}{
		{"reference", Submission{Archive: ref}, tk.Doc2Repo.DeclaredTests},
		{"empty", Submission{}, 0},
	} {
		v, rep, err := Grade(ctx, rt, tk, c.sub, Options{Image: graded, RunID: "doc2repo-own-image"})
		if err != nil || v.Passed != c.passed {
			t.Errorf("%s in the purged commit: %d/%d (%v)\n%s", c.name, v.Passed, v.Declared, err, lastLines(rep.Log, 30))
		}
	}
	// What the purge closes: the same empty submission in the task's image
	// as published.
	v, _, err := Grade(ctx, rt, tk, Submission{}, Options{Image: own, RunID: "doc2repo-own-image"})
	t.Logf("empty submission in the unpurged image: %d/%d (%v)", v.Passed, v.Declared, err)
}

// buildDockerfile builds a one-file context (the classic builder, no
// network) and fails the test on a failed step.
func buildDockerfile(t *testing.T, cli *client.Client, tag, dockerfile string) {
	t.Helper()
	var ctxTar bytes.Buffer
	if err := sandbox.WriteFiles(&ctxTar, sandbox.File{Name: "Dockerfile", Data: []byte(dockerfile), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	res, err := cli.ImageBuild(context.Background(), &ctxTar, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, NetworkMode: "none", Version: build.BuilderV1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	if strings.Contains(out.String(), `"error"`) {
		t.Fatalf("build %s: %s", tag, out.String())
	}
}
