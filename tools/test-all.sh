#!/usr/bin/env bash
# Every freenos-mm test: the host-side unit tests of the user library, the
# test VM (module + user tests in Debian's kernel under QEMU), the
# hardening VM (fuzzer, stress test with kills, rmmod while busy), and the
# KUnit suites in UML, plain and with KASAN/UBSAN/lockdep, and in x86_64
# under QEMU with 2 CPUs, KCSAN, lockdep and kmemleak.  Installs what is
# missing.  The last line is "N passed, M failed" over all of them.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0 failed=0 bad_steps=

# count NAME LOG: add the last "PREFIX: N passed, M failed" of LOG.
count() {
	local line p f
	line=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed$' "$2" | tail -n1)
	if [ -z "$line" ]; then
		echo "== $1: no result line (counted as 1 failure)" | tee -a "$2"
		p=0 f=1
	else
		read -r p f < <(echo "$line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed/\1 \2/')
	fi
	echo "== $1: $p passed, $f failed" | tee -a "$out/$1.log"
	passed=$((passed + p)) failed=$((failed + f))
	[ "$f" -eq 0 ] || bad_steps="$bad_steps $1"
}

step() {
	local name=$1 rc
	shift
	echo "== $name: $*"
	"$@" 2>&1 | tee "$out/$name.log"
	rc=${PIPESTATUS[0]}
	count "$name" "$out/$name.log"
	if [ "$rc" -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed$' "$out/$name.log"; then
		echo "== $name: exit $rc without a counted failure (counted as 1)" |
			tee -a "$out/$name.log"
		failed=$((failed + 1))
		bad_steps="$bad_steps $name"
	fi
}

# Host: the library's unit tests, the heap over anonymous memory and real
# programs under libfnmm-malloc.so over anonymous memory (TAP).
units() {
	local log=$out/units.tap heap=$out/heap.tap pre=$out/preload.tap
	# The build tools and libraries (liburing) come with the VM's.
	tools/vm/deps.sh >/dev/null &&
		make -s -C tools >/dev/null && tools/bin/test_units > "$log"
	local rc=$?
	tools/bin/test_heap anon > "$heap" || rc=1
	tools/tests/test_preload.sh > "$pre" 2>/dev/null || rc=1
	cat "$log" "$heap" "$pre"
	local p f t
	p=$(cat "$log" "$heap" "$pre" | grep -cE '^ok ')
	f=$(cat "$log" "$heap" "$pre" | grep -cE '^not ok ')
	for t in "$log" "$heap" "$pre"; do
		grep -qE '^1\.\.[0-9]+$' "$t" || f=$((f + 1))
	done
	echo "units: $p passed, $f failed"
	return $rc
}

step units units
step vm tools/vm/run.sh tools/vm/guest/test.sh
# Real programs from the host's root under libfnmm-malloc.so (xz -9 and
# its reference need the memory).
step preload env FNMM_VM_MEM=2G tools/vm/run.sh --hostroot --timeout 900 \
	tools/vm/guest/preload.sh
step hardening tools/vm/run.sh tools/vm/guest/hardening.sh
step bpftrace tools/bpftrace/test.sh
step kunit tools/kunit/run.sh plain sanitizers x86
step checks tools/checks.sh
step usim-runs tools/usim/runs-test.sh
step usim-race tools/usim/race-test.sh
step usim-fuzz tools/usim/run-fuzz.sh --seconds 60
step usim-selftest tools/usim/run-fuzz.sh --self-test --seconds 60

# What failed, again at the end: a CI log is often read from its tail.
for name in $bad_steps; do
	echo "== what failed in $name:"
	grep -aE '^(not ok|vm: FAIL)|\[FAILED\]|\bFAIL\b|VIOLATION|reports:| [1-9][0-9]* failed$|no result line|without a counted failure' "$out/$name.log" |
		head -n 20
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
