#!/usr/bin/env bash
# Kernel-style checks of module/, include/ and kunit/, one TAP line each:
# checkpatch.pl (from the kernel source the KUnit run unpacks), kernel-doc
# on every file, a W=1 build and a sparse (C=2) build against Debian's
# headers without warnings, and modinfo describing every parameter.
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
for p in sparse linux-source-6.1 xz-utils; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
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

make -s -C "$kdir" M="$repo" clean >/dev/null 2>&1
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
t "modinfo: 6 parameters, each described and typed" $(( n != 6 )) "$log"

echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
