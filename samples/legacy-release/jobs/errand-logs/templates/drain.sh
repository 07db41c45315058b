#!/bin/bash
# Drain: hand the node's work over, then tell BOSH to go on (no wait).

LOG_DIR=/var/vcap/sys/log/errand-logs

exec 2> >(tee -a "$LOG_DIR/drain.stderr.log" | logger -p user.error -t vcap.errand-logs.drain)

/var/vcap/packages/probe/bin/probe --hand-over >> "$LOG_DIR/drain.log"
echo 0
