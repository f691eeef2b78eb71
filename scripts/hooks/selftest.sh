#!/bin/sh
# Self-test of the example hooks: syntax (sh -n; shellcheck -s sh when
# installed) and behaviour with fake
# asterisk and logger commands on PATH. Needs only a POSIX sh.
# Run: sh scripts/hooks/selftest.sh   (also: busybox sh scripts/hooks/selftest.sh)

set -eu

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

for f in asterisk log selftest.sh; do
	sh -n "$here/$f" || fail "sh -n $f"
	if command -v shellcheck >/dev/null 2>&1; then
		shellcheck -s sh "$here/$f" || fail "shellcheck $f"
	fi
done

mkdir "$tmp/bin"
cat >"$tmp/bin/asterisk" <<'FAKE'
#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_LOG"
FAKE
cat >"$tmp/bin/logger" <<'FAKE'
#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_LOG"
FAKE
chmod +x "$tmp/bin/asterisk" "$tmp/bin/logger"

export FAKE_LOG="$tmp/calls"
export PATH="$tmp/bin:$PATH"

# asterisk: route and a sanitised reason reach the CLI.
: >"$FAKE_LOG"
LIFELINE_ASTERISK="$tmp/bin/asterisk" LIFELINE_EVENT=route LIFELINE_ROUTE=pstn LIFELINE_PREV_ROUTE=sip \
	LIFELINE_REASON='wan down; rm -rf / "x"' sh "$here/asterisk" || fail "asterisk hook exit"
grep -qx -- '-rx database put lifeline route pstn' "$FAKE_LOG" || fail "asterisk route: $(cat "$FAKE_LOG")"
grep -qx -- '-rx database put lifeline reason "wan down rm -rf  x"' "$FAKE_LOG" || fail "asterisk reason: $(cat "$FAKE_LOG")"

# asterisk: an unknown route does nothing and succeeds.
: >"$FAKE_LOG"
LIFELINE_ASTERISK="$tmp/bin/asterisk" LIFELINE_ROUTE='sip; reboot' sh "$here/asterisk" 2>/dev/null || fail "asterisk hook with bad route"
[ ! -s "$FAKE_LOG" ] || fail "asterisk called for a bad route: $(cat "$FAKE_LOG")"

# log: one syslog line with the event.
: >"$FAKE_LOG"
LIFELINE_LOGGER="$tmp/bin/logger" LIFELINE_EVENT=route LIFELINE_ROUTE=sip LIFELINE_REASON='provider healthy' \
	sh "$here/log" || fail "log hook exit"
for want in 'lifeline-hook' 'event=route route=sip' 'reason="provider healthy"'; do
	grep -q "$want" "$FAKE_LOG" || fail "log: no '$want' in: $(cat "$FAKE_LOG")"
done

echo "hooks selftest: ok"
