package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/benchmarks/dataset"
	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/sandbox"
)

// datasetFlags select a task set and a subset of it.
func datasetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Usage: "(required) task file: SWE-bench JSON/JSONL, SWE-rebench, OpenSWE rows, a Doc2Repo manifest or DeNovoSWE JSONL, or an NL2RepoBench folder"},
		&cli.StringSliceFlag{Name: "instance-ids", Usage: "only these instance ids (repeat or comma-separate)"},
		&cli.StringFlag{Name: "filter", Usage: "only instance ids matching this regular expression"},
		&cli.StringFlag{Name: "slice", Usage: "python-style slice A:B of the (filtered) tasks"},
		&cli.BoolFlag{Name: "strict", Usage: "stop at the first malformed record instead of skipping it"},
		&cli.StringFlag{Name: "exclude", Usage: "leave out the instances of this exclusion file (JSONL of {instance_id, reason}, e.g. from sweval validate --repeat N --exclusions FILE)"},
	}
}

// loadTasks reads --dataset, logs every malformed record (which is
// skipped) and applies the selection flags.
func loadTasks(c *cli.Context) ([]benchmarks.Task, error) {
	path := c.String("dataset")
	if path == "" {
		return nil, fmt.Errorf("flag --dataset is required (or --from a run.json that has it)")
	}
	tasks, bad, err := dataset.Load(c.Context, path, c.Bool("strict"))
	if err != nil {
		return nil, err
	}
	for _, e := range bad {
		logger(c).Warn("skipping malformed record", "err", e)
	}
	var filter *regexp.Regexp
	if f := c.String("filter"); f != "" {
		if filter, err = regexp.Compile(f); err != nil {
			return nil, fmt.Errorf("--filter %q: %w", f, err)
		}
	}
	var ids []string
	for _, s := range c.StringSlice("instance-ids") {
		ids = append(ids, strings.Split(s, ",")...)
	}
	tasks, err = benchmarks.Select(tasks, ids, filter, c.String("slice"))
	if err != nil {
		return nil, err
	}
	if path := c.String("exclude"); path != "" {
		excluded, err := benchmarks.LoadExclusions(path)
		if err != nil {
			return nil, err
		}
		before := len(tasks)
		tasks = benchmarks.Exclude(tasks, excluded)
		logger(c).Info("instances excluded", "file", path, "excluded", before-len(tasks), "scored", len(tasks))
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%s: no tasks selected (check --instance-ids, --filter, --slice)", path)
	}
	return tasks, nil
}

// publishedFlags select published images (SWE-bench's flag names).
func publishedFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "namespace", Value: images.NamespaceNone, Usage: "published images: none (build sweval's own layers), swebench, swerebench, REGISTRY/NS (e.g. 127.0.0.1:5000/swebench), or auto (the publisher's, else built); a row's own image_name/docker_image/image wins; order: local, pulled, built (auto only)"},
		&cli.StringFlag{Name: "instance-image-tag", Value: "latest", Usage: "tag of published instance images"},
		&cli.StringFlag{Name: "arch", Value: images.DefaultArch(), Usage: "architecture in published image names: x86_64 or arm64"},
		&cli.IntFlag{Name: "pull-concurrency", Value: images.DefaultPullConcurrency, Usage: "image pulls at once (independent of --workers)"},
		&cli.StringFlag{Name: "min-free-disk", Value: "5g", Usage: "refuse a pull when the Engine's data directory has less free (e.g. 20g; off: no check)"},
	}
}

// pullOptions are the builder options publishedFlags set.
func pullOptions(c *cli.Context, opts images.Options) (images.Options, error) {
	opts.PullConcurrency = c.Int("pull-concurrency")
	switch v := c.String("min-free-disk"); v {
	case "": // a command without the flag: the default
	case "off":
		opts.MinFreeDisk = -1
	default:
		n, err := parseBytes(v)
		if err != nil {
			return opts, fmt.Errorf("--min-free-disk: %w", err)
		}
		opts.MinFreeDisk = n
	}
	return opts, nil
}

// published reads publishedFlags.
func published(c *cli.Context) (images.Published, error) {
	return images.Published{Namespace: c.String("namespace"), Tag: c.String("instance-image-tag"), Arch: c.String("arch")}.Normalize()
}

// dockerFlags configure images and sandboxes.
func dockerFlags() []cli.Flag {
	return append(publishedFlags(),
		&cli.StringFlag{Name: "repo-cache", Usage: "directory of bare git repos named owner__name.git (instance images are built from it, never from the network)"},
		&cli.IntFlag{Name: "testbed-depth", Usage: "keep only this many commits of history in instance images (as git clone --depth; faster for large repos); 0: all of base_commit's history"},
		&cli.StringFlag{Name: "base-image", Usage: "use this image as the base instead of building one with debootstrap"},
		&cli.StringSliceFlag{Name: "base-packages", Usage: "extra Debian packages for the base image"},
		&cli.StringFlag{Name: "env-debs", Usage: "directory of .deb files installed offline into the env layer"},
		&cli.StringFlag{Name: "env-wheels", Usage: "directory of Python wheels installed offline into the env layer"},
		&cli.StringFlag{Name: "cache-dir", Usage: "where build logs and locks live (default ~/.cache/sweval)"},
		&cli.StringFlag{Name: "cache-level", Value: images.CacheInstance, Usage: "images kept once the instances using them are graded (SWE-bench's meaning): instance (all), env (base and env layers), base (the base), none; only images sweval built or pulled are removed"},
		&cli.StringFlag{Name: "max-image-disk", Usage: "keep the images of this run's instances (sweval-built or -pulled) under SIZE (e.g. 200g), removing finished instances' first, least recently finished first (default: no budget)"},
		&cli.StringFlag{Name: "memory", Value: "4g", Usage: "memory limit per sandbox (no swap)"},
		&cli.StringFlag{Name: "disk", Value: "8g", Usage: "disk budget per sandbox: what it may write outside /tmp; a watchdog stops it past that (rollout: sandbox_event disk_limit); 0 for no budget"},
		&cli.Int64Flag{Name: "pids", Value: sandbox.DefaultPidsLimit, Usage: "process limit per sandbox"},
		&cli.StringFlag{Name: "runtime", Value: "docker", Usage: "sandbox runtime: docker or containerd"},
		&cli.StringFlag{Name: "image-store", Value: "docker", Usage: "where images are built and kept: docker (the Engine; with --runtime containerd each is imported into containerd on first use) or containerd (no Docker needed; with --runtime containerd)"},
		&cli.StringFlag{Name: "containerd-address", Value: sandbox.DefaultContainerdAddress, Usage: "containerd socket for --runtime containerd"},
		&cli.StringFlag{Name: "containerd-namespace", Value: sandbox.DefaultContainerdNamespace, Usage: "containerd namespace for --runtime containerd"},
	)
}

// dockerClient connects to the daemon named by DOCKER_HOST (or the local
// socket), negotiating the API version.
func dockerClient(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("cannot reach the Docker daemon (is it running? is DOCKER_HOST right?): %w", err)
	}
	return cli, nil
}

// environment wires the image builder and the sandbox runtime --runtime
// selects (env.Runtime: Docker or containerd) from the flags. The returned
// cleanup removes every container this process created and any left by a
// killed earlier run of the same run id.
func environment(c *cli.Context, runID string) (run.Environment, func(), error) {
	mem, err := parseBytes(c.String("memory"))
	if err != nil {
		return run.Environment{}, nil, fmt.Errorf("--memory: %w", err)
	}
	log := logger(c)
	disk, err := diskFlag(c)
	if err != nil {
		return run.Environment{}, nil, err
	}
	pub, err := published(c)
	if err != nil {
		return run.Environment{}, nil, err
	}
	if c.Int("testbed-depth") < 0 {
		return run.Environment{}, nil, fmt.Errorf("--testbed-depth %d: give 0 (all history) or a positive number of commits", c.Int("testbed-depth"))
	}
	bopts, err := pullOptions(c, images.Options{Logger: log, CacheDir: c.String("cache-dir"), TestbedDepth: c.Int("testbed-depth")})
	if err != nil {
		return run.Environment{}, nil, err
	}
	budget := int64(0)
	if v := c.String("max-image-disk"); v != "" {
		if budget, err = parseBytes(v); err != nil {
			return run.Environment{}, nil, fmt.Errorf("--max-image-disk: %w", err)
		}
	}
	env := run.Environment{
		CacheLevel:   c.String("cache-level"),
		MaxImageDisk: budget,
		Published:    pub,
		Base:         images.BaseSpec{Extra: c.StringSlice("base-packages")},
		BaseImage:    c.String("base-image"),
		Env:          images.EnvSpec{DebsDir: c.String("env-debs"), WheelsDir: c.String("env-wheels")},
		RepoCache:    c.String("repo-cache"),
		Logger:       log,
	}
	// Starts back off when the daemon slows down: each worker's grade
	// starts two containers at once, so up to twice the workers fly.
	ramp := func(rt sandbox.Runtime) sandbox.Runtime {
		return sandbox.Ramp(rt, sandbox.RampOptions{Max: max(2*c.Int("workers"), 4), Logger: log})
	}
	switch store := c.String("image-store"); store {
	case "", "docker":
	case "containerd":
		if c.String("runtime") != "containerd" {
			return run.Environment{}, nil, fmt.Errorf("--image-store containerd keeps images where only containerd sees them: add --runtime containerd")
		}
		ctr, closeCtr, err := containerdRuntime(c, runID, nil)
		if err != nil {
			return run.Environment{}, nil, err
		}
		env.Images = images.NewContainerd(ctr, bopts)
		env.Runtime = ramp(ctr)
		return env, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			closeCtr(ctx)
		}, nil
	default:
		return run.Environment{}, nil, fmt.Errorf("--image-store %q: use docker or containerd", store)
	}
	cli, err := dockerClient(c.Context)
	if err != nil {
		return run.Environment{}, nil, err
	}
	rt := sandbox.NewDocker(cli, sandbox.Options{Logger: log, MemoryBytes: mem, PidsLimit: c.Int64("pids"), DiskBytes: disk})
	if n, err := rt.Reap(c.Context, runID); err != nil {
		log.Warn("could not reap orphaned sandboxes", "err", err)
	} else if n > 0 {
		log.Info("removed sandboxes left by a killed run", "count", n)
	}
	env.Images = images.New(cli, bopts)
	env.Runtime = rt
	closeCtr, err := useContainerd(c, &env, cli, runID)
	if err != nil {
		cli.Close()
		return run.Environment{}, nil, err
	}
	env.Runtime = ramp(env.Runtime)
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		closeCtr(ctx)
		if err := rt.CloseAll(ctx); err != nil {
			log.Warn("could not remove every sandbox", "err", err)
		}
		// Again at the end: a container a killed run asked for can land
		// after this run's first reap (the daemon finishes the create).
		if n, err := rt.Reap(ctx, runID); err != nil {
			log.Warn("could not reap orphaned sandboxes", "err", err)
		} else if n > 0 {
			log.Info("removed sandboxes left by a killed run", "count", n)
		}
		cli.Close()
	}
	return env, cleanup, nil
}

// diskFlag reads --disk: 0 switches the budget off (the sandbox package's
// negative), anything else is the budget.
func diskFlag(c *cli.Context) (int64, error) {
	n, err := parseBytes(c.String("disk"))
	if err != nil {
		return 0, fmt.Errorf("--disk: %w", err)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// parseBytes reads sizes like 512m, 4g, 1073741824.
func parseBytes(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, strings.TrimSuffix(s, "g")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size: use e.g. 512m or 4g", s)
	}
	return n * mult, nil
}

// shardFlag is eval's and run's --shard.
func shardFlag() cli.Flag {
	return &cli.StringFlag{Name: "shard", Usage: "run only shard I of N (e.g. 2/4) of the rollouts, appending to that shard's own results file; run every shard with the same --run-id (a Slurm array does); readers take the union"}
}

// runDir resolves the run directory and id, defaulting the id to a
// timestamp so two runs never share a directory by accident.
func runDir(c *cli.Context) (dir, id string) {
	id = c.String("run-id")
	if id == "" {
		id = time.Now().UTC().Format("20060102-150405")
	}
	return filepath.Join(c.String("output"), id), id
}

func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "run-id", Usage: "run id; the same id again resumes the run (default: a timestamp)"},
		&cli.StringFlag{Name: "output", Value: "runs", Usage: "parent directory of run directories"},
		&cli.IntFlag{Name: "workers", Value: 1, Usage: "rollouts in parallel, each pinned to its own CPU"},
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Minute, Usage: "test-run timeout per instance"},
		&cli.StringFlag{Name: "test-cmd", Usage: "override every task's test command"},
		verdictsFlag(),
		&cli.BoolFlag{Name: "no-progress", Usage: "no progress bar"},
	}
}

func verdictsFlag() cli.Flag {
	return &cli.StringFlag{Name: "verdicts", Value: string(grade.RulesStrict), Usage: "how test outcomes become SWE-style verdicts: strict (sweval's hardened rules) or swebench " +
		"(SWE-bench's own: an XFAIL test passes, SKIPPED and XPASS count neither way, ids match exactly); every result records both and the report lists the instances where they disagree"}
}

// gradeOptions are the grading flags every command that grades shares.
func gradeOptions(c *cli.Context) (grade.Options, error) {
	rules, err := grade.ParseRules(c.String("verdicts"))
	if err != nil {
		return grade.Options{}, err
	}
	return grade.Options{TestCmd: c.String("test-cmd"), Timeout: c.Duration("timeout"), Logger: logger(c), Rules: rules}, nil
}

// progressWriter is stderr unless the user asked for quiet.
func progressWriter(c *cli.Context) io.Writer {
	if c.Bool("no-progress") {
		return nil
	}
	return c.App.ErrWriter
}

// newTable makes a terminal table that keeps header case.
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// execOutput runs a fixed host program (never task text) and returns its
// stdout.
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
