/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/atomic.h> (see usim_kernel.h):
 * cmpxchg() (fully ordered), smp_store_release(), smp_load_acquire().
 */
#ifndef _USIM_LINUX_ATOMIC_H
#define _USIM_LINUX_ATOMIC_H

#include "../usim_kernel.h"

#define cmpxchg(p, o, n) ({						\
	__typeof__(*(p)) __old = (o);					\
	__atomic_compare_exchange_n((p), &__old, (n), false,		\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);\
	__old; })
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)

#endif
