#!/usr/bin/env bash
# Run the freenos-mm KUnit suites in UML, from Debian's linux-source-6.1.
#
#   tools/kunit/run.sh [plain|sanitizers]...   (default: both)
#
# Installs what is missing, unpacks the kernel source into a cache outside
# the repo ($FNMM_CACHE, default ~/.cache/freenos-mm), links this checkout
# in as drivers/misc/freenos-mm, and runs kunit.py with one build dir per
# configuration.  A run fails on any failed or crashed case and, because
# KASAN (outside a test), UBSAN and lockdep only print, also on any such
# report in the kernel log.  Prints "kunit: N passed, M failed".
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
src=$cache/linux-source-6.1
jobs=${FNMM_JOBS:-$(nproc)}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(plain sanitizers)

need=()
for p in linux-source-6.1 flex bison bc make gcc python3 libc6-dev; do
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
reports='BUG: KASAN|UBSAN:|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|BUG: sleeping function|WARNING:|BUG:|Oops|general protection|refcount_t:|list_(add|del) corruption'

benign='arch/um/drivers/virt-pci.c'

passed=0 failed=0 rc=0
for cfg in "${configs[@]}"; do
	kcfg=$repo/kunit/$cfg.kunitconfig
	bdir=$cache/build-$cfg
	json=$bdir/results.json
	[ -f "$kcfg" ] || { echo "kunit: no $kcfg" >&2; exit 2; }
	mkdir -p "$bdir"
	echo "kunit: [$cfg] building and running (build dir $bdir)"
	start=$(date +%s)
	set +e
	(cd "$src" && python3 tools/testing/kunit/kunit.py run --arch=um \
		--kunitconfig="$kcfg" --build_dir="$bdir" --jobs="$jobs" \
		--timeout=600 --json="$json" 'fnmm*') > "$bdir/kunit.out" 2>&1
	krc=$?
	set -e
	grep -E '^\[..:..:..\] ' "$bdir/kunit.out" | tail -n 120 || true
	echo "kunit: [$cfg] kunit.py exit $krc after $(( $(date +%s) - start )) s"
	[ $krc -eq 0 ] || { rc=1; tail -n 40 "$bdir/kunit.out"; }
	# UML's PCI-over-virtio warns at boot when no device is attached.
	if [ -f "$bdir/test.log" ] &&
	   grep -En "$reports" "$bdir/test.log" | grep -v "$benign" > "$bdir/reports.txt"; then
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
