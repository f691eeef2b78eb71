#!/bin/sh
# button-guard: keep OpenWrt's default button actions out of Lifeline's way.
#
# Lifeline reads button uevents itself (netlink, SUBSYSTEM=button); it needs no
# /etc/rc.button script. But procd also runs /etc/rc.button/$BUTTON for every
# button event, and some buttons have a default action there: `reset` reboots
# on a short press and factory-resets after 5 s, `wps` starts WPS push-button
# pairing on every press. A key used in a Lifeline hotkey chord should not do that.
#
#   button-guard install NAME...   move /etc/rc.button/NAME aside (NAME.lifeline-orig)
#                                  and put this script in its place
#   button-guard remove NAME...    give the original back
#   /etc/rc.button/NAME            (run by procd) while Lifeline runs: log and do
#                                  nothing; while it does not: run the original, so
#                                  a router without Lifeline keeps its reset button.
# `/etc/init.d/lifeline guard_buttons` calls `install` with the keys of every
# `config hotkey` section. A sysupgrade or a package upgrade may restore the
# original script; run guard_buttons again then.

DIR=${RC_BUTTON_DIR:-/etc/rc.button}
SELF=/usr/libexec/lifeline/button-guard

lifeline_running() {
	pidof lifeline >/dev/null 2>&1
}

case "$1" in
install)
	shift
	for name in "$@"; do
		f="$DIR/$name"
		if [ -L "$f" ] && [ "$(readlink "$f")" = "$SELF" ]; then
			echo "button-guard: $name already guarded"
			continue
		fi
		if [ -e "$f" ]; then
			mv "$f" "$f.lifeline-orig" || exit 1
		fi
		mkdir -p "$DIR"
		ln -s "$SELF" "$f" || exit 1
		echo "button-guard: $name guarded"
	done
	exit 0
	;;
remove)
	shift
	for name in "$@"; do
		f="$DIR/$name"
		if [ ! -L "$f" ] || [ "$(readlink "$f")" != "$SELF" ]; then
			continue
		fi
		rm -f "$f"
		[ -e "$f.lifeline-orig" ] && mv "$f.lifeline-orig" "$f"
		echo "button-guard: $name restored"
	done
	exit 0
	;;
esac

# Run by procd as /etc/rc.button/$BUTTON with ACTION, SEEN in the environment.
name=${BUTTON:-${0##*/}}
if lifeline_running; then
	logger -t lifeline "button $name $ACTION${SEEN:+ after ${SEEN}s}: default action suppressed (Lifeline hotkey)"
	exit 0
fi
orig="$DIR/$name.lifeline-orig"
if [ -x "$orig" ]; then
	# Run it as procd would; exec keeps its exit status, through which the reset
	# script asks procd for its 5 s "timeout" event.
	exec /bin/sh "$orig"
fi
exit 0
