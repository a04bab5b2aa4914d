package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/internal/testenv"
)

// publishOfficialStyle makes the published image of task under ns the way a
// publisher would: sweval's instance layer (repo at /testbed at base_commit)
// laid out as SWE-bench's images are (officialStyleDockerfile), named by
// SWE-bench's rule, pushed to the registry and removed locally. The
// instance layer itself is sweval's cache and stays.
func publishOfficialStyle(t *testing.T, e harnessEnv, cli *client.Client, pub images.Published, task benchmarks.Task) string {
	t.Helper()
	ctx := context.Background()
	b := images.New(cli, images.Options{Logger: slog.New(slog.DiscardHandler), CacheDir: t.TempDir()})
	base, err := b.Resolve(ctx, e.image)
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Env(ctx, base, images.EnvSpec{})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := b.Instance(ctx, env, task, e.repoCache)
	if err != nil {
		t.Fatalf("instance layer of %s: %v", task.ID, err)
	}
	name := pub.ImageFor(task)
	testenv.BuildOfficialStyle(t, cli, inst.Tag, name, task.ID)
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), name, client.ImageRemoveOptions{}) })
	anon, _ := authconfig.Encode(registry.AuthConfig{})
	push, err := cli.ImagePush(ctx, name, client.ImagePushOptions{RegistryAuth: anon})
	if err != nil {
		t.Fatalf("push %s: %v", name, err)
	}
	if err := push.Wait(ctx); err != nil {
		t.Fatalf("push %s: %v", name, err)
	}
	if _, err := cli.ImageRemove(ctx, name, client.ImageRemoveOptions{}); err != nil {
		t.Fatalf("remove %s locally: %v", name, err)
	}
	return name
}

func resultsOf(t *testing.T, dir string) map[string]result.Result {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]result.Result{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r result.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.InstanceID] = r
	}
	return out
}

// Gold graded in official-style images pulled from a real registry on
// loopback (--namespace 127.0.0.1:PORT/swebench), then again on an
// "air-gapped" machine: images save → registry gone → docker rmi → images
// load. Every result names its image and digest; an instance whose image
// was never published is a per-instance error naming the image and the
// three ways to get it, and the rest of the run goes on.
func TestEvalInPublishedImagesPulledThenSavedAndLoaded(t *testing.T) {
	e := setup(t)
	cli := testenv.Docker(t)
	reg := testenv.StartRegistry(t)
	ns := reg.Addr + "/swebench"
	pub, err := images.Published{Namespace: ns}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"sweval-fixtures__intervals-2", "sweval-fixtures__textkit-1"} // sorted, as report ids are
	never := "sweval-fixtures__pollwait-5"                                        // valid, but its image is never published
	names := map[string]string{}
	for _, task := range e.all {
		if slices.Contains(ids, task.ID) {
			names[task.ID] = publishOfficialStyle(t, e, cli, pub, task)
		}
	}
	out := t.TempDir()
	evalArgs := func(runID string, ids ...string) []string {
		return []string{"eval", "--predictions", "gold", "--workers", "2", "--namespace", ns, "--instance-ids", strings.Join(ids, ","),
			"--dataset", e.tasks, "--output", out, "--run-id", runID, "--timeout", "60s", "--no-progress"}
	}
	// A pulled image is recorded by its registry digest; a loaded one has
	// none (docker-archive tarballs do not carry it) and is recorded by its
	// image ID.
	check := func(runID string, registryDigest bool) {
		t.Helper()
		rep := readReport(t, filepath.Join(out, runID))
		if !slices.Equal(rep.ResolvedIDs, ids) {
			t.Fatalf("%s: resolved %v, want %v (errors %v)", runID, rep.ResolvedIDs, ids, rep.ErrorIDs)
		}
		for id, r := range resultsOf(t, filepath.Join(out, runID)) {
			if id == never {
				continue
			}
			want, _, _ := strings.Cut(names[id], ":latest")
			want += "@sha256:"
			if !registryDigest {
				want = "sha256:"
			}
			if r.Image != names[id] || !strings.HasPrefix(r.ImageDigest, want) {
				t.Errorf("%s %s: image %q digest %q, want %s and a digest %s…", runID, id, r.Image, r.ImageDigest, names[id], want)
			}
		}
		var meta run.Meta
		data, err := os.ReadFile(filepath.Join(out, runID, "run.json"))
		if err == nil {
			err = json.Unmarshal(data, &meta)
		}
		if err != nil || len(meta.Images) != 1 || meta.Images[0].Role != "published" || !strings.HasPrefix(meta.Images[0].Ref, ns+"/sweb.eval.") {
			t.Errorf("%s: run.json images %+v (%v): want only the published namespace (no sweval layer was built)", runID, meta.Images, err)
		}
	}

	// 1. Pulled from the registry, verdicts under SWE-bench's rules (both
	// rule sets are read and reported; gold agrees under both).
	if stdout, err := e.sweval(t, append(evalArgs("pulled", ids...), "--verdicts", "swebench")...); err != nil {
		t.Fatalf("eval --namespace %s: %v\n%s", ns, err, stdout)
	} else {
		t.Logf("pulled run:\n%s", stdout)
		if !strings.Contains(stdout, "verdicts: swebench rules (strict resolves 2/2); 0 instance(s) where the rule sets disagree") {
			t.Errorf("the run does not report both rule sets:\n%s", stdout)
		}
	}
	check("pulled", true)
	if rep := readReport(t, filepath.Join(out, "pulled")); rep.VerdictRules != "swebench" || rep.ResolvedByRules["strict"] != 2 || rep.ResolvedByRules["swebench"] != 2 {
		t.Errorf("report.json: verdict_rules %q, resolved_by_rules %v; want swebench and 2 under both", rep.VerdictRules, rep.ResolvedByRules)
	}

	// 1b. The same, with no Docker in the loop: containerd pulls from the
	// registry itself and grades in its own containers.
	ctr := testenv.StartContainerd(t)
	ctrFlags := []string{"--runtime", "containerd", "--image-store", "containerd", "--containerd-address", ctr.Address, "--containerd-namespace", "sweval-published"}
	if stdout, err := e.sweval(t, append(evalArgs("pulled-containerd", ids...), ctrFlags...)...); err != nil {
		t.Fatalf("eval --namespace %s on containerd: %v\n%s", ns, err, stdout)
	} else {
		t.Logf("pulled into containerd:\n%s", stdout)
	}
	check("pulled-containerd", true)

	// 2. Air-gapped: save, lose the registry and the local copies, load.
	saveDir := t.TempDir()
	stdout, err := e.sweval(t, "images", "save", "--dataset", e.tasks, "--instance-ids", strings.Join(ids, ","), "--namespace", ns, "-o", saveDir)
	if err != nil {
		t.Fatalf("images save: %v\n%s", err, stdout)
	}
	t.Logf("images save:\n%s", stdout)
	if err := syscall.Kill(reg.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if _, err := cli.ImageRemove(context.Background(), name, client.ImageRemoveOptions{}); err != nil {
			t.Fatalf("rmi %s: %v", name, err)
		}
	}
	if stdout, err = e.sweval(t, "images", "load", saveDir); err != nil {
		t.Fatalf("images load: %v\n%s", err, stdout)
	}
	t.Logf("images load:\n%s", stdout)
	for _, name := range names {
		if !strings.Contains(stdout, "loaded  "+name) {
			t.Errorf("images load did not report %s:\n%s", name, stdout)
		}
	}
	stdout, err = e.sweval(t, evalArgs("loaded", append(slices.Clone(ids), never)...)...)
	if err != nil {
		t.Fatalf("eval after load: %v\n%s", err, stdout)
	}
	t.Logf("loaded run:\n%s", stdout)
	check("loaded", false)
	rep := readReport(t, filepath.Join(out, "loaded"))
	if !slices.Equal(rep.ErrorIDs, []string{never}) {
		t.Fatalf("error ids %v, want [%s]", rep.ErrorIDs, never)
	}
	msg := resultsOf(t, filepath.Join(out, "loaded"))[never].Error
	for _, want := range []string{pub.ImageFor(benchmarks.Task{ID: never}), "images pull", "images load", "--namespace none"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing-image error %q does not mention %q", msg, want)
		}
	}
}

// A run of six instances in images pulled from the loopback registry with
// --max-image-disk of 2.5 images: finished instances' images are removed
// least recently finished first, so what the run pulled stays under the
// budget (plus the images in flight), and an image the user pulled
// themselves is never removed though the run graded in it.
func TestEvalMaxImageDiskRemovesOnlyWhatItPulled(t *testing.T) {
	e := setup(t)
	cli := testenv.Docker(t)
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	ns := reg.Addr + "/budget"
	pub, err := images.Published{Namespace: ns}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	// Six instances: the bundled SWE-bench-style ones with a valid
	// environment, and copies of them under new ids (each its own image).
	raw, err := os.ReadFile(e.tasks)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		if id := row["instance_id"].(string); id != brokenEnv && row["eval_script"] == nil {
			rows = append(rows, row)
		}
	}
	for i := 0; len(rows) < 6; i++ {
		row := maps.Clone(rows[i])
		row["instance_id"] = row["instance_id"].(string) + "0" + strconv.Itoa(i)
		rows = append(rows, row)
	}
	dataset := filepath.Join(t.TempDir(), "six.jsonl")
	var buf bytes.Buffer
	var ids []string
	for _, row := range rows {
		b, _ := json.Marshal(row)
		buf.Write(append(b, '\n'))
		ids = append(ids, row["instance_id"].(string))
	}
	if err := os.WriteFile(dataset, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	byID := map[string]benchmarks.Task{}
	for _, task := range e.all {
		byID[task.ID] = task
	}
	names := map[string]string{}
	for _, row := range rows {
		id := row["instance_id"].(string)
		task, ok := byID[id]
		if !ok { // a copy: the original's task under the new id
			orig := id[:len(id)-2]
			task = byID[orig]
			task.ID = id
		}
		names[id] = publishOfficialStyle(t, e, cli, pub, task)
	}
	// The user's own copy of one instance's image: pulled with docker, not
	// by sweval.
	planted := names[ids[2]]
	anon, _ := authconfig.Encode(registry.AuthConfig{})
	pr, err := cli.ImagePull(ctx, planted, client.ImagePullOptions{RegistryAuth: anon})
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	inspect, err := cli.ImageInspect(ctx, planted)
	if err != nil {
		t.Fatal(err)
	}
	size := inspect.Size
	budget := size*5/2 + 1

	// Sample what the run pulled (every name but the planted one) while it runs.
	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			var sum int64
			for _, name := range names {
				if name == planted {
					continue
				}
				if r, err := cli.ImageInspect(ctx, name); err == nil {
					sum += r.Size
				}
			}
			peak = max(peak, sum)
		}
	}()
	out := t.TempDir()
	stdout, err := e.sweval(t, "eval", "--predictions", "gold", "--workers", "1", "--namespace", ns, "--instance-ids", strings.Join(ids, ","),
		"--max-image-disk", strconv.FormatInt(budget, 10), "--dataset", dataset, "--output", out, "--run-id", "budget", "--timeout", "60s", "--no-progress")
	close(stop)
	<-sampled
	if err != nil {
		t.Fatalf("eval --max-image-disk: %v\n%s", err, stdout)
	}
	t.Logf("budget run:\n%s", stdout)
	rep := readReport(t, filepath.Join(out, "budget"))
	if !slices.Equal(rep.ResolvedIDs, ids) {
		t.Fatalf("resolved %v, want %v", rep.ResolvedIDs, ids)
	}
	u := rep.Images
	if u == nil {
		t.Fatal("report.json has no images section")
	}
	t.Logf("images: pulled %d (%d MB), kept %d (%d MB), removed %v (%d MB); peak while running %d MB, budget %d MB, one image %d MB",
		u.Pulled, u.PulledBytes>>20, u.Kept, u.KeptBytes>>20, u.Removed, u.RemovedBytes>>20, peak>>20, budget>>20, size>>20)
	if u.Pulled != 5 || u.KeptBytes > budget || len(u.Removed) < 3 || slices.Contains(u.Removed, planted) {
		t.Errorf("pulled %d, kept %d bytes, removed %v: want 5 pulled, at most %d kept, 3 or more removed, never %s", u.Pulled, u.KeptBytes, u.Removed, budget, planted)
	}
	if _, err := cli.ImageInspect(ctx, planted); err != nil {
		t.Errorf("the user's own image %s is gone: %v", planted, err)
	}
	for _, name := range u.Removed {
		if _, err := cli.ImageInspect(ctx, name); err == nil {
			t.Errorf("%s is reported removed but present", name)
		}
	}
	// The prefetchers pull only while the run's images are under the
	// budget, so at most one image each can land over it.
	if limit := budget + 2*size; peak > limit {
		t.Errorf("peak %d bytes of pulled images while running, over the budget and the images in flight (%d)", peak, limit)
	}
}

// kill -9 while the run pulls its images, then the same command: every
// instance is graded exactly once across the two runs, images pulled
// before the kill are used as they are, and no container is left behind.
func TestEvalKilledDuringPullsResumes(t *testing.T) {
	e := setup(t)
	cli := testenv.Docker(t)
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	ns := reg.Addr + "/killed"
	pub, err := images.Published{Namespace: ns}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	names := map[string]string{}
	for _, task := range e.all {
		if task.ID != brokenEnv && task.EvalScript == "" {
			ids = append(ids, task.ID)
			names[task.ID] = publishOfficialStyle(t, e, cli, pub, task)
		}
	}
	slices.Sort(ids)
	out := t.TempDir()
	args := []string{"eval", "--predictions", "gold", "--workers", "1", "--namespace", ns, "--instance-ids", strings.Join(ids, ","),
		"--dataset", e.tasks, "--output", out, "--run-id", "killed", "--timeout", "60s", "--no-progress"}

	// 1. Killed as soon as the first image is in: the others are being
	// pulled (two prefetchers) or not yet started.
	cmd := exec.Command(e.bin, args...)
	var stderr1 bytes.Buffer
	cmd.Stderr = &stderr1
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	var before []string
	for len(before) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		for _, name := range names {
			if _, err := cli.ImageInspect(ctx, name); err == nil {
				before = append(before, name)
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(before) == 0 {
		t.Fatalf("no image was pulled within 2 minutes:\n%s", tail(stderr1.String(), 4000))
	}
	firstRun := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(out, "killed", "results.jsonl")); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var r result.Result
			if json.Unmarshal([]byte(line), &r) == nil {
				firstRun[r.InstanceID] = true
			}
		}
	}
	t.Logf("killed after %d image(s) were in; %d instance(s) recorded", len(before), len(firstRun))

	// 2. The same command.
	cmd = exec.Command(e.bin, args...)
	var stdout2, stderr2 bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout2, &stderr2
	if err := cmd.Run(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, tail(stderr2.String(), 4000))
	}
	t.Logf("resumed run:\n%s", stdout2.String())
	b, err := os.ReadFile(filepath.Join(out, "killed", "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r result.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("results.jsonl: %v: %q", err, line)
		}
		seen[r.InstanceID]++
		if !r.Resolved {
			t.Errorf("%s: %s (%s)", r.InstanceID, r.Status, r.Error)
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s graded %d times, want once", id, seen[id])
		}
	}
	if !strings.Contains(stderr2.String(), "using the published image present locally") {
		t.Errorf("the resumed run did not use the image(s) pulled before the kill (%v) as they were:\n%s", before, tail(stderr2.String(), 4000))
	}
	if rep := readReport(t, filepath.Join(out, "killed")); !slices.Equal(rep.ResolvedIDs, ids) {
		t.Errorf("resolved %v, want %v", rep.ResolvedIDs, ids)
	}
	left, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", "sweval.run=killed")})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) > 0 {
		t.Errorf("%d container(s) of the killed run left behind", len(left.Items))
	}
}
