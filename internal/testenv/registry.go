package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Registry is a real image registry (Debian's docker-registry, distribution
// 2.8) on loopback, with its own storage: the Engine treats 127.0.0.0/8 as
// insecure by default, so it pushes and pulls over plain HTTP.
type Registry struct {
	// Addr is host:port, the prefix of image names in it.
	Addr string
	PID  int
}

// StartRegistry starts a registry for the test and stops it by pid at
// cleanup. It skips (fails on CI) when docker-registry is not installed.
func StartRegistry(t testing.TB) Registry {
	t.Helper()
	fail := skipOrFail(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		fail("docker-registry not installed (apt-get install docker-registry): %v", err)
	}
	dir := t.TempDir()
	for attempt := 0; ; attempt++ {
		addr, err := freeLoopbackAddr()
		if err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "config.yml")
		conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
			filepath.Join(dir, "storage"), addr)
		if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(dir, "registry.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve", cfg)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			fail("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait(); logf.Close() }()
		if waitRegistry(addr, exited) {
			r := Registry{Addr: addr, PID: cmd.Process.Pid}
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			return r
		}
		_ = cmd.Process.Kill()
		<-exited
		if attempt == 2 {
			out, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			fail("docker-registry did not come up on %s:\n%s", addr, out)
		}
	}
}

// freeLoopbackAddr is a port the kernel just had free on 127.0.0.1 (a
// registry that loses the race to it is retried by StartRegistry).
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitRegistry polls the registry's /v2/ until it answers (true) or the
// process exits or 10 s pass (false).
func waitRegistry(addr string, exited <-chan error) bool {
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := c.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// skipOrFail is how a test reports a missing prerequisite: a skip on a
// developer's machine, a failure on CI (where .ci/run installs it).
func skipOrFail(t testing.TB) func(format string, args ...any) {
	if os.Getenv("CI") != "" {
		return t.Fatalf
	}
	return t.Skipf
}
