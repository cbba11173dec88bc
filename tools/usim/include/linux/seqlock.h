/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/seqlock.h> (see usim_kernel.h):
 * seqcount_spinlock_t, its writer side under the associated lock and
 * its reader side (read_seqcount_begin() waits out a writer, as the
 * kernel's does), with the kernel's ordering.
 */
#ifndef _USIM_LINUX_SEQLOCK_H
#define _USIM_LINUX_SEQLOCK_H

#include "../usim_kernel.h"
#include <linux/spinlock.h>

typedef struct {
	unsigned int sequence;
} seqcount_spinlock_t;

#define seqcount_spinlock_init(s, lock)	((s)->sequence = 0)

static inline unsigned int read_seqcount_begin(const seqcount_spinlock_t *s)
{
	unsigned int seq;

	while ((seq = __atomic_load_n(&s->sequence, __ATOMIC_ACQUIRE)) & 1)
		cpu_relax();
	return seq;
}

static inline int read_seqcount_retry(const seqcount_spinlock_t *s,
				      unsigned int start)
{
	smp_rmb();
	return __atomic_load_n(&s->sequence, __ATOMIC_RELAXED) != start;
}

static inline void write_seqcount_begin(seqcount_spinlock_t *s)
{
	__atomic_store_n(&s->sequence, s->sequence + 1, __ATOMIC_RELAXED);
	smp_wmb();
}

static inline void write_seqcount_end(seqcount_spinlock_t *s)
{
	smp_wmb();
	__atomic_store_n(&s->sequence, s->sequence + 1, __ATOMIC_RELAXED);
}

#endif
