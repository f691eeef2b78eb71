#!/usr/bin/env bash
# qemu-user-test.sh — run the unit tests on the router architectures under qemu-user
# (`go test -exec qemu-<arch>-static`), test tier 4 of DESIGN.md.
#
#   scripts/qemu-user-test.sh [ARCH...]      # default: arm64 armv7 mips mipsle
#
# ARCH: arm64 armv7 armv5 mips mipsle (armv5 is GOARM=5, opt-in)
# Environment:
#   PKGS        packages to test (default: every package of the module, minus EXCLUDE_PKGS)
#   EXCLUDE_PKGS  extra space-separated import paths to leave out
#   TEST_FLAGS  extra `go test` flags (default: -count=1; set TEST_FLAGS= to let the cache work)
#   TEST_TIMEOUT  per-package test timeout (default 2m: the slowest package takes about 14 s
#               under qemu-user on this 2-core machine, so a hang fails in 2 minutes, not 5)
#   QEMU_SKIP   -skip regexp for tests that cannot run under qemu-user (default '^TestE2E':
#               end-to-end tests exec a child binary of the target arch, which needs
#               binfmt_misc, and drive native Kamailio/sipp, which says nothing per arch).
#               Set QEMU_SKIP= once those tests skip themselves on LIFELINE_QEMU_USER.
#   QEMU_SKIP_MIPS  added to QEMU_SKIP for mips and mipsle (default '^TestKamailioDeath$'):
#               qemu-user 7.2 hands the host's errno through getsockopt(SO_ERROR) untranslated,
#               so a refused non-blocking connect reports errno 111 instead of MIPS
#               ECONNREFUSED (146) and errors.Is(err, ECONNREFUSED) is false. Measured with
#               net.Dial("tcp", "127.0.0.1:1") under qemu-mipsel-static: "connect: errno 111".
#   NO_APT=1    never call apt-get
#
# What runs: every package with -short, as root but told through the environment what
# qemu-user lacks, so the tests' own skips fire with a reason:
#   LIFELINE_QEMU_USER=<arch>  set for every test binary run under qemu-user
#   LIFELINE_NO_NETNS=1        no network namespaces (unshare/setns under qemu-user are not
#                              reliable, and a netns test as root would try them)
#   LIFELINE_NO_GPIO=1         no GPIO character-device ioctls (qemu-user: ENOSYS)
# AF_NETLINK route dumps, ptys, termios and sockets work under qemu-user.
# No -race: the race detector exists only for amd64/arm64 with cgo.
#
# Exit status: 0 when every arch passed, 1 otherwise. Prints the time per arch and, last,
# each failed arch's failing tests and packages, and the tests a timeout caught running, so
# the tail of a CI log names them.
set -euo pipefail

cd "$(dirname "$0")/.."

# shellcheck source=scripts/targets.sh
. scripts/targets.sh # GOENV per target
declare -A QEMU=(
	[arm64]=qemu-aarch64-static
	[armv7]=qemu-arm-static
	[armv5]=qemu-arm-static
	[mips]=qemu-mips-static
	[mipsle]=qemu-mipsel-static
)

# Packages that cannot say anything useful under qemu-user, with the reason.
# (Keep this empty where a test-level skip does the job: a skip is visible, an exclusion is not.)
declare -A EXCLUDE=(
	# The gpio-sim guest's selftest only runs inside the x86_64 guest.
	[lifeline/scripts/gpiosim-guest/selftest]="gpio-sim selftest runs in scripts/gpiosim-guest"
)

arches=("$@")
if [ ${#arches[@]} -eq 0 ]; then
	arches=(arm64 armv7 mips mipsle)
fi
for a in "${arches[@]}"; do
	[ -n "${GOENV[$a]:-}" ] || {
		echo "qemu-user-test: unknown arch $a (want: ${!GOENV[*]})" >&2
		exit 2
	}
done

if ! command -v qemu-arm-static >/dev/null; then
	if [ "${NO_APT:-0}" = 1 ]; then
		echo "qemu-user-test: qemu-user-static is not installed (NO_APT=1)" >&2
		exit 2
	fi
	echo "qemu-user-test: apt-get install qemu-user-static" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends qemu-user-static >&2 || {
		apt-get -o DPkg::Lock::Timeout=600 update >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends qemu-user-static >&2
	}
fi

if [ -z "${PKGS:-}" ]; then
	PKGS=""
	for p in $(go list ./...); do
		skip=${EXCLUDE[$p]:-}
		for x in ${EXCLUDE_PKGS:-}; do [ "$x" = "$p" ] && skip="EXCLUDE_PKGS"; done
		if [ -n "$skip" ]; then
			echo "qemu-user-test: leaving out $p: $skip"
			continue
		fi
		PKGS="$PKGS $p"
	done
fi

TEST_FLAGS=${TEST_FLAGS--count=1}
QEMU_SKIP=${QEMU_SKIP-^TestE2E}
QEMU_SKIP_MIPS=${QEMU_SKIP_MIPS-^TestKamailioDeath\$}
# skip_args ARCH: the -skip flag for ARCH, empty when nothing is skipped.
skip_args() {
	local re=$QEMU_SKIP
	case $1 in mips | mipsle) [ -z "$QEMU_SKIP_MIPS" ] || re=${re:+$re|}$QEMU_SKIP_MIPS ;; esac
	[ -z "$re" ] || printf '%s\n' -skip "$re"
}
total_start=$(date +%s)
failed=()
times=()
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# failures LOG: the lines of a go test log that say what failed: --- FAIL, FAIL of a
# package, panics, and the tests listed under a timeout's "running tests:".
failures() {
	awk '/^[ \t]*--- FAIL|^FAIL|^panic: /{print; next}
		/^[ \t]*running tests:/{run=1; print; next}
		run && /^[ \t]+Test/{print; next}
		{run=0}' "$1"
}
for a in "${arches[@]}"; do
	q=$(command -v "${QEMU[$a]}") || {
		echo "qemu-user-test: ${QEMU[$a]} not found" >&2
		exit 2
	}
	echo "=== qemu-user $a (${GOENV[$a]}, $q)"
	mapfile -t skip < <(skip_args "$a")
	[ ${#skip[@]} -eq 0 ] || echo "qemu-user-test: skipping tests matching ${skip[1]} on $a (see QEMU_SKIP in $0)"
	start=$(date +%s)
	# shellcheck disable=SC2086 # word lists on purpose
	if env GOOS=linux CGO_ENABLED=0 ${GOENV[$a]} \
		LIFELINE_QEMU_USER="$a" LIFELINE_NO_NETNS=1 LIFELINE_NO_GPIO=1 \
		go test -exec "$q" -short -timeout "${TEST_TIMEOUT:-2m}" "${skip[@]}" $TEST_FLAGS $PKGS \
		2>&1 | tee "$logs/$a"; then
		result=ok
	else
		result=FAIL
		failed+=("$a")
	fi
	times+=("$a $result $(($(date +%s) - start))s")
done
echo
echo "qemu-user-test: times (build + run):"
printf '  %s\n' "${times[@]}"
echo "qemu-user-test: total $(($(date +%s) - total_start))s"
if [ ${#failed[@]} -gt 0 ]; then
	for a in "${failed[@]}"; do
		echo "qemu-user-test: what failed on $a:" >&2
		failures "$logs/$a" | sed 's/^/  /' >&2
	done
	echo "qemu-user-test: FAILED on: ${failed[*]}" >&2
	exit 1
fi
