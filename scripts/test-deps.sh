#!/bin/sh
# Installs what the test tiers need, idempotently: Debian packages through
# apt-get (only when one is missing, so a warm machine does no network I/O).
# Usage: scripts/test-deps.sh
set -eu

# One line per tier: the packages and why.
PKGS="
iproute2         netns tests (ip netns, veth)
nftables         provider death and loss in netns tests
kamailio         the real SIP provider / outbound proxy in tests
sip-tester       SIPp: call-routing end-to-end test
baresip-core     a real phone (baresip) in the netns phone tests
linphone-cli     a real phone (linphonec) in the netns phone tests
qemu-user-static cross-arch tests (arm64, arm, mips, mipsle)
qemu-system-x86  the gpio-sim guest (its script installs the kernel packages it derives)
busybox-static   the guest's initramfs
cpio             the guest's initramfs
xz-utils         compressed sizes in the cross table
shellcheck       the OpenWrt init script, button guard and rpcd plugin (scripts/openwrt/check.sh)
jq               the rpcd ACL file is valid JSON (scripts/openwrt/check.sh)
stress-ng        make stress: the unit suite with every core hogged
e2fsprogs        chattr +i: a state dir that refuses writes (daemon storage test)
util-linux       prlimit: the control socket flood under a low descriptor limit
"

need=""
for p in $(printf '%s\n' "$PKGS" | awk 'NF {print $1}'); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "test-deps: missing Debian packages:$need (run as root to install them; the tiers that need them will skip)" >&2
		exit 0
	fi
	echo "test-deps: installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
