# This job's own syslog helpers. Same file name as the widely copied syslog_utils.sh, different
# contents: it only sends single status lines to syslog, it never redirects the script's output.

syslog_status() {
  logger -p user.notice -t "vcap.own-syslog-utils" -- "$*"
}
