#!/usr/bin/env bash
# freenos-mm benchmark: the user-space heap (tools/lib/fnmm_heap.c)
# against glibc's malloc and jemalloc (Debian's libjemalloc2, installed
# if missing), natively, over anonymous memory.
#
#   tools/bench/heap.sh [ROUNDS]     (default 5)
#
# Runs out/heap plainly (the system malloc: glibc's) and with
# LD_PRELOAD=libjemalloc.so.2 (jemalloc's), interleaved ROUNDS times;
# each run times fnmm_heap beside the system malloc.  Writes into
# $FNMM_RESULTS (default results/):
#   heap.md    ns per malloc+free pair per thread, median (min-p90) over
#              the rounds, ours / theirs; 2-thread scaling (pairs per
#              second with 2 threads over 1); memory overhead on a
#              replayed trace (bytes held from the kernel per live byte)
#              and real programs (sort, xz, python3) under each
#              allocator by LD_PRELOAD (ours: libfnmm-malloc.so over
#              anonymous memory), wall seconds
#   heap.tsv   every sample: run, allocator, case, value
# and, unless FNMM_HEAP_VM=0, the same in the test VM (guest-heap.sh: TCG,
# 1/FNMM_HEAP_DIV (default 5) of the iterations, one round, one trace),
# ours over the device's pages against the static glibc's malloc:
# heap-vm.tsv, and a table in heap.md (ratios only: TCG's times are not
# real ones).
# Timings print figures; nothing here passes or fails on one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}
rounds=${1:-5}
seeds=8		# traces for the memory overhead
mkdir -p "$results"
if ! dpkg -s libjemalloc2 >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends libjemalloc2 >/dev/null
fi
je=$(ldconfig -p | sed -n 's/.*libjemalloc\.so\.2 .*=> //p' | head -n1)
make -s -C "$here" heap heap-vm >&2
make -s -C "$repo/tools" "$repo/tools/bin/libfnmm-malloc.so" >&2
lib=$repo/tools/bin/libfnmm-malloc.so
tsv=$results/heap.tsv
: > "$tsv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk 'BEGIN { x = 1; for (i = 0; i < 1000000; i++) {
	x = (x * 1103515245 + 12345) % 2147483648; print x, i } }' > "$tmp/lines"
head -c 8000000 "$tmp/lines" > "$tmp/text"
# The one-threaded programs run on one CPU (the first this script may
# use), as out/heap's workers do: left to the scheduler, times here were
# bimodal, 2x apart, for every allocator.
one="taskset -c $(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//')"
# prog ALLOC NAME CMD...: wall seconds of CMD (stdout discarded) under ALLOC.
prog() {
	local alloc=$1 name=$2 t0 t1
	shift 2
	t0=$(date +%s.%N)
	case $alloc in
	glibc) "$@" > /dev/null ;;
	jemalloc) LD_PRELOAD=$je "$@" > /dev/null ;;
	fnmm) FNMM_MALLOC_DEVICE=anon LD_PRELOAD=$lib "$@" > /dev/null ;;
	esac
	t1=$(date +%s.%N)
	printf 'prog\t%s\t%s\t%s\n' "$alloc" "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >> "$tsv"
}
for r in $(seq "$rounds"); do
	echo "heap: round $r" >&2
	"$here/out/heap" glibc 1 >> "$tsv"
	LD_PRELOAD=$je "$here/out/heap" jemalloc 1 >> "$tsv"
	for a in glibc jemalloc fnmm; do
		prog $a "sort -n, 1M lines" $one sort -n "$tmp/lines"
		prog $a "sort --parallel=2" sort --parallel=2 -S 16M -k2,2n "$tmp/lines"
		prog $a "xz -3, 8 MB" $one xz -3 -c "$tmp/text"
		prog $a "python3 dict of 1M" $one env PYTHONMALLOC=malloc /usr/bin/python3 -c \
			'd = {i: str(i) for i in range(1000000)}; print(len(d))'
	done
done
# The overhead: a trace is deterministic, so once per seed, not per round.
for seed in $(seq "$seeds"); do
	"$here/out/heap" glibc overhead "$seed" >> "$tsv"
	LD_PRELOAD=$je "$here/out/heap" jemalloc overhead "$seed" >> "$tsv"
done
vmtsv=$results/heap-vm.tsv
: > "$vmtsv"
if [ "${FNMM_HEAP_VM:-1}" != 0 ]; then
	echo "heap: the VM run" >&2
	log=${FNMM_CACHE:-$HOME/.cache/freenos-mm}/vm/guest-heap.log
	rm -f "$log"
	if "$repo/tools/vm/run.sh" --timeout 1200 \
		--append "FNMM_HEAP_DIV=${FNMM_HEAP_DIV:-5}" \
		"$here/guest-heap.sh" >&2; then
		sed -n '/^FNMM-BENCH-BEGIN/,/^FNMM-BENCH-END/p' "$log" |
			grep '^vm	' > "$vmtsv" || true
	fi
	[ -s "$vmtsv" ] || echo "heap: the VM run gave no figures" >&2
fi
python3 - "$tsv" "$rounds" "$seeds" "$vmtsv" > "$results/heap.md" <<'PY'
import collections, sys
tsv, rounds, seeds, vmtsv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
d = collections.defaultdict(list)
cases = []
for line in open(tsv):
    run, alloc, case, v = line.rstrip('\n').split('\t')
    d[(run, alloc, case)].append(float(v))
    if case not in cases and run != 'prog':
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
      '"pair": malloc then free at once, "batch64": 64 mallocs then 64 frees; '
      'each thread on a CPU of its own. '
      'The ratios are ours over theirs in the same process:\n' % rounds)
print('| case | glibc | fnmm | fnmm / glibc | jemalloc | fnmm | fnmm / jemalloc |')
print('|---|---:|---:|---:|---:|---:|---:|')
for c in cases:
    if c == 'overhead' or c.startswith('compute'):
        continue
    g, fg = d[('glibc', 'glibc', c)], d[('glibc', 'fnmm', c)]
    j, fj = d[('jemalloc', 'jemalloc', c)], d[('jemalloc', 'fnmm', c)]
    print('| %s | %s | %s | %.2f | %s | %s | %.2f |' % (
        c, stat(g), stat(fg), med(fg) / med(g), stat(j), stat(fj),
        med(fj) / med(j)))
print('\n**2-thread scaling** (pairs per second with 2 threads over 1): '
      'the median over the rounds of each round\'s ratio (its 1- and '
      '2-thread runs are next to each other in time), and the ratio of '
      'the best 1-thread time to the best 2-thread time over the rounds '
      '(each the least disturbed, from any round); first, the control: a loop of arithmetic, no allocator, '
      'timed as the cases are, at the start of each round (what this '
      'host\'s two CPUs, a VM\'s, gave two threads then). fnmm is timed '
      'in both allocators\' processes each round: its figures are over '
      'both, and so is the control in its column:\n')
print('| case | glibc | jemalloc | fnmm |')
print('|---|---:|---:|---:|')
def sc(runs, alloc, c, c2):
    one = [v for run in runs for v in d[(run, alloc, c)]]
    two = [v for run in runs for v in d[(run, alloc, c2)]]
    return '%.2f (best %.2f)' % (med([2 * a / b for a, b in zip(one, two)]),
                                 2 * min(one) / min(two))
ctl = [sc(r, 'control', 'compute, 1 thread', 'compute, 2 threads')
       for r in (['glibc'], ['jemalloc'], ['glibc', 'jemalloc'])]
print('| control: compute, no allocator | %s | %s | %s |' % tuple(ctl))
for c in cases:
    if not c.endswith(', 1 thread') or c.startswith('compute'):
        continue
    c2 = c.replace(', 1 thread', ', 2 threads')
    print('| %s | %s | %s | %s |' % (c.replace(', 1 thread', ''),
          sc(['glibc'], 'glibc', c, c2), sc(['jemalloc'], 'jemalloc', c, c2),
          sc(['glibc', 'jemalloc'], 'fnmm', c, c2)))
print('\n**Memory overhead** on replayed traces (%s seeds; 400k steps, '
      '4096 slots, sizes mostly up to 512 B, some to 16 KiB and 256 KiB): '
      'bytes held from the kernel per live byte at the peak of live bytes '
      '(ours: pages and metadata), median and worst over the seeds, each '
      'in a fresh process:\n' % seeds)
og, oj = d[('glibc', 'glibc', 'overhead')], d[('jemalloc', 'jemalloc', 'overhead')]
of = d[('glibc', 'fnmm', 'overhead')]
print('| | glibc | jemalloc | fnmm | fnmm / glibc |')
print('|---|---:|---:|---:|---:|')
print('| median | %.3f | %.3f | %.3f | %.3f |' % (med(og), med(oj), med(of), med(of) / med(og)))
print('| worst | %.3f | %.3f | %.3f | %.3f |' % (max(og), max(oj), max(of), max(of) / max(og)))
print('| traces where fnmm <= glibc | | | %d of %d | |' % (
      sum(f <= g for f, g in zip(of, og)), len(og)))
print('\nPer seed (fnmm / glibc): %s.' % ', '.join(
      '%.3f/%.3f' % (f, g) for f, g in zip(of, og)))
progs = [c for (run, a, c) in d if run == 'prog' and a == 'glibc']
if progs:
    print('\n**Unmodified programs** under each allocator by LD_PRELOAD (ours: '
          '`libfnmm-malloc.so`, `FNMM_MALLOC_DEVICE=anon`; the one-threaded '
          'ones on one CPU): wall seconds, median (min-p90) of %s rounds:\n' % rounds)
    print('| program | glibc | jemalloc | fnmm | fnmm / glibc | fnmm / jemalloc |')
    print('|---|---:|---:|---:|---:|---:|')
    for c in progs:
        g, j, f = (d[('prog', a, c)] for a in ('glibc', 'jemalloc', 'fnmm'))
        def st2(v):
            v = sorted(v)
            return '%.2f (%.2f-%.2f)' % (v[len(v) // 2], v[0], v[int(len(v) * 0.9)])
        print('| %s | %s | %s | %s | %.2f | %.2f |' % (
            c, st2(g), st2(j), st2(f), med(f) / med(g), med(f) / med(j)))
vm = collections.defaultdict(list)
vcases = []
for line in open(vmtsv):
    run, alloc, case, v = line.rstrip('\n').split('\t')
    vm[(alloc, case)].append(float(v))
    if case not in vcases and case != 'overhead' and alloc != 'control':
        vcases.append(case)
if vcases:
    print('\n**In the test VM** (qemu TCG, Debian\'s kernel; one round of '
          'a fifth of the iterations): ours over the device\'s pages '
          '(`/dev/freenos-mm`, MapSparse) against the static glibc\'s malloc '
          'in the same process. TCG\'s times are not real ones: the ratios '
          'are the figures:\n')
    print('| case | glibc ns | fnmm ns | fnmm / glibc |')
    print('|---|---:|---:|---:|')
    for c in vcases:
        g, f = med(vm[('vm', c)]), med(vm[('fnmm', c)])
        print('| %s | %.0f | %.0f | %.2f |' % (c, g, f, f / g))
    if vm[('fnmm', 'overhead')]:
        g, f = vm[('vm', 'overhead')][0], vm[('fnmm', 'overhead')][0]
        print('| memory overhead, trace of seed 1 (bytes held per live byte) '
              '| %.3f | %.3f | %.2f |' % (g, f, f / g))
PY
cat "$results/heap.md"
