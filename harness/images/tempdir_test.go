package images

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSweepWorkDirs removes what dead builders left and nothing a live
// one holds. The killed owner is a real process (flock(1) holding the
// owner file) killed with SIGKILL: the kernel drops its lock.
func TestSweepWorkDirs(t *testing.T) {
	parent := t.TempDir()
	live, err := newWorkDir(parent, testbedPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()

	mk := func(name string, owner bool, age time.Duration) string {
		d := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(d, "testbed"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner {
			if err := os.WriteFile(filepath.Join(d, ownerFile), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
		return d
	}
	killed := mk(rootfsPrefix+"killed", true, 0)
	if _, err := exec.LookPath("flock"); err == nil {
		holder := exec.Command("flock", "-x", filepath.Join(killed, ownerFile), "sleep", "60")
		holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		// Held while the holder lives: kept.
		deadline := time.Now().Add(5 * time.Second)
		for !lockedByOther(killed) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := sweepWorkDirs(parent, slog.New(slog.DiscardHandler)); n != 0 || !exists(killed) {
			t.Fatalf("swept %d with the holder alive (dir kept: %v)", n, exists(killed))
		}
		syscall.Kill(-holder.Process.Pid, syscall.SIGKILL) // flock and the sleep that inherited its lock
		holder.Wait()
		// The sleep is not our child: its lock goes when the kernel has
		// finished killing it, a moment after flock's exit.
		deadline = time.Now().Add(5 * time.Second)
		for lockedByOther(killed) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	unlockedFresh := mk(testbedPrefix+"unowned-fresh", false, 0)
	unlockedOld := mk(testbedPrefix+"unowned-old", false, 2*time.Hour)
	other := mk("not-ours", true, 2*time.Hour)

	n := sweepWorkDirs(parent, slog.New(slog.DiscardHandler))
	for dir, want := range map[string]bool{live.Path: true, killed: false, unlockedFresh: true, unlockedOld: false, other: true} {
		if exists(dir) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(dir), exists(dir), want)
		}
	}
	if n != 2 {
		t.Errorf("swept %d, want 2", n)
	}
}

func lockedByOther(dir string) bool { return !ownerGone(dir) }

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
