package sandbox_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/moby/moby/client"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// conformanceRuntime is one Runtime under test: mk starts a sandbox from
// the test image and closes it when the test ends.
type conformanceRuntime struct {
	name  string
	setup func(t testing.TB) (sandbox.Runtime, string, []string)
}

// reaper is the part of a runtime that cleans up after a killed harness.
type reaper interface {
	Reap(ctx context.Context, currentRunID string) (int, error)
}

// Environment variables the re-executed helper process of the kill -9 case
// rebuilds its runtime from.
const (
	helperRuntimeEnv     = "SWEVAL_CONFORMANCE_HELPER"
	helperAddressEnv     = "SWEVAL_CONFORMANCE_CONTAINERD"
	helperSnapshotterEnv = "SWEVAL_CONFORMANCE_SNAPSHOTTER"
)

// runtimes is the table every conformance case runs against. A runtime
// added later joins it and must pass every case unchanged.
func runtimes() []conformanceRuntime {
	return []conformanceRuntime{
		{"docker", func(t testing.TB) (sandbox.Runtime, string, []string) {
			img := testenv.BaseImage(t)
			return sandbox.NewDocker(testenv.Docker(t), sandbox.Options{}), img, nil
		}},
		{"containerd", setupContainerd},
	}
}

// setupContainerd starts a private containerd and imports the test image
// into it from Docker (`docker save` → Import): containerd cannot see
// Docker's images.
func setupContainerd(t testing.TB) (sandbox.Runtime, string, []string) {
	img := testenv.BaseImage(t)
	dcli := testenv.Docker(t)
	inst := testenv.StartContainerd(t)
	cli, err := containerd.New(inst.Address)
	if err != nil {
		t.Fatalf("connect to containerd at %s: %v", inst.Address, err)
	}
	t.Cleanup(func() { cli.Close() })
	rt := sandbox.NewContainerd(cli, sandbox.ContainerdOptions{Snapshotter: inst.Snapshotter})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	save, err := dcli.ImageSave(ctx, []string{img})
	if err != nil {
		t.Fatalf("docker save %s: %v", img, err)
	}
	defer save.Close()
	start := time.Now()
	if _, err := rt.ImportImage(ctx, save); err != nil {
		t.Fatalf("import %s: %v", img, err)
	}
	t.Logf("imported %s into containerd (%s) in %v", img, inst.Snapshotter, time.Since(start))
	t.Cleanup(func() { _ = rt.CloseAll(context.Background()) })
	return rt, img, []string{helperAddressEnv + "=" + inst.Address, helperSnapshotterEnv + "=" + inst.Snapshotter}
}

type mkSandbox func(t *testing.T, spec sandbox.Spec) sandbox.Sandbox

// conformanceEnv is what a case gets besides mk: the runtime itself, its
// name and image, and the environment a helper process needs to reach it.
type conformanceEnv struct {
	name, image string
	rt          sandbox.Runtime
	helperEnv   []string
}

// conformanceCases are the test bodies shared by every runtime.
var conformanceCases = []struct {
	name string
	body func(t *testing.T, mk mkSandbox)
	// whole, when set instead of body, also gets the runtime.
	whole func(t *testing.T, env conformanceEnv)
}{
	{name: "ReapAfterKill9", whole: reapAfterKill9},
	{name: "CommitKeepsTheFilesystem", whole: commitKeepsTheFilesystem},
	{name: "CancelledCreateLeavesNothing", whole: cancelledCreateLeavesNothing},
	{name: "NoNetworkRoute", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{})
		res := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(`ls /sys/class/net; tail -n +2 /proc/net/route | wc -l; cat /sys/class/net/lo/operstate; python3 -c '
import socket
s = socket.socket(); s.settimeout(5)
try:
    s.connect(("1.1.1.1", 53)); print("CONNECTED")
except OSError as e:
    print("ERR", e)
'`)})
		out := string(res.Output)
		if f := strings.Fields(out); len(f) < 2 || f[0] != "lo" || f[1] != "0" {
			t.Errorf("interfaces and route count: %q, want lo and 0 routes", out)
		}
		if !strings.Contains(out, "Network is unreachable") {
			t.Errorf("connect out: %q, want Network is unreachable", out)
		}
		// lo is up: a loopback listener answers.
		res = mustExec(t, sb, sandbox.ExecRequest{Cmd: []string{"python3", "-c", `
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname(), timeout=5); print("LO-OK")`}})
		if !strings.Contains(string(res.Output), "LO-OK") {
			t.Errorf("loopback connect: %q", res.Output)
		}
	}},
	{name: "SwitchUserKeepsOnlySetuid", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{SwitchUser: true, ReadOnly: true})
		caps := `grep -E '^Cap(Eff|Prm)|^NoNewPrivs' /proc/self/status`
		// CAP_SETUID (7) and CAP_SETGID (6): 0xc0, nothing else.
		root := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(caps)})
		for _, want := range []string{"CapPrm:\t00000000000000c0", "CapEff:\t00000000000000c0", "NoNewPrivs:\t1"} {
			if !strings.Contains(string(root.Output), want) {
				t.Errorf("root exec: /proc/self/status lacks %q:\n%s", want, root.Output)
			}
		}
		user := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(caps), User: "1000:1000"})
		for _, want := range []string{"CapPrm:\t0000000000000000", "CapEff:\t0000000000000000"} {
			if !strings.Contains(string(user.Output), want) {
				t.Errorf("exec as 1000: /proc/self/status lacks %q:\n%s", want, user.Output)
			}
		}
		// A root process that drops to 1000 keeps nothing, and the dropped
		// process cannot signal its root parent.
		drop := mustExec(t, sb, sandbox.ExecRequest{Cmd: []string{"python3", "-c", `
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.setgroups([]); os.setgid(1000); os.setuid(1000)
    eff = [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1]
    try:
        os.kill(os.getppid(), signal.SIGKILL); sig = "SIGNALLED"
    except PermissionError:
        sig = "EPERM"
    sys.stdout.write(eff + " " + sig + "\n"); sys.stdout.flush(); os._exit(0)
os.waitpid(pid, 0)
`}})
		if got := strings.TrimSpace(string(drop.Output)); got != "0000000000000000 EPERM" {
			t.Errorf("after setuid(1000): %q, want no capabilities and EPERM signalling the root parent", got)
		}
	}},
	{name: "Lockdown", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{ReadOnly: true})
		res := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(`grep -E '^Cap(Eff|Bnd)|^NoNewPrivs|^Seccomp:' /proc/self/status; touch /ro 2>&1; touch /tmp/ok && echo TMP-OK`)})
		for _, want := range []string{"CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2", "Read-only file system", "TMP-OK"} {
			if !strings.Contains(string(res.Output), want) {
				t.Errorf("lockdown lacks %q:\n%s", want, res.Output)
			}
		}
	}},
	{name: "ReviveKeepsTheWork", body: func(t *testing.T, mk mkSandbox) {
		// What an agent can do to its own sandbox; after Revive every
		// process it left is gone and the files it wrote are still there.
		for _, attack := range []struct{ name, script string }{
			{"kill -9 -1", `kill -9 -1`},
			{"kill pid 1", `kill -9 1; kill -TERM 1; sleep 1`},
			{"fork bomb left running", `setsid bash -c 'bomb() { bomb | bomb & }; bomb' >/dev/null 2>&1 < /dev/null & sleep 3`},
		} {
			t.Run(attack.name, func(t *testing.T) {
				sb := mk(t, sandbox.Spec{PidsLimit: 64})
				mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(`mkdir -p /srv/work && echo kept > /srv/work/patch.txt`)})
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				_, _ = sb.Exec(ctx, sandbox.ExecRequest{Cmd: bash(attack.script), Timeout: 15 * time.Second})
				rv, ok := sb.(sandbox.Reviver)
				if !ok {
					t.Fatalf("%T is not a sandbox.Reviver", sb)
				}
				if _, err := rv.Revive(ctx); err != nil {
					t.Fatalf("Revive: %v", err)
				}
				res := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(`cat /srv/work/patch.txt; ls /proc | grep -c '^[0-9]'`), Timeout: 30 * time.Second})
				f := strings.Fields(string(res.Output))
				if len(f) != 2 || f[0] != "kept" {
					t.Fatalf("after Revive: %q, want the file kept", res.Output)
				}
				// init, the exec's bash and ls (and grep): nothing the attack left.
				if n, _ := strconv.Atoi(f[1]); n > 6 {
					t.Errorf("%d processes after Revive: the attack's are still running", n)
				}
			})
		}
	}},
	{name: "DiskBudgetStopsTheSandbox", body: func(t *testing.T, mk mkSandbox) {
		// Under the budget: left alone. A 4 GiB write: stopped at the budget
		// (sweval run's acceptance test writes 10 GiB).
		small := mk(t, sandbox.Spec{DiskBytes: 256 << 20})
		mustExec(t, small, sandbox.ExecRequest{Cmd: bash(`head -c 64m /dev/zero > /srv/ok.bin && sleep 5`), Timeout: time.Minute})
		if hit, used, _ := small.(sandbox.DiskLimiter).DiskLimitHit(); hit {
			t.Fatalf("a 64 MiB write was stopped (used %d)", used)
		}
		afterwards(t, small)

		sb := mk(t, sandbox.Spec{DiskBytes: 256 << 20})
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: bash(`dd if=/dev/zero of=/srv/big.bin bs=1M count=4096 2>&1; echo FINISHED`), Timeout: 4 * time.Minute})
		hit, used, limit := sb.(sandbox.DiskLimiter).DiskLimitHit()
		if !hit || used <= limit {
			t.Fatalf("4 GiB write: hit %v, used %d of %d (exec %v, %q)", hit, used, limit, err, res.Output)
		}
		if err == nil && strings.Contains(string(res.Output), "FINISHED") {
			t.Errorf("the write ran to its end: %q", res.Output)
		}
		t.Logf("stopped after %v with %d MiB written", time.Since(start).Round(time.Millisecond), used>>20)
	}},
	{name: "ForkBombStoppedByPids", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{PidsLimit: 128})
		res := mustExec(t, sb, sandbox.ExecRequest{
			Cmd:     bash(`bomb() { bomb | bomb & }; bomb; sleep 3; echo done`),
			Timeout: 20 * time.Second,
		})
		if !strings.Contains(string(res.Output), "fork: retry") && !strings.Contains(string(res.Output), "Resource temporarily unavailable") && !res.TimedOut {
			t.Errorf("no sign the pids limit stopped the bomb: %q", res.Output)
		}
		afterwards(t, sb)
	}},
	{name: "MemoryBombOOM", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{MemoryBytes: 256 << 20})
		res := mustExec(t, sb, sandbox.ExecRequest{
			Cmd:     []string{"python3", "-c", "a = []\nwhile True: a.append(bytearray(16 << 20))"},
			Timeout: 60 * time.Second,
		})
		if !res.OOMKilled || res.ExitCode != 137 || res.TimedOut {
			t.Errorf("memory bomb: exit %d OOM %v timedOut %v, want OOMKilled with exit 137", res.ExitCode, res.OOMKilled, res.TimedOut)
		}
		afterwards(t, sb)
		res = mustExec(t, sb, sandbox.ExecRequest{Cmd: bash("kill -9 $$")})
		if res.ExitCode != 137 || res.OOMKilled {
			t.Errorf("self-SIGKILL: exit %d OOMKilled %v, want 137 without OOM", res.ExitCode, res.OOMKilled)
		}
	}},
	{name: "HugeOutputCapped", body: func(t *testing.T, mk mkSandbox) {
		if testing.Short() {
			t.Skip("1 GiB through the runtime")
		}
		sb := mk(t, sandbox.Spec{})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res := mustExec(t, sb, sandbox.ExecRequest{
			Cmd:         bash(`echo BEGIN; head -c 1073741824 /dev/zero; echo; echo FINISH`),
			OutputLimit: 64 << 10,
			Timeout:     5 * time.Minute,
		})
		runtime.ReadMemStats(&after)
		if res.ExitCode != 0 || !strings.HasPrefix(string(res.Output), "BEGIN\n") || !strings.HasSuffix(string(res.Output), "\nFINISH\n") {
			t.Fatalf("exit %d, %d bytes out", res.ExitCode, len(res.Output))
		}
		if want := int64(1<<30) + int64(len("BEGIN\n\nFINISH\n")) - 64<<10; res.Elided != want {
			t.Errorf("Elided = %d, want %d", res.Elided, want)
		}
		if sys := int64(after.HeapSys) - int64(before.HeapSys); sys > 64<<20 {
			t.Errorf("harness heap grew with output: +%d MiB", sys>>20)
		}
	}},
	{name: "TimeoutKills", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{})
		for _, cmd := range [][]string{
			{"sleep", "infinity"},
			bash(`trap '' TERM; sleep infinity & sleep infinity`),
		} {
			res := mustExec(t, sb, sandbox.ExecRequest{Cmd: cmd, Timeout: 2 * time.Second})
			if !res.TimedOut {
				t.Errorf("%q: TimedOut false: exit %d", cmd, res.ExitCode)
			}
			ps := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(`pgrep -c -x sleep`)})
			if strings.TrimSpace(string(ps.Output)) != "1" { // init's own sleep
				t.Errorf("%q: sleep processes left behind: %s", cmd, ps.Output)
			}
		}
	}},
	{name: "PersistentShellSurvivesInterrupt", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{})
		p, err := sb.Start(context.Background(), sandbox.ExecRequest{Cmd: []string{"bash", "--noprofile", "--norc"}})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		defer p.Close()
		out := bufio.NewReader(p.Output())
		send := func(cmd string) string {
			t.Helper()
			go func() { io.WriteString(p.Stdin(), cmd+"; echo __DONE__$?\n") }()
			var lines []string
			for {
				line, err := out.ReadString('\n')
				if err != nil {
					t.Fatalf("reading output: %v (so far %q)", err, lines)
				}
				if strings.HasPrefix(line, "__DONE__") {
					return strings.Join(lines, "")
				}
				lines = append(lines, line)
			}
		}
		send("cd /tmp; export X=42")
		// An interrupt of a job, as a shell tool sends it, leaves the shell
		// and its state alive. Job control is on for the job: without it
		// bash starts background jobs with SIGINT ignored, and whether the
		// kill lands before that is a race (CI: the sleep ran its 100 s).
		if got := send(`set -m; sleep 100 & pid=$!; kill -INT $pid; wait $pid; echo rc=$?; set +m`); !strings.Contains(got, "rc=130") {
			t.Errorf("interrupted job: %q", got)
		}
		if got := send("echo $X; pwd"); got != "42\n/tmp\n" {
			t.Errorf("state after interrupt: %q", got)
		}
		// EOF on stdin ends the shell.
		p.Stdin().Close()
		if _, err := io.Copy(io.Discard, out); err != nil && err != sandbox.ErrProcessClosed {
			t.Errorf("output after EOF: %v", err)
		}
	}},
	// A started process that exits on its own (a tar stream of the whole
	// container, as purge.BaseHashes reads one) ends its Output, with
	// stdin never closed.
	{name: "StartedProcessOutputEndsAtExit", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{})
		p, err := sb.Start(context.Background(), sandbox.ExecRequest{Cmd: []string{"bash", "-c", "echo out; echo err >&2"}})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		defer p.Close()
		done := make(chan string, 1)
		go func() {
			data, _ := io.ReadAll(p.Output())
			done <- string(data)
		}()
		select {
		case got := <-done:
			if !strings.Contains(got, "out\n") || !strings.Contains(got, "err\n") {
				t.Errorf("output %q, want out and err", got)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Output did not end within 30s of the process exiting")
		}
	}},
	// A reader that stops before the process's output ends (a tar reader
	// stops at the end-of-archive blocks, before tar's padding) can still
	// Close the process: Close never waits for output nobody reads.
	{name: "CloseWithUnreadOutput", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{})
		p, err := sb.Start(context.Background(), sandbox.ExecRequest{Cmd: []string{"bash", "-c", "head -c 4000000 /dev/zero"}})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		if _, err := io.ReadFull(p.Output(), make([]byte, 10)); err != nil {
			t.Fatalf("read output: %v", err)
		}
		time.Sleep(time.Second) // the process has written all it can and waits
		done := make(chan struct{})
		go func() { p.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Close blocked on output nobody reads")
		}
	}},
	{name: "CopyBinaryAndSymlink", body: func(t *testing.T, mk mkSandbox) {
		sb := mk(t, sandbox.Spec{})
		data := make([]byte, 3<<20)
		for i := range data {
			data[i] = byte(i*7 + i>>9)
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "bin.dat", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
		tw.WriteHeader(&tar.Header{Name: "link", Linkname: "bin.dat", Typeflag: tar.TypeSymlink, Mode: 0o777})
		tw.Close()
		ctx := context.Background()
		if err := sb.CopyIn(ctx, "/work/d", &buf); err != nil {
			t.Fatalf("CopyIn: %v", err)
		}
		res := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(`readlink /work/d/link; stat -c %a /work/d/bin.dat; cmp /work/d/link /work/d/bin.dat && echo SAME`)})
		if got := string(res.Output); got != "bin.dat\n755\nSAME\n" {
			t.Errorf("after CopyIn: %q", got)
		}
		rc, err := sb.CopyOut(ctx, "/work/d")
		if err != nil {
			t.Fatalf("CopyOut: %v", err)
		}
		defer rc.Close()
		tr := tar.NewReader(rc)
		found := map[string]bool{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("CopyOut tar: %v", err)
			}
			switch h.Name {
			case "d/bin.dat":
				got, _ := io.ReadAll(tr)
				found[h.Name] = bytes.Equal(got, data)
			case "d/link":
				found[h.Name] = h.Typeflag == tar.TypeSymlink && h.Linkname == "bin.dat"
			}
		}
		if !found["d/bin.dat"] || !found["d/link"] {
			t.Errorf("CopyOut entries intact: %v", found)
		}
	}},
}

// TestConformance runs every case against every runtime.
func TestConformance(t *testing.T) {
	if name := os.Getenv(helperRuntimeEnv); name != "" {
		holdConformanceSandbox(t, name)
		return
	}
	for _, rt := range runtimes() {
		t.Run(rt.name, func(t *testing.T) {
			r, img, helperEnv := rt.setup(t)
			mk := func(t *testing.T, spec sandbox.Spec) sandbox.Sandbox {
				t.Helper()
				spec.Image = img
				spec.RunID = "conformance-" + rt.name
				spec.Task = t.Name()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				sb, err := r.Create(ctx, spec)
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				t.Cleanup(func() {
					if err := sb.Close(context.Background()); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
				return sb
			}
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.whole != nil {
						tc.whole(t, conformanceEnv{name: rt.name, image: img, rt: r, helperEnv: helperEnv})
						return
					}
					tc.body(t, mk)
				})
			}
		})
	}
}

// reapAfterKill9 re-executes this test binary as a harness that creates a
// sandbox and is then killed with SIGKILL; the next Reap must remove the
// sandbox, and a second Reap must find nothing.
func reapAfterKill9(t *testing.T, env conformanceEnv) {
	rp, ok := env.rt.(reaper)
	if !ok {
		t.Fatalf("runtime %s has no Reap", env.name)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConformance$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), helperRuntimeEnv+"="+env.name, testenv.ImageEnv+"="+env.image), env.helperEnv...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CONTAINER "); ok {
			id = v
			break
		}
	}
	if id == "" {
		cmd.Process.Kill()
		t.Fatalf("helper printed no container id (%v)", cmd.Wait())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	ctx := context.Background()
	n, err := rp.Reap(ctx, "conformance-kill9")
	if err != nil {
		t.Fatalf("Reap: %v", err)
	}
	// Docker's daemon is shared: every sweval command CI runs beside
	// this reaps dead owners' containers too, and may get there first.
	shared := env.name == "docker"
	if n < 1 {
		if _, ierr := testenv.Docker(t).ContainerInspect(ctx, id, client.ContainerInspectOptions{}); shared && ierr != nil {
			t.Logf("another reaper on the daemon removed %s first", id)
		} else {
			t.Errorf("Reap removed %d sandboxes, want the kill -9'd helper's %s", n, id)
		}
	}
	if n, err := rp.Reap(ctx, "conformance-kill9"); err != nil || n != 0 && !shared {
		t.Errorf("second Reap: removed %d, err %v; want 0", n, err)
	}
}

// holdConformanceSandbox is the helper process of reapAfterKill9.
func holdConformanceSandbox(t *testing.T, name string) {
	var rt sandbox.Runtime
	switch name {
	case "docker":
		rt = sandbox.NewDocker(testenv.Docker(t), sandbox.Options{})
	case "containerd":
		cli, err := containerd.New(os.Getenv(helperAddressEnv))
		if err != nil {
			t.Fatal(err)
		}
		rt = sandbox.NewContainerd(cli, sandbox.ContainerdOptions{Snapshotter: os.Getenv(helperSnapshotterEnv)})
	default:
		t.Fatalf("unknown runtime %q", name)
	}
	sb, err := rt.Create(context.Background(), sandbox.Spec{Image: os.Getenv(testenv.ImageEnv), RunID: "conformance-kill9", Task: "held"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("CONTAINER " + sb.ID())
	time.Sleep(5 * time.Minute) // killed long before
	sb.Close(context.Background())
}

// imageRemover is the part of a runtime that removes an image it made.
type imageRemover interface {
	RemoveImage(ctx context.Context, ref string) error
}

// commitKeepsTheFilesystem commits a sandbox in which files were written,
// changed and removed, and starts a new sandbox from the commit: the
// changes are there (a removal too), /tmp (a tmpfs) is not, and the
// labels asked for are on the image.
func commitKeepsTheFilesystem(t *testing.T, env conformanceEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	spec := sandbox.Spec{Image: env.image, RunID: "conformance-" + env.name, Task: t.Name()}
	sb, err := env.rt.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer sb.Close(context.Background())
	c, ok := sb.(sandbox.Committer)
	if !ok {
		t.Fatalf("%s sandboxes do not implement sandbox.Committer", env.name)
	}
	mustExec(t, sb, sandbox.ExecRequest{Cmd: bash(`mkdir -p /work/c && printf 'kept\n' > /work/c/new && ln -s new /work/c/link && rm /etc/issue && echo gone > /tmp/scratch`)})
	ref := "sweval/conformance-commit:" + env.name
	rm, ok := env.rt.(imageRemover)
	if !ok {
		t.Fatalf("%s runtime cannot remove images", env.name)
	}
	t.Cleanup(func() { _ = rm.RemoveImage(context.Background(), ref) })
	id, err := c.Commit(ctx, ref, map[string]string{"sweval.layer": "conformance"})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("Commit returned %q, want an image id sha256:…", id)
	}
	spec.Image = ref
	next, err := env.rt.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create from the commit %s: %v", ref, err)
	}
	defer next.Close(context.Background())
	res := mustExec(t, next, sandbox.ExecRequest{Cmd: bash(`cat /work/c/new; readlink /work/c/link; test -e /etc/issue && echo ISSUE; test -e /tmp/scratch && echo SCRATCH; echo end`)})
	if got := string(res.Output); got != "kept\nnew\nend\n" {
		t.Errorf("in a sandbox of the commit: %q, want the new file and link, /etc/issue removed, no /tmp/scratch", got)
	}
}

// cancelledCreateLeavesNothing cancels creates at points spread over a
// create's life (as SIGINT does to a run's workers): after CloseAll no
// container of the run is left, whether the runtime had finished the
// create or not when its caller gave up.
func cancelledCreateLeavesNothing(t *testing.T, env conformanceEnv) {
	runID := fmt.Sprintf("conformance-cancel-%s-%d", env.name, time.Now().UnixNano())
	var created, refused int
	for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(after, cancel)
		sb, err := env.rt.Create(ctx, sandbox.Spec{Image: env.image, RunID: runID, Task: fmt.Sprint(after)})
		timer.Stop()
		cancel()
		if err != nil {
			refused++
			continue
		}
		created++
		// A create that returned is the caller's to close, as the run does.
		if err := sb.Close(context.Background()); err != nil {
			t.Errorf("Close after a create with %v left: %v", after, err)
		}
	}
	closer, ok := env.rt.(interface{ CloseAll(context.Context) error })
	if !ok {
		t.Fatalf("runtime %s has no CloseAll", env.name)
	}
	if err := closer.CloseAll(context.Background()); err != nil {
		t.Errorf("CloseAll: %v", err)
	}
	t.Logf("%d creates returned a sandbox, %d were cancelled", created, refused)
	if left := containersOfRun(t, env, runID); len(left) > 0 {
		t.Errorf("%d container(s) of the run left after cancelled creates and CloseAll: %v", len(left), left)
	}
}

// containersOfRun lists the runtime's containers labelled with runID.
func containersOfRun(t *testing.T, env conformanceEnv, runID string) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	switch rt := env.rt.(type) {
	case *sandbox.Docker:
		list, err := rt.Client().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", sandbox.LabelRun+"="+runID)})
		if err != nil {
			t.Fatalf("list Docker containers: %v", err)
		}
		for _, c := range list.Items {
			ids = append(ids, c.ID)
		}
	case *sandbox.Containerd:
		list, err := rt.Client().Containers(namespaces.WithNamespace(ctx, sandbox.DefaultContainerdNamespace), "labels."+strconv.Quote(sandbox.LabelRun)+"=="+runID)
		if err != nil {
			t.Fatalf("list containerd containers: %v", err)
		}
		for _, c := range list {
			ids = append(ids, c.ID())
		}
	default:
		t.Fatalf("runtime %s: no way to list its containers here", env.name)
	}
	return ids
}
