// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm Bubble arenas through /dev/freenos-mm (issue 14):
 *
 *   - an arena (ReserveMem, FNMM_ALLOC_BUBBLE, handle 0) is a Split
 *     allocation: handle, page-rounded size, reads zero when mapped;
 *   - objects (ReserveMem, FNMM_ALLOC_BUBBLE, the arena's handle) follow
 *     one another: offsets predicted from the sizes and alignments, each
 *     rounded up to FNMM_BUBBLE_GRANULE, their bytes in the arena's
 *     mapping, their physical address the arena's plus the offset (shown
 *     only to a privileged file);
 *   - a full arena gives -ENOMEM and stays as it was; -E2BIG, -EINVAL
 *     (size 0, align not a power of two, above the arena, a handle that
 *     is not an arena), -ENOENT (unknown handle, another file's arena);
 *   - ReleaseSections of an arena: -EINVAL; MapContiguous with Bubble:
 *     -EINVAL; an arena maps and exports as a Split allocation;
 *   - Info's bubble_* counters follow every step and come back to where
 *     they were after Release, and after close with arenas live;
 *   - a reply that cannot be written (a read-only argument) gives
 *     -EFAULT and takes the object back: the next one gets its offset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common.h"

#define G	FNMM_BUBBLE_GRANULE

static unsigned long long pg;

static unsigned long long up(unsigned long long x, unsigned long long a)
{
	return (x + a - 1) & ~(a - 1);
}

/* Info's bubble counters now. */
static int bubble_is(int fd, unsigned long long arenas,
		     unsigned long long bytes, unsigned long long used,
		     unsigned long long objects, const char *what)
{
	struct fnmm_info in;
	char d[160];

	if (fnmm_info(fd, &in))
		return tap(0, strerror(errno), "%s: Info", what);
	snprintf(d, sizeof(d), "arenas %llu bytes %llu used %llu objects %llu",
		 (unsigned long long)in.bubble_arenas,
		 (unsigned long long)in.bubble_bytes,
		 (unsigned long long)in.bubble_used,
		 (unsigned long long)in.bubble_objects);
	return tap(in.bubble_arenas == arenas && in.bubble_bytes == bytes &&
		   in.bubble_used == used && in.bubble_objects == objects,
		   d, "%s: Info bubble_* = %llu %llu %llu %llu", what, arenas,
		   bytes, used, objects);
}

static void objects(int fd, int priv)
{
	static const struct { unsigned long long size, align; } req[] = {
		{ 1, 0 }, { 16, 0 }, { 17, 0 }, { 100, 64 }, { 8, 4096 },
		{ 3000, 0 }, { 1, 8 }, { 5000, 2048 },
	};
	unsigned long long size = 4 * pg, top = 0, off, n = 0;
	struct fnmm_vmctl arena, r;
	unsigned char *m;
	unsigned int i;
	int ret;

	ret = fnmm_bubble_arena(fd, size - 100, 0, &arena);
	if (!tap_ret(ret, 0, "arena of 4 pages - 100 bytes"))
		return;
	tap_eq(arena.range.size, size, "arena: page-rounded size");
	tap(arena.handle && !(arena.handle & (pg - 1)), NULL,
	    "arena: a handle (%#llx)", (unsigned long long)arena.handle);
	bubble_is(fd, 1, size, 0, 0, "arena made");
	m = fnmm_mmap(fd, arena.handle, size, PROT_READ | PROT_WRITE);
	if (!tap(m != MAP_FAILED, strerror(errno), "arena: mmap"))
		return;
	for (off = 0; off < size && !m[off]; off++)
		;
	tap_eq(off, size, "arena: reads zero");

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		unsigned long long al = req[i].align > G ? req[i].align : G;
		unsigned long long at = up(top, al), got;

		ret = fnmm_bubble_alloc(fd, arena.handle, req[i].size,
					req[i].align, &got, &r);
		if (!tap_ret(ret, 0, "object %u: %llu bytes aligned %llu", i,
			     req[i].size, req[i].align))
			continue;
		tap_eq(got, at, "object %u: at offset %llu", i, at);
		tap_eq(r.range.size, up(req[i].size, G),
		       "object %u: size rounded to the granule", i);
		tap_eq(r.handle, arena.handle, "object %u: handle unchanged", i);
		if (priv)
			tap_eq(r.range.phys, arena.range.phys + at,
			       "object %u: physical address of its offset", i);
		else
			tap_eq(r.range.phys, 0, "object %u: no physical address",
			       i);
		memset(m + got, 0xb0 + i, req[i].size);
		top = at + up(req[i].size, G);
		n++;
		bubble_is(fd, 1, size, top, n, "after an object");
	}
	/* The bytes are where the offsets say. */
	for (i = 0, off = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		unsigned long long al = req[i].align > G ? req[i].align : G;

		off = up(off, al);
		tap(m[off] == 0xb0 + i && m[off + req[i].size - 1] == 0xb0 + i,
		    NULL, "object %u: its bytes at its offset", i);
		off += up(req[i].size, G);
	}

	/* Refusals change nothing. */
	tap_ret(fnmm_bubble_alloc(fd, arena.handle, size - top + 1, 0, NULL,
				  NULL), -ENOMEM, "one byte too many: ENOMEM");
	tap_ret(fnmm_bubble_alloc(fd, arena.handle, size + 1, 0, NULL, NULL),
		-E2BIG, "larger than the arena: E2BIG");
	tap_ret(fnmm_bubble_alloc(fd, arena.handle, 0, 0, NULL, NULL),
		-EINVAL, "size 0: EINVAL");
	tap_ret(fnmm_bubble_alloc(fd, arena.handle, 8, 48, NULL, NULL),
		-EINVAL, "align 48: EINVAL");
	tap_ret(fnmm_bubble_alloc(fd, arena.handle, 8, 2 * size, NULL, NULL),
		-EINVAL, "align above the arena: EINVAL");
	bubble_is(fd, 1, size, top, n, "after the refusals");

	/* A reply that cannot be written: -EFAULT, and the object goes. */
	{
		struct fnmm_vmctl *ro = mmap(NULL, pg, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		memset(ro, 0, sizeof(*ro));
		ro->argsz = sizeof(*ro);
		ro->flags = FNMM_ALLOC_BUBBLE;
		ro->handle = arena.handle;
		ro->range.size = 32;
		mprotect(ro, pg, PROT_READ);
		tap_ret(fnmm_ioctl_raw(fd, FNMM_IOC_RESERVE_MEM, ro), -EFAULT,
			"reply to a read-only struct: EFAULT");
		munmap(ro, pg);
		bubble_is(fd, 1, size, top, n, "after EFAULT: taken back");
		ret = fnmm_bubble_alloc(fd, arena.handle, 32, 0, &off, NULL);
		tap(!ret && off == top, NULL,
		    "the next object gets that offset (%llu)", top);
		if (!ret) {
			top += 32;
			n++;
		}
	}

	/* An arena is not cut, nor mapped through Bubble. */
	tap_ret(fnmm_release_sections(fd, arena.handle, 0, pg), -EINVAL,
		"ReleaseSections of an arena: EINVAL");
	memset(&r, 0, sizeof(r));
	r.flags = FNMM_ALLOC_BUBBLE;
	r.range.size = pg;
	tap_ret(fnmm_vmctl(fd, FNMM_IOC_MAP_CONTIGUOUS, &r), -EINVAL,
		"MapContiguous with Bubble: EINVAL");
	tap_ret(fnmm_vmctl(fd, FNMM_IOC_MAP_SPARSE, &r), -EINVAL,
		"MapSparse with Bubble: EINVAL");

	/* Release: everything at once; the mapping keeps the memory. */
	tap_ret(fnmm_release(fd, arena.handle), 0, "Release of the arena");
	tap_ret(fnmm_bubble_alloc(fd, arena.handle, 8, 0, NULL, NULL),
		-ENOENT, "object in a released arena: ENOENT");
	tap(m[0] == 0xb0, NULL, "the mapping still reads the first object");
	munmap(m, size);
	bubble_is(fd, 0, 0, 0, 0, "after Release and munmap");
}

/* Handles that are not arenas of this file. */
static void handles(int fd)
{
	struct fnmm_vmctl s, p, a;
	int other = fnmm_open();

	if (!tap_ret(fnmm_reserve(fd, pg, 0, FNMM_ALLOC_SPLIT, 0, &s), 0,
		     "a Split allocation"))
		return;
	tap_ret(fnmm_bubble_alloc(fd, s.handle, 8, 0, NULL, NULL), -EINVAL,
		"object in a Split allocation: EINVAL");
	if (!fnmm_reserve(fd, 64, 0, FNMM_ALLOC_POOL, 0, &p)) {
		tap_ret(fnmm_bubble_alloc(fd, p.handle, 8, 0, NULL, NULL),
			-EINVAL, "object in a Pool object: EINVAL");
		fnmm_release(fd, p.handle);
	}
	tap_ret(fnmm_bubble_alloc(fd, 0x7fff000, 8, 0, NULL, NULL), -ENOENT,
		"object in an unknown handle: ENOENT");
	/* Handle numbers are per file: none of this one's live now. */
	fnmm_release(fd, s.handle);
	if (other >= 0 && !fnmm_bubble_arena(other, pg, 0, &a)) {
		tap_ret(fnmm_bubble_alloc(fd, a.handle, 8, 0, NULL, NULL),
			-ENOENT, "object in another file's arena: ENOENT");
		/* Closing the other file with its arena live: counters go. */
		tap_ret(fnmm_bubble_alloc(other, a.handle, 8, 0, NULL, NULL),
			0, "object in the other file's arena");
		close(other);
		bubble_is(fd, 0, 0, 0, 0, "after closing a file with an arena");
	}
}

int main(void)
{
	struct fnmm_info before, after;
	int fd = open_or_bail();

	pg = sysconf(_SC_PAGESIZE);
	if (info_or_fail(fd, &before, "Info before"))
		return tap_done();
	objects(fd, before.region_base != 0);
	handles(fd);
	if (!info_or_fail(fd, &after, "Info after"))
		tap_info_same(fd, &before, "every counter back to the start");
	close(fd);
	return tap_done();
}
