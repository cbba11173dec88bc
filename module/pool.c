// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the Pool allocator.
 *
 * As FreeNOS's PoolAllocator: objects of power-of-two size classes are
 * carved out of blocks obtained from a parent allocator (Split or Bit).
 * Each slab, one block of the parent, holds objects of one class and a
 * bitmap of them, 1 = used, kept outside the managed memory.  A slab is
 * one page for classes a page holds 16 of, else the pages that hold 32,
 * at most 8 (4 KiB pages: 512 B in 4 pages, 1 and 2 KiB in 8, 16-32
 * objects, as SLUB sizes kmalloc-512 to -2k), aligned to its size; when
 * the parent has no such block, the largest smaller one it has (2 pages
 * only that way).  So a class of big objects sets up a slab per 16-32
 * objects, not per 2-4.
 *
 * Finding an address's slab: an xarray indexed by the parent's page
 * number holds each slab at its first page; the slab of an address is
 * the first one found walking down from its page, at most 7 pages (one
 * tree walk, then a slot read per step within a leaf; a step into the
 * previous leaf, or below an empty part of the tree, walks again: at
 * most 8 walks).  Before that, a release on a CPU that allocated from
 * the pool tries the slab its last lookup there found (a hint: objects
 * go back in runs from one slab), which costs no tree walk at all.
 *
 * Per CPU: a pool is one sub-pool per CPU that allocates from it (made
 * on that CPU's first allocation), each with its own lock, class lists,
 * spare, stash and counters, as per-CPU arenas.  An allocation takes
 * its CPU's sub-pool; a slab belongs to the sub-pool that made it for
 * its whole life, and a release takes the lock of the slab's owner
 * (found through the hint or the xarray without a lock, under RCU).  So
 * threads on different CPUs that release their own objects share no
 * lock (only freeing a descriptor reads every CPU's hint); an object
 * released on another CPU costs that CPU's lock, as a remote free.  On
 * one CPU a pool behaves exactly as one sub-pool.
 *
 * Descriptors are type-stable for the lockless readers: a slab leaves
 * the xarray marked dead under its owner's lock, and its descriptor goes
 * to the owner's stash (at most POOL_STASH_MAX) for its next slab, else
 * is freed after a grace period, hints to it cleared first.  A reader
 * may thus hold a descriptor that is dead or already carves up another
 * block of the same sub-pool: it checks, under the owner's lock, that
 * the slab is alive and holds the address (pool_obj()); slabs never
 * overlap, so a live slab holding the address is that address's slab.
 *
 * A slab that becomes empty goes back to the parent at once, except one
 * slab per sub-pool (at most 8 pages) kept as a spare, of no class: any
 * class whose objects its bitmap can count takes it (the bitmap holds a
 * page of the smallest objects, 512 at 4 KiB: an 8-page spare serves
 * 64 B and up), so that an alloc/free pair does not bounce a slab
 * through the parent each time.  The spare is kept only while the
 * sub-pool has live objects: releasing its last object gives every
 * block of it back, so an idle pool holds no page (only its stashed
 * descriptors).  The last slab to go leaves a marker in its xarray slot
 * (pool_marker()), which lookups skip: the tree's nodes stay, and the next
 * slab, most often the same block back, takes the slot over with no
 * node to allocate (an emptied xarray frees its nodes after a grace
 * period: an alloc/free pair on an idle pool used to make and free them
 * every time).  fnmm_pool_trim() returns the spares and the stashes, and
 * removes the markers, at any time.
 *
 * Cost: allocate O(1) when its class has room or there is a spare (first
 * slab on the class's partial list, first free bit among at most 512),
 * else at most 4 parent allocations (8, 4, 2, 1 pages) and an xarray
 * reservation made with the lock dropped (at most 3 xarray operations,
 * pool_claim()); release O(1) on a hint hit,
 * else O(log n) in the slabs held (one xarray walk and at most 7 steps,
 * at most 8 walks),
 * plus one parent release when a slab goes back; available() and held
 * O(CPUs); largest() (what this CPU's next allocation gets) O(classes);
 * check() O(CPUs x slabs held); freeing a descriptor O(CPUs) (its hints);
 * trim O(CPUs^2).
 * Metadata: a pointer per possible CPU, a sub-pool (about 430 bytes) per
 * CPU that allocated, a 128-byte descriptor per slab held and per stashed
 * one (at most 32 per sub-pool, 4 KiB), and the xarray's nodes down to
 * each sub-pool's marker (at most one leaf and its ancestors each).  The
 * price of giving an idle pool's last block back: an alloc/free pair on
 * an otherwise empty pool takes and returns a block every time, about
 * 5-6x a pair with an object live (make bench: "64 B" against "64 B,
 * one live").
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include "fnmm_alloc.h"

#define POOL_NR_CLASSES	(PAGE_SHIFT - FNMM_POOL_MIN_SHIFT)
/* A slab is at most 2^3 pages, and holds up to 32 objects of its class. */
#define POOL_SLAB_MAX_ORDER	3
#define POOL_SLAB_OBJS		32
/* Classes with fewer objects per page than this get multi-page slabs. */
#define POOL_SLAB_MIN_PAGE_OBJS	16
/*
 * Objects a slab's bitmap counts: a page of the smallest class (512 at
 * 4 KiB), so a descriptor is 128 bytes; a class of smaller objects than
 * a spare's size allows (8 pages: below 64 B) makes a slab of its own.
 */
#define POOL_MAP_BITS		(PAGE_SIZE >> FNMM_POOL_MIN_SHIFT)
/* Descriptors a sub-pool keeps for its next slabs (128 bytes each). */
#define POOL_STASH_MAX		32
#define POOL_NO_PARK		ULONG_MAX

struct pool_cpu;

/*
 * A slab's descriptor.  Looked up without a lock (pool_lookup()), and
 * reused for the owner's next slabs (its stash), so a reader may find it
 * dead or carving up another block: addr and order change only while
 * dead, as WRITE_ONCE for the lockless reader, and every reader checks
 * dead and the address under the owner's lock.
 */
struct pool_slab {
	/* on a class's partial or full list, or the owner's stash */
	struct list_head node;
	struct rcu_head rcu;
	struct pool_cpu *owner;	/* its sub-pool, for its whole life */
	u64 addr;		/* the parent block it carves up */
	u16 inuse;
	u16 nobj;		/* objects of its class it holds */
	u8 order;		/* of that block: 2^order pages, aligned */
	u8 cls;
	bool dead;		/* out of the xarray: stashed or freed */
	/* 1 = object in use */
	unsigned long map[BITS_TO_LONGS(POOL_MAP_BITS)];
};

struct pool_class {
	struct list_head partial;	/* slabs with used and free objects */
	struct list_head full;		/* slabs with no free object */
	unsigned int shift;		/* log2(object size) */
	unsigned int order;		/* of the slabs it asks the parent for */
};

/* One CPU's part of a pool. */
struct pool_cpu {
	/*
	 * protects cls[], spare, stash, nstash, the fields of the slabs it
	 * owns, free_bytes, held, nallocs, and its slabs' entries in the
	 * pool's xarray
	 */
	spinlock_t lock;
	struct pool_slab *spare;	/* one empty slab of no class, or NULL */
	struct list_head stash;		/* dead descriptors, for new slabs */
	unsigned int nstash;		/* at most POOL_STASH_MAX */
	/*
	 * index of its marker (pool_marker()), or POOL_NO_PARK; written
	 * with WRITE_ONCE: pool_new_slab() reads it as a hint
	 */
	unsigned long parked;
	unsigned int cpu;		/* its index in fnmm_pool.cpu[] */
	/*
	 * The slab the last lookup on this CPU found, or NULL: a cache for
	 * the next release (objects go back in runs from one slab), read
	 * and set without a lock (set only with the slab's owner's lock
	 * held and the slab alive), checked like any lookup's result, and
	 * cleared (pool_forget()) before its descriptor is freed.
	 */
	struct pool_slab *hint;
	/* written with WRITE_ONCE: available() and held read them unlocked */
	u64 free_bytes;			/* free object bytes in its slabs */
	u64 held;			/* bytes of parent pages it holds */
	unsigned long nallocs;
	struct pool_class cls[POOL_NR_CLASSES];
};

struct fnmm_pool {
	struct fnmm_allocator a;
	struct fnmm_allocator *parent;
	struct xarray slabs;		/* parent page index -> its slab */
	unsigned int min_shift;
	unsigned int max_shift;
	unsigned int ncpus;
	struct pool_cpu *cpu[];		/* per CPU, NULL until it allocates */
};

static inline struct fnmm_pool *to_pool(struct fnmm_allocator *a)
{
	return container_of(a, struct fnmm_pool, a);
}

/*
 * What the last slab of sub-pool @pc, gone back to the parent, leaves in
 * its xarray slot: a value entry naming @pc, so that the tree's nodes on
 * the way to it stay (an emptied tree frees them, and a pair on an idle
 * pool would make and free them each time).  Lookups and walks skip it.
 * Only @pc makes one (its lock held, while it still owns the block) or
 * removes one of its own (pool_unpark()); the block's next owner in the
 * pool turns whatever marker is there into its reservation
 * (pool_claim()).  So a sub-pool has at most one marker, at its
 * pc->parked, which pool_check() verifies under its lock.
 */
static inline void *pool_marker(const struct pool_cpu *pc)
{
	return xa_mk_value(pc->cpu);
}

static inline unsigned long pool_pidx(struct fnmm_pool *p, u64 addr)
{
	return (addr - p->parent->base) >> PAGE_SHIFT;
}

static inline u64 slab_bytes(const struct pool_slab *slab)
{
	return PAGE_SIZE << slab->order;
}

/* Can @slab's bitmap count every object of 2^@shift bytes in it? */
static inline bool slab_fits(const struct pool_slab *slab, unsigned int shift)
{
	return slab_bytes(slab) >> shift <= POOL_MAP_BITS;
}

/*
 * slab_holds() without a lock, for a lookup: @slab may be dead or moving
 * (its fields read once each); pool_obj() decides under the lock.
 */
static inline bool slab_may_hold(const struct pool_slab *slab, u64 addr)
{
	return addr - READ_ONCE(slab->addr) <
	       (PAGE_SIZE << READ_ONCE(slab->order));
}

/* Does @slab (live: its owner's lock held) carve up @addr? */
static inline bool slab_holds(const struct pool_slab *slab, u64 addr)
{
	return addr - slab->addr < slab_bytes(slab);
}

/*
 * The order of the slabs of objects of 2^@shift bytes: one page while a
 * page holds POOL_SLAB_MIN_PAGE_OBJS of them, else the pages that hold
 * POOL_SLAB_OBJS, at most 2^POOL_SLAB_MAX_ORDER (4 KiB pages: 512 B in 4
 * pages, 1 and 2 KiB in 8, as SLUB sizes kmalloc-512 to kmalloc-2k).
 */
static unsigned int pool_slab_order(unsigned int shift)
{
	unsigned int per_page = PAGE_SIZE >> shift;

	if (per_page >= POOL_SLAB_MIN_PAGE_OBJS)
		return 0;
	return min_t(unsigned int, POOL_SLAB_MAX_ORDER,
		     ilog2(POOL_SLAB_OBJS / per_page));
}

/* A descriptor from @pc's stash, or NULL; its lock held. */
static struct pool_slab *pool_stash_take(struct pool_cpu *pc)
{
	struct pool_slab *slab;

	slab = list_first_entry_or_null(&pc->stash, struct pool_slab, node);
	if (slab) {
		list_del(&slab->node);
		pc->nstash--;
	}
	return slab;
}

/*
 * A descriptor is about to be freed: no CPU's hint may name it after
 * the grace period.  Hints are set under the owner's lock while the
 * slab lives, and it died under that lock before this: O(CPUs).
 */
static void pool_forget(struct fnmm_pool *p, struct pool_slab *slab)
{
	struct pool_cpu *pc;
	unsigned int c;

	for (c = 0; c < p->ncpus; c++) {
		pc = READ_ONCE(p->cpu[c]);
		if (pc && READ_ONCE(pc->hint) == slab)
			cmpxchg(&pc->hint, slab, NULL);
	}
}

/* Put a dead descriptor back on @pc's stash, or free it; lock held. */
static void pool_stash_put(struct fnmm_pool *p, struct pool_cpu *pc,
			   struct pool_slab *slab)
{
	if (pc->nstash < POOL_STASH_MAX) {
		list_add(&slab->node, &pc->stash);
		pc->nstash++;
	} else {
		pool_forget(p, slab);
		kfree_rcu(slab, rcu);
	}
}

/*
 * Reserve the slot of the block at page @idx, just taken from the parent
 * (so nobody else can leave a marker there now; one left before may be
 * removed meanwhile by the sub-pool that left it): a reservation made,
 * or a marker found there turned into one; no lock held.  @mine: a
 * marker likely there (this sub-pool's own: an empty pair gets its block
 * back), tried first, or NULL.  Two tries at most: once the marker is
 * gone, none comes back.
 * Return: 0 or -ENOMEM.
 */
static int pool_claim(struct fnmm_pool *p, unsigned long idx, void *mine)
{
	void *old;

	if (mine && xa_cmpxchg(&p->slabs, idx, mine, XA_ZERO_ENTRY, 0) == mine)
		return 0;
	for (;;) {
		old = xa_cmpxchg(&p->slabs, idx, NULL, XA_ZERO_ENTRY,
				 GFP_KERNEL_ACCOUNT);
		if (!xa_is_value(old))
			return xa_err(old);	/* reserved: NULL */
		if (xa_cmpxchg(&p->slabs, idx, old, XA_ZERO_ENTRY, 0) == old)
			return 0;
	}
}

/* Remove @pc's marker, if it is still there; lock held. */
static void pool_unpark(struct fnmm_pool *p, struct pool_cpu *pc)
{
	if (pc->parked != POOL_NO_PARK)
		xa_cmpxchg(&p->slabs, pc->parked, pool_marker(pc), NULL, 0);
	WRITE_ONCE(pc->parked, POOL_NO_PARK);
}

/*
 * Get a block of 2^@order pages from the parent, aligned to its size,
 * else the largest smaller one it has (down to a page: the parent's
 * error for that is the answer), a descriptor for it (@slab, dead, from
 * the stash; else a new one) and its xarray slot; no lock held.  Return:
 * the slab, still dead (pool_install() brings it to life), or an ERR_PTR
 * (@slab then untouched, for the caller to stash again).
 */
static struct pool_slab *pool_new_slab(struct fnmm_pool *p,
				       struct pool_cpu *pc,
				       unsigned int order,
				       struct pool_slab *slab)
{
	struct pool_slab *made = NULL;
	struct fnmm_range r;
	unsigned long idx;
	int ret;

	if (!slab) {
		made = kzalloc(sizeof(*made), GFP_KERNEL_ACCOUNT);
		if (!made)
			return ERR_PTR(-ENOMEM);
		made->dead = true;
		made->owner = pc;
		slab = made;
	}
	for (;; order--) {
		r = (struct fnmm_range){ .size = PAGE_SIZE << order,
					 .alignment = PAGE_SIZE << order };
		ret = fnmm_allocate(p->parent, &r);
		if (!ret || !order)
			break;
	}
	if (ret)
		goto err;
	idx = pool_pidx(p, r.address);
	ret = pool_claim(p, idx, pc && READ_ONCE(pc->parked) == idx ?
			 pool_marker(pc) : NULL);
	if (ret) {
		fnmm_release(p->parent, r.address);
		goto err;
	}
	WRITE_ONCE(slab->addr, r.address);
	WRITE_ONCE(slab->order, order);
	slab->inuse = 0;
	bitmap_zero(slab->map, POOL_MAP_BITS);
	return slab;
err:
	kfree(made);	/* never published */
	return ERR_PTR(ret);
}

/* Give back a slab never published (not in the xarray); no lock held. */
static void pool_discard(struct fnmm_pool *p, struct pool_slab *slab)
{
	xa_release(&p->slabs, pool_pidx(p, slab->addr));
	WARN_ON_ONCE(fnmm_release(p->parent, slab->addr));
	pool_forget(p, slab);	/* a stashed one may have lived before */
	kfree_rcu(slab, rcu);
}

/*
 * The first allocation on CPU @cpu, for slabs of @order: a slab for it
 * first, then its sub-pool, so that a failure leaves nothing behind.
 * Return: the sub-pool (another task's, if one on this CPU made it
 * meanwhile) with the slab in *@freshp, or an ERR_PTR.
 */
static struct pool_cpu *pool_cpu_first(struct fnmm_pool *p, unsigned int cpu,
				       unsigned int order,
				       struct pool_slab **freshp)
{
	struct pool_slab *fresh = pool_new_slab(p, NULL, order, NULL);
	struct pool_cpu *pc, *old;
	unsigned int c;

	if (IS_ERR(fresh))
		return ERR_CAST(fresh);
	pc = kzalloc(sizeof(*pc), GFP_KERNEL_ACCOUNT);
	if (!pc) {
		pool_discard(p, fresh);
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&pc->lock);
	INIT_LIST_HEAD(&pc->stash);
	pc->parked = POOL_NO_PARK;
	pc->cpu = cpu;
	for (c = 0; c <= p->max_shift - p->min_shift; c++) {
		INIT_LIST_HEAD(&pc->cls[c].partial);
		INIT_LIST_HEAD(&pc->cls[c].full);
		pc->cls[c].shift = p->min_shift + c;
		pc->cls[c].order = pool_slab_order(p->min_shift + c);
	}
	/* Published whole (cmpxchg orders the stores above before it). */
	old = cmpxchg(&p->cpu[cpu], NULL, pc);
	if (old) {
		kfree(pc);
		pc = old;
	}
	fresh->owner = pc;
	*freshp = fresh;
	return pc;
}

/* Does class @cl have room, in a slab of its own or the spare? */
static bool pool_has_room(struct pool_cpu *pc, struct pool_class *cl)
{
	return !list_empty(&cl->partial) ||
	       (pc->spare && slab_fits(pc->spare, cl->shift));
}

/*
 * Install a fresh slab (of a size class @cl can use) as the spare, or as
 * a slab of @cl if there is a spare @cl cannot use, or hand it back;
 * lock held.
 */
static struct pool_slab *pool_install(struct fnmm_pool *p,
				      struct pool_cpu *pc,
				      struct pool_class *cl,
				      struct pool_slab *slab)
{
	if (pool_has_room(pc, cl))
		return slab;	/* raced: someone else refilled the class */
	slab->dead = false;
	/* The slot was reserved: storing allocates nothing. */
	xa_store(&p->slabs, pool_pidx(p, slab->addr), slab, GFP_NOWAIT);
	WRITE_ONCE(pc->held, pc->held + slab_bytes(slab));
	WRITE_ONCE(pc->free_bytes, pc->free_bytes + slab_bytes(slab));
	if (!pc->spare) {
		pc->spare = slab;
		return NULL;
	}
	slab->cls = cl - pc->cls;
	slab->nobj = slab_bytes(slab) >> cl->shift;
	list_add(&slab->node, &cl->partial);
	return NULL;
}

/*
 * Take an empty slab out of the pool, its descriptor to the stash (or
 * freed); lock held.  The sub-pool's last slab leaves a marker in its
 * slot, in place of the sub-pool's last marker (an empty pair then finds
 * the tree's nodes still there); any other slot is erased.  Return: its
 * block, for the caller to give back to the parent once the lock is
 * dropped.
 */
static u64 pool_unlink(struct fnmm_pool *p, struct pool_cpu *pc,
		       struct pool_slab *slab)
{
	u64 addr = slab->addr;	/* a stashed descriptor moves on */
	unsigned long idx = pool_pidx(p, addr);

	if (pc->held > slab_bytes(slab)) {
		xa_erase(&p->slabs, idx);
	} else {
		if (pc->parked != idx)
			pool_unpark(p, pc);
		/* Over an entry: no node to make, nothing to allocate. */
		xa_store(&p->slabs, idx, pool_marker(pc), GFP_NOWAIT);
		WRITE_ONCE(pc->parked, idx);
	}
	slab->dead = true;
	WRITE_ONCE(pc->held, pc->held - slab_bytes(slab));
	WRITE_ONCE(pc->free_bytes, pc->free_bytes - slab_bytes(slab));
	pool_stash_put(p, pc, slab);
	return addr;
}

static int pool_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	struct fnmm_pool *p = to_pool(a);
	unsigned int shift = max_t(unsigned int, p->min_shift,
				   order_base_2(range->size));
	struct pool_slab *slab, *fresh = NULL;
	struct pool_class *cl;
	struct pool_cpu *pc;
	unsigned int obj, cpu;

	if (range->alignment >= PAGE_SIZE)
		return -EINVAL;
	if (range->alignment)
		shift = max_t(unsigned int, shift, ilog2(range->alignment));
	if (shift > p->max_shift)
		return -E2BIG;
	/* This CPU's sub-pool (any will do: the hint may be stale at once). */
	cpu = raw_smp_processor_id();	/* below nr_cpu_ids = p->ncpus */
	pc = READ_ONCE(p->cpu[cpu]);
	if (unlikely(!pc)) {
		pc = pool_cpu_first(p, cpu, pool_slab_order(shift), &fresh);
		if (IS_ERR(pc))
			return PTR_ERR(pc);
	}
	cl = &pc->cls[shift - p->min_shift];

	spin_lock(&pc->lock);
	while (!pool_has_room(pc, cl)) {
		if (!fresh) {
			slab = pool_stash_take(pc);
			spin_unlock(&pc->lock);
			fresh = pool_new_slab(p, pc, cl->order, slab);
			if (IS_ERR(fresh)) {
				if (slab) {
					spin_lock(&pc->lock);
					pool_stash_put(p, pc, slab);
					spin_unlock(&pc->lock);
				}
				return PTR_ERR(fresh);
			}
			spin_lock(&pc->lock);
		}
		fresh = pool_install(p, pc, cl, fresh);
		if (fresh) {
			spin_unlock(&pc->lock);
			pool_discard(p, fresh);
			fresh = NULL;
			spin_lock(&pc->lock);
		}
	}
	if (list_empty(&cl->partial)) {
		slab = pc->spare;
		pc->spare = NULL;
		slab->cls = shift - p->min_shift;
		slab->nobj = slab_bytes(slab) >> shift;
		list_add(&slab->node, &cl->partial);
	}
	slab = list_first_entry(&cl->partial, struct pool_slab, node);
	obj = find_first_zero_bit(slab->map, slab->nobj);
	__set_bit(obj, slab->map);
	if (++slab->inuse == slab->nobj)
		list_move(&slab->node, &cl->full);
	WRITE_ONCE(pc->free_bytes, pc->free_bytes - (1UL << shift));
	pc->nallocs++;
	/*
	 * Under the lock: once it is dropped, a racing (double) release may
	 * empty the slab and its descriptor carve up another block.
	 */
	range->address = slab->addr + ((u64)obj << shift);
	spin_unlock(&pc->lock);
	/* Made for a sub-pool another task made first, which had room. */
	if (fresh)
		pool_discard(p, fresh);
	return 0;
}

/*
 * The object of @slab at @addr: its index in *@objp, or -ENOENT (the
 * slab dead or not @addr's, the spare, or not in use) or -EINVAL (not on
 * an object of its class).  The slab's owner's lock held.
 */
static int pool_obj(struct pool_cpu *pc, struct pool_slab *slab, u64 addr,
		    unsigned int *objp)
{
	unsigned int shift;
	u64 off;

	if (slab->dead || !slab_holds(slab, addr) || slab == pc->spare)
		return -ENOENT;
	shift = pc->cls[slab->cls].shift;
	off = addr - slab->addr;
	if (off & ((1UL << shift) - 1))
		return -EINVAL;
	if (off >> shift >= slab->nobj || !test_bit(off >> shift, slab->map))
		return -ENOENT;
	*objp = off >> shift;
	return 0;
}

/*
 * The slab holding @addr, or NULL, found without a lock.  The caller is
 * in an RCU section (a descriptor is freed after a grace period), takes
 * the slab's owner's lock before it leaves that section, and then checks
 * with pool_obj() that the slab is alive and still @addr's (a dead one,
 * stashed, may meanwhile carve up another block of the same sub-pool):
 * Release and alloc_size.
 *
 * A slab sits in the xarray at its first page only.  Slabs do not
 * overlap and are at most 2^POOL_SLAB_MAX_ORDER pages, so the only slab
 * that can hold @addr is the first one found walking down from @addr's
 * page, at most 7 pages: one walk of the tree, then steps to the left
 * (xas_prev()), a slot read each within a leaf, another walk when a step
 * leaves it (the index counts from the parent's base, so a slab's pages
 * may straddle two leaves): at most 8 walks.
 */
static struct pool_slab *pool_lookup(struct fnmm_pool *p, u64 addr)
{
	unsigned long idx = pool_pidx(p, addr);
	unsigned long lo = idx - min_t(unsigned long, idx,
				       (1UL << POOL_SLAB_MAX_ORDER) - 1);
	XA_STATE(xas, &p->slabs, idx);
	void *e = xas_load(&xas);

	for (;;) {
		if (xa_is_retry(e)) {	/* the tree changed under us */
			xas_reset(&xas);
			e = xas_load(&xas);
			continue;
		}
		/* zero: a slot reserved, no slab yet; a value: a marker */
		if (e && !xa_is_zero(e) && !xa_is_value(e))
			break;
		if (xas.xa_index == lo)
			return NULL;
		e = xas_prev(&xas);
	}
	return slab_may_hold(e, addr) ? e : NULL;
}

/*
 * This CPU's hint, if it may be @addr's slab (it may be dead: the caller
 * checks under the owner's lock, and asks pool_lookup() if that fails),
 * else NULL; in an RCU section.  *@herep: this CPU's sub-pool, or NULL.
 */
static struct pool_slab *pool_hinted(struct fnmm_pool *p, u64 addr,
				     struct pool_cpu **herep)
{
	struct pool_cpu *here = READ_ONCE(p->cpu[raw_smp_processor_id()]);
	struct pool_slab *slab = here ? READ_ONCE(here->hint) : NULL;

	*herep = here;
	return slab && slab_may_hold(slab, addr) ? slab : NULL;
}

/*
 * @slab, found by lookup, alive and its owner's lock held: the next
 * hint of @here (pool_forget() runs after it dies, under that lock).
 */
static void pool_hint(struct pool_cpu *here, struct pool_slab *slab)
{
	if (here && READ_ONCE(here->hint) != slab)
		WRITE_ONCE(here->hint, slab);
}

static bool pool_in_parent(struct fnmm_pool *p, u64 addr)
{
	return addr >= p->parent->base &&
	       addr - p->parent->base < p->parent->size;
}

/*
 * The object at @addr (in the parent): with @release, release it (0 or
 * pool_obj()'s error); else its size in *@sizep (0 if none).  One body
 * for both: find the slab, by the hint or by lookup, under its owner's
 * lock.
 */
static int pool_object(struct fnmm_pool *p, u64 addr, bool release,
		       u64 *sizep)
{
	struct pool_cpu *pc, *here;
	struct pool_slab *slab;
	struct pool_class *cl;
	unsigned int obj;
	unsigned int i, ngone = 0;
	u64 gone[2];
	bool looked;
	int ret;

	rcu_read_lock();
	slab = pool_hinted(p, addr, &here);
	for (looked = !slab;; looked = true) {
		if (looked)
			slab = pool_lookup(p, addr);
		if (!slab) {
			rcu_read_unlock();
			return -ENOENT;
		}
		pc = slab->owner;
		spin_lock(&pc->lock);
		ret = pool_obj(pc, slab, addr, &obj);
		if (!ret || looked)
			break;
		spin_unlock(&pc->lock);
	}
	rcu_read_unlock();	/* alive: it stays while the lock is held */
	if (ret)
		goto out;
	if (looked)
		pool_hint(here, slab);
	cl = &pc->cls[slab->cls];
	if (!release) {
		*sizep = 1ULL << cl->shift;
		goto out;
	}
	__clear_bit(obj, slab->map);
	if (slab->inuse-- == slab->nobj)
		list_move(&slab->node, &cl->partial);
	WRITE_ONCE(pc->free_bytes, pc->free_bytes + (1UL << cl->shift));
	pc->nallocs--;
	if (slab->inuse)
		goto out;
	/* Empty: keep it as the spare while the sub-pool is in use. */
	list_del(&slab->node);
	if (pc->nallocs && !pc->spare) {
		pc->spare = slab;
		goto out;
	}
	gone[ngone++] = pool_unlink(p, pc, slab);
	/* The sub-pool's last object: the spare goes back too. */
	if (!pc->nallocs && pc->spare) {
		gone[ngone++] = pool_unlink(p, pc, pc->spare);
		pc->spare = NULL;
	}
	spin_unlock(&pc->lock);
	for (i = 0; i < ngone; i++)
		WARN_ON_ONCE(fnmm_release(p->parent, gone[i]));
	return 0;
out:
	spin_unlock(&pc->lock);
	return ret;
}

static int pool_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_pool *p = to_pool(a);

	if (!pool_in_parent(p, addr))
		return -EINVAL;
	return pool_object(p, addr, true, NULL);
}

/* Sub-pool @c, or NULL if CPU @c never allocated. */
static struct pool_cpu *pool_cpu_at(struct fnmm_pool *p, unsigned int c)
{
	return READ_ONCE(p->cpu[c]);
}

/* The sum of one counter (@held, else free_bytes) over the sub-pools. */
static u64 pool_sum(struct fnmm_pool *p, bool held)
{
	struct pool_cpu *pc;
	unsigned int c;
	u64 n = 0;

	for (c = 0; c < p->ncpus; c++) {
		pc = pool_cpu_at(p, c);
		if (pc)
			n += held ? READ_ONCE(pc->held) :
				    READ_ONCE(pc->free_bytes);
	}
	return n;
}

static u64 pool_available(struct fnmm_allocator *a)
{
	return pool_sum(to_pool(a), false);
}

/*
 * The largest object an allocation made now on this CPU gets: from a
 * free page of the parent (its granule is a page: any makes a slab),
 * this CPU's spare, or a class of its sub-pool with room.  Other
 * sub-pools' room serves only their CPUs.
 */
static u64 pool_largest(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_cpu *pc;
	u64 ret = 0;
	int k;

	if (fnmm_available(p->parent) >= PAGE_SIZE)
		return 1ULL << p->max_shift;
	pc = pool_cpu_at(p, raw_smp_processor_id());
	if (!pc)
		return 0;
	spin_lock(&pc->lock);
	if (pc->spare)
		ret = 1ULL << p->max_shift;
	for (k = p->max_shift - p->min_shift; k >= 0 && !ret; k--)
		if (!list_empty(&pc->cls[k].partial))
			ret = 1ULL << pc->cls[k].shift;
	spin_unlock(&pc->lock);
	return ret;
}

static u64 pool_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_pool *p = to_pool(a);
	u64 size = 0;

	if (!pool_in_parent(p, addr) || pool_object(p, addr, false, &size))
		return 0;
	return size;
}

/* Count the slabs on @list, checking each; -1 if one is wrong. */
static long pool_check_list(struct fnmm_pool *p, struct pool_cpu *pc,
			    struct list_head *list, unsigned int c, bool full)
{
	struct pool_class *cl = &pc->cls[c];
	struct pool_slab *slab;
	long n = 0;

	list_for_each_entry(slab, list, node) {
		if (slab->cls != c || !slab->inuse || slab->owner != pc ||
		    slab->nobj != slab_bytes(slab) >> cl->shift ||
		    (slab->inuse == slab->nobj) != full ||
		    xa_load(&p->slabs, pool_pidx(p, slab->addr)) != slab)
			return -1;
		n++;
	}
	return n;
}

/*
 * One slab as the xarray has it at index @i: its block the parent's, of
 * its size, aligned, above @end (the end of the sub-pool's last slab),
 * found by pool_lookup() from its last byte, its count its bitmap's.
 */
static bool pool_slab_ok(struct fnmm_pool *p, struct pool_slab *slab,
			 unsigned long i, u64 end)
{
	return slab->cls < POOL_NR_CLASSES && !slab->dead &&
	       slab->order <= POOL_SLAB_MAX_ORDER &&
	       pool_pidx(p, slab->addr) == i && slab->addr >= end &&
	       IS_ALIGNED(slab->addr, slab_bytes(slab)) &&
	       fnmm_alloc_size(p->parent, slab->addr) == slab_bytes(slab) &&
	       pool_lookup(p, slab->addr + slab_bytes(slab) - 1) == slab &&
	       slab->nobj <= POOL_MAP_BITS &&
	       slab->inuse == bitmap_weight(slab->map, slab->nobj);
}

/* One sub-pool's slabs, lists, spare and counters; its lock held. */
static bool pool_cpu_ok(struct fnmm_pool *p, struct pool_cpu *pc)
{
	u64 slabs = 0, listed = 0, free = 0, objs = 0, held = 0, end = 0;
	struct pool_slab *slab, *sp;
	unsigned int c, markers = 0;
	unsigned long i;

	xa_for_each(&p->slabs, i, slab) {
		/* Its one marker, at parked: others may only take it over. */
		if (slab == pool_marker(pc) &&
		    (i != pc->parked || ++markers > 1))
			return false;
		if (xa_is_value(slab) || slab->owner != pc)
			continue;
		if (!pool_slab_ok(p, slab, i, end))
			return false;
		end = slab->addr + slab_bytes(slab);
		slabs++;
		held += slab_bytes(slab);
		objs += slab->inuse;
		free += slab == pc->spare ? slab_bytes(slab) :
			(u64)(slab->nobj - slab->inuse) <<
			pc->cls[slab->cls].shift;
	}
	for (c = 0; c <= p->max_shift - p->min_shift; c++) {
		long np = pool_check_list(p, pc, &pc->cls[c].partial, c, false);
		long nf = pool_check_list(p, pc, &pc->cls[c].full, c, true);

		if (np < 0 || nf < 0)
			return false;
		listed += np + nf;
	}
	/* The spare only while objects live, and empty. */
	sp = pc->spare;
	if (sp && (sp->inuse || !pc->nallocs || sp->owner != pc ||
		   xa_load(&p->slabs, pool_pidx(p, sp->addr)) != sp))
		return false;
	listed += !!sp;
	/* The stash: dead descriptors of this sub-pool, none in the xarray. */
	c = 0;
	list_for_each_entry(slab, &pc->stash, node) {
		if (!slab->dead || slab->owner != pc || ++c > POOL_STASH_MAX ||
		    xa_load(&p->slabs, pool_pidx(p, slab->addr)) == slab)
			return false;
	}
	return listed == slabs && held == pc->held && c == pc->nstash &&
	       free == pc->free_bytes && objs == pc->nallocs;
}

static int pool_check(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab;
	struct pool_cpu *pc;
	unsigned long i;
	unsigned int c;
	bool ok = true;

	/*
	 * Every slab has an owner among the sub-pools.  Slabs of other
	 * sub-pools may be freed meanwhile: read them under RCU.
	 */
	rcu_read_lock();
	xa_for_each(&p->slabs, i, slab) {
		if (xa_is_value(slab)) {	/* a marker (pool_cpu_ok()) */
			ok &= xa_to_value(slab) < p->ncpus;
			continue;
		}
		for (c = 0; c < p->ncpus && pool_cpu_at(p, c) != slab->owner;
		     c++)
			;
		ok &= c < p->ncpus;
	}
	for (c = 0; c < p->ncpus; c++) {
		pc = pool_cpu_at(p, c);
		if (!pc)
			continue;
		spin_lock(&pc->lock);
		ok &= pool_cpu_ok(p, pc);
		spin_unlock(&pc->lock);
	}
	rcu_read_unlock();
	return ok ? 0 : -EUCLEAN;
}

/**
 * fnmm_pool_trim() - give the spare empty slabs back to the parent, and
 *	the stashed descriptors to the kernel
 * @a: a Pool allocator
 *
 * One spare and POOL_STASH_MAX descriptors per sub-pool, each freed
 * descriptor's hints cleared on every CPU: O(CPUs^2).
 */
void fnmm_pool_trim(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab;
	struct pool_cpu *pc;
	LIST_HEAD(stash);
	unsigned int c;
	u64 gone = 0;

	for (c = 0; c < p->ncpus; c++) {
		pc = pool_cpu_at(p, c);
		if (!pc)
			continue;
		spin_lock(&pc->lock);
		slab = pc->spare;
		if (slab) {
			pc->spare = NULL;
			gone = pool_unlink(p, pc, slab);
		}
		pool_unpark(p, pc);
		list_splice_init(&pc->stash, &stash);
		pc->nstash = 0;
		spin_unlock(&pc->lock);
		if (slab)
			WARN_ON_ONCE(fnmm_release(p->parent, gone));
		while ((slab = list_first_entry_or_null(&stash, struct pool_slab,
							node))) {
			list_del(&slab->node);
			pool_forget(p, slab);
			kfree_rcu(slab, rcu);
		}
	}
}

/**
 * fnmm_pool_slots() - entries of a pool's lookup: its slabs and markers
 * @a: a Pool allocator
 *
 * For tests and debugging: an idle pool just trimmed has none.  O(slabs
 * held + CPUs), read under RCU.
 */
unsigned long fnmm_pool_slots(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	unsigned long i, n = 0;
	void *e;

	rcu_read_lock();
	xa_for_each(&p->slabs, i, e)
		n++;
	rcu_read_unlock();
	return n;
}

/**
 * fnmm_pool_held() - bytes of parent pages a pool holds
 * @a: a Pool allocator
 *
 * Summed over the sub-pools, O(CPUs).
 */
u64 fnmm_pool_held(struct fnmm_allocator *a)
{
	return pool_sum(to_pool(a), true);
}

/* No user is left: no lock, and no reader to wait for. */
static void pool_destroy(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab, *next;
	unsigned long i;
	unsigned int c;

	xa_for_each(&p->slabs, i, slab) {
		if (xa_is_value(slab))
			continue;
		WARN_ON_ONCE(fnmm_release(p->parent, slab->addr));
		kfree(slab);
	}
	xa_destroy(&p->slabs);
	for (c = 0; c < p->ncpus; c++) {
		if (!p->cpu[c])
			continue;
		list_for_each_entry_safe(slab, next, &p->cpu[c]->stash, node)
			kfree(slab);
		kfree(p->cpu[c]);
	}
	kfree(p);
}

static const struct fnmm_alloc_ops pool_ops = {
	.name		= "pool",
	.allocate	= pool_allocate,
	.release	= pool_release,
	.available	= pool_available,
	.largest	= pool_largest,
	.alloc_size	= pool_alloc_size,
	.check		= pool_check,
	.destroy	= pool_destroy,
};

/**
 * fnmm_pool_create() - create a Pool allocator over a parent allocator
 * @parent: gives the pages; page-aligned base and size, granule a page
 *	(so every free page-sized block of it is a page: Split, or Bit
 *	with page-sized chunks)
 * @min_shift: log2 of the smallest object, at least FNMM_POOL_MIN_SHIFT
 * @max_shift: log2 of the largest object, below PAGE_SHIFT
 *
 * Objects are naturally aligned to their class size.  Destroying the pool
 * returns every page it holds to @parent, which must outlive it.  The
 * pool's metadata (a pointer per possible CPU here, a sub-pool per CPU
 * that allocates, later) is charged to the caller's memory cgroup.
 *
 * Return: the allocator, or ERR_PTR(-EINVAL) for bad arguments,
 * ERR_PTR(-ENOMEM).
 */
struct fnmm_allocator *fnmm_pool_create(struct fnmm_allocator *parent,
					unsigned int min_shift,
					unsigned int max_shift)
{
	struct fnmm_pool *p;

	if (IS_ERR_OR_NULL(parent) || min_shift < FNMM_POOL_MIN_SHIFT ||
	    max_shift >= PAGE_SHIFT || min_shift > max_shift ||
	    !PAGE_ALIGNED(parent->base) || !PAGE_ALIGNED(parent->size) ||
	    parent->granule != PAGE_SIZE)
		return ERR_PTR(-EINVAL);

	p = kzalloc(struct_size(p, cpu, nr_cpu_ids), GFP_KERNEL_ACCOUNT);
	if (!p)
		return ERR_PTR(-ENOMEM);
	p->ncpus = nr_cpu_ids;
	xa_init(&p->slabs);
	p->a.ops = &pool_ops;
	p->a.base = parent->base;
	p->a.size = parent->size;
	p->a.granule = 1ULL << min_shift;
	p->parent = parent;
	p->min_shift = min_shift;
	p->max_shift = max_shift;
	return &p->a;
}
