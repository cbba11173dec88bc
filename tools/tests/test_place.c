// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm placement, as the module parameter percpu says (run as
 * root: physical addresses tell where a block went).
 *
 *   test_place percpu     the module loaded as by default (percpu=1)
 *   test_place exact      loaded with percpu=0
 *
 * Pinned to one CPU, for Split (one page) and Bit (one chunk): reserve
 * A, then B, release A, then B, and reserve C.  With per-CPU magazines a
 * released block goes on this CPU's magazine, a LIFO: C is B.  With
 * percpu=0 every request is placed first fit: C is the lowest free block,
 * A.  Then a 2-page Split request after releasing two adjacent pages
 * (exact: it takes them; with magazines they wait on the magazine and
 * the request goes elsewhere), and the parameter's value in sysfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

#define PARAM	"/sys/module/freenos_mm/parameters/percpu"

static int exact;

/* ReserveMem of @size from @kind: its physical address, 0 on failure. */
static unsigned long long reserve(int fd, unsigned long long size,
				  unsigned int kind, unsigned long long *h)
{
	struct fnmm_vmctl r;
	int ret = fnmm_reserve(fd, size, 0, kind, 0, &r);

	if (ret) {
		tap(0, strerror(-ret), "ReserveMem %llu bytes from %s", size,
		    fnmm_alloc_name(kind));
		return 0;
	}
	*h = r.handle;
	return r.range.phys;
}

/* A, B; release A, B; C: LIFO gives B, first fit A. */
static void lifo_or_first_fit(int fd, unsigned int kind)
{
	unsigned long long a, b, c, ha, hb, hc;
	const char *name = fnmm_alloc_name(kind);

	a = reserve(fd, 4096, kind, &ha);
	b = reserve(fd, 4096, kind, &hb);
	if (!a || !b)
		return;
	tap_ret(fnmm_release(fd, ha), 0, "%s: release A", name);
	tap_ret(fnmm_release(fd, hb), 0, "%s: release B", name);
	c = reserve(fd, 4096, kind, &hc);
	if (!c)
		return;
	if (exact)
		tap_eq(c, a < b ? a : b,
		       "%s: percpu=0: the next page is the lowest free one (A at %#llx, B at %#llx, got %#llx)",
		       name, a, b, c);
	else
		tap_eq(c, b,
		       "%s: percpu=1: the next page is the one this CPU released last (A at %#llx, B at %#llx, got %#llx)",
		       name, a, b, c);
	tap_ret(fnmm_release(fd, hc), 0, "%s: release C", name);
}

/* Two adjacent pages released: does a 2-page request take them? */
static void pair_reuse(int fd)
{
	unsigned long long a, b, c, ha, hb, hc;

	a = reserve(fd, 4096, FNMM_ALLOC_SPLIT, &ha);
	b = reserve(fd, 4096, FNMM_ALLOC_SPLIT, &hb);
	if (!a || !b)
		return;
	if (!exact && b != a + 4096) {
		tap_skip("the magazine's pages are not in a row",
			 "split: two pages released together");
		fnmm_release(fd, ha);
		fnmm_release(fd, hb);
		return;
	}
	if (!tap(b == a + 4096, NULL, "split: two pages in a row (%#llx, %#llx)",
		 a, b))
		return;
	tap_ret(fnmm_release(fd, ha), 0, "split: release A");
	tap_ret(fnmm_release(fd, hb), 0, "split: release B");
	c = reserve(fd, 8192, FNMM_ALLOC_SPLIT, &hc);
	if (!c)
		return;
	if (exact)
		tap_eq(c, a, "split: percpu=0: 2 pages go where the two were released (got %#llx)",
		       c);
	else
		tap(c != a, NULL, "split: percpu=1: the two wait on the magazine, 2 pages go elsewhere (%#llx, not %#llx)",
		    c, a);
	tap_ret(fnmm_release(fd, hc), 0, "split: release the pair");
}

int main(int argc, char **argv)
{
	char want = 'Y', got = 0;
	cpu_set_t one;
	FILE *f;
	int fd;

	if (argc != 2 || (strcmp(argv[1], "percpu") && strcmp(argv[1], "exact"))) {
		fprintf(stderr, "usage: test_place percpu|exact\n");
		return 2;
	}
	exact = !strcmp(argv[1], "exact");
	if (geteuid() != 0) {
		tap_skip("needs root", "test_place %s", argv[1]);
		return tap_done();
	}
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	tap_ret(sched_setaffinity(0, sizeof(one), &one) ? -errno : 0, 0,
		"pinned to CPU 0");
	f = fopen(PARAM, "r");
	if (f) {
		got = fgetc(f);
		fclose(f);
	}
	if (exact)
		want = 'N';
	tap(got == want, NULL, "%s reads %c", PARAM, want);
	fd = open_or_bail();
	lifo_or_first_fit(fd, FNMM_ALLOC_SPLIT);
	lifo_or_first_fit(fd, FNMM_ALLOC_BIT);
	pair_reuse(fd);
	close(fd);
	return tap_done();
}
