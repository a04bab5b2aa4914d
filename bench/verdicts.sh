#!/usr/bin/env bash
# Compares the verdicts of two sweval revisions on the bundled sets, side by
# side: eval gold and empty and validate on testdata/swe, calibrate on
# testdata/doc2repo. Prints one line per instance and condition whose
# verdict differs, then a summary; exits 1 when any differs.
#   bash bench/verdicts.sh OLD_REV [NEW_REV]     (NEW_REV default: the work tree)
set -euo pipefail
cd "$(dirname "$0")/.."
old="${1:?usage: bench/verdicts.sh OLD_REV [NEW_REV]}"
new="${2:-}"
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old-src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cache="${SWEVAL_REPO_CACHE:-$HOME/.cache/sweval/repos}"
go run ./internal/fixtures/cmd/gen -tasks=false -cache "$cache" >/dev/null

build() { # rev dest
  if [ -z "$1" ]; then go build -o "$2" ./cmd/sweval; return; fi
  git worktree add --detach "$work/old-src" "$1" >/dev/null 2>&1
  (cd "$work/old-src" && go build -o "$2" ./cmd/sweval)
  git worktree remove --force "$work/old-src"
}
build "$old" "$work/bin-old"
build "$new" "$work/bin-new"

verdicts() { # bin side
  local bin=$1 side=$2 out="$work/out-$2"
  mkdir -p "$out"
  for p in gold empty; do
    "$bin" eval -d testdata/swe/tasks.jsonl -p "$p" --repo-cache "$cache" --workers 2 --timeout 60s \
      --output "$out/runs" --run-id "$p" --no-progress >/dev/null 2>"$out/$p.err" || true
    jq -r --arg c "eval-$p" '"\($c) \(.instance_id) \(.status) \(.resolution // "") \(.tests_status.FAIL_TO_PASS.success // [] | length)/\(.tests_status.PASS_TO_PASS.success // [] | length)"' \
      "$out/runs/$p/results.jsonl" | sort
  done
  "$bin" validate -d testdata/swe/tasks.jsonl --repo-cache "$cache" --workers 2 --timeout 60s --no-progress 2>/dev/null \
    | grep -E '^\s*[|│]?\s*[a-z0-9_.-]+__' | tr -s ' │|' ' ' | sed 's/^ //; s/^/validate /' | cut -d' ' -f1-3 | sort || true
  "$bin" doc2repo calibrate --tasks testdata/doc2repo/tasks.jsonl --out "$out/cal.jsonl" --no-progress >/dev/null 2>&1 || true
  jq -r '"calibrate \(.instance_id) passed=\(.passed // [] | length) declared=\(.declared_tests) excluded=\(.excluded // [] | length)"' "$out/cal.jsonl" | sort
}
verdicts "$work/bin-old" old >"$work/old.txt"
verdicts "$work/bin-new" new >"$work/new.txt"
n=$(wc -l <"$work/new.txt")
if diff <(cat "$work/old.txt") <(cat "$work/new.txt") >"$work/diff.txt"; then
  echo "verdicts identical: $n lines (eval gold/empty, validate, calibrate) for ${old} vs ${new:-work tree}"
  cat "$work/new.txt"
else
  echo "verdicts differ (${old} vs ${new:-work tree}):"; cat "$work/diff.txt"; exit 1
fi
