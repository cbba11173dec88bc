#!/usr/bin/env bash
# Two threads racing on the same allocations of the module's allocators
# (race_test.c, built -DUSIM_THREADS), on a seed that changes every run
# and is printed:
#   tools/usim/race-test.sh [--seed S] [--rounds R]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seed=$(( $(date +%s) % 100000 ))
rounds=300000
while [ $# -gt 0 ]; do
	case $1 in
	--seed) seed=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	*) echo "usage: $0 [--seed S] [--rounds R]" >&2; exit 2 ;;
	esac
done
make -s -C "$here" race >&2
"$here/out/threads/race_test" --seed "$seed" --rounds "$rounds"
