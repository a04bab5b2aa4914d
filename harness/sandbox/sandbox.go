package sandbox

import (
	"context"
	"io"
	"time"
)

// Sandbox is one running container. Every method is safe to call from one
// goroutine at a time per Process, and Exec may be called concurrently.
type Sandbox interface {
	// ID is the container id.
	ID() string
	// Exec runs a command to completion (or its timeout) and returns its
	// exit code and capped output.
	Exec(ctx context.Context, req ExecRequest) (ExecResult, error)
	// Start starts a long-lived attached process (stdin open, output
	// streamed), e.g. a persistent bash session.
	Start(ctx context.Context, req ExecRequest) (Process, error)
	// CopyIn extracts a tar stream into dir inside the container.
	CopyIn(ctx context.Context, dir string, tarStream io.Reader) error
	// CopyOut returns a tar stream of path inside the container.
	CopyOut(ctx context.Context, path string) (io.ReadCloser, error)
	// Close stops and removes the container. Safe to call twice.
	Close(ctx context.Context) error
}

// Runtime creates sandboxes.
type Runtime interface {
	Create(ctx context.Context, spec Spec) (Sandbox, error)
}

// Spec says what container to start and how tightly to lock it down. The
// zero value of every limit means "the package default", never "unlimited".
type Spec struct {
	Image   string
	RunID   string // label sweval.run
	Task    string // label sweval.instance
	Workdir string
	Env     []string // KEY=VALUE; imported images have no ENV of their own

	MemoryBytes int64  // memory limit; swap is set equal (no swap)
	NanoCPUs    int64  // CPU quota in 1e-9 CPUs
	CpusetCpus  string // dedicated cpus per worker, e.g. "1"
	PidsLimit   int64  // max processes
	TmpfsBytes  int64  // size of the /tmp tmpfs
	DiskBytes   int64  // disk budget of the writable layer (a watchdog stops the sandbox past it)
	ReadOnly    bool   // read-only root filesystem
	// SwitchUser keeps CAP_SETUID and CAP_SETGID (nothing else) for root
	// processes, so a harness-owned root process can start the code under
	// test as another uid that then cannot signal, trace or read it. An
	// exec run as a non-root User gets no capabilities either way.
	SwitchUser bool
	Network    bool // false = NetworkMode none (the default)
	Labels     map[string]string
}

// ExecRequest is one command to run inside the sandbox.
type ExecRequest struct {
	// Cmd is the argv; use []string{"bash", "-c", script} for shell text.
	Cmd   []string
	Dir   string
	Env   []string
	Stdin io.Reader
	User  string
	// Timeout is enforced inside the container (timeout -k) and by the
	// harness; zero means the package default.
	Timeout time.Duration
	// OutputLimit caps the bytes kept (head + tail); zero means default.
	OutputLimit int
}

// ExecResult is what a finished command left behind.
type ExecResult struct {
	ExitCode int
	// Output is stdout and stderr interleaved as the process wrote them,
	// capped: when Elided > 0, the middle Elided bytes were dropped and a
	// marker line stands in their place.
	Output   []byte
	Elided   int64
	TimedOut bool
	// OOMKilled is set when the kernel's OOM killer ended the command or
	// the container.
	OOMKilled bool
	Duration  time.Duration
}

// Process is a long-lived attached process.
type Process interface {
	// Stdin is the process's standard input.
	Stdin() io.WriteCloser
	// Output is stdout and stderr merged.
	Output() io.Reader
	// Close ends the process and releases the stream.
	Close() error
}
