// SPDX-License-Identifier: GPL-2.0
/*
 * test_units: the pure helpers of libfnmm and of the tests; needs no
 * device, runs anywhere (make -C tools check).  Prints TAP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "common.h"

static void parse(const char *s, int want_ret, __u64 want)
{
	__u64 v = 0xdeadbeef;
	int ret = fnmm_parse_size(s, &v);
	char d[96];

	snprintf(d, sizeof(d), "ret %d value %llu", ret, (unsigned long long)v);
	tap(ret == want_ret && (ret || v == want), d, "parse \"%s\"", s);
}

static void format(__u64 v, const char *want)
{
	char buf[32];

	fnmm_format_size(v, buf, sizeof(buf));
	tap(!strcmp(buf, want), buf, "format %llu -> \"%s\"",
	    (unsigned long long)v, want);
}

static void access_str(__u32 a, const char *want)
{
	char buf[128];

	fnmm_format_access(a, buf, sizeof(buf));
	tap(!strcmp(buf, want), buf, "access 0x%x -> \"%s\"", a, want);
}

int main(void)
{
	struct fnmm_info a, b;
	char buf[256], small[8];
	size_t bad = 0;
	char *p;
	int ret;

	parse("0", 0, 0);
	parse("4096", 0, 4096);
	parse("4K", 0, 4096);
	parse("4k", 0, 4096);
	parse("4KiB", 0, 4096);
	parse("4kb", 0, 4096);
	parse("1M", 0, 1 << 20);
	parse("3G", 0, 3ULL << 30);
	parse("2T", 0, 2ULL << 40);
	parse("0x1000", 0, 4096);
	parse("0X10k", 0, 16 << 10);
	parse("100B", 0, 100);
	parse("010", 0, 10);
	parse("18446744073709551615", 0, ~0ULL);
	parse("18446744073709551616", -ERANGE, 0);
	parse("16777216T", -ERANGE, 0);
	parse("16777215T", 0, 16777215ULL << 40);
	parse("", -EINVAL, 0);
	parse("K", -EINVAL, 0);
	parse("0x", -EINVAL, 0);
	parse("-1", -EINVAL, 0);
	parse(" 1", -EINVAL, 0);
	parse("1 ", -EINVAL, 0);
	parse("1X", -EINVAL, 0);
	parse("1KK", -EINVAL, 0);
	parse("1iB", -EINVAL, 0);
	parse("1.5M", -EINVAL, 0);
	tap(fnmm_parse_size(NULL, (__u64 *)buf) == -EINVAL, NULL, "parse NULL");

	format(0, "0 B");
	format(1, "1 B");
	format(1023, "1023 B");
	format(1024, "1 KiB");
	format(1536, "1.5 KiB");
	format(4096, "4 KiB");
	format(1 << 20, "1 MiB");
	format((1 << 20) + (1 << 19), "1.5 MiB");
	format((1 << 20) - 1, "1.0 MiB");
	format((1 << 20) - 1024, "1023 KiB");
	format(1048575ULL * 1024, "1.0 GiB");
	format(64ULL << 20, "64 MiB");
	format(3ULL << 30, "3 GiB");
	format(5ULL << 40, "5 TiB");
	format(~0ULL, "16.0 EiB");
	format(1ULL << 60, "1 EiB");
	format(1100, "1.1 KiB");
	fnmm_format_size(123456789, small, sizeof(small));
	tap(strlen(small) == sizeof(small) - 1, small, "format truncates");

	access_str(0, "none");
	access_str(FNMM_ACCESS_DEFAULT, "readable|writable|user");
	access_str(FNMM_ACCESS_ALL, "readable|writable|executable|user|"
		   "uncached|inner-cached|outer-cached|device");
	access_str(FNMM_ACCESS_READABLE | 0x300, "readable|0x300");
	access_str(0x100, "0x100");
	fnmm_format_access(FNMM_ACCESS_ALL, small, sizeof(small));
	tap(strlen(small) < sizeof(small), small, "access truncates");

	tap(!strcmp(fnmm_alloc_name(FNMM_ALLOC_SPLIT), "split") &&
	    !strcmp(fnmm_alloc_name(FNMM_ALLOC_BIT), "bit") &&
	    !strcmp(fnmm_alloc_name(FNMM_ALLOC_POOL), "pool") &&
	    !strcmp(fnmm_alloc_name(FNMM_ALLOC_BUBBLE), "bubble") &&
	    !strcmp(fnmm_alloc_name(FNMM_ALLOC_BUBBLE + 1), "?") &&
	    !strcmp(fnmm_alloc_name(~0u), "?"), NULL, "allocator names");
	tap(fnmm_page_size() >= 4096 && !(fnmm_page_size() &
	    (fnmm_page_size() - 1)), NULL, "page size");

	tap(!strcmp(errname(-EINVAL), "EINVAL") && !strcmp(errname(0), "0") &&
	    !strcmp(errname(E2BIG), "E2BIG") && !strcmp(errname(-4095), "E4095"),
	    NULL, "errname");

	memset(&a, 0, sizeof(a));
	b = a;
	tap(!info_diff(&a, &b, buf, sizeof(buf)) && !buf[0], buf,
	    "info_diff: equal");
	b.alloc[FNMM_ALLOC_BIT].free = 4096;
	b.ctx_mappings = 2;
	b.version = 1;
	ret = info_diff(&a, &b, buf, sizeof(buf));
	tap(ret == 3 && !strcmp(buf, "version 0 -> 1; alloc[bit].free 0 -> "
				"4096; ctx_mappings 0 -> 2"), buf,
	    "info_diff: three fields named");
	b = a;
	b.exported_bytes = 1;
	tap(info_diff(&a, &b, buf, sizeof(buf)) == 1, buf,
	    "info_diff: covers the last field");
	b = a;
	b.alloc[FNMM_ALLOC_POOL].granule = 8;
	tap(info_diff(&a, &b, buf, sizeof(buf)) == 1 &&
	    !strcmp(buf, "alloc[pool].granule 0 -> 8"), buf,
	    "info_diff: alloc[pool].granule");

	p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!tap(p != MAP_FAILED, NULL, "mmap scratch"))
		return tap_done();
	tap(!pattern_fill(p, 4096, 5) && !pattern_check(p, 4096, 5, &bad), NULL,
	    "pattern: fill and check");
	ret = pattern_check(p, 4096, 6, &bad);
	tap(ret == 1, pattern_str(ret, bad), "pattern: another seed differs");
	p[100] ^= 1;
	ret = pattern_check(p, 4096, 5, &bad);
	tap(ret == 1 && bad == 100, pattern_str(ret, bad),
	    "pattern: a flipped byte is found");
	mprotect(p + 4096, 4096, PROT_NONE);
	ret = pattern_fill(p + 4000, 200, 7);
	tap(ret == -SIGSEGV, pattern_str(ret, 0), "pattern: write fault caught");
	ret = pattern_check(p + 4000, 200, 7, &bad);
	tap(ret == -SIGSEGV, pattern_str(ret, bad), "pattern: read fault caught");
	tap(probe_read(p) == 0 && probe_read(p + 4096) == -SIGSEGV, NULL,
	    "probe_read");
	mprotect(p + 4096, 4096, PROT_READ);
	tap(!pattern_fill(p, 4096, 8), NULL, "pattern: works after a fault");
	munmap(p, 2 * 4096);

	p = free_area(3 * 4096);
	tap(p && !((unsigned long)p & 4095) && probe_read(p) == -SIGSEGV, NULL,
	    "free_area: page-aligned and unmapped");
	return tap_done();
}
