#!/usr/bin/env bash

set -eo pipefail

function stamp_lines() {
  awk -W interactive '{ system("echo -n [$(date +%FT%T%z)]"); print " " $0 }'
}

# Keep the agent's own streams, with a timestamp on every line.
exec \
    3>&1 \
    4>&2 \
    1> >(stamp_lines >&3) \
    2> >(stamp_lines >&4)

/var/vcap/packages/probe/bin/probe --ready
echo "service is ready"
