package grade

import "testing"

func TestKeptFromTests(t *testing.T) {
	for _, c := range []struct {
		path string
		kept bool
	}{
		{"conftest.py", true},
		{"tests/unit/conftest.py", true},
		{"pytest.ini", true},
		{".pytest.ini", true},
		{"pytest.toml", true},
		{"sub/.pytest.toml", true},
		{"tox.ini", true},
		{"setup.cfg", true},
		{"pyproject.toml", true},
		{"sitecustomize.py", true},
		{"src/usercustomize.py", true},
		{"zz-forge.pth", true},
		{"pkg.egg-info/entry_points.txt", true},
		{"build/pkg-1.0.dist-info/entry_points.txt", true},
		{"pkg/__pycache__/mod.cpython-311.pyc", true},
		{"_pytest/__init__.py", true},
		{"pytest.py", true},
		{"pluggy/__init__.py", true},
		{"py.py", true},
		{"pkg/mod.py", false},
		{"src/_pytest/runner.py", false}, // pytest-dev/pytest's own sources
		{"tests/test_mod.py", false},
		{"setup.py", false},
		{"docs/conf.py", false},
		{"pytest_plugin_docs.md", false},
	} {
		if got := KeptFromTests(c.path); got != c.kept {
			t.Errorf("KeptFromTests(%q) = %v, want %v", c.path, got, c.kept)
		}
	}
}
