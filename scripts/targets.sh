# targets.sh — the GOOS=linux targets Lifeline ships, sourced by cross.sh,
# size.sh and qemu-user-test.sh: GOENV[target] is the go env for it,
# LDEXTRA[target] linker flags beyond -s -w for it, GCFLAGS the compiler
# flags of every target (no inlining in the packages of noinline.pkgs).
# shellcheck shell=bash disable=SC2034 # used by the scripts that source it
declare -A GOENV=(
	[amd64]="GOARCH=amd64"
	[arm64]="GOARCH=arm64"
	[armv7]="GOARCH=arm GOARM=7"
	[armv5]="GOARCH=arm GOARM=5"
	[mips]="GOARCH=mips GOMIPS=softfloat"
	[mipsle]="GOARCH=mipsle GOMIPS=softfloat"
)
# MIPS: load segments aligned to 4 KiB, the page size of every OpenWrt MIPS
# kernel (OpenWrt links its C programs with -z max-page-size=4096 too), instead
# of Go's default 64 KiB, whose padding costs about 90 KB of file (not of xz).
declare -A LDEXTRA=(
	[mips]="-R 0x1000"
	[mipsle]="-R 0x1000"
)
# The -gcflags=PATTERN=-l arguments for the packages of scripts/noinline.pkgs.
GCFLAGS=()
while read -r pat _; do
	case $pat in '' | '#'*) continue ;; esac
	GCFLAGS+=("-gcflags=$pat=-l")
done <"$(dirname "${BASH_SOURCE[0]}")/noinline.pkgs"
