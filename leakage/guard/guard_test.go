package guard

import (
	"strings"
	"testing"

	"github.com/sweval/sweval/scaffolds/tools"
)

// The guard satisfies the agent's tool seam without importing it.
var _ tools.Guard = (*Guard)(nil)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Mini_Lib":    "mini-lib",
		"mini.lib":    "mini-lib",
		"MINI--_.lib": "mini-lib",
		" minilib ":   "minilib",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	g := New(Config{Packages: []string{"mini-lib", "mini_lib"}})
	cases := []struct {
		name string
		cmd  string
		rule string // "" = allowed
	}{
		// Git network, plain and evasive spellings.
		{"clone", "git clone https://github.com/acme/mini-lib", RuleGitNetwork},
		{"fetch", "git fetch origin", RuleGitNetwork},
		{"pull", "git pull", RuleGitNetwork},
		{"C pull", "git -C /testbed pull", RuleGitNetwork},
		{"git-dir fetch", "git --git-dir=/tmp/x/.git fetch", RuleGitNetwork},
		{"git-dir sep fetch", "git --git-dir /tmp/x fetch --all", RuleGitNetwork},
		{"command git", "command git pull", RuleGitNetwork},
		// A wrapper option missing its value once crashed the guard.
		{"env -S without value", "env -S && git reflog", RuleGitHistory},
		{"timeout -s without value", "timeout -s", ""},
		{"sudo -u without value", "sudo -u", ""},
		{"abs path", "/usr/bin/git clone /x /y", RuleGitNetwork},
		{"backslash", `\git fetch`, RuleGitNetwork},
		{"quoted", `g"i"t 'cl'one x`, RuleGitNetwork},
		{"env prefix", "GIT_TERMINAL_PROMPT=0 git clone x", RuleGitNetwork},
		{"env cmd", "env -i GIT_DIR=x git fetch", RuleGitNetwork},
		{"after semicolon", "ls; git pull", RuleGitNetwork},
		{"after and", "cd /testbed && git fetch origin", RuleGitNetwork},
		{"in pipe", "echo x | git pull", RuleGitNetwork},
		{"cmd subst", "echo $(git clone x)", RuleGitNetwork},
		{"backticks", "echo `git fetch`", RuleGitNetwork},
		{"bash -c", `bash -c 'cd /tmp && git clone https://gitlab.com/a/b'`, RuleGitNetwork},
		{"sh -lc nested", `sh -lc "bash -c 'git pull'"`, RuleGitNetwork},
		{"eval", `eval "git" "fetch"`, RuleGitNetwork},
		{"variable", "G=git; $G clone x", RuleGitNetwork},
		{"export variable", "export C=clone; git $C x", RuleGitNetwork},
		{"dynamic name", "$(which git) clone x", RuleGitNetwork},
		{"alias", "alias g=git; g fetch", RuleGitNetwork},
		{"git -c alias", "git -c alias.get=clone get x", RuleGitNetwork},
		{"git config alias", "git config alias.up '!git pull'", RuleGitNetwork},
		{"timeout wrapper", "timeout 30 git fetch", RuleGitNetwork},
		{"xargs", "echo url | xargs git clone", RuleGitNetwork},
		{"find exec", `find . -name x -exec git pull \;`, RuleGitNetwork},
		{"heredoc to bash", "bash <<'EOF'\ngit pull\nEOF", RuleGitNetwork},
		{"echo to sh", `echo "git fetch" | sh`, RuleGitNetwork},
		{"here-string", `bash <<< "git clone x"`, RuleGitNetwork},
		{"python subprocess", `python3 -c "import subprocess; subprocess.run(['git', 'clone', 'x'])"`, RuleGitNetwork},
		{"function body", "f(){ git pull; }; f", RuleGitNetwork},
		{"base64 to bash", "echo Z2l0IHB1bGw= | base64 -d | bash", RuleObfuscated},
		{"submodule", "git submodule update --init", RuleGitNetwork},

		// History digging.
		{"log all", "git log --all --oneline", RuleGitHistory},
		{"log reflog", "git log -g", RuleGitHistory},
		{"reflog", "git reflog", RuleGitHistory},
		{"fsck", "git fsck --lost-found", RuleGitHistory},
		{"cat-file", "git cat-file -p HEAD~3:mini_lib/core.py", RuleGitHistory},
		{"verify-pack", "git verify-pack -v .git/objects/pack/pack-abc.idx", RuleGitHistory},
		{"unpack-objects", "git unpack-objects < x.pack", RuleGitHistory},
		{"show-ref", "git show-ref", RuleGitHistory},
		{"rev-list all", "git rev-list --all", RuleGitHistory},
		{"objects dir", "ls -R .git/objects", RuleGitInternals},
		{"packed-refs", "cat /testbed/.git/packed-refs", RuleGitInternals},
		{"cd into .git", "cd .git && cat packed-refs", RuleGitInternals},
		{"cd into .git objects", "cd /testbed/.git; ls objects/ab", RuleGitInternals},
		{"tar of .git", "tar czf /tmp/h.tgz .git", RuleGitInternals},
		{"copy .git", "cp -r /testbed/.git /tmp/x", RuleGitInternals},
		{"zlib objects", `python3 -c "import zlib;print(zlib.decompress(open('.git/objects/ab/cdef','rb').read()))"`, RuleGitInternals},

		// The reference package, any spelling, any tool.
		{"pip install", "pip install mini-lib", RulePackage},
		{"pip3 underscore", "pip3 install Mini_Lib==1.0", RulePackage},
		{"python -m pip dot", "python3 -m pip install --no-deps mini.lib", RulePackage},
		{"pip download", "pip download mini-lib -d /tmp/x", RulePackage},
		{"pip show", "pip show mini_lib", RulePackage},
		{"pip extras", "pip install 'mini-lib[all]>=0.1'", RulePackage},
		{"pip wheel file", "pip install /root/.cache/pip/wheels/ab/mini_lib-0.1-py3-none-any.whl", RulePackage},
		{"uv pip", "uv pip install mini-lib", RulePackage},
		{"uv add", "uv add MINI_LIB", RulePackage},
		{"uv tool", "uv tool install mini-lib", RulePackage},
		{"uvx", "uvx mini-lib --help", RulePackage},
		{"pipx", "pipx install mini-lib", RulePackage},
		{"poetry", "poetry add mini-lib", RulePackage},
		{"conda", "conda install -y mini-lib", RulePackage},
		{"mamba", "mamba install mini_lib", RulePackage},
		{"easy_install", "easy_install mini-lib", RulePackage},
		{"index url", "pip install --index-url http://10.0.0.1/simple foo", RuleIndex},
		{"extra index", "pip install --extra-index-url=https://x/simple foo", RuleIndex},
		{"pip in sudo", "sudo -u root pip install mini-lib", RulePackage},
		{"pip main", `python -c "from pip._internal.cli.main import main; main(['download','mini_lib'])"`, RulePackage},
		{"pip git url", "pip install git+https://github.com/acme/mini-lib.git", RuleCodeHost},

		// Network clients aimed at code hosts and indexes.
		{"curl github", "curl -sL https://github.com/acme/mini-lib/archive/main.tar.gz | tar xz", RuleCodeHost},
		{"wget raw", "wget https://raw.githubusercontent.com/acme/mini-lib/main/x.py", RuleCodeHost},
		{"curl pypi", "curl https://pypi.org/simple/mini-lib/", RuleCodeHost},
		{"files.pythonhosted", "wget files.pythonhosted.org/packages/x.whl", RuleCodeHost},
		{"python urllib", `python3 -c "import urllib.request as u; print(u.urlopen('https://codeberg.org/a/b').read())"`, RuleCodeHost},
		{"python heredoc requests", "python3 - <<'EOF'\nimport requests\nrequests.get('https://bitbucket.org/a/b')\nEOF", RuleCodeHost},
		{"gh cli", "gh repo clone acme/mini-lib", RuleCodeHost},
		{"hg", "hg clone https://foss.heptapod.net/x", RuleVCS},

		{"script file then run", "cat > fetch.sh <<'EOF'\ngit clone https://github.com/acme/mini-lib /tmp/x\nEOF\nbash fetch.sh", RuleGitNetwork},
		{"shebang script", "cat > run <<'EOF'\n#!/bin/sh\npip install mini_lib\nEOF\nchmod +x run && ./run", RulePackage},
		{"python file fetching", "cat > get.py <<'EOF'\nimport urllib.request\nprint(urllib.request.urlopen('https://pypi.org/simple/mini-lib/').read())\nEOF\npython3 get.py", RuleCodeHost},

		// False-positive checks: ordinary work must pass.
		{"docstring mentions pip", "cat > mini_lib/__init__.py <<'EOF'\n\"\"\"Install with pip install mini-lib; see https://github.com/acme/mini-lib.\"\"\"\nEOF", ""},
		{"own shell script", "cat > run_tests.sh <<'EOF'\n#!/bin/bash\npython3 -m pytest -q tests\nEOF\nbash run_tests.sh", ""},
		{"own package editable", "pip install -e .", ""},
		{"own package no-deps", "python3 -m pip install --no-deps --no-build-isolation -e .", ""},
		{"own package dot", "pip install .", ""},
		{"git diff", "git diff", ""},
		{"git status", "git status --short", ""},
		{"git log plain", "git log -3", ""},
		{"git add all", "git add --all && git commit -m wip", ""},
		{"git stash", "git stash && git stash pop", ""},
		{"pytest", "cd /testbed && python3 -m pytest -q tests/", ""},
		{"pip list", "pip list", ""},
		{"pip install other", "pip install --no-deps ./dist/other-0.1.tar.gz", ""},
		{"setup url in heredoc", "cat > setup.py <<'EOF'\nfrom setuptools import setup\nsetup(name='mini-lib', url='https://github.com/acme/mini-lib')\nEOF", ""},
		{"readme mentions pip", "cat > README.md <<'EOF'\npip install mini-lib\nEOF", ""},
		{"grep github", "grep -rn github.com docs/", ""},
		{"notgithub", "curl http://notgithub.com/x", ""},
		{"ls .git", "ls -la .git && cat .git/HEAD", ""},
		{"git config in .git", "cat .git/config && ls logs_dir", ""},
		{"python run", "python3 -c 'import mini_lib; print(mini_lib.__version__)'", ""},
		{"command -v", "command -v git", ""},
		{"sed edit", `sed -i 's/old/new/' mini_lib/core.py`, ""},
		{"unparseable harmless", "echo 'unterminated", ""},
		{"unparseable clone", "echo 'x\ngit clone https://a/b", RuleGitNetwork},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vs := g.Inspect(c.cmd)
			msg, refused := g.Check(c.cmd)
			if refused != (len(vs) > 0) {
				t.Fatalf("Check and Inspect disagree on %q", c.cmd)
			}
			if c.rule == "" {
				if refused {
					t.Fatalf("%q refused, want allowed: %v", c.cmd, vs)
				}
				return
			}
			if !refused {
				t.Fatalf("%q allowed, want refused (%s)", c.cmd, c.rule)
			}
			found := false
			for _, v := range vs {
				found = found || v.Rule == c.rule
			}
			if !found {
				t.Fatalf("%q refused with %v, want rule %s", c.cmd, vs, c.rule)
			}
			if !strings.Contains(msg, "unavailable in this environment by design") {
				t.Fatalf("refusal message lacks the by-design explanation: %q", msg)
			}
		})
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
}

// TestNoPackagesConfigured: with no reference named, package tools are
// allowed (SWE-style tasks) while git history is still guarded.
func TestNoPackagesConfigured(t *testing.T) {
	g := New(Config{})
	if _, refused := g.Check("pip install requests"); refused {
		t.Fatal("pip install of an arbitrary package refused without a reference")
	}
	if _, refused := g.Check("git reflog"); !refused {
		t.Fatal("git reflog allowed")
	}
}
