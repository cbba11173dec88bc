#!/usr/bin/env bash
# freenos-mm benchmark, part 4: end to end in the test VM.
#
#   tools/bench/e2e.sh
#
# Builds tools/bin/fnmm_e2e, boots the test VM (tools/vm/run.sh) with huge
# pages reserved at boot, runs tools/bench/guest-e2e.sh there, takes the
# FNMM-BENCH section out of the serial log and writes, into $FNMM_RESULTS
# (default: results/ at the top of the repo):
#   e2e.md          the Markdown fragment (also printed on stdout)
#   e2e.tsv         medians and ratios per size, one byte written per
#                   4 KiB (for gnuplot); e2e-all.tsv: every byte written
#   e2e-guest.txt   fnmm_e2e's own output (min, median, p90 per method)
#   e2e.png         plot-e2e.gp's bar chart, when gnuplot is installed
# The VM's own output goes to stderr.  Figures only, no pass/fail on them;
# the script fails when the VM run fails or the section is missing.
#
# Environment: FNMM_E2E_ROUNDS (default 500, sizes up to 2 MiB),
# FNMM_E2E_ROUNDS_LARGE (default 50, 32 MiB), FNMM_E2E_HUGEPAGES (2 MiB
# pages reserved at boot, default 20), FNMM_E2E_TIMEOUT (seconds, 900),
# and those of tools/vm/run.sh (FNMM_VM_ACCEL, FNMM_CACHE, ...).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
rounds=${FNMM_E2E_ROUNDS:-500}
rounds_large=${FNMM_E2E_ROUNDS_LARGE:-50}
hugepages=${FNMM_E2E_HUGEPAGES:-20}
accel=${FNMM_VM_ACCEL:-tcg}
log=$cache/vm/guest-e2e.log

mkdir -p "$results"
make -s -C "$here" e2e >&2

rm -f "$log"
vm_rc=0
"$repo/tools/vm/run.sh" --timeout "${FNMM_E2E_TIMEOUT:-900}" \
	--append "hugepages=$hugepages FNMM_E2E_ROUNDS=$rounds FNMM_E2E_ROUNDS_LARGE=$rounds_large" \
	"$here/guest-e2e.sh" >&2 || vm_rc=$?
if [ $vm_rc -ne 0 ]; then
	echo "e2e: the VM run failed (exit $vm_rc); no results written" >&2
	exit 1
fi

# Two sections: "--touch page", then "--touch all".
both=$(sed -n '/^FNMM-BENCH-BEGIN/,/^FNMM-BENCH-END/p' "$log")
section=$(awk '/^FNMM-BENCH-BEGIN/ { n++; next } /^FNMM-BENCH-END/ { next }
	n == 1' <<<"$both")
section_all=$(awk '/^FNMM-BENCH-BEGIN/ { n++; next } /^FNMM-BENCH-END/ { next }
	n == 2' <<<"$both")
if ! grep -q '^method	size	bytes' <<<"$section" ||
   ! grep -q '^method	size	bytes' <<<"$section_all"; then
	echo "e2e: no FNMM-BENCH sections (touch page, touch all) in $log" >&2
	exit 1
fi
printf '%s\n' "$section" "$section_all" > "$results/e2e-guest.txt"
kernel=$(sed -n 's/^# kernel \([^ ]*\).*/\1/p' <<<"$section")
hp_free=$(sed -n 's/.*huge pages free \([0-9-]*\).*/\1/p' <<<"$section")
warm=$(sed -n 's/.*, \([0-9]*\) warm-up rounds.*/\1/p' <<<"$section")
sys_ns=$(sed -n 's/^# null syscall (getppid) \([0-9]*\) ns/\1/p' <<<"$section")

# Long rows (method, size, bytes, rounds, median, min, p90) -> one row per
# size: medians of the four methods and the ratios fnmm / kernel.
long_to_wide() {
	grep -v '^#' | awk -F'\t' '
function ratio(a, b) {
	return (a == "NA" || b == "NA" || b == 0) ? "NA" : sprintf("%.2f", a / b)
}
NR == 1 { next }
{
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2; bytes[$2] = $3 }
	med[$2, $1] = $5
	if ($1 == "fnmm") rounds[$2] = $4
}
END {
	OFS = "\t"
	print "size", "bytes", "rounds", "fnmm_ns", "fnmm_map_ns", "anon_ns",
	      "hugetlb_ns", "fnmm_over_anon", "fnmm_over_hugetlb",
	      "fnmm_map_over_anon", "fnmm_map_over_hugetlb"
	for (i = 1; i <= n; i++) {
		s = order[i]
		f = med[s, "fnmm"]; fm = med[s, "fnmm-map"]
		a = med[s, "anon"]; h = med[s, "hugetlb"]
		print s, bytes[s], rounds[s], f, fm, a, h, ratio(f, a),
		      ratio(f, h), ratio(fm, a), ratio(fm, h)
	}
}'
}
long_to_wide <<<"$section" > "$results/e2e.tsv"
long_to_wide <<<"$section_all" > "$results/e2e-all.tsv"

awk -F'\t' -v accel="$accel" -v kernel="$kernel" -v hp="$hugepages" \
	-v hpfree="$hp_free" -v rs="$rounds" -v rl="$rounds_large" \
	-v sysns="${sys_ns:-NA}" -v warm="${warm:-?}" '
function num(x) { return x == "NA" ? "n/a" : x }
function ns(x,   s, r) {	# 1234567 -> 1 234 567
	if (x == "NA") return "n/a"
	s = x ""; r = ""
	while (length(s) > 3) {
		r = " " substr(s, length(s) - 2) r
		s = substr(s, 1, length(s) - 3)
	}
	return s r
}
function label(s) { sub(/[KMG]iB$/, " &", s); sub(/^[0-9]+B$/, "& ", s); return s }
FNR == 1 {
	if (NR == 1) {
		print "### End to end in the test VM: get, touch, give back a buffer"
		print ""
		print "One byte written per 4 KiB (the cost of faults and mapping):"
	} else {
		print ""
		print "Every byte written (`memset`: the data work included):"
	}
	print ""
	print "| size | rounds | fnmm ns | fnmm-map ns | anon ns | hugetlb ns | fnmm/anon | fnmm/hugetlb | fnmm-map/anon | fnmm-map/hugetlb |"
	print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	next
}
{
	printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
	       label($1), $3, ns($4), ns($5), ns($6), ns($7),
	       num($8), num($9), num($10), num($11)
}
END {
	print ""
	print "Median wall-clock ns per cycle (`fnmm_e2e`, CLOCK_MONOTONIC) in the test VM"
	printf "(`tools/vm/run.sh`, QEMU %s, Debian kernel %s, 1 GiB, 2 vCPUs,\n", accel, kernel
	printf "`hugepages=%s`, %s free at start) over %s rounds for sizes up to 2 MiB and %s\n", hp, hpfree, rs, rl
	printf "for 32 MiB, after %s warm-up rounds; a round runs one cycle of each method,\n", warm
	print "and each method goes first in turn. A cycle: **fnmm** = ReserveMem (Split) +"
	print "`mmap` + touch + `munmap` + Release; **fnmm-map** = MapContiguous with"
	print "handle 0 + touch + UnMap + Release; **anon** = `mmap(MAP_ANONYMOUS |"
	print "MAP_POPULATE)` + touch + `munmap`;"
	print "**hugetlb** = `mmap(MAP_HUGETLB)` (2 MiB pages, at least one, faulted in by the"
	print "touch) + touch + `munmap`. Touch = write one byte per 4 KiB (first table: a"
	print "fault per 4 KiB page, one per 2 MiB mapping; freenos-mm maps 2 MiB allocations"
	print "with PMDs, as hugetlb does), or every byte (second table). All four hand out"
	print "zeroed memory: the kernel zeroes pages when it maps them, freenos-mm when they"
	print "are given back (memset and clflush, in Release here). Ratios are ours / the"
	print "kernel'"'"'s median: below 1 means freenos-mm'"'"'s path is faster."
	if (accel == "tcg") {
		print "Under QEMU TCG every instruction is emulated, so the absolute times are not"
		print "those of real hardware and even the ratios only indicate relative cost"
		printf "(for scale: a null system call, getppid, takes %s ns in this guest).\n", ns(sysns)
		print "Repeat with `FNMM_VM_ACCEL=kvm` on a host with KVM for real figures."
	} else {
		print "Under KVM the times are those of a virtual machine (nested paging); a null"
		printf "system call (getppid) takes %s ns here.\n", ns(sysns)
	}
	print "Raw per-method min/median/p90: `e2e-guest.txt`; plot: `e2e.png`."
}' "$results/e2e.tsv" "$results/e2e-all.tsv" > "$results/e2e.md"

ymin=$(awk -F'\t' 'NR > 1 { for (c = 4; c <= 7; c++) if (c != 5 && $c != "NA" &&
	(m == "" || $c + 0 < m)) m = $c + 0 } END { print m == "" ? 1 : m }' \
	"$results/e2e.tsv")
if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "datafile='$results/e2e.tsv'; outfile='$results/e2e.png'; ymin=$ymin; vm='test VM, QEMU $accel'" \
		"$here/plot-e2e.gp" >&2 ||
		echo "e2e: gnuplot failed; no e2e.png" >&2
else
	echo "e2e: gnuplot not installed; no e2e.png" >&2
fi
cat "$results/e2e.md"
