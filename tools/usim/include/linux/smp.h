/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/smp.h> (see usim_kernel.h): "this
 * CPU" is usim_cpu (see percpu.h).
 */
#ifndef _USIM_LINUX_SMP_H
#define _USIM_LINUX_SMP_H

#include <linux/percpu.h>

#define raw_smp_processor_id()	(usim_cpu % USIM_NR_CPUS)

#endif
