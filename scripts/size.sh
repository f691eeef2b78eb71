#!/usr/bin/env bash
# size.sh — explain what takes the bytes of the Lifeline binary.
#
#   scripts/size.sh [TARGET] [TOP]      # TARGET as in cross.sh (default mipsle), TOP rows (default 25)
#
# Builds the target once more WITHOUT -s -w (symbols are needed to attribute bytes; the
# code is the same as the shipped binary), then prints:
#   1. the ELF sections of the stripped build, their sum and what the file holds beyond
#      it, and its load segments with the padding their alignment adds to the file,
#   2. bytes per Go package (sum of `go tool nm -size` over its symbols), largest first,
#   3. bytes per module (first path elements of the package: stdlib, x/sys, netlink, ...),
#   4. the largest single symbols,
#   5. the modules linked in (`go version -m`).
# Environment: VERSION, PKG as in cross.sh.
set -euo pipefail

cd "$(dirname "$0")/.."

TARGET=${1:-mipsle}
TOP=${2:-25}
PKG=${PKG:-./cmd/lifeline}
VERSION=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo unknown)}

# shellcheck source=scripts/targets.sh
. scripts/targets.sh # GOENV per target
if [ -z "${GOENV[$TARGET]:-}" ]; then
	echo "size.sh: unknown target $TARGET" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
full="$tmp/lifeline.full"
stripped="$tmp/lifeline.stripped"
# shellcheck disable=SC2086
env GOOS=linux CGO_ENABLED=0 ${GOENV[$TARGET]} go build -trimpath "${GCFLAGS[@]}" -ldflags "${LDEXTRA[$TARGET]:-} -X main.version=$VERSION" -o "$full" "$PKG"
# shellcheck disable=SC2086
env GOOS=linux CGO_ENABLED=0 ${GOENV[$TARGET]} go build -trimpath "${GCFLAGS[@]}" -ldflags "-s -w ${LDEXTRA[$TARGET]:-} -X main.version=$VERSION" -o "$stripped" "$PKG"

xzb=-
command -v xz >/dev/null 2>&1 && xzb=$(xz -9e -c "$stripped" | wc -c)
echo "== $PKG for linux/$TARGET: $(stat -c %s "$stripped") bytes stripped (shipped; xz -9e: $xzb), $(stat -c %s "$full") with symbols"
echo "   linker flags beyond -s -w: ${LDEXTRA[$TARGET]:-none}"
echo "   no inlining in the ${#GCFLAGS[@]} package patterns of scripts/noinline.pkgs"
echo
echo "== ELF sections of the shipped (stripped) binary, bytes (NOBITS: memory only, no file bytes)"
readelf -S -W "$stripped" | sed -n 's/^ *\[ *[0-9]*\] *//p' | {
	sum=0
	while read -r name type _addr _off size _rest; do
		case $name in .*) ;; *) continue ;; esac
		bytes=$((16#$size))
		if [ "$type" = NOBITS ]; then
			printf '  %-22s %10d  (NOBITS)\n' "$name" "$bytes"
		else
			printf '  %-22s %10d\n' "$name" "$bytes"
			sum=$((sum + bytes))
		fi
	done
	file=$(stat -c %s "$stripped")
	printf '  %-22s %10d\n' "sum of file sections" "$sum"
	printf '  %-22s %10d  (ELF and program headers, section table, alignment padding)\n' "+ the rest" "$((file - sum))"
	printf '  %-22s %10d\n' "= file size" "$file"
}
echo
echo "== load segments: file bytes, and the zero padding to the next one (alignment; free in xz)"
readelf -l -W "$stripped" | awk '
function hex(s,   i, v) { v = 0; s = tolower(substr(s, 3)); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
BEGIN { n = 0 }
$1 == "LOAD" {off[n] = hex($2); fsz[n] = hex($5); fl[n] = ($8 ~ /^0x/) ? $7 : $7 $8; al = $NF; n++}
	END {
		for (i = 0; i < n; i++) {
			pad = (i + 1 < n) ? off[i + 1] - off[i] - fsz[i] : 0
			printf "  LOAD %-4s %10d bytes, padding after %6d (align %s)\n", fl[i], fsz[i], pad, al
		}
	}'
echo

# go tool nm -size -sort size prints: ADDR SIZE TYPE NAME. Attribute each symbol to its package:
# the package path is everything up to the first '.' after the last '/' of the name
# (so github.com/vishvananda/netlink.(*Handle).LinkList -> github.com/vishvananda/netlink).
# Runtime tables (type:*, go:*, runtime.*) are kept under their own prefix.
go tool nm -size -sort size "$full" >"$tmp/nm"

awk '
function pkgof(name,   slash, rest, dot) {
	if (name ~ /^type:/) return "(type descriptors)"
	if (name ~ /^go:/)   return "(go: runtime tables)"
	sub(/^\*/, "", name)
	slash = 0
	# stop at the first bracket: generic instantiations carry other package paths inside
	rest = name
	if (match(rest, /[\[(]/)) rest = substr(rest, 1, RSTART - 1)
	n = split(rest, parts, "/")
	last = parts[n]
	dot = index(last, ".")
	if (dot > 0) last = substr(last, 1, dot - 1)
	prefix = ""
	for (i = 1; i < n; i++) prefix = prefix parts[i] "/"
	return prefix last
}
$2 ~ /^[0-9]+$/ && NF >= 4 && $3 != "B" && $3 != "b" {
	name = $4; for (i = 5; i <= NF; i++) name = name " " $i
	p = pkgof(name)
	bytes[p] += $2
	total += $2
}
END {
	for (p in bytes) printf "%d\t%s\n", bytes[p], p
	printf "%d\t(TOTAL symbols)\n", total > "/dev/stderr"
}' "$tmp/nm" 2>"$tmp/total" | sort -rn >"$tmp/bypkg"

total=$(cut -f1 "$tmp/total")
echo "   (code and data symbols, bss left out as it takes no file bytes; .gopclntab, the line"
echo "    tables, grows with .text and is not attributed)"
echo "== bytes per package (symbol sizes; total $total), top $TOP"
head -n "$TOP" "$tmp/bypkg" | awk -F'\t' -v t="$total" '{printf "  %9d %5.1f%%  %s\n", $1, 100*$1/t, $2}'
echo

echo "== bytes per module"
awk -F'\t' '
function modof(p,   n, parts) {
	if (p ~ /^\(/) return p
	n = split(p, parts, "/")
	if (parts[1] !~ /\./) return (parts[1] == "lifeline" ? "lifeline (this repo)" : "Go standard library")
	if (parts[1] == "golang.org" && parts[2] == "x") return parts[1] "/" parts[2] "/" parts[3]
	if (parts[1] == "go.bug.st" || parts[1] == "go.uber.org") return parts[1] "/" parts[2]
	return parts[1] "/" parts[2] "/" parts[3]
}
{ m[modof($2)] += $1 }
END { for (k in m) printf "%d\t%s\n", m[k], k }' "$tmp/bypkg" | sort -rn |
	awk -F'\t' -v t="$total" '{printf "  %9d %5.1f%%  %s\n", $1, 100*$1/t, $2}'
echo

echo "== largest symbols, top $TOP"
head -n "$TOP" "$tmp/nm" | awk '{name=$4; for (i=5;i<=NF;i++) name=name " " $i; printf "  %9d %s  %s\n", $2, $3, name}'
echo

echo "== modules linked in"
go version -m "$stripped" | awk '$1 == "dep" || $1 == "mod" {printf "  %-5s %s %s\n", $1, $2, $3}'
