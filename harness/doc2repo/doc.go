// Package doc2repo grades Doc2Repo rollouts in a fresh container.
//
// The agent's workspace comes in as a diff against the baseline commit,
// with a tarball fallback for binary files (and for a diff that does not
// apply). Before anything of the agent's runs, grading removes its tests,
// every conftest.py, pytest configuration (pytest.ini, tox.ini, [pytest]
// sections), interpreter start-up hooks (sitecustomize, usercustomize,
// .pth), files shadowing pytest, and symlinks; package code that reaches
// into the test run (pytest internals and hooks, report files, exit codes,
// module-level skips, pytest11 entry points) scores 0, because it would run
// inside the test process. The package is installed offline (`pip install
// --no-deps --no-build-isolation -e .`; failure scores 0 with the reason),
// and an install that changes pytest or the start-up hooks scores 0. The
// hidden tests are copied in and run per file (or through the task's test
// commands, verbatim via bash -c) with JUnit XML output, plugin autoloading
// off and PYTHONSAFEPATH set. Score = passed / declared tests, a declared
// test that never ran counts as failed, count mismatches are reported and
// never capped; strict means all passed.
//
// Since issue 11 the install and the tests leave the assembly container:
// harness/testrun installs (`pip --target`) as uid 1000 in a read-only
// container of its own and runs the hidden tests in a fresh one through a
// harness-owned pytest bootstrap, with a must-fail canary and a must-pass
// control planted per file; any disagreement between the plugin's records,
// JUnit and the observed exit code scores 0 with grade:tamper-<kind>.
// Tasks with test commands, and Options.LegacyRunner, keep the path above.
//
// Calibrate runs the same pipeline with the reference as the submission and
// records which tests pass there (the declared set) and which do not
// (excluded), reporting where the manifest's declared count disagrees.
package doc2repo
