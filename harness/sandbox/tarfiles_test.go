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

func TestReadFiles(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []struct {
		hdr  tar.Header
		data string
	}{
		{tar.Header{Name: "./pkg/", Typeflag: tar.TypeDir, Mode: 0o750}, ""},
		{tar.Header{Name: "./pkg/a.py", Typeflag: tar.TypeReg, Mode: 0o4755}, "print(1)\n"},
		{tar.Header{Name: "pkg/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd", Mode: 0o777}, ""},
		{tar.Header{Name: "../escape.py", Typeflag: tar.TypeReg, Mode: 0o644}, "x"},
		{tar.Header{Name: "/abs.py", Typeflag: tar.TypeReg, Mode: 0o644}, "x"},
		{tar.Header{Name: "pkg/../../up.py", Typeflag: tar.TypeReg, Mode: 0o644}, "x"},
		{tar.Header{Name: "pkg/hard", Typeflag: tar.TypeLink, Linkname: "pkg/a.py"}, ""},
		{tar.Header{Name: "dev", Typeflag: tar.TypeChar}, ""},
	} {
		h.hdr.Size = int64(len(h.data))
		if err := tw.WriteHeader(&h.hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(h.data))
	}
	tw.Close()

	got, err := ReadFiles(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Name: "pkg", Mode: fs.ModeDir | 0o750},
		{Name: "pkg/a.py", Mode: fs.ModeSetuid | 0o755, Data: []byte("print(1)\n")},
		{Name: "pkg/link", Mode: fs.ModeSymlink | 0o777, Link: "/etc/passwd"},
	}
	if len(got) != len(want) {
		t.Fatalf("ReadFiles kept %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Mode != w.Mode || g.Link != w.Link || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("entry %d: %+v, want %+v", i, g, w)
		}
	}
	// What ReadFiles returns, WriteFiles writes back unchanged.
	var again bytes.Buffer
	if err := WriteFiles(&again, got...); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFiles(&again)
	if err != nil || len(back) != len(got) {
		t.Fatalf("round trip: %d entries, %v", len(back), err)
	}
	for i := range got {
		if back[i].Name != got[i].Name || back[i].Mode != got[i].Mode || !bytes.Equal(back[i].Data, got[i].Data) {
			t.Errorf("round trip entry %d: %+v, want %+v", i, back[i], got[i])
		}
	}
}
