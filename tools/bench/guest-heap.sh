# freenos-mm benchmark, the heap's VM run (guest side, busybox sh): load
# the module on the boot-reserved region, run fnmm_heap_bench with ours
# over the device's pages (the system malloc: the static glibc's) between
# FNMM-BENCH markers, check that the region is all free again, unload.
# Started by heap.sh through tools/vm/run.sh; the kernel command line
# may set FNMM_HEAP_DIV (1/N of the native iterations: TCG is slow).
. /fnmm/lib.sh

S=/sys/class/misc/freenos-mm

check "insmod freenos-mm.ko base=0x30000000 size=0x4000000" \
	insmod $FNMM_KO base=0x30000000 size=0x4000000
free0=$(cat $S/free 2>/dev/null)

echo "FNMM-BENCH-BEGIN"
FNMM_HEAP_DEVICE=/dev/freenos-mm FNMM_HEAP_DIV=${FNMM_HEAP_DIV:-50} \
	fnmm_heap_bench vm 1
rc1=$?
FNMM_HEAP_DEVICE=/dev/freenos-mm fnmm_heap_bench vm overhead 1
rc2=$?
echo "FNMM-BENCH-END"
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]; then
	ok "fnmm_heap_bench ran over the device (timings, overhead)"
else
	notok "fnmm_heap_bench exit $rc1, $rc2"
fi

check "all of the region free again after the benchmark" \
	sh -c "[ -n '$free0' ] && [ \"\$(cat $S/free)\" = '$free0' ]"
check "rmmod freenos-mm" rmmod freenos-mm
fnmm_finish
