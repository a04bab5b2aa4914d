package testrun

import (
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/sandbox"
)

// ReportPlugin is the Python source of the harness's reporting plugin, the
// class SwevalReport: a runner that defines an open file rec (records.jsonl)
// and imports json can pass SwevalReport() to pytest.main, and Check reads
// what it wrote. SWE-style grading (package swegrade) runs it too.
const ReportPlugin = reportPlugin

// CappedOutput is the Python class Capped(limit): write(bytes) keeps the
// head and tail of a stream, bytes() returns them with the sandbox's
// elision marker and how many bytes were cut.
const CappedOutput = cappedOutput

// AgentProcs is the Python source of as_agent(out) and sweep(), a root
// supervisor's way into the agent's uid (the globals uid and gid).
const AgentProcs = agentProcs

// WatchPlugin is the Python source of SwevalWatch, the plugin that
// records changes to the runner's reporting code (see watchPlugin); a
// runner executes it after SwevalReport is defined and before any code of
// the workspace is imported.
const WatchPlugin = watchPlugin

// ChildProcs is the Python source of run_child(pid, rfd, output,
// seconds) and read_capped(path, limit) (see childProcs); it needs Capped
// (CappedOutput) and sweep (AgentProcs).
const ChildProcs = childProcs

// Check cross-checks one pytest process that ran label (a file, or a set
// of files in one process): the plugin's records against JUnit and the
// exit code the harness observed, and the planted canaries and controls.
// Hidden outcomes go into out.Tests only when nothing disagrees; every
// disagreement is a grade:tamper-<kind> flag with evidence on out. A
// planted canary fails, so the only honest exit code is 1.
func Check(label string, r sandbox.ExecResult, records []byte, recordsErr error, junit []byte, junitErr error, planted []Planted, out *Outcome) {
	if out.Tests == nil {
		out.Tests = map[string]grade.TestStatus{}
	}
	checkRun(label, r, records, recordsErr, junit, junitErr, planted, out)
}
