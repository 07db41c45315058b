#!/bin/bash
# Process helpers of the tuned-index job, kept in bin/ next to the control script that sources
# them. Nothing here runs on its own: it only defines functions.

process_alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

pid_guard() {
  local file="$1" label="$2"
  if [ -s "$file" ] && process_alive "$(cat "$file")"; then
    echo "$label is running already (pid $(cat "$file"))"
    exit 1
  fi
  rm -f "$file"
}

kill_and_wait() {
  local file="$1" grace="${2:-15}"
  [ -s "$file" ] || return 0
  local pid
  pid="$(cat "$file")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq "$grace"); do
    process_alive "$pid" || break
    sleep 1
  done
  if process_alive "$pid"; then
    kill -9 "$pid"
  fi
  rm -f "$file"
}
