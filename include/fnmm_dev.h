/* SPDX-License-Identifier: GPL-2.0 */
/*
 * freenos-mm: the region, memory contexts and allocations behind
 * /dev/freenos-mm (kernel-internal).
 */
#ifndef _FNMM_DEV_H
#define _FNMM_DEV_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/memremap.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct dma_buf;
#include "fnmm_alloc.h"
#include "uapi/linux/freenos-mm.h"

/**
 * struct fnmm_region - the physical memory the module serves
 * @base: physical base, page-aligned
 * @size: bytes
 * @kaddr: kernel address of @base when the region is in the direct map
 *	(taken at load time, or given pages), else NULL (memremap on use)
 * @res: the claimed resource of a boot-reserved region, else NULL
 * @taken: taken from the page allocator at load time (System RAM)
 * @pages: every page of the region has a struct page that mappings use
 *	(taken, or boot-reserved with ZONE_DEVICE pages): get_user_pages()
 *	works on them, and an idle page has refcount 1
 * @pgmap: the ZONE_DEVICE pages of a boot-reserved region (type 0 if none)
 * @mnt: the module's pseudo file system, for @inode
 * @inode: owner of the address_space every page's ->mapping points to
 *	(futex keys), or NULL
 * @next_key: the next page ->index never given out (fnmm_pages_rekey())
 */
struct fnmm_region {
	u64 base;
	u64 size;
	void *kaddr;
	struct resource *res;
	bool taken;
	bool pages;
	struct dev_pagemap pgmap;
	struct vfsmount *mnt;
	struct inode *inode;
	atomic64_t next_key;
};

int fnmm_region_claim(struct fnmm_region *r, u64 base, u64 size);
int fnmm_region_take(struct fnmm_region *r, u64 size);
void fnmm_region_put(struct fnmm_region *r);
int fnmm_region_scrub(struct fnmm_region *r, u64 phys, u64 size);
int fnmm_region_set_type(struct fnmm_region *r, u64 phys, u64 size,
			 u32 access);
u64 fnmm_region_idle(struct fnmm_region *r, u64 phys, u64 size);
int fnmm_pages_init(struct fnmm_region *r, bool zone_device);
void fnmm_pages_fini(struct fnmm_region *r);
void fnmm_pages_rekey(struct fnmm_region *r, u64 phys, u64 size);
bool fnmm_pages_poisoned(struct fnmm_region *r, u64 phys, u64 size);
void fnmm_pages_flush_tlb(void);

enum fnmm_cache_op { FNMM_CACHE_CLEAN, FNMM_CACHE_INVAL, FNMM_CACHE_FLUSH };
int fnmm_region_cache(struct fnmm_region *r, u64 phys, u64 size,
		      enum fnmm_cache_op op);

/* user_struct.locked_vm exists with these (include/linux/sched/user.h). */
#if defined(CONFIG_NET) || defined(CONFIG_IO_URING) || \
	defined(CONFIG_VFIO_PCI_ZDEV_KVM) || IS_ENABLED(CONFIG_IOMMUFD) || \
	defined(CONFIG_SECRETMEM)
#define FNMM_HAVE_LOCKED_VM	1
#endif

/* Live handles per file: at most this many less one (handle ids). */
#define FNMM_MAX_HANDLES	BIT(20)

/**
 * struct fnmm_qblock - a block kept out of use: its scrub failed, or a
 *	page of it is still referenced (get_user_pages)
 * @node: on fnmm_dev.quarantine or fnmm_dev.pinned
 * @kind: FNMM_ALLOC_SPLIT or FNMM_ALLOC_BIT: the allocator holding it
 * @access: access flags it was used with (pinned: its memory type)
 * @phys: physical address (a live allocation of that allocator)
 * @size: bytes
 * @next: pinned: the first page not yet seen unreferenced
 * @user: pinned: whose RLIMIT_MEMLOCK it stays charged to, or NULL
 * @flush: pinned: it had a PMD entry: flush TLBs before reuse
 */
struct fnmm_qblock {
	struct list_head node;
	u8 kind;
	u32 access;
	u64 phys;
	u64 size;
	u64 next;
	struct user_struct *user;
	bool flush;
};

/**
 * struct fnmm_dev - the device: region, shared allocators, contexts
 * @region: the memory served
 * @split: Split allocator over the whole region (less the Bit part)
 * @bit: Bit allocator over a part of the region taken from @split
 * @bit_base: start of the Bit part (an allocation of @split)
 * @lock: protects @contexts and @ncontexts
 * @contexts: open contexts (struct fnmm_ctx.node)
 * @ncontexts: entries on @contexts
 * @nallocs: live allocations per allocator (FNMM_ALLOC_*)
 * @mappings: live mappings (VMAs) of all contexts
 * @qlock: protects @quarantine, @pinned and @pin_module
 * @quarantine: blocks whose scrub failed (struct fnmm_qblock)
 * @quarantined: bytes in quarantine per allocator (FNMM_ALLOC_*), also
 *	those whose record could not be allocated
 * @pinned: blocks unmapped and released while a page of them is still
 *	referenced (struct fnmm_qblock), waiting
 * @pinned_bytes: bytes on @pinned per allocator
 * @pin_lock: serialises rechecks of @pinned (only they take blocks off)
 * @pin_work: rechecks @pinned while it is not empty
 * @pin_module: the module holds a reference on itself for @pinned
 * @fail_scrub: fault injection: this many scrubs fail next (debugfs)
 * @fail_type: fault injection: this many restores of write-back (take=
 *	mode) fail next (debugfs)
 * @exported: dma-bufs of allocations alive (FNMM_IOC_EXPORT)
 * @exported_bytes: bytes of the allocations they keep alive
 * @bubble_arenas: Bubble arenas alive (Info)
 * @bubble_bytes: their bytes
 * @bubble_used: bytes handed out from them, padding included
 * @bubble_objects: objects handed out from them
 * @expose_phys: physical addresses may be shown to unprivileged callers
 * @account: charge region bytes to the opener's RLIMIT_MEMLOCK
 * @max_handles: live handles per file at most
 * @alloc_flags: 0, or FNMM_NO_PERCPU for Split and Bit (module parameter
 *	percpu=0: no per-CPU magazines, placement exactly first fit)
 * @misc: the character device /dev/freenos-mm
 * @debugfs: /sys/kernel/debug/freenos-mm, or an error pointer
 */
struct fnmm_dev {
	struct fnmm_region region;
	struct fnmm_allocator *split;
	struct fnmm_allocator *bit;
	u64 bit_base;
	struct mutex lock;	/* protects contexts, ncontexts */
	struct list_head contexts;
	unsigned long ncontexts;
	atomic64_t nallocs[FNMM_NR_ALLOCATORS];
	atomic64_t mappings;
	spinlock_t qlock;	/* protects quarantine, pinned, pin_module */
	struct list_head quarantine;
	atomic64_t quarantined[FNMM_NR_ALLOCATORS];
	struct list_head pinned;
	atomic64_t pinned_bytes[FNMM_NR_ALLOCATORS];
	struct mutex pin_lock;	/* serialises rechecks of pinned */
	struct delayed_work pin_work;
	bool pin_module;
	atomic_t fail_scrub;
	atomic_t fail_type;
	atomic64_t exported;
	atomic64_t exported_bytes;
	atomic64_t bubble_arenas;
	atomic64_t bubble_bytes;
	atomic64_t bubble_used;
	atomic64_t bubble_objects;
	bool expose_phys;
	bool account;
	u32 max_handles;
	unsigned int alloc_flags;
	struct miscdevice misc;
	struct dentry *debugfs;
};

int fnmm_dev_init(struct fnmm_dev *dev, u64 bit_size);
void fnmm_dev_fini(struct fnmm_dev *dev);
void fnmm_dev_quarantine_init(struct fnmm_dev *dev);
void fnmm_dev_quarantine_fini(struct fnmm_dev *dev);
int fnmm_dev_scrub(struct fnmm_dev *dev, u64 phys, u64 size);
void fnmm_dev_give_back(struct fnmm_dev *dev, u8 kind, u32 access, u64 phys,
			u64 size, struct user_struct *user, bool flush);
u64 fnmm_dev_quarantined(struct fnmm_dev *dev);
u64 fnmm_dev_quarantine_retry(struct fnmm_dev *dev);
u64 fnmm_dev_pinned(struct fnmm_dev *dev);
u64 fnmm_dev_pins_recheck(struct fnmm_dev *dev);

/**
 * struct fnmm_block - one physically contiguous piece of an allocation
 * @off: byte offset of the piece within the allocation
 * @phys: physical address
 * @size: bytes
 */
struct fnmm_block {
	u64 off;
	u64 phys;
	u64 size;
};

/**
 * struct fnmm_buf - one allocation of a context (a handle)
 * @ref: one reference for the handle, one per mapping (VMA)
 * @ctx: the owning context
 * @id: handle >> PAGE_SHIFT
 * @kind: FNMM_ALLOC_* that serves it
 * @access: FNMM_ACCESS_* given at ReserveMem
 * @contiguous: made as one block (MapContiguous may map it)
 * @size: bytes requested, rounded to the allocator's granule
 * @map_size: bytes an mmap() of it may cover (page-rounded)
 * @page_off: offset of the allocation in its first page (Pool objects)
 * @maps: live mappings of it (changes under the context's lock)
 * @nblocks: entries in @blocks (sorted by offset; holes are released)
 * @blocks: the physical pieces
 * @memtype: while mapped, for an allocation in several pieces: a kernel
 *	mapping of each block in the allocation's cache type, which holds
 *	the x86 PAT memory type of its pages (see device.c), else NULL
 * @pmd: a 2 MiB entry has mapped it (its blocks go back after a TLB
 *	flush, see pages.c)
 * @exported: a dma-buf of it is alive (one at a time)
 * @bubble: a Bubble arena's allocator over offsets [0, @size) (Split
 *	memory, kind FNMM_ALLOC_SPLIT), or NULL; its objects are taken
 *	under the context's lock
 */
struct fnmm_buf {
	struct kref ref;
	struct fnmm_ctx *ctx;
	u32 id;
	u8 kind;
	u32 access;
	bool contiguous;
	u64 size;
	u64 map_size;
	u64 page_off;
	atomic_t maps;
	unsigned int nblocks;
	struct fnmm_block *blocks;
	void **memtype;
	bool pmd;
	atomic_t exported;
	struct fnmm_allocator *bubble;
};

/**
 * struct fnmm_ctx - a memory context: one open file (FreeNOS MemoryContext)
 * @ref: one for the open file, one per dma-buf of its allocations: a
 *	context outlives its file while an export keeps an allocation
 * @dev: the device
 * @node: on @dev->contexts
 * @bufs: handle id -> struct fnmm_buf; the xarray's lock guards the map
 * @lock: serialises changes to allocations' blocks and the creation of
 *	@pool
 * @pool: this context's Pool (over @pages), created on first use
 * @pages: the Pool's parent: Split's pages, charged to @user and
 *	scrubbed when they go back
 * @user: whose locked memory (RLIMIT_MEMLOCK) pays for the region bytes
 *	held, or NULL: not limited
 * @priv: may see physical addresses (decided at open)
 * @bytes: bytes held by live allocations
 * @held: bytes of @bytes per allocator (FNMM_ALLOC_*), for the audit
 * @nbufs: live handles
 * @maps: live mappings
 * @exported: dma-bufs of its allocations alive
 * @closed: its file is closed (it lives on for @exported)
 * @pid: tgid of the opener, for reports
 */
struct fnmm_ctx {
	struct kref ref;
	struct fnmm_dev *dev;
	struct list_head node;
	struct xarray bufs;
	struct mutex lock;	/* serialises block changes, pool creation */
	struct fnmm_allocator *pool;
	struct fnmm_allocator pages;
	struct user_struct *user;
	bool priv;
	atomic64_t bytes;
	atomic64_t held[FNMM_NR_ALLOCATORS];
	atomic64_t nbufs;
	atomic64_t maps;
	atomic64_t exported;
	bool closed;
	pid_t pid;
};

struct fnmm_ctx *fnmm_ctx_create(struct fnmm_dev *dev,
				 struct user_struct *user, bool priv);
int fnmm_ctx_charge(struct fnmm_ctx *ctx, u64 bytes);
void fnmm_ctx_uncharge(struct fnmm_ctx *ctx, u64 bytes);
void fnmm_ctx_destroy(struct fnmm_ctx *ctx);
void fnmm_ctx_put(struct fnmm_ctx *ctx);
int fnmm_ctx_reserve(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
		     bool sparse);
int fnmm_ctx_reserve_anon(struct fnmm_ctx *ctx, u64 size, u32 access,
			  struct fnmm_buf **out);
int fnmm_ctx_reserve_buf(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
			 bool sparse, struct fnmm_buf **out);
int fnmm_ctx_release_buf(struct fnmm_ctx *ctx, struct fnmm_buf *buf);
int fnmm_ctx_release(struct fnmm_ctx *ctx, u64 handle);
int fnmm_ctx_release_sections(struct fnmm_ctx *ctx, u64 handle, u64 offset,
			      u64 size);
struct fnmm_buf *fnmm_ctx_get(struct fnmm_ctx *ctx, u64 handle);

/* Access flags that map memory uncached (Device) or write-combined. */
static inline bool fnmm_access_uncached(u32 access)
{
	return access & (FNMM_ACCESS_UNCACHED | FNMM_ACCESS_DEVICE);
}

void fnmm_buf_put(struct fnmm_buf *buf);
u64 fnmm_buf_held(struct fnmm_buf *buf);
int fnmm_buf_phys(struct fnmm_buf *buf, u64 off, u64 *phys, u64 *len);

/**
 * struct fnmm_bubble_obj - an object just taken from a Bubble arena
 * @buf: the arena (a reference, dropped by fnmm_ctx_bubble_done())
 * @r: the request and its address (an offset in the arena)
 * @top: the arena's top before it, to take it back
 */
struct fnmm_bubble_obj {
	struct fnmm_buf *buf;
	struct fnmm_range r;
	u64 top;
};

int fnmm_ctx_bubble_alloc(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
			  struct fnmm_bubble_obj *obj);
void fnmm_ctx_bubble_done(struct fnmm_ctx *ctx, struct fnmm_bubble_obj *obj,
			  bool undo);
void fnmm_ctx_info(struct fnmm_ctx *ctx, struct fnmm_info *info);
int fnmm_check_vmctl(const struct fnmm_vmctl *req);
int fnmm_dev_check(struct fnmm_dev *dev);
int fnmm_dev_audit(struct fnmm_dev *dev, char *why, size_t len);

#if IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
int fnmm_buf_export(struct fnmm_buf *buf, u32 flags, struct dma_buf **out);
#else
static inline int fnmm_buf_export(struct fnmm_buf *buf, u32 flags,
				  struct dma_buf **out)
{
	return -EOPNOTSUPP;
}
#endif
int fnmm_buf_mmap(struct fnmm_buf *buf, struct vm_area_struct *vma,
		  bool dmabuf);

void fnmm_debugfs_init(struct fnmm_dev *dev);
void fnmm_debugfs_fini(struct fnmm_dev *dev);

extern const struct file_operations fnmm_fops;

#endif /* _FNMM_DEV_H */
