# targets.sh — the GOOS=linux targets Lifeline ships, sourced by cross.sh,
# size.sh and qemu-user-test.sh: GOENV[target] is the go env for it.
# shellcheck shell=bash disable=SC2034 # used by the scripts that source it
declare -A GOENV=(
	[amd64]="GOARCH=amd64"
	[arm64]="GOARCH=arm64"
	[armv7]="GOARCH=arm GOARM=7"
	[armv5]="GOARCH=arm GOARM=5"
	[mips]="GOARCH=mips GOMIPS=softfloat"
	[mipsle]="GOARCH=mipsle GOMIPS=softfloat"
)
