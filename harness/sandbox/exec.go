package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Exit codes of GNU timeout: 124 when the command timed out and died of
// the first signal, 128+9 when it had to be SIGKILLed.
const (
	exitTimeout = 124
	exitKilled  = 137
)

// killAfter is how long the in-container timeout waits between SIGTERM
// and SIGKILL.
const killAfter = 2 * time.Second

// Exec runs req.Cmd under `timeout` inside the container and, as a second
// line of defence, kills it from the host when the harness's own deadline
// (timeout + kill-after + KillGrace) passes. Processes the command leaves
// in its process group (background jobs, fork-bomb offspring) are killed
// when it returns, so they cannot hold the pids limit for the next Exec;
// a daemon that must outlive its Exec has to setsid itself.
//
// The error is non-nil only when the command could not be run or ctx
// ended; a non-zero exit, a timeout or an OOM kill are reported in the
// result.
func (s *dockerSandbox) Exec(ctx context.Context, req ExecRequest) (ExecResult, error) {
	if len(req.Cmd) == 0 {
		return ExecResult{}, errors.New("sandbox: exec: empty command")
	}
	buf := NewCapBuffer(orDefault(req.OutputLimit, s.d.opts.OutputLimit))
	res, err := s.execTo(ctx, req, mergedArgv(req.Cmd), buf, buf, true)
	res.Output = buf.Bytes()
	res.Elided = buf.Elided()
	return res, err
}

// run is a small internal exec returning stdout (uncapped up to 1 MiB) for
// helper commands; a non-zero exit is an error.
func (s *dockerSandbox) run(ctx context.Context, argv []string, stdin io.Reader, timeout time.Duration) ([]byte, error) {
	out := NewCapBuffer(1 << 20)
	errb := NewCapBuffer(64 << 10)
	res, err := s.execTo(ctx, ExecRequest{Cmd: argv, Stdin: stdin, Timeout: timeout}, argv, out, errb, false)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return out.Bytes(), fmt.Errorf("%q exited %d: %s", argv, res.ExitCode, errb.Bytes())
	}
	return out.Bytes(), nil
}

// mergedArgv runs cmd with stderr on the stdout pipe, so the two streams
// keep the order the process wrote them in (two pipes read by the daemon
// would not).
func mergedArgv(cmd []string) []string {
	return append([]string{"sh", "-c", `exec 2>&1; exec "$@"`, "sh"}, cmd...)
}

func timeoutArgv(timeout time.Duration, cmd []string) []string {
	secs := strconv.FormatFloat(max(timeout.Seconds(), 0.001), 'f', 3, 64) + "s"
	return append([]string{"timeout", "--kill-after=" + strconv.Itoa(int(killAfter.Seconds())) + "s", secs}, cmd...)
}

// execTo runs argv (req.Cmd, possibly wrapped; req.Cmd names it in errors)
// under the in-container timeout, streaming its output to stdout/stderr.
func (s *dockerSandbox) execTo(ctx context.Context, req ExecRequest, argv []string, stdout, stderr io.Writer, checkOOM bool) (ExecResult, error) {
	var res ExecResult
	if len(argv) == 0 {
		return res, errors.New("sandbox: exec: empty command")
	}
	timeout := orDefault(req.Timeout, s.d.opts.ExecTimeout)
	hctx, cancel := context.WithTimeout(ctx, timeout+killAfter+s.d.opts.KillGrace)
	defer cancel()

	start := time.Now()
	cli := s.d.cli
	cr, err := cli.ExecCreate(hctx, s.id, client.ExecCreateOptions{
		User:         req.User,
		AttachStdin:  req.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
		Env:          req.Env,
		WorkingDir:   req.Dir,
		Cmd:          timeoutArgv(timeout, argv),
	})
	if err != nil {
		return res, s.execError(ctx, "create exec", err, &res)
	}
	att, err := cli.ExecAttach(hctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		return res, s.execError(ctx, "attach exec", err, &res)
	}
	defer att.Close()
	if req.Stdin != nil {
		// Not waited for: the caller's reader may block; the write side
		// fails as soon as the connection is closed.
		go func() {
			_, _ = io.Copy(att.Conn, req.Stdin)
			_ = att.CloseWrite()
		}()
	}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, att.Reader)
		copied <- err
	}()
	var streamErr error
	harnessKilled := false
	select {
	case streamErr = <-copied:
	case <-hctx.Done():
		harnessKilled = true
		s.killExec(ctx, cr.ID)
		select {
		case streamErr = <-copied:
		case <-time.After(3 * time.Second):
			att.Close()
			streamErr = <-copied
		}
	}

	ins, inspErr := s.waitExec(ctx, cr.ID)
	res.Duration = time.Since(start)
	if inspErr != nil {
		res.ExitCode = -1
	} else {
		res.ExitCode = ins.ExitCode
		if s.hostV(ctx) != nil {
			s.host.killTree(ins.PID, !ins.Running) // leftovers of the command's process group
		}
	}
	if harnessKilled && ctx.Err() == nil {
		res.TimedOut = true
		if inspErr != nil || ins.Running {
			s.d.log.Warn("sandbox: exec outlived its timeout and could not be killed from this host", "container", shortID(s.id), "cmd", req.Cmd)
		}
	}
	if (res.ExitCode == exitTimeout || res.ExitCode == exitKilled) && res.Duration >= timeout {
		res.TimedOut = true
	}
	if checkOOM && res.ExitCode != 0 && !res.TimedOut {
		// Reading the counter is a file read when the host view exists;
		// otherwise it costs an exec, so only a SIGKILL exit pays it.
		if s.hostV(ctx) != nil || res.ExitCode == exitKilled {
			res.OOMKilled = s.oomSince(ctx)
		}
		if res.ExitCode == exitKilled && !res.OOMKilled {
			if running, oom := s.containerState(ctx); !running && oom {
				res.OOMKilled = true
			}
		}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("sandbox: exec %q: %w", req.Cmd, ctx.Err())
	}
	if inspErr != nil {
		return res, fmt.Errorf("sandbox: exec %q: inspect: %w", req.Cmd, inspErr)
	}
	if streamErr != nil && !harnessKilled {
		return res, fmt.Errorf("sandbox: exec %q: read output: %w", req.Cmd, streamErr)
	}
	return res, nil
}

// execError wraps a failure to run anything, saying when the container
// itself is gone (e.g. OOM-killed as a whole).
func (s *dockerSandbox) execError(ctx context.Context, what string, err error, res *ExecResult) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sandbox: %s: %w", what, ctx.Err())
	}
	running, oom := s.containerState(ctx)
	if !running {
		res.OOMKilled = oom
		return fmt.Errorf("sandbox: %s in container %s: container is not running (OOM killed: %v): %w", what, shortID(s.id), oom, err)
	}
	return fmt.Errorf("sandbox: %s in container %s: %w", what, shortID(s.id), err)
}

// waitExec polls ExecInspect until the process has exited: its ExitCode
// reads 0 while Running is true, and the output stream may end first.
// A daemon under heavy disk I/O can take many seconds to answer, so a
// failed inspect is retried until the deadline rather than turning a
// finished command into an infrastructure error; only a missing exec
// (it cannot come back) ends the wait at once.
func (s *dockerSandbox) waitExec(ctx context.Context, execID string) (client.ExecInspectResult, error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inspectPatience)
	defer cancel()
	runningUntil := time.Now().Add(runningPatience)
	delay := time.Millisecond
	for {
		ins, err := s.d.cli.ExecInspect(wctx, execID, client.ExecInspectOptions{})
		switch {
		case err != nil && (cerrdefs.IsNotFound(err) || wctx.Err() != nil):
			return ins, err
		case err == nil && !ins.Running:
			return ins, nil
		case err == nil && time.Now().After(runningUntil):
			return ins, nil // still running: the caller reports it
		}
		select {
		case <-wctx.Done():
			return ins, err
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
		if err != nil {
			delay = time.Second
		}
	}
}

// How long waitExec waits: for a daemon that answers with errors, and for
// a process still running after its output ended (it closed its streams
// and lives on; the caller reports it).
const (
	inspectPatience = time.Minute
	runningPatience = 15 * time.Second
)

// killExec kills an exec's process tree from the host, when visible.
func (s *dockerSandbox) killExec(ctx context.Context, execID string) {
	h := s.hostV(ctx)
	if h == nil {
		return
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	ins, err := s.d.cli.ExecInspect(ictx, execID, client.ExecInspectOptions{})
	if err == nil && ins.PID > 0 {
		h.killTree(ins.PID, !ins.Running)
	}
}

// ErrProcessClosed is what Output's reader returns after Close.
var ErrProcessClosed = errors.New("sandbox: process closed")

// Start runs req.Cmd as a long-lived exec with stdin open and stdout and
// stderr merged into Output. req.Timeout, when set, bounds its life inside
// the container; req.Stdin, when set, is copied in and then closed.
func (s *dockerSandbox) Start(ctx context.Context, req ExecRequest) (Process, error) {
	if len(req.Cmd) == 0 {
		return nil, errors.New("sandbox: start: empty command")
	}
	argv := mergedArgv(req.Cmd)
	if req.Timeout > 0 {
		argv = timeoutArgv(req.Timeout, argv)
	}
	cli := s.d.cli
	cr, err := cli.ExecCreate(ctx, s.id, client.ExecCreateOptions{
		User:         req.User,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Env:          req.Env,
		WorkingDir:   req.Dir,
		Cmd:          argv,
	})
	if err != nil {
		var res ExecResult
		return nil, s.execError(ctx, "create exec", err, &res)
	}
	att, err := cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		var res ExecResult
		return nil, s.execError(ctx, "attach exec", err, &res)
	}
	pr, pw := io.Pipe()
	p := &dockerProcess{s: s, execID: cr.ID, att: att, pr: pr, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_, err := stdcopy.StdCopy(pw, pw, att.Reader)
		pw.CloseWithError(err) // nil → readers see io.EOF
	}()
	if req.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, req.Stdin)
			_ = att.CloseWrite()
		}()
	}
	return p, nil
}

// dockerProcess is an attached exec. Writing Stdin and reading Output from
// different goroutines is safe (they are the two directions of one
// connection).
type dockerProcess struct {
	s      *dockerSandbox
	execID string
	att    client.ExecAttachResult
	pr     *io.PipeReader
	done   chan struct{}
	once   sync.Once
}

func (p *dockerProcess) Stdin() io.WriteCloser { return stdinWriter{p} }
func (p *dockerProcess) Output() io.Reader     { return p.pr }

// ExecID is the Engine's id of the exec (for ExecInspect).
func (p *dockerProcess) ExecID() string { return p.execID }

// Done is closed once the process's output has ended.
func (p *dockerProcess) Done() <-chan struct{} { return p.done }

// Close kills the process and everything in its process group (from the
// host when visible; else closing stdin ends an idle shell), closes the
// stream and unblocks readers of Output.
func (p *dockerProcess) Close() error {
	p.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.s.killExec(ctx, p.execID)
		_ = p.att.CloseWrite()
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
		}
		p.att.Close()
		p.pr.CloseWithError(ErrProcessClosed)
	})
	return nil
}

type stdinWriter struct{ p *dockerProcess }

func (w stdinWriter) Write(b []byte) (int, error) { return w.p.att.Conn.Write(b) }

// Close sends EOF to the process's stdin (half-close); Output stays open.
func (w stdinWriter) Close() error { return w.p.att.CloseWrite() }
