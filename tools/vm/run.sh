#!/usr/bin/env bash
# Boot Debian's kernel in QEMU with freenos-mm and run a guest script.
#
#   tools/vm/run.sh [--no-memmap] [--append ARGS] [--timeout SEC]
#                   [--hostroot] [--log FILE] GUEST_SCRIPT
#
# Installs what is missing (tools/vm/deps.sh), builds the module against
# the packaged kernel and the static user programs, packs them with a
# static busybox into an initramfs, and boots it with 64 MiB reserved at
# 0x30000000 (memmap=64M$0x30000000).  The guest runs GUEST_SCRIPT with
# tools/vm/guest/lib.sh, prints TAP lines on the serial console and its
# kernel log at the end.
#
# The run fails on a failed or missing test, a non-zero script status, a
# guest that does not finish in time, a kernel warning/BUG/oops/KASAN/
# lockdep/refcount report, any x86/PAT line not on the allow-list below
# (the module asked for a memory type it did not get), or any taint other
# than O and E (out-of-tree, unsigned).  Prints "vm: N passed, M failed".
#
# FNMM_VM_ACCEL=kvm uses KVM where it works (TCG by default: a nested KVM
# guest hangs at boot on some hosts); FNMM_VM_MEM, FNMM_VM_SMP size it.
# --hostroot shares / read-only as 9p tag "hostroot" (mounted on /host).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
work=$cache/vm
memmap='memmap=64M$0x30000000'
append=
timeout=600
hostroot=0
log=

while [ $# -gt 0 ]; do
	case $1 in
	--no-memmap) memmap= ;;
	--append) append="$append $2"; shift ;;
	--timeout) timeout=$2; shift ;;
	--hostroot) hostroot=1 ;;
	--log) log=$2; shift ;;
	-*) echo "vm: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] && [ -f "$1" ] || {
	echo "usage: $0 [options] GUEST_SCRIPT" >&2; exit 2; }
script=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
name=$(basename "$script" .sh)
mkdir -p "$work"
[ -n "$log" ] || log=$work/$name.log

kver=$("$here/deps.sh")
kdir=/lib/modules/$kver/build

echo "vm: building freenos-mm.ko for $kver and the user programs"
make -s -C "$repo" KVER="$kver" modules >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; echo "vm: 0 passed, 1 failed"; exit 1; }
if grep -q 'warning:' "$work/build.log"; then
	cat "$work/build.log"; echo "vm: module build has warnings"
	echo "vm: 0 passed, 1 failed"; exit 1
fi
make -s -C "$repo/tools" >>"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; echo "vm: 0 passed, 1 failed"; exit 1; }

# The initramfs: busybox, the module, the user programs, the scripts.
root=$work/root-$name
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,host,fnmm/bin,fnmm/mod}
cp /bin/busybox "$root/bin/busybox"
cp "$repo/module/freenos-mm.ko" "$root/fnmm/"
cp "$repo"/tools/bin/* "$root/fnmm/bin/" 2>/dev/null || true
mkdir -p "$root/fnmm/bpftrace"
cp "$repo"/tools/bpftrace/*.bt "$root/fnmm/bpftrace/"
cp "$here/guest/lib.sh" "$root/fnmm/lib.sh"
cp "$script" "$root/fnmm/test.sh"
if [ $hostroot -eq 1 ]; then
	for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
		 drivers/virtio/virtio_pci_legacy_dev \
		 drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci \
		 net/9p/9pnet net/9p/9pnet_virtio fs/netfs/netfs \
		 fs/fscache/fscache fs/9p/9p; do
		f=/lib/modules/$kver/kernel/$m.ko
		[ -f "$f" ] || continue
		cp "$f" "$root/fnmm/mod/"
		echo "$(basename "$f")" >> "$root/fnmm/mod/order"
	done
fi
# Block devices the tests do O_DIRECT on, memory-failure injection,
# dma-buf importers: vgem (DRM PRIME), vivid (V4L2) and their
# dependencies, in load order (insmod /fnmm/kmod/NAME.ko).
mkdir -p "$root/fnmm/kmod"
for m in drivers/block/brd fs/configfs/configfs drivers/block/null_blk/null_blk \
	 mm/hwpoison-inject drivers/gpu/drm/drm drivers/gpu/drm/drm_shmem_helper \
	 drivers/gpu/drm/vgem/vgem drivers/media/mc/mc \
	 drivers/media/v4l2-core/videodev drivers/media/rc/rc-core \
	 drivers/media/cec/core/cec drivers/media/v4l2-core/v4l2-dv-timings \
	 drivers/media/common/v4l2-tpg/v4l2-tpg \
	 drivers/media/common/videobuf2/videobuf2-common \
	 drivers/media/common/videobuf2/videobuf2-v4l2 \
	 drivers/media/common/videobuf2/videobuf2-memops \
	 drivers/media/common/videobuf2/videobuf2-vmalloc \
	 drivers/media/common/videobuf2/videobuf2-dma-contig \
	 drivers/media/test-drivers/vivid/vivid; do
	f=/lib/modules/$kver/kernel/$m.ko
	[ -f "$f" ] && cp "$f" "$root/fnmm/kmod/"
done
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/fnmm/bin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
if [ -f /fnmm/mod/order ]; then
	for m in $(cat /fnmm/mod/order); do insmod /fnmm/mod/$m; done
	# cache=loose: the host root does not change under the guest; pages
	# read once stay cached (bpftrace maps large libraries over 9p).
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /host
fi
# The watchdog: a guest script still running near the host's timeout
# prints where each user task and each kernel task in state R or D is
# (its kernel stack), the blocked tasks as the kernel sees them, and
# the kernel log since the script started, before QEMU is killed.
wd=$(sed -n 's/.*fnmm_watchdog=\([0-9]*\).*/\1/p' /proc/cmdline)
n0=$(dmesg | wc -l)
if [ -n "$wd" ]; then
	(
	sleep "$wd"
	echo "FNMM-VM-WATCHDOG: the guest script still runs after ${wd} s"
	for t in /proc/[0-9]*/task/[0-9]*; do
		st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' $t/status 2>/dev/null)
		args=$(tr '\0' ' ' < $t/cmdline 2>/dev/null)
		[ -n "$args" ] || case $st in R|D) ;; *) continue ;; esac
		echo "# task ${t#/proc/} state $st: $args[$(cat $t/comm 2>/dev/null)]"
		sed 's/^/#   /' $t/stack 2>/dev/null
	done
	echo w > /proc/sysrq-trigger
	dmesg | tail -n +$((n0 + 1)) | tail -n 300 | sed 's/^/# dmesg: /'
	echo "not ok - watchdog: the guest script finished in ${wd} s"
	) &
fi
echo
echo "FNMM-VM-START $(uname -r)"
cd /fnmm && sh /fnmm/test.sh
rc=$?
[ -z "$wd" ] || kill $! 2>/dev/null
echo "FNMM-VM-TAINT $(cat /proc/sys/kernel/tainted)"
echo "FNMM-VM-DMESG-BEGIN"
dmesg
echo "FNMM-VM-DMESG-END"
echo "FNMM-VM-EXIT rc=$rc"
sync
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/$name.cpio.gz"

accel=${FNMM_VM_ACCEL:-tcg}
qemu=(qemu-system-x86_64 -accel "$accel" -m "${FNMM_VM_MEM:-1G}"
      -smp "${FNMM_VM_SMP:-2}" -nographic -no-reboot
      -kernel "/boot/vmlinuz-$kver" -initrd "$work/$name.cpio.gz"
      -append "console=ttyS0 panic=-1 loglevel=3 fnmm_watchdog=$((timeout * 9 / 10)) $memmap$append")
[ "$accel" = kvm ] && qemu+=(-cpu host)
[ $hostroot -eq 1 ] && qemu+=(-virtfs
	local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap)

echo "vm: booting $kver ($accel) with ${memmap:-no reserved region}; log $log"
start=$(date +%s)
set +e
timeout --foreground -k 10 "$timeout" "${qemu[@]}" </dev/null 2>&1 |
	sed -u 's/\x1bc//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\r//g' | tee "$log" |
	sed -n '/^FNMM-VM-START/,/^FNMM-VM-DMESG-BEGIN/p' | grep -v '^FNMM-VM-DMESG'
set -e
echo "vm: guest ran $(( $(date +%s) - start )) s"

passed=$(sed -n '/^FNMM-VM-START/,/^FNMM-VM-DMESG-BEGIN/p' "$log" |
	grep -cE '^ok( |$)' || true)
failed=$(sed -n '/^FNMM-VM-START/,/^FNMM-VM-DMESG-BEGIN/p' "$log" |
	grep -cE '^not ok( |$)' || true)
bad=0
exitline=$(grep -E '^FNMM-VM-EXIT rc=' "$log" | tail -n1 || true)
if [ -z "$exitline" ]; then
	echo "vm: FAIL: the guest did not finish (timeout ${timeout}s, hang or panic)"
	bad=1
elif [ "${exitline#FNMM-VM-EXIT rc=}" != 0 ]; then
	echo "vm: FAIL: guest script exited ${exitline#FNMM-VM-EXIT rc=}"
	bad=1
fi
taint=$(sed -n 's/^FNMM-VM-TAINT //p' "$log" | tail -n1)
if [ -n "$taint" ] && [ $(( taint & ~(4096 | 8192) )) -ne 0 ]; then
	echo "vm: FAIL: kernel tainted $taint (only O=4096 and E=8192 are expected)"
	bad=1
fi
reports='WARNING:|BUG:|Oops|x86/PAT: .*(invalid|conflicting|failed)|general protection|refcount_t:|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|Call Trace|list_(add|del) corruption|Kernel panic'
if grep -En "$reports" "$log" > "$work/$name.reports"; then
	echo "vm: FAIL: kernel reports in the guest log:"
	head -n 20 "$work/$name.reports"
	bad=1
fi
# Every kernel line about x86 PAT fails the run unless it is on this
# allow-list: a mapping that asks for a memory type it does not get (say
# write-combining over write-back RAM) is only ever reported there.  Each
# entry is an extended regex for a line proven not to come from the module.
pat_allow=(
	# arch/x86/mm/pat/memtype.c __init_cache_modes(): the PAT layout
	# ("x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT"),
	# printed once while the kernel boots (about 0.01 s), before init
	# runs and so before the module can be loaded.
	'^\[ *[0-9]+\.[0-9]+\] x86/PAT: Configuration \[0-7\]: '
)
pat=$(grep -E '^\[ *[0-9]+\.[0-9]+\] .*x86/PAT' "$log" || true)
for re in "${pat_allow[@]}"; do
	pat=$(printf '%s\n' "$pat" | grep -Ev -- "$re" || true)
done
if [ -n "$pat" ]; then
	echo "vm: FAIL: x86/PAT lines in the guest log (not on run.sh's allow-list):"
	printf '%s\n' "$pat" | head -n 20
	bad=1
fi
[ $bad -eq 0 ] || failed=$((failed + 1))
echo "vm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
