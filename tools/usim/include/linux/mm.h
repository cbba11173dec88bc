/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/mm.h> (see usim_kernel.h): only
 * the page-size constants (x86-64: 4 KiB pages).  Like the kernel's,
 * it brings in the bit operations.
 */
#ifndef _USIM_LINUX_MM_H
#define _USIM_LINUX_MM_H

#include "../usim_kernel.h"
#include <linux/bitops.h>

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))
#define PAGE_ALIGNED(addr)	IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)

#endif
