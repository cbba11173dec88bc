/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/cpumask.h> (see usim_kernel.h):
 * USIM_NR_CPUS possible CPUs (see percpu.h).
 */
#ifndef _USIM_LINUX_CPUMASK_H
#define _USIM_LINUX_CPUMASK_H

#include <linux/percpu.h>

#define nr_cpu_ids	USIM_NR_CPUS

#endif
