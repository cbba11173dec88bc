// SPDX-License-Identifier: GPL-2.0
/*
 * "fnmm map": the region's occupancy as a picture, from debugfs
 * (/sys/kernel/debug/freenos-mm/map, root only): a terminal drawing and,
 * with --png FILE, a PNG image (one pixel per page, scaled), so that
 * fragmentation shows at a glance.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "map.h"

#define MAP_PATH	"/sys/kernel/debug/freenos-mm/map"

enum { FREE, SPLIT_USED, BIT_FREE, BIT_USED, NSTATES };

struct occ {
	unsigned long pages;		/* region pages (Split's granules) */
	unsigned char *state;		/* per page */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Read "NAME OFFSET GRANULE COUNT\nHEX\n" sections into @o. */
static int map_read(FILE *f, struct occ *o)
{
	unsigned long long off, gran;
	unsigned long n, i;
	char name[16];
	int c, seen = 0;

	while (fscanf(f, "%15s %llu %llu %lu", name, &off, &gran, &n) == 4) {
		int split = !strcmp(name, "split");
		unsigned long first = split ? 0 : off / 4096;

		if (split) {
			o->pages = n;
			o->state = calloc(n ? n : 1, 1);
			if (!o->state)
				return -ENOMEM;
		} else if (!o->state || gran != 4096 || first + n > o->pages) {
			return -EINVAL;
		}
		while ((c = fgetc(f)) == '\n' || c == ' ')
			;
		for (i = 0; i < n; i += 4) {
			int v = hexval(c), b;

			if (v < 0)
				return -EINVAL;
			for (b = 0; b < 4 && i + b < n; b++) {
				int used = v >> b & 1;
				unsigned char *s = &o->state[first + i + b];

				if (split)
					*s = used ? SPLIT_USED : FREE;
				else
					*s = used ? BIT_USED : BIT_FREE;
			}
			c = fgetc(f);
		}
		seen++;
	}
	return seen ? 0 : -EINVAL;
}

/* Free runs of Split (the Bit part counts as used by Split). */
static void map_summary(const struct occ *o)
{
	unsigned long cnt[NSTATES] = { 0 }, runs = 0, run = 0, best = 0, i;

	for (i = 0; i < o->pages; i++) {
		cnt[o->state[i]]++;
		if (o->state[i] == FREE) {
			if (!run++)
				runs++;
			if (run > best)
				best = run;
		} else {
			run = 0;
		}
	}
	printf("pages %lu: split used %lu, free %lu in %lu runs, largest free run %lu pages",
	       o->pages, cnt[SPLIT_USED], cnt[FREE], runs, best);
	if (cnt[FREE])
		printf(", fragmentation %.1f%%",
		       100.0 * (1.0 - (double)best / (double)cnt[FREE]));
	printf("\nbit part %lu pages: used %lu, free %lu\n",
	       cnt[BIT_FREE] + cnt[BIT_USED], cnt[BIT_USED], cnt[BIT_FREE]);
}

/* The majority state of pages [i, i + n), and whether it is mixed. */
static int cell_state(const struct occ *o, unsigned long i, unsigned long n,
		      int *mixed)
{
	unsigned long cnt[NSTATES] = { 0 }, j;
	int s, best = FREE, kinds = 0;

	for (j = i; j < i + n && j < o->pages; j++)
		cnt[o->state[j]]++;
	for (s = 0; s < NSTATES; s++) {
		if (cnt[s])
			kinds++;
		if (cnt[s] > cnt[best])
			best = s;
	}
	*mixed = kinds > 1;
	return best;
}

static void map_draw(const struct occ *o, unsigned int width)
{
	static const char full[NSTATES] = { '.', '#', '_', 'B' };
	static const char part[NSTATES] = { ',', '+', '_', 'b' };
	unsigned long per = (o->pages + width * 16UL - 1) / (width * 16UL);
	unsigned long i, col = 0;

	if (!per)
		per = 1;
	printf("one cell = %lu page%s; '.' free, '#' split used, '_' bit free, 'B' bit used (',' '+' 'b': mixed cell)\n",
	       per, per == 1 ? "" : "s");
	for (i = 0; i < o->pages; i += per) {
		int mixed, s = cell_state(o, i, per, &mixed);

		if (!col)
			printf("%8lx |", i * 4096);
		putchar(mixed ? part[s] : full[s]);
		if (++col == width) {
			puts("|");
			col = 0;
		}
	}
	if (col)
		printf("%*s|\n", (int)(width - col), "");
}

/* PNG writer: RGB, zlib "stored" blocks (no compression library). */
static uint32_t crc_table[256];

static uint32_t crc(uint32_t c, const unsigned char *p, size_t n)
{
	size_t i;
	int k;

	if (!crc_table[1])
		for (i = 0; i < 256; i++) {
			uint32_t v = i;

			for (k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320U ^ (v >> 1) : v >> 1;
			crc_table[i] = v;
		}
	c = ~c;
	for (i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static int chunk(FILE *f, const char *type, const unsigned char *d, size_t n)
{
	unsigned char h[8];
	uint32_t c;

	be32(h, n);
	memcpy(h + 4, type, 4);
	c = crc(0, h + 4, 4);
	c = crc(c, d, n);
	if (fwrite(h, 1, 8, f) != 8 || (n && fwrite(d, 1, n, f) != n))
		return -EIO;
	be32(h, c);
	return fwrite(h, 1, 4, f) == 4 ? 0 : -EIO;
}

static int png_write(const char *path, const unsigned char *rgb,
		     uint32_t w, uint32_t h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
					      0x1a, '\n' };
	size_t raw_len = (size_t)h * (1 + 3 * w), nblk, z_len, i, o;
	unsigned char ihdr[13], *raw, *z;
	uint32_t a = 1, b = 0;
	FILE *f;
	int ret;

	raw = malloc(raw_len);
	nblk = raw_len / 65535 + 1;
	z = malloc(2 + raw_len + 5 * nblk + 4);
	if (!raw || !z) {
		free(raw);
		free(z);
		return -ENOMEM;
	}
	for (i = 0; i < h; i++) {
		raw[i * (1 + 3 * w)] = 0;	/* filter: none */
		memcpy(raw + i * (1 + 3 * w) + 1, rgb + (size_t)i * 3 * w,
		       3 * w);
	}
	z[0] = 0x78;
	z[1] = 0x01;
	o = 2;
	for (i = 0; i < raw_len || !i; ) {
		size_t n = raw_len - i > 65535 ? 65535 : raw_len - i;

		z[o++] = i + n == raw_len;	/* BFINAL, BTYPE 00 */
		z[o++] = n & 0xff;
		z[o++] = n >> 8;
		z[o++] = ~n & 0xff;
		z[o++] = (~n >> 8) & 0xff;
		memcpy(z + o, raw + i, n);
		o += n;
		i += n;
		if (!n)
			break;
	}
	for (i = 0; i < raw_len; i++) {
		a = (a + raw[i]) % 65521;
		b = (b + a) % 65521;
	}
	be32(z + o, b << 16 | a);
	z_len = o + 4;

	be32(ihdr, w);
	be32(ihdr + 4, h);
	ihdr[8] = 8;	/* bit depth */
	ihdr[9] = 2;	/* RGB */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	f = fopen(path, "wb");
	ret = f ? 0 : -errno;
	if (!ret && fwrite(sig, 1, 8, f) != 8)
		ret = -EIO;
	if (!ret)
		ret = chunk(f, "IHDR", ihdr, 13);
	if (!ret)
		ret = chunk(f, "IDAT", z, z_len);
	if (!ret)
		ret = chunk(f, "IEND", NULL, 0);
	if (f && fclose(f) && !ret)
		ret = -errno;
	free(raw);
	free(z);
	return ret;
}

/* One cell per page (or per group of pages), 256 cells a row, scaled. */
static int map_png(const struct occ *o, const char *path)
{
	static const unsigned char color[NSTATES][3] = {
		{ 0xf4, 0xf4, 0xf4 },	/* free */
		{ 0x2f, 0x5f, 0xb3 },	/* split used */
		{ 0xd8, 0xd0, 0xc0 },	/* bit part, free */
		{ 0xe0, 0x80, 0x20 },	/* bit used */
	};
	unsigned long per = (o->pages + 65535) / 65536, cells, i;
	uint32_t cols = 256, rows, scale, w, h, x, y;
	unsigned char *rgb;
	int ret;

	if (!per)
		per = 1;
	cells = (o->pages + per - 1) / per;
	rows = (cells + cols - 1) / cols;
	scale = rows < 64 ? 4 : rows < 128 ? 2 : 1;
	w = cols * scale;
	h = rows * scale;
	rgb = calloc((size_t)w * h, 3);
	if (!rgb)
		return -ENOMEM;
	for (i = 0; i < cells; i++) {
		int mixed, s = cell_state(o, i * per, per, &mixed);

		for (y = 0; y < scale; y++)
			for (x = 0; x < scale; x++) {
				size_t px = ((size_t)(i / cols * scale + y) * w +
					     i % cols * scale + x) * 3;

				memcpy(rgb + px, color[s], 3);
			}
	}
	ret = png_write(path, rgb, w, h);
	free(rgb);
	if (!ret)
		printf("wrote %s: %ux%u, one cell = %lu page%s\n", path, w, h,
		       per, per == 1 ? "" : "s");
	return ret;
}

int cmd_map(int argc, char **argv)
{
	const char *png = NULL, *path = MAP_PATH;
	unsigned int width = 64;
	struct occ o = { 0 };
	FILE *f;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--png") && i + 1 < argc) {
			png = argv[++i];
		} else if (!strcmp(argv[i], "--width") && i + 1 < argc) {
			width = strtoul(argv[++i], NULL, 10);
			if (width < 8 || width > 1024) {
				fprintf(stderr, "fnmm map: width 8..1024\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			path = argv[++i];
		} else {
			fprintf(stderr, "usage: fnmm map [--width N] [--png FILE] [--from FILE]\n");
			return 2;
		}
	}
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "fnmm map: %s: %s (needs root and debugfs)\n",
			path, strerror(errno));
		return 1;
	}
	ret = map_read(f, &o);
	fclose(f);
	if (ret) {
		fprintf(stderr, "fnmm map: %s: unreadable map (%s)\n", path,
			strerror(-ret));
		free(o.state);
		return 1;
	}
	map_summary(&o);
	map_draw(&o, width);
	if (png) {
		ret = map_png(&o, png);
		if (ret)
			fprintf(stderr, "fnmm map: %s: %s\n", png,
				strerror(-ret));
	}
	free(o.state);
	return ret ? 1 : 0;
}
