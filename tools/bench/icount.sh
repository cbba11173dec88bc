#!/usr/bin/env bash
# freenos-mm benchmark, part 5: instructions per allocate + release pair.
#
#   tools/bench/icount.sh
#
# Builds out/icount on the user-space build of the allocators (tools/usim,
# gcc -O2), runs it under callgrind with collection only inside its two
# measured calls (see icount.c), and writes into $FNMM_RESULTS (default:
# results/ at the top of the repo):
#   icount.md    the Markdown fragment (also printed on stdout)
#   icount.tsv   one row per case and scenario, for gnuplot
# Installs valgrind (apt) if it is missing.  The counts are deterministic:
# the same build gives the same figures on every run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
results=${FNMM_RESULTS:-$repo/results}

if ! command -v valgrind >/dev/null 2>&1 ||
   [ ! -f /usr/include/valgrind/callgrind.h ]; then
	echo "icount: installing valgrind" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends valgrind >/dev/null
fi

mkdir -p "$results"
make -s -C "$here" icount >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
valgrind --tool=callgrind --collect-atstart=no --instr-atstart=no \
	--toggle-collect=icount_allocate --toggle-collect=icount_release \
	--callgrind-out-file="$work/callgrind.out.%p" \
	"$here/out/icount" > "$work/manifest.tsv" 2> "$work/valgrind.log" || {
	cat "$work/valgrind.log" >&2
	echo "icount: the driver failed under callgrind" >&2
	exit 1
}

# One line per dump: label, Ir total, then the inclusive Ir of the two
# measured calls and of the shim's lock and kmalloc functions, read from
# the callgrind.out format itself (fn=/cfn= name compression; a calls=
# line is followed by the call's inclusive cost line, other cost lines are
# self cost; positions are lines only, one event).  None of the functions
# asked for is recursive, so self + calls is their inclusive cost.
for f in "$work"/callgrind.out.*.*; do
	label=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
	total=$(sed -n 's/^summary: //p' "$f")
	awk -v label="$label" -v total="$total" '
	function name(s,   id, rest) {	# "(12) foo" or "(12)" -> foo
		if (!match(s, /^\([0-9]+\)/))
			return s
		id = substr(s, 2, RLENGTH - 2)
		rest = substr(s, RLENGTH + 1)
		sub(/^ +/, "", rest)
		if (rest != "")
			names[id] = rest
		return names[id]
	}
	/^fn=/ { cur = name(substr($0, 4)); next }
	/^cfn=/ { name(substr($0, 5)); next }
	# Self cost and the inclusive cost of each call made: both count.
	/^[0-9+*-]/ { inc[cur] += $2 }
	END {
		printf "%s\t%s\t%d\t%d\t%d\t%d\n", label, total,
		       inc["icount_allocate"], inc["icount_release"],
		       inc["usim_spin_lock"] + inc["usim_spin_unlock"],
		       inc["usim_kmalloc"] + inc["usim_kfree"]
	}' "$f"
done > "$work/dumps.tsv"

# Join with the manifest (label, allocator, case, scenario, ops, fill,
# largest) into icount.tsv, per pair.
awk -F'\t' '
NR == FNR { tot[$1] = $2; al[$1] = $3; re[$1] = $4; lk[$1] = $5; km[$1] = $6; next }
/^#/ || $1 == "label" { next }
BEGIN {
	OFS = "\t"
	print "allocator", "case", "scenario", "ops", "fill_pct", "ir_pair",
	      "ir_allocate", "ir_release", "ir_lock_shim", "ir_kmalloc_shim"
}
{
	if (!($1 in tot)) { print "icount: no dump for " $1 > "/dev/stderr"; bad = 1; next }
	if (al[$1] + re[$1] != tot[$1]) {
		print "icount: " $1 ": calls " al[$1] + re[$1] " != total " tot[$1] > "/dev/stderr"
		bad = 1
	}
	o = $5
	print $2, $3, $4, o, $6, sprintf("%.1f", tot[$1] / o),
	      sprintf("%.1f", al[$1] / o), sprintf("%.1f", re[$1] / o),
	      sprintf("%.1f", lk[$1] / o), sprintf("%.1f", km[$1] / o)
	rows++
}
END { if (bad || rows != 18) exit 1 }' \
	"$work/dumps.tsv" "$work/manifest.tsv" > "$results/icount.tsv"

vg=$(valgrind --version)
cc=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)
ops=$(awk -F'\t' 'NR == 2 { print $4 }' "$results/icount.tsv")
warm=$(sed -n 's/.*after \([0-9]*\) warm-up.*/\1/p' "$work/manifest.tsv")
awk -F'\t' -v vg="$vg" -v cc="$cc" -v ops="$ops" -v warm="$warm" '
NR == 1 { next }
$3 == "empty" { empty[$1, $2] = $6; km_e += $10; next }
{ order[++n] = $1 SUBSEP $2; row[$1, $2] = $0; km_s += $10 }
END {
	print "### Instructions per allocate + release pair (callgrind)"
	print ""
	print "| allocator | pair | fill | Ir / pair | allocate | release | of which lock shim | empty allocator: Ir / pair |"
	print "|---|---|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		split(row[order[i]], f, "\t")
		printf "| %s | %s | %s %% | %s | %s | %s | %s | %s |\n",
		       f[1], f[2], f[5], f[6], f[7], f[8], f[9], empty[order[i]]
	}
	print ""
	printf "Instructions (callgrind Ir, %s) per `fnmm_release()` +\n", vg
	print "`fnmm_allocate()` pair through the shared interface, on"
	print "`module/{alloc,split,bit,pool}.c` built unchanged for user space (tools/usim"
	printf "shim, gcc %s -O2, x86-64), driven by `tools/bench/icount.c`. Each row: a\n", cc
	print "window of live allocations of that kind on a background about half full and"
	print "fragmented (random sizes allocated to 75 %, random ones released to 50 %;"
	print "*fill* is the share in use while measured, for Pool of the pages it holds);"
	print "one op releases a pseudo-random slot of the window and allocates it again;"
	printf "%s warm-up ops, then the Ir total of %s ops divided by their number (a\n", warm, ops
	print "mean: the counts are deterministic, so there are no rounds and no median)."
	print "Split: 64 MiB, orders 0, 3, 9 (1, 8, 512 pages). Bit: 8 MiB of 4 KiB chunks"
	print "(the device'"'"'s default share), runs of 1, 8, 64 chunks. Pool: 8 B..2 KiB"
	print "classes over a 16 MiB Split, 64/256/1024-byte objects. *Empty allocator*:"
	print "the same pair again and again on a fresh allocator (a window of one). Only"
	print "the two calls are collected (`--toggle-collect` on two one-instruction"
	print "wrappers), so the driver'"'"'s own work is not counted; everything below them"
	print "is, including the shim: its spinlock is a plain flag with checks in an"
	print "out-of-line function (the *lock shim* column, two lock/unlock pairs; the"
	print "kernel'"'"'s uncontended spin_lock/unlock is a few inlined instructions and an"
	if (km_s + km_e == 0) {
		print "atomic) and its kmalloc is malloc (no case here reaches it: Pool keeps a"
		print "spare page per class). No ratio: no kernel allocator runs under this driver."
	} else {
		print "atomic) and its kmalloc is malloc (reached in some cases: column"
		print "ir_kmalloc_shim of `icount.tsv`). No ratio: no kernel allocator runs under"
		print "this driver."
	}
}' "$results/icount.tsv" > "$results/icount.md"
cat "$results/icount.md"
