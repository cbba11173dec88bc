# freenos-mm's LD_PRELOAD library (tools/lib/fnmm_malloc.c): unmodified
# programs from the host's root (shared over 9p, run chrooted) get their
# heap from /dev/freenos-mm.  Each runs once without the library (the
# reference) and once with it: the same output, no warning, the device
# holding their memory while they run (sampled while each waits for the
# rest of its input) and nothing once they exit.  Then a program that
# needs more than the region (xz -9): one warning, the rest from glibc,
# the same output; and a missing device: one warning, the same output.
. /fnmm/lib.sh

check "host root mounted" sh -c \
	'[ -x /host/usr/bin/sort ] && [ -x /host/usr/bin/python3 ] && [ -x /host/usr/bin/xz ] && [ -x /host/bin/bash ]'
for d in proc sys dev; do mount --rbind /$d /host/$d; done
mount -t tmpfs tmpfs /host/tmp
mount --bind /fnmm /host/mnt
check "insmod" insmod $FNMM_KO base=0x30000000 size=0x4000000
lib=/mnt/bin/libfnmm-malloc.so
check "the library is there" [ -f /host$lib ]

raw() { /fnmm/bin/fnmm stat --raw | awk -v k="$1" '$1 == k { print $2 }'; }
base_ctx=$(raw contexts)
base_used=$(raw split_used)
echo "# before: contexts $base_ctx, split used $base_used"

# Inputs, made in the guest (in /host/tmp, the chroot's /tmp).
awk 'BEGIN { x = 1; for (i = 0; i < 400000; i++) {
	x = (x * 1103515245 + 12345) % 2147483648; print x, i } }' \
	> /host/tmp/lines
echo "# input: $(wc -c < /host/tmp/lines) bytes, $(wc -l < /host/tmp/lines) lines"
head -c 1500000 /host/tmp/lines > /host/tmp/text

# prog NAME MIN_BYTES INPUT CMD...: the reference run, then the run with
# the library with stdin held open after INPUT until the device is seen
# holding MIN_BYTES more than before in one more context.
prog() {
	name=$1 min=$2 in=$3; shift 3
	echo "# ---- $name: $*"
	chroot /host "$@" < /host/tmp/$in > /host/tmp/$name.ref 2>&1
	rm -f /host/tmp/go
	mkfifo /host/tmp/go
	{ cat /host/tmp/$in; read x < /host/tmp/go; } |
		LD_PRELOAD=$lib chroot /host "$@" > /host/tmp/$name.out \
		2> /host/tmp/$name.err &
	pid=$!
	seen=0 i=0 ctx=0 used=0
	while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do
		ctx=$(raw contexts) used=$(raw split_used)
		if [ "$ctx" -gt "$base_ctx" ] &&
		   [ "$used" -ge $((base_used + min)) ]; then
			seen=1
			break
		fi
		sleep 0.2
		i=$((i + 1))
	done
	echo "# $name: while it runs: contexts $ctx, split used $used"
	echo > /host/tmp/go
	wait $pid
	rc=$?
	check "$name: with the library: exit 0" [ $rc -eq 0 ]
	if [ $seen -eq 1 ]; then
		ok "$name: the device holds its heap while it runs (>= $min bytes more)"
	else
		notok "$name: the device never held $min bytes more for it"
	fi
	if cmp -s /host/tmp/$name.ref /host/tmp/$name.out; then
		ok "$name: the same output as without the library ($(wc -c < /host/tmp/$name.out) bytes)"
	else
		notok "$name: output differs from the reference"
		head -c 300 /host/tmp/$name.out
	fi
	if [ -s /host/tmp/$name.err ]; then
		notok "$name: stderr not empty:"
		head -c 300 /host/tmp/$name.err
	else
		ok "$name: no warning (the device served it)"
	fi
	ctx=$(raw contexts) used=$(raw split_used)
	check "$name: after it exits, contexts $ctx and split used $used as before" \
		[ "$ctx" -eq "$base_ctx" -a "$used" -eq "$base_used" ]
}

prog sort 1000000 lines /usr/bin/sort -n
prog sort-threads 1000000 lines /usr/bin/sort --parallel=2 -S 8M -k2,2n
# pymalloc takes arenas with mmap; PYTHONMALLOC=malloc sends every object
# through malloc.
prog python 4000000 text /usr/bin/env PYTHONMALLOC=malloc /usr/bin/python3 -c '
import sys
d = {i: str(i) * 3 for i in range(60000)}
s = sys.stdin.read()
words = {}
for w in s.split():
    words[w] = words.get(w, 0) + 1
print(len(d), sum(map(len, d.values())), len(words), sorted(words.items())[:3])'
prog xz 4000000 text /usr/bin/xz -3 -c
prog xz-decompress 1000 text /bin/sh -c '/usr/bin/xz -3 -c | /usr/bin/xz -d -c | /usr/bin/md5sum'
# bash forks for each command substitution: each child copies the heap
# (the device's shared pages) and must not touch the parent's.
prog bash-fork 100000 text /bin/bash -c '
a=(); for i in $(seq 150); do a+=("$(echo "x$i")"); done
n=$(wc -c); echo "${#a[@]} ${a[0]} ${a[149]} $n"'

# one_warning DESC PATTERN FILE: FILE holds one line, and it matches.
one_warning() {
	cat "$3"
	check "$1" [ "$(grep -c "$2" "$3")" -eq 1 -a "$(wc -l < "$3")" -eq 1 ]
}

# More than the region: the heap's share, then glibc's, one warning.
echo "# ---- xz -9 (needs more than the 64 MiB region)"
chroot /host /usr/bin/xz -9 -c < /host/tmp/text > /host/tmp/xz9.ref
LD_PRELOAD=$lib chroot /host /usr/bin/xz -9 -c < /host/tmp/text \
	> /host/tmp/xz9.out 2> /host/tmp/xz9.err
check "xz -9: exit 0" [ $? -eq 0 ]
check "xz -9: the same output" cmp -s /host/tmp/xz9.ref /host/tmp/xz9.out
one_warning "xz -9: one warning: the device is full" \
	'fnmm-malloc: the device is full' /host/tmp/xz9.err
check "xz -9: nothing held after" \
	[ "$(raw contexts)" -eq "$base_ctx" -a "$(raw split_used)" -eq "$base_used" ]

# No device: glibc's heap, one warning.
echo "# ---- no device"
FNMM_MALLOC_DEVICE=/dev/nonexistent LD_PRELOAD=$lib chroot /host \
	/usr/bin/sort -n < /host/tmp/lines > /host/tmp/nodev.out \
	2> /host/tmp/nodev.err
check "no device: the same output" cmp -s /host/tmp/sort.ref /host/tmp/nodev.out
one_warning "no device: one warning" \
	'fnmm-malloc: /dev/nonexistent: No such file' /host/tmp/nodev.err

check "debugfs check ok" \
	sh -c '[ "$(head -n1 /sys/kernel/debug/freenos-mm/check)" = ok ]'
umount /host/mnt
check "rmmod" rmmod freenos-mm
fnmm_finish
