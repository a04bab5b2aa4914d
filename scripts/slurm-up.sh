#!/usr/bin/env bash
# Starts a private single-node Slurm (munge + slurmctld + slurmd) for
# sweval's tests, every file under DIR: its own munge key and socket, its
# own slurm.conf, state, spool and logs. Nothing system-wide is touched.
# Slurm has no bind-address setting, so the daemons run in a network
# namespace of their own that holds only lo (127.0.0.1): nothing listens
# outside it. Clients reach it through DIR/bin (sbatch, squeue, scontrol,
# scancel wrappers that enter the namespace).
#   scripts/slurm-up.sh DIR [CPUS]    prints DIR/env (SLURM_CONF, PATH)
#   scripts/slurm-up.sh --down DIR    stops the daemons by pid
set -euo pipefail
if [ "${1:-}" = "--down" ]; then
  dir=$2
  for p in slurmd slurmctld munged; do
    f="$dir/run/$p.pid"
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  ns=$(cat "$dir/netns" 2>/dev/null || true)
  [ -n "$ns" ] && ip netns delete "$ns" 2>/dev/null || true
  exit 0
fi
dir=$(realpath -m "${1:?usage: slurm-up.sh DIR [CPUS]}")
cpus=${2:-8}
node=sweval-node
ns="sweval-slurm-$$"
mkdir -p "$dir"/{spool/ctld,spool/d,log,run,munge,bin}
chmod 700 "$dir/munge"
echo "$ns" >"$dir/netns"
ip netns add "$ns"
ip -n "$ns" link set lo up
# glibc's getaddrinfo (AI_ADDRCONFIG) resolves no IPv4 name where only
# 127.0.0.0/8 is configured: give lo one more (link-local, routed nowhere).
ip -n "$ns" addr add 169.254.77.1/32 dev lo
# nsenter, not `ip netns exec`: the latter remounts /sys, hiding the cgroup
# mounts slurmd needs.
inns() { nsenter --net="/run/netns/$ns" "$@"; }

key="$dir/munge/munge.key"
[ -f "$key" ] || head -c 1024 /dev/urandom >"$key"
chmod 400 "$key"
inns munged --force --socket "$dir/munge/munge.socket" --key-file "$key" \
  --pid-file "$dir/run/munged.pid" --log-file "$dir/log/munged.log" --seed-file "$dir/munge/seed" </dev/null >/dev/null 2>&1

cat >"$dir/slurm.conf" <<CONF
ClusterName=sweval
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
SlurmdTimeout=30
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
for c in sbatch squeue scontrol scancel sinfo srun; do
  printf '#!/bin/sh\nSLURM_CONF=%s exec nsenter --net=/run/netns/%s %s "$@"\n' "$SLURM_CONF" "$ns" "$(command -v $c)" >"$dir/bin/$c"
  chmod +x "$dir/bin/$c"
done
inns slurmctld -f "$SLURM_CONF" -i </dev/null >/dev/null 2>&1
inns slurmd -f "$SLURM_CONF" -N "$node" </dev/null >/dev/null 2>&1
for _ in $(seq 1 100); do
  if "$dir/bin/sinfo" -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    printf 'SLURM_CONF=%s\nPATH=%s:%s\n' "$SLURM_CONF" "$dir/bin" "$PATH" >"$dir/env"
    cat "$dir/env"
    exit 0
  fi
  sleep 0.2
done
echo "slurm did not come up; logs in $dir/log" >&2
tail -20 "$dir/log/"*.log >&2 || true
exit 1
