// Package testrun runs hidden pytest tests against an agent's work so that
// the code under test cannot forge the outcome (issue 11).
//
// The agent's code runs inside the test process, so nothing that process
// reports can be trusted on its own. The defences, each against a class of
// attack rather than one script:
//
//   - Phases in separate containers. The workspace is built with its own
//     PEP 517 backend and the wheel unpacked into a harness-chosen directory
//     inside the workspace (what `pip install --no-deps --target` does, in
//     one process) as the unprivileged uid 1000 in one container with a
//     read-only root; the result is copied out, filtered in Go, and copied
//     into a fresh container for the tests, so no install-time process
//     survives and nothing the build backend wrote outside the workspace
//     exists there.
//   - A harness-owned runner: a supervisor runs as root with only
//     CAP_SETUID/CAP_SETGID (`python -I -B -c <supervisor>`), imports pytest
//     once from the interpreter alone, and per hidden test file forks a
//     child that drops to uid 1000 and calls pytest.main with `-c <harness
//     ini>` in a root-owned directory, --rootdir and --confcutdir at the
//     workspace, plugin autoload off, the cache provider off and the
//     harness's reporting plugin passed as an object; one explicit test
//     file; no PYTHON*/PYTEST_* from the task. Configuration files and
//     conftest.py outside the hidden tests are dropped from the workspace
//     before it goes in. Before and after each file every process of uid
//     1000 is killed, and the file's reports are copied where uid 1000
//     cannot write; exit statuses go out on the supervisor's own stdout,
//     which no child holds and which a process of another uid cannot
//     reach through /proc or signals.
//   - Must-fail canaries and must-pass controls, placed per run from a
//     seeded RNG inside every hidden test file with names and bodies shaped
//     like the file's own tests. A canary reported passed, a control missing
//     or failed, or counts that do not add up means tampering.
//   - Outcomes from three channels that are cross-checked: the plugin's
//     per-test records, pytest's JUnit report and the exit status the
//     supervisor observes. Because every file holds a failing canary the
//     only honest exit code is 1.
//
// Any tampering scores 0 and is reported as grade:tamper-<kind> flags with
// evidence.
package testrun
