package doc2repo

import (
	"bytes"
	"context"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// ownImageRuntime is one runtime TestGradeInTheTaskOwnImage runs on, with
// the image builder that keeps images where it sees them.
type ownImageRuntime struct {
	name  string
	setup func(t *testing.T) (rt sandbox.Runtime, b *images.Builder, base string, removeImage func(string))
}

// TestGradeInTheTaskOwnImage: a Doc2Repo task that names its own image
// (DeNovoSWE's image: the reference installed, plus what only that image
// has, here a marker file) grades in that image after the agent's purge,
// committed once per run: the commit keeps the image's own files, the
// purge is proven (an empty submission scores 0 where the reference would
// otherwise be found) and the reference's own code scores every test. On
// Docker, and on containerd with the images built there (no Docker).
func TestGradeInTheTaskOwnImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	for _, r := range []ownImageRuntime{
		{"docker", func(t *testing.T) (sandbox.Runtime, *images.Builder, string, func(string)) {
			d := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
			return d, images.New(testenv.Docker(t), images.Options{}), testenv.BaseImage(t), func(ref string) { _ = d.RemoveImage(context.Background(), ref) }
		}},
		{"containerd", func(t *testing.T) (sandbox.Runtime, *images.Builder, string, func(string)) {
			inst := testenv.StartContainerd(t)
			cli, err := containerd.New(inst.Address)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cli.Close() })
			c := sandbox.NewContainerd(cli, sandbox.ContainerdOptions{Snapshotter: inst.Snapshotter})
			t.Cleanup(func() { _ = c.CloseAll(context.Background()) })
			b := images.NewContainerd(c, images.Options{CacheDir: images.DefaultCacheDir()})
			base, err := b.Base(t.Context(), images.BaseSpec{}) // the kept archive, else debootstrap
			if err != nil {
				t.Fatal(err)
			}
			return c, b, base.Tag, func(ref string) { _ = c.RemoveImage(context.Background(), ref) }
		}},
	} {
		t.Run(r.name, func(t *testing.T) { gradeInTheTaskOwnImage(t, r) })
	}
}

func gradeInTheTaskOwnImage(t *testing.T, r ownImageRuntime) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	rt, b, baseImage, removeImage := r.setup(t)
	base, err := b.Resolve(ctx, baseImage)
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
	// The task's own image: the reference installed plus a file only it has.
	sb, err := rt.Create(ctx, sandbox.Spec{Image: withRef.Tag, RunID: "doc2repo-own-image", Task: tk.ID, Workdir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"sh", "-c", "echo only-in-the-task-image > /opt/own-image-marker"}}); err != nil || res.ExitCode != 0 {
		t.Fatalf("write the marker: %v %s", err, res.Output)
	}
	if _, err := sb.(sandbox.Committer).Commit(ctx, own, nil); err != nil {
		t.Fatal(err)
	}
	sb.Close(ctx)
	t.Cleanup(func() { removeImage(own) })
	tk.Doc2Repo.Image = own

	h := NewHooks(rt, HooksOptions{RunID: "doc2repo-own-image"})
	graded, ok, err := h.GradeImage(ctx, *tk, own)
	if err != nil || !ok {
		t.Fatalf("GradeImage: %q %v %v", graded, ok, err)
	}
	t.Cleanup(func() { removeImage(graded) })
	if again, _, _ := h.GradeImage(ctx, *tk, own); again != graded {
		t.Errorf("second GradeImage: %q, want the same commit %q", again, graded)
	}
	sb, err = rt.Create(ctx, sandbox.Spec{Image: graded, RunID: "doc2repo-own-image", Task: tk.ID, Workdir: "/"})
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
