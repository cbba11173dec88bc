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
 * A slab that becomes empty goes back to the parent at once, except one
 * page per pool kept as a spare (of no class: any class takes it) so that
 * an alloc/free pair does not bounce a page through the parent each time.
 * The spare is kept only while the pool has live objects: releasing the
 * last object gives every page back, so an idle pool holds nothing.
 * fnmm_pool_trim() returns the spare at any time.
 *
 * Cost: allocate O(1) when its class has room or there is a spare (first
 * slab on the class's partial list, first free bit among at most
 * PAGE_SIZE / 8), else one parent allocation and an xarray insert made
 * with the lock dropped; release O(log n) in the slabs held (xarray
 * lookup), plus one parent release when a page goes back; largest()
 * O(classes); check() O(slabs held).  The price of giving an idle pool's
 * last page back: an alloc/free pair on an otherwise empty pool takes
 * and returns a page (and its descriptor and xarray slot) every time,
 * about 4x a pair with an object live (83 vs 25 ns in the user-space
 * build).
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include "fnmm_alloc.h"

#define POOL_NR_CLASSES	(PAGE_SHIFT - FNMM_POOL_MIN_SHIFT)

struct pool_slab {
	struct list_head node;	/* on its class's partial or full list */
	u64 addr;		/* the parent page it carves up */
	unsigned int inuse;
	unsigned int cls;
	/* 1 = object in use; sized for the smallest class */
	unsigned long map[];
};

struct pool_class {
	struct list_head partial;	/* slabs with used and free objects */
	struct list_head full;		/* slabs with no free object */
	unsigned int shift;		/* log2(object size) */
	unsigned int nobj;		/* objects per slab */
};

struct fnmm_pool {
	struct fnmm_allocator a;
	/* protects cls[], spare, the entries of slabs, free_bytes, held, nallocs */
	spinlock_t lock;
	struct fnmm_allocator *parent;
	struct xarray slabs;		/* parent page index -> its slab */
	struct pool_slab *spare;	/* one empty slab of no class, or NULL */
	unsigned int min_shift;
	unsigned int max_shift;
	u64 free_bytes;			/* free object bytes in held slabs */
	u64 held;			/* bytes of parent pages held */
	unsigned long nallocs;
	struct pool_class cls[POOL_NR_CLASSES];
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
static struct pool_slab *pool_new_slab(struct fnmm_pool *p)
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
	return slab;
err:
	kfree(slab);
	return ERR_PTR(ret);
}

/* Return an empty, unlinked slab's page to the parent; no lock held. */
static void pool_free_slab(struct fnmm_pool *p, struct pool_slab *slab)
{
	WARN_ON_ONCE(fnmm_release(p->parent, slab->addr));
	kfree(slab);
}

/* Install a fresh slab as the spare, or hand it back; lock held. */
static struct pool_slab *pool_install(struct fnmm_pool *p,
				      struct pool_class *pc,
				      struct pool_slab *slab)
{
	if (p->spare || !list_empty(&pc->partial))
		return slab;	/* raced: someone else refilled the class */
	/* The slot was reserved: storing allocates nothing. */
	xa_store(&p->slabs, pool_pidx(p, slab->addr), slab, GFP_NOWAIT);
	p->held += PAGE_SIZE;
	p->free_bytes += PAGE_SIZE;
	p->spare = slab;
	return NULL;
}

/* Take an empty slab out of the pool; lock held, page freed by caller. */
static void pool_unlink(struct fnmm_pool *p, struct pool_slab *slab)
{
	xa_erase(&p->slabs, pool_pidx(p, slab->addr));
	p->held -= PAGE_SIZE;
	p->free_bytes -= PAGE_SIZE;
}

static int pool_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	struct fnmm_pool *p = to_pool(a);
	unsigned int shift = max_t(unsigned int, p->min_shift,
				   order_base_2(range->size));
	struct pool_slab *slab, *fresh = NULL;
	struct pool_class *pc;
	unsigned int obj;

	if (range->alignment >= PAGE_SIZE)
		return -EINVAL;
	if (range->alignment)
		shift = max_t(unsigned int, shift, ilog2(range->alignment));
	if (shift > p->max_shift)
		return -E2BIG;
	pc = &p->cls[shift - p->min_shift];

	spin_lock(&p->lock);
	while (list_empty(&pc->partial) && !p->spare) {
		spin_unlock(&p->lock);
		fresh = pool_new_slab(p);
		if (IS_ERR(fresh))
			return PTR_ERR(fresh);
		spin_lock(&p->lock);
		fresh = pool_install(p, pc, fresh);
		if (fresh) {
			spin_unlock(&p->lock);
			xa_release(&p->slabs, pool_pidx(p, fresh->addr));
			pool_free_slab(p, fresh);
			spin_lock(&p->lock);
		}
	}
	if (list_empty(&pc->partial)) {
		slab = p->spare;
		p->spare = NULL;
		slab->cls = shift - p->min_shift;
		list_add(&slab->node, &pc->partial);
	}
	slab = list_first_entry(&pc->partial, struct pool_slab, node);
	obj = find_first_zero_bit(slab->map, pc->nobj);
	__set_bit(obj, slab->map);
	if (++slab->inuse == pc->nobj)
		list_move(&slab->node, &pc->full);
	p->free_bytes -= 1UL << shift;
	p->nallocs++;
	spin_unlock(&p->lock);

	range->address = slab->addr + ((u64)obj << shift);
	return 0;
}

/* The slab holding @addr and its object index; lock held. */
static int pool_find(struct fnmm_pool *p, u64 addr, struct pool_slab **slabp,
		     unsigned int *objp)
{
	struct fnmm_allocator *pa = p->parent;
	struct pool_slab *slab;
	unsigned int shift;
	u64 off;

	if (addr < pa->base || addr - pa->base >= pa->size)
		return -EINVAL;
	slab = xa_load(&p->slabs, pool_pidx(p, addr));
	if (!slab || slab == p->spare)
		return -ENOENT;
	shift = p->cls[slab->cls].shift;
	off = addr - slab->addr;
	if (off & ((1UL << shift) - 1))
		return -EINVAL;
	if (!test_bit(off >> shift, slab->map))
		return -ENOENT;
	*slabp = slab;
	*objp = off >> shift;
	return 0;
}

static int pool_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab, *spare;
	struct pool_class *pc;
	unsigned int obj;
	int ret;

	spin_lock(&p->lock);
	ret = pool_find(p, addr, &slab, &obj);
	if (ret)
		goto out;
	pc = &p->cls[slab->cls];
	__clear_bit(obj, slab->map);
	if (slab->inuse-- == pc->nobj)
		list_move(&slab->node, &pc->partial);
	p->free_bytes += 1UL << pc->shift;
	p->nallocs--;
	if (slab->inuse)
		goto out;
	/* Empty: keep it as the spare while the pool is in use. */
	list_del(&slab->node);
	if (p->nallocs && !p->spare) {
		p->spare = slab;
		goto out;
	}
	pool_unlink(p, slab);
	/* The last object: the spare goes back too. */
	spare = p->nallocs ? NULL : p->spare;
	if (spare) {
		p->spare = NULL;
		pool_unlink(p, spare);
	}
	spin_unlock(&p->lock);
	pool_free_slab(p, slab);
	if (spare)
		pool_free_slab(p, spare);
	return 0;
out:
	spin_unlock(&p->lock);
	return ret;
}

static u64 pool_available(struct fnmm_allocator *a)
{
	return READ_ONCE(to_pool(a)->free_bytes);
}

static u64 pool_largest(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	u64 ret = 0;
	int c;

	/* Any free page of the parent (its granule is a page) makes a slab. */
	if (fnmm_available(p->parent) >= PAGE_SIZE)
		return 1ULL << p->max_shift;
	spin_lock(&p->lock);
	if (p->spare)
		ret = 1ULL << p->max_shift;
	for (c = p->max_shift - p->min_shift; c >= 0 && !ret; c--)
		if (!list_empty(&p->cls[c].partial))
			ret = 1ULL << p->cls[c].shift;
	spin_unlock(&p->lock);
	return ret;
}

static u64 pool_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab;
	unsigned int obj;
	u64 ret = 0;

	spin_lock(&p->lock);
	if (!pool_find(p, addr, &slab, &obj))
		ret = 1ULL << p->cls[slab->cls].shift;
	spin_unlock(&p->lock);
	return ret;
}

/* Count the slabs on @list, checking each; -1 if one is wrong. */
static long pool_check_list(struct fnmm_pool *p, struct list_head *list,
			    unsigned int c, bool full)
{
	struct pool_class *pc = &p->cls[c];
	struct pool_slab *slab;
	long n = 0;

	list_for_each_entry(slab, list, node) {
		if (slab->cls != c || !slab->inuse ||
		    (slab->inuse == pc->nobj) != full ||
		    xa_load(&p->slabs, pool_pidx(p, slab->addr)) != slab)
			return -1;
		n++;
	}
	return n;
}

static int pool_check(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	u64 slabs = 0, listed = 0, free = 0, objs = 0;
	struct pool_slab *slab, *sp;
	int ret = -EUCLEAN;
	unsigned long i;
	unsigned int c;

	spin_lock(&p->lock);
	xa_for_each(&p->slabs, i, slab) {
		if (slab->cls >= POOL_NR_CLASSES || pool_pidx(p, slab->addr) != i ||
		    slab->inuse != bitmap_weight(slab->map, p->cls[slab->cls].nobj) ||
		    fnmm_alloc_size(p->parent, slab->addr) != PAGE_SIZE)
			goto out;
		slabs++;
		objs += slab->inuse;
		free += slab == p->spare ? PAGE_SIZE :
			(u64)(p->cls[slab->cls].nobj - slab->inuse) <<
			p->cls[slab->cls].shift;
	}
	for (c = 0; c <= p->max_shift - p->min_shift; c++) {
		long np = pool_check_list(p, &p->cls[c].partial, c, false);
		long nf = pool_check_list(p, &p->cls[c].full, c, true);

		if (np < 0 || nf < 0)
			goto out;
		listed += np + nf;
	}
	/* The spare only while objects live, and empty. */
	sp = p->spare;
	if (sp && (sp->inuse || !p->nallocs ||
		   xa_load(&p->slabs, pool_pidx(p, sp->addr)) != sp))
		goto out;
	listed += !!sp;
	if (listed == slabs && slabs * PAGE_SIZE == p->held &&
	    free == p->free_bytes && objs == p->nallocs)
		ret = 0;
out:
	spin_unlock(&p->lock);
	return ret;
}

/**
 * fnmm_pool_trim() - give the spare empty page back to the parent
 * @a: a Pool allocator
 */
void fnmm_pool_trim(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab;

	spin_lock(&p->lock);
	slab = p->spare;
	if (slab) {
		p->spare = NULL;
		pool_unlink(p, slab);
	}
	spin_unlock(&p->lock);
	if (slab)
		pool_free_slab(p, slab);
}

/**
 * fnmm_pool_held() - bytes of parent pages a pool holds
 * @a: a Pool allocator
 */
u64 fnmm_pool_held(struct fnmm_allocator *a)
{
	return READ_ONCE(to_pool(a)->held);
}

static void pool_destroy(struct fnmm_allocator *a)
{
	struct fnmm_pool *p = to_pool(a);
	struct pool_slab *slab;
	unsigned long i;

	xa_for_each(&p->slabs, i, slab)
		pool_free_slab(p, slab);
	xa_destroy(&p->slabs);
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
 * pool's metadata is charged to the caller's memory cgroup.
 *
 * Return: the allocator, or ERR_PTR(-EINVAL) for bad arguments,
 * ERR_PTR(-ENOMEM).
 */
struct fnmm_allocator *fnmm_pool_create(struct fnmm_allocator *parent,
					unsigned int min_shift,
					unsigned int max_shift)
{
	struct fnmm_pool *p;
	unsigned int c;

	if (IS_ERR_OR_NULL(parent) || min_shift < FNMM_POOL_MIN_SHIFT ||
	    max_shift >= PAGE_SHIFT || min_shift > max_shift ||
	    !PAGE_ALIGNED(parent->base) || !PAGE_ALIGNED(parent->size) ||
	    parent->granule != PAGE_SIZE)
		return ERR_PTR(-EINVAL);

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return ERR_PTR(-ENOMEM);
	xa_init(&p->slabs);
	p->a.ops = &pool_ops;
	p->a.base = parent->base;
	p->a.size = parent->size;
	p->a.granule = 1ULL << min_shift;
	p->parent = parent;
	p->min_shift = min_shift;
	p->max_shift = max_shift;
	for (c = 0; c <= max_shift - min_shift; c++) {
		INIT_LIST_HEAD(&p->cls[c].partial);
		INIT_LIST_HEAD(&p->cls[c].full);
		p->cls[c].shift = min_shift + c;
		p->cls[c].nobj = PAGE_SIZE >> (min_shift + c);
	}
	spin_lock_init(&p->lock);
	return &p->a;
}
