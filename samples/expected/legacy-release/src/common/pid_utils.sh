# Pidfile helpers in the style of diego and capi (written for these samples); no side effects.

function pid_is_running() {
  ps -p "$1" >/dev/null 2>&1
}

# pid_guard PIDFILE NAME: exit 1 when PIDFILE names a running process, remove it when stale.
function pid_guard() {
  declare file="$1" label="$2"
  [ -f "${file}" ] || return 0
  if pid_is_running "$(head -1 "${file}")"; then
    echo "${label} is already running, please stop it first"
    exit 1
  fi
  rm "${file}"
}

# wait_pid_death PID TIMEOUT: 0 when PID is gone within TIMEOUT seconds, else 1.
function wait_pid_death() {
  declare target="$1" limit="$2"
  local ticks=$(( limit * 10 ))
  while pid_is_running "${target}"; do
    [ "${ticks}" -gt 0 ] || return 1
    ticks=$(( ticks - 1 ))
    sleep 0.1
  done
}

# kill_and_wait PIDFILE [TIMEOUT=25] [SIGKILL_ON_TIMEOUT=1]: TERM, wait, KILL; ends the script.
function kill_and_wait() {
  declare file="$1" limit="${2:-25}" force="${3:-1}"
  if [ ! -f "${file}" ]; then
    echo "Pidfile ${file} doesn't exist"
    exit 0
  fi
  local target
  target=$(head -1 "${file}")
  if ! pid_is_running "${target}"; then
    rm -f "${file}"
    exit 0
  fi
  kill "${target}"
  if ! wait_pid_death "${target}" "${limit}" && [ "${force}" = 1 ]; then
    kill -9 "${target}"
    sleep 0.5
  fi
  if pid_is_running "${target}"; then
    echo "Timed out stopping ${target}"
    exit 1
  fi
  rm -f "${file}"
  exit 0
}

function running_in_container() {
  grep -q -E '/instance|/docker/' /proc/self/cgroup
}
