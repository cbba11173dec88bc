// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm_pagemap: what a buffer's mapping costs, for five kinds of buffer
 * side by side in one run (issue 12, page-backed mappings):
 *
 *   ours      mmap(/dev/freenos-mm, MAP_SHARED, offset 0): reserve and map
 *             in one step; module loaded with pages=1 (ZONE_DEVICE pages,
 *             2 MiB entries where the allocation is 2 MiB-aligned)
 *   ours-pfn  the same with the module loaded with pages=0 (4 KiB PFN
 *             entries made at mmap(), no get_user_pages(): "before")
 *   devdax    mmap(/dev/dax0.0, MAP_SHARED), buffer i of a process tree
 *             at offset i * size (device-dax, 2 MiB alignment)
 *   hugetlb   mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB), 2 MiB pages
 *   anon      mmap(MAP_PRIVATE | MAP_ANONYMOUS) + MADV_NOHUGEPAGE: 4 KiB
 *             pages
 *
 * Which of ours and ours-pfn can run is read from the module's "pages"
 * parameter; a kind asked for that cannot be set up is an error.
 *
 * Parts (one per run of the program):
 *
 *   maptouch  map, touch (write one byte per 4 KiB), munmap: wall-clock
 *             ns per cycle (CLOCK_MONOTONIC).  Each round runs one cycle
 *             of every kind, each kind first in turn, so that drift hits
 *             all alike; warm-up rounds are not kept.
 *   pgtables  --procs children each map and touch --size bytes and wait.
 *             The parent folds the per-CPU vmstat counters
 *             (/proc/sys/vm/stat_refresh) and reads PageTables from
 *             /proc/meminfo and VmPTE from /proc/PID/status of every
 *             child twice: once all children run and none has mapped,
 *             once all have mapped and touched.  The differences are
 *             the page tables of the buffers alone.
 *   odirect   read a block device with O_DIRECT (--chunk bytes a read)
 *             into a --size buffer of each kind, all mapped and touched
 *             beforehand: ns per whole buffer.  Rounds interleave the
 *             kinds as maptouch does, and each round reads the next
 *             --size bytes of the device.  A read that fails is a figure
 *             (its errno), not an error; data read that is not what
 *             "fill" wrote is an error.
 *   fill      write the whole block device with a pattern "odirect"
 *             checks: the device offset in the first 8 bytes of every
 *             4 KiB.
 *
 * Output (stdout): "# " comment lines and tab-separated rows
 *
 *   maptouch|odirect PHASE KIND SIZE BYTES ROUNDS MEDIAN_NS MAX_NS MIN_NS ERR
 *   pgtables PHASE KIND SIZE BYTES PROCS MEMINFO_DELTA VMPTE_DELTA_SUM
 *            VMPTE_DELTA_MIN VMPTE_DELTA_MAX VMPTE_BEFORE_MAX ERR
 *
 * (bytes for the page-table figures; ERR "0" or an errno name; PHASE is
 * --phase, a label for the caller).  Exit status: 0 with the figures,
 * 1 when a kind cannot be set up or fails midway, 2 on a usage error.
 *
 *   fnmm_pagemap PART [--phase N] [--kinds LIST] [--sizes LIST]
 *                [--rounds N] [--rounds-large N] [--warmup N]
 *                [--procs N] [--size S] [--chunk S] [--dev PATH]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include "../lib/libfnmm.h"

#ifndef MAP_HUGETLB
#define MAP_HUGETLB	0x40000
#endif

#define TOUCH_STRIDE	4096UL
#define HUGE_SIZE	(2UL << 20)
#define MAX_SIZES	8
#define MAX_PROCS	64
#define DAX_PATH	"/dev/dax0.0"
#define DAX_SIZE_PATH	"/sys/bus/dax/devices/dax0.0/size"
#define PAGES_PARAM	"/sys/module/freenos_mm/parameters/pages"
#define STAT_REFRESH	"/proc/sys/vm/stat_refresh"

enum kind { K_OURS, K_OURS_PFN, K_DEVDAX, K_HUGETLB, K_ANON, NR_KINDS };

static const char *const kind_name[NR_KINDS] = {
	[K_OURS] = "ours",
	[K_OURS_PFN] = "ours-pfn",
	[K_DEVDAX] = "devdax",
	[K_HUGETLB] = "hugetlb",
	[K_ANON] = "anon",
};

struct opts {
	unsigned int phase;
	bool kinds[NR_KINDS];
	size_t sizes[MAX_SIZES];
	unsigned int nsizes;
	unsigned int rounds, rounds_large, warmup, procs;
	size_t size, chunk;
	const char *dev;
};

/* What each kind maps from (device fds), -1 if nothing or not open. */
static int kind_fd[NR_KINDS] = { -1, -1, -1, -1, -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Write one byte in every 4 KiB of [p, p + size). */
static void touch(void *p, size_t size)
{
	unsigned char *c = p;
	size_t off;

	for (off = 0; off < size; off += TOUCH_STRIDE)
		c[off] = (unsigned char)(off >> 12) | 1;
	/* Every store is made, in order, before what follows. */
	asm volatile("" : : "r" (c) : "memory");
}

static const char *err_name(int err)
{
	const char *s = err ? strerrorname_np(err) : "0";

	return s ? s : "EUNKNOWN";
}

/* "2MiB", "32MiB": the size as libfnmm formats it, without the space. */
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

/* The first line of @path into @buf: 0 or -errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		ret = -EIO;
	fclose(f);
	return ret;
}

/* "KEY:  N kB" from a /proc file, in bytes; -1 if missing. */
static long long proc_kb(const char *path, const char *key)
{
	size_t klen = strlen(key);
	long long kb = -1;
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/*
 * Open what kind @k maps from: 0 or -errno (with a "# " line saying
 * why).  ours needs the module loaded with pages=1, ours-pfn with
 * pages=0.
 */
static int kind_open(enum kind k)
{
	char line[16];
	bool want;
	int ret;

	if (kind_fd[k] >= 0)
		return 0;
	switch (k) {
	case K_OURS:
	case K_OURS_PFN:
		want = k == K_OURS;
		ret = read_line(PAGES_PARAM, line, sizeof(line));
		if (ret) {
			printf("# %s: %s: %s\n", kind_name[k], PAGES_PARAM,
			       strerror(-ret));
			return ret;
		}
		if ((line[0] == 'Y') != want) {
			printf("# %s: the module is loaded with pages=%c\n",
			       kind_name[k], line[0]);
			return -ENODEV;
		}
		ret = fnmm_open();
		break;
	case K_DEVDAX:
		ret = open(DAX_PATH, O_RDWR | O_CLOEXEC);
		if (ret < 0)
			ret = -errno;
		break;
	default:
		return 0;
	}
	if (ret < 0) {
		printf("# %s: open: %s\n", kind_name[k], strerror(-ret));
		return ret;
	}
	kind_fd[k] = ret;
	return 0;
}

static void kind_close(enum kind k)
{
	if (kind_fd[k] >= 0)
		close(kind_fd[k]);
	kind_fd[k] = -1;
}

/* Bytes mapped for a @size buffer of kind @k. */
static size_t kind_len(enum kind k, size_t size)
{
	if (k == K_DEVDAX || k == K_HUGETLB)
		return (size + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
	return (size + TOUCH_STRIDE - 1) & ~(TOUCH_STRIDE - 1);
}

/*
 * Map a @size buffer of kind @k, the @index-th of the process tree
 * (device-dax: at offset @index times its length).  The address, or
 * MAP_FAILED with errno set.
 */
static void *kind_map(enum kind k, size_t size, unsigned int index)
{
	size_t len = kind_len(k, size);
	int prot = PROT_READ | PROT_WRITE;
	void *p;

	switch (k) {
	case K_OURS:
	case K_OURS_PFN:
		return mmap(NULL, len, prot, MAP_SHARED, kind_fd[k], 0);
	case K_DEVDAX:
		return mmap(NULL, len, prot, MAP_SHARED, kind_fd[k],
			    (off_t)index * len);
	case K_HUGETLB:
		return mmap(NULL, len, prot,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	case K_ANON:
		p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && madvise(p, len, MADV_NOHUGEPAGE)) {
			int err = errno;

			munmap(p, len);
			errno = err;
			return MAP_FAILED;
		}
		return p;
	default:
		errno = EINVAL;
		return MAP_FAILED;
	}
}

static int kind_unmap(enum kind k, void *p, size_t size)
{
	return munmap(p, kind_len(k, size)) ? -errno : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Print a timing row from @n samples (sorted here); "NA" if none. */
static void print_times(const char *part, const struct opts *o, enum kind k,
			size_t size, uint64_t *ns, unsigned int n, int err)
{
	char buf[32];

	printf("%s\t%u\t%s\t%s\t%zu\t%u\t", part, o->phase, kind_name[k],
	       size_label(size, buf, sizeof(buf)), size, n);
	if (!n) {
		printf("NA\tNA\tNA\t%s\n", err_name(err));
		return;
	}
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("%llu\t%llu\t%llu\t%s\n",
	       (unsigned long long)(n % 2 ? ns[n / 2] :
				    (ns[n / 2 - 1] + ns[n / 2]) / 2),
	       (unsigned long long)ns[n - 1], (unsigned long long)ns[0],
	       err_name(err));
}

/* One map + touch + munmap cycle: 0 or -errno. */
static int maptouch_cycle(enum kind k, size_t size)
{
	void *p = kind_map(k, size, 0);

	if (p == MAP_FAILED)
		return -errno;
	touch(p, size);
	return kind_unmap(k, p, size);
}

static int part_maptouch(const struct opts *o)
{
	unsigned int s, r, i, n, nk = 0;
	enum kind order[NR_KINDS];
	uint64_t *ns[NR_KINDS];
	unsigned int got[NR_KINDS];
	int err[NR_KINDS], open_err[NR_KINDS], k, ret = 0;
	char buf[32];

	for (k = 0; k < NR_KINDS; k++) {
		if (!o->kinds[k])
			continue;
		order[nk++] = k;
		open_err[k] = -kind_open(k);
		if (open_err[k])
			ret = 1;
	}
	for (s = 0; s < o->nsizes; s++) {
		n = o->sizes[s] > HUGE_SIZE ? o->rounds_large : o->rounds;
		for (i = 0; i < nk; i++) {
			k = order[i];
			ns[k] = calloc(n, sizeof(uint64_t));
			if (!ns[k]) {
				perror("calloc");
				return 1;
			}
			got[k] = 0;
			err[k] = open_err[k];
		}
		for (r = 0; r < o->warmup + n; r++) {
			for (i = 0; i < nk; i++) {
				uint64_t t0, t1;

				/* Each kind goes first in turn. */
				k = order[(i + r) % nk];
				if (err[k])
					continue;
				t0 = now_ns();
				err[k] = -maptouch_cycle(k, o->sizes[s]);
				t1 = now_ns();
				if (err[k]) {
					printf("# maptouch %s %s: round %u: %s\n",
					       kind_name[k],
					       size_label(o->sizes[s], buf,
							  sizeof(buf)),
					       r, strerror(err[k]));
					ret = 1;
				} else if (r >= o->warmup) {
					ns[k][got[k]++] = t1 - t0;
				}
			}
		}
		for (i = 0; i < nk; i++) {
			k = order[i];
			print_times("maptouch", o, k, o->sizes[s], ns[k],
				    got[k], err[k]);
			free(ns[k]);
		}
		fflush(stdout);
	}
	for (i = 0; i < nk; i++)
		kind_close(order[i]);
	return ret;
}

/*
 * A child of "pgtables": wait for the go byte, map and touch its buffer,
 * say so (a status byte: 0 or errno), wait for the end byte, exit.
 */
static void pgtables_child(enum kind k, size_t size, unsigned int index,
			   int down, int up)
{
	unsigned char c = 0;
	void *p = MAP_FAILED;
	int ret;

	/* Its own file: one context per process, as programs open it. */
	kind_close(k);
	ret = kind_open(k);
	fflush(stdout);
	if (read(down, &c, 1) != 1)
		_exit(1);
	if (!ret) {
		p = kind_map(k, size, index);
		if (p == MAP_FAILED)
			ret = -errno;
		else
			touch(p, size);
	}
	c = -ret;
	if (write(up, &c, 1) != 1 || read(down, &c, 1) != 1)
		_exit(1);
	if (p != MAP_FAILED)
		kind_unmap(k, p, size);
	_exit(ret ? 1 : 0);
}

/* Fold the per-CPU counters, then PageTables in bytes (-1: unknown). */
static long long page_tables(void)
{
	int fd = open(STAT_REFRESH, O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1\n", 2) != 2)
			printf("# %s: %s\n", STAT_REFRESH, strerror(errno));
		close(fd);
	}
	return proc_kb("/proc/meminfo", "PageTables");
}

static long long vmpte(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return proc_kb(path, "VmPTE");
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * "pgtables" for one kind: 0, or -errno if a child could not map.  Each
 * child has its own pipe down (a byte there is its go, the next its
 * end), one pipe up carries a status byte from each; a child that never
 * answers is given up on after --procs times 30 s.
 */
static int pgtables_kind(const struct opts *o, enum kind k)
{
	long long before[MAX_PROCS], after[MAX_PROCS], pt0, pt1;
	long long sum = 0, dmin = -1, dmax = -1, bmax = 0;
	unsigned int i, j, n = o->procs, started = 0, answered = 0;
	int down[MAX_PROCS][2], up[2], err = 0;
	struct sigaction sa = { .sa_handler = on_alarm };
	pid_t pid[MAX_PROCS];
	unsigned char c;
	char buf[32];

	if (pipe(up))
		return -errno;
	fflush(stdout);
	for (i = 0; i < n; i++) {
		if (pipe(down[i])) {
			err = errno;
			break;
		}
		pid[i] = fork();
		if (pid[i] < 0) {
			err = errno;
			close(down[i][0]);
			close(down[i][1]);
			break;
		}
		if (!pid[i]) {
			for (j = 0; j < i; j++)
				close(down[j][1]);
			close(down[i][1]);
			close(up[0]);
			pgtables_child(k, o->size, i, down[i][0], up[1]);
		}
		close(down[i][0]);
		started++;
	}
	close(up[1]);
	/* Let every child get as far as its first read. */
	usleep(200000);
	pt0 = page_tables();
	for (i = 0; i < started; i++)
		before[i] = vmpte(pid[i]);
	for (i = 0; i < started; i++)
		if (write(down[i][1], "g", 1) != 1)
			err = err ?: errno;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: read() gives up */
	alarm(30 * n);
	for (; answered < started; answered++) {
		if (read(up[0], &c, 1) != 1) {
			err = err ?: ETIMEDOUT;
			break;
		}
		if (c)
			err = err ?: c;
	}
	alarm(0);
	pt1 = page_tables();
	for (i = 0; i < started; i++) {
		long long d;

		after[i] = vmpte(pid[i]);
		d = after[i] - before[i];
		sum += d;
		if (dmin < 0 || d < dmin)
			dmin = d;
		if (d > dmax)
			dmax = d;
		if (before[i] > bmax)
			bmax = before[i];
		printf("# pgtables %s: child %u VmPTE %lld -> %lld bytes\n",
		       kind_name[k], i, before[i], after[i]);
	}
	for (i = 0; i < started; i++) {
		if (write(down[i][1], "e", 1) != 1)
			err = err ?: errno;
		close(down[i][1]);
	}
	close(up[0]);
	for (i = 0; i < started; i++) {
		int st;

		if (answered < started)
			kill(pid[i], SIGKILL);
		if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			err = err ?: ECHILD;
	}
	printf("pgtables\t%u\t%s\t%s\t%zu\t%u\t", o->phase, kind_name[k],
	       size_label(o->size, buf, sizeof(buf)), o->size, n);
	if (err || started != n || pt0 < 0 || pt1 < 0)
		printf("NA\tNA\tNA\tNA\tNA\t%s\n", err_name(err ?: EIO));
	else
		printf("%lld\t%lld\t%lld\t%lld\t%lld\t0\n", pt1 - pt0, sum,
		       dmin, dmax, bmax);
	fflush(stdout);
	return err ? -err : 0;
}

static int part_pgtables(const struct opts *o)
{
	int k, ret = 0;

	if (o->procs > MAX_PROCS)
		return 2;
	for (k = 0; k < NR_KINDS; k++) {
		if (!o->kinds[k])
			continue;
		/* Fails here, with the reason, rather than in each child. */
		if (kind_open(k)) {
			ret = 1;
			continue;
		}
		if (pgtables_kind(o, k)) {
			printf("# pgtables %s: a child could not map its buffer\n",
			       kind_name[k]);
			ret = 1;
		}
		kind_close(k);
	}
	return ret;
}

/* The stamp "fill" writes at device offset @off (4 KiB-aligned). */
static uint64_t stamp(uint64_t off)
{
	return off ^ 0x464e4d4d00000000ULL;	/* "FNMM" */
}

static int dev_open(const char *path, int flags, uint64_t *size)
{
	int fd = open(path, flags | O_DIRECT | O_CLOEXEC);

	if (fd < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (ioctl(fd, BLKGETSIZE64, size) || *size < (1UL << 20)) {
		printf("# %s: not a block device of 1 MiB or more\n", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int part_fill(const struct opts *o)
{
	size_t chunk = 1UL << 20, i;
	uint64_t size, off;
	unsigned char *b;
	int fd = dev_open(o->dev, O_WRONLY, &size);

	if (fd < 0)
		return 1;
	b = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED) {
		close(fd);
		return 1;
	}
	for (off = 0; off + chunk <= size; off += chunk) {
		for (i = 0; i < chunk; i += TOUCH_STRIDE) {
			memset(b + i, (int)((off + i) >> 12) | 0x80,
			       TOUCH_STRIDE);
			*(uint64_t *)(b + i) = stamp(off + i);
		}
		if (pwrite(fd, b, chunk, off) != (ssize_t)chunk) {
			printf("# fill %s: %s\n", o->dev, strerror(errno));
			break;
		}
	}
	fsync(fd);
	close(fd);
	munmap(b, chunk);
	printf("# fill %s: %llu bytes\n", o->dev,
	       (unsigned long long)(off < size ? off : size));
	return off + chunk <= size ? 1 : 0;
}

/* One O_DIRECT read of the whole buffer from @off: 0 or -errno. */
static int odirect_round(int fd, unsigned char *p, const struct opts *o,
			 uint64_t off)
{
	size_t done;
	ssize_t n;

	for (done = 0; done < o->size; done += o->chunk) {
		n = pread(fd, p + done, o->chunk, off + done);
		if (n < 0)
			return -errno;
		if ((size_t)n != o->chunk)
			return -EIO;
	}
	return 0;
}

/* Did the last round read what "fill" wrote at @off?  0 or -EBADMSG. */
static int odirect_check(const unsigned char *p, size_t size, uint64_t off)
{
	size_t i;

	for (i = 0; i < size; i += TOUCH_STRIDE)
		if (*(const uint64_t *)(p + i) != stamp(off + i) ||
		    p[i + TOUCH_STRIDE - 1] != ((((off + i) >> 12) & 0xff) | 0x80))
			return -EBADMSG;
	return 0;
}

static int part_odirect(const struct opts *o)
{
	unsigned int r, i, nk = 0, got[NR_KINDS] = { 0 };
	unsigned char *p[NR_KINDS] = { NULL };
	uint64_t devsize, off = 0, *ns[NR_KINDS];
	int k, fd, err[NR_KINDS] = { 0 }, ret = 0;
	enum kind order[NR_KINDS];

	fd = dev_open(o->dev, O_RDONLY, &devsize);
	if (fd < 0)
		return 1;
	if (o->size > devsize || o->chunk > o->size ||
	    o->size % o->chunk || o->chunk % 4096) {
		printf("# odirect: --size/--chunk do not fit %s\n", o->dev);
		close(fd);
		return 2;
	}
	/* Every kind's buffer mapped and faulted in before the first round. */
	for (k = 0; k < NR_KINDS; k++) {
		if (!o->kinds[k])
			continue;
		order[nk++] = k;
		ns[k] = calloc(o->rounds, sizeof(uint64_t));
		if (!ns[k]) {
			perror("calloc");
			return 1;
		}
		err[k] = -kind_open(k);
		if (!err[k]) {
			p[k] = kind_map(k, o->size, 0);
			if (p[k] == MAP_FAILED) {
				err[k] = errno;
				p[k] = NULL;
				printf("# odirect %s: mmap: %s\n", kind_name[k],
				       strerror(err[k]));
			} else {
				touch(p[k], o->size);
			}
		}
		if (err[k])
			ret = 1;
	}
	for (r = 0; r < o->warmup + o->rounds; r++) {
		/* The same device bytes for every kind in a round. */
		off = ((uint64_t)r * o->size) % (devsize - devsize % o->size);
		for (i = 0; i < nk; i++) {
			uint64_t t0, t1;

			/* Each kind goes first in turn. */
			k = order[(i + r) % nk];
			if (err[k])
				continue;
			t0 = now_ns();
			err[k] = -odirect_round(fd, p[k], o, off);
			t1 = now_ns();
			if (err[k])
				printf("# odirect %s: round %u: %s\n",
				       kind_name[k], r, strerror(err[k]));
			else if (r >= o->warmup)
				ns[k][got[k]++] = t1 - t0;
		}
	}
	for (i = 0; i < nk; i++) {
		k = order[i];
		/* A read that fails is a figure; wrong data is an error. */
		if (p[k] && !err[k] && odirect_check(p[k], o->size, off)) {
			printf("# odirect %s: the data read is not what fill wrote\n",
			       kind_name[k]);
			err[k] = EBADMSG;
			ret = 1;
		}
		print_times("odirect", o, k, o->size, ns[k], got[k], err[k]);
		if (p[k])
			kind_unmap(k, p[k], o->size);
		kind_close(k);
		free(ns[k]);
	}
	close(fd);
	return ret;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: fnmm_pagemap maptouch|pgtables|odirect|fill [--phase N]\n"
		"       [--kinds ours,ours-pfn,devdax,hugetlb,anon] [--sizes LIST]\n"
		"       [--rounds N] [--rounds-large N] [--warmup N] [--procs N]\n"
		"       [--size S] [--chunk S] [--dev PATH]\n");
	exit(2);
}

/* A number from @min to 1000000, else the usage message. */
static unsigned int parse_uint(const char *s, unsigned int min)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < min || v > 1000000)
		print_usage();
	return v;
}

static size_t parse_bytes(const char *s)
{
	__u64 v;

	if (fnmm_parse_size(s, &v) || !v || v > (1ULL << 32))
		print_usage();
	return v;
}

static void parse_kinds(char *list, bool *kinds)
{
	char *tok, *save = NULL;
	int k;

	memset(kinds, 0, NR_KINDS * sizeof(*kinds));
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < NR_KINDS; k++)
			if (!strcmp(tok, kind_name[k]))
				break;
		if (k == NR_KINDS)
			print_usage();
		kinds[k] = true;
	}
}

static unsigned int parse_sizes(char *list, size_t *sizes)
{
	char *tok, *save = NULL;
	unsigned int n = 0;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_SIZES)
			print_usage();
		sizes[n++] = parse_bytes(tok);
	}
	if (!n)
		print_usage();
	return n;
}

int main(int argc, char **argv)
{
	char defkinds[] = "ours,devdax,hugetlb,anon", defsizes[] = "2M,32M";
	struct opts o = {
		.phase = 1, .rounds = 50, .rounds_large = 10, .warmup = 2,
		.procs = 8, .size = 32UL << 20, .chunk = 1UL << 20,
		.dev = "/dev/ram0",
	};
	const char *part;
	struct utsname un;
	int i;

	if (argc < 2)
		print_usage();
	part = argv[1];
	parse_kinds(defkinds, o.kinds);
	o.nsizes = parse_sizes(defsizes, o.sizes);
	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			print_usage();
		if (!strcmp(argv[i], "--phase"))
			o.phase = parse_uint(argv[++i], 0);
		else if (!strcmp(argv[i], "--kinds"))
			parse_kinds(argv[++i], o.kinds);
		else if (!strcmp(argv[i], "--sizes"))
			o.nsizes = parse_sizes(argv[++i], o.sizes);
		else if (!strcmp(argv[i], "--rounds"))
			o.rounds = parse_uint(argv[++i], 1);
		else if (!strcmp(argv[i], "--rounds-large"))
			o.rounds_large = parse_uint(argv[++i], 1);
		else if (!strcmp(argv[i], "--warmup"))
			o.warmup = parse_uint(argv[++i], 0);
		else if (!strcmp(argv[i], "--procs"))
			o.procs = parse_uint(argv[++i], 1);
		else if (!strcmp(argv[i], "--size"))
			o.size = parse_bytes(argv[++i]);
		else if (!strcmp(argv[i], "--chunk"))
			o.chunk = parse_bytes(argv[++i]);
		else if (!strcmp(argv[i], "--dev"))
			o.dev = argv[++i];
		else
			print_usage();
	}
	if (o.procs > MAX_PROCS)
		print_usage();
	if (uname(&un) == 0)
		printf("# %s phase %u: kernel %s %s\n", part, o.phase,
		       un.release, un.machine);
	if (!strcmp(part, "maptouch"))
		return part_maptouch(&o);
	if (!strcmp(part, "pgtables"))
		return part_pgtables(&o);
	if (!strcmp(part, "odirect"))
		return part_odirect(&o);
	if (!strcmp(part, "fill"))
		return part_fill(&o);
	print_usage();
	return 2;
}
