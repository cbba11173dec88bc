/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the hardening programs (fnmm_fuzz, fnmm_stress):
 * a seeded generator, fault-guarded memory patterns that work in
 * threads, the errno buckets of the statistics, and the debugfs check.
 * Header-only: each program includes it once.
 */
#ifndef _FNMM_HARDENING_H
#define _FNMM_HARDENING_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "common.h"

#define HD_CHECK_PATH	"/sys/kernel/debug/freenos-mm/check"
/* x86-64 TASK_SIZE with 4-level page tables: the end of user space. */
#define HD_TASK_TOP	0x7ffffffff000ULL

/* splitmix64: the generator of every random choice. */
static inline uint64_t hd_next(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A value in [0, n) (0 when n is 0). */
static inline uint64_t hd_below(uint64_t *s, uint64_t n)
{
	return n ? hd_next(s) % n : 0;
}

/* True with probability pct / 100. */
static inline int hd_chance(uint64_t *s, unsigned int pct)
{
	return hd_below(s, 100) < pct;
}

/* The seed of worker @i of a run seeded @seed. */
static inline uint64_t hd_sub_seed(uint64_t seed, unsigned int i)
{
	uint64_t s = seed ^ (0xa0761d6478bd642fULL * (i + 1));

	return hd_next(&s);
}

static inline uint64_t hd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void hd_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Fault-guarded memory access.  A SIGSEGV or SIGBUS while a guard is
 * armed (per thread) returns -signal from the helper instead of killing
 * the process; elsewhere the signal kills as usual.
 */
static __thread sigjmp_buf hd_jmp;
static __thread volatile sig_atomic_t hd_armed;

static inline void hd_fault(int sig)
{
	if (hd_armed) {
		hd_armed = 0;
		siglongjmp(hd_jmp, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void hd_fault_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hd_fault;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Word @i of the pattern @seed. */
static inline uint64_t hd_word(uint64_t seed, size_t i)
{
	uint64_t x = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Write pattern @seed over @len bytes (a multiple of 8): 0 or -signal. */
static inline int hd_fill(void *p, size_t len, uint64_t seed)
{
	volatile uint64_t *w = p;
	size_t i;
	int sig;

	sig = sigsetjmp(hd_jmp, 1);
	if (sig)
		return -sig;
	hd_armed = 1;
	for (i = 0; i < len / 8; i++)
		w[i] = hd_word(seed, i);
	hd_armed = 0;
	return 0;
}

/*
 * Check @len bytes against pattern @seed, or against zeros when @zero:
 * 0, 1 on a mismatch (its byte offset in *bad), or -signal.
 */
static inline int hd_check(const void *p, size_t len, uint64_t seed, int zero,
		    size_t *bad)
{
	const volatile uint64_t *w = p;
	volatile size_t i;
	int sig;

	sig = sigsetjmp(hd_jmp, 1);
	if (sig)
		return -sig;
	hd_armed = 1;
	for (i = 0; i < len / 8; i++) {
		if (w[i] != (zero ? 0 : hd_word(seed, i))) {
			hd_armed = 0;
			if (bad)
				*bad = i * 8;
			return 1;
		}
	}
	hd_armed = 0;
	return 0;
}

/*
 * Write @len bytes (a multiple of 8) as the words @first, @first + @step,
 * @first + 2 * @step, ...: 0 or -signal.
 */
static inline int hd_fill_seq(void *p, size_t len, uint64_t first,
			      uint64_t step)
{
	volatile uint64_t *w = p;
	size_t i;
	int sig;

	sig = sigsetjmp(hd_jmp, 1);
	if (sig)
		return -sig;
	hd_armed = 1;
	for (i = 0; i < len / 8; i++)
		w[i] = first + i * step;
	hd_armed = 0;
	return 0;
}

/*
 * Compare @len bytes (a multiple of 8) at @p with the words @first,
 * @first + @step, ...: 0 if equal, 1 on a difference (the byte offset of
 * the first word that differs in *@bad), or -signal.
 */
static inline int hd_cmp_seq(const void *p, size_t len, uint64_t first,
			     uint64_t step, size_t *bad)
{
	const volatile uint64_t *w = p;
	volatile size_t i;
	int sig;

	sig = sigsetjmp(hd_jmp, 1);
	if (sig)
		return -sig;
	hd_armed = 1;
	for (i = 0; i < len / 8; i++) {
		if (w[i] != first + i * step) {
			hd_armed = 0;
			if (bad)
				*bad = i * 8;
			return 1;
		}
	}
	hd_armed = 0;
	return 0;
}

/* Copy @len bytes (a multiple of 8) out of @p, word by word: 0 or -signal. */
static inline int hd_copy_in(uint64_t *dst, const void *p, size_t len)
{
	const volatile uint64_t *w = p;
	size_t i;
	int sig;

	sig = sigsetjmp(hd_jmp, 1);
	if (sig)
		return -sig;
	hd_armed = 1;
	for (i = 0; i < len / 8; i++)
		dst[i] = w[i];
	hd_armed = 0;
	return 0;
}

/* Touch one byte (read, or read and write it back): 0 or -signal. */
static inline int hd_probe(void *p, int write)
{
	volatile unsigned char *b = p;
	unsigned char v;
	int sig;

	sig = sigsetjmp(hd_jmp, 1);
	if (sig)
		return -sig;
	hd_armed = 1;
	v = *b;
	if (write)
		*b = v;
	hd_armed = 0;
	return 0;
}

/* Store one byte: 0 or -signal. */
static inline int hd_store(void *p, unsigned char v)
{
	volatile unsigned char *b = p;
	int sig;

	sig = sigsetjmp(hd_jmp, 1);
	if (sig)
		return -sig;
	hd_armed = 1;
	*b = v;
	hd_armed = 0;
	return 0;
}

/* "ok", "SIGSEGV", "SIGBUS", "mismatch at byte N" for an hd_* result. */
static inline const char *hd_str(int ret, size_t bad, char *buf, size_t len)
{
	if (!ret)
		snprintf(buf, len, "ok");
	else if (ret == -SIGSEGV)
		snprintf(buf, len, "SIGSEGV");
	else if (ret == -SIGBUS)
		snprintf(buf, len, "SIGBUS");
	else if (ret < 0)
		snprintf(buf, len, "signal %d", -ret);
	else
		snprintf(buf, len, "mismatch at byte %zu", bad);
	return buf;
}

/* The results counted per operation: success, the errnos, the rest. */
static const int hd_errs[] = {
	0, EPERM, ENOENT, E2BIG, EBADF, ENOMEM, EACCES, EFAULT, EBUSY,
	EEXIST, EINVAL, ENOTTY, ENOSPC, EOVERFLOW, ENODEV,
};
#define HD_NR_ERRS	(ARRAY_SIZE(hd_errs) + 1)	/* + "other" */

static inline unsigned int hd_err_index(int ret)
{
	unsigned int i;

	if (ret < 0)
		ret = -ret;
	for (i = 0; i < ARRAY_SIZE(hd_errs); i++)
		if (hd_errs[i] == ret)
			return i;
	return ARRAY_SIZE(hd_errs);
}

static inline const char *hd_err_name(unsigned int idx)
{
	if (idx >= ARRAY_SIZE(hd_errs))
		return "other";
	return idx ? errname(hd_errs[idx]) : "ok";
}

/*
 * Read the debugfs check: 1 when its first line is "ok".  @out gets what
 * it said on one line ("; " between lines), or why it could not be read.
 */
static inline int hd_debugfs_check(char *out, size_t len)
{
	FILE *f = fopen(HD_CHECK_PATH, "r");
	size_t n, i;
	int ok;

	if (!f) {
		snprintf(out, len, "%s: %s", HD_CHECK_PATH, strerror(errno));
		return 0;
	}
	n = fread(out, 1, len - 1, f);
	fclose(f);
	out[n] = '\0';
	ok = !strcmp(out, "ok\n") || !strcmp(out, "ok");
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	for (i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = ';';
	if (!n)
		snprintf(out, len, "%s: empty", HD_CHECK_PATH);
	return ok;
}

/* Free pages of the region (Split + Bit) in an INFO reply. */
static inline int64_t hd_free_pages(const struct fnmm_info *i)
{
	return (int64_t)((i->alloc[FNMM_ALLOC_SPLIT].free +
			  i->alloc[FNMM_ALLOC_BIT].free) / i->page_size);
}

#endif /* _FNMM_HARDENING_H */
