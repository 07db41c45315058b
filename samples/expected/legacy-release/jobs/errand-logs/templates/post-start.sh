#!/usr/bin/env bash

set -eo pipefail

/var/vcap/packages/probe/bin/probe --ready
echo "service is ready"
