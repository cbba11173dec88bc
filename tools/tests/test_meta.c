// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm kernel metadata per open file and per handle: what a user
 * costs the kernel must grow with what it holds, never with the region.
 *
 * Makes NHANDLES Pool objects in one file, then opens NFILES files, each
 * holding one 8-byte Pool object (its context, its Pool with one slab,
 * two handles) and one Split page, and reads the kernel's slab and
 * vmalloc use (/proc/meminfo) before and after each.  Prints the bytes per file and per
 * handle as "# " lines and fails when a file costs 8 KiB or more (about
 * 3 KiB now; each file's Pool had a table of 8 bytes per region page:
 * 128 KiB on a 64 MiB region, 8 MiB on 4 GiB) or a handle 512 bytes or
 * more.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

#define NFILES		256	/* at most; argv[1] may ask for fewer */
#define NHANDLES	4096

/* Slab + VmallocUsed from /proc/meminfo, in bytes. */
static long long kernel_bytes(void)
{
	char line[128];
	long long kb, sum = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lld kB", &kb) == 1 ||
		    sscanf(line, "VmallocUsed: %lld kB", &kb) == 1)
			sum += kb * 1024;
	fclose(f);
	return sum;
}

int main(int argc, char **argv)
{
	static int fds[NFILES];
	struct fnmm_info start, now;
	struct fnmm_vmctl r;
	long long before, after, per;
	char diff[512];
	int i, fd, ok = 1, nfiles = NFILES;

	if (argc > 1 && atoi(argv[1]) > 0 && atoi(argv[1]) < NFILES)
		nfiles = atoi(argv[1]);

	fd = open_or_bail();
	if (info_or_fail(fd, &start, "INFO"))
		return tap_done();
	tap_diag("region %llu bytes", (unsigned long long)start.region_size);

	/* Handles first: objects freed by the files' close would be reused. */
	sync();
	before = kernel_bytes();
	for (i = 0; i < NHANDLES && ok; i++)
		ok = !fnmm_reserve(fd, 8, 0, FNMM_ALLOC_POOL, 0, &r);
	after = kernel_bytes();
	tap(ok, strerror(errno), "%d Pool objects in one file", NHANDLES);
	per = (after - before) / NHANDLES;
	tap_diag("kernel memory per handle: %lld bytes (%d handles)", per,
		 NHANDLES);
	tap(per < 512, NULL, "a handle costs less than 512 bytes");

	before = kernel_bytes();
	for (i = 0; i < nfiles && ok; i++) {
		fds[i] = open(FNMM_DEVICE_PATH, O_RDWR);
		ok = fds[i] >= 0 &&
		     !fnmm_reserve(fds[i], 8, 0, FNMM_ALLOC_POOL, 0, &r) &&
		     !fnmm_reserve(fds[i], 4096, 0, FNMM_ALLOC_SPLIT, 0, &r);
	}
	after = kernel_bytes();
	tap(ok && before > 0 && after > 0, strerror(errno),
	    "%d files, each with a Pool object and a Split page", nfiles);
	per = (after - before) / nfiles;
	tap_diag("kernel memory per file: %lld bytes (slab + vmalloc, %d files)",
		 per, nfiles);
	tap(per < 8192, NULL, "a file costs less than 8 KiB of kernel memory");
	while (i--)
		close(fds[i]);
	close(fd);

	fd = open_or_bail();
	if (!info_or_fail(fd, &now, "INFO after"))
		tap(!info_wait(fd, &start, 2000, diff, sizeof(diff)), diff,
		    "every counter back to the start");
	close(fd);
	return tap_done();
}
