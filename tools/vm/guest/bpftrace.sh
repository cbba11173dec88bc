# freenos-mm bpftrace tools: run each script of tools/bpftrace against a
# workload in the guest, through the host's root shared over 9p (bpftrace
# and its libraries come from the host), and check what it printed.
. /fnmm/lib.sh

check "host root mounted" sh -c '[ -x /host/usr/bin/bpftrace ]'
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
for d in proc sys dev; do mount --rbind /$d /host/$d; done
mount -t tmpfs tmpfs /host/tmp
mount --bind /fnmm /host/mnt
check "insmod" insmod $FNMM_KO base=0x30000000 size=0x4000000
check "tracepoints registered" \
	sh -c '[ -d /sys/kernel/tracing/events/fnmm/fnmm_alloc ]'

# A workload that allocates from every allocator, maps, looks up, fails.
workload() {
	/fnmm/bin/test_vmctl > /tmp/wl.out 2>&1
	echo "# workload: test_vmctl $(grep -c "^ok" /tmp/wl.out) ok, $(grep -c "^not ok" /tmp/wl.out) not ok"
	/fnmm/bin/fnmm alloc 3M --hold-seconds 0 < /dev/null > /dev/null
	/fnmm/bin/fnmm alloc --bit 64K --hold-seconds 0 < /dev/null > /dev/null
	/fnmm/bin/fnmm alloc --pool 100 --hold-seconds 0 < /dev/null > /dev/null
	/fnmm/bin/test_bubble > /dev/null 2>&1	# Bubble arenas and objects
	/fnmm/bin/fnmm alloc 1G --hold-seconds 0 < /dev/null > /dev/null 2>&1	# E2BIG
	/fnmm/bin/fnmm alloc 60M --hold-seconds 0 < /dev/null > /dev/null 2>&1	# ENOMEM
	# pinned.bt's run only: a pipe holds 64 KiB for 1 s after release
	# (bounded: a stall there must not hang the whole run).
	[ "$name" != pinned ] || timeout 60 /fnmm/bin/test_gup hold 1
	sleep 2
}

# stop_bt: SIGINT to bpftrace ($pid), which prints its maps and exits.
# A background job of a non-interactive shell starts with SIGINT
# ignored, and bpftrace catches it only once it has set up its handler:
# so the signal goes again every 2 s while it runs, for at most 60 s,
# then SIGKILL and a failure.
bt_alive() {
	[ -d /proc/$pid ] && ! grep -q '^State:[[:space:]]*Z' /proc/$pid/status 2>/dev/null
}
stop_bt() {
	echo "# $name.bt: $(grep -E '^Sig(Ign|Cgt)' /proc/$pid/status 2>/dev/null | tr '\n\t' '  ')"
	j=0
	while [ $j -lt 30 ] && bt_alive; do
		kill -INT $pid 2>/dev/null
		k=0
		while [ $k -lt 20 ] && bt_alive; do
			sleep 0.1; k=$((k + 1))
		done
		j=$((j + 1))
	done
	if bt_alive; then
		notok "$name.bt: exits on SIGINT (killed after $j tries)"
		kill -KILL $pid 2>/dev/null
	elif [ $j -gt 1 ]; then
		echo "# $name.bt: exited after $j SIGINTs"
	fi
	wait $pid
}

# run_bt NAME PATTERN...: trace the workload with NAME.bt; each PATTERN
# (an extended regex) must appear in its output.
run_bt() {
	name=$1; shift
	out=/tmp/$name.out
	chroot /host /usr/bin/bpftrace /mnt/bpftrace/$name.bt > $out 2>&1 &
	pid=$!
	# Attached and running: BEGIN's line ("fnmm NAME: tracing ...") is
	# printed once every probe is attached.
	i=0
	while ! grep -q "^fnmm $name: tracing" $out && [ $i -lt 240 ]; do
		sleep 1; i=$((i + 1))
	done
	if ! grep -q "^fnmm $name: tracing" $out; then
		cat $out
		notok "$name.bt: attached"
		stop_bt
		return
	fi
	ok "$name.bt: attached after ${i}s ($(grep '^Attaching' $out))"
	workload
	stop_bt
	echo "# ---- $name.bt output:"
	sed 's/^/#   /' $out | grep -av '^#   $' | head -n 40
	for p in "$@"; do
		if grep -aqE "$p" $out; then ok "$name.bt: prints /$p/"
		else notok "$name.bt: prints /$p/"; fi
	done
	if grep -aE '^@[a-z_]+\[' $out |
	   grep -avqE '^@[a-z_]+\[(split|bit|pool|bubble|[0-9]+)(, -?[0-9]+)?\]: '; then
		notok "$name.bt: every map key is an allocator or a pid"
	else
		ok "$name.bt: every map key is an allocator or a pid"
	fi
}

run_bt alloc-latency '^@ns\[split\]:' '^@ns\[bit\]:' '^@ns\[pool\]:' \
	'^@ns\[bubble\]:' \
	'^\[[0-9]+[KM]?, [0-9]+[KM]?\) +[0-9]+ \|@+'
run_bt top-holders '^--- bytes held by pid' '^@held\[[0-9]+\]: '
run_bt failed-allocs 'split +size 62914560 +align 0 +ret -12 ' '^@failed\[split, -12\]: [0-9]+'
run_bt pinned '^pin +alloc 0 phys 0x[0-9a-f]+ size 65536 by ' \
	'^unpin alloc 0 phys 0x[0-9a-f]+ size 65536 after [0-9]{3,} ms' \
	'^@wait_ms\[0\]:' '^@pinned\[0\]: 65536$' '^@unpinned\[0\]: 65536$'
run_bt fragmentation '^@frag_permille\[split\]: [0-9]+$' \
	'^@largest\[bit\]: [0-9]+' '^@free\[split\]: [0-9]+'

check "debugfs check ok after tracing" \
	sh -c '[ "$(head -n1 /sys/kernel/debug/freenos-mm/check)" = ok ]'
umount /host/mnt
check "rmmod" rmmod freenos-mm
fnmm_finish
