#!/usr/bin/env bash
# freenos-mm benchmark: throughput with 1 thread and one per CPU, in the
# kernel, next to alloc_pages and kmem_cache (kunit/scale_test.c).
#
#   tools/bench/scale-x86.sh [--no-run]
#
# Runs the x86_64 KUnit configuration (tools/kunit/run.sh x86: QEMU TCG
# with 2 CPUs, lockdep and KCSAN; the only SMP kernel we can run) unless
# --no-run (then the last run's log), and writes $FNMM_RESULTS/scale-x86.md
# from its FNMM-SCALE lines.  Under TCG and the sanitizers the rates are
# not real: only the ratios of one run compare.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
results=${FNMM_RESULTS:-$repo/results}
log=$cache/build-x86/test.log
mkdir -p "$results"
[ "${1:-}" = --no-run ] || "$repo/tools/kunit/run.sh" x86 >&2
grep -q 'FNMM-SCALE' "$log" || { echo "scale-x86: no FNMM-SCALE lines in $log" >&2; exit 1; }
python3 - "$log" > "$results/scale-x86.md" <<'PY'
import re, sys
rows = {}
order = []
for line in open(sys.argv[1], errors='replace'):
    m = re.search(r'FNMM-SCALE\t(\S+)\t(\d+)\t(\d+)\t([\d.]+)', line)
    if not m:
        continue
    case, t, rate = m.group(1), int(m.group(2)), int(m.group(3))
    if case not in rows:
        rows[case] = {}
        order.append(case)
    rows[case][t] = rate
print('## Scaling in the kernel: x86_64 KUnit under QEMU (TCG, lockdep, KCSAN)\n')
print('Allocate + release pairs per second, 1 thread and one thread per '
      'CPU, each bound to its CPU, in one boot (kunit/scale_test.c).  The '
      'rates are TCG\'s with the sanitizers on: compare ratios only.\n')
print('| case | 1 thread | N threads | N | N / 1 |')
print('|---|---:|---:|---:|---:|')
for case in order:
    r = rows[case]
    n = max(r)
    print('| %s | %.1f K | %.1f K | %d | %.2f× |' % (
        case, r[1] / 1e3, r[n] / 1e3, n, r[n] / max(r[1], 1)))
PY
cat "$results/scale-x86.md"
