// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: /dev/freenos-mm file operations: the VMCtl ioctls and mmap.
 *
 * Each open file is a memory context.  Requests are copied in with
 * copy_struct_from_user() (so the ABI can grow), checked, and handed to
 * the context layer; operations on virtual addresses only ever look at
 * VMAs that map this very file.  Whether a file may see physical
 * addresses, and whose locked memory pays for it, is decided once at
 * open from the opener's credentials (as /proc/PID/pagemap does), never
 * by capable() on each call.
 *
 * Cost: every ioctl copies at most a page in (argsz is capped); the
 * lookups walk the caller's VMAs under mmap_lock (O(log VMAs)); an
 * mmap() installs the allocation's pages, O(pages) with a memory-type
 * reservation per block of an allocation in pieces.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/pfn_t.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include "fnmm_dev.h"
#include "fnmm_trace.h"

#define VMCTL_SIZE_V1	FNMM_VMCTL_SIZE_VER0
#define INFO_SIZE_V1	FNMM_INFO_SIZE_VER0
/* The sizes this kernel knows; smaller ones down to VER0 are taken. */
static_assert(sizeof(struct fnmm_vmctl) == FNMM_VMCTL_SIZE_VER0);
static_assert(sizeof(struct fnmm_info) == FNMM_INFO_SIZE_VER2);
static_assert(sizeof(struct fnmm_export) == FNMM_EXPORT_SIZE_VER0);

static const struct vm_operations_struct fnmm_vm_ops;
static const struct vm_operations_struct fnmm_dmabuf_vm_ops;

/* Offset in the allocation where a mapping starts (dma-buf: vm_pgoff). */
static u64 vma_buf_start(struct vm_area_struct *vma)
{
	return vma->vm_ops == &fnmm_dmabuf_vm_ops ?
	       (u64)vma->vm_pgoff << PAGE_SHIFT : 0;
}

static struct fnmm_ctx *file_ctx(struct file *file)
{
	return file->private_data;
}

/*
 * argsz, read from user space: -EINVAL below @min, -E2BIG above a page
 * (copy_struct_from_user() checks that the tail past what this kernel
 * knows is zero: a bound keeps that scan short).
 */
static int argsz_in(void __user *arg, u32 min, u32 *argsz)
{
	if (get_user(*argsz, (u32 __user *)arg))
		return -EFAULT;
	if (*argsz < min)
		return -EINVAL;
	if (*argsz > PAGE_SIZE)
		return -E2BIG;
	return 0;
}

/* Copy a request in: argsz first, then the struct as the caller knows it. */
static int vmctl_in(struct fnmm_vmctl *req, void __user *arg)
{
	u32 argsz;
	int ret;

	ret = argsz_in(arg, VMCTL_SIZE_V1, &argsz);
	if (ret)
		return ret;
	ret = copy_struct_from_user(req, sizeof(*req), arg, argsz);
	if (ret)
		return ret;
	return fnmm_check_vmctl(req);
}

static int vmctl_out(struct fnmm_vmctl *req, void __user *arg)
{
	return copy_to_user(arg, req, sizeof(*req)) ? -EFAULT : 0;
}

/* A VMA of this file covering @addr, or NULL; mmap_lock held. */
static struct vm_area_struct *ctx_vma(struct file *file, unsigned long addr)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);

	if (!vma || vma->vm_file != file || vma->vm_ops != &fnmm_vm_ops)
		return NULL;
	return vma;
}

/*
 * Call @fn on each piece of [start, start + len) mapped by this file;
 * -EFAULT unless the whole range is.  With @fn NULL, only check.
 */
static int ctx_walk(struct file *file, u64 start, u64 len,
		    int (*fn)(struct fnmm_ctx *ctx, struct fnmm_buf *buf,
			      u64 off, u64 len, void *arg), void *arg)
{
	u64 addr = start, end = start + len;
	int ret = 0;

	if (!len || end < start)
		return -EINVAL;
	if (end > TASK_SIZE)
		return -EFAULT;
	mmap_read_lock(current->mm);
	while (addr < end && !ret) {
		struct vm_area_struct *vma = ctx_vma(file, addr);
		u64 n;

		if (!vma) {
			ret = -EFAULT;
			break;
		}
		n = min_t(u64, end, vma->vm_end) - addr;
		if (fn)
			ret = fn(file_ctx(file), vma->vm_private_data,
				 addr - vma->vm_start, n, arg);
		addr += n;
	}
	mmap_read_unlock(current->mm);
	return ret;
}

static u32 vma_access(struct vm_area_struct *vma, struct fnmm_buf *buf)
{
	u32 acc = FNMM_ACCESS_USER | (buf->access & (FNMM_ACCESS_UNCACHED |
		  FNMM_ACCESS_DEVICE | FNMM_ACCESS_INNER_CACHED |
		  FNMM_ACCESS_OUTER_CACHED));

	if (vma->vm_flags & VM_READ)
		acc |= FNMM_ACCESS_READABLE;
	if (vma->vm_flags & VM_WRITE)
		acc |= FNMM_ACCESS_WRITABLE;
	if (vma->vm_flags & VM_EXEC)
		acc |= FNMM_ACCESS_EXECUTABLE;
	return acc;
}

static int cache_piece(struct fnmm_ctx *ctx, struct fnmm_buf *buf, u64 off,
		       u64 len, void *arg)
{
	enum fnmm_cache_op op = *(enum fnmm_cache_op *)arg;

	/* Uncached and write-combined memory has no lines to maintain. */
	if (fnmm_access_uncached(buf->access)) {
		/* Only drain write-combining buffers, so a device sees the data. */
		wmb();
		return 0;
	}
	while (len) {
		u64 phys, n;
		int ret = fnmm_buf_phys(buf, off, &phys, &n);

		if (ret)
			return -EFAULT;
		n = min(n, len);
		ret = fnmm_region_cache(&ctx->dev->region, phys, n, op);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * The allocation this process maps through @file at @addr, or NULL; for
 * comparison only (no reference is taken).
 */
static struct fnmm_buf *buf_mapped_at(struct file *file, unsigned long addr)
{
	struct vm_area_struct *vma;
	struct fnmm_buf *buf;

	mmap_read_lock(current->mm);
	vma = ctx_vma(file, addr);
	buf = vma ? vma->vm_private_data : NULL;
	mmap_read_unlock(current->mm);
	return buf;
}

/*
 * MapContiguous / MapSparse.  On success *@fresh is the allocation made
 * here, if any, and *@mapped the one mapped at *@maddr (both referenced),
 * so that a reply that cannot be copied out can be undone.
 */
static int ioc_map(struct file *file, struct fnmm_vmctl *req, bool sparse,
		   struct fnmm_buf **fresh, struct fnmm_buf **mapped,
		   unsigned long *maddr)
{
	struct fnmm_ctx *ctx = file_ctx(file);
	u64 virt = req->range.virt, handle = req->handle, phys;
	unsigned long prot = 0, addr;
	struct fnmm_buf *buf, *at;
	int ret = 0;
	u32 acc;

	if (!PAGE_ALIGNED(virt) || virt >= TASK_SIZE)
		return -EINVAL;
	if (!handle) {
		ret = fnmm_ctx_reserve_buf(ctx, req, sparse, fresh);
		if (ret)
			return ret;
		handle = req->handle;
		req->range.access = 0;	/* map with the allocation's access */
	}
	buf = fnmm_ctx_get(ctx, handle);
	if (!buf || (*fresh && buf != *fresh)) {
		ret = -ENOENT;
		goto undo;
	}
	acc = req->range.access ?: buf->access;
	if (!sparse && !buf->contiguous)
		ret = -EINVAL;
	else if (acc & ~buf->access)
		ret = -EACCES;
	if (ret)
		goto undo;
	if (acc & FNMM_ACCESS_READABLE)
		prot |= PROT_READ;
	if (acc & FNMM_ACCESS_WRITABLE)
		prot |= PROT_WRITE;
	if (acc & FNMM_ACCESS_EXECUTABLE)
		prot |= PROT_EXEC;
	mutex_lock(&ctx->lock);
	phys = buf->nblocks ? buf->blocks[0].phys : 0;
	mutex_unlock(&ctx->lock);
	addr = vm_mmap(file, virt, buf->map_size, prot,
		       MAP_SHARED | (virt ? MAP_FIXED_NOREPLACE : 0), handle);
	if (IS_ERR_VALUE(addr)) {
		ret = (long)addr;
		goto undo;
	}
	/*
	 * mmap() looked the handle up again: if another thread released
	 * it and its number went to a new allocation meanwhile, that is
	 * what got mapped.  Take such a mapping back.
	 */
	at = buf_mapped_at(file, addr);
	if (at != buf) {
		if (at)
			vm_munmap(addr, buf->map_size);
		ret = -ENOENT;
		goto undo;
	}
	req->range.size = buf->size;
	req->range.access = acc;
	req->range.phys = ctx->priv ? phys : 0;
	req->offset = buf->page_off;
	req->range.virt = addr + req->offset;
	req->handle = handle;
	*maddr = addr;
	*mapped = buf;
	return 0;
undo:
	if (buf)
		fnmm_buf_put(buf);
	if (*fresh) {
		fnmm_ctx_release_buf(ctx, *fresh);
		fnmm_buf_put(*fresh);
		*fresh = NULL;
	}
	return ret;
}

static int ioc_lookup(struct file *file, struct fnmm_vmctl *req, bool phys)
{
	struct fnmm_ctx *ctx = file_ctx(file);
	unsigned long virt = req->range.virt;
	struct vm_area_struct *vma;
	struct fnmm_buf *buf;
	u64 off, pa = 0, len = 0;
	int ret = 0;

	if (phys && !ctx->priv)
		return -EPERM;
	if (virt >= TASK_SIZE)
		return -EFAULT;
	mmap_read_lock(current->mm);
	vma = ctx_vma(file, virt);
	if (!vma) {
		ret = -EFAULT;
		goto out;
	}
	buf = vma->vm_private_data;
	off = virt - vma->vm_start;
	/*
	 * A Pool object's mapping is its whole page: only the object's own
	 * bytes have an offset in the allocation.
	 */
	if (phys && (off < buf->page_off || off - buf->page_off >= buf->size ||
		     fnmm_buf_phys(buf, off, &pa, &len))) {
		ret = -EFAULT;
		goto out;
	}
	req->range.phys = pa;
	req->range.access = vma_access(vma, buf);
	req->range.size = vma->vm_end - virt;
	req->handle = (u64)buf->id << PAGE_SHIFT;
	req->offset = off - buf->page_off;
	trace_fnmm_lookup(buf->id, buf->kind, virt, req->range.size, 0);
out:
	mmap_read_unlock(current->mm);
	if (ret)
		trace_fnmm_lookup(0, 0, virt, 0, ret);
	return ret;
}

/* ReserveMem of an object in a Bubble arena, taken back if unreported. */
static long ioc_bubble(struct fnmm_ctx *ctx, struct fnmm_vmctl *req,
		       void __user *arg)
{
	struct fnmm_bubble_obj obj;
	int ret;

	ret = fnmm_ctx_bubble_alloc(ctx, req, &obj);
	if (ret)
		return ret;
	if (!ctx->priv)
		req->range.phys = 0;
	ret = vmctl_out(req, arg);
	fnmm_ctx_bubble_done(ctx, &obj, ret);
	return ret;
}

static long fnmm_vmctl_ioctl(struct file *file, unsigned int nr,
			     void __user *arg)
{
	struct fnmm_ctx *ctx = file_ctx(file);
	struct fnmm_buf *fresh = NULL, *mapped = NULL;
	unsigned long maddr = 0;
	enum fnmm_cache_op op;
	struct fnmm_vmctl req;
	int ret;

	ret = vmctl_in(&req, arg);
	if (ret)
		return ret;
	/* Bubble is ReserveMem's alone: an arena, or an object in one. */
	if ((req.flags & FNMM_VMCTL_ALLOC_MASK) == FNMM_ALLOC_BUBBLE) {
		if (nr != _IOC_NR(FNMM_IOC_RESERVE_MEM))
			return -EINVAL;
		if (req.handle)
			return ioc_bubble(ctx, &req, arg);
	}
	switch (nr) {
	case _IOC_NR(FNMM_IOC_RESERVE_MEM):
		ret = fnmm_ctx_reserve_buf(ctx, &req, false, &fresh);
		if (!ret && !ctx->priv)
			req.range.phys = 0;
		break;
	case _IOC_NR(FNMM_IOC_MAP_CONTIGUOUS):
		ret = ioc_map(file, &req, false, &fresh, &mapped, &maddr);
		break;
	case _IOC_NR(FNMM_IOC_MAP_SPARSE):
		ret = ioc_map(file, &req, true, &fresh, &mapped, &maddr);
		break;
	case _IOC_NR(FNMM_IOC_UNMAP):
		if (!PAGE_ALIGNED(req.range.virt) || !PAGE_ALIGNED(req.range.size))
			return -EINVAL;
		ret = ctx_walk(file, req.range.virt, req.range.size, NULL, NULL);
		if (!ret)
			ret = vm_munmap(req.range.virt, req.range.size);
		return ret;
	case _IOC_NR(FNMM_IOC_RELEASE):
		return fnmm_ctx_release(ctx, req.handle);
	case _IOC_NR(FNMM_IOC_RELEASE_SECTIONS):
		return fnmm_ctx_release_sections(ctx, req.handle, req.offset,
						 req.range.size);
	case _IOC_NR(FNMM_IOC_LOOKUP_VIRTUAL):
		ret = ioc_lookup(file, &req, true);
		break;
	case _IOC_NR(FNMM_IOC_ACCESS):
		ret = ioc_lookup(file, &req, false);
		break;
	case _IOC_NR(FNMM_IOC_CACHE_CLEAN):
	case _IOC_NR(FNMM_IOC_CACHE_INVALIDATE):
	case _IOC_NR(FNMM_IOC_CACHE_CLEAN_INVALIDATE):
		op = nr == _IOC_NR(FNMM_IOC_CACHE_CLEAN) ? FNMM_CACHE_CLEAN :
		     nr == _IOC_NR(FNMM_IOC_CACHE_INVALIDATE) ?
		     FNMM_CACHE_INVAL : FNMM_CACHE_FLUSH;
		ret = ctx_walk(file, req.range.virt, req.range.size,
			       cache_piece, &op);
		trace_fnmm_cache(op, req.range.virt, req.range.size, ret);
		return ret;
	default:
		return -ENOTTY;
	}
	if (!ret)
		ret = vmctl_out(&req, arg);
	/* The caller never learns of them: take them back. */
	if (mapped) {
		if (ret && buf_mapped_at(file, maddr) == mapped)
			vm_munmap(maddr, mapped->map_size);
		fnmm_buf_put(mapped);
	}
	if (fresh) {
		if (ret)
			fnmm_ctx_release_buf(ctx, fresh);
		fnmm_buf_put(fresh);
	}
	return ret;
}

static long fnmm_info_ioctl(struct file *file, void __user *arg)
{
	struct fnmm_ctx *ctx = file_ctx(file);
	struct fnmm_info info;
	u32 argsz;
	int ret;

	ret = argsz_in(arg, INFO_SIZE_V1, &argsz);
	if (ret)
		return ret;
	ret = copy_struct_from_user(&info, sizeof(info), arg, argsz);
	if (ret)
		return ret;
	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	fnmm_ctx_info(ctx, &info);
	/* What the caller knows of; the rest of a larger struct is its own. */
	return copy_to_user(arg, &info, min_t(u32, argsz, sizeof(info))) ?
	       -EFAULT : 0;
}

/*
 * EXPORT: the fd is reserved first and installed only once the reply is
 * written, so a reply that cannot be written leaves no descriptor behind.
 */
static long fnmm_export_ioctl(struct file *file, void __user *arg)
{
	struct fnmm_ctx *ctx = file_ctx(file);
	struct fnmm_export ex;
	struct dma_buf *dmabuf;
	struct fnmm_buf *buf;
	u32 argsz, mode;
	int ret, fd;

	if (!IS_ENABLED(CONFIG_DMA_SHARED_BUFFER))
		return -EOPNOTSUPP;
	ret = argsz_in(arg, FNMM_EXPORT_SIZE_VER0, &argsz);
	if (ret)
		return ret;
	ret = copy_struct_from_user(&ex, sizeof(ex), arg, argsz);
	if (ret)
		return ret;
	mode = ex.flags & O_ACCMODE;
	if (ex.flags & ~(O_CLOEXEC | O_ACCMODE) || ex.reserved ||
	    (mode != O_RDONLY && mode != O_RDWR))
		return -EINVAL;
	/* A read-only file maps read-only: it exports so too. */
	if (mode == O_RDWR && !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	buf = fnmm_ctx_get(ctx, ex.handle);
	if (!buf)
		return -ENOENT;
	ret = fnmm_buf_export(buf, ex.flags, &dmabuf);
	fnmm_buf_put(buf);
	if (ret)
		return ret;
	fd = get_unused_fd_flags(ex.flags & O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return fd;
	}
	ex.fd = fd;
	if (copy_to_user(arg, &ex, sizeof(ex))) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;
}

static long fnmm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != FNMM_IOC_MAGIC || _IOC_DIR(cmd) != _IOC_NONE ||
	    _IOC_SIZE(cmd))
		return -ENOTTY;
	if (_IOC_NR(cmd) == _IOC_NR(FNMM_IOC_INFO))
		return fnmm_info_ioctl(file, uarg);
	if (_IOC_NR(cmd) == _IOC_NR(FNMM_IOC_EXPORT))
		return fnmm_export_ioctl(file, uarg);
	if (_IOC_NR(cmd) < _IOC_NR(FNMM_IOC_RESERVE_MEM) ||
	    _IOC_NR(cmd) > _IOC_NR(FNMM_IOC_CACHE_CLEAN_INVALIDATE))
		return -ENOTTY;
	return fnmm_vmctl_ioctl(file, _IOC_NR(cmd), uarg);
}

/*
 * x86 PAT tracks the memory type of every physical range mapped into user
 * space.  remap_pfn_range() over a whole VMA reserves its type for the
 * range; over part of a VMA it only looks the type up, page by page, and
 * takes what it finds (uncached where nothing is reserved).  A mapping of
 * an allocation in several pieces, or with a released tail, is built from
 * such partial calls, so while it is mapped each piece gets a kernel
 * mapping in the allocation's cache type, which reserves that type.  VMAs are never
 * split (fnmm_vm_may_split()), so each reservation is freed whole.
 */
static bool buf_needs_memtype(struct fnmm_buf *buf)
{
	/* One block covering the whole allocation maps in one call. */
	return IS_ENABLED(CONFIG_X86) && !buf->ctx->dev->region.pages &&
	       buf->nblocks && !(buf->nblocks == 1 && !buf->blocks[0].off &&
				 buf->blocks[0].size == buf->size);
}

static void buf_memtype_put(struct fnmm_buf *buf)
{
	unsigned int i;

	if (!buf->memtype)
		return;
	for (i = 0; i < buf->nblocks; i++) {
		if (!buf->memtype[i])
			continue;
		if (buf->access & FNMM_ACCESS_DEVICE)
			iounmap((void __iomem *)buf->memtype[i]);
		else
			memunmap(buf->memtype[i]);
	}
	kvfree(buf->memtype);
	buf->memtype = NULL;
}

/* Reserve each block's cache type; context lock held, no mapping yet. */
static int buf_memtype_get(struct fnmm_buf *buf)
{
	unsigned int i;

	if (!buf_needs_memtype(buf))
		return 0;
	buf->memtype = kvcalloc(buf->nblocks, sizeof(void *),
				GFP_KERNEL_ACCOUNT);
	if (!buf->memtype)
		return -ENOMEM;
	for (i = 0; i < buf->nblocks; i++) {
		struct fnmm_block *b = &buf->blocks[i];

		if (buf->access & FNMM_ACCESS_DEVICE)
			buf->memtype[i] = (void __force *)ioremap(b->phys,
								  b->size);
		else
			buf->memtype[i] = memremap(b->phys, b->size,
				buf->access & FNMM_ACCESS_UNCACHED ?
				MEMREMAP_WC : MEMREMAP_WB);
		if (!buf->memtype[i]) {
			buf_memtype_put(buf);
			return -ENOMEM;
		}
	}
	return 0;
}

static void fnmm_vm_open(struct vm_area_struct *vma)
{
	struct fnmm_buf *buf = vma->vm_private_data;

	kref_get(&buf->ref);
	atomic_inc(&buf->maps);
	atomic64_inc(&buf->ctx->maps);
	atomic64_inc(&buf->ctx->dev->mappings);
}

static void fnmm_vm_close(struct vm_area_struct *vma)
{
	struct fnmm_buf *buf = vma->vm_private_data;
	struct fnmm_ctx *ctx = buf->ctx;

	trace_fnmm_unmap(buf->id, buf->kind, vma->vm_start,
			 vma->vm_end - vma->vm_start, 0);
	atomic64_dec(&ctx->dev->mappings);
	atomic64_dec(&ctx->maps);
	mutex_lock(&ctx->lock);
	if (atomic_dec_and_test(&buf->maps))
		buf_memtype_put(buf);
	mutex_unlock(&ctx->lock);
	fnmm_buf_put(buf);
}

/*
 * A mapping is unmapped, or has its protection changed, whole: a split
 * would leave the pieces with wrong offsets and free PAT memory types in
 * parts that were reserved whole.
 */
static int fnmm_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

/*
 * A page of a page-backed mapping: its page in take= mode (refcounted,
 * rmap), a devmap entry for a ZONE_DEVICE page.  The blocks cannot
 * change while the allocation is mapped (ReleaseSections: EBUSY), so no
 * lock is needed to read them.  A PFN mapping is made whole at mmap():
 * only its released sections are ever without an entry.
 */
static vm_fault_t fnmm_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct fnmm_buf *buf = vma->vm_private_data;
	struct fnmm_region *r = &buf->ctx->dev->region;
	u64 phys, len;
	int ret;

	if (!r->pages ||
	    fnmm_buf_phys(buf, vma_buf_start(vma) + vmf->address -
			  vma->vm_start, &phys, &len))
		return VM_FAULT_SIGBUS;
	phys &= PAGE_MASK;
	if (!r->taken)
		return vmf_insert_mixed(vma, vmf->address,
					phys_to_pfn_t(phys, PFN_DEV | PFN_MAP));
	ret = vm_insert_page(vma, vmf->address, pfn_to_page(PHYS_PFN(phys)));
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	/* -EBUSY: another thread mapped it first. */
	if (ret && ret != -EBUSY)
		return VM_FAULT_SIGBUS;
	return VM_FAULT_NOPAGE;
}

/*
 * A 2 MiB entry where the 2 MiB around the address is inside the
 * mapping and one 2 MiB-aligned physical run (ZONE_DEVICE pages only:
 * the pages of a taken region are not compound).  Else the fault falls
 * back to 4 KiB entries.
 */
static vm_fault_t fnmm_vm_huge_fault(struct vm_fault *vmf,
				     enum page_entry_size pe_size)
{
#if defined(CONFIG_TRANSPARENT_HUGEPAGE) && defined(CONFIG_X86)
	struct vm_area_struct *vma = vmf->vma;
	struct fnmm_buf *buf = vma->vm_private_data;
	struct fnmm_region *r = &buf->ctx->dev->region;
	unsigned long haddr = vmf->address & PMD_MASK;
	u64 phys, len;
#endif

	if (pe_size == PE_SIZE_PTE)
		return fnmm_vm_fault(vmf);
	/* x86 only: fnmm_pages_flush_tlb() must be able to flush them. */
#if defined(CONFIG_TRANSPARENT_HUGEPAGE) && defined(CONFIG_X86)
	if (pe_size != PE_SIZE_PMD || !r->pages || r->taken ||
	    haddr < vma->vm_start || haddr + PMD_SIZE > vma->vm_end ||
	    fnmm_buf_phys(buf, vma_buf_start(vma) + haddr - vma->vm_start,
			  &phys, &len) ||
	    len < PMD_SIZE || !IS_ALIGNED(phys, PMD_SIZE))
		return VM_FAULT_FALLBACK;
	/* Before the entry exists: its blocks go back after a TLB flush. */
	WRITE_ONCE(buf->pmd, true);
	return vmf_insert_pfn_pmd(vmf, phys_to_pfn_t(phys, PFN_DEV | PFN_MAP),
				  vmf->flags & FAULT_FLAG_WRITE);
#else
	return VM_FAULT_FALLBACK;
#endif
}

/* A mapping keeps its size and place: it must not grow or move. */
static int fnmm_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

#ifdef CONFIG_HAVE_IOREMAP_PROT
/*
 * ptrace and /proc/PID/mem on a PFN mapping (pages=0).  generic_access_phys()
 * looks at the entry of @addr only but copies @len bytes from there, so
 * a read near the end of a page would run on into the physically next
 * page (another context's): one page at a time, the caller loops.
 */
static int fnmm_vm_access(struct vm_area_struct *vma, unsigned long addr,
			  void *buf, int len, int write)
{
	len = min_t(int, len, PAGE_SIZE - offset_in_page(addr));
	return generic_access_phys(vma, addr, buf, len, write);
}
#endif

/*
 * ptrace, /proc/PID/mem and process_vm_readv reach page-backed mappings
 * through get_user_pages(); PFN mappings (pages=0) through ->access.
 */
static const struct vm_operations_struct fnmm_vm_ops = {
	.open	= fnmm_vm_open,
	.close	= fnmm_vm_close,
	.fault	= fnmm_vm_fault,
	.huge_fault = fnmm_vm_huge_fault,
	.mremap	= fnmm_vm_mremap,
	.may_split = fnmm_vm_may_split,
#ifdef CONFIG_HAVE_IOREMAP_PROT
	.access	= fnmm_vm_access,
#endif
};

/*
 * The same for a dma-buf's mappings: the offset differs, and no 2 MiB
 * entries (the kernel asks only DAX files for them; a dma-buf is not).
 */
static const struct vm_operations_struct fnmm_dmabuf_vm_ops = {
	.open	= fnmm_vm_open,
	.close	= fnmm_vm_close,
	.fault	= fnmm_vm_fault,
	.mremap	= fnmm_vm_mremap,
	.may_split = fnmm_vm_may_split,
};

static pgprot_t buf_pgprot(struct fnmm_buf *buf, pgprot_t prot)
{
	if (buf->access & FNMM_ACCESS_DEVICE)
		return pgprot_noncached(prot);
	if (buf->access & FNMM_ACCESS_UNCACHED)
		return pgprot_writecombine(prot);
	return prot;
}

/**
 * fnmm_buf_mmap() - map an allocation into a VMA
 * @buf: the allocation; on success the caller's reference becomes the
 *	mapping's (on failure the caller still holds it)
 * @vma: the VMA being set up by mmap()
 * @dmabuf: @vma maps a dma-buf of @buf: vm_pgoff is a page offset into
 *	it (else it is @buf's handle and the mapping starts at its start)
 *
 * Access is checked against the allocation's (-EACCES), the length
 * against its size (-EINVAL), MAP_PRIVATE refused (-EINVAL).
 *
 * Return: 0 or a negative errno.
 */
int fnmm_buf_mmap(struct fnmm_buf *buf, struct vm_area_struct *vma,
		  bool dmabuf)
{
	struct fnmm_ctx *ctx = buf->ctx;
	u64 len = vma->vm_end - vma->vm_start, off = 0;
	u64 start = dmabuf ? (u64)vma->vm_pgoff << PAGE_SHIFT : 0;
	int ret = -EINVAL;

	/* A shared mapping of a read-only file has VM_MAYSHARE only. */
	if (!(vma->vm_flags & VM_MAYSHARE) || start > buf->map_size ||
	    len > buf->map_size - start)
		goto err;
	ret = -EACCES;
	if (!(buf->access & FNMM_ACCESS_READABLE)) {
		if (vma->vm_flags & VM_READ)
			goto err;
		vma->vm_flags &= ~VM_MAYREAD;
	}
	/*
	 * A dma-buf's file may be read-only while the VMA came from another
	 * file (dma_buf_mmap() from an importer): its mode decides too.
	 */
	if (!(buf->access & FNMM_ACCESS_WRITABLE) ||
	    (dmabuf && !(vma->vm_file->f_mode & FMODE_WRITE))) {
		if (vma->vm_flags & VM_WRITE)
			goto err;
		vma->vm_flags &= ~VM_MAYWRITE;
	}
	if (!(buf->access & FNMM_ACCESS_EXECUTABLE)) {
		if (vma->vm_flags & VM_EXEC)
			goto err;
		vma->vm_flags &= ~VM_MAYEXEC;
	}
	vma->vm_page_prot = buf_pgprot(buf, vma->vm_page_prot);
	/* The blocks stay as they are while mapped (ReleaseSections: EBUSY). */
	mutex_lock(&ctx->lock);
	if (ctx->dev->region.pages) {
		/* Page-backed: filled in by faults, 2 MiB where it can be. */
		vma->vm_flags |= VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP;
		if (!ctx->dev->region.taken)
			vma->vm_flags |= VM_HUGEPAGE;
		goto mapped;
	}
	ret = -EOPNOTSUPP;
	if (dmabuf)
		goto err_unlock;
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	if (!atomic_read(&buf->maps)) {
		ret = buf_memtype_get(buf);
		if (ret)
			goto err_unlock;
	}
	/* Map every backed page; released sections fault with SIGBUS. */
	while (off < len) {
		u64 phys, n;

		if (fnmm_buf_phys(buf, off, &phys, &n)) {
			off += PAGE_SIZE;
			continue;
		}
		phys &= PAGE_MASK;
		n = min_t(u64, PAGE_ALIGN(n), len - off);
		ret = remap_pfn_range(vma, vma->vm_start + off,
				      PHYS_PFN(phys), n, vma->vm_page_prot);
		if (ret)
			goto err_put;
		off += n;
	}
mapped:
	vma->vm_private_data = buf;
	vma->vm_ops = dmabuf ? &fnmm_dmabuf_vm_ops : &fnmm_vm_ops;
	atomic_inc(&buf->maps);
	mutex_unlock(&ctx->lock);
	atomic64_inc(&ctx->maps);
	atomic64_inc(&ctx->dev->mappings);
	trace_fnmm_map(buf->id, buf->kind, vma->vm_start, len, 0);
	return 0;
err_put:
	/* Nothing of it may stay mapped once the lock is dropped. */
	if (off)
		zap_vma_ptes(vma, vma->vm_start, off);
	if (!atomic_read(&buf->maps))
		buf_memtype_put(buf);
err_unlock:
	mutex_unlock(&ctx->lock);
err:
	trace_fnmm_map(buf->id, buf->kind, vma->vm_start, len, ret);
	return ret;
}

static int fnmm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct fnmm_ctx *ctx = file_ctx(file);
	u64 len = vma->vm_end - vma->vm_start;
	struct fnmm_buf *buf;
	int ret;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (!vma->vm_pgoff) {
		/* One step: a new allocation that lives with the mapping. */
		ret = fnmm_ctx_reserve_anon(ctx, len, FNMM_ACCESS_DEFAULT |
					    (vma->vm_flags & VM_EXEC ?
					     FNMM_ACCESS_EXECUTABLE : 0), &buf);
		if (ret)
			return ret == -E2BIG ? -ENOMEM : ret;
	} else {
		buf = fnmm_ctx_get(ctx, (u64)vma->vm_pgoff << PAGE_SHIFT);
		if (!buf)
			return -EINVAL;
	}
	ret = fnmm_buf_mmap(buf, vma, false);
	if (ret)
		fnmm_buf_put(buf);
	return ret;
}

/*
 * Mappings of 2 MiB and more start 2 MiB-aligned (as device-dax and
 * thp_get_unmapped_area() place them), so that allocations placed
 * 2 MiB-aligned get PMD entries; nothing changes for a placed mapping.
 */
static unsigned long fnmm_get_unmapped_area(struct file *file,
					    unsigned long addr,
					    unsigned long len,
					    unsigned long pgoff,
					    unsigned long flags)
{
	struct fnmm_region *r = &file_ctx(file)->dev->region;
	unsigned long aligned;

	if (!r->pages || r->taken || addr || len < PMD_SIZE ||
	    len > TASK_SIZE - PMD_SIZE)
		goto out;
	aligned = current->mm->get_unmapped_area(file, 0, len + PMD_SIZE,
						 pgoff, flags);
	if (!IS_ERR_VALUE(aligned))
		return ALIGN(aligned, PMD_SIZE);
out:
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
}

static int fnmm_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct fnmm_dev *dev = container_of(misc, struct fnmm_dev, misc);
	struct user_struct *user = NULL;
	struct fnmm_ctx *ctx;
	bool priv;

	/* Decided once, with the opener's credentials, as pagemap does. */
	priv = dev->expose_phys ||
	       file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);
	if (dev->account && !file_ns_capable(file, &init_user_ns, CAP_IPC_LOCK))
		user = file->f_cred->user;
	ctx = fnmm_ctx_create(dev, user, priv);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	file->private_data = ctx;
	/* The address_space every page's ->mapping names (futex keys). */
	if (dev->region.pages && dev->region.inode) {
		file->f_mapping = dev->region.inode->i_mapping;
		file->f_wb_err = filemap_sample_wb_err(file->f_mapping);
	}
	return 0;
}

static int fnmm_release_file(struct inode *inode, struct file *file)
{
	fnmm_ctx_destroy(file_ctx(file));
	return 0;
}

const struct file_operations fnmm_fops = {
	.owner		= THIS_MODULE,
	.open		= fnmm_open,
	.release	= fnmm_release_file,
	.unlocked_ioctl	= fnmm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= fnmm_mmap,
	.get_unmapped_area = fnmm_get_unmapped_area,
};
