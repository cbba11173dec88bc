/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the freenos-mm user tests: TAP output, memory
 * patterns that survive a fault, and struct fnmm_info comparison.
 */
#ifndef _FNMM_TEST_COMMON_H
#define _FNMM_TEST_COMMON_H

#include <stddef.h>
#include <sys/ioctl.h>
#include "../lib/libfnmm.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Print "ok N - desc" or "not ok N - desc (detail)"; returns @pass. */
int tap(int pass, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A result 0/-errno against the one wanted; returns whether they match. */
int tap_ret(int got, int want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Two values that must be equal (shown in hex when they differ). */
int tap_eq(unsigned long long got, unsigned long long want,
	   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "ok N - desc # SKIP reason": a test that cannot run here, said so. */
void tap_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* INFO now must equal @want in every field. */
int tap_info_same(int fd, const struct fnmm_info *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A "# ..." diagnostic line. */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the plan "1..N"; the exit status: 0 if all passed, else 1. */
int tap_done(void);

/*
 * Keep the case counters in shared memory, so that a forked child's
 * cases continue the numbering (the parent must wait while it runs).
 */
void tap_share(void);

/* Test cases that failed so far. */
int tap_failed(void);

/* "EINVAL" for 22 (or -22), "0" for 0, else "E<n>". */
const char *errname(int err);

/* Open the device; on failure report a failed test, the plan, and exit. */
int open_or_bail(void);

/* INFO, or report a failed test with @what and return the error. */
int info_or_fail(int fd, struct fnmm_info *info, const char *what);

/*
 * Compare two Info replies field by field: the number of fields that
 * differ, described in @buf ("alloc[split].free 8192 -> 4096; ...").
 */
int info_diff(const struct fnmm_info *a, const struct fnmm_info *b,
	      char *buf, size_t len);

/* Poll INFO until it equals @want or @ms pass: 0, or the differences. */
int info_wait(int fd, const struct fnmm_info *want, int ms, char *buf,
	      size_t len);

/*
 * Fill / check @len bytes with a pattern derived from @seed.  Faults
 * (SIGSEGV, SIGBUS) are caught: -signal.  pattern_check() returns 1 on a
 * mismatch and stores its offset in *bad (if not NULL).
 */
int pattern_fill(void *p, size_t len, unsigned int seed);
int pattern_check(const void *p, size_t len, unsigned int seed, size_t *bad);

/* Read one byte of @p: 0, or -signal if that faults. */
int probe_read(const void *p);

/* Describe a pattern_fill/check result: "ok", "SIGSEGV", "mismatch at N". */
const char *pattern_str(int ret, size_t bad);

/* A page-aligned address where @len bytes are free now (mmap+munmap). */
void *free_area(size_t len);

/*
 * The loaded module's struct pages (debugfs "region"): "zone-device"
 * (a boot-reserved region: cached memory only), "ram" (take=), "none"
 * (pages=0), or "" if unknown.
 */
const char *fnmm_pages_mode(void);

/* Uncached/Device allocations are refused (EINVAL) by the loaded module. */
int fnmm_cached_only(void);

/* DMA_BUF_IOCTL_SYNC with @flags on dma-buf @dfd: 0 or -errno. */
int dmabuf_sync(int dfd, unsigned long long flags);

/* Lines of /sys/kernel/debug/dma_buf/bufinfo naming @what. */
int bufinfo_count(const char *what);

/* The DRM uapi (include/uapi/drm/drm.h), stable: libdrm-dev not needed. */
struct fnmm_drm_prime_handle {
	__u32 handle;
	__u32 flags;
	__s32 fd;
};

struct fnmm_drm_gem_close {
	__u32 handle;
	__u32 pad;
};

#define FNMM_DRM_PRIME_FD_TO_HANDLE \
	_IOWR('d', 0x2e, struct fnmm_drm_prime_handle)
#define FNMM_DRM_GEM_CLOSE	_IOW('d', 0x09, struct fnmm_drm_gem_close)

/* munmap every mapping of /dev/freenos-mm in this process (from maps). */
int unmap_all_fnmm(void);

#endif /* _FNMM_TEST_COMMON_H */
