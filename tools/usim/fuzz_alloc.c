// SPDX-License-Identifier: GPL-2.0
/*
 * usim: libFuzzer target for the allocators of module/{alloc,split,bit,
 * pool,bubble}.c, built for user space on the shim in include/.
 *
 * The input bytes are a program (bytes past the end read as 0):
 *
 *   header   kind (Split, Bit, Pool over Split, Pool over Bit, Bubble:
 *            fuzz_bubble(), an interpreter of its own) and flags:
 *            invalid-create probes first, a failing kmalloc injected into
 *            create, destroy with live allocations, release order
 *   create   base, size, max_order / chunk size, min/max shift, with
 *            or without FNMM_NO_PERCPU: any page-
 *            or chunk-aligned base (also bases not aligned to the largest
 *            block and ranges near the top of the address space); a
 *            combination the module must refuse is checked for its errno
 *            and replaced by a valid one
 *   ops      allocate (sizes and alignments including invalid ones, the
 *            current largest() and just above it), release (live, double,
 *            misaligned, out of range, never allocated), carve, alloc_size,
 *            Pool trim, a failing kmalloc under the next allocation; in
 *            Pool mode also direct allocations from the parent; each op
 *            on CPU 0 or 1 (usim_cpu: the magazines and the Pool's
 *            sub-pools of both, releases on the other CPU)
 *   end      release everything (or destroy with allocations live)
 *
 * A shadow model checks every step, and any violation abort()s:
 *  - every call returns exactly the errno the interface documents
 *    (include/fnmm_alloc.h) for its arguments, and whether a valid request
 *    fits is decided by the model from its own map of free units (Split:
 *    an aligned, fully free 2^order block; Bit: an aligned free run; Pool:
 *    a slab of the class with a free object in the calling CPU's
 *    sub-pool, its spare (if the spare's bitmap, a page of 8-byte
 *    objects, counts the class's), or a free block in the parent, of the class's
 *    slab size (1 page, or 4 or 8 for 512 B and up: pool_slab_pages())
 *    or else the largest smaller one the parent can give, aligned to its
 *    size; a slab goes to the spare or back by its own sub-pool's rules,
 *    whichever CPU releases);
 *  - a rejected call changes nothing (available, largest, held, the Split
 *    free-block counts, the kmalloc'd objects);
 *  - allocations lie in the range, are aligned as asked, overlap nothing
 *    live, and hold what alloc_size() reports: the request rounded up to
 *    the granule (Split, Bit) or the class size (Pool); without per-CPU
 *    magazines (FNMM_NO_PERCPU) a Split or Bit allocation lies exactly
 *    where the placement rule puts it in the model's map, and nothing is
 *    ever on a magazine;
 *  - available() = size - sum of live allocation sizes (Pool: held bytes
 *    - live object bytes; the parent's pages held by the Pool are known
 *    to the model), largest() = the model's largest allocatable size,
 *    fnmm_check() passes, no spinlock is left held, no WARN fired;
 *  - after everything is released available() and largest() are back to
 *    their initial values and the largest block can be allocated again;
 *    after destroy every kmalloc'd object has been freed.
 *
 * Environment: USIM_FUZZ_TRACE=1 prints every step; USIM_FUZZ_AVOID is a
 * comma-separated list of known module bugs not to provoke (see
 * tools/usim/README.md): pool-tail-page, pool-largest, or "known" for all.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "fnmm_alloc.h"

#define MAX_UNITS	4096	/* Split pages or Bit chunks managed */
#define MAX_PAD		8192	/* Split padding pages below the base */
#define MAX_LIVE	256
#define MAX_OPS		4096
#define NFREED		8

/*
 * Optional: checked against the model where the module has it (a weak
 * reference, so the target builds with or without it).
 */
int fnmm_occupancy(struct fnmm_allocator *a, unsigned long *map)
	__attribute__((weak));

int usim_fuzz_trace = -1;	/* -1: read USIM_FUZZ_TRACE */
const char *usim_fuzz_avoid;	/* NULL: read USIM_FUZZ_AVOID */
static bool avoid_tail_page, avoid_pool_largest;

enum { B_SPLIT, B_BIT };

/* Outcomes per operation, for replay's summary (usim_fuzz_print_stats). */
enum { O_ALLOC, O_POOL_ALLOC, O_RELEASE, O_POOL_RELEASE, O_CARVE,
       O_ALLOC_SIZE, O_CREATE, O_NR };
static const char *const op_names[O_NR] = { "allocate", "pool allocate",
	"release", "pool release", "carve", "alloc_size (hit)", "create" };
static const int res_errno[] = { 0, -EINVAL, -E2BIG, -ENOMEM, -ENOENT,
				 -EOPNOTSUPP };
#define R_NR	ARRAY_SIZE(res_errno)
static unsigned long stats[O_NR][R_NR];

static void count(int op, int ret)
{
	unsigned int i;

	for (i = 0; i < R_NR; i++)
		if (res_errno[i] == ret)
			stats[op][i]++;
}

struct live {
	u64 addr;
	u64 size;	/* bytes held, as alloc_size() must report */
	bool direct;	/* a Split/Bit allocation, not a Pool object */
};

static struct {
	const u8 *in;
	size_t left;
	unsigned int step;

	struct fnmm_allocator *base;	/* Split or Bit */
	struct fnmm_allocator *pool;	/* or NULL */
	int btype;
	u64 bbase, bsize, gran;
	u32 nunits;
	unsigned int mo;		/* Split: max order */
	u32 first;			/* Split: padding pages below base */
	unsigned int min_shift, max_shift;
	u64 initial_largest;

	u8 umap[MAX_UNITS];		/* 0 free, 1 direct, 2 Pool page */
	struct {			/* set on every page of a slab */
		u8 shift;		/* class held by the Pool, 0 = none */
		u8 cpu;			/* the sub-pool (CPU) that holds it */
		u8 order;		/* the slab is 2^order pages */
		u32 head;		/* the slab's first page */
		u16 count;		/* live objects in it (at its head) */
	} pg[MAX_UNITS];
	u32 npg;			/* pages spanned: ceil(bsize / PAGE) */

	unsigned long *occ;		/* for fnmm_occupancy(base) */

	struct live live[MAX_LIVE];
	int nlive;
	u64 freed[NFREED];
	unsigned int nfreed;
	bool exact;			/* FNMM_NO_PERCPU: placement predicted */
} S;

/* ---------------------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "usim-fuzz: VIOLATION at step %u (%s base=%#llx size=%#llx"
		" granule=%#llx%s): ", S.step,
		S.base ? S.base->ops->name : "-", S.bbase, S.bsize, S.gran,
		S.pool ? " +pool" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

__attribute__((format(printf, 1, 2)))
static void trace(const char *fmt, ...)
{
	va_list ap;

	if (usim_fuzz_trace <= 0)
		return;
	fprintf(stderr, "[%u] ", S.step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void after_call(const char *what)
{
	if (usim_locks_held)
		fail("%s returned with %d spinlock(s) held", what,
		     usim_locks_held);
	if (usim_warnings)
		fail("%s: WARN fired", what);
}

/* Call into the module and check that it released its locks. */
#define API(expr) ({ __typeof__(expr) __r = (expr); after_call(#expr); __r; })

static u64 rd(int nbytes)
{
	u64 v = 0;
	int i;

	for (i = 0; i < nbytes; i++) {
		u64 b = 0;

		if (S.left) {
			b = *S.in++;
			S.left--;
		}
		v |= b << (8 * i);
	}
	return v;
}

static int log2u(u64 v)		/* floor, v > 0 */
{
	return 63 - __builtin_clzll(v);
}

static int clog2u(u64 v)	/* ceil, 0 for 0 and 1 */
{
	return v > 1 ? log2u(v - 1) + 1 : 0;
}

static bool pow2(u64 v)
{
	return v && !(v & (v - 1));
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case -EINVAL: return "-EINVAL";
	case -E2BIG: return "-E2BIG";
	case -ENOMEM: return "-ENOMEM";
	case -ENOENT: return "-ENOENT";
	case -EOPNOTSUPP: return "-EOPNOTSUPP";
	case -EUCLEAN: return "-EUCLEAN";
	}
	return "?";
}

/* ---------------------------------------------------------------- */
/* The shadow model of the base allocator: one byte per unit.        */

static bool in_range(u64 addr)
{
	return addr >= S.bbase && addr - S.bbase < S.bsize;
}

static u32 unit_of(u64 addr)
{
	return (addr - S.bbase) / S.gran;
}

static u64 bit_model_largest(void)
{
	u64 run = 0, best = 0;
	u32 i;

	for (i = 0; i < S.nunits; i++) {
		run = S.umap[i] ? 0 : run + 1;
		if (run > best)
			best = run;
	}
	return best * S.gran;
}

/*
 * Split serves any run of free pages (its buddy lists first, then its
 * index of free runs), so both allocators fit and report the same.
 */
static u64 base_model_largest(void)
{
	return bit_model_largest();
}

/*
 * Units from the allocators' index origin to the base: Split counts from
 * the base rounded down to its largest block, Bit from the base rounded
 * down to its size rounded up to a power of two.
 */
static u64 base_origin_off(void)
{
	u64 p2 = 1;

	if (S.btype == B_SPLIT)
		return S.first;
	while (p2 < S.nunits)
		p2 *= 2;
	return (S.bbase / S.gran) & (p2 - 1);
}

/*
 * What a request should get, from its arguments alone: err is the errno
 * the interface defines for them, or 0 if the outcome depends on the free
 * space (then 0 or -ENOMEM); held is what a success holds.
 */
struct req {
	int err;
	u64 held;
	unsigned int order;	/* Split */
	u64 n, mask, off;	/* Bit */
	unsigned int shift;	/* Pool */
};

static void base_req(u64 size, u64 align, struct req *r)
{
	memset(r, 0, sizeof(*r));
	if (!size || (align && !pow2(align))) {
		r->err = -EINVAL;
		return;
	}
	if (size > S.bsize) {
		r->err = -E2BIG;
		return;
	}
	/*
	 * Split (granule a page) and Bit both serve any run of free units;
	 * they differ only in which alignments they can ever honour.
	 */
	r->n = (size + S.gran - 1) / S.gran;
	if (align > S.gran) {
		if (S.btype == B_SPLIT ?
		    (unsigned int)log2u(align) - PAGE_SHIFT > S.mo :
		    align > S.bsize) {
			r->err = -EINVAL;
			return;
		}
		r->mask = align / S.gran - 1;
		r->off = (S.bbase / S.gran) & r->mask;
	}
	r->held = r->n * S.gran;
}

/*
 * Where a request goes by the rule of include/fnmm_alloc.h (an allocator
 * made with FNMM_NO_PERCPU places it exactly there): unaligned, the first
 * run of n free units; aligned to a units (a > 1), as vm_unmapped_area()
 * fits one, the lower of the first maximal run of n + a - 1 units (from
 * its first aligned unit) and the first free block of 2^k units aligned
 * to 2^k, k = max(ceil(log2 n), log2 a).  The unit, or -1.
 */
static long base_place(const struct req *r)
{
	u64 a = r->mask + 1, run = 0, k, b;
	long at = -1, u, z = -1;

	for (u = 0; u < (long)S.nunits; u++) {
		if (S.umap[u]) {
			run = 0;
			continue;
		}
		if (!run++)
			z = u;
		/* the run from z is maximal on the left; n + a - 1 long? */
		if (run >= r->n + a - 1)
			break;
	}
	if (u < (long)S.nunits) {
		at = z;
		while ((at + r->off) & r->mask)
			at++;
	}
	if (!r->mask)
		return at;
	k = clog2u(r->n) > log2u(a) ? clog2u(r->n) : log2u(a);
	b = 1ULL << k;
	for (u = 0; u + b <= S.nunits && (at < 0 || u < at); u++) {
		u64 j;

		if ((u + base_origin_off()) & (b - 1))
			continue;
		for (j = 0; j < b && !S.umap[u + j]; j++)
			;
		if (j == b)
			return u;
	}
	return at;
}

/* A request fits wherever the rule can place it. */
static bool base_fits(const struct req *r)
{
	return base_place(r) >= 0;
}

static void pool_req(u64 size, u64 align, struct req *r)
{
	unsigned int shift;

	memset(r, 0, sizeof(*r));
	if (!size || (align && !pow2(align))) {
		r->err = -EINVAL;
		return;
	}
	if (size > S.bsize) {
		r->err = -E2BIG;
		return;
	}
	if (align >= PAGE_SIZE) {
		r->err = -EINVAL;
		return;
	}
	shift = clog2u(size);
	if (shift < S.min_shift)
		shift = S.min_shift;
	if (align && (unsigned int)log2u(align) > shift)
		shift = log2u(align);
	if (shift > S.max_shift) {
		r->err = -E2BIG;
		return;
	}
	r->shift = shift;
	r->held = 1ULL << shift;
}

/* Can the Pool's parent give one page now? */
static bool parent_page_fits(void)
{
	struct req r;

	base_req(PAGE_SIZE, PAGE_SIZE, &r);
	return !r.err && base_fits(&r);
}

/*
 * The Pool is one sub-pool per CPU (module/pool.c): the pool ops run on
 * CPU 0 or 1 (usim_cpu, from the input), and a page belongs to the
 * sub-pool that took it.
 */
#define POOL_CPUS	2

/* Is page @i the first of a Pool slab? */
static bool pool_head(u32 i)
{
	return S.pg[i].shift && S.pg[i].head == i;
}

/* Objects of class @shift in the slab at page @i. */
static u32 pool_nobj(u32 i, unsigned int shift)
{
	return (PAGE_SIZE << S.pg[i].order) >> shift;
}

/*
 * Can class @shift take the spare at page @i?  Only if the slab's bitmap
 * (a page of 8-byte objects) counts all its objects of that class.
 */
static bool pool_spare_fits(u32 i, unsigned int shift)
{
	return pool_nobj(i, shift) <= PAGE_SIZE / 8;
}

/*
 * Pages of the slabs of class @shift, by the rule module/pool.c states:
 * one page while a page holds 16 objects, else the pages holding 32, at
 * most 8.
 */
static unsigned int pool_slab_pages(unsigned int shift)
{
	u64 per_page = PAGE_SIZE >> shift, n = 1;

	if (per_page >= 16)
		return 1;
	while (n * per_page < 32 && n < 8)
		n *= 2;
	return n;
}

static void umap_set(u64 addr, u64 size, u8 v);

/* Mark the 2^@order pages from @head as one slab of @shift (0: none). */
static void pool_mark(u32 head, unsigned int order, u8 shift, u8 cpu)
{
	u32 j;

	for (j = 0; j < 1U << order; j++) {
		S.pg[head + j].shift = shift;
		S.pg[head + j].cpu = cpu;
		S.pg[head + j].order = order;
		S.pg[head + j].head = head;
	}
}

/* The slab at @head goes back to the parent. */
static void pool_unmark(u32 head)
{
	unsigned int order = S.pg[head].order;

	pool_mark(head, order, 0, 0);
	umap_set(S.bbase + (u64)head * PAGE_SIZE, PAGE_SIZE << order, 0);
}

/* Does a slab of sub-pool @cpu in class @shift have a free object? */
static bool pool_class_has_room(unsigned int shift, unsigned int cpu)
{
	u32 i;

	for (i = 0; i < S.npg; i++)
		if (pool_head(i) && S.pg[i].shift == shift &&
		    S.pg[i].cpu == cpu && S.pg[i].count < pool_nobj(i, shift))
			return true;
	return false;
}

/* The Pool's spare page (an empty page of no class), or -1. */
#define POOL_SPARE	0xff

static int pool_spare(unsigned int cpu)
{
	u32 i;

	for (i = 0; i < S.npg; i++)
		if (pool_head(i) && S.pg[i].shift == POOL_SPARE &&
		    S.pg[i].cpu == cpu)
			return i;
	return -1;
}

/* Live Pool objects of sub-pool @cpu. */
static int pool_objects(unsigned int cpu)
{
	int n = 0;
	u32 i;

	for (i = 0; i < S.npg; i++)
		if (pool_head(i) && S.pg[i].shift != POOL_SPARE &&
		    S.pg[i].cpu == cpu)
			n += S.pg[i].count;
	return n;
}

/*
 * The order of the slab a new slab of class @shift gets: the class's
 * size if the parent has such a block aligned to it, else the largest
 * smaller one it has; -1 if none, not even a page.
 */
static int pool_new_order(unsigned int shift)
{
	unsigned int n = pool_slab_pages(shift);
	struct req r;

	for (; n; n /= 2) {
		base_req(n * PAGE_SIZE, n * PAGE_SIZE, &r);
		if (!r.err && base_fits(&r))
			return log2u(n);
	}
	return -1;
}

/* What an allocation on this CPU (usim_cpu) gets now. */
static u64 pool_model_largest(void)
{
	unsigned int s;

	if (parent_page_fits() || pool_spare(usim_cpu) >= 0)
		return 1ULL << S.max_shift;
	for (s = S.max_shift; s >= S.min_shift; s--)
		if (pool_class_has_room(s, usim_cpu))
			return 1ULL << s;
	return 0;
}

static u64 pool_model_held(void)
{
	u64 held = 0;
	u32 i;

	for (i = 0; i < S.npg; i++)
		if (S.pg[i].shift)
			held += PAGE_SIZE;
	return held;
}

static int live_find(u64 addr, bool direct)
{
	int i;

	for (i = 0; i < S.nlive; i++)
		if (S.live[i].addr == addr && S.live[i].direct == direct)
			return i;
	return -1;
}

static void live_add(u64 addr, u64 size, bool direct)
{
	int i;

	for (i = 0; i < S.nlive; i++) {
		struct live *l = &S.live[i];

		if (addr < l->addr + l->size && l->addr < addr + size)
			fail("[%#llx, +%#llx) overlaps live [%#llx, +%#llx)",
			     addr, size, l->addr, l->size);
	}
	if (S.nlive == MAX_LIVE)
		fail("harness: live table full");
	S.live[S.nlive++] = (struct live){ addr, size, direct };
}

static void live_del(int i)
{
	S.freed[S.nfreed++ % NFREED] = S.live[i].addr;
	S.live[i] = S.live[--S.nlive];
}

static void umap_set(u64 addr, u64 size, u8 v)
{
	u32 u = unit_of(addr), n = size / S.gran, j;

	for (j = 0; j < n; j++)
		S.umap[u + j] = v;
}

/* Is @addr the start of a page the Pool holds (so not ours to touch)? */
static bool is_pool_page(u64 addr)
{
	return S.pool && in_range(addr) && !((addr - S.bbase) % PAGE_SIZE) &&
	       S.pg[(addr - S.bbase) / PAGE_SIZE].shift;
}

/* In the Pool's parent, past its last whole page (see pool-tail-page). */
static bool in_tail_page(u64 addr)
{
	return in_range(addr) &&
	       (addr - S.bbase) / PAGE_SIZE >= S.bsize / PAGE_SIZE;
}

/* ---------------------------------------------------------------- */
/* Whole-state verification, after every step.                       */

struct snap {
	u64 avail, largest, pavail, plargest, held;
	unsigned long nfree[FNMM_SPLIT_MAX_ORDER + 1];
	long kmalloc_live;
};

static void take_snap(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->avail = API(fnmm_available(S.base));
	/*
	 * largest() drains the per-CPU magazines (so does a refused
	 * request): left out here, it is checked against the model after
	 * every step; reading it here would empty the magazines before
	 * every call.
	 */

	if (S.pool) {
		s->pavail = API(fnmm_available(S.pool));
		s->plargest = API(fnmm_largest(S.pool));
		s->held = API(fnmm_pool_held(S.pool));
	}
	s->kmalloc_live = usim_kmalloc_live;
}

static void same_snap(const struct snap *a, const char *what, int ret)
{
	struct snap b;

	take_snap(&b);
	if (memcmp(a, &b, sizeof(b)))
		fail("%s failed (%s) but changed the state: available %#llx->%#llx"
		     " largest %#llx->%#llx pool available %#llx->%#llx"
		     " pool largest %#llx->%#llx held %#llx->%#llx"
		     " kmalloc'd %ld->%ld", what, ename(ret),
		     a->avail, b.avail, a->largest, b.largest, a->pavail,
		     b.pavail, a->plargest, b.plargest, a->held, b.held,
		     a->kmalloc_live, b.kmalloc_live);
}

/*
 * Split or Bit with units on its per-CPU magazines (not drained): they
 * must be units the model has free, no more than the magazines have room
 * for (Split: 16 blocks of each order 0..3, Bit: 32 chunks, per CPU), and
 * fnmm_longest() (which does not drain) must be the model's longest run
 * with them taken out.
 */
static void verify_magazines(void)
{
	u64 run = 0, best = 0, mag, longest, n = 0;
	u32 u;

	memset(S.occ, 0, BITS_TO_LONGS(S.nunits) * sizeof(long));
	mag = API(fnmm_cached(S.base, S.occ));
	if (S.exact && mag)
		fail("%llu units on magazines of an allocator without them",
		     mag);
	for (u = 0; u < S.nunits; u++) {
		bool held = test_bit(u, S.occ);

		if (S.umap[u] && held)
			fail("unit %u on a magazine, model used", u);
		n += held;
		run = !held && !S.umap[u] ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	if (n != mag || mag > USIM_NR_CPUS *
	    (S.btype == B_SPLIT ? 16ULL * (1 + 2 + 4 + 8) : 32ULL))
		fail("magazines hold %llu pages (%llu in the map), more than"
		     " they have room for", mag, n);
	longest = API(fnmm_longest(S.base));
	if (longest != best * S.gran)
		fail("longest %#llx without draining, model %#llx with %llu"
		     " pages on magazines", longest, best * S.gran, mag);
}

static void verify(void)
{
	u64 used = 0, free_pages = 0, v, want, live_obj = 0;
	unsigned int k;
	int i, ret;
	u32 u;

	ret = API(fnmm_check(S.base));
	if (ret)
		fail("fnmm_check(%s) = %s", S.base->ops->name, ename(ret));
	if (S.pool) {
		ret = API(fnmm_check(S.pool));
		if (ret)
			fail("fnmm_check(pool) = %s", ename(ret));
	}
	for (u = 0; u < S.nunits; u++)
		used += !!S.umap[u];
	v = API(fnmm_available(S.base));
	if (v != S.bsize - used * S.gran)
		fail("%s available %#llx, model %#llx", S.base->ops->name, v,
		     S.bsize - used * S.gran);
	/*
	 * Every other check drains the per-CPU magazines first (as
	 * largest() does); the others leave them filled, to be exercised
	 * across steps, and check what holds with blocks on them.
	 */
	bool drained = rd(1) & 1;

	if (!drained)
		verify_magazines();
	if (drained) {
		v = API(fnmm_largest(S.base));
		want = base_model_largest();
		if (v != want)
			fail("%s largest %#llx, model %#llx",
			     S.base->ops->name, v, want);
	}
	if (S.btype == B_SPLIT) {
		if (API(fnmm_split_max_order(S.base)) != S.mo)
			fail("max_order %u, want %u",
			     fnmm_split_max_order(S.base), S.mo);
		for (k = 0; k <= FNMM_SPLIT_MAX_ORDER + 2; k++) {
			unsigned long n = API(fnmm_split_free_blocks(S.base, k));

			if (k > S.mo && n)
				fail("%lu free blocks of order %u > max", n, k);
			free_pages += (u64)n << k;
		}
		if (drained && free_pages * PAGE_SIZE != S.bsize - used * S.gran)
			fail("free blocks hold %#llx pages, model %#llx",
			     free_pages, S.nunits - used);
	}
	if (fnmm_occupancy && S.occ) {
		memset(S.occ, 0, BITS_TO_LONGS(S.nunits) * sizeof(long));
		ret = API(fnmm_occupancy(S.base, S.occ));
		for (u = 0; !ret && u < S.nunits; u++)
			if (test_bit(u, S.occ) != !!S.umap[u])
				fail("occupancy: granule %u %s, model %s", u,
				     test_bit(u, S.occ) ? "used" : "free",
				     S.umap[u] ? "used" : "free");
	}
	for (i = 0; i < S.nlive; i++) {
		struct live *l = &S.live[i];
		struct fnmm_allocator *a = l->direct ? S.base : S.pool;

		v = API(fnmm_alloc_size(a, l->addr));
		if (v != l->size)
			fail("alloc_size(%#llx) = %#llx, holds %#llx", l->addr,
			     v, l->size);
		if (!l->direct)
			live_obj += l->size;
	}
	if (S.pool) {
		u64 held = API(fnmm_pool_held(S.pool));

		if (held != pool_model_held())
			fail("pool holds %#llx, model %#llx", held,
			     pool_model_held());
		v = API(fnmm_available(S.pool));
		if (v != held - live_obj)
			fail("pool available %#llx, held %#llx - live %#llx", v,
			     held, live_obj);
		v = API(fnmm_largest(S.pool));
		want = pool_model_largest();
		if (v != want && !(avoid_pool_largest && S.gran < PAGE_SIZE &&
				   API(fnmm_largest(S.base)) >= PAGE_SIZE &&
				   v == 1ULL << S.max_shift))
			fail("pool largest %#llx, model %#llx (an allocation of "
			     "that size would %s)", v, want,
			     v > want ? "fail" : "succeed");
	}
}

/* ---------------------------------------------------------------- */
/* Operations.                                                       */

static void check_result_addr(u64 addr, u64 align, u64 held)
{
	if (!in_range(addr) || addr - S.bbase > S.bsize - held)
		fail("allocation [%#llx, +%#llx) outside the range", addr, held);
	if (align && addr % align)
		fail("allocation %#llx not aligned to %#llx", addr, align);
}

static void op_base_alloc(u64 size, u64 align)
{
	struct fnmm_range r = { .address = 0xdeadbeef, .size = size,
				.alignment = align };
	struct snap sn;
	struct req q;
	int want, ret;
	u32 u, j;

	base_req(size, align, &q);
	want = q.err ? q.err : base_fits(&q) ? 0 : -ENOMEM;
	take_snap(&sn);
	trace("%s allocate size %#llx align %#llx ...", S.base->ops->name,
	      size, align);
	ret = API(fnmm_allocate(S.base, &r));
	count(O_ALLOC, ret);
	trace("%s allocate size %#llx align %#llx -> %s %#llx",
	      S.base->ops->name, size, align, ename(ret), r.address);
	if (ret != want)
		fail("%s allocate(size %#llx, align %#llx) = %s, want %s",
		     S.base->ops->name, size, align, ename(ret), ename(want));
	if (ret) {
		same_snap(&sn, "allocate", ret);
		return;
	}
	check_result_addr(r.address, align, q.held);
	if ((r.address - S.bbase) % S.gran)
		fail("allocation %#llx not on a granule", r.address);
	u = unit_of(r.address);
	if (S.exact && (long)u != base_place(&q))
		fail("%s allocate(size %#llx, align %#llx) at unit %u, the "
		     "placement rule says %ld", S.base->ops->name, size,
		     align, u, base_place(&q));
	for (j = 0; j < q.held / S.gran; j++)
		if (S.umap[u + j])
			fail("allocation [%#llx, +%#llx) takes a used unit %#llx",
			     r.address, q.held, r.address + j * S.gran);
	umap_set(r.address, q.held, 1);
	live_add(r.address, q.held, true);
}

static void op_pool_alloc(u64 size, u64 align, bool inject)
{
	struct fnmm_range r = { .address = 0xdeadbeef, .size = size,
				.alignment = align };
	bool room = false, injected = false;
	unsigned long fail_at = 0;
	struct snap sn;
	struct req q;
	int want, ret, spare, order = -1;
	u32 pi, h;

	pool_req(size, align, &q);
	if (!q.err)
		room = pool_class_has_room(q.shift, usim_cpu);
	spare = q.err || room ? -1 : pool_spare(usim_cpu);
	if (spare >= 0 && !pool_spare_fits(spare, q.shift))
		spare = -1;	/* too big for its bitmap: a slab of its own */
	if (!q.err && !room && spare < 0)
		order = pool_new_order(q.shift);
	want = q.err ? q.err : room || spare >= 0 || order >= 0 ? 0 :
	       -ENOMEM;
	take_snap(&sn);
	if (inject)
		usim_kmalloc_fail_at = fail_at = usim_kmalloc_calls + 1;
	trace("pool allocate size %#llx align %#llx ...", size, align);
	ret = API(fnmm_allocate(S.pool, &r));
	count(O_POOL_ALLOC, ret);
	if (inject) {
		injected = usim_kmalloc_calls >= fail_at;
		usim_kmalloc_fail_at = 0;
		/* Only a new slab allocates; a failed one is -ENOMEM. */
		if (injected && (room || spare >= 0))
			fail("pool allocate kmalloc'd with a slab of room or a spare");
		if (injected && !want)
			want = -ENOMEM;
	}
	trace("pool allocate size %#llx align %#llx%s -> %s %#llx", size,
	      align, injected ? " (kmalloc fails)" : "", ename(ret),
	      r.address);
	if (ret != want)
		fail("pool allocate(size %#llx, align %#llx) = %s, want %s",
		     size, align, ename(ret), ename(want));
	if (ret) {
		same_snap(&sn, "pool allocate", ret);
		return;
	}
	check_result_addr(r.address, align, q.held);
	if (r.address & (q.held - 1))
		fail("object %#llx not aligned to its class %#llx", r.address,
		     q.held);
	pi = (r.address - S.bbase) / PAGE_SIZE;
	h = S.pg[pi].head;
	if (room) {
		if (S.pg[pi].shift != q.shift || S.pg[pi].cpu != usim_cpu ||
		    S.pg[h].count >= pool_nobj(h, q.shift))
			fail("object %#llx of class %#llx not from a slab of "
			     "its class with room on CPU %u", r.address, q.held,
			     usim_cpu);
	} else if (spare >= 0) {
		/* A fresh slab's first object is at its start. */
		if (r.address != S.bbase + (u64)spare * PAGE_SIZE)
			fail("object %#llx: a class with no room, but not the "
			     "first of the spare slab", r.address);
		pool_mark(spare, S.pg[spare].order, q.shift, usim_cpu);
	} else {
		u64 bytes = PAGE_SIZE << order;
		u32 u = unit_of(r.address), j;

		if (r.address & (bytes - 1) || (r.address - S.bbase) % PAGE_SIZE)
			fail("object %#llx: a new slab of %#llx bytes must "
			     "start there, aligned to its size", r.address,
			     bytes);
		if (r.address - S.bbase > S.bsize - bytes)
			fail("new slab %#llx not wholly in the parent",
			     r.address);
		for (j = 0; j < bytes / S.gran; j++)
			if (S.umap[u + j])
				fail("new slab [%#llx, +%#llx) over used parent "
				     "memory", r.address, bytes);
		umap_set(r.address, bytes, 2);
		h = pi;
		pool_mark(h, order, q.shift, usim_cpu);
	}
	S.pg[h].count++;
	live_add(r.address, q.held, false);
}

/* An address to pass to release/carve/alloc_size. */
static u64 pick_addr(void)
{
	u8 sel = rd(1);
	u64 v = rd(2), a;
	static const u64 deltas[] = { 1, 8, 63, 64, 0x800, 0xfff, 0x1000,
				      0x2000, 0x10000, 0x100000 };

	switch (sel % 8) {
	case 0:
	case 1:
	case 2:
		if (!S.nlive)
			return S.bbase;
		return S.live[v % S.nlive].addr;
	case 3:
		if (!S.nlive)
			return S.bbase + deltas[v % 10];
		a = S.live[v % S.nlive].addr;
		return sel & 0x80 ? a - deltas[(v >> 8) % 10] :
				    a + deltas[(v >> 8) % 10];
	case 4:
		if (!S.nfreed)
			return S.bbase;
		return S.freed[v % (S.nfreed < NFREED ? S.nfreed : NFREED)];
	case 5:
		return S.bbase + (v * (sel & 0x80 ? 8 : S.gran)) % S.bsize;
	case 6:
		switch (v % 8) {
		case 0: return S.bbase - S.gran;
		case 1: return S.bbase + S.bsize;
		case 2: return S.bbase + S.bsize - 1;
		case 3: return 0;
		case 4: return ~0ULL;
		case 5: return ~0ULL & ~(PAGE_SIZE - 1);
		case 6: return S.bbase - 1;
		default: return S.bbase + S.bsize - S.gran;
		}
	default:
		return S.bbase + ((v * PAGE_SIZE) % S.bsize);
	}
}

static void op_base_release(u64 addr)
{
	struct snap sn;
	int want, ret, i;

	if (is_pool_page(addr))
		return;		/* the Pool's: not the harness's to release */
	if (!in_range(addr) || (addr - S.bbase) % S.gran)
		want = -EINVAL;
	else
		want = live_find(addr, true) >= 0 ? 0 : -ENOENT;
	take_snap(&sn);
	trace("%s release %#llx ...", S.base->ops->name, addr);
	ret = API(fnmm_release(S.base, addr));
	count(O_RELEASE, ret);
	trace("%s release %#llx -> %s", S.base->ops->name, addr, ename(ret));
	if (ret != want)
		fail("%s release(%#llx) = %s, want %s", S.base->ops->name,
		     addr, ename(ret), ename(want));
	if (ret) {
		same_snap(&sn, "release", ret);
		return;
	}
	i = live_find(addr, true);
	umap_set(addr, S.live[i].size, 0);
	live_del(i);
}

static void op_pool_release(u64 addr)
{
	struct snap sn;
	int want, ret;
	u32 pi;
	bool keep;
	int spare;
	u8 owner;

	if (avoid_tail_page && in_tail_page(addr))
		return;
	if (!in_range(addr)) {
		want = -EINVAL;
	} else {
		pi = (addr - S.bbase) / PAGE_SIZE;
		if (!S.pg[pi].shift || S.pg[pi].shift == POOL_SPARE)
			want = -ENOENT;
		else if ((addr - S.bbase) & ((1ULL << S.pg[pi].shift) - 1))
			want = -EINVAL;
		else
			want = live_find(addr, false) >= 0 ? 0 : -ENOENT;
	}
	take_snap(&sn);
	trace("pool release %#llx ...", addr);
	ret = API(fnmm_release(S.pool, addr));
	count(O_POOL_RELEASE, ret);
	trace("pool release %#llx -> %s", addr, ename(ret));
	if (ret != want)
		fail("pool release(%#llx) = %s, want %s", addr, ename(ret),
		     ename(want));
	if (ret) {
		same_snap(&sn, "pool release", ret);
		return;
	}
	live_del(live_find(addr, false));
	pi = S.pg[(addr - S.bbase) / PAGE_SIZE].head;
	if (--S.pg[pi].count)
		return;
	/*
	 * An empty slab stays as its sub-pool's one spare if it has none and
	 * objects remain there; after the sub-pool's last object every page
	 * of it goes back.  Whichever CPU releases: the owner's rules.
	 */
	owner = S.pg[pi].cpu;
	keep = pool_objects(owner) && pool_spare(owner) < 0;
	if (API(fnmm_alloc_size(S.base, S.bbase + (u64)pi * PAGE_SIZE)) !=
	    (keep ? PAGE_SIZE << S.pg[pi].order : 0))
		fail("empty slab %#llx %s", S.bbase + (u64)pi * PAGE_SIZE,
		     keep ? "returned, but the pool had no spare" :
			    "kept, but the pool had a spare or no object");
	if (keep) {
		pool_mark(pi, S.pg[pi].order, POOL_SPARE, owner);
		return;
	}
	pool_unmark(pi);
	if (!pool_objects(owner) && (spare = pool_spare(owner)) >= 0) {
		if (API(fnmm_alloc_size(S.base, S.bbase + (u64)spare * PAGE_SIZE)))
			fail("spare %#llx kept after the last object went",
			     S.bbase + (u64)spare * PAGE_SIZE);
		pool_unmark(spare);
	}
}

static void op_pool_trim(void)
{
	u32 i;

	API((fnmm_pool_trim(S.pool), 0));
	trace("pool trim");
	for (i = 0; i < S.npg; i++)
		if (pool_head(i) && S.pg[i].shift == POOL_SPARE)
			pool_unmark(i);
}

static void op_carve(struct fnmm_allocator *a, u64 addr, u64 offset)
{
	struct snap sn;
	u64 held;
	int want, ret, i = -1;

	if (a == S.pool) {
		want = -EOPNOTSUPP;
	} else if (!offset || offset % S.gran) {
		want = -EINVAL;
	} else if (!in_range(addr) || (addr - S.bbase) % S.gran) {
		want = -EINVAL;
	} else if (is_pool_page(addr)) {
		return;		/* the Pool's: not the harness's to carve */
	} else if ((i = live_find(addr, true)) < 0) {
		want = -ENOENT;
	} else {
		want = offset >= S.live[i].size ? -EINVAL : 0;
	}
	take_snap(&sn);
	trace("%s carve %#llx at +%#llx ...", a->ops->name, addr, offset);
	ret = API(fnmm_carve(a, addr, offset));
	count(O_CARVE, ret);
	trace("%s carve %#llx at +%#llx -> %s", a->ops->name, addr, offset,
	      ename(ret));
	if (ret != want)
		fail("%s carve(%#llx, %#llx) = %s, want %s", a->ops->name,
		     addr, offset, ename(ret), ename(want));
	if (ret) {
		same_snap(&sn, "carve", ret);
		return;
	}
	held = S.live[i].size;
	S.live[i].size = offset;
	live_add(addr + offset, held - offset, true);
}

static void op_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	u64 v, want = 0;
	int i;

	if (a == S.pool) {
		if (avoid_tail_page && in_tail_page(addr))
			return;
		i = live_find(addr, false);
		if (i >= 0)
			want = S.live[i].size;
	} else if (is_pool_page(addr)) {
		/* The parent sees a slab as one block. */
		i = (addr - S.bbase) / PAGE_SIZE;
		if (S.pg[i].head == (u32)i)
			want = PAGE_SIZE << S.pg[i].order;
	} else {
		i = live_find(addr, true);
		if (i >= 0)
			want = S.live[i].size;
	}
	trace("%s alloc_size %#llx ...", a->ops->name, addr);
	v = API(fnmm_alloc_size(a, addr));
	if (v)
		count(O_ALLOC_SIZE, 0);
	trace("%s alloc_size %#llx -> %#llx", a->ops->name, addr, v);
	if (v != want)
		fail("%s alloc_size(%#llx) = %#llx, want %#llx", a->ops->name,
		     addr, v, want);
}

static u64 pick_size(struct fnmm_allocator *a)
{
	u8 sel = rd(1);
	u64 v = rd(2), l;

	switch (sel % 10) {
	case 0:
		return sel & 0x80 ? 0 : 1 + v % 64;
	case 1:
	case 2:
		return 1 + v % (4 * PAGE_SIZE);
	case 3:
	case 4:
		return S.gran * (1 + v % 64);
	case 5:
		return 1ULL << (v % 40);
	case 6:
		l = API(fnmm_largest(a));
		switch (v % 4) {
		case 0: return l;
		case 1: return l + 1;
		case 2: return l + a->granule;
		default: return l > 1 ? l - 1 : l;
		}
	case 7:
		switch (v % 4) {
		case 0: return S.bsize;
		case 1: return S.bsize + 1;
		case 2: return ~0ULL;
		default: return S.bsize - S.gran;
		}
	case 8:
		return (S.gran * (1 + v % 16)) - (sel >> 4);
	default:
		return rd(8);
	}
}

static u64 pick_align(void)
{
	u8 sel = rd(1);

	switch (sel % 8) {
	case 0:
	case 1:
	case 2:
		return 0;
	case 3:
		switch (sel >> 3) {
		case 0: return 3;
		case 1: return 0x3000;
		case 2: return ~0ULL;
		default: return (1ULL << (sel >> 3)) + 1;
		}
	case 4:
	case 5:
		return 1ULL << (3 + (sel >> 3) % 14);	/* 8 .. 64 KiB */
	case 6:
		return 1ULL << (sel >> 3);		/* 1 .. 2 GiB */
	default:
		return 1ULL << (32 + (sel >> 3));	/* 4 GiB .. 2^63 */
	}
}

static u64 pick_offset(void)
{
	u8 sel = rd(1);
	u64 v = rd(2);

	switch (sel % 6) {
	case 0:
		return 0;
	case 1:
		return v | 1;
	case 2:
		return ~0ULL & ~(S.gran - 1);
	case 3:
		if (S.nlive)
			return S.live[v % S.nlive].size;
		/* fall through */
	default:
		return S.gran * (1 + v % 64);
	}
}

static int pick_live(bool *direct)
{
	int i;

	if (!S.nlive)
		return -1;
	i = rd(2) % S.nlive;
	*direct = S.live[i].direct;
	return i;
}

static void do_op(void)
{
	u8 op = rd(1);
	bool direct;
	int i;

	/* CPU 0 or 1: the magazines and the Pool's sub-pools of either. */
	usim_cpu = (op >> 4) & 1;

	switch (op % 12) {
	case 0: case 1: case 2:			/* allocate */
		if (S.nlive >= MAX_LIVE - 1)
			break;
		if (S.pool && !(op & 0x80)) {
			u64 size = pick_size(S.pool);

			op_pool_alloc(size, pick_align(), false);
		} else {
			u64 size = pick_size(S.base);

			op_base_alloc(size, pick_align());
		}
		break;
	case 3: case 4:				/* release a live one */
		i = pick_live(&direct);
		if (i < 0)
			break;
		if (direct)
			op_base_release(S.live[i].addr);
		else
			op_pool_release(S.live[i].addr);
		break;
	case 5:					/* release anything */
		if (S.pool && !(op & 0x80))
			op_pool_release(pick_addr());
		else
			op_base_release(pick_addr());
		break;
	case 6: {				/* carve */
		u64 addr = pick_addr();

		op_carve(S.pool && (op & 0x80) ? S.pool : S.base, addr,
			 pick_offset());
		break;
	}
	case 7:					/* alloc_size */
		op_alloc_size(S.pool && !(op & 0x80) ? S.pool : S.base,
			      pick_addr());
		break;
	case 8:					/* kmalloc fails */
		if (S.pool && S.nlive < MAX_LIVE - 1) {
			u64 size = pick_size(S.pool);

			op_pool_alloc(size, pick_align(), true);
		}
		break;
	case 9:					/* trim */
		if (S.pool)
			op_pool_trim();
		break;
	case 10:				/* allocate the largest */
		if (S.nlive >= MAX_LIVE - 1)
			break;
		if (S.pool && !(op & 0x80))
			op_pool_alloc(API(fnmm_largest(S.pool)), 0, false);
		else
			op_base_alloc(API(fnmm_largest(S.base)), 0);
		break;
	default:				/* release several */
		for (i = op >> 5; i >= 0 && S.nlive; i--) {
			int j = rd(1) % S.nlive;

			if (S.live[j].direct)
				op_base_release(S.live[j].addr);
			else
				op_pool_release(S.live[j].addr);
		}
		break;
	}
}

/* ---------------------------------------------------------------- */
/* Creation.                                                         */

static struct fnmm_allocator *create_checked(const char *what, int kind,
					     u64 base, u64 size, u64 arg,
					     struct fnmm_allocator *parent,
					     unsigned int arg2, int want,
					     unsigned int inject)
{
	long live0 = usim_kmalloc_live;
	unsigned long fail_at = 0;
	struct fnmm_allocator *a;
	int ret;

	if (inject)
		usim_kmalloc_fail_at = fail_at = usim_kmalloc_calls + inject;
	if (kind == 0)
		a = API(fnmm_split_create_flags(base, size, arg, arg2));
	else if (kind == 1)
		a = API(fnmm_bit_create_flags(base, size, arg, arg2));
	else
		a = API(fnmm_pool_create(parent, arg, arg2));
	if (inject) {
		if (usim_kmalloc_calls >= fail_at && !want)
			want = -ENOMEM;
		usim_kmalloc_fail_at = 0;
	}
	ret = IS_ERR(a) ? PTR_ERR(a) : a ? 0 : -EFAULT;
	count(O_CREATE, ret);
	trace("%s create base %#llx size %#llx arg %#llx/%u%s -> %s", what,
	      base, size, arg, arg2, inject ? " (kmalloc fails)" : "",
	      ename(ret));
	if (ret != want)
		fail("%s_create(%#llx, %#llx, %#llx, %u) = %s, want %s", what,
		     base, size, arg, arg2, ename(ret), ename(want));
	if (ret && usim_kmalloc_live != live0)
		fail("%s_create failed but leaked %ld object(s)", what,
		     usim_kmalloc_live - live0);
	return ret ? NULL : a;
}

/* Creations the module must refuse, each with its errno. */
static void invalid_creates(void)
{
	struct fnmm_allocator *sp;
	u64 b = 1ULL << 32;

	switch (rd(1) % 16) {
	case 0: create_checked("split", 0, b, 0, 0, NULL, 0, -EINVAL, 0); break;
	case 1: create_checked("split", 0, b + 8, PAGE_SIZE, 0, NULL, 0, -EINVAL, 0); break;
	case 2: create_checked("split", 0, b, PAGE_SIZE + 8, 0, NULL, 0, -EINVAL, 0); break;
	case 3: create_checked("split", 0, b, PAGE_SIZE, 21 + rd(1) % 200, NULL, 0, -EINVAL, 0); break;
	case 4: create_checked("split", 0, -(u64)PAGE_SIZE, PAGE_SIZE, 0, NULL, 0, -EINVAL, 0); break;
	case 5: create_checked("split", 0, b, 1ULL << 44, 0, NULL, 0, -E2BIG, 0); break;
	case 6: create_checked("split", 0, b + PAGE_SIZE, (u64)(U32_MAX - 1) << PAGE_SHIFT, 20, NULL, 0, -E2BIG, 0); break;
	case 7: create_checked("bit", 1, b, PAGE_SIZE, 0, NULL, 0, -EINVAL, 0); break;
	case 8: create_checked("bit", 1, b, PAGE_SIZE, 48, NULL, 0, -EINVAL, 0); break;
	case 9: create_checked("bit", 1, b + 32, PAGE_SIZE, 64, NULL, 0, -EINVAL, 0); break;
	case 10: create_checked("bit", 1, b, 0, 64, NULL, 0, -EINVAL, 0); break;
	case 11: create_checked("bit", 1, -(u64)128, 128, 64, NULL, 0, -EINVAL, 0); break;
	case 12: create_checked("bit", 1, b, 1ULL << 40, 256, NULL, 0, -E2BIG, 0); break;
	case 13: create_checked("pool", 2, 0, 0, 3, NULL, 8, -EINVAL, 0);
		 create_checked("pool", 2, 0, 0, 3, ERR_PTR(-ENOMEM), 8, -EINVAL, 0);
		 break;
	default:
		/* a flag the interface does not define */
		create_checked("split", 0, b, PAGE_SIZE, 0, NULL,
			       (unsigned int)FNMM_NO_PERCPU << (1 + rd(1) % 31), -EINVAL, 0);
		create_checked("bit", 1, b, PAGE_SIZE, 64, NULL,
			       (unsigned int)FNMM_NO_PERCPU << (1 + rd(1) % 31), -EINVAL, 0);
		sp = create_checked("split", 0, b, 16 * PAGE_SIZE, 0, NULL, 0, 0, 0);
		create_checked("pool", 2, 0, 0, 2, sp, 8, -EINVAL, 0);
		create_checked("pool", 2, 0, 0, 9, sp, 8, -EINVAL, 0);
		create_checked("pool", 2, 0, 0, 3, sp, PAGE_SHIFT, -EINVAL, 0);
		fnmm_destroy(sp);
		sp = create_checked("bit", 1, b + 64, 64 * 64, 64, NULL, 0, 0, 0);
		create_checked("pool", 2, 0, 0, 3, sp, 8, -EINVAL, 0);
		fnmm_destroy(sp);
		sp = create_checked("bit", 1, b, 4 * 8192, 8192, NULL, 0, 0, 0);
		create_checked("pool", 2, 0, 0, 3, sp, 8, -EINVAL, 0);
		fnmm_destroy(sp);
		break;
	}
}

static void create_split(unsigned int inject)
{
	u64 n = 1 + rd(2) % MAX_UNITS, size = n * PAGE_SIZE, base;
	unsigned int mo_arg = rd(1), mo, first_max, sel = rd(1), fl;
	u64 first, hi = rd(4);
	int want = 0;

	if (mo_arg > FNMM_SPLIT_MAX_ORDER)
		mo_arg = 0;
	mo = mo_arg ? mo_arg : log2u(n) < FNMM_SPLIT_MAX_ORDER ? log2u(n) :
							     FNMM_SPLIT_MAX_ORDER;
	first_max = 1U << mo < MAX_PAD ? 1U << mo : MAX_PAD;
	first = rd(2) % first_max;
	switch (sel % 4) {
	case 0:
		base = 0;
		break;
	case 1:
		base = (hi & 0xffff) << (PAGE_SHIFT + mo);
		break;
	case 2:
		base = (hi << (PAGE_SHIFT + mo)) & ~((PAGE_SIZE << mo) - 1);
		break;
	default:	/* at the top of the address space */
		base = -((u64)(1 + (hi & 3)) << (PAGE_SHIFT + mo));
		break;
	}
	base += first * PAGE_SIZE;
	if (base + size < base)
		want = -EINVAL;
	S.exact = sel & 0x10;
	fl = S.exact ? FNMM_NO_PERCPU : 0;
	S.base = create_checked("split", 0, base, size, mo_arg, NULL, fl, want,
				inject);
	if (!S.base && inject)
		S.base = create_checked("split", 0, base, size, mo_arg, NULL,
					fl, want, 0);
	if (!S.base) {		/* refused as it should be: a valid one */
		base = 1ULL << 32;
		first = 0;
		S.base = create_checked("split", 0, base, size, mo_arg, NULL,
					fl, 0, 0);
	}
	S.btype = B_SPLIT;
	S.bbase = base;
	S.bsize = size;
	S.gran = PAGE_SIZE;
	S.nunits = n;
	S.mo = mo;
	S.first = first;
}

/*
 * A base for a range of @unit-sized units, by @how (its low 2 bits) from
 * the random @hi: MiB-aligned, aligned to the unit only, any multiple of
 * the unit, or at the top of the address space.
 */
static u64 unit_base(unsigned int how, u64 hi, u64 unit)
{
	switch (how % 4) {
	case 0:
		return (hi & 0xffff) << 20;
	case 1:		/* unit-aligned only */
		return ((hi & 0xffff) << 20) + unit * (hi >> 16 & 0xff);
	case 2:
		return (hi << 24) & ~(unit - 1);
	default:	/* at the top of the address space */
		return -((1 + (hi & 3)) << 24);
	}
}

static void create_bit(unsigned int inject, bool for_pool)
{
	u8 sel = rd(1);
	u64 chunk, n = 1 + rd(2) % MAX_UNITS, base, size;
	u64 hi = rd(4);
	unsigned int fl;
	int want = 0;

	switch (sel % 8) {
	case 0: case 1: case 2:
		chunk = 64;
		break;
	case 6:
		chunk = 1ULL << (sel >> 3) % 17;
		break;
	default:
		chunk = 4096;
		break;
	}
	size = n * chunk;
	base = unit_base(sel >> 3, hi, chunk);
	if (base + size < base)
		want = -EINVAL;
	/* sel's top bit, where no chunk size is read from it */
	S.exact = sel % 8 != 6 && sel & 0x80;
	fl = S.exact ? FNMM_NO_PERCPU : 0;
	S.base = create_checked("bit", 1, base, size, chunk, NULL, fl, want,
				inject);
	if (!S.base && inject)
		S.base = create_checked("bit", 1, base, size, chunk, NULL, fl,
					want, 0);
	if (!S.base) {
		base = 1ULL << 32;
		S.base = create_checked("bit", 1, base, size, chunk, NULL, fl,
					0, 0);
	}
	S.btype = B_BIT;
	S.bbase = base;
	S.bsize = size;
	S.gran = chunk;
	S.nunits = n;
	(void)for_pool;
}

static void create_pool(unsigned int inject)
{
	unsigned int min_shift = FNMM_POOL_MIN_SHIFT + rd(1) % 9;
	unsigned int max_shift = min_shift + rd(1) % (PAGE_SHIFT - min_shift);
	int want = 0;

	/* A parent whose free pages might not be aligned pages is refused. */
	if (S.bbase % PAGE_SIZE || S.bsize % PAGE_SIZE || S.gran != PAGE_SIZE)
		want = -EINVAL;
	S.pool = create_checked("pool", 2, 0, 0, min_shift, S.base, max_shift,
				want, inject);
	if (!S.pool && inject && !want)
		S.pool = create_checked("pool", 2, 0, 0, min_shift, S.base,
					max_shift, want, 0);
	S.min_shift = min_shift;
	S.max_shift = max_shift;
}

/* ---------------------------------------------------------------- */
/* Bubble: an arena of its own, against a model of its top.          */

static struct {
	struct fnmm_allocator *a;
	u64 base, size, gran, top, objs;
	u64 obj[MAX_LIVE];	/* starts of objects handed out (some) */
	unsigned int nobj;
	unsigned long *occ;
} B;

/* The arena's state equals the model's. */
static void bubble_verify(const char *what)
{
	u64 n = B.size / B.gran, i;

	if (API(fnmm_check(B.a)))
		fail("bubble %s: check fails", what);
	if (API(fnmm_available(B.a)) != B.size - B.top ||
	    API(fnmm_largest(B.a)) != B.size - B.top)
		fail("bubble %s: available %#llx largest %#llx, model %#llx",
		     what, API(fnmm_available(B.a)), API(fnmm_largest(B.a)),
		     B.size - B.top);
	if (API(fnmm_bubble_allocations(B.a)) != B.objs)
		fail("bubble %s: %llu objects, model %llu", what,
		     API(fnmm_bubble_allocations(B.a)), B.objs);
	if (B.occ && !(S.step % 16)) {
		memset(B.occ, 0, BITS_TO_LONGS(n) * sizeof(long));
		if (API(fnmm_occupancy(B.a, B.occ)))
			fail("bubble occupancy");
		for (i = 0; i < n; i++)
			if (!!test_bit(i, B.occ) != (i < B.top / B.gran))
				fail("bubble occupancy: granule %llu", i);
	}
}

static void bubble_alloc(void)
{
	u8 sel = rd(1);
	u64 size, align = 0, al, pad, want_at = 0;
	struct fnmm_range r = { .address = 0xdeadbeef };
	int want, ret;

	switch (sel % 8) {
	case 0:
		size = B.size - B.top;		/* largest */
		break;
	case 1:
		size = B.size - B.top + 1 + rd(1) % 2 * (B.gran - 1);
		break;
	case 2:
		size = rd(1) ? rd(4) : 0;
		break;
	default:
		size = 1 + rd(2) % (B.gran * 4);
		break;
	}
	switch (sel >> 3 & 7) {
	case 0: case 1: case 2:
		break;
	case 3:
		align = 3 * (1 + rd(1) % 16);	/* not a power of two */
		break;
	case 4:
		align = B.size << (rd(1) % 2);	/* the size, or above */
		break;
	default:
		align = 1ULL << rd(1) % 20;
		break;
	}
	r.size = size;
	r.alignment = align;
	al = max(align, B.gran);
	pad = (al - ((B.base + B.top) & (al - 1))) & (al - 1);
	if (!size || (align && (align & (align - 1))))
		want = -EINVAL;
	else if (size > B.size)
		want = -E2BIG;
	else if (al > B.size)
		want = -EINVAL;
	else if (pad > B.size - B.top ||
		 (size + B.gran - 1) / B.gran * B.gran > B.size - B.top - pad)
		want = -ENOMEM;
	else
		want = 0, want_at = B.base + B.top + pad;
	ret = API(fnmm_allocate(B.a, &r));
	count(O_ALLOC, ret);
	trace("bubble allocate size %#llx align %#llx -> %s %#llx", size,
	      align, ename(ret), r.address);
	if (ret != want)
		fail("bubble allocate(size %#llx, align %#llx) = %s, want %s",
		     size, align, ename(ret), ename(want));
	if (ret) {
		bubble_verify("refused allocate");
		return;
	}
	if (r.address != want_at)
		fail("bubble allocate(size %#llx, align %#llx) at %#llx, want %#llx",
		     size, align, r.address, want_at);
	B.top += pad + (size + B.gran - 1) / B.gran * B.gran;
	B.objs++;
	if (B.nobj < MAX_LIVE)
		B.obj[B.nobj++] = r.address;
	else
		B.obj[rd(1) % MAX_LIVE] = r.address;
}

static void bubble_release(void)
{
	u8 sel = rd(1);
	u64 addr;
	int want, ret;

	switch (sel % 4) {
	case 0:		/* an object: never alone */
		if (!B.nobj)
			return;
		addr = B.obj[rd(1) % B.nobj];
		want = -EOPNOTSUPP;
		break;
	case 1:		/* a granule at or above the top: never handed out */
		if (B.top == B.size)
			return;
		addr = B.base + B.top + rd(2) % ((B.size - B.top) / B.gran) *
		       B.gran;
		want = -ENOENT;
		break;
	case 2:		/* off the granule */
		addr = B.base + rd(2) % B.size;
		want = addr % B.gran ? -EINVAL :
		       addr - B.base < B.top ? -EOPNOTSUPP : -ENOENT;
		break;
	default:	/* outside */
		addr = sel & 0x80 ? B.base + B.size + rd(1) : B.base - 1 - rd(1);
		want = -EINVAL;
		break;
	}
	ret = API(fnmm_release(B.a, addr));
	count(O_RELEASE, ret);
	trace("bubble release %#llx -> %s", addr, ename(ret));
	if (ret != want)
		fail("bubble release(%#llx) = %s, want %s", addr, ename(ret),
		     ename(want));
}

/*
 * A Bubble arena: created (bad arguments refused with -EINVAL, a failing
 * kmalloc with -ENOMEM, nothing leaked), then allocations with every
 * kind of size and alignment (each address predicted), releases (refused:
 * -EOPNOTSUPP, -ENOENT or -EINVAL), resets, alloc_size, the state checked
 * against the model after every step, destroyed.
 */
static void fuzz_bubble(unsigned int inject)
{
	u8 sel = rd(1);
	u64 gran = 8ULL << (sel % 10), units = 1 + rd(2) % MAX_UNITS;
	u64 hi = rd(4), base, size = units * gran;
	int want = 0;

	base = unit_base(sel >> 4, hi, gran);
	if (gran > PAGE_SIZE || base + size < base)
		want = -EINVAL;
	if (sel & 0x40) {		/* a size not of whole granules */
		size += 1 + rd(1) % (gran - 1);
		want = -EINVAL;
	}
	if (inject)
		usim_kmalloc_fail_at = usim_kmalloc_calls + 1;
	B.a = API(fnmm_bubble_create(base, size, gran));
	if (inject) {
		if (usim_kmalloc_calls >= usim_kmalloc_fail_at && !want)
			want = -ENOMEM;
		usim_kmalloc_fail_at = 0;
	}
	count(O_CREATE, IS_ERR(B.a) ? PTR_ERR(B.a) : 0);
	trace("bubble create base %#llx size %#llx granule %#llx -> %s", base,
	      size, gran, ename(IS_ERR(B.a) ? PTR_ERR(B.a) : 0));
	if ((IS_ERR(B.a) ? PTR_ERR(B.a) : 0) != want)
		fail("bubble_create(%#llx, %#llx, %#llx) = %s, want %s", base,
		     size, gran, ename(IS_ERR(B.a) ? PTR_ERR(B.a) : 0),
		     ename(want));
	if (IS_ERR(B.a)) {
		if (want != -ENOMEM)
			return;
		B.a = API(fnmm_bubble_create(base, size, gran));
		if (IS_ERR(B.a))
			fail("bubble_create after the failed kmalloc: %s",
			     ename(PTR_ERR(B.a)));
	}
	B.base = base;
	B.size = size;
	B.gran = gran;
	B.top = B.objs = 0;
	B.nobj = 0;
	B.occ = calloc(BITS_TO_LONGS(units), sizeof(long));
	if (!B.occ)
		abort();
	bubble_verify("create");
	while (S.left && S.step < MAX_OPS) {
		u8 op = rd(1);

		S.step++;
		if (op < 160) {
			bubble_alloc();
		} else if (op < 224) {
			bubble_release();
		} else if (op < 232) {
			fnmm_bubble_reset(B.a);
			after_call("fnmm_bubble_reset(B.a)");
			trace("bubble reset");
			B.top = B.objs = 0;
			B.nobj = 0;
		} else {
			u64 addr = B.nobj ? B.obj[op % B.nobj] : B.base;

			if (API(fnmm_alloc_size(B.a, addr)))
				fail("bubble alloc_size(%#llx) not 0", addr);
		}
		bubble_verify("step");
	}
	fnmm_destroy(B.a);
	after_call("fnmm_destroy(B.a)");
	free(B.occ);
	B.occ = NULL;
}

/* ---------------------------------------------------------------- */

static void read_avoid(void)
{
	const char *s;
	bool known;

	if (usim_fuzz_trace < 0) {
		s = getenv("USIM_FUZZ_TRACE");
		usim_fuzz_trace = s && *s && *s != '0';
	}
	if (!usim_fuzz_avoid) {
		s = getenv("USIM_FUZZ_AVOID");
		usim_fuzz_avoid = s ? s : "";
	}
	known = strstr(usim_fuzz_avoid, "known");
	avoid_tail_page = known || strstr(usim_fuzz_avoid, "pool-tail-page");
	avoid_pool_largest = known || strstr(usim_fuzz_avoid, "pool-largest");
}

static void release_all(bool reverse)
{
	while (S.nlive) {
		int i = reverse ? S.nlive - 1 : 0;

		S.step++;
		if (S.live[i].direct)
			op_base_release(S.live[i].addr);
		else
			op_pool_release(S.live[i].addr);
		verify();
	}
}

static void finish(bool drop, bool reverse)
{
	struct fnmm_range r;
	u64 v;
	int ret;

	if (drop) {	/* destroy with allocations live */
		if (S.pool) {
			u64 direct = 0;
			int i;

			API((fnmm_destroy(S.pool), 0));
			S.pool = NULL;
			for (i = 0; i < S.nlive; i++)
				if (S.live[i].direct)
					direct += S.live[i].size;
			v = API(fnmm_available(S.base));
			if (v != S.bsize - direct)
				fail("pool destroyed: parent available %#llx, "
				     "want %#llx", v, S.bsize - direct);
			if (API(fnmm_check(S.base)))
				fail("pool destroyed: parent check fails");
		}
		API((fnmm_destroy(S.base), 0));
		S.base = NULL;
		return;
	}
	release_all(reverse);
	if (S.pool) {
		u64 held = API(fnmm_pool_held(S.pool));

		if (API(fnmm_available(S.pool)) != held)
			fail("all released: pool available != held");
		op_pool_trim();
		verify();
		if (API(fnmm_pool_held(S.pool)) || API(fnmm_available(S.pool)))
			fail("trimmed: pool still holds or offers memory");
	}
	v = API(fnmm_available(S.base));
	if (v != S.bsize)
		fail("all released: available %#llx, initially %#llx", v,
		     S.bsize);
	v = API(fnmm_largest(S.base));
	if (v != S.initial_largest)
		fail("all released: largest %#llx, initially %#llx", v,
		     S.initial_largest);
	r = (struct fnmm_range){ .size = v };
	ret = API(fnmm_allocate(S.base, &r));
	if (ret)
		fail("all released: allocate(largest %#llx) = %s", v,
		     ename(ret));
	if (API(fnmm_release(S.base, r.address)))
		fail("all released: release of the largest failed");
	if (S.pool) {
		v = API(fnmm_largest(S.pool));
		if (v) {
			S.step++;
			op_pool_alloc(v, 0, false);
			release_all(false);
			op_pool_trim();
			verify();
		}
		API((fnmm_destroy(S.pool), 0));
		S.pool = NULL;
	}
	API((fnmm_destroy(S.base), 0));
	S.base = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long live0 = usim_kmalloc_live;
	u8 hdr;
	bool pool;
	unsigned int inject;

	read_avoid();
	usim_cpu = 0;
	memset(&S, 0, sizeof(S));
	S.in = data;
	S.left = size;
	hdr = rd(1);
	pool = hdr & 2;
	inject = hdr & 0x30 ? (hdr >> 4 & 3) : 0;
	if (!(hdr & 0x0c))	/* a quarter of the inputs */
		inject = 0;
	if (hdr & 0x40)
		invalid_creates();
	/* Without 0x0c, 0x30 chose nothing: both set, a Bubble arena. */
	if (!(hdr & 0x0c) && (hdr & 0x30) == 0x30) {
		fuzz_bubble(hdr & 0x80);
		if (usim_kmalloc_live != live0)
			fail("bubble destroyed: %ld kmalloc'd object(s) leaked",
			     usim_kmalloc_live - live0);
		return 0;
	}
	if (hdr & 1)
		create_bit(inject, pool);
	else
		create_split(inject);
	S.initial_largest = API(fnmm_largest(S.base));
	/* exactly sized, so that ASan sees a write past it */
	S.occ = calloc(BITS_TO_LONGS(S.nunits), sizeof(long));
	if (!S.occ)
		abort();
	if (pool)
		create_pool(inject);
	if (S.pool)
		S.npg = (S.bsize + PAGE_SIZE - 1) / PAGE_SIZE;
	verify();
	if (S.initial_largest != base_model_largest())
		fail("initial largest %#llx, model %#llx", S.initial_largest,
		     base_model_largest());
	if (API(fnmm_available(S.base)) != S.bsize)
		fail("initial available != size");
	while (S.left && S.step < MAX_OPS) {
		S.step++;
		do_op();
		verify();
	}
	S.step++;
	finish(hdr & 0x80 && !(hdr & 0x0c), hdr & 0x04);
	free(S.occ);
	if (usim_kmalloc_live != live0)
		fail("destroyed: %ld kmalloc'd object(s) leaked",
		     usim_kmalloc_live - live0);
	return 0;
}

void usim_fuzz_print_stats(FILE *f);

void usim_fuzz_print_stats(FILE *f)
{
	unsigned int op, i;

	for (op = 0; op < O_NR; op++) {
		fprintf(f, "# %-16s", op_names[op]);
		for (i = 0; i < R_NR; i++)
			fprintf(f, " %s=%lu", ename(res_errno[i]),
				stats[op][i]);
		fputc('\n', f);
	}
}
