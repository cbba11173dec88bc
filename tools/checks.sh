#!/usr/bin/env bash
# Kernel-style checks of module/, include/ and kunit/, one TAP line each:
# checkpatch.pl (from the kernel source the KUnit run unpacks), kernel-doc
# on every file, a W=1 build and a sparse (C=2) build against Debian's
# headers without warnings, and modinfo describing every parameter; the
# KUnit run's KCSAN filter on sample reports.
# Installs what is missing.  Prints "checks: N passed, M failed".
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
src=$cache/linux-source-6.1
cd "$repo"
passed=0 failed=0
t() {	# t DESC STATUS [DETAIL-FILE]
	if [ "$2" -eq 0 ]; then
		echo "ok - $1"; passed=$((passed + 1))
	else
		echo "not ok - $1"; failed=$((failed + 1))
		[ -n "${3:-}" ] && sed 's/^/#   /' "$3" | head -n 30
	fi
}
need=()
for p in sparse linux-source-6.1 xz-utils dkms pkg-config; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${need[@]}" >/dev/null
fi
kver=$(tools/vm/deps.sh)
kdir=/lib/modules/$kver/build
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# checkpatch.pl and kernel-doc from the unpacked source (tools/kunit/run.sh
# unpacks it; do it here too if it has not run).
if [ ! -f "$src/.fnmm-unpacked" ]; then
	mkdir -p "$cache" && rm -rf "$src" &&
		tar -C "$cache" -xf /usr/src/linux-source-6.1.tar.xz &&
		touch "$src/.fnmm-unpacked"
fi
files=$(ls module/*.c module/*.h include/*.h include/uapi/linux/*.h kunit/*.c)
for f in $files; do
	"$src/scripts/checkpatch.pl" --no-tree --quiet --terse \
		--ignore SPDX_LICENSE_TAG -f "$f" > "$log" 2>&1
	grep -qE '(ERROR|WARNING):' "$log"
	t "checkpatch: $f" $(( $? == 0 )) "$log"
done
for f in $files; do
	"$src/scripts/kernel-doc" -none "$f" > "$log" 2>&1
	[ -s "$log" ]
	t "kernel-doc: $f" $(( $? == 0 )) "$log"
done

touch module/*.c
make -C "$kdir" M="$repo" W=1 modules > "$log" 2>&1
st=$?
grep -v 'Skipping BTF' "$log" | grep -qE 'warning:|error:'
t "W=1 build without warnings" $(( st != 0 || $? == 0 )) "$log"
make -C "$kdir" M="$repo" C=2 modules > "$log" 2>&1
st=$?
grep -v 'Skipping BTF' "$log" | grep -qE 'warning:|error:'
t "sparse (C=2) without warnings" $(( st != 0 || $? == 0 )) "$log"

n=$(modinfo -F parm module/freenos-mm.ko | grep -cE '^[a-z_]+:[A-Z].*\(([a-z]+)\)$')
modinfo -F parm module/freenos-mm.ko > "$log"
t "modinfo: 10 parameters, each described and typed" $(( n != 10 )) "$log"

# make install into a staging root, then build a program against it
# through pkg-config.
stage=$(mktemp -d)
make install DESTDIR="$stage" KVER="$kver" > "$log" 2>&1
t "make install (staged)" $? "$log"
for f in lib/modules/$kver/extra/module/freenos-mm.ko \
	 usr/local/include/linux/freenos-mm.h usr/local/include/libfnmm.h \
	 usr/local/lib/libfnmm.a usr/local/lib/pkgconfig/libfnmm.pc \
	 usr/local/bin/fnmm etc/udev/rules.d/60-freenos-mm.rules; do
	[ -f "$stage/$f" ]
	t "installed $f" $?
done
printf '#include <libfnmm.h>\nint main(void) { return fnmm_open() >= 0 ? 0 : 1; }\n' > "$stage/use.c"
export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_PATH="$stage/usr/local/lib/pkgconfig"
gcc -Wall -Werror -o "$stage/use" "$stage/use.c" $(pkg-config --cflags --libs libfnmm) > "$log" 2>&1
t "a program builds against the installed header and libfnmm (pkg-config)" $? "$log"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
rm -rf "$stage"

# DKMS builds the module from the tree for the target kernel.
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
dsrc=/usr/src/freenos-mm-$ver
dkms remove "freenos-mm/$ver" --all > /dev/null 2>&1
rm -rf "$dsrc" && mkdir -p "$dsrc" &&
	tar -C "$repo" --exclude=.git --exclude=tools/bin -cf - . | tar -C "$dsrc" -xf - &&
	make -s -C "$dsrc" clean > /dev/null 2>&1
{ dkms add "freenos-mm/$ver" && dkms build "freenos-mm/$ver" -k "$kver"; } > "$log" 2>&1
st=$?
[ $st -eq 0 ] && [ -f "/var/lib/dkms/freenos-mm/$ver/$kver/x86_64/module/freenos-mm.ko" ]
t "dkms builds freenos-mm/$ver for $kver" $? "$log"
dkms remove "freenos-mm/$ver" --all > /dev/null 2>&1
rm -rf "$dsrc"

# The KUnit run's KCSAN filter (tools/kunit/kcsan-filter.awk): a report
# counts when one of our functions is in a racing access's stack, and not
# when ours is only the context an interrupt came in on (seen in CI: the
# PS/2 mouse's interrupt racing its driver's probe, on top of a Pool
# test).
kcsan=$(mktemp -d)
printf '%s\n' pool_allocate fnmm_allocate exhaust_and_recover pool_release \
	> "$kcsan/ours"
kcsan_report() {	# kcsan_report FUNC-OF-THE-WRITE FUNC-IT-INTERRUPTED
	cat <<EOR
    ok 1 split
==================================================================
BUG: KCSAN: data-race in $1 / ps2_do_sendbyte

write to 0xffff8cef411b38f8 of 8 bytes by interrupt on cpu 1:
 $1+0x9e/0x180
 psmouse_interrupt+0x58a/0x680
 i8042_interrupt+0x1dc/0x360
 handle_edge_irq+0x115/0x3f0
 common_interrupt+0x75/0xa0
 asm_common_interrupt+0x22/0x40
 _raw_spin_unlock+0x12/0x40
 $2+0x294/0xad0
 fnmm_allocate+0x63/0x90
 kthread+0x15f/0x190

read to 0xffff8cef411b38f8 of 8 bytes by task 27 on cpu 0:
 ps2_do_sendbyte+0x16e/0x2e0
 kthread+0x15f/0x190

Reported by Kernel Concurrency Sanitizer on:
==================================================================
    ok 2 bit
EOR
}
kcsan_filtered() {	# kcsan_filtered FUNC-OF-THE-WRITE FUNC-IT-INTERRUPTED
	kcsan_report "$1" "$2" > "$kcsan/log"
	awk -f tools/kunit/kcsan-filter.awk "$kcsan/ours" "$kcsan/log" \
		2> "$kcsan/err" > "$kcsan/out"
}
kcsan_filtered ps2_handle_ack pool_allocate
! grep -q KCSAN "$kcsan/out" && grep -q 'ok 1 split' "$kcsan/out" &&
	grep -q 'ok 2 bit' "$kcsan/out" && grep -q 'not ours' "$kcsan/err"
t "kcsan filter: a race of an interrupt's own, on top of our code, is dropped" $? "$kcsan/out"
kcsan_filtered pool_release kthread
grep -q 'BUG: KCSAN: data-race in pool_release' "$kcsan/out"
t "kcsan filter: a race in our code is kept" $? "$kcsan/out"
kcsan_filtered pool_release pool_allocate
grep -q 'BUG: KCSAN: data-race in pool_release' "$kcsan/out"
t "kcsan filter: a race of our code in an interrupt, on top of ours, is kept" $? "$kcsan/out"
kcsan_filtered ps2_handle_ack kthread
! grep -q KCSAN "$kcsan/out" && grep -q 'ok 2 bit' "$kcsan/out"
t "kcsan filter: a race with none of our frames is dropped" $? "$kcsan/out"
rm -rf "$kcsan"

echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
