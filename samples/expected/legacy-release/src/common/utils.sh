#!/bin/bash
# Control-script helpers in the style of the old cf-release utils.sh (written for these samples).
# Note: sourcing this file also fans the script's output out to syslog and to stamped files in
# $LOG_DIR, which the script sets before sourcing it.

exec > >(tee -a >(logger -p user.info -t vcap.$(basename $0).stdout) | awk -W interactive '{ system("echo -n [$(date +\"%Y-%m-%d %H:%M:%S%z\")]"); print " " $0 }' >> $LOG_DIR/$(basename $0).log)
exec 2> >(tee -a >(logger -p user.error -t vcap.$(basename $0).stderr) | awk -W interactive '{ system("echo -n [$(date +\"%Y-%m-%d %H:%M:%S%z\")]"); print " " $0 }' >> $LOG_DIR/$(basename $0).err.log)

# pid_guard PIDFILE NAME: stop the script when PIDFILE names a live process; drop a stale one.
pid_guard() {
  local file=$1 label=$2
  [ -f "$file" ] || return 0
  local old
  old=$(head -1 "$file")
  if [ -n "$old" ] && [ -e "/proc/$old" ]; then
    echo "$label is already running, please stop it first"
    exit 1
  fi
  echo "Removing stale pidfile $file"
  rm "$file"
}

# wait_pid PID KILL TIMEOUT FORCE: optionally TERM the pid, wait TIMEOUT seconds, then KILL if FORCE.
wait_pid() {
  local target=$1 send_term=$2 limit=${3:-0} force=${4:-0}
  local ticks=$(( limit * 10 ))
  if [ ! -e "/proc/$target" ]; then
    echo "Process $target is not running"
    return 0
  fi
  [ "$send_term" = 1 ] && kill "$target"
  while [ -e "/proc/$target" ]; do
    sleep 0.1
    [ "$limit" -gt 0 ] || continue
    ticks=$(( ticks - 1 ))
    if [ "$ticks" -le 0 ]; then
      if [ "$force" = 1 ]; then
        echo "Timed out waiting for $target, sending KILL"
        kill -9 "$target"
        sleep 0.5
      fi
      break
    fi
  done
}

# wait_pidfile PIDFILE KILL TIMEOUT FORCE: wait_pid on the pid in PIDFILE, then remove PIDFILE.
wait_pidfile() {
  local file=$1
  if [ ! -f "$file" ]; then
    echo "Pidfile $file doesn't exist"
    return 0
  fi
  local target
  target=$(head -1 "$file")
  [ -n "$target" ] || { echo "No pid in $file"; exit 1; }
  wait_pid "$target" "$2" "$3" "$4"
  rm -f "$file"
}

# kill_and_wait PIDFILE [TIMEOUT=25] [FORCE=1]
kill_and_wait() {
  wait_pidfile "$1" 1 "${2:-25}" "${3:-1}"
}

# check_mount OPTIONS EXPORT MOUNT_POINT: mount an NFS export unless it is mounted.
check_mount() {
  if grep -qs "$3" /proc/mounts; then
    return 0
  fi
  mount $1 "$2" "$3" || { echo "Cannot mount $2 on $3"; exit 1; }
}
