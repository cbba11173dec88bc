# freenos-mm benchmark, part "pagemap" (guest side, busybox sh): set up
# the five kinds of buffer and run fnmm_pagemap's parts between
# FNMM-BENCH markers.  Started by pagemap.sh through tools/vm/run.sh
# (--hostroot, --no-memmap; the kernel command line reserves both regions
# and the huge pages, and may set the FNMM_PM_* variables below: init
# passes unknown parameters on as environment variables).
#
#   ours      freenos-mm.ko base=0x30000000 size=FNMM_PM_OURS (pages=1)
#   devdax    the memmap=! region (emulated pmem) as /dev/dax0.0: the
#             host's nvdimm/dax modules and ndctl, run in a chroot of the
#             host's root (9p, read-only)
#   hugetlb   hugepages= at boot
#   anon      nothing to set up
#   ours-pfn  freenos-mm.ko reloaded with pages=0 (phase 2)
#   O_DIRECT  brd, /dev/ram0 of 64 MiB, filled by fnmm_pagemap fill
#
# Phase 1 runs ours, devdax, hugetlb and anon; phase 2, after the reload
# with pages=0, runs ours-pfn and, for map+touch, devdax and hugetlb again
# so that its ratios compare cycles timed in the same rounds.
. /fnmm/lib.sh

base=0x30000000
size=${FNMM_PM_OURS:-0x14000000}
procs=${FNMM_PM_PROCS:-8}
pt_size=${FNMM_PM_PT_SIZE:-32M}
rounds=${FNMM_PM_ROUNDS:-1000}
rounds_large=${FNMM_PM_ROUNDS_LARGE:-200}
rounds_io=${FNMM_PM_ROUNDS_IO:-200}
kdir=/host/lib/modules/$(uname -r)/kernel/drivers
PM=fnmm_pagemap

echo "# uptime $(cut -d' ' -f1 /proc/uptime) s: set-up"
echo "# /proc/iomem (reserved and persistent-memory ranges):"
grep -E 'Reserved|Persistent|System RAM' /proc/iomem | sed 's/^/#   /'

ours_range=$(printf '%x-%x' $base $((base + size - 1)))
check "ours: $ours_range is Reserved in /proc/iomem (memmap=\$, not RAM)" \
	grep -q "^$ours_range : Reserved" /proc/iomem
check "device-dax: one emulated pmem range (memmap=!) in /proc/iomem" \
	sh -c '[ "$(grep -c "Persistent Memory (legacy)" /proc/iomem)" = 1 ]'

# device-dax on the emulated pmem region.
devdax_setup() {
	for m in nvdimm/libnvdimm nvdimm/nd_btt nvdimm/nd_pmem \
		 nvdimm/nd_e820 dax/dax_pmem dax/device_dax; do
		insmod $kdir/$m.ko || { echo "# insmod $m failed"; return 1; }
	done
	for d in proc sys dev; do
		mount --bind /$d /host/$d || return 1
	done
	mount -t tmpfs tmpfs /host/run && mount -t tmpfs tmpfs /host/tmp ||
		return 1
	chroot /host /usr/bin/ndctl create-namespace -f -e namespace0.0 \
		-m devdax | sed 's/^/# /'
	i=0
	while [ ! -c /dev/dax0.0 ] && [ $i -lt 20 ]; do
		sleep 1
		i=$((i + 1))
	done
	[ -c /dev/dax0.0 ] || return 1
	echo "# dax0.0: size $(cat /sys/bus/dax/devices/dax0.0/size)," \
		"align $(cat /sys/bus/dax/devices/dax0.0/align 2>/dev/null)"
}
check "device-dax: /dev/dax0.0 on the memmap=! region" devdax_setup
check "hugetlbfs: 2 MiB pages reserved at boot" \
	sh -c 'grep -E "^HugePages_(Total|Free)|^Hugepagesize" /proc/meminfo | sed "s/^/# /";
	       [ "$(sed -n "s/^HugePages_Free: *//p" /proc/meminfo)" -gt 0 ]'
check "brd: /dev/ram0, 64 MiB" \
	sh -c 'insmod /fnmm/kmod/brd.ko rd_nr=1 rd_size=65536 && [ -b /dev/ram0 ]'
check "brd: filled with the pattern O_DIRECT reads check" \
	$PM fill --dev /dev/ram0
check "insmod freenos-mm.ko base=$base size=$size (pages=1)" \
	insmod $FNMM_KO base=$base size=$size
check "freenos-mm: ZONE_DEVICE pages" \
	grep -q "^pages zone-device" /sys/kernel/debug/freenos-mm/region

all=ours,devdax,hugetlb,anon
# bench PART ARGS...: one run of fnmm_pagemap inside the section.
bench() {
	echo "# uptime $(cut -d' ' -f1 /proc/uptime) s: fnmm_pagemap $1"
	echo "FNMM-BENCH-BEGIN"
	$PM "$@"
	rc=$?
	echo "FNMM-BENCH-END"
	if [ $rc -eq 0 ]; then ok "fnmm_pagemap $*"; else notok "fnmm_pagemap $* (exit $rc)"; fi
}
bench maptouch --phase 1 --kinds $all --sizes 2M,32M \
	--rounds $rounds --rounds-large $rounds_large
bench pgtables --phase 1 --kinds $all --procs $procs --size $pt_size
bench odirect --phase 1 --kinds $all --dev /dev/ram0 --size 32M \
	--chunk 1M --rounds $rounds_io
check "rmmod freenos-mm" rmmod freenos-mm

check "insmod freenos-mm.ko pages=0 (PFN mappings, before)" \
	insmod $FNMM_KO base=$base size=$size pages=0
bench maptouch --phase 2 --kinds ours-pfn,devdax,hugetlb --sizes 2M,32M \
	--rounds $rounds --rounds-large $rounds_large
bench pgtables --phase 2 --kinds ours-pfn --procs $procs --size $pt_size
bench odirect --phase 2 --kinds ours-pfn --dev /dev/ram0 --size 32M \
	--chunk 1M --rounds $rounds_io
check "rmmod freenos-mm (pages=0)" rmmod freenos-mm
echo "# uptime $(cut -d' ' -f1 /proc/uptime) s: done"
fnmm_finish
