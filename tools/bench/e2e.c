// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm_e2e: end-to-end cost of getting a buffer, touching every page of
 * it and giving it back, through /dev/freenos-mm and through the
 * kernel's own paths.  One cycle per round and method:
 *
 *   fnmm      ReserveMem (Split) + mmap(handle) + touch + munmap + Release
 *   fnmm-map  MapContiguous (handle 0: reserve + map) + touch + UnMap +
 *             Release
 *   anon      mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE) + touch +
 *             munmap
 *   hugetlb   mmap(MAP_HUGETLB, 2 MiB pages; at least one) + touch +
 *             munmap
 *
 * "touch" writes one byte in every 4 KiB of the buffer's size (page
 * faults, mostly: one per 4 KiB page, one per 2 MiB hugetlb or PMD
 * mapping), or with --touch all every byte of it (memset: the data
 * work every method has to do as well).  Rounds
 * alternate the methods (one cycle of each per round, each method first
 * in turn) so that a drift of the machine, or what one method leaves
 * behind for the next, hits all of them alike; a few warm-up rounds are
 * not kept.
 * Output (stdout): "# " comment lines and a TSV table with a header,
 *
 *   method size bytes rounds median_ns min_ns p90_ns
 *
 * one row per method and size; a method that cannot run here (no huge
 * pages, no device) has "NA" figures.  Figures only: the exit status is
 * non-zero only for a usage error or a method that fails midway.
 *
 *   fnmm_e2e [--rounds N] [--rounds-large N] [--warmup N] [--sizes LIST]
 *            [--touch page|all]
 *
 * --rounds: rounds for sizes up to 2 MiB (default 200; e2e.sh asks for
 * 500); --rounds-large: above 2 MiB (default 20; e2e.sh: 50); --sizes:
 * comma-separated sizes ("4K,64K,2M,32M", the default; suffixes as
 * libfnmm's size parser).  A "# null syscall" line gives the cost of
 * getppid() here, for scale.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "../lib/libfnmm.h"

#ifndef MAP_HUGETLB
#define MAP_HUGETLB	0x40000
#endif

#define TOUCH_STRIDE	4096UL
#define HUGE_SIZE	(2UL << 20)
#define MAX_SIZES	16

enum method { M_FNMM, M_FNMM_MAP, M_ANON, M_HUGETLB, NR_METHODS };

static const char *const method_name[NR_METHODS] = {
	[M_FNMM] = "fnmm",
	[M_FNMM_MAP] = "fnmm-map",
	[M_ANON] = "anon",
	[M_HUGETLB] = "hugetlb",
};

struct result {
	uint64_t *ns;		/* one sample per kept round */
	unsigned int n;
	int err;		/* first failure (-errno), 0 if none */
};

static int fnmm_fd = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool touch_all;	/* --touch all */

/* Write one byte in every 4 KiB of [p, p + size), or every byte. */
static void touch(void *p, size_t size)
{
	volatile unsigned char *c = p;
	size_t off;

	if (touch_all) {
		memset(p, 0x5a, size);
		__asm__ __volatile__("" : : "r"(p) : "memory");
		return;
	}
	for (off = 0; off < size; off += TOUCH_STRIDE)
		c[off] = (unsigned char)off | 1;
}

/* One cycle of @m over @size bytes: 0 or -errno. */
static int cycle(enum method m, size_t size)
{
	struct fnmm_vmctl v;
	size_t len;
	void *p;
	int ret;

	switch (m) {
	case M_FNMM:
		ret = fnmm_reserve(fnmm_fd, size, 0, FNMM_ALLOC_SPLIT, 0, &v);
		if (ret)
			return ret;
		p = fnmm_mmap(fnmm_fd, v.handle, size, PROT_READ | PROT_WRITE);
		if (p == MAP_FAILED) {
			ret = -errno;
			fnmm_release(fnmm_fd, v.handle);
			return ret;
		}
		touch(p, size);
		if (munmap(p, size))
			ret = -errno;
		if (fnmm_release(fnmm_fd, v.handle) && !ret)
			ret = -EIO;
		return ret;
	case M_FNMM_MAP:
		ret = fnmm_map_contiguous(fnmm_fd, 0, 0, size, 0,
					  FNMM_ALLOC_SPLIT, 0, &v);
		if (ret)
			return ret;
		touch(fnmm_ptr(v.range.virt), size);
		ret = fnmm_unmap(fnmm_fd, v.range.virt, v.range.size);
		if (fnmm_release(fnmm_fd, v.handle) && !ret)
			ret = -EIO;
		return ret;
	case M_ANON:
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		touch(p, size);
		return munmap(p, size) ? -errno : 0;
	case M_HUGETLB:
		len = (size + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		touch(p, size);
		return munmap(p, len) ? -errno : 0;
	default:
		return -EINVAL;
	}
}

/* The median of @n sorted samples. */
static uint64_t median(const uint64_t *v, unsigned int n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* "4KiB", "32MiB": the size as libfnmm formats it, without the space. */
static char *size_label(size_t size, char *buf, size_t len)
{
	char *src, *dst;

	fnmm_format_size(size, buf, len);
	for (src = dst = buf; *src; src++)
		if (*src != ' ')
			*dst++ = *src;
	*dst = '\0';
	return buf;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median ns of one null system call (getppid), to scale the figures. */
static uint64_t null_syscall_ns(void)
{
	uint64_t ns[101];
	unsigned int i, k;

	for (i = 0; i < 101; i++) {
		uint64_t t0 = now_ns();

		for (k = 0; k < 100; k++)
			syscall(SYS_getppid);
		ns[i] = (now_ns() - t0) / 100;
	}
	qsort(ns, 101, sizeof(uint64_t), cmp_u64);
	return ns[50];
}

/* Huge pages free now, from /proc/meminfo; -1 if unknown. */
static long huge_pages_free(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--rounds N] [--rounds-large N] [--warmup N] [--sizes LIST] [--touch page|all]\n",
		prog);
	exit(2);
}

/* A number from @min to 1000000, else the usage message. */
static unsigned int parse_uint(const char *s, unsigned int min,
			       const char *prog)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < min || v > 1000000)
		usage(prog);
	return v;
}

static unsigned int parse_sizes(char *list, size_t *sizes, const char *prog)
{
	unsigned int n = 0;
	char *tok, *save = NULL;
	__u64 v;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_SIZES || fnmm_parse_size(tok, &v) || !v ||
		    v > (1ULL << 32))
			usage(prog);
		sizes[n++] = v;
	}
	if (!n)
		usage(prog);
	return n;
}

int main(int argc, char **argv)
{
	static struct result res[MAX_SIZES][NR_METHODS];
	char deflist[] = "4K,64K,2M,32M";
	unsigned int rounds = 200, rounds_large = 20, warmup = 3;
	unsigned int nsizes, s, r, i;
	size_t sizes[MAX_SIZES];
	char *list = deflist;
	bool avail[NR_METHODS];
	struct utsname un;
	char buf[32];
	int m;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (i + 1 >= (unsigned int)argc)
			usage(argv[0]);
		if (!strcmp(argv[i], "--rounds"))
			rounds = parse_uint(argv[++i], 1, argv[0]);
		else if (!strcmp(argv[i], "--rounds-large"))
			rounds_large = parse_uint(argv[++i], 1, argv[0]);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = parse_uint(argv[++i], 0, argv[0]);
		else if (!strcmp(argv[i], "--sizes"))
			list = argv[++i];
		else if (!strcmp(argv[i], "--touch") &&
			 (!strcmp(argv[i + 1], "page") ||
			  !strcmp(argv[i + 1], "all")))
			touch_all = !strcmp(argv[++i], "all");
		else
			usage(argv[0]);
	}
	nsizes = parse_sizes(list, sizes, argv[0]);

	if (uname(&un) == 0)
		printf("# kernel %s %s\n", un.release, un.machine);
	printf("# touch %s\n", touch_all ? "all" : "page");
	printf("# page size %lu, huge pages free %ld\n",
	       (unsigned long)sysconf(_SC_PAGESIZE), huge_pages_free());
	printf("# null syscall (getppid) %llu ns\n",
	       (unsigned long long)null_syscall_ns());
	printf("# rounds %u (<= 2 MiB), %u (> 2 MiB), %u warm-up rounds not kept\n",
	       rounds, rounds_large, warmup);

	fnmm_fd = fnmm_open();
	for (m = 0; m < NR_METHODS; m++)
		avail[m] = true;
	if (fnmm_fd < 0) {
		printf("# %s: %s: fnmm methods skipped\n", FNMM_DEVICE_PATH,
		       strerror(-fnmm_fd));
		avail[M_FNMM] = avail[M_FNMM_MAP] = false;
	}

	for (s = 0; s < nsizes; s++) {
		unsigned int n = sizes[s] > HUGE_SIZE ? rounds_large : rounds;

		for (m = 0; m < NR_METHODS; m++) {
			res[s][m].ns = calloc(n, sizeof(uint64_t));
			if (!res[s][m].ns) {
				perror("calloc");
				return 1;
			}
			res[s][m].err = avail[m] ? 0 : -ENODEV;
		}
		for (r = 0; r < warmup + n; r++) {
			for (i = 0; i < NR_METHODS; i++) {
				struct result *re;
				uint64_t t0, t1;
				int ret;

				/* Each method goes first in turn. */
				m = (i + r) % NR_METHODS;
				re = &res[s][m];

				if (re->err)
					continue;
				t0 = now_ns();
				ret = cycle(m, sizes[s]);
				t1 = now_ns();
				if (ret) {
					re->err = ret;
					printf("# %s %s: round %u: %s\n",
					       method_name[m],
					       size_label(sizes[s], buf,
							  sizeof(buf)),
					       r, strerror(-ret));
					continue;
				}
				if (r >= warmup)
					re->ns[re->n++] = t1 - t0;
			}
		}
	}

	printf("method\tsize\tbytes\trounds\tmedian_ns\tmin_ns\tp90_ns\n");
	for (s = 0; s < nsizes; s++) {
		for (m = 0; m < NR_METHODS; m++) {
			struct result *re = &res[s][m];

			printf("%s\t%s\t%zu\t", method_name[m],
			       size_label(sizes[s], buf, sizeof(buf)), sizes[s]);
			if (re->err || !re->n) {
				printf("0\tNA\tNA\tNA\n");
				continue;
			}
			qsort(re->ns, re->n, sizeof(uint64_t), cmp_u64);
			printf("%u\t%llu\t%llu\t%llu\n", re->n,
			       (unsigned long long)median(re->ns, re->n),
			       (unsigned long long)re->ns[0],
			       (unsigned long long)re->ns[(re->n * 9) / 10]);
		}
	}
	if (fnmm_fd >= 0)
		fnmm_close(fnmm_fd);
	/*
	 * An error: a method that failed midway, or the device's methods
	 * failing at all once it opened.  Huge pages missing from the start
	 * (none reserved) and no device only give NA figures.
	 */
	for (s = 0; s < nsizes; s++)
		for (m = 0; m < NR_METHODS; m++) {
			struct result *re = &res[s][m];

			if (!re->err || re->err == -ENODEV)
				continue;
			if (m == M_HUGETLB && !re->n)
				continue;
			return 1;
		}
	return 0;
}
