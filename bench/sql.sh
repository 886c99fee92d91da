#!/usr/bin/env bash
# Warden's SQL benchmark (issue 4; see bench/README.md, "SQL (issue 4)"):
#
#   bench/sql.sh
#
# Runs BenchmarkSQL (bench/sqlbench): the same read queries directly
# through the driver and through Warden's pipeline, for SQLite and a
# throwaway PostgreSQL server, then prints a markdown table of the medians;
# a copy goes to bench/results/sql-<time>.md and the raw go test output to
# bench/results/sql-<time>.txt.
#
# Environment:
#   COUNT=5         runs of each sub-benchmark (go test -count)
#   BENCHTIME=1s    go test -benchtime
#   BENCH=...       the -bench pattern (default: BenchmarkSQL, all of it)
#   PROFILE=1       also write a CPU profile to bench/results/sql.cpu.pprof;
#                   narrow BENCH to one path, e.g.
#                   PROFILE=1 BENCH=BenchmarkSQL/postgres/scan-10000/warden bench/sql.sh
#                   go tool pprof -top bench/.cache/bin/sqlbench.test bench/results/sql.cpu.pprof
set -euo pipefail

cd "$(dirname "$0")/.."
count=${COUNT:-5}
benchtime=${BENCHTIME:-1s}
bench=${BENCH:-BenchmarkSQL}
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
raw=$results/sql-$stamp.txt
out=$results/sql-$stamp.md
extra=()
if [[ "${PROFILE:-}" == 1 ]]; then
	extra=(-cpuprofile "$PWD/$results/sql.cpu.pprof" -o "$cache/bin/sqlbench.test")
fi

go build -o "$cache/bin/sqlreport" ./bench/sqlbench/cmd/sqlreport
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cmd=(go test -run '^$' -bench "$bench" -benchtime="$benchtime" -count="$count" "${extra[@]}" ./bench/sqlbench/)
echo "sql.sh: ${cmd[*]}" >&2
status=0
"${cmd[@]}" 2>&1 | tee "$raw" >&2 || status=$?
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

pgbin=$(command -v postgres || true)
if [[ -z "$pgbin" ]]; then
	for p in /usr/lib/postgresql/*/bin/postgres; do
		if [[ -x "$p" ]]; then pgbin=$p; fi
	done
fi
pg=
if [[ -n "$pgbin" ]]; then
	pg=$("$pgbin" --version 2>/dev/null | head -n1 || true)
fi
"$cache/bin/sqlreport" -in "$raw" -out "$out" \
	-note "started ${started} UTC, revision $rev, $(nproc) CPUs ($(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1)), $(go env GOVERSION)" \
	-note "load average ${load_before} before, ${load_after} after" \
	-note "${pg:-postgres version unknown}; $(go list -m github.com/ncruces/go-sqlite3 github.com/jackc/pgx/v5 | tr '\n' ' ')" \
	-note "\`${cmd[*]}\`" || status=$?
echo "sql.sh: report saved to $out (raw output: $raw)" >&2
exit "$status"
