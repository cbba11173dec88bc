/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/rcupdate.h> (see usim_kernel.h):
 * rcu_read_lock()/rcu_read_unlock() mark nothing, and kfree_rcu() frees
 * at once single-threaded.  With -DUSIM_THREADS a reader on another
 * thread may still hold the pointer, so kfree_rcu() puts it in a ring of
 * USIM_RCU_RING entries and frees the oldest when the ring is full (a
 * "grace period" far longer than any reader here); usim_rcu_barrier()
 * frees every one.
 */
#ifndef _USIM_LINUX_RCUPDATE_H
#define _USIM_LINUX_RCUPDATE_H

#include "../usim_kernel.h"

struct rcu_head {
	void *next;
};

#define rcu_read_lock()		do { } while (0)
#define rcu_read_unlock()	do { } while (0)

void usim_kfree_rcu(const void *p);
void usim_rcu_barrier(void);

#define kfree_rcu(p, field)	usim_kfree_rcu(p)

#endif
