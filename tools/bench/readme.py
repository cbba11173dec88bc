#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write README.md's benchmark figures from a results directory.

    tools/bench/readme.py [RESULTS [README]]     (defaults: results/, README.md)

Replaces what lies between the two "bench-figures" markers in the README
with tables taken from the files `make bench` wrote (bench.md's header for
the commit, host and date; worst.md, scale.md, lockstat.md, scale-x86.md, uml.md,
icount.md, heap.md, e2e.md, pagemap.md, each if present), so that no figure in the
README is ever copied by hand.  The rows kept are the headline ones; every
row stays in results/bench.md.
"""
import os
import re
import socket
import sys

BEGIN = '<!-- bench-figures:begin (tools/bench/readme.py writes this part from results/; do not edit) -->'
END = '<!-- bench-figures:end -->'


def read(results, name):
    path = os.path.join(results, name)
    return open(path, encoding='utf-8').read() if os.path.exists(path) else None


def tables(md, keep=None, first_only=False, captions=False):
    """The markdown tables of @md (header, separator, rows), rows filtered;
    with @captions, each preceded by the paragraph line just above it
    when that line ends with a colon (a table's caption)."""
    out, cur, last, cap = [], [], '', ''
    for line in md.splitlines() + ['']:
        if line.startswith('|'):
            if not cur:
                cap = last if captions and last.endswith(':') else ''
            cur.append(line)
            continue
        if line.strip():
            last = line.strip()
        if cur:
            rows = cur[2:]
            if keep:
                rows = [r for r in rows if keep(r)]
            if rows:
                out.append((cap + '\n\n' if cap else '') +
                           '\n'.join(cur[:2] + rows))
            cur = []
            if first_only and out:
                break
    return out


def cell(row, i):
    return [c.strip() for c in row.strip('|').split('|')][i]


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    results = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, 'results')
    readme = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, 'README.md')
    bench = read(results, 'bench.md') or ''
    m = re.search(r'^(\d{4}-\d\d-\d\d \d\d:\d\d UTC), (.*), commit (\w+)\.', bench, re.M)
    when = m.group(1) if m else '?'
    what = m.group(2) if m else '?'
    commit = m.group(3) if m else '?'
    out = [BEGIN, '',
           'From `make bench` on %s, %s (%s), commit %s; every row and the '
           'plots are in `results/bench.md`.' % (when, socket.gethostname(), what, commit), '']

    md = read(results, 'worst.md')
    if md:
        out += ['**Worst cases**, user-space build of the allocators, natively, '
                'a 4 GiB region with every other page free; the baseline is the '
                'commit before the run index (issue 11), interleaved in the same '
                'run.  median (min–p90), worst single call:', '']
        t = tables(md, keep=lambda r: cell(r, 1) == '4 GiB')
        out += t[:1]
        if len(t) > 1:
            out += ['', '**Metadata** the allocators keep for a 4 GiB region '
                    '(Split: a descriptor per page; Bit: bitmaps and the run '
                    'index) and per open file (its Pool):', '', t[1]]
        out += ['']
    md = read(results, 'scale.md')
    if md:
        out += ['**Scaling**, natively, 1 and 2 threads on their own CPUs '
                '(spinning locks as the kernel\'s; glibc malloc as a reference '
                'of a per-thread allocator on the same machine):', '']
        out += tables(md)
        out += ['']
    md = read(results, 'lockstat.md')
    if md:
        out += ['**Lock hold times** under the mixed (stress) workload, '
                'natively, 2 threads, by the place that takes the lock; '
                'percentiles are power-of-two bucket bounds, the longest '
                'hold includes host preemption:', '']
        out += tables(md)
        out += ['']
    md = read(results, 'scale-x86.md')
    if md:
        out += ['**Scaling in the kernel**, x86_64 KUnit under QEMU (TCG, '
                'lockdep and KCSAN on: ratios only), next to the kernel\'s own '
                'allocators in the same boot:', '']
        out += tables(md)
        out += ['']
    md = read(results, 'uml.md')
    if md:
        heads = ('order 0 |', 'order 3 |', 'order 9 |', 'order 0, batch 1024',
                 '256 MiB, 50% scattered, 1 chunk', '256 MiB, 50% scattered, 8 chunks',
                 '256 MiB, 90% packed, 1 chunk',
                 '256 MiB, 1-chunk holes every 16, top 1/4 free, 8 chunks',
                 '256 MiB, 90% random (seed 1), top 1/4 free, 8 chunks',
                 '64 B |', '64 B, one live', '64 B, batch 1024',
                 '1024 B, one live', '1024 B, batch 1024')
        out += ['**In-kernel cost** (UML runs the allocator code natively, one '
                'CPU), ns per allocate + release pair next to the kernel\'s '
                'allocator: median over the boots of each boot\'s median of 9 rounds '
                '(lowest min - highest p90):', '']
        t = tables(md, keep=lambda r: any(('| ' + h) in r + ' |' or
                                          r.startswith('| ' + h) for h in heads),
                   first_only=True)
        out += t
        out += ['', '**Fragmentation** (UML, seeded traces, 256 MiB each; '
                'median (min-max) over the seeds):', '']
        for tb in tables(md):
            if 'largest >= gen_pool' in tb:
                out.append(tb)
        out += ['']
    md = read(results, 'icount.md')
    if md:
        out += ['**Instructions per pair** (callgrind, user-space build):', '']
        out += tables(md)[:1]
        out += ['']
    md = read(results, 'heap.md')
    if md:
        out += ['**The user-space heap** (`tools/lib/fnmm_heap.c`, issue 14; '
                'natively, over anonymous memory) against glibc malloc and '
                'jemalloc, in the same processes:', '']
        for t in tables(md, captions=True):
            out += [t, '']
        out += ['']
    for name, title in (('e2e.md', 'End to end in the test VM (TCG: ratios only)'),
                        ('pagemap.md', 'Page-backed mappings in the test VM')):
        md = read(results, name)
        if md:
            out += ['**%s**:' % title, '']
            for t in tables(md, captions=True):
                out += [t, '']
            out += ['']
    out.append(END)
    text = open(readme, encoding='utf-8').read()
    if BEGIN not in text or END not in text:
        sys.exit('readme.py: the markers are not in %s' % readme)
    a = text.index(BEGIN)
    b = text.index(END) + len(END)
    text = text[:a] + '\n\n'.join(s for s in '\n'.join(out).split('\n\n')) + text[b:]
    open(readme, 'w', encoding='utf-8').write(text)
    print('readme.py: %s written from %s' % (readme, results))


if __name__ == '__main__':
    main()
