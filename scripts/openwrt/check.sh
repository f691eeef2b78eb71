#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ok/bad always succeed, so `test && ok || bad` is an if-then-else here; $(...) in
# single quotes is make syntax, not shell.
# shellcheck disable=SC2015,SC2016,SC2001
# check.sh — test what can be tested of the OpenWrt package without the OpenWrt SDK.
#
#   scripts/openwrt/check.sh            # builds lifeline for the host unless LIFELINE=path is set
#
# 1. shell syntax of the init script, the button guard and the rpcd plugin (sh -n,
#    busybox sh -n, shellcheck)
# 2. the shipped UCI default passes `lifeline check` on the boards `generic` (every router
#    without a board file of its own) and `sim`, with and without --no-hardware
# 3. the procd command line of files/lifeline.init, taken from start_service with procd's
#    functions stubbed, is accepted by the binary's flag parser; the reload path (reload
#    trigger, file, reload_signal) signals a running instance and starts a dead one; a
#    refused reload says why to whoever ran it
# 4. the package Makefile: GO_PKG_BUILD_PKG resolves, GO_PKG_LDFLAGS_X names main.version,
#    DEPENDS has $(GO_ARCH_DEPENDS), conffiles has /etc/config/lifeline, every ./files/X exists
# 5. golang-build.sh's file selection (code, go.mod/go.sum, GO_PKG_INSTALL_EXTRA) of what
#    Build/Prepare copies is enough to build the binary (the embedded board files included)
# 6. button-guard install/remove/remove-all/pass-through in a scratch /etc/rc.button, with
#    procd's service state as the liveness test, the kernel's BUTTON= names, and the
#    package's prerm restoring every guarded button
# 7. sysupgrade keeps /etc/lifeline (hooks and board files) through /lib/upgrade/keep.d
# 8. licence and version: LICENSE is the Apache License 2.0, PKG_LICENSE(_FILES) and
#    PKG_MAINTAINER are set, the shipped scripts carry SPDX headers, the shipped config
#    cites nothing a router does not have, PKG_VERSION grows with every commit
# 9. the rpcd plugin and its ACL name the methods `lifeline rpcd list` offers
# Prints "openwrt-check: N passed, N failed" and exits 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
pkg=$here/lifeline
files=$pkg/files
cd "$repo" || exit 2

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- 1. shell syntax ----------------------------------------------------------------
for f in "$files/lifeline.init" "$files/button-guard.sh" "$files/lifeline.rpcd"; do
	if sh -n "$f"; then ok "sh -n ${f#"$repo"/}"; else bad "sh -n ${f#"$repo"/}"; fi
	if command -v busybox >/dev/null; then
		if busybox sh -n "$f"; then ok "busybox sh -n ${f#"$repo"/}"; else bad "busybox sh -n ${f#"$repo"/}"; fi
	fi
	if command -v shellcheck >/dev/null; then
		# SC2034: rc.common reads START/STOP/USE_PROCD; SC3043: busybox ash has `local`;
		# SC2317: functions rc.common calls look unreachable.
		if shellcheck -s sh -e SC2034,SC3043,SC2317 "$f"; then ok "shellcheck ${f#"$repo"/}"; else bad "shellcheck ${f#"$repo"/}"; fi
	else
		bad "shellcheck is not installed (scripts/test-deps.sh installs it)"
	fi
	if [ -x "$f" ]; then ok "${f#"$repo"/} is executable"; else bad "${f#"$repo"/} is not executable"; fi
done

# ---- the binary --------------------------------------------------------------------------
bin=${LIFELINE:-}
if [ -z "$bin" ]; then
	bin=$tmp/lifeline
	if ! CGO_ENABLED=0 go build -o "$bin" ./cmd/lifeline; then
		bad "go build ./cmd/lifeline"
		echo "openwrt-check: $passed passed, $failed failed"
		exit 1
	fi
fi

# ---- 2. the UCI default ------------------------------------------------------------------
# generic is what `auto` falls back to on a router without a board file of its own. Its
# hardware (the line's /dev/ttyUSB0) is not on this machine: --no-hardware is what start
# and reload validate.
for args in "--board sim" "--board generic --no-hardware" "--board sim --no-hardware"; do
	# shellcheck disable=SC2086 # two words on purpose
	if out=$("$bin" check -c "$files/lifeline.config" $args 2>&1); then
		ok "lifeline check -c files/lifeline.config $args: $out"
	else
		bad "lifeline check -c files/lifeline.config $args: $out"
	fi
done

# ---- 3. the init script's procd command line -------------------------------------------
# Source the init script under stubs for rc.common and procd.sh and record what it asks for.
cat >"$tmp/stubs.sh" <<'EOF2'
extra_command() { :; }
procd_open_instance() { echo "open_instance $*"; }
procd_close_instance() { echo "close_instance"; }
procd_set_param() { k=$1; shift; printf 'param %s' "$k"; printf ' <%s>' "$@"; echo; }
procd_add_reload_trigger() { echo "reload_trigger $*"; }
procd_send_signal() { echo "send_signal $*"; }
config_load() { :; }
config_foreach() { :; }
start() { echo "rc_procd start_service"; }
EOF2
trace=$(sh -c ". '$tmp/stubs.sh'; . '$files/lifeline.init'; start_service; service_triggers; echo USE_PROCD=\$USE_PROCD" 2>&1)
echo "$trace" | sed 's/^/     | /'
cmdline=$(echo "$trace" | sed -n 's/^param command //p')
if [ -z "$cmdline" ]; then
	bad "init: start_service sets no command"
else
	# <a> <b> ... -> argv
	mapfile -t argv < <(echo "$cmdline" | grep -o '<[^>]*>' | sed 's/^<//; s/>$//')
	if [ "${argv[0]}" = /usr/bin/lifeline ]; then ok "init: runs /usr/bin/lifeline (where GoBinPackage installs it)"; else bad "init: runs ${argv[0]}, not /usr/bin/lifeline"; fi
	if [ "${argv[1]:-}" = run ]; then ok "init: subcommand run"; else bad "init: subcommand ${argv[1]:-none}, want run"; fi
	want=(/usr/bin/lifeline run -c /etc/config/lifeline --syslog)
	if [ "${argv[*]}" = "${want[*]}" ]; then ok "init: command line is '${want[*]}' (logs to /dev/log at each line's priority)"; else bad "init: command line '${argv[*]}', want '${want[*]}'"; fi
	# The binary's own flag parser must accept it: append --help, which stops after parsing.
	if out=$("$bin" "${argv[@]:1}" --help 2>&1); then
		ok "init: '${argv[*]:1}' parses (lifeline ${argv[1]} --help after it exits 0)"
	else
		bad "init: the binary rejects '${argv[*]:1}': $out"
	fi
fi
echo "$trace" | grep -q '^param respawn' && ok "init: respawn" || bad "init: no respawn"
echo "$trace" | grep -q '^param stdout <1>' && ok "init: stdout to syslog" || bad "init: stdout not to syslog"
echo "$trace" | grep -q '^param stderr <1>' && ok "init: stderr to syslog" || bad "init: stderr not to syslog"
echo "$trace" | grep -q '^reload_trigger lifeline$' && ok "init: procd_add_reload_trigger lifeline (= /etc/config/lifeline)" || bad "init: reload trigger is not 'lifeline'"
# procd's own reload: the instance watches the config file and is signalled (not
# restarted) when it changed; `service set` starts an instance that is not running.
echo "$trace" | grep -q '^param file </etc/config/lifeline>$' && ok "init: procd_set_param file /etc/config/lifeline" || bad "init: the instance does not watch /etc/config/lifeline"
echo "$trace" | grep -q '^param reload_signal <HUP>$' && ok "init: procd_set_param reload_signal HUP" || bad "init: no reload_signal HUP"
echo "$trace" | grep -q '^USE_PROCD=1$' && ok "init: USE_PROCD=1" || bad "init: USE_PROCD is not 1"
# reload_service: a valid config goes to procd (start = service set: signal or start);
# an invalid one is refused with the reason on stderr, and procd is not asked.
reload_with() {
	sh -c ". '$tmp/stubs.sh'; . '$files/lifeline.init'; PROG='$bin'; CONF='$1'; reload_service" 2>&1
}
out=$(reload_with "$files/lifeline.config")
rc=$?
[ "$rc" = 0 ] && [ "$out" = "rc_procd start_service" ] && ok "init: reload of a valid config hands the service to procd (signal if running, start if not)" ||
	bad "init: reload of the shipped config: rc=$rc, $out"
printf 'config lifeline main\n\toption failback_hold never\n' >"$tmp/bad.config"
out=$(reload_with "$tmp/bad.config")
rc=$?
if [ "$rc" != 0 ] && echo "$out" | grep -q "bad.config:2: section lifeline 'main' option 'failback_hold'" &&
	echo "$out" | grep -q 'reload refused' && ! echo "$out" | grep -q rc_procd; then
	ok "init: a refused reload says why to whoever ran it, and procd is not asked"
else
	bad "init: reload of a bad config: rc=$rc, $out"
fi
# SIGHUP must be handled by the daemon, or procd's HUP would kill it.
if grep -rq 'syscall.SIGHUP' cmd/lifeline/*.go; then ok "cmd/lifeline handles SIGHUP"; else bad "cmd/lifeline does not handle SIGHUP"; fi

# ---- 4. the package Makefile -------------------------------------------------------------
mk=$pkg/Makefile
mkvar() { sed -n "s/^$1:=//p" "$mk" | head -n1; }
build_pkg=$(mkvar GO_PKG_BUILD_PKG)
go_pkg=$(mkvar GO_PKG)
modpath=$(go list -m)
[ "$go_pkg" = "$modpath" ] && ok "Makefile: GO_PKG $go_pkg = module path" || bad "Makefile: GO_PKG '$go_pkg' is not the module path '$modpath'"
if [ "$(go list "$build_pkg" 2>/dev/null)" = "$build_pkg" ] && [ "$(go list -f '{{.Name}}' "$build_pkg")" = main ]; then
	ok "Makefile: GO_PKG_BUILD_PKG $build_pkg is a main package"
else
	bad "Makefile: GO_PKG_BUILD_PKG '$build_pkg' is not a main package of this module"
fi
grep -q '^GO_PKG_LDFLAGS_X:=main.version=' "$mk" && grep -q '^var version' cmd/lifeline/main.go &&
	ok "Makefile: GO_PKG_LDFLAGS_X stamps main.version" || bad "Makefile: GO_PKG_LDFLAGS_X does not stamp main.version"
grep -q 'DEPENDS:=$(GO_ARCH_DEPENDS)' "$mk" && ok "Makefile: DEPENDS:=\$(GO_ARCH_DEPENDS)" || bad "Makefile: DEPENDS lacks \$(GO_ARCH_DEPENDS)"
grep -q 'golang-package.mk' "$mk" && ok "Makefile: includes golang-package.mk" || bad "Makefile: golang-package.mk not included"
sed -n '/^define Package\/lifeline\/conffiles/,/^endef/p' "$mk" | grep -qx '/etc/config/lifeline' &&
	ok "Makefile: /etc/config/lifeline in conffiles" || bad "Makefile: /etc/config/lifeline not in conffiles"
# shellcheck disable=SC2013 # one word per match
for f in $(grep -o '\./files/[A-Za-z0-9._-]*' "$mk" | sort -u); do
	[ -f "$pkg/$f" ] && ok "Makefile: $f exists" || bad "Makefile: $f is missing"
done

# The version lines of the Makefile, evaluated by make from the package directory.
{
	sed -n '/^LIFELINE_SRC ?=/,/^PKG_VERSION:=/p' "$mk"
	sed -n '/^GO_PKG_LDFLAGS_X:=/p' "$mk"
	printf 'PKG_RELEASE:=1\nprint:\n\t@echo "$(LIFELINE_SRC)|$(PKG_VERSION)|$(GO_PKG_LDFLAGS_X)"\n'
} >"$tmp/version.mk"
IFS='|' read -r mk_src mk_ver mk_x < <(make -s -C "$pkg" -f "$tmp/version.mk" print)
[ "$mk_src" = "$repo" ] && ok "Makefile: LIFELINE_SRC is this checkout" || bad "Makefile: LIFELINE_SRC '$mk_src', want '$repo'"
case $mk_ver in [0-9]*) ok "Makefile: PKG_VERSION '$mk_ver' starts with a digit" ;; *) bad "Makefile: PKG_VERSION '$mk_ver'" ;; esac
[ "$mk_x" = "main.version=$(git describe --always --dirty)" ] && ok "Makefile: stamps $mk_x (git describe)" || bad "Makefile: GO_PKG_LDFLAGS_X '$mk_x'"

# ---- 5. golang-build.sh's file selection builds -----------------------------------------
# Build/Prepare copies go.mod go.sum cmd daemon hal boards; golang-build.sh keeps code files,
# testdata, go.mod/go.sum and GO_PKG_INSTALL_EXTRA patterns.
prep=$tmp/prep
sel=$tmp/sel
mkdir -p "$prep" "$sel"
cp go.mod go.sum "$prep/" && cp -r cmd daemon hal boards "$prep/"
extra=$(mkvar GO_PKG_INSTALL_EXTRA)
(
	cd "$prep" || exit 1
	all=$(find ./ -path "*/.*" -prune -o -not -type d -print)
	{
		printf '%s\n' "$all" | grep '\.\(c\|cc\|cpp\|go\|h\|hh\|hpp\|proto\|s\)$'
		printf '%s\n' "$all" | grep '/testdata/'
		printf '%s\n' "$all" | grep '/go\.\(mod\|sum\|work\)$'
		for p in $extra; do printf '%s\n' "$all" | grep -e "$p"; done
	} | sort -u | while read -r f; do
		[ -n "$f" ] || continue
		mkdir -p "$sel/$(dirname "$f")"
		cp -p "$f" "$sel/$f"
	done
)
if (cd "$sel" && CGO_ENABLED=0 GOARCH=mipsle GOMIPS=softfloat go build -o "$tmp/lifeline-mipsle" ./cmd/lifeline) 2>"$tmp/sel.err"; then
	ok "golang-build.sh file selection (+ GO_PKG_INSTALL_EXTRA '$extra') builds cmd/lifeline for mipsle"
else
	bad "golang-build.sh file selection does not build: $(head -c 600 "$tmp/sel.err")"
fi
# One binary: the gateway is no menuconfig choice and no build tag.
if grep -q 'LIFELINE_GATEWAY\|^GO_PKG_TAGS' "$mk"; then
	bad "Makefile: a gateway option or build tags are back; the gateway is part of every build"
else
	ok "Makefile: no gateway option, no build tags (the gateway is part of every build)"
fi
# GO_PKG_LDFLAGS: 4 KiB segments on MIPS (as scripts/targets.sh), Go's default elsewhere.
ldf() { printf '%s\nprint:\n\t@echo "$(GO_PKG_LDFLAGS)"\n' "$(sed -n '/^GO_PKG_LDFLAGS:=/p' "$mk")" | make -s -f - print ARCH="$1" | xargs; }
if [ "$(ldf mipsel)" = "-s -w -R 0x1000" ] && [ "$(ldf mips)" = "-s -w -R 0x1000" ] && [ "$(ldf arm)" = "-s -w" ]; then
	ok "Makefile: GO_PKG_LDFLAGS adds -R 0x1000 on mips/mipsel only"
else
	bad "Makefile: GO_PKG_LDFLAGS: mipsel '$(ldf mipsel)', arm '$(ldf arm)'"
fi

# ---- 6. button-guard --------------------------------------------------------------------
# The guard runs under OpenWrt's busybox ash: so here too, when busybox is installed.
ash=(sh)
command -v busybox >/dev/null && ash=(busybox sh)
rb=$tmp/rc.button
mkdir -p "$rb" "$tmp/stubbin"
guard=$files/button-guard.sh
for b in reset wps; do
	printf '#!/bin/sh\necho "orig $BUTTON $ACTION" >>"%s/ran"\nreturn 5\n' "$tmp" >"$rb/$b"
	chmod 755 "$rb/$b"
done
# The names to guard are the kernel's BUTTON= names of the hotkeys' keys: on a board
# whose key 'phone' is the button BTN_0, /etc/rc.button/BTN_0.
mkdir -p "$tmp/boards.d"
printf "config board 'r'\n\toption driver 'linux'\nconfig key 'phone'\n\toption source 'button'\n\toption button 'BTN_0'\nconfig key 'wps'\n\toption source 'button'\n\toption button 'wps'\n" >"$tmp/boards.d/r.board"
printf "config lifeline 'main'\n\toption board 'r'\n\toption boards_dir '%s'\nconfig hotkey 'h'\n\tlist key 'wps'\n\tlist key 'phone'\n" "$tmp/boards.d" >"$tmp/hotkey.config"
names=$("$bin" check -c "$tmp/hotkey.config" --buttons 2>&1 | tr '\n' ' ')
[ "$names" = "wps BTN_0 " ] && ok "lifeline check --buttons: the kernel's BUTTON= names (wps BTN_0)" || bad "lifeline check --buttons: '$names', want 'wps BTN_0 '"
# shellcheck disable=SC2086 # one word per name
RC_BUTTON_DIR=$rb "${ash[@]}" "$guard" install reset $names >/dev/null
if [ -L "$rb/reset" ] && [ "$(readlink "$rb/reset")" = /usr/libexec/lifeline/button-guard ] && [ -x "$rb/reset.lifeline-orig" ] &&
	[ -L "$rb/BTN_0" ] && [ -x "$rb/wps.lifeline-orig" ]; then
	ok "button-guard install: /etc/rc.button/{reset,wps,BTN_0} -> guard, originals kept"
else
	bad "button-guard install did not guard reset, wps, BTN_0: $(ls -l "$rb")"
fi
RC_BUTTON_DIR=$rb "${ash[@]}" "$guard" install reset >/dev/null # idempotent
[ -x "$rb/reset.lifeline-orig" ] && [ ! -e "$rb/reset.lifeline-orig.lifeline-orig" ] && ok "button-guard install is idempotent" || bad "button-guard install twice broke the original"
grep -v '^[[:space:]]*#' "$guard" | grep -q 'pidof' && bad "button-guard tests liveness with pidof (matches the init script and CLI clients)" || ok "button-guard does not use pidof"
# Liveness is procd's view of the service (ubus call service list), stubbed here.
printf '#!/bin/sh\ncat "%s/service.json"\n' "$tmp" >"$tmp/stubbin/ubus"
printf '#!/bin/sh\n# jsonfilter -e @.lifeline.instances[*].running\njq -r ".lifeline.instances[].running"\n' >"$tmp/stubbin/jsonfilter"
printf '#!/bin/sh\n:\n' >"$tmp/stubbin/logger"
chmod 755 "$tmp/stubbin/"*
running() { printf '{"lifeline":{"instances":{"instance1":{"running":%s,"pid":42}}}}\n' "$1" >"$tmp/service.json"; }
running false
PATH=$tmp/stubbin:$PATH RC_BUTTON_DIR=$rb BUTTON=reset ACTION=pressed "${ash[@]}" "$guard"
rc=$?
if [ "$rc" = 5 ] && grep -q 'orig reset pressed' "$tmp/ran" 2>/dev/null; then
	ok "button-guard while procd reports lifeline not running runs the original action (exit 5 = procd timeout kept)"
else
	bad "button-guard without Lifeline: rc=$rc, ran: $(cat "$tmp/ran" 2>/dev/null)"
fi
: >"$tmp/ran"
echo '{}' >"$tmp/service.json" # service not even known to procd
PATH=$tmp/stubbin:$PATH RC_BUTTON_DIR=$rb BUTTON=reset ACTION=pressed "${ash[@]}" "$guard"
grep -q 'orig reset pressed' "$tmp/ran" && ok "button-guard with no lifeline service in procd passes through" || bad "button-guard with no service: ran: $(cat "$tmp/ran")"
: >"$tmp/ran"
running true
PATH=$tmp/stubbin:$PATH RC_BUTTON_DIR=$rb BUTTON=reset ACTION=released SEEN=0 "${ash[@]}" "$guard"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/ran" ]; then
	ok "button-guard while procd reports lifeline running suppresses the default action"
else
	bad "button-guard with Lifeline running: rc=$rc, ran: $(cat "$tmp/ran")"
fi
RC_BUTTON_DIR=$rb "${ash[@]}" "$guard" remove reset >/dev/null
if [ -f "$rb/reset" ] && [ ! -L "$rb/reset" ] && [ ! -e "$rb/reset.lifeline-orig" ]; then
	ok "button-guard remove restores the original"
else
	bad "button-guard remove: $(ls -l "$rb")"
fi
# unguard_buttons restores every link to the guard, not only the keys still in a hotkey.
RC_BUTTON_DIR=$rb "${ash[@]}" "$guard" install reset >/dev/null
printf '#!/bin/sh\necho "guard $*"\n' >"$tmp/guard-spy"
chmod 755 "$tmp/guard-spy"
trace=$(sh -c ". '$tmp/stubs.sh'; . '$files/lifeline.init'; GUARD='$tmp/guard-spy'; unguard_buttons" 2>&1)
[ "$trace" = "guard remove-all" ] && ok "init: unguard_buttons restores every guarded button (remove-all)" || bad "init: unguard_buttons runs '$trace'"
# guard_buttons guards the hotkeys' buttons, and nothing when the config is invalid.
printf '#!/bin/sh\necho "lifeline $*" >&2\ncase "$*" in *bad*) echo "bad.config:2: nope" >&2; exit 1 ;; esac\necho wps\necho BTN_0\n' >"$tmp/prog-spy"
chmod 755 "$tmp/prog-spy"
out=$(sh -c ". '$tmp/stubs.sh'; . '$files/lifeline.init'; PROG='$tmp/prog-spy'; GUARD='$tmp/guard-spy'; CONF=/etc/config/lifeline; guard_buttons" 2>&1)
echo "$out" | grep -qx 'guard install wps BTN_0' && ok "init: guard_buttons installs the guard for the BUTTON= names check --buttons gives" || bad "init: guard_buttons: $out"
out=$(sh -c ". '$tmp/stubs.sh'; . '$files/lifeline.init'; PROG='$tmp/prog-spy'; GUARD='$tmp/guard-spy'; CONF=/etc/bad; guard_buttons" 2>&1)
rc=$?
[ "$rc" != 0 ] && ! echo "$out" | grep -q 'guard install' && ok "init: guard_buttons with an invalid config guards nothing and fails" || bad "init: guard_buttons with a bad config: rc=$rc $out"
# The package's prerm (the Makefile's Package/lifeline/prerm, $$ as make passes it).
sed -n '/^define Package\/lifeline\/prerm/,/^endef/p' "$pkg/Makefile" | sed '1d;$d' | sed 's/\$\$/$/g' |
	sed "s|/usr/libexec/lifeline/button-guard|sh $guard|" >"$tmp/prerm"
RC_BUTTON_DIR=$rb "${ash[@]}" "$tmp/prerm" >/dev/null
rc=$?
left=$(find "$rb" -type l -o -name '*.lifeline-orig' | wc -l)
if [ "$rc" = 0 ] && [ "$left" = 0 ] && [ -f "$rb/reset" ] && [ -f "$rb/wps" ] && [ ! -e "$rb/BTN_0" ]; then
	ok "prerm restores every guarded button (reset, wps; BTN_0 had no original)"
else
	bad "prerm: rc=$rc, left: $(ls -l "$rb")"
fi
: >"$tmp/ran"
PATH=$tmp/stubbin:$PATH BUTTON=reset ACTION=pressed "${ash[@]}" "$rb/reset"
grep -q 'orig reset pressed' "$tmp/ran" && ok "after prerm /etc/rc.button/reset is the original again" || bad "after prerm reset does nothing"

# ---- 7. sysupgrade -----------------------------------------------------------------------
keep=$files/lifeline.keep
grep -qF '$(INSTALL_DATA) ./files/lifeline.keep $(1)/lib/upgrade/keep.d/lifeline' "$pkg/Makefile" &&
	ok "Makefile: installs /lib/upgrade/keep.d/lifeline" || bad "Makefile: no /lib/upgrade/keep.d/lifeline"
kept() { grep -v '^#' "$keep" | grep -q "^$1"; }
for d in /etc/lifeline/hooks.d /etc/lifeline/boards.d; do
	kept "${d%/*}/" && ok "sysupgrade keeps $d (keep.d lists ${d%/*}/)" || bad "sysupgrade loses $d"
done
hooks=$(sed -n "s/^[[:space:]]*option hooks_dir '\(.*\)'.*/\1/p" "$files/lifeline.config")
kept "${hooks%/*}/" && ok "the shipped hooks_dir $hooks is kept" || bad "the shipped hooks_dir $hooks is not kept on sysupgrade"

# ---- 8. licence and version --------------------------------------------------------------
if [ -f LICENSE ] && grep -q '^ *Apache License$' LICENSE && grep -q '^ *Version 2.0, January 2004$' LICENSE &&
	grep -q 'END OF TERMS AND CONDITIONS' LICENSE && ! grep -qi 'restrictions on use' LICENSE; then
	ok "LICENSE is the Apache License 2.0"
else
	bad "LICENSE is missing or not the Apache License 2.0"
fi
[ "$(mkvar PKG_LICENSE)" = Apache-2.0 ] && ok "Makefile: PKG_LICENSE:=Apache-2.0" || bad "Makefile: PKG_LICENSE '$(mkvar PKG_LICENSE)'"
lf=$(mkvar PKG_LICENSE_FILES)
[ -n "$lf" ] && [ -f "$lf" ] && sed -n '/^define Build\/Prepare/,/^endef/p' "$pkg/Makefile" | grep -q "(LIFELINE_SRC)/$lf" &&
	ok "Makefile: PKG_LICENSE_FILES $lf exists and Build/Prepare copies it" || bad "Makefile: PKG_LICENSE_FILES '$lf'"
mkvar PKG_MAINTAINER | grep -q '^[^<]* <[^>]*@[^>]*>$' && ok "Makefile: PKG_MAINTAINER $(mkvar PKG_MAINTAINER)" || bad "Makefile: PKG_MAINTAINER '$(mkvar PKG_MAINTAINER)'"
for f in "$files/lifeline.init" "$files/button-guard.sh" "$files/lifeline.rpcd" "$pkg/Makefile"; do
	head -n3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' && ok "SPDX header in ${f#"$repo"/}" || bad "no SPDX header in ${f#"$repo"/}"
done
if grep -n 'DESIGN\|\.md\b\|scripts/' "$files/lifeline.config"; then bad "the shipped config cites files a router does not have"; else ok "the shipped config cites no file outside the router"; fi
# PKG_VERSION: evaluated here and in a clone one commit back, it must have grown.
pkgver() {
	{
		sed -n '/^LIFELINE_SRC ?=/,/^PKG_VERSION:=/p' "$mk"
		printf 'print:\n\t@echo "$(PKG_VERSION)"\n'
	} >"$tmp/pkgver.mk"
	make -s -C "$pkg" -f "$tmp/pkgver.mk" print LIFELINE_SRC="$1"
}
now=$(pkgver "$repo")
git clone -q --no-local "$repo" "$tmp/prev" 2>/dev/null && git -C "$tmp/prev" checkout -q HEAD~1 2>/dev/null
prev=$(pkgver "$tmp/prev")
newer=$(printf '%s\n%s\n' "$prev" "$now" | sort -V | tail -n1)
if [ -n "$now" ] && [ "$now" != "$prev" ] && [ "$newer" = "$now" ] && echo "$now" | grep -qx '[0-9][0-9.]*'; then
	ok "Makefile: PKG_VERSION $now > $prev (one commit earlier)"
else
	bad "Makefile: PKG_VERSION '$now', one commit earlier '$prev': not increasing"
fi

# ---- 9. rpcd plugin and ACL ----------------------------------------------------------------
grep -q '^exec /usr/bin/lifeline rpcd "\$@"$' "$files/lifeline.rpcd" && ok "rpcd plugin execs lifeline rpcd" || bad "rpcd plugin does not exec lifeline rpcd"
grep -qF '$(INSTALL_BIN) ./files/lifeline.rpcd $(1)/usr/libexec/rpcd/lifeline' "$pkg/Makefile" &&
	grep -qF '$(INSTALL_DATA) ./files/lifeline.acl.json $(1)/usr/share/rpcd/acl.d/lifeline.json' "$pkg/Makefile" &&
	ok "Makefile: installs /usr/libexec/rpcd/lifeline and /usr/share/rpcd/acl.d/lifeline.json" || bad "Makefile: rpcd plugin or ACL not installed"
methods=$("$bin" rpcd list | jq -r 'keys | sort | join(" ")')
acl=$(jq -r '[.lifeline.read.ubus.lifeline[], .lifeline.write.ubus.lifeline[]] | sort | join(" ")' "$files/lifeline.acl.json" 2>&1)
[ -n "$methods" ] && [ "$methods" = "$acl" ] && ok "rpcd ACL grants exactly the plugin's methods ($methods)" || bad "rpcd: methods '$methods', ACL '$acl'"

echo "openwrt-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
