package sandbox

import (
	"context"
	"fmt"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/moby/moby/client"
)

// Reviver is implemented by sandboxes that can be brought back after the
// code in them stopped them (killed every process, init included) or left
// them unable to fork: every process still in the sandbox is killed and
// the idle init starts again; the filesystem stays as the code left it
// (except the tmpfs /tmp), so the work in it can still be captured.
// Revive must not run beside other calls on the same sandbox.
type Reviver interface {
	// Revive reports whether the sandbox's init was still running (the
	// sandbox was unresponsive rather than stopped).
	Revive(ctx context.Context) (wasRunning bool, err error)
}

var (
	_ Reviver = (*dockerSandbox)(nil)
	_ Reviver = (*ctrSandbox)(nil)
)

// Revive restarts the container: the daemon kills what is left (SIGKILL,
// no grace) and starts the idle init again.
func (s *dockerSandbox) Revive(ctx context.Context) (bool, error) {
	// A container whose processes were just killed may still show as
	// running while its init exits: let it settle.
	running, _ := s.containerState(ctx)
	for deadline := time.Now().Add(2 * time.Second); running && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		running, _ = s.containerState(ctx)
	}
	now := 0
	if _, err := s.d.cli.ContainerRestart(ctx, s.id, client.ContainerRestartOptions{Signal: "SIGKILL", Timeout: &now}); err != nil {
		return running, fmt.Errorf("sandbox: restart %.12s to recover the work in it: %w", s.id, err)
	}
	return running, nil
}

// Revive kills every process of the task, deletes it and starts a new task
// on the same container (and so the same snapshot).
func (s *ctrSandbox) Revive(ctx context.Context) (bool, error) {
	ctx = s.c.ns(ctx)
	running, _ := s.taskState(ctx)
	for deadline := time.Now().Add(2 * time.Second); running && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		running, _ = s.taskState(ctx)
	}
	if running {
		exited, err := s.task.Wait(ctx)
		if err != nil {
			return running, fmt.Errorf("sandbox: wait for %s: %w", shortID(s.id), err)
		}
		if err := s.task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil {
			return running, fmt.Errorf("sandbox: kill %s: %w", shortID(s.id), err)
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			return running, fmt.Errorf("sandbox: %s did not stop after SIGKILL", shortID(s.id))
		case <-ctx.Done():
			return running, ctx.Err()
		}
	}
	if _, err := s.task.Delete(ctx, containerd.WithProcessKill); err != nil {
		return running, fmt.Errorf("sandbox: delete the dead task of %s: %w", shortID(s.id), err)
	}
	task, err := s.cont.NewTask(ctx, cio.NullIO)
	if err != nil {
		return running, fmt.Errorf("sandbox: new task for %s: %w", shortID(s.id), err)
	}
	if err := task.Start(ctx); err != nil {
		return running, fmt.Errorf("sandbox: start the new task of %s: %w", shortID(s.id), err)
	}
	s.task = task
	if !s.c.opts.NoHostView {
		s.host = probeHost(int(task.Pid()), s.id)
	}
	return running, nil
}
