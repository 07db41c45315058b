#!/bin/bash
# Smoke test: `bosh run-errand errand-logs` prints what it says.

set -e

LOG_DIR=/var/vcap/sys/log/errand-logs
mkdir -p "$LOG_DIR"

# Everything goes to our log file and to syslog.
exec > >(tee -a "$LOG_DIR/run.log" | logger -t vcap.errand-logs.run) 2>&1

echo "probing the service"
/var/vcap/packages/probe/bin/probe --all
echo "smoke test passed"
