#!/usr/bin/env bash
# freenos-mm benchmark, part "pagemap": what a buffer's mapping costs,
# ours beside device-dax, hugetlbfs and anonymous 4 KiB memory, and
# ours with pages=0 (4 KiB PFN mappings) as "before" (issue 12).
#
#   tools/bench/pagemap.sh
#
# Builds tools/bin/fnmm_pagemap, installs ndctl and daxctl if missing
# (the guest runs the host's ndctl in a chroot of the host's root, shared
# read-only over 9p), and boots the test VM (tools/vm/run.sh --hostroot,
# 2 GiB) with its own regions instead of the default one:
#
#   memmap=320M$0x30000000   freenos-mm (Split: 280 MiB, Bit: 40 MiB)
#   memmap=320M!0x48000000   emulated pmem -> /dev/dax0.0 (devdax, 2 MiB)
#   hugepages=140            280 MiB of 2 MiB huge pages
#
# so that 8 processes can each map 32 MiB of every kind at once.  The
# guest (tools/bench/guest-pagemap.sh) runs, in one boot:
#   1. map + touch (one byte per 4 KiB) + munmap of 2 MiB and 32 MiB
#   2. page-table bytes of 8 processes each mapping and touching 32 MiB
#   3. O_DIRECT reads of a brd ramdisk into a 32 MiB buffer
# and the host writes, into $FNMM_RESULTS (default: results/ at the top
# of the repo):
#   pagemap.md         the Markdown fragment (also printed on stdout)
#   pagemap.tsv        fnmm_pagemap's rows, all parts
#   pagemap-guest.txt  everything between the FNMM-BENCH markers
# The VM's own output goes to stderr.  Figures only, no pass/fail on
# them; the script fails when the VM run fails or a kind has no figures
# (could not be set up).
#
# Environment: FNMM_PM_ROUNDS (map+touch rounds at 2 MiB, default 1000),
# FNMM_PM_ROUNDS_LARGE (at 32 MiB, 200), FNMM_PM_ROUNDS_IO (O_DIRECT, 200),
# FNMM_PM_PROCS (8), FNMM_PM_TIMEOUT (seconds, 900), and those of
# tools/vm/run.sh (FNMM_VM_ACCEL, FNMM_CACHE, FNMM_VM_MEM: default 2G).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
rounds=${FNMM_PM_ROUNDS:-1000}
rounds_large=${FNMM_PM_ROUNDS_LARGE:-200}
rounds_io=${FNMM_PM_ROUNDS_IO:-200}
procs=${FNMM_PM_PROCS:-8}
accel=${FNMM_VM_ACCEL:-tcg}
export FNMM_VM_MEM=${FNMM_VM_MEM:-2G}
log=$cache/vm/guest-pagemap.log

need=()
for p in ndctl daxctl; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "pagemap: installing ${need[*]}" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$results"
make -s -C "$here" pagemap >&2

rm -f "$log"
start=$(date +%s)
vm_rc=0
"$repo/tools/vm/run.sh" --hostroot --no-memmap \
	--timeout "${FNMM_PM_TIMEOUT:-900}" \
	--append 'memmap=320M$0x30000000 memmap=320M!0x48000000 hugepages=140' \
	--append "FNMM_PM_OURS=0x14000000 FNMM_PM_PROCS=$procs FNMM_PM_PT_SIZE=32M" \
	--append "FNMM_PM_ROUNDS=$rounds FNMM_PM_ROUNDS_LARGE=$rounds_large FNMM_PM_ROUNDS_IO=$rounds_io" \
	"$here/guest-pagemap.sh" >&2 || vm_rc=$?
took=$(( $(date +%s) - start ))
if [ $vm_rc -ne 0 ]; then
	echo "pagemap: the VM run failed (exit $vm_rc); no results written" >&2
	exit 1
fi

section=$(sed -n '/^FNMM-BENCH-BEGIN/,/^FNMM-BENCH-END/p' "$log" |
	grep -v '^FNMM-BENCH-')
printf '%s\n' "$section" > "$results/pagemap-guest.txt"
grep -E '^(maptouch|pgtables|odirect)	' <<<"$section" > "$results/pagemap.tsv" || true

# Every kind has its figures: map+touch at both sizes, page tables, and
# O_DIRECT (ours-pfn's is its errno).
missing=
for k in ours devdax hugetlb anon ours-pfn; do
	for part in maptouch pgtables odirect; do
		awk -F'\t' -v p=$part -v k=$k '$1 == p && $3 == k && (($6 != 0 &&
			$7 != "NA") || (p == "odirect" && k == "ours-pfn")) { f++ }
			END { exit f < (p == "maptouch" ? 2 : 1) }' \
			"$results/pagemap.tsv" ||
			missing="$missing $k/$part"
	done
done
if [ -n "$missing" ]; then
	echo "pagemap: no figures for:$missing (see $log)" >&2
	exit 1
fi

kernel=$(sed -n 's/^# maptouch phase 1: kernel \([^ ]*\).*/\1/p' <<<"$section")
daxsize=$(sed -n 's/^# dax0.0: size \([0-9]*\).*/\1/p' "$log" | head -n1)

awk -F'\t' -v accel="$accel" -v kernel="$kernel" -v procs="$procs" \
	-v rs="$rounds" -v rl="$rounds_large" -v rio="$rounds_io" \
	-v mem="$FNMM_VM_MEM" -v took="$took" -v daxsize="${daxsize:-0}" '
function grp(x,   s, r) {		# 1234567 -> 1 234 567
	s = sprintf("%d", x); r = ""
	while (length(s) > 3) {
		r = " " substr(s, length(s) - 2) r
		s = substr(s, 1, length(s) - 3)
	}
	return s r
}
function na(x) { return x == "" || x == "NA" }
function us(ns) { return na(ns) ? "n/a" : grp(ns / 1000 + 0.5) }
function mibs(ns) { return na(ns) ? "n/a" : grp(mib / (ns / 1e9) + 0.5) }
function ratio(a, b) {
	if (na(a) || na(b) || b == 0)
		return "n/a"
	return sprintf("%.2fx", a / b)
}
# A kind'"'"'s own figures are those of phase 1, ours-pfn'"'"'s of phase 2;
# its ratios use the references timed in the same phase.
function phase(k) { return k == "ours-pfn" ? 2 : 1 }
function own(part, size, k) { return med[part, size, phase(k), k] }
function ref(part, size, k, r) { return med[part, size, phase(k), r] }
function cell(s) { line = line " " s " |" }
$1 == "maptouch" || $1 == "odirect" {
	med[$1, $4, $2, $3] = $7; worst[$1, $4, $2, $3] = $8
	err[$1, $4, $2, $3] = $10
	if ($4 == "32MiB")
		mib = $5 / 1048576
}
$1 == "pgtables" {
	ptsize = $4; ptdelta[$3] = $7; ptsum[$3] = $8; ptmin[$3] = $9
	ptmax[$3] = $10
}
END {
	nk = split("ours devdax hugetlb anon ours-pfn", K, " ")
	print "### Page-backed mappings: ours beside device-dax, hugetlbfs and 4 KiB anonymous memory"
	print ""
	print "| figure | ours | device-dax | hugetlbfs | anon 4 KiB | ours pages=0 (before) |"
	print "|---|---:|---:|---:|---:|---:|"
	split("2MiB 32MiB", S, " ")
	for (s = 1; s <= 2; s++) {
		sz = S[s]; lbl = sz; sub(/MiB/, " MiB", lbl)
		line = "| map + touch + munmap, " lbl ", µs: median (worst) |"
		for (i = 1; i <= nk; i++)
			cell(us(own("maptouch", sz, K[i])) " (" \
			     us(worst["maptouch", sz, phase(K[i]), K[i]]) ")")
		print line
		line = "| &nbsp;&nbsp;÷ hugetlbfs (medians) |"
		for (i = 1; i <= nk; i++)
			cell(ratio(own("maptouch", sz, K[i]), ref("maptouch", sz, K[i], "hugetlb")))
		print line
		line = "| &nbsp;&nbsp;÷ device-dax (medians) |"
		for (i = 1; i <= nk; i++)
			cell(ratio(own("maptouch", sz, K[i]), ref("maptouch", sz, K[i], "devdax")))
		print line
	}
	plbl = ptsize; sub(/MiB/, " MiB", plbl)
	line = "| page-table bytes per process, " procs " × " plbl ": PageTables Δ ÷ " procs " |"
	for (i = 1; i <= nk; i++)
		cell(na(ptdelta[K[i]]) ? "n/a" : grp(ptdelta[K[i]] / procs))
	print line
	line = "| &nbsp;&nbsp;VmPTE Δ per process, bytes: mean (min–max) |"
	for (i = 1; i <= nk; i++) {
		k = K[i]
		if (na(ptsum[k]))
			cell("n/a")
		else
			cell(grp(ptsum[k] / procs) " (" grp(ptmin[k]) "–" grp(ptmax[k]) ")")
	}
	print line
	line = "| O_DIRECT read into 32 MiB, MiB/s: median (worst) |"
	for (i = 1; i <= nk; i++) {
		k = K[i]; e = err["odirect", "32MiB", phase(k), k]
		if (na(own("odirect", "32MiB", k)) && e != "0" && e != "")
			cell("fails: " e)
		else
			cell(mibs(own("odirect", "32MiB", k)) " (" \
			     mibs(worst["odirect", "32MiB", phase(k), k]) ")")
	}
	print line
	# Throughput ratios: the reference'"'"'s time over the kind'"'"'s.
	line = "| &nbsp;&nbsp;÷ hugetlbfs (throughput) |"
	for (i = 1; i <= nk; i++)
		cell(ratio(med["odirect", "32MiB", 1, "hugetlb"], own("odirect", "32MiB", K[i])))
	print line
	line = "| &nbsp;&nbsp;÷ device-dax (throughput) |"
	for (i = 1; i <= nk; i++)
		cell(ratio(med["odirect", "32MiB", 1, "devdax"], own("odirect", "32MiB", K[i])))
	print line
	print ""
	# The targets of issue 12, as measured here.
	o = ptsum["ours"] / procs; d = ptsum["devdax"] / procs
	t = own("maptouch", "32MiB", "ours") / ref("maptouch", "32MiB", "ours", "hugetlb")
	printf "Issue 12 targets, as measured: page tables for 2 MiB-aligned buffers, ours %s bytes per\n", grp(o)
	printf "process vs device-dax %s (VmPTE; target ≤: %s); map + touch at 32 MiB, ours %.2fx\n", grp(d), o <= d ? "met" : "not met", t
	printf "hugetlbfs (target ≤ 1.0x: %s).\n", t <= 1 ? "met" : "not met"
	print ""
	printf "One boot of the test VM (`tools/vm/run.sh --hostroot`, QEMU %s, Debian kernel %s,\n", accel, kernel
	printf "%s, 2 vCPUs; %d s wall time with the build and boot). **ours** = `mmap(/dev/freenos-mm,\n", mem, took
	print "MAP_SHARED, offset 0)`, reserve and map in one step, the module on a `memmap=320M$` region"
	print "with ZONE_DEVICE pages (2 MiB entries: its 2 MiB and 32 MiB allocations are 2 MiB-aligned);"
	print "**device-dax** = `/dev/dax0.0` (`ndctl create-namespace -m devdax` on `memmap=320M!`,"
	printf "%d bytes, align 2 MiB), `MAP_SHARED`, process *i* at offset *i* × size; **hugetlbfs** =\n", daxsize
	print "`MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB` (2 MiB pages, `hugepages=140`); **anon 4 KiB** ="
	print "`MAP_PRIVATE | MAP_ANONYMOUS` + `MADV_NOHUGEPAGE`; **ours pages=0** = the module reloaded"
	print "with `pages=0`: 4 KiB PFN entries made at `mmap()` (`VM_PFNMAP`, no get_user_pages)."
	print ""
	printf "Map + touch: `mmap`, one byte written per 4 KiB, `munmap`; %s rounds at 2 MiB and %s at\n", rs, rl
	print "32 MiB after 2 warm-up rounds, one cycle of each kind per round, each kind first in turn."
	print "What a cycle includes differs by design: hugetlbfs and anon zero the memory when it is"
	print "faulted in, ours when it is given back (in `munmap`: the last mapping ends the allocation),"
	print "device-dax never (its memory keeps what was written). The pages=0 column ran after the"
	print "reload, interleaved with device-dax and hugetlbfs again: its ratios use those medians."
	print ""
	printf "Page tables: %d processes each map and touch %s and wait; PageTables (`/proc/meminfo`,\n", procs, plbl
	print "after `/proc/sys/vm/stat_refresh`) and each `VmPTE` (`/proc/PID/status`) are read once all"
	print "processes run and none has mapped, then once all have mapped and touched; Δ is the"
	print "difference, so the tables a process has anyway do not count. VmPTE also counts PUD tables,"
	print "which PageTables does not (6.1 accounts only PTE and PMD tables there); whether a buffer"
	print "needs a new PMD or PUD table page (4 KiB each) depends on where it lands: min–max shows"
	print "the spread over the processes. 4 KiB entries: 16 or 17 PTE tables for 32 MiB."
	print ""
	print "O_DIRECT: `pread(O_DIRECT)` of a brd ramdisk (64 MiB, filled first) in 1 MiB reads into a"
	printf "32 MiB buffer mapped and touched beforehand, %s rounds after 2 warm-up rounds, interleaved\n", rio
	print "as for map + touch; the data read is checked. With pages=0 the read fails (get_user_pages()"
	print "cannot take PFN mappings): its errno is the figure. Throughput ratios: the kind over the"
	print "reference."
	if (accel == "tcg") {
		print ""
		print "Under QEMU TCG every instruction is emulated: absolute times are not those of real"
		print "hardware and only ratios measured in this same run mean anything; worst cases include"
		print "the host'"'"'s other load."
	}
}' "$results/pagemap.tsv" > "$results/pagemap.md"
cat "$results/pagemap.md"
