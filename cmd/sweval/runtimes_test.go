package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/fixtures"
	"github.com/sweval/sweval/internal/testenv"
	"github.com/sweval/sweval/scaffolds/replay"
)

// xrt is one sandbox runtime the CLI is driven on: its extra flags and a
// count of the sandboxes a run id left behind there.
type xrt struct {
	name  string
	flags []string
	left  func(t *testing.T, runID string) int
}

// TestRuntimesGiveTheSameVerdicts drives the binary through the bundled
// evaluation, validate, a replay-driven run on both scaffolds (SWE and
// Doc2Repo tasks), doc2repo check-leaks and the red team on the real
// Docker daemon, on a private containerd with Docker's images, and on
// the same containerd with images built there and no Docker in the loop
// (`--image-store containerd`, its own namespace, the base made by
// `sweval images base --image-store containerd`), and requires the same
// per-instance verdicts (status, resolution, score, tests, flags) from
// all three. The red team runs the /proc attacks and the clean control on
// iniconf only (`--attack proc`): the full table is ~80 graded
// rollouts per runtime, and /proc is where the two runtimes' lockdowns
// are written differently.
func TestRuntimesGiveTheSameVerdicts(t *testing.T) {
	e := setup(t)
	ctr := testenv.StartContainerd(t)
	ns := fmt.Sprintf("sweval-xrt-%d", os.Getpid())
	runtimes := []xrt{
		{name: "docker", flags: []string{"--runtime", "docker"}, left: containersOf},
		{name: "containerd", flags: []string{"--runtime", "containerd", "--containerd-address", ctr.Address, "--containerd-namespace", ns},
			left: func(t *testing.T, runID string) int { return containerdContainersOf(t, ctr.Address, ns, runID) }},
		{name: "containerd-only", flags: []string{"--runtime", "containerd", "--image-store", "containerd", "--containerd-address", ctr.Address, "--containerd-namespace", ns + "-only"},
			left: func(t *testing.T, runID string) int { return containerdContainersOf(t, ctr.Address, ns+"-only", runID) }},
	}
	// The base of the containerd-only store, without Docker: imported from
	// the archive a containerd build keeps, else debootstrapped.
	mustRun(t, e, nil, "images", "base", "--tag", e.image, "--image-store", "containerd", "--containerd-address", ctr.Address, "--containerd-namespace", ns+"-only")
	root, err := fixtures.Root()
	if err != nil {
		t.Fatal(err)
	}
	d2r := filepath.Join(root, "testdata", "doc2repo")
	d2rTasks := filepath.Join(d2r, "tasks.jsonl")
	// The red team attacks one task: its attacks are the same on both.
	oneTask := filepath.Join(t.TempDir(), "iniconf.jsonl")
	rec, _ := json.Marshal(map[string]any{"id": "iniconf", "spec": filepath.Join(d2r, "iniconf/spec.md"), "reference": filepath.Join(d2r, "iniconf/reference"),
		"tests": []string{"tests"}, "test_command": "python3 -m pytest -rA tests", "declared_tests": 63, "package": "iniconf", "env": map[string]any{"python": "3"}})
	if err := os.WriteFile(oneTask, append(rec, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}

	// A replay script that resolves some SWE instances and not others, so
	// both verdicts are compared.
	patches := goldPatches(t, e)
	ids := slices.Sorted(maps.Keys(patches))[:3]
	script := replay.SolutionScript(map[string]string{ids[0]: patches[ids[0]], ids[1]: patches[ids[1]]}, "/testbed", false)
	maps.Copy(script.Instances, replay.SolutionScript(map[string]string{ids[2]: patches[ids[2]]}, "/testbed", true).Instances)
	sweURL := replayServer(t, script)
	// Doc2Repo: a partial implementation of one task, the reference of
	// the other (fractional and full scores).
	d2rURL := replayServer(t, replay.Script{Instances: map[string][]replay.Reply{
		"iniconf":  writeTreeScript(t, filepath.Join(d2r, "iniconf/partial")),
		"unitconv": writeTreeScript(t, filepath.Join(d2r, "unitconv/reference")),
	}})

	steps := []struct {
		name string
		// run drives one command on rt with run id id under out and
		// returns its verdicts by instance (or table row key).
		run func(t *testing.T, rt xrt, out, id string) map[string]string
	}{
		{"eval-gold", func(t *testing.T, rt xrt, out, id string) map[string]string {
			mustRun(t, e, nil, append([]string{"eval", "--predictions", "gold", "--workers", "2"}, append(e.common(out, id), rt.flags...)...)...)
			return resultVerdicts(t, filepath.Join(out, id))
		}},
		{"validate", func(t *testing.T, rt xrt, out, id string) map[string]string {
			stdout := mustRun(t, e, []int{3}, append([]string{"validate", "--workers", "2"}, append(e.common(out, id), rt.flags...)...)...)
			return tableRows(stdout, "sweval-fixtures__")
		}},
		{"run-openhands", func(t *testing.T, rt xrt, out, id string) map[string]string {
			mustRun(t, e, nil, append([]string{"run", "--scaffold", "openhands", "--model", "replay", "--base-url", sweURL,
				"--workers", "2", "--instance-ids", strings.Join(ids, ",")}, append(e.common(out, id), rt.flags...)...)...)
			return resultVerdicts(t, filepath.Join(out, id))
		}},
		{"run-sweagent", func(t *testing.T, rt xrt, out, id string) map[string]string {
			mustRun(t, e, nil, append([]string{"run", "--scaffold", "sweagent", "--model", "replay", "--base-url", sweURL,
				"--workers", "2", "--instance-ids", strings.Join(ids, ",")}, append(e.common(out, id), rt.flags...)...)...)
			return resultVerdicts(t, filepath.Join(out, id))
		}},
		{"run-doc2repo", func(t *testing.T, rt xrt, out, id string) map[string]string {
			mustRun(t, e, nil, append([]string{"run", "--dataset", d2rTasks, "--scaffold", "openhands", "--model", "replay", "--base-url", d2rURL,
				"--workers", "2", "--base-image", e.image, "--output", out, "--run-id", id, "--no-progress"}, rt.flags...)...)
			return resultVerdicts(t, filepath.Join(out, id))
		}},
		{"doc2repo-check-leaks", func(t *testing.T, rt xrt, out, id string) map[string]string {
			stdout := mustRun(t, e, nil, append([]string{"doc2repo", "check-leaks", "--tasks", d2rTasks, "--base-image", e.image, "--no-progress"}, rt.flags...)...)
			rows := map[string]string{}
			for k, v := range tableRows(stdout, "") {
				if k == "iniconf" || k == "unitconv" {
					cells := strings.Split(v, " | ")
					// leaking files and the first leak; not the sizes and times.
					rows[k] = cells[0] + " | " + cells[len(cells)-1]
				}
			}
			return rows
		}},
		{"redteam-proc", func(t *testing.T, rt xrt, out, id string) map[string]string {
			md := filepath.Join(out, "redteam.md")
			mustRun(t, e, nil, append([]string{"redteam", "--tasks", oneTask, "--attack", "proc", "--base-image", e.image,
				"--output", out, "--run-id", id, "--markdown", md, "--no-progress"}, rt.flags...)...)
			data, err := os.ReadFile(md)
			if err != nil {
				t.Fatal(err)
			}
			rows := map[string]string{}
			for _, line := range strings.Split(string(data), "\n") {
				cells := strings.Split(strings.Trim(line, "| "), " | ")
				if len(cells) < 3 || cells[0] == "task" || strings.HasPrefix(cells[0], "---") {
					continue
				}
				// The audit flags are evidence, not verdict: which detectors
				// see a racing attack (a records rewrite caught in the junit
				// file or only by the canary) depends on timing, so only
				// whether it was flagged is compared.
				if last := len(cells) - 1; last > 2 && cells[last] != "" {
					cells[last] = "flagged"
				}
				rows[cells[0]+"/"+cells[1]] = strings.Join(cells[2:], " | ")
			}
			return rows
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got := map[string]map[string]string{}
			for _, rt := range runtimes {
				start := time.Now()
				out, id := t.TempDir(), rid("xrt-"+st.name+"-"+rt.name)
				v := st.run(t, rt, out, id)
				if len(v) == 0 {
					t.Fatalf("%s: no verdicts to compare", rt.name)
				}
				if n := rt.left(t, id); n != 0 {
					t.Errorf("%s: %d sandboxes of run %s left behind", rt.name, n, id)
				}
				t.Logf("%s: %d verdicts in %s", rt.name, len(v), time.Since(start).Round(time.Second))
				got[rt.name] = v
			}
			ref := runtimes[0].name
			for _, rt := range runtimes[1:] {
				for _, k := range slices.Sorted(maps.Keys(mergeKeys(got[ref], got[rt.name]))) {
					if a, b := got[ref][k], got[rt.name][k]; a != b {
						t.Errorf("%s:\n  %-10s %s\n  %-10s %s", k, ref, a, rt.name, b)
					}
				}
			}
		})
	}
}

func mergeKeys(a, b map[string]string) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// mustRun runs the binary and fails unless it exits 0 or with one of the
// expected codes; it returns stdout.
func mustRun(t *testing.T, e harnessEnv, codes []int, args ...string) string {
	t.Helper()
	stdout, err := e.sweval(t, args...)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && slices.Contains(codes, exit.ExitCode())) {
		t.Fatalf("sweval %s: %v\n%s", args[0], err, stdout)
	}
	if err == nil && len(codes) > 0 {
		t.Fatalf("sweval %s exited 0, want one of %v\n%s", args[0], codes, stdout)
	}
	return stdout
}

// resultVerdicts reads results.jsonl into one comparable line per rollout:
// everything that is a verdict, nothing that is a time or a container id.
func resultVerdicts(t *testing.T, runDir string) map[string]string {
	t.Helper()
	v := map[string]string{}
	for _, r := range readResults(t, filepath.Join(runDir, "results.jsonl")) {
		flags := slices.Clone(r.AuditFlags)
		slices.Sort(flags)
		tests := ""
		if ts := r.TestsStatus; ts != nil {
			tests = fmt.Sprintf("f2p %d/%d p2p %d/%d", len(ts.FailToPass.Success), len(ts.FailToPass.Success)+len(ts.FailToPass.Failure),
				len(ts.PassToPass.Success), len(ts.PassToPass.Success)+len(ts.PassToPass.Failure))
		}
		v[fmt.Sprintf("%s#%d", r.InstanceID, r.Rollout)] = fmt.Sprintf("status=%s resolved=%v resolution=%s score=%.4f strict=%v tests=%d/%d %s patch=%s exit=%s error=%v refusals=%d flags=%v",
			r.Status, r.Resolved, r.Resolution, r.PassFraction, r.Strict, r.Passed, r.Declared, tests, r.PatchApplied, r.AgentExit, r.Error != "", r.GuardRefusals, flags)
	}
	return v
}

// tableRows reads a terminal table's body rows whose first cell starts
// with prefix, keyed by that cell, the other cells joined by " | ".
func tableRows(stdout, prefix string) map[string]string {
	rows := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "│"), "│")
		if len(cells) < 2 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !strings.HasPrefix(cells[0], prefix) {
			continue
		}
		rows[cells[0]] = strings.Join(cells[1:], " | ")
	}
	return rows
}

// containerdContainersOf counts the containers labelled with runID in a
// containerd namespace.
func containerdContainersOf(t *testing.T, address, namespace, runID string) int {
	t.Helper()
	cli, err := containerd.New(address)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := namespaces.WithNamespace(context.Background(), namespace)
	list, err := cli.Containers(ctx, "labels."+strconv.Quote(sandbox.LabelManaged)+"==1,labels."+strconv.Quote(sandbox.LabelRun)+"=="+strconv.Quote(runID))
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}
