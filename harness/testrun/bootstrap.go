package testrun

// iniText is the only pytest configuration of a graded run (-c): it names
// the collection rules outright so nothing in the workspace (pytest.ini,
// .pytest.ini, pyproject.toml, setup.cfg, tox.ini) is read.
const iniText = `[pytest]
addopts =
python_files = test_*.py *_test.py
python_classes = Test
python_functions = test
testpaths =
usefixtures =
required_plugins =
xfail_strict = false
`

// bootstrap is the test process's main, run as `python3 -I -B -c
// bootstrap <harness dir> <out dir> <rootdir> <site dir or -> <hidden
// conftest list file> <test file>`. Isolated mode ignores PYTHON* and keeps
// the cwd off sys.path; the bootstrap imports the runner before any
// workspace path exists on sys.path, so nothing the agent ships can shadow
// pytest or the standard library; the workspace goes in after the standard
// library and before site-packages.
const bootstrap = `
import os, sys, json, signal
h, out, root, site_dir, keep, test = sys.argv[1:7]
# A process an earlier run left behind must not touch this one.
def _parent(p):
    try:
        with open("/proc/%d/stat" % p) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except Exception:
        return 0
mine, p = set(), os.getpid()
while p > 1:
    mine.add(p)
    p = _parent(p)
for d in os.listdir("/proc"):
    if d.isdigit() and int(d) not in mine and int(d) > 1:
        try:
            os.kill(int(d), signal.SIGKILL)
        except OSError:
            pass
# conftest.py files a previous run wrote (outside the hidden tests) go.
with open(keep) as f:
    hidden = set(l.strip() for l in f if l.strip())
for dp, dns, fns in os.walk(root):
    dns[:] = [d for d in dns if d not in (".git", ".sweval-site")]
    for fn in fns:
        if fn == "conftest.py":
            rel = os.path.relpath(os.path.join(dp, fn), root)
            if rel not in hidden:
                try:
                    os.remove(os.path.join(dp, fn))
                except OSError:
                    pass
for k in list(os.environ):
    if k.startswith("PYTEST_") or k.startswith("PYTHON"):
        del os.environ[k]
os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
import pytest, _pytest, pluggy
for m in ("iniconfig", "packaging", "exceptiongroup", "tomli", "xml.etree.ElementTree", "xml.dom.minidom",
          "_pytest.junitxml", "_pytest.terminal", "_pytest.reports", "_pytest.runner", "_pytest.main",
          "_pytest.python", "_pytest.assertion.rewrite", "pygments"):
    try:
        __import__(m)
    except Exception:
        pass
for f in ("records.jsonl", "junit.xml"):
    try:
        os.remove(os.path.join(out, f))
    except OSError:
        pass
rec = open(os.path.join(out, "records.jsonl"), "w", buffering=1)
` + reportPlugin + `paths = [p for p in (site_dir if site_dir != "-" else "", root) if p]
i = next((i for i, p in enumerate(sys.path) if p.endswith(("site-packages", "dist-packages"))), len(sys.path))
sys.path[i:i] = paths
os.chdir(root)
rc = pytest.main(["-c", os.path.join(h, "pytest.ini"), "--rootdir", root, "--confcutdir", root,
                  "-p", "no:cacheprovider", "-o", "addopts=", "-o", "junit_family=xunit1",
                  "--junitxml", os.path.join(out, "junit.xml"), "-rA", test], plugins=[SwevalReport()])
rec.write(json.dumps({"exit": int(rc)}) + "\n")
rec.close()
sys.stdout.flush()
sys.stderr.flush()
os._exit(int(rc))
`

// reportPlugin is the harness's pytest plugin: one JSON record per test
// phase and per failed collection, written to the open file rec (a
// records.jsonl that parseRecords reads). Its text needs json imported.
const reportPlugin = `class SwevalReport:
    def pytest_runtest_logreport(self, report):
        rec.write(json.dumps({"id": report.nodeid, "when": report.when, "outcome": report.outcome,
                              "xfail": hasattr(report, "wasxfail")}) + "\n")
    def pytest_collectreport(self, report):
        if report.failed:
            rec.write(json.dumps({"id": report.nodeid, "when": "collect", "outcome": "failed"}) + "\n")
`
