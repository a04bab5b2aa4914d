// Package testrun runs hidden pytest tests against an agent's work so that
// the code under test cannot forge the outcome (issue 11).
//
// The agent's code runs inside the test process, so nothing that process
// reports can be trusted on its own. The defences, each against a class of
// attack rather than one script:
//
//   - Phases in separate containers. The workspace is installed (pip
//     --target into a harness-chosen directory inside the workspace) as the
//     unprivileged uid 1000 in one container with a read-only root; the
//     result is copied out, filtered in Go, and copied into a fresh
//     container for the tests, so no install-time process survives and
//     nothing the build backend wrote outside the workspace exists there.
//   - A harness-owned runner: `python -I -B -c <bootstrap>` calls
//     pytest.main with `-c <harness ini>` in a root-owned directory,
//     --rootdir and --confcutdir at the workspace, plugin autoload off, the
//     cache provider off and the harness's reporting plugin passed as an
//     object; explicit test file arguments; no PYTHON*/PYTEST_* from the
//     task. Configuration files and conftest.py outside the hidden tests are
//     dropped from the workspace before it goes in.
//   - Must-fail canaries and must-pass controls, placed per run from a
//     seeded RNG inside every hidden test file with names and bodies shaped
//     like the file's own tests. A canary reported passed, a control missing
//     or failed, or counts that do not add up means tampering.
//   - Outcomes from three channels that are cross-checked: the plugin's
//     per-test records, pytest's JUnit report and the exit code the harness
//     observes through exec. Because every file holds a failing canary the
//     only honest exit code is 1.
//
// Any tampering scores 0 and is reported as grade:tamper-<kind> flags with
// evidence.
package testrun
