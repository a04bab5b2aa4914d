package view

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/scaffolds/trajectory"
)

var update = flag.Bool("update", false, "rewrite testdata/example-run from the fixture builder")

func ip(i int) *int         { return &i }
func fp(f float64) *float64 { return &f }

const astropyPatch = `diff --git a/astropy/modeling/separable.py b/astropy/modeling/separable.py
index a308e27..45bea36 100644
--- a/astropy/modeling/separable.py
+++ b/astropy/modeling/separable.py
@@ -242,7 +242,7 @@ def _cstack(left, right):
         cright = _coord_matrix(right, 'right', noutp)
     else:
         cright = np.zeros((noutp, right.shape[1]))
-        cright[-right.shape[0]:, -right.shape[1]:] = 1
+        cright[-right.shape[0]:, -right.shape[1]:] = right
 
     return np.hstack([cleft, cright])
`

const wrongPatch = `diff --git a/astropy/modeling/separable.py b/astropy/modeling/separable.py
--- a/astropy/modeling/separable.py
+++ b/astropy/modeling/separable.py
@@ -240,6 +240,7 @@ def _cstack(left, right):
     if isinstance(right, Model):
         cright = _coord_matrix(right, 'right', noutp)
     else:
+        right = np.asarray(right)
         cright = np.zeros((noutp, right.shape[1]))
`

// exampleRollout describes one rollout of the fixture run.
type exampleRollout struct {
	res   result.Result
	traj  *trajectory.Trajectory
	patch string
	log   string
	files map[string]string
}

func bashStep(thought, cmd, obs string, exit int, pt, ct int) trajectory.Step {
	args, _ := json.Marshal(map[string]string{"command": cmd})
	return trajectory.Step{
		Response:     trajectory.Message{Role: "assistant", Content: thought, ToolCalls: []trajectory.ToolCall{{ID: "call_" + fmt.Sprint(pt), Type: "function", Function: trajectory.FunctionCall{Name: "execute_bash", Arguments: string(args)}}}},
		Actions:      []trajectory.Action{{Tool: "execute_bash", Arguments: string(args), Command: cmd, Observation: obs, ExitCode: ip(exit), Seconds: 0.4}},
		PromptTokens: pt, CompletionTokens: ct, LatencySeconds: 1.8,
	}
}

// withMessages fills each step's exact request: the previous request, the
// previous reply and its tool results, as the agent loop sends them.
func withMessages(t *trajectory.Trajectory, system, user string) {
	msgs := []trajectory.Message{{Role: "system", Content: system}, {Role: "user", Content: user}}
	for i := range t.Steps {
		t.Steps[i].Messages = append([]trajectory.Message(nil), msgs...)
		msgs = append(msgs, t.Steps[i].Response)
		for j, a := range t.Steps[i].Actions {
			id := ""
			if j < len(t.Steps[i].Response.ToolCalls) {
				id = t.Steps[i].Response.ToolCalls[j].ID
			}
			msgs = append(msgs, trajectory.Message{Role: "tool", Content: a.Observation, ToolCallID: id})
		}
	}
}

func longPytestOutput() string {
	s := "============================= test session starts ==============================\nplatform linux -- Python 3.11.2, pytest-7.2.1\ncollected 15 items\n\n"
	for i := 0; i < 40; i++ {
		s += fmt.Sprintf("astropy/modeling/tests/test_separable.py::test_case_%02d PASSED\n", i)
	}
	return s + "\n[... 18234 bytes elided ...]\n\n============================== 15 passed in 0.41s ==============================\n"
}

func exampleRollouts() []exampleRollout {
	const sys = "You are a software engineer working in /testbed. Use the tools to fix the issue, then call finish."
	const issue = "Modeling's `separability_matrix` does not compute separability correctly for nested CompoundModels."
	good := &trajectory.Trajectory{InstanceID: "astropy__astropy-12907", Rollout: 0, Model: "gpt-4o", Scaffold: "openhands", ExitStatus: "submitted",
		Steps: []trajectory.Step{
			bashStep("Let me find where separability is computed.", "grep -n '_cstack' -r astropy/modeling | head", "astropy/modeling/separable.py:219:def _cstack(left, right):\nastropy/modeling/separable.py:312:    '&': _cstack,", 0, 1510, 62),
			bashStep("The right operand's matrix is replaced by ones; it should keep `right`. Fix it with sed.", "sed -i 's/= 1$/= right/' astropy/modeling/separable.py && git diff", astropyPatch, 0, 2130, 71),
			bashStep("Run the separable tests.", "python -m pytest -q astropy/modeling/tests/test_separable.py", longPytestOutput(), 0, 2890, 40),
		}}
	good.Steps = append(good.Steps, trajectory.Step{Response: trajectory.Message{Role: "assistant", Content: "The nested compound model now reports the right matrix.",
		ToolCalls: []trajectory.ToolCall{{ID: "call_fin", Type: "function", Function: trajectory.FunctionCall{Name: "finish", Arguments: `{"message":"fixed _cstack"}`}}}},
		Actions: []trajectory.Action{{Tool: "finish", Arguments: `{"message":"fixed _cstack"}`, Observation: ""}}, PromptTokens: 4120, CompletionTokens: 21, LatencySeconds: 1.1})
	withMessages(good, sys, issue)
	good.PromptTokens, good.CompletionTokens, good.Cost, good.WallSeconds, good.Patch = 10650, 194, fp(0.0286), 41.2, astropyPatch

	bad := &trajectory.Trajectory{InstanceID: "astropy__astropy-12907", Rollout: 1, Model: "gpt-4o", Scaffold: "openhands", ExitStatus: "step_limit",
		Steps: []trajectory.Step{
			bashStep("Maybe the reference fix is on PyPI; let me look.", "pip download astropy==5.0.1 --no-deps", "", 1, 1510, 48),
			{Response: trajectory.Message{Role: "assistant", Content: "THOUGHT I will edit the file\n(no action block)"}, FormatError: "no fenced action block in the reply", PromptTokens: 1700, CompletionTokens: 30, LatencySeconds: 2.4},
			bashStep("Convert right to an array first.", "python - <<'EOF'\nimport re\np='astropy/modeling/separable.py'\ns=open(p).read()\nopen(p,'w').write(s.replace(\"    else:\\n        cright\",\"    else:\\n        right = np.asarray(right)\\n        cright\",1))\nEOF", "", 0, 2400, 95),
		}}
	bad.Steps[0].Actions[0].Refused = "sweval guard: downloading the package under test is not allowed here; implement the fix from the repository"
	withMessages(bad, sys, issue)
	bad.PromptTokens, bad.CompletionTokens, bad.Cost, bad.WallSeconds, bad.Patch, bad.FormatErrors, bad.GuardRefusals = 5610, 173, fp(0.0158), 63.0, wrongPatch, 1, 1

	d2r := &trajectory.Trajectory{InstanceID: "doc2repo/tinyjson", Rollout: 0, Model: "gpt-4o", Scaffold: "swe-agent", ExitStatus: "submitted",
		Steps: []trajectory.Step{
			bashStep("Write the package from the spec.", "mkdir -p tinyjson && cat > tinyjson/__init__.py <<'EOF'\nfrom .core import loads, dumps\nEOF", "", 0, 2200, 310),
			bashStep("Check the layout.", "ls -R tinyjson", "tinyjson:\n__init__.py\ncore.py", 0, 2600, 20),
		}}
	withMessages(d2r, "You implement Python libraries from their documentation.", "Implement `tinyjson` as specified in SPEC.md.")
	d2r.PromptTokens, d2r.CompletionTokens, d2r.Cost, d2r.WallSeconds = 4800, 330, fp(0.0131), 88.5

	tests, _ := json.MarshalIndent(map[string]any{
		"passed":   []string{"tests/test_loads.py::test_int", "tests/test_loads.py::test_str", "tests/test_loads.py::test_list", "tests/test_dumps.py::test_int"},
		"failed":   []string{"tests/test_dumps.py::test_nested", "tests/test_dumps.py::test_unicode"},
		"not_run":  []string{"tests/test_errors.py::test_bad_token"},
		"declared": 7, "ran": 6, "mismatch": "6 tests ran of 7 declared",
	}, "", " ")
	judge, _ := json.MarshalIndent(map[string]any{"verdict": "suspicious", "summary": "The agent looked for the original package before writing code.",
		"evidence": []map[string]any{{"step": 0, "quote": "mkdir -p tinyjson", "reason": "harmless, but it first listed site-packages"}}}, "", " ")

	evalGood := ">>>>> Start Test Output\n" + longPytestOutput() + ">>>>> End Test Output\n"
	return []exampleRollout{
		{res: result.Result{RunID: "example", InstanceID: good.InstanceID, Rollout: 0, Model: "gpt-4o", Scaffold: "openhands", Benchmark: "swe-bench-lite",
			Status: result.StatusResolved, Resolved: true, Resolution: result.ResolvedFull, PassFraction: 1, Strict: true,
			TestsStatus: &result.TestsStatus{FailToPass: result.SuccessFailure{Success: []string{"astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]", "astropy/modeling/tests/test_separable.py::test_separable[compound_model9-result9]"}},
				PassToPass: result.SuccessFailure{Success: []string{"astropy/modeling/tests/test_separable.py::test_coord_matrix", "astropy/modeling/tests/test_separable.py::test_cdot"}}},
			PatchApplied: "git_apply", TestExitCode: ip(0), AgentExit: "submitted", PromptTokens: 10650, CompletionTokens: 194, Cost: fp(0.0286), Steps: 4, WallSeconds: 41.2},
			traj: good, patch: astropyPatch, log: evalGood},
		{res: result.Result{RunID: "example", InstanceID: bad.InstanceID, Rollout: 1, Model: "gpt-4o", Scaffold: "openhands", Benchmark: "swe-bench-lite",
			Status: result.StatusUnresolved, Resolution: result.ResolvedNo,
			TestsStatus: &result.TestsStatus{FailToPass: result.SuccessFailure{Failure: []string{"astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]", "astropy/modeling/tests/test_separable.py::test_separable[compound_model9-result9]"}},
				PassToPass: result.SuccessFailure{Success: []string{"astropy/modeling/tests/test_separable.py::test_coord_matrix", "astropy/modeling/tests/test_separable.py::test_cdot"}}},
			PatchApplied: "git_apply", TestExitCode: ip(1), AgentExit: "step_limit", AuditFlags: []string{"pip_download"}, GuardRefusals: 1,
			PromptTokens: 5610, CompletionTokens: 173, Cost: fp(0.0158), Steps: 3, WallSeconds: 63.0},
			traj: bad, patch: wrongPatch, files: map[string]string{"audit.json": `[{"step": 0, "action": 0, "rule": "pip_download", "source": "command", "excerpt": "pip download astropy==5.0.1 --no-deps"}]`}, log: ">>>>> Start Test Output\nFAILED astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]\n2 failed, 13 passed in 0.52s\n>>>>> End Test Output\n"},
		{res: result.Result{RunID: "example", InstanceID: d2r.InstanceID, Rollout: 0, Model: "gpt-4o", Scaffold: "swe-agent", Benchmark: "doc2repo",
			Status: result.StatusUnresolved, Resolution: result.ResolvedPartial, PassFraction: 4.0 / 7, Passed: 4, Declared: 7, PatchApplied: "patch+archive",
			TestExitCode: ip(1), Error: "6 tests ran of 7 declared", AgentExit: "submitted", AuditFlags: []string{"judge:suspicious"},
			PromptTokens: 4800, CompletionTokens: 330, Cost: fp(0.0131), Steps: 2, WallSeconds: 88.5},
			traj: d2r, patch: "diff --git a/tinyjson/__init__.py b/tinyjson/__init__.py\nnew file mode 100644\n--- /dev/null\n+++ b/tinyjson/__init__.py\n@@ -0,0 +1 @@\n+from .core import loads, dumps\n",
			log: "collected 6 items\ntests/test_loads.py ...\ntests/test_dumps.py .FF\n", files: map[string]string{"tests.json": string(tests), "judge.json": string(judge)}},
		{res: result.Result{RunID: "example", InstanceID: "django__django-11099", Rollout: 0, Model: "gpt-4o", Scaffold: "openhands", Benchmark: "swe-bench-lite",
			Status: result.StatusEmptyPatch, PatchIsEmpty: true, AgentExit: "context_exceeded", PromptTokens: 128000, CompletionTokens: 900, Cost: fp(0.329), Steps: 31, WallSeconds: 402.7}},
	}
}

// writeRun writes rollouts as a run directory the way harness/run lays it
// out.
func writeRun(t testing.TB, dir string, rs []exampleRollout) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []byte
	for _, r := range rs {
		b, err := json.Marshal(r.res)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(append(lines, b...), '\n')
		rd := result.RolloutDir(dir, r.res.InstanceID, r.res.Rollout)
		if err := os.MkdirAll(rd, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"patch.diff": r.patch, "eval.log": r.log}
		for k, v := range r.files {
			files[k] = v
		}
		if r.traj != nil {
			tb, _ := json.MarshalIndent(r.traj, "", " ")
			files["trajectory.json"] = string(tb)
		}
		for name, body := range files {
			if body == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(rd, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), lines, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte(`{"run_id": "example"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The committed example run is what the fixture builder writes; -update
// rewrites it.
func TestExampleRunIsCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "example-run")
	if *update {
		os.RemoveAll(dir)
		writeRun(t, dir, exampleRollouts())
	}
	fresh := t.TempDir()
	writeRun(t, fresh, exampleRollouts())
	want, _ := os.ReadFile(filepath.Join(fresh, "results.jsonl"))
	got, err := os.ReadFile(filepath.Join(dir, "results.jsonl"))
	if err != nil || string(got) != string(want) {
		t.Fatalf("testdata/example-run is stale: go test ./reports/view -run TestExampleRunIsCurrent -update (%v)", err)
	}
}
