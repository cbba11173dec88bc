#!/usr/bin/env bash
# Run the freenos-mm KUnit suites from Debian's linux-source-6.1.
#
#   tools/kunit/run.sh [plain|sanitizers|x86]...   (default: all three)
#
# plain and sanitizers (KASAN + UBSAN + lockdep) run in UML; x86 runs an
# x86_64 kernel in qemu-system-x86_64 (TCG, 2 CPUs) with KCSAN, lockdep,
# atomic-sleep checks and kmemleak, whose last suite scans for leaks.
# Installs what is missing, unpacks the kernel source into a cache outside
# the repo ($FNMM_CACHE, default ~/.cache/freenos-mm), links this checkout
# in as drivers/misc/freenos-mm, and runs kunit.py with one build dir per
# configuration.  A run fails on any failed or crashed case and, because
# KASAN (outside a test), UBSAN, KCSAN, kmemleak and lockdep only print,
# also on any such report in the kernel log.  The random cases print their
# seed; FNMM_SEED=N repeats a run's.  Prints "kunit: N passed, M failed".
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
src=$cache/linux-source-6.1
jobs=${FNMM_JOBS:-$(nproc)}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(plain sanitizers x86)

pkgs=(linux-source-6.1 flex bison bc make gcc python3 libc6-dev)
# x86_64 in QEMU: objtool needs libelf; qboot comes with qemu-system-data.
[[ " ${configs[*]} " == *" x86 "* ]] && pkgs+=(qemu-system-x86 libelf-dev)
need=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "kunit: installing ${need[*]}"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

mkdir -p "$cache"
if [ ! -f "$src/.fnmm-unpacked" ]; then
	echo "kunit: unpacking linux-source-6.1 into $cache"
	rm -rf "$src"
	tar -C "$cache" -xf /usr/src/linux-source-6.1.tar.xz
	touch "$src/.fnmm-unpacked"
fi
ln -sfn "$repo" "$src/drivers/misc/freenos-mm"
grep -q freenos-mm "$src/drivers/misc/Kconfig" ||
	sed -i '$i source "drivers/misc/freenos-mm/Kconfig"' "$src/drivers/misc/Kconfig"
grep -q freenos-mm "$src/drivers/misc/Makefile" ||
	echo 'obj-$(CONFIG_FREENOS_MM) += freenos-mm/' >> "$src/drivers/misc/Makefile"

# Reports that only print: a log with any of them fails the run.
reports='BUG: KASAN|UBSAN:|BUG: KCSAN:|unreferenced object|suspected memory leaks|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|BUG: sleeping function|WARNING:|BUG:|Oops|general protection|refcount_t:|list_(add|del) corruption'

# UML's PCI-over-virtio warns at boot when no device is attached.
benign='arch/um/drivers/virt-pci.c'

# KCSAN reports count only when one of their stack frames is a function
# of freenos-mm or its suites (see kcsan-filter.awk); the others are
# named in the output ("kunit: not ours: ...") and dropped.
# kcsan_filter LOG SYMS: LOG without the reports none of SYMS is in.
kcsan_filter() {
	awk -f "$repo/tools/kunit/kcsan-filter.awk" "$2" "$1"
}

# The functions of freenos-mm and its suites in build dir $1, one a line.
our_symbols() {
	find "$1/drivers/misc/freenos-mm/" -name '*.o' ! -name '*.mod.o' \
		-exec nm --defined-only {} + 2>/dev/null |
		awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u
}

kargs=()
[ -n "${FNMM_SEED:-}" ] && kargs+=("--kernel_args=fnmm_kunit.seed=$FNMM_SEED")

passed=0 failed=0 rc=0
for cfg in "${configs[@]}"; do
	kcfg=$repo/kunit/$cfg.kunitconfig
	bdir=$cache/build-$cfg
	json=$bdir/results.json
	[ -f "$kcfg" ] || { echo "kunit: no $kcfg" >&2; exit 2; }
	mkdir -p "$bdir"
	case $cfg in
	x86)	# TCG (KVM is not required); multi-threaded, one host thread
		# per CPU.
		arch=(--arch=x86_64 --timeout=900
		      "--qemu_args=-smp 2 -accel tcg,thread=multi") ;;
	*)	arch=(--arch=um --timeout=600) ;;
	esac
	echo "kunit: [$cfg] building and running (build dir $bdir)"
	start=$(date +%s)
	set +e
	(cd "$src" && python3 tools/testing/kunit/kunit.py run "${arch[@]}" \
		--kunitconfig="$kcfg" --build_dir="$bdir" --jobs="$jobs" \
		${kargs[@]+"${kargs[@]}"} --json="$json" 'fnmm*') \
		> "$bdir/kunit.out" 2>&1
	krc=$?
	set -e
	grep -E '^\[..:..:..\] ' "$bdir/kunit.out" | tail -n 120 || true
	echo "kunit: [$cfg] kunit.py exit $krc after $(( $(date +%s) - start )) s"
	[ $krc -eq 0 ] || { rc=1; tail -n 40 "$bdir/kunit.out"; }
	our_symbols "$bdir" > "$bdir/ours.txt"
	if [ -f "$bdir/test.log" ] &&
	   kcsan_filter "$bdir/test.log" "$bdir/ours.txt" | grep -En "$reports" |
	   grep -v "$benign" > "$bdir/reports.txt"; then
		echo "kunit: [$cfg] kernel log has sanitizer/lockdep/warning reports:"
		head -n 20 "$bdir/reports.txt"
		rc=1
	fi
	if [ -f "$json" ]; then
		read -r p f < <(python3 "$repo/tools/kunit/count.py" "$json")
	else
		p=0 f=1
	fi
	echo "kunit: [$cfg] $p passed, $f failed"
	passed=$((passed + p)) failed=$((failed + f))
	# A crash or report not tied to a case still fails the configuration.
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
	fi
done
echo "kunit: $passed passed, $failed failed"
exit $rc
