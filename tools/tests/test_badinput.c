// SPDX-License-Identifier: GPL-2.0
/*
 * test_badinput: every bad input of every ioctl and of mmap, each one a
 * test case: the call must fail with the expected errno, and INFO must be
 * the same, field for field, before and after it.  Prints TAP.
 *
 * Three kinds of cases, all from tables:
 *   - generic: each mutation of a valid request (argsz, flags, access,
 *     reserved, user pointers) applied to every operation;
 *   - specific: requests built from symbolic handles/addresses/sizes;
 *   - mmap: mmap, mprotect and mremap misuse.
 * A case that fails rebuilds the fixture so that it does not spoil the
 * cases after it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "common.h"

#define RWU	FNMM_ACCESS_DEFAULT
#define RU	(FNMM_ACCESS_READABLE | FNMM_ACCESS_USER)
#define RXU	(RU | FNMM_ACCESS_EXECUTABLE)

static int fd = -1, fd2 = -1;
static __u64 pg;
static struct fnmm_info info0;

/*
 * The fixture.  On fd: @map (split, 2 pages) mapped between two
 * PROT_NONE anonymous guard pages; @spare (split, 4 pages), @ro (1 page,
 * Readable|User), @cut (4 pages with page 1 released: not contiguous) and
 * @pool (a Pool object), all unmapped; @dead, a released handle.  On fd2:
 * @other, mapped there, whose handle is none of fd's.
 */
static struct {
	char *guard;		/* guard page, map, guard page */
	char *map;
	__u64 map_h, map_sz;
	__u64 spare_h, spare_sz;
	__u64 ro_h, cut_h, pool_h, dead_h;
	__u64 other_h, other_sz;
	char *other;
	__u64 unknown_h;	/* nobody's handle */
	int ok;
} fx;

static int fixture_fail(const char *what, int err)
{
	char d[96];

	snprintf(d, sizeof(d), "%s: %s", what, errname(err));
	tap(0, d, "fixture");
	return -1;
}

static int fx_known(__u64 h)
{
	return h == fx.map_h || h == fx.spare_h || h == fx.ro_h ||
	       h == fx.cut_h || h == fx.pool_h || h == fx.dead_h;
}

static int fixture_setup(void)
{
	struct fnmm_vmctl r;
	int ret, i;

	memset(&fx, 0, sizeof(fx));
	fd = fnmm_open();
	if (fd < 0)
		return fixture_fail("open", fd);
	fd2 = fnmm_open();
	if (fd2 < 0)
		return fixture_fail("open second", fd2);

	fx.map_sz = 2 * pg;
	fx.guard = mmap(NULL, fx.map_sz + 2 * pg, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fx.guard == MAP_FAILED)
		return fixture_fail("guard mmap", -errno);
	fx.map = fx.guard + pg;
	munmap(fx.map, fx.map_sz);
	ret = fnmm_map_contiguous(fd, 0, fnmm_addr(fx.map), fx.map_sz, 0,
				  FNMM_ALLOC_SPLIT, 0, &r);
	if (ret)
		return fixture_fail("MapContiguous", ret);
	fx.map_h = r.handle;
	if (r.range.virt != fnmm_addr(fx.map))
		return fixture_fail("MapContiguous: wrong virt", 0);

	ret = fnmm_reserve(fd, 4 * pg, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (ret)
		return fixture_fail("reserve spare", ret);
	fx.spare_h = r.handle;
	fx.spare_sz = r.range.size;
	ret = fnmm_reserve(fd, pg, RU, FNMM_ALLOC_SPLIT, 0, &r);
	if (ret)
		return fixture_fail("reserve read-only", ret);
	fx.ro_h = r.handle;
	ret = fnmm_reserve(fd, 4 * pg, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (ret)
		return fixture_fail("reserve cut", ret);
	fx.cut_h = r.handle;
	ret = fnmm_release_sections(fd, fx.cut_h, pg, pg);
	if (ret)
		return fixture_fail("release section of cut", ret);
	ret = fnmm_reserve(fd, 64, 0, FNMM_ALLOC_POOL, 0, &r);
	if (ret)
		return fixture_fail("reserve pool", ret);
	fx.pool_h = r.handle;
	ret = fnmm_reserve(fd, pg, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (ret)
		return fixture_fail("reserve dead", ret);
	fx.dead_h = r.handle;
	ret = fnmm_release(fd, fx.dead_h);
	if (ret)
		return fixture_fail("release dead", ret);

	/* Handles may be per file: find one of fd2's that fd does not have. */
	for (i = 0; i < 64; i++) {
		ret = fnmm_reserve(fd2, pg, 0, FNMM_ALLOC_SPLIT, 0, &r);
		if (ret)
			return fixture_fail("reserve on the second file", ret);
		if (!fx_known(r.handle))
			break;
	}
	if (fx_known(r.handle))
		return fixture_fail("no distinct handle on the second file", 0);
	fx.other_h = r.handle;
	fx.other_sz = r.range.size;
	fx.other = fnmm_mmap(fd2, fx.other_h, fx.other_sz,
			     PROT_READ | PROT_WRITE);
	if (fx.other == MAP_FAILED)
		return fixture_fail("mmap on the second file", -errno);

	fx.unknown_h = (1ULL << 19) * pg;
	while (fx_known(fx.unknown_h) || fx.unknown_h == fx.other_h)
		fx.unknown_h += pg;
	fx.ok = 1;
	return 0;
}

static void fixture_teardown(void)
{
	if (fx.guard && fx.guard != MAP_FAILED)
		munmap(fx.guard, fx.map_sz + 2 * pg);
	if (fx.other && fx.other != MAP_FAILED)
		munmap(fx.other, fx.other_sz);
	unmap_all_fnmm();	/* and whatever a failed case left mapped */
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	fd = fd2 = -1;
	fx.ok = 0;
}

/* The case runner. */
struct want {
	int n;
	int err[3];	/* acceptable results: 0 or -errno */
};

#define W(e)		{ 1, { -(e) } }
#define W2(a, b)	{ 2, { -(a), -(b) } }
#define W3(a, b, c)	{ 3, { -(a), -(b), -(c) } }
#define WANT_OK		{ 1, { 0 } }

static struct fnmm_info before, after;
static int began, ended;
static char detail[256];

/* A case with setup of its own calls these around the bad call. */
static void case_begin(void)
{
	began = !fnmm_info(fd, &before);
}

static void case_end(void)
{
	ended = !fnmm_info(fd, &after);
}

static void run_case(const char *name, int (*fn)(const void *), const void *arg,
		     const struct want *w)
{
	char d[512], want[48];
	int ret, i, match = 0, n = 0;

	if (!fx.ok) {
		tap(0, "no fixture", "%s", name);
		return;
	}
	detail[0] = '\0';
	began = ended = 0;
	case_begin();
	ret = fn(arg);
	if (!ended)
		case_end();
	for (i = 0; i < w->n; i++) {
		match |= ret == w->err[i];
		n += snprintf(want + n, sizeof(want) - n, "%s%s", i ? "/" : "",
			      errname(w->err[i]));
	}
	if (!began || !ended) {
		snprintf(d, sizeof(d), "INFO failed");
		match = 0;
	} else if (!match) {
		snprintf(d, sizeof(d), "got %s, want %s%s%s", errname(ret), want,
			 detail[0] ? "; " : "", detail);
	} else {
		n = snprintf(d, sizeof(d), "%s but stats changed: ",
			     errname(ret));
		if (info_diff(&before, &after, d + n, sizeof(d) - n))
			match = 0;
		else
			d[0] = '\0';
	}
	if (!tap(match, d, "%s: %s", name, want)) {
		fixture_teardown();
		fixture_setup();
	}
}

/* Generic mutations of a valid request, applied to every operation. */
enum op {
	OP_RESERVE, OP_MAPC, OP_MAPS, OP_UNMAP, OP_RELEASE, OP_RELSEC,
	OP_LOOKUP, OP_ACCESS, OP_CLEAN, OP_INVAL, OP_CLEANINV, NR_OPS
};

static const struct {
	const char *name;
	unsigned long cmd;
	int replies;	/* writes a reply back */
} ops[NR_OPS] = {
	[OP_RESERVE]	= { "ReserveMem", FNMM_IOC_RESERVE_MEM, 1 },
	[OP_MAPC]	= { "MapContiguous", FNMM_IOC_MAP_CONTIGUOUS, 1 },
	[OP_MAPS]	= { "MapSparse", FNMM_IOC_MAP_SPARSE, 1 },
	[OP_UNMAP]	= { "UnMap", FNMM_IOC_UNMAP, 0 },
	[OP_RELEASE]	= { "Release", FNMM_IOC_RELEASE, 0 },
	[OP_RELSEC]	= { "ReleaseSections", FNMM_IOC_RELEASE_SECTIONS, 0 },
	[OP_LOOKUP]	= { "LookupVirtual", FNMM_IOC_LOOKUP_VIRTUAL, 1 },
	[OP_ACCESS]	= { "Access", FNMM_IOC_ACCESS, 1 },
	[OP_CLEAN]	= { "CacheClean", FNMM_IOC_CACHE_CLEAN, 0 },
	[OP_INVAL]	= { "CacheInvalidate", FNMM_IOC_CACHE_INVALIDATE, 0 },
	[OP_CLEANINV]	= { "CacheCleanInvalidate",
			    FNMM_IOC_CACHE_CLEAN_INVALIDATE, 0 },
};

/* A request of @op that would succeed. */
static void base_req(enum op op, struct fnmm_vmctl *a)
{
	memset(a, 0, sizeof(*a));
	a->argsz = sizeof(*a);
	switch (op) {
	case OP_RESERVE:
		a->range.size = pg;
		break;
	case OP_MAPC:
	case OP_MAPS:
		a->range.size = 2 * pg;
		break;
	case OP_UNMAP:
	case OP_CLEAN:
	case OP_INVAL:
	case OP_CLEANINV:
		a->range.virt = fnmm_addr(fx.map);
		a->range.size = fx.map_sz;
		break;
	case OP_RELEASE:
		a->handle = fx.spare_h;
		break;
	case OP_RELSEC:
		a->handle = fx.spare_h;
		a->range.size = pg;
		break;
	case OP_LOOKUP:
	case OP_ACCESS:
		a->range.virt = fnmm_addr(fx.map);
		break;
	default:
		break;
	}
}

enum mut {
	M_ARGSZ0, M_ARGSZ4, M_ARGSZ_SMALL, M_TAIL_FIRST, M_TAIL_LAST,
	M_FLAGS_HI, M_FLAGS_4, M_ACCESS_100, M_ACCESS_HI, M_PAD, M_RES0,
	M_RES1, M_NULL, M_ONE, M_UNMAPPED, M_STRADDLE, M_RO, NR_MUTS
};

static const struct {
	const char *name;
	struct want want;
	int info;	/* applies to INFO as well */
} muts[NR_MUTS] = {
	[M_ARGSZ0]	= { "argsz 0", W(EINVAL), 1 },
	[M_ARGSZ4]	= { "argsz 4 (argsz alone)", W(EINVAL), 1 },
	[M_ARGSZ_SMALL]	= { "argsz one byte short", W(EINVAL), 1 },
	[M_TAIL_FIRST]	= { "argsz bigger, first tail byte set", W(E2BIG), 1 },
	[M_TAIL_LAST]	= { "argsz bigger, last tail byte set", W(E2BIG), 1 },
	[M_FLAGS_HI]	= { "flags bit 31", W(EINVAL), 0 },
	[M_FLAGS_4]	= { "flags bit 2", W(EINVAL), 0 },
	[M_ACCESS_100]	= { "access bit 8", W(EINVAL), 0 },
	[M_ACCESS_HI]	= { "access bit 31", W(EINVAL), 0 },
	[M_PAD]		= { "range.pad set", W(EINVAL), 0 },
	[M_RES0]	= { "reserved[0] set", W(EINVAL), 0 },
	[M_RES1]	= { "reserved[1] set", W(EINVAL), 0 },
	[M_NULL]	= { "NULL argument", W(EFAULT), 1 },
	[M_ONE]		= { "argument (void *)1", W(EFAULT), 1 },
	[M_UNMAPPED]	= { "argument in an unmapped page", W(EFAULT), 1 },
	[M_STRADDLE]	= { "argument runs into an unmapped page", W(EFAULT), 1 },
	[M_RO]		= { "argument in a read-only page (reply fails)",
			    W(EFAULT), 1 },
};

struct gen_arg {
	int info;	/* INFO rather than a VMCtl operation */
	enum op op;
	enum mut mut;
};

#define TAIL	64

/*
 * Issue @size bytes of @req (argsz already set as wanted) through memory
 * placed as the mutation asks.
 */
static int issue(unsigned long cmd, enum mut mut, const void *req, size_t size)
{
	char *page, *p;
	int ret;

	switch (mut) {
	case M_NULL:
		return fnmm_ioctl_raw(fd, cmd, NULL);
	case M_ONE:
		return fnmm_ioctl_raw(fd, cmd, (void *)1);
	case M_UNMAPPED:
		page = free_area(pg);
		return fnmm_ioctl_raw(fd, cmd, page);
	case M_STRADDLE:
		/* argsz and flags readable, the rest in the next page. */
		page = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			return -errno;
		munmap(page + pg, pg);
		p = page + pg - 8;
		memcpy(p, req, 8);
		ret = fnmm_ioctl_raw(fd, cmd, p);
		munmap(page, pg);
		return ret;
	case M_RO:
		page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			return -errno;
		memcpy(page, req, size);
		mprotect(page, pg, PROT_READ);
		ret = fnmm_ioctl_raw(fd, cmd, page);
		munmap(page, pg);
		return ret;
	default:
		return fnmm_ioctl_raw(fd, cmd, (void *)req);
	}
}

static int run_generic(const void *p)
{
	const struct gen_arg *g = p;
	union {
		struct fnmm_vmctl v;
		struct fnmm_info i;
	} u;
	struct {
		union {
			struct fnmm_vmctl v;
			struct fnmm_info i;
		} s;
		unsigned char tail[TAIL];
	} big;
	size_t size = g->info ? sizeof(u.i) : sizeof(u.v);
	unsigned long cmd = g->info ? FNMM_IOC_INFO : ops[g->op].cmd;

	memset(&u, 0, sizeof(u));
	if (g->info)
		u.i.argsz = sizeof(u.i);
	else
		base_req(g->op, &u.v);

	switch (g->mut) {
	case M_ARGSZ0:
		u.v.argsz = 0;
		break;
	case M_ARGSZ4:
		u.v.argsz = 4;
		break;
	case M_ARGSZ_SMALL:
		/* One byte short of the smallest size the kernel takes. */
		u.v.argsz = (g->info ? FNMM_INFO_SIZE_VER0 :
			     FNMM_VMCTL_SIZE_VER0) - 1;
		break;
	case M_TAIL_FIRST:
	case M_TAIL_LAST:
		memset(&big, 0, sizeof(big));
		memcpy(&big, &u, size);
		big.s.v.argsz = size + TAIL;
		/* The tail starts right after the struct as we know it. */
		((unsigned char *)&big)[size + (g->mut == M_TAIL_FIRST ?
						0 : TAIL - 1)] = 1;
		return fnmm_ioctl_raw(fd, cmd, &big);
	case M_FLAGS_HI:
		u.v.flags = 1U << 31;
		break;
	case M_FLAGS_4:
		u.v.flags = 1U << 2;
		break;
	case M_ACCESS_100:
		u.v.range.access = 0x100;
		break;
	case M_ACCESS_HI:
		u.v.range.access = 1U << 31;
		break;
	case M_PAD:
		u.v.range.pad = 1;
		break;
	case M_RES0:
		u.v.reserved[0] = 1;
		break;
	case M_RES1:
		u.v.reserved[1] = 1ULL << 63;
		break;
	default:
		break;
	}
	return issue(cmd, g->mut, &u, size);
}

static void run_generics(void)
{
	struct gen_arg g;
	char name[128];
	int op, mut;

	for (op = 0; op < NR_OPS; op++) {
		for (mut = 0; mut < NR_MUTS; mut++) {
			if (mut == M_RO && !ops[op].replies)
				continue;
			g = (struct gen_arg){ 0, op, mut };
			snprintf(name, sizeof(name), "%s: %s", ops[op].name,
				 muts[mut].name);
			run_case(name, run_generic, &g, &muts[mut].want);
		}
	}
	for (mut = 0; mut < NR_MUTS; mut++) {
		if (!muts[mut].info)
			continue;
		g = (struct gen_arg){ 1, 0, mut };
		snprintf(name, sizeof(name), "Info: %s", muts[mut].name);
		run_case(name, run_generic, &g, &muts[mut].want);
	}
}

/* Unknown ioctl numbers. */
struct cmd_case {
	const char *name;
	unsigned long cmd;
};

static const struct cmd_case cmd_cases[] = {
	{ "ioctl nr 0", _IO(FNMM_IOC_MAGIC, 0) },
	{ "ioctl nr 14", _IO(FNMM_IOC_MAGIC, 14) },
	{ "ioctl nr 255", _IO(FNMM_IOC_MAGIC, 255) },
	{ "ioctl of another magic", _IO(FNMM_IOC_MAGIC - 1, 12) },
	{ "INFO's nr as _IOWR", _IOWR(FNMM_IOC_MAGIC, 12, struct fnmm_info) },
	{ "Access's nr as _IOR", _IOR(FNMM_IOC_MAGIC, 8, struct fnmm_vmctl) },
};

static int run_cmd(const void *p)
{
	const struct cmd_case *c = p;
	union {
		struct fnmm_vmctl v;
		struct fnmm_info i;
	} u;

	/* A valid INFO / Access request, harmless were it accepted. */
	memset(&u, 0, sizeof(u));
	if (_IOC_NR(c->cmd) == 8)
		base_req(OP_ACCESS, &u.v);
	else
		u.i.argsz = sizeof(u.i);
	return fnmm_ioctl_raw(fd, c->cmd, &u);
}

/* Requests built from symbolic values, resolved against the fixture. */
enum hsrc { H_0, H_MAP, H_SPARE, H_RO, H_CUT, H_POOL, H_DEAD, H_OTHER,
	    H_UNKNOWN, H_MISALIGNED };
enum vsrc { V_0, V_MAP, V_MAP1, V_MAP_M1, V_GUARD, V_HOLE, V_HOLE1, V_OTHER,
	    V_TOP };
enum ssrc { S_0, S_PG, S_2PG, S_PG1, S_MAP, S_MAP_P1, S_OTHER, S_REGION_P1,
	    S_BIT_P1, S_ONES, S_ONES_PG, S_WRAP, S_64, S_ALLOC };
enum osrc { O_0, O_1, O_PG, O_3PG, O_END, O_WRAP };

struct vcase {
	const char *name;
	enum op op;
	__u32 flags;
	enum hsrc h;
	enum vsrc v;
	enum ssrc s;
	enum osrc o;
	__u32 access;
	__u64 align;
	struct want want;
};

static __u64 hval(enum hsrc h)
{
	switch (h) {
	case H_MAP:		return fx.map_h;
	case H_SPARE:		return fx.spare_h;
	case H_RO:		return fx.ro_h;
	case H_CUT:		return fx.cut_h;
	case H_POOL:		return fx.pool_h;
	case H_DEAD:		return fx.dead_h;
	case H_OTHER:		return fx.other_h;
	case H_UNKNOWN:		return fx.unknown_h;
	case H_MISALIGNED:	return fx.spare_h + 1;
	default:		return 0;
	}
}

static __u64 vval(enum vsrc v)
{
	switch (v) {
	case V_MAP:	return fnmm_addr(fx.map);
	case V_MAP1:	return fnmm_addr(fx.map) + 1;
	case V_MAP_M1:	return fnmm_addr(fx.map) - pg;
	case V_GUARD:	return fnmm_addr(fx.guard);
	/* Free now; nothing maps between here and the call. */
	case V_HOLE:	return fnmm_addr(free_area(16 * pg));
	case V_HOLE1:	return fnmm_addr(free_area(16 * pg)) + 1;
	case V_OTHER:	return fnmm_addr(fx.other);
	case V_TOP:	return -pg;
	default:	return 0;
	}
}

/* S_ALLOC: the size of the allocation a map case names. */
static __u64 sval(enum ssrc s, __u64 virt, enum hsrc h)
{
	switch (s) {
	case S_ALLOC:		return h == H_SPARE || h == H_CUT ?
				       fx.spare_sz : pg;
	case S_PG:		return pg;
	case S_2PG:		return 2 * pg;
	case S_PG1:		return pg + 1;
	case S_MAP:		return fx.map_sz;
	case S_MAP_P1:		return fx.map_sz + pg;
	case S_OTHER:		return fx.other_sz;
	case S_REGION_P1:	return info0.region_size + pg;
	case S_BIT_P1:		return info0.alloc[FNMM_ALLOC_BIT].size + pg;
	case S_ONES:		return ~0ULL;
	case S_ONES_PG:		return ~0ULL & ~(pg - 1);
	case S_WRAP:		return -virt + pg;	/* virt + size == pg */
	case S_64:		return 64;
	default:		return 0;
	}
}

static __u64 oval(enum osrc o)
{
	switch (o) {
	case O_1:	return 1;
	case O_PG:	return pg;
	case O_3PG:	return 3 * pg;
	case O_END:	return fx.spare_sz;
	case O_WRAP:	return -pg;
	default:	return 0;
	}
}

static int run_vcase(const void *p)
{
	const struct vcase *c = p;
	struct fnmm_vmctl a;

	memset(&a, 0, sizeof(a));
	a.flags = c->flags;
	a.handle = hval(c->h);
	a.range.virt = vval(c->v);
	a.range.size = sval(c->s, a.range.virt, c->h);
	a.range.access = c->access;
	a.offset = oval(c->o);
	a.align = c->align;
	return fnmm_vmctl(fd, ops[c->op].cmd, &a);
}

#define SPLIT	FNMM_ALLOC_SPLIT
#define BIT	FNMM_ALLOC_BIT
#define POOL	FNMM_ALLOC_POOL
#define BUBBLE	FNMM_ALLOC_BUBBLE
#define ACC_BAD_VIRT	W3(EINVAL, ENOMEM, EFAULT)

static const struct vcase vcases[] = {
	/* ReserveMem */
	{ "ReserveMem: size 0", OP_RESERVE, .s = S_0, .want = W(EINVAL) },
	{ "ReserveMem: size larger than the region", OP_RESERVE,
	  .s = S_REGION_P1, .want = W(E2BIG) },
	{ "ReserveMem: size 2^64-1", OP_RESERVE, .s = S_ONES, .want = W(E2BIG) },
	{ "ReserveMem: bit, size larger than the bit allocator", OP_RESERVE,
	  .flags = BIT, .s = S_BIT_P1, .want = W(E2BIG) },
	{ "ReserveMem: align 3", OP_RESERVE, .s = S_PG, .align = 3,
	  .want = W(EINVAL) },
	{ "ReserveMem: align 0x3000", OP_RESERVE, .s = S_PG, .align = 0x3000,
	  .want = W(EINVAL) },
	{ "ReserveMem: align 2^64-1", OP_RESERVE, .s = S_PG, .align = ~0ULL,
	  .want = W(EINVAL) },
	/* Bubble (flags 3): an object in an arena */
	{ "ReserveMem: Bubble object, unknown handle", OP_RESERVE,
	  .flags = BUBBLE, .h = H_UNKNOWN, .s = S_64, .want = W(ENOENT) },
	{ "ReserveMem: Bubble object, another file's handle", OP_RESERVE,
	  .flags = BUBBLE, .h = H_OTHER, .s = S_64, .want = W(ENOENT) },
	{ "ReserveMem: Bubble object, released handle", OP_RESERVE,
	  .flags = BUBBLE, .h = H_DEAD, .s = S_64, .want = W(ENOENT) },
	{ "ReserveMem: Bubble object in a Split allocation", OP_RESERVE,
	  .flags = BUBBLE, .h = H_SPARE, .s = S_64, .want = W(EINVAL) },
	{ "ReserveMem: Bubble object in a Pool object", OP_RESERVE,
	  .flags = BUBBLE, .h = H_POOL, .s = S_64, .want = W(EINVAL) },
	{ "ReserveMem: Bubble arena, size 0", OP_RESERVE, .flags = BUBBLE,
	  .s = S_0, .want = W(EINVAL) },
	{ "ReserveMem: Bubble arena, size larger than the region",
	  OP_RESERVE, .flags = BUBBLE, .s = S_REGION_P1, .want = W(E2BIG) },
	{ "ReserveMem: Bubble arena, align 3", OP_RESERVE, .flags = BUBBLE,
	  .s = S_PG, .align = 3, .want = W(EINVAL) },

	/* MapContiguous */
	{ "MapContiguous: unknown handle", OP_MAPC, .h = H_UNKNOWN,
	  .s = S_ALLOC, .want = W(ENOENT) },
	{ "MapContiguous: misaligned handle", OP_MAPC, .h = H_MISALIGNED,
	  .s = S_ALLOC, .want = W(ENOENT) },
	{ "MapContiguous: another file's handle", OP_MAPC, .h = H_OTHER,
	  .s = S_ALLOC, .want = W(ENOENT) },
	{ "MapContiguous: released handle", OP_MAPC, .h = H_DEAD, .s = S_ALLOC,
	  .want = W(ENOENT) },
	{ "MapContiguous: allocation no longer contiguous", OP_MAPC,
	  .h = H_CUT, .s = S_ALLOC, .want = W(EINVAL) },
	{ "MapContiguous: misaligned virt", OP_MAPC, .h = H_SPARE,
	  .v = V_HOLE1, .s = S_ALLOC, .want = W(EINVAL) },
	{ "MapContiguous: handle 0, misaligned virt", OP_MAPC, .v = V_HOLE1,
	  .s = S_2PG, .want = W(EINVAL) },
	{ "MapContiguous: virt in use by this file", OP_MAPC, .h = H_SPARE,
	  .v = V_MAP, .s = S_ALLOC, .want = W(EEXIST) },
	{ "MapContiguous: virt in use by anonymous memory", OP_MAPC,
	  .h = H_SPARE, .v = V_GUARD, .s = S_ALLOC, .want = W(EEXIST) },
	{ "MapContiguous: handle 0, virt in use", OP_MAPC, .v = V_MAP,
	  .s = S_2PG, .want = W(EEXIST) },
	{ "MapContiguous: virt at the top of the address space", OP_MAPC,
	  .h = H_SPARE, .v = V_TOP, .s = S_ALLOC, .want = ACC_BAD_VIRT },
	{ "MapContiguous: handle 0, virt at the top", OP_MAPC, .v = V_TOP,
	  .s = S_2PG, .want = ACC_BAD_VIRT },
	{ "MapContiguous: Writable, allocation read-only", OP_MAPC, .h = H_RO,
	  .access = RWU, .s = S_ALLOC, .want = W(EACCES) },
	{ "MapContiguous: Executable, allocation read-only", OP_MAPC,
	  .h = H_RO, .access = RXU, .s = S_ALLOC, .want = W(EACCES) },
	{ "MapContiguous: Executable, allocation RW", OP_MAPC, .h = H_SPARE,
	  .access = RWU | FNMM_ACCESS_EXECUTABLE, .s = S_ALLOC,
	  .want = W(EACCES) },
	{ "MapContiguous: handle 0, size 0", OP_MAPC, .s = S_0,
	  .want = W(EINVAL) },
	{ "MapContiguous: handle 0, size larger than the region", OP_MAPC,
	  .s = S_REGION_P1, .want = W(E2BIG) },
	{ "MapContiguous: handle 0, size 2^64-1", OP_MAPC, .s = S_ONES,
	  .want = W(E2BIG) },
	{ "MapContiguous: handle 0, align 3", OP_MAPC, .s = S_PG, .align = 3,
	  .want = W(EINVAL) },
	{ "MapContiguous: handle 0, Bubble (ReserveMem only)", OP_MAPC,
	  .flags = BUBBLE, .s = S_PG, .want = W(EINVAL) },
	{ "MapContiguous: a handle, Bubble (ReserveMem only)", OP_MAPC,
	  .flags = BUBBLE, .h = H_SPARE, .s = S_ALLOC, .want = W(EINVAL) },

	/* MapSparse */
	{ "MapSparse: unknown handle", OP_MAPS, .h = H_UNKNOWN, .s = S_ALLOC,
	  .want = W(ENOENT) },
	{ "MapSparse: another file's handle", OP_MAPS, .h = H_OTHER,
	  .s = S_ALLOC, .want = W(ENOENT) },
	{ "MapSparse: released handle", OP_MAPS, .h = H_DEAD, .s = S_ALLOC,
	  .want = W(ENOENT) },
	{ "MapSparse: misaligned virt", OP_MAPS, .h = H_SPARE, .v = V_HOLE1,
	  .s = S_ALLOC, .want = W(EINVAL) },
	{ "MapSparse: handle 0, misaligned virt", OP_MAPS, .v = V_HOLE1,
	  .s = S_2PG, .want = W(EINVAL) },
	{ "MapSparse: handle 0, virt in use", OP_MAPS, .v = V_MAP, .s = S_2PG,
	  .want = W(EEXIST) },
	{ "MapSparse: Writable, allocation read-only", OP_MAPS, .h = H_RO,
	  .access = RWU, .s = S_ALLOC, .want = W(EACCES) },
	{ "MapSparse: handle 0, size 0", OP_MAPS, .s = S_0, .want = W(EINVAL) },
	{ "MapSparse: handle 0, size larger than the region", OP_MAPS,
	  .s = S_REGION_P1, .want = W(E2BIG) },
	{ "MapSparse: handle 0, pool (objects are not pages)", OP_MAPS,
	  .flags = POOL, .s = S_64, .want = W(EINVAL) },

	/* UnMap */
	{ "UnMap: size 0", OP_UNMAP, .v = V_MAP, .s = S_0, .want = W(EINVAL) },
	{ "UnMap: misaligned virt", OP_UNMAP, .v = V_MAP1, .s = S_PG,
	  .want = W(EINVAL) },
	{ "UnMap: misaligned size", OP_UNMAP, .v = V_MAP, .s = S_PG1,
	  .want = W(EINVAL) },
	{ "UnMap: nothing mapped there", OP_UNMAP, .v = V_HOLE, .s = S_PG,
	  .want = W(EFAULT) },
	{ "UnMap: anonymous memory", OP_UNMAP, .v = V_GUARD, .s = S_PG,
	  .want = W(EFAULT) },
	{ "UnMap: runs past the end of the mapping", OP_UNMAP, .v = V_MAP,
	  .s = S_MAP_P1, .want = W(EFAULT) },
	{ "UnMap: starts before the mapping", OP_UNMAP, .v = V_MAP_M1,
	  .s = S_2PG, .want = W(EFAULT) },
	{ "UnMap: another file's mapping", OP_UNMAP, .v = V_OTHER,
	  .s = S_OTHER, .want = W(EFAULT) },
	{ "UnMap: virt + size wraps", OP_UNMAP, .v = V_MAP, .s = S_WRAP,
	  .want = W2(EINVAL, EFAULT) },
	{ "UnMap: address 0", OP_UNMAP, .v = V_0, .s = S_PG, .want = W(EFAULT) },

	/* Release */
	{ "Release: handle 0", OP_RELEASE, .h = H_0, .want = W(ENOENT) },
	{ "Release: unknown handle", OP_RELEASE, .h = H_UNKNOWN,
	  .want = W(ENOENT) },
	{ "Release: misaligned handle", OP_RELEASE, .h = H_MISALIGNED,
	  .want = W(ENOENT) },
	{ "Release: another file's handle", OP_RELEASE, .h = H_OTHER,
	  .want = W(ENOENT) },
	{ "Release: released handle (double release)", OP_RELEASE,
	  .h = H_DEAD, .want = W(ENOENT) },

	/* ReleaseSections */
	{ "ReleaseSections: unknown handle", OP_RELSEC, .h = H_UNKNOWN,
	  .s = S_PG, .want = W(ENOENT) },
	{ "ReleaseSections: another file's handle", OP_RELSEC, .h = H_OTHER,
	  .s = S_PG, .want = W(ENOENT) },
	{ "ReleaseSections: released handle", OP_RELSEC, .h = H_DEAD,
	  .s = S_PG, .want = W(ENOENT) },
	{ "ReleaseSections: misaligned offset", OP_RELSEC, .h = H_SPARE,
	  .o = O_1, .s = S_PG, .want = W(EINVAL) },
	{ "ReleaseSections: misaligned size", OP_RELSEC, .h = H_SPARE,
	  .s = S_PG1, .want = W(EINVAL) },
	{ "ReleaseSections: size 0", OP_RELSEC, .h = H_SPARE, .s = S_0,
	  .want = W(EINVAL) },
	{ "ReleaseSections: runs past the end", OP_RELSEC, .h = H_SPARE,
	  .o = O_3PG, .s = S_2PG, .want = W(EINVAL) },
	{ "ReleaseSections: offset at the end", OP_RELSEC, .h = H_SPARE,
	  .o = O_END, .s = S_PG, .want = W(EINVAL) },
	{ "ReleaseSections: offset + size wraps", OP_RELSEC, .h = H_SPARE,
	  .o = O_WRAP, .s = S_2PG, .want = W(EINVAL) },
	{ "ReleaseSections: size 2^64 - page wraps", OP_RELSEC, .h = H_SPARE,
	  .o = O_PG, .s = S_ONES_PG, .want = W(EINVAL) },
	{ "ReleaseSections: allocation mapped", OP_RELSEC, .h = H_MAP,
	  .s = S_PG, .want = W(EBUSY) },
	{ "ReleaseSections: pool object", OP_RELSEC, .h = H_POOL, .s = S_PG,
	  .want = W(EINVAL) },

	/* LookupVirtual, Access */
	{ "LookupVirtual: nothing mapped there", OP_LOOKUP, .v = V_HOLE,
	  .want = W(EFAULT) },
	{ "LookupVirtual: anonymous memory", OP_LOOKUP, .v = V_GUARD,
	  .want = W(EFAULT) },
	{ "LookupVirtual: another file's mapping", OP_LOOKUP, .v = V_OTHER,
	  .want = W(EFAULT) },
	{ "LookupVirtual: address 0", OP_LOOKUP, .v = V_0, .want = W(EFAULT) },
	{ "LookupVirtual: top of the address space", OP_LOOKUP, .v = V_TOP,
	  .want = W(EFAULT) },
	{ "Access: nothing mapped there", OP_ACCESS, .v = V_HOLE,
	  .want = W(EFAULT) },
	{ "Access: anonymous memory", OP_ACCESS, .v = V_GUARD,
	  .want = W(EFAULT) },
	{ "Access: another file's mapping", OP_ACCESS, .v = V_OTHER,
	  .want = W(EFAULT) },
	{ "Access: address 0", OP_ACCESS, .v = V_0, .want = W(EFAULT) },
	{ "Access: top of the address space", OP_ACCESS, .v = V_TOP,
	  .want = W(EFAULT) },

	/* The cache operations */
#define CACHE_CASES(OP, N) \
	{ N ": nothing mapped there", OP, .v = V_HOLE, .s = S_PG,	\
	  .want = W(EFAULT) },						\
	{ N ": anonymous memory", OP, .v = V_GUARD, .s = S_PG,		\
	  .want = W(EFAULT) },						\
	{ N ": runs past the end of the mapping", OP, .v = V_MAP,	\
	  .s = S_MAP_P1, .want = W(EFAULT) },				\
	{ N ": another file's mapping", OP, .v = V_OTHER, .s = S_OTHER,	\
	  .want = W(EFAULT) },						\
	{ N ": virt + size wraps", OP, .v = V_MAP, .s = S_WRAP,	\
	  .want = W2(EINVAL, EFAULT) }
	CACHE_CASES(OP_CLEAN, "CacheClean"),
	CACHE_CASES(OP_INVAL, "CacheInvalidate"),
	CACHE_CASES(OP_CLEANINV, "CacheCleanInvalidate"),
};

/* ReserveMem ignores the handle given to it: a new one comes back. */
static int run_reserve_handle(const void *p)
{
	struct fnmm_vmctl a;
	int ret;

	(void)p;
	memset(&a, 0, sizeof(a));
	a.handle = fx.spare_h;
	a.range.size = pg;
	ret = fnmm_vmctl(fd, FNMM_IOC_RESERVE_MEM, &a);
	if (ret)
		return ret;
	if (a.handle == fx.spare_h || !a.handle) {
		snprintf(detail, sizeof(detail), "handle 0x%llx came back",
			 (unsigned long long)a.handle);
		return -EBADE;
	}
	ret = fnmm_release(fd, a.handle);
	if (ret) {
		snprintf(detail, sizeof(detail), "release: %s", errname(ret));
		return -EBADE;
	}
	return 0;
}

/* mmap, mprotect, mremap. */
enum mcase {
	MM_PAST, MM_UNKNOWN, MM_OTHER, MM_DEAD, MM_ZERO_PRIVATE, MM_ZERO_BIG,
	MM_PRIVATE, MM_WRITE_RO, MM_EXEC, MM_MPROTECT_W, MM_MPROTECT_X,
	MM_MREMAP, MM_ZERO_MPROTECT_X, MM_ZERO_SPLIT, NR_MM
};

static const struct {
	const char *name;
	struct want want;
} mm_cases[NR_MM] = {
	[MM_PAST]	= { "mmap: past the allocation's size", W(EINVAL) },
	[MM_UNKNOWN]	= { "mmap: unknown offset", W(EINVAL) },
	[MM_OTHER]	= { "mmap: another file's handle", W(EINVAL) },
	[MM_DEAD]	= { "mmap: released handle", W(EINVAL) },
	/* Offset 0 makes a new allocation (one step): bad only so. */
	[MM_ZERO_PRIVATE] = { "mmap: offset 0, MAP_PRIVATE", W(EINVAL) },
	[MM_ZERO_BIG]	= { "mmap: offset 0, larger than the region",
			    W(ENOMEM) },
	[MM_PRIVATE]	= { "mmap: MAP_PRIVATE", W(EINVAL) },
	[MM_WRITE_RO]	= { "mmap: PROT_WRITE, allocation read-only", W(EACCES) },
	[MM_EXEC]	= { "mmap: PROT_EXEC, allocation not Executable",
			    W(EACCES) },
	[MM_MPROTECT_W]	= { "mprotect: PROT_WRITE on a read-only allocation",
			    W(EACCES) },
	[MM_MPROTECT_X]	= { "mprotect: PROT_EXEC, allocation not Executable",
			    W(EACCES) },
	[MM_MREMAP]	= { "mremap: grow a mapping", W3(EFAULT, EINVAL, ENOMEM) },
	[MM_ZERO_MPROTECT_X] = { "mprotect: PROT_EXEC on a mapping made at offset 0 without it",
			    W(EACCES) },
	[MM_ZERO_SPLIT]	= { "mprotect: part of a mapping made at offset 0",
			    W(EINVAL) },
};

static int mm_try(__u64 handle, size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)handle);

	if (p == MAP_FAILED)
		return -errno;
	case_end();
	munmap(p, len);
	return 0;
}

static int run_mm(const void *p)
{
	enum mcase c = *(const enum mcase *)p;
	const int rw = PROT_READ | PROT_WRITE;
	void *m, *n;
	int ret, prot = rw;
	__u64 h = fx.spare_h;
	size_t len;

	switch (c) {
	case MM_PAST:
		return mm_try(fx.spare_h, fx.spare_sz + pg, rw, MAP_SHARED);
	case MM_UNKNOWN:
		return mm_try(fx.unknown_h, pg, rw, MAP_SHARED);
	case MM_OTHER:
		return mm_try(fx.other_h, pg, rw, MAP_SHARED);
	case MM_DEAD:
		return mm_try(fx.dead_h, pg, rw, MAP_SHARED);
	case MM_ZERO_PRIVATE:
		return mm_try(0, pg, rw, MAP_PRIVATE);
	case MM_ZERO_BIG:
		return mm_try(0, info0.region_size + pg, rw, MAP_SHARED);
	case MM_PRIVATE:
		return mm_try(fx.spare_h, pg, rw, MAP_PRIVATE);
	case MM_WRITE_RO:
		return mm_try(fx.ro_h, pg, rw, MAP_SHARED);
	case MM_EXEC:
		return mm_try(fx.spare_h, pg, PROT_READ | PROT_EXEC,
			      MAP_SHARED);
	case MM_MPROTECT_W:
	case MM_MPROTECT_X:
	case MM_MREMAP:
	case MM_ZERO_MPROTECT_X:
	case MM_ZERO_SPLIT:
		if (c == MM_ZERO_MPROTECT_X || c == MM_ZERO_SPLIT)
			h = 0;	/* a new allocation, of the mapping's life */
		if (c == MM_MPROTECT_W) {
			h = fx.ro_h;
			prot = PROT_READ;
		}
		len = c == MM_ZERO_SPLIT ? 2 * pg : pg;
		m = fnmm_mmap(fd, h, len, prot);
		if (m == MAP_FAILED) {
			snprintf(detail, sizeof(detail), "setup mmap: %s",
				 errname(errno));
			return -EBADE;
		}
		case_begin();
		if (c == MM_MREMAP) {
			n = mremap(m, pg, 2 * pg, MREMAP_MAYMOVE);
			ret = n == MAP_FAILED ? -errno : 0;
			case_end();
			if (n != MAP_FAILED) {
				munmap(n, 2 * pg);
				return 0;
			}
		} else if (c == MM_ZERO_SPLIT) {
			ret = mprotect(m, pg, PROT_READ) ? -errno : 0;
			case_end();
		} else {
			ret = mprotect(m, pg, c == MM_MPROTECT_W ? rw :
				       PROT_READ | PROT_EXEC) ? -errno : 0;
			case_end();
		}
		munmap(m, len);
		return ret;
	default:
		return -EBADE;
	}
}

int main(void)
{
	static const struct want w_ok = WANT_OK;
	struct statvfs sv;
	enum mcase mc;
	unsigned int i;
	int noexec, ret;

	pg = fnmm_page_size();
	fd = open_or_bail();
	ret = fnmm_info(fd, &info0);
	close(fd);
	fd = -1;
	if (!tap_ret(ret, 0, "INFO"))
		return tap_done();
	if (fixture_setup())
		return tap_done();

	run_generics();
	for (i = 0; i < ARRAY_SIZE(cmd_cases); i++)
		run_case(cmd_cases[i].name, run_cmd, &cmd_cases[i],
			 &(struct want)W(ENOTTY));
	for (i = 0; i < ARRAY_SIZE(vcases); i++)
		run_case(vcases[i].name, run_vcase, &vcases[i], &vcases[i].want);
	run_case("ReserveMem: a handle given is ignored", run_reserve_handle,
		 NULL, &w_ok);

	noexec = !statvfs(FNMM_DEVICE_PATH, &sv) && (sv.f_flag & ST_NOEXEC);
	for (mc = 0; mc < NR_MM; mc++) {
		if (noexec && (mc == MM_EXEC || mc == MM_MPROTECT_X ||
			       mc == MM_ZERO_MPROTECT_X)) {
			tap_skip("/dev is mounted noexec", "%s", mm_cases[mc].name);
			continue;
		}
		run_case(mm_cases[mc].name, run_mm, &mc, &mm_cases[mc].want);
	}

	fixture_teardown();
	return tap_done();
}
