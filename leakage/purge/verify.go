package purge

import (
	"context"
	"fmt"
	"time"

	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/leakage/fingerprint"
)

// tarRoot streams / without the kernel's pseudo-filesystems; tmpfs mounts
// (/tmp) are included, which Docker's archive endpoint would miss. tar's
// complaints (sockets, unreadable files) go to /dev/null so stdout stays a
// clean tar stream.
const tarRoot = `exec tar -C / -c -f - --exclude=./proc --exclude=./sys --exclude=./dev --warning=none . 2>/dev/null`

// Scan streams the sandbox's filesystem through ix.
func Scan(ctx context.Context, sb sandbox.Sandbox, ix *fingerprint.Index) (fingerprint.Report, error) {
	p, err := sb.Start(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "-c", tarRoot}, Timeout: 30 * time.Minute})
	if err != nil {
		return fingerprint.Report{}, fmt.Errorf("leak scan: start tar in %.12s: %w", sb.ID(), err)
	}
	defer p.Close()
	rep, err := ix.Scan(ctx, p.Output())
	if err != nil {
		return rep, fmt.Errorf("leak scan of %.12s: %w", sb.ID(), err)
	}
	return rep, nil
}

// BaseHashes hashes every regular file of a sandbox started from the base
// (or env) image, before the reference is installed, for
// fingerprint.Index.AllowHashes: what every task's image already holds is
// not a leak of one task's reference.
func BaseHashes(ctx context.Context, sb sandbox.Sandbox, maxBytes int64) (map[fingerprint.ContentHash]bool, error) {
	p, err := sb.Start(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "-c", tarRoot}, Timeout: 30 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("hash base image files: start tar in %.12s: %w", sb.ID(), err)
	}
	defer p.Close()
	hs, err := fingerprint.HashTar(ctx, p.Output(), maxBytes)
	if err != nil {
		return hs, fmt.Errorf("hash base image files of %.12s: %w", sb.ID(), err)
	}
	return hs, nil
}

// PrepareAndVerify runs Prepare, then Scan; leaks fail it with a
// *LeakError. The scan report is in the Result either way.
func PrepareAndVerify(ctx context.Context, sb sandbox.Sandbox, cfg Config, ix *fingerprint.Index) (Result, error) {
	res, err := Prepare(ctx, sb, cfg)
	if err != nil {
		return res, err
	}
	rep, err := Scan(ctx, sb, ix)
	res.Scan = &rep
	if err != nil {
		return res, err
	}
	if len(rep.Leaks) > 0 {
		return res, &LeakError{Leaks: rep.Leaks}
	}
	return res, nil
}
