#!/usr/bin/env bash
# freenos-mm benchmark: worst cases, natively (user-space build).
#
#   tools/bench/worst.sh [ROUNDS]     (default 3)
#
# Builds out/worst on today's allocator sources and out/worst-base on
# those of BASELINE (tools/bench/Makefile: the last commit before the run
# index), runs them interleaved (base, now, now with percpu=0, base, ...) ROUNDS times
# at 64 MiB, 1 GiB and 4 GiB, pinned to one CPU, and writes into
# $FNMM_RESULTS (default results/):
#   worst.md    the table: per case and size, median (min-p90) and the
#               worst sample of each build, and the ratio of the medians
#   worst.tsv   every sample: build, MiB, case, ns
# Timings print figures; nothing here passes or fails on one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}
rounds=${1:-3}
mkdir -p "$results"
make -s -C "$here" worst >&2
base=$(sed -n 's/^BASELINE ?= //p' "$here/Makefile")
tsv=$results/worst.tsv
: > "$tsv"
cpu=$(( $(nproc) - 1 ))
for r in $(seq "$rounds"); do
	for mib in 64 1024 4096; do
		for b in base now now-percpu0; do
			exe=$here/out/worst
			[ $b = base ] && exe=$here/out/worst-base
			echo "worst: round $r, $mib MiB, $b" >&2
			if [ $b = now-percpu0 ]; then
				taskset -c "$cpu" "$exe" "$mib" 15 now percpu=0
			else
				taskset -c "$cpu" "$exe" "$mib" 15 "$b"
			fi >> "$tsv"
		done
	done
done
python3 - "$tsv" "$base" "$rounds" > "$results/worst.md" <<'PY'
import collections, sys
tsv, base, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
d = collections.defaultdict(list)
for line in open(tsv):
    b, mib, case, ns = line.split('\t')
    d[(case, int(mib), b)].append(int(ns))
def fmt(ns):
    return '%.1f ms' % (ns / 1e6) if ns >= 1e6 else \
           '%.1f µs' % (ns / 1e3) if ns >= 1e4 else '%d ns' % ns
def stat(v):
    v = sorted(v)
    return v[len(v) // 2], v[0], v[int(len(v) * 0.9)], v[-1]
def base_case(case):
    # "X (percpu=0)" runs on today's sources only: against the baseline's X
    return case.split(' (')[0]
def size(mib):
    return '%d GiB' % (mib // 1024) if mib >= 1024 else '%d MiB' % mib
cases, meta = [], []
for (case, mib, b) in d:
    lst = meta if case.startswith('meta-') else cases
    if (case, mib) not in lst:
        lst.append((case, mib))
print('## Worst cases (user-space build, native)\n')
print('Every other page of a Split and a Bit allocator (page chunks) free, '
      'no two adjacent; one call timed at a time (clock_gettime, ~20 ns '
      'of it the clock\'s), %s rounds interleaved with the baseline, '
      'commit %s (before the run index).  median (min–p90), worst; '
      'ratio = baseline median / now median.  Rows "(percpu=0)": a Split '
      'made with FNMM_NO_PERCPU (no per-CPU magazines), against the '
      'baseline\'s row of the same case.\n' % (rounds, base))
print('| case | region | baseline | now | baseline / now |')
print('|---|---|---:|---:|---:|')
for case, mib in cases:
    row = []
    for b in ('base', 'now'):
        m, lo, p90, hi = stat(d[(base_case(case) if b == 'base' else case,
                                 mib, b)])
        row.append('%s (%s–%s), worst %s' % (fmt(m), fmt(lo), fmt(p90), fmt(hi)))
    mb = stat(d[(base_case(case), mib, 'base')])[0]
    mn = stat(d[(case, mib, 'now')])[0]
    print('| %s | %s | %s | %s | %.1f× |' % (case, size(mib), row[0], row[1], mb / max(mn, 1)))
print('\n## Metadata (user-space build)\n')
print('Bytes the allocators kmalloc for their metadata (malloc_usable_size '
      'in the shim): a fresh Split and a fresh Bit (page chunks) of the '
      'region, and a Pool (one per open file) empty and with one 64 B '
      'object.  Per GiB: bytes / region GiB.\n')
print('| metadata | region | baseline bytes | now bytes | now per GiB of region |')
print('|---|---|---:|---:|---:|')
for case, mib in meta:
    bb = d[(case, mib, 'base')][0]
    nb = d[(case, mib, 'now')][0]
    per = '%.0f KiB' % (nb * 1024 / mib / 1024) if case in ('meta-split', 'meta-bit') else ''
    print('| %s | %s | %d | %d | %s |' % (case, size(mib), bb, nb, per))
PY
cat "$results/worst.md"
