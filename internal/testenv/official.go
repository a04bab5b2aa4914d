package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sort"
	"testing"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// condaActivate, condaExe and envPytest stand in for the conda of
// SWE-bench's images: /opt/miniconda3/bin/activate defines the conda shell
// function, `conda activate testbed` puts the env's bin first on PATH, and
// pytest exists only there (its shebang names the env's interpreter), so a
// grading that does not activate the env cannot find it.
const (
	condaActivate = `export CONDA_EXE=/opt/miniconda3/bin/conda CONDA_SHLVL=0
conda() {
  if [ "$1" = activate ]; then
    [ -d "/opt/miniconda3/envs/$2" ] || { echo "EnvironmentNameNotFound: Could not find conda environment: $2" >&2; return 1; }
    export CONDA_DEFAULT_ENV="$2" CONDA_PREFIX="/opt/miniconda3/envs/$2" CONDA_SHLVL=1
    export PATH="/opt/miniconda3/envs/$2/bin:$PATH"
    return 0
  fi
  "$CONDA_EXE" "$@"
}
`
	condaExe  = "#!/bin/sh\necho 'conda (fixture): only conda activate, a shell function of bin/activate, is here' >&2\nexit 1\n"
	envPytest = "#!/opt/miniconda3/envs/testbed/bin/python\nimport sys\nfrom pytest import console_main\nsys.exit(console_main())\n"
)

// officialStyleDockerfile turns an instance image of sweval's (repo at
// /testbed) into one laid out as SWE-bench's are: conda under
// /opt/miniconda3 (on PATH, as their base image's ENV has it), the env
// testbed holding the interpreter and pytest, no pytest on the system
// PATH; labelled with the instance, so each is an image of its own.
func officialStyleDockerfile(from, instance string) string {
	return "FROM " + from + "\nLABEL sweval.managed=\"\" sweval.layer=\"\" sweval.key=\"\" org.sweval.fixture=official-style org.sweval.fixture.instance=" + instance + "\n" +
		"COPY activate conda /opt/miniconda3/bin/\nCOPY pytest /opt/miniconda3/envs/testbed/bin/\n" +
		"RUN chmod 0755 /opt/miniconda3/bin/conda /opt/miniconda3/envs/testbed/bin/pytest && ln -s /usr/bin/python3 /opt/miniconda3/envs/testbed/bin/python && " +
		"rm -f /usr/bin/pytest /usr/bin/pytest-3 /usr/bin/py.test /usr/bin/py.test-3\n" +
		"ENV PATH=/opt/miniconda3/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
}

// BuildOfficialStyle builds name from the instance image from as a
// publisher of SWE-bench-style images would lay it out (see
// officialStyleDockerfile): someone else's image, not labelled as sweval's.
// The caller removes it.
func BuildOfficialStyle(t testing.TB, cli *client.Client, from, name, instance string) {
	t.Helper()
	BuildImage(t, cli, name, map[string]string{
		"Dockerfile": officialStyleDockerfile(from, instance), "activate": condaActivate, "conda": condaExe, "pytest": envPytest,
	})
}

// BuildImage builds name from a context of files (path: content; the
// Dockerfile among them) with the classic builder and no network. The
// caller removes it.
func BuildImage(t testing.TB, cli *client.Client, name string, files map[string]string) {
	t.Helper()
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n]))})
		_, _ = tw.Write([]byte(files[n]))
	}
	_ = tw.Close()
	res, err := cli.ImageBuild(context.Background(), &ctxTar, client.ImageBuildOptions{Tags: []string{name}, Remove: true, NetworkMode: "none", Version: build.BuilderV1})
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	defer res.Body.Close()
	// The build reports a failed step in its stream, not as an error.
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err != nil {
			if err != io.EOF {
				t.Fatalf("build %s: read the build's output: %v", name, err)
			}
			return
		}
		if msg.Error != "" {
			t.Fatalf("build %s: %s", name, msg.Error)
		}
	}
}
