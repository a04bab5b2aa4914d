package images_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// TestOCIImageTwoDestinations builds one image description without Docker
// (the base from its tarball plus a layer of files, content-keyed), writes
// it once, and loads the same bytes into Docker and into containerd: both
// run it and see the same image id (config digest).
func TestOCIImageTwoDestinations(t *testing.T) {
	base := testenv.BaseImage(t)
	dcli := testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	baseTar := filepath.Join(dir, "base.tar")
	save, err := dcli.ImageSave(ctx, []string{base})
	if err != nil {
		t.Fatalf("docker save: %v", err)
	}
	f, _ := os.Create(baseTar)
	_, err = io.Copy(f, save)
	save.Close()
	f.Close()
	if err != nil {
		t.Fatalf("docker save: %v", err)
	}
	baseImg, err := images.ImageFromTarball(func() (io.ReadCloser, error) { return os.Open(baseTar) }, "")
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	if err := sandbox.WriteFiles(&layer, sandbox.File{Name: "sweval-oci/hello", Data: []byte("from an OCI layer\n"), Mode: 0o644, ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	key := "oci-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	img, err := images.OCIImage(baseImg, images.OCILayer{Tar: layer.Bytes(), Layer: "test", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	ref := "sweval/oci-test:" + key
	out := filepath.Join(dir, "img.tar")
	w, _ := os.Create(out)
	if err := images.WriteImageTarball(w, ref, img); err != nil {
		t.Fatal(err)
	}
	w.Close()
	cfgDigest, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}

	// Docker.
	r, _ := os.Open(out)
	res, err := dcli.ImageLoad(ctx, r)
	r.Close()
	if err != nil {
		t.Fatalf("docker load: %v", err)
	}
	io.Copy(io.Discard, res)
	res.Close()
	t.Cleanup(func() { dcli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true}) })
	ins, err := dcli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("inspect loaded image: %v", err)
	}
	if ins.ID != cfgDigest.String() {
		t.Errorf("Docker image id %s, want the config digest %s", ins.ID, cfgDigest)
	}
	if got := ins.Config.Labels[images.LabelKey]; got != key {
		t.Errorf("Docker label %s = %q, want %q", images.LabelKey, got, key)
	}

	// containerd.
	inst := testenv.StartContainerd(t)
	ccli, err := containerd.New(inst.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ccli.Close() })
	crt := sandbox.NewContainerd(ccli, sandbox.ContainerdOptions{Snapshotter: inst.Snapshotter})
	r, _ = os.Open(out)
	_, err = crt.ImportImage(ctx, r)
	r.Close()
	if err != nil {
		t.Fatalf("containerd import: %v", err)
	}

	for _, rt := range []struct {
		name string
		rt   sandbox.Runtime
	}{{"docker", sandbox.NewDocker(dcli, sandbox.Options{})}, {"containerd", crt}} {
		sb, err := rt.rt.Create(ctx, sandbox.Spec{Image: ref, RunID: "oci-test", Task: rt.name})
		if err != nil {
			t.Fatalf("%s: create: %v", rt.name, err)
		}
		er, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"cat", "/sweval-oci/hello"}})
		sb.Close(context.Background())
		if err != nil || string(er.Output) != "from an OCI layer\n" {
			t.Errorf("%s: cat the OCI layer's file: %v %q", rt.name, err, er.Output)
		}
	}
}
