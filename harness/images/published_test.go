package images

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/distribution/reference"

	"github.com/sweval/sweval/benchmarks"
)

func TestSWEBenchImageName(t *testing.T) {
	// Real instance ids (SWE-bench Lite test/dev) and the names SWE-bench
	// publishes them under.
	cases := []struct {
		ns, arch, tag, id, want string
	}{
		{"swebench", "x86_64", "latest", "django__django-15202", "swebench/sweb.eval.x86_64.django_1776_django-15202:latest"},
		{"swebench", "x86_64", "latest", "sphinx-doc__sphinx-8721", "swebench/sweb.eval.x86_64.sphinx-doc_1776_sphinx-8721:latest"},
		{"swebench", "arm64", "latest", "scikit-learn__scikit-learn-13142", "swebench/sweb.eval.arm64.scikit-learn_1776_scikit-learn-13142:latest"},
		{"swebench", "x86_64", "v1", "sqlfluff__sqlfluff-1625", "swebench/sweb.eval.x86_64.sqlfluff_1776_sqlfluff-1625:v1"},
		{"127.0.0.1:5000/swebench", "x86_64", "latest", "pylint-dev__pylint-7080", "127.0.0.1:5000/swebench/sweb.eval.x86_64.pylint-dev_1776_pylint-7080:latest"},
		// Upper case (SWE-Gym's Project-MONAI rows) is lowered: Docker
		// repository names are lower case.
		{"swerebench", "x86_64", "latest", "Project-MONAI__MONAI-2446", "swerebench/sweb.eval.x86_64.project-monai_1776_monai-2446:latest"},
	}
	for _, c := range cases {
		if got := SWEBenchImageName(c.ns, c.arch, c.tag, c.id); got != c.want {
			t.Errorf("SWEBenchImageName(%q, %q, %q, %q) = %q, want %q", c.ns, c.arch, c.tag, c.id, got, c.want)
		}
	}
}

// Every real SWE-bench Lite id yields a valid, distinct image reference.
func TestSWEBenchImageNameAllLiteIDs(t *testing.T) {
	f, err := os.Open("testdata/swe-bench-lite-ids.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id := sc.Text()
		if id == "" || strings.HasPrefix(id, "#") {
			continue
		}
		name := SWEBenchImageName("swebench", "x86_64", "latest", id)
		if strings.Contains(name, "__") {
			t.Errorf("%s: %s still contains __", id, name)
		}
		if _, err := reference.ParseNormalizedNamed(name); err != nil {
			t.Errorf("%s: %s is not a valid reference: %v", id, name, err)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("%s and %s share the image %s", prev, id, name)
		}
		seen[name] = id
	}
	if len(seen) != 323 {
		t.Fatalf("read %d ids, want the 323 Lite test+dev records", len(seen))
	}
}

func TestPublishedImageFor(t *testing.T) {
	swe := benchmarks.Task{ID: "django__django-15202", Kind: benchmarks.KindSWEBench}
	rebench := benchmarks.Task{ID: "owner__repo-12", Kind: benchmarks.KindSWEBench, Install: &benchmarks.InstallConfig{TestCmd: "pytest"}}
	openswe := benchmarks.Task{ID: "a__b-1", Kind: benchmarks.KindOpenSWE, ImageName: "openswe/a_b:1"}
	denovo := benchmarks.Task{ID: "d2r-1", Kind: benchmarks.KindDoc2Repo, Doc2Repo: &benchmarks.Doc2Repo{Image: "denovo/env:1"}}
	d2rOwn := benchmarks.Task{ID: "d2r-2", Kind: benchmarks.KindDoc2Repo, Doc2Repo: &benchmarks.Doc2Repo{}}
	cases := []struct {
		ns   string
		task benchmarks.Task
		want string
	}{
		{"none", swe, ""},
		{"none", openswe, "openswe/a_b:1"}, // a row's own image is used when present, whatever the namespace
		{"swebench", swe, "swebench/sweb.eval.x86_64.django_1776_django-15202:latest"},
		{"swebench", openswe, "openswe/a_b:1"},
		{"swebench", denovo, "denovo/env:1"},
		{"swebench", d2rOwn, ""},
		{"swebench", rebench, "swebench/sweb.eval.x86_64.owner_1776_repo-12:latest"},
		{"auto", rebench, "swerebench/sweb.eval.x86_64.owner_1776_repo-12:latest"},
		{"auto", swe, "swebench/sweb.eval.x86_64.django_1776_django-15202:latest"},
		{"localhost:5000/mirror", swe, "localhost:5000/mirror/sweb.eval.x86_64.django_1776_django-15202:latest"},
	}
	for _, c := range cases {
		p, err := Published{Namespace: c.ns, Arch: "x86_64"}.Normalize()
		if err != nil {
			t.Fatalf("%s: %v", c.ns, err)
		}
		if got := p.ImageFor(c.task); got != c.want {
			t.Errorf("--namespace %s, %s: ImageFor = %q, want %q", c.ns, c.task.ID, got, c.want)
		}
	}
}

func TestPublishedNormalize(t *testing.T) {
	p, err := Published{}.Normalize()
	if err != nil || p.Namespace != NamespaceNone || p.Tag != "latest" || p.Arch != DefaultArch() || p.Enabled() || !p.MayBuild() {
		t.Fatalf("zero value normalized to %+v, %v; want none/latest/host arch, disabled", p, err)
	}
	for _, bad := range []struct {
		p    Published
		flag string
	}{
		{Published{Namespace: "swebench", Arch: "amd64"}, "--arch"},
		{Published{Namespace: "swebench", Tag: "bad tag"}, "--instance-image-tag"},
		{Published{Namespace: "Upper/Case"}, "--namespace"},
		{Published{Namespace: "a//b"}, "--namespace"},
	} {
		if _, err := bad.p.Normalize(); err == nil || !strings.Contains(err.Error(), bad.flag) {
			t.Errorf("%+v: err %v, want one naming %s", bad.p, err, bad.flag)
		}
	}
	for _, ns := range []string{"swebench", "auto", "127.0.0.1:5000/swebench"} {
		p, err := Published{Namespace: ns}.Normalize()
		if err != nil || !p.Enabled() || p.MayBuild() != (ns == "auto") {
			t.Errorf("%s: %+v, %v", ns, p, err)
		}
	}
}

func TestMissingImageError(t *testing.T) {
	cause := errors.New("connection refused")
	err := error(&MissingImageError{Image: "swebench/sweb.eval.x86_64.x_1776_y-1:latest", Task: "x__y-1", Cause: cause})
	if !errors.Is(err, ErrImageMissing) || !errors.Is(err, cause) {
		t.Fatalf("%v does not wrap ErrImageMissing and its cause", err)
	}
	for _, want := range []string{"swebench/sweb.eval.x86_64.x_1776_y-1:latest", "x__y-1", "connection refused", "sweval images pull", "sweval images load", "--namespace none"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestRetriable(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want bool
	}{
		{"toomanyrequests: You have reached your pull rate limit", true},
		{"received unexpected HTTP status: 503 Service Unavailable", true},
		{"net/http: TLS handshake timeout", true},
		{"read tcp 127.0.0.1:5000: connection reset by peer", true},
		{"manifest unknown: manifest unknown", false},
		{"pull access denied for x, repository does not exist", false},
		{"unauthorized: authentication required", false},
	} {
		if got := retriable(errors.New(c.msg)); got != c.want {
			t.Errorf("retriable(%q) = %v, want %v", c.msg, got, c.want)
		}
	}
}
