// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: memory contexts (FreeNOS MemoryContext) and their
 * allocations.
 *
 * A context owns allocations ("bufs"), each named by a handle that is
 * also its mmap() offset.  A buf is reference counted: the handle holds
 * one reference and every mapping (VMA) of it one more, so Release while
 * mapped only drops the handle, and the memory goes back to its allocator
 * (scrubbed) when the last mapping is gone.  Mappings hold the file, so
 * a context is torn down only after all of its mappings.
 *
 * Every byte a context can read was written by that context or was zero
 * when it was handed to it.  Memory goes back to Split or Bit only
 * through fnmm_dev_give_back() (quarantine.c): once no page of it is
 * referenced any more (get_user_pages), with its direct map back to
 * write-back (take= mode), scrubbed; or it is quarantined.  A context's
 * Pool takes its pages through ctx->pages, which charges them and
 * scrubs them on their way back, so a Pool page, which the context maps
 * whole, never carries one context's bytes to another.
 *
 * Region bytes a context holds (Split/Bit allocations, its Pool's pages)
 * are charged to the opener's user as locked memory against
 * RLIMIT_MEMLOCK, as io_uring does (user_struct.locked_vm); an opener
 * with CAP_IPC_LOCK, or the account=0 parameter, is exempt.
 *
 * Cost: ReserveMem is one allocator call (a sparse one, one per block),
 * an xarray insert and O(1) accounting; Release and the last unmap
 * scrub the memory (O(bytes), in 2 MiB steps with cond_resched()).
 * Kernel memory per context: the context, one buf (~140 bytes) and its
 * block array per live handle (at most max_handles), and the Pool's
 * slab descriptors and xarray, all charged to the caller's memory
 * cgroup; nothing proportional to the region.
 *
 * Nothing here touches user memory: the ioctl layer copies requests in
 * and out, which lets KUnit drive this file directly.
 */
#include <linux/err.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include "fnmm_dev.h"
#define CREATE_TRACE_POINTS
#include "fnmm_trace.h"

static struct fnmm_allocator *dev_alloc(struct fnmm_dev *dev, u8 kind)
{
	return kind == FNMM_ALLOC_BIT ? dev->bit : dev->split;
}

static struct fnmm_allocator *ctx_alloc(struct fnmm_ctx *ctx, u8 kind)
{
	return kind == FNMM_ALLOC_POOL ? ctx->pool : dev_alloc(ctx->dev, kind);
}

/**
 * fnmm_ctx_charge() - charge region bytes to a context's user
 * @ctx: the context
 * @bytes: bytes, a multiple of the page size
 *
 * As io_uring's account_mem: the user's locked_vm may not pass the
 * RLIMIT_MEMLOCK of the task asking.  Contexts without a user (opened
 * with CAP_IPC_LOCK, or accounting off) are not charged.
 *
 * Return: 0 or -ENOMEM (over the limit; nothing charged).
 */
int fnmm_ctx_charge(struct fnmm_ctx *ctx, u64 bytes)
{
#ifdef FNMM_HAVE_LOCKED_VM
	unsigned long limit, cur, new, pages = bytes >> PAGE_SHIFT;

	if (!ctx->user || !pages)
		return 0;
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&ctx->user->locked_vm);
	do {
		new = cur + pages;
		if (new < cur || new > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&ctx->user->locked_vm, &cur, new));
#endif
	return 0;
}

/**
 * fnmm_ctx_uncharge() - give back what fnmm_ctx_charge() charged
 * @ctx: the context
 * @bytes: bytes, a multiple of the page size
 */
void fnmm_ctx_uncharge(struct fnmm_ctx *ctx, u64 bytes)
{
#ifdef FNMM_HAVE_LOCKED_VM
	if (ctx->user)
		atomic_long_sub(bytes >> PAGE_SHIFT, &ctx->user->locked_vm);
#endif
}

/* Bytes charged to @user now, all charges of locked_vm included. */
static u64 user_locked(struct user_struct *user)
{
#ifdef FNMM_HAVE_LOCKED_VM
	if (user)
		return (u64)atomic_long_read(&user->locked_vm) << PAGE_SHIFT;
#endif
	return 0;
}

/* fnmm_allocate() for a context: traced, with its latency. */
static int ctx_allocate(struct fnmm_allocator *a, struct fnmm_range *r)
{
	u64 t0 = 0, ns;
	int ret;

	if (trace_fnmm_alloc_enabled())
		t0 = ktime_get_ns();
	ret = fnmm_allocate(a, r);
	if (trace_fnmm_alloc_enabled()) {
		ns = ktime_get_ns() - t0;
		/* A Bubble keeps no sizes: its granule's rounding. */
		trace_fnmm_alloc(a, r->size, ret ? 0 :
				 fnmm_alloc_size(a, r->address) ?:
				 round_up(r->size, a->granule),
				 r->alignment, r->address, ret, ns);
	}
	return ret;
}

/* fnmm_release() of a context's block of @size bytes: traced. */
static int ctx_free(struct fnmm_allocator *a, u64 addr, u64 size)
{
	int ret = fnmm_release(a, addr);

	trace_fnmm_release(a, addr, size, ret);
	return ret;
}

/*
 * ctx->pages: the parent of the context's Pool.  Split's pages, charged
 * to the context's user on the way out and scrubbed on the way back.
 */
static struct fnmm_ctx *pages_ctx(struct fnmm_allocator *a)
{
	return container_of(a, struct fnmm_ctx, pages);
}

static int pages_allocate(struct fnmm_allocator *a, struct fnmm_range *r)
{
	struct fnmm_ctx *ctx = pages_ctx(a);
	u64 bytes = PAGE_ALIGN(r->size);
	int ret = fnmm_ctx_charge(ctx, bytes);

	if (ret)
		return ret;
	ret = fnmm_allocate(ctx->dev->split, r);
	if (ret)
		fnmm_ctx_uncharge(ctx, bytes);
	return ret;
}

static int pages_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_ctx *ctx = pages_ctx(a);
	u64 size = fnmm_alloc_size(ctx->dev->split, addr);

	if (!size)
		return -ENOENT;
	fnmm_ctx_uncharge(ctx, size);
	fnmm_dev_give_back(ctx->dev, FNMM_ALLOC_SPLIT, 0, addr, size,
			   ctx->user, false);
	return 0;
}

static u64 pages_available(struct fnmm_allocator *a)
{
	return fnmm_available(pages_ctx(a)->dev->split);
}

static u64 pages_largest(struct fnmm_allocator *a)
{
	return fnmm_largest(pages_ctx(a)->dev->split);
}

static u64 pages_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	return fnmm_alloc_size(pages_ctx(a)->dev->split, addr);
}

static int pages_check(struct fnmm_allocator *a)
{
	return 0;	/* Split is checked on its own */
}

static void pages_destroy(struct fnmm_allocator *a)
{
	/* Part of the context. */
}

static const struct fnmm_alloc_ops pages_ops = {
	.name		= "pages",
	.allocate	= pages_allocate,
	.release	= pages_release,
	.available	= pages_available,
	.largest	= pages_largest,
	.alloc_size	= pages_alloc_size,
	.check		= pages_check,
	.destroy	= pages_destroy,
};

/**
 * fnmm_check_vmctl() - checks every VMCtl request passes
 * @req: the request
 *
 * Every value of the allocator field names one (FNMM_ALLOC_BUBBLE is for
 * ReserveMem only: device.c).
 *
 * Return: 0, or -EINVAL for unknown flag or access bits and non-zero
 * reserved fields.
 */
int fnmm_check_vmctl(const struct fnmm_vmctl *req)
{
	if (req->flags & ~FNMM_VMCTL_FLAGS_ALL)
		return -EINVAL;
	if (req->range.access & ~FNMM_ACCESS_ALL || req->range.pad)
		return -EINVAL;
	if (req->reserved[0] || req->reserved[1])
		return -EINVAL;
	return 0;
}

/*
 * Give every block of @buf back; the buf is unreachable.  A Pool
 * object's bytes are zeroed for the next object, but its page stays the
 * context's (ctx->pages scrubs it when it leaves), so a failed scrub
 * there hands nothing to anyone else.
 */
static void buf_free_blocks(struct fnmm_buf *buf)
{
	struct fnmm_ctx *ctx = buf->ctx;
	unsigned int i;

	for (i = 0; i < buf->nblocks; i++) {
		struct fnmm_block *b = &buf->blocks[i];

		if (buf->kind != FNMM_ALLOC_POOL) {
			fnmm_dev_give_back(ctx->dev, buf->kind, buf->access,
					   b->phys, b->size, ctx->user,
					   READ_ONCE(buf->pmd));
			continue;
		}
		fnmm_dev_scrub(ctx->dev, b->phys, b->size);
		ctx_free(ctx->pool, b->phys, b->size);
	}
	buf->nblocks = 0;
}

/**
 * fnmm_buf_held() - bytes an allocation still holds
 * @buf: the allocation; its blocks stable (context lock, or unpublished)
 *
 * Return: the sum of its blocks: less than @buf->size once a section
 * was released.
 */
u64 fnmm_buf_held(struct fnmm_buf *buf)
{
	u64 held = 0;
	unsigned int i;

	for (i = 0; i < buf->nblocks; i++)
		held += buf->blocks[i].size;
	return held;
}

static void buf_release(struct kref *ref)
{
	struct fnmm_buf *buf = container_of(ref, struct fnmm_buf, ref);
	struct fnmm_ctx *ctx = buf->ctx;
	u64 held = fnmm_buf_held(buf);

	atomic64_sub(held, &ctx->held[buf->kind]);
	atomic64_sub(held, &ctx->bytes);
	/* What a Pool holds is charged as its pages (ctx->pages). */
	if (buf->kind != FNMM_ALLOC_POOL)
		fnmm_ctx_uncharge(ctx, held);
	buf_free_blocks(buf);
	atomic64_dec(&ctx->dev->nallocs[buf->kind]);
	if (buf->bubble) {
		struct fnmm_dev *dev = ctx->dev;

		atomic64_sub(fnmm_bubble_top(buf->bubble), &dev->bubble_used);
		atomic64_sub(fnmm_bubble_allocations(buf->bubble),
			     &dev->bubble_objects);
		atomic64_sub(buf->size, &dev->bubble_bytes);
		atomic64_dec(&dev->bubble_arenas);
		fnmm_destroy(buf->bubble);
	}
	kvfree(buf->blocks);
	kfree(buf);
}

/**
 * fnmm_buf_put() - drop a reference to an allocation
 * @buf: the allocation; freed with its memory on the last reference
 */
void fnmm_buf_put(struct fnmm_buf *buf)
{
	kref_put(&buf->ref, buf_release);
}

/**
 * fnmm_ctx_get() - look up an allocation of a context by handle
 * @ctx: the context
 * @handle: the handle (mmap offset)
 *
 * Return: the allocation with a reference taken, or NULL.
 */
struct fnmm_buf *fnmm_ctx_get(struct fnmm_ctx *ctx, u64 handle)
{
	struct fnmm_buf *buf;

	if (!handle || handle & ~PAGE_MASK ||
	    (handle >> PAGE_SHIFT) >= FNMM_MAX_HANDLES)
		return NULL;
	xa_lock(&ctx->bufs);
	buf = xa_load(&ctx->bufs, handle >> PAGE_SHIFT);
	if (buf)
		kref_get(&buf->ref);
	xa_unlock(&ctx->bufs);
	return buf;
}

/* Give back blocks never handed out (still zero): no scrub needed. */
static void buf_unfill(struct fnmm_buf *buf, struct fnmm_allocator *a)
{
	while (buf->nblocks) {
		struct fnmm_block *b = &buf->blocks[--buf->nblocks];

		ctx_free(a, b->phys, b->size);
	}
}

/* Allocate @size bytes as blocks: one, or as few as fit when sparse. */
static int buf_fill(struct fnmm_buf *buf, struct fnmm_allocator *a,
		    u64 size, u64 align, bool sparse)
{
	struct fnmm_range r = { .size = size, .alignment = align };
	u64 left = size, cap = 1;
	int ret = -ENOMEM;

	/*
	 * 2 MiB and more of Split or Bit over ZONE_DEVICE pages: 2 MiB-aligned
	 * if it can be, for PMD mappings; else as asked.
	 */
	if (!align && size >= SZ_2M && buf->kind != FNMM_ALLOC_POOL &&
	    buf->ctx->dev->region.pages && !buf->ctx->dev->region.taken) {
		r.alignment = SZ_2M;
		ret = ctx_allocate(a, &r);
		r.alignment = 0;
	}
	if (ret)
		ret = ctx_allocate(a, &r);
	if (!ret || !sparse || ret != -ENOMEM) {
		if (ret)
			return ret;
		buf->blocks = kvmalloc(sizeof(*buf->blocks), GFP_KERNEL_ACCOUNT);
		if (!buf->blocks) {
			ctx_free(a, r.address, fnmm_alloc_size(a, r.address));
			return -ENOMEM;
		}
		buf->blocks[0] = (struct fnmm_block){ 0, r.address,
						      fnmm_alloc_size(a, r.address) };
		buf->nblocks = 1;
		buf->contiguous = true;
		return 0;
	}
	/* Sparse: the largest power-of-two blocks that are free. */
	cap = size >> PAGE_SHIFT;
	buf->blocks = kvmalloc_array(cap, sizeof(*buf->blocks),
				     GFP_KERNEL_ACCOUNT);
	if (!buf->blocks)
		return -ENOMEM;
	while (left) {
		/*
		 * The longest run now, without a drain; if none or if it went,
		 * largest() (which may drain) once more.
		 */
		u64 l = fnmm_longest(a), want;
		int tries;

		for (tries = 0; ; tries++) {
			want = min_t(u64, rounddown_pow_of_two(left), l);
			r = (struct fnmm_range){ .size = want };
			if (want && !ctx_allocate(a, &r))
				break;
			if (tries) {
				buf_unfill(buf, a);
				return -ENOMEM;
			}
			l = fnmm_largest(a);
		}
		buf->blocks[buf->nblocks++] = (struct fnmm_block){
			size - left, r.address, want };
		left -= want;
	}
	return 0;
}

/* This context's Pool, created on first use. */
static struct fnmm_allocator *ctx_pool(struct fnmm_ctx *ctx)
{
	struct fnmm_allocator *pool;

	mutex_lock(&ctx->lock);
	if (!ctx->pool) {
		pool = fnmm_pool_create(&ctx->pages, FNMM_POOL_MIN_SHIFT,
					PAGE_SHIFT - 1);
		if (!IS_ERR(pool))
			ctx->pool = pool;
	}
	pool = ctx->pool;
	mutex_unlock(&ctx->lock);
	return pool ? pool : ERR_PTR(-ENOMEM);
}

/*
 * Make a new allocation's memory of its type: in take= mode the direct
 * map of Uncached/Device memory is switched for the allocation's life
 * (fnmm_dev_give_back() switches it back); boot-reserved memory gets its type
 * from the mappings, and only the zeroes left in the cache by the last
 * scrub must reach memory first.
 */
static int buf_set_type(struct fnmm_buf *buf)
{
	struct fnmm_region *r = &buf->ctx->dev->region;
	unsigned int i;
	int ret = 0;

	if (!fnmm_access_uncached(buf->access))
		return 0;
	for (i = 0; i < buf->nblocks; i++) {
		struct fnmm_block *b = &buf->blocks[i];

		if (!r->taken) {
			fnmm_region_cache(r, b->phys, b->size, FNMM_CACHE_FLUSH);
			continue;
		}
		ret = fnmm_region_set_type(r, b->phys, b->size, buf->access);
		if (ret)
			break;
	}
	/* Undo the blocks done: they were never handed out. */
	if (ret)
		while (i--)
			fnmm_region_set_type(r, buf->blocks[i].phys,
					     buf->blocks[i].size, 0);
	return ret;
}

/*
 * Make an allocation; with @publish give it a handle (the reference the
 * handle holds stays, *@out gets another), else none (*@out gets the only
 * reference: the allocation lives as long as its holder's).
 */
static int ctx_make(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
		    bool sparse, bool publish, struct fnmm_buf **out)
{
	u8 kind = req->flags & FNMM_VMCTL_ALLOC_MASK;
	u64 size = req->range.size, charged = 0;
	struct fnmm_dev *dev = ctx->dev;
	struct fnmm_allocator *a;
	struct fnmm_buf *buf;
	bool arena = false;
	u32 id;
	int ret;

	ret = fnmm_check_vmctl(req);
	if (ret)
		return ret;
	/*
	 * A Bubble arena: contiguous Split memory, bumped by offsets (only
	 * ReserveMem gets here with it: device.c refuses it elsewhere).
	 */
	if (kind == FNMM_ALLOC_BUBBLE) {
		if (sparse)
			return -EINVAL;
		kind = FNMM_ALLOC_SPLIT;
		arena = true;
	}
	if (!size || (req->align && !is_power_of_2(req->align)))
		return -EINVAL;
	if (size > dev->region.size)
		return -E2BIG;
	/*
	 * A boot-reserved region with struct pages is in the direct map,
	 * write-back, and PAT holds it so (memremap_pages()): the kernel
	 * refuses a second memory type for it.
	 */
	if (fnmm_access_uncached(req->range.access) && dev->region.pages &&
	    !dev->region.taken)
		return -EINVAL;
	if (kind == FNMM_ALLOC_POOL) {
		/*
		 * Objects share pages, and one page cannot be mapped with two
		 * cache types: Pool memory is always cached.
		 */
		if (sparse || fnmm_access_uncached(req->range.access))
			return -EINVAL;
		a = ctx_pool(ctx);
		if (IS_ERR(a))
			return PTR_ERR(a);
	} else {
		a = ctx_alloc(ctx, kind);
		size = PAGE_ALIGN(size);
		/* Never satisfiable wins over the caller's limit. */
		if (size > fnmm_size(a))
			return -E2BIG;
		charged = size;
	}

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	kref_init(&buf->ref);
	buf->ctx = ctx;
	buf->kind = kind;
	if (arena) {
		buf->bubble = fnmm_bubble_create(0, size, FNMM_BUBBLE_GRANULE);
		if (IS_ERR(buf->bubble)) {
			ret = PTR_ERR(buf->bubble);
			buf->bubble = NULL;
			goto err_buf;
		}
	}
	buf->access = req->range.access ?: FNMM_ACCESS_DEFAULT;
	/* A number first (an empty slot: lookups find nothing there). */
	id = 0;
	ret = publish ? xa_alloc(&ctx->bufs, &id, NULL,
				 XA_LIMIT(1, dev->max_handles),
				 GFP_KERNEL_ACCOUNT) : 0;
	if (ret) {
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto err_buf;
	}
	buf->id = id;
	ret = fnmm_ctx_charge(ctx, charged);
	if (ret)
		goto err_id;
	ret = buf_fill(buf, a, size, req->align, sparse);
	if (ret)
		goto err_charge;
	ret = buf_set_type(buf);
	if (ret)
		goto err_fill;
	buf->size = fnmm_buf_held(buf);
	buf->page_off = buf->blocks[0].phys & ~PAGE_MASK;
	buf->map_size = PAGE_ALIGN(buf->page_off + buf->size);
	/* Read now: once published, ReleaseSections may change the blocks. */
	req->range.phys = buf->blocks[0].phys;
	atomic64_add(buf->size, &ctx->held[kind]);
	atomic64_add(buf->size, &ctx->bytes);
	atomic64_inc(&dev->nallocs[kind]);
	if (arena) {
		atomic64_inc(&dev->bubble_arenas);
		atomic64_add(buf->size, &dev->bubble_bytes);
	}
	if (!publish) {
		*out = buf;
		return 0;
	}
	atomic64_inc(&ctx->nbufs);
	if (out) {
		kref_get(&buf->ref);
		*out = buf;
	}
	/* The slot exists: storing allocates nothing and cannot fail. */
	xa_store(&ctx->bufs, id, buf, GFP_KERNEL_ACCOUNT);

	req->handle = (u64)id << PAGE_SHIFT;
	req->range.size = buf->size;
	req->range.access = buf->access;
	req->offset = buf->page_off;
	return 0;
err_fill:
	buf_unfill(buf, a);
err_charge:
	fnmm_ctx_uncharge(ctx, charged);
err_id:
	if (publish)
		xa_release(&ctx->bufs, id);
err_buf:
	if (buf->bubble)
		fnmm_destroy(buf->bubble);
	kvfree(buf->blocks);
	kfree(buf);
	return ret;
}

/**
 * fnmm_ctx_bubble_alloc() - ReserveMem in a Bubble arena: one object
 * @ctx: the context
 * @req: in: handle (an arena of @ctx), range.size, align; out: offset
 *	(of the object in the arena), range.size (rounded up to
 *	FNMM_BUBBLE_GRANULE), range.phys (the caller decides whether to
 *	show it), range.access (the arena's)
 * @obj: out, on success: the object, its arena referenced; the caller
 *	ends with fnmm_ctx_bubble_done()
 *
 * O(1) under the arena's own lock (plus the handle lookup): no context
 * lock, so an object never waits behind a long operation of the file
 * (a scrub, a mapping).  The device's totals move by what the bump
 * took, right after it.
 *
 * Return: 0, -ENOENT (not a live handle of @ctx), -EINVAL (not an arena,
 * size 0, align not a power of two or larger than the arena), -E2BIG
 * (larger than the arena) or -ENOMEM (the arena is full).
 */
int fnmm_ctx_bubble_alloc(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
			  struct fnmm_bubble_obj *obj)
{
	struct fnmm_dev *dev = ctx->dev;
	u64 phys = 0, len, used = 0, t0 = 0;
	struct fnmm_buf *buf;
	int ret;

	buf = fnmm_ctx_get(ctx, req->handle);
	if (!buf)
		return -ENOENT;
	if (!buf->bubble) {
		fnmm_buf_put(buf);
		return -EINVAL;
	}
	obj->buf = buf;
	obj->r = (struct fnmm_range){ .size = req->range.size,
				      .alignment = req->align };
	if (trace_fnmm_alloc_enabled())
		t0 = ktime_get_ns();
	ret = fnmm_bubble_take(buf->bubble, &obj->r, &obj->top, &used);
	if (trace_fnmm_alloc_enabled())
		trace_fnmm_alloc(buf->bubble, obj->r.size,
				 ret ? 0 : round_up(obj->r.size,
						    FNMM_BUBBLE_GRANULE),
				 obj->r.alignment, obj->r.address, ret,
				 ktime_get_ns() - t0);
	if (!ret) {
		atomic64_add(used, &dev->bubble_used);
		atomic64_inc(&dev->bubble_objects);
	}
	if (ret) {
		fnmm_buf_put(buf);
		return ret;
	}
	/* An arena is never cut (no ReleaseSections): always a block. */
	fnmm_buf_phys(buf, obj->r.address, &phys, &len);
	req->offset = obj->r.address;
	req->range.size = round_up(obj->r.size, FNMM_BUBBLE_GRANULE);
	req->range.phys = phys;
	req->range.access = buf->access;
	return 0;
}

/**
 * fnmm_ctx_bubble_done() - end a fnmm_ctx_bubble_alloc()
 * @ctx: the context
 * @obj: the object
 * @undo: the caller could not hand it on: take it back if it is still
 *	the arena's last (else it stays, as any object, until the arena
 *	goes)
 */
void fnmm_ctx_bubble_done(struct fnmm_ctx *ctx, struct fnmm_bubble_obj *obj,
			  bool undo)
{
	u64 back;

	if (undo) {
		back = fnmm_bubble_undo(obj->buf->bubble, &obj->r, obj->top);
		if (back) {
			atomic64_sub(back, &ctx->dev->bubble_used);
			atomic64_dec(&ctx->dev->bubble_objects);
		}
	}
	fnmm_buf_put(obj->buf);
}

/**
 * fnmm_ctx_reserve_buf() - ReserveMem: make a new allocation in a context
 * @ctx: the context
 * @req: in: range.size, range.access (0: default), flags, align;
 *	out: handle, range.size, range.phys (of the first byte: the caller
 *	decides whether to show it), offset
 * @sparse: the pages need not be physically contiguous (Split/Bit only)
 * @out: if not NULL, the new allocation, with a reference for the caller
 *	(its handle may be released by another thread at any time)
 *
 * The handle is published only once the allocation is complete.
 *
 * Return: 0, -EINVAL (also: Uncached/Device where the region cannot be
 * made so), -E2BIG, -ENOMEM (no space, or over the user's
 * RLIMIT_MEMLOCK) or -ENOSPC (max_handles live handles already).
 */
int fnmm_ctx_reserve_buf(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
			 bool sparse, struct fnmm_buf **out)
{
	return ctx_make(ctx, req, sparse, true, out);
}

/**
 * fnmm_ctx_reserve_anon() - an allocation without a handle, for a mapping
 * @ctx: the context
 * @size: bytes (rounded up to pages)
 * @access: FNMM_ACCESS_* of the allocation
 * @out: the allocation, with the only reference: it lives as long as the
 *	holder of that reference (mmap() at offset 0: the mapping)
 *
 * From Split, physically contiguous if a run is free, else in pieces.
 *
 * Return: 0, -EINVAL, -E2BIG (larger than Split) or -ENOMEM (no space,
 * or over the user's RLIMIT_MEMLOCK).
 */
int fnmm_ctx_reserve_anon(struct fnmm_ctx *ctx, u64 size, u32 access,
			  struct fnmm_buf **out)
{
	struct fnmm_vmctl req = { .argsz = sizeof(req),
				  .flags = FNMM_ALLOC_SPLIT,
				  .range = { .size = size, .access = access } };

	return ctx_make(ctx, &req, true, false, out);
}

/**
 * fnmm_ctx_reserve() - fnmm_ctx_reserve_buf() without the allocation
 * @ctx: the context
 * @req: as for fnmm_ctx_reserve_buf()
 * @sparse: as for fnmm_ctx_reserve_buf()
 *
 * Return: as fnmm_ctx_reserve_buf().
 */
int fnmm_ctx_reserve(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
		     bool sparse)
{
	return fnmm_ctx_reserve_buf(ctx, req, sparse, NULL);
}

/**
 * fnmm_ctx_release_buf() - Release a given allocation, if still live
 * @ctx: the context
 * @buf: the allocation (the caller holds a reference)
 *
 * Unlike fnmm_ctx_release(), never releases another allocation that has
 * since been given the same handle number.
 *
 * Return: 0 or -ENOENT (its handle was released already).
 */
int fnmm_ctx_release_buf(struct fnmm_ctx *ctx, struct fnmm_buf *buf)
{
	bool live;

	xa_lock(&ctx->bufs);
	live = xa_load(&ctx->bufs, buf->id) == buf;
	if (live)
		__xa_erase(&ctx->bufs, buf->id);
	xa_unlock(&ctx->bufs);
	if (!live)
		return -ENOENT;
	atomic64_dec(&ctx->nbufs);
	fnmm_buf_put(buf);
	return 0;
}

/**
 * fnmm_ctx_release() - Release: drop an allocation's handle
 * @ctx: the context
 * @handle: the handle
 *
 * The memory goes back when the last mapping of it is gone.
 *
 * Return: 0 or -ENOENT (not a live handle of this context).
 */
int fnmm_ctx_release(struct fnmm_ctx *ctx, u64 handle)
{
	struct fnmm_buf *buf;

	if (!handle || handle & ~PAGE_MASK ||
	    (handle >> PAGE_SHIFT) >= FNMM_MAX_HANDLES)
		return -ENOENT;
	buf = xa_erase(&ctx->bufs, handle >> PAGE_SHIFT);
	if (!buf)
		return -ENOENT;
	atomic64_dec(&ctx->nbufs);
	fnmm_buf_put(buf);
	return 0;
}

/*
 * Release [off, off + size) of block @i, keeping what is outside.  The
 * caller guarantees the section is inside the block, and room for one
 * more entry in buf->blocks.
 */
static int buf_cut(struct fnmm_buf *buf, unsigned int i, u64 off, u64 size)
{
	struct fnmm_allocator *a = ctx_alloc(buf->ctx, buf->kind);
	struct fnmm_block *b = &buf->blocks[i];
	u64 head = off - b->off, tail = b->off + b->size - (off + size);
	u64 phys = b->phys + head;
	int ret;

	if (head) {
		ret = fnmm_carve(a, b->phys, head);
		if (ret)
			return ret;
	}
	if (tail) {
		ret = fnmm_carve(a, phys, size);
		if (WARN_ON_ONCE(ret))
			return ret;
	}
	fnmm_ctx_uncharge(buf->ctx, size);
	fnmm_dev_give_back(buf->ctx->dev, buf->kind, buf->access, phys, size,
			   buf->ctx->user, READ_ONCE(buf->pmd));
	atomic64_sub(size, &buf->ctx->held[buf->kind]);
	atomic64_sub(size, &buf->ctx->bytes);

	if (head && tail) {
		memmove(b + 2, b + 1, (buf->nblocks - i - 1) * sizeof(*b));
		b[1] = (struct fnmm_block){ off + size, phys + size, tail };
		b->size = head;
		buf->nblocks++;
	} else if (head) {
		b->size = head;
	} else if (tail) {
		*b = (struct fnmm_block){ off + size, phys + size, tail };
	} else {
		memmove(b, b + 1, (buf->nblocks - i - 1) * sizeof(*b));
		buf->nblocks--;
	}
	return 0;
}

/**
 * fnmm_ctx_release_sections() - ReleaseSections: free part of an allocation
 * @ctx: the context
 * @handle: the allocation
 * @offset: byte offset of the section, page-aligned
 * @size: bytes, page-aligned, not 0
 *
 * Every page of the section must still be held; releasing the last
 * held pages releases the allocation (its handle goes, as by Release).
 *
 * Return: 0, -ENOENT (handle), -EINVAL (misaligned, outside the
 * allocation, a page of it released already, or a Pool object), -EBUSY
 * (the allocation is mapped or exported), -ENOMEM.
 */
int fnmm_ctx_release_sections(struct fnmm_ctx *ctx, u64 handle, u64 offset,
			      u64 size)
{
	struct fnmm_buf *buf = fnmm_ctx_get(ctx, handle);
	struct fnmm_block *nb;
	bool gone = false;
	u64 held = 0;
	unsigned int i;
	int ret = 0;

	if (!buf)
		return -ENOENT;
	if (buf->kind == FNMM_ALLOC_POOL || buf->bubble || !size ||
	    !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(size) || offset >= buf->size ||
	    size > buf->size - offset) {
		ret = -EINVAL;
		goto out;
	}
	mutex_lock(&ctx->lock);
	/* Mapped, or a dma-buf's importers may hold its blocks. */
	if (atomic_read(&buf->maps) || atomic_read(&buf->exported)) {
		ret = -EBUSY;
		goto unlock;
	}
	for (i = 0; i < buf->nblocks; i++) {
		struct fnmm_block *b = &buf->blocks[i];
		u64 s = max(offset, b->off);
		u64 e = min(offset + size, b->off + b->size);

		if (s < e)
			held += e - s;
	}
	if (held != size) {
		ret = -EINVAL;	/* part of it was released already */
		goto unlock;
	}
	nb = kvmalloc_array(buf->nblocks + 1, sizeof(*nb), GFP_KERNEL_ACCOUNT);
	if (!nb) {
		ret = -ENOMEM;
		goto unlock;
	}
	memcpy(nb, buf->blocks, buf->nblocks * sizeof(*nb));
	kvfree(buf->blocks);
	buf->blocks = nb;
	buf->contiguous = false;
	i = 0;
	while (i < buf->nblocks) {
		struct fnmm_block *b = &buf->blocks[i];
		u64 s = max(offset, b->off);
		u64 e = min(offset + size, b->off + b->size);
		bool head = s > b->off;

		if (s >= e) {
			i++;
			continue;
		}
		ret = buf_cut(buf, i, s, e - s);
		if (ret)
			break;
		/* Without a head, index i now holds what followed. */
		if (head)
			i++;
	}
	gone = !buf->nblocks;
unlock:
	mutex_unlock(&ctx->lock);
	/* Nothing left: the allocation goes, as by Release. */
	if (gone)
		fnmm_ctx_release_buf(ctx, buf);
out:
	fnmm_buf_put(buf);
	return ret;
}

/**
 * fnmm_buf_phys() - physical address behind an offset of a mapping
 * @buf: the allocation
 * @off: byte offset from the start of the allocation's first page (a
 *	mapping offset: a Pool object starts @buf->page_off into its page,
 *	and the whole page is the context's)
 * @phys: out: the physical address
 * @len: out: bytes physically contiguous from there
 *
 * Return: 0, or -ENXIO for an offset in a released section or past the
 * end.
 */
int fnmm_buf_phys(struct fnmm_buf *buf, u64 off, u64 *phys, u64 *len)
{
	struct fnmm_block *b;
	unsigned int lo, hi;

	if (!buf->nblocks)
		return -ENXIO;
	if (buf->kind == FNMM_ALLOC_POOL) {
		/* The whole page around a Pool object is this context's. */
		if (off >= buf->map_size)
			return -ENXIO;
		*phys = buf->blocks[0].phys - buf->page_off + off;
		*len = buf->map_size - off;
		return 0;
	}
	/* The last block starting at or before @off: O(log blocks). */
	lo = 0;
	hi = buf->nblocks;
	while (hi - lo > 1) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (buf->blocks[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	b = &buf->blocks[lo];
	if (off < b->off || off - b->off >= b->size)
		return -ENXIO;
	*phys = b->phys + (off - b->off);
	*len = b->size - (off - b->off);
	return 0;
}

/**
 * fnmm_ctx_create() - a new, empty memory context
 * @dev: the device
 * @user: the user whose locked memory pays for the context's region
 *	bytes (a reference is taken), or NULL for a context that is not
 *	limited
 * @priv: the context may see physical addresses
 *
 * Return: the context or ERR_PTR(-ENOMEM).
 */
struct fnmm_ctx *fnmm_ctx_create(struct fnmm_dev *dev,
				 struct user_struct *user, bool priv)
{
	struct fnmm_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);

	if (!ctx)
		return ERR_PTR(-ENOMEM);
	kref_init(&ctx->ref);
	ctx->dev = dev;
	ctx->user = user ? get_uid(user) : NULL;
	ctx->priv = priv;
	ctx->pages = (struct fnmm_allocator){ .ops = &pages_ops,
		.base = dev->split->base, .size = dev->split->size,
		.granule = dev->split->granule };
	ctx->pid = task_tgid_nr(current);
	xa_init_flags(&ctx->bufs, XA_FLAGS_ALLOC1);
	mutex_init(&ctx->lock);
	mutex_lock(&dev->lock);
	list_add_tail(&ctx->node, &dev->contexts);
	dev->ncontexts++;
	mutex_unlock(&dev->lock);
	return ctx;
}

static void ctx_release(struct kref *ref)
{
	struct fnmm_ctx *ctx = container_of(ref, struct fnmm_ctx, ref);
	struct fnmm_dev *dev = ctx->dev;

	WARN_ON_ONCE(atomic64_read(&ctx->bytes));
	xa_destroy(&ctx->bufs);
	mutex_lock(&dev->lock);
	list_del(&ctx->node);
	dev->ncontexts--;
	mutex_unlock(&dev->lock);
	fnmm_destroy(ctx->pool);
	free_uid(ctx->user);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
}

/**
 * fnmm_ctx_put() - drop a reference to a context
 * @ctx: the context; freed (with its Pool) on the last reference
 */
void fnmm_ctx_put(struct fnmm_ctx *ctx)
{
	kref_put(&ctx->ref, ctx_release);
}

/**
 * fnmm_ctx_destroy() - the file is closed: drop every handle
 * @ctx: the context; no mapping of it may remain
 *
 * Allocations a dma-buf still holds stay (and the context with them,
 * counted and charged) until the last dma-buf goes.
 */
void fnmm_ctx_destroy(struct fnmm_ctx *ctx)
{
	struct fnmm_buf *buf;
	unsigned long id;

	xa_for_each(&ctx->bufs, id, buf) {
		xa_erase(&ctx->bufs, id);
		atomic64_dec(&ctx->nbufs);
		fnmm_buf_put(buf);
	}
	WRITE_ONCE(ctx->closed, true);
	fnmm_ctx_put(ctx);
}

/*
 * largest: exact (per-CPU magazines drained first) for a privileged
 * context; for any other, the index as it is, without the blocks on
 * magazines, so that a loop of Info calls cannot make every CPU's next
 * small request go to the allocator's lock.
 */
static void stats_of(struct fnmm_allocator *a, struct fnmm_alloc_stats *s,
		     bool priv)
{
	s->size = fnmm_size(a);
	s->free = fnmm_available(a);
	s->largest = priv ? fnmm_largest(a) : fnmm_longest(a);
	s->granule = a->granule;
}

/**
 * fnmm_ctx_info() - Info/Stats for a context
 * @ctx: the caller's context
 * @info: filled in (argsz is left alone); physical addresses only if
 *	the context may see them
 */
void fnmm_ctx_info(struct fnmm_ctx *ctx, struct fnmm_info *info)
{
	struct fnmm_dev *dev = ctx->dev;
	struct fnmm_alloc_stats *ps = &info->alloc[FNMM_ALLOC_POOL];
	struct fnmm_ctx *c;
	int k;

	info->version = FNMM_ABI_VERSION;
	info->region_base = ctx->priv ? dev->region.base : 0;
	info->region_size = dev->region.size;
	info->page_size = PAGE_SIZE;
	stats_of(dev->split, &info->alloc[FNMM_ALLOC_SPLIT], ctx->priv);
	stats_of(dev->bit, &info->alloc[FNMM_ALLOC_BIT], ctx->priv);
	memset(ps, 0, sizeof(*ps));
	ps->granule = 1ULL << FNMM_POOL_MIN_SHIFT;
	/* Any context can start a pool page while Split has one. */
	if (fnmm_available(dev->split) >= PAGE_SIZE)
		ps->largest = PAGE_SIZE / 2;
	mutex_lock(&dev->lock);
	list_for_each_entry(c, &dev->contexts, node) {
		mutex_lock(&c->lock);
		if (c->pool) {
			ps->size += fnmm_pool_held(c->pool);
			ps->free += fnmm_available(c->pool);
		}
		mutex_unlock(&c->lock);
	}
	info->contexts = dev->ncontexts;
	mutex_unlock(&dev->lock);
	for (k = 0; k < FNMM_NR_ALLOCATORS; k++)
		info->alloc[k].allocations = atomic64_read(&dev->nallocs[k]);
	info->mappings = atomic64_read(&dev->mappings);
	info->ctx_allocations = atomic64_read(&ctx->nbufs);
	info->ctx_bytes = atomic64_read(&ctx->bytes);
	info->ctx_mappings = atomic64_read(&ctx->maps);
	info->quarantined = fnmm_dev_quarantined(dev);
	info->pinned = fnmm_dev_pinned(dev);
	info->exported = atomic64_read(&dev->exported);
	info->exported_bytes = atomic64_read(&dev->exported_bytes);
	info->bubble_arenas = atomic64_read(&dev->bubble_arenas);
	info->bubble_bytes = atomic64_read(&dev->bubble_bytes);
	info->bubble_used = atomic64_read(&dev->bubble_used);
	info->bubble_objects = atomic64_read(&dev->bubble_objects);
	info->memlock_used = user_locked(ctx->user);
	info->memlock_limit = ctx->user && rlimit(RLIMIT_MEMLOCK) != RLIM_INFINITY ?
			      rlimit(RLIMIT_MEMLOCK) : U64_MAX;
}

/**
 * fnmm_dev_check() - verify every allocator of the device
 * @dev: the device
 *
 * Return: 0, or -EUCLEAN if any allocator's metadata is inconsistent.
 */
int fnmm_dev_check(struct fnmm_dev *dev)
{
	struct fnmm_ctx *c;
	int ret = fnmm_check(dev->split) ?: fnmm_check(dev->bit);

	mutex_lock(&dev->lock);
	list_for_each_entry(c, &dev->contexts, node) {
		mutex_lock(&c->lock);
		if (!ret && c->pool)
			ret = fnmm_check(c->pool);
		mutex_unlock(&c->lock);
	}
	mutex_unlock(&dev->lock);
	return ret;
}

/**
 * fnmm_dev_audit() - check that every byte of the region is accounted for
 * @dev: the device
 * @why: out: what disagrees, if anything
 * @len: bytes at @why
 *
 * Split's used bytes must be the Bit part, the contexts' Split
 * allocations, their pools' pages and Split's quarantines (failed scrubs,
 * pages still referenced); Bit's used bytes the contexts' Bit
 * allocations and Bit's quarantines; each
 * pool's used bytes its context's Pool allocations; the device's
 * mappings the contexts' mappings.  Counters move outside
 * the allocators' locks, so the audit is exact only when no operation is
 * in flight.
 *
 * Return: 0, or -EUCLEAN with @why filled in.
 */
int fnmm_dev_audit(struct fnmm_dev *dev, char *why, size_t len)
{
	u64 split_used = fnmm_size(dev->split) - fnmm_available(dev->split);
	u64 bit_used = fnmm_size(dev->bit) - fnmm_available(dev->bit);
	u64 split_held = fnmm_size(dev->bit) +
			 atomic64_read(&dev->quarantined[FNMM_ALLOC_SPLIT]) +
			 atomic64_read(&dev->pinned_bytes[FNMM_ALLOC_SPLIT]);
	u64 bit_held = atomic64_read(&dev->quarantined[FNMM_ALLOC_BIT]) +
		       atomic64_read(&dev->pinned_bytes[FNMM_ALLOC_BIT]);
	u64 maps = 0;
	struct fnmm_ctx *c;
	int ret = 0;

	mutex_lock(&dev->lock);
	list_for_each_entry(c, &dev->contexts, node) {
		u64 pool_used = 0;

		mutex_lock(&c->lock);
		if (c->pool) {
			split_held += fnmm_pool_held(c->pool);
			pool_used = fnmm_pool_held(c->pool) -
				    fnmm_available(c->pool);
		}
		mutex_unlock(&c->lock);
		split_held += atomic64_read(&c->held[FNMM_ALLOC_SPLIT]);
		bit_held += atomic64_read(&c->held[FNMM_ALLOC_BIT]);
		maps += atomic64_read(&c->maps);
		if (!ret && pool_used != atomic64_read(&c->held[FNMM_ALLOC_POOL])) {
			snprintf(why, len, "pid %d: pool uses %llu bytes, its allocations hold %lld",
				 c->pid, pool_used,
				 atomic64_read(&c->held[FNMM_ALLOC_POOL]));
			ret = -EUCLEAN;
		}
	}
	mutex_unlock(&dev->lock);
	if (ret)
		return ret;
	if (split_used != split_held)
		snprintf(why, len, "split uses %llu bytes, owners hold %llu",
			 split_used, split_held);
	else if (bit_used != bit_held)
		snprintf(why, len, "bit uses %llu bytes, owners hold %llu",
			 bit_used, bit_held);
	else if (maps != atomic64_read(&dev->mappings))
		snprintf(why, len, "device counts %lld mappings, contexts %llu",
			 atomic64_read(&dev->mappings), maps);
	else
		return 0;
	return -EUCLEAN;
}

/**
 * fnmm_dev_init() - build the allocators over a claimed region
 * @dev: the device, with @dev->region set
 * @bit_size: bytes of the region given to the Bit allocator (page-rounded;
 *	0: an eighth of the region)
 *
 * @dev->account, @dev->max_handles (0: the most, 2^20 - 1) and
 * @dev->alloc_flags (0 or FNMM_NO_PERCPU, for Split and Bit) are the
 * caller's to set before.
 *
 * Return: 0 or a negative errno.
 */
int fnmm_dev_init(struct fnmm_dev *dev, u64 bit_size)
{
	struct fnmm_range r = { .alignment = PAGE_SIZE };
	int k, ret;

	mutex_init(&dev->lock);
	INIT_LIST_HEAD(&dev->contexts);
	fnmm_dev_quarantine_init(dev);
	if (!dev->max_handles || dev->max_handles > FNMM_MAX_HANDLES - 1)
		dev->max_handles = FNMM_MAX_HANDLES - 1;
	for (k = 0; k < FNMM_NR_ALLOCATORS; k++)
		atomic64_set(&dev->nallocs[k], 0);
	atomic64_set(&dev->exported, 0);
	atomic64_set(&dev->exported_bytes, 0);
	atomic64_set(&dev->bubble_arenas, 0);
	atomic64_set(&dev->bubble_bytes, 0);
	atomic64_set(&dev->bubble_used, 0);
	atomic64_set(&dev->bubble_objects, 0);
	atomic64_set(&dev->mappings, 0);
	dev->split = fnmm_split_create_flags(dev->region.base, dev->region.size,
					     0, dev->alloc_flags);
	if (IS_ERR(dev->split))
		return PTR_ERR(dev->split);
	if (!bit_size)
		bit_size = dev->region.size / 8;
	r.size = max_t(u64, PAGE_ALIGN(bit_size), PAGE_SIZE);
	ret = fnmm_allocate(dev->split, &r);
	if (ret)
		goto err_split;
	dev->bit_base = r.address;
	dev->bit = fnmm_bit_create_flags(r.address, r.size, PAGE_SIZE,
					 dev->alloc_flags);
	if (IS_ERR(dev->bit)) {
		ret = PTR_ERR(dev->bit);
		goto err_carve;
	}
	return 0;
err_carve:
	fnmm_release(dev->split, dev->bit_base);
err_split:
	fnmm_destroy(dev->split);
	return ret;
}

/**
 * fnmm_dev_fini() - destroy the allocators; no context may remain
 * @dev: the device
 */
void fnmm_dev_fini(struct fnmm_dev *dev)
{
	WARN_ON_ONCE(!list_empty(&dev->contexts));
	fnmm_dev_quarantine_fini(dev);
	fnmm_destroy(dev->bit);
	fnmm_release(dev->split, dev->bit_base);
	fnmm_destroy(dev->split);
	mutex_destroy(&dev->lock);
}
