// SPDX-License-Identifier: GPL-2.0
/*
 * Shared helpers of the freenos-mm user tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include "common.h"

static struct tap_counts {
	int count;
	int fails;
} tap_local, *tap_ctr = &tap_local;

#define tap_count (tap_ctr->count)
#define tap_fails (tap_ctr->fails)

void tap_share(void)
{
	struct tap_counts *shared = mmap(NULL, sizeof(*shared),
					 PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shared == MAP_FAILED) {
		perror("tap_share");
		exit(2);
	}
	*shared = *tap_ctr;
	tap_ctr = shared;
}

static int tap_v(int pass, const char *detail, const char *fmt, va_list ap)
{
	tap_count++;
	if (!pass)
		tap_fails++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	if (!pass && detail && *detail)
		printf(" (%s)", detail);
	putchar('\n');
	fflush(stdout);
	return pass;
}

int tap(int pass, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pass = tap_v(pass, detail, fmt, ap);
	va_end(ap);
	return pass;
}

int tap_ret(int got, int want, const char *fmt, ...)
{
	char detail[64];
	va_list ap;
	int pass;

	snprintf(detail, sizeof(detail), "got %s, want %s", errname(got),
		 errname(want));
	va_start(ap, fmt);
	pass = tap_v(got == want, detail, fmt, ap);
	va_end(ap);
	return pass;
}

int tap_eq(unsigned long long got, unsigned long long want,
	   const char *fmt, ...)
{
	char detail[96];
	va_list ap;
	int pass;

	snprintf(detail, sizeof(detail), "got 0x%llx (%llu), want 0x%llx (%llu)",
		 got, got, want, want);
	va_start(ap, fmt);
	pass = tap_v(got == want, detail, fmt, ap);
	va_end(ap);
	return pass;
}

void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("ok %d - ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
	fflush(stdout);
}

int tap_info_same(int fd, const struct fnmm_info *want, const char *fmt, ...)
{
	struct fnmm_info now;
	char detail[512];
	va_list ap;
	int ret, pass;

	ret = fnmm_info(fd, &now);
	if (ret)
		snprintf(detail, sizeof(detail), "INFO: %s", errname(ret));
	else
		info_diff(want, &now, detail, sizeof(detail));
	pass = !ret && !detail[0];
	va_start(ap, fmt);
	pass = tap_v(pass, detail, fmt, ap);
	va_end(ap);
	return pass;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_fails)
		printf("# %d of %d failed\n", tap_fails, tap_count);
	fflush(stdout);
	return tap_fails ? 1 : 0;
}

int tap_failed(void)
{
	return tap_fails;
}

const char *errname(int err)
{
	static const struct { int err; const char *name; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { ENXIO, "ENXIO" }, { E2BIG, "E2BIG" },
		{ EBADF, "EBADF" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
		{ ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
		{ ENOTTY, "ENOTTY" }, { ENOSPC, "ENOSPC" },
		{ ERANGE, "ERANGE" }, { EOVERFLOW, "EOVERFLOW" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EAGAIN, "EAGAIN" },
	};
	static char buf[16];
	unsigned int i;

	if (err < 0)
		err = -err;
	if (!err)
		return "0";
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

int open_or_bail(void)
{
	int fd = fnmm_open();

	if (fd < 0) {
		char detail[96];

		snprintf(detail, sizeof(detail), "%s: %s", FNMM_DEVICE_PATH,
			 strerror(-fd));
		tap(0, detail, "open the device");
		exit(tap_done());
	}
	return fd;
}

int info_or_fail(int fd, struct fnmm_info *info, const char *what)
{
	int ret = fnmm_info(fd, info);

	if (ret)
		tap(0, errname(ret), "%s: INFO", what);
	return ret;
}

struct info_field {
	const char *name;
	size_t off;
	int is32;
};

#define F64(f)		{ #f, offsetof(struct fnmm_info, f), 0 }
#define F32(f)		{ #f, offsetof(struct fnmm_info, f), 1 }
#define FA(k, kn, f)	{ "alloc[" kn "]." #f, \
			  offsetof(struct fnmm_info, alloc[k].f), 0 }
#define FALLOC(k, kn)	FA(k, kn, size), FA(k, kn, free), FA(k, kn, largest), \
			FA(k, kn, allocations), FA(k, kn, granule)

static const struct info_field info_fields[] = {
	F32(argsz), F32(version), F64(region_base), F64(region_size),
	F64(page_size),
	FALLOC(FNMM_ALLOC_SPLIT, "split"), FALLOC(FNMM_ALLOC_BIT, "bit"),
	FALLOC(FNMM_ALLOC_POOL, "pool"),
	F64(mappings), F64(contexts), F64(ctx_allocations), F64(ctx_bytes),
	F64(ctx_mappings), F64(quarantined), F64(memlock_used),
	F64(memlock_limit), F64(pinned), F64(exported), F64(exported_bytes),
	F64(bubble_arenas), F64(bubble_bytes), F64(bubble_used),
	F64(bubble_objects),
};

static unsigned long long field_val(const struct fnmm_info *i,
				    const struct info_field *f)
{
	const char *p = (const char *)i + f->off;
	__u32 v32;
	__u64 v64;

	if (f->is32) {
		memcpy(&v32, p, sizeof(v32));
		return v32;
	}
	memcpy(&v64, p, sizeof(v64));
	return v64;
}

int info_diff(const struct fnmm_info *a, const struct fnmm_info *b,
	      char *buf, size_t len)
{
	size_t n = 0;
	unsigned int i;
	int diffs = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(info_fields); i++) {
		const struct info_field *f = &info_fields[i];
		unsigned long long va = field_val(a, f), vb = field_val(b, f);

		if (va == vb)
			continue;
		if (n < len)
			n += snprintf(buf + n, len - n, "%s%s %llu -> %llu",
				      diffs ? "; " : "", f->name, va, vb);
		diffs++;
	}
	return diffs;
}

int info_wait(int fd, const struct fnmm_info *want, int ms, char *buf,
	      size_t len)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct fnmm_info now;
	int diffs, ret;

	for (;;) {
		ret = fnmm_info(fd, &now);
		if (ret) {
			snprintf(buf, len, "INFO: %s", errname(ret));
			return -1;
		}
		diffs = info_diff(want, &now, buf, len);
		if (!diffs || ms <= 0)
			return diffs;
		nanosleep(&ts, NULL);
		ms -= 10;
	}
}

/* Faults while touching test memory are caught and reported. */
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed;

static void fault_handler(int sig)
{
	if (fault_armed) {
		fault_armed = 0;
		siglongjmp(fault_jmp, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fault_setup(void)
{
	static int done;
	struct sigaction sa;

	if (done)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fault_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	done = 1;
}

static unsigned char pattern_byte(size_t i, unsigned int seed)
{
	unsigned int x = (unsigned int)i * 0x9e3779b1U + seed * 0x85ebca6bU;

	x ^= x >> 15;
	x *= 0x2c1b3c6dU;
	x ^= x >> 12;
	return (unsigned char)x;
}

int pattern_fill(void *p, size_t len, unsigned int seed)
{
	volatile unsigned char *b = p;
	size_t i;
	int sig;

	fault_setup();
	sig = sigsetjmp(fault_jmp, 1);
	if (sig)
		return -sig;
	fault_armed = 1;
	for (i = 0; i < len; i++)
		b[i] = pattern_byte(i, seed);
	fault_armed = 0;
	return 0;
}

int pattern_check(const void *p, size_t len, unsigned int seed, size_t *bad)
{
	const volatile unsigned char *b = p;
	volatile size_t i;
	int sig;

	fault_setup();
	sig = sigsetjmp(fault_jmp, 1);
	if (sig)
		return -sig;
	fault_armed = 1;
	for (i = 0; i < len; i++) {
		if (b[i] != pattern_byte(i, seed)) {
			fault_armed = 0;
			if (bad)
				*bad = i;
			return 1;
		}
	}
	fault_armed = 0;
	return 0;
}

int probe_read(const void *p)
{
	const volatile unsigned char *b = p;
	int sig;

	fault_setup();
	sig = sigsetjmp(fault_jmp, 1);
	if (sig)
		return -sig;
	fault_armed = 1;
	(void)*b;
	fault_armed = 0;
	return 0;
}

const char *pattern_str(int ret, size_t bad)
{
	static char buf[48];

	if (!ret)
		return "ok";
	if (ret == -SIGSEGV)
		return "SIGSEGV";
	if (ret == -SIGBUS)
		return "SIGBUS";
	if (ret < 0)
		snprintf(buf, sizeof(buf), "signal %d", -ret);
	else
		snprintf(buf, sizeof(buf), "mismatch at byte %zu", bad);
	return buf;
}

void *free_area(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

int unmap_all_fnmm(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long start[64], end[64];
	char line[512];
	int n = 0, i;

	if (!f)
		return -errno;
	while (n < 64 && fgets(line, sizeof(line), f)) {
		if (!strstr(line, FNMM_DEVICE_PATH))
			continue;
		if (sscanf(line, "%lx-%lx", &start[n], &end[n]) == 2)
			n++;
	}
	fclose(f);
	for (i = 0; i < n; i++)
		munmap((void *)start[i], end[i] - start[i]);
	return n;
}

const char *fnmm_pages_mode(void)
{
	static char mode[32];
	char line[128];
	FILE *f;

	if (mode[0])
		return mode;
	f = fopen("/sys/kernel/debug/freenos-mm/region", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "pages %31s", mode) == 1)
			break;
	if (f)
		fclose(f);
	return mode;
}

int fnmm_cached_only(void)
{
	return !strcmp(fnmm_pages_mode(), "zone-device");
}

int dmabuf_sync(int dfd, unsigned long long flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

int bufinfo_count(const char *what)
{
	FILE *f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
	char line[512];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, what))
			n++;
	if (f)
		fclose(f);
	return n;
}
