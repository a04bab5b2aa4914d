package result

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockIsExclusiveAndNamesItsOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", ".lock")
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second open in
	// this process conflicts just as another process would.
	_, err = AcquireLock(path)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second AcquireLock: got %v, want *HeldError", err)
	}
	if held.Owner.PID != os.Getpid() || !strings.Contains(err.Error(), "another sweval process") {
		t.Errorf("owner not named: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := AcquireLock(path)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}

// TestMain lets the test binary act as a lock owner in a child process.
func TestMain(m *testing.M) {
	if path := os.Getenv("SWEVAL_TEST_HOLD_LOCK"); path != "" {
		if _, err := AcquireLock(path); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLockOfKilledOwnerIsTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SWEVAL_TEST_HOLD_LOCK="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "held\n" {
		t.Fatalf("child did not take the lock: %q", line)
	}
	var held *HeldError
	if _, err := AcquireLock(path); !errors.As(err, &held) || held.Owner.PID != cmd.Process.Pid {
		t.Fatalf("while the child lives: got %v, want *HeldError naming pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill() // SIGKILL: no chance to release
	cmd.Wait()
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatalf("lock of a killed owner not taken over: %v", err)
	}
	l.Release()
}

func TestSweepTempRemovesOnlyAtomicTemporaries(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"results.jsonl", "a/0/patch.diff", "a/0/notes.tmp.txt"}
	drop := []string{".results.jsonl.tmp123", "a/0/.patch.diff.tmp9"}
	for _, name := range append(keep, drop...) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	n, err := SweepTemp(dir)
	if err != nil || n != len(drop) {
		t.Fatalf("SweepTemp = %d, %v; want %d", n, err, len(drop))
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed", name)
		}
	}
}
