#!/usr/bin/env bash
# freenos-mm benchmark: throughput with 1 and 2 threads, natively.
#
#   tools/bench/scale.sh [ROUNDS]     (default 3)
#
# Builds out/scale on today's allocator sources and out/scale-base on the
# baseline commit's (tools/bench/Makefile BASELINE), both with spinning
# locks (-DUSIM_THREADS), runs them interleaved ROUNDS times with 1 and
# 2 threads (each pinned to its own CPU, 400 ms per case), and writes
# into $FNMM_RESULTS (default results/):
#   scale.md    per case: ops/s with 1 and 2 threads, median (min-p90)
#               over the rounds, and the 2-thread / 1-thread ratio
#   scale.tsv   every run: build, threads, case, ops/s
# glibc malloc rows are a reference for what a per-thread allocator
# gives on the same machine in the same run.  Figures only, no verdicts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}
rounds=${1:-3}
mkdir -p "$results"
make -s -C "$here" scale >&2
base=$(sed -n 's/^BASELINE ?= //p' "$here/Makefile")
tsv=$results/scale.tsv
: > "$tsv"
if [ "$(nproc)" -lt 2 ]; then
	echo "scale: needs 2 CPUs" >&2
	exit 1
fi
for r in $(seq "$rounds"); do
	for t in 1 2; do
		for b in base now; do
			exe=$here/out/scale
			[ $b = base ] && exe=$here/out/scale-base
			echo "scale: round $r, $t threads, $b" >&2
			"$exe" "$t" 400 "$b" >> "$tsv"
		done
	done
done
python3 - "$tsv" "$base" "$rounds" > "$results/scale.md" <<'PY'
import collections, sys
tsv, base, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
d = collections.defaultdict(list)
cases = []
for line in open(tsv):
    b, t, case, ops = line.split('\t')
    d[(b, int(t), case)].append(float(ops))
    if case not in cases:
        cases.append(case)
def med(v):
    v = sorted(v)
    return v[len(v) // 2], v[0], v[int(len(v) * 0.9)]
def m(x):
    return '%.1f M' % (x / 1e6)
print('## Scaling: 1 and 2 threads (user-space build, native)\n')
print('Allocate + release pairs per second over all threads, each thread '
      'on its own CPU (usim CPU = thread, so per-CPU magazines are per '
      'thread), locks spinning as kernel spinlocks do; %s rounds '
      'interleaved with the baseline, commit %s (one Split lock, one '
      'small-block cache).  median (min–p90).\n' % (rounds, base))
print('| case | build | 1 thread | 2 threads | 2 / 1 |')
print('|---|---|---:|---:|---:|')
for case in cases:
    for b in ('base', 'now'):
        if (b, 1, case) not in d:
            continue
        one, two = med(d[(b, 1, case)]), med(d[(b, 2, case)])
        if case.startswith('malloc') and b == 'base':
            continue
        name = 'glibc' if case.startswith('malloc') else \
               ('baseline' if b == 'base' else 'now')
        print('| %s | %s | %s (%s–%s) | %s (%s–%s) | %.2f× |' % (
            case, name, m(one[0]), m(one[1]), m(one[2]),
            m(two[0]), m(two[1]), m(two[2]), two[0] / one[0]))
PY
cat "$results/scale.md"
