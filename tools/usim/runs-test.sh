#!/usr/bin/env bash
# The free-run index (module/runs.c) against its naive model in user
# space (runs_test.c), on a seed that changes every run and is printed:
#   tools/usim/runs-test.sh [--seed S]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seed=$(( $(date +%s) % 100000 ))
[ "${1:-}" = --seed ] && seed=$2
make -s -C "$here" out/gcc/runs_test >&2
"$here/out/gcc/runs_test" --seed "$seed"
