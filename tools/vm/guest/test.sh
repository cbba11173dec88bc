# freenos-mm VM test: load with the boot-reserved region, run every user
# test, check refusals of bad regions, the take-at-load mode, and unload.
. /fnmm/lib.sh

base=0x30000000
size=0x4000000

check "the boot-reserved range is Reserved in /proc/iomem" \
	grep -q '30000000-33ffffff : Reserved' /proc/iomem
refuse "insmod refuses a range in System RAM" \
	insmod $FNMM_KO base=0x1000000 size=0x100000
refuse "insmod refuses a misaligned base" \
	insmod $FNMM_KO base=0x30000800 size=0x100000
refuse "insmod refuses a range past the reservation" \
	insmod $FNMM_KO base=0x33f00000 size=0x200000
refuse "insmod refuses an unreserved hole (PCI window)" \
	insmod $FNMM_KO base=0x80000000 size=0x100000
refuse "insmod refuses size 0 with a base" insmod $FNMM_KO base=$base size=0
check "nothing left claimed after the refusals" sh -c '! grep -q freenos-mm /proc/iomem'

check "insmod with the boot-reserved region" \
	insmod $FNMM_KO base=$base size=$size
check "the module claims the region in /proc/iomem" \
	grep -q '30000000-33ffffff : freenos-mm' /proc/iomem
check "/dev/freenos-mm is mode 0600" \
	sh -c '[ "$(stat -c %a /dev/freenos-mm)" = 600 ]'
S=/sys/class/misc/freenos-mm
check "sysfs: free, used, largest of Split (64 MiB less the 8 MiB Bit part, one run)" \
	sh -c "[ \$(cat $S/free) = 58720256 ] && [ \$(cat $S/used) = 8388608 ] && [ \$(cat $S/largest) = 58720256 ]"
check "sysfs: bit_free, bit_used, bit_largest" \
	sh -c "[ \$(cat $S/bit_free) = 8388608 ] && [ \$(cat $S/bit_used) = 0 ] && [ \$(cat $S/bit_largest) = 8388608 ]"

run_tap test_vmctl test_vmctl
# Memory the rest of Linux can use (issue 12): O_DIRECT on a brd ramdisk,
# an io_uring read in flight on a null_blk with 2 s completions.
check "block devices for O_DIRECT: brd, null_blk (delayed completion)" sh -c '
	insmod /fnmm/kmod/brd.ko rd_nr=1 rd_size=16384 &&
	insmod /fnmm/kmod/configfs.ko &&
	insmod /fnmm/kmod/null_blk.ko irqmode=2 completion_nsec=2000000000 \
		gb=1 nr_devices=1 && [ -b /dev/ram0 ] && [ -b /dev/nullb0 ]'
check "debugfs region: ZONE_DEVICE pages" \
	grep -q "^pages zone-device" /sys/kernel/debug/freenos-mm/region
run_tap gup-paths test_gup paths pages /dev/ram0 wb wc uc
run_tap gup-huge test_gup huge
run_tap gup-pin test_gup pin
run_tap gup-inflight test_gup inflight /dev/nullb0
run_tap gup-stale test_gup stale
run_tap gup-futexkey test_gup futexkey
test_gup hold 6 &
holder=$!
sleep 2
refuse "rmmod refused while a pipe holds released pages" rmmod freenos-mm
check "debugfs pinned shows the 64 KiB held" \
	sh -c "cat /sys/kernel/debug/freenos-mm/pinned; grep -q '^blocks 1 bytes 65536' /sys/kernel/debug/freenos-mm/pinned"
check "the pipe read the owner's bytes after the wait" wait $holder
check "nothing pinned after the pipe is read" \
	sh -c "sleep 1; grep -q '^blocks 0 bytes 0' /sys/kernel/debug/freenos-mm/pinned"
# dma-buf export (issue 13): the kernel's own importers and fd passing.
check "drm and vgem load (a DRM PRIME importer)" sh -c '
	insmod /fnmm/kmod/drm.ko && insmod /fnmm/kmod/drm_shmem_helper.ko &&
	insmod /fnmm/kmod/vgem.ko && [ -c /dev/dri/card0 ]'
run_tap dmabuf-basic test_dmabuf basic
run_tap dmabuf-lifetime test_dmabuf lifetime
run_tap dmabuf-bad test_dmabuf bad
run_tap dmabuf-vgem test_dmabuf vgem
# V4L2 capture into the dma-bufs: vivid with each vb2 back end, vmalloc
# (dma_buf_vmap) and dma-contig (dma_buf_map_attachment, contiguous).
vivid_deps() {
	for m in mc videodev rc-core cec v4l2-dv-timings v4l2-tpg \
		 videobuf2-common videobuf2-v4l2 videobuf2-memops \
		 videobuf2-vmalloc videobuf2-dma-contig; do
		insmod /fnmm/kmod/$m.ko || return 1
	done
}
check "vivid's dependencies load (videodev, videobuf2, ...)" vivid_deps
check "vivid loads: one capture node, vb2-vmalloc" \
	insmod /fnmm/kmod/vivid.ko n_devs=1 node_types=0x1
run_tap v4l2-vivid-vmalloc test_v4l2 vivid vmalloc
check "rmmod vivid" rmmod vivid
check "vivid loads: allocators=1 (vb2-dma-contig)" \
	insmod /fnmm/kmod/vivid.ko n_devs=1 node_types=0x1 allocators=1
run_tap v4l2-vivid-dma-contig test_v4l2 vivid dma-contig
check "rmmod vivid (dma-contig)" rmmod vivid
test_dmabuf hold 5 &
holder=$!
sleep 2
refuse "rmmod refused while a dma-buf of the region lives" rmmod freenos-mm
check "bufinfo shows the exporter freenos-mm" \
	grep -q freenos-mm /sys/kernel/debug/dma_buf/bufinfo
check "the dma-buf holder exits" wait $holder
run_tap test_badinput test_badinput
run_tap test_lifetime test_lifetime
run_tap test_priv test_priv
run_tap test_meta test_meta
run_tap test_bubble test_bubble
run_tap test_heap test_heap dev
run_tap place-percpu test_place percpu
check "fnmm demo" fnmm demo
check "fnmm alloc --export: the allocation as a dma-buf" sh -c \
	'fnmm alloc 1M --export --hold-seconds 0 </dev/null | tee /tmp/exp.out; grep -q "exported: dma-buf fd" /tmp/exp.out'
check "fnmm stat: pinned and exported lines" sh -c \
	'fnmm stat | grep -E "^(pinned|exported):"'
check "fnmm stat: the Bubble line, no arena left" sh -c \
	'fnmm stat | grep -E "^bubble: +0 arenas"'

D=/sys/kernel/debug/freenos-mm
check "debugfs: structures and accounting check ok" \
	sh -c "cat $D/check; [ \"\$(head -n1 $D/check)\" = ok ]"
check "debugfs: region, orders and contexts readable" \
	sh -c "cat $D/region $D/orders $D/contexts"
check "debugfs: every Split page free or the Bit part" \
	sh -c "grep -q 'split .* free 58720256 ' $D/region"
fnmm alloc 3M --hold-seconds 4 < /dev/null > /dev/null &
hold=$!
fnmm alloc --bit 40K --hold-seconds 4 < /dev/null > /dev/null &
hold2=$!
sleep 1
check "fnmm map: draws the region while 3 MiB + 40 KiB are held" \
	sh -c "fnmm map --png /tmp/map.png > /tmp/map.txt; cat /tmp/map.txt; grep -q 'split used 768,' /tmp/map.txt && grep -q 'bit part 2048 pages: used 10,' /tmp/map.txt"
check "fnmm map: wrote a PNG" \
	sh -c "[ \"\$(head -c 4 /tmp/map.png | tail -c 3)\" = PNG ]"
wait $hold $hold2
# Last on this load: it leaves 64 KiB quarantined for good.
check "hwpoison-inject loads" insmod /fnmm/kmod/hwpoison-inject.ko
run_tap gup-poison test_gup poison
check "rmmod freenos-mm" rmmod freenos-mm
check "debugfs directory removed" sh -c "[ ! -e $D ]"
check "the region is released in /proc/iomem" \
	sh -c '! grep -q freenos-mm /proc/iomem'
check "the device node is gone" sh -c '[ ! -e /dev/freenos-mm ]'

# Without a boot reservation: take 16 MiB from the page allocator.
check "insmod take=16M" insmod $FNMM_KO take=0x1000000
run_tap test_vmctl-take test_vmctl
run_tap gup-paths-take test_gup paths pages /dev/ram0 wb wc uc
run_tap gup-pin-take test_gup pin
run_tap dmabuf-basic-take test_dmabuf basic
run_tap dmabuf-lifetime-take test_dmabuf lifetime
run_tap dmabuf-vgem-take test_dmabuf vgem
check "vivid loads (take=): vb2-vmalloc" \
	insmod /fnmm/kmod/vivid.ko n_devs=1 node_types=0x1
run_tap v4l2-vivid-vmalloc-take test_v4l2 vivid vmalloc-take
check "rmmod vivid (take=)" rmmod vivid
check "vivid loads (take=): allocators=1 (vb2-dma-contig)" \
	insmod /fnmm/kmod/vivid.ko n_devs=1 node_types=0x1 allocators=1
run_tap v4l2-vivid-dma-contig-take test_v4l2 vivid dma-contig-take
check "rmmod vivid (take=, dma-contig)" rmmod vivid
run_tap gup-futexkey-take test_gup futexkey
run_tap shared-take test_shared take
run_tap gup-poison-take test_gup poison
check "rmmod after take" rmmod freenos-mm
# pages=0: PFN mappings of the boot-reserved region, as before issue 12:
# every cache type, and each get_user_pages() path fails (EFAULT);
# /proc/PID/mem and ptrace go through ->access.
check "insmod pages=0" insmod $FNMM_KO base=$base size=$size pages=0
check "debugfs region: no struct pages" \
	grep -q "^pages none" /sys/kernel/debug/freenos-mm/region
run_tap test_vmctl-pfn test_vmctl
run_tap gup-paths-pfn test_gup paths pfn /dev/ram0 wb wc uc
run_tap dmabuf-nopages test_dmabuf nopages
check "rmmod after pages=0" rmmod freenos-mm
check "reload: mode=0666 expose_phys=1" \
	insmod $FNMM_KO base=$base size=$size mode=0666 expose_phys=1
check "/dev/freenos-mm is mode 0666" \
	sh -c '[ "$(stat -c %a /dev/freenos-mm)" = 666 ]'
run_tap test_priv-exposed test_priv
check "rmmod after expose_phys" rmmod freenos-mm

# Safe on a shared host (issue 10): each load below ends with rmmod; a
# load the module refuses skips its tests (one failed line says so).
# load DESC PARAMS...: insmod on the boot-reserved region with PARAMS.
load() {
	desc=$1; shift
	if insmod $FNMM_KO base=$base size=$size "$@"; then
		ok "$desc"
	else
		notok "$desc (insmod refused)"
		return 1
	fi
}
if load "reload: mode=0666 (a second user may open the node)" mode=0666; then
	run_tap test_priv-0666 test_priv
	run_tap shared-leak test_shared leak
	run_tap shared-limits test_shared limits
	run_tap shared-quarantine test_shared quarantine
	run_tap shared-pool test_shared pool
	run_tap shared-abi test_shared abi
	check "debugfs check ok after the shared-host tests" \
		sh -c "cat $D/check; [ \"\$(head -n1 $D/check)\" = ok ]"
	check "rmmod after mode=0666" rmmod freenos-mm
fi
if load "reload: mode=0666 account=0" mode=0666 account=0; then
	run_tap shared-account0 test_shared account0
	check "rmmod after account=0" rmmod freenos-mm
fi
# percpu=0: no per-CPU magazines, every request placed first fit.
if load "reload: percpu=0" percpu=0; then
	run_tap place-exact test_place exact
	run_tap test_vmctl-exact test_vmctl
	run_tap shared-pool-exact test_shared pool
	check "debugfs check ok after percpu=0" \
		sh -c "[ \"\$(head -n1 $D/check)\" = ok ]"
	check "rmmod after percpu=0" rmmod freenos-mm
fi
if load "reload: max_handles=64" max_handles=64; then
	run_tap shared-handles test_shared handles 64
	check "final rmmod" rmmod freenos-mm
fi

fnmm_finish
