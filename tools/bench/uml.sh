#!/usr/bin/env bash
# In-kernel benchmarks in UML (kunit/bench.c, built with bench.kunitconfig
# in its own build dir): Split vs alloc_pages, Bit vs gen_pool, Pool vs
# kmem_cache, scaling to 4 GiB, fragmentation.  FNMM_UML_BOOTS boots
# (default 3; the kernel is built once), each measuring every case
# against the kernel's allocator round by round; uml.py takes the median
# over the boots.  Writes uml.md, *.tsv and plots to $FNMM_RESULTS
# (default: results/ in the repo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
out=${FNMM_RESULTS:-$repo/results}
boots=${FNMM_UML_BOOTS:-3}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for b in $(seq 1 "$boots"); do
	echo "uml: boot $b of $boots"
	"$repo/tools/kunit/run.sh" bench
	cp "$cache/build-bench/test.log" "$logs/boot$b.log"
done
python3 "$here/uml.py" "$out" "$logs"/boot*.log
