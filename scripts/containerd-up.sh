#!/usr/bin/env bash
# containerd-up.sh DIR   — start a private containerd under DIR (never the
#                          Docker daemon's own: its socket is DIR/containerd.sock)
# containerd-up.sh stop PID — stop one started here, by pid.
#
# Prints "pid=PID address=SOCKET snapshotter=NAME" on success. The config
# gives the instance its own root, state and gRPC address, disables the CRI
# plugin (no Kubernetes here) and uses overlayfs, falling back to native
# where an overlay mount fails (e.g. nested in an overlay without support).
set -euo pipefail

if [[ "${1:-}" == stop ]]; then
	pid=${2:?usage: containerd-up.sh stop PID}
	kill -TERM "$pid" 2>/dev/null || exit 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	exit 0
fi

dir=${1:?usage: containerd-up.sh DIR | containerd-up.sh stop PID}
command -v containerd >/dev/null || { echo "containerd not installed: apt-get install containerd" >&2; exit 1; }
mkdir -p "$dir/root" "$dir/state"
dir=$(cd "$dir" && pwd)

# Can this kernel mount overlayfs here? Try one tiny mount.
snap=overlayfs
probe=$(mktemp -d "$dir/ovl.XXXXXX")
mkdir -p "$probe/l" "$probe/u" "$probe/w" "$probe/m"
if mount -t overlay overlay -o "lowerdir=$probe/l,upperdir=$probe/u,workdir=$probe/w" "$probe/m" 2>/dev/null; then
	umount "$probe/m"
else
	snap=native
fi
rm -rf "$probe"

cat >"$dir/config.toml" <<CFG
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.service.v1.diff-service"]
  default = ["walking"]
CFG

containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/containerd.pid"
for _ in $(seq 200); do
	if [[ -S "$dir/containerd.sock" ]]; then
		echo "pid=$pid address=$dir/containerd.sock snapshotter=$snap"
		exit 0
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
echo "containerd did not come up; its log ($dir/containerd.log):" >&2
tail -20 "$dir/containerd.log" >&2
kill "$pid" 2>/dev/null || true
exit 1
