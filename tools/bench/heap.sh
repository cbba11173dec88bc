#!/usr/bin/env bash
# freenos-mm benchmark: the user-space heap (tools/lib/fnmm_heap.c)
# against glibc's malloc and jemalloc (Debian's libjemalloc2, installed
# if missing), natively, over anonymous memory.
#
#   tools/bench/heap.sh [ROUNDS]     (default 3)
#
# Runs out/heap plainly (the system malloc: glibc's) and with
# LD_PRELOAD=libjemalloc.so.2 (jemalloc's), interleaved ROUNDS times;
# each run times fnmm_heap beside the system malloc.  Writes into
# $FNMM_RESULTS (default results/):
#   heap.md    ns per malloc+free pair per thread, median (min-p90) over
#              the rounds, ours / theirs; 2-thread scaling (pairs per
#              second with 2 threads over 1); memory overhead on a
#              replayed trace (bytes held from the kernel per live byte)
#   heap.tsv   every sample: run, allocator, case, value
# Timings print figures; nothing here passes or fails on one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}
rounds=${1:-3}
mkdir -p "$results"
if ! dpkg -s libjemalloc2 >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends libjemalloc2 >/dev/null
fi
je=$(ldconfig -p | sed -n 's/.*libjemalloc\.so\.2 .*=> //p' | head -n1)
make -s -C "$here" heap >&2
tsv=$results/heap.tsv
: > "$tsv"
for r in $(seq "$rounds"); do
	echo "heap: round $r" >&2
	"$here/out/heap" glibc 1 >> "$tsv"
	LD_PRELOAD=$je "$here/out/heap" jemalloc 1 >> "$tsv"
	"$here/out/heap" glibc overhead >> "$tsv"
	LD_PRELOAD=$je "$here/out/heap" jemalloc overhead >> "$tsv"
done
python3 - "$tsv" "$rounds" > "$results/heap.md" <<'PY'
import collections, sys
tsv, rounds = sys.argv[1], sys.argv[2]
d = collections.defaultdict(list)
cases = []
for line in open(tsv):
    run, alloc, case, v = line.rstrip('\n').split('\t')
    d[(run, alloc, case)].append(float(v))
    if case not in cases:
        cases.append(case)
def med(v):
    v = sorted(v)
    return v[len(v) // 2]
def stat(v):
    v = sorted(v)
    return '%.1f (%.1f-%.1f)' % (v[len(v) // 2], v[0], v[int(len(v) * 0.9)])
print('## Heap: fnmm_heap against glibc malloc and jemalloc\n')
print('Natively, over anonymous memory (the same code serves the device\'s pages), '
      'median (min-p90) of %s rounds; ns per malloc+free pair per thread; '
      '"pair": malloc then free at once, "batch64": 64 mallocs then 64 frees. '
      'The ratios are ours over theirs in the same process.\n' % rounds)
print('| case | glibc | fnmm | fnmm / glibc | jemalloc | fnmm | fnmm / jemalloc |')
print('|---|---:|---:|---:|---:|---:|---:|')
for c in cases:
    if c == 'overhead':
        continue
    g, fg = d[('glibc', 'glibc', c)], d[('glibc', 'fnmm', c)]
    j, fj = d[('jemalloc', 'jemalloc', c)], d[('jemalloc', 'fnmm', c)]
    print('| %s | %s | %s | %.2f | %s | %s | %.2f |' % (
        c, stat(g), stat(fg), med(fg) / med(g), stat(j), stat(fj),
        med(fj) / med(j)))
print('\n**2-thread scaling** (pairs per second with 2 threads over 1, medians):\n')
print('| case | glibc | jemalloc | fnmm |')
print('|---|---:|---:|---:|')
for c in cases:
    if not c.endswith(', 1 thread'):
        continue
    c2 = c.replace(', 1 thread', ', 2 threads')
    def sc(run, alloc):
        return 2 * med(d[(run, alloc, c)]) / med(d[(run, alloc, c2)])
    print('| %s | %.2f | %.2f | %.2f |' % (c.replace(', 1 thread', ''),
          sc('glibc', 'glibc'), sc('jemalloc', 'jemalloc'), sc('glibc', 'fnmm')))
print('\n**Memory overhead** on a replayed trace (400k steps, 4096 slots, '
      'sizes mostly up to 512 B, some to 16 KiB and 256 KiB): bytes held '
      'from the kernel per live byte at the peak of live bytes.\n')
print('| glibc | jemalloc | fnmm |')
print('|---:|---:|---:|')
print('| %.3f | %.3f | %.3f |' % (med(d[('glibc', 'glibc', 'overhead')]),
      med(d[('jemalloc', 'jemalloc', 'overhead')]),
      med(d[('glibc', 'fnmm', 'overhead')])))
PY
cat "$results/heap.md"
