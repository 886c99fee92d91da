#!/usr/bin/env bash
# Warden's engine benchmarks, the current work tree against a base commit,
# side by side on this machine (see bench/README.md):
#
#   bench/engine.sh [BASE]
#
# BASE is any commit; by default `git merge-base HEAD origin/main` when
# origin/main exists, else HEAD. The current side is the work tree as it
# is, uncommitted changes included. The base is checked out into a
# temporary `git worktree`, removed when the script exits.
#
# The benchmarks, those of the call pipeline (decision, connector, audit)
# and of policy evaluation:
#   internal/engine  BenchmarkCall      engine.Call in process: arguments,
#                                       policy, fs connector, result, audit
#                                       record (audit=true) or none (false)
#                    BenchmarkWalkDirFloor  control: a plain filepath.WalkDir
#   internal/policy  BenchmarkEvaluate  Policy.Evaluate on 1,000 grants
#   internal/e2e     BenchmarkMCPRead   warden: a 4 KiB read through the MCP
#                                       server and the engine, in memory;
#                                       bare: control, a bare SDK server
# Left out: BenchmarkWrite (its time is fsync, the disk, not CPU; add it with
# BENCH), BenchmarkCompile (start-up, not per call) and the benchmarks of
# single packages (audit, journal, connector/fs, glob, redact ...).
#
# Each package's test binary is built once per side, then run COUNT rounds,
# base and current one after the other and the order swapped every round
# (base current, current base, ...), so that drift on the machine hits both
# sides alike. Each run is
#   PKG.test -test.run '^$' -test.bench PATTERN -test.benchmem -test.cpu 1 -test.count 1
# The benchmarks report no CPU time, so the figure is go test's ns/op, wall
# clock, with GOMAXPROCS=1 (-test.cpu 1): on one P the time per call is
# close to its CPU time, and a 2-CPU machine leaves the other CPU to the
# runtime and the rest of the system. Other load on the machine still
# counts: the report gives the load average before and after, the spread of
# each row, and the ratio of the control rows, which should be 1.00.
#
# It prints a markdown table (bench/cmd/enginereport): per benchmark the
# medians of base and current, their spread, current/base and allocs/op,
# then benchstat's comparison of the times (golang.org/x/perf/cmd/benchstat through the
# Go module proxy; skipped with a note when it cannot be had). A copy goes
# to bench/results/engine-<time>.md, the raw output to
# bench/results/engine-<time>-base.txt and -current.txt.
#
# Environment:
#   COUNT=6        rounds
#   BENCHTIME=1s   -test.benchtime of each benchmark
#   CPU=1          -test.cpu (GOMAXPROCS of the benchmarks)
#   BENCH=...      one -test.bench pattern for all three packages instead of
#                  theirs, e.g. BENCH='^BenchmarkCall$/read' or
#                  BENCH='^(BenchmarkCall|BenchmarkWrite)$'
#   BENCHSTAT=0    skip benchstat
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }
case "${1:-}" in
-h | --help) usage; exit 0 ;;
-*) usage; exit 2 ;;
esac
if [[ $# -gt 1 ]]; then
	usage
	exit 2
fi

cd "$(dirname "$0")/.."
root=$PWD
count=${COUNT:-6}
benchtime=${BENCHTIME:-1s}
cpu=${CPU:-1}
benchstat=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
cache=bench/.cache
results=bench/results
mkdir -p "$cache/bin" "$results"

# package directory, then its -test.bench pattern.
sets=(
	internal/engine '^(BenchmarkCall|BenchmarkWalkDirFloor)$'
	internal/policy '^BenchmarkEvaluate$'
	internal/e2e '^BenchmarkMCPRead$'
)
control='WalkDirFloor|MCPRead/bare'

if [[ $# -eq 1 ]]; then
	base_ref=$1
elif git rev-parse -q --verify refs/remotes/origin/main >/dev/null; then
	base_ref=$(git merge-base HEAD origin/main)
else
	base_ref=HEAD
fi
base=$(git rev-parse -q --verify "$base_ref^{commit}") || {
	echo "engine.sh: $base_ref: not a commit" >&2
	exit 2
}
base_short=$(git rev-parse --short "$base")

# The revision measured; "-dirty" when files outside bench/ differ from it.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ]]; then
	rev=$rev-dirty
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/warden-engine-bench.XXXXXX")
wt=$tmp/base
cleanup() {
	if [[ -e $wt ]]; then
		git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 ||
			echo "engine.sh: could not remove the worktree $wt; \`git worktree prune\` drops it once the directory is gone" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "engine.sh: base $base_short ($base_ref), current: the work tree ($rev)" >&2
git worktree add --quiet --detach "$wt" "$base"

go build -o "$cache/bin/enginereport" ./bench/cmd/enginereport

# build SIDE TREE: one test binary per package into $tmp/SIDE-N.test.
build() {
	local side=$1 tree=$2 i
	for ((i = 0; i < ${#sets[@]}; i += 2)); do
		echo "engine.sh: building $side ${sets[i]}" >&2
		(cd "$tree" && go test -c -o "$tmp/$side-$i.test" "./${sets[i]}") || {
			echo "engine.sh: $side: ${sets[i]}: the tests do not build" >&2
			exit 1
		}
	done
}
build base "$wt"
build current "$root"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
started=$(date -u '+%Y-%m-%d %H:%M')
raw_base=$results/engine-$stamp-base.txt
raw_cur=$results/engine-$stamp-current.txt
out=$results/engine-$stamp.md
: >"$raw_base"
: >"$raw_cur"

# run SIDE ROUND I: one run of package set I's benchmarks, in its package
# directory as go test would, appended to the side's raw output.
status=0
run() {
	local side=$1 round=$2 i=$3 tree raw
	if [[ $side == base ]]; then tree=$wt raw=$raw_base; else tree=$root raw=$raw_cur; fi
	echo "engine.sh: round $round of $count: $side ${sets[i]}" >&2
	(cd "$tree/${sets[i]}" && "$tmp/$side-$i.test" -test.run '^$' -test.bench "${BENCH:-${sets[i + 1]}}" \
		-test.benchmem -test.cpu "$cpu" -test.benchtime "$benchtime" -test.count 1) >>"$raw" 2>&1 || {
		status=1
		echo "engine.sh: $side ${sets[i]} failed; see $raw" >&2
	}
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= count; r++)); do
	for ((i = 0; i < ${#sets[@]}; i += 2)); do
		if ((r % 2)); then
			run base "$r" "$i"
			run current "$r" "$i"
		else
			run current "$r" "$i"
			run base "$r" "$i"
		fi
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# Busy: more runnable work than the CPUs the benchmark leaves free.
busy=$(awk -v n="$(nproc)" -v cpu="$cpu" '{ if ($1 > n - cpu) print "yes" }' <<<"$load_before
$load_after")
load_note="load average ${load_before} before, ${load_after} after"
if [[ -n $busy ]]; then
	load_note+=" — **busy machine** (above $(nproc) CPUs less $cpu): other work slowed some runs more than others, so the spread is wide; measure again when it is quiet"
fi

patterns=
for ((i = 0; i < ${#sets[@]}; i += 2)); do
	patterns+="${patterns:+, }${sets[i]} \`${BENCH:-${sets[i + 1]}}\`"
done
"$cache/bin/enginereport" -base "$raw_base" -current "$raw_cur" -out "$out" -control "$control" \
	-title "Engine benchmarks: $rev (work tree) against $base_short" \
	-note "started ${started} UTC, base $base_short ($base_ref), current $rev, $(nproc) CPUs ($(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1)), $(go env GOVERSION)" \
	-note "$load_note" \
	-note "$count rounds, base and current alternating (order swapped each round), of \`PKG.test -test.run '^\$' -test.bench PATTERN -test.benchmem -test.cpu $cpu -test.benchtime $benchtime -test.count 1\`: ${patterns}" \
	-note "time per call: ns/op (wall clock) with GOMAXPROCS=$cpu; the benchmarks report no CPU time" ||
	status=1

if [[ "${BENCHSTAT:-1}" != 0 ]]; then
	if stat=$(cd "$tmp" && go run "$benchstat" -filter '.unit:sec/op' "base=$root/$raw_base" "current=$root/$raw_cur" 2>&1); then
		printf '\nbenchstat (%s):\n\n```\n%s\n```\n' "${benchstat#*/cmd/}" "$stat" | tee -a "$out"
	else
		printf '\nbenchstat could not be run (%s): %s\n' "$benchstat" "$(tail -n1 <<<"$stat")" | tee -a "$out"
	fi
fi
echo "engine.sh: report saved to $out (raw output: $raw_base, $raw_cur)" >&2
exit "$status"
