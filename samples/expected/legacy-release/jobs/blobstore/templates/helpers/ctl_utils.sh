# Helper functions for control scripts (bosh-gen style, written for these samples).

# redirect_output LABEL: append this script's output to the monit log folder
redirect_output() {
  mkdir -p /var/vcap/sys/log/monit
  exec 1>> /var/vcap/sys/log/monit/$1.log
  exec 2>> /var/vcap/sys/log/monit/$1.err.log
}

# pid_guard PIDFILE NAME: exit when PIDFILE names a live process, drop it when stale
pid_guard() {
  local file=$1 label=$2
  if [ -f "$file" ]; then
    local old=$(head -1 "$file")
    if [ -n "$old" ] && [ -e /proc/$old ]; then
      echo "$label is already running, please stop it first"
      exit 1
    fi
    rm "$file"
  fi
}

# wait_pid PID TIMEOUT: wait up to TIMEOUT seconds for PID to exit, then KILL it
wait_pid() {
  local target=$1 ticks=$(( ${2:-25} * 10 ))
  while [ -e /proc/$target ]; do
    ticks=$(( ticks - 1 ))
    if [ $ticks -le 0 ]; then
      kill -9 $target
      break
    fi
    sleep 0.1
  done
}

# kill_and_wait PIDFILE [TIMEOUT=25]: TERM the pid in PIDFILE, wait, KILL, remove PIDFILE
kill_and_wait() {
  local file=$1
  if [ -f "$file" ]; then
    local target=$(head -1 "$file")
    kill $target 2>/dev/null || true
    wait_pid $target ${2:-25}
    rm -f "$file"
  else
    echo "Pidfile $file doesn't exist"
  fi
}
