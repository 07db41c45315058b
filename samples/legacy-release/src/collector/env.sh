# Settings the collector package ships for the scripts that run it.
export COLLECTOR_LOG_DIR=/var/vcap/sys/log/guarded-syslog
