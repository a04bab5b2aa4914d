package sandbox

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteFiles(t *testing.T) {
	host := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(host, []byte("from disk"), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(1700000000, 0).UTC()
	tests := []struct {
		name     string
		file     File
		wantName string
		wantType byte
		wantMode int64
		wantBody string
		wantLink string
		wantUID  int
		wantTime time.Time
	}{
		{"regular default mode", File{Name: "a.txt", Data: []byte("hi")}, "a.txt", tar.TypeReg, 0o644, "hi", "", 0, epoch},
		{"regular explicit mode and time", File{Name: "bin/run", Data: []byte("x"), Mode: 0o755, ModTime: mt}, "bin/run", tar.TypeReg, 0o755, "x", "", 0, mt},
		{"setuid kept", File{Name: "su", Mode: 0o755 | fs.ModeSetuid}, "su", tar.TypeReg, 0o4755, "", "", 0, epoch},
		{"directory gets slash", File{Name: "d", Mode: fs.ModeDir}, "d/", tar.TypeDir, 0o755, "", "", 0, epoch},
		{"symlink", File{Name: "l", Mode: fs.ModeSymlink, Link: "../t"}, "l", tar.TypeSymlink, 0o777, "", "../t", 0, epoch},
		{"host path streamed", File{Name: "w.bin", Path: host, Mode: 0o600}, "w.bin", tar.TypeReg, 0o600, "from disk", "", 0, epoch},
		{"owner", File{Name: "o", Data: []byte("o"), UID: 1000, GID: 1000}, "o", tar.TypeReg, 0o644, "o", "", 1000, epoch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteFiles(&buf, tt.file); err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(&buf)
			hdr, err := tr.Next()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(tr)
			if hdr.Name != tt.wantName || hdr.Typeflag != tt.wantType || hdr.Mode != tt.wantMode ||
				string(body) != tt.wantBody || hdr.Linkname != tt.wantLink || hdr.Uid != tt.wantUID || hdr.Gid != tt.wantUID ||
				!hdr.ModTime.Equal(tt.wantTime) {
				t.Errorf("got %q type %c mode %o body %q link %q uid %d gid %d mtime %v",
					hdr.Name, hdr.Typeflag, hdr.Mode, body, hdr.Linkname, hdr.Uid, hdr.Gid, hdr.ModTime)
			}
			if _, err := tr.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("want one entry, next: %v", err)
			}
		})
	}
}

func TestWriteFilesDeterministic(t *testing.T) {
	m := map[string][]byte{"b": []byte("2"), "a": []byte("1"), "c/d": []byte("3")}
	var one, two bytes.Buffer
	if err := WriteFiles(&one, FilesOf(m, 0o644, time.Time{})...); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(&two, FilesOf(m, 0o644, time.Time{})...); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Fatal("same files gave different archives")
	}
	tr := tar.NewReader(&one)
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	if got := len(names); got != 3 || names[0] != "a" || names[1] != "b" || names[2] != "c/d" {
		t.Fatalf("names %v, want sorted a b c/d", names)
	}
}

func TestWriteFilesMissingHostFile(t *testing.T) {
	err := WriteFiles(io.Discard, File{Name: "x", Path: filepath.Join(t.TempDir(), "gone")})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}
