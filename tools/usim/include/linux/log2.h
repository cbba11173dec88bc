/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/log2.h> (see usim_kernel.h).
 * As in the kernel, ilog2(0) is fls(0) - 1 = -1 (the constant-folding
 * branch of the kernel macro gives the same values as these).
 */
#ifndef _USIM_LINUX_LOG2_H
#define _USIM_LINUX_LOG2_H

#include <linux/bitops.h>

static __always_inline int __ilog2_u32(u32 n)
{
	return fls(n) - 1;
}

static __always_inline int __ilog2_u64(u64 n)
{
	return fls64(n) - 1;
}

#define ilog2(n) \
	(sizeof(n) <= 4 ? __ilog2_u32(n) : __ilog2_u64(n))

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* ceil(log2(n)); 0 for 0 and 1. */
static inline int __order_base_2(unsigned long n)
{
	return n > 1 ? ilog2(n - 1) + 1 : 0;
}
#define order_base_2(n)	__order_base_2(n)

static inline unsigned long __roundup_pow_of_two(unsigned long n)
{
	return 1UL << fls_long(n - 1);
}
#define roundup_pow_of_two(n)	__roundup_pow_of_two(n)

static inline unsigned long __rounddown_pow_of_two(unsigned long n)
{
	return 1UL << (fls_long(n) - 1);
}
#define rounddown_pow_of_two(n)	__rounddown_pow_of_two(n)

#endif
