package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Containerd is a private containerd instance started for tests by
// scripts/containerd-up.sh: its own root, state and socket under a temp
// dir, never the Docker daemon's containerd.
type Containerd struct {
	Address     string
	Snapshotter string
	PID         string
}

// StartContainerd starts a containerd for the test and stops it by pid at
// cleanup. It skips (fails on CI) when containerd is not installed or does
// not come up (it needs root).
func StartContainerd(t testing.TB) Containerd {
	t.Helper()
	fail := skipOrFail(t)
	if _, err := exec.LookPath("containerd"); err != nil {
		fail("containerd not installed (apt-get install containerd): %v", err)
	}
	script := projectScript("containerd-up.sh")
	// Not t.TempDir: containerd leaves root-owned mounts' state that the
	// test's cleanup order would race with; the script's dir is removed
	// after the stop.
	dir, err := os.MkdirTemp("", "sweval-containerd-")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", script, dir).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		fail("start containerd with %s: %v\n%s", script, err, out)
	}
	var c Containerd
	for _, f := range strings.Fields(string(out)) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "pid":
			c.PID = v
		case "address":
			c.Address = v
		case "snapshotter":
			c.Snapshotter = v
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("bash", script, "stop", c.PID).CombinedOutput(); err != nil {
			t.Errorf("stop containerd %s: %v\n%s", c.PID, err, out)
		}
		_ = exec.Command("umount", "-R", filepath.Join(dir, "root")).Run()
		os.RemoveAll(dir)
	})
	return c
}
