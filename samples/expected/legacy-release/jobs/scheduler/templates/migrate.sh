#!/bin/bash
# Run by operators after an upgrade: migrates the schedule store.

LOG_DIR=/var/vcap/sys/log/scheduler
mkdir -p "$LOG_DIR"

/var/vcap/packages/scheduler/bin/scheduler migrate >> "$LOG_DIR/migrate.log" 2>&1

echo "migration finished"
