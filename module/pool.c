// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the Pool allocator.
 *
 * As FreeNOS's PoolAllocator: objects of power-of-two size classes are
 * carved out of pages obtained from a parent allocator (Split or Bit).
 * Each pool page ("slab") holds objects of one class and a bitmap of
 * them, 1 = used, kept outside the managed memory.  An xarray indexed by
 * the parent's page number finds the slab of an address, so metadata
 * grows with the slabs held, not with the parent's size.
 *
 * Per CPU: a pool is one sub-pool per CPU that allocates from it (made
 * on that CPU's first allocation), each with its own lock, class lists,
 * spare and counters, as per-CPU arenas.  An allocation takes its
 * CPU's sub-pool; a slab belongs to the sub-pool that made it for its
 * whole life, and a release takes the lock of the slab's owner (found
 * through the xarray without a lock, under RCU; a slab leaves the xarray
 * marked dead under its owner's lock and is freed after a grace period,
 * so the release checks the mark once it holds the lock).  So threads
 * on different CPUs that release their own objects share no lock and no
 * cache line;
 * an object released on another CPU costs that CPU's lock, as a remote
 * free.  On one CPU a pool behaves exactly as one sub-pool.
 *
 * A slab that becomes empty goes back to the parent at once, except one
 * page per sub-pool kept as a spare (of no class: any class takes it) so
 * that an alloc/free pair does not bounce a page through the parent each
 * time.  The spare is kept only while the sub-pool has live objects:
 * releasing its last object gives every page of it back, so an idle pool
 * holds nothing.  fnmm_pool_trim() returns the spares at any time.
 *
 * Cost: allocate O(1) when its class has room or there is a spare (first
 * slab on the class's partial list, first free bit among at most
 * PAGE_SIZE / 8), else one parent allocation and an xarray insert made
 * with the lock dropped; release O(log n) in the slabs held (one xarray
 * lookup), plus one parent release when a page goes back; available()
 * and held O(CPUs); largest() (what this CPU's next allocation gets)
 * O(classes); check() O(CPUs x slabs held).  Metadata: a pointer per
 * possible CPU, a sub-pool (about 350 bytes) per CPU that allocated, a
 * descriptor per slab.  The price of
 * giving an idle pool's last page back: an alloc/free pair on an
 * otherwise empty pool takes and returns a page (and its descriptor and
 * xarray slot) every time, about 4x a pair with an object live (83 vs
 * 25 ns in the user-space build).
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

struct pool_cpu;

struct pool_slab {
	struct list_head node;	/* on its class's partial or full list */
	struct rcu_head rcu;
	struct pool_cpu *owner;	/* its sub-pool, for its whole life */
	u64 addr;		/* the parent page it carves up */
	unsigned int inuse;
	unsigned int cls;
	bool dead;		/* out of the xarray, freed after RCU */
	/* 1 = object in use; sized for the smallest class */
	unsigned long map[];
};

struct pool_class {
	struct list_head partial;	/* slabs with used and free objects */
	struct list_head full;		/* slabs with no free object */
	unsigned int shift;		/* log2(object size) */
	unsigned int nobj;		/* objects per slab */
};

/* One CPU's part of a pool. */
struct pool_cpu {
	/*
	 * protects cls[], spare, the fields of the slabs it owns, free_bytes,
	 * held, nallocs, and its slabs' entries in the pool's xarray
	 */
	spinlock_t lock;
	struct pool_slab *spare;	/* one empty slab of no class, or NULL */
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

static inline unsigned long pool_pidx(struct fnmm_pool *p, u64 addr)
{
	return (addr - p->parent->base) >> PAGE_SHIFT;
}

/*
 * Get a page from the parent, a descriptor for it and its xarray slot;
 * no lock held.  Return: the slab, or an ERR_PTR.
 */
static struct pool_slab *pool_new_slab(struct fnmm_pool *p,
				       struct pool_cpu *pc)
{
	struct fnmm_range r = { .size = PAGE_SIZE, .alignment = PAGE_SIZE };
	unsigned int nobj = PAGE_SIZE >> p->min_shift;
	struct pool_slab *slab;
	int ret;

	slab = kzalloc(struct_size(slab, map, BITS_TO_LONGS(nobj)),
		       GFP_KERNEL_ACCOUNT);
	if (!slab)
		return ERR_PTR(-ENOMEM);
	ret = fnmm_allocate(p->parent, &r);
	if (ret)
		goto err;
	ret = xa_reserve(&p->slabs, pool_pidx(p, r.address),
			 GFP_KERNEL_ACCOUNT);
	if (ret) {
		fnmm_release(p->parent, r.address);
		goto err;
	}
	slab->addr = r.address;
	slab->owner = pc;
	return slab;
err:
	kfree(slab);
	return ERR_PTR(ret);
}

/*
 * Return an empty slab's page to the parent; no lock held, the slab out
 * of the xarray.  A release on another CPU may still be reading it (its
 * owner), so the descriptor goes after a grace period.
 */
static void pool_free_slab(struct fnmm_pool *p, struct pool_slab *slab)
{
	WARN_ON_ONCE(fnmm_release(p->parent, slab->addr));
	kfree_rcu(slab, rcu);
}

/* Give back a slab never published (not in the xarray); no lock held. */
static void pool_discard(struct fnmm_pool *p, struct pool_slab *slab)
{
	xa_release(&p->slabs, pool_pidx(p, slab->addr));
	WARN_ON_ONCE(fnmm_release(p->parent, slab->addr));
	kfree(slab);
}

/*
 * The first allocation on CPU @cpu: a slab for it first, then its
 * sub-pool, so that a failure leaves nothing behind.  Return: the
 * sub-pool (another task's, if one on this CPU made it meanwhile) with
 * the slab in *@freshp, or an ERR_PTR.
 */
static struct pool_cpu *pool_cpu_first(struct fnmm_pool *p, unsigned int cpu,
				       struct pool_slab **freshp)
{
	struct pool_slab *fresh = pool_new_slab(p, NULL);
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
	for (c = 0; c <= p->max_shift - p->min_shift; c++) {
		INIT_LIST_HEAD(&pc->cls[c].partial);
		INIT_LIST_HEAD(&pc->cls[c].full);
		pc->cls[c].shift = p->min_shift + c;
		pc->cls[c].nobj = PAGE_SIZE >> (p->min_shift + c);
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

/* Install a fresh slab as the spare, or hand it back; lock held. */
static struct pool_slab *pool_install(struct fnmm_pool *p,
				      struct pool_cpu *pc,
				      struct pool_class *cl,
				      struct pool_slab *slab)
{
	if (pc->spare || !list_empty(&cl->partial))
		return slab;	/* raced: someone else refilled the class */
	/* The slot was reserved: storing allocates nothing. */
	xa_store(&p->slabs, pool_pidx(p, slab->addr), slab, GFP_NOWAIT);
	pc->held += PAGE_SIZE;
	pc->free_bytes += PAGE_SIZE;
	pc->spare = slab;
	return NULL;
}

/* Take an empty slab out of the pool; lock held, page freed by caller. */
static void pool_unlink(struct fnmm_pool *p, struct pool_cpu *pc,
			struct pool_slab *slab)
{
	xa_erase(&p->slabs, pool_pidx(p, slab->addr));
	slab->dead = true;
	pc->held -= PAGE_SIZE;
	pc->free_bytes -= PAGE_SIZE;
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
		pc = pool_cpu_first(p, cpu, &fresh);
		if (IS_ERR(pc))
			return PTR_ERR(pc);
	}
	cl = &pc->cls[shift - p->min_shift];

	spin_lock(&pc->lock);
	while (list_empty(&cl->partial) && !pc->spare) {
		if (!fresh) {
			spin_unlock(&pc->lock);
			fresh = pool_new_slab(p, pc);
			if (IS_ERR(fresh))
				return PTR_ERR(fresh);
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
		list_add(&slab->node, &cl->partial);
	}
	slab = list_first_entry(&cl->partial, struct pool_slab, node);
	obj = find_first_zero_bit(slab->map, cl->nobj);
	__set_bit(obj, slab->map);
	if (++slab->inuse == cl->nobj)
		list_move(&slab->node, &cl->full);
	pc->free_bytes -= 1UL << shift;
	pc->nallocs++;
	spin_unlock(&pc->lock);
	/* Made for a sub-pool another task made first, which had room. */
	if (fresh)
		pool_discard(p, fresh);

	range->address = slab->addr + ((u64)obj << shift);
	return 0;
}

/*
 * The object of @slab at @addr: its index in *@objp, or -ENOENT (the
 * spare, or not in use) or -EINVAL (not on an object of its class).
 * The slab's owner's lock held.
 */
static int pool_obj(struct pool_cpu *pc, struct pool_slab *slab, u64 addr,
		    unsigned int *objp)
{
	unsigned int shift;
	u64 off;

	if (slab == pc->spare)
		return -ENOENT;
	shift = pc->cls[slab->cls].shift;
	off = addr - slab->addr;
	if (off & ((1UL << shift) - 1))
		return -EINVAL;
	if (!test_bit(off >> shift, slab->map))
		return -ENOENT;
	*objp = off >> shift;
	return 0;
}

/*
 * The slab holding @addr, or NULL, found without a lock.  The caller is
 * in an RCU section (a slab is freed after a grace period), takes the
 * slab's owner's lock before it leaves that section, and then checks
 * that the slab is not dead (set under that lock when it left the
 * xarray): Release and alloc_size.
 */
static struct pool_slab *pool_lookup(struct fnmm_pool *p, u64 addr)
{
	return xa_load(&p->slabs, pool_pidx(p, addr));
}

static bool pool_in_parent(struct fnmm_pool *p, u64 addr)
{
	return addr >= p->parent->base &&
	       addr - p->parent->base < p->parent->size;
}

static int pool_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab, *spare;
	struct pool_class *cl;
	struct pool_cpu *pc;
	unsigned int obj;
	int ret;

	if (!pool_in_parent(p, addr))
		return -EINVAL;
	rcu_read_lock();
	slab = pool_lookup(p, addr);
	if (!slab) {
		rcu_read_unlock();
		return -ENOENT;
	}
	pc = slab->owner;
	spin_lock(&pc->lock);
	ret = slab->dead ? -ENOENT : pool_obj(pc, slab, addr, &obj);
	rcu_read_unlock();	/* not dead: it stays while the lock is held */
	if (ret)
		goto out;
	cl = &pc->cls[slab->cls];
	__clear_bit(obj, slab->map);
	if (slab->inuse-- == cl->nobj)
		list_move(&slab->node, &cl->partial);
	pc->free_bytes += 1UL << cl->shift;
	pc->nallocs--;
	if (slab->inuse)
		goto out;
	/* Empty: keep it as the spare while the sub-pool is in use. */
	list_del(&slab->node);
	if (pc->nallocs && !pc->spare) {
		pc->spare = slab;
		goto out;
	}
	pool_unlink(p, pc, slab);
	/* The sub-pool's last object: the spare goes back too. */
	spare = pc->nallocs ? NULL : pc->spare;
	if (spare) {
		pc->spare = NULL;
		pool_unlink(p, pc, spare);
	}
	spin_unlock(&pc->lock);
	pool_free_slab(p, slab);
	if (spare)
		pool_free_slab(p, spare);
	return 0;
out:
	spin_unlock(&pc->lock);
	return ret;
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
	struct pool_slab *slab;
	struct pool_cpu *pc;
	unsigned int obj;
	u64 ret = 0;

	if (!pool_in_parent(p, addr))
		return 0;
	rcu_read_lock();
	slab = pool_lookup(p, addr);
	if (!slab) {
		rcu_read_unlock();
		return 0;
	}
	pc = slab->owner;
	spin_lock(&pc->lock);
	if (!slab->dead && !pool_obj(pc, slab, addr, &obj))
		ret = 1ULL << pc->cls[slab->cls].shift;
	rcu_read_unlock();
	spin_unlock(&pc->lock);
	return ret;
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
		    (slab->inuse == cl->nobj) != full ||
		    xa_load(&p->slabs, pool_pidx(p, slab->addr)) != slab)
			return -1;
		n++;
	}
	return n;
}

/* One sub-pool's slabs, lists, spare and counters; its lock held. */
static bool pool_cpu_ok(struct fnmm_pool *p, struct pool_cpu *pc)
{
	u64 slabs = 0, listed = 0, free = 0, objs = 0;
	struct pool_slab *slab, *sp;
	unsigned long i;
	unsigned int c;

	xa_for_each(&p->slabs, i, slab) {
		if (slab->owner != pc)
			continue;
		if (slab->cls >= POOL_NR_CLASSES || pool_pidx(p, slab->addr) != i ||
		    slab->dead ||
		    slab->inuse != bitmap_weight(slab->map, pc->cls[slab->cls].nobj) ||
		    fnmm_alloc_size(p->parent, slab->addr) != PAGE_SIZE)
			return false;
		slabs++;
		objs += slab->inuse;
		free += slab == pc->spare ? PAGE_SIZE :
			(u64)(pc->cls[slab->cls].nobj - slab->inuse) <<
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
	return listed == slabs && slabs * PAGE_SIZE == pc->held &&
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
 * fnmm_pool_trim() - give the spare empty pages back to the parent
 * @a: a Pool allocator
 *
 * One spare per sub-pool: O(CPUs).
 */
void fnmm_pool_trim(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab;
	struct pool_cpu *pc;
	unsigned int c;

	for (c = 0; c < p->ncpus; c++) {
		pc = pool_cpu_at(p, c);
		if (!pc)
			continue;
		spin_lock(&pc->lock);
		slab = pc->spare;
		if (slab) {
			pc->spare = NULL;
			pool_unlink(p, pc, slab);
		}
		spin_unlock(&pc->lock);
		if (slab)
			pool_free_slab(p, slab);
	}
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
	struct pool_slab *slab;
	unsigned long i;
	unsigned int c;

	xa_for_each(&p->slabs, i, slab) {
		WARN_ON_ONCE(fnmm_release(p->parent, slab->addr));
		kfree(slab);
	}
	xa_destroy(&p->slabs);
	for (c = 0; c < p->ncpus; c++)
		kfree(p->cpu[c]);
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
