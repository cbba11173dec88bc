/* SPDX-License-Identifier: GPL-2.0 */
/*
 * freenos-mm: an index of free runs over a bitmap of units (module/runs.c).
 *
 * Split and Bit keep one each, so that "is there a run of n free units,
 * and where is the first?" and "where is the first free aligned block of
 * 2^k units?" are answered in O(log units) instead of by a walk.  The
 * caller serializes every call on one index (the allocator's lock).
 */
#ifndef _FNMM_RUNS_H
#define _FNMM_RUNS_H

#include <linux/types.h>

#define FNMM_RUNS_NONE	((u32)~0U)
#define FNMM_RUNS_DIRTY	8	/* leaves whose ancestors may wait */

/**
 * struct fnmm_run_node - summary of the units under one node of the tree
 * @pre: free units at the start of the node
 * @suf: free units at the end of the node
 * @best: the longest run of free units inside the node
 * @order: 1 + the order of the largest fully free aligned block of units
 *	inside the node (aligned to its own size), or 0 if none is free
 */
struct fnmm_run_node {
	u32 pre;
	u32 suf;
	u32 best;
	u32 order;
};

/**
 * struct fnmm_runs - a free-unit bitmap and its tree of run summaries
 * @word: one bit per unit, 1 = free; unit i is bit i % 64 of word i / 64
 * @node: the tree in heap order: node 1 is the root, node j has children
 *	2j and 2j + 1, and @nleaves leaves (one per word) follow the
 *	@nleaves - 1 inner nodes
 * @nleaves: words, a power of two
 * @nunits: units that can be free; those above never are
 * @ndirty: leaves in @dirty
 * @dirty: leaves whose word changed since their node and its ancestors
 *	were last computed; every query brings them up to date first
 * @isdirty: one bit per leaf, set while it is in @dirty
 */
struct fnmm_runs {
	u64 *word;
	struct fnmm_run_node *node;
	unsigned long *isdirty;
	u32 nleaves;
	u32 nunits;
	u32 ndirty;
	u32 dirty[FNMM_RUNS_DIRTY];
};

int fnmm_runs_init(struct fnmm_runs *r, u32 nunits);
void fnmm_runs_fini(struct fnmm_runs *r);
void fnmm_runs_set(struct fnmm_runs *r, u32 i, u32 n, bool free);
u32 fnmm_runs_find(struct fnmm_runs *r, u64 n);
u32 fnmm_runs_find_block(struct fnmm_runs *r, unsigned int order);
u32 fnmm_runs_find_aligned(struct fnmm_runs *r, u64 n, unsigned int ao,
			   u32 *start);
u32 fnmm_runs_longest(struct fnmm_runs *r);
int fnmm_runs_check(struct fnmm_runs *r);

/**
 * fnmm_runs_free() - is a unit free
 * @r: the index
 * @i: the unit, below @r->nunits
 */
static inline bool fnmm_runs_free(const struct fnmm_runs *r, u32 i)
{
	return (r->word[i / 64] >> (i % 64)) & 1;
}

#endif /* _FNMM_RUNS_H */
