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
run_tap test_badinput test_badinput
run_tap test_lifetime test_lifetime
run_tap test_priv test_priv
run_tap test_meta test_meta
check "fnmm demo" fnmm demo

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
check "rmmod freenos-mm" rmmod freenos-mm
check "debugfs directory removed" sh -c "[ ! -e $D ]"
check "the region is released in /proc/iomem" \
	sh -c '! grep -q freenos-mm /proc/iomem'
check "the device node is gone" sh -c '[ ! -e /dev/freenos-mm ]'

# Without a boot reservation: take 16 MiB from the page allocator.
check "insmod take=16M" insmod $FNMM_KO take=0x1000000
run_tap test_vmctl-take test_vmctl
check "rmmod after take" rmmod freenos-mm
check "reload: mode=0666 expose_phys=1" \
	insmod $FNMM_KO base=$base size=$size mode=0666 expose_phys=1
check "/dev/freenos-mm is mode 0666" \
	sh -c '[ "$(stat -c %a /dev/freenos-mm)" = 666 ]'
run_tap test_priv-exposed test_priv
check "final rmmod" rmmod freenos-mm

fnmm_finish
