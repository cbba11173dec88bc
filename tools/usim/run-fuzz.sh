#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fuzz module/{alloc,split,bit,pool}.c in user space with libFuzzer
# (tools/usim/fuzz_alloc.c, ASan + UBSan) for a fixed time and seed.
#
#   tools/usim/run-fuzz.sh [--seconds N] [--seed N] [--avoid LIST|known]
#                          [--coverage]
#   tools/usim/run-fuzz.sh --self-test [--seconds N] [--seed N]
#
# --seconds N   time budget (libFuzzer -max_total_time), default 60
# --seed N      libFuzzer -seed, default 1 (printed)
# --avoid LIST  comma-separated known module bugs the target must not
#               provoke (USIM_FUZZ_AVOID; "known" = all of $KNOWN_BUGS), to
#               fuzz the rest while they are open; default: none
# --coverage    afterwards, replay the corpus in a coverage build and print
#               the line/branch coverage of the four module files
# --self-test   build with -DFNMM_USIM_BREAK (the shim's bitmap_clear()
#               clears one bit too few), fuzz from an empty corpus, and pass
#               only if a crash is found within the budget that the unbroken
#               build does not reproduce; known bugs are avoided
#
# Installs clang (and its libFuzzer runtime) with apt-get if missing.  The
# corpus is kept in ${FNMM_CACHE:-~/.cache/freenos-mm}/usim-corpus, crash
# inputs in .../usim-artifacts, libFuzzer's output in .../usim-fuzz.log.
# Prints figures as "# " lines and ends with
#   usim-fuzz: 1 passed, 0 failed            (nothing found)
#   usim-fuzz: 0 passed, 1 failed            (a crash; its input is printed)
# or, for --self-test, "usim-fuzz-selftest: N passed, M failed".
set -euo pipefail

# Module bugs found by this fuzzer, now fixed (see README.md); --avoid
# still knows their names:
#   pool-tail-page  Pool over a parent whose size is not a page multiple:
#                   release/alloc_size of an address in the last, partial
#                   page reads past slabs[] (ZERO_SIZE_PTR if < 1 page)
#   pool-largest    Pool over a parent with a sub-page granule: largest()
#                   promises a page-sized class when the parent has a free
#                   page's worth of chunks but no page-aligned free page
KNOWN_BUGS=pool-tail-page,pool-largest

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${FNMM_CACHE:-$HOME/.cache/freenos-mm}
seconds=60
seed=1
avoid=
selftest=0
coverage=0

usage() {
	sed -n '4,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=${2:?}; shift 2 ;;
	--seed) seed=${2:?}; shift 2 ;;
	--avoid) avoid=${2:?}; shift 2 ;;
	--coverage) coverage=1; shift ;;
	--self-test) selftest=1; shift ;;
	-h|--help) usage ;;
	*) echo "run-fuzz: unknown option $1" >&2; usage ;;
	esac
done
[ "$avoid" = known ] && avoid=$KNOWN_BUGS
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "run-fuzz: bad --seconds" >&2; exit 2; }
[[ $seed =~ ^[0-9]+$ ]] || { echo "run-fuzz: bad --seed" >&2; exit 2; }

# ---- dependencies --------------------------------------------------------
need=()
for p in clang make; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ "$coverage" = 1 ] && ! command -v llvm-cov >/dev/null && need+=(llvm)
apt_install() {
	echo "run-fuzz: installing $*" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}
[ ${#need[@]} -gt 0 ] && apt_install "${need[@]}"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
	>"$probe/t.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/t" "$probe/t.c" \
	>/dev/null 2>&1; then
	# libFuzzer's runtime is only a Recommends of Debian's clang.
	apt_install "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
fi

# ---- build ---------------------------------------------------------------
build() {
	if ! make -C "$here" "$@" >"$probe/build.log" 2>&1; then
		cat "$probe/build.log" >&2
		echo "run-fuzz: build failed (make $*)" >&2
		exit 1
	fi
}

mkdir -p "$cache"
log=$cache/usim-fuzz.log
artifacts=$cache/usim-artifacts
mkdir -p "$artifacts"

# Run libFuzzer on $1 (binary) with corpus $2; sets rc, elapsed, crash.
fuzz() {
	local bin=$1 corpus=$2 t0 t1
	mkdir -p "$corpus"
	echo "# libFuzzer: $(basename "$bin") -seed=$seed -max_total_time=$seconds" \
		"corpus $corpus${avoid:+ avoid=$avoid}"
	rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* \
		"$artifacts"/oom-*
	t0=$(date +%s.%N)
	set +e
	USIM_FUZZ_AVOID=$avoid ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0} \
		"$bin" -seed="$seed" -max_total_time="$seconds" -max_len=4096 \
		-timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$corpus" "$here/known" >"$log" 2>&1
	rc=$?
	set -e
	t1=$(date +%s.%N)
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
}

# The "# " figures of the last run.
figures() {
	local corpus=$1 last execs eps
	last=$(grep -E '^#[0-9]+[[:space:]]' "$log" | grep -E 'cov: ' | tail -1 || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
	echo "# time: ${elapsed} s (budget $seconds s), seed $seed"
	echo "# executions: ${execs:-?}"
	echo "# exec/s: ${eps:-?}"
	echo "# coverage: $(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last") edges," \
		"$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last") features"
	echo "# corpus: $(find "$corpus" -type f | wc -l) inputs," \
		"$(du -sb "$corpus" | cut -f1) bytes ($corpus)"
	echo "# new units this run: $(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)," \
		"peak rss $(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1) MB"
}

report_crash() {
	echo "# crash input: ${crash:-(none written)}"
	grep -E 'usim-fuzz: VIOLATION|usim: (BUG|WARNING)|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|^SUMMARY' \
		"$log" | head -5 | sed 's/^/# /'
	if [ -n "$crash" ]; then
		echo "# reproduce: $1 $crash"
		[ "$selftest" = 1 ] ||
			echo "# trace it:  make -C tools/usim && USIM_FUZZ_AVOID=$avoid tools/usim/out/gcc/replay --trace $crash"
	fi
	echo "# libFuzzer output: $log"
}

# ---- self-test -----------------------------------------------------------
if [ "$selftest" = 1 ]; then
	[ -n "$avoid" ] || avoid=$KNOWN_BUGS
	build fuzz-break
	build fuzz
	corpus=$cache/usim-selftest-corpus
	rm -rf "$corpus"
	echo "# self-test: shim built with -DFNMM_USIM_BREAK (bitmap_clear clears one bit too few)"
	fuzz "$here/out/fuzz-break/fuzz_alloc" "$corpus"
	figures "$corpus"
	ok=0
	if [ "$rc" != 0 ] && [ -n "$crash" ] && [ -f "$crash" ]; then
		report_crash "$here/out/fuzz-break/fuzz_alloc"
		if USIM_FUZZ_AVOID=$avoid "$here/out/fuzz/fuzz_alloc" "$crash" \
			>"$probe/check.log" 2>&1; then
			echo "# found in ${elapsed} s; the unbroken build passes the same input: the break was caught"
			ok=1
		else
			echo "# the unbroken build fails on that input too: not the break's doing"
			grep -E 'VIOLATION|ERROR|SUMMARY' "$probe/check.log" | head -3 | sed 's/^/# /'
		fi
	else
		echo "# the broken build ran ${seconds} s without a crash (rc $rc)"
	fi
	rm -rf "$corpus"
	echo "usim-fuzz-selftest: $ok passed, $((1 - ok)) failed"
	[ "$ok" = 1 ]
	exit
fi

# ---- fuzz ----------------------------------------------------------------
build fuzz
corpus=$cache/usim-corpus
fuzz "$here/out/fuzz/fuzz_alloc" "$corpus"
figures "$corpus"
if [ "$rc" = 0 ]; then
	passed=1
else
	passed=0
	report_crash "$here/out/fuzz/fuzz_alloc"
fi

if [ "$coverage" = 1 ]; then
	build CONFIG=cov replay
	rm -f "$probe"/*.profraw
	if USIM_FUZZ_AVOID=$avoid LLVM_PROFILE_FILE="$probe/%p.profraw" \
		"$here/out/cov/replay" "$corpus" >/dev/null 2>"$probe/cov.err"; then
		llvm-profdata merge -sparse -o "$probe/all.profdata" "$probe"/*.profraw
		llvm-cov report "$here/out/cov/replay" \
			-instr-profile="$probe/all.profdata" >"$probe/cov.txt"
		# Filename Regions Missed Cover Functions Missed Executed
		#   Lines Missed Cover Branches Missed Cover
		awk '$1 ~ /module\/(alloc|split|bit|pool)\.c$/ {
			n = split($1, p, "/")
			printf "# coverage of module/%-8s lines %7s  branches %7s\n",
				p[n], $10, $13
			l += $8; lm += $9; b += $11; bm += $12 }
		END { if (l) printf "# coverage of the 4 files:    lines %6.2f%%  branches %6.2f%%\n",
				100 * (l - lm) / l, 100 * (b - bm) / b }' \
			"$probe/cov.txt"
	else
		echo "# coverage: the corpus replay failed:"
		grep -E 'VIOLATION|ERROR|SUMMARY' "$probe/cov.err" | head -3 | sed 's/^/# /'
	fi
fi

echo "usim-fuzz: $passed passed, $((1 - passed)) failed"
[ "$passed" = 1 ]
