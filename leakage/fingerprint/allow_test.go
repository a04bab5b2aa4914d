package fingerprint

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	refpkg "github.com/sweval/sweval/leakage/fixture"
)

// TestAddDirOnlySourcesAndTests: a reference's docs theme (a pygments
// style module), static assets and build output are not fingerprinted;
// its package and tests are.
func TestAddDirOnlySourcesAndTests(t *testing.T) {
	root := t.TempDir()
	src := refpkg.Source["mini_lib/intervals.py"]
	for _, rel := range []string{
		"mini_lib/intervals.py", "tests/test_x.py",
		"docs/_themes/flask_theme_support.py", "docs/conf.py", "doc/_static/jquery.js",
		"build/lib/mini_lib/intervals.py", "mini_lib.egg-info/x.py", ".venv/lib/y.py",
	} {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ix := NewIndex(Options{})
	if _, err := ix.AddDir(root); err != nil {
		t.Fatal(err)
	}
	got := ix.Refs()
	slices.Sort(got)
	if want := []string{"mini_lib/intervals.py", "tests/test_x.py"}; !slices.Equal(got, want) {
		t.Fatalf("indexed %v, want %v", got, want)
	}
}

// TestAllowHashes: a file byte-identical to a base-image file is not a
// leak wherever it lies; the same code changed by one byte still is.
func TestAllowHashes(t *testing.T) {
	src := []byte(refpkg.Source["mini_lib/intervals.py"])
	edited := append([]byte("# copied\n"), src...)
	scan := func(ix *Index) Report {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for name, b := range map[string][]byte{"usr/lib/python3/dist-packages/pip/_vendor/style.py": src, "tmp/copy.py": edited} {
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
			tw.Write(b)
		}
		tw.Close()
		rep, err := ix.Scan(context.Background(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	ix := NewIndex(Options{})
	ix.Add("mini_lib/intervals.py", src)
	if rep := scan(ix); len(rep.Leaks) != 2 {
		t.Fatalf("without allow-list: %v, want 2 leaks", rep.Leaks)
	}

	// The base image's files, hashed from its tar stream.
	var base bytes.Buffer
	tw := tar.NewWriter(&base)
	tw.WriteHeader(&tar.Header{Name: "./usr/lib/python3/dist-packages/pip/_vendor/style.py", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(src))})
	tw.Write(src)
	tw.WriteHeader(&tar.Header{Name: "./etc", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.Close()
	hs, err := HashTar(context.Background(), &base, 0)
	if err != nil || len(hs) != 1 || !hs[HashOf(src)] {
		t.Fatalf("HashTar = %d hashes, %v", len(hs), err)
	}
	ix.AllowHashes(hs)
	rep := scan(ix)
	if len(rep.Leaks) != 1 || rep.Leaks[0].Path != "/tmp/copy.py" || rep.Allowed != 1 {
		t.Fatalf("with allow-list: leaks %v allowed %d, want only tmp/copy.py", rep.Leaks, rep.Allowed)
	}
}
