#!/usr/bin/env bash
# Warden's HTTP benchmark (issue 5; see bench/README.md, "HTTP (issue 5)"):
#
#   bench/http.sh
#
# Runs BenchmarkHTTP (bench/httpbench): the same GET requests to one
# loopback upstream, directly with a Go http.Client and through Warden's
# pipeline, then prints a markdown table of the medians; a copy goes to
# bench/results/http-<time>.md and the raw output to
# bench/results/http-<time>.txt.
#
# The test binary is built once and run COUNT times, each run a full pass
# (-test.count=1), so that direct and warden alternate: a burst of load
# from elsewhere on the machine hits both alike.
#
# Environment:
#   COUNT=5         rounds (runs of the test binary)
#   BENCHTIME=1s    -test.benchtime of each sub-benchmark
#   BENCH=...       the -test.bench pattern (default: BenchmarkHTTP, all of it;
#                   BenchmarkHTTP/serial leaves out the parallel mode)
#   PROFILE=1       also write a CPU profile to bench/results/http.cpu.pprof
#                   (of the last round); narrow BENCH to one path, e.g.
#                   PROFILE=1 COUNT=1 BENCHTIME=10s BENCH=BenchmarkHTTP/serial/item/warden bench/http.sh
#                   go tool pprof -top bench/.cache/bin/httpbench.test bench/results/http.cpu.pprof
set -euo pipefail

cd "$(dirname "$0")/.."
count=${COUNT:-5}
benchtime=${BENCHTIME:-1s}
bench=${BENCH:-BenchmarkHTTP}
cache=bench/.cache
results=bench/results
mkdir -p "$cache/bin" "$results"

# The revision measured; "-dirty" when files outside bench/ differ from it.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ]]; then
	rev=$rev-dirty
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
started=$(date -u '+%Y-%m-%d %H:%M')
raw=$results/http-$stamp.txt
out=$results/http-$stamp.md
extra=()
if [[ "${PROFILE:-}" == 1 ]]; then
	extra=(-test.cpuprofile "$PWD/$results/http.cpu.pprof")
fi

go build -o "$cache/bin/httpreport" ./bench/httpbench/cmd/httpreport
go test -c -o "$cache/bin/httpbench.test" ./bench/httpbench/
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cmd=("$cache/bin/httpbench.test" -test.run '^$' -test.bench "$bench" -test.benchtime="$benchtime" -test.count=1 "${extra[@]}")
echo "http.sh: $count rounds of: ${cmd[*]}" >&2
status=0
: >"$raw"
for ((i = 1; i <= count; i++)); do
	echo "http.sh: round $i of $count" >&2
	"${cmd[@]}" 2>&1 | tee -a "$raw" >&2 || status=$?
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$cache/bin/httpreport" -in "$raw" -out "$out" \
	-note "started ${started} UTC, revision $rev, $(nproc) CPUs ($(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1)), $(go env GOVERSION)" \
	-note "load average ${load_before} before, ${load_after} after" \
	-note "\`COUNT=$count BENCHTIME=$benchtime BENCH=$bench bench/http.sh\`: $count × \`${cmd[*]}\`" || status=$?
echo "http.sh: report saved to $out (raw output: $raw)" >&2
exit "$status"
