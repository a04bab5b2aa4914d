package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// stdinSettle is how long the harness lets the shim drain the stdin fifo
// after the last byte before closing the process's stdin: CloseIO closes
// the process side at once, and the shim's copy may still hold bytes.
const stdinSettle = 100 * time.Millisecond

// procSpec is the container's process with argv, dir, env and user of req.
func (s *ctrSandbox) procSpec(ctx context.Context, req ExecRequest, argv []string) (*specs.Process, error) {
	s.procOnce.Do(func() {
		// Read once: the spec never changes, and each read is a round trip.
		spec, err := s.cont.Spec(ctx)
		if err != nil {
			s.procErr = fmt.Errorf("sandbox: read spec of %s: %w", shortID(s.id), err)
			return
		}
		s.proc = spec.Process
	})
	if s.procErr != nil {
		return nil, s.procErr
	}
	p := *s.proc
	p.Env = append([]string(nil), p.Env...)
	p.Terminal = false
	p.Args = argv
	if req.Dir != "" {
		p.Cwd = req.Dir
	}
	p.Env = mergeEnv(p.Env, req.Env)
	if req.User != "" {
		u, err := numericUser(req.User)
		if err != nil {
			return nil, err
		}
		p.User = u
		if u.UID != 0 && p.Capabilities != nil {
			// A non-root exec gets no capabilities, as Docker's does: the
			// kernel drops them at execve unless they are ambient, and
			// clearing every set but the bounding one keeps it so
			// whatever a spec option lists.
			c := *p.Capabilities
			c.Effective, c.Permitted, c.Inheritable, c.Ambient = nil, nil, nil, nil
			p.Capabilities = &c
		}
	}
	return &p, nil
}

// numericUser parses "root", "uid" or "uid:gid"; names other than root
// would need the image's /etc/passwd, which no caller uses.
func numericUser(s string) (specs.User, error) {
	if s == "root" {
		return specs.User{}, nil
	}
	us, gs, _ := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return specs.User{}, fmt.Errorf("sandbox: exec user %q: the containerd runtime takes root, UID or UID:GID", s)
	}
	gid := uid
	if gs != "" {
		if gid, err = strconv.ParseUint(gs, 10, 32); err != nil {
			return specs.User{}, fmt.Errorf("sandbox: exec user %q: bad GID", s)
		}
	}
	return specs.User{UID: uint32(uid), GID: uint32(gid)}, nil
}

// ctrExec is one started exec with its exit channel.
type ctrExec struct {
	proc containerd.Process
	exit <-chan containerd.ExitStatus
}

// startExec starts argv; stdin, when non-nil, is copied in and then closed
// with CloseIO (the process sees EOF only then).
func (s *ctrSandbox) startExec(ctx context.Context, req ExecRequest, argv []string, stdin io.Reader, stdout, stderr io.Writer) (*ctrExec, error) {
	ctx = s.c.ns(ctx)
	ps, err := s.procSpec(ctx, req, argv)
	if err != nil {
		return nil, err
	}
	var in io.Reader
	var stdinDone chan struct{}
	if stdin != nil {
		pr, pw := io.Pipe()
		in = pr
		stdinDone = make(chan struct{})
		go func() {
			_, err := io.Copy(pw, stdin)
			pw.CloseWithError(err)
			close(stdinDone)
		}()
	}
	execID := "x" + newID()[len("sweval-"):][:20]
	proc, err := s.task.Exec(ctx, execID, ps, cio.NewCreator(cio.WithStreams(in, stdout, stderr)))
	if err != nil {
		running, _ := s.taskState(ctx)
		if !running {
			return nil, fmt.Errorf("sandbox: exec in %s: container is not running: %w", shortID(s.id), err)
		}
		return nil, fmt.Errorf("sandbox: exec in %s: %w", shortID(s.id), err)
	}
	exit, err := proc.Wait(ctx)
	if err != nil {
		_, _ = proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		return nil, fmt.Errorf("sandbox: wait exec in %s: %w", shortID(s.id), err)
	}
	if err := proc.Start(ctx); err != nil {
		_, _ = proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		return nil, fmt.Errorf("sandbox: start exec in %s: %w", shortID(s.id), err)
	}
	if stdinDone != nil {
		go func() {
			select {
			case <-stdinDone:
				time.Sleep(stdinSettle)
			case <-exit:
				return
			}
			_ = proc.CloseIO(context.WithoutCancel(ctx), containerd.WithStdinCloser)
		}()
	}
	return &ctrExec{proc: proc, exit: exit}, nil
}

// Exec runs req.Cmd under the in-container `timeout`, killing it from
// containerd (and its process group from the host) when the harness's own
// deadline passes; results are reported as by the Docker runtime.
func (s *ctrSandbox) Exec(ctx context.Context, req ExecRequest) (ExecResult, error) {
	if len(req.Cmd) == 0 {
		return ExecResult{}, errors.New("sandbox: exec: empty command")
	}
	buf := NewCapBuffer(orDefault(req.OutputLimit, s.c.opts.OutputLimit))
	res, err := s.execTo(ctx, req, mergedArgv(req.Cmd), buf, buf, true)
	res.Output = buf.Bytes()
	res.Elided = buf.Elided()
	return res, err
}

func (s *ctrSandbox) run(ctx context.Context, argv []string, stdin io.Reader, timeout time.Duration) ([]byte, error) {
	out := NewCapBuffer(1 << 20)
	errb := NewCapBuffer(64 << 10)
	res, err := s.execTo(ctx, ExecRequest{Cmd: argv, Timeout: timeout}, argv, out, errb, false, stdin)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return out.Bytes(), fmt.Errorf("%q exited %d: %s", argv, res.ExitCode, errb.Bytes())
	}
	return out.Bytes(), nil
}

// lockedWriter serialises the two output copiers cio runs when stdout and
// stderr are one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (s *ctrSandbox) execTo(ctx context.Context, req ExecRequest, argv []string, stdout, stderr io.Writer, checkOOM bool, stdinOverride ...io.Reader) (ExecResult, error) {
	var res ExecResult
	timeout := orDefault(req.Timeout, s.c.opts.ExecTimeout)
	hctx, cancel := context.WithTimeout(ctx, timeout+killAfter+s.c.opts.KillGrace)
	defer cancel()
	stdin := req.Stdin
	if len(stdinOverride) > 0 {
		stdin = stdinOverride[0]
	}
	if stdout == stderr {
		lw := &lockedWriter{w: stdout}
		stdout, stderr = lw, lw
	}
	start := time.Now()
	ex, err := s.startExec(ctx, req, timeoutArgv(timeout, argv), stdin, stdout, stderr)
	if err != nil {
		if running, oom := s.taskState(ctx); !running {
			res.OOMKilled = oom
		}
		return res, err
	}
	nctx := s.c.ns(context.WithoutCancel(ctx))
	harnessKilled := false
	var st containerd.ExitStatus
	select {
	case st = <-ex.exit:
	case <-hctx.Done():
		harnessKilled = true
		_ = ex.proc.Kill(nctx, syscall.SIGKILL)
		s.killTree(ex.proc.Pid(), false)
		select {
		case st = <-ex.exit:
		case <-time.After(10 * time.Second):
		}
	}
	s.killTree(ex.proc.Pid(), true)
	// Output ends once every writer of the pipes is gone; leftovers were
	// just killed, and Delete closes the fifos in any case.
	ioDone := make(chan struct{})
	go func() { ex.proc.IO().Wait(); close(ioDone) }()
	select {
	case <-ioDone:
	case <-time.After(5 * time.Second):
	}
	_, _ = ex.proc.Delete(nctx)
	res.Duration = time.Since(start)
	res.ExitCode = int(st.ExitCode())
	if st.Error() != nil {
		res.ExitCode = -1
	}
	if harnessKilled && ctx.Err() == nil {
		res.TimedOut = true
	}
	if (res.ExitCode == exitTimeout || res.ExitCode == exitKilled) && res.Duration >= timeout {
		res.TimedOut = true
	}
	if checkOOM && res.ExitCode != 0 && !res.TimedOut {
		if s.host != nil || res.ExitCode == exitKilled {
			res.OOMKilled = s.oomSince(ctx)
		}
		if res.ExitCode == exitKilled && !res.OOMKilled {
			if running, oom := s.taskState(ctx); !running && oom {
				res.OOMKilled = true
			}
		}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("sandbox: exec %q: %w", req.Cmd, ctx.Err())
	}
	return res, nil
}

// Start runs req.Cmd as a long-lived exec with stdin open and stdout and
// stderr merged into Output.
func (s *ctrSandbox) Start(ctx context.Context, req ExecRequest) (Process, error) {
	if len(req.Cmd) == 0 {
		return nil, errors.New("sandbox: start: empty command")
	}
	argv := mergedArgv(req.Cmd)
	if req.Timeout > 0 {
		argv = timeoutArgv(req.Timeout, argv)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &ctrProcess{s: s, inW: inW, outR: outR, outW: outW}
	ex, err := s.startExec(ctx, req, argv, inR, outW, outW)
	if err != nil {
		inW.Close()
		return nil, err
	}
	p.ex = ex
	go func() {
		<-ex.exit
		ex.proc.IO().Wait()
		outW.Close()
	}()
	if req.Stdin != nil {
		go func() {
			_, _ = io.Copy(inW, req.Stdin)
			_ = inW.Close()
		}()
	}
	return p, nil
}

type ctrProcess struct {
	s    *ctrSandbox
	ex   *ctrExec
	inW  *io.PipeWriter
	outR *io.PipeReader
	outW *io.PipeWriter
	once sync.Once
}

func (p *ctrProcess) Stdin() io.WriteCloser { return p.inW }
func (p *ctrProcess) Output() io.Reader     { return p.outR }

// Close kills the process and its process group, deletes the exec and
// unblocks readers of Output.
func (p *ctrProcess) Close() error {
	p.once.Do(func() {
		ctx, cancel := context.WithTimeout(p.s.c.ns(context.Background()), 10*time.Second)
		defer cancel()
		_ = p.ex.proc.Kill(ctx, syscall.SIGKILL)
		p.s.killTree(p.ex.proc.Pid(), false)
		_ = p.inW.Close()
		select {
		case <-p.ex.exit:
		case <-time.After(2 * time.Second):
		}
		// Before Delete, which waits for cio's output copier: a reader
		// that stopped early (a tar reader at the end-of-archive blocks)
		// leaves the copier blocked writing into outW until outR closes.
		p.outR.CloseWithError(ErrProcessClosed)
		_, _ = p.ex.proc.Delete(ctx)
	})
	return nil
}

// CopyIn extracts tarStream into dir through `tar -x` in the container, as
// the Docker runtime does.
func (s *ctrSandbox) CopyIn(ctx context.Context, dir string, tarStream io.Reader) error {
	cmd, err := copyInCommand(dir)
	if err != nil {
		return err
	}
	_, err = s.run(ctx, cmd, tarStream, s.c.opts.ExecTimeout)
	if err != nil {
		return fmt.Errorf("sandbox: copy into %s:%s: %w", shortID(s.id), dir, err)
	}
	return nil
}

// CopyOut streams a tar of p from `tar -c` in the container.
func (s *ctrSandbox) CopyOut(ctx context.Context, p string) (io.ReadCloser, error) {
	dir, base, err := copyOutSource(p)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		errb := NewCapBuffer(16 << 10)
		res, err := s.execTo(ctx, ExecRequest{Cmd: []string{"tar"}, Timeout: s.c.opts.ExecTimeout},
			[]string{"tar", "-c", "-f", "-", "-C", dir, "--", base}, pw, errb, false)
		switch {
		case err != nil:
			pw.CloseWithError(fmt.Errorf("sandbox: copy out %s: %w", p, err))
		case res.ExitCode > 1:
			pw.CloseWithError(fmt.Errorf("sandbox: copy out %s:%s: tar exited %d: %s", shortID(s.id), p, res.ExitCode, bytes.TrimSpace(errb.Bytes())))
		default:
			pw.Close()
		}
	}()
	return pr, nil
}
