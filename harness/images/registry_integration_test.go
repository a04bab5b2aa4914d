package images

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/internal/testenv"
)

// publishFixture builds an official-style image named name FROM base (the
// repo at /testbed, no sweval labels), pushes it to its registry and
// removes it locally, as if it had only ever been published.
func publishFixture(t testing.TB, b *Builder, cli *client.Client, base, name string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte(name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM " + base + "\nCOPY marker /testbed/marker\nWORKDIR /testbed\n"
	// Blank the labels inherited from sweval's base: a published image
	// carries none of ours.
	lbl := map[string]string{"org.sweval.fixture": "official-style", LabelManaged: "", LabelLayer: "", LabelKey: ""}
	if err := b.buildImage(ctx, name, lbl, dockerfile, []ctxFile{{Name: "marker", Path: filepath.Join(dir, "marker")}}, nil, io.Discard); err != nil {
		t.Fatalf("build fixture %s: %v", name, err)
	}
	removeImageAtEnd(t, cli, name)
	anon, _ := authconfig.Encode(registry.AuthConfig{})
	resp, err := cli.ImagePush(ctx, name, client.ImagePushOptions{RegistryAuth: anon})
	if err != nil {
		t.Fatalf("push %s: %v", name, err)
	}
	if err := drainPull(resp, io.Discard); err != nil {
		t.Fatalf("push %s: %v", name, err)
	}
	resp.Close()
	if _, err := cli.ImageRemove(ctx, name, client.ImageRemoveOptions{}); err != nil {
		t.Fatalf("remove %s locally: %v", name, err)
	}
}

// A published image absent locally is pulled from a real registry (the
// loopback docker-registry), recorded with its registry digest, and not
// pulled again; one the registry does not have is a MissingImageError,
// returned without retries.
func TestPublishedImagePulledFromLoopbackRegistry(t *testing.T) {
	base := testenv.BaseImage(t)
	reg := testenv.StartRegistry(t)
	b, cli, logs := testBuilder(t)
	b.opts.PullBackoff = 10 * time.Millisecond
	ctx := context.Background()

	pub, err := Published{Namespace: reg.Addr + "/swebench", Arch: "x86_64"}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	task := benchmarks.Task{ID: "sympy__sympy-20590", Kind: benchmarks.KindSWEBench}
	name := pub.ImageFor(task)
	if want := reg.Addr + "/swebench/sweb.eval.x86_64.sympy_1776_sympy-20590:latest"; name != want {
		t.Fatalf("image name %s, want %s", name, want)
	}
	publishFixture(t, b, cli, base, name)

	ref, found, err := b.PublishedImage(ctx, task, pub)
	if err != nil || !found {
		t.Fatalf("PublishedImage: found=%v err=%v", found, err)
	}
	if ref.Tag != name || ref.Layer != LayerExternal {
		t.Errorf("ref %+v: want tag %s, external", ref, name)
	}
	repo, _, _ := strings.Cut(name, ":latest")
	if !strings.HasPrefix(ref.Digest, repo+"@sha256:") {
		t.Errorf("digest %q: want the registry digest %s@sha256:…", ref.Digest, repo)
	}
	if n := logs.count("msg=pulled"); n != 1 {
		t.Errorf("%d pulls logged, want 1", n)
	}
	if _, _, err := b.PublishedImage(ctx, task, pub); err != nil {
		t.Fatal(err)
	}
	if n := logs.count("msg=pulled"); n != 1 {
		t.Errorf("present image pulled again: %d pulls logged", n)
	}

	missing := benchmarks.Task{ID: "sympy__sympy-99999", Kind: benchmarks.KindSWEBench}
	t0 := time.Now()
	_, found, err = b.PublishedImage(ctx, missing, pub)
	var me *MissingImageError
	if !found || !errors.As(err, &me) || !errors.Is(err, ErrImageMissing) {
		t.Fatalf("missing image: found=%v err=%v; want a MissingImageError", found, err)
	}
	if me.Image != pub.ImageFor(missing) || me.Cause == nil {
		t.Errorf("MissingImageError %+v: want the image name and the pull's error", me)
	}
	if n := logs.count("pull failed; retrying"); n != 0 {
		t.Errorf("an unknown image was retried %d times; it cannot appear by waiting", n)
	}
	t.Logf("missing image reported in %v: %v", time.Since(t0).Round(time.Millisecond), err)
}

// A pull is refused before it starts when the Engine's disk is short,
// with the numbers (the real Engine's data directory, an impossible need).
func TestPullRefusedWhenDiskIsShort(t *testing.T) {
	b, cli, logs := testBuilder(t)
	info, err := cli.Info(context.Background(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := freeBytes(info.Info.DockerRootDir); !ok {
		t.Skipf("the Engine's data directory %s is not visible here (remote Engine)", info.Info.DockerRootDir)
	}
	b.opts.MinFreeDisk = 1 << 60
	err = b.Pull(context.Background(), "127.0.0.1:9/never/pulled:latest")
	if err == nil || !strings.Contains(err.Error(), "GB free on "+info.Info.DockerRootDir) || !strings.Contains(err.Error(), "--min-free-disk") {
		t.Fatalf("err %v: want the free space, the data directory and the way out", err)
	}
	if n := logs.count("pull failed"); n != 0 {
		t.Errorf("a pull was attempted (%d failures logged)", n)
	}
}
