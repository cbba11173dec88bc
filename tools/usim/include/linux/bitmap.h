/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/bitmap.h> (see usim_kernel.h):
 * the bitmap operations module/bit.c and module/pool.c use.  The
 * kernel's inline fast paths for compile-time-constant arguments give the
 * same results as the out-of-line lib/bitmap.c versions in usim_lib.c,
 * which these call directly.
 */
#ifndef _USIM_LINUX_BITMAP_H
#define _USIM_LINUX_BITMAP_H

#include <string.h>
#include <linux/bitops.h>
#include <linux/slab.h>
#include <linux/find.h>

#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))
#define BITMAP_LAST_WORD_MASK(nbits) (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))

void __bitmap_set(unsigned long *map, unsigned int start, int len);
void __bitmap_clear(unsigned long *map, unsigned int start, int len);
unsigned int __bitmap_weight(const unsigned long *bitmap, unsigned int nbits);
bool __bitmap_subset(const unsigned long *bitmap1,
		     const unsigned long *bitmap2, unsigned int nbits);
unsigned long bitmap_find_next_zero_area_off(unsigned long *map,
					     unsigned long size,
					     unsigned long start,
					     unsigned int nr,
					     unsigned long align_mask,
					     unsigned long align_offset);

static inline unsigned long bitmap_find_next_zero_area(unsigned long *map,
						       unsigned long size,
						       unsigned long start,
						       unsigned int nr,
						       unsigned long align_mask)
{
	return bitmap_find_next_zero_area_off(map, size, start, nr,
					      align_mask, 0);
}

static inline void bitmap_zero(unsigned long *dst, unsigned int nbits)
{
	memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/* Copy whole words: the bits past @nbits in the last word come along. */
static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
			       unsigned int nbits)
{
	memcpy(dst, src, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/* Set bits [start, start + nbits). */
static inline void bitmap_set(unsigned long *map, unsigned int start,
			      unsigned int nbits)
{
	__bitmap_set(map, start, nbits);
}

/* Clear bits [start, start + nbits). */
static inline void bitmap_clear(unsigned long *map, unsigned int start,
				unsigned int nbits)
{
	__bitmap_clear(map, start, nbits);
}

/* Number of set bits among the first @nbits. */
static inline unsigned int bitmap_weight(const unsigned long *src,
					 unsigned int nbits)
{
	return __bitmap_weight(src, nbits);
}

/* Whether every bit set in @src1 (first @nbits) is set in @src2. */
static inline bool bitmap_subset(const unsigned long *src1,
				 const unsigned long *src2, unsigned int nbits)
{
	return __bitmap_subset(src1, src2, nbits);
}

/* dst = src1 & ~src2, the first @nbits (whole words, as the kernel's). */
static inline void bitmap_andnot(unsigned long *dst, const unsigned long *src1,
				 const unsigned long *src2, unsigned int nbits)
{
	unsigned int k;

	for (k = 0; k < BITS_TO_LONGS(nbits); k++)
		dst[k] = src1[k] & ~src2[k];
}

static inline unsigned long *bitmap_zalloc(unsigned int nbits, gfp_t flags)
{
	return kzalloc(BITS_TO_LONGS(nbits) * sizeof(unsigned long), flags);
}

static inline void bitmap_free(const unsigned long *bitmap)
{
	kfree(bitmap);
}

#endif
