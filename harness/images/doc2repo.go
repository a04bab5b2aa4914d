package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/sweval/sweval/benchmarks"
)

// Doc2RepoRepo is the image repository of Doc2Repo environment images.
const Doc2RepoRepo = "sweval/doc2repo"

// LayerDoc2Repo labels a Doc2Repo environment: env + the reference
// repository at its workdir, committed to git and pip-installed.
const LayerDoc2Repo = "doc2repo"

// safeWorkdir keeps a task's workdir from reaching the Dockerfile as
// anything but a plain absolute path.
var safeWorkdir = regexp.MustCompile(`^/[A-Za-z0-9._/-]*$`)

// Doc2RepoDockerfile installs the reference the way the environment of a
// real Doc2Repo task was built: its source at the workdir under git, the
// package pip-installed (not editable, so site-packages holds a copy, a
// RECORD and caches). That is exactly what the leakage purge must remove
// before an agent starts; building it this way keeps the purge honest.
func Doc2RepoDockerfile(env, workdir string) string {
	return doc2repoBuild(env, workdir, "").Dockerfile()
}

func doc2repoBuild(env, workdir, reference string) recipe {
	install := "git init -q . && git add -A && git -c user.name=reference -c user.email=reference@sweval.invalid commit -qm reference" +
		" && python3 -m pip install --no-deps --no-build-isolation --no-index --break-system-packages ." +
		" && git config --system --add safe.directory '*'"
	return recipe{From: env,
		Steps: []step{{Copy: "reference", Dest: workdir}, {Workdir: workdir}, {Run: []string{"/bin/sh", "-c", install}}},
		Dirs:  []ctxDir{{Name: "reference", Path: reference}}}
}

// Doc2Repo builds (or finds) the environment image of a Doc2Repo task on
// env. The task must have a reference directory on the host.
func (b *Builder) Doc2Repo(ctx context.Context, env Ref, task benchmarks.Task) (Ref, error) {
	fail := func(format string, a ...any) (Ref, error) {
		return Ref{}, fmt.Errorf("task %s: doc2repo image: "+format, append([]any{task.ID}, a...)...)
	}
	d := task.Doc2Repo
	if d == nil {
		return fail("not a Doc2Repo task")
	}
	if d.Image != "" {
		return b.Resolve(ctx, d.Image)
	}
	if d.Reference == "" {
		return fail("the task names neither an environment image nor a reference directory")
	}
	workdir := d.Workdir
	if workdir == "" {
		workdir = "/testbed"
	}
	if !safeWorkdir.MatchString(workdir) {
		return fail("workdir %q is not a plain absolute path", workdir)
	}
	tree, err := hashTree(d.Reference)
	if err != nil {
		return fail("hash the reference %s: %v", d.Reference, err)
	}
	key := hashParts("doc2repo", env.Key, workdir, tree)[:16]
	ref := Ref{Tag: Doc2RepoRepo + ":" + key, Key: key, Layer: LayerDoc2Repo}
	log := b.log.With("task", task.ID, "image", ref.Tag)
	_, err = b.buildOnce(ctx, ref, "doc2repo image", log, func(lf *os.File) error {
		fmt.Fprintf(lf, "# task %s: reference %s on %s at %s\n", task.ID, d.Reference, env.Tag, workdir)
		extra := map[string]string{LabelRepo: d.Package}
		err := b.store.build(ctx, ref.Tag, labels(LayerDoc2Repo, key, env.Key, extra), doc2repoBuild(env.Tag, workdir, d.Reference), lf)
		if err != nil {
			fmt.Fprintf(lf, "FAILED: %v\n", err)
			_, err = fail("%v (full log: %s)", err, lf.Name())
		}
		return err
	})
	if err != nil {
		return Ref{}, err
	}
	return ref, nil
}

// hashTree hashes every regular file's path, mode and content under root,
// in walk (lexical) order, so a changed reference gets a new image.
func hashTree(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if e.IsDir() {
			if e.Name() == "__pycache__" || (e.Name() == ".git" && rel != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", filepath.ToSlash(rel), info.Mode())
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		} else if info.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			h.Write([]byte(target))
		}
		h.Write([]byte{0})
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
