package images

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// TestEveryLayerWithoutDocker builds the base (debootstrap → an OCI image
// written with go-containerregistry), env (a .deb and a wheel), instance
// and Doc2Repo layers into a private containerd with no Docker in the
// loop, checks what each holds from a sandbox of it, and checks that the
// tags and content keys are the ones the Docker builder gives the same
// inputs. The base archive is kept in the shared cache dir, so a second
// containerd (another test, or this one run again) imports it instead of
// running debootstrap again.
func TestEveryLayerWithoutDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test (debootstrap on first run)")
	}
	if os.Geteuid() != 0 {
		t.Skip("debootstrap and containerd need root")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("debootstrap not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	inst := testenv.StartContainerd(t)
	cli, err := containerd.New(inst.Address)
	if err != nil {
		t.Fatalf("connect to containerd: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	rt := sandbox.NewContainerd(cli, sandbox.ContainerdOptions{Snapshotter: inst.Snapshotter})
	t.Cleanup(func() { _ = rt.CloseAll(context.Background()) })
	logs := &logLines{}
	b := NewContainerd(rt, Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		CacheDir: DefaultCacheDir(), TempDir: t.TempDir()})
	docker := New(nil, Options{CacheDir: t.TempDir()}) // keys only: never talks to the Engine

	run := func(t *testing.T, image, script string) string {
		t.Helper()
		sb, err := rt.Create(ctx, sandbox.Spec{Image: image, RunID: "no-docker", Task: t.Name()})
		if err != nil {
			t.Fatalf("sandbox of %s: %v", image, err)
		}
		defer sb.Close(context.Background())
		res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "-c", script}})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%s in %s: exit %d, %v\n%s", script, image, res.ExitCode, err, res.Output)
		}
		return string(res.Output)
	}

	t0 := time.Now()
	base, err := b.Base(ctx, BaseSpec{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("base %s in containerd in %s (%d debootstrap runs)", base.Tag, time.Since(t0).Round(time.Second), logs.count("building base image"))
	if want := docker.BaseRef(BaseSpec{}); base.Tag != want.Tag || base.Key != want.Key {
		t.Errorf("base = %+v, want the Docker builder's %+v", base, want)
	}
	if got, err := b.Resolve(ctx, base.Tag); err != nil || got.Key != base.Key || got.Layer != LayerBase {
		t.Errorf("Resolve(base) = %+v, %v", got, err)
	}
	if out := run(t, base.Tag, `python --version; echo "$PATH"`); !strings.Contains(out, "Python 3") {
		t.Errorf("base: %q", out)
	}

	nonce := fmt.Sprint(time.Now().UnixNano())
	debs, wheels := t.TempDir(), t.TempDir()
	makeDeb(t, debs, nonce)
	makeWheel(t, wheels, nonce)
	spec := EnvSpec{DebsDir: debs, WheelsDir: wheels}
	env, err := b.Env(ctx, base, spec)
	if err != nil {
		t.Fatal(err)
	}
	if want, _, _ := docker.EnvRef(base, spec); env.Tag != want.Tag || env.Key != want.Key {
		t.Errorf("env = %+v, want the Docker builder's %+v", env, want)
	}
	out := run(t, env.Tag, `cat /usr/share/sweval-itest/hello.txt; dpkg-query -W -f='${Status}\n' sweval-itest-hello; python3 -c 'import swevalitest; print(swevalitest.VALUE)'; ls /tmp/sweval-env 2>/dev/null | wc -l`)
	if want := "hello " + nonce + "\ninstall ok installed\n42\n0\n"; out != want {
		t.Errorf("env holds %q, want %q", out, want)
	}
	if _, err := b.Env(ctx, base, spec); err != nil || logs.count("env image present") != 1 {
		t.Errorf("second Env: %v; present logged %d times", err, logs.count("env image present"))
	}

	fx := newRepoFixture(t)
	instance, err := b.Instance(ctx, env, fx.task, fx.cache)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := docker.InstanceRef(env, fx.task); instance.Tag != want.Tag || instance.Key != want.Key {
		t.Errorf("instance = %+v, want the Docker builder's %+v", instance, want)
	}
	out = run(t, instance.Tag, `cd /testbed && git rev-parse HEAD && git rev-list --all | wc -l && cat widget.py && stat -c %u file1.txt`)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || lines[0] != fx.base || lines[1] != "2" || !strings.HasPrefix(lines[2], "VERSION = 2") || lines[3] != "0" {
		t.Errorf("/testbed in the instance: %q, want HEAD %s, 2 commits, widget v2, root-owned", out, fx.base)
	}
	for _, c := range fx.future {
		if strings.Contains(run(t, instance.Tag, `cd /testbed && git cat-file -t `+c+` 2>&1 || true`), "commit") {
			t.Errorf("future commit %s is in the instance", c)
		}
	}

	ref := filepath.Join(t.TempDir(), "ref")
	os.MkdirAll(filepath.Join(ref, "tinyref"), 0o755)
	os.WriteFile(filepath.Join(ref, "pyproject.toml"), []byte("[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"tinyref\"\nversion = \"0.1\"\n"), 0o644)
	os.WriteFile(filepath.Join(ref, "tinyref", "__init__.py"), []byte("ANSWER = '"+nonce+"'\n"), 0o644)
	task := benchmarks.Task{ID: "tinyref-1", Kind: benchmarks.KindDoc2Repo, Doc2Repo: &benchmarks.Doc2Repo{Reference: ref, Package: "tinyref", Workdir: "/workspace"}}
	d2r, err := b.Doc2Repo(ctx, env, task)
	if err != nil {
		t.Fatal(err)
	}
	out = run(t, d2r.Tag, `cd / && python3 -c 'import tinyref; print(tinyref.ANSWER)' && git -C /workspace log --format=%s`)
	if want := nonce + "\nreference\n"; out != want {
		t.Errorf("Doc2Repo image: %q, want the reference installed and committed at /workspace (%q)", out, want)
	}

	// What needs the Engine says so; a pull is containerd's own, and a
	// registry that is not there is an error naming the image.
	if _, err := b.List(ctx); err == nil || !strings.Contains(err.Error(), "needs the Docker Engine") {
		t.Errorf("List on containerd alone: %v", err)
	}
	quick := NewContainerd(rt, Options{CacheDir: t.TempDir(), PullRetries: -1})
	if err := quick.Pull(ctx, "127.0.0.1:1/sweval/absent:y"); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1/sweval/absent:y") {
		t.Errorf("Pull from no registry on containerd: %v", err)
	}
	// Another containerd (a wiped node) gets the base from the kept
	// archive: no second debootstrap.
	inst2 := testenv.StartContainerd(t)
	cli2, err := containerd.New(inst2.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli2.Close() })
	rt2 := sandbox.NewContainerd(cli2, sandbox.ContainerdOptions{Snapshotter: inst2.Snapshotter})
	logs2 := &logLines{}
	b2 := NewContainerd(rt2, Options{Logger: slog.New(slog.NewTextHandler(logs2, nil)), CacheDir: DefaultCacheDir(), TempDir: t.TempDir()})
	t1 := time.Now()
	if again, err := b2.Base(ctx, BaseSpec{Aliases: []string{"sweval/base:no-docker"}}); err != nil || again.Key != base.Key {
		t.Fatalf("Base on a second containerd: %+v, %v", again, err)
	}
	t.Logf("base on a second containerd in %s", time.Since(t1).Round(time.Millisecond))
	if n := logs2.count("building base image"); n != 0 || logs2.count("imported from the kept archive") != 1 {
		t.Errorf("second containerd: %d debootstrap runs, want 0 (the kept archive)", n)
	}
	if got, err := b2.Resolve(ctx, "sweval/base:no-docker"); err != nil || got.Key != base.Key {
		t.Errorf("alias on the second containerd: %+v, %v", got, err)
	}
}

// TestOneImageThreeDestinations builds an env layer in containerd (no
// Docker), then moves the one image description three ways: `images save`
// → Docker's load, a push to a real registry on loopback → Docker's pull
// (and containerd's own pull, into a third namespace), and the same
// archive into a second containerd namespace. Every copy has
// the same image ID (config digest) and content key as the build.
func TestOneImageThreeDestinations(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test")
	}
	if os.Geteuid() != 0 {
		t.Skip("containerd needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	inst := testenv.StartContainerd(t)
	cli, err := containerd.New(inst.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	rt := sandbox.NewContainerd(cli, sandbox.ContainerdOptions{Snapshotter: inst.Snapshotter})
	t.Cleanup(func() { _ = rt.CloseAll(context.Background()) })
	b := NewContainerd(rt, Options{CacheDir: DefaultCacheDir(), TempDir: t.TempDir()})
	base, err := b.Base(ctx, BaseSpec{})
	if err != nil {
		t.Fatal(err)
	}
	wheels := t.TempDir()
	makeWheel(t, wheels, fmt.Sprint(time.Now().UnixNano()))
	env, err := b.Env(ctx, base, EnvSpec{WheelsDir: wheels})
	if err != nil {
		t.Fatal(err)
	}
	built, err := b.Digest(ctx, env.Tag)
	if err != nil {
		t.Fatal(err)
	}

	dcli := testenv.Docker(t)
	docker := New(dcli, Options{CacheDir: t.TempDir(), TempDir: t.TempDir()})
	removeImageAtEnd(t, dcli, env.Tag)
	archive, err := b.SaveFile(ctx, env.Tag, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := docker.LoadFile(ctx, archive); err != nil {
		t.Fatal(err)
	}
	if id, err := docker.Digest(ctx, env.Tag); err != nil || id != built {
		t.Errorf("docker load of the saved archive: id %s (%v), want the containerd build's %s", id, err, built)
	}

	reg := testenv.StartRegistry(t)
	target, err := PushTarget(reg.Addr, env.Tag)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := b.Push(ctx, env.Tag, target)
	if err != nil {
		t.Fatal(err)
	}
	removeImageAtEnd(t, dcli, target)
	if err := docker.Pull(ctx, target); err != nil {
		t.Fatal(err)
	}
	got, err := docker.Resolve(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := docker.Digest(ctx, target); id != built || got.Key != env.Key || got.Layer != LayerEnv {
		t.Errorf("pulled %s: id %s key %s layer %s, want %s %s %s", pushed, id, got.Key, got.Layer, built, env.Key, LayerEnv)
	}
	t.Logf("built %s (%s) in containerd; docker load and docker pull of %s give the same id", env.Tag, built, pushed)

	other := NewContainerd(sandbox.NewContainerd(cli, sandbox.ContainerdOptions{Namespace: "sweval-other", Snapshotter: inst.Snapshotter}), Options{CacheDir: t.TempDir()})
	if _, err := other.LoadFile(ctx, archive); err != nil {
		t.Fatal(err)
	}
	if id, err := other.Digest(ctx, env.Tag); err != nil || id != built {
		t.Errorf("containerd import in another namespace: id %s (%v), want %s", id, err, built)
	}

	// Pulled back from the registry into a third namespace by containerd
	// itself (no Docker), recorded as pulled, and a container starts from it.
	prt := sandbox.NewContainerd(cli, sandbox.ContainerdOptions{Namespace: "sweval-pulled", Snapshotter: inst.Snapshotter})
	t.Cleanup(func() { _ = prt.CloseAll(context.Background()) })
	pcache := t.TempDir()
	puller := NewContainerd(prt, Options{CacheDir: pcache})
	if err := puller.Pull(ctx, target); err != nil {
		t.Fatal(err)
	}
	if id, err := puller.Digest(ctx, target); err != nil || id != built {
		t.Errorf("containerd pull of %s: id %s (%v), want %s", target, id, err, built)
	}
	if got, err := puller.Resolve(ctx, target); err != nil || got.Digest != pushed {
		t.Errorf("containerd pull of %s: recorded digest %q (%v), want the registry's %s", target, got.Digest, err, pushed)
	}
	if ledger, err := os.ReadFile(filepath.Join(pcache, pulledLedger)); err != nil || !strings.Contains(string(ledger), built) {
		t.Errorf("the pull ledger does not record %s (%v): %s", built, err, ledger)
	}
	sb, err := prt.Create(ctx, sandbox.Spec{Image: target, RunID: "pull-test", Task: "pull"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.WithoutCancel(ctx))
	if res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"python3", "-c", "print('ran')"}}); err != nil || res.ExitCode != 0 || !strings.Contains(string(res.Output), "ran") {
		t.Errorf("a container of the pulled image: exit %d (%v): %s", res.ExitCode, err, res.Output)
	}
}
