# SPDX-License-Identifier: GPL-2.0
#
# awk -f kcsan-filter.awk SYMS LOG: LOG without the KCSAN reports none of
# SYMS (function names, one a line: freenos-mm's and its suites', see
# tools/kunit/run.sh) is in; each report dropped is named on stderr
# ("kunit: not ours: ...").  KCSAN also reports races in the kernel
# itself (seen: the reboot after the last suite, where CPU 0 polls
# cpus_stop_mask while the other CPU clears its bit, arch/x86/kernel/
# smp.c; the PS/2 mouse driver probing QEMU's i8042 at boot,
# ps2_do_sendbyte / ps2_handle_ack).  A race our code takes part in
# always has one of our frames in one of the two stacks, above the entry
# of an interrupt or exception (asm_common_interrupt, asm_sysvec_*,
# asm_exc_*) if there is one: the frames below it are only the context
# the interrupt came in on (seen in CI: the PS/2 mouse's interrupt,
# racing its driver's probe, came in on a Pool test's pool_allocate).
FNR == NR { ours[$1] = 1; next }
function flush(  n, i, l, f, below) {
	n = split(blk, l, "\n")
	for (i = 1; i <= n; i++) {
		f = l[i]
		sub(/^[ \t]+/, "", f)
		sub(/\+0x.*/, "", f)
		if (f == "")	# a stack ends
			below = 0
		if (below)
			continue
		if (f in ours) { printf "%s", blk; blk = ""; st = 0; return }
		if (f ~ /^asm_(common_interrupt|sysvec_|exc_)/)
			below = 1
	}
	print "kunit: not ours: " head > "/dev/stderr"
	blk = ""; st = 0
}
st == 2 { blk = blk $0 "\n"; if ($0 ~ /^=+$/) flush(); next }
st == 1 && /BUG: KCSAN:/ { blk = hold "\n" $0 "\n"; head = $0; st = 2; next }
st == 1 { print hold; st = 0 }
/^=+$/ { hold = $0; st = 1; next }
{ print }
END { if (st == 1) print hold; if (st == 2) printf "%s", blk }
