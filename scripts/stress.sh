#!/bin/sh
# Runs the unit suite (make unit) RUNS times in a row while stress-ng keeps
# every core busy, to catch tests that depend on timing or scheduling.
# Stops at the first failing run.
# Usage: scripts/stress.sh [RUNS]   (default 10; STRESS_CPUS=N hogs N cores,
#        default 0: every online core; UNIT='...' replaces the command)
set -eu

runs=${1:-10}
cpus=${STRESS_CPUS:-0}
unit=${UNIT:-make --no-print-directory unit}

if ! command -v stress-ng >/dev/null 2>&1; then
	echo "stress: stress-ng is missing (scripts/test-deps.sh installs it)" >&2
	exit 1
fi
stress-ng --cpu "$cpus" --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null || true' EXIT INT TERM

i=1
while [ "$i" -le "$runs" ]; do
	echo "stress: run $i of $runs (stress-ng --cpu $cpus)"
	if ! $unit; then
		echo "stress: run $i of $runs failed" >&2
		exit 1
	fi
	i=$((i + 1))
done
echo "stress: $runs runs passed under load"
