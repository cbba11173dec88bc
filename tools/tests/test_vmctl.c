// SPDX-License-Identifier: GPL-2.0
/*
 * test_vmctl: the positive paths of every VMCtl operation, INFO and mmap
 * on all three allocators, through libfnmm.  Runs as root (LookupVirtual
 * needs CAP_SYS_ADMIN); prints TAP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static int fd;
static __u64 pg;
static struct fnmm_info info0;	/* at the start, fd fresh */
static int priv;		/* phys addresses are visible to us */

#define RWU		FNMM_ACCESS_DEFAULT
#define RU		(FNMM_ACCESS_READABLE | FNMM_ACCESS_USER)
#define SPLIT		FNMM_ALLOC_SPLIT
#define BIT		FNMM_ALLOC_BIT
#define POOL		FNMM_ALLOC_POOL

static __u64 round_up(__u64 v, __u64 a)
{
	return (v + a - 1) / a * a;
}

static int get(int f, struct fnmm_info *i)
{
	return info_or_fail(f, i, "stats");
}

/* @phys .. +len lies inside the region (as far as we can see). */
static void check_in_region(__u64 phys, __u64 len, const char *what)
{
	char d[96];

	if (!priv) {
		tap_skip("phys hidden: not privileged", "%s: phys in region",
			 what);
		return;
	}
	snprintf(d, sizeof(d), "phys 0x%llx+0x%llx, region 0x%llx+0x%llx",
		 (unsigned long long)phys, (unsigned long long)len,
		 (unsigned long long)info0.region_base,
		 (unsigned long long)info0.region_size);
	tap(phys >= info0.region_base && len <= info0.region_size &&
	    phys - info0.region_base <= info0.region_size - len, d,
	    "%s: phys inside the region", what);
}

static void check_pattern(void *p, size_t len, unsigned int seed,
			  const char *what)
{
	size_t bad = 0;
	int ret = pattern_fill(p, len, seed);

	if (!ret)
		ret = pattern_check(p, len, seed, &bad);
	tap(!ret, pattern_str(ret, bad), "%s: write a pattern, read it back",
	    what);
}

static void test_info(void)
{
	struct fnmm_info a, big_info;
	struct {
		struct fnmm_info info;
		unsigned char tail[64];
	} big;
	unsigned int k, i;
	char d[512];
	int ret, fd2, tail_zero;

	ret = fnmm_info(fd, &info0);
	if (!tap_ret(ret, 0, "INFO"))
		return;
	tap_eq(info0.version, FNMM_ABI_VERSION, "INFO: version is the ABI's");
	tap_eq(info0.page_size, pg, "INFO: page size is sysconf's");
	tap(info0.region_size && !(info0.region_size % pg), NULL,
	    "INFO: region size is non-zero and page-aligned");
	if (geteuid() == 0)
		tap(info0.region_base != 0, "region_base 0",
		    "INFO: region base shown to root");
	else
		tap_skip("not root", "INFO: region base shown to root");
	tap_eq(info0.alloc[SPLIT].granule, pg, "INFO: split granule is a page");
	tap_eq(info0.alloc[BIT].granule, pg, "INFO: bit granule is a page");
	for (k = 0; k < FNMM_NR_ALLOCATORS; k++) {
		const struct fnmm_alloc_stats *s = &info0.alloc[k];

		snprintf(d, sizeof(d), "size %llu free %llu largest %llu "
			 "granule %llu", (unsigned long long)s->size,
			 (unsigned long long)s->free,
			 (unsigned long long)s->largest,
			 (unsigned long long)s->granule);
		tap(s->granule && !(s->granule & (s->granule - 1)) &&
		    s->free <= s->size && s->size <= info0.region_size &&
		    (k == POOL || s->largest <= s->free), d,
		    "INFO: %s counters are consistent", fnmm_alloc_name(k));
	}
	tap(info0.alloc[SPLIT].size && info0.alloc[BIT].size, NULL,
	    "INFO: split and bit manage memory");
	tap(info0.contexts >= 1 && !info0.ctx_allocations &&
	    !info0.ctx_bytes && !info0.ctx_mappings, NULL,
	    "INFO: a fresh context holds nothing");
	tap(!info0.pinned, NULL, "INFO: nothing pinned");
	/* Root opened it: CAP_IPC_LOCK, so not limited, nothing charged. */
	tap(!info0.quarantined && info0.memlock_limit == ~0ULL, NULL,
	    "INFO: nothing in quarantine, root's file is not limited");

	/* A caller built with a bigger struct: a zero tail is accepted. */
	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	ret = fnmm_ioctl_raw(fd, FNMM_IOC_INFO, &big);
	tap_ret(ret, 0, "INFO: argsz bigger than known, zero tail");
	for (tail_zero = 1, i = 0; i < sizeof(big.tail); i++)
		tail_zero &= !big.tail[i];
	tap(tail_zero, NULL, "INFO: bigger argsz: the tail stays zero");
	big_info = big.info;
	big_info.argsz = info0.argsz;
	tap(!ret && !info_diff(&info0, &big_info, d, sizeof(d)), d,
	    "INFO: bigger argsz: the same reply");

	fd2 = fnmm_open();
	if (!tap(fd2 >= 0, errname(fd2), "open a second context"))
		return;
	if (!get(fd, &a))
		tap_eq(a.contexts, info0.contexts + 1,
		       "INFO: contexts counts the second open file");
	close(fd2);
	tap_info_same(fd, &info0, "INFO: closing it restores the counters");
}

/*
 * ReserveMem, mmap, LookupVirtual, Access, the cache operations, munmap
 * and Release of one allocation of @kind on @f.
 */
static void test_reserve_mmap(int f, unsigned int kind, __u64 req,
			      unsigned int seed)
{
	const char *name = fnmm_alloc_name(kind);
	struct fnmm_info b, a;
	struct fnmm_vmctl r, l;
	__u64 maplen, obj;
	char what[48];
	void *map;
	int ret;

	snprintf(what, sizeof(what), "%s %llu bytes", name,
		 (unsigned long long)req);
	if (get(f, &b))
		return;
	ret = fnmm_reserve(f, req, 0, kind, 0, &r);
	if (!tap_ret(ret, 0, "%s: ReserveMem", what))
		return;
	tap(r.handle && !(r.handle % pg), NULL,
	    "%s: handle is non-zero and page-aligned (an mmap offset)", what);
	if (kind == SPLIT || kind == BIT) {
		/* Split gives the tail of a power-of-two block back. */
		tap_eq(r.range.size, round_up(req, pg),
		       "%s: size rounded up to pages, no more", what);
	} else {
		tap(r.range.size >= req &&
		    !(r.range.size % info0.alloc[POOL].granule) &&
		    r.offset + r.range.size <= pg, NULL,
		    "%s: object size covers the request, fits its page", what);
	}
	if (kind == POOL)
		tap(r.offset < pg, NULL, "%s: offset lies in the page", what);
	else
		tap_eq(r.offset, 0, "%s: offset is 0", what);
	check_in_region(r.range.phys, r.range.size, what);
	if (priv)
		tap_eq(r.range.phys % pg, r.offset,
		       "%s: phys is the page + offset", what);

	if (!get(f, &a)) {
		int ok = a.alloc[kind].allocations ==
			 b.alloc[kind].allocations + 1 &&
			 a.ctx_allocations == b.ctx_allocations + 1 &&
			 a.ctx_bytes == b.ctx_bytes + r.range.size;

		if (kind != POOL)
			ok &= b.alloc[kind].free - a.alloc[kind].free ==
			      r.range.size;
		tap(ok, NULL, "%s: stats count the allocation", what);
	}

	maplen = round_up(r.offset + r.range.size, pg);
	map = fnmm_mmap(f, r.handle, maplen, PROT_READ | PROT_WRITE);
	if (!tap(map != MAP_FAILED, strerror(errno), "%s: mmap", what)) {
		fnmm_release(f, r.handle);
		return;
	}
	if (!get(f, &a))
		tap(a.mappings == b.mappings + 1 &&
		    a.ctx_mappings == b.ctx_mappings + 1, NULL,
		    "%s: stats count the mapping", what);
	check_pattern((char *)map + r.offset, r.range.size, seed, what);

	ret = fnmm_lookup(f, fnmm_addr(map) + r.offset, &l);
	if (tap_ret(ret, 0, "%s: LookupVirtual", what)) {
		tap(l.handle == r.handle && l.offset == 0, NULL,
		    "%s: LookupVirtual gives the handle and offset 0", what);
		tap_eq(l.range.phys, r.range.phys,
		       "%s: LookupVirtual gives the phys of ReserveMem", what);
	}
	if (kind != POOL) {
		ret = fnmm_lookup(f, fnmm_addr(map) + pg, &l);
		if (tap_ret(ret, 0, "%s: LookupVirtual, second page", what)) {
			tap_eq(l.offset, pg, "%s: second page: offset", what);
			tap_eq(l.range.phys, r.range.phys + pg,
			       "%s: second page: phys + page size", what);
		}
	}
	ret = fnmm_access(f, fnmm_addr(map) + r.offset, &l);
	if (tap_ret(ret, 0, "%s: Access", what)) {
		tap_eq(l.range.access, RWU, "%s: Access: Readable|Writable|User",
		       what);
		tap_eq(l.range.size, maplen - r.offset,
		       "%s: Access: size left in the mapping", what);
	}
	obj = fnmm_addr(map) + r.offset;
	tap_ret(fnmm_cache_clean(f, obj, r.range.size), 0,
		"%s: CacheClean", what);
	tap_ret(fnmm_cache_invalidate(f, obj, r.range.size), 0,
		"%s: CacheInvalidate", what);
	tap_ret(fnmm_cache_clean_invalidate(f, obj, r.range.size), 0,
		"%s: CacheCleanInvalidate", what);
	if (kind == POOL)	/* the whole page is mapped by this file */
		tap_ret(fnmm_cache_clean(f, fnmm_addr(map), maplen), 0,
			"%s: CacheClean of the whole mapped page", what);

	tap(!munmap(map, maplen), strerror(errno), "%s: munmap", what);
	if (!get(f, &a))
		tap(a.mappings == b.mappings &&
		    a.ctx_mappings == b.ctx_mappings, NULL,
		    "%s: munmap: mapping counters back", what);
	tap_ret(fnmm_release(f, r.handle), 0, "%s: Release", what);
	if (kind != POOL) {
		tap_info_same(f, &b, "%s: Release: stats back", what);
	} else if (!get(f, &a)) {
		tap(a.alloc[POOL].allocations == b.alloc[POOL].allocations &&
		    a.ctx_allocations == b.ctx_allocations &&
		    a.ctx_bytes == b.ctx_bytes, NULL,
		    "%s: Release: allocation counters back", what);
	}
}

/* Pool objects live in a context's own pool: use a context of their own. */
static void test_pool(void)
{
	struct fnmm_vmctl r1, r2;
	struct fnmm_info b;
	char *m1, *m2;
	size_t bad = 0;
	int pfd, ret;

	if (get(fd, &b))
		return;
	pfd = fnmm_open();
	if (!tap(pfd >= 0, errname(pfd), "pool: open a context"))
		return;
	test_reserve_mmap(pfd, POOL, 100, 3);
	test_reserve_mmap(pfd, POOL, 8, 4);

	/* Two objects: distinct handles, each its own bytes. */
	ret = fnmm_reserve(pfd, 64, 0, POOL, 0, &r1);
	if (tap_ret(ret, 0, "pool: first of two objects") &&
	    tap_ret(fnmm_reserve(pfd, 64, 0, POOL, 0, &r2), 0,
		    "pool: second of two objects")) {
		tap(r1.handle != r2.handle, NULL, "pool: distinct handles");
		if (priv)
			tap(r1.range.phys != r2.range.phys, NULL,
			    "pool: distinct objects");
		m1 = fnmm_mmap(pfd, r1.handle, pg, PROT_READ | PROT_WRITE);
		m2 = fnmm_mmap(pfd, r2.handle, pg, PROT_READ | PROT_WRITE);
		if (tap(m1 != MAP_FAILED && m2 != MAP_FAILED, strerror(errno),
			"pool: mmap both")) {
			ret = pattern_fill(m1 + r1.offset, 64, 11);
			if (!ret)
				ret = pattern_fill(m2 + r2.offset, 64, 12);
			if (!ret)
				ret = pattern_check(m1 + r1.offset, 64, 11,
						    &bad);
			if (!ret)
				ret = pattern_check(m2 + r2.offset, 64, 12,
						    &bad);
			tap(!ret, pattern_str(ret, bad),
			    "pool: the objects do not overlap");
		}
		if (m1 != MAP_FAILED)
			munmap(m1, pg);
		if (m2 != MAP_FAILED)
			munmap(m2, pg);
		tap_ret(fnmm_release(pfd, r1.handle), 0, "pool: release first");
		tap_ret(fnmm_release(pfd, r2.handle), 0, "pool: release second");
	}
	close(pfd);
	tap_info_same(fd, &b, "pool: closing the context returns its pool");
}

static void test_map_contiguous(void)
{
	const __u64 size = 1 << 20;
	struct fnmm_vmctl m, m2, m3, l, r0;
	struct fnmm_info b, a;
	struct {
		struct fnmm_vmctl v;
		unsigned char tail[16];
	} big;
	void *hole, *anon;
	__u64 h, v, phys0 = 0;
	int ret;

	if (get(fd, &b))
		return;
	ret = fnmm_map_contiguous(fd, 0, 0, size, 0, SPLIT, 0, &m);
	if (!tap_ret(ret, 0, "MapContiguous, handle 0: reserve and map 1 MiB"))
		return;
	h = m.handle;
	v = m.range.virt;
	tap(h && !(h % pg), NULL, "MapContiguous: a new handle returned");
	tap(v && !(v % pg), NULL, "MapContiguous: page-aligned virt returned");
	tap_eq(m.range.size, size, "MapContiguous: size");
	if (!get(fd, &a))
		tap(b.alloc[SPLIT].free - a.alloc[SPLIT].free == size &&
		    a.alloc[SPLIT].allocations == b.alloc[SPLIT].allocations + 1 &&
		    a.mappings == b.mappings + 1 &&
		    a.ctx_mappings == b.ctx_mappings + 1 &&
		    a.ctx_allocations == b.ctx_allocations + 1, NULL,
		    "MapContiguous: stats count the allocation and mapping");
	check_pattern(fnmm_ptr(v), size, 21, "MapContiguous");

	ret = fnmm_lookup(fd, v, &l);
	if (tap_ret(ret, 0, "LookupVirtual: first page")) {
		phys0 = l.range.phys;
		check_in_region(phys0, size, "LookupVirtual");
		if (priv)
			tap(!(phys0 % pg), NULL,
			    "LookupVirtual: phys page-aligned");
		tap(l.handle == h && l.offset == 0, NULL,
		    "LookupVirtual: handle and offset 0");
	}
	ret = fnmm_lookup(fd, v + pg, &l);
	if (tap_ret(ret, 0, "LookupVirtual: second page")) {
		tap_eq(l.range.phys, phys0 + pg,
		       "LookupVirtual: second page is first phys + page size");
		tap(l.handle == h && l.offset == pg, NULL,
		    "LookupVirtual: second page: handle and offset");
	}
	ret = fnmm_lookup(fd, v + size - pg, &l);
	if (tap_ret(ret, 0, "LookupVirtual: last page"))
		tap_eq(l.range.phys, phys0 + size - pg,
		       "LookupVirtual: last page is contiguous");
	ret = fnmm_access(fd, v, &l);
	if (tap_ret(ret, 0, "Access")) {
		tap_eq(l.range.access, RWU,
		       "Access: the allocation's default access");
		tap_eq(l.range.size, size, "Access: whole mapping left");
	}
	ret = fnmm_access(fd, v + 3 * pg, &l);
	if (tap_ret(ret, 0, "Access: fourth page"))
		tap_eq(l.range.size, size - 3 * pg,
		       "Access: fourth page: size left");

	/* A caller built with a bigger struct: a zero tail is accepted. */
	memset(&big, 0, sizeof(big));
	big.v.argsz = sizeof(big);
	big.v.range.virt = v;
	ret = fnmm_ioctl_raw(fd, FNMM_IOC_ACCESS, &big);
	tap_ret(ret, 0, "Access: argsz bigger than known, zero tail");
	tap(!ret && big.v.range.access == RWU && big.v.range.size == size,
	    NULL, "Access: bigger argsz: the same reply");

	tap_ret(fnmm_cache_clean(fd, v, size), 0, "CacheClean: 1 MiB");
	tap_ret(fnmm_cache_invalidate(fd, v, size), 0, "CacheInvalidate: 1 MiB");
	tap_ret(fnmm_cache_clean_invalidate(fd, v, size), 0,
		"CacheCleanInvalidate: 1 MiB");
	tap_ret(fnmm_cache_clean_invalidate(fd, v + pg + 8, 100), 0,
		"CacheCleanInvalidate: 100 bytes inside");

	check_pattern(fnmm_ptr(v), size, 22, "MapContiguous: before UnMap");
	tap_ret(fnmm_unmap(fd, v, size), 0, "UnMap");
	if (!get(fd, &a))
		tap(a.mappings == b.mappings && a.ctx_mappings == b.ctx_mappings &&
		    b.alloc[SPLIT].free - a.alloc[SPLIT].free == size, NULL,
		    "UnMap: mapping gone, allocation kept");
	tap_ret(fnmm_access(fd, v, &l), -EFAULT, "Access after UnMap: EFAULT");

	/* Map the existing allocation again: its contents are still there. */
	ret = fnmm_map_contiguous(fd, h, 0, size, RWU, 0, 0, &m2);
	if (!tap_ret(ret, 0, "MapContiguous: existing handle, kernel's virt"))
		goto release;
	tap(m2.handle == h && m2.range.size == size && m2.range.virt &&
	    !(m2.range.virt % pg), NULL,
	    "MapContiguous: existing handle: handle, size, virt");
	ret = pattern_check(fnmm_ptr(m2.range.virt), size, 22, NULL);
	tap(!ret, pattern_str(ret, 0), "MapContiguous: contents kept");

	/* ... and a second time, at an address of our choosing. */
	hole = free_area(size);
	ret = fnmm_map_contiguous(fd, h, fnmm_addr(hole), size, RWU, 0, 0, &m3);
	if (tap_ret(ret, 0, "MapContiguous: existing handle, caller's virt")) {
		tap_eq(m3.range.virt, fnmm_addr(hole),
		       "MapContiguous: mapped where asked");
		ret = pattern_fill(fnmm_ptr(m3.range.virt), size, 23);
		if (!ret)
			ret = pattern_check(fnmm_ptr(m2.range.virt), size, 23,
					    NULL);
		tap(!ret, pattern_str(ret, 0),
		    "MapContiguous: both mappings share the memory");
		if (!get(fd, &a))
			tap_eq(a.mappings, b.mappings + 2,
			       "MapContiguous: two mappings counted");
		ret = fnmm_map_contiguous(fd, h, fnmm_addr(hole), size, RWU,
					  0, 0, &r0);
		tap_ret(ret, -EEXIST, "MapContiguous: address in use: EEXIST");
		tap_ret(fnmm_unmap(fd, m3.range.virt, size), 0,
			"UnMap: the caller-placed mapping");
	}
	anon = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ret = fnmm_map_contiguous(fd, h, fnmm_addr(anon), size, RWU, 0, 0, &r0);
	tap_ret(ret, -EEXIST, "MapContiguous: address of anonymous memory: EEXIST");
	munmap(anon, pg);

	/* A narrower access than the allocation's. */
	ret = fnmm_map_contiguous(fd, h, 0, size, RU, 0, 0, &m3);
	if (tap_ret(ret, 0, "MapContiguous: read-only view")) {
		ret = fnmm_access(fd, m3.range.virt, &l);
		tap(!ret && l.range.access == RU, errname(ret),
		    "Access: read-only view is Readable|User");
		ret = pattern_check(fnmm_ptr(m3.range.virt), size, 23, NULL);
		tap(!ret, pattern_str(ret, 0), "read-only view reads the data");
		tap(!munmap(fnmm_ptr(m3.range.virt), size), strerror(errno),
		    "munmap: read-only view");
	}
	tap(!munmap(fnmm_ptr(m2.range.virt), size), strerror(errno),
	    "munmap: kernel-placed mapping");
release:
	tap_ret(fnmm_release(fd, h), 0, "Release: the 1 MiB allocation");
	tap_info_same(fd, &b, "MapContiguous: stats back after release");
}

static void test_map_sparse(void)
{
	const __u64 size = 4 * pg;
	struct fnmm_vmctl m, m2, l;
	struct fnmm_info b, a;
	void *hole;
	__u64 i;
	int ret, ok;

	if (get(fd, &b))
		return;
	ret = fnmm_map_sparse(fd, 0, 0, size, 0, SPLIT, 0, &m);
	if (!tap_ret(ret, 0, "MapSparse, handle 0: reserve and map 4 pages"))
		return;
	tap(m.handle && !(m.handle % pg) && m.range.virt &&
	    !(m.range.virt % pg) && m.range.size == size, NULL,
	    "MapSparse: handle, virt and size");
	check_pattern(fnmm_ptr(m.range.virt), size, 31, "MapSparse");
	for (ok = 1, i = 0; i < size; i += pg) {
		ret = fnmm_lookup(fd, m.range.virt + i, &l);
		ok &= !ret && l.handle == m.handle && l.offset == i &&
		      !(l.range.phys % pg);
		if (priv)
			ok &= l.range.phys >= info0.region_base &&
			      l.range.phys - info0.region_base <
			      info0.region_size;
	}
	tap(ok, NULL, "MapSparse: LookupVirtual of each page: in the region, "
	    "handle and offset");
	ret = fnmm_access(fd, m.range.virt, &l);
	tap(!ret && l.range.access == RWU && l.range.size == size,
	    errname(ret), "MapSparse: Access");

	hole = free_area(size);
	ret = fnmm_map_sparse(fd, m.handle, fnmm_addr(hole), size, RWU, 0, 0,
			      &m2);
	if (tap_ret(ret, 0, "MapSparse: existing handle at the caller's virt")) {
		tap_eq(m2.range.virt, fnmm_addr(hole),
		       "MapSparse: mapped where asked");
		ret = pattern_check(hole, size, 31, NULL);
		tap(!ret, pattern_str(ret, 0),
		    "MapSparse: second mapping sees the same memory");
		tap_ret(fnmm_unmap(fd, m2.range.virt, size), 0,
			"UnMap: second sparse mapping");
	}
	tap_ret(fnmm_unmap(fd, m.range.virt, size), 0, "UnMap: sparse mapping");
	tap_ret(fnmm_release(fd, m.handle), 0, "Release: sparse allocation");
	tap_info_same(fd, &b, "MapSparse: stats back");

	/* From the Bit allocator. */
	ret = fnmm_map_sparse(fd, 0, 0, 2 * pg, 0, BIT, 0, &m);
	if (tap_ret(ret, 0, "MapSparse, handle 0, bit: 2 pages")) {
		if (!get(fd, &a))
			tap_eq(b.alloc[BIT].free - a.alloc[BIT].free, 2 * pg,
			       "MapSparse, bit: bit free count drops 2 pages");
		check_pattern(fnmm_ptr(m.range.virt), 2 * pg, 32,
			      "MapSparse, bit");
		tap_ret(fnmm_release(fd, m.handle), 0,
			"Release while mapped, bit");
		tap(!munmap(fnmm_ptr(m.range.virt), 2 * pg), strerror(errno),
		    "munmap, bit");
	}
	tap_info_same(fd, &b, "MapSparse, bit: stats back");
}

/* Reserve with @access, mmap with @prot, check Access reports @access. */
static void test_one_access(__u32 access, int prot, const char *what)
{
	struct fnmm_vmctl r, l;
	struct fnmm_info b;
	void *map;
	int ret;

	if (get(fd, &b))
		return;
	ret = fnmm_reserve(fd, pg, access, SPLIT, 0, &r);
	/* ZONE_DEVICE pages are write-back for good: the kernel refuses. */
	if ((access & (FNMM_ACCESS_UNCACHED | FNMM_ACCESS_DEVICE)) &&
	    fnmm_cached_only()) {
		tap_ret(ret, -EINVAL, "%s: ReserveMem on a region with ZONE_DEVICE pages: EINVAL",
			what);
		tap_info_same(fd, &b, "%s: stats unchanged", what);
		return;
	}
	if (!tap_ret(ret, 0, "%s: ReserveMem", what))
		return;
	map = fnmm_mmap(fd, r.handle, pg, prot);
	if (tap(map != MAP_FAILED, strerror(errno), "%s: mmap", what)) {
		if (prot & PROT_WRITE) {
			check_pattern(map, pg, 41, what);
		} else {
			ret = probe_read(map);
			tap(!ret, pattern_str(ret, 0), "%s: readable", what);
		}
		ret = fnmm_access(fd, fnmm_addr(map), &l);
		tap(!ret && l.range.access == access, errname(ret),
		    "%s: Access reports 0x%x (got 0x%x)", what, access,
		    l.range.access);
		tap_ret(fnmm_cache_clean_invalidate(fd, fnmm_addr(map), pg), 0,
			"%s: CacheCleanInvalidate", what);
		munmap(map, pg);
	}
	tap_ret(fnmm_release(fd, r.handle), 0, "%s: Release", what);
	tap_info_same(fd, &b, "%s: stats back", what);
}

static void test_access(void)
{
	test_one_access(RWU | FNMM_ACCESS_UNCACHED, PROT_READ | PROT_WRITE,
			"access uncached (write-combining)");
	test_one_access(RWU | FNMM_ACCESS_DEVICE, PROT_READ | PROT_WRITE,
			"access device (uncached)");
	test_one_access(RU, PROT_READ, "access read-only");
	struct statvfs sv;

	/* PROT_EXEC of a device file needs /dev mounted without noexec. */
	if (!statvfs(FNMM_DEVICE_PATH, &sv) && (sv.f_flag & ST_NOEXEC))
		tap_skip("/dev is mounted noexec", "access read+exec");
	else
		test_one_access(RU | FNMM_ACCESS_EXECUTABLE,
				PROT_READ | PROT_EXEC, "access read+exec");
}

static void test_align(void)
{
	struct fnmm_vmctl r;
	struct fnmm_info b;
	int ret;

	if (get(fd, &b))
		return;
	ret = fnmm_reserve(fd, pg, 0, SPLIT, 16 * pg, &r);
	if (tap_ret(ret, 0, "ReserveMem split, align 16 pages")) {
		if (priv)
			tap_eq(r.range.phys % (16 * pg), 0,
			       "split: phys aligned to 16 pages");
		else
			tap_skip("phys hidden", "split: phys aligned");
		fnmm_release(fd, r.handle);
	}
	ret = fnmm_reserve(fd, pg, 0, BIT, 4 * pg, &r);
	if (tap_ret(ret, 0, "ReserveMem bit, align 4 pages")) {
		if (priv)
			tap_eq(r.range.phys % (4 * pg), 0,
			       "bit: phys aligned to 4 pages");
		else
			tap_skip("phys hidden", "bit: phys aligned");
		fnmm_release(fd, r.handle);
	}
	tap_info_same(fd, &b, "align: stats back");
}

static void test_release_while_mapped(void)
{
	struct fnmm_vmctl r, m;
	struct fnmm_info b, a;
	void *map;
	size_t bad = 0;
	int ret;

	if (get(fd, &b))
		return;
	/* mmap'ed, released, still usable, returned by munmap. */
	ret = fnmm_reserve(fd, 2 * pg, 0, SPLIT, 0, &r);
	if (!tap_ret(ret, 0, "release while mapped: ReserveMem"))
		return;
	map = fnmm_mmap(fd, r.handle, 2 * pg, PROT_READ | PROT_WRITE);
	if (!tap(map != MAP_FAILED, strerror(errno), "release while mapped: mmap")) {
		fnmm_release(fd, r.handle);
		return;
	}
	ret = pattern_fill(map, 2 * pg, 51);
	tap_ret(fnmm_release(fd, r.handle), 0, "Release while mapped");
	if (!ret)
		ret = pattern_check(map, 2 * pg, 51, &bad);
	tap(!ret, pattern_str(ret, bad), "after Release: data still readable");
	check_pattern(map, 2 * pg, 52, "after Release: still writable");
	if (!get(fd, &a))
		tap_eq(b.alloc[SPLIT].free - a.alloc[SPLIT].free, 2 * pg,
		       "after Release: pages not yet returned");
	tap_ret(fnmm_release(fd, r.handle), -ENOENT,
		"after Release: the handle is gone (ENOENT)");
	tap(!munmap(map, 2 * pg), strerror(errno), "munmap the released allocation");
	tap_info_same(fd, &b, "munmap: the pages are returned");

	/* The same with a MapContiguous mapping and UnMap. */
	ret = fnmm_map_contiguous(fd, 0, 0, 2 * pg, 0, SPLIT, 0, &m);
	if (!tap_ret(ret, 0, "release while mapped: MapContiguous"))
		return;
	tap_ret(fnmm_release(fd, m.handle), 0, "Release while MapContiguous'd");
	check_pattern(fnmm_ptr(m.range.virt), 2 * pg, 53,
		      "after Release: mapping usable");
	if (!get(fd, &a))
		tap_eq(b.alloc[SPLIT].free - a.alloc[SPLIT].free, 2 * pg,
		       "after Release: pages not yet returned");
	tap_ret(fnmm_unmap(fd, m.range.virt, 2 * pg), 0,
		"UnMap the released allocation");
	tap_info_same(fd, &b, "UnMap: the pages are returned");
}

static void test_release_sections(void)
{
	struct fnmm_info b, a, p;
	struct fnmm_vmctl r;
	void *map;
	int ret;

	if (get(fd, &b))
		return;
	ret = fnmm_reserve(fd, 4 * pg, 0, SPLIT, 0, &r);
	if (tap_ret(ret, 0, "ReleaseSections: split, 4 pages")) {
		get(fd, &p);
		ret = fnmm_release_sections(fd, r.handle, pg, pg);
		tap_ret(ret, 0, "ReleaseSections: split, page 1");
		if (!get(fd, &a)) {
			tap_eq(a.alloc[SPLIT].free - p.alloc[SPLIT].free, pg,
			       "ReleaseSections: split free rises by a page");
			tap_eq(p.ctx_bytes - a.ctx_bytes, pg,
			       "ReleaseSections: context bytes drop by a page");
		}
		p = a;
		ret = fnmm_release_sections(fd, r.handle, 2 * pg, 2 * pg);
		tap_ret(ret, 0, "ReleaseSections: split, pages 2-3");
		if (!get(fd, &a))
			tap_eq(a.alloc[SPLIT].free - p.alloc[SPLIT].free, 2 * pg,
			       "ReleaseSections: split free rises by 2 pages");
		tap_ret(fnmm_release(fd, r.handle), 0,
			"Release: what is left (page 0)");
		tap_info_same(fd, &b, "ReleaseSections, split: stats back");
	}

	ret = fnmm_reserve(fd, 3 * pg, 0, BIT, 0, &r);
	if (tap_ret(ret, 0, "ReleaseSections: bit, 3 pages")) {
		get(fd, &p);
		ret = fnmm_release_sections(fd, r.handle, 0, pg);
		tap_ret(ret, 0, "ReleaseSections: bit, page 0");
		if (!get(fd, &a))
			tap_eq(a.alloc[BIT].free - p.alloc[BIT].free, pg,
			       "ReleaseSections: bit free rises by a page");
		tap_ret(fnmm_release(fd, r.handle), 0, "Release: the rest");
		tap_info_same(fd, &b, "ReleaseSections, bit: stats back");
	}

	ret = fnmm_reserve(fd, 2 * pg, 0, SPLIT, 0, &r);
	if (!tap_ret(ret, 0, "ReleaseSections while mapped: ReserveMem"))
		return;
	map = fnmm_mmap(fd, r.handle, 2 * pg, PROT_READ | PROT_WRITE);
	if (tap(map != MAP_FAILED, strerror(errno),
		"ReleaseSections while mapped: mmap")) {
		get(fd, &p);
		tap_ret(fnmm_release_sections(fd, r.handle, 0, pg), -EBUSY,
			"ReleaseSections while mapped: EBUSY");
		tap_info_same(fd, &p, "ReleaseSections EBUSY: stats unchanged");
		munmap(map, 2 * pg);
		tap_ret(fnmm_release_sections(fd, r.handle, 0, pg), 0,
			"ReleaseSections after munmap");
	}
	tap_ret(fnmm_release(fd, r.handle), 0, "Release");
	tap_info_same(fd, &b, "ReleaseSections while mapped: stats back");
}

/* Whether @len bytes at @p read zero (without faulting). */
static int all_zero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += pg)
		if (probe_read(p + i))
			return 0;
	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* LookupVirtual (root) and Access of @p + @off in a mapping at offset 0. */
static void onestep_lookup(unsigned char *p, __u64 len, __u64 off,
			   __u32 access, const char *what)
{
	struct fnmm_vmctl r;
	int ret;

	ret = fnmm_access(fd, fnmm_addr(p + off), &r);
	if (tap_ret(ret, 0, "%s: Access at +%#llx", what,
		    (unsigned long long)off)) {
		tap_eq(r.handle, 0, "%s: Access gives handle 0", what);
		tap_eq(r.offset, off, "%s: Access gives the offset in it",
		       what);
		tap_eq(r.range.size, len - off,
		       "%s: Access gives the bytes left", what);
		tap_eq(r.range.access, access, "%s: Access gives the access",
		       what);
	}
	if (!priv) {
		tap_skip("phys hidden: not privileged", "%s: LookupVirtual",
			 what);
		return;
	}
	ret = fnmm_lookup(fd, fnmm_addr(p + off), &r);
	if (!tap_ret(ret, 0, "%s: LookupVirtual at +%#llx", what,
		     (unsigned long long)off))
		return;
	tap_eq(r.handle, 0, "%s: LookupVirtual gives handle 0", what);
	tap_eq(r.offset, off, "%s: LookupVirtual gives the offset in it",
	       what);
	check_in_region(r.range.phys, 1, what);
	tap_eq(r.range.phys & (pg - 1), off & (pg - 1),
	       "%s: LookupVirtual: phys has the offset in the page", what);
}

/*
 * mmap at offset 0: a new Split allocation without a handle, made zero,
 * that lives as long as its mappings (fork shares it).
 */
static void test_onestep(void)
{
	const int rw = PROT_READ | PROT_WRITE;
	const size_t len = 3 * pg;
	struct fnmm_info b, a;
	unsigned char *map;
	struct statvfs sv;
	size_t bad = 0;
	int ret, status, pfd[2];
	char c = 0;
	pid_t pid;

	if (get(fd, &b))
		return;
	map = mmap(NULL, len, rw, MAP_SHARED, fd, 0);
	if (!tap(map != MAP_FAILED, strerror(errno),
		 "offset 0: mmap of 3 pages"))
		return;
	tap(all_zero(map, len), "", "offset 0: reads zero");
	if (!get(fd, &a)) {
		tap_eq(a.ctx_bytes, b.ctx_bytes + len,
		       "offset 0: ctx_bytes counts its 3 pages");
		tap_eq(a.ctx_allocations, b.ctx_allocations,
		       "offset 0: ctx_allocations unchanged (no handle)");
		tap_eq(a.alloc[SPLIT].allocations,
		       b.alloc[SPLIT].allocations + 1,
		       "offset 0: one more Split allocation");
		tap_eq(b.alloc[SPLIT].free - a.alloc[SPLIT].free, len,
		       "offset 0: Split has 3 pages less free");
		tap_eq(a.ctx_mappings, b.ctx_mappings + 1,
		       "offset 0: one more mapping");
	}
	check_pattern(map, len, 61, "offset 0");
	onestep_lookup(map, len, 0, RWU, "offset 0");
	onestep_lookup(map, len, 2 * pg + 24, RWU, "offset 0");
	tap_ret(mprotect(map, pg, PROT_READ) ? -errno : 0, -EINVAL,
		"offset 0: mprotect of part is EINVAL");
	tap(!munmap(map, len), strerror(errno), "offset 0: munmap");
	tap_info_same(fd, &b, "offset 0: munmap returns everything");

	/* Fork shares it: it stays until the last mapping goes. */
	map = mmap(NULL, len, rw, MAP_SHARED, fd, 0);
	if (!tap(map != MAP_FAILED, strerror(errno), "fork: mmap at offset 0"))
		return;
	if (!tap(!pipe(pfd), strerror(errno), "fork: pipe")) {
		munmap(map, len);
		return;
	}
	ret = pattern_fill(map, len, 62);
	tap(!ret, pattern_str(ret, 0), "fork: the parent writes");
	tap_share();
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(pfd[1]);
		/* The parent has unmapped its mapping when this returns. */
		if (read(pfd[0], &c, 1) != 1)
			_exit(2);
		ret = pattern_check(map, len, 62, &bad);
		tap(!ret, pattern_str(ret, bad),
		    "fork child: the parent's bytes, after the parent unmapped");
		if (!get(fd, &a))
			tap_eq(a.ctx_bytes, b.ctx_bytes + len,
			       "fork child: the 3 pages are still held");
		check_pattern(map, len, 63, "fork child");
		tap(!munmap(map, len), strerror(errno), "fork child: munmap");
		fflush(stdout);
		_exit(0);
	}
	close(pfd[0]);
	if (!tap(pid > 0, strerror(errno), "fork")) {
		close(pfd[1]);
		munmap(map, len);
		return;
	}
	tap(!munmap(map, len), strerror(errno), "fork: the parent unmaps first");
	if (write(pfd[1], &c, 1) != 1)
		tap_diag("fork: write to the pipe: %s", strerror(errno));
	close(pfd[1]);
	tap(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    !WEXITSTATUS(status), "", "fork child exited 0");
	tap_info_same(fd, &b, "fork: both unmapped, everything returned");

	/* PROT_EXEC: Executable too, so mprotect may ask for it again. */
	if (!statvfs(FNMM_DEVICE_PATH, &sv) && (sv.f_flag & ST_NOEXEC)) {
		tap_skip("/dev is mounted noexec", "offset 0: PROT_EXEC");
	} else {
		map = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
		if (tap(map != MAP_FAILED, strerror(errno),
			"offset 0: mmap PROT_READ|PROT_EXEC")) {
			tap(all_zero(map, pg), "", "offset 0, exec: reads zero");
			onestep_lookup(map, pg, 8, RU | FNMM_ACCESS_EXECUTABLE,
				       "offset 0, exec");
			tap_ret(mprotect(map, pg, rw | PROT_EXEC) ? -errno : 0,
				0, "offset 0, exec: mprotect RWX allowed");
			check_pattern(map, pg, 64, "offset 0, exec");
			munmap(map, pg);
		}
		map = mmap(NULL, pg, rw, MAP_SHARED, fd, 0);
		if (tap(map != MAP_FAILED, strerror(errno),
			"offset 0: mmap without PROT_EXEC")) {
			tap_ret(mprotect(map, pg, PROT_READ | PROT_EXEC) ?
				-errno : 0, -EACCES,
				"offset 0, no exec: mprotect PROT_EXEC is EACCES");
			munmap(map, pg);
		}
		tap_info_same(fd, &b, "offset 0, exec: everything returned");
	}

	/* Bad inputs of the form. */
	map = mmap(NULL, pg, rw, MAP_PRIVATE, fd, 0);
	tap_ret(map == MAP_FAILED ? -errno : 0, -EINVAL,
		"offset 0: MAP_PRIVATE is EINVAL");
	if (map != MAP_FAILED)
		munmap(map, pg);
	map = mmap(NULL, info0.region_size + pg, rw, MAP_SHARED, fd, 0);
	tap_ret(map == MAP_FAILED ? -errno : 0, -ENOMEM,
		"offset 0: larger than the region is ENOMEM");
	if (map != MAP_FAILED)
		munmap(map, info0.region_size + pg);
	tap_info_same(fd, &b, "offset 0: bad inputs change nothing");
}

int main(void)
{
	pg = fnmm_page_size();
	fd = open_or_bail();
	test_info();
	priv = info0.region_base != 0;
	if (!priv)
		tap_diag("region base hidden: phys checks are skipped");

	test_reserve_mmap(fd, SPLIT, 3 * pg, 1);
	test_reserve_mmap(fd, BIT, 3 * pg, 2);
	test_pool();
	test_map_contiguous();
	test_map_sparse();
	test_access();
	test_align();
	test_release_while_mapped();
	test_release_sections();
	test_onestep();

	tap_info_same(fd, &info0, "all free counts equal those at the start");
	close(fd);
	return tap_done();
}
