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
#
# Output: $DIST/lifeline-linux-<target> (stripped: -s -w, -trimpath, CGO_ENABLED=0), and
# $DIST/lifeline-gateway-linux-<target> for GW_TARGETS (default mipsle; -tags gateway,
# budget GW_BUDGET, default 8 MiB).
# Exit status: 0 when all builds succeed within budget, 1 when a budget is exceeded,
# 2 when a build fails.
set -euo pipefail

cd "$(dirname "$0")/.."

MiB=$((1024 * 1024))

# Size budgets in bytes of the stripped binary. The flash is 16 MB and the
# squashfs around the binary compresses it (xz column below), but the
# uncompressed size is what the RAM-backed /tmp and an upgrade copy cost.
#
# Issue 8 set 4 MiB for mipsle from a spike that linked the three hardware
# libraries alone. The whole daemon (net with DNS, encoding/json, log/slog,
# os/exec, regexp pulled by gpiocdev and serial, the AT engine, Kamailio
# adapter, keys, LEDs) measures 5.0 MiB there; see scripts/size.sh. Until
# the target is met or changed, these budgets guard against regressions:
# about 5 % above what each target measured when they were set.
declare -A BUDGET=(
	[amd64]=$((5 * MiB))
	[arm64]=$((5 * MiB))
	[armv7]=$((19 * MiB / 4))
	[armv5]=$((19 * MiB / 4))
	[mips]=$((21 * MiB / 4))
	[mipsle]=$((21 * MiB / 4))
)
# The target issue 8 asks for, reported beside the table (not enforced).
TARGET_MIPSLE=$((4 * MiB))
# The build with the SIP-to-line gateway (-tags gateway; issue 9): at most
# 8 MiB on mipsle, enforced. GW_TARGETS lists the targets built that way
# too (default mipsle; "" for none), into $DIST/lifeline-gateway-linux-<t>.
GW_BUDGET=${GW_BUDGET:-$((8 * MiB))}
GW_TARGETS=${GW_TARGETS-mipsle}

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
# build NAME TARGET TAGS OUT BUDGET: one build and its table row.
build() {
	local name=$1 t=$2 tags=$3 out=$4 budget=$5
	local start secs bytes xzbytes status
	start=$(date +%s.%N)
	# shellcheck disable=SC2086 # GOENV values are word lists on purpose
	if ! env GOOS=linux CGO_ENABLED=0 ${GOENV[$t]} \
		go build -trimpath -tags "$tags" -ldflags "-s -w -X main.version=$VERSION" -o "$out" "$PKG"; then
		echo "cross.sh: build for $name failed" >&2
		failed=1
		rows+=("$name|-|-|-|-|BUILD FAILED")
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
	rows+=("$name|$bytes|$xzbytes|$budget|${secs}s|$status")
	if [ "$name" = mipsle ] && [ "$bytes" -gt "$TARGET_MIPSLE" ]; then
		target_note="mipsle is $((bytes - TARGET_MIPSLE)) bytes above issue 8's 4 MiB target (not enforced; see the BUDGET comment)"
	fi
}
for t in "${targets[@]}"; do
	var="BUDGET_$t"
	build "$t" "$t" "" "$DIST/lifeline-linux-$t" "${!var:-${BUDGET[$t]}}"
done
for t in $GW_TARGETS; do
	case " ${targets[*]} " in *" $t "*) ;; *) continue ;; esac
	build "$t+gw" "$t" gateway "$DIST/lifeline-gateway-linux-$t" "$GW_BUDGET"
done

printf '\n%-9s %10s %8s %10s %8s %10s %6s  %s\n' target bytes MiB xz-bytes xz-MiB budget build status
for r in "${rows[@]}"; do
	IFS='|' read -r t bytes xzbytes budget secs status <<<"$r"
	mib() { case $1 in -) echo - ;; *) awk -v b="$1" -v m=$MiB 'BEGIN{printf "%.2f", b/m}' ;; esac; }
	bud=$budget
	[ "$bud" = - ] || [ "$bud" -gt 0 ] || bud=none
	[ "$bud" = none ] || [ "$bud" = - ] || bud="$(mib "$bud")MiB"
	printf '%-9s %10s %8s %10s %8s %10s %6s  %s\n' "$t" "$bytes" "$(mib "$bytes")" "$xzbytes" "$(mib "$xzbytes")" "$bud" "$secs" "$status"
done
echo
[ -z "${target_note:-}" ] || echo "cross.sh: note: $target_note"

if [ "$failed" -ne 0 ]; then
	exit 2
fi
if [ "$over" -ne 0 ]; then
	echo "cross.sh: size budget exceeded; run scripts/size.sh to see what takes the bytes" >&2
	exit 1
fi
