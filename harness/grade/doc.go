// Package grade applies patches inside a sandbox, runs a task's tests the
// way the SWE-bench harness does, parses the test log and scores it.
//
// It follows SWE-bench's behaviour and key names (FAIL_TO_PASS /
// PASS_TO_PASS, RESOLVED_FULL / PARTIAL / NO, the per-repo test commands and
// log parsers) minus its known bugs:
//
//   - only the test command's own output is parsed: it is delimited by
//     markers carrying a secret that is deleted before the tests start, so
//     nothing printed while patching or resetting counts and the code under
//     test cannot forge a boundary; for pytest only the "short test summary
//     info" section closed by pytest's stats line (or JUnit XML, preferred
//     when pytest can write it) is read, so a forged "PASSED" line printed
//     by the code under test is ignored;
//   - a FAIL_TO_PASS test that is skipped, xfailed or missing is a failure;
//   - a non-zero test exit code with nothing failed in the log is an
//     infrastructure error, never a pass;
//   - a test patch that does not apply is an infrastructure error, not a
//     model failure;
//   - test files the test patch touches are reset to the base commit and the
//     files it adds are deleted before it is applied.
//
// Everything taken from a task (file names, test ids) that reaches a shell
// script is quoted with Quote; patches go into the container as files (a
// tar on the exec's stdin). Grading one patch is one exec.
//
// Entry points: Grade (one task, one patch, a fresh sandbox; callers use
// the function itself, the seam is the task kind's scorer), ApplyPatch,
// ExtractPatch, BuildEvalScript, Resolve, and the parsers (ParsePytest,
// ParseJUnit, ParseDjango, ParseSympy; ParserByName).
package grade
