package doc2repo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"path"
	"strings"

	"github.com/sweval/sweval/harness/grade"
	"github.com/sweval/sweval/harness/testrun"
)

// runSeparated hands the workspace the grader assembled to harness/testrun:
// pip install as an unprivileged uid in one container, hidden tests with
// planted canaries in a fresh one, outcomes cross-checked. Any tampering
// scores 0 with grade:tamper-<kind> flags.
func (g *grader) runSeparated(ctx context.Context, hidden map[string][]byte, rep *Report) (map[string]grade.TestStatus, error) {
	rc, err := g.sb.CopyOut(ctx, g.workdir)
	if err != nil {
		return nil, fmt.Errorf("copy the workspace out for the test phases: %w", err)
	}
	ws, err := testrun.WorkspaceFromCopyOut(rc, path.Base(g.workdir))
	rc.Close()
	if err != nil {
		return nil, err
	}
	// The grading container has done its part (workspace assembly); no
	// process of it survives into the phases.
	g.sb.Close(context.WithoutCancel(ctx))
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	img := g.opts.Image
	if img == "" {
		img = g.d.Image
	}
	out, err := testrun.Run(ctx, g.rt, testrun.Plan{
		Image: img, RunID: g.opts.RunID, Task: g.task.ID, CpusetCpus: g.opts.CpusetCpus,
		Workdir: "/tmp/" + path.Base(g.workdir), Workspace: ws, Install: true, Hidden: hidden,
		Seed: binary.LittleEndian.Uint64(seed[:]), InstallTimeout: g.opts.InstallTimeout, TestTimeout: g.opts.TestTimeout,
	})
	g.log.WriteString(out.Log)
	if err != nil {
		return nil, err
	}
	rep.Removed = append(rep.Removed, out.Dropped...)
	if out.Install != "" {
		rep.Install = out.Install
		return nil, &scoreZero{reason: "the agent's package does not install: " + out.Install}
	}
	if out.Tampered() {
		rep.Tamper = append(rep.Tamper, out.Kinds()...)
		return nil, &scoreZero{reason: "the test run was tampered with:\n" + strings.Join(out.Evidence, "\n")}
	}
	return out.Tests, nil
}
