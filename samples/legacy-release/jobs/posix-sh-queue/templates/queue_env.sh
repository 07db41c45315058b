# Sourced by queue_ctl (a POSIX sh script): the settings the queue reads from its environment.
QUEUE_HOME=/var/vcap/packages/queue
export QUEUE_HOME
queue_log() {
  echo "$(date +%FT%T) $*" >> /var/vcap/sys/log/queue/queue_ctl.log
}
