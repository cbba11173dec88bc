/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/percpu.h> (see usim_kernel.h).
 *
 * USIM_NR_CPUS "CPUs": a per-CPU object is an array of that many, from
 * usim_alloc_percpu() (counted by the kmalloc shim, so failure injection
 * and leak counts cover it; 128-byte aligned), and
 * "this CPU" is usim_cpu, a thread-local index that a threaded benchmark
 * sets per thread (0 by default).
 */
#ifndef _USIM_LINUX_PERCPU_H
#define _USIM_LINUX_PERCPU_H

#include "../usim_kernel.h"
#include <linux/slab.h>

#define USIM_NR_CPUS	4

extern __thread unsigned int usim_cpu;

/*
 * Each CPU's copy on its own cache lines, as the kernel's per-CPU areas
 * are, so that threads on two CPUs share none.
 */
#define USIM_PCPU_STRIDE(size)	(((size) + 127) & ~(size_t)127)

#define __percpu
void *usim_alloc_percpu(size_t size);

#define alloc_percpu(type)	((type *)usim_alloc_percpu(USIM_NR_CPUS *	\
					USIM_PCPU_STRIDE(sizeof(type))))
#define free_percpu(p)		kvfree(p)
#define per_cpu_ptr(p, cpu)	((__typeof__(p))((char *)(p) +		\
				 (cpu) * USIM_PCPU_STRIDE(sizeof(*(p)))))
#define raw_cpu_ptr(p)		per_cpu_ptr(p, usim_cpu % USIM_NR_CPUS)
#define for_each_possible_cpu(cpu) \
	for ((cpu) = 0; (cpu) < USIM_NR_CPUS; (cpu)++)

#endif
