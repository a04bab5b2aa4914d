package result

import "slices"

// Verdict is what grading one rollout decided, whatever the task kind: the
// one value every Scorer returns and the only way a grading reaches a
// Result, so no kind can drop a field on the way (the resolution, the
// patch-apply method and the grading's flags once were).
type Verdict struct {
	Status     Status
	Resolution Resolution
	// PassFraction, Strict, Passed and Declared are the kind's own score
	// (Doc2Repo: passed / declared tests); SWE-style kinds set 1/0.
	PassFraction float64
	Strict       bool
	Passed       int
	Declared     int
	TestsStatus  *TestsStatus
	// Rules, Readings and Disagreement are Result's VerdictRules,
	// Verdicts and VerdictDisagreement.
	Rules        string
	Readings     map[string]Resolution
	Disagreement string
	// PatchMethod is how the submission came in (git_apply, patch_fuzz,
	// patch+archive, ...); "" when it did not.
	PatchMethod  string
	TestExitCode *int
	// Error is the reason when not resolved for a reason other than tests
	// failing, or the grading's note (a declared-count mismatch).
	Error string
	// Flags are what the grading detected (grade:<tamper>); they join the
	// result's audit flags, which the board counts as flagged.
	Flags []string
	// Log is the grading log, kept as eval.log.
	Log string
	// Files are extra files kept beside the rollout (tests.json).
	Files map[string][]byte
}

// Fill copies the verdict into a results.jsonl record. Flags are appended
// to the audit flags already there (the agent's trajectory audit).
func (v Verdict) Fill(r *Result) {
	r.Status = v.Status
	r.Resolved = v.Status == StatusResolved
	r.Resolution = v.Resolution
	r.PassFraction, r.Strict = v.PassFraction, v.Strict
	r.Passed, r.Declared = v.Passed, v.Declared
	r.TestsStatus = v.TestsStatus
	r.VerdictRules, r.Verdicts, r.VerdictDisagreement = v.Rules, v.Readings, v.Disagreement
	r.PatchApplied = v.PatchMethod
	r.PatchIsEmpty = v.Status == StatusEmptyPatch
	r.TestExitCode = v.TestExitCode
	r.Error = v.Error
	for _, f := range v.Flags {
		if !slices.Contains(r.AuditFlags, f) {
			r.AuditFlags = append(r.AuditFlags, f)
		}
	}
}
