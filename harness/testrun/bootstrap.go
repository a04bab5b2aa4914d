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

// watchPlugin is the harness's second pytest plugin (Python source;
// needs json, rec and SwevalReport defined): executed before any code of
// the workspace is imported, it snapshots the classes and runner
// functions reporting rests on, and SwevalWatch records, at every report
// and at the session's end, each change it sees and each reporting hook
// implementation added after the session started, as {"integrity": ...}
// lines in the records (Check flags grade:tamper-runner). The code under
// test shares the process, so this raises the bar for an in-process
// forgery (a thread that patches the report class late, when the canaries
// have already run) rather than closing it.
const watchPlugin = `import _pytest.reports, _pytest.runner, _pytest.python, _pytest.junitxml, _pytest.main, pluggy
_watched = [_pytest.reports.TestReport, _pytest.reports.BaseReport, _pytest.runner.CallInfo,
            _pytest.python.Function, _pytest.junitxml.LogXML, SwevalReport]
_watched += [c for c in vars(pluggy).values() if isinstance(c, type)]
_snap = [(c, dict(vars(c))) for c in _watched]
_mods = [(m, dict(vars(m))) for m in (_pytest.runner, _pytest.python, _pytest.reports, _pytest.main)]
_hooks = ("pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_report_teststatus",
          "pytest_runtest_protocol", "pytest_pyfunc_call", "pytest_runtest_call", "pytest_runtestloop")
def _code(v):
    # Behaviour, not state (pytest keeps flags on its classes).
    return callable(v) or isinstance(v, (property, classmethod, staticmethod))
def _impls(config):
    return {h: [(i.plugin_name, i.function) for i in getattr(config.hook, h).get_hookimpls()] for h in _hooks}
class SwevalWatch:
    def __init__(self, write=None, dumps=json.dumps, snap=_snap, mods=_mods):
        # rec is bound when the plugin is made, before the workspace's code runs.
        self.w, self.d, self.snap, self.mods, self.base, self.seen = write or rec.write, dumps, snap, mods, None, set()
    def pytest_sessionstart(self, session):
        self.config = session.config
        self.base = _impls(session.config)
    def check(self):
        bad = []
        for c, d in self.snap:
            now = vars(c)
            bad += ["%s.%s" % (c.__name__, k) for k in set(d) | set(now)
                    if now.get(k) is not d.get(k) and (_code(now.get(k)) or _code(d.get(k)))]
        for m, d in self.mods:
            bad += ["%s.%s" % (m.__name__, k) for k, v in d.items() if callable(v) and vars(m).get(k) is not v]
        if self.base is not None:
            now = _impls(self.config)
            bad += ["hook %s: %s" % (h, n) for h in _hooks for n, f in now[h] if (n, f) not in self.base[h]]
        for b in sorted(set(bad) - self.seen):
            self.seen.add(b)
            self.w(self.d({"integrity": b}) + "\n")
    def pytest_runtest_logreport(self, report):
        self.check()
    def pytest_sessionfinish(self, session):
        self.check()
`

// agentProcs are the supervisors' two ways into the agent's uid (Python
// source; the globals uid and gid name it): as_agent(out) drops a forked
// child to it with nothing of the supervisor's open (out, a pipe's write
// end, becomes its stdout and stderr), and sweep() kills every process of
// that uid from a helper that drops first (kill(-1) from the agent's uid
// reaches exactly the agent's processes; root without CAP_KILL could not
// signal them).
const agentProcs = `def as_agent(out=None):
    if out is not None:
        os.dup2(out, 1)
        os.dup2(out, 2)
    os.closerange(3, 1 << 16)
    nul = os.open("/dev/null", os.O_RDWR)
    for fd in (0,) if out is not None else (0, 1, 2):
        os.dup2(nul, fd)
    os.close(nul)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)

def sweep():
    pid = os.fork()
    if pid == 0:
        try:
            as_agent()
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
`

// cappedOutput is a Python class keeping the head and tail of a stream
// (limit bytes in all, the sandbox's elision marker between), for a
// supervisor that reads its children's output through a pipe instead of
// letting it fill a file in the container's tmpfs /tmp.
const cappedOutput = `class Capped:
    def __init__(self, limit):
        self.hcap, self.tcap = limit // 2, limit - limit // 2
        self.head, self.tail, self.total = bytearray(), bytearray(), 0
    def write(self, b):
        self.total += len(b)
        room = self.hcap - len(self.head)
        if room > 0:
            self.head += b[:room]
            b = b[room:]
        if b:
            self.tail += b
            if len(self.tail) > 2 * self.tcap:
                del self.tail[:len(self.tail) - self.tcap]
    def bytes(self):
        tail = self.tail[-self.tcap:] if self.tcap else b""
        cut = self.total - len(self.head) - len(tail)
        if cut <= 0:
            return bytes(self.head + tail), 0
        return bytes(self.head) + b"\n[... %d bytes elided ...]\n" % cut + bytes(tail), cut
`

// childProcs are the supervisors' way to run one child and read back
// what it left (Python source; needs Capped and sweep): run_child waits
// for the child, reading its output from the pipe rfd into a Capped of
// limit bytes, kills every process of the agent's uid when seconds have
// passed (again each second until the child is gone) and when it has
// ended, drains the pipe, and returns (wait status, timed out, seconds).
// read_capped reads a file the agent owns: no links, no FIFOs, at most
// limit bytes.
const childProcs = `import select

def run_child(pid, rfd, output, seconds):
    start = time.monotonic()
    try:
        pidfd = os.pidfd_open(pid)  # readable when the child exits
    except (AttributeError, OSError):
        pidfd = None
    def pump(wait):
        r, _, _ = select.select([rfd] + ([pidfd] if pidfd is not None else []), [], [], wait)
        if rfd in r:
            b = os.read(rfd, 1 << 16)
            if not b:
                return False
            output.write(b)
        return True
    deadline, timed_out, open_ = start + seconds, False, True
    while True:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            sweep()
            left = 1.0
        wait = left if pidfd is not None else min(left, 0.02)
        if open_:
            open_ = pump(wait)
        else:
            select.select([pidfd] if pidfd is not None else [], [], [], wait)
    elapsed = time.monotonic() - start
    sweep()
    # Every writer is dead now: the rest of the pipe, then EOF.
    end = time.monotonic() + 5
    while open_ and time.monotonic() < end:
        open_ = pump(max(0.0, end - time.monotonic()))
    os.close(rfd)
    if pidfd is not None:
        os.close(pidfd)
    return st, timed_out, elapsed

def read_capped(path, limit):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        return None, e.strerror or str(e)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, "not a regular file"
        b, left = [], limit
        while left > 0:
            c = os.read(fd, min(left, 1 << 20))
            if not c:
                break
            b.append(c)
            left -= len(c)
        return b"".join(b), None
    finally:
        os.close(fd)
`

// supervisor is the test phase's main, run once per container as root
// with only CAP_SETUID and CAP_SETGID: `python3 -I -B -c supervisor
// <harness dir> <out root> <rootdir> <site dir or -> <hidden conftest list
// file> <uid> <gid> <seconds per file> <report byte limit> <test file>...`.
//
// It imports the runner once, from the interpreter alone (isolated mode,
// no workspace path on sys.path yet), then per test file: kills every
// process of the agent's uid, removes conftest.py files a previous run
// wrote, forks a child that drops to the agent's uid and runs pytest.main
// on that one file, waits for it, kills what it left, and copies its
// records, JUnit report and output into a root-owned directory. The exit
// status it reports on its own stdout, which no child holds: a process of
// another uid cannot signal, trace or read a root process, so neither the
// statuses nor the copied reports can be rewritten by later code under
// test. Forking from one warm parent instead of starting one interpreter
// per file saves the runner's import (about 0.4 s) per file.
const supervisor = `
import os, sys, json, signal, stat, time
h, outroot, root, site_dir, keep, uid, gid, per_file, report_limit = sys.argv[1:10]
tests = sys.argv[10:]
uid, gid, per_file, report_limit = int(uid), int(gid), float(per_file), int(report_limit)
for k in list(os.environ):
    if k.startswith("PYTEST_") or k.startswith("PYTHON"):
        del os.environ[k]
os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
import pytest, _pytest, pluggy
for m in ("iniconfig", "packaging", "exceptiongroup", "tomli", "xml.etree.ElementTree", "xml.dom.minidom",
          "_pytest.junitxml", "_pytest.terminal", "_pytest.reports", "_pytest.runner", "_pytest.main",
          "_pytest.python", "_pytest.assertion.rewrite", "pygments"):
    try:
        __import__(m)
    except Exception:
        pass
status = os.fdopen(os.dup(1), "w", buffering=1)
with open(keep) as f:
    hidden = set(l.strip() for l in f if l.strip())

` + agentProcs + `
def drop_conftests():
    for dp, dns, fns in os.walk(root):
        dns[:] = [d for d in dns if d not in (".git", ".sweval-site")]
        for fn in fns:
            if fn == "conftest.py" and os.path.relpath(os.path.join(dp, fn), root) not in hidden:
                try:
                    os.remove(os.path.join(dp, fn))
                except OSError:
                    pass

def keep_copy(src, dst, limit):
    data, _ = read_capped(src, limit)
    if data is not None:
        with open(dst, "wb") as w:
            w.write(data)

def child(out, test, wfd):
    as_agent(wfd)
    for f in ("records.jsonl", "junit.xml"):
        try:
            os.remove(os.path.join(out, f))
        except OSError:
            pass
    global rec
    rec = open(os.path.join(out, "records.jsonl"), "w", buffering=1)
    paths = [p for p in (site_dir if site_dir != "-" else "", root) if p]
    i = next((i for i, p in enumerate(sys.path) if p.endswith(("site-packages", "dist-packages"))), len(sys.path))
    sys.path[i:i] = paths
    os.chdir(root)
    rc = pytest.main(["-c", os.path.join(h, "pytest.ini"), "--rootdir", root, "--confcutdir", root,
                      "-p", "no:cacheprovider", "-o", "addopts=", "-o", "junit_family=xunit1",
                      "--junitxml", os.path.join(out, "junit.xml"), "-rA", test], plugins=[SwevalReport(), SwevalWatch()])
    rec.write(json.dumps({"exit": int(rc)}) + "\n")
    rec.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(rc))

` + reportPlugin + watchPlugin + cappedOutput + childProcs + `
for i, test in enumerate(tests):
    out, done = os.path.join(outroot, "run-%d" % i), os.path.join(outroot, "done-%d" % i)
    sweep()
    drop_conftests()
    status.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            child(out, test, wfd)
        except BaseException as e:
            try:
                os.write(2, ("sweval runner: %r\n" % (e,)).encode())
            finally:
                os._exit(70)
    os.close(wfd)
    output = Capped(256 << 10)
    st, timed_out, seconds = run_child(pid, rfd, output, per_file)
    os.mkdir(done, 0o755)
    with open(os.path.join(done, "output.log"), "wb") as w:
        w.write(output.bytes()[0])
    for name, limit in (("records.jsonl", report_limit), ("junit.xml", report_limit)):
        keep_copy(os.path.join(out, name), os.path.join(done, name), limit)
    status.write("sweval-run " + json.dumps({"file": test, "exit": os.WEXITSTATUS(st) if os.WIFEXITED(st) else None,
        "signal": os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0, "timed_out": timed_out,
        "seconds": round(seconds, 3)}) + "\n")
status.close()
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

// installer builds the workspace with its own PEP 517 backend and unpacks
// the wheel into the install target, as `pip install --no-deps
// --no-build-isolation --target` does, run as `python3 -I -B -c installer
// <workspace> <target>`. Calling the backend in this process instead of
// through pip saves pip's start-up and the three interpreters pip starts
// for the backend's hooks (about 2 s of a 3 s install); the backend and
// the build are the same. An exit of 3 means there is nothing to install.
const installer = `
import os, sys, shutil, tempfile, zipfile, importlib
src, target = sys.argv[1:3]
os.chdir(src)
if not any(os.path.exists(f) for f in ("pyproject.toml", "setup.py", "setup.cfg")):
    print("no pyproject.toml, setup.py or setup.cfg in the workspace: nothing to install")
    sys.exit(3)
backend, backend_path = "setuptools.build_meta:__legacy__", []
if os.path.exists("pyproject.toml"):
    import tomllib
    with open("pyproject.toml", "rb") as f:
        bs = tomllib.load(f).get("build-system", {})
    backend = bs.get("build-backend", backend)
    backend_path = [os.path.abspath(p) for p in bs.get("backend-path", [])]
sys.path[:0] = backend_path
mod, _, attr = backend.partition(":")
hooks = importlib.import_module(mod)
for a in filter(None, attr.split(".")):
    hooks = getattr(hooks, a)
wheel_dir = tempfile.mkdtemp(prefix="sweval-wheel-")
name = hooks.build_wheel(wheel_dir)
root = os.path.realpath(target)
with zipfile.ZipFile(os.path.join(wheel_dir, name)) as z:
    for info in z.infolist():
        parts = info.filename.split("/")
        if parts[0].endswith(".data") and len(parts) > 2:
            if parts[1] in ("purelib", "platlib"):
                parts = parts[2:]
            elif parts[1] == "scripts":
                parts = ["bin"] + parts[2:]
            else:
                continue  # headers and data files: nothing a test imports
        dest = os.path.realpath(os.path.join(root, *parts))
        if dest != root and not dest.startswith(root + os.sep):
            sys.exit("wheel member %r would land outside the install target" % info.filename)
        if info.is_dir():
            os.makedirs(dest, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as r, open(dest, "wb") as w:
            shutil.copyfileobj(r, w)
        if (info.external_attr >> 16) & 0o111:
            os.chmod(dest, 0o755)
print("installed", name, "into", target)
`
