#!/usr/bin/env bash
# ok/bad always succeed, so `test && ok || bad` is an if-then-else here; $(...) in
# single quotes is make syntax, not shell.
# shellcheck disable=SC2015,SC2016,SC2001
# check.sh — test what can be tested of the OpenWrt package without the OpenWrt SDK.
#
#   scripts/openwrt/check.sh            # builds lifeline for the host unless LIFELINE=path is set
#
# 1. shell syntax of the init script and the button guard (sh -n; shellcheck if installed)
# 2. the shipped UCI default passes `lifeline check -c files/lifeline.config --board sim`
# 3. the procd command line of files/lifeline.init, taken from start_service with procd's
#    functions stubbed, is accepted by the binary's flag parser, and the reload path
#    (reload trigger, signal, service name) names the installed service and config
# 4. the package Makefile: GO_PKG_BUILD_PKG resolves, GO_PKG_LDFLAGS_X names main.version,
#    DEPENDS has $(GO_ARCH_DEPENDS), conffiles has /etc/config/lifeline, every ./files/X exists
# 5. golang-build.sh's file selection (code, go.mod/go.sum, GO_PKG_INSTALL_EXTRA) of what
#    Build/Prepare copies is enough to build the binary (the embedded board files included)
# 6. button-guard install/remove/pass-through in a scratch /etc/rc.button
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
for f in "$files/lifeline.init" "$files/button-guard.sh"; do
	if sh -n "$f"; then ok "sh -n ${f#"$repo"/}"; else bad "sh -n ${f#"$repo"/}"; fi
	if command -v busybox >/dev/null; then
		if busybox sh -n "$f"; then ok "busybox sh -n ${f#"$repo"/}"; else bad "busybox sh -n ${f#"$repo"/}"; fi
	fi
	if command -v shellcheck >/dev/null; then
		# SC2034: rc.common reads START/STOP/USE_PROCD; SC3043: busybox ash has `local`.
		if shellcheck -s sh -e SC2034,SC3043,SC2317 "$f"; then ok "shellcheck ${f#"$repo"/}"; else bad "shellcheck ${f#"$repo"/}"; fi
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
if out=$("$bin" check -c "$files/lifeline.config" --board sim 2>&1); then
	ok "lifeline check -c files/lifeline.config --board sim: $out"
else
	bad "lifeline check -c files/lifeline.config --board sim: $out"
fi

# ---- 3. the init script's procd command line -------------------------------------------
# Source the init script under stubs for rc.common and procd.sh and record what it asks for.
cat >"$tmp/stubs.sh" <<'EOF'
extra_command() { :; }
procd_open_instance() { echo "open_instance $*"; }
procd_close_instance() { echo "close_instance"; }
procd_set_param() { k=$1; shift; printf 'param %s' "$k"; printf ' <%s>' "$@"; echo; }
procd_add_reload_trigger() { echo "reload_trigger $*"; }
procd_send_signal() { echo "send_signal $*"; }
config_load() { :; }
config_foreach() { :; }
EOF
trace=$(sh -c ". '$tmp/stubs.sh'; . '$files/lifeline.init'; start_service; service_triggers; reload_service; echo USE_PROCD=\$USE_PROCD" 2>&1)
echo "$trace" | sed 's/^/     | /'
cmdline=$(echo "$trace" | sed -n 's/^param command //p')
if [ -z "$cmdline" ]; then
	bad "init: start_service sets no command"
else
	# <a> <b> ... -> argv
	mapfile -t argv < <(echo "$cmdline" | grep -o '<[^>]*>' | sed 's/^<//; s/>$//')
	if [ "${argv[0]}" = /usr/bin/lifeline ]; then ok "init: runs /usr/bin/lifeline (where GoBinPackage installs it)"; else bad "init: runs ${argv[0]}, not /usr/bin/lifeline"; fi
	if [ "${argv[1]:-}" = run ]; then ok "init: subcommand run"; else bad "init: subcommand ${argv[1]:-none}, want run"; fi
	want=(/usr/bin/lifeline run -c /etc/config/lifeline)
	if [ "${argv[*]}" = "${want[*]}" ]; then ok "init: command line is '${want[*]}' (DESIGN.md control surface)"; else bad "init: command line '${argv[*]}', want '${want[*]}'"; fi
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
echo "$trace" | grep -q '^send_signal lifeline \* HUP$' && ok "init: reload sends SIGHUP to service lifeline (= /etc/init.d/lifeline)" || bad "init: reload does not send HUP to lifeline"
echo "$trace" | grep -q '^USE_PROCD=1$' && ok "init: USE_PROCD=1" || bad "init: USE_PROCD is not 1"
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
rb=$tmp/rc.button
mkdir -p "$rb" "$tmp/stubbin"
printf '#!/bin/sh\necho "orig $BUTTON $ACTION" >>"%s/ran"\nreturn 5\n' "$tmp" >"$rb/reset"
chmod 755 "$rb/reset"
guard=$files/button-guard.sh
RC_BUTTON_DIR=$rb sh "$guard" install reset phone >/dev/null
if [ -L "$rb/reset" ] && [ "$(readlink "$rb/reset")" = /usr/libexec/lifeline/button-guard ] && [ -x "$rb/reset.lifeline-orig" ]; then
	ok "button-guard install: /etc/rc.button/reset -> guard, original kept"
else
	bad "button-guard install did not guard reset: $(ls -l "$rb")"
fi
RC_BUTTON_DIR=$rb sh "$guard" install reset >/dev/null # idempotent
[ -x "$rb/reset.lifeline-orig" ] && [ ! -e "$rb/reset.lifeline-orig.lifeline-orig" ] && ok "button-guard install is idempotent" || bad "button-guard install twice broke the original"
# Pass-through while Lifeline is not running; suppression while it is (pidof stubbed).
printf '#!/bin/sh\nexit 1\n' >"$tmp/stubbin/pidof"
printf '#!/bin/sh\n:\n' >"$tmp/stubbin/logger"
chmod 755 "$tmp/stubbin/"*
PATH=$tmp/stubbin:$PATH RC_BUTTON_DIR=$rb BUTTON=reset ACTION=pressed sh "$guard"
rc=$?
if [ "$rc" = 5 ] && grep -q 'orig reset pressed' "$tmp/ran" 2>/dev/null; then
	ok "button-guard without Lifeline runs the original action (exit 5 = procd timeout kept)"
else
	bad "button-guard without Lifeline: rc=$rc, ran: $(cat "$tmp/ran" 2>/dev/null)"
fi
: >"$tmp/ran"
printf '#!/bin/sh\necho 1234\n' >"$tmp/stubbin/pidof"
PATH=$tmp/stubbin:$PATH RC_BUTTON_DIR=$rb BUTTON=reset ACTION=released SEEN=0 sh "$guard"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/ran" ]; then
	ok "button-guard with Lifeline running suppresses the default action"
else
	bad "button-guard with Lifeline running: rc=$rc, ran: $(cat "$tmp/ran")"
fi
RC_BUTTON_DIR=$rb sh "$guard" remove reset phone >/dev/null
if [ -f "$rb/reset" ] && [ ! -L "$rb/reset" ] && [ ! -e "$rb/reset.lifeline-orig" ] && [ ! -e "$rb/phone" ]; then
	ok "button-guard remove restores the original"
else
	bad "button-guard remove: $(ls -l "$rb")"
fi

echo "openwrt-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
