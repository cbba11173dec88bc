/* SPDX-License-Identifier: GPL-2.0 */
/*
 * freenos-mm KUnit: what the random and concurrent cases share.
 *
 * The seed: one per boot, the module parameter fnmm_kunit.seed (kunit.py
 * --kernel_args=fnmm_kunit.seed=N, or FNMM_SEED=N tools/kunit/run.sh);
 * 0, the default, picks one at random.  Every suite with random cases
 * prints it, and every failure message of a random case names it.
 *
 * The reference model: a bitmap of granules, 1 = held, kept by the test
 * beside the allocator; fnmm_model_fits() is the naive search a refused
 * request is checked against, fnmm_model_place() the one that says where
 * an allocator without per-CPU caches (FNMM_NO_PERCPU) places a request.
 */
#ifndef _FNMM_KUNIT_MODEL_H
#define _FNMM_KUNIT_MODEL_H

#include <kunit/test.h>
#include <linux/types.h>
#include "fnmm_alloc.h"

u32 fnmm_test_seed(void);
int fnmm_test_suite_seed(struct kunit_suite *suite);
void fnmm_test_pin_cpu(void);
bool fnmm_model_fits(const unsigned long *used, unsigned long nbits,
		     u64 base, u64 granule, unsigned long len, u64 align);
unsigned long fnmm_model_longest(const unsigned long *used,
				 unsigned long nbits);
long fnmm_model_place(const unsigned long *used, unsigned long nbits,
		      u64 base, u64 granule, unsigned long len, u64 align,
		      u64 origin);
void fnmm_model_random(struct kunit *test, struct fnmm_allocator *a,
		       u32 salt, unsigned int ops, unsigned long max_len,
		       unsigned long max_align, bool exact);
void fnmm_test_aligned_rule(struct kunit *test, struct fnmm_allocator *a,
			    u64 base);

#endif /* _FNMM_KUNIT_MODEL_H */
