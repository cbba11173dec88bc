// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: an allocation as a dma-buf (FNMM_IOC_EXPORT), for drivers
 * (V4L2 DMABUF buffers, DRM PRIME, RDMA) and other processes.
 *
 * The dma-buf holds a reference to the allocation and one to its
 * context, so the memory lives, counted and charged to the exporting
 * user, after Release, close and exit, for as long as any file of the
 * dma-buf does (passed over SCM_RIGHTS, imported by a driver); then it
 * goes back as any allocation does (fnmm_dev_give_back(): pins wait,
 * scrubbed).  The dma-buf holds the module too (exp_info.owner): rmmod
 * is refused while one lives.  One dma-buf per allocation at a time.
 *
 * Each attachment gets its own sg_table of the allocation's physical
 * blocks, cut to what the importing device takes in one segment
 * (dma_get_max_seg_size(), dma_max_mapping_size(): a contiguous
 * allocation is one entry where the device allows), DMA-mapped for it.
 * CPU access brackets (DMA_BUF_IOCTL_SYNC) wait for the devices' fences,
 * then sync every mapped attachment in the direction it was mapped.
 * mmap() maps as /dev/freenos-mm does (same memory types, faults,
 * get_user_pages(); 4 KiB entries: a dma-buf's file is not DAX, so the
 * kernel never asks it for 2 MiB ones); vmap() is the direct map of a
 * contiguous allocation, or a vmap() made at export for one in pieces
 * (so that it cannot fail later, where dma_buf_vmap() would WARN).
 *
 * A read-only export stays read-only: mappings without write, devices
 * only reading (DMA_TO_DEVICE; importers that map both ways, as DRM
 * PRIME does, are refused with -EACCES), a read-only kernel mapping.
 * Needs struct pages (not with pages=0: -EOPNOTSUPP).
 *
 * Cost: export O(1), or O(pages) for the vmap of an allocation in
 * pieces; attach O(entries); map/unmap one dma_map_sgtable(); CPU
 * access O(attachments x entries); vmap O(1).  Kernel memory: the dma-buf, one ~64-byte record, and per
 * attachment a table of O(blocks) entries.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/fcntl.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "fnmm_dev.h"

MODULE_IMPORT_NS(DMA_BUF);

#define FNMM_SG_MAX	SZ_2G	/* largest sg entry (lengths are 32-bit) */

/**
 * struct fnmm_dmabuf - the exporter's side of one dma-buf
 * @buf: the allocation (one reference)
 * @lock: protects @attachments and each attachment's mapping
 * @attachments: struct fnmm_attach of every importer attached
 * @vaddr: the kernel address of the whole allocation (vmap)
 * @vmapped: @vaddr is a vmap() of its own (an allocation in pieces)
 * @writable: exported O_RDWR
 */
struct fnmm_dmabuf {
	struct fnmm_buf *buf;
	struct mutex lock;	/* protects attachments and their mappings */
	struct list_head attachments;
	void *vaddr;
	bool vmapped;
	bool writable;
};

/**
 * struct fnmm_attach - one importing device
 * @node: on fnmm_dmabuf.attachments
 * @dev: the device
 * @sgt: the allocation's blocks, DMA-mapped for @dev while @mapped
 * @dir: the direction it is mapped in
 * @mapped: between map_dma_buf and unmap_dma_buf
 */
struct fnmm_attach {
	struct list_head node;
	struct device *dev;
	struct sg_table sgt;
	enum dma_data_direction dir;
	bool mapped;
};

/* An sg_table of the allocation's blocks, in entries of at most @max. */
static int buf_sgt(struct fnmm_buf *buf, struct sg_table *sgt, u64 max)
{
	struct scatterlist *sg;
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < buf->nblocks; i++)
		n += DIV_ROUND_UP(buf->blocks[i].size, max);
	ret = sg_alloc_table(sgt, n, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	sg = sgt->sgl;
	for (i = 0; i < buf->nblocks; i++) {
		u64 phys = buf->blocks[i].phys, left = buf->blocks[i].size;

		while (left) {
			u64 len = min(left, max);

			sg_set_page(sg, pfn_to_page(PHYS_PFN(phys)), len, 0);
			sg = sg_next(sg);
			phys += len;
			left -= len;
		}
	}
	return 0;
}

/* The largest segment @dev takes, whole pages, at most FNMM_SG_MAX. */
static u64 dev_max_segment(struct device *dev)
{
	u64 max = min_t(u64, dma_get_max_seg_size(dev),
			dma_max_mapping_size(dev));

	max = min_t(u64, max, FNMM_SG_MAX) & PAGE_MASK;
	return max ?: PAGE_SIZE;
}

static int fnmm_dmabuf_attach(struct dma_buf *dmabuf,
			      struct dma_buf_attachment *attachment)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_attach *a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!a)
		return -ENOMEM;
	ret = buf_sgt(d->buf, &a->sgt, dev_max_segment(attachment->dev));
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dev = attachment->dev;
	attachment->priv = a;
	mutex_lock(&d->lock);
	list_add(&a->node, &d->attachments);
	mutex_unlock(&d->lock);
	return 0;
}

static void fnmm_dmabuf_detach(struct dma_buf *dmabuf,
			       struct dma_buf_attachment *attachment)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_attach *a = attachment->priv;

	mutex_lock(&d->lock);
	list_del(&a->node);
	mutex_unlock(&d->lock);
	sg_free_table(&a->sgt);
	kfree(a);
}

static struct sg_table *fnmm_dmabuf_map(struct dma_buf_attachment *attachment,
					enum dma_data_direction dir)
{
	struct fnmm_dmabuf *d = attachment->dmabuf->priv;
	struct fnmm_attach *a = attachment->priv;
	int ret;

	/* A read-only export is only ever read by devices. */
	if (!d->writable && dir != DMA_TO_DEVICE)
		return ERR_PTR(-EACCES);
	mutex_lock(&d->lock);
	ret = dma_map_sgtable(attachment->dev, &a->sgt, dir, 0);
	if (!ret) {
		a->dir = dir;
		a->mapped = true;
	}
	mutex_unlock(&d->lock);
	return ret ? ERR_PTR(ret) : &a->sgt;
}

static void fnmm_dmabuf_unmap(struct dma_buf_attachment *attachment,
			      struct sg_table *sgt,
			      enum dma_data_direction dir)
{
	struct fnmm_dmabuf *d = attachment->dmabuf->priv;
	struct fnmm_attach *a = attachment->priv;

	mutex_lock(&d->lock);
	a->mapped = false;
	dma_unmap_sgtable(attachment->dev, sgt, dir, 0);
	mutex_unlock(&d->lock);
}

/* The devices' work on the buffer in @dir is done (its fences). */
static int dmabuf_wait(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	bool write = dir == DMA_BIDIRECTIONAL || dir == DMA_TO_DEVICE;
	long ret = dma_resv_wait_timeout(dmabuf->resv, dma_resv_usage_rw(write),
					 true, MAX_SCHEDULE_TIMEOUT);

	return ret < 0 ? ret : 0;
}

/*
 * DMA_BUF_IOCTL_SYNC START: once the devices are done, what they wrote
 * becomes visible to the CPU.  Each attachment is synced in the
 * direction it is mapped in, as the DMA API requires.
 */
static int fnmm_dmabuf_begin_cpu(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_attach *a;
	int ret = dmabuf_wait(dmabuf, dir);

	if (ret)
		return ret;
	mutex_lock(&d->lock);
	list_for_each_entry(a, &d->attachments, node)
		if (a->mapped)
			dma_sync_sgtable_for_cpu(a->dev, &a->sgt, a->dir);
	mutex_unlock(&d->lock);
	return 0;
}

/* DMA_BUF_IOCTL_SYNC END: what the CPU wrote reaches the devices. */
static int fnmm_dmabuf_end_cpu(struct dma_buf *dmabuf,
			       enum dma_data_direction dir)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_attach *a;

	mutex_lock(&d->lock);
	list_for_each_entry(a, &d->attachments, node)
		if (a->mapped)
			dma_sync_sgtable_for_device(a->dev, &a->sgt, a->dir);
	mutex_unlock(&d->lock);
	return 0;
}

static int fnmm_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	int ret;

	kref_get(&d->buf->ref);
	ret = fnmm_buf_mmap(d->buf, vma, true);
	if (ret)
		fnmm_buf_put(d->buf);
	return ret;
}

/* Made at export: it cannot fail here (dma_buf_vmap() would WARN). */
static int fnmm_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct fnmm_dmabuf *d = dmabuf->priv;

	iosys_map_set_vaddr(map, d->vaddr);
	return 0;
}

static void fnmm_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	iosys_map_clear(map);
}

/*
 * The kernel address of the whole allocation, in its memory type (and
 * read-only for a read-only export): the direct map of a contiguous
 * one, else a vmap() of its pages.
 */
static void *buf_kaddr(struct fnmm_buf *buf, bool writable, bool *vmapped)
{
	struct fnmm_region *r = &buf->ctx->dev->region;
	unsigned long n = buf->map_size >> PAGE_SHIFT, i = 0;
	pgprot_t prot = writable ? PAGE_KERNEL : PAGE_KERNEL_RO;
	struct page **pages;
	unsigned int b;
	void *va;

	*vmapped = false;
	if (buf->nblocks == 1 && writable && r->kaddr)
		return r->kaddr + (buf->blocks[0].phys - r->base);
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return NULL;
	for (b = 0; b < buf->nblocks; b++) {
		u64 off;

		for (off = 0; off < buf->blocks[b].size; off += PAGE_SIZE)
			pages[i++] = pfn_to_page(PHYS_PFN(buf->blocks[b].phys +
							  off));
	}
	if (buf->access & FNMM_ACCESS_DEVICE)
		prot = pgprot_noncached(prot);
	else if (buf->access & FNMM_ACCESS_UNCACHED)
		prot = pgprot_writecombine(prot);
	va = vmap(pages, n, VM_MAP, prot);
	kvfree(pages);
	*vmapped = va;
	return va;
}

/* The last file of the dma-buf is gone: the allocation may go. */
static void fnmm_dmabuf_release(struct dma_buf *dmabuf)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_buf *buf = d->buf;
	struct fnmm_ctx *ctx = buf->ctx;
	struct fnmm_dev *dev = ctx->dev;

	atomic64_dec(&dev->exported);
	atomic64_sub(buf->size, &dev->exported_bytes);
	atomic64_dec(&ctx->exported);
	atomic_set(&buf->exported, 0);
	if (d->vmapped)
		vunmap(d->vaddr);
	mutex_destroy(&d->lock);
	kfree(d);
	fnmm_buf_put(buf);
	fnmm_ctx_put(ctx);
}

static const struct dma_buf_ops fnmm_dmabuf_ops = {
	.attach		  = fnmm_dmabuf_attach,
	.detach		  = fnmm_dmabuf_detach,
	.map_dma_buf	  = fnmm_dmabuf_map,
	.unmap_dma_buf	  = fnmm_dmabuf_unmap,
	.begin_cpu_access = fnmm_dmabuf_begin_cpu,
	.end_cpu_access	  = fnmm_dmabuf_end_cpu,
	.mmap		  = fnmm_dmabuf_mmap,
	.vmap		  = fnmm_dmabuf_vmap,
	.vunmap		  = fnmm_dmabuf_vunmap,
	.release	  = fnmm_dmabuf_release,
};

/**
 * fnmm_buf_export() - a dma-buf of an allocation
 * @buf: the allocation (the caller's reference stays the caller's)
 * @flags: O_CLOEXEC, and O_RDWR or O_RDONLY, checked by the caller
 * @out: the dma-buf, with its one reference (no fd yet)
 *
 * Return: 0, -EINVAL (a Pool object: not page-sized; or released
 * sections), -EBUSY (a dma-buf of it lives), -EACCES (not readable, or
 * O_RDWR of a read-only allocation), -EOPNOTSUPP (no struct pages),
 * -ENOMEM.
 */
int fnmm_buf_export(struct fnmm_buf *buf, u32 flags, struct dma_buf **out)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct fnmm_ctx *ctx = buf->ctx;
	struct fnmm_dev *dev = ctx->dev;
	struct dma_buf *dmabuf;
	struct fnmm_dmabuf *d;
	int ret;

	if (!dev->region.pages)
		return -EOPNOTSUPP;
	if (buf->kind == FNMM_ALLOC_POOL)
		return -EINVAL;
	if (!(buf->access & FNMM_ACCESS_READABLE) ||
	    ((flags & O_ACCMODE) == O_RDWR &&
	     !(buf->access & FNMM_ACCESS_WRITABLE)))
		return -EACCES;
	/* Under the lock ReleaseSections takes: no hole appears after. */
	mutex_lock(&ctx->lock);
	ret = fnmm_buf_held(buf) != buf->size ? -EINVAL :
	      atomic_cmpxchg(&buf->exported, 0, 1) ? -EBUSY : 0;
	mutex_unlock(&ctx->lock);
	if (ret)
		return ret;
	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d) {
		atomic_set(&buf->exported, 0);
		return -ENOMEM;
	}
	mutex_init(&d->lock);
	INIT_LIST_HEAD(&d->attachments);
	d->buf = buf;
	d->writable = (flags & O_ACCMODE) == O_RDWR;
	d->vaddr = buf_kaddr(buf, d->writable, &d->vmapped);
	if (!d->vaddr) {
		mutex_destroy(&d->lock);
		kfree(d);
		atomic_set(&buf->exported, 0);
		return -ENOMEM;
	}
	exp_info.exp_name = FNMM_DEVICE_NAME;
	exp_info.owner = THIS_MODULE;
	exp_info.ops = &fnmm_dmabuf_ops;
	exp_info.size = buf->map_size;
	exp_info.flags = flags & (O_ACCMODE | O_CLOEXEC);
	exp_info.priv = d;
	kref_get(&buf->ref);
	kref_get(&ctx->ref);
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		fnmm_ctx_put(ctx);
		fnmm_buf_put(buf);
		if (d->vmapped)
			vunmap(d->vaddr);
		mutex_destroy(&d->lock);
		kfree(d);
		atomic_set(&buf->exported, 0);
		return PTR_ERR(dmabuf);
	}
	atomic64_inc(&dev->exported);
	atomic64_add(buf->size, &dev->exported_bytes);
	atomic64_inc(&ctx->exported);
	*out = dmabuf;
	return 0;
}
