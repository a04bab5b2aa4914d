package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sweval/sweval/benchmarks"
)

// TestbedDir is where the repository under test lives in instance images.
const TestbedDir = "/testbed"

var (
	repoName  = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	commitHex = regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`)
)

// RepoCachePath is where the bare clone of repo ("owner/name") is expected in
// a repo cache: <cache>/<owner>__<name>.git.
func RepoCachePath(repoCache, repo string) (string, error) {
	if !repoName.MatchString(repo) || strings.Contains(repo, "..") {
		return "", fmt.Errorf("repo %q is not of the form owner/name", repo)
	}
	return filepath.Join(repoCache, strings.Replace(repo, "/", "__", 1)+".git"), nil
}

// InstanceDockerfile is the Dockerfile of an instance layer: the prepared
// repository copied to /testbed.
func InstanceDockerfile(env string) string {
	return instanceBuild(env, "").Dockerfile()
}

// instanceBuild copies the prepared repository at testbed to /testbed.
func instanceBuild(env, testbed string) recipe {
	return recipe{From: env,
		Steps: []step{{Copy: "testbed/", Dest: TestbedDir + "/"}, {Workdir: TestbedDir}},
		Dirs:  []ctxDir{{Name: "testbed", Path: testbed}}}
}

// Instance returns the image a task runs in, building what is missing:
//
//   - a task naming an image (OpenSWE's image_name) that is present locally
//     uses that image as it is;
//   - a task with its own Dockerfile whose FROM images are all present gets
//     it built (sweval/task:<key>), with no network;
//   - a Doc2Repo task without a repository runs in its own image
//     (Doc2Repo.Image) or in env;
//   - otherwise, and whenever those fail, the standard instance layer: env
//     plus the repository at base_commit from the bare clone in repoCache.
func (b *Builder) Instance(ctx context.Context, env Ref, task benchmarks.Task, repoCache string) (Ref, error) {
	log := b.log.With("task", task.ID)
	if task.Kind == benchmarks.KindDoc2Repo && task.Repo == "" {
		// The workspace is made by harness/doc2repo; the image is the
		// task's own when it names one, else the env.
		if task.Doc2Repo != nil && task.Doc2Repo.Image != "" {
			return b.Resolve(ctx, task.Doc2Repo.Image)
		}
		return env, nil
	}
	if task.ImageName != "" {
		ok, err := b.present(ctx, task.ImageName)
		if err != nil {
			return Ref{}, err
		}
		if ok {
			log.Info("using the task's own image", "image", task.ImageName)
			return b.Resolve(ctx, task.ImageName)
		}
		log.Info("task image not present locally; building instead", "image", task.ImageName)
	}
	if task.Dockerfile != "" {
		ref, err := b.taskDockerfile(ctx, task)
		if err == nil {
			return ref, nil
		}
		if ctx.Err() != nil {
			return Ref{}, ctx.Err()
		}
		log.Warn("falling back to the standard instance layer", "reason", err)
	}
	return b.standardInstance(ctx, env, task, repoCache)
}

// taskDockerfile builds a task's own Dockerfile when all its FROM images are
// present locally.
func (b *Builder) taskDockerfile(ctx context.Context, task benchmarks.Task) (Ref, error) {
	froms := DockerfileFroms(task.Dockerfile)
	if len(froms) == 0 {
		return Ref{}, errors.New("its Dockerfile has no FROM line")
	}
	var missing []string
	for _, f := range froms {
		if f == "scratch" {
			continue
		}
		if strings.Contains(f, "$") {
			missing = append(missing, f+" (uses a build argument)")
			continue
		}
		ok, err := b.present(ctx, f)
		if err != nil {
			return Ref{}, err
		}
		if !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return Ref{}, fmt.Errorf("FROM images of its Dockerfile not present locally (no registry to pull from): %s", strings.Join(missing, ", "))
	}
	if b.cli == nil {
		return Ref{}, errNeedsDocker("building a task's own Dockerfile")
	}
	key := DockerfileKey(task.Dockerfile)
	ref := Ref{Tag: TaskRepo + ":" + key, Key: key, Layer: LayerTask}
	log := b.log.With("task", task.ID, "image", ref.Tag)
	built, err := b.buildOnce(ctx, ref, "task image", log, func(lf *os.File) error {
		fmt.Fprintf(lf, "# task %s: its own Dockerfile\n", task.ID)
		extra := map[string]string{}
		if task.Repo != "" {
			extra[LabelRepo] = task.Repo
		}
		if err := b.buildImage(ctx, ref.Tag, labels(LayerTask, key, "", extra), task.Dockerfile, nil, nil, lf); err != nil {
			fmt.Fprintf(lf, "FAILED: %v\n", err)
			return fmt.Errorf("building its Dockerfile failed (network is off during builds): %w (full log: %s)", err, lf.Name())
		}
		return nil
	})
	if err != nil {
		return Ref{}, err
	}
	if !built {
		log.Info("task image present")
	}
	return ref, nil
}

// DockerfileFroms returns the images a Dockerfile's FROM lines name, minus
// references to its own earlier stages.
func DockerfileFroms(dockerfile string) []string {
	var out []string
	stages := map[string]bool{}
	// Join line continuations first.
	text := strings.ReplaceAll(dockerfile, "\\\r\n", " ")
	text = strings.ReplaceAll(text, "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.EqualFold(f[0], "FROM") {
			continue
		}
		f = f[1:]
		for len(f) > 0 && strings.HasPrefix(f[0], "--") { // --platform=...
			f = f[1:]
		}
		if len(f) == 0 {
			continue
		}
		if img := f[0]; !stages[strings.ToLower(img)] {
			out = append(out, img)
		}
		if len(f) >= 3 && strings.EqualFold(f[1], "AS") {
			stages[strings.ToLower(f[2])] = true
		}
	}
	return out
}

// InstanceRef returns the ref of the standard instance layer of task on env,
// built or not.
func (b *Builder) InstanceRef(env Ref, task benchmarks.Task) (Ref, error) {
	if env.Key == "" {
		return Ref{}, fmt.Errorf("env %s has no key: get its Ref from Base, Env or Resolve", env.Tag)
	}
	key := InstanceKey(env.Key, task.Repo, task.BaseCommit)
	if d := b.opts.TestbedDepth; d > 0 {
		key = hashParts(key, "depth", strconv.Itoa(d))
	}
	return Ref{Tag: instanceTag(task.Repo, key), Key: key, Layer: LayerInstance}, nil
}

func (b *Builder) standardInstance(ctx context.Context, env Ref, task benchmarks.Task, repoCache string) (Ref, error) {
	fail := func(format string, a ...any) (Ref, error) {
		return Ref{}, fmt.Errorf("task %s: instance image: "+format, append([]any{task.ID}, a...)...)
	}
	if task.Repo == "" || task.BaseCommit == "" {
		return fail("the task has no repo/base_commit, and no usable image_name or Dockerfile")
	}
	if !commitHex.MatchString(task.BaseCommit) {
		return fail("base_commit %q is not a hex commit id", task.BaseCommit)
	}
	if repoCache == "" {
		return fail("no repo cache given: pass --repo-cache DIR holding a bare clone %s (git clone --bare <url> DIR/%s)",
			strings.Replace(task.Repo, "/", "__", 1)+".git", strings.Replace(task.Repo, "/", "__", 1)+".git")
	}
	bare, err := RepoCachePath(repoCache, task.Repo)
	if err != nil {
		return fail("%v", err)
	}
	if bare, err = filepath.Abs(bare); err != nil {
		return fail("%v", err)
	}
	if st, err := os.Stat(bare); err != nil || !st.IsDir() {
		return fail("repository %s not in the repo cache: tried %s; add a bare clone there (git clone --bare <url of %s> %s)", task.Repo, bare, task.Repo, bare)
	}
	ref, err := b.InstanceRef(env, task)
	if err != nil {
		return fail("%v", err)
	}
	log := b.log.With("task", task.ID, "image", ref.Tag)

	unlock, err := b.lock(ctx, ref.Key)
	if err != nil {
		return Ref{}, err
	}
	defer unlock()
	if ok, err := b.present(ctx, ref.Tag); err != nil {
		return Ref{}, err
	} else if ok {
		log.Debug("instance image present")
		return ref, nil
	}
	if ok, err := b.present(ctx, env.Tag); err != nil {
		return Ref{}, err
	} else if !ok {
		return fail("env image %s is not present: build it first (sweval images base / env)", env.Tag)
	}

	full, err := b.git(ctx, nil, "-C", bare, "rev-parse", "--verify", "--quiet", task.BaseCommit+"^{commit}")
	if err != nil {
		return fail("commit %s not found in %s: fetch it into the cache (git -C %s fetch origin), or check the task's base_commit", task.BaseCommit, bare, bare)
	}
	sha := strings.TrimSpace(full)

	lf, err := b.openLog(ref.Tag)
	if err != nil {
		return Ref{}, err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "# task %s: %s at %s from %s on %s\n", task.ID, task.Repo, sha, bare, env.Tag)

	work, err := newWorkDir(b.opts.TempDir, testbedPrefix)
	if err != nil {
		return fail("temp dir: %v", err)
	}
	defer work.Remove()
	tmp := work.Path
	t0 := time.Now()
	testbed := filepath.Join(tmp, "testbed")
	if err := b.prepareTestbed(ctx, bare, sha, testbed, lf); err != nil {
		fmt.Fprintf(lf, "FAILED: %v\n", err)
		return fail("prepare %s at %s: %v (full log: %s)", task.Repo, sha, err, lf.Name())
	}
	extra := map[string]string{LabelRepo: task.Repo, LabelCommit: sha}
	err = b.store.build(ctx, ref.Tag, labels(LayerInstance, ref.Key, env.Key, extra), instanceBuild(env.Tag, testbed), lf)
	if err != nil {
		fmt.Fprintf(lf, "FAILED: %v\n", err)
		return fail("%v (full log: %s)", err, lf.Name())
	}
	fmt.Fprintf(lf, "# done in %s\n", time.Since(t0).Round(time.Millisecond))
	log.Info("instance image built", "seconds", time.Since(t0).Round(time.Millisecond).Seconds())
	return ref, nil
}

// prepareTestbed makes dir a fresh repository whose only history is sha and
// its ancestors: fetched by id from the bare clone (so no other ref, tag or
// later commit comes along), checked out on branch main, reflogs expired.
// No remote is configured.
func (b *Builder) prepareTestbed(ctx context.Context, bare, sha, dir string, lf io.Writer) error {
	steps := [][]string{
		{"init", "-q", "--template=", "--initial-branch=main", dir},
		// Protocol v2 serves any reachable id; the config also covers v0.
		b.fetchArgs(dir, bare, sha),
		{"-C", dir, "checkout", "-q", "-f", "-B", "main", sha},
		// No gc: a fetch by id into an empty repository holds only what is
		// reachable from sha, so a repack would only rewrite the same
		// objects (4 s of 21 for a sympy-sized history).
		{"-C", dir, "reflog", "expire", "--expire=now", "--all"},
	}
	for _, s := range steps {
		if _, err := b.git(ctx, lf, s...); err != nil {
			return err
		}
	}
	for _, f := range []string{"logs", "FETCH_HEAD", "ORIG_HEAD", "hooks"} {
		os.RemoveAll(filepath.Join(dir, ".git", f))
	}
	head, err := b.git(ctx, lf, "-C", dir, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if strings.TrimSpace(head) != sha {
		return fmt.Errorf("HEAD is %s after checkout, want %s", strings.TrimSpace(head), sha)
	}
	return nil
}

// fetchArgs fetches sha and its history (the last TestbedDepth commits of
// it when set) from bare into dir. Protocol v2 serves any reachable id;
// the config also covers v0. A shallow fetch needs file:// (the local
// transport ignores --depth).
func (b *Builder) fetchArgs(dir, bare, sha string) []string {
	args := []string{"-C", dir, "-c", "protocol.version=2", "-c", "uploadpack.allowAnySHA1InWant=true",
		"fetch", "-q", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head"}
	if d := b.opts.TestbedDepth; d > 0 {
		return append(args, "--depth="+strconv.Itoa(d), "file://"+bare, sha)
	}
	return append(args, bare, sha)
}

// git runs git with argv (never through a shell), isolated from the host's
// global and system config, and returns stdout. lf, when set, gets the
// command line and stderr.
func (b *Builder) git(ctx context.Context, lf io.Writer, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.opts.Git, args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if lf != nil {
		fmt.Fprintf(lf, "$ git %s\n", strings.Join(args, " "))
		cmd.Stderr = io.MultiWriter(&errb, lf)
	}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
