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
 * blocks (one entry per block, split at 2 GiB: a contiguous allocation
 * is one entry), DMA-mapped for the importing device.  CPU access
 * brackets (DMA_BUF_IOCTL_SYNC) sync every mapped attachment in the
 * direction asked.  mmap() maps exactly as /dev/freenos-mm does (same
 * memory types, faults, 2 MiB entries, get_user_pages()); vmap() maps
 * the pages in the kernel in the allocation's memory type.  Needs
 * struct pages (not with pages=0: -EOPNOTSUPP).
 *
 * Cost: export O(1); attach O(blocks); map/unmap one dma_map_sgtable()
 * of O(blocks) entries; CPU access O(attachments x blocks); vmap
 * O(pages).  Kernel memory: the dma-buf, one ~64-byte record, and per
 * attachment a table of O(blocks) entries.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
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
 * @lock: protects @attachments, @vaddr and @vmaps
 * @attachments: struct fnmm_attach of every importer attached
 * @vaddr: the kernel mapping while vmapped
 * @vmaps: vmap() calls not yet undone
 */
struct fnmm_dmabuf {
	struct fnmm_buf *buf;
	struct mutex lock;	/* protects attachments, vaddr, vmaps */
	struct list_head attachments;
	void *vaddr;
	unsigned int vmaps;
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

/* An sg_table of the allocation's blocks. */
static int buf_sgt(struct fnmm_buf *buf, struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < buf->nblocks; i++)
		n += DIV_ROUND_UP(buf->blocks[i].size, FNMM_SG_MAX);
	ret = sg_alloc_table(sgt, n, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	sg = sgt->sgl;
	for (i = 0; i < buf->nblocks; i++) {
		u64 phys = buf->blocks[i].phys, left = buf->blocks[i].size;

		while (left) {
			u64 len = min_t(u64, left, FNMM_SG_MAX);

			sg_set_page(sg, pfn_to_page(PHYS_PFN(phys)), len, 0);
			sg = sg_next(sg);
			phys += len;
			left -= len;
		}
	}
	return 0;
}

static int fnmm_dmabuf_attach(struct dma_buf *dmabuf,
			      struct dma_buf_attachment *attachment)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_attach *a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!a)
		return -ENOMEM;
	ret = buf_sgt(d->buf, &a->sgt);
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
	struct fnmm_attach *a = attachment->priv;
	int ret = dma_map_sgtable(attachment->dev, &a->sgt, dir, 0);

	if (ret)
		return ERR_PTR(ret);
	a->dir = dir;
	a->mapped = true;
	return &a->sgt;
}

static void fnmm_dmabuf_unmap(struct dma_buf_attachment *attachment,
			      struct sg_table *sgt,
			      enum dma_data_direction dir)
{
	struct fnmm_attach *a = attachment->priv;

	a->mapped = false;
	dma_unmap_sgtable(attachment->dev, sgt, dir, 0);
}

/* DMA_BUF_IOCTL_SYNC START: what the devices wrote becomes visible. */
static int fnmm_dmabuf_begin_cpu(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_attach *a;

	mutex_lock(&d->lock);
	list_for_each_entry(a, &d->attachments, node)
		if (a->mapped)
			dma_sync_sgtable_for_cpu(a->dev, &a->sgt, dir);
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
			dma_sync_sgtable_for_device(a->dev, &a->sgt, dir);
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

static int fnmm_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct fnmm_dmabuf *d = dmabuf->priv;
	struct fnmm_buf *buf = d->buf;
	unsigned long n = buf->map_size >> PAGE_SHIFT, i = 0;
	struct page **pages;
	unsigned int b;
	int ret = 0;

	mutex_lock(&d->lock);
	if (d->vmaps) {
		d->vmaps++;
		goto out;
	}
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages) {
		ret = -ENOMEM;
		goto unlock;
	}
	for (b = 0; b < buf->nblocks; b++) {
		u64 off;

		for (off = 0; off < buf->blocks[b].size; off += PAGE_SIZE)
			pages[i++] = pfn_to_page(PHYS_PFN(buf->blocks[b].phys +
							  off));
	}
	d->vaddr = vmap(pages, n, VM_MAP,
			buf->access & FNMM_ACCESS_DEVICE ?
			pgprot_noncached(PAGE_KERNEL) :
			buf->access & FNMM_ACCESS_UNCACHED ?
			pgprot_writecombine(PAGE_KERNEL) : PAGE_KERNEL);
	kvfree(pages);
	if (!d->vaddr) {
		ret = -ENOMEM;
		goto unlock;
	}
	d->vmaps = 1;
out:
	iosys_map_set_vaddr(map, d->vaddr);
unlock:
	mutex_unlock(&d->lock);
	return ret;
}

static void fnmm_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct fnmm_dmabuf *d = dmabuf->priv;

	mutex_lock(&d->lock);
	if (!--d->vmaps) {
		vunmap(d->vaddr);
		d->vaddr = NULL;
	}
	mutex_unlock(&d->lock);
	iosys_map_clear(map);
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
	atomic_set(&buf->exported, 0);
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
 * sections), -EBUSY (a dma-buf of it lives), -EACCES (O_RDWR of a
 * read-only allocation), -EOPNOTSUPP (no struct pages), -ENOMEM.
 */
int fnmm_buf_export(struct fnmm_buf *buf, u32 flags, struct dma_buf **out)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct fnmm_ctx *ctx = buf->ctx;
	struct fnmm_dev *dev = ctx->dev;
	struct dma_buf *dmabuf;
	struct fnmm_dmabuf *d;
	u64 held = 0;
	unsigned int i;
	int ret;

	if (!dev->region.pages)
		return -EOPNOTSUPP;
	if (buf->kind == FNMM_ALLOC_POOL)
		return -EINVAL;
	if ((flags & O_ACCMODE) == O_RDWR &&
	    !(buf->access & FNMM_ACCESS_WRITABLE))
		return -EACCES;
	/* Under the lock ReleaseSections takes: no hole appears after. */
	mutex_lock(&ctx->lock);
	for (i = 0; i < buf->nblocks; i++)
		held += buf->blocks[i].size;
	ret = held != buf->size ? -EINVAL :
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
		mutex_destroy(&d->lock);
		kfree(d);
		atomic_set(&buf->exported, 0);
		return PTR_ERR(dmabuf);
	}
	atomic64_inc(&dev->exported);
	atomic64_add(buf->size, &dev->exported_bytes);
	*out = dmabuf;
	return 0;
}
