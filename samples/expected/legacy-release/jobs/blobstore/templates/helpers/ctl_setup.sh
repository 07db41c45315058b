#!/usr/bin/env bash
# Environment and folders for a control script (bosh-gen style, written for these samples).
# Usage: source /var/vcap/jobs/<job>/helpers/ctl_setup.sh <job> [output label]

set -e
set -u

JOB_NAME=$1
output_label=${2:-${JOB_NAME}}

export JOB_DIR=/var/vcap/jobs/$JOB_NAME
chmod 755 $JOB_DIR

source $JOB_DIR/helpers/ctl_utils.sh
redirect_output ${output_label}

export HOME=${HOME:-/home/vcap}

# every package's bin folder on PATH
for package_bin_dir in $(ls -d /var/vcap/packages/*/*bin 2>/dev/null); do
  export PATH=${package_bin_dir}:$PATH
done

export RUN_DIR=/var/vcap/sys/run/$JOB_NAME
export LOG_DIR=/var/vcap/sys/log/$JOB_NAME
export TMP_DIR=/var/vcap/sys/tmp/$JOB_NAME
export STORE_DIR=/var/vcap/store/$JOB_NAME
for dir in $RUN_DIR $LOG_DIR $TMP_DIR $STORE_DIR; do
  mkdir -p ${dir}
  chown vcap:vcap ${dir}
  chmod 775 ${dir}
done
export TMPDIR=$TMP_DIR

PIDFILE=$RUN_DIR/$output_label.pid
