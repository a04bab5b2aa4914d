package images

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/internal/testenv"
)

// logLines collects slog messages so tests can count builds.
type logLines struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, string(p))
	return len(p), nil
}

func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, substr) {
			n++
		}
	}
	return n
}

func testBuilder(t testing.TB) (*Builder, *client.Client, *logLines) {
	t.Helper()
	cli := testenv.Docker(t)
	logs := &logLines{}
	h := slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	return New(cli, Options{Logger: slog.New(h), CacheDir: t.TempDir(), TempDir: t.TempDir()}), cli, logs
}

func removeImageAtEnd(t testing.TB, cli *client.Client, tag string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true}); err != nil && !isNotFound(err) {
			t.Errorf("cleanup: remove %s: %v", tag, err)
		}
	})
}

// hostGit runs git on the host for fixtures, isolated from user config.
func hostGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// repoFixture makes <cache>/acme__widget.git with history c1..c4 on main, a
// tag on c4 and a side branch off the base; base is c2. A nonce makes every
// run's commit ids (and so the instance key) new, so the build really runs.
type repoFixture struct {
	cache, bare string
	base        string
	future      []string // commits that must not be in the image
	task        benchmarks.Task
}

func newRepoFixture(t *testing.T) repoFixture {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	cache := filepath.Join(root, "cache")
	os.MkdirAll(work, 0o755)
	os.MkdirAll(cache, 0o755)
	hostGit(t, work, "init", "-q", "--initial-branch=main")
	nonce := fmt.Sprint(time.Now().UnixNano())
	var commits []string
	for i := 1; i <= 4; i++ {
		os.WriteFile(filepath.Join(work, "widget.py"), []byte(fmt.Sprintf("VERSION = %d  # %s\n", i, nonce)), 0o644)
		os.WriteFile(filepath.Join(work, fmt.Sprintf("file%d.txt", i)), []byte("secret future content "+nonce+"\n"), 0o644)
		hostGit(t, work, "add", "-A")
		hostGit(t, work, "commit", "-q", "-m", fmt.Sprintf("c%d", i))
		commits = append(commits, hostGit(t, work, "rev-parse", "HEAD"))
	}
	hostGit(t, work, "tag", "v4", commits[3])
	hostGit(t, work, "checkout", "-q", "-b", "side", commits[1])
	os.WriteFile(filepath.Join(work, "side.txt"), []byte("side\n"), 0o644)
	hostGit(t, work, "add", "-A")
	hostGit(t, work, "commit", "-q", "-m", "side")
	side := hostGit(t, work, "rev-parse", "HEAD")
	bare := filepath.Join(cache, "acme__widget.git")
	hostGit(t, root, "clone", "-q", "--bare", "--no-local", work, bare)
	return repoFixture{
		cache: cache, bare: bare, base: commits[1],
		future: []string{commits[2], commits[3], side},
		task:   benchmarks.Task{ID: "acme__widget-1", Kind: benchmarks.KindSWEBench, Repo: "acme/widget", BaseCommit: commits[1]},
	}
}

// container runs a long-lived container from image (no network) and returns
// an exec function; it is removed at the end of the test.
func startContainer(t *testing.T, cli *client.Client, image string) func(cmd ...string) (string, int) {
	t.Helper()
	ctx := context.Background()
	cr, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Image: image,
		Config: &container.Config{
			Cmd:    []string{"sleep", "infinity"},
			Env:    []string{"PATH=" + DefaultPATH},
			Labels: map[string]string{LabelManaged: "1", "sweval.test": t.Name()},
		},
		HostConfig: &container.HostConfig{NetworkMode: "none", CapDrop: []string{"ALL"}},
	})
	if err != nil {
		t.Fatalf("create container from %s: %v", image, err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), cr.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := cli.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start container: %v", err)
	}
	return func(cmd ...string) (string, int) {
		t.Helper()
		ex, err := cli.ExecCreate(ctx, cr.ID, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
		if err != nil {
			t.Fatalf("exec create %v: %v", cmd, err)
		}
		at, err := cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
		if err != nil {
			t.Fatalf("exec attach %v: %v", cmd, err)
		}
		var out bytes.Buffer
		stdcopy.StdCopy(&out, &out, at.Reader)
		at.Close()
		for {
			in, err := cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
			if err != nil {
				t.Fatalf("exec inspect: %v", err)
			}
			if !in.Running {
				return out.String(), in.ExitCode
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestInstanceHasNoFutureHistory(t *testing.T) {
	b, cli, _ := testBuilder(t)
	ctx := t.Context()
	env, err := b.Resolve(ctx, testenv.BaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	fx := newRepoFixture(t)
	t0 := time.Now()
	ref, err := b.Instance(ctx, env, fx.task, fx.cache)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("instance image %s built in %s", ref.Tag, time.Since(t0).Round(time.Millisecond))
	removeImageAtEnd(t, cli, ref.Tag)
	if ref.Layer != LayerInstance || !strings.HasPrefix(ref.Tag, "sweval/instance:acme__widget-") {
		t.Errorf("ref = %+v", ref)
	}
	if data, err := os.ReadFile(b.LogPath(ref.Tag)); err != nil {
		t.Errorf("no build log: %v", err)
	} else {
		t.Logf("build log:\n%s", data)
	}

	run := startContainer(t, cli, ref.Tag)
	out, code := run("git", "-C", "/testbed", "log", "--format=%H")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("git log: exit %d: %s", code, out)
	}
	hist := strings.Fields(out)
	if hist[0] != fx.base {
		t.Errorf("HEAD = %s, want base %s", hist[0], fx.base)
	}
	if len(hist) != 2 {
		t.Errorf("history = %v, want c2 c1", hist)
	}
	for _, c := range fx.future {
		if out, code := run("git", "-C", "/testbed", "cat-file", "-e", c); code == 0 {
			t.Errorf("future commit %s is in the image (%s)", c, out)
		}
	}
	checks := []struct {
		cmd  []string
		want string
	}{
		{[]string{"git", "-C", "/testbed", "status", "--porcelain"}, ""},
		{[]string{"git", "-C", "/testbed", "remote"}, ""},
		{[]string{"git", "-C", "/testbed", "tag"}, ""},
		{[]string{"git", "-C", "/testbed", "for-each-ref", "--format=%(refname)"}, "refs/heads/main"},
		{[]string{"git", "-C", "/testbed", "reflog"}, ""},
		{[]string{"git", "-C", "/testbed", "fsck", "--unreachable", "--no-progress"}, ""},
		{[]string{"sh", "-c", "ls /testbed/file3.txt /testbed/side.txt 2>/dev/null | wc -l"}, "0"},
		{[]string{"pwd"}, "/testbed"},
	}
	for _, c := range checks {
		out, code := run(c.cmd...)
		if code != 0 || strings.TrimSpace(out) != c.want {
			t.Errorf("%v: exit %d, output %q, want %q", c.cmd, code, strings.TrimSpace(out), c.want)
		}
	}
	// Present now: a second call does not rebuild.
	again, err := b.Instance(ctx, env, fx.task, fx.cache)
	if err != nil || again != ref {
		t.Errorf("second Instance = %+v, %v; want %+v", again, err, ref)
	}
}

func TestInstanceConcurrentBuildsOnce(t *testing.T) {
	b, cli, logs := testBuilder(t)
	ctx := t.Context()
	env, err := b.Resolve(ctx, testenv.BaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	fx := newRepoFixture(t)
	// A second builder (own lock file description, same cache dir) stands in
	// for another process.
	b2 := New(cli, b.opts)
	refs := make([]Ref, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() {
			bb := b
			if i%2 == 1 {
				bb = b2
			}
			refs[i], errs[i] = bb.Instance(ctx, env, fx.task, fx.cache)
		})
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if refs[i] != refs[0] {
			t.Errorf("ref %d = %+v, want %+v", i, refs[i], refs[0])
		}
	}
	removeImageAtEnd(t, cli, refs[0].Tag)
	if n := logs.count("instance image built"); n != 1 {
		t.Errorf("built %d times, want once", n)
	}
}

func TestInstanceErrors(t *testing.T) {
	b, _, _ := testBuilder(t)
	ctx := t.Context()
	env, err := b.Resolve(ctx, testenv.BaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	fx := newRepoFixture(t)
	missingCommit := fx.task
	missingCommit.BaseCommit = strings.Repeat("ab", 20)
	otherRepo := fx.task
	otherRepo.Repo = "acme/gadget"
	optionCommit := fx.task
	optionCommit.BaseCommit = "--upload-pack=x"
	tests := []struct {
		name  string
		task  benchmarks.Task
		cache string
		want  []string
	}{
		{"no cache flag", fx.task, "", []string{"acme__widget-1", "--repo-cache"}},
		{"repo not cached", otherRepo, fx.cache, []string{"acme__widget-1", filepath.Join(fx.cache, "acme__gadget.git"), "git clone --bare"}},
		{"commit not cached", missingCommit, fx.cache, []string{"acme__widget-1", missingCommit.BaseCommit, fx.bare, "fetch"}},
		{"option-like commit", optionCommit, fx.cache, []string{"not a hex commit"}},
	}
	for _, tc := range tests {
		_, err := b.Instance(ctx, env, tc.task, tc.cache)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}

func TestInstanceUsesTaskImageOrFallsBack(t *testing.T) {
	b, cli, logs := testBuilder(t)
	ctx := t.Context()
	baseImg := testenv.BaseImage(t)
	env, err := b.Resolve(ctx, baseImg)
	if err != nil {
		t.Fatal(err)
	}
	// An OpenSWE row whose image is present is used as it is.
	task := benchmarks.Task{ID: "row-1", Kind: benchmarks.KindOpenSWE, ImageName: baseImg}
	ref, err := b.Instance(ctx, env, task, "")
	if err != nil || ref.Tag != baseImg {
		t.Fatalf("Instance = %+v, %v; want the task's image", ref, err)
	}
	// A row whose Dockerfile builds FROM a present image gets it built, with
	// no network.
	fx := newRepoFixture(t)
	task = fx.task
	task.Kind = benchmarks.KindOpenSWE
	task.ImageName = "openswe/not-here:1"
	task.Dockerfile = fmt.Sprintf("FROM %s\nRUN echo %d > /built-from-row\n", baseImg, time.Now().UnixNano())
	ref, err = b.Instance(ctx, env, task, fx.cache)
	if err != nil {
		t.Fatal(err)
	}
	removeImageAtEnd(t, cli, ref.Tag)
	if ref.Layer != LayerTask {
		t.Errorf("ref = %+v, want the task layer", ref)
	}
	if out, code := startContainer(t, cli, ref.Tag)("cat", "/built-from-row"); code != 0 {
		t.Errorf("row's RUN did not happen: %d %s", code, out)
	}
	// A Dockerfile FROM a missing image falls back to the standard layer and
	// says so.
	task.Dockerfile = "FROM registry.invalid/nothing:1\nRUN true\n"
	ref, err = b.Instance(ctx, env, task, fx.cache)
	if err != nil {
		t.Fatal(err)
	}
	removeImageAtEnd(t, cli, ref.Tag)
	if ref.Layer != LayerInstance {
		t.Errorf("ref = %+v, want the standard instance layer", ref)
	}
	if logs.count("falling back to the standard instance layer") != 1 || logs.count("registry.invalid/nothing:1") == 0 {
		t.Errorf("fallback not logged with its reason: %q", logs.msgs)
	}
}

// makeDeb builds a tiny .deb with dpkg-deb.
func makeDeb(t *testing.T, dir, nonce string) {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not on PATH: cannot make a test .deb")
	}
	root := filepath.Join(t.TempDir(), "pkg")
	os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr/share/sweval-itest"), 0o755)
	os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte("Package: sweval-itest-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: sweval <t@example.invalid>\nDescription: sweval test package\n"), 0o644)
	os.WriteFile(filepath.Join(root, "usr/share/sweval-itest/hello.txt"), []byte("hello "+nonce+"\n"), 0o644)
	out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, filepath.Join(dir, "sweval-itest-hello_1.0_all.deb")).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
}

// makeWheel writes a minimal pure-Python wheel.
func makeWheel(t *testing.T, dir, nonce string) {
	t.Helper()
	files := []struct{ name, body string }{
		{"swevalitest/__init__.py", "VALUE = 42  # " + nonce + "\n"},
		{"swevalitest-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: swevalitest\nVersion: 1.0\n"},
		{"swevalitest-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: sweval-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, _ := zw.Create(f.name)
		w.Write([]byte(f.body))
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString("swevalitest-1.0.dist-info/RECORD,,\n")
	w, _ := zw.Create("swevalitest-1.0.dist-info/RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "swevalitest-1.0-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnvInstallsOffline(t *testing.T) {
	b, cli, _ := testBuilder(t)
	ctx := t.Context()
	base, err := b.Resolve(ctx, testenv.BaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	// No files: the env is the base.
	if ref, err := b.Env(ctx, base, EnvSpec{}); err != nil || ref != base {
		t.Fatalf("empty env = %+v, %v; want the base", ref, err)
	}
	nonce := fmt.Sprint(time.Now().UnixNano())
	debs, wheels := t.TempDir(), t.TempDir()
	makeDeb(t, debs, nonce)
	makeWheel(t, wheels, nonce)
	t0 := time.Now()
	ref, err := b.Env(ctx, base, EnvSpec{DebsDir: debs, WheelsDir: wheels})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("env image %s built in %s", ref.Tag, time.Since(t0).Round(time.Millisecond))
	removeImageAtEnd(t, cli, ref.Tag)
	if ref.Layer != LayerEnv || !strings.HasPrefix(ref.Tag, EnvRepo+":") {
		t.Errorf("ref = %+v", ref)
	}
	run := startContainer(t, cli, ref.Tag)
	for _, c := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"cat", "/usr/share/sweval-itest/hello.txt"}, "hello " + nonce},
		{[]string{"dpkg-query", "-W", "-f=${Status}", "sweval-itest-hello"}, "install ok installed"},
		{[]string{"python3", "-c", "import swevalitest; print(swevalitest.VALUE)"}, "42"},
		{[]string{"sh", "-c", "ls /tmp/sweval-env 2>/dev/null | wc -l"}, "0"},
	} {
		out, code := run(c.cmd...)
		if code != 0 || strings.TrimSpace(out) != c.want {
			t.Errorf("%v: exit %d, %q, want %q", c.cmd, code, strings.TrimSpace(out), c.want)
		}
	}
	// Labels say what it is; List finds it, parented on the base's key.
	imgs, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, im := range imgs {
		if im.Key == ref.Key {
			found = im.Layer == LayerEnv && im.Parent == base.Key
		}
	}
	if !found {
		t.Errorf("List does not show %s as an env on %s", ref.Key, base.Key)
	}
}

func TestPruneOnlyOursAndRefusesRunning(t *testing.T) {
	b, cli, _ := testBuilder(t)
	ctx := t.Context()
	env, err := b.Resolve(ctx, testenv.BaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	fx := newRepoFixture(t)
	ref, err := b.Instance(ctx, env, fx.task, fx.cache)
	if err != nil {
		t.Fatal(err)
	}
	removeImageAtEnd(t, cli, ref.Tag)
	mine := func(im Image) bool { return im.Key == ref.Key }

	stop := startContainer(t, cli, ref.Tag) // running: prune must refuse
	_ = stop
	removed, err := b.Prune(ctx, PruneOptions{Match: mine})
	if err == nil || len(removed) != 0 || !strings.Contains(err.Error(), "used by container") {
		t.Fatalf("prune with a running user: removed %v, err %v", removed, err)
	}
	if ok, _ := b.present(ctx, ref.Tag); !ok {
		t.Fatal("image removed despite a running container")
	}
	dry, err := b.Prune(ctx, PruneOptions{Match: mine, Force: true, DryRun: true})
	if err != nil || len(dry) != 1 {
		t.Fatalf("dry run: %v, %v", dry, err)
	}
	if ok, _ := b.present(ctx, ref.Tag); !ok {
		t.Fatal("dry run removed the image")
	}
	removed, err = b.Prune(ctx, PruneOptions{Match: mine, Force: true})
	if err != nil || len(removed) != 1 || removed[0] != ref.Tag {
		t.Fatalf("forced prune: removed %v, err %v", removed, err)
	}
	if ok, _ := b.present(ctx, ref.Tag); ok {
		t.Fatal("image still present after prune")
	}
	// The base test image is not touched.
	if ok, _ := b.present(ctx, env.Tag); !ok {
		t.Fatalf("prune removed %s", env.Tag)
	}
}

func TestBaseEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("debootstrap takes about a minute: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("debootstrap needs root")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("debootstrap not installed")
	}
	b, cli, logs := testBuilder(t)
	ctx := t.Context()
	// A small list of its own, so its key clashes with no real base image.
	spec := BaseSpec{Packages: []string{"patch"}, Aliases: []string{"sweval/base-itest:alias"}}
	ref := b.BaseRef(spec)
	removeImageAtEnd(t, cli, "sweval/base-itest:alias")
	removeImageAtEnd(t, cli, ref.Tag)
	if ok, _ := b.present(ctx, ref.Tag); ok {
		if _, err := cli.ImageRemove(ctx, ref.Tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	got, err := b.Base(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	secs := time.Since(t0).Seconds()
	if got != ref {
		t.Errorf("Base = %+v, want %+v", got, ref)
	}
	in, err := cli.ImageInspect(ctx, ref.Tag)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("base image %s: built in %.0f s, %d MB", ref.Tag, secs, in.Size/1e6)
	if l := in.Config.Labels; l[LabelManaged] != "1" || l[LabelLayer] != LayerBase || l[LabelKey] != ref.Key {
		t.Errorf("labels = %v", l)
	}
	if !strings.Contains(strings.Join(in.Config.Env, " "), "PATH="+DefaultPATH) || in.Config.WorkingDir != "/" {
		t.Errorf("config env %v, workdir %q", in.Config.Env, in.Config.WorkingDir)
	}
	alias, err := cli.ImageInspect(ctx, "sweval/base-itest:alias")
	if err != nil || alias.ID != in.ID {
		t.Errorf("alias not tagged: %v", err)
	}
	run := startContainer(t, cli, ref.Tag)
	if out, code := run("patch", "--version"); code != 0 || !strings.Contains(out, "GNU patch") {
		t.Errorf("patch --version: %d %s", code, out)
	}
	if out, code := run("sh", "-c", "ls /var/cache/apt/archives/*.deb 2>/dev/null | wc -l"); code != 0 || strings.TrimSpace(out) != "0" {
		t.Errorf("downloaded .debs left in the image: %s", out)
	}
	logData, err := os.ReadFile(b.LogPath(ref.Tag))
	if err != nil || !strings.Contains(string(logData), "debootstrap") || !strings.Contains(string(logData), "done in") {
		t.Errorf("build log incomplete (%v)", err)
	}
	// No rootfs left behind.
	if left, _ := filepath.Glob(filepath.Join(b.opts.TempDir, "sweval-rootfs-*")); len(left) != 0 {
		t.Errorf("rootfs left: %v", left)
	}
	// Present: skipped.
	if _, err := b.Base(ctx, spec); err != nil || logs.count("base image present") != 1 {
		t.Errorf("second Base: %v; present logged %d times", err, logs.count("base image present"))
	}
}

func TestPrepareWithExistingBaseAndDoc2Repo(t *testing.T) {
	b, _, _ := testBuilder(t)
	ctx := t.Context()
	img := testenv.BaseImage(t)
	env, err := b.Prepare(ctx, Stack{BaseImage: img})
	if err != nil {
		t.Fatal(err)
	}
	if env.Tag != img || env.Key == "" {
		t.Fatalf("Prepare = %+v, want %s with a key", env, img)
	}
	if _, err := b.Prepare(ctx, Stack{BaseImage: "sweval/absent:nope"}); err == nil || !strings.Contains(err.Error(), "sweval/absent:nope") {
		t.Errorf("missing base: err = %v", err)
	}
	// A Doc2Repo task runs in the env (its workspace is made elsewhere).
	task := benchmarks.Task{ID: "d2r-1", Kind: benchmarks.KindDoc2Repo, Doc2Repo: &benchmarks.Doc2Repo{Spec: "x"}}
	if ref, err := b.Instance(ctx, env, task, ""); err != nil || ref != env {
		t.Errorf("doc2repo Instance = %+v, %v; want the env", ref, err)
	}
}

// TestInstanceTestbedDepth: with TestbedDepth the instance keeps only that
// many commits of base_commit's history (a shallow repository git reads
// as usual), under a key of its own.
func TestInstanceTestbedDepth(t *testing.T) {
	full, cli, _ := testBuilder(t)
	shallow := New(cli, Options{CacheDir: t.TempDir(), TempDir: t.TempDir(), TestbedDepth: 1})
	ctx := t.Context()
	env, err := shallow.Resolve(ctx, testenv.BaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	fx := newRepoFixture(t)
	fullRef, _ := full.InstanceRef(env, fx.task)
	ref, err := shallow.Instance(ctx, env, fx.task, fx.cache)
	if err != nil {
		t.Fatal(err)
	}
	removeImageAtEnd(t, cli, ref.Tag)
	if ref.Key == fullRef.Key {
		t.Errorf("depth 1 and full history share the key %s", ref.Key)
	}
	run := startContainer(t, cli, ref.Tag)
	out, code := run("sh", "-c", "cd /testbed && git rev-parse HEAD && git rev-list --all | wc -l && git status --porcelain | wc -l && cat .git/shallow")
	if lines := strings.Fields(out); code != 0 || len(lines) != 4 || lines[0] != fx.base || lines[1] != "1" || lines[2] != "0" || lines[3] != fx.base {
		t.Errorf("shallow /testbed: exit %d, %q; want HEAD %s, 1 commit, clean, shallow at it", code, out, fx.base)
	}
}
