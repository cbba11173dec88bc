/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/spinlock.h> (see usim_kernel.h).
 *
 * Default: a plain flag, for single-threaded use (fuzzing, callgrind),
 * that aborts on a double lock (a deadlock in the kernel) or an unlock of
 * a lock not held.  usim_locks_held counts the locks held now (nesting,
 * as pool_check() taking the parent's lock inside its own, is allowed),
 * so a caller can assert that none is left held after a call returns.
 *
 * With -DUSIM_THREADS: a spinning lock (test and test-and-set, as a
 * kernel spinlock spins rather than sleeps), for benchmarks with several
 * threads (usim_locks_held is then per thread).
 */
#ifndef _USIM_LINUX_SPINLOCK_H
#define _USIM_LINUX_SPINLOCK_H

#include "../usim_kernel.h"

extern __thread int usim_locks_held;

#ifdef USIM_THREADS
typedef struct {
	int v;
#ifdef USIM_LOCKSTAT
	const char *file;	/* where the holder took it */
	int line;
	unsigned long long t0;	/* TSC when it was taken */
#endif
} spinlock_t;

void usim_spin_lock_init(spinlock_t *l);

/*
 * -DUSIM_LOCKSTAT: every hold of every lock is timed (TSC) and counted in
 * a log2-nanosecond histogram of the place that took it (file:line), per
 * thread; usim_lockstat_print() merges the threads' and prints one line
 * per place, usim_lockstat_reset() starts again.  Threads index their
 * tables by usim_cpu.
 */
struct usim_lockstat_site {
	const char *file;
	int line;
	unsigned long long count, max_ns;
	unsigned long long bucket[40];	/* [k]: holds of 2^(k-1) .. 2^k ns */
};
void usim_lockstat_reset(void);
int usim_lockstat_sites(struct usim_lockstat_site *out, int max);
#else
typedef struct {
	int locked;
	const char *file;	/* where it was taken */
	int line;
} spinlock_t;

static inline void usim_spin_lock_init(spinlock_t *l)
{
	l->locked = 0;
	l->file = NULL;
	l->line = 0;
}
#endif

void usim_spin_lock(spinlock_t *l, const char *file, int line);
void usim_spin_unlock(spinlock_t *l, const char *file, int line);

#define spin_lock_init(l)	usim_spin_lock_init(l)
#define spin_lock(l)		usim_spin_lock(l, __FILE__, __LINE__)
#define spin_unlock(l)		usim_spin_unlock(l, __FILE__, __LINE__)

#endif
