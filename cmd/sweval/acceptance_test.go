package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/internal/fixtures"
	"github.com/sweval/sweval/internal/testenv"
	"github.com/sweval/sweval/scaffolds/replay"
)

// The bundled SWE fixtures (testdata/swe): every instance but geodist-3
// (whose environment is deliberately broken) is valid.
const (
	brokenEnv = "sweval-fixtures__geodist-3"
)

type harnessEnv struct {
	bin, repoCache, tasks, image string
	all                          []benchmarks.Task // the bundled tasks
	valid                        []string
}

var (
	envOnce sync.Once
	envVal  harnessEnv
	envErr  error
)

// setup builds the sweval binary and the fixture repo cache once for all
// acceptance tests; they run the binary exactly as a user would.
func setup(t *testing.T) harnessEnv {
	t.Helper()
	image := testenv.BaseImage(t)
	envOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sweval-acceptance-")
		if err != nil {
			envErr = err
			return
		}
		envVal = harnessEnv{bin: filepath.Join(dir, "sweval"), repoCache: filepath.Join(dir, "repos"), image: image}
		if out, err := exec.Command("go", "build", "-o", envVal.bin, ".").CombinedOutput(); err != nil {
			envErr = err
			t.Logf("%s", out)
			return
		}
		tasks, err := fixtures.Bundled(context.Background(), envVal.repoCache)
		if err != nil {
			envErr = err
			return
		}
		envVal.all = tasks
		if envVal.tasks, envErr = fixtures.TasksFile(); envErr != nil {
			return
		}
		for _, task := range tasks {
			if task.ID != brokenEnv {
				envVal.valid = append(envVal.valid, task.ID)
			}
		}
	})
	if envErr != nil {
		t.Fatalf("acceptance setup: %v", envErr)
	}
	return envVal
}

// sweval runs the binary and returns its stdout; a non-zero exit is
// returned as err with stderr in the log.
func (e harnessEnv) sweval(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(e.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		t.Logf("sweval %s\nstderr:\n%s", strings.Join(args, " "), tail(stderr.String(), 4000))
	}
	return stdout.String(), err
}

func (e harnessEnv) common(runDir, runID string) []string {
	return []string{"--dataset", e.tasks, "--repo-cache", e.repoCache, "--base-image", e.image,
		"--output", runDir, "--run-id", runID, "--timeout", "60s", "--no-progress"}
}

func readReport(t *testing.T, dir string) result.RunReport {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep result.RunReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestEvalGoldResolvesEveryValidInstanceAndEmptyNone(t *testing.T) {
	e := setup(t)
	out := t.TempDir()
	for _, tc := range []struct {
		preds        string
		wantResolved []string
	}{
		{"gold", e.valid},
		{"empty", nil},
	} {
		t.Run(tc.preds, func(t *testing.T) {
			stdout, err := e.sweval(t, append([]string{"eval", "--predictions", tc.preds, "--workers", "2"}, e.common(out, tc.preds)...)...)
			if err != nil {
				t.Fatalf("eval %s: %v", tc.preds, err)
			}
			rep := readReport(t, filepath.Join(out, tc.preds))
			if !slices.Equal(rep.ResolvedIDs, tc.wantResolved) {
				t.Fatalf("resolved_ids = %v, want %v\n%s", rep.ResolvedIDs, tc.wantResolved, stdout)
			}
			if rep.ErrorInstances != 0 {
				t.Fatalf("error_ids %v: %+v", rep.ErrorIDs, rep.Instances)
			}
			if !strings.Contains(stdout, "resolved") {
				t.Fatalf("no results table on stdout:\n%s", stdout)
			}
			// run.json names the exact images by digest, as the daemon reports them.
			var meta run.Meta
			data, err := os.ReadFile(filepath.Join(out, tc.preds, "run.json"))
			if err == nil {
				err = json.Unmarshal(data, &meta)
			}
			if err != nil || len(meta.Images) != 2 {
				t.Fatalf("run.json images %+v: %v", meta.Images, err)
			}
			for _, im := range meta.Images {
				if !strings.HasPrefix(im.Digest, "sha256:") || im.Key == "" {
					t.Errorf("run.json image %+v: want a sha256 digest and sweval's content key", im)
				}
			}
		})
	}
}

func TestValidateFlagsTheBrokenEnvironment(t *testing.T) {
	e := setup(t)
	stdout, err := e.sweval(t, append([]string{"validate", "--workers", "2"}, e.common(t.TempDir(), rid("v"))...)...)
	var exit *exec.ExitError
	if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("validate: err = %v, want exit status 3 (invalid environments)\n%s", err, stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.Contains(line, "sweval-fixtures__") {
			continue
		}
		invalid := strings.Contains(line, "INVALID")
		if broken := strings.Contains(line, brokenEnv); invalid != broken {
			t.Errorf("validate line %q: invalid=%v, want %v", line, invalid, broken)
		}
	}
}

func TestEvalKilledMidRunResumesWithEveryInstanceOnce(t *testing.T) {
	e := setup(t)
	out := t.TempDir()
	runID := rid("killed")
	args := append([]string{"eval", "--predictions", "gold", "--workers", "1"}, e.common(out, runID)...)
	cmd := exec.Command(e.bin, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(out, runID, "results.jsonl")
	deadline := time.Now().Add(10 * time.Minute)
	for lines(t, results) < 1 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	// Let the next instance get into its container, then kill -9.
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	done := lines(t, results)
	if done == 0 || done >= 6 {
		t.Fatalf("kill landed after %d results; want mid-run", done)
	}
	if _, err := e.sweval(t, args...); err != nil {
		t.Fatalf("resumed eval: %v", err)
	}
	counts := map[string]int{}
	for _, r := range readResults(t, results) {
		counts[r.InstanceID]++
	}
	if len(counts) != 6 {
		t.Fatalf("results cover %d instances, want 6: %v", len(counts), counts)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("%s reported %d times", id, n)
		}
	}
	if n := containersOf(t, runID); n != 0 {
		t.Fatalf("%d containers of the killed run left behind", n)
	}
}

// containersOf counts the containers (running or not) labelled with runID.
func containersOf(t *testing.T, runID string) int {
	t.Helper()
	list, err := testenv.Docker(t).ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", "sweval.managed=1", "sweval.run="+runID),
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// replayServer serves script on a loopback port for the duration of t.
func replayServer(t *testing.T, script replay.Script, faults ...replay.Fault) string {
	t.Helper()
	srv, err := replay.New(replay.Config{Script: script, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

func goldPatches(t *testing.T, e harnessEnv) map[string]string {
	t.Helper()
	patches := map[string]string{}
	for _, task := range e.all {
		if slices.Contains(e.valid, task.ID) {
			patches[task.ID] = task.Patch
		}
	}
	return patches
}

func TestRunBothScaffoldsAgainstReplayServer(t *testing.T) {
	e := setup(t)
	patches := goldPatches(t, e)
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range patches {
			if !yield(id) {
				return
			}
		}
	})
	for _, scaffold := range []string{"openhands", "sweagent"} {
		for _, tc := range []struct {
			name         string
			wrong        bool
			faults       []replay.Fault
			wantResolved []string
		}{
			{name: "correct", wantResolved: ids},
			{name: "wrong", wrong: true},
			{name: "429-and-500", faults: []replay.Fault{
				{Kind: replay.FaultRateLimit, Every: 2, RetryAfter: 0.05},
				{Kind: replay.FaultServerError, Every: 3},
			}, wantResolved: ids},
		} {
			t.Run(scaffold+"/"+tc.name, func(t *testing.T) {
				url := replayServer(t, replay.SolutionScript(patches, "/testbed", tc.wrong), tc.faults...)
				out, runID := t.TempDir(), rid("r")
				args := append([]string{"run", "--scaffold", scaffold, "--model", "replay", "--base-url", url,
					"--workers", "2", "--max-retries", "8", "--instance-ids", strings.Join(ids, ",")}, e.common(out, runID)...)
				if _, err := e.sweval(t, args...); err != nil {
					t.Fatalf("run: %v", err)
				}
				rep := readReport(t, filepath.Join(out, runID))
				if !slices.Equal(rep.ResolvedIDs, tc.wantResolved) {
					t.Fatalf("resolved_ids = %v, want %v (errors %v)", rep.ResolvedIDs, tc.wantResolved, rep.ErrorIDs)
				}
				if len(rep.CompletedIDs) != len(ids) {
					t.Fatalf("completed %v, want all of %v", rep.CompletedIDs, ids)
				}
				if !tc.wrong {
					for id, inst := range rep.Instances {
						if len(inst.AuditFlags) > 0 {
							t.Errorf("clean scripted solution of %s was flagged: %v", id, inst.AuditFlags)
						}
					}
				}
				if n := containersOf(t, runID); n != 0 {
					t.Fatalf("%d containers of the run left after its rollouts", n)
				}
				preds, err := os.ReadFile(filepath.Join(out, runID, "preds.jsonl"))
				if err != nil || strings.Count(string(preds), "\n") != len(ids) {
					t.Fatalf("preds.jsonl: %v, %d lines", err, strings.Count(string(preds), "\n"))
				}
			})
		}
	}
}

func TestRunContextExceededStillGradesThePatch(t *testing.T) {
	e := setup(t)
	const id = "sweval-fixtures__textkit-1"
	script := replay.SolutionScript(map[string]string{id: goldPatches(t, e)[id]}, "/testbed", false)
	// The reply after the fix is a context-length error, every time.
	replies := script.Instances[id]
	replies[len(replies)-1].Fault = &replay.Fault{Kind: replay.FaultContextLength, Always: true}
	url := replayServer(t, script)
	out := t.TempDir()
	args := append([]string{"run", "--scaffold", "openhands", "--model", "replay", "--base-url", url, "--instance-ids", id}, e.common(out, rid("ctx"))...)
	if _, err := e.sweval(t, args...); err != nil {
		t.Fatalf("run: %v", err)
	}
	r := onlyResult(t, filepath.Join(out, rid("ctx")))
	if r.AgentExit != "context_exceeded" || !r.Resolved {
		t.Fatalf("agent exit %q resolved %v; want context_exceeded and the applied fix graded as resolved", r.AgentExit, r.Resolved)
	}
}

func lines(t *testing.T, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\n")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// writeTreeScript scripts an agent that writes every file under root
// (except tests/) into /testbed with heredocs, then submits.
func writeTreeScript(t *testing.T, root string) []replay.Reply {
	t.Helper()
	return writeTreeScriptAt(t, root, "/testbed")
}

// writeTreeScriptAt is writeTreeScript into workdir.
func writeTreeScriptAt(t *testing.T, root, workdir string) []replay.Reply {
	t.Helper()
	var replies []replay.Reply
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if d.Name() == "tests" || d.Name() == "__pycache__" || strings.HasSuffix(d.Name(), ".egg-info") {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		cmd := "mkdir -p " + workdir + "/" + filepath.Dir(rel) + " && cat > " + workdir + "/" + rel + " <<'SWEVAL_EOF'\n" + string(data) + "\nSWEVAL_EOF"
		replies = append(replies, replay.Reply{Command: cmd})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(replies, replay.Reply{Submit: true})
}

func TestRunDoc2RepoScoresPassedOverDeclared(t *testing.T) {
	e := setup(t)
	root, err := fixtures.Root()
	if err != nil {
		t.Fatal(err)
	}
	d2r := filepath.Join(root, "testdata", "doc2repo")
	for _, tc := range []struct {
		name, id   string
		tree       string // written by the scripted agent; "" writes nothing
		wantScore  float64
		wantStrict bool
		calibrate  bool // score against the ids `doc2repo calibrate` found
	}{
		{"reference", "iniconf", "iniconf/reference", 1, true, false},
		{"reference-calibrated", "iniconf", "iniconf/reference", 1, true, true},
		// unitconv's parametrized ids have spaces: each test counts once.
		{"reference-unitconv", "unitconv", "unitconv/reference", 1, true, false},
		{"partial", "iniconf", "iniconf/partial", 13.0 / 63, false, false},
		{"empty", "iniconf", "", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replies := []replay.Reply{{Submit: true}}
			if tc.tree != "" {
				replies = writeTreeScript(t, filepath.Join(d2r, tc.tree))
			}
			url := replayServer(t, replay.Script{Instances: map[string][]replay.Reply{tc.id: replies}})
			out := t.TempDir()
			args := []string{"run", "--dataset", filepath.Join(d2r, "tasks.jsonl"), "--instance-ids", tc.id,
				"--scaffold", "openhands", "--model", "replay", "--base-url", url, "--base-image", e.image,
				"--output", out, "--run-id", rid("d2r"), "--no-progress"}
			if tc.calibrate {
				cal := filepath.Join(out, "calibration.jsonl")
				if _, err := e.sweval(t, "doc2repo", "calibrate", "--tasks", filepath.Join(d2r, "tasks.jsonl"), "--base-image", e.image, "--out", cal, "--no-progress"); err != nil {
					t.Fatalf("calibrate: %v", err)
				}
				excludeOne(t, cal, tc.id)
				args = append(args, "--calibration", cal)
			}
			if _, err := e.sweval(t, args...); err != nil {
				t.Fatalf("run: %v", err)
			}
			r := onlyResult(t, filepath.Join(out, rid("d2r")))
			if tc.calibrate && r.Declared != 62 {
				t.Fatalf("calibrated run scored %d declared tests, want 62 (63 minus the excluded one)", r.Declared)
			}
			if diff := r.PassFraction - tc.wantScore; diff > 1e-9 || diff < -1e-9 || r.Strict != tc.wantStrict {
				t.Fatalf("score %v (%d/%d) strict %v; want %v strict %v (error %q)", r.PassFraction, r.Passed, r.Declared, r.Strict, tc.wantScore, tc.wantStrict, r.Error)
			}
			if len(r.AuditFlags) != 0 {
				t.Fatalf("clean scripted work was flagged: %v", r.AuditFlags)
			}
			if n := containersOf(t, rid("d2r")); n != 0 {
				t.Fatalf("%d containers left after the rollout", n)
			}
		})
	}
}

// A Doc2Repo task whose workspace is not /testbed (DeNovoSWE's workdir)
// runs end to end; a workspace whose package code reaches into the test
// run is caught by the grading, and its grade: flag and resolution reach
// results.jsonl, report.json and the board.
func TestRunDoc2RepoWorkdirAndGradeFlags(t *testing.T) {
	e := setup(t)
	root, err := fixtures.Root()
	if err != nil {
		t.Fatal(err)
	}
	d2r := filepath.Join(root, "testdata", "doc2repo")
	// The bundled iniconf task, moved to /srv/app.
	manifest := filepath.Join(t.TempDir(), "tasks.jsonl")
	rec := map[string]any{"id": "iniconf", "spec": filepath.Join(d2r, "iniconf/spec.md"), "reference": filepath.Join(d2r, "iniconf/reference"),
		"tests": []string{"tests"}, "test_command": "python3 -m pytest -rA tests", "declared_tests": 63, "package": "iniconf",
		"env": map[string]any{"python": "3"}, "workdir": "/srv/app"}
	line, _ := json.Marshal(rec)
	if err := os.WriteFile(manifest, append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		tamper         bool
		wantScore      float64
		wantResolution result.Resolution
		wantFlag       string
	}{
		{"workdir-srv-app", false, 1, result.ResolvedFull, ""},
		{"tamper", true, 0, result.ResolvedNo, "grade:package-touches-test-runner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replies := writeTreeScriptAt(t, filepath.Join(d2r, "iniconf/reference"), "/srv/app")
			if tc.tamper {
				hook := replay.Reply{Command: "cat > /srv/app/iniconf/_hooks.py <<'SWEVAL_EOF'\ndef pytest_configure(config):\n    config.option.tbstyle = 'no'\nSWEVAL_EOF"}
				replies = append(replies[:len(replies)-1], hook, replay.Reply{Submit: true})
			}
			id := rid("d2rwd-" + tc.name)
			url := replayServer(t, replay.Script{Instances: map[string][]replay.Reply{"iniconf": replies}})
			out := t.TempDir()
			if _, err := e.sweval(t, "run", "--dataset", manifest, "--scaffold", "openhands", "--model", "replay", "--base-url", url,
				"--base-image", e.image, "--output", out, "--run-id", id, "--no-progress"); err != nil {
				t.Fatalf("run: %v", err)
			}
			dir := filepath.Join(out, id)
			r := onlyResult(t, dir)
			if diff := r.PassFraction - tc.wantScore; diff > 1e-9 || diff < -1e-9 || r.Resolution != tc.wantResolution {
				t.Fatalf("score %v (%d/%d) resolution %s; want %v %s (error %q)", r.PassFraction, r.Passed, r.Declared, r.Resolution, tc.wantScore, tc.wantResolution, r.Error)
			}
			if r.PatchApplied == "" {
				t.Errorf("no patch-apply method in the result")
			}
			if tc.wantFlag == "" {
				if len(r.AuditFlags) != 0 {
					t.Fatalf("clean scripted work was flagged: %v", r.AuditFlags)
				}
				return
			}
			if !slices.Contains(r.AuditFlags, tc.wantFlag) {
				t.Fatalf("results.jsonl flags %v, want %s", r.AuditFlags, tc.wantFlag)
			}
			var inst map[string]result.InstanceReport
			data, err := os.ReadFile(filepath.Join(result.RolloutDir(dir, "iniconf", 0), "report.json"))
			if err != nil || json.Unmarshal(data, &inst) != nil {
				t.Fatalf("report.json: %v", err)
			}
			if got := inst["iniconf"].Result; !slices.Contains(got.AuditFlags, tc.wantFlag) || got.Resolution != tc.wantResolution {
				t.Fatalf("report.json: flags %v resolution %s", got.AuditFlags, got.Resolution)
			}
			board, err := e.sweval(t, "board", "--format", "json", dir)
			if err != nil {
				t.Fatalf("board: %v", err)
			}
			var b struct {
				Rows []struct {
					Flagged int `json:"flagged_rollouts"`
				} `json:"rows"`
			}
			if err := json.Unmarshal([]byte(board), &b); err != nil || len(b.Rows) != 1 || b.Rows[0].Flagged != 1 {
				t.Fatalf("the board does not count the flagged rollout (%v):\n%s", err, board)
			}
		})
	}
}

// excludeOne moves one passing test id of task to the excluded list of a
// calibration file, as if it had failed on the reference.
func excludeOne(t *testing.T, path, task string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var cal map[string]any
		if err := json.Unmarshal([]byte(line), &cal); err != nil {
			t.Fatal(err)
		}
		if cal["instance_id"] == task {
			passed := cal["passed"].([]any)
			excluded, _ := cal["excluded"].([]any)
			cal["passed"], cal["excluded"] = passed[1:], append(excluded, passed[0])
		}
		b, _ := json.Marshal(cal)
		out = append(out, string(b))
	}
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// On SIGINT (Ctrl-C) or SIGTERM, sweval stops and removes its own
// containers before it exits; the interrupted rollout is redone on resume.
func TestEvalInterruptedRemovesItsContainers(t *testing.T) {
	e := setup(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			runID := rid("sig-" + strings.ReplaceAll(sig.String(), " ", ""))
			cmd := exec.Command(e.bin, append([]string{"eval", "--predictions", "gold", "--workers", "1"}, e.common(out, runID)...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			results := filepath.Join(out, runID, "results.jsonl")
			deadline := time.Now().Add(10 * time.Minute)
			for lines(t, results) < 1 && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
			time.Sleep(time.Second) // the next instance is in its container now
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if err == nil {
				t.Fatalf("interrupted eval exited 0")
			}
			if !strings.Contains(stderr.String(), "resume") {
				t.Errorf("stderr does not say how to resume:\n%s", tail(stderr.String(), 2000))
			}
			if n := containersOf(t, runID); n != 0 {
				t.Fatalf("%d containers left after %s", n, sig)
			}
		})
	}
}

// The optional LLM judge runs on every trajectory through a real
// OpenAI-compatible endpoint; a non-clean verdict becomes an audit flag
// and the verdict with its evidence is kept beside the rollout.
func TestRunLLMJudgeVerdictTravelsWithTheRollout(t *testing.T) {
	e := setup(t)
	const id = "sweval-fixtures__textkit-1"
	agentURL := replayServer(t, replay.SolutionScript(map[string]string{id: goldPatches(t, e)[id]}, "/testbed", false))
	verdict := `{"verdict": "cheating", "summary": "scripted test verdict", "evidence": [{"step": 0, "quote": "git apply", "reason": "test"}]}`
	judgeURL := replayServer(t, replay.Script{Instances: map[string][]replay.Reply{"*": {{Content: verdict}}}})
	out := t.TempDir()
	args := append([]string{"run", "--scaffold", "openhands", "--model", "replay", "--base-url", agentURL,
		"--judge-model", "judge", "--judge-base-url", judgeURL, "--instance-ids", id}, e.common(out, rid("judged"))...)
	if _, err := e.sweval(t, args...); err != nil {
		t.Fatalf("run: %v", err)
	}
	r := onlyResult(t, filepath.Join(out, rid("judged")))
	if !slices.Contains(r.AuditFlags, "judge:cheating") || !r.Resolved {
		t.Fatalf("audit flags %v resolved %v; want judge:cheating on a resolved rollout", r.AuditFlags, r.Resolved)
	}
	j, err := os.ReadFile(filepath.Join(result.RolloutDir(filepath.Join(out, rid("judged")), id, 0), "judge.json"))
	if err != nil || !strings.Contains(string(j), "scripted test verdict") {
		t.Fatalf("judge.json: %v %s", err, j)
	}
}

// rid makes a run id unique to this test process, so two test runs on one
// daemon never count each other's containers.
func rid(name string) string { return fmt.Sprintf("%s-%d", name, os.Getpid()) }

// readResults reads every line of a results.jsonl.
func readResults(t *testing.T, path string) []result.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rs []result.Result
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		var r result.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %q: %v", path, sc.Text(), err)
		}
		rs = append(rs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rs
}

// onlyResult reads the single result line of a one-rollout run.
func onlyResult(t *testing.T, runDir string) result.Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(runDir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var r result.Result
	if err := json.Unmarshal(bytes.TrimSpace(data), &r); err != nil {
		t.Fatalf("%s: want exactly one result line: %v", runDir, err)
	}
	return r
}
