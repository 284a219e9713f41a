#!/usr/bin/env bash
# A throw-away single-node SLURM cluster (munge + slurmctld + slurmd) for testing the
# profiles/slurm profile against a real scheduler.  Run as root on Debian/Ubuntu.
#
#   tests/slurm/cluster.sh install   # apt-get install slurm-wlm munge (if missing)
#   tests/slurm/cluster.sh up        # write the config, start munged, slurmctld and slurmd
#   tests/slurm/cluster.sh jobs      # the scheduler's record of every job (scontrol show job)
#   tests/slurm/cluster.sh logs      # print the daemons' logs (for CI failure output)
#   tests/slurm/cluster.sh down      # remove the config, stop the daemons `up` started
#
# State, spool, logs, pid files and a private munge key/socket live in $SLURM_TEST_DIR
# (default /tmp/edaffect-slurm); the daemons listen on non-default ports, so a system munge
# or SLURM is left alone.  slurm.conf and gres.conf go to /etc/slurm (the path compiled into
# the client commands: the plugin's job steps drop SLURM_CONF from the environment before
# calling srun), marked as ours; `up` refuses to overwrite a slurm.conf that is not ours.
#
# Why `down` must run (CI: trap ... EXIT): snakemake-executor-plugin-slurm runs
# `scontrol show config` whenever Snakemake loads its plugins, i.e. on every snakemake call.
# With no slurm.conf scontrol fails in milliseconds; with a slurm.conf whose controller is
# down it hangs for seconds.  `down` therefore removes the config before it stops the daemons.
#
# The node has the machine's CPUs and memory and one fake GPU (gres gpu:fake:1 backed by
# /dev/null) so that `--gpus=fake:1` requests are scheduled and recorded like real ones.
# No accounting database: the plugin's `squeue` status mode works because MinJobAge=3600 s
# keeps finished jobs visible to squeue/scontrol for an hour; jobcomp/filetxt also keeps a
# completion record of every job in $SLURM_TEST_DIR/jobcomp.txt.
set -euo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/edaffect-slurm}
CTLD_PORT=${SLURM_TEST_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_TEST_SLURMD_PORT:-16818}
NODE=$(hostname -s)
PARTITION=${SLURM_TEST_PARTITION:-ci}
GPU_TYPE=${SLURM_TEST_GPU_TYPE:-fake}
ETC=/etc/slurm
MARK="# written by edaffect tests/slurm/cluster.sh"

die() { echo "cluster.sh: $*" >&2; exit 1; }

install() {
    [ "$(id -u)" = 0 ] || die "must run as root"
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null; then
        echo "slurm-wlm and munge already installed"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends slurm-wlm munge
}

write_config() {
    local cpus mem
    # The node definition must match what slurmd detects, else the node is drained.
    cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -1)
    mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
    [ -n "$cpus" ] && [ -n "$mem" ] || die "could not read CPUs/RealMemory from 'slurmd -C'"
    local topo
    topo=$(slurmd -C | head -1 | grep -o 'Boards=.*RealMemory' | sed 's/ RealMemory//')
    if [ -e "$ETC/slurm.conf" ] && ! grep -qF "$MARK" "$ETC/slurm.conf"; then
        die "$ETC/slurm.conf exists and was not written by this script; not touching it"
    fi
    mkdir -p "$ETC"
    cat > "$ETC/slurm.conf" <<EOF
$MARK (SLURM_TEST_DIR=$DIR)
ClusterName=edaffect-ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/builtin
GresTypes=gpu
ReturnToService=2
MinJobAge=3600
EnforcePartLimits=ALL
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus $topo RealMemory=$mem Gres=gpu:$GPU_TYPE:1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    cat > "$ETC/gres.conf" <<EOF
$MARK
NodeName=$NODE Name=gpu Type=$GPU_TYPE File=/dev/null
EOF
}

up() {
    [ "$(id -u)" = 0 ] || die "must run as root"
    command -v slurmctld >/dev/null || die "slurmctld not installed (run: $0 install)"
    local t0=$SECONDS
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
    chmod 700 "$DIR/munge"
    # Private munge daemon: own key, socket, pid and log (a system munged is not touched).
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
    chmod 400 "$DIR/munge/munge.key"
    /usr/sbin/munged --force --socket="$DIR/munge.socket" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" \
        --seed-file="$DIR/munge/munged.seed"
    munge -n --socket="$DIR/munge.socket" | unmunge --socket="$DIR/munge.socket" >/dev/null \
        || die "munge does not work (see $DIR/munged.log)"
    write_config
    slurmctld -i          # -i: ignore any stale state
    slurmd
    # Wait until the node is idle (slurmd registered with slurmctld).
    local i state=""
    for i in $(seq 1 60); do
        state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
        [ "$state" = idle ] && break
        sleep 0.5
    done
    if [ "$state" != idle ]; then
        die "node did not become idle within 30 s (state: '${state:-none}')"
    fi
    echo "SLURM cluster up in $((SECONDS - t0)) s ($ETC/slurm.conf, state in $DIR)"
    sinfo -N -o '%N %P %c %m %G %T'
}

stop_pidfile() {
    # Stop the daemon whose pid is in file $1 (started by `up`), waiting up to 10 s.
    local f=$1 pid i
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" || true
        for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi
    fi
    rm -f "$f"
}

remove_config() {
    local f
    for f in "$ETC/slurm.conf" "$ETC/gres.conf"; do
        if [ -e "$f" ] && grep -qF "$MARK" "$f"; then rm -f "$f"; fi
    done
}

down() {
    if [ -s "$DIR/slurmctld.pid" ] && [ -e "$ETC/slurm.conf" ]; then
        # Cancel leftovers first so no job step outlives the cluster.
        timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
    fi
    # Config first: from here on client commands fail fast instead of waiting for a controller.
    remove_config
    if [ ! -d "$DIR" ]; then echo "no cluster state in $DIR"; return; fi
    stop_pidfile "$DIR/slurmd.pid"
    stop_pidfile "$DIR/slurmctld.pid"
    stop_pidfile "$DIR/munged.pid"
    rm -rf "$DIR"
    echo "SLURM cluster in $DIR stopped and removed"
}

logs() {
    local f
    for f in "$DIR"/slurmctld.log "$DIR"/slurmd.log "$DIR"/munged.log "$DIR"/jobcomp.txt; do
        [ -e "$f" ] || continue
        echo "===== $f (last 200 lines) ====="
        tail -n 200 "$f"
    done
}

case "${1:-}" in
    install) install ;;
    up)
        # A cluster this script started earlier whose run was killed before its teardown (a CI
        # run stopped mid-study on the same machine): its daemons hold the ports and its pid
        # files block a new start.  It is ours (pid files in $DIR, a marked slurm.conf): stop it.
        if [ -e "$DIR/slurmctld.pid" ] || [ -e "$DIR/slurmd.pid" ] || [ -e "$DIR/munged.pid" ]; then
            echo "cluster.sh: a cluster left in $DIR by an earlier run (not torn down): stopping it"
            down
        fi
        # A failed start prints the logs and stops whatever it started (own process, so
        # that `set -e` stays in force inside up()).
        if ! bash "$0" _up; then logs; down; die "cluster start failed"; fi ;;
    _up) up ;;
    down) down ;;
    logs) logs ;;
    jobs) scontrol show job --oneliner ;;
    *) die "usage: $0 install|up|jobs|logs|down" ;;
esac
