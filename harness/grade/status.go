package grade

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// TestStatus is one test's outcome, with SWE-bench's spelling.
type TestStatus string

// Test outcomes as the parsers report them.
const (
	Passed  TestStatus = "PASSED"
	Failed  TestStatus = "FAILED"
	Skipped TestStatus = "SKIPPED"
	Error   TestStatus = "ERROR"
	XFail   TestStatus = "XFAIL"
	XPass   TestStatus = "XPASS"
)

// severity orders statuses so that when one test is reported twice (pytest
// reports a passing call and a failing teardown separately) the worse wins.
func severity(s TestStatus) int {
	switch s {
	case Error:
		return 5
	case Failed:
		return 4
	case XFail:
		return 3
	case Skipped:
		return 2
	case XPass:
		return 1
	default:
		return 0
	}
}

// StatusMap maps a test id to its outcome.
type StatusMap map[string]TestStatus

// set records s for id, keeping the worse of two reports.
func (m StatusMap) set(id string, s TestStatus) {
	if id == "" {
		return
	}
	if old, ok := m[id]; ok && severity(old) >= severity(s) {
		return
	}
	m[id] = s
}

// alias records s under an alternative spelling of an id only when the
// alternative is not itself a reported test.
func (m StatusMap) alias(id string, s TestStatus, real map[string]bool) {
	if id == "" || real[id] {
		return
	}
	m.set(id, s)
}

// hasFailure reports whether any test failed or errored.
func (m StatusMap) hasFailure() bool {
	for _, s := range m {
		if s == Failed || s == Error {
			return true
		}
	}
	return false
}

// Exit code 127 is what shells and env(1) return when the program to run
// does not exist. The patterns find the program's name in the messages of
// bash, dash and env, earliest first.
var notFoundPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^(?:[^\n]*?: )?(?:line \d+: )?([^\s:]+): command not found\s*$`), // bash
	regexp.MustCompile(`(?m)^[^\n]*?: \d+: ([^\s:]+): not found\s*$`),                        // dash
	regexp.MustCompile(`(?m)env: ['‘]?([^\s'’:]+)['’]?: No such file or directory\s*$`),      // #!/usr/bin/env X
	regexp.MustCompile(`(?m)^[^\n]*?: ([^\s:]+): No such file or directory\s*$`),             // bash exec of a path
}

// missingProgram names the program a test command could not find when it
// exited 127, or "" when the output does not say.
func missingProgram(code int, output string) string {
	if code != 127 {
		return ""
	}
	best, at := "", len(output)+1
	for _, re := range notFoundPatterns {
		if m := re.FindStringSubmatchIndex(output); m != nil && m[0] < at {
			best, at = output[m[2]:m[3]], m[0]
		}
	}
	return strings.Trim(best, `'"‘’`)
}

// notFoundHint explains an exit code 127 to the user: which program was
// missing and how to provide it; "" for any other exit code.
func notFoundHint(code int, output string) string {
	if code != 127 {
		return ""
	}
	prog := missingProgram(code, output)
	if prog == "" {
		return "exit code 127 means a program the test command runs was not found in the image: " +
			"see the test output for its name, then install it in the task's environment (its Debian package in the image, or its pip/conda install step) or call one that exists"
	}
	hint := fmt.Sprintf("program %q was not found in the image (exit code 127): install it in the task's environment (its Debian package in the image, or its pip/conda install step) or change the test command to call one that exists", prog)
	switch path.Base(prog) {
	case "python":
		hint += "; for python, Debian's python-is-python3 provides it (sweval's own images include it), or call python3"
	case "pip":
		hint += "; for pip, Debian's python3-pip provides pip3, or call python3 -m pip"
	}
	return hint
}
