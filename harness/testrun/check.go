package testrun

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/sandbox"
)

func runTests(ctx context.Context, create func() (sandbox.Sandbox, error), p Plan, ws map[string]entry, hidden map[string][]byte, tests []string, out *Outcome, log *strings.Builder) error {
	sb, err := create()
	if err != nil {
		return fmt.Errorf("testrun: create test container: %w", err)
	}
	defer sb.Close(context.WithoutCancel(ctx))
	var conftests, hiddenList, hiddenDirList []string
	dirs := map[string]bool{}
	for h := range hidden {
		hiddenList = append(hiddenList, h)
		if path.Base(h) == "conftest.py" {
			conftests = append(conftests, h)
		}
		for d := path.Dir(h); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		hiddenDirList = append(hiddenDirList, d)
	}
	sort.Strings(conftests)
	sort.Strings(hiddenList)
	sort.Strings(hiddenDirList)
	hfiles := map[string]entry{
		"pytest.ini":    {data: []byte(iniText), mode: 0o644},
		"conftests.txt": {data: []byte(strings.Join(conftests, "\n") + "\n"), mode: 0o644},
		"hidden.0":      {data: []byte(strings.Join(hiddenList, "\x00")), mode: 0o644},
		"hiddendirs.0":  {data: []byte(strings.Join(hiddenDirList, "\x00")), mode: 0o644},
	}
	if err := sb.CopyIn(ctx, harnessDir, bytes.NewReader(writeTar(hfiles))); err != nil {
		return fmt.Errorf("testrun: copy the harness files in: %w", err)
	}
	if err := prepare(ctx, sb, log, p.Workdir, ws); err != nil {
		return err
	}
	// Everything is root's (the tar ran as root). The agent's files are
	// opened to User in sticky directories (it cannot rename what is not
	// its own); hidden tests and their directories stay root's, read-only.
	r, err := exec(ctx, sb, log, "lay out permissions", sandbox.ExecRequest{Cmd: []string{"sh", "-c", `
set -e
cd "$1"
chmod -R a+rwX .
find . -type d -exec chmod 1777 {} +
xargs -0 -r chmod 0755 < "$2/hiddendirs.0"
xargs -0 -r chmod 0644 < "$2/hidden.0"
mkdir -p -m 0755 "$3"
i=0; while [ "$i" -lt "$4" ]; do mkdir -m 0777 "$3/run-$i"; i=$((i+1)); done
mkdir -p -m 0777 "$5"
`, "sh", p.Workdir, harnessDir, outRoot, fmt.Sprint(len(tests)), homeDir}, Timeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("testrun: lay out permissions (exit %d): %s", r.ExitCode, r.Output)
	}
	timeout := p.TestTimeout
	if timeout == 0 {
		timeout = 30 * time.Minute
	}
	site := "-"
	if p.Install {
		site = p.Workdir + "/" + siteName
	}
	planted := map[string][]Planted{}
	for _, pl := range out.Planted {
		planted[pl.File] = append(planted[pl.File], pl)
	}
	uid, gid, _ := strings.Cut(User, ":")
	// One exec runs every file: the supervisor (root, SETUID/SETGID only)
	// forks one child per file as User and reports each exit status on
	// its own stdout; the reports it copied out of reach of User come back
	// in one copy.
	r, err = exec(ctx, sb, log, fmt.Sprintf("tests: %d file(s)", len(tests)), sandbox.ExecRequest{
		Cmd: append([]string{"python3", "-I", "-B", "-c", supervisor, harnessDir, outRoot, p.Workdir, site, harnessDir + "/conftests.txt",
			uid, gid, fmt.Sprint(timeout.Seconds()), fmt.Sprint(maxReport + 1)}, tests...),
		Dir: p.Workdir, Env: agentEnv(), User: "0:0", Timeout: time.Duration(len(tests))*timeout + 2*time.Minute,
	})
	if err != nil {
		return err
	}
	statuses, dups := parseStatuses(r.Output)
	for _, d := range dups {
		out.flag("runner-status", "a second exit status for "+d+" on the runner's own stream")
	}
	runs, rerr := readRuns(ctx, sb, outRoot)
	for i, f := range tests {
		got := runs[i]
		if o := got["output.log"]; len(o) > 0 {
			fmt.Fprintf(log, ">>>>> output of %s\n%s\n", f, o)
		}
		st, ok := statuses[f]
		if !ok {
			// The supervisor died before this file finished (out of
			// memory, the exec's own timeout): its tests count as not run.
			fmt.Fprintf(log, ">>>>> %s: no exit status from the runner\n", f)
			continue
		}
		fmt.Fprintf(log, ">>>>> %s: exit %s, %.1fs\n", f, st, st.Seconds)
		recs, recErr := got.file("records.jsonl", rerr)
		junit, jerr := got.file("junit.xml", rerr)
		checkRun(f, st.result(), recs, recErr, junit, jerr, planted[f], out)
	}
	return nil
}

// fileStatus is the supervisor's report on one test file's process.
type fileStatus struct {
	File     string  `json:"file"`
	Exit     *int    `json:"exit"`
	Signal   int     `json:"signal"`
	TimedOut bool    `json:"timed_out"`
	Seconds  float64 `json:"seconds"`
}

func (s fileStatus) String() string {
	switch {
	case s.TimedOut:
		return "timed out"
	case s.Exit == nil:
		return fmt.Sprintf("killed by signal %d", s.Signal)
	}
	return fmt.Sprint(*s.Exit)
}

// result is the status as checkRun reads it: a process killed by a signal
// (the memory limit, the agent's own kill) ran no test to the end.
func (s fileStatus) result() sandbox.ExecResult {
	r := sandbox.ExecResult{TimedOut: s.TimedOut || s.Exit == nil}
	if s.Exit != nil {
		r.ExitCode = *s.Exit
	}
	return r
}

// statusPrefix starts each of the supervisor's status lines.
const statusPrefix = "sweval-run "

// parseStatuses reads the supervisor's status lines; a file reported
// twice means something else wrote to a stream only the supervisor holds.
func parseStatuses(output []byte) (_ map[string]fileStatus, dups []string) {
	out := map[string]fileStatus{}
	for _, line := range strings.Split(string(output), "\n") {
		rest, ok := strings.CutPrefix(line, statusPrefix)
		if !ok {
			continue
		}
		var s fileStatus
		if json.Unmarshal([]byte(rest), &s) != nil || s.File == "" {
			continue
		}
		if _, seen := out[s.File]; seen {
			dups = append(dups, s.File)
			continue
		}
		out[s.File] = s
	}
	return out, dups
}

// maxReport bounds each report file read back from a run directory (the
// code under test can write there; it must not exhaust the harness).
const maxReport = 64 << 20

type runFiles map[string][]byte

// readRuns reads what the supervisor kept of every file's run (records,
// JUnit report, output; the done-<i> directories under root) in one copy.
func readRuns(ctx context.Context, sb sandbox.Sandbox, root string) (map[int]runFiles, error) {
	out := map[int]runFiles{}
	rc, err := sb.CopyOut(ctx, root)
	if err != nil {
		return out, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	top := path.Base(root) + "/"
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read %s: %w", root, err)
		}
		rel := strings.TrimPrefix(path.Clean(strings.TrimPrefix(hdr.Name, "./")), top)
		dir, name := path.Split(rel)
		var i int
		if hdr.Typeflag != tar.TypeReg || (name != "records.jsonl" && name != "junit.xml" && name != "output.log") {
			continue
		}
		if _, err := fmt.Sscanf(dir, "done-%d/", &i); err != nil || dir != fmt.Sprintf("done-%d/", i) {
			continue
		}
		if hdr.Size > maxReport {
			continue // the supervisor copies one byte more than a report can be: not written
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxReport))
		if err != nil {
			return out, fmt.Errorf("read %s/%s: %w", root, rel, err)
		}
		if out[i] == nil {
			out[i] = runFiles{}
		}
		out[i][name] = b
	}
}

// file is one report of the run, or why it is missing.
func (f runFiles) file(name string, readErr error) ([]byte, error) {
	if b, ok := f[name]; ok {
		return b, nil
	}
	if readErr != nil {
		return nil, readErr
	}
	return nil, fmt.Errorf("%s: not written", name)
}

type record struct {
	ID      string `json:"id"`
	When    string `json:"when"`
	Outcome string `json:"outcome"`
	XFail   bool   `json:"xfail"`
	Exit    *int   `json:"exit"`
}

// parseRecords folds the plugin's per-phase reports into one status per
// test (the worst phase wins, as pytest's own summary does).
func parseRecords(b []byte) (map[string]grade.TestStatus, bool, error) {
	st := map[string]grade.TestStatus{}
	collectErr := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, false, fmt.Errorf("record %q: %w", sc.Text(), err)
		}
		if r.Exit != nil || r.ID == "" && r.When != "collect" {
			continue
		}
		var s grade.TestStatus
		switch {
		case r.When == "collect":
			collectErr = true
			continue
		case r.Outcome == "passed" && r.When == "call" && r.XFail:
			s = grade.XPass
		case r.Outcome == "passed":
			s = grade.Passed
		case r.Outcome == "skipped" && r.XFail:
			s = grade.XFail
		case r.Outcome == "skipped":
			s = grade.Skipped
		case r.When == "call":
			s = grade.Failed
		default:
			s = grade.Error
		}
		if prev, ok := st[r.ID]; !ok || rank(s) > rank(prev) {
			st[r.ID] = s
		}
	}
	return st, collectErr, sc.Err()
}

func rank(s grade.TestStatus) int {
	return map[grade.TestStatus]int{grade.Passed: 0, grade.XPass: 1, grade.Skipped: 2, grade.XFail: 3, grade.Failed: 4, grade.Error: 5}[s]
}

// checkRun cross-checks one file's three channels and the planted tests,
// and adds the file's hidden tests to out.Tests when nothing disagrees.
func checkRun(file string, r sandbox.ExecResult, recs []byte, rerr error, junit []byte, jerr error, planted []Planted, out *Outcome) {
	if r.TimedOut || r.OOMKilled {
		return // its tests count as not run
	}
	rs, collectErr, perr := parseRecords(recs)
	if rerr != nil || perr != nil {
		if r.ExitCode == 0 {
			out.flag("exit-code", fmt.Sprintf("%s: exit 0 but no readable per-test records (%v %v)", file, rerr, perr))
		}
		return // the process died before or while reporting: not run
	}
	if len(rs) == 0 {
		// Nothing ran (collection error, import failure): not run, unless
		// the process claims success.
		if r.ExitCode == 0 {
			out.flag("exit-code", fmt.Sprintf("%s: exit 0 with no test reported", file))
		}
		return
	}
	tampered := false
	for _, b := range integrity(recs) {
		out.flag("runner", file+": changed during the run: "+b)
		tampered = true
	}
	js, jperr := map[string]grade.TestStatus(nil), jerr
	if jerr == nil {
		js, jperr = grade.ParseJUnitXML(junit)
	}
	if jperr != nil {
		out.flag("junit", fmt.Sprintf("%s: tests reported but no readable JUnit report: %v", file, jperr))
		tampered = true
	} else {
		for _, d := range diffStatus(rs, js) {
			out.flag("report-mismatch", file+": "+d)
			tampered = true
		}
	}
	// A module-level skip (pytestmark, allow_module_level) skips the planted
	// tests with the file's own: honest, and worth nothing, as long as no
	// test of the file passed.
	allSkipped := true
	for _, s := range rs {
		allSkipped = allSkipped && (s == grade.Skipped || s == grade.XFail)
	}
	for _, pl := range planted {
		s, ok := rs[pl.ID()]
		switch {
		case ok && allSkipped:
		case pl.Kind == Canary && ok && s != grade.Failed:
			out.flag("canary", fmt.Sprintf("must-fail test %s reported %s", pl.ID(), s))
			tampered = true
		case pl.Kind == Canary && !ok && !collectErr:
			out.flag("canary-missing", fmt.Sprintf("must-fail test %s never reported", pl.ID()))
			tampered = true
		case pl.Kind == Control && ok && s != grade.Passed:
			out.flag("control", fmt.Sprintf("must-pass test %s reported %s", pl.ID(), s))
			tampered = true
		case pl.Kind == Control && !ok && !collectErr:
			out.flag("control-missing", fmt.Sprintf("must-pass test %s never reported", pl.ID()))
			tampered = true
		}
	}
	// A failing canary is in every file: the only honest exit code is 1.
	if want := 1; !allSkipped && r.ExitCode != want {
		out.flag("exit-code", fmt.Sprintf("%s: exit %d observed, but a must-fail test ran (want 1)", file, r.ExitCode))
		tampered = true
	}
	if tampered {
		return
	}
	isPlanted := map[string]bool{}
	for _, pl := range planted {
		isPlanted[pl.ID()] = true
	}
	for id, s := range rs {
		if !isPlanted[id] {
			out.Tests[id] = s
		}
	}
}

func diffStatus(a, b map[string]grade.TestStatus) []string {
	var d []string
	for id, s := range a {
		if t, ok := b[id]; !ok {
			d = append(d, fmt.Sprintf("%s: plugin %s, JUnit none", id, s))
		} else if !sameStatus(s, t) {
			d = append(d, fmt.Sprintf("%s: plugin %s, JUnit %s", id, s, t))
		}
	}
	for id, t := range b {
		if _, ok := a[id]; !ok {
			d = append(d, fmt.Sprintf("%s: JUnit %s, plugin none", id, t))
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("... and %d more", len(d)-10))
	}
	return d
}

// sameStatus compares across channels: JUnit spells a failing teardown
// after a passed call as an error, and xpass (non-strict) as passed.
func sameStatus(a, b grade.TestStatus) bool {
	norm := func(s grade.TestStatus) grade.TestStatus {
		switch s {
		case grade.Error:
			return grade.Failed
		case grade.XPass:
			return grade.Passed
		}
		return s
	}
	return norm(a) == norm(b)
}

// integrity returns what the runner's watch (SwevalWatch) recorded as
// changed: reporting classes, runner functions, hook implementations
// added mid-session.
func integrity(recs []byte) []string {
	var out []string
	for _, l := range bytes.Split(recs, []byte("\n")) {
		var r struct {
			Integrity *string `json:"integrity"`
		}
		if json.Unmarshal(l, &r) == nil && r.Integrity != nil {
			out = append(out, *r.Integrity)
		}
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more", len(out)-10))
	}
	return out
}
