package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// CopyIn extracts tarStream into dir (created if missing) by piping it into
// `tar -x` through an exec's stdin. The Engine's archive endpoint is not
// used: it refuses a read-only rootfs even when dir is a tmpfs, and it does
// not see tmpfs contents at all. Ownership in the archive is not restored
// (the container has no CAP_CHOWN); files belong to the exec's user.
func (s *dockerSandbox) CopyIn(ctx context.Context, dir string, tarStream io.Reader) error {
	cmd, err := copyInCommand(dir)
	if err != nil {
		return err
	}
	_, err = s.run(ctx, cmd, tarStream, s.d.opts.ExecTimeout)
	if err != nil {
		return fmt.Errorf("sandbox: copy into %s:%s: %w", shortID(s.id), dir, err)
	}
	return nil
}

// CopyOut streams a tar of p (its base name as the top entry, as
// `docker cp` does) from `tar -c` run in the container. The stream's Read
// returns an error naming the tar failure if tar exits non-zero; Close it.
func (s *dockerSandbox) CopyOut(ctx context.Context, p string) (io.ReadCloser, error) {
	dir, base, err := copyOutSource(p)
	if err != nil {
		return nil, err
	}
	cli := s.d.cli
	cr, err := cli.ExecCreate(ctx, s.id, client.ExecCreateOptions{
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          timeoutArgv(s.d.opts.ExecTimeout, []string{"tar", "-c", "-f", "-", "-C", dir, "--", base}),
	})
	if err != nil {
		var res ExecResult
		return nil, s.execError(ctx, "copy out: create exec", err, &res)
	}
	att, err := cli.ExecAttach(ctx, cr.ID, client.ExecAttachOptions{})
	if err != nil {
		var res ExecResult
		return nil, s.execError(ctx, "copy out: attach exec", err, &res)
	}
	pr, pw := io.Pipe()
	go func() {
		errb := NewCapBuffer(16 << 10)
		_, err := stdcopy.StdCopy(pw, errb, att.Reader)
		att.Close()
		if err != nil {
			pw.CloseWithError(fmt.Errorf("sandbox: copy out %s: %w", p, err))
			return
		}
		ins, err := s.waitExec(ctx, cr.ID)
		switch {
		case err != nil:
			pw.CloseWithError(fmt.Errorf("sandbox: copy out %s: inspect exec: %w", p, err))
		case ins.ExitCode > 1: // GNU tar: 1 = a file changed while read
			pw.CloseWithError(fmt.Errorf("sandbox: copy out %s:%s: tar exited %d: %s", shortID(s.id), p, ins.ExitCode, bytes.TrimSpace(errb.Bytes())))
		default:
			pw.Close()
		}
	}()
	return &copyOutStream{pr: pr, att: att}, nil
}

type copyOutStream struct {
	pr  *io.PipeReader
	att client.ExecAttachResult
}

func (c *copyOutStream) Read(b []byte) (int, error) { return c.pr.Read(b) }

// Close stops the transfer; tar in the container gets EPIPE and exits.
func (c *copyOutStream) Close() error {
	c.att.Close()
	return c.pr.Close()
}

// WriteFile writes data to the file p inside sb with permission mode,
// creating its directory, through CopyIn (so it works on a read-only rootfs
// into a tmpfs too).
func WriteFile(ctx context.Context, sb Sandbox, p string, data []byte, mode fs.FileMode) error {
	var buf bytes.Buffer
	if err := WriteFiles(&buf, File{Name: path.Base(p), Data: data, Mode: mode.Perm(), ModTime: time.Now()}); err != nil {
		return fmt.Errorf("sandbox: write file %s: %w", p, err)
	}
	return sb.CopyIn(ctx, path.Dir(p), &buf)
}

// ReadFile returns the contents of the regular file p inside sb, read
// through CopyOut.
func ReadFile(ctx context.Context, sb Sandbox, p string) ([]byte, error) {
	rc, err := sb.CopyOut(ctx, p)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) {
		// An empty archive: tar's own failure (e.g. no such file) is
		// reported when the stream ends.
		if _, derr := io.Copy(io.Discard, rc); derr != nil {
			err = derr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: read file %s: %w", p, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("sandbox: read file %s: not a regular file (tar type %q)", p, hdr.Typeflag)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: read file %s: %w", p, err)
	}
	// Drain so tar's exit status is seen (a failure surfaces as a read error).
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, fmt.Errorf("sandbox: read file %s: %w", p, err)
	}
	return data, nil
}

// copyInCommand is the in-container command both runtimes pipe a tar into:
// the archive endpoints refuse read-only roots and cannot see tmpfs.
func copyInCommand(dir string) ([]string, error) {
	if dir == "" {
		return nil, errors.New("sandbox: copy in: empty destination directory")
	}
	return []string{"sh", "-c", `mkdir -p -- "$1" && exec tar -x --no-same-owner -f - -C "$1"`, "sh", dir}, nil
}

// copyOutSource splits p into the directory tar -c runs in and the entry it
// archives, so the tar's top entry is p's base name, as `docker cp` does.
func copyOutSource(p string) (dir, base string, err error) {
	if p == "" {
		return "", "", errors.New("sandbox: copy out: empty path")
	}
	clean := path.Clean(p)
	dir, base = path.Split(clean)
	if base == "" || clean == "/" {
		dir, base = "/", "."
	}
	if dir == "" {
		dir = "."
	}
	return dir, base, nil
}
