#!/usr/bin/env bash
# Warden's load test under SIGKILLs and a full disk (issue 12; see
# bench/README.md, "Load, kills and a full disk"):
#
#   sudo bench/load.sh [loadchaos flags]     e.g. bench/load.sh -duration 120s
#
# Builds warden and bench/cmd/loadchaos into bench/.cache/bin, then runs
# loadchaos: 32 MCP sessions over streamable HTTP for 60 s against
# warden serve --http on loopback, the server SIGKILLed every 10-20 s and
# a 256 MiB tmpfs filled and freed, then the checks (audit verify, every
# acknowledged write present, no temporary files left, SQLite integrity).
# Prints a markdown report; a copy goes to bench/results/load-<time>.md.
# Mounting the tmpfs needs root; -no-tmpfs runs without the full disk.
# Exits 1 when a check failed.
set -euo pipefail

cd "$(dirname "$0")/.."
bin=bench/.cache/bin
results=bench/results
mkdir -p "$bin" "$results"

echo "load.sh: building" >&2
go build -o "$bin/warden" ./cmd/warden
go build -o "$bin/loadchaos" ./bench/cmd/loadchaos

# The revision measured; "-dirty" when files outside bench/ differ from it.
# REV=... names it when the tree is not a git checkout (an export).
rev=${REV:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [[ -z "${REV:-}" && -n "$(git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ]]; then
	rev=$rev-dirty
fi

out=$results/load-$(date -u +%Y%m%dT%H%M%SZ).md
status=0
"$bin/loadchaos" -warden "$bin/warden" -out "$out" \
	-note "revision $rev, $(nproc) CPUs ($(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1)), $(go env GOVERSION), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start" \
	"$@" || status=$?
echo "load.sh: report saved to $out" >&2
exit "$status"
