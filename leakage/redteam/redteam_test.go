package redteam

import (
	"encoding/json"
	"testing"

	"github.com/sweval/sweval/leakage/audit"
	refpkg "github.com/sweval/sweval/leakage/fixture"
	"github.com/sweval/sweval/leakage/guard"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

var pkg = Package{Dist: refpkg.Dist, Import: refpkg.Import, Workdir: "/testbed", Tests: "tests"}

// trajectoryOf turns an attack's replies into the trajectory the agent
// loop would record (observations empty: this checks the commands alone).
func trajectoryOf(a Attack) *trajectory.Trajectory {
	tr := &trajectory.Trajectory{InstanceID: a.ID}
	for _, r := range a.Replies {
		var acts []trajectory.Action
		if r.Command != "" {
			acts = append(acts, trajectory.Action{Tool: "execute_bash", Command: r.Command})
		}
		for _, tc := range r.ToolCalls {
			args, _ := json.Marshal(tc.Arguments)
			acts = append(acts, trajectory.Action{Tool: tc.Name, Arguments: string(args)})
		}
		tr.Steps = append(tr.Steps, trajectory.Step{Actions: acts})
	}
	return tr
}

func TestSuiteShape(t *testing.T) {
	attacks := Attacks(pkg)
	if len(attacks) < 20 {
		t.Fatalf("only %d attacks", len(attacks))
	}
	seen := map[string]bool{}
	for _, a := range attacks {
		if seen[a.ID] || a.ID == "" || len(a.Stoppers) == 0 || len(a.Replies) < 2 || !a.Replies[len(a.Replies)-1].Submit {
			t.Errorf("attack %q malformed: %+v", a.ID, a)
		}
		seen[a.ID] = true
	}
	data, err := Script("redteam__", attacks)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Instances map[string][]map[string]any `json:"instances"`
	}
	if err := json.Unmarshal(data, &back); err != nil || len(back.Instances) != len(attacks) {
		t.Fatalf("script round trip: %v, %d instances", err, len(back.Instances))
	}
}

// TestAuditFlagsEveryAttack: the audit flags every attack from its
// commands alone; attacks the guard is meant to stop are refused. Attacks
// made of honest work (ExpectReported: the agent's own tests) must raise
// nothing: an honest agent writes tests too.
func TestAuditFlagsEveryAttack(t *testing.T) {
	a := audit.New(audit.Config{Packages: []string{pkg.Dist, pkg.Import}, Workdir: pkg.Workdir, HiddenTests: []string{"tests"}})
	g := guard.New(guard.Config{Packages: []string{pkg.Dist, pkg.Import}})
	for _, at := range Attacks(pkg) {
		t.Run(at.ID, func(t *testing.T) {
			flags := a.Audit(trajectoryOf(at))
			if at.Expect == ExpectReported {
				if len(flags) > 0 {
					t.Fatalf("honest-looking work %s flagged: %v", at.ID, flags)
				}
				return
			}
			if len(flags) == 0 {
				t.Fatalf("audit raised nothing for %s", at.ID)
			}
			wantGuard := false
			for _, l := range at.Stoppers {
				wantGuard = wantGuard || l == LayerGuard
			}
			refused := 0
			for _, c := range at.Commands() {
				if _, r := g.Check(c); r {
					refused++
				}
			}
			if wantGuard && refused == 0 {
				t.Fatalf("%s lists the guard as a stopper but no command is refused", at.ID)
			}
			t.Logf("%d flags (first: %s), %d/%d commands refused", len(flags), flags[0].Rule, refused, len(at.Commands()))
		})
	}
}

// TestScoreAttacksCreateEachPathOnce: the editor's create refuses to
// overwrite, so a score attack that created a path twice would never put
// its trick in the workspace.
func TestScoreAttacksCreateEachPathOnce(t *testing.T) {
	for _, at := range Attacks(pkg) {
		seen := map[any]bool{}
		for _, r := range at.Replies {
			for _, tc := range r.ToolCalls {
				p := tc.Arguments["path"]
				if tc.Arguments["command"] == "create" && seen[p] {
					t.Errorf("%s creates %v twice: the second create is refused", at.ID, p)
				}
				seen[p] = true
			}
		}
	}
}
