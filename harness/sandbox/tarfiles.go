package sandbox

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// File is one entry of a tar stream written by WriteFiles: the one place
// sweval writes tar, so every archive copied into a container or sent as a
// build context gets the same headers.
type File struct {
	// Name is the slash-separated path inside the archive; a directory's
	// trailing "/" is added by WriteFiles.
	Name string
	// Data is a regular file's content (ignored when Path is set).
	Data []byte
	// Path, when set, is a host file whose content is streamed instead of
	// Data, so a large build context is never held in memory.
	Path string
	// Mode holds the permission bits (0 means 0644, or 0755 for a
	// directory) and the type: fs.ModeDir for a directory, fs.ModeSymlink
	// for a link to Link; anything else is a regular file.
	Mode fs.FileMode
	// Link is a symlink's target.
	Link string
	// ModTime is the entry's mtime; the zero time writes the Unix epoch, so
	// the same files always give the same bytes (image build keys, caches).
	ModTime time.Time
	// UID and GID own the entry (0 = root); tar -x in a sandbox ignores
	// them (--no-same-owner), a build context keeps them.
	UID, GID int
}

// epoch is the mtime of entries without one.
var epoch = time.Unix(0, 0).UTC()

// WriteFiles writes files to w as one tar stream, in the order given, and
// closes the archive (not w). Entries use the PAX format so long names and
// large sizes need no special case.
func WriteFiles(w io.Writer, files ...File) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := writeEntry(tw, f); err != nil {
			return fmt.Errorf("sandbox: tar %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("sandbox: tar: %w", err)
	}
	return nil
}

// FilesOf turns a map of relative path → content into regular files with
// permission mode and mtime, sorted by name so the archive is deterministic.
func FilesOf(m map[string][]byte, mode fs.FileMode, mtime time.Time) []File {
	out := make([]File, 0, len(m))
	for _, n := range slices.Sorted(maps.Keys(m)) {
		out = append(out, File{Name: n, Data: m[n], Mode: mode.Perm(), ModTime: mtime})
	}
	return out
}

// specialBits maps setuid, setgid and sticky to their tar mode bits.
func specialBits(m fs.FileMode) int64 {
	var b int64
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

func writeEntry(tw *tar.Writer, f File) error {
	hdr := &tar.Header{
		Name:    f.Name,
		Mode:    int64(f.Mode.Perm()) | specialBits(f.Mode),
		ModTime: f.ModTime,
		Uid:     f.UID,
		Gid:     f.GID,
		Format:  tar.FormatPAX,
	}
	if hdr.ModTime.IsZero() {
		hdr.ModTime = epoch
	}
	if f.UID == 0 && f.GID == 0 {
		hdr.Uname, hdr.Gname = "root", "root"
	}
	var size int64
	switch {
	case f.Mode&fs.ModeDir != 0:
		hdr.Typeflag = tar.TypeDir
		if !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
		if f.Mode.Perm() == 0 {
			hdr.Mode |= 0o755
		}
		return tw.WriteHeader(hdr)
	case f.Mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
		if f.Mode.Perm() == 0 {
			hdr.Mode |= 0o777
		}
		return tw.WriteHeader(hdr)
	case f.Path != "":
		fi, err := os.Stat(f.Path)
		if err != nil {
			return err
		}
		size = fi.Size()
	default:
		size = int64(len(f.Data))
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, size
	if f.Mode.Perm() == 0 {
		hdr.Mode |= 0o644
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if f.Path == "" {
		_, err := tw.Write(f.Data)
		return err
	}
	r, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := io.Copy(tw, r)
	if err == nil && n != size {
		err = fmt.Errorf("%s changed size while being read (re-run when nothing writes to it)", f.Path)
	}
	return err
}

// ReadFiles reads a tar stream (a copy-out) into Files: regular files with
// their content in Data, directories and symlinks, their names cleaned and
// relative. Entries that would land outside the archive's root (absolute
// names, "..") and other types (hard links, devices, FIFOs) are dropped:
// WriteFiles can write back everything ReadFiles returns.
func ReadFiles(r io.Reader) ([]File, error) {
	tr := tar.NewReader(r)
	var out []File
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox: read tar: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." || name == ".." || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			continue
		}
		f := File{Name: name, Mode: hdr.FileInfo().Mode(), ModTime: hdr.ModTime, UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeDir:
		case tar.TypeSymlink:
			f.Link = hdr.Linkname
		case tar.TypeReg:
			if f.Data, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("sandbox: read tar %s: %w", name, err)
			}
		default:
			continue
		}
		out = append(out, f)
	}
}
