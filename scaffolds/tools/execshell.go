package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sweval/sweval/harness/sandbox"
)

// execScript runs one command in a fresh `bash -c`, after restoring the
// exported environment and cwd the previous command left, and prints the
// marker followed by the new cwd and environment (base64, one line each).
// The command comes on stdin (an argument is limited to 128 kB); the
// arguments are the nonce, the environment (base64 of `export -p`) and cwd.
// The first command activates a published image's environment (see
// sandbox.ActivateEnv); the exported result carries over.
const execScript = `__sweval_c=$(command cat)
__sweval_n=$1 __sweval_e=$2 __sweval_d=$3
set --
exec 2>&1
if [ -n "$__sweval_e" ]; then eval "$(printf %s "$__sweval_e" | base64 -d)" 2>/dev/null; else { ` + sandbox.ActivateEnv + `; } >/dev/null 2>&1; fi
if [ -n "$__sweval_d" ]; then cd -- "$__sweval_d" 2>/dev/null; fi
unset __sweval_e __sweval_d
builtin eval "$__sweval_c" </dev/null
builtin printf '\n__SWEVAL_%s_%d__\n' "$__sweval_n" "$?"
builtin pwd | command base64 -w0; builtin echo
builtin export -p | command base64 -w0; builtin echo
`

// ExecShell runs every command in its own exec (`bash -c`), the way
// harnesses without a session do. It carries the working directory and the
// exported environment from one command to the next, so it gives the same
// results as Session for ordinary use, but shell variables that are not
// exported, functions and background jobs do not survive a command. It
// exists to compare against Session.
type ExecShell struct {
	sb    sandbox.Sandbox
	opts  SessionOptions
	nonce string

	mu  sync.Mutex
	cwd string
	env string // base64 of `export -p`
}

var _ Shell = (*ExecShell)(nil)

// NewExecShell returns an exec-per-command shell over sb.
func NewExecShell(sb sandbox.Sandbox, opts SessionOptions) *ExecShell {
	return &ExecShell{sb: sb, opts: opts.withDefaults(), nonce: newNonce(), cwd: opts.Dir}
}

// Run executes command in a new exec; the sandbox enforces the timeout
// inside the container.
func (e *ExecShell) Run(ctx context.Context, command string, timeout time.Duration) (Observation, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if timeout <= 0 {
		timeout = e.opts.DefaultTimeout
	}
	if strings.IndexByte(command, 0) >= 0 {
		return Observation{Output: "The command contains a NUL byte, which bash cannot run. Remove it and try again.", ExitCode: 2}, nil
	}
	env := append(append([]string{}, SessionEnv...), e.opts.Env...)
	res, err := e.sb.Exec(ctx, sandbox.ExecRequest{
		Cmd:     []string{"bash", "--noprofile", "--norc", "-c", execScript, "bash", e.nonce, e.env, e.cwd},
		Stdin:   strings.NewReader(command),
		Env:     env,
		User:    e.opts.User,
		Timeout: timeout,
		// Room for the marker, cwd and environment in the kept tail.
		OutputLimit: e.opts.OutputLimit + 256<<10,
	})
	if err != nil {
		return Observation{}, fmt.Errorf("tools: exec in %.12s: %w", e.sb.ID(), err)
	}
	buf := sandbox.NewCapBuffer(e.opts.OutputLimit)
	p := newSentinelParser(e.nonce, buf)
	p.feed(res.Output)
	obs := Observation{TimedOut: res.TimedOut, ExitCode: res.ExitCode}
	if p.done {
		obs.ExitCode = p.code
		lines := bytes.SplitN(p.rest, []byte("\n"), 3)
		if len(lines) >= 2 {
			if d, err := base64.StdEncoding.DecodeString(string(lines[0])); err == nil && len(d) > 0 {
				e.cwd = strings.TrimSuffix(string(d), "\n")
			}
			if _, err := base64.StdEncoding.DecodeString(string(lines[1])); err == nil {
				e.env = string(lines[1])
			}
		}
	} else {
		p.flush()
	}
	obs.Output = strings.ToValidUTF8(string(buf.Bytes()), "\uFFFD")
	obs.Elided = res.Elided + buf.Elided()
	return obs, nil
}

// Close does nothing: there is no session to end.
func (e *ExecShell) Close() error { return nil }
