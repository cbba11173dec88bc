// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm: look at and exercise /dev/freenos-mm from the command line.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../lib/libfnmm.h"
#include "map.h"

#define SZ	32	/* buffer for one formatted size */

static const char *prog = "fnmm";

/* The errors of the ABI in its own words (strerror(E2BIG) misleads). */
static const char *explain(int err)
{
	switch (-err) {
	case E2BIG:
		return "larger than the allocator can ever serve (E2BIG)";
	case ENOMEM:
		return "no free space fits it now (ENOMEM)";
	case EINVAL:
		return "invalid request: size 0 or alignment not a power of two"
		       " (EINVAL)";
	case ENOENT:
		return "no such allocation (ENOENT)";
	case EPERM:
		return "not permitted (EPERM)";
	default:
		return strerror(-err);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  info        region size, page size, ABI version (and the\n"
		"              region's physical base when privileged)\n"
		"  stat [--raw]\n"
		"              per-allocator statistics, contexts and mappings\n"
		"              (--raw: NAME VALUE lines, in bytes, for scripts)\n"
		"  alloc SIZE [--split|--bit|--pool] [--align N] [--hold-seconds N]\n"
		"        [--export]\n"
		"              reserve SIZE, show it, hold it until Enter/EOF\n"
		"              (or N seconds), then release it; --export also\n"
		"              makes it a dma-buf (fd shown, in\n"
		"              /sys/kernel/debug/dma_buf/bufinfo) for the hold\n"
		"  demo        reserve, map, use, inspect and release 1 MiB\n"
		"  map [--width N] [--png FILE]\n"
		"              draw the region's occupancy (root: reads debugfs)\n"
		"  help        this text\n"
		"\n"
		"Sizes are bytes, or take a K, M, G or T suffix (KiB, MiB, ...).\n",
		prog);
}

static int open_dev(void)
{
	int fd = fnmm_open();

	if (fd < 0)
		fprintf(stderr, "%s: %s: %s%s\n", prog, FNMM_DEVICE_PATH,
			strerror(-fd), fd == -ENOENT ?
			" (is the freenos-mm module loaded?)" : "");
	return fd;
}

static int get_info(int fd, struct fnmm_info *info)
{
	int ret = fnmm_info(fd, info);

	if (ret)
		fprintf(stderr, "%s: INFO: %s\n", prog, strerror(-ret));
	return ret;
}

/* "1.5 MiB (1572864 bytes)" */
static const char *human(__u64 bytes, char *buf, size_t len)
{
	char s[SZ];

	snprintf(buf, len, "%s (%llu bytes)", fnmm_format_size(bytes, s, SZ),
		 (unsigned long long)bytes);
	return buf;
}

/* Open the device, read Info, close: 0, or 1 (reported). */
static int read_info(struct fnmm_info *info)
{
	int fd = open_dev(), ret;

	if (fd < 0)
		return 1;
	ret = get_info(fd, info);
	close(fd);
	return ret ? 1 : 0;
}

static int cmd_info(void)
{
	struct fnmm_info info;
	char b[64];

	if (read_info(&info))
		return 1;
	printf("device:       %s\n", FNMM_DEVICE_PATH);
	printf("ABI version:  %u%s\n", info.version,
	       info.version == FNMM_ABI_VERSION ? "" :
	       " (this tool was built for another version)");
	printf("region:       %s\n", human(info.region_size, b, sizeof(b)));
	if (info.region_base)
		printf("phys base:    0x%llx\n",
		       (unsigned long long)info.region_base);
	printf("page size:    %s\n", human(info.page_size, b, sizeof(b)));
	return 0;
}

static const char * const alloc_desc[FNMM_NR_ALLOCATORS] = {
	[FNMM_ALLOC_SPLIT]	= "power-of-two page blocks",
	[FNMM_ALLOC_BIT]	= "one bit per page-sized chunk",
	[FNMM_ALLOC_POOL]	= "small objects, per-context pools",
};

static void print_stats(const struct fnmm_info *info)
{
	char b[64], l[64], g[SZ];
	unsigned int k;

	for (k = 0; k < FNMM_NR_ALLOCATORS; k++) {
		const struct fnmm_alloc_stats *s = &info->alloc[k];
		__u64 used = s->size >= s->free ? s->size - s->free : 0;

		printf("%s: %s, granule %s\n", fnmm_alloc_name(k),
		       alloc_desc[k], fnmm_format_size(s->granule, g, SZ));
		printf("  size         %s\n", human(s->size, b, sizeof(b)));
		printf("  free         %s\n", human(s->free, b, sizeof(b)));
		printf("  used         %s\n", human(used, b, sizeof(b)));
		printf("  largest      %s\n", human(s->largest, b, sizeof(b)));
		printf("  allocations  %llu\n",
		       (unsigned long long)s->allocations);
	}
	printf("contexts:      %llu open\n", (unsigned long long)info->contexts);
	printf("mappings:      %llu (all contexts)\n",
	       (unsigned long long)info->mappings);
	printf("this context:  %llu allocations, %s, %llu mappings\n",
	       (unsigned long long)info->ctx_allocations,
	       human(info->ctx_bytes, b, sizeof(b)),
	       (unsigned long long)info->ctx_mappings);
	printf("quarantine:    %s (scrub failed, kept out of use)\n",
	       human(info->quarantined, b, sizeof(b)));
	printf("pinned:        %s (released, still referenced by the kernel)\n",
	       human(info->pinned, b, sizeof(b)));
	printf("exported:      %llu dma-bufs keeping %s alive\n",
	       (unsigned long long)info->exported,
	       human(info->exported_bytes, b, sizeof(b)));
	printf("bubble:        %llu arenas, %s, %s handed out in %llu objects\n",
	       (unsigned long long)info->bubble_arenas,
	       human(info->bubble_bytes, b, sizeof(b)),
	       human(info->bubble_used, l, sizeof(l)),
	       (unsigned long long)info->bubble_objects);
	if (info->memlock_limit == ~0ULL)
		printf("locked memory: not limited\n");
	else
		printf("locked memory: %s of RLIMIT_MEMLOCK %s (this user)\n",
		       human(info->memlock_used, b, sizeof(b)),
		       human(info->memlock_limit, l, sizeof(l)));
}

/* One "NAME VALUE" line per counter, the device-wide ones (scripts). */
static void print_raw(const struct fnmm_info *info)
{
	unsigned int k;

	for (k = 0; k < FNMM_NR_ALLOCATORS; k++) {
		const struct fnmm_alloc_stats *s = &info->alloc[k];

		printf("%s_used %llu\n%s_allocations %llu\n", fnmm_alloc_name(k),
		       (unsigned long long)(s->size >= s->free ?
					    s->size - s->free : 0),
		       fnmm_alloc_name(k), (unsigned long long)s->allocations);
	}
	printf("contexts %llu\nmappings %llu\nquarantined %llu\npinned %llu\n",
	       (unsigned long long)info->contexts,
	       (unsigned long long)info->mappings,
	       (unsigned long long)info->quarantined,
	       (unsigned long long)info->pinned);
}

static int cmd_stat(int raw)
{
	struct fnmm_info info;

	if (read_info(&info))
		return 1;
	if (raw)
		print_raw(&info);
	else
		print_stats(&info);
	return 0;
}

static int parse_size_arg(const char *what, const char *s, __u64 *out)
{
	int ret = fnmm_parse_size(s, out);

	if (ret)
		fprintf(stderr, "%s: bad %s '%s': %s\n", prog, what, s,
			ret == -ERANGE ? "too large" : "not a size");
	return ret;
}

/* Wait for Enter or EOF on stdin, or @seconds (if >= 0). */
static void hold(long seconds)
{
	char c;

	if (seconds >= 0) {
		printf("holding for %ld s...\n", seconds);
		fflush(stdout);
		sleep(seconds);
		return;
	}
	printf("holding; press Enter (or send EOF) to release...\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
		;
}

static int cmd_alloc(int argc, char **argv)
{
	__u32 kind = FNMM_ALLOC_SPLIT;
	__u64 size = 0, align = 0;
	unsigned long secs;
	struct fnmm_vmctl r;
	const char *size_arg = NULL;
	long hold_secs = -1;
	char b[64];
	int fd, ret, i, exp = 0, dfd = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--split")) {
			kind = FNMM_ALLOC_SPLIT;
		} else if (!strcmp(argv[i], "--bit")) {
			kind = FNMM_ALLOC_BIT;
		} else if (!strcmp(argv[i], "--pool")) {
			kind = FNMM_ALLOC_POOL;
		} else if (!strcmp(argv[i], "--export")) {
			exp = 1;
		} else if (!strcmp(argv[i], "--align") && i + 1 < argc) {
			if (parse_size_arg("alignment", argv[++i], &align))
				return 2;
		} else if (!strcmp(argv[i], "--hold-seconds") && i + 1 < argc) {
			char *end;

			errno = 0;
			secs = strtoul(argv[++i], &end, 10);
			if (!isdigit((unsigned char)argv[i][0]) || *end ||
			    errno || secs > 100000000) {
				fprintf(stderr, "%s: bad --hold-seconds '%s'\n",
					prog, argv[i]);
				return 2;
			}
			hold_secs = (long)secs;
		} else if (argv[i][0] != '-' && !size_arg) {
			size_arg = argv[i];
		} else {
			fprintf(stderr, "%s alloc: unexpected argument '%s'\n",
				prog, argv[i]);
			return 2;
		}
	}
	if (!size_arg) {
		fprintf(stderr, "%s alloc: SIZE missing\n", prog);
		usage(stderr);
		return 2;
	}
	if (parse_size_arg("size", size_arg, &size))
		return 2;

	fd = open_dev();
	if (fd < 0)
		return 1;
	ret = fnmm_reserve(fd, size, 0, kind, align, &r);
	if (ret) {
		fprintf(stderr, "%s: ReserveMem %s from %s: %s\n", prog,
			human(size, b, sizeof(b)), fnmm_alloc_name(kind),
			explain(ret));
		close(fd);
		return 1;
	}
	printf("reserved %s from %s: handle 0x%llx\n",
	       human(r.range.size, b, sizeof(b)), fnmm_alloc_name(kind),
	       (unsigned long long)r.handle);
	if (r.range.phys)
		printf("  phys 0x%llx\n", (unsigned long long)r.range.phys);
	if (r.offset)
		printf("  offset %llu in its page\n",
		       (unsigned long long)r.offset);
	if (exp) {
		ret = fnmm_export(fd, r.handle, O_RDWR | O_CLOEXEC);
		if (ret < 0) {
			fprintf(stderr, "%s: Export 0x%llx: %s\n", prog,
				(unsigned long long)r.handle, explain(ret));
		} else {
			dfd = ret;
			printf("  exported: dma-buf fd %d (exporter freenos-mm)\n",
			       dfd);
		}
	}
	hold(hold_secs);
	if (dfd >= 0)
		close(dfd);
	ret = fnmm_release(fd, r.handle);
	if (ret)
		fprintf(stderr, "%s: Release 0x%llx: %s\n", prog,
			(unsigned long long)r.handle, explain(ret));
	else
		printf("released handle 0x%llx\n",
		       (unsigned long long)r.handle);
	close(fd);
	return ret ? 1 : 0;
}

/* The demo: each step prints one line and stops the demo on failure. */
static int step_no;

static void step(const char *what)
{
	printf("[%2d] %-36s ", ++step_no, what);
	fflush(stdout);
}

static int step_fail(int err)
{
	printf("FAILED: %s\n", explain(err));
	return 1;
}

static void show_stats(const char *when, const struct fnmm_info *i)
{
	char f[SZ], c[SZ];
	const struct fnmm_alloc_stats *s = &i->alloc[FNMM_ALLOC_SPLIT];

	printf("     stats %-6s split free %s (%llu bytes), %llu allocations; "
	       "context %llu allocations, %s, %llu mappings\n", when,
	       fnmm_format_size(s->free, f, SZ), (unsigned long long)s->free,
	       (unsigned long long)s->allocations,
	       (unsigned long long)i->ctx_allocations,
	       fnmm_format_size(i->ctx_bytes, c, SZ),
	       (unsigned long long)i->ctx_mappings);
}

static __u64 demo_word(size_t i)
{
	return (__u64)i * 0x9e3779b97f4a7c15ULL ^ 0xfeedfacecafef00dULL;
}

static int demo(int fd)
{
	const __u64 size = 1 << 20, pg = fnmm_page_size();
	struct fnmm_info start, mapped, end;
	struct fnmm_vmctl r, m, l;
	volatile __u64 *p;
	char b[64], acc[96];
	size_t i, n = size / sizeof(__u64);
	int ret;

	step("Info (stats before)");
	ret = fnmm_info(fd, &start);
	if (ret)
		return step_fail(ret);
	printf("ok\n");
	show_stats("start", &start);

	step("ReserveMem 1 MiB from split");
	ret = fnmm_reserve(fd, size, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (ret)
		return step_fail(ret);
	printf("ok: handle 0x%llx, %s\n", (unsigned long long)r.handle,
	       human(r.range.size, b, sizeof(b)));

	step("MapContiguous (kernel picks virt)");
	ret = fnmm_map_contiguous(fd, r.handle, 0, r.range.size,
				  FNMM_ACCESS_DEFAULT, 0, 0, &m);
	if (ret)
		return step_fail(ret);
	printf("ok: virt 0x%llx, %s\n", (unsigned long long)m.range.virt,
	       human(m.range.size, b, sizeof(b)));

	step("write a pattern, read it back");
	p = fnmm_ptr(m.range.virt);
	for (i = 0; i < n; i++)
		p[i] = demo_word(i);
	for (i = 0; i < n; i++)
		if (p[i] != demo_word(i))
			break;
	if (i < n) {
		printf("FAILED: mismatch at byte %zu\n", i * sizeof(__u64));
		return 1;
	}
	printf("ok: %llu bytes\n", (unsigned long long)size);

	step("LookupVirtual (first and last page)");
	ret = fnmm_lookup(fd, m.range.virt, &l);
	if (ret == -EPERM) {
		printf("ok: phys hidden (need CAP_SYS_ADMIN)\n");
	} else if (ret) {
		return step_fail(ret);
	} else {
		__u64 first = l.range.phys;

		ret = fnmm_lookup(fd, m.range.virt + size - pg, &l);
		if (ret)
			return step_fail(ret);
		printf("ok: phys 0x%llx .. 0x%llx\n",
		       (unsigned long long)first,
		       (unsigned long long)(l.range.phys + pg - 1));
		if (l.range.phys != first + size - pg) {
			printf("     FAILED: last page is not first + %llu\n",
			       (unsigned long long)(size - pg));
			return 1;
		}
		if (start.region_base && (first < start.region_base ||
		    first - start.region_base > start.region_size - size)) {
			printf("     FAILED: outside the region 0x%llx+0x%llx\n",
			       (unsigned long long)start.region_base,
			       (unsigned long long)start.region_size);
			return 1;
		}
	}

	step("Access");
	ret = fnmm_access(fd, m.range.virt, &l);
	if (ret)
		return step_fail(ret);
	printf("ok: %s, %s left\n",
	       fnmm_format_access(l.range.access, acc, sizeof(acc)),
	       fnmm_format_size(l.range.size, b, sizeof(b)));

	step("CacheCleanInvalidate");
	ret = fnmm_cache_clean_invalidate(fd, m.range.virt, size);
	if (ret)
		return step_fail(ret);
	printf("ok\n");

	step("Info (stats while mapped)");
	ret = fnmm_info(fd, &mapped);
	if (ret)
		return step_fail(ret);
	if (start.alloc[FNMM_ALLOC_SPLIT].free -
	    mapped.alloc[FNMM_ALLOC_SPLIT].free != size ||
	    mapped.ctx_allocations != start.ctx_allocations + 1 ||
	    mapped.ctx_mappings != start.ctx_mappings + 1) {
		printf("FAILED: expected split free -1 MiB, +1 allocation, "
		       "+1 mapping\n");
		show_stats("mapped", &mapped);
		return 1;
	}
	printf("ok: split free -1 MiB, +1 allocation, +1 mapping\n");
	show_stats("mapped", &mapped);

	step("UnMap");
	ret = fnmm_unmap(fd, m.range.virt, m.range.size);
	if (ret)
		return step_fail(ret);
	printf("ok\n");

	step("Release");
	ret = fnmm_release(fd, r.handle);
	if (ret)
		return step_fail(ret);
	printf("ok\n");

	step("Info (stats after)");
	ret = fnmm_info(fd, &end);
	if (ret)
		return step_fail(ret);
	if (memcmp(&start.alloc[FNMM_ALLOC_SPLIT], &end.alloc[FNMM_ALLOC_SPLIT],
		   sizeof(start.alloc[0])) || start.mappings != end.mappings ||
	    start.ctx_allocations != end.ctx_allocations ||
	    start.ctx_bytes != end.ctx_bytes ||
	    start.ctx_mappings != end.ctx_mappings) {
		printf("FAILED: not back to the start\n");
		show_stats("end", &end);
		return 1;
	}
	printf("ok: back to the start\n");
	show_stats("end", &end);
	return 0;
}

static int cmd_demo(void)
{
	int fd, ret;

	printf("freenos-mm demo on %s\n", FNMM_DEVICE_PATH);
	fd = open_dev();
	if (fd < 0)
		return 1;
	ret = demo(fd);
	close(fd);
	printf(ret ? "demo FAILED (closing the device released the rest)\n" :
	       "demo passed\n");
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";

	if (!strcmp(cmd, "info") && argc == 2)
		return cmd_info();
	if (!strcmp(cmd, "stat") && argc == 2)
		return cmd_stat(0);
	if (!strcmp(cmd, "stat") && argc == 3 && !strcmp(argv[2], "--raw"))
		return cmd_stat(1);
	if (!strcmp(cmd, "alloc"))
		return cmd_alloc(argc - 1, argv + 1);
	if (!strcmp(cmd, "demo") && argc == 2)
		return cmd_demo();
	if (!strcmp(cmd, "map"))
		return cmd_map(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "%s: unknown command or arguments: %s\n", prog, cmd);
	usage(stderr);
	return 2;
}
