// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the physical region.
 *
 * Either a range reserved at boot (x86: memmap=SIZE$BASE, shown as
 * Reserved in /proc/iomem) that the module claims with
 * request_mem_region(), or memory taken from the page allocator at load
 * time when nothing was reserved.  Every byte of the region that is free
 * is zero: it is zeroed when claimed and again whenever an allocation is
 * given back (scrub on free), so no caller ever sees another's data.
 *
 * Cost: a scrub is O(bytes), in 2 MiB steps with cond_resched() between
 * (each step a memremap() of a boot-reserved region); cache maintenance
 * O(bytes), in the same steps; switching a taken region's memory type
 * O(pages) plus a TLB flush (set_memory_*()); claiming O(region) (the
 * first scrub); taking at load checks every page of each candidate range
 * (at most 64 tries); looking for referenced pages O(pages).
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/sched.h>
#include <linux/string.h>
#include "fnmm_dev.h"

#ifdef CONFIG_X86
#include <asm/cacheflush.h>
#include <asm/set_memory.h>
#include <linux/libnvdimm.h>
#endif

#define REGION_CONTIG_TRIES	64

/* Kernel address of [phys, phys + size) for CPU access; region_unmap() it. */
static void *region_map(struct fnmm_region *r, u64 phys, u64 size)
{
	if (r->kaddr)
		return r->kaddr + (phys - r->base);
#ifdef CONFIG_HAS_IOMEM
	return memremap(phys, size, MEMREMAP_WB);
#else
	return NULL;
#endif
}

static void region_unmap(struct fnmm_region *r, void *va)
{
#ifdef CONFIG_HAS_IOMEM
	if (!r->kaddr)
		memunmap(va);
#endif
}

static bool region_inside(struct fnmm_region *r, u64 phys, u64 size)
{
	return phys >= r->base && size <= r->size &&
	       phys - r->base <= r->size - size;
}

/**
 * fnmm_region_scrub() - zero part of the region
 * @r: the region
 * @phys: physical start
 * @size: bytes
 *
 * The zeroes are written through the cache and may stay there: memory
 * handed out for an uncached mapping is flushed then (see
 * fnmm_ctx_reserve_buf()), so write-back memory is not flushed twice.
 *
 * Return: 0, -EINVAL if the range is not inside @r, -ENOMEM if it cannot
 * be mapped.
 */
int fnmm_region_scrub(struct fnmm_region *r, u64 phys, u64 size)
{
	u64 done = 0;

	if (!region_inside(r, phys, size))
		return -EINVAL;
	/* Map and clear at most 2 MiB at a time: bounded latency. */
	while (done < size) {
		u64 len = min_t(u64, size - done, SZ_2M);
		void *va = region_map(r, phys + done, len);

		if (!va)
			return -ENOMEM;
		memset(va, 0, len);
		region_unmap(r, va);
		done += len;
		cond_resched();
	}
	return 0;
}

/**
 * fnmm_region_cache() - cache maintenance on part of the region
 * @r: the region
 * @phys: physical start
 * @size: bytes
 * @op: clean (write back), invalidate, or both
 *
 * On x86, clean writes lines back (CLWB where there is one) and
 * invalidate uses CLFLUSH, which writes back dirty lines first: x86 has
 * no invalidate that drops dirty data.  O(bytes), in 2 MiB steps with
 * cond_resched() between them; sleeps.
 *
 * Return: 0, -EINVAL (range not in @r), -ENOMEM, -EOPNOTSUPP (no cache
 * maintenance on this architecture).
 */
int fnmm_region_cache(struct fnmm_region *r, u64 phys, u64 size,
		      enum fnmm_cache_op op)
{
#ifdef CONFIG_X86
	u64 done = 0;

	if (!region_inside(r, phys, size))
		return -EINVAL;
	/* At most 2 MiB at a time, as a scrub: bounded latency. */
	while (done < size) {
		u64 len = min_t(u64, size - done, SZ_2M);
		void *va = region_map(r, phys + done, len);

		if (!va)
			return -ENOMEM;
		if (op == FNMM_CACHE_CLEAN)
			arch_wb_cache_pmem(va, len);
		else
			clflush_cache_range(va, len);
		region_unmap(r, va);
		done += len;
		cond_resched();
	}
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

/**
 * fnmm_region_set_type() - the memory type of part of a taken region
 * @r: the region
 * @phys: physical start, page-aligned
 * @size: bytes, page-aligned
 * @access: FNMM_ACCESS_DEVICE (uncached), FNMM_ACCESS_UNCACHED
 *	(write-combining), or neither (back to write-back)
 *
 * A region taken at load time is System RAM, mapped write-back in the
 * kernel's direct map, and x86 PAT gives user mappings of RAM the type
 * of its direct map.  So the direct map of an Uncached or Device
 * allocation is switched for its life (set_memory_wc/uc, which also
 * flush the caches) and switched back before the memory is reused.  A
 * boot-reserved region has no direct map: its mappings carry the type.
 *
 * Return: 0; -EINVAL where a taken region cannot be made uncached (not
 * x86) or the range is not in @r; or set_memory_*()'s error.
 */
int fnmm_region_set_type(struct fnmm_region *r, u64 phys, u64 size,
			 u32 access)
{
	bool uncached = access & (FNMM_ACCESS_UNCACHED | FNMM_ACCESS_DEVICE);

	if (!r->taken)
		return 0;
	if (!region_inside(r, phys, size))
		return -EINVAL;
#ifdef CONFIG_X86
	{
		unsigned long va = (unsigned long)r->kaddr + (phys - r->base);
		int n = size >> PAGE_SHIFT;

		if (access & FNMM_ACCESS_DEVICE)
			return set_memory_uc(va, n);
		if (uncached)
			return set_memory_wc(va, n);
		return set_memory_wb(va, n);
	}
#else
	return uncached ? -EINVAL : 0;
#endif
}

/**
 * fnmm_region_idle() - how far part of the region is not referenced
 * @r: the region
 * @phys: physical start, page-aligned
 * @size: bytes, page-aligned
 *
 * An idle page of a region with struct pages has refcount 1 (the
 * module's); a mapping of it or a get_user_pages() reference or pin
 * (an O_DIRECT bio, a pipe after vmsplice()) adds to it.  Only the
 * module can map the region, so once a range is unmapped a count above
 * 1 is a reference from elsewhere in the kernel, and it only goes down.
 *
 * Return: bytes from @phys up to the first referenced page (@size if
 * none is); @size for a region without struct pages (nothing can hold
 * its pages).
 */
u64 fnmm_region_idle(struct fnmm_region *r, u64 phys, u64 size)
{
	u64 done;

	if (!r->pages)
		return size;
	for (done = 0; done < size; done += PAGE_SIZE) {
		if (page_ref_count(pfn_to_page(PHYS_PFN(phys + done))) != 1)
			break;
		if (!(done & (SZ_2M - 1)))
			cond_resched();
	}
	return done;
}

#ifdef CONFIG_HAS_IOMEM
/* walk_iomem_res_desc() callback: sum the bytes of reserved pieces. */
static int region_reserved_piece(struct resource *res, void *arg)
{
	*(u64 *)arg += resource_size(res);
	return 0;
}

/*
 * Whether firmware or the command line (memmap=) marked all of
 * [base, base + size) reserved memory: never a device's MMIO window or
 * a hole the module would scribble over.
 */
static bool region_reserved(u64 base, u64 size)
{
	u64 covered = 0;

	walk_iomem_res_desc(IORES_DESC_RESERVED, IORESOURCE_MEM, base,
			    base + size - 1, &covered, region_reserved_piece);
	return covered == size;
}
#endif

/**
 * fnmm_region_claim() - claim a range reserved at boot
 * @r: filled in
 * @base: physical base, page-aligned
 * @size: bytes, page-aligned
 *
 * The range must be wholly reserved memory in /proc/iomem (x86:
 * memmap=SIZE$BASE, or an E820 reserved range) and must not overlap
 * System RAM.
 *
 * Return: 0, -EINVAL (misaligned, empty, wrapping, overlapping System
 * RAM, or not wholly reserved), -EBUSY (someone else holds part of it),
 * -EOPNOTSUPP (no iomem).
 */
int fnmm_region_claim(struct fnmm_region *r, u64 base, u64 size)
{
#ifdef CONFIG_HAS_IOMEM
	int ret;

	if (!size || !PAGE_ALIGNED(base) || !PAGE_ALIGNED(size) ||
	    base + size < base)
		return -EINVAL;
	if (region_intersects(base, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		pr_err("freenos-mm: %#llx+%#llx overlaps System RAM\n",
		       base, size);
		return -EINVAL;
	}
	if (!region_reserved(base, size)) {
		pr_err("freenos-mm: %#llx+%#llx is not wholly reserved memory\n",
		       base, size);
		return -EINVAL;
	}
	r->res = request_mem_region(base, size, FNMM_DEVICE_NAME);
	if (!r->res)
		return -EBUSY;
	r->base = base;
	r->size = size;
	r->kaddr = NULL;
	ret = fnmm_region_scrub(r, base, size);
	if (ret) {
		release_mem_region(base, size);
		r->res = NULL;
	}
	return ret;
#else
	return -EOPNOTSUPP;
#endif
}

#ifdef CONFIG_CONTIG_ALLOC
/* Every page of [pfn, pfn + nr) exists and is in @zone. */
static bool region_pfns_ok(struct zone *zone, unsigned long pfn,
			   unsigned long nr)
{
	unsigned long i;

	for (i = pfn; i < pfn + nr; i++) {
		if (!pfn_valid(i) || page_zone(pfn_to_page(i)) != zone)
			return false;
		if (!(i & 1023))
			cond_resched();
	}
	return true;
}

/* Find and take @nr contiguous pages, as alloc_contig_pages() does. */
static struct page *region_take_contig(unsigned long nr)
{
	unsigned long start, end, pfn, step = max_t(unsigned long, nr,
						    pageblock_nr_pages);
	struct page *probe = alloc_page(GFP_KERNEL);
	struct zone *zone;
	int tries = 0;

	if (!probe)
		return NULL;
	zone = page_zone(probe);
	start = ALIGN(zone->zone_start_pfn, step);
	end = zone_end_pfn(zone);
	__free_page(probe);
	if (end < start + nr)
		return NULL;
	/* From the top down; pfn >= start >= 0 stops before it could wrap. */
	for (pfn = ALIGN_DOWN(end - nr, step); pfn >= start &&
	     tries < REGION_CONTIG_TRIES; tries++) {
		if (region_pfns_ok(zone, pfn, nr) &&
		    !alloc_contig_range(pfn, pfn + nr, MIGRATE_MOVABLE,
					GFP_KERNEL | __GFP_NOWARN))
			return pfn_to_page(pfn);
		cond_resched();
		if (pfn < start + step)
			break;
		pfn -= step;
	}
	return NULL;
}
#endif

/**
 * fnmm_region_take() - take a region from the page allocator at load time
 * @r: filled in
 * @size: bytes, page-aligned
 *
 * Sizes up to the page allocator's largest block come from it directly;
 * larger ones are found and migrated free with alloc_contig_range().
 *
 * Return: 0, -EINVAL (size), -ENOMEM (no contiguous range found).
 */
int fnmm_region_take(struct fnmm_region *r, u64 size)
{
	void *va = NULL;

	if (!size || !PAGE_ALIGNED(size))
		return -EINVAL;
	if (size <= (PAGE_SIZE << (MAX_ORDER - 1))) {
		va = alloc_pages_exact(size, GFP_KERNEL | __GFP_NOWARN);
	} else {
#ifdef CONFIG_CONTIG_ALLOC
		struct page *page = region_take_contig(size >> PAGE_SHIFT);

		if (page)
			va = page_address(page);
#endif
	}
	if (!va)
		return -ENOMEM;
	r->kaddr = va;
	r->base = virt_to_phys(va);
	r->size = size;
	r->res = NULL;
	r->taken = true;
	r->pages = true;
	return fnmm_region_scrub(r, r->base, size);
}

/**
 * fnmm_region_put() - give the region back
 * @r: a region claimed or taken
 */
void fnmm_region_put(struct fnmm_region *r)
{
	if (r->res) {
		release_mem_region(r->base, r->size);
	} else if (r->taken) {
		if (r->size <= (PAGE_SIZE << (MAX_ORDER - 1)))
			free_pages_exact(r->kaddr, r->size);
#ifdef CONFIG_CONTIG_ALLOC
		else
			free_contig_range(PHYS_PFN(r->base), r->size >> PAGE_SHIFT);
#endif
	}
	memset(r, 0, sizeof(*r));
}
