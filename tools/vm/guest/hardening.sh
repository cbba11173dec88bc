# freenos-mm hardening (VM guest): rmmod refused while the device is in
# use (a file held open, a mapping that outlived its file) and allowed
# once it is not; then the seeded fuzzer and the stress test with its
# killer against the boot-reserved region; rmmod, and a reload after the
# run (nothing the run did may outlive the module).  The fuzzer also
# hands its mappings to the rest of the kernel (vmsplice into pipes,
# O_DIRECT and io_uring on a brd RAM disk, --blkdev).
#
# Knobs, from the kernel command line (tools/vm/run.sh --append), which
# hands NAME=VALUE words to init's environment; commas become spaces:
#   FNMM_FUZZ_SECONDS=60 FNMM_STRESS_SECONDS=20
#   FNMM_FUZZ_ARGS=--seed,0x1234 FNMM_STRESS_ARGS=--kills,40
. /fnmm/lib.sh

base=0x30000000
size=0x4000000
D=/sys/kernel/debug/freenos-mm

# wait_for DESC CMD...: poll CMD for up to 10 s; one TAP line.
wait_for() {
	desc=$1; shift
	i=0
	while [ $i -lt 100 ]; do
		if "$@" 2>/dev/null; then ok "$desc"; return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	notok "$desc (not within 10 s)"
	return 1
}

# The process has /dev/freenos-mm open.
has_open() { ls -l /proc/$1/fd 2>/dev/null | grep -q freenos-mm; }
# The debugfs check says ok (what it says is shown as "# " lines).
debugfs_ok() { sed 's/^/# /' $D/check; [ "$(head -n1 $D/check)" = ok ]; }

check "insmod with the boot-reserved region" \
	insmod $FNMM_KO base=$base size=$size

# rmmod while a process holds the device open.
fnmm alloc 1M --hold-seconds 30 > /tmp/hold-open.out 2>&1 &
pid=$!
wait_for "fnmm alloc --hold-seconds: the device is open" has_open $pid
refuse "rmmod refused while the device is open" rmmod freenos-mm
check "the module is still loaded" test -e /dev/freenos-mm
kill $pid
wait $pid
check "rmmod once the holder is gone" rmmod freenos-mm

# rmmod while a mapping outlives its file.
check "insmod again" insmod $FNMM_KO base=$base size=$size
fnmm_stress --hold-mapping 30 > /tmp/hold-map.out 2>&1 &
pid=$!
wait_for "fnmm_stress --hold-mapping: the mapping is held" \
	grep -q '^holding' /tmp/hold-map.out
check "its file is closed, its mapping alive" \
	sh -c "! ls -l /proc/$pid/fd | grep -q freenos-mm && grep -q freenos-mm /proc/$pid/maps"
refuse "rmmod refused while a mapping outlives its file" rmmod freenos-mm
check "the module is still loaded" test -e /dev/freenos-mm
kill $pid
check "the held mapping was intact to the end" wait $pid
cat /tmp/hold-map.out
check "rmmod once the mapping is gone" rmmod freenos-mm

# The fuzzer and the stress test.  The fuzzer's O_DIRECT and io_uring
# go to a 64 MiB RAM disk, a slice of it per process.
check "insmod for the fuzzer" insmod $FNMM_KO base=$base size=$size
check "debugfs check ok before" debugfs_ok
check "insmod brd (a RAM disk for the fuzzer's O_DIRECT)" \
	insmod /fnmm/kmod/brd.ko rd_nr=1 rd_size=65536
wait_for "/dev/ram0 is there" test -b /dev/ram0
check "drm and vgem (the fuzzer's dma-buf importer)" sh -c '
	insmod /fnmm/kmod/drm.ko && insmod /fnmm/kmod/drm_shmem_helper.ko &&
	insmod /fnmm/kmod/vgem.ko && [ -c /dev/dri/card0 ]'
run_tap fnmm_fuzz fnmm_fuzz --seconds ${FNMM_FUZZ_SECONDS:-60} \
	--blkdev /dev/ram0 $(echo "${FNMM_FUZZ_ARGS:-}" | tr , ' ')
run_tap fnmm_stress fnmm_stress --seconds ${FNMM_STRESS_SECONDS:-20} \
	$(echo "${FNMM_STRESS_ARGS:-}" | tr , ' ')
check "debugfs check ok after the fuzzer and the stress test" debugfs_ok
# The kernel's complaints during the run, if any (PAT, warnings).
dmesg | grep -E 'x86/PAT|ioremap|WARNING' | grep -v Configuration | tail -n 12
check "rmmod brd" rmmod brd
check "final rmmod" rmmod freenos-mm
check "the region is released" sh -c '! grep -q freenos-mm /proc/iomem'
# Nothing the run did outlives the module: it loads and unloads again.
check "insmod after the run" insmod $FNMM_KO base=$base size=$size
check "rmmod after the run" rmmod freenos-mm

fnmm_finish
