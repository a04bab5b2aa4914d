// Package regrade re-scores a finished run's SWE-style rollouts offline:
// it re-parses each stored eval.log's test output with the current log
// parsers and scoring rules, against the dataset's current FAIL_TO_PASS /
// PASS_TO_PASS lists, without starting a container. A parser fix or a
// corrected test list thus reaches published numbers without re-running
// anything. The old verdicts are kept beside the new ones (regrade.jsonl, one line per re-grade)
// and every rollout whose verdict changed is listed.
//
// What the log cannot decide is left as it was: errors, empty patches,
// timeouts, rollouts flagged for tampering (grade:tamper-*: a re-parse
// never clears a forgery the grading caught), Doc2Repo rollouts (graded
// from the harness runner's records) and logs whose test output parses
// to nothing.
package regrade
