// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: module entry points.
 */
#include <linux/module.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("FreeNOS-style memory allocators on reserved memory");
