#!/usr/bin/env bash
# freenos-mm benchmark: how long the allocators hold their locks.
#
#   tools/bench/lockstat.sh
#
# Runs out/scale-lockstat (scale.c built with -DUSIM_LOCKSTAT: every lock
# hold timed with the TSC and counted by the place that took the lock)
# with 2 threads, today's sources and the baseline's, and writes into
# $FNMM_RESULTS (default results/):
#   lockstat.md    for the mixed (stress) workload: per place, holds and
#                  p50 / p99 / p99.9 / the longest hold, and a histogram
#                  of all holds; the longest include the holder being
#                  preempted (user space: no preempt_disable as a kernel
#                  spinlock has), so the percentiles are the figures
#   lockstat.tsv   every line of both runs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}
mkdir -p "$results"
make -s -C "$here" scale >&2
base=$(sed -n 's/^BASELINE ?= //p' "$here/Makefile")
tsv=$results/lockstat.tsv
"$here/out/scale-lockstat-base" 2 400 base > "$tsv"
"$here/out/scale-lockstat" 2 400 now >> "$tsv"
python3 - "$tsv" "$base" > "$results/lockstat.md" <<'PY'
import sys
tsv, base = sys.argv[1], sys.argv[2]
rows = []
for line in open(tsv):
    f = line.rstrip('\n').split('\t')
    if len(f) == 8 and f[2] == 'lock':
        rows.append((f[0], f[3], f[4], int(f[5]),
                     [int(x) for x in f[6].split()], int(f[7])))
def pct(b, q):
    n, acc = sum(b), 0
    for k, c in enumerate(b):
        acc += c
        if acc >= q * n:
            return 1 << k
    return 1 << 39
def ns(v):
    return '%.1f µs' % (v / 1e3) if v >= 10000 else '%d ns' % v
print('## Lock hold times under the mixed workload (user-space build, 2 threads)\n')
print('Every hold of every lock, timed with the TSC, by the place that took '
      'it (file:line of spin_lock), 400 ms of the stress mix (scale.c '
      '"mixed": Split, Bit and Pool allocations of mixed sizes replaced at '
      'random); baseline: commit %s.  Percentiles are bucket upper bounds '
      '(powers of two); the longest hold includes the holder being '
      'preempted by the host, which a kernel spinlock prevents.\n' % base)
print('| build | place | holds | p50 | p99 | p99.9 | longest |')
print('|---|---|---:|---:|---:|---:|---:|')
for b in ('base', 'now'):
    for label, case, site, n, buckets, mx in sorted(
            (r for r in rows if r[0] == b and r[1] == 'mixed'),
            key=lambda r: -r[3]):
        print('| %s | %s | %d | %s | %s | %s | %s |' % (
            'baseline' if b == 'base' else 'now', site, n,
            ns(pct(buckets, .5)), ns(pct(buckets, .99)),
            ns(pct(buckets, .999)), ns(mx)))
print('\nAll holds of the mixed run, by length (count per bucket):\n')
edges = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536]
print('| build | ' + ' | '.join('≤ ' + ns(e) for e in edges) + ' | longer |')
print('|---|' + '---:|' * (len(edges) + 1))
for b in ('base', 'now'):
    tot = [0] * 40
    for r in rows:
        if r[0] == b and r[1] == 'mixed':
            tot = [x + y for x, y in zip(tot, r[4])]
    cells, lo = [], 0
    for e in edges:
        k = e.bit_length() - 1
        cells.append(sum(tot[lo:k + 1]))
        lo = k + 1
    cells.append(sum(tot[lo:]))
    print('| %s | %s |' % ('baseline' if b == 'base' else 'now',
                           ' | '.join(str(c) for c in cells)))
PY
cat "$results/lockstat.md"
