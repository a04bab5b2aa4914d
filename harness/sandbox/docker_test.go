package sandbox_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// newSandbox starts a locked-down container from the test image and
// removes it when the test ends.
func newSandbox(t *testing.T, spec sandbox.Spec) (*sandbox.Docker, sandbox.Sandbox) {
	t.Helper()
	img := testenv.BaseImage(t)
	cli := testenv.Docker(t)
	d := sandbox.NewDocker(cli, sandbox.Options{})
	spec.Image = img
	if spec.RunID == "" {
		spec.RunID = "test-" + t.Name()
	}
	if spec.Task == "" {
		spec.Task = t.Name()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sb, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d, sb
}

func mustExec(t *testing.T, sb sandbox.Sandbox, req sandbox.ExecRequest) sandbox.ExecResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := sb.Exec(ctx, req)
	if err != nil {
		t.Fatalf("Exec %q: %v", req.Cmd, err)
	}
	return res
}

func bash(script string) []string { return []string{"bash", "-c", script} }

func TestExecBasics(t *testing.T) {
	_, sb := newSandbox(t, sandbox.Spec{Env: []string{"FOO=bar"}})
	tests := []struct {
		name     string
		req      sandbox.ExecRequest
		wantCode int
		wantOut  string
	}{
		{"true", sandbox.ExecRequest{Cmd: []string{"true"}}, 0, ""},
		{"exit code", sandbox.ExecRequest{Cmd: bash("exit 3")}, 3, ""},
		{"stdout and stderr interleaved", sandbox.ExecRequest{Cmd: bash("echo a; echo b >&2; echo c")}, 0, "a\nb\nc\n"},
		{"spec env and PATH", sandbox.ExecRequest{Cmd: bash(`echo $FOO:$PATH`)}, 0, "bar:" + sandbox.DefaultPath + "\n"},
		{"request env and dir", sandbox.ExecRequest{Cmd: bash(`echo $X; pwd`), Env: []string{"X=1"}, Dir: "/tmp"}, 0, "1\n/tmp\n"},
		{"stdin", sandbox.ExecRequest{Cmd: []string{"cat"}, Stdin: strings.NewReader("hello\n")}, 0, "hello\n"},
		{"missing command", sandbox.ExecRequest{Cmd: []string{"no-such-cmd"}}, 127, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustExec(t, sb, tc.req)
			if res.ExitCode != tc.wantCode {
				t.Errorf("exit code = %d, want %d (output %q)", res.ExitCode, tc.wantCode, res.Output)
			}
			if tc.wantOut != "" && string(res.Output) != tc.wantOut {
				t.Errorf("output = %q, want %q", res.Output, tc.wantOut)
			}
			if res.TimedOut || res.OOMKilled || res.Elided != 0 {
				t.Errorf("unexpected flags: %+v", res)
			}
		})
	}
}

func TestExecOutputCapped(t *testing.T) {
	_, sb := newSandbox(t, sandbox.Spec{})
	res := mustExec(t, sb, sandbox.ExecRequest{
		Cmd:         bash(`echo START; head -c 100000 /dev/zero | tr '\0' x; echo; echo END`),
		OutputLimit: 1000,
	})
	out := string(res.Output)
	if !strings.HasPrefix(out, "START\n") || !strings.HasSuffix(out, "\nEND\n") {
		t.Errorf("head/tail not kept: %q...%q", out[:20], out[len(out)-20:])
	}
	total := int64(len("START\n") + 100000 + len("\nEND\n"))
	if res.Elided != total-1000 {
		t.Errorf("Elided = %d, want %d", res.Elided, total-1000)
	}
	if !strings.Contains(out, sandbox.ElisionMarker(res.Elided)) {
		t.Errorf("no elision marker in %q", out)
	}
}

func TestCopyInOut(t *testing.T) {
	// Read-only rootfs: copying into the tmpfs must still work.
	_, sb := newSandbox(t, sandbox.Spec{ReadOnly: true})
	ctx := context.Background()

	var buf bytes.Buffer
	files := map[string][]byte{"pkg/a.py": []byte("print('a')\n"), "pkg/sub/b.txt": []byte("bee\n")}
	if err := sandbox.WriteFiles(&buf, sandbox.FilesOf(files, 0o644, time.Now())...); err != nil {
		t.Fatal(err)
	}
	if err := sb.CopyIn(ctx, "/tmp/work/dst", &buf); err != nil {
		t.Fatalf("CopyIn: %v", err)
	}
	res := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash("cat /tmp/work/dst/pkg/a.py /tmp/work/dst/pkg/sub/b.txt")})
	if string(res.Output) != "print('a')\nbee\n" {
		t.Fatalf("copied files read back as %q", res.Output)
	}

	rc, err := sb.CopyOut(ctx, "/tmp/work/dst/pkg")
	if err != nil {
		t.Fatalf("CopyOut: %v", err)
	}
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading CopyOut tar: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			got[h.Name] = string(b)
		}
	}
	rc.Close()
	for name, body := range files {
		if got[name] != string(body) {
			t.Errorf("CopyOut %s = %q, want %q (all: %v)", name, got[name], body, got)
		}
	}

	if err := sandbox.WriteFile(ctx, sb, "/tmp/x/y.sh", []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if res := mustExec(t, sb, sandbox.ExecRequest{Cmd: []string{"/tmp/x/y.sh"}}); string(res.Output) != "hi\n" {
		t.Errorf("written script ran as %q (exit %d)", res.Output, res.ExitCode)
	}
	data, err := sandbox.ReadFile(ctx, sb, "/tmp/x/y.sh")
	if err != nil || string(data) != "#!/bin/sh\necho hi\n" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
	if _, err := sandbox.ReadFile(ctx, sb, "/tmp/nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("ReadFile of a missing file: err = %v, want one naming the file", err)
	}
	// The rootfs itself is read-only.
	if res := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash("touch /etc/x")}); res.ExitCode == 0 {
		t.Errorf("touch /etc/x succeeded on a read-only rootfs")
	}
}

func TestStartPersistentProcess(t *testing.T) {
	_, sb := newSandbox(t, sandbox.Spec{})
	ctx := context.Background()
	p, err := sb.Start(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "--noprofile", "--norc"}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	out := bufio.NewReader(p.Output())
	send := func(cmd string) string {
		t.Helper()
		// Write and read concurrently, as a shell tool does.
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
	if got := send("echo $X; pwd; echo err >&2"); got != "42\n/tmp\nerr\n" {
		t.Errorf("state did not persist: %q", got)
	}
	// Close while a reader is blocked must unblock it.
	go func() { io.WriteString(p.Stdin(), "sleep 1000\n") }()
	readErr := make(chan error, 1)
	go func() {
		_, err := out.ReadString('\n')
		readErr <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Errorf("read after Close returned no error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("reader still blocked after Close")
	}
	// The sleep was killed with the session.
	res := mustExec(t, sb, sandbox.ExecRequest{Cmd: bash("pgrep -x sleep | wc -l")})
	// PID 1's child is `sleep infinity`; the session's `sleep 1000` must be gone.
	if strings.TrimSpace(string(res.Output)) != "1" {
		out := mustExec(t, sb, sandbox.ExecRequest{Cmd: []string{"ps", "-ef"}})
		t.Errorf("sleep processes left after Close: %s\n%s", res.Output, out.Output)
	}
}

func TestCloseIdempotent(t *testing.T) {
	_, sb := newSandbox(t, sandbox.Spec{})
	cli := testenv.Docker(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Close must work with a cancelled context
	if err := sb.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := cli.ContainerInspect(context.Background(), sb.ID(), clientInspectOpts()); err == nil {
		t.Errorf("container %s still exists after Close", sb.ID())
	}
}
