# freenos-mm demo: load the module on the region reserved at boot
# (memmap=64M$0x30000000), show it, run "fnmm demo", unload.
. /fnmm/lib.sh

echo "# /proc/iomem before insmod:"
grep -i '30000000' /proc/iomem
check "insmod freenos-mm.ko base=0x30000000 size=0x4000000" \
	insmod $FNMM_KO base=0x30000000 size=0x4000000
echo "# /proc/iomem after insmod:"
grep -i '30000000' /proc/iomem
echo "# fnmm info:"
fnmm info
check "fnmm demo" fnmm demo
echo "# fnmm stat:"
fnmm stat
echo "# fnmm map while fnmm holds 5 MiB (split) and 64 KiB (bit):"
fnmm alloc 5M --hold-seconds 3 < /dev/null > /dev/null &
fnmm alloc --bit 64K --hold-seconds 3 < /dev/null > /dev/null &
sleep 1
fnmm map
wait
check "rmmod freenos-mm" rmmod freenos-mm
fnmm_finish
