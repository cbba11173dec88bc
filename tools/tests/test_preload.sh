#!/usr/bin/env bash
# libfnmm-malloc.so on the host, over anonymous memory
# (FNMM_MALLOC_DEVICE=anon; the VM's tools/vm/guest/preload.sh runs it over
# the device): unmodified programs give the same output as without it, say
# nothing on stderr, and their heap was the library's (FNMM_MALLOC_STATS=1:
# runs made, no request sent to glibc).  TAP on stdout.
#
#   tools/tests/test_preload.sh [LIBRARY]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
lib=${1:-$here/../bin/libfnmm-malloc.so}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

tap() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

awk 'BEGIN { x = 1; for (i = 0; i < 300000; i++) {
	x = (x * 1103515245 + 12345) % 2147483648; print x, i } }' > "$tmp/lines"
head -c 2000000 "$tmp/lines" > "$tmp/text"

# run NAME INPUT CMD...
run() {
	local name=$1 in=$2 rc
	shift 2
	"$@" < "$tmp/$in" > "$tmp/$name.ref" 2>&1
	FNMM_MALLOC_DEVICE=anon FNMM_MALLOC_STATS=1 LD_PRELOAD=$lib \
		"$@" < "$tmp/$in" > "$tmp/$name.out" 2> "$tmp/$name.err"
	rc=$?
	cmp -s "$tmp/$name.ref" "$tmp/$name.out"
	tap $? "$name: exit $rc, the same output as without the library"
	# The stats lines (one per process that used it): runs made, and
	# nothing else on stderr.
	grep -v '^fnmm-malloc: pid [0-9]*: ' "$tmp/$name.err" > "$tmp/$name.other"
	! [ -s "$tmp/$name.other" ] &&
		grep -qE ': [1-9][0-9]* runs made, .* 0 requests to glibc$' "$tmp/$name.err"
	tap $? "$name: its heap was the library's, no warning ($(head -n1 "$tmp/$name.err"))"
	[ $rc -eq 0 ] || cat "$tmp/$name.err" "$tmp/$name.other" | head -n5 | sed 's/^/# /'
}

run sort lines sort -n
run sort-parallel lines sort --parallel=2 -S 4M -k2,2n
run python text env PYTHONMALLOC=malloc /usr/bin/python3 -c '
import sys, threading
d = {i: str(i) * 3 for i in range(200000)}
def work(k):
    l = [bytearray(i % 3000) for i in range(20000)]
    d[-k] = sum(map(len, l))
ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
[t.start() for t in ts]; [t.join() for t in ts]
w = {}
for x in sys.stdin.read().split():
    w[x] = w.get(x, 0) + 1
print(len(d), sum(len(v) for v in d.values() if isinstance(v, str)), len(w))'
run xz text xz -6 -c
run xz-threads text xz -T2 -3 -c
run bash-fork text bash -c '
a=(); for i in $(seq 200); do a+=("$(echo "x$i")"); done
echo "${#a[@]} ${a[0]} ${a[199]} $(wc -c)"'

# A second heap in a program whose malloc is the library's: a thread's
# first call on it sets the cache's key, and glibc callocs for that
# (more than 32 keys) through the library, re-entering the heap.
FNMM_MALLOC_DEVICE=anon "$here/../bin/test_heap_reenter" > "$tmp/re.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^ok - ' "$tmp/re.out"
tap $? "re-entered through pthread_setspecific's calloc: exit $rc, $(head -n1 "$tmp/re.out" | cut -c1-90)"

# Misuse through the library aborts, as glibc's does.
FNMM_MALLOC_DEVICE=anon LD_PRELOAD=$lib /usr/bin/python3 -c '
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
p = libc.malloc(48)
libc.free(p)
libc.free(p)' 2> "$tmp/df.err"
rc=$?
[ $rc -eq 134 ] && grep -q 'fnmm_heap: double free' "$tmp/df.err"
tap $? "a double free through the library aborts (exit $rc: $(head -n1 "$tmp/df.err"))"

# No device: glibc's heap, one line.
FNMM_MALLOC_DEVICE=/nonexistent LD_PRELOAD=$lib sort -n < "$tmp/lines" \
	> "$tmp/nodev.out" 2> "$tmp/nodev.err"
cmp -s "$tmp/sort.ref" "$tmp/nodev.out" && [ "$(wc -l < "$tmp/nodev.err")" -eq 1 ] &&
	grep -q '^fnmm-malloc: /nonexistent: No such file or directory; using the system allocator$' "$tmp/nodev.err"
tap $? "no device: the same output, one warning ($(head -n1 "$tmp/nodev.err"))"

echo "1..$n"
[ $failed -eq 0 ]
