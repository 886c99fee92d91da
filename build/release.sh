#!/usr/bin/env bash
# Release builds of cmd/warden:
#
#   build/release.sh [VERSION]        VERSION defaults to `git describe`
#
# Writes bin/release/warden-VERSION-linux-amd64 (and -linux-arm64 when a C cross
# compiler for it is installed: libpg_query is C, so the build needs cgo,
# and cgo needs aarch64-linux-gnu-gcc to cross-compile), each stripped of
# its symbol table and DWARF (-s -w) and built with -trimpath, then
# bin/release/SHA256SUMS, and prints the size of each binary beside the unstripped
# build of the same target. The version is what `warden version` prints
# (cli.Version).
set -euo pipefail

cd "$(dirname "$0")/.."
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
dist=bin/release # /bin/ is in .gitignore
mkdir -p "$dist"
ldx="-X github.com/warden-dev/warden/internal/cli.Version=$version"

targets=(linux/amd64)
if [[ "$(go env GOARCH)" == arm64 ]] || command -v aarch64-linux-gnu-gcc >/dev/null; then
	targets+=(linux/arm64)
else
	echo "release.sh: skipping linux/arm64: cgo (libpg_query) needs aarch64-linux-gnu-gcc to cross-compile (apt-get install gcc-aarch64-linux-gnu)" >&2
fi

rows=()
built=()
for t in "${targets[@]}"; do
	goos=${t%/*} goarch=${t#*/}
	env=(GOOS="$goos" GOARCH="$goarch" CGO_ENABLED=1)
	if [[ "$goarch" != "$(go env GOARCH)" ]]; then
		env+=(CC="${goarch/arm64/aarch64}-linux-gnu-gcc")
	fi
	out=$dist/warden-$version-$goos-$goarch
	echo "release.sh: building $out" >&2
	env "${env[@]}" go build -trimpath -ldflags "-s -w $ldx" -o "$out" ./cmd/warden
	full=$(mktemp)
	env "${env[@]}" go build -trimpath -ldflags "$ldx" -o "$full" ./cmd/warden
	rows+=("| $goos/$goarch | $(stat -c %s "$out") | $(stat -c %s "$full") |")
	rm -f "$full"
	built+=("$(basename "$out")")
done

(cd "$dist" && sha256sum "${built[@]}" >SHA256SUMS)
echo "| target | stripped (bytes) | unstripped (bytes) |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "checksums: $dist/SHA256SUMS"
