package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sweval/sweval/harness/sandbox"
)

func TestLayerOnly(t *testing.T) {
	for _, c := range []struct {
		name string
		r    recipe
		want bool
	}{
		{"instance", instanceBuild("env", "/x"), true},
		{"with a RUN step", recipe{Steps: []step{{Copy: "a/", Dest: "/a/"}, {Run: []string{"true"}}}}, false},
		{"no steps", recipe{}, false},
	} {
		if got := c.r.layerOnly(); got != c.want {
			t.Errorf("%s: layerOnly %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLayerEntries: an instance recipe's layer holds what the Engine's
// COPY testbed/ /testbed/ and WORKDIR /testbed leave: /testbed root's 0755,
// the tree under it with its modes and links, nothing else, and the same
// bytes each time it is written.
func TestLayerEntries(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "pkg", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "pkg", "mod.py"), []byte("x = 1\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "bin.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Symlink("pkg/mod.py", filepath.Join(dir, "link.py")))
	r := instanceBuild("env", dir)
	entries, err := r.layerEntries()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	must(sandbox.WriteFiles(&buf, entries...))
	written := int64(buf.Len())
	type entry struct {
		name string
		mode int64
		kind byte
		link string
	}
	var got []entry
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(err)
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", h.Name, h.Uid, h.Gid)
		}
		got = append(got, entry{h.Name, h.Mode & 0o7777, h.Typeflag, h.Linkname})
	}
	want := []entry{
		{"testbed/", 0o755, tar.TypeDir, ""},
		{"testbed/bin.sh", 0o755, tar.TypeReg, ""},
		{"testbed/link.py", 0o777, tar.TypeSymlink, "pkg/mod.py"},
		{"testbed/pkg/", 0o755, tar.TypeDir, ""},
		{"testbed/pkg/mod.py", 0o644, tar.TypeReg, ""},
		{"testbed/pkg/sub/", 0o755, tar.TypeDir, ""},
	}
	slices.SortFunc(got, func(a, b entry) int { return bytes.Compare([]byte(a.name), []byte(b.name)) })
	if !slices.Equal(got, want) {
		t.Errorf("layer entries:\n got %v\nwant %v", got, want)
	}
	if r.workdir() != TestbedDir {
		t.Errorf("workdir %q, want %s", r.workdir(), TestbedDir)
	}
	n1, s1, err := layerDigest(entries)
	must(err)
	n2, s2, err := layerDigest(entries)
	must(err)
	if n1 != n2 || s1 != s2 || n1 != written {
		t.Errorf("layer digest not stable: %d %s, %d %s (written %d bytes)", n1, s1, n2, s2, written)
	}
}
