#!/usr/bin/env bash
# The bundled example evaluation: builds what is needed (the sweval binary,
# the Debian base image, the fixture repositories' bare-repo cache) and
# grades the gold patches of testdata/swe/tasks.jsonl, printing the table.
# Everything is cached: a second run only re-reads results (same run id).
#   PREDICTIONS=empty bash scripts/example.sh    # the empty baseline instead
set -euo pipefail
cd "$(dirname "$0")/.."
preds="${PREDICTIONS:-gold}"
cache="${SWEVAL_REPO_CACHE:-$HOME/.cache/sweval/repos}"
# The Debian packages the base image and the fixture repositories need,
# installed as .ci/run does when missing (a fresh machine has none).
need=()
for pkg in debootstrap git patch; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]}; install them (sudo apt-get install -y ${need[*]}) and run this again" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
go build -o bin/sweval ./cmd/sweval
go run ./internal/fixtures/cmd/gen -tasks=false -cache "$cache" >/dev/null
./bin/sweval eval --dataset testdata/swe/tasks.jsonl --predictions "$preds" \
  --repo-cache "$cache" --run-id "example-$preds" --workers 2 --timeout 60s "$@"
