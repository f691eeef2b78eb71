#!/usr/bin/env bash
# run.sh — boot Debian's kernel in a QEMU x86_64 guest (TCG) with the gpio-sim module
# and run test binaries / scenario scripts inside it. Exit 0 only when every item passed.
#
#   scripts/gpiosim-guest/run.sh [OPTIONS] [ITEM...]
#
# ITEM:
#   --selftest         the guest's own proof (scripts/gpiosim-guest/selftest): a gpio-sim chip
#                      made on configfs, lines toggled through gpiocdev (default when no ITEM)
#   --pkg PKG          `go test -c` PKG (static, CGO_ENABLED=0) and run it with -test.v in the
#                      guest, from a directory holding the package's testdata/ (e.g. ./hal/gpio)
#   --test FILE        an already built static test binary
#   --script FILE      an executable run as is in the guest (busybox sh); exit 77 = skip
#   --lifeline BIN     put BIN at /bin/lifeline in the guest and run the qemu-gpiosim scenario
#                      (scripts/gpiosim-guest/scenarios/lifeline-qemu-gpiosim.sh)
# OPTIONS:
#   --file SRC[:DEST]  copy SRC into the guest at DEST (default /files/<basename>)
#   --env KEY=VALUE    environment for the guest's init and items (kernel command line;
#                      no spaces in VALUE)
#   --prove-failure    run the selftest with LIFELINE_GUEST_BREAK=1 (one assertion made
#                      wrong on purpose) and succeed only if the guest run FAILS
#   --timeout SECS     kill the guest after SECS (default 600)
#   -v                 print the whole console log even on success
# Environment:
#   LIFELINE_GUEST_CACHE  cache dir for the built module (default scripts/gpiosim-guest/.cache)
#   LIFELINE_GUEST_KVER   kernel release to boot (default: the one linux-image-amd64 depends on)
#   GUEST_MEM (MiB, default 512), GUEST_SMP (default 1)
#   GUEST_TEST_FLAGS      extra flags for every test binary, e.g. "-test.run TestX"
#                         (in the guest: --env GUEST_TEST_TIMEOUT=5m, default 240s per binary)
#   NO_APT=1              never call apt-get (fail instead when a package is missing)
#
# The console goes to a log file (printed on failure). Packages it needs (installed with apt-get
# when missing): qemu-system-x86 busybox-static linux-image-amd64 linux-headers-<kver>
# linux-source-<major.minor> (same version as the kernel) make gcc cpio xz-utils.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

log() { echo "gpiosim-guest: $*" >&2; }
die() {
	log "$*"
	exit 2
}

items=()   # entries kind:path  (kind = test|script|pkg)
files=()   # SRC:DEST
envs=()
timeout=600
verbose=0
prove_failure=0
lifeline_bin=""
while [ $# -gt 0 ]; do
	case $1 in
	--selftest) items+=("pkg:./scripts/gpiosim-guest/selftest") ;;
	--pkg) items+=("pkg:$2"); shift ;;
	--test) items+=("test:$2"); shift ;;
	--script) items+=("script:$2"); shift ;;
	--lifeline) lifeline_bin=$2; items+=("script:$here/scenarios/lifeline-qemu-gpiosim.sh"); shift ;;
	--file) files+=("$2"); shift ;;
	--env) envs+=("$2"); shift ;;
	--prove-failure) prove_failure=1 ;;
	--timeout) timeout=$2; shift ;;
	-v) verbose=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	shift
done
if [ "$prove_failure" = 1 ]; then
	items=("pkg:./scripts/gpiosim-guest/selftest")
	envs+=("LIFELINE_GUEST_BREAK=1")
fi
if [ ${#items[@]} -eq 0 ]; then
	items=("pkg:./scripts/gpiosim-guest/selftest")
fi

t0=$(date +%s.%N)
elapsed() { awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'; }

# ---- packages -------------------------------------------------------------------------
apt_install() {
	if [ "${NO_APT:-0}" = 1 ]; then
		die "missing packages: $* (NO_APT=1 set)"
	fi
	log "apt-get install $*"
	if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >&2; then
		log "apt-get install failed; apt-get update and one more try"
		apt-get -o DPkg::Lock::Timeout=600 update >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >&2 ||
			die "apt-get install $* failed"
	fi
}
pkg_version() { dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null | awk '$1 == "installed" {print $2}'; }

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -n "$(pkg_version busybox-static)" ] || need+=(busybox-static)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
if [ -z "${LIFELINE_GUEST_KVER:-}" ] && [ -z "$(pkg_version linux-image-amd64)" ]; then
	need+=(linux-image-amd64)
fi
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

# The kernel: the one the linux-image-amd64 metapackage points at, e.g.
# "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" -> kver 6.1.0-56-amd64, version 6.1.192-2.
if [ -n "${LIFELINE_GUEST_KVER:-}" ]; then
	kver=$LIFELINE_GUEST_KVER
else
	kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed -n 's/.*linux-image-\([^ ,]*\).*/\1/p')
fi
[ -n "$kver" ] || die "cannot tell which kernel linux-image-amd64 installs"
kimg_ver=$(pkg_version "linux-image-$kver")
if [ -z "$kimg_ver" ]; then
	apt_install "linux-image-$kver"
	kimg_ver=$(pkg_version "linux-image-$kver")
fi
kseries=$(echo "$kver" | cut -d. -f1,2) # 6.1
[ -n "$(pkg_version "linux-headers-$kver")" ] || apt_install "linux-headers-$kver"
src_pkg="linux-source-$kseries"
if [ "$(pkg_version "$src_pkg")" != "$kimg_ver" ]; then
	# The module must be built from exactly the kernel's source version. When the archive
	# no longer has the installed kernel's source, move the kernel to the current candidate.
	if [ -z "${LIFELINE_GUEST_KVER:-}" ] && [ "${NO_APT:-0}" != 1 ] &&
		! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$src_pkg=$kimg_ver" >&2; then
		log "no $src_pkg=$kimg_ver in the archive; installing the current kernel and its source"
		apt_install linux-image-amd64 linux-headers-amd64
		kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | sed -n 's/.*linux-image-\([^ ,]*\).*/\1/p')
		kimg_ver=$(pkg_version "linux-image-$kver")
		apt_install "$src_pkg=$kimg_ver"
	elif [ "$(pkg_version "$src_pkg")" != "$kimg_ver" ]; then
		apt_install "$src_pkg=$kimg_ver"
	fi
fi
vmlinuz=/boot/vmlinuz-$kver
[ -r "$vmlinuz" ] || die "no $vmlinuz"
log "kernel $kver (package version $kimg_ver)"

# ---- gpio-sim module (cached) --------------------------------------------------------
cache=${LIFELINE_GUEST_CACHE:-$here/.cache}
mkdir -p "$cache"
# The key covers the kernel build and this script's patch step (build-module.sh).
key="$kver-$kimg_ver-$(sha256sum "$here/build-module.sh" | cut -c1-12)"
module="$cache/gpio-sim-$key.ko"
if [ ! -s "$module" ]; then
	log "building gpio-sim.ko for $kver (one time; cached as $module)"
	bash "$here/build-module.sh" "$kver" "/usr/src/$src_pkg.tar.xz" "$module" >&2 ||
		die "building the gpio-sim module failed"
fi
configfs_ko=/lib/modules/$kver/kernel/fs/configfs/configfs.ko
[ -r "$configfs_ko" ] || die "no $configfs_ko"
dummy_ko=/lib/modules/$kver/kernel/drivers/net/dummy.ko

# ---- initramfs -------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/gpiosim-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules,items,files,etc,root}
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$configfs_ko" "$root/lib/modules/configfs.ko"
cp "$module" "$root/lib/modules/gpio-sim.ko"
[ -r "$dummy_ko" ] && cp "$dummy_ko" "$root/lib/modules/dummy.ko"

n=0
for it in "${items[@]}"; do
	kind=${it%%:*}
	path=${it#*:}
	n=$((n + 1))
	case $kind in
	pkg)
		name=$(printf '%02d-%s' "$n" "$(basename "$path")")
		d="$root/items/$name"
		mkdir -p "$d"
		log "go test -c $path"
		CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go test -c -o "$d/run.test" "$path" ||
			die "go test -c $path failed"
		[ -s "$d/run.test" ] || die "$path has no tests"
		dir=$(go list -f '{{.Dir}}' "$path")
		[ -d "$dir/testdata" ] && cp -r "$dir/testdata" "$d/testdata"
		;;
	test)
		name=$(printf '%02d-%s' "$n" "$(basename "$path" .test)")
		mkdir -p "$root/items/$name"
		cp "$path" "$root/items/$name/run.test"
		;;
	script)
		name=$(printf '%02d-%s' "$n" "$(basename "$path" .sh)")
		mkdir -p "$root/items/$name"
		cp "$path" "$root/items/$name/run"
		chmod 755 "$root/items/$name/run"
		;;
	esac
done
for f in "${files[@]}"; do
	src=${f%%:*}
	dest=/files/$(basename "$src")
	[ "$f" = "$src" ] || dest=${f#*:}
	mkdir -p "$root$(dirname "$dest")"
	cp -r "$src" "$root$dest"
done
if [ -n "$lifeline_bin" ]; then
	cp "$lifeline_bin" "$root/bin/lifeline"
	chmod 755 "$root/bin/lifeline"
fi
if [ -n "${GUEST_TEST_FLAGS:-}" ]; then
	envs+=("GUEST_TEST_FLAGS=${GUEST_TEST_FLAGS// /,}")
fi
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$work/initrd.gz"
log "initramfs $(stat -c %s "$work/initrd.gz") bytes, ${#items[@]} item(s), prepared in $(elapsed)s"

# ---- boot ------------------------------------------------------------------------------
logdir=${LIFELINE_GUEST_LOGDIR:-$cache}
console="$logdir/console.log"
: >"$console"
append="console=ttyS0 panic=-1 oops=panic loglevel=4 rdinit=/init ${envs[*]}"
tboot=$(date +%s.%N)
set +e
timeout -k 10 "$timeout" qemu-system-x86_64 \
	-machine pc,accel=tcg -cpu max -m "${GUEST_MEM:-512}" -smp "${GUEST_SMP:-1}" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$vmlinuz" -initrd "$work/initrd.gz" -append "$append" \
	-serial "file:$console" -monitor none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
qrc=$?
set -e
boot=$(awk -v s="$tboot" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')

# isa-debug-exit: the guest writes v, qemu exits (v << 1) | 1: 1 = pass, 3 = fail.
marker=$(grep -a -o 'LIFELINE-GUEST-RESULT: [A-Z]*' "$console" | tail -n1 || true)
summary=$(grep -a '^guest: items' "$console" | tail -n1 || true)
if [ "$qrc" -eq 1 ] && [ "$marker" = "LIFELINE-GUEST-RESULT: PASS" ]; then
	ok=1
	why="guest reported PASS"
else
	ok=0
	case $qrc in
	1) why="qemu exit 1 but the console has no PASS marker ($marker)" ;;
	3) why="guest reported FAIL" ;;
	124 | 137) why="guest timed out after ${timeout}s" ;;
	0) why="guest stopped without a verdict (panic or reboot?)" ;;
	*) why="qemu exited $qrc" ;;
	esac
fi

if [ "$ok" = 0 ] || [ "$verbose" = 1 ]; then
	echo "----- guest console ($console) -----"
	tr -d "\r" <"$console"
	echo "----- end of guest console -----"
else
	grep -a -E '^(=== GUEST ITEM .*: |--- (FAIL|SKIP)|guest: |scenario: )' "$console" || true
fi
log "$why; boot+run ${boot}s, total $(elapsed)s (log: $console)"
[ -z "$summary" ] || log "${summary#guest: }"

if [ "$prove_failure" = 1 ]; then
	if [ "$ok" = 0 ] && [ "$qrc" -eq 3 ] && grep -a -q -- '--- FAIL: TestRawConfigfsChip' "$console"; then
		log "prove-failure: the broken assertion failed the guest run, as it must"
		exit 0
	fi
	log "prove-failure: the broken assertion did NOT fail the run as expected"
	exit 1
fi
[ "$ok" = 1 ]
