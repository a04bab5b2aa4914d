package run

import (
	"slices"
	"testing"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/result"
)

func TestVerdictOfCarriesGradingFlags(t *testing.T) {
	out := grade.Outcome{Status: result.StatusUnresolved, Error: "patch does not apply: unsafe patch", Flags: []string{grade.FlagUnsafePatch}}
	r := result.Result{AuditFlags: []string{"proc-read@1"}}
	VerdictOf(out).Fill(&r)
	if r.Resolved || !slices.Equal(r.AuditFlags, []string{"proc-read@1", grade.FlagUnsafePatch}) {
		t.Fatalf("resolved %v, audit flags %v", r.Resolved, r.AuditFlags)
	}
}
