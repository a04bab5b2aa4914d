package images

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestBaseKeyStable(t *testing.T) {
	k := BaseKey("bookworm", "amd64", DefaultPackages)
	// Golden value: if this changes, every user's cached base image is
	// rebuilt. Change it only together with baseRecipe.
	if want := "a694aca052e88d64"; k != want {
		t.Errorf("BaseKey(default) = %s, want %s", k, want)
	}
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"order and duplicates ignored", BaseKey("bookworm", "amd64", []string{"procps", "patch", "git", "flit", "python3-hatchling", "python3-poetry-core", "python3-wheel", "python3-setuptools", "python3-pip", "python3-pytest", "python3", "python-is-python3", "git", " patch "}), true},
		{"extra package", BaseKey("bookworm", "amd64", append([]string{"curl"}, DefaultPackages...)), false},
		{"suite", BaseKey("trixie", "amd64", DefaultPackages), false},
		{"arch", BaseKey("bookworm", "arm64", DefaultPackages), false},
	}
	for _, tc := range tests {
		if (tc.key == k) != tc.same {
			t.Errorf("%s: key %s vs %s, want same=%v", tc.name, tc.key, k, tc.same)
		}
	}
	// Length-prefixing: moving a boundary changes the key.
	if hashParts("ab", "c") == hashParts("a", "bc") {
		t.Error("hashParts ignores part boundaries")
	}
}

func TestEnvAndInstanceKeys(t *testing.T) {
	a := EnvFile{Kind: "deb", Name: "a.deb", SHA256: "11"}
	w := EnvFile{Kind: "wheel", Name: "w-1-py3-none-any.whl", SHA256: "22"}
	k := EnvKey("base1", []EnvFile{a, w})
	if k != EnvKey("base1", []EnvFile{w, a}) {
		t.Error("EnvKey depends on file order")
	}
	changed := w
	changed.SHA256 = "23"
	for name, other := range map[string]string{
		"content": EnvKey("base1", []EnvFile{a, changed}),
		"base":    EnvKey("base2", []EnvFile{a, w}),
		"fewer":   EnvKey("base1", []EnvFile{a}),
	} {
		if other == k {
			t.Errorf("EnvKey ignores %s", name)
		}
	}
	i := InstanceKey("env1", "o/r", "ABCDEF12")
	if i != InstanceKey("env1", "o/r", "abcdef12") {
		t.Error("InstanceKey depends on commit case")
	}
	if i == InstanceKey("env2", "o/r", "abcdef12") || i == InstanceKey("env1", "o/s", "abcdef12") || i == InstanceKey("env1", "o/r", "abcdef13") {
		t.Error("InstanceKey ignores an input")
	}
}

func TestInstanceTag(t *testing.T) {
	valid := regexp.MustCompile(`^sweval/instance:[a-z0-9_][a-z0-9_.-]{0,127}$`)
	for _, repo := range []string{"django/django", "Astropy/astropy", "psf/requests", "a/" + strings.Repeat("x", 300), ".hidden/-dash", ""} {
		tag := instanceTag(repo, "0123456789abcdef")
		if !valid.MatchString(tag) || len(strings.TrimPrefix(tag, "sweval/instance:")) > 128 || !strings.HasSuffix(tag, "0123456789abcdef") {
			t.Errorf("instanceTag(%q) = %q: not a valid tag ending in the key", repo, tag)
		}
	}
	if got := instanceTag("django/django", "k"); got != "sweval/instance:django__django-k" {
		t.Errorf("got %q", got)
	}
}

func TestRepoCachePath(t *testing.T) {
	tests := []struct {
		repo, want, wantErr string
	}{
		{repo: "psf/requests", want: "/cache/psf__requests.git"},
		{repo: "../etc", wantErr: "owner/name"},
		{repo: "a/../b", wantErr: "owner/name"},
		{repo: "a/b/c", wantErr: "owner/name"},
		{repo: "-x/y", want: "/cache/-x__y.git"}, // a path, never an option: it is joined under the cache
	}
	for _, tc := range tests {
		got, err := RepoCachePath("/cache", tc.repo)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err = %v", tc.repo, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.repo, got, err, tc.want)
		}
	}
}

func TestDockerfiles(t *testing.T) {
	deb := EnvFile{Kind: "deb", Name: "x_1_amd64.deb"}
	whl := EnvFile{Kind: "wheel", Name: "x-1-py3-none-any.whl"}
	tests := []struct {
		name  string
		got   string
		want  []string
		never []string
	}{
		{"env debs and wheels", EnvDockerfile("sweval/base:k", []EnvFile{deb, whl}),
			[]string{"FROM sweval/base:k\n", "COPY debs/ /tmp/sweval-env/debs/\n", `RUN ["/bin/sh","-c","dpkg -i /tmp/sweval-env/debs/*.deb`, "COPY wheels/ /tmp/sweval-env/wheels/\n", "--no-index", "--break-system-packages", "--find-links /tmp/sweval-env/wheels"}, nil},
		{"env wheels only", EnvDockerfile("b", []EnvFile{whl}), []string{"FROM b\n", "pip install"}, []string{"dpkg"}},
		{"env debs only", EnvDockerfile("b", []EnvFile{deb}), []string{"dpkg -i"}, []string{"pip"}},
		{"instance", InstanceDockerfile("sweval/env:k"), []string{"FROM sweval/env:k\nCOPY testbed/ /testbed/\nWORKDIR /testbed\n"}, []string{"RUN", "git clone"}},
	}
	for _, tc := range tests {
		for _, w := range tc.want {
			if !strings.Contains(tc.got, w) {
				t.Errorf("%s: missing %q in\n%s", tc.name, w, tc.got)
			}
		}
		for _, n := range tc.never {
			if strings.Contains(tc.got, n) {
				t.Errorf("%s: unexpected %q in\n%s", tc.name, n, tc.got)
			}
		}
	}
}

func TestDockerfileFroms(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"single", "FROM ubuntu:22.04\nRUN true\n", []string{"ubuntu:22.04"}},
		{"platform flag and lower case", "from --platform=linux/amd64 python:3.11 as build\n", []string{"python:3.11"}},
		{"stage reference skipped", "FROM a:1 AS builder\nRUN x\nFROM builder\nFROM b:2 AS final\nFROM Builder AS again\n", []string{"a:1", "b:2"}},
		{"continuation", "FROM \\\n  c:3\n", []string{"c:3"}},
		{"none", "RUN echo FROM x\n", nil},
		{"arg", "ARG V=1\nFROM img:$V\n", []string{"img:$V"}},
	}
	for _, tc := range tests {
		if got := DockerfileFroms(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWriteContext(t *testing.T) {
	dir := t.TempDir()
	tb := filepath.Join(dir, "tb")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(tb, ".git"), 0o755))
	must(os.WriteFile(filepath.Join(tb, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.WriteFile(filepath.Join(tb, ".git", "HEAD"), []byte("ref\n"), 0o644))
	must(os.Symlink("run.sh", filepath.Join(tb, "link")))
	must(os.WriteFile(filepath.Join(dir, "w.whl"), []byte("zip"), 0o600))
	var buf bytes.Buffer
	must(writeContext(&buf, "FROM x\n", []ctxFile{{Name: "wheels/w.whl", Path: filepath.Join(dir, "w.whl")}}, []ctxDir{{Name: "testbed", Path: tb}}))
	type ent struct {
		typ  byte
		mode int64
		body string
		link string
	}
	got := map[string]ent{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		b, _ := io.ReadAll(tr)
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want root", h.Name, h.Uid, h.Gid)
		}
		got[h.Name] = ent{h.Typeflag, h.Mode & 0o777, string(b), h.Linkname}
	}
	want := map[string]ent{
		"Dockerfile":        {tar.TypeReg, 0o644, "FROM x\n", ""},
		"wheels/w.whl":      {tar.TypeReg, 0o600, "zip", ""},
		"testbed/":          {tar.TypeDir, 0o755, "", ""},
		"testbed/.git/":     {tar.TypeDir, 0o755, "", ""},
		"testbed/.git/HEAD": {tar.TypeReg, 0o644, "ref\n", ""},
		"testbed/run.sh":    {tar.TypeReg, 0o755, "#!/bin/sh\n", ""},
		"testbed/link":      {tar.TypeSymlink, 0o777, "", "run.sh"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("context entries:\n got %+v\nwant %+v", got, want)
	}
}

func TestEnvFiles(t *testing.T) {
	dir := t.TempDir()
	debs, wheels := filepath.Join(dir, "debs"), filepath.Join(dir, "wheels")
	os.MkdirAll(debs, 0o755)
	os.MkdirAll(wheels, 0o755)
	os.WriteFile(filepath.Join(debs, "b_1_all.deb"), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(debs, "a_1_all.deb"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(wheels, "w-1-py3-none-any.whl"), []byte("w"), 0o644)
	files, err := EnvFiles(EnvSpec{DebsDir: debs, WheelsDir: wheels})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Kind+":"+f.Name)
	}
	if want := []string{"deb:a_1_all.deb", "deb:b_1_all.deb", "wheel:w-1-py3-none-any.whl"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("files = %v, want %v", names, want)
	}
	if files[0].SHA256 != "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" { // sha256("a")
		t.Errorf("sha256 = %s", files[0].SHA256)
	}
	if f, err := EnvFiles(EnvSpec{}); err != nil || len(f) != 0 {
		t.Errorf("empty spec: %v, %v", f, err)
	}
	tests := []struct{ name, file, want string }{
		{"foreign file", "notes.txt", "not a .deb"},
		{"odd name", "a b;rm.deb", "characters outside"},
	}
	for _, tc := range tests {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, tc.file), []byte("x"), 0o644)
		if _, err := EnvFiles(EnvSpec{DebsDir: d}); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--env-debs") {
			t.Errorf("%s: err = %v, want %q naming the flag", tc.name, err, tc.want)
		}
	}
	if _, err := EnvFiles(EnvSpec{WheelsDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no .whl files") {
		t.Errorf("empty dir: err = %v", err)
	}
}

func TestLabelInstruction(t *testing.T) {
	tests := []struct {
		in   map[string]string
		want string
	}{
		{map[string]string{"sweval.managed": "1", "sweval.key": "k"}, `LABEL "sweval.key"="k" "sweval.managed"="1"`},
		{map[string]string{"a": "x\"y\\z$HOME\nRUN evil"}, `LABEL "a"="x\"y\\z\$HOME RUN evil"`},
	}
	for _, tc := range tests {
		if got := labelInstruction(tc.in); got != tc.want {
			t.Errorf("labelInstruction(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
