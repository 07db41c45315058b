#!/bin/bash
# bbr backup: dump the service's state into the artifact folder BBR gives us.

set -eu

LOG_DIR=/var/vcap/sys/log/errand-logs

/var/vcap/packages/probe/bin/probe --dump "$BBR_ARTIFACT_DIRECTORY/state.json" 2>&1 | tee -a "$LOG_DIR/backup.log" | logger -t vcap.errand-logs.backup
