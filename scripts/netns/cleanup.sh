#!/bin/sh
# Remove network namespaces left behind by hal/netmon/netnstest when a test
# binary was killed before its t.Cleanup ran (timeout, SIGKILL). Names are
# llr<pid>-<n> / lli<pid>-<n>; only namespaces whose creating process is
# gone are touched. Processes still inside them (a Kamailio started by the
# test) are terminated by pid first.
#
# Usage: scripts/netns/cleanup.sh [-n]     (-n: only print what would be done)
set -eu
dry=
[ "${1:-}" = "-n" ] && dry=echo

ip netns list 2>/dev/null | awk '{print $1}' | while read -r ns; do
	case "$ns" in
	llr[0-9]*-[0-9]* | lli[0-9]*-[0-9]*) ;;
	*) continue ;;
	esac
	pid=${ns#ll?}
	pid=${pid%%-*}
	if kill -0 "$pid" 2>/dev/null; then
		continue # its test is still running
	fi
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		$dry kill -TERM "$p" 2>/dev/null || true
	done
	$dry ip netns del "$ns"
	echo "removed stale netns $ns" >&2
done
