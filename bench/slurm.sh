#!/usr/bin/env bash
# Issue 12's Slurm figure, side by side in one run: the bundled gold
# evaluation as one process with --workers W, then as a 4-shard Slurm array
# (at most W array tasks at once, --workers 1 each: the same total
# workers), on a private single-node Slurm (scripts/slurm-up.sh). Prints
# both wall times, their ratio, and each shard's submit → first-rollout
# overhead (from its shards/ status file).
#   bash bench/slurm.sh [W]     (default 2; run on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
w="${1:-2}"
cache="${SWEVAL_REPO_CACHE:-$HOME/.cache/sweval/repos}"
go build -o bin/sweval ./cmd/sweval
go run ./internal/fixtures/cmd/gen -tasks=false -cache "$cache" >/dev/null
./bin/sweval images base --tag sweval/base:test >/dev/null
work=$(mktemp -d)
sl="$work/slurm"
bash scripts/slurm-up.sh "$sl" >/dev/null
trap 'bash scripts/slurm-up.sh --down "$sl"; rm -rf "$work"' EXIT
common=(-d "$PWD/testdata/swe/tasks.jsonl" -p gold --repo-cache "$cache" --base-image sweval/base:test --timeout 60s)
# Build every instance layer first, so both sides only grade.
./bin/sweval eval "${common[@]}" --workers "$w" --output "$work/runs" --run-id warm --no-progress >/dev/null

t0=$(date +%s.%N)
./bin/sweval eval "${common[@]}" --workers "$w" --output "$work/runs" --run-id one --no-progress >/dev/null
t1=$(date +%s.%N)

env_line() { grep "^$1=" "$sl/env" | cut -d= -f2-; }
export SLURM_CONF PATH
SLURM_CONF=$(env_line SLURM_CONF)
PATH=$(env_line PATH)
s0=$(date +%s.%N)
./bin/sweval slurm submit --shards 4 --array-parallel "$w" --output "$work/runs" --run-id sharded -- \
  eval "${common[@]}" --workers 1 >/dev/null
until [ "$(./bin/sweval slurm status "$work/runs/sharded" | grep -cE ' (pending|running) ')" = 0 ]; do sleep 0.2; done
s1=$(date +%s.%N)
./bin/sweval slurm status "$work/runs/sharded"
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
one=$(calc "$t1 - $t0")
four=$(calc "$s1 - $s0")
printf 'one process, --workers %d: %.1f s\n4-shard Slurm array (%d at once, --workers 1 each): %.1f s\nratio sharded/one: %.2f\n' "$w" "$one" "$w" "$four" "$(calc "$four / $one")"
for f in "$work/runs/sharded/shards/"*.json; do
  started=$(jq -r .started "$f")
  printf '%s: submit → shard start %.1f s\n' "$(basename "$f" .json)" "$(calc "$(date -d "$started" +%s.%N) - $s0")"
done
