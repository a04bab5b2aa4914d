package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sweval/sweval/harness/sandbox"
)

// Defaults for SessionOptions fields left at zero.
const (
	DefaultCommandTimeout = 2 * time.Minute
	DefaultOutputLimit    = 32 << 10
	DefaultInterruptGrace = time.Second
	DefaultKillGrace      = time.Second
	DefaultStartTimeout   = 30 * time.Second
)

// SessionEnv is set in every shell so that no command waits on a pager, a
// prompt or a terminal the agent does not have.
var SessionEnv = []string{
	"PAGER=cat", "GIT_PAGER=cat", "MANPAGER=cat", "SYSTEMD_PAGER=", "LESS=-R",
	"TERM=dumb", "NO_COLOR=1", "GIT_TERMINAL_PROMPT=0", "GIT_EDITOR=true", "EDITOR=true",
	"DEBIAN_FRONTEND=noninteractive", "PIP_NO_INPUT=1", "PIP_PROGRESS_BAR=off",
	"PYTHONUNBUFFERED=1",
}

// SessionOptions tune a Shell. Zero values mean the defaults above.
type SessionOptions struct {
	// Env adds KEY=VALUE pairs (after SessionEnv, so they win).
	Env []string
	// Dir is the initial working directory (default: the container's).
	Dir string
	// User runs the shell as this user (default: the container's).
	User string
	// DefaultTimeout applies when Run is given a zero timeout.
	DefaultTimeout time.Duration
	// OutputLimit caps each observation's output (head + tail kept).
	OutputLimit int
	// InterruptGrace is how long a timed-out command has to stop after
	// SIGINT before SIGKILL; KillGrace how long after SIGKILL before the
	// session is killed and restarted.
	InterruptGrace time.Duration
	KillGrace      time.Duration
	Logger         *slog.Logger
}

func (o SessionOptions) withDefaults() SessionOptions {
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = DefaultCommandTimeout
	}
	if o.OutputLimit <= 0 {
		o.OutputLimit = DefaultOutputLimit
	}
	if o.InterruptGrace <= 0 {
		o.InterruptGrace = DefaultInterruptGrace
	}
	if o.KillGrace <= 0 {
		o.KillGrace = DefaultKillGrace
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Session is a persistent bash session inside the sandbox: one long-lived
// attached `bash --noprofile --norc`, fed one line per command. The command
// text travels as a $'...' word and is eval'd in the shell itself, so cwd,
// variables and functions persist; a second line prints a marker carrying
// the exit status and a per-session random nonce. Job control (set -m)
// gives every command its own process group, so a timeout can interrupt the
// command without touching the shell. Safe for use by one goroutine at a
// time (Run calls are serialised).
type Session struct {
	sb    sandbox.Sandbox
	opts  SessionOptions
	nonce string

	mu       sync.Mutex
	proc     sandbox.Process
	out      *chunkReader
	pid      int // the shell's pid inside the container
	leftover []byte
	closed   bool
	// lost is set when the previous session died or was abandoned: the
	// next observation says it was restarted.
	lost bool
	// helper is a second bash that runs signalScript (nil: use Exec).
	helper      *bashProc
	helperTried bool
}

var _ Shell = (*Session)(nil)

// NewSession starts a persistent bash session in sb and waits until it
// answers.
func NewSession(ctx context.Context, sb sandbox.Sandbox, opts SessionOptions) (*Session, error) {
	s := &Session{sb: sb, opts: opts.withDefaults(), nonce: newNonce()}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// PID is the shell's process id inside the container (0 when not running).
func (s *Session) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

func (s *Session) start(ctx context.Context) error {
	// stderr joins stdout so output keeps its order; job control gives each
	// command its own process group; the INT trap keeps the shell alive
	// when a command's process group is interrupted (bash then abandons the
	// rest of that input line, hence the marker on a line of its own).
	// A published image's environment is active, as its own harness has
	// it (SWE-bench's conda env testbed); a no-op elsewhere.
	const init = "exec 2>&1; set -m; trap : INT; unset HISTFILE PROMPT_COMMAND; { " + sandbox.ActivateEnv + "; } >/dev/null 2>&1\n"
	b, err := launchBash(ctx, s.sb, s.request(), s.nonce, init)
	if err != nil {
		return err
	}
	s.proc, s.out, s.pid, s.leftover = b.proc, b.out, b.pid, b.leftover
	if !s.helperTried {
		s.helperTried = true
		// The helper delivers signals in milliseconds; an exec costs a
		// round trip through a possibly busy daemon. Without it, signals
		// go by exec.
		h, err := launchBash(ctx, s.sb, s.request(), s.nonce, "exec 2>&1; __sweval_sig="+ansiCQuote(signalScript)+"\n")
		if err != nil {
			s.opts.Logger.Debug("tools: no signal helper; timeouts will signal by exec", "container", shortID(s.sb.ID()), "err", err)
		} else {
			s.helper = h
		}
	}
	return nil
}

func (s *Session) request() sandbox.ExecRequest {
	return sandbox.ExecRequest{
		Cmd:  []string{"bash", "--noprofile", "--norc"},
		Dir:  s.opts.Dir,
		Env:  append(append([]string{}, SessionEnv...), s.opts.Env...),
		User: s.opts.User,
	}
}

// bashProc is a started bash that answered its first marker.
type bashProc struct {
	proc     sandbox.Process
	out      *chunkReader
	pid      int
	leftover []byte
}

func (b *bashProc) close() {
	_ = b.proc.Close()
	b.out.stop()
}

// launchBash starts bash, sends init and waits for the marker carrying its
// pid.
func launchBash(ctx context.Context, sb sandbox.Sandbox, req sandbox.ExecRequest, nonce, init string) (*bashProc, error) {
	proc, err := sb.Start(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("tools: start bash session in %.12s: %w", sb.ID(), err)
	}
	b := &bashProc{proc: proc, out: newChunkReader(proc.Output())}
	var junk strings.Builder
	if _, err := io.WriteString(proc.Stdin(), init+sentinelPrintf(nonce, "$$")); err != nil {
		b.close()
		return nil, fmt.Errorf("tools: write to bash session in %.12s: %w", sb.ID(), err)
	}
	code, rest, err := b.await(ctx, nonce, DefaultStartTimeout, &limitWriter{w: &junk, n: 4096})
	if err != nil {
		b.close()
		return nil, fmt.Errorf("tools: bash session in %.12s did not start (is bash in the image?): %w; it printed %q", sb.ID(), err, junk.String())
	}
	b.pid, b.leftover = code, rest
	return b, nil
}

// await reads until the next marker, writing output to sink.
func (b *bashProc) await(ctx context.Context, nonce string, timeout time.Duration, sink io.Writer) (int, []byte, error) {
	p := newSentinelParser(nonce, sink)
	t := time.NewTimer(timeout)
	defer t.Stop()
	for !p.done {
		select {
		case c, ok := <-b.out.ch:
			if !ok {
				p.flush()
				return 0, nil, errors.New("bash exited")
			}
			p.feed(c)
		case <-t.C:
			p.flush()
			return 0, nil, fmt.Errorf("no answer within %s", timeout)
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
	return p.code, p.rest, nil
}

// abandon closes the current process (the sandbox kills its tree) and
// forgets it.
func (s *Session) abandon() {
	if s.proc != nil {
		_ = s.proc.Close()
	}
	if s.out != nil {
		s.out.stop()
	}
	s.proc, s.out, s.pid, s.leftover = nil, nil, 0, nil
}

// Run executes command in the session. A timeout interrupts the command
// (SIGINT, then SIGKILL to its process group) and, if the shell still does
// not answer, restarts the session; both are reported in the observation.
func (s *Session) Run(ctx context.Context, command string, timeout time.Duration) (Observation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Observation{}, errors.New("tools: session is closed")
	}
	if timeout <= 0 {
		timeout = s.opts.DefaultTimeout
	}
	if strings.IndexByte(command, 0) >= 0 {
		return Observation{Output: "The command contains a NUL byte, which bash cannot run. Remove it and try again.", ExitCode: 2}, nil
	}
	restarted := false
	if s.proc == nil || s.lost {
		if s.proc == nil {
			if err := s.start(ctx); err != nil {
				return Observation{}, err
			}
		}
		restarted, s.lost = s.lost, false
	}
	line := commandLine(command) + sentinelPrintf(s.nonce, "$?")
	if _, err := io.WriteString(s.proc.Stdin(), line); err != nil {
		// The shell is gone (e.g. a previous `exit`): start over once.
		s.abandon()
		if err := s.start(ctx); err != nil {
			return Observation{}, err
		}
		restarted = true
		if _, err := io.WriteString(s.proc.Stdin(), line); err != nil {
			s.abandon()
			return Observation{}, fmt.Errorf("tools: write to bash session in %.12s: %w", s.sb.ID(), err)
		}
	}
	obs, err := s.collect(ctx, timeout)
	obs.Restarted = obs.Restarted || restarted
	return obs, err
}

// bulkCommand is the size above which a command is sent as raw bytes read
// by `head -c` instead of a $'...' word: bash reads its input one byte at a
// time (so as not to consume what follows), which costs about 7 µs a byte,
// while the extra fork costs about a millisecond.
const bulkCommand = 16 << 10

// commandLine is what the session is sent to run command.
func commandLine(command string) string {
	const eval = "; builtin eval \"$__sweval_c\" </dev/null\n"
	if len(command) <= bulkCommand {
		return "__sweval_c=" + ansiCQuote(command) + eval
	}
	// head reads exactly the command's bytes, which follow the line; bash
	// then reads on from the marker line. $(...) drops trailing newlines,
	// which a command does not miss.
	return "__sweval_c=$(command head -c " + strconv.Itoa(len(command)) + ")" + eval + command
}

// collect reads the command's output until its marker, escalating on
// timeout.
func (s *Session) collect(ctx context.Context, timeout time.Duration) (Observation, error) {
	buf := sandbox.NewCapBuffer(s.opts.OutputLimit)
	p := newSentinelParser(s.nonce, buf)
	observe := func() Observation {
		return Observation{Output: strings.ToValidUTF8(string(buf.Bytes()), "\uFFFD"), Elided: buf.Elided(), ExitCode: p.code}
	}
	if len(s.leftover) > 0 {
		left := s.leftover
		s.leftover = nil
		if p.feed(left) {
			s.leftover = p.rest
			return observe(), nil
		}
	}
	sent := time.Now()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	phase := 0 // 0 running, 1 SIGINT sent, 2 SIGKILL sent
	for {
		select {
		case c, ok := <-s.out.ch:
			if !ok {
				// The shell exited (`exit`, `exec`, killed): report what it
				// printed and restart on the next command.
				p.flush()
				obs := observe()
				obs.ExitCode, obs.TimedOut = -1, phase > 0
				obs.Restarted = true
				s.abandon()
				if err := s.start(ctx); err != nil {
					s.lost = true // retry on the next Run
					s.opts.Logger.Warn("tools: could not restart bash session", "container", shortID(s.sb.ID()), "err", err)
				}
				return obs, nil
			}
			if p.feed(c) {
				s.leftover = p.rest
				obs := observe()
				obs.TimedOut = phase > 0
				return obs, nil
			}
		case <-timer.C:
			phase++
			switch phase {
			case 1:
				s.signal(ctx, "INT", "fg", time.Since(sent))
				timer.Reset(s.opts.InterruptGrace)
			case 2:
				s.signal(ctx, "KILL", "fg", time.Since(sent))
				timer.Reset(s.opts.KillGrace)
			default:
				p.flush()
				obs := observe()
				obs.ExitCode, obs.TimedOut, obs.Restarted = -1, true, true
				s.kill()
				if err := s.start(ctx); err != nil {
					s.lost = true
					return obs, fmt.Errorf("tools: restart bash session after a stuck command: %w", err)
				}
				return obs, nil
			}
		case <-ctx.Done():
			// The caller gave up: stop the command and start afresh next time.
			s.kill()
			s.lost = true
			return Observation{}, ctx.Err()
		}
	}
}

// signal sends sig to the session's foreground job (mode "fg") or to the
// whole session (mode "all") through a second exec: Docker has no API to
// signal an exec.
//
// since is how long ago the command was sent (see signalScript).
func (s *Session) signal(ctx context.Context, sig, mode string, since time.Duration) {
	if s.pid <= 0 {
		return
	}
	args := []string{sig, strconv.Itoa(s.pid), mode, strconv.FormatInt(since.Milliseconds(), 10)}
	if h := s.helper; h != nil {
		line := "bash --noprofile --norc -c \"$__sweval_sig\" sweval-signal " + strings.Join(args, " ") + " </dev/null\n" + sentinelPrintf(s.nonce, "$?")
		var out strings.Builder
		_, err := io.WriteString(h.proc.Stdin(), line)
		code := 0
		if err == nil {
			code, _, err = h.await(context.WithoutCancel(ctx), s.nonce, 10*time.Second, &limitWriter{w: &out, n: 4096})
		}
		if err == nil {
			if code != 0 {
				s.opts.Logger.Warn("tools: signalling the bash session failed", "container", shortID(s.sb.ID()), "signal", sig, "exit", code, "output", out.String())
			}
			return
		}
		s.opts.Logger.Warn("tools: signal helper broken; signalling by exec", "container", shortID(s.sb.ID()), "err", err)
		h.close()
		s.helper = nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	res, err := s.sb.Exec(sctx, sandbox.ExecRequest{
		Cmd:     append([]string{"bash", "-c", signalScript, "sweval-signal"}, args...),
		Timeout: 10 * time.Second,
		User:    s.opts.User,
	})
	if err != nil || res.ExitCode != 0 {
		s.opts.Logger.Warn("tools: signalling the bash session failed", "container", shortID(s.sb.ID()), "signal", sig, "exit", res.ExitCode, "output", string(res.Output), "err", err)
	}
}

// kill ends the session and everything it started.
func (s *Session) kill() {
	if s.proc == nil {
		return
	}
	s.signal(context.Background(), "KILL", "all", 0)
	s.abandon()
}

// Close ends the session. Safe to call twice.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.proc != nil {
		_ = s.proc.Stdin().Close()
	}
	s.abandon()
	if s.helper != nil {
		s.helper.close()
		s.helper = nil
	}
	return nil
}

// chunkReader reads a process's output on its own goroutine, so Run can
// wait on output, a timer and ctx at once.
type chunkReader struct {
	ch   chan []byte
	done chan struct{}
	once sync.Once
}

func newChunkReader(r io.Reader) *chunkReader {
	c := &chunkReader{ch: make(chan []byte, 8), done: make(chan struct{})}
	go func() {
		defer close(c.ch)
		for {
			b := make([]byte, 32<<10)
			n, err := r.Read(b)
			if n > 0 {
				select {
				case c.ch <- b[:n]:
				case <-c.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return c
}

func (c *chunkReader) stop() { c.once.Do(func() { close(c.done) }) }

// limitWriter keeps at most n bytes.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if k := min(len(p), l.n); k > 0 {
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
