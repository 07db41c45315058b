# Log helpers the collector package ships for the scripts that run it.
# tee_output_to_sys_log LOG_DIR sends the calling script's stdout and stderr to syslog and to
# LOG_DIR/<script>.log and LOG_DIR/<script>.err.log; it does nothing without a log folder.

function tee_output_to_sys_log() {
  declare log_dir="$1"

  if [ "$log_dir" = "" ] ; then
    return 1
  fi

  if [ ! -e "$log_dir" ] ; then
    return 2
  fi

  local log_basename
  log_basename="$(basename "$0")"

  exec > >(tee -a >(logger -p user.info -t "vcap.${log_basename}.stdout") | prepend_datetime >>"${log_dir}/${log_basename}.log")
  exec 2> >(tee -a >(logger -p user.error -t "vcap.${log_basename}.stderr") | prepend_datetime >>"${log_dir}/${log_basename}.err.log")
}

function prepend_datetime() {
  awk -W interactive '{ system("echo -n [$(date +\"%Y-%m-%d %H:%M:%S%z\")]"); print " " $0 }'
}
