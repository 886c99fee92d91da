#!/usr/bin/env bash
# Installs the official MCP TypeScript SDK, pinned with integrity hashes by
# package-lock.json beside this script, for the e2e test
# TestTypeScriptSDKClient (internal/e2e/tsclient_test.go), which looks for it
# in the same place: $WARDEN_CI_CACHE/tsclient, by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/warden-ci/tsclient; npm's download cache is
# $WARDEN_CI_CACHE/npm, shared with conformance/run.sh. The client runs on the
# node in PATH (the SDK needs Node 18 or later).
#
# Nothing is done when the same lock is already installed. It installs into a
# new directory and renames it, so an interrupted install is never mistaken
# for a complete one.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
cache=${WARDEN_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/warden-ci}
install_dir=$cache/tsclient

# The test compares this stamp with the files in the checkout.
stamp=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ -f $install_dir/.stamp && $(cat "$install_dir/.stamp") == "$stamp" ]]; then
	echo "tsclient: already installed in $install_dir"
	exit 0
fi
command -v npm >/dev/null || { echo "tsclient: npm not found" >&2; exit 1; }
tmp=$install_dir.new.$$
rm -rf -- "$tmp" && mkdir -p -- "$tmp" "$cache/npm"
trap 'rm -rf -- "$tmp"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline \
	--loglevel=warn --cache "$cache/npm")
echo "$stamp" >"$tmp/.stamp"
rm -rf -- "$install_dir" && mv -- "$tmp" "$install_dir"
echo "tsclient: installed $(cd "$install_dir" && node -p 'JSON.parse(require("fs").readFileSync("node_modules/@modelcontextprotocol/sdk/package.json")).version' 2>/dev/null || echo '?') in $install_dir"
