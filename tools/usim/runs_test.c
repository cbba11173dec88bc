// SPDX-License-Identifier: GPL-2.0
/*
 * usim: module/runs.c (the free-run index) against a naive unit-by-unit
 * model: random sizes (1 unit to 2^17, not multiples of 64 included),
 * random ranges marked free or in use, and after every step
 * fnmm_runs_longest(), fnmm_runs_find() for lengths around every run,
 * fnmm_runs_find_block() for every order and fnmm_runs_check() compared
 * with what a walk of the model gives.  Each of the 300 indexes is one
 * test; ends with "usim-runs: N passed, M failed"; --seed S picks the
 * sequence (printed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <linux/errno.h>
#include "fnmm_runs.h"

static unsigned long passed, failed, checks, bad;
static uint64_t rs;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void expect(bool ok, const char *what, u64 a, u64 b, u64 c)
{
	checks++;
	if (ok)
		return;
	if (bad++ < 20)
		printf("not ok: %s: %llu got %llu want %llu\n", what,
		       (unsigned long long)a, (unsigned long long)b,
		       (unsigned long long)c);
}

static unsigned char *m;	/* 1 = free */
static u32 nu;

static u32 model_find(u64 n)
{
	u64 run = 0;
	u32 i;

	for (i = 0; i < nu; i++) {
		run = m[i] ? run + 1 : 0;
		if (run >= n)
			return i + 1 - n;
	}
	return FNMM_RUNS_NONE;
}

static u32 model_longest(void)
{
	u32 i, run = 0, best = 0;

	for (i = 0; i < nu; i++) {
		run = m[i] ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

static u32 model_block(unsigned int k)
{
	u64 p, j, b = 1ULL << k;

	for (p = 0; p + b <= nu; p += b) {
		for (j = 0; j < b && m[p + j]; j++)
			;
		if (j == b)
			return p;
	}
	return FNMM_RUNS_NONE;
}

static void verify(struct fnmm_runs *r)
{
	u32 best = model_longest(), n;
	unsigned int k;

	/* Sometimes a find or a block search is the first query. */
	if (rnd() % 2) {
		n = 1 + rnd() % (best + 2);
		expect(fnmm_runs_find(r, n) == model_find(n), "first find", n,
		       fnmm_runs_find(r, n), model_find(n));
	} else {
		k = rnd() % 8;
		expect(fnmm_runs_find_block(r, k) == model_block(k),
		       "first find_block", k, fnmm_runs_find_block(r, k),
		       model_block(k));
	}

	/* Queries first: each must bring the dirty leaves up to date. */
	expect(fnmm_runs_longest(r) == best, "longest", nu,
	       fnmm_runs_longest(r), best);
	for (n = 1; n <= best + 1; n = n < 70 ? n + 1 : n * 2 + rnd() % 3) {
		u32 got = fnmm_runs_find(r, n), want = model_find(n);

		expect(got == want, "find", n, got, want);
	}
	if (best)
		expect(fnmm_runs_find(r, best) == model_find(best),
		       "find best", best, fnmm_runs_find(r, best),
		       model_find(best));
	expect(fnmm_runs_find(r, 0) == FNMM_RUNS_NONE, "find 0", 0,
	       fnmm_runs_find(r, 0), 0);
	expect(fnmm_runs_find(r, best + 1ULL) == FNMM_RUNS_NONE,
	       "find best+1", best, fnmm_runs_find(r, best + 1ULL), 0);
	for (k = 0; k < 34; k++) {
		u32 got = fnmm_runs_find_block(r, k);
		u32 want = k < 32 ? model_block(k) : FNMM_RUNS_NONE;

		expect(got == want, "find_block", k, got, want);
	}
	expect(fnmm_runs_check(r) == 0, "check", nu, 0, 0);
}

int main(int argc, char **argv)
{
	u64 seed = argc > 2 && !strcmp(argv[1], "--seed") ?
		   strtoull(argv[2], NULL, 0) : 1;
	int t;

	printf("# usim-runs: seed %llu\n", (unsigned long long)seed);
	rs = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (t = 0; t < 300; t++) {
		unsigned long bad0 = bad;
		struct fnmm_runs r;
		int step, steps = 40;
		unsigned int shift = rnd() % 18;

		nu = 1 + rnd() % (1U << shift);
		m = calloc(nu, 1);
		expect(fnmm_runs_init(&r, nu) == 0, "init", nu, 0, 0);
		verify(&r);
		for (step = 0; step < steps; step++) {
			u32 i = rnd() % nu, n;
			bool free = rnd() % 3;

			switch (rnd() % 4) {
			case 0:
				n = 1;
				break;
			case 1:
				n = 1 + rnd() % 200;
				break;
			case 2:	/* an aligned block */
				n = 1U << (rnd() % (shift + 1));
				i &= ~(n - 1);
				break;
			default:
				n = 1 + rnd() % nu;
				break;
			}
			if (n > nu - i)
				n = nu - i;
			if (step == 0) {
				i = 0;
				n = nu;
				free = true;
			}
			fnmm_runs_set(&r, i, n, free);
			memset(m + i, free, n);
			if (nu <= 4096 || step % 8 == 0 || step == steps - 1)
				verify(&r);
		}
		expect(fnmm_runs_init(&r, 0) == -EINVAL, "init 0", 0, 0, 0);
		fnmm_runs_fini(&r);
		free(m);
		if (bad == bad0)
			passed++;
		else
			failed++;
	}
	printf("# %lu checks, %lu failed\n", checks, bad);
	printf("usim-runs: %lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
