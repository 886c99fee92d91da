#!/usr/bin/env bash
# Start-up of Warden with the zero-configuration policy against the floor
# (see bench/README.md, "Start-up"):
#
#   bench/startup.sh [-n N] [-warden LABEL=BIN ...]
#
# Builds warden, the floor and the probe into bench/.cache/bin and prints a
# markdown table: process start → first tools/list result, median and p90
# over N interleaved starts per server. Extra -warden flags add other
# builds to the same run, e.g. -warden before=/tmp/warden-old.
set -euo pipefail

cd "$(dirname "$0")/.."
bin=$PWD/bench/.cache/bin # absolute: each server starts in its own directory
mkdir -p "$bin"
go build -o "$bin/warden" ./cmd/warden
go build -o "$bin/floor" ./bench/floor
go build -o "$bin/startup" ./bench/cmd/startup
exec "$bin/startup" -floor "$bin/floor" -warden "warden=$bin/warden" "$@"
