# Helpers for guest scripts (busybox sh), sourced by tools/vm/run.sh's
# guest as /fnmm/lib.sh.  Each check prints one TAP line; the host counts
# "ok" / "not ok" lines on the serial console.

FNMM_KO=/fnmm/freenos-mm.ko
fnmm_failed=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fnmm_failed=$((fnmm_failed + 1)); }

# check DESC CMD...: ok when CMD exits 0 (its output is shown).
check() {
	desc=$1; shift
	if "$@"; then ok "$desc"; else notok "$desc (exit $?)"; fi
}

# refuse DESC CMD...: ok when CMD fails.
refuse() {
	desc=$1; shift
	if "$@" 2>/dev/null; then notok "$desc (succeeded)"; else ok "$desc"; fi
}

# run_tap NAME CMD...: run a TAP program; its own lines count, and one
# more line says whether it exited 0 with a plan matching its cases.
run_tap() {
	name=$1; shift
	echo "# ---- $name"
	"$@" > /tmp/$name.out 2>&1
	rc=$?
	cat /tmp/$name.out
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' /tmp/$name.out | tail -n1)
	cases=$(grep -cE '^(not )?ok ' /tmp/$name.out)
	if [ $rc -eq 0 ] && [ -n "$plan" ] && [ "$plan" -eq "$cases" ]; then
		ok "$name: exit 0, plan 1..$plan complete"
	else
		notok "$name: exit $rc, plan '${plan:-none}', $cases cases"
	fi
}

# The device's region as /proc/iomem names it.
iomem_claimed() { grep -q 'freenos-mm' /proc/iomem; }

# Exit status for the guest script: 0 when every check passed.
fnmm_finish() { [ $fnmm_failed -eq 0 ]; }
