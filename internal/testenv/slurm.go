package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Slurm is a private single-node Slurm started for a test by
// scripts/slurm-up.sh: its own munge key, slurm.conf, state and logs under
// Dir, its daemons in a network namespace of their own.
type Slurm struct {
	Dir string
	// Env holds SLURM_CONF and a PATH whose sbatch, squeue, scontrol and
	// scancel reach this Slurm; append it to a command's environment.
	Env []string
}

// StartSlurm starts Slurm for the test and stops it by pid at cleanup. It
// skips (fails on CI) when slurm-wlm or munge is not installed.
func StartSlurm(t testing.TB) Slurm {
	t.Helper()
	fail := skipOrFail(t)
	for _, bin := range []string{"slurmctld", "slurmd", "munged", "sbatch", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			fail("%s not installed (apt-get install slurm-wlm munge): %v", bin, err)
		}
	}
	script := projectScript("slurm-up.sh")
	dir, err := os.MkdirTemp("", "sweval-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", script, dir).CombinedOutput()
	t.Cleanup(func() {
		if out, err := exec.Command("bash", script, "--down", dir).CombinedOutput(); err != nil {
			t.Errorf("stop slurm in %s: %v\n%s", dir, err, out)
		}
		os.RemoveAll(dir)
	})
	if err != nil {
		fail("start slurm with %s: %v\n%s", script, err, out)
	}
	s := Slurm{Dir: dir}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "SLURM_CONF=") || strings.HasPrefix(line, "PATH=") {
			s.Env = append(s.Env, line)
		}
	}
	if len(s.Env) != 2 {
		t.Fatalf("slurm-up.sh printed no environment:\n%s", out)
	}
	return s
}
