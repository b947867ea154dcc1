#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the SLURM executor's specs and for
# trying `run.lua sweep --executor slurm` without a real cluster. Needs root and Debian's
# packages (apt-get install slurmctld slurmd slurm-client munge); no systemd.
#
#    scripts/slurm_local.sh start     # munged, slurmctld, slurmd; waits until the node is idle
#    eval "$(scripts/slurm_local.sh env)"   # points sbatch, squeue, ... at it (SLURM_CONF)
#    scripts/slurm_local.sh status    # each daemon and the node's state; exit 0 when all are up
#    scripts/slurm_local.sh stop      # cancels its jobs, shuts it down, waits until no daemon is left
#
# Everything it writes (config, munge socket and key, state, spool, logs, pid files) lives
# under $DEEPOBS_SLURM_DIR (default /tmp/deepobs-slurm), and it listens on its own ports
# ($DEEPOBS_SLURM_PORT and the next one, default 16817), so it does not touch a
# system-wide SLURM or munge. The node is this machine as `slurmd -C` reports it (real
# CPUs and memory), named "localhost"; one partition "debug". Process tracking by the
# process tree (proctrack/linuxproc) and no task plugin, so no cgroups are needed; no
# accounting (sacct does not work: use squeue / scontrol). start and stop are idempotent.
set -euo pipefail
# the daemons run as installed: not with a library the caller preloads (the sanitizer
# runtime that `make test-asan` preloads makes pgrep hang)
unset LD_PRELOAD

DIR=${DEEPOBS_SLURM_DIR:-/tmp/deepobs-slurm}
PORT=${DEEPOBS_SLURM_PORT:-16817}
START_TIMEOUT=${DEEPOBS_SLURM_START_TIMEOUT:-30}
REQUEUE_DELAY=${DEEPOBS_SLURM_REQUEUE_DELAY:-5}
CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket
MUNGE_PID=$DIR/munge/munged.pid
CTLD_PID=$DIR/run/slurmctld.pid
SLURMD_PID=$DIR/run/slurmd.pid
export SLURM_CONF=$CONF

die() {
   echo "slurm_local.sh: $*" >&2
   exit 1
}

# a start that failed: why, the logs, and nothing left running
start_failed() {
   {
      echo "slurm_local.sh: $*"
      log_tails
   } >&2
   cmd_stop >/dev/null 2>&1 || true
   exit 1
}

# the last lines of every log, for an error message
log_tails() {
   local f
   for f in "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" "$DIR/munge/munged.log"; do
      [ -s "$f" ] || continue
      echo "--- last lines of $f:"
      tail -n 15 "$f"
   done
}

pid_alive() { # pid file -> true when its process runs
   local pid
   [ -f "$1" ] || return 1
   pid=$(cat "$1" 2>/dev/null) || return 1
   [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# the daemons of this cluster still running: their command lines name files under $DIR
our_daemons() { pgrep -a -f "(munged|slurmctld|slurmd) .*$DIR/" 2>/dev/null || true; }

controller_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }

node_state() { { sinfo -h -N -n localhost -o %T 2>/dev/null || true; } | head -n 1; }

check_prerequisites() {
   [ "$(id -u)" = 0 ] || die "must run as root (munged runs as the munge user, the SLURM daemons as root)"
   local missing="" b
   for b in munged munge unmunge slurmctld slurmd sinfo scontrol sbatch squeue scancel; do
      command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
   done
   [ -z "$missing" ] || die "not found on PATH:$missing (apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge)"
   id munge >/dev/null 2>&1 || die "no munge user (the munge package creates it)"
}

# munged refuses a socket folder that others can write to or cannot enter
prepare_folders() {
   mkdir -p "$DIR"/{etc,state,spool,log,run,munge}
   chmod 0755 "$DIR" "$DIR/etc"
   chown munge:munge "$DIR/munge"
   chmod 0755 "$DIR/munge"
}

munge_key() {
   if [ -r /etc/munge/munge.key ] && [ "$(stat -c %U /etc/munge/munge.key)" = munge ]; then
      echo /etc/munge/munge.key
      return
   fi
   local key=$DIR/munge/munge.key
   if [ ! -s "$key" ]; then
      if command -v mungekey >/dev/null 2>&1; then
         runuser -u munge -- mungekey --create --keyfile="$key" >/dev/null
      else
         dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
         chown munge:munge "$key"
      fi
      chmod 0400 "$key"
   fi
   echo "$key"
}

write_config() {
   local hw host
   # "NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105": the fields after the name
   hw=$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]* //')
   host=$(hostname -s)
   cat >"$CONF" <<EOF
# written by scripts/slurm_local.sh; rewritten on every start
ClusterName=deepobs
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s)
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=$REQUEUE_DELAY
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=30
# start the next job as soon as one ends (by default up to 3 s later), and a requeued one
# soon after cred_expire (by default the backfill pass that starts it runs every 30 s)
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_interval=2
MailProg=/bin/true
PlugStackConfig=$DIR/etc/plugstack.conf
NodeName=localhost NodeHostname=$host NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
   : >"$DIR/etc/plugstack.conf"
}

start_munged() {
   if pid_alive "$MUNGE_PID"; then return; fi
   local key
   key=$(munge_key)
   rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
   runuser -u munge -- munged --socket="$MUNGE_SOCKET" --pid-file="$MUNGE_PID" \
      --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" --key-file="$key" \
      || start_failed "munged did not start"
   munge -n --socket="$MUNGE_SOCKET" | unmunge --socket="$MUNGE_SOCKET" >/dev/null \
      || start_failed "munged runs but 'munge -n | unmunge' fails"
}

wait_until_up() {
   local waited=0 state
   while :; do
      state=$(node_state)
      case "$state" in
      idle | mixed | allocated | completing) return 0 ;;
      esac
      if [ "$waited" -ge $((START_TIMEOUT * 10)) ]; then
         start_failed "the node is not up after ${START_TIMEOUT}s (state: '${state:-no answer from slurmctld}')"
      fi
      sleep 0.1
      waited=$((waited + 1))
   done
}

cmd_start() {
   check_prerequisites
   if pid_alive "$CTLD_PID" && pid_alive "$SLURMD_PID" && pid_alive "$MUNGE_PID" && controller_up; then
      echo "slurm_local.sh: already running (node $(node_state)); export SLURM_CONF=$CONF"
      return
   fi
   prepare_folders
   write_config
   start_munged
   if ! pid_alive "$CTLD_PID"; then
      slurmctld -f "$CONF" || start_failed "slurmctld did not start"
   fi
   if ! pid_alive "$SLURMD_PID"; then
      slurmd -f "$CONF" -N localhost || start_failed "slurmd did not start"
   fi
   wait_until_up
   echo "slurm_local.sh: up: node localhost $(node_state) ($(sinfo -h -N -n localhost -o '%c CPUs, %m MB')), partition debug; export SLURM_CONF=$CONF"
}

# waits up to $2 tenths of a second until the process of pid file $1 has ended
wait_gone() {
   local pid n=0
   pid=$(cat "$1" 2>/dev/null) || return 0
   while kill -0 "$pid" 2>/dev/null; do
      [ "$n" -lt "$2" ] || return 1
      sleep 0.1
      n=$((n + 1))
   done
}

# the pid file's process: asked to end, then killed if it does not
end_daemon() {
   local pid
   pid_alive "$1" || return 0
   pid=$(cat "$1")
   kill -TERM "$pid" 2>/dev/null || true
   wait_gone "$1" 100 || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$1" 50 || true; }
}

cmd_stop() {
   if [ -z "$(our_daemons)" ]; then
      echo "slurm_local.sh: not running"
      return
   fi
   # slurmctld's helper (slurmscriptd) names no file of ours: known by its parent
   local helpers="" left pid n=0
   if pid_alive "$CTLD_PID"; then helpers=$(pgrep -P "$(cat "$CTLD_PID")" | tr '\n' ' ' || true); fi
   if controller_up; then
      # jobs left running would outlive the daemons: cancel them (SIGTERM, then SIGKILL
      # after KillWait) and wait until they are gone
      if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
         echo "slurm_local.sh: cancelling $(squeue -h -o %i | wc -l) job(s)"
         scancel --full --state=PENDING 2>/dev/null || true
         scancel --full 2>/dev/null || true
         while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ "$n" -lt 450 ]; do
            sleep 0.1
            n=$((n + 1))
         done
      fi
      scontrol shutdown >/dev/null 2>&1 || true
   fi
   wait_gone "$CTLD_PID" 150 || true
   wait_gone "$SLURMD_PID" 150 || true
   end_daemon "$CTLD_PID"
   end_daemon "$SLURMD_PID"
   if pid_alive "$MUNGE_PID"; then
      munged --stop --socket="$MUNGE_SOCKET" >/dev/null 2>&1 || true
      wait_gone "$MUNGE_PID" 50 || end_daemon "$MUNGE_PID"
   fi
   # a daemon that never wrote its pid file (slurmd before it registers): known by its
   # command line, which names this cluster's files
   for pid in $(our_daemons | cut -d ' ' -f 1); do
      kill -TERM "$pid" 2>/dev/null || true
   done
   n=0
   while [ -n "$(our_daemons)" ] && [ "$n" -lt 100 ]; do
      sleep 0.1
      n=$((n + 1))
   done
   for pid in $(our_daemons | cut -d ' ' -f 1); do
      kill -KILL "$pid" 2>/dev/null || true
   done
   for pid in $helpers; do
      n=0
      while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 50 ]; do
         sleep 0.1
         n=$((n + 1))
      done
      if grep -qs slurmscriptd "/proc/$pid/cmdline"; then kill -KILL "$pid" 2>/dev/null || true; fi
   done
   left=$(our_daemons)
   for pid in $helpers; do
      if grep -qs slurmscriptd "/proc/$pid/cmdline"; then left="$left $pid slurmscriptd"; fi
   done
   [ -z "$left" ] || die "daemons still running after stop:
$left"
   echo "slurm_local.sh: stopped; no munged, slurmctld or slurmd of $DIR is left"
}

cmd_status() {
   local up=0 name file
   for name in munged slurmctld slurmd; do
      case $name in
      munged) file=$MUNGE_PID ;;
      slurmctld) file=$CTLD_PID ;;
      slurmd) file=$SLURMD_PID ;;
      esac
      if pid_alive "$file"; then
         echo "$name: running (pid $(cat "$file"))"
         up=$((up + 1))
      else
         echo "$name: not running"
      fi
   done
   if controller_up; then
      echo "node localhost: $(node_state); SLURM_CONF=$CONF"
   fi
   [ "$up" = 3 ] && controller_up
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
   echo "usage: $0 start|stop|status|env  (folder: \$DEEPOBS_SLURM_DIR, default /tmp/deepobs-slurm)" >&2
   exit 2
   ;;
esac
