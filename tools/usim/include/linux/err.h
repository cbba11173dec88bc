/* SPDX-License-Identifier: GPL-2.0 */
/* usim: user-space stand-in for <linux/err.h> (see usim_kernel.h). */
#ifndef _USIM_LINUX_ERR_H
#define _USIM_LINUX_ERR_H

#include "../usim_kernel.h"
#include <linux/errno.h>

#define MAX_ERRNO	4095
#define IS_ERR_VALUE(x)	unlikely((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline void *ERR_CAST(const void *ptr)
{
	return (void *)ptr;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return IS_ERR_VALUE((unsigned long)ptr);
}

static inline bool IS_ERR_OR_NULL(const void *ptr)
{
	return unlikely(!ptr) || IS_ERR_VALUE((unsigned long)ptr);
}

#endif
