package swegrade

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/sandbox"
)

// The re-install phase runs SWE-bench's `install` step (its spec table's
// "python -m pip install -e ." and the like, which its eval script runs
// after the model patch and before the test patch, so that compiled
// extensions and generated modules follow the patch) without letting the
// install's code reach the tests. It runs as root, as SWE-bench runs it,
// in a third container of the image that holds the model-patched tree and
// nothing of the grading: no test patch, no secret, no channel. When it
// ends every process in it is killed, and only the regular files under the
// workspace that the install wrote are carried into the test phase, through
// the same filter as the model patch's own files (grade.KeptFromTests: no
// conftest, runner configuration, start-up hooks or installed metadata)
// and never over a file of the test patch. What the install can place in
// the tests is therefore what the model patch could have written itself;
// what it does to the interpreter, site-packages or the rest of the image
// is thrown away with the container. As in SWE-bench's script (which has
// no `set -e`), a failing install does not stop the grading: the log says
// so and the tests run on the image's own installation.

// Fixed paths of the install container.
const (
	installMark = "/tmp/.sweval-install-start" // older than every file the install writes
	installTar  = "/tmp/.sweval-installed.tar" // what it wrote, for the copy-out
)

// reinstalls reports whether the grade runs the re-install phase.
func reinstalls(spec grade.RepoSpec, opts grade.Options) bool {
	return opts.Reinstall && strings.TrimSpace(spec.Install) != ""
}

// installTimeout bounds the install command (a full build of a large
// C-extension repository takes minutes on two cores).
func installTimeout(opts grade.Options) time.Duration { return opts.Timeout }

// installed is what the re-install phase carries into the tests.
type installed struct {
	files map[string][]byte
	exec  map[string]bool
}

// reinstall runs the install phase in isb (a fresh container of the task's
// image) and merges the files it wrote into app. An error is the harness's
// (the container could not be laid out, before any code of the task ran);
// whatever happens once the install has run — it fails, hangs, kills its
// container — is logged, nothing of it is carried, and the grading goes
// on.
func reinstall(ctx context.Context, isb sandbox.Sandbox, app *grade.Applied, opts grade.Options, log *strings.Builder) error {
	tests := map[string]bool{}
	for _, f := range app.TestFiles {
		tests[f] = true
	}
	// The model-patched tree, without the test patch: the image's version
	// of every test file, as SWE-bench's tree is when it installs.
	var files []sandbox.File
	now := time.Now()
	for p, b := range app.Files {
		if tests[p] {
			continue
		}
		mode := fs.FileMode(0o644)
		if app.Exec[p] {
			mode = 0o755
		}
		files = append(files, sandbox.File{Name: p, Data: b, Mode: mode, ModTime: now})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var removed []string
	for _, p := range app.Removed {
		if !tests[p] {
			removed = append(removed, p)
		}
	}
	var buf bytes.Buffer
	if err := sandbox.WriteFiles(&buf, files...); err != nil {
		return err
	}
	lay := `set -e
cd "$1"; shift
tar -x --no-same-owner -f -
for p in "$@"; do rm -rf -- "$p"; done
touch ` + installMark + `
# The container's own processes (its init and main process), kept when the
# install's are killed.
printf 'sweval-pids:'
for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = $$ ] || [ "$p" = $PPID ] || printf ' %s' "$p"; done
echo
`
	res, err := isb.Exec(ctx, sandbox.ExecRequest{
		Cmd: append([]string{"bash", "-c", lay, "sweval", opts.Dir}, removed...), Stdin: &buf,
		Dir: "/", User: "0:0", Timeout: layoutTimeout,
	})
	if err != nil {
		return fmt.Errorf("lay out the install container: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("lay out the install container (exit %d): %s", res.ExitCode, lastLines(res.Output, 5))
	}
	_, pids, ok := strings.Cut(lastLines(res.Output, 1), "sweval-pids:")
	if !ok {
		return fmt.Errorf("lay out the install container: no process list in its output: %s", lastLines(res.Output, 3))
	}
	// The install, after the image's environment and the spec's exports,
	// as SWE-bench's eval script runs it.
	var sc strings.Builder
	sc.WriteString(sandbox.ActivateEnv + " || exit 98\n")
	fmt.Fprintf(&sc, "cd %s || exit 98\n", grade.Quote(opts.Dir))
	// The container has no network: pip is told so, rather than retrying
	// an index it cannot reach.
	sc.WriteString("export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1\n")
	for _, kv := range app.Spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&sc, "export %s=%s\n", k, grade.Quote(v))
	}
	sc.WriteString(app.Spec.Install + "\n")
	fmt.Fprintf(log, "+ %s (SWE-bench's re-install step, as root, in a container of its own)\n", app.Spec.Install)
	res, err = isb.Exec(ctx, sandbox.ExecRequest{
		Cmd: []string{"bash", "-c", sc.String()}, Dir: opts.Dir, User: "0:0",
		Timeout: installTimeout(opts), OutputLimit: 256 << 10,
	})
	if err != nil {
		// From here on the install's code has run as root in this
		// container and may have stopped it (killed its main process):
		// what it leaves unreadable is lost to the tests, not the grade.
		fmt.Fprintf(log, ">>>>> Re-install ended the container (%v); nothing of it is carried, the tests run on the image's installation\n", err)
		return nil
	}
	log.Write(res.Output)
	if len(res.Output) > 0 && !bytes.HasSuffix(res.Output, []byte("\n")) {
		log.WriteByte('\n')
	}
	switch {
	case res.TimedOut:
		fmt.Fprintf(log, ">>>>> Re-install timed out after %s; the tests run on the image's installation and what it had written\n", installTimeout(opts))
	case res.ExitCode != 0:
		fmt.Fprintf(log, ">>>>> Re-install exited %d (SWE-bench's script goes on too); the tests run on the image's installation and what it had written\n", res.ExitCode)
	}
	// Nothing of the install should still run while its files are listed:
	// every process but the container's own and this exec's is killed
	// (kill -9 -1 would take the exec's timeout wrapper and the container's
	// main process with it). A survivor could only change what is
	// carried, which the host checks.
	collect := `keep=" $2 $$ $PPID "
for i in 1 2 3 4 5 6 7 8; do
  n=0
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    case $keep in *" $p "*) continue;; esac
    kill -9 "$p" 2>/dev/null && n=$((n + 1))
  done
  [ "$n" -eq 0 ] && break
done
cd "$1" || exit 1
find . -path ./.git -prune -o -type f -newer ` + installMark + ` -print0 | tar -c --null --no-recursion -T - -f ` + installTar + `
`
	res, err = isb.Exec(ctx, sandbox.ExecRequest{
		Cmd: []string{"bash", "-c", collect, "sweval", opts.Dir, strings.Join(strings.Fields(pids), " ")}, Dir: "/", User: "0:0", Timeout: layoutTimeout,
	})
	if err != nil {
		fmt.Fprintf(log, ">>>>> Re-install left nothing readable (%v); the tests run on the image's installation\n", err)
		return nil
	}
	if res.ExitCode != 0 {
		// The install's code may have broken the container's tools: its
		// output is lost, not the grade.
		fmt.Fprintf(log, ">>>>> Re-install left nothing readable (exit %d): %s\n", res.ExitCode, lastLines(res.Output, 3))
		return nil
	}
	got, err := readInstalled(ctx, isb)
	if err != nil {
		fmt.Fprintf(log, ">>>>> Re-install left nothing readable: %v\n", err)
		return nil
	}
	carried, dropped := mergeInstalled(app, got, tests)
	fmt.Fprintf(log, ">>>>> Re-install wrote %d file(s) in the repository; carried into the tests: %s\n", carried+len(dropped), summarize(got, dropped))
	return nil
}

// readInstalled copies the install's file list out of isb. Every byte of
// it may be the install's (its code ran as root there): entries are taken
// only as clean relative paths of regular files, within the size bound.
func readInstalled(ctx context.Context, isb sandbox.Sandbox) (installed, error) {
	got := installed{files: map[string][]byte{}, exec: map[string]bool{}}
	rc, err := isb.CopyOut(ctx, installTar)
	if err != nil {
		return got, err
	}
	defer rc.Close()
	outer := tar.NewReader(io.LimitReader(rc, 2*maxInstalledBytes))
	var inner []byte
	for {
		hdr, err := outer.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return got, fmt.Errorf("read %s: %w", installTar, err)
		}
		if hdr.Typeflag != tar.TypeReg || path.Base(hdr.Name) != path.Base(installTar) {
			continue
		}
		if inner, err = io.ReadAll(io.LimitReader(outer, maxInstalledBytes+1)); err != nil {
			return got, fmt.Errorf("read %s: %w", installTar, err)
		}
		if len(inner) > maxInstalledBytes {
			return got, fmt.Errorf("the re-install wrote more than %d MiB", maxInstalledBytes>>20)
		}
	}
	tr := tar.NewReader(bytes.NewReader(inner))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("read %s: %w", installTar, err)
		}
		p, ok := workspacePath(hdr.Name)
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return got, fmt.Errorf("read %s from %s: %w", p, installTar, err)
		}
		got.files[p], got.exec[p] = b, hdr.Mode&0o111 != 0
	}
}

// maxInstalledBytes bounds what the re-install carries (a rebuilt
// extension module is a few MiB).
const maxInstalledBytes = 256 << 20

// workspacePath is name as a clean path relative to the workspace, or
// false for anything else (absolute, escaping, under .git).
func workspacePath(name string) (string, bool) {
	p := path.Clean(strings.TrimPrefix(name, "./"))
	if p == "." || path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || p == ".git" || strings.HasPrefix(p, ".git/") {
		return "", false
	}
	return p, true
}

// mergeInstalled lays the install's files over app's: never a test
// patch file, never what the model patch itself could not carry.
func mergeInstalled(app *grade.Applied, got installed, tests map[string]bool) (carried int, dropped []string) {
	gone := map[string]bool{}
	for p := range got.files {
		if tests[p] || grade.KeptFromTests(p) {
			dropped = append(dropped, p)
			continue
		}
		app.Files[p], app.Exec[p] = got.files[p], got.exec[p]
		gone[p] = true
		carried++
	}
	if len(gone) > 0 {
		kept := app.Removed[:0]
		for _, p := range app.Removed {
			if !gone[p] {
				kept = append(kept, p)
			}
		}
		app.Removed = kept
	}
	sort.Strings(dropped)
	return carried, dropped
}

// summarize names up to a few carried files and what was kept out.
func summarize(got installed, dropped []string) string {
	isDropped := map[string]bool{}
	for _, p := range dropped {
		isDropped[p] = true
	}
	var names []string
	size := 0
	for p, b := range got.files {
		if !isDropped[p] {
			names = append(names, p)
			size += len(b)
		}
	}
	sort.Strings(names)
	s := fmt.Sprintf("%d (%d KiB)", len(names), size>>10)
	if len(names) > 0 {
		s += ": " + strings.Join(names[:min(5, len(names))], ", ")
		if len(names) > 5 {
			s += ", …"
		}
	}
	if len(dropped) > 0 {
		s += fmt.Sprintf("; kept from the tests (metadata, configuration, test files): %d", len(dropped))
	}
	return s
}
