// SPDX-License-Identifier: GPL-2.0
/*
 * icount: instructions per allocate + release pair of the freenos-mm
 * allocators, counted by callgrind on the user-space build of
 * module/{alloc,split,bit,pool}.c (tools/usim).
 *
 *   valgrind --tool=callgrind --collect-atstart=no --instr-atstart=no \
 *	--toggle-collect=icount_allocate --toggle-collect=icount_release \
 *	out/icount
 *
 * Every case is one kind of operation on one allocator: a window of live
 * allocations of that kind on top of a fixed background; one measured op
 * releases a pseudo-randomly chosen slot of the window and allocates it
 * again (fnmm_release() + fnmm_allocate(), through the shared interface
 * as the device calls them).  The two calls go through icount_allocate()
 * and icount_release(), which callgrind's --toggle-collect makes the only
 * code whose instructions are collected: the driver's own bookkeeping is
 * not counted, the allocator's (and its shim: spinlock flag, kmalloc on
 * malloc, bit searches) is.  Per case: warm-up ops, CALLGRIND_ZERO_STATS,
 * the measured ops, CALLGRIND_DUMP_STATS_AT(label); icount.sh divides the
 * dump's Ir total by the number of ops.
 *
 * Scenarios: "steady" = a background about half full and fragmented
 * (random sizes allocated to 75 % then random ones released to 50 %),
 * "empty" = a fresh allocator, window of one (the same pair again and
 * again).  Everything is deterministic (fixed-seed xorshift), so the
 * counts are too.
 *
 * stdout: a TSV manifest, one row per case (label, allocator, case,
 * scenario, ops, fill % when measured, largest free bytes), after "# "
 * comment lines.  Outside valgrind the client requests do nothing and
 * the program is a self-check of the same sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>
#include <linux/err.h>
#include <linux/mm.h>
#include "fnmm_alloc.h"

#define OPS		10000
#define WARMUP		2000
#define MAX_LIVE	65536

#define SPLIT_BASE	0x40000000ULL
#define SPLIT_SIZE	(64ULL << 20)
#define BIT_BASE	0x50000000ULL
#define BIT_SIZE	(8ULL << 20)
#define POOL_SPLIT_BASE	0x60000000ULL
#define POOL_SPLIT_SIZE	(16ULL << 20)

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64: deterministic, so are the counts. */
static unsigned long long rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "icount: %s: error %d\n", what, err);
	exit(1);
}

/* The two measured calls: callgrind collects only inside these. */
static __attribute__((noinline, noipa))
int icount_allocate(struct fnmm_allocator *a, struct fnmm_range *r)
{
	return fnmm_allocate(a, r);
}

static __attribute__((noinline, noipa))
int icount_release(struct fnmm_allocator *a, u64 addr)
{
	return fnmm_release(a, addr);
}

/* Unmeasured allocation of @size bytes: the address. */
static u64 get(struct fnmm_allocator *a, u64 size)
{
	struct fnmm_range r = { .size = size };
	int ret = fnmm_allocate(a, &r);

	if (ret)
		die("background allocate", ret);
	return r.address;
}

/*
 * A background about half full: allocations of sizes from @pick until
 * less than a quarter is free, then random ones released until at least
 * half is.  The live addresses go to @live (returns how many).
 */
static unsigned int background(struct fnmm_allocator *a, u64 (*pick)(void),
			       u64 *live)
{
	u64 size = fnmm_size(a);
	unsigned int n = 0;

	while (fnmm_available(a) * 4 > size && n < MAX_LIVE) {
		struct fnmm_range r = { .size = pick() };

		if (fnmm_allocate(a, &r))
			continue;	/* no room for this size: try another */
		live[n++] = r.address;
	}
	while (fnmm_available(a) * 2 < size) {
		unsigned int i = rnd() % n;
		int ret = fnmm_release(a, live[i]);

		if (ret)
			die("background release", ret);
		live[i] = live[--n];
	}
	return n;
}

static void drop(struct fnmm_allocator *a, u64 *live, unsigned int n)
{
	while (n--) {
		int ret = fnmm_release(a, live[n]);

		if (ret)
			die("release", ret);
	}
}

/* 1..512 pages, log-uniform over the orders 0..9. */
static u64 pick_split(void)
{
	unsigned int order = rnd() % 10;
	u64 lo = order ? (1ULL << (order - 1)) + 1 : 1;

	return (lo + rnd() % ((1ULL << order) - lo + 1)) << PAGE_SHIFT;
}

/* 1..64 chunks (pages). */
static u64 pick_bit(void)
{
	return (1 + rnd() % 64) << PAGE_SHIFT;
}

/* 1..2048 bytes, log-uniform over the classes 8 B..2 KiB. */
static u64 pick_pool(void)
{
	unsigned int shift = 3 + rnd() % 9;

	return 1 + rnd() % (1ULL << shift);
}

/*
 * One case: @window live allocations of @size bytes, then @ops times
 * release a random slot and allocate it again.  Prints its manifest row.
 */
static void measure(const char *alloc, const char *name, const char *scen,
		    struct fnmm_allocator *a, u64 size, unsigned int window)
{
	u64 slot[64];
	char label[96];
	unsigned int i, k;
	double fill;
	int ret;

	if (window > 64)
		die("window too large", -1);
	snprintf(label, sizeof(label), "%s/%s/%s", alloc, name, scen);
	for (i = 0; i < window; i++)
		slot[i] = get(a, size);
	if (!strcmp(alloc, "pool"))	/* of the pages the Pool holds */
		fill = 100.0 * (fnmm_pool_held(a) - fnmm_available(a)) /
		       fnmm_pool_held(a);
	else
		fill = 100.0 * (fnmm_size(a) - fnmm_available(a)) /
		       fnmm_size(a);

	CALLGRIND_START_INSTRUMENTATION;
	for (k = 0; k < WARMUP + OPS; k++) {
		struct fnmm_range r = { .size = size };

		if (k == WARMUP)
			CALLGRIND_ZERO_STATS;
		i = window > 1 ? rnd() % window : 0;
		ret = icount_release(a, slot[i]);
		if (ret)
			die(label, ret);
		ret = icount_allocate(a, &r);
		if (ret)
			die(label, ret);
		slot[i] = r.address;
	}
	CALLGRIND_DUMP_STATS_AT(label);
	CALLGRIND_STOP_INSTRUMENTATION;

	printf("%s\t%s\t%s\t%s\t%u\t%.1f\t%llu\n", label, alloc, name, scen,
	       OPS, fill, (unsigned long long)fnmm_largest(a));
	drop(a, slot, window);
	ret = fnmm_check(a);
	if (ret)
		die("check", ret);
}

static struct fnmm_allocator *check_ptr(struct fnmm_allocator *a,
					const char *what)
{
	if (IS_ERR(a))
		die(what, (int)PTR_ERR(a));
	return a;
}

/* Split: orders 0, 3, 9. */
static void run_split(u64 *live, bool steady)
{
	static const struct { unsigned int order, window; } c[] = {
		{ 0, 64 }, { 3, 32 }, { 9, 4 },
	};
	struct fnmm_allocator *a;
	unsigned int i, n = 0;
	char name[16];

	a = check_ptr(fnmm_split_create(SPLIT_BASE, SPLIT_SIZE, 0), "split");
	if (steady)
		n = background(a, pick_split, live);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		snprintf(name, sizeof(name), "order %u", c[i].order);
		measure("split", name, steady ? "steady" : "empty", a,
			PAGE_SIZE << c[i].order, steady ? c[i].window : 1);
	}
	drop(a, live, n);
	fnmm_destroy(a);
}

/* Bit over page chunks: runs of 1, 8, 64 chunks. */
static void run_bit(u64 *live, bool steady)
{
	static const struct { unsigned int chunks, window; } c[] = {
		{ 1, 32 }, { 8, 8 }, { 64, 2 },
	};
	struct fnmm_allocator *a;
	unsigned int i, n = 0;
	char name[16];

	a = check_ptr(fnmm_bit_create(BIT_BASE, BIT_SIZE, PAGE_SIZE), "bit");
	if (steady)
		n = background(a, pick_bit, live);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		snprintf(name, sizeof(name), "%u chunk%s", c[i].chunks,
			 c[i].chunks == 1 ? "" : "s");
		measure("bit", name, steady ? "steady" : "empty", a,
			(u64)c[i].chunks << PAGE_SHIFT,
			steady ? c[i].window : 1);
	}
	drop(a, live, n);
	fnmm_destroy(a);
}

/* Pool (8 B..2 KiB classes) over a Split: 64, 256, 1024-byte objects. */
static void run_pool(u64 *live, bool steady)
{
	static const unsigned int sizes[] = { 64, 256, 1024 };
	struct fnmm_allocator *parent, *a;
	unsigned int i, n = 0;
	char name[16];

	parent = check_ptr(fnmm_split_create(POOL_SPLIT_BASE,
					     POOL_SPLIT_SIZE, 0), "split");
	a = check_ptr(fnmm_pool_create(parent, FNMM_POOL_MIN_SHIFT,
				       PAGE_SHIFT - 1), "pool");
	if (steady) {
		/* 1024 objects of random classes, then half released. */
		for (n = 0; n < 1024; n++)
			live[n] = get(a, pick_pool());
		for (i = 0; i < 512; i++) {
			unsigned int j = rnd() % n;
			int ret = fnmm_release(a, live[j]);

			if (ret)
				die("pool background release", ret);
			live[j] = live[--n];
		}
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		snprintf(name, sizeof(name), "%u B", sizes[i]);
		measure("pool", name, steady ? "steady" : "empty", a,
			sizes[i], steady ? 32 : 1);
	}
	drop(a, live, n);
	fnmm_pool_trim(a);
	fnmm_destroy(a);
	fnmm_destroy(parent);
}

int main(void)
{
	static u64 live[MAX_LIVE];
	int steady;

	printf("# icount: %u measured ops per case after %u warm-up ops; %s\n",
	       OPS, WARMUP, RUNNING_ON_VALGRIND ?
	       "under valgrind" : "not under valgrind (no counts)");
	printf("label\tallocator\tcase\tscenario\tops\tfill_pct\tlargest\n");
	for (steady = 1; steady >= 0; steady--) {
		run_split(live, steady);
		run_bit(live, steady);
		run_pool(live, steady);
	}
	return 0;
}
