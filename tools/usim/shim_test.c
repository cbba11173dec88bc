// SPDX-License-Identifier: GPL-2.0
/*
 * usim: check the shim's word-at-a-time bit searches and bitmap
 * operations (usim_lib.c) against naive bit-by-bit definitions, on random
 * bitmaps of random sizes (not multiples of 64 included), densities and
 * runs, for every start position.  Ends with "usim-shim: N passed,
 * M failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/log2.h>

#define MAXW	8
#define MAXB	(MAXW * BITS_PER_LONG)

static unsigned long passed, failed;
static uint64_t rs = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static int bit(const unsigned long *m, unsigned long i)
{
	return m[i / BITS_PER_LONG] >> (i % BITS_PER_LONG) & 1;
}

static void expect(bool ok, const char *what, unsigned long a,
		   unsigned long b, unsigned long c)
{
	if (ok) {
		passed++;
		return;
	}
	if (failed++ < 20)
		fprintf(stderr, "usim-shim: %s wrong (%lu %lu %lu)\n", what,
			a, b, c);
}

static void fill(unsigned long *m)
{
	unsigned int kind = rnd() % 4, i;

	for (i = 0; i < MAXW; i++) {
		switch (kind) {
		case 0: m[i] = rnd(); break;
		case 1: m[i] = rnd() & rnd() & rnd(); break;	/* sparse */
		case 2: m[i] = rnd() | rnd() | rnd(); break;	/* dense */
		default: m[i] = rnd() % 3 ? 0 : ~0UL; break;	/* runs */
		}
	}
}

static void one(void)
{
	unsigned long m[MAXW], m2[MAXW], ref[MAXW];
	unsigned long size = rnd() % (MAXB + 1), s, i, want, got;
	unsigned int w;

	fill(m);
	for (s = 0; s <= size + 2; s++) {
		for (want = s; want < size && !bit(m, want); want++)
			;
		if (s > size)
			want = size;
		got = find_next_bit(m, size, s);
		expect(got == want, "find_next_bit", size, s, got);
		for (want = s; want < size && bit(m, want); want++)
			;
		if (s > size)
			want = size;
		got = find_next_zero_bit(m, size, s);
		expect(got == want, "find_next_zero_bit", size, s, got);
	}
	for (want = 0; want < size && bit(m, want); want++)
		;
	expect(find_first_zero_bit(m, size) == want, "find_first_zero_bit",
	       size, want, 0);
	for (want = 0; want < size && !bit(m, want); want++)
		;
	expect(find_first_bit(m, size) == want, "find_first_bit", size, want,
	       0);
	for (want = size; want-- > 0 && !bit(m, want);)
		;
	if (want == ~0UL)
		want = size;
	expect(find_last_bit(m, size) == want, "find_last_bit", size, want, 0);

	for (w = 0, i = 0; i < size; i++)
		w += bit(m, i);
	expect(bitmap_weight(m, size) == w, "bitmap_weight", size, w, 0);

	fill(m2);
	for (i = 0; i < MAXW; i++)
		m2[i] |= m[i];
	if (rnd() % 2 && size)
		m2[(size - 1) / BITS_PER_LONG] &= ~(1UL << ((size - 1) % BITS_PER_LONG));
	for (want = 1, i = 0; i < size; i++)
		if (bit(m, i) && !bit(m2, i))
			want = 0;
	expect(bitmap_subset(m, m2, size) == want, "bitmap_subset", size,
	       want, 0);

	if (size) {
		unsigned long start = rnd() % size, n = rnd() % (size - start + 1);
		int set = rnd() % 2;

		memcpy(ref, m, sizeof(m));
		for (i = start; i < start + n; i++) {
			if (set)
				ref[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
			else
				ref[i / BITS_PER_LONG] &= ~(1UL << (i % BITS_PER_LONG));
		}
		memcpy(m2, m, sizeof(m));
		if (set)
			bitmap_set(m2, start, n);
		else
			bitmap_clear(m2, start, n);
		expect(!memcmp(m2, ref, sizeof(m2)),
		       set ? "bitmap_set" : "bitmap_clear", size, start, n);
	}

	memset(m2, 0x5a, sizeof(m2));
	bitmap_copy(m2, m, size);
	expect(!memcmp(m2, m, BITS_TO_LONGS(size) * sizeof(long)) &&
	       (size > MAXB - BITS_PER_LONG ||
		m2[BITS_TO_LONGS(size)] == 0x5a5a5a5a5a5a5a5aUL),
	       "bitmap_copy", size, 0, 0);

	/* The first aligned all-zero area at or after start, if any. */
	for (i = 0; i < 8; i++) {
		unsigned long nr = 1 + rnd() % (rnd() % 2 ? 4 : 80);
		unsigned long mask = (1UL << rnd() % 8) - 1;
		unsigned long off = rnd() % (mask + 1), start, p, j;

		start = size ? rnd() % (size + 1) : 0;
		want = ~0UL;
		for (p = start; p + nr <= size && want == ~0UL; p++) {
			if ((p + off) & mask)
				continue;
			for (j = p; j < p + nr && !bit(m, j); j++)
				;
			if (j == p + nr)
				want = p;
		}
		got = bitmap_find_next_zero_area_off(m, size, start, nr, mask,
						     off);
		/* not found: the kernel returns an end beyond size */
		expect(want == ~0UL ? got > size : got == want,
		       "bitmap_find_next_zero_area_off", size, start, got);
	}
}

int main(void)
{
	unsigned long i;

	for (i = 0; i < 20000; i++)
		one();
	expect(ilog2(1ULL) == 0 && ilog2(4096UL) == 12 &&
	       ilog2((u64)1 << 40) == 40 && ilog2(5U) == 2 &&
	       ilog2(0U) == -1, "ilog2", 0, 0, 0);
	expect(order_base_2(1UL) == 0 && order_base_2(2UL) == 1 &&
	       order_base_2(3UL) == 2 && order_base_2(4096UL) == 12 &&
	       order_base_2(4097UL) == 13, "order_base_2", 0, 0, 0);
	expect(is_power_of_2(1) && is_power_of_2(1UL << 63) &&
	       !is_power_of_2(0) && !is_power_of_2(3), "is_power_of_2", 0, 0,
	       0);
	expect(__ffs(8UL) == 3 && __fls(0x8100UL) == 15 && ffz(0xffUL) == 8 &&
	       fls(0) == 0 && fls(0x80000000U) == 32, "ffs/fls", 0, 0, 0);
	printf("usim-shim: %lu passed, %lu failed\n", passed, failed);
	return failed != 0;
}
