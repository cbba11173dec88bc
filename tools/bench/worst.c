// SPDX-License-Identifier: GPL-2.0
/*
 * worst: the worst cases of the freenos-mm allocators, timed natively on
 * the user-space build of module/{alloc,runs,split,bit,pool}.c (or of an
 * older commit's sources: worst.sh builds both and interleaves them).
 *
 *   out/worst SIZE_MIB SAMPLES LABEL [percpu=0]
 *
 * With percpu=0 (today's sources only) the Split and the Bit are made
 * with FNMM_NO_PERCPU, as the module parameter makes them: no per-CPU
 * magazines (so a refusal has nothing to drain), every case named
 * "CASE (percpu=0)".
 *
 * A Split and a Bit allocator (page chunks, as the device's) of SIZE_MIB
 * each, filled page by page and then every other page released, so that
 * no two adjacent pages are free; the Bit allocator's top two pages are
 * free together.  Then, SAMPLES times each, one call timed on its own
 * (clock_gettime around it, ~20 ns of it the clock's):
 *
 *   split-refused-2    a 2-page Split request that is refused (-ENOMEM)
 *   split-largest      fnmm_largest() of Split
 *   bit-refused-2      a 2-page Bit request that is refused, with the top
 *                      pair taken first
 *   bit-top-2          a 2-page Bit request that fits only at the top
 *                      (released again, untimed)
 *   sparse-block       one block of a sparse fill as the device makes it
 *                      (module/context.c buf_fill(): longest() or, before
 *                      it, largest(); then an allocation of min(the rest
 *                      rounded down to a power of two, that))
 *   split-pair-0       a 1-page Split allocate + release (the common case,
 *                      on the same fragmented state)
 *   bit-pair-1         a 1-page Bit allocate + release, likewise
 *
 * and the metadata the allocators keep, in bytes (from the kmalloc
 * shim, malloc_usable_size()):
 *
 *   meta-split      a fresh Split of SIZE_MIB
 *   meta-bit        a fresh Bit of SIZE_MIB (page chunks)
 *   meta-pool       a Pool over that Split (each open file has one), empty
 *                   and then holding one object
 *
 * stdout: one line per sample, "LABEL<TAB>SIZE_MIB<TAB>CASE<TAB>NS", and
 * per metadata figure "LABEL<TAB>SIZE_MIB<TAB>meta-...<TAB>BYTES".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "fnmm_alloc.h"
#include "usim_bench.h"

#define SPLIT_BASE	(1ULL << 40)
#define BIT_BASE	(2ULL << 40)

static const char *label;
static unsigned long mib;

static inline unsigned long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

/* The baseline's sources have no create flags. */
#ifndef FNMM_NO_PERCPU
#define FNMM_NO_PERCPU	0
#define fnmm_split_create_flags(b, s, o, f)	fnmm_split_create(b, s, o)
#define fnmm_bit_create_flags(b, s, c, f)	fnmm_bit_create(b, s, c)
#endif

static const char *suffix = "";	/* " (percpu=0)" */

static void out(const char *what, unsigned long long ns)
{
	printf("%s\t%lu\t%s%s\t%llu\n", label, mib, what, suffix, ns);
}


/* Every page allocated, then every other one (from the first) released. */
static void fragment(struct fnmm_allocator *a, u64 base, u64 pages)
{
	u64 i;

	for (i = 0; i < pages; i++)
		if (get(a, PAGE_SIZE) != base + i * PAGE_SIZE)
			die("fill out of order", (long)i);
	for (i = 0; i < pages; i += 2)
		if (fnmm_release(a, base + i * PAGE_SIZE))
			die("release", (long)i);
}

int main(int argc, char **argv)
{
	struct fnmm_allocator *s, *b, *pool;
	unsigned long samples, k;
	long meta;
	u64 size, pages, top;
	unsigned int flags = 0;

	bench_name = "worst";
	if (argc == 5 && !strcmp(argv[4], "percpu=0")) {
		if (!FNMM_NO_PERCPU)
			die("percpu=0: these sources have no FNMM_NO_PERCPU", 0);
		flags = FNMM_NO_PERCPU;
		suffix = " (percpu=0)";
	} else if (argc != 4) {
		die("usage: worst SIZE_MIB SAMPLES LABEL [percpu=0]", argc);
	}
	mib = strtoul(argv[1], NULL, 0);
	samples = strtoul(argv[2], NULL, 0);
	label = argv[3];
	size = (u64)mib << 20;
	pages = size >> PAGE_SHIFT;

	meta = usim_kmalloc_bytes;
	s = fnmm_split_create_flags(SPLIT_BASE, size, 0, flags);
	if (!flags)
		printf("%s\t%lu\tmeta-split\t%ld\n", label, mib,
		       usim_kmalloc_bytes - meta);
	meta = usim_kmalloc_bytes;
	b = fnmm_bit_create_flags(BIT_BASE, size, PAGE_SIZE, flags);
	if (!flags)
		printf("%s\t%lu\tmeta-bit\t%ld\n", label, mib,
		       usim_kmalloc_bytes - meta);
	if (IS_ERR(s) || IS_ERR(b))
		die("create", 0);
	meta = usim_kmalloc_bytes;
	pool = fnmm_pool_create(s, FNMM_POOL_MIN_SHIFT, 11);
	if (IS_ERR(pool))
		die("pool", 0);
	if (!flags)
		printf("%s\t%lu\tmeta-pool-empty\t%ld\n", label, mib,
		       usim_kmalloc_bytes - meta);
	{
		struct fnmm_range r = { .size = 64 };

		if (fnmm_allocate(pool, &r))
			die("pool allocate", 0);
		if (!flags)
			printf("%s\t%lu\tmeta-pool-one\t%ld\n", label, mib,
			       usim_kmalloc_bytes - meta);
		fnmm_release(pool, r.address);
	}
	fnmm_destroy(pool);
	fragment(s, SPLIT_BASE, pages);
	fragment(b, BIT_BASE, pages);
	top = BIT_BASE + size - 2 * PAGE_SIZE;
	if (fnmm_release(b, top + PAGE_SIZE))	/* the top pair: both free */
		die("release top", 0);

	for (k = 0; k < samples; k++) {
		struct fnmm_range r = { .size = 2 * PAGE_SIZE };
		unsigned long long t = now();
		int ret = fnmm_allocate(s, &r);

		out("split-refused-2", now() - t);
		if (ret != -ENOMEM)
			die("split 2 pages not refused", ret);
	}
	for (k = 0; k < samples; k++) {
		unsigned long long t = now();
		u64 l = fnmm_largest(s);

		out("split-largest", now() - t);
		if (l != PAGE_SIZE)
			die("split largest", (long)l);
	}
	for (k = 0; k < samples; k++) {
		struct fnmm_range r = { .size = 2 * PAGE_SIZE };
		unsigned long long t = now();
		int ret = fnmm_allocate(b, &r);

		out("bit-top-2", now() - t);
		if (ret || r.address != top)
			die("bit top pair", ret);
		if (fnmm_release(b, top))
			die("bit release top", 0);
	}
	get(b, 2 * PAGE_SIZE);	/* now no pair is free */
	for (k = 0; k < samples; k++) {
		struct fnmm_range r = { .size = 2 * PAGE_SIZE };
		unsigned long long t = now();
		int ret = fnmm_allocate(b, &r);

		out("bit-refused-2", now() - t);
		if (ret != -ENOMEM)
			die("bit 2 pages not refused", ret);
	}
	if (fnmm_release(b, top))
		die("bit release top", 0);
	for (k = 0; k < samples; k++) {
		u64 left = 256 * PAGE_SIZE, want, l, addr;
		unsigned long long t = now();

#ifdef FNMM_HAVE_LONGEST	/* as context.c's buf_fill() */
		l = fnmm_longest(s);
#else
		l = fnmm_largest(s);
#endif
		want = 1ULL << (63 - __builtin_clzll(left));
		want = want < l ? want : l;
		addr = get(s, want);
		out("sparse-block", now() - t);
		if (fnmm_release(s, addr))
			die("sparse release", 0);
	}
	for (k = 0; k < samples * 50; k++) {
		unsigned long long t = now();
		u64 x = get(s, PAGE_SIZE);

		fnmm_release(s, x);
		out("split-pair-0", now() - t);
	}
	for (k = 0; k < samples * 50; k++) {
		unsigned long long t = now();
		u64 x = get(b, PAGE_SIZE);

		fnmm_release(b, x);
		out("bit-pair-1", now() - t);
	}
	if (fnmm_check(s) || fnmm_check(b))
		die("check", 0);
	fnmm_destroy(s);
	fnmm_destroy(b);
	return 0;
}
