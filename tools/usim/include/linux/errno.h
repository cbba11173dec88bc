/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/errno.h> (see usim_kernel.h).
 * The kernel's errno values (EUCLEAN, EOPNOTSUPP...) are the same as the
 * system's UAPI ones, which glibc's <errno.h> also reaches through this
 * name; so this only forwards to it.
 */
#include_next <linux/errno.h>
