#!/bin/sh
# shellcheck disable=SC2015,SC2317 # fail always exits; helpers are called through wait_for
# lifeline-qemu-gpiosim.sh — `lifeline run` on the qemu-gpiosim board inside the gpio-sim
# guest (run.sh --lifeline BIN puts the binary at /bin/lifeline and this script in /items).
#
# It makes the gpio-sim chip the board file boards/defs/qemu-gpiosim.board expects (lines
# found by name), dummy interfaces for the WAN and the load to shed, starts the daemon, and
# drives it from the kernel side of the GPIO lines:
#   1. the relay output follows the route (energised = sip, de-energised = pstn)
#   2. the mains line falls -> power source battery, guest0 shed (down); back -> restored
#   3. the WAN link going down (netlink) -> route pstn, relay released
#   4. the wps+phone keys held together -> the hotkey override (pstn)
#   5. SIGTERM -> the daemon exits and releases the relay (fail-safe: de-energised)
# LIFELINE_SCENARIO_SKIP=hotkey,stop (any of relay mains wan hotkey stop) leaves steps out, loudly
# (run.sh --env passes it), for a daemon that does not do that part yet.
# Exit 0 pass, 1 fail, 77 skip (no lifeline binary or no qemu-gpiosim board).
# Waits poll the daemon with a deadline on the guest's clock: a black-box system test has no
# fake clock to advance; the deadlines are safety nets, generous for the emulated CPU.

set -u
SOCK=/tmp/lifeline/lifeline.sock
LOG=/tmp/lifeline.log
CFG=/sys/kernel/config/gpio-sim/lifeline-qemu
DEADLINE=${LIFELINE_SCENARIO_DEADLINE:-30}

command -v lifeline >/dev/null || { echo "scenario: SKIP: no lifeline binary in the guest"; exit 77; }
lifeline boards 2>&1 | grep -q qemu-gpiosim || { echo "scenario: SKIP: lifeline has no qemu-gpiosim board"; exit 77; }
echo "scenario: $(lifeline version 2>&1)"

pid=""
fail() {
	echo "scenario: FAIL: $*"
	echo "--- lifeline status"
	lifeline status --json --socket "$SOCK" 2>&1
	echo "--- lifeline log (last 60 lines)"
	tail -n 60 "$LOG"
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	exit 1
}

# ---- the gpio-sim chip, lines named as in boards/defs/qemu-gpiosim.board ----------------
# offset: 0 mains (active-high input), 1 battery-low (active-low), 2 key-phone (active-low),
#         3 key-wps (active-low), 4 relay (active-high output)
mkdir "$CFG" "$CFG/bank0" || fail "mkdir $CFG"
echo 8 >"$CFG/bank0/num_lines"
echo lifeline-qemu >"$CFG/bank0/label"
i=0
for n in lifeline-mains lifeline-battery-low lifeline-key-phone lifeline-key-wps lifeline-relay; do
	mkdir "$CFG/bank0/line$i" && echo "$n" >"$CFG/bank0/line$i/name" || fail "name line $i $n"
	i=$((i + 1))
done
echo 1 >"$CFG/live" || fail "take $CFG live"
SYS=/sys/devices/platform/$(cat "$CFG/dev_name")/$(cat "$CFG/bank0/chip_name")
pull() { echo "pull-$2" >"$SYS/sim_gpio$1/pull" || fail "pull line $1 $2"; }
level() { cat "$SYS/sim_gpio$1/value"; }
MAINS=0 BATLOW=1 PHONE=2 WPS=3 RELAY=4
pull $MAINS up  # mains present
pull $BATLOW up # battery not low (active-low)
pull $PHONE up  # keys released (active-low)
pull $WPS up

# ---- interfaces: a WAN with a default route, and a guest interface to shed -------------
ip link add wan type dummy && ip link set wan up &&
	ip addr add 192.0.2.2/24 dev wan && ip route add default via 192.0.2.1 dev wan || fail "dummy wan"
ip link add guest0 type dummy && ip link set guest0 up || fail "dummy guest0"
is_up() { ip -o link show "$1" | grep -q '<[^>]*,UP[,>]'; }

cat >/tmp/lifeline.conf <<'EOF'
config lifeline 'main'
	option board 'qemu-gpiosim'
	option wan_interface 'wan'
	option failback_hold '1s'
	option hooks_dir '/tmp/hooks.d'
	option log_level 'debug'

config provider 'sip'
	option host '127.0.0.1'
	option port '5060'
	option transport 'udp'
	option interval '1s'
	option down_after '3'

config battery 'battery'
	list shed_interface 'guest0'
	option on_battery_delay '0s'
	option critical_percent '10'
	option shutdown_command '/bin/true'

config hotkey 'force_pstn'
	list key 'wps'
	list key 'phone'
	option hold '1s'
	option action 'pstn'
EOF
mkdir -p /tmp/hooks.d

lifeline check -c /tmp/lifeline.conf --board qemu-gpiosim || fail "lifeline check"
lifeline run -c /tmp/lifeline.conf --board qemu-gpiosim --state-dir /tmp/lifeline --socket "$SOCK" >"$LOG" 2>&1 &
pid=$!

status() { lifeline status --json --socket "$SOCK" 2>/dev/null; }
# wait_for DESCRIPTION COMMAND...: poll until COMMAND succeeds or the deadline passes.
wait_for() {
	desc=$1
	shift
	n=0
	while ! "$@"; do
		n=$((n + 1))
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			fail "lifeline exited while waiting for: $desc"
		fi
		[ "$n" -lt $((DEADLINE * 10)) ] || fail "no $desc within ${DEADLINE}s"
		usleep 100000
	done
	echo "scenario: ok: $desc"
}
# has KEY VALUE: the status JSON (pretty-printed or not) has "KEY": "VALUE".
has() { status | grep -Eq "\"$1\": *\"$2\""; }
relay_is() { [ "$(level "$RELAY")" = "$1" ]; }
not_up() { ! is_up "$1"; }

wait_for "control socket" has route '[a-z]+'

# step NAME: false (and a note) when LIFELINE_SCENARIO_SKIP names the step.
step() {
	case ",${LIFELINE_SCENARIO_SKIP:-}," in
	*",$1,"*)
		echo "scenario: SKIPPED step $1 (LIFELINE_SCENARIO_SKIP)"
		return 1
		;;
	esac
	echo "scenario: step $1"
}

# 1. the relay follows the route
if step relay; then
lifeline override sip --socket "$SOCK" >/dev/null || fail "override sip"
wait_for "route sip by override" has route sip
wait_for "relay energised on sip" relay_is 1
lifeline override pstn --socket "$SOCK" >/dev/null || fail "override pstn"
wait_for "route pstn by override" has route pstn
wait_for "relay released on pstn" relay_is 0
lifeline override auto --socket "$SOCK" >/dev/null || fail "override auto"
wait_for "override cleared" has mode auto
fi

# 2. mains falls: battery, shedding; mains back: restored
if step mains; then
pull $MAINS down
wait_for "power source battery after the mains line fell" has source battery
wait_for "guest0 shed (down) on battery" not_up guest0
pull $MAINS up
wait_for "power source mains again" has source mains
wait_for "guest0 restored (up) on mains" is_up guest0
fi

# 3. the WAN interface (netlink): carrier/admin down -> route pstn, the relay released
if step wan; then
lifeline override auto --socket "$SOCK" >/dev/null || fail "override auto before the wan step"
wait_for "wan link up (netlink)" has link up
ip link set wan down || fail "ip link set wan down"
wait_for "wan link down (netlink)" has link down
wait_for "route pstn with the WAN down" has route pstn
wait_for "relay released with the WAN down" relay_is 0
ip link set wan up && ip route add default via 192.0.2.1 dev wan 2>/dev/null
wait_for "wan link up again" has link up
fi

# 4. the hotkey chord: wps + phone held for 1 s -> override pstn
if step hotkey; then
lifeline override auto --socket "$SOCK" >/dev/null || fail "override auto before the hotkey"
pull $WPS down
pull $PHONE down
wait_for "hotkey override pstn" has mode pstn
pull $WPS up
pull $PHONE up
wait_for "route pstn by the hotkey" has route pstn
wait_for "relay released by the hotkey" relay_is 0
fi

# 5. clean stop: SIGTERM, the daemon exits, the relay line is released (de-energised)
if step stop; then
lifeline override sip --socket "$SOCK" >/dev/null || fail "override sip before stop"
wait_for "relay energised before stop" relay_is 1
kill -TERM "$pid"
n=0
while kill -0 "$pid" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -lt $((DEADLINE * 10)) ] || fail "lifeline did not exit within ${DEADLINE}s of SIGTERM"
	usleep 100000
done
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 0 ] || fail "lifeline exited $rc after SIGTERM"
echo "scenario: ok: lifeline exited 0 on SIGTERM"
wait_for "relay de-energised after exit" relay_is 0
else
	kill -TERM "$pid"
	wait "$pid"
fi

echo 0 >"$CFG/live"
echo "scenario: PASS"
exit 0
