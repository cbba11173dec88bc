#!/usr/bin/env bash
# In-kernel benchmarks in UML (kunit/bench.c, built with bench.kunitconfig
# in its own build dir): Split vs alloc_pages, Bit vs gen_pool, Pool vs
# kmem_cache, scaling to 4 GiB, fragmentation.  Writes uml.md, *.tsv and
# plots to $FNMM_RESULTS (default: results/ in the repo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
out=${FNMM_RESULTS:-$repo/results}
"$repo/tools/kunit/run.sh" bench
python3 "$here/uml.py" "$cache/build-bench/test.log" "$out"
