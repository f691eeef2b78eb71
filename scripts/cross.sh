#!/usr/bin/env bash
# cross.sh — build the static Lifeline binary for every OpenWrt architecture we ship,
# print a size table and fail when a size budget is exceeded.
#
#   scripts/cross.sh [TARGET...]        # default: all targets below
#
# TARGET is one of: amd64 arm64 armv7 armv5 mips mipsle
# Environment:
#   VERSION   version stamped into main.version (default: git describe --always --dirty)
#   PKG       the main package to build (default: ./cmd/lifeline)
#   DIST      output directory (default: dist)
#   BUDGET_<TARGET>=BYTES  override one budget, e.g. BUDGET_mipsle=$((5*1024*1024));
#             0 disables the check for that target.
#   XZBUDGET_<TARGET>=BYTES  the same for the xz -9e size (xz must be installed).
#
# Output: $DIST/lifeline-linux-<target> (stripped: -s -w plus LDEXTRA of targets.sh,
# no inlining in the packages of scripts/noinline.pkgs, -trimpath, CGO_ENABLED=0). The SIP-to-line gateway is part of every build.
# Exit status: 0 when all builds succeed within budget, 1 when a budget is exceeded,
# 2 when a build fails.
set -euo pipefail

cd "$(dirname "$0")/.."

MiB=$((1024 * 1024))

# Size budgets in bytes, of the stripped binary and of its xz -9e form. On a
# router the flash holds the binary in a squashfs compressed with xz (the xz
# column); the stripped size is what a copy in the RAM-backed /tmp costs.
#
# Issue 13 set them for the one binary with the SIP-to-line gateway built in:
# mipsle (and mips, the same code) at most 5.5 MiB stripped and 1.35 MiB xz.
# The other targets: about 5 % above what each measured then (bytes / xz:
# amd64 5263522 / 1720672, arm64 5046434 / 1465752, armv7 4980898 / 1484268,
# armv5 5046434 / 1493688; mips 5685441 / 1363280, mipsle 5677249 / 1391740).
# scripts/size.sh shows what takes the bytes.
declare -A BUDGET=(
	[amd64]=$((5398 * 1024))
	[arm64]=$((5175 * 1024))
	[armv7]=$((5108 * 1024))
	[armv5]=$((5175 * 1024))
	[mips]=$((11 * MiB / 2))
	[mipsle]=$((11 * MiB / 2))
)
declare -A XZBUDGET=(
	[amd64]=$((1765 * 1024))
	[arm64]=$((1503 * 1024))
	[armv7]=$((1522 * 1024))
	[armv5]=$((1532 * 1024))
	[mips]=$((135 * MiB / 100))
	[mipsle]=$((135 * MiB / 100))
)

# shellcheck source=scripts/targets.sh
. scripts/targets.sh # GOENV per target
ALL_TARGETS=(amd64 arm64 armv7 armv5 mips mipsle)

VERSION=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo unknown)}
PKG=${PKG:-./cmd/lifeline}
DIST=${DIST:-dist}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=("${ALL_TARGETS[@]}")
fi
for t in "${targets[@]}"; do
	if [ -z "${GOENV[$t]:-}" ]; then
		echo "cross.sh: unknown target $t (want one of: ${ALL_TARGETS[*]})" >&2
		exit 2
	fi
done

mkdir -p "$DIST"
echo "cross.sh: building $PKG version $VERSION into $DIST/"

over=0
failed=0
rows=()
# build TARGET OUT BUDGET XZBUDGET: one build and its table row.
build() {
	local name=$1 t=$1 out=$2 budget=$3 xzbudget=$4
	local start secs bytes xzbytes status
	start=$(date +%s.%N)
	# shellcheck disable=SC2086 # GOENV values are word lists on purpose
	if ! env GOOS=linux CGO_ENABLED=0 ${GOENV[$t]} \
		go build -trimpath "${GCFLAGS[@]}" -ldflags "-s -w ${LDEXTRA[$t]:-} -X main.version=$VERSION" -o "$out" "$PKG"; then
		echo "cross.sh: build for $name failed" >&2
		failed=1
		rows+=("$name|-|-|-|-|-|BUILD FAILED")
		return
	fi
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
	bytes=$(stat -c %s "$out")
	xzbytes=-
	if command -v xz >/dev/null 2>&1; then
		xzbytes=$(xz -9e -c "$out" | wc -c)
	fi
	status=ok
	if [ "$budget" -gt 0 ] && [ "$bytes" -gt "$budget" ]; then
		status="OVER BUDGET by $((bytes - budget)) bytes"
		over=1
	fi
	if [ "$xzbytes" = - ]; then
		[ "$xzbudget" -eq 0 ] || { status="$status; xz missing: xz budget not checked"; over=1; }
	elif [ "$xzbudget" -gt 0 ] && [ "$xzbytes" -gt "$xzbudget" ]; then
		[ "$status" = ok ] && status=
		status="${status:+$status; }xz OVER BUDGET by $((xzbytes - xzbudget)) bytes"
		over=1
	fi
	rows+=("$name|$bytes|$xzbytes|$budget|$xzbudget|${secs}s|$status")
}
for t in "${targets[@]}"; do
	var="BUDGET_$t" xzvar="XZBUDGET_$t"
	build "$t" "$DIST/lifeline-linux-$t" "${!var:-${BUDGET[$t]}}" "${!xzvar:-${XZBUDGET[$t]}}"
done

printf '\n%-9s %10s %8s %10s %8s %10s %10s %6s  %s\n' target bytes MiB xz-bytes xz-MiB budget xz-budget build status
for r in "${rows[@]}"; do
	IFS='|' read -r t bytes xzbytes budget xzbudget secs status <<<"$r"
	mib() { case $1 in -) echo - ;; *) awk -v b="$1" -v m=$MiB 'BEGIN{printf "%.2f", b/m}' ;; esac; }
	bud() { case $1 in -) echo - ;; 0) echo none ;; *) echo "$(mib "$1")MiB" ;; esac; }
	printf '%-9s %10s %8s %10s %8s %10s %10s %6s  %s\n' "$t" "$bytes" "$(mib "$bytes")" "$xzbytes" "$(mib "$xzbytes")" \
		"$(bud "$budget")" "$(bud "$xzbudget")" "$secs" "$status"
done
echo

if [ "$failed" -ne 0 ]; then
	exit 2
fi
if [ "$over" -ne 0 ]; then
	echo "cross.sh: size budget exceeded; run scripts/size.sh to see what takes the bytes" >&2
	exit 1
fi
