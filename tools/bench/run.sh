#!/usr/bin/env bash
# make bench: every freenos-mm benchmark, figures side by side with the
# kernel's own allocators measured in the same run.  Installs what is
# missing (gnuplot-nox for the plots; the parts install their own).
# Writes $FNMM_RESULTS (default results/, not committed): bench.md, the
# TSV data and PNG plots.  Benchmarks print figures; nothing here passes
# or fails on a timing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export FNMM_RESULTS=${FNMM_RESULTS:-$repo/results}
mkdir -p "$FNMM_RESULTS"
if ! dpkg -s gnuplot-nox >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends gnuplot-nox >/dev/null
fi
rc=0
for part in worst scale lockstat scale-x86 uml icount heap e2e pagemap; do
	[ -x "$here/$part.sh" ] || continue
	echo "== bench: $part"
	"$here/$part.sh" || { echo "bench: $part failed"; rc=1; }
done
{
	echo "# freenos-mm benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) CPUs" \
		"$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1)," \
		"commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)."
	for part in worst scale lockstat scale-x86 uml icount heap e2e pagemap; do
		[ -f "$FNMM_RESULTS/$part.md" ] && { echo; cat "$FNMM_RESULTS/$part.md"; }
	done
} > "$FNMM_RESULTS/bench.md"
echo "bench: results in $FNMM_RESULTS/bench.md"
python3 "$here/readme.py" "$FNMM_RESULTS" "$repo/README.md" || rc=1
ls "$FNMM_RESULTS"
exit $rc
