#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# button-guard: keep OpenWrt's default button actions out of Lifeline's way.
#
# Lifeline reads button uevents itself (netlink, SUBSYSTEM=button); it needs no
# /etc/rc.button script. But procd also runs /etc/rc.button/$BUTTON for every
# button event (BUTTON= is the kernel's name: wps, reset, BTN_0, ...), and some
# buttons have a default action there: `reset` reboots on a short press and
# factory-resets after 5 s, `wps` starts WPS push-button pairing on every
# press. A button used in a Lifeline hotkey should not do that.
#
#   button-guard install NAME...   move /etc/rc.button/NAME aside (NAME.lifeline-orig)
#                                  and link this script in its place
#   button-guard remove NAME...    give the originals back
#   button-guard remove-all        give back every button linked to this script
#                                  (unguard_buttons and the package's prerm)
#   /etc/rc.button/NAME            (run by procd) while Lifeline runs: log and do
#                                  nothing; while it does not: run the original, so
#                                  a router without Lifeline keeps its reset button.
# `/etc/init.d/lifeline guard_buttons` calls `install` with the BUTTON= names of
# the keys of every `config hotkey` section (`lifeline check --buttons`).

DIR=${RC_BUTTON_DIR:-/etc/rc.button}
SELF=/usr/libexec/lifeline/button-guard

# Lifeline runs when procd says its instance runs (not `pidof lifeline`,
# which also matches the init script and every CLI client); off OpenWrt,
# when the daemon answers on its control socket.
lifeline_running() {
	if command -v ubus >/dev/null 2>&1; then
		ubus call service list '{"name":"lifeline"}' 2>/dev/null |
			jsonfilter -e '@.lifeline.instances[*].running' 2>/dev/null | grep -qx true
		return
	fi
	/usr/bin/lifeline status >/dev/null 2>&1
}

guarded() {
	[ -L "$1" ] && [ "$(readlink "$1")" = "$SELF" ]
}

restore() {
	f=$DIR/$1
	guarded "$f" || return 0
	rm -f "$f"
	[ -e "$f.lifeline-orig" ] && mv "$f.lifeline-orig" "$f"
	echo "button-guard: $1 restored"
}

case "$1" in
install)
	shift
	for name in "$@"; do
		f=$DIR/$name
		if guarded "$f"; then
			echo "button-guard: $name already guarded"
			continue
		fi
		mkdir -p "$DIR" || exit 1
		if [ -e "$f" ] || [ -L "$f" ]; then
			mv "$f" "$f.lifeline-orig" || exit 1
		fi
		ln -s "$SELF" "$f" || exit 1
		echo "button-guard: $name guarded"
	done
	exit 0
	;;
remove)
	shift
	for name in "$@"; do
		restore "$name"
	done
	exit 0
	;;
remove-all)
	for f in "$DIR"/*; do
		guarded "$f" && restore "${f##*/}"
	done
	exit 0
	;;
esac

# Run by procd as /etc/rc.button/$BUTTON with ACTION, SEEN in the environment.
name=${BUTTON:-${0##*/}}
if lifeline_running; then
	logger -t lifeline -p daemon.info "button $name $ACTION${SEEN:+ after ${SEEN}s}: default action suppressed (Lifeline hotkey)"
	exit 0
fi
orig=$DIR/$name.lifeline-orig
if [ -x "$orig" ]; then
	# Run it as procd would; exec keeps its exit status, through which the reset
	# script asks procd for its 5 s "timeout" event.
	exec /bin/sh "$orig"
fi
exit 0
