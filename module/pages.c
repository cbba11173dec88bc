// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the struct pages behind the region, so that the rest of
 * Linux can use mapped memory (get_user_pages(): O_DIRECT, io_uring,
 * vmsplice, process_vm_readv/writev, ptrace and /proc/PID/mem, shared
 * futexes).
 *
 * A region taken at load time is RAM from the page allocator: it has
 * pages already, mapped one by one with vm_insert_page() (refcounted,
 * 4 KiB: a PMD of them would need a compound page).  A boot-reserved
 * region (memmap=SIZE$BASE) has none: it gets ZONE_DEVICE pages from
 * memremap_pages(MEMORY_DEVICE_GENERIC), as device-dax and the pmem
 * driver give them to memmap= ranges, and is mapped with devmap PTEs
 * and 2 MiB PMDs (vmf_insert_mixed(), vmf_insert_pfn_pmd()), which GUP
 * follows.  That also puts the region in the direct map, write-back, and
 * makes x86 PAT hold it write-back: such a region serves cached memory
 * only (Uncached/Device: EINVAL).  pages=0 keeps the old PFN mappings,
 * any memory type and no GUP.  memremap_pages() needs the range in
 * whole 2 MiB subsections.
 *
 * Every page of the region gets ->mapping = the address_space of an
 * inode of the module's own pseudo file system (the file's f_mapping
 * too) and an ->index of its own, as device-dax sets them: a shared
 * futex's key is (inode, index), the same in every process mapping the
 * page.  A page gets a new, never used index whenever it goes back to
 * an allocator (fnmm_pages_rekey()), so a futex waiter left on a page by
 * its last owner is never found through the next one.  The inode is
 * S_DAX, which lets the fault path ask for PMD-sized faults, and a
 * character device to memory_failure()'s DAX code (as device-dax's is:
 * no entries locked in its empty page cache); dirtying is a no-op.
 *
 * A memory failure on a ZONE_DEVICE page only marks it (PageHWPoison,
 * no reverse map to signal its mappers with): the block holding it is
 * quarantined instead of scrubbed when it goes back.
 *
 * On 6.1, MADV_COLD/PAGEOUT (and a MADV_DONTNEED racing a fault) clear
 * a devmap PMD as a "bad pmd" without a TLB flush, and the munmap after
 * finds nothing to flush: memory that ever had a PMD entry is given
 * back only after a TLB flush on every CPU (fnmm_pages_flush_tlb()).
 *
 * Cost: init and fini O(pages); rekeying O(pages of the block), next to
 * its O(bytes) scrub; the flush one IPI round per PMD-mapped block given
 * back.  memremap_pages() allocates the memmap from RAM: 64 bytes per
 * 4 KiB page (1.6%), 1 MiB for a 64 MiB region.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/page-flags.h>
#include <linux/smp.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/numa.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include "fnmm_dev.h"

#ifdef CONFIG_X86
#include <asm/tlbflush.h>
#endif

#define FNMM_FS_MAGIC	0x464e4d4d	/* "FNMM" */

static int fnmm_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, FNMM_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type fnmm_fs_type = {
	.name		 = "freenos-mm",
	.init_fs_context = fnmm_fs_init_fs_context,
	.kill_sb	 = kill_anon_super,
};

/* O_DIRECT reads and GUP for write dirty the pages: nothing to write back. */
static const struct address_space_operations fnmm_aops = {
	.dirty_folio	= noop_dirty_folio,
};

/* Set (or with @mapping NULL clear) ->mapping and ->index of every page. */
static void pages_set_mapping(struct fnmm_region *r,
			      struct address_space *mapping)
{
	unsigned long i, n = r->size >> PAGE_SHIFT;

	for (i = 0; i < n; i++) {
		struct page *page = pfn_to_page(PHYS_PFN(r->base) + i);

		page->mapping = mapping;
		page->index = i;
		if (!(i & 4095))
			cond_resched();
	}
}

/**
 * fnmm_pages_rekey() - new futex keys for pages going back to an allocator
 * @r: the region
 * @phys: physical start, page-aligned
 * @size: bytes, page-aligned
 *
 * Nothing maps the range.  Each page gets an ->index never used before
 * (a 64-bit count: it does not wrap).
 */
void fnmm_pages_rekey(struct fnmm_region *r, u64 phys, u64 size)
{
	unsigned long i, n = size >> PAGE_SHIFT;
	u64 key;

	if (!r->pages || !r->inode)
		return;
	key = atomic64_fetch_add(n, &r->next_key);
	for (i = 0; i < n; i++)
		pfn_to_page(PHYS_PFN(phys) + i)->index = key + i;
}

/**
 * fnmm_pages_poisoned() - whether a page of a range had a memory failure
 * @r: the region
 * @phys: physical start, page-aligned
 * @size: bytes, page-aligned
 *
 * Return: true if any page is PageHWPoison (never scrub or reuse it).
 */
bool fnmm_pages_poisoned(struct fnmm_region *r, u64 phys, u64 size)
{
	u64 done;

	if (!r->pages)
		return false;
	for (done = 0; done < size; done += PAGE_SIZE)
		if (PageHWPoison(pfn_to_page(PHYS_PFN(phys + done))))
			return true;
	return false;
}

#ifdef CONFIG_X86
static void pages_flush_local(void *unused)
{
	__flush_tlb_all();
}
#endif

/**
 * fnmm_pages_flush_tlb() - flush every CPU's TLB, all address spaces
 *
 * For memory that had a PMD entry, before it goes to someone else (see
 * above).  Sleeps (waits for the IPIs).
 */
void fnmm_pages_flush_tlb(void)
{
#ifdef CONFIG_X86
	on_each_cpu(pages_flush_local, NULL, 1);
#endif
}

#ifdef CONFIG_ZONE_DEVICE
/*
 * A memory failure on one of the pages: mark it, so that its block is
 * never scrubbed or reused; its mappers are not found (no reverse map),
 * as memory_failure()'s generic DAX path would look them up by the
 * wrong offsets.
 */
static int pages_memory_failure(struct dev_pagemap *pgmap, unsigned long pfn,
				unsigned long nr_pages, int mf_flags)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++)
		SetPageHWPoison(pfn_to_page(pfn + i));
	pr_err("freenos-mm: memory failure at pfn %#lx (+%lu): kept out of use\n",
	       pfn, nr_pages);
	return 0;
}

static const struct dev_pagemap_ops pages_pgmap_ops = {
	.memory_failure	= pages_memory_failure,
};

/* ZONE_DEVICE pages for a boot-reserved region; it enters the direct map. */
static int pages_zone_device(struct fnmm_region *r)
{
	struct dev_pagemap *pgmap = &r->pgmap;
	void *va;

	if (!IS_ALIGNED(r->base | r->size, SZ_2M)) {
		pr_err("freenos-mm: struct pages need %#llx+%#llx in whole 2 MiB; pages=0 maps it without\n",
		       r->base, r->size);
		return -EINVAL;
	}
	memset(pgmap, 0, sizeof(*pgmap));
	pgmap->type = MEMORY_DEVICE_GENERIC;
	pgmap->ops = &pages_pgmap_ops;
	pgmap->range = (struct range){ .start = r->base,
				       .end = r->base + r->size - 1 };
	pgmap->nr_range = 1;
	va = memremap_pages(pgmap, memory_add_physaddr_to_nid(r->base));
	if (IS_ERR(va)) {
		pgmap->type = 0;
		return PTR_ERR(va);
	}
	r->kaddr = va;
	r->pages = true;
	return 0;
}
#else
static int pages_zone_device(struct fnmm_region *r)
{
	return -EOPNOTSUPP;
}
#endif

/**
 * fnmm_pages_init() - struct pages for the region's mappings
 * @r: a region claimed or taken
 * @zone_device: give a boot-reserved region ZONE_DEVICE pages (else it
 *	keeps PFN mappings: no get_user_pages())
 *
 * Return: 0, -EINVAL (a boot-reserved region not in whole 2 MiB),
 * -EOPNOTSUPP (no ZONE_DEVICE), -ENOMEM, or memremap_pages()' error.
 */
int fnmm_pages_init(struct fnmm_region *r, bool zone_device)
{
	struct inode *inode;
	int ret;

	r->mnt = kern_mount(&fnmm_fs_type);
	if (IS_ERR(r->mnt)) {
		ret = PTR_ERR(r->mnt);
		r->mnt = NULL;
		return ret;
	}
	inode = alloc_anon_inode(r->mnt->mnt_sb);
	if (IS_ERR(inode)) {
		ret = PTR_ERR(inode);
		goto err_mnt;
	}
	inode->i_mapping->a_ops = &fnmm_aops;
	inode->i_flags |= S_DAX;
	inode->i_mode = S_IFCHR;
	r->inode = inode;
	if (!r->taken && zone_device) {
		ret = pages_zone_device(r);
		if (ret)
			goto err_inode;
	}
	if (r->pages)
		pages_set_mapping(r, inode->i_mapping);
	atomic64_set(&r->next_key, r->size >> PAGE_SHIFT);
	return 0;
err_inode:
	iput(inode);
	r->inode = NULL;
err_mnt:
	kern_unmount(r->mnt);
	r->mnt = NULL;
	return ret;
}

/**
 * fnmm_pages_fini() - undo fnmm_pages_init()
 * @r: the region; no page of it may be referenced (fnmm_region_idle())
 */
void fnmm_pages_fini(struct fnmm_region *r)
{
	if (!r->mnt)
		return;
	if (r->pages)
		pages_set_mapping(r, NULL);
#ifdef CONFIG_ZONE_DEVICE
	if (r->pgmap.type == MEMORY_DEVICE_GENERIC) {
		memunmap_pages(&r->pgmap);
		r->pgmap.type = 0;
		r->kaddr = NULL;
		r->pages = false;
	}
#endif
	iput(r->inode);
	r->inode = NULL;
	kern_unmount(r->mnt);
	r->mnt = NULL;
}
