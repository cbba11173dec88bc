# freenos-mm benchmark, part 4 (guest side, busybox sh): load the module
# on the boot-reserved region, run fnmm_e2e between FNMM-BENCH markers,
# check that the region is all free again, unload.  Started by e2e.sh
# through tools/vm/run.sh; the kernel command line may set
# FNMM_E2E_ROUNDS and FNMM_E2E_ROUNDS_LARGE (init passes unknown
# parameters on as environment variables).
. /fnmm/lib.sh

S=/sys/class/misc/freenos-mm

check "huge pages reserved at boot (hugepages=)" \
	sh -c '[ "$(sed -n "s/^HugePages_Total: *//p" /proc/meminfo)" -gt 0 ]'
check "insmod freenos-mm.ko base=0x30000000 size=0x4000000" \
	insmod $FNMM_KO base=0x30000000 size=0x4000000
free0=$(cat $S/free 2>/dev/null)

# Twice: one byte written per 4 KiB (page faults), then every byte.
for t in page all; do
	echo "FNMM-BENCH-BEGIN"
	fnmm_e2e --rounds "${FNMM_E2E_ROUNDS:-500}" \
		--rounds-large "${FNMM_E2E_ROUNDS_LARGE:-50}" --touch $t
	rc=$?
	echo "FNMM-BENCH-END"
	if [ $rc -eq 0 ]; then
		ok "fnmm_e2e --touch $t ran every method"
	else
		notok "fnmm_e2e --touch $t exit $rc"
	fi
done

check "all of the region free again after the benchmark" \
	sh -c "[ -n '$free0' ] && [ \"\$(cat $S/free)\" = '$free0' ]"
check "rmmod freenos-mm" rmmod freenos-mm
fnmm_finish
