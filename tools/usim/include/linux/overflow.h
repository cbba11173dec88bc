/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/overflow.h> (see usim_kernel.h):
 * the checked and saturating size arithmetic, on the same compiler
 * builtins the kernel uses.
 */
#ifndef _USIM_LINUX_OVERFLOW_H
#define _USIM_LINUX_OVERFLOW_H

#include "../usim_kernel.h"

#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define check_sub_overflow(a, b, d)	__builtin_sub_overflow(a, b, d)
#define check_mul_overflow(a, b, d)	__builtin_mul_overflow(a, b, d)

static inline size_t size_mul(size_t factor1, size_t factor2)
{
	size_t bytes;

	return check_mul_overflow(factor1, factor2, &bytes) ? SIZE_MAX : bytes;
}

static inline size_t size_add(size_t addend1, size_t addend2)
{
	size_t bytes;

	return check_add_overflow(addend1, addend2, &bytes) ? SIZE_MAX : bytes;
}

#define flex_array_size(p, member, count) \
	size_mul(count, sizeof(*(p)->member))
#define struct_size(p, member, count) \
	size_add(sizeof(*(p)), flex_array_size(p, member, count))

#endif
