/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/types.h> (see usim_kernel.h).
 * Takes __u8.. __u64 from the system's UAPI header of the same name (so
 * u64 is unsigned long long, as in the kernel) and adds the kernel names.
 */
#ifndef _USIM_LINUX_TYPES_H
#define _USIM_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef unsigned int gfp_t;

#endif
