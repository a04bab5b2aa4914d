# Run as: bash -c "$script" remove WORKDIR
cd "$1" || exit 1
# Symlinks could steer the hidden tests (or reads) outside the workspace.
find . -path ./.git -prune -o -type l -print | while read -r p; do rm -f -- "$p" && echo "$p"; done
find . -path ./.git -prune -o \( \
  \( -type d \( -name tests -o -name test \) \) -o \
  \( -type f \( -name 'test_*.py' -o -name '*_test.py' -o -name conftest.py -o -name pytest.ini -o -name .pytest.ini -o -name pytest.toml -o -name .pytest.toml \
     -o -name sitecustomize.py -o -name usercustomize.py -o -name '*.pth' -o -name tox.ini \) \) -o \
  \( -type d -name .pytest_cache \) -o \
  \( -path './pytest.py' -o -path './_pytest' -o -path './pytest' -o -path './pluggy' -o -path './py.py' \) \
\) -print -prune | while read -r p; do rm -rf -- "$p" && echo "$p"; done
# pytest sections in setup.cfg / pyproject.toml steer collection: drop them.
python3 - <<'EOF'
import re, os
for f in ("setup.cfg", "pyproject.toml"):
    if not os.path.isfile(f):
        continue
    text = open(f).read()
    new = re.sub(r"(?ms)^\[(tool:pytest|tool\.pytest(?:\.ini_options)?|pytest)\]\n.*?(?=^\[|\Z)", "", text)
    if new != text:
        open(f, "w").write(new)
        print("./" + f + " [pytest section]")
EOF
