package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/scaffolds/replay"
)

// TestRunGradesTheWorkOfAnAgentThatBrokeItsSandbox: agents that fix the
// bug and then kill every process, kill PID 1, or leave a fork bomb at
// the pids limit still have their work graded, and the rollout records
// what they did to the sandbox.
func TestRunGradesTheWorkOfAnAgentThatBrokeItsSandbox(t *testing.T) {
	e := setup(t)
	const id = "sweval-fixtures__textkit-1"
	patch := goldPatches(t, e)[id]
	for _, tc := range []struct {
		name, command string
		want          string
		graded        bool
	}{
		{"kill -9 -1", "kill -9 -1", result.SandboxKilled, true},
		{"kill pid 1", "kill -9 1; kill -TERM 1; sleep 1", result.SandboxKilled, true},
		{"fork bomb", "setsid bash -c 'bomb() { bomb | bomb & }; bomb' >/dev/null 2>&1 </dev/null & sleep 5", result.SandboxPidsExhausted, true},
		// Past the disk budget the work is not graded: it scores 0.
		{"10 GiB write", "dd if=/dev/zero of=/testbed/big.bin bs=1M count=10240", result.SandboxDiskLimit, false},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			script := replay.Script{Instances: map[string][]replay.Reply{id: {
				{Content: "Applying the fix.", Command: replay.PatchCommand("/testbed", patch)},
				{Content: "Now break the sandbox.", Command: tc.command},
				{Submit: true},
			}}}
			url := replayServer(t, script)
			out, runID := t.TempDir(), rid("rescue")
			args := append([]string{"run", "--scaffold", "openhands", "--model", "replay", "--base-url", url, "--instance-ids", id,
				"--command-timeout", "3m", "--disk", "512m"}, e.common(out, runID)...)
			if _, err := e.sweval(t, args...); err != nil {
				t.Fatalf("run: %v", err)
			}
			r := onlyResult(t, filepath.Join(out, runID))
			if r.Resolved != tc.graded {
				t.Errorf("resolved %v, want %v: status %s, error %q", r.Resolved, tc.graded, r.Status, r.Error)
			}
			if !tc.graded && (r.Status != result.StatusUnresolved || !strings.Contains(r.Error, "disk budget")) {
				t.Errorf("past the disk budget: status %s, error %q", r.Status, r.Error)
			}
			if r.SandboxEvent != tc.want {
				t.Errorf("sandbox_event %q, want %q", r.SandboxEvent, tc.want)
			}
			if n := containersOf(t, runID); n != 0 {
				t.Errorf("%d containers of the run left", n)
			}
		})
	}
}
