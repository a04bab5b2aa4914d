package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

func TestReapRemovesOnlyDeadOwners(t *testing.T) {
	img := testenv.BaseImage(t)
	cli := testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A pid that existed and is gone: a finished child process.
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	self := sandbox.CurrentOwner()
	dead := self
	dead.PID, dead.Start = child.Process.Pid, 1
	reused := self // our own pid, but a different start time: pid reuse
	reused.Start = self.Start + 1
	foreign := sandbox.Owner{Host: "some-other-host", Boot: "x", PID: self.PID, Start: 1}

	create := func(owner sandbox.Owner, run string) sandbox.Sandbox {
		t.Helper()
		d := sandbox.NewDocker(cli, sandbox.Options{Owner: &owner})
		sb, err := d.Create(ctx, sandbox.Spec{Image: img, RunID: run, Task: "reap"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sb.Close(context.Background()) })
		return sb
	}
	deadSB := create(dead, "reap-old-run")
	reusedSB := create(reused, "reap-current-run")
	liveSB := create(self, "reap-other-live-run")
	foreignSB := create(foreign, "reap-foreign")

	d := sandbox.NewDocker(cli, sandbox.Options{})
	n, err := d.Reap(ctx, "reap-current-run")
	if err != nil {
		t.Fatalf("Reap: %v", err)
	}
	exists := func(sb sandbox.Sandbox) bool {
		_, err := cli.ContainerInspect(ctx, sb.ID(), client.ContainerInspectOptions{})
		return err == nil
	}
	if exists(deadSB) || exists(reusedSB) {
		t.Errorf("containers of dead owners survived Reap (dead pid: %v, reused pid: %v)", exists(deadSB), exists(reusedSB))
	}
	if !exists(liveSB) || !exists(foreignSB) {
		t.Errorf("Reap removed a live or foreign owner's container (live kept: %v, foreign kept: %v)", exists(liveSB), exists(foreignSB))
	}
	// The count is ours alone only when nothing else reaps the daemon
	// meanwhile: other tests here, and every sweval command CI runs beside
	// them (each reaps dead owners' containers when it starts and ends),
	// may take the two first. Their removal is what matters, checked above.
	if n < 2 {
		t.Logf("Reap reported %d removed: another reaper on the daemon took the rest", n)
	}
	// The live run's container still works; its Close after an external
	// removal is still fine.
	afterwards(t, liveSB)

	removed, err := d.RemoveRun(ctx, "reap-other-live-run")
	if err != nil || removed != 1 || exists(liveSB) {
		t.Errorf("RemoveRun = %d, %v; container exists: %v", removed, err, exists(liveSB))
	}
}

func TestCloseAll(t *testing.T) {
	img := testenv.BaseImage(t)
	cli := testenv.Docker(t)
	d := sandbox.NewDocker(cli, sandbox.Options{})
	ctx := context.Background()
	var ids []string
	for range 2 {
		sb, err := d.Create(ctx, sandbox.Spec{Image: img, RunID: "closeall", Task: "x"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sb.ID())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel() // as after signal.NotifyContext fired
	if err := d.CloseAll(cctx); err != nil {
		t.Fatalf("CloseAll: %v", err)
	}
	for _, id := range ids {
		if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
			t.Errorf("container %s survived CloseAll", id)
		}
	}
}

// TestReapAfterKill9 kills a real harness process (this test binary,
// re-executed) with SIGKILL while it holds a sandbox, then checks that the
// next start's Reap removes the container.
func TestReapAfterKill9(t *testing.T) {
	if os.Getenv("SWEVAL_SANDBOX_HELPER") == "1" {
		holdSandbox(t)
		return
	}
	img := testenv.BaseImage(t)
	cli := testenv.Docker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestReapAfterKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SWEVAL_SANDBOX_HELPER=1", testenv.ImageEnv+"="+img)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CONTAINER "); ok {
			id = v
			break
		}
	}
	if id == "" {
		cmd.Process.Kill()
		t.Fatalf("helper printed no container id (%v)", cmd.Wait())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	ctx := context.Background()
	t.Cleanup(func() { cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}) })
	if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err != nil {
		t.Fatalf("the killed helper's container %s is already gone: %v", id, err)
	}
	d := sandbox.NewDocker(cli, sandbox.Options{})
	if _, err := d.Reap(ctx, "test-kill9"); err != nil {
		t.Fatalf("Reap: %v", err)
	}
	if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("container %s of the kill -9'd process survived Reap", id)
	}
}

// holdSandbox is the helper process: create a sandbox, say its id, wait to
// be killed.
func holdSandbox(t *testing.T) {
	d := sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	sb, err := d.Create(context.Background(), sandbox.Spec{Image: testenv.BaseImage(t), RunID: "test-kill9", Task: "held"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("CONTAINER " + sb.ID())
	time.Sleep(5 * time.Minute) // killed long before
	sb.Close(context.Background())
}
