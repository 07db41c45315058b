#!/bin/bash
# Run by operators after an upgrade: migrates the schedule store.

LOG_DIR=/var/vcap/sys/log/scheduler
mkdir -p "$LOG_DIR"

/var/vcap/packages/scheduler/bin/scheduler migrate 2>&1 | tee -a "$LOG_DIR/migrate.log" | logger -t vcap.scheduler.migrate

echo "migration finished"
