#!/bin/bash
# Smoke test: `bosh run-errand errand-logs` prints what it says.

set -e

LOG_DIR=/var/vcap/sys/log/errand-logs
mkdir -p "$LOG_DIR"

exec > >(tee -a "$LOG_DIR/run.log") 2>&1

echo "probing the service"
/var/vcap/packages/probe/bin/probe --all
echo "smoke test passed"
