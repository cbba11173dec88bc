// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm_fuzz: a seeded random-operation fuzzer of /dev/freenos-mm.
 *
 *   fnmm_fuzz [--seed N] [--seconds S] [--iterations N] [--procs P]
 *             [--only I] [--trace] [--xfail-relsec] [--no-partial]
 *             [--no-uncached] [--blkdev DEV]
 *
 * P processes (default 4), each with its own seed derived from the run's
 * seed, issue random sequences of valid and invalid operations: every
 * VMCtl ioctl with random allocators, sizes, alignments, access bits
 * (invalid ones too), handles (live, released, another file's, garbage),
 * addresses (inside its mappings, another file's, holes, anonymous
 * memory, the top of the address space) and argsz/argument pointers;
 * Info; unknown ioctls; mmap/munmap/mprotect/mremap of the device; reads
 * and writes through its mappings; close and reopen of its one or two
 * files; fork of a child that uses the inherited mappings and exits.
 *
 * Bubble (allocator 3) is ReserveMem's alone: any other VMCtl request
 * with it is EINVAL.  With handle 0 it makes an arena, modelled as the
 * Split allocation it is (mapped, exported, released as one; only
 * ReleaseSections of it is EINVAL) plus its top, the bytes handed out.
 * With an arena's handle it bumps an object in it, whose place the
 * model predicts exactly: at the top rounded up to max(align, 16), the
 * size rounded up to 16 (EINVAL size 0, bad align or not an arena,
 * E2BIG larger than the arena, ENOMEM no room left, ENOENT not a live
 * handle of the file); an object whose reply cannot be written is taken
 * back (the top stays).  Objects go with their arena.  Info's bubble_*
 * counters are the device's (all processes): only checked back at the
 * start at the end.
 *
 * Each process keeps a model of its contexts: allocations, their pages
 * (zero, written with the allocation's words, released), and every
 * mapping (VMA) of them.  From the model each call gets the set of
 * results it may have: the exact one where the ABI leaves no choice
 * (include/uapi/linux/freenos-mm.h), a set (e.g. success or -ENOMEM)
 * where it depends on others.  Any other result is a failure, and so is
 * an errno outside the operation's documented ones.  Replies are checked
 * (sizes, offsets, access, addresses, physical addresses when shown),
 * INFO's per-context counters must equal the model after every
 * operation, and its limits hold (nothing quarantined; a file opened
 * with CAP_IPC_LOCK, as by root, neither limited nor charged; else
 * limited by RLIMIT_MEMLOCK, or not at all); data read back must be the
 * words written (or zero for memory never written: nobody else's data),
 * released sections must fault with SIGBUS and non-readable mappings
 * with SIGSEGV.
 *
 * The words written name their writer.  Every 8-byte word the fuzzer
 * stores is
 *
 *   bits 63..56  0xf5, the mark of a word of this fuzzer
 *   bits 55..52  the process index P (a forked child writes its
 *                parent's words, for its parent's model)
 *   bits 51..40  the context id: which open of P's (each open of the
 *                device is a new one; modulo 4096)
 *   bits 39..24  the allocation id: which allocation of P's (each one
 *                made, by ReserveMem, a Map with handle 0 or an mmap
 *                at offset 0; modulo 65536)
 *   bits 23..0   the word's byte offset: in the allocation's mapping
 *                (Split/Bit), in the page (Pool)
 *
 * so 0xf5_2_007_0013_001ff8 is process 2's, its context 7, allocation
 * 19, byte 0x1ff8.  Writes go wherever a mapping lets the process write:
 * every page of a Split/Bit allocation, and for a Pool object its whole
 * page (other objects of the same context share it), not only the
 * object.  Every page a new mapping shows (mmap, MapContiguous,
 * MapSparse, a Map with handle 0, an mmap at offset 0 (made readable
 * for the check if it is not), the temporary mapping made to check
 * an allocation before it goes) is checked in full: a fresh Split/Bit
 * allocation must read all zero, an existing one what the model says.
 * Pool pages are modelled per page, by physical address (shown to the
 * fuzzer as root): each word is known exactly, or, where the kernel may
 * have scrubbed it unseen (the page may have gone back to Split while
 * no object of ours was in it, or an allocation was made and undone by
 * a failed call), the model's word or zero: a Pool page reads zero or
 * what this same context wrote into it.  Without physical addresses
 * writes stay inside the object, which must read exactly its words, and
 * the rest of the page must be zero or words of the same context.  A
 * word that differs is reported with its writer decoded, and a word of
 * another process or another context is a leak ("LEAK" in the report,
 * counted on its own TAP line).
 *
 * At the end each process unmaps and releases everything (checking the
 * data first); the parent then wants INFO's counters back to where they
 * started and the debugfs check to say "ok".  TAP output; "# " lines
 * give the seeds, the calls per operation and result, and the figures.
 * A run is reproducible with its seed (--only I replays process I alone,
 * --trace prints every operation).
 *
 * An mmap at offset 0 makes an allocation without a handle (Split, of
 * unknown contiguity, access Readable|Writable|User, Executable too with
 * PROT_EXEC) that lives as long as its mappings: the model keeps it as
 * it keeps a released allocation still mapped, with handle 0, counted in
 * ctx_bytes but not in ctx_allocations.  Such mmaps are made on purpose
 * now and then, and LookupVirtual/Access of each must give handle 0 and
 * the byte offset in it.
 *
 * --no-partial never maps part of an allocation, nor unmaps or
 * mprotects part of a mapping (no VMA is ever split), to tell such bugs
 * from others; --no-uncached never asks for Uncached or Device access
 * (no mixed cache attributes on a page).  Both only narrow what is
 * tried, never what is checked.
 *
 * --xfail-relsec reports the ReleaseSections behaviours that differ from
 * the ABI header (re-releasing a released section succeeds; releasing
 * the last section leaves the allocation live) as "# XFAIL" diagnostics
 * instead of failures.
 *
 * dma-bufs: each process exports random live allocations (FNMM_IOC_EXPORT
 * with random flags, bad ones too, and argsz/pointer mutations; the
 * errno is modelled exactly: EINVAL bad flags/reserved, Pool, released
 * sections; ENOENT; EACCES O_RDWR of a read-only or any export of a
 * non-readable allocation; EBUSY while a dma-buf of it lives), holds up
 * to MAX_DBUF fds of them (passed on by dup() or SCM_RIGHTS through a
 * socketpair of its own) and MAX_DMAP mappings of them (a random page
 * range, PROT_WRITE only for O_RDWR exports: EACCES otherwise), syncs
 * them (DMA_BUF_IOCTL_SYNC, bad flags EINVAL) and closes them at random.
 * A dma-buf mapping shows the allocation's pages: it is read by the
 * model (the allocation's own words, or zero), written with the
 * allocation's words, which its own mappings must then show.  Each fd or
 * mapping holds the allocation: ReleaseSections is EBUSY, and Release or
 * close of its file leave it counted in the context's bytes (and its
 * mappings in the context's mappings) until the last one goes.  At the
 * end all are closed, and Info exported must come back to 0.
 *
 * --blkdev DEV (a block device for O_DIRECT, e.g. brd's /dev/ram0, whose
 * data the run destroys) hands the mappings to the rest of the kernel
 * too: vmsplice into pipes each process keeps and reads much later,
 * O_DIRECT pwrite/pread between mappings (or anonymous memory) and the
 * process's own slice of DEV, and the same through io_uring, with
 * requests left in flight while their buffer is unmapped and released.
 * Pages the kernel still holds keep their released blocks waiting (Info
 * "pinned"); what comes back out of a pipe or the device is judged by
 * the same words: see "Handing the mappings to the rest of the kernel"
 * below for the rules.  At the end every request is reaped and every
 * pipe read and closed, and Info "pinned" must come back to 0.  Without
 * --blkdev none of this is tried and nothing may be pinned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/dma-buf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "hardening.h"

#define MAX_PROCS	16
#define MAX_CTX		8	/* open files + closed ones still mapped */
#define MAX_BUF		64	/* allocations alive per process */
#define MAX_VMA		96	/* mappings per process */
#define MAX_HELD_PAGES	4096	/* beyond this a process only frees */
#define DEAD_HANDLES	8	/* released handle numbers remembered */
#define CHECK_UNITS	8	/* units checked by one read */
#define WAIT_MS		5000	/* for deferred frees at the end */
#define MAX_REPORTS	12	/* failure lines printed per process */
#define RING		24	/* recent operations kept for a report */

#define SPLIT	FNMM_ALLOC_SPLIT
#define BIT	FNMM_ALLOC_BIT
#define POOL	FNMM_ALLOC_POOL
#define RWU	FNMM_ACCESS_DEFAULT
#define ACC_R	FNMM_ACCESS_READABLE
#define ACC_W	FNMM_ACCESS_WRITABLE
#define ACC_X	FNMM_ACCESS_EXECUTABLE
#define ACC_CACHE_BITS	(FNMM_ACCESS_UNCACHED | FNMM_ACCESS_DEVICE | \
			 FNMM_ACCESS_INNER_CACHED | FNMM_ACCESS_OUTER_CACHED)

/* Result sets: bit 0 success, bit e errno e (63: anything larger). */
#define RES_OK		1ULL
#define R(e)		(1ULL << ((e) < 63 ? (e) : 63))

static uint64_t rbit(int ret)
{
	if (ret < 0)
		ret = -ret;
	return ret ? R(ret) : RES_OK;
}

enum fop {
	F_RESERVE, F_BUBBLE, F_MAPC, F_MAPS, F_UNMAP, F_RELEASE, F_RELSEC,
	F_LOOKUP, F_ACCESS, F_CLEAN, F_INVAL, F_CLEANINV, F_INFO, F_RAW,
	F_MMAP, F_MUNMAP, F_MPROTECT, F_MREMAP, F_WRITE, F_READ, F_REOPEN,
	F_FORK,
	/* dma-bufs (FNMM_IOC_EXPORT) and what holds them. */
	F_EXPORT, F_DMMAP, F_DMUNMAP, F_DRW, F_DPASS, F_DSYNC, F_DCLOSE,
	F_IMPORT, F_GEMCLOSE,
	/* Handing mappings to the rest of the kernel (--blkdev). */
	F_VMSPLICE, F_PIPEREAD, F_DWRITE, F_DREAD, F_URING, F_REAP,
	NR_FOPS
};

#define COMMON_ERRS	(R(EFAULT) | R(EINVAL) | R(E2BIG) | R(ENOTTY))

/* Each operation: its name, weight, and the results the ABI documents. */
static const struct {
	const char *name;
	unsigned int weight;
	uint64_t doc;
} fops[NR_FOPS] = {
	[F_RESERVE]	= { "ReserveMem", 10, RES_OK | COMMON_ERRS | R(ENOMEM) |
			    R(ENOSPC) },
	/* ReserveMem with allocator 3 and an arena's handle: an object. */
	[F_BUBBLE]	= { "Bubble object", 5, RES_OK | COMMON_ERRS | R(ENOENT) |
			    R(ENOMEM) },
	[F_MAPC]	= { "MapContiguous", 8, RES_OK | COMMON_ERRS | R(ENOENT) |
			    R(EEXIST) | R(EACCES) | R(ENOMEM) | R(ENOSPC) |
			    R(EPERM) },
	[F_MAPS]	= { "MapSparse", 5, RES_OK | COMMON_ERRS | R(ENOENT) |
			    R(EEXIST) | R(EACCES) | R(ENOMEM) | R(ENOSPC) |
			    R(EPERM) },
	[F_UNMAP]	= { "UnMap", 6, RES_OK | COMMON_ERRS },
	[F_RELEASE]	= { "Release", 7, RES_OK | COMMON_ERRS | R(ENOENT) },
	[F_RELSEC]	= { "ReleaseSections", 5, RES_OK | COMMON_ERRS |
			    R(ENOENT) | R(EBUSY) | R(ENOMEM) },
	[F_LOOKUP]	= { "LookupVirtual", 4, RES_OK | COMMON_ERRS | R(EPERM) },
	[F_ACCESS]	= { "Access", 4, RES_OK | COMMON_ERRS },
	[F_CLEAN]	= { "CacheClean", 2, RES_OK | COMMON_ERRS },
	[F_INVAL]	= { "CacheInvalidate", 2, RES_OK | COMMON_ERRS },
	[F_CLEANINV]	= { "CacheCleanInvalidate", 2, RES_OK | COMMON_ERRS },
	[F_INFO]	= { "Info", 3, RES_OK | R(EFAULT) | R(EINVAL) | R(E2BIG) },
	[F_RAW]		= { "raw ioctl", 2, R(ENOTTY) },
	[F_MMAP]	= { "mmap", 6, RES_OK | R(EINVAL) | R(EACCES) | R(EPERM) |
			    R(ENOMEM) | R(EOVERFLOW) },
	[F_MUNMAP]	= { "munmap", 4, RES_OK | R(EINVAL) },
	[F_MPROTECT]	= { "mprotect", 4, RES_OK | R(EACCES) | R(ENOMEM) | R(EINVAL) },
	[F_MREMAP]	= { "mremap", 3, RES_OK | R(EFAULT) | R(EINVAL) |
			    R(ENOMEM) },
	[F_WRITE]	= { "write", 8, RES_OK },
	[F_READ]	= { "read", 8, RES_OK },
	[F_REOPEN]	= { "close/reopen", 1, RES_OK },
	[F_FORK]	= { "fork", 1, RES_OK },
	[F_EXPORT]	= { "export", 4, RES_OK | COMMON_ERRS | R(ENOENT) |
			    R(EBUSY) | R(EACCES) | R(ENOMEM) },
	[F_DMMAP]	= { "dma-buf mmap", 3, RES_OK | R(EINVAL) | R(EACCES) |
			    R(ENOMEM) },
	[F_DMUNMAP]	= { "dma-buf munmap", 2, RES_OK | R(EINVAL) },
	[F_DRW]		= { "dma-buf read/write", 3, RES_OK },
	[F_DPASS]	= { "dma-buf pass", 1, RES_OK },
	[F_DSYNC]	= { "dma-buf sync", 2, RES_OK | R(EINVAL) },
	[F_DCLOSE]	= { "dma-buf close", 2, RES_OK },
	[F_IMPORT]	= { "vgem import", 2, RES_OK | R(EACCES) | R(ENOMEM) },
	[F_GEMCLOSE]	= { "vgem GEM close", 1, RES_OK },
	[F_VMSPLICE]	= { "vmsplice", 3, RES_OK | R(EFAULT) },
	[F_PIPEREAD]	= { "pipe read", 1, RES_OK },
	[F_DWRITE]	= { "O_DIRECT write", 3, RES_OK | R(EFAULT) },
	[F_DREAD]	= { "O_DIRECT read", 3, RES_OK | R(EFAULT) },
	[F_URING]	= { "io_uring submit", 3, RES_OK },
	[F_REAP]	= { "io_uring reap", 2, RES_OK | R(EFAULT) },
};

/* Per process, in memory shared with the parent. */
struct pstat {
	uint64_t seed;
	uint64_t iters;
	uint64_t calls[NR_FOPS][HD_NR_ERRS];
	uint64_t unexpected;	/* results outside the expectation */
	uint64_t xfail;		/* known deviations, with --xfail-relsec */
	uint64_t units;		/* units of data checked */
	uint64_t corrupt;	/* data checks that failed */
	uint64_t leaks;		/* words of another process or context seen */
	uint64_t pages;		/* pages of new mappings checked in full */
	uint64_t acct;		/* INFO comparisons with the model */
	uint64_t acct_bad;
	uint64_t onestep;	/* allocations made by mmap at offset 0 */
	uint64_t arenas;	/* Bubble arenas made */
	uint64_t objects;	/* objects bumped in them */
	uint64_t spliced;	/* pages vmspliced into the pipes */
	uint64_t pipe_pages;	/* pages read back out of the pipes, checked */
	uint64_t dev_pages;	/* device pages read back, checked */
	uint64_t dev_into;	/* mapping pages filled by a device read */
	uint64_t dropped;	/* io_uring buffers unmapped in flight */
	uint64_t dropped_rel;	/* ... and their handle released */
	uint64_t pinned_max;	/* the most Info "pinned" showed, bytes */
	uint64_t pinned_end;	/* Info "pinned" before the pipes were read */
	uint64_t exports;	/* dma-bufs made */
	uint64_t exp_released;	/* ... whose handle went while exported */
	uint64_t dma_pages;	/* pages checked through dma-buf mappings */
	uint64_t dma_writes;	/* units written through dma-buf mappings */
	uint64_t passed;	/* dma-buf fds passed (dup, SCM_RIGHTS) */
	uint64_t imports;	/* dma-bufs vgem imported */
	uint64_t reports;
	int finished;		/* cleaned up and checked at the end */
};

static struct pstat *stats;
static struct pstat *st;	/* this process's */
static int me;			/* process index */
static uint64_t rng;
static __u64 pg;
static struct fnmm_info info0;
static int priv, noexec, trace, xfail_relsec, no_partial, no_uncached;
/* ZONE_DEVICE pages: Uncached/Device allocations are EINVAL. */
static int cached_only;
static int ipc_lock;		/* CAP_IPC_LOCK: the files are not limited */
static __u64 memlock_rlimit;	/* RLIMIT_MEMLOCK in bytes, ~0: none */
static uint64_t deadline_ms, max_iters;
static const char *blkdev;	/* --blkdev: the GUP operations are on */
static int gup_on;		/* the GUP operations, in this process */

/* The model. */
enum { U_ZERO, U_PAT, U_GONE, U_UNKNOWN };

struct mctx {
	int used;
	int fd;			/* -1 once closed (alive while mapped) */
	int id;
	int tainted;		/* counters disagreed once: not compared */
	int forgot;		/* a Pool page of it left the page model */
	__u64 dead[DEAD_HANDLES];
	unsigned int ndead;
};

struct mbuf {
	int used;
	struct mctx *ctx;
	__u64 handle;		/* as made; live says whether it still is */
	int live;
	int kind;
	__u32 access;
	__u64 size, off, map_size;
	int contig;		/* 1, 0, or -1 not known (MapSparse) */
	__u64 phys;		/* of its first byte, when shown and contiguous */
	unsigned int gid;	/* the allocation id in the words written */
	int dropped;		/* its handle was released (not closed) */
	struct ppage *pp;	/* Pool, physical addresses shown: its page */
	unsigned int nunits;
	unsigned char *unit;
	/*
	 * Split/Bit: per unit, the first word it holds when an O_DIRECT
	 * read brought other words of its context there (0: its own,
	 * unit_word0()); NULL until one did.
	 */
	uint64_t *w0;
	int nvma;
	int nexp;		/* dma-buf fds and mappings of it held */
	int arena;		/* a Bubble arena (kind Split, contiguous) */
	__u64 top;		/* an arena's bytes handed out, padding too */
};

/*
 * The words the fuzzer writes (see the top of the file): the word at
 * byte @off written for allocation @gid of context @ctx of process @proc.
 */
#define W_MARK		0xf5ULL
#define W_OFF_MASK	0xffffffULL

static uint64_t wenc(unsigned int proc, int ctx, unsigned int gid, __u64 off)
{
	return W_MARK << 56 | (uint64_t)(proc & 0xf) << 52 |
	       (uint64_t)(ctx & 0xfff) << 40 | (uint64_t)(gid & 0xffff) << 24 |
	       (off & W_OFF_MASK);
}

/* Whether @w is a word of this fuzzer, and whose. */
static int wdec(uint64_t w, unsigned int *proc, unsigned int *ctx,
		unsigned int *gid, unsigned int *off)
{
	if (w >> 56 != W_MARK)
		return 0;
	*proc = (w >> 52) & 0xf;
	*ctx = (w >> 40) & 0xfff;
	*gid = (w >> 24) & 0xffff;
	*off = w & W_OFF_MASK;
	return 1;
}

/*
 * The Pool page model: one entry per page of a context's pool whose
 * physical address an object of ours showed.  w[] holds each word as
 * it must read (or PP_OWN / PP_ANY); a word with mz[] set may read zero
 * instead (the kernel may have scrubbed it without our knowing).  A word
 * read and found as allowed is known exactly from then on.
 */
#define PP_MAX		256
#define PP_OWN		1ULL	/* zero or any word of the entry's context */
#define PP_ANY		2ULL	/* not known (a write that failed) */
#define PP_PROC		3ULL	/* (a rule's want) zero or a word of this process */

struct ppage {
	struct mctx *ctx;	/* NULL: a free entry */
	__u64 phys;		/* of the page */
	unsigned int nobj;	/* model allocations in it */
	uint64_t *w;
	unsigned char *mz;
};

struct mvma {
	int used;
	struct mbuf *buf;
	__u64 start, end;
	__u64 base;		/* address of offset 0 of the mapping */
	int prot;
};

/* Requests in flight (--blkdev), defined with the operations below. */
static int unit_busy(const struct mbuf *b, unsigned int u);
static void io_disturb(__u64 lo, __u64 hi, int unmapped);

static struct mctx ctxs[MAX_CTX];
static struct mbuf bufs[MAX_BUF];
static struct mvma vmas[MAX_VMA];
static struct mctx *slot[2];	/* the open files */
static int next_ctx_id;
static unsigned int next_gid;
static struct ppage ppages[PP_MAX];
static uint64_t pagebuf[65536 / 8];	/* a page read back */

/*
 * dma-bufs (FNMM_IOC_EXPORT): the process holds up to MAX_DBUF fds of
 * them (the export's own, dups and fds passed over SCM_RIGHTS) and up to
 * MAX_DMAP mappings of them.  Each holds a reference to its allocation
 * (mbuf.nexp): the model keeps the allocation, counted in the context's
 * bytes, after Release and close, until the last one goes.
 */
#define MAX_DBUF	8
#define MAX_DMAP	8

struct mdbuf {
	int used;
	struct mbuf *buf;
	int fd;
	int rw;			/* exported O_RDWR */
};

struct mdmap {
	int used;
	struct mbuf *buf;
	__u64 start, end;
	__u64 base;		/* address of the allocation's byte 0 */
	int prot;
};

static struct mdbuf dbufs[MAX_DBUF];
static struct mdmap dmaps[MAX_DMAP];

/*
 * An importer's references: vgem (DRM PRIME, /dev/dri/card0 when the
 * module is loaded) imports a held dma-buf; its GEM object keeps the
 * dma-buf, and so the allocation (mbuf.nexp), until GEM_CLOSE, after
 * every fd and mapping of it went.  PRIME maps both ways: a read-only
 * export is refused (EACCES).  Importing it again gives the same handle.
 */
#define MAX_GEM		4

struct mgem {
	int used;
	struct mbuf *buf;
	__u32 handle;
};

static struct mgem gems[MAX_GEM];
static int card = -1;		/* vgem's DRM node, or -1 */
static int scm[2] = { -1, -1 };	/* a socketpair to pass fds through */

/* Reporting. */
static char ring[RING][160];
static unsigned int ring_pos;
static int ring_dumps;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	char *s = ring[ring_pos++ % RING];

	va_start(ap, fmt);
	vsnprintf(s, sizeof(ring[0]), fmt, ap);
	va_end(ap);
	if (trace)
		printf("# [%d] %s\n", me, s);
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char line[512];
	unsigned int i, n;
	va_list ap;

	if (st->reports++ >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("# proc %d (seed %#llx, iteration %llu): %s\n", me,
	       (unsigned long long)st->seed, (unsigned long long)st->iters,
	       line);
	if (ring_dumps++ < 2) {
		n = ring_pos < RING ? ring_pos : RING;
		printf("# proc %d: the last %u operations:\n", me, n);
		for (i = ring_pos - n; i != ring_pos; i++)
			printf("#   %s\n", ring[i % RING]);
	}
	fflush(stdout);
}

static const char *rset(uint64_t m, char *buf, size_t len)
{
	size_t n = 0;
	int e;

	buf[0] = '\0';
	for (e = 0; e < 64 && n < len; e++)
		if (m & (1ULL << e))
			n += snprintf(buf + n, len - n, "%s%s", n ? "/" : "",
				      e ? (e == 63 ? "E>62" : errname(e)) : "0");
	return buf;
}

/*
 * Count a result of @op and compare it with @want; a failure is printed
 * with @what.  Returns whether it matched.
 */
static int expect(enum fop op, int ret, uint64_t want, const char *what)
{
	char w[128];

	st->calls[op][hd_err_index(ret)]++;
	if (!(rbit(ret) & fops[op].doc)) {
		st->unexpected++;
		report("%s: %s: got %s, not a documented result of %s", what,
		       fops[op].name, errname(ret), fops[op].name);
		return 0;
	}
	if (!(rbit(ret) & want)) {
		st->unexpected++;
		report("%s: %s: got %s, want %s", what, fops[op].name,
		       errname(ret), rset(want, w, sizeof(w)));
		return 0;
	}
	return 1;
}

/* A reply field that must hold. */
static int reply_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int reply_ok(int cond, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (cond)
		return 1;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st->unexpected++;
	report("bad reply: %s", line);
	return 0;
}

/* A known deviation from the ABI header: a failure, or XFAIL. */
static void deviation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void deviation(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (xfail_relsec) {
		if (st->xfail++ < 3)
			printf("# XFAIL proc %d (seed %#llx): %s\n", me,
			       (unsigned long long)st->seed, line);
		return;
	}
	st->unexpected++;
	report("%s", line);
}

static uint64_t rnd(uint64_t n)
{
	return hd_below(&rng, n);
}

static int chance(unsigned int pct)
{
	return hd_chance(&rng, pct);
}

/* Whether @w is zero or a word of context @c of this process. */
static int own_or_zero(uint64_t w, const struct mctx *c)
{
	unsigned int p, cx, g, o;

	return !w || (wdec(w, &p, &cx, &g, &o) && p == (unsigned int)me &&
		      cx == ((unsigned int)c->id & 0xfff));
}

/*
 * Who wrote @w, seen from context @c, in @buf; *@leak is set for a word
 * of another process or context, or one that is not the fuzzer's.
 */
static const char *whose(uint64_t w, const struct mctx *c, int *leak,
			 char *buf, size_t len)
{
	unsigned int p, cx, g, o;

	*leak = 0;
	if (!w) {
		snprintf(buf, len, "zero");
	} else if (!wdec(w, &p, &cx, &g, &o)) {
		*leak = 1;
		snprintf(buf, len, "LEAK: not a word of this fuzzer (someone else's data)");
	} else {
		*leak = p != (unsigned int)me || cx != ((unsigned int)c->id & 0xfff);
		snprintf(buf, len, "%swritten by proc %u ctx %u alloc %u at byte %#x%s",
			 *leak ? "LEAK: " : "", p, cx, g, o,
			 p != (unsigned int)me ? " (another process)" :
			 *leak ? " (another context of this process)" :
			 " (this context)");
	}
	return buf;
}

/*
 * A rule for the words of a page read back into pagebuf: whether word
 * @i may read @got; *@want is what it should read (for the report) and
 * *@or_zero whether zero would do as well.
 */
typedef int (*word_rule)(const void *arg, unsigned int i, uint64_t got,
			 uint64_t *want, int *or_zero);

/*
 * Judge pagebuf (@n words) by @rule.  On a difference, report the first
 * word that differs and the first foreign word (which may be the same)
 * with their writers, after @what; count a leak.  Returns 1 if intact.
 */
static int page_judge(word_rule rule, const void *arg, unsigned int n,
		      const struct mctx *c, const char *what)
{
	unsigned int i, first = n, foreign = n, nbad = 0;
	uint64_t want = 0, w;
	char a[160], b[160];
	int oz = 0, z, leak;

	for (i = 0; i < n; i++) {
		if (rule(arg, i, pagebuf[i], &w, &z))
			continue;
		nbad++;
		if (first == n) {
			first = i;
			want = w;
			oz = z;
		}
		whose(pagebuf[i], c, &leak, a, sizeof(a));
		if (leak && foreign == n)
			foreign = i;
	}
	if (first == n)
		return 1;
	st->corrupt++;
	if (foreign < n)
		st->leaks++;
	whose(pagebuf[first], c, &leak, a, sizeof(a));
	if (want == PP_OWN)
		snprintf(b, sizeof(b), "0 or a word of this context");
	else if (want == PP_PROC)
		snprintf(b, sizeof(b), "0 or a word of this process");
	else
		snprintf(b, sizeof(b), "%s%#llx", oz && want ? "0 or " : "",
			 (unsigned long long)want);
	report("%s: %u of %u words differ; byte %#x reads %#llx, want %s: %s",
	       what, nbad, n, first * 8, (unsigned long long)pagebuf[first],
	       b, a);
	if (foreign < n && foreign != first) {
		whose(pagebuf[foreign], c, &leak, a, sizeof(a));
		report("%s: the first foreign word, at byte %#x, reads %#llx: %s",
		       what, foreign * 8, (unsigned long long)pagebuf[foreign],
		       a);
	}
	return 0;
}

/* The rule of a Split/Bit page: all zero, or first, first + step, ... */
struct seq { uint64_t first, step; };

static int seq_rule(const void *arg, unsigned int i, uint64_t got,
		    uint64_t *want, int *or_zero)
{
	const struct seq *q = arg;

	*want = q->first + i * q->step;
	*or_zero = 0;
	return got == *want;
}

/* The Pool page model. */
static struct ppage *pp_find(__u64 phys)
{
	unsigned int i;

	for (i = 0; i < PP_MAX; i++)
		if (ppages[i].ctx && ppages[i].phys == phys)
			return &ppages[i];
	return NULL;
}

/* Set words [@off, +@len) of @e to @first, @first + @step, ... */
static void pp_set(struct ppage *e, __u64 off, __u64 len, uint64_t first,
		   uint64_t step)
{
	unsigned int i;

	for (i = 0; i < len / 8; i++) {
		e->w[off / 8 + i] = first + i * step;
		e->mz[off / 8 + i] = 0;
	}
}

/* The rule of a modelled Pool page. */
static int pp_rule(const void *arg, unsigned int i, uint64_t got,
		   uint64_t *want, int *or_zero)
{
	const struct ppage *e = arg;
	uint64_t w = e->w[i];

	*want = w;
	*or_zero = e->mz[i] || w == PP_OWN;
	if (w == PP_ANY)
		return 1;
	if (w == PP_OWN)
		return own_or_zero(got, e->ctx);
	return got == w || (!got && e->mz[i]);
}

/* Context @c is gone, its pool with it. */
static void pp_ctx_gone(struct mctx *c)
{
	unsigned int i;

	for (i = 0; i < PP_MAX; i++)
		if (ppages[i].ctx == c)
			ppages[i].ctx = NULL;
}

/*
 * A Pool allocation of @c the model does not know may have been made and
 * undone (scrubbed): any word of @c's pages may read zero now.
 */
static void pp_may_zero(struct mctx *c)
{
	unsigned int i;

	for (i = 0; i < PP_MAX; i++)
		if (ppages[i].ctx == c)
			memset(ppages[i].mz, 1, pg / 8);
}

/*
 * A new entry for page @phys of @c's pool: a page fresh from Split reads
 * zero; if the model forgot a page of @c, it may be that one: zero or
 * @c's words.  When the table is full an entry without objects goes.
 */
static struct ppage *pp_new(struct mctx *c, __u64 phys)
{
	unsigned int i, n = pg / 8;
	int own = c->forgot;
	struct ppage *e = NULL;

	for (i = 0; i < PP_MAX && !e; i++)
		if (!ppages[i].ctx)
			e = &ppages[i];
	for (i = 0; i < PP_MAX && !e; i++) {
		if (!ppages[i].nobj) {
			e = &ppages[i];
			e->ctx->forgot = 1;
		}
	}
	if (!e)
		return NULL;
	if (!e->w) {
		e->w = malloc(n * sizeof(*e->w));
		e->mz = malloc(n);
		if (!e->w || !e->mz) {
			free(e->w);
			free(e->mz);
			e->w = NULL;
			e->mz = NULL;
			e->ctx = NULL;
			return NULL;
		}
	}
	e->ctx = c;
	e->phys = phys;
	e->nobj = 0;
	for (i = 0; i < n; i++)
		e->w[i] = own ? PP_OWN : 0;
	memset(e->mz, 0, n);
	return e;
}

/* Split or Bit gave [@phys, +@size): no Pool page of ours is in it. */
static void pp_taken(__u64 phys, __u64 size, __u64 handle)
{
	unsigned int i;

	for (i = 0; i < PP_MAX; i++) {
		struct ppage *e = &ppages[i];

		if (!e->ctx || e->phys < phys || e->phys - phys >= size)
			continue;
		if (e->nobj) {
			st->unexpected++;
			report("new allocation handle %#llx at phys %#llx +%llu holds the Pool page %#llx of ctx %d with %u live objects",
			       (unsigned long long)handle,
			       (unsigned long long)phys,
			       (unsigned long long)size,
			       (unsigned long long)e->phys, e->ctx->id,
			       e->nobj);
			continue;
		}
		e->ctx = NULL;	/* it left the pool */
	}
}

/* The model: contexts, allocations, mappings. */
static int ctx_alive(struct mctx *c)
{
	unsigned int i;

	if (c->fd >= 0)
		return 1;
	for (i = 0; i < MAX_BUF; i++)
		if (bufs[i].used && bufs[i].ctx == c)
			return 1;
	return 0;
}

static void ctx_maybe_free(struct mctx *c)
{
	if (c->used && !ctx_alive(c)) {
		c->used = 0;
		pp_ctx_gone(c);
	}
}

static struct mctx *ctx_new(int fd)
{
	unsigned int i;

	for (i = 0; i < MAX_CTX; i++) {
		if (ctxs[i].used)
			continue;
		memset(&ctxs[i], 0, sizeof(ctxs[i]));
		ctxs[i].used = 1;
		ctxs[i].fd = fd;
		ctxs[i].id = next_ctx_id++;
		return &ctxs[i];
	}
	return NULL;
}

static void buf_maybe_free(struct mbuf *b)
{
	struct mctx *c = b->ctx;

	if (!b->used || b->live || b->nvma || b->nexp)
		return;
	if (b->pp) {
		/*
		 * Released, the object is scrubbed now; closed, when the
		 * context goes (and its pages with it).
		 */
		if (b->dropped)
			pp_set(b->pp, b->off, b->size, 0, 0);
		b->pp->nobj--;
		b->pp = NULL;
	}
	free(b->unit);
	free(b->w0);
	b->used = 0;
	ctx_maybe_free(c);
}

static unsigned int count_bufs(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_BUF; i++)
		n += bufs[i].used;
	return n;
}

static unsigned int count_vmas(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_VMA; i++)
		n += vmas[i].used;
	return n;
}

static __u64 buf_held(const struct mbuf *b)
{
	unsigned int i, n = 0;

	if (b->kind == POOL)
		return b->size;
	for (i = 0; i < b->nunits; i++)
		n += b->unit[i] != U_GONE;
	return (__u64)n * pg;
}

static __u64 held_pages(void)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < MAX_BUF; i++)
		if (bufs[i].used)
			n += buf_held(&bufs[i]) / pg;
	return n;
}

static struct mbuf *buf_find(struct mctx *c, __u64 handle)
{
	unsigned int i;

	for (i = 0; i < MAX_BUF; i++)
		if (bufs[i].used && bufs[i].live && bufs[i].ctx == c &&
		    bufs[i].handle == handle)
			return &bufs[i];
	return NULL;
}

/*
 * A new Pool object @b showed its page: find the page's entry, or make
 * one.  An entry of another context must have left that context's pool
 * (no object of it there); an entry of ours with no object in it may
 * have been through Split and back: any word may read zero now.
 */
static void pp_attach(struct mbuf *b)
{
	__u64 page = b->phys & ~(pg - 1);
	struct ppage *e = pp_find(page);

	if (e && e->ctx != b->ctx) {
		if (e->nobj) {
			st->unexpected++;
			report("new Pool object handle %#llx of ctx %d at phys %#llx: the page holds %u live objects of ctx %d",
			       (unsigned long long)b->handle, b->ctx->id,
			       (unsigned long long)b->phys, e->nobj,
			       e->ctx->id);
			b->ctx->forgot = 1;
			return;
		}
		e->ctx = NULL;
		e = NULL;
	}
	if (!e)
		e = pp_new(b->ctx, page);
	else if (!e->nobj)
		memset(e->mz, 1, pg / 8);
	if (!e) {
		b->ctx->forgot = 1;	/* its writes stay in the object */
		return;
	}
	e->nobj++;
	b->pp = e;
}

static struct mbuf *buf_new(struct mctx *c, const struct fnmm_vmctl *r,
			    int kind, int contig)
{
	unsigned int i;
	struct mbuf *b;

	for (i = 0; i < MAX_BUF; i++)
		if (!bufs[i].used)
			break;
	if (i == MAX_BUF)
		return NULL;
	b = &bufs[i];
	memset(b, 0, sizeof(*b));
	b->used = 1;
	b->live = 1;
	b->ctx = c;
	b->handle = r->handle;
	b->kind = kind;
	b->access = r->range.access;
	b->size = r->range.size;
	b->off = r->offset;
	b->map_size = (b->off + b->size + pg - 1) & ~(pg - 1);
	b->contig = contig;
	b->phys = contig == 1 || kind == POOL ? r->range.phys : 0;
	b->gid = ++next_gid;
	b->nunits = kind == POOL ? 1 : b->size / pg;
	b->unit = calloc(b->nunits ? b->nunits : 1, 1);
	if (!b->unit) {
		b->used = 0;
		return NULL;
	}
	if (kind == POOL && b->phys)
		pp_attach(b);
	else if (b->phys)
		pp_taken(b->phys, b->size, b->handle);
	return b;
}

/* The handle number is free again: remember it as a dead one. */
static void ctx_bury(struct mctx *c, __u64 handle)
{
	c->dead[c->ndead++ % DEAD_HANDLES] = handle;
}

static void buf_unlive(struct mbuf *b)
{
	if (b->nexp)
		st->exp_released++;
	b->live = 0;
	b->dropped = 1;
	ctx_bury(b->ctx, b->handle);
	buf_maybe_free(b);
}

/* A dma-buf fd or mapping of @b went: the last one lets it go. */
static void dma_unref(struct mbuf *b)
{
	b->nexp--;
	buf_maybe_free(b);
}

/* Mappings of dma-bufs of @c's allocations (Info counts them as its). */
static __u64 dma_maps_of(const struct mctx *c)
{
	unsigned int i;
	__u64 n = 0;

	for (i = 0; i < MAX_DMAP; i++)
		n += dmaps[i].used && dmaps[i].buf->ctx == c;
	return n;
}

/* A dma-buf mapping as a mapping of its allocation, for the checks. */
static struct mvma dmap_vma(const struct mdmap *m)
{
	return (struct mvma){ 1, m->buf, m->start, m->end, m->base, m->prot };
}

static struct mvma *vma_add(struct mbuf *b, __u64 start, __u64 end,
			    __u64 base, int prot)
{
	unsigned int i;

	for (i = 0; i < MAX_VMA; i++) {
		if (vmas[i].used)
			continue;
		vmas[i] = (struct mvma){ 1, b, start, end, base, prot };
		b->nvma++;
		return &vmas[i];
	}
	return NULL;
}

static struct mvma *vma_at(__u64 addr)
{
	unsigned int i;

	for (i = 0; i < MAX_VMA; i++)
		if (vmas[i].used && addr >= vmas[i].start &&
		    addr < vmas[i].end)
			return &vmas[i];
	return NULL;
}

/*
 * Whether [lo, hi) would split one of our mappings: the kernel refuses
 * that (may_split: EINVAL) for munmap, mprotect, mremap and UnMap.
 */
static int splits_vma(__u64 lo, __u64 hi)
{
	struct mvma *v = vma_at(lo);

	if (v && v->start != lo)
		return 1;
	v = hi > lo ? vma_at(hi - 1) : NULL;
	return v && v->end != hi;
}

/* Remove [start, end) from every mapping of the model (munmap). */
static void vma_cut(__u64 start, __u64 end)
{
	struct mbuf *gone[MAX_VMA];
	unsigned int i, ng = 0;

	io_disturb(start, end, 1);
	for (i = 0; i < MAX_VMA; i++) {
		struct mvma *v = &vmas[i];
		struct mvma copy = *v;

		if (!v->used || v->end <= start || v->start >= end)
			continue;
		v->used = 0;
		v->buf->nvma--;
		if (copy.start < start)
			vma_add(copy.buf, copy.start, start, copy.base,
				copy.prot);
		if (copy.end > end)
			vma_add(copy.buf, end, copy.end, copy.base, copy.prot);
		gone[ng++] = copy.buf;
	}
	for (i = 0; i < ng; i++)
		buf_maybe_free(gone[i]);
}

/* mprotect [start, end) inside mapping @v: split it in up to three. */
static void vma_protect(struct mvma *v, __u64 start, __u64 end, int prot)
{
	struct mvma copy = *v;

	if (prot == v->prot)
		return;		/* nothing changes, nothing splits */
	io_disturb(start, end, 0);
	v->used = 0;
	copy.buf->nvma--;
	if (copy.start < start)
		vma_add(copy.buf, copy.start, start, copy.base, copy.prot);
	vma_add(copy.buf, start, end, copy.base, prot);
	if (copy.end > end)
		vma_add(copy.buf, end, copy.end, copy.base, copy.prot);
}

static struct mvma *pick_vma(int need_prot)
{
	unsigned int i, n = 0, k;

	for (i = 0; i < MAX_VMA; i++)
		n += vmas[i].used && (vmas[i].prot & need_prot) == need_prot;
	if (!n)
		return NULL;
	k = rnd(n);
	for (i = 0; i < MAX_VMA; i++)
		if (vmas[i].used && (vmas[i].prot & need_prot) == need_prot &&
		    !k--)
			return &vmas[i];
	return NULL;
}

static struct mbuf *pick_buf(struct mctx *c)
{
	unsigned int i, n = 0, k;

	for (i = 0; i < MAX_BUF; i++)
		n += bufs[i].used && bufs[i].live && bufs[i].ctx == c;
	if (!n)
		return NULL;
	k = rnd(n);
	for (i = 0; i < MAX_BUF; i++)
		if (bufs[i].used && bufs[i].live && bufs[i].ctx == c && !k--)
			return &bufs[i];
	return NULL;
}

/* Units: a page of a Split/Bit allocation, or a whole Pool object. */
static __u64 unit_len(const struct mbuf *b)
{
	return b->kind == POOL ? b->size : pg;
}

static __u64 unit_addr(const struct mvma *v, unsigned int u)
{
	const struct mbuf *b = v->buf;

	return b->kind == POOL ? v->base + b->off : v->base + (__u64)u * pg;
}

static int unit_in(const struct mvma *v, unsigned int u)
{
	__u64 a = unit_addr(v, u);

	if (v->buf->kind == POOL)
		return v->start <= (a & ~(pg - 1)) && a < v->end;
	return a >= v->start && a < v->end;
}

/* The first word a write of unit @u of @b stores (the rest follow by 8). */
static uint64_t unit_word0(const struct mbuf *b, unsigned int u)
{
	return wenc(me, b->ctx->id, b->gid,
		    b->kind == POOL ? b->off : (__u64)u * pg);
}

/*
 * Write unit @u of @v's allocation through @v: a page of a Split/Bit
 * allocation; a Pool object, or with @whole its whole page.  0 or
 * -signal.  unit_written() tells the model.
 */
static int unit_fill(const struct mvma *v, unsigned int u, int whole)
{
	const struct mbuf *b = v->buf;

	if (b->kind == POOL && whole)
		return hd_fill_seq(fnmm_ptr(v->base), pg,
				   wenc(me, b->ctx->id, b->gid, 0), 8);
	return hd_fill_seq(fnmm_ptr(unit_addr(v, u)), unit_len(b),
			   unit_word0(b, u), 8);
}

/* The first word unit @u of @b must read now (0: all zero). */
static uint64_t unit_want0(const struct mbuf *b, unsigned int u)
{
	if (b->unit[u] != U_PAT)
		return 0;
	if (b->w0 && b->w0[u])
		return b->w0[u];
	return unit_word0(b, u);
}

static void unit_written(struct mbuf *b, unsigned int u, int whole, int ok)
{
	__u64 off = whole ? 0 : b->off, len = whole ? pg : b->size;

	if (b->w0)
		b->w0[u] = 0;	/* its own words again */
	if (b->kind != POOL || !b->pp) {
		b->unit[u] = ok ? U_PAT : U_UNKNOWN;
		return;
	}
	b->unit[u] = U_PAT;
	if (ok)
		pp_set(b->pp, off, len, wenc(me, b->ctx->id, b->gid, off), 8);
	else
		pp_set(b->pp, off, len, PP_ANY, 0);
}

/* The low byte of unit @u's first word as the model has it. */
static unsigned char unit_byte0(const struct mbuf *b, unsigned int u)
{
	uint64_t w;

	if (b->pp) {
		w = b->pp->w[b->off / 8];
		return w == PP_ANY || w == PP_OWN ? 0 : (unsigned char)w;
	}
	return (unsigned char)unit_want0(b, u);
}

/*
 * The rule of a Pool page without a page model (physical addresses
 * hidden): the object exactly as written (or zero), the rest of the page
 * zero or words of the same context (other objects of it).
 */
static int obj_rule(const void *arg, unsigned int i, uint64_t got,
		    uint64_t *want, int *or_zero)
{
	const struct mbuf *b = arg;

	if (i < b->off / 8 || i >= (b->off + b->size) / 8) {
		*want = PP_OWN;
		*or_zero = 1;
		return own_or_zero(got, b->ctx);
	}
	*want = b->unit[0] == U_PAT ? wenc(me, b->ctx->id, b->gid, i * 8) : 0;
	*or_zero = 0;
	return got == *want;
}

/* What a data check failure says about the unit's state in the model. */
static const char *unit_state(const struct mbuf *b, unsigned int u)
{
	if (b->pp)
		return "its page as modelled";
	switch (b->unit[u]) {
	case U_PAT:
		return b->w0 && b->w0[u] ? "holds words read from the device" :
		       "written";
	case U_ZERO:
		return "never written (zero)";
	case U_GONE:
		return "released section";
	default:
		return "unknown";
	}
}

/*
 * Check unit @u of @v's allocation through @v against the model: every
 * word of the page (for Pool, of the object's page, by the page model or
 * obj_rule()), SIGBUS for a released section, SIGSEGV when @v is not
 * readable.  Returns 1 if it is as expected.
 */
static int unit_verify(const struct mvma *v, unsigned int u, const char *when)
{
	struct mbuf *b = v->buf;
	void *p = fnmm_ptr(unit_addr(v, u));
	char s[48], what[224];
	int ret, want = 0;
	struct seq q;

	if (b->unit[u] == U_UNKNOWN)
		return 1;
	st->units++;
	if (!(v->prot & PROT_READ)) {
		if (v->prot & (PROT_WRITE | PROT_EXEC))
			return 1;	/* readable on x86 anyway: no claim */
		ret = hd_probe(p, 0);
		want = -SIGSEGV;
	} else if (b->unit[u] == U_GONE) {
		ret = hd_probe(p, 0);
		want = -SIGBUS;
	} else {
		/* A Pool object's mapping is its page: read all of it. */
		if (b->kind == POOL)
			p = fnmm_ptr(v->base);
		if (b->kind != POOL) {
			/* The common case, in one pass; a difference is judged. */
			q.first = unit_want0(b, u);
			q.step = q.first ? 8 : 0;
			ret = hd_cmp_seq(p, pg, q.first, q.step, NULL);
			if (!ret) {
				st->pages++;
				return 1;
			}
		}
		ret = hd_copy_in(pagebuf, p, pg);
		if (!ret) {
			st->pages++;
			snprintf(what, sizeof(what),
				 "%s: handle %#llx (%s, ctx %d, alloc %u) %s %u at %p, %s",
				 when, (unsigned long long)b->handle,
				 fnmm_alloc_name(b->kind), b->ctx->id, b->gid,
				 b->kind == POOL ? "object's page" : "page",
				 b->kind == POOL ? 0 : u, p, unit_state(b, u));
			if (b->pp) {
				ret = page_judge(pp_rule, b->pp, pg / 8,
						 b->ctx, what);
				/* Known from now on, as read. */
				pp_set(b->pp, 0, pg, 0, 0);
				memcpy(b->pp->w, pagebuf, pg);
				return ret;
			}
			if (b->kind == POOL)
				ret = page_judge(obj_rule, b, pg / 8, b->ctx,
						 what);
			else
				ret = page_judge(seq_rule, &q, pg / 8, b->ctx,
						 what);
			if (!ret)
				b->unit[u] = U_UNKNOWN;
			return ret;
		}
	}
	if (ret == want)
		return 1;
	st->corrupt++;
	report("%s: handle %#llx (%s, ctx %d) unit %u at %p, %s: got %s, want %s",
	       when, (unsigned long long)b->handle, fnmm_alloc_name(b->kind),
	       b->ctx->id, u, p, unit_state(b, u),
	       hd_str(ret, 0, s, sizeof(s)),
	       want == -SIGSEGV ? "SIGSEGV" : want == -SIGBUS ? "SIGBUS" :
	       "intact");
	if (b->pp)
		pp_set(b->pp, 0, pg, PP_ANY, 0);
	else
		b->unit[u] = U_UNKNOWN;
	return 0;
}

/* Check up to @max units of @v (all when 0) in [lo, hi). */
static void vma_verify(const struct mvma *v, __u64 lo, __u64 hi,
		       unsigned int max, const char *when)
{
	const struct mbuf *b = v->buf;
	unsigned int u, n = 0, first;

	if (b->kind == POOL) {
		if (unit_in(v, 0) && (unit_addr(v, 0) & ~(pg - 1)) >= lo &&
		    (unit_addr(v, 0) & ~(pg - 1)) < hi)
			unit_verify(v, 0, when);
		return;
	}
	first = b->nunits ? rnd(b->nunits) : 0;
	for (u = 0; u < b->nunits; u++) {
		unsigned int k = (first + u) % b->nunits;
		__u64 a = unit_addr(v, k);

		if (!unit_in(v, k) || a < lo || a >= hi)
			continue;
		/* Everything written is checked; a sample of the rest. */
		if (max && n >= max && b->unit[k] != U_PAT)
			continue;
		unit_verify(v, k, when);
		n++;
	}
}

/*
 * Before an allocation's data goes: check it through a readable mapping,
 * or a temporary one when it has none and its handle is live on an open
 * file.
 */
static void buf_verify(struct mbuf *b, const char *when)
{
	unsigned int i;
	struct mvma tmp;
	void *p;

	for (i = 0; i < MAX_VMA; i++) {
		if (vmas[i].used && vmas[i].buf == b &&
		    (vmas[i].prot & PROT_READ) &&
		    vmas[i].start == vmas[i].base &&
		    vmas[i].end - vmas[i].start == b->map_size) {
			vma_verify(&vmas[i], 0, ~0ULL, CHECK_UNITS, when);
			return;
		}
	}
	if (!b->live || b->ctx->fd < 0 || !(b->access & ACC_R))
		return;
	p = fnmm_mmap(b->ctx->fd, b->handle, b->map_size, PROT_READ);
	if (p == MAP_FAILED) {
		st->unexpected++;
		report("%s: mmap of live handle %#llx to check it: %s", when,
		       (unsigned long long)b->handle, errname(errno));
		return;
	}
	tmp = (struct mvma){ 1, b, fnmm_addr(p), fnmm_addr(p) + b->map_size,
			     fnmm_addr(p), PROT_READ };
	/* A new mapping: every page of it. */
	vma_verify(&tmp, 0, ~0ULL, 0, when);
	munmap(p, b->map_size);
}

/* Before [lo, hi) is unmapped: check what is there. */
static void range_verify(__u64 lo, __u64 hi, const char *when)
{
	unsigned int i;

	for (i = 0; i < MAX_VMA; i++)
		if (vmas[i].used && vmas[i].end > lo && vmas[i].start < hi)
			vma_verify(&vmas[i], lo, hi, CHECK_UNITS, when);
}

/*
 * The limits in an INFO reply: nothing is quarantined (no scrub fails
 * here); a file opened with CAP_IPC_LOCK (root) is neither limited
 * (~0) nor charged (0 used); another is limited by the caller's
 * RLIMIT_MEMLOCK, or not at all (~0: no limit, or account=0).
 */
static int info_limits_ok(const struct fnmm_info *in)
{
	if (in->quarantined)
		return 0;
	if (ipc_lock)
		return in->memlock_limit == ~0ULL && !in->memlock_used;
	return in->memlock_limit == ~0ULL || in->memlock_limit == memlock_rlimit;
}

/* INFO of every open file must agree with the model. */
static void acct_check(const char *when)
{
	static int limits_told;
	unsigned int s, i;

	for (s = 0; s < 2; s++) {
		struct mctx *c = slot[s];
		__u64 allocs = 0, bytes = 0, maps = 0;
		struct fnmm_info in;
		int ret;

		if (!c || c->tainted)
			continue;
		for (i = 0; i < MAX_BUF; i++) {
			if (!bufs[i].used || bufs[i].ctx != c)
				continue;
			allocs += bufs[i].live;
			bytes += buf_held(&bufs[i]);
		}
		for (i = 0; i < MAX_VMA; i++)
			maps += vmas[i].used && vmas[i].buf->ctx == c;
		maps += dma_maps_of(c);
		ret = fnmm_info(c->fd, &in);
		st->acct++;
		if (ret) {
			st->unexpected++;
			report("%s: INFO: %s", when, errname(ret));
			continue;
		}
		if (in.pinned > st->pinned_max)
			st->pinned_max = in.pinned;
		if (!info_limits_ok(&in) && !limits_told++) {
			st->unexpected++;
			report("after %s: INFO of ctx %d: quarantined %llu, memlock used %llu limit %#llx (CAP_IPC_LOCK %d, RLIMIT_MEMLOCK %#llx)",
			       when, c->id, (unsigned long long)in.quarantined,
			       (unsigned long long)in.memlock_used,
			       (unsigned long long)in.memlock_limit, ipc_lock,
			       (unsigned long long)memlock_rlimit);
		}
		if (in.ctx_allocations == allocs && in.ctx_bytes == bytes &&
		    in.ctx_mappings == maps)
			continue;
		st->acct_bad++;
		c->tainted = 1;
		report("after %s: INFO of ctx %d: allocations %llu bytes %llu mappings %llu, the model %llu %llu %llu",
		       when, c->id, (unsigned long long)in.ctx_allocations,
		       (unsigned long long)in.ctx_bytes,
		       (unsigned long long)in.ctx_mappings,
		       (unsigned long long)allocs, (unsigned long long)bytes,
		       (unsigned long long)maps);
	}
}

/* Unmap dma-buf mapping @m, checking it first.  Returns munmap's result. */
static int dmap_drop(struct mdmap *m, const char *when)
{
	struct mvma v = dmap_vma(m);
	struct mbuf *b = m->buf;
	int ret;

	vma_verify(&v, 0, ~0ULL, CHECK_UNITS, when);
	ret = munmap(fnmm_ptr(m->start), m->end - m->start) ? -errno : 0;
	note("%s: munmap dma-buf mapping [%#llx, %#llx) of alloc %u -> %s",
	     when, (unsigned long long)m->start, (unsigned long long)m->end,
	     b->gid, errname(ret));
	if (ret)
		return ret;
	m->used = 0;
	dma_unref(b);
	return 0;
}

/* Close dma-buf fd @d.  Returns close's result. */
static int dbuf_drop(struct mdbuf *d, const char *when)
{
	struct mbuf *b = d->buf;
	int ret = close(d->fd) ? -errno : 0;

	note("%s: close dma-buf fd %d of alloc %u -> %s", when, d->fd, b->gid,
	     errname(ret));
	d->used = 0;
	dma_unref(b);
	return ret;
}

/* GEM_CLOSE vgem's import @g.  Returns the ioctl's result. */
static int gem_drop(struct mgem *g, const char *when)
{
	struct fnmm_drm_gem_close gc = { .handle = g->handle };
	struct mbuf *b = g->buf;
	int ret = ioctl(card, FNMM_DRM_GEM_CLOSE, &gc) ? -errno : 0;

	note("%s: GEM_CLOSE %u (alloc %u) -> %s", when, g->handle, b->gid,
	     errname(ret));
	g->used = 0;
	dma_unref(b);
	return ret;
}

/* Every dma-buf fd, mapping and import of @c's allocations (all: NULL). */
static void dma_drop_ctx(struct mctx *c, const char *when)
{
	unsigned int i;

	for (i = 0; i < MAX_GEM; i++)
		if (gems[i].used && (!c || gems[i].buf->ctx == c) &&
		    gem_drop(&gems[i], when)) {
			st->unexpected++;
			report("%s: GEM_CLOSE of vgem's import failed", when);
		}

	for (i = 0; i < MAX_DMAP; i++)
		if (dmaps[i].used && (!c || dmaps[i].buf->ctx == c) &&
		    dmap_drop(&dmaps[i], when)) {
			st->unexpected++;
			report("%s: munmap of a dma-buf mapping failed", when);
		}
	for (i = 0; i < MAX_DBUF; i++)
		if (dbufs[i].used && (!c || dbufs[i].buf->ctx == c) &&
		    dbuf_drop(&dbufs[i], when)) {
			st->unexpected++;
			report("%s: close of a dma-buf fd failed", when);
		}
}

/*
 * Make room in the table of contexts: a closed file's context lives as
 * long as its mappings do, and few random munmaps take a whole mapping.
 * Unmap every mapping of one closed context (checking each first), so
 * that it goes.  Returns whether a context went.
 */
static int ctx_reap(void)
{
	struct mctx *c = NULL;
	unsigned int i;
	int ret;

	for (i = 0; i < MAX_CTX && !c; i++)
		if (ctxs[i].used && ctxs[i].fd < 0)
			c = &ctxs[i];
	if (!c)
		return 0;
	/* Its exported allocations keep it too. */
	dma_drop_ctx(c, "reaping a closed context");
	for (i = 0; i < MAX_VMA; i++) {
		struct mvma v = vmas[i];

		if (!v.used || v.buf->ctx != c)
			continue;
		vma_verify(&v, 0, ~0ULL, CHECK_UNITS, "before reaping");
		ret = munmap(fnmm_ptr(v.start), v.end - v.start) ? -errno : 0;
		note("munmap [%#llx +%#llx) to reap closed ctx %d -> %s",
		     (unsigned long long)v.start,
		     (unsigned long long)(v.end - v.start), c->id,
		     errname(ret));
		if (!expect(F_MUNMAP, ret, RES_OK, "munmap of a closed context's mapping"))
			return 0;
		vma_cut(v.start, v.end);
	}
	return !c->used;
}

/* Opening and closing files. */
static struct mctx *slot_open(int s)
{
	int fd = fnmm_open();

	if (fd < 0) {
		st->unexpected++;
		report("open %s: %s", FNMM_DEVICE_PATH, errname(fd));
		return NULL;
	}
	slot[s] = ctx_new(fd);
	if (!slot[s] && ctx_reap())
		slot[s] = ctx_new(fd);
	if (!slot[s]) {
		close(fd);
		return NULL;
	}
	note("open slot %d: ctx %d fd %d", s, slot[s]->id, fd);
	return slot[s];
}

static void slot_close(int s)
{
	struct mctx *c = slot[s];
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < MAX_BUF; i++)
		if (bufs[i].used && bufs[i].ctx == c && bufs[i].live &&
		    !bufs[i].nvma)
			buf_verify(&bufs[i], "before close");
	close(c->fd);
	note("close slot %d: ctx %d", s, c->id);
	c->fd = -1;
	slot[s] = NULL;
	for (i = 0; i < MAX_BUF; i++) {
		if (bufs[i].used && bufs[i].ctx == c) {
			bufs[i].live = 0;
			buf_maybe_free(&bufs[i]);
		}
	}
	ctx_maybe_free(c);
}

/* A slot with an open file (reopening one if none is). */
static int pick_slot(void)
{
	int s = rnd(2);

	if (!slot[s])
		s = !s;
	if (!slot[s] && !slot_open(s))
		return -1;
	return s;
}

/* The other open file, or NULL. */
static struct mctx *other_ctx(struct mctx *c)
{
	return slot[0] == c ? slot[1] : slot[0];
}

/* Random pieces of requests. */
static __u32 rnd_access(void)
{
	unsigned int r = rnd(100);
	__u32 acc;

	if (r < 65)
		return 0;
	if (r < 80)
		return RWU;
	if (r < 90)
		return FNMM_ACCESS_READABLE | FNMM_ACCESS_USER;
	acc = rnd(256);
	if (no_uncached)
		acc &= ~(FNMM_ACCESS_UNCACHED | FNMM_ACCESS_DEVICE);
	return acc;
}

static __u64 rnd_align(void)
{
	unsigned int r = rnd(100);

	if (r < 75)
		return 0;
	if (r < 92)
		return 1ULL << rnd(23);		/* 1 .. 4 MiB */
	if (r < 96)
		return 1ULL << (26 + rnd(20));	/* beyond any allocator */
	return 3 + rnd(1 << 20) * 2;		/* not a power of two */
}

static __u64 rnd_size(int kind)
{
	unsigned int r = rnd(100);
	__u64 s;

	if (kind == POOL) {
		if (r < 85)
			return 1 + rnd(pg / 2);
		if (r < 95)
			return pg / 2 + 1 + rnd(3 * pg);
		return r < 98 ? 0 : info0.region_size + 1 + rnd(pg);
	}
	if (r < 50)
		s = (1 + rnd(4)) * pg;
	else if (r < 80)
		s = (5 + rnd(28)) * pg;
	else if (r < 92)
		s = (33 + rnd(224)) * pg;
	else if (r < 95)
		s = (1 + rnd(2048)) * pg;		/* up to 8 MiB */
	else if (r < 97)
		/* More than Split can ever have free: never fits. */
		s = info0.alloc[SPLIT].size - info0.alloc[BIT].size +
		    pg * (1 + rnd(info0.alloc[BIT].size / pg));
	else if (r < 99)
		s = info0.region_size + 1 + rnd(1ULL << 40);
	else
		s = 0;
	if (s && chance(20))
		s -= rnd(pg);
	return s;
}

/*
 * Invalid bits in the fields every VMCtl request checks: 0 or which.
 * Allocator 3 (Bubble) is one of them for every operation but
 * ReserveMem, for which it asks for an arena or an object in one.
 */
static int rnd_bad_common(struct fnmm_vmctl *a)
{
	switch (rnd(40)) {
	case 0:
		a->flags |= 1U << (2 + rnd(30));
		return 1;
	case 1:
		a->flags = FNMM_ALLOC_BUBBLE;
		return 1;
	case 2:
		a->range.access |= 1U << (8 + rnd(24));
		return 1;
	case 3:
		a->range.pad = 1 + rnd(0xffffffffU);
		return 1;
	case 4:
		a->reserved[rnd(2)] = 1ULL << rnd(64);
		return 1;
	}
	return 0;
}

/*
 * Whether @a fails the checks every VMCtl request makes (EINVAL): unknown
 * flag or access bits, pad, reserved; and allocator 3 (Bubble) for every
 * operation but ReserveMem (@op F_RESERVE, or F_BUBBLE: an object).
 */
static int bad_common(const struct fnmm_vmctl *a, enum fop op)
{
	int bubble = (a->flags & FNMM_VMCTL_ALLOC_MASK) == FNMM_ALLOC_BUBBLE;

	return (a->flags & ~FNMM_VMCTL_FLAGS_ALL) ||
	       (bubble && op != F_RESERVE && op != F_BUBBLE) ||
	       (a->range.access & ~FNMM_ACCESS_ALL) || a->range.pad ||
	       a->reserved[0] || a->reserved[1];
}

static int is_pow2(__u64 x)
{
	return x && !(x & (x - 1));
}

/*
 * The results ReserveMem (@op F_RESERVE, with handle 0 if allocator 3) or
 * a Map with handle 0 (@op F_MAPC, F_MAPS) may have.
 */
static uint64_t exp_reserve(const struct fnmm_vmctl *a, enum fop op)
{
	int kind = a->flags & FNMM_VMCTL_ALLOC_MASK, sparse = op == F_MAPS;
	__u64 size = a->range.size, al = a->align;

	if (bad_common(a, op))
		return R(EINVAL);
	/* A Bubble arena is a Split allocation, in all but its objects. */
	if (kind == FNMM_ALLOC_BUBBLE)
		kind = SPLIT;
	if (!size || (al && !is_pow2(al)))
		return R(EINVAL);
	if (size > info0.region_size)
		return R(E2BIG);
	if (cached_only &&
	    (a->range.access & (FNMM_ACCESS_UNCACHED | FNMM_ACCESS_DEVICE)))
		return R(EINVAL);
	if (kind == POOL) {
		/* Pool memory is always cached. */
		if (sparse || (a->range.access & (FNMM_ACCESS_UNCACHED |
						  FNMM_ACCESS_DEVICE)))
			return R(EINVAL);
		if (al >= pg)
			return R(EINVAL) | R(E2BIG);
		if (size > pg / 2 || al > pg / 2)
			return R(E2BIG);
		return RES_OK | R(ENOMEM);
	}
	if (kind == BIT) {
		/*
		 * A limited file is charged before Bit is asked: over its
		 * RLIMIT_MEMLOCK that is ENOMEM, never satisfiable or not.
		 */
		if (size > info0.alloc[BIT].size)
			return R(E2BIG) | (ipc_lock ? 0 : R(ENOMEM));
		if (al > info0.alloc[BIT].size)
			return R(EINVAL) | R(E2BIG) | R(ENOMEM);
		return RES_OK | R(ENOMEM);
	}
	if (al > info0.region_size)
		return R(EINVAL) | R(E2BIG) | R(ENOMEM);
	/*
	 * Split serves any free run of pages; the Bit part is never free,
	 * so more than the rest of the region never fits.
	 */
	if (((size + pg - 1) & ~(pg - 1)) >
	    info0.alloc[SPLIT].size - info0.alloc[BIT].size)
		return R(ENOMEM) | R(E2BIG);
	return RES_OK | R(ENOMEM);
}

/* Check a ReserveMem/Map reply for a new allocation. */
static int reply_new(struct mctx *c, const struct fnmm_vmctl *req,
		     const struct fnmm_vmctl *r, int kind)
{
	__u32 acc = req->range.access ? req->range.access : RWU;
	__u64 want = (req->range.size + pg - 1) & ~(pg - 1);
	int ok = 1;

	ok &= reply_ok(r->handle && !(r->handle & (pg - 1)) &&
		       r->handle < (1ULL << 20) * pg,
		       "handle %#llx", (unsigned long long)r->handle);
	ok &= reply_ok(!buf_find(c, r->handle),
		       "handle %#llx is already live in this context",
		       (unsigned long long)r->handle);
	if (kind == POOL) {
		__u64 min = req->range.size < 8 ? 8 : req->range.size;

		if (req->align > min)
			min = req->align;
		ok &= reply_ok(is_pow2(r->range.size) &&
			       r->range.size >= min && r->range.size <= pg / 2,
			       "pool size %llu for %llu bytes, align %llu",
			       (unsigned long long)r->range.size,
			       (unsigned long long)req->range.size,
			       (unsigned long long)req->align);
		ok &= reply_ok(r->offset < pg && r->range.size &&
			       !(r->offset % r->range.size),
			       "pool offset %llu, size %llu",
			       (unsigned long long)r->offset,
			       (unsigned long long)r->range.size);
	} else {
		ok &= reply_ok(r->range.size == want,
			       "size %llu for %llu bytes",
			       (unsigned long long)r->range.size,
			       (unsigned long long)req->range.size);
		ok &= reply_ok(!r->offset, "offset %llu",
			       (unsigned long long)r->offset);
	}
	ok &= reply_ok(r->range.access == acc, "access %#x, asked %#x",
		       r->range.access, req->range.access);
	if (priv && r->range.phys) {
		ok &= reply_ok(r->range.phys >= info0.region_base &&
			       r->range.phys - info0.region_base <
			       info0.region_size,
			       "phys %#llx outside the region",
			       (unsigned long long)r->range.phys);
		ok &= reply_ok((r->range.phys & (pg - 1)) == r->offset,
			       "phys %#llx, offset %llu",
			       (unsigned long long)r->range.phys,
			       (unsigned long long)r->offset);
	} else {
		ok &= reply_ok(!r->range.phys || priv, "phys %#llx shown",
			       (unsigned long long)r->range.phys);
	}
	return ok;
}

/*
 * Issuing VMCtl requests, as they are or mutated: argsz too small, larger
 * (up to a page) with a zero or a non-zero tail, larger than a page
 * (E2BIG whatever the tail), a NULL/unmapped/kernel pointer, or a
 * read-only argument (the reply cannot be written).
 */
enum mut { MU_NONE, MU_SMALL, MU_BIG0, MU_BIGX, MU_NULL, MU_BADPTR, MU_RO,
	   MU_HUGE };

static const char * const mut_names[] = {
	"", " [argsz small]", " [argsz big, zero tail]",
	" [argsz big, non-zero tail]", " [NULL arg]", " [bad pointer]",
	" [read-only arg]", " [argsz over a page, zero tail]",
};

/* The largest argsz the kernel reads (above it: E2BIG, nothing read). */
#define ARGSZ_MAX	4096

static enum mut rnd_mut(void)
{
	if (!chance(12))
		return MU_NONE;
	return 1 + rnd(7);
}

/* What a mutation does to the results an operation may have. */
static uint64_t mut_want(enum mut mu, uint64_t want, int replies)
{
	switch (mu) {
	case MU_SMALL:
		return R(EINVAL);
	case MU_BIGX:
	case MU_HUGE:
		return R(E2BIG);
	case MU_NULL:
	case MU_BADPTR:
		return R(EFAULT);
	case MU_RO:
		if (!replies)
			return want;
		return (want & ~RES_OK) | (want & RES_OK ? R(EFAULT) : 0);
	default:
		return want;
	}
}

/* Whether the operation's effects happen under the mutation. */
static int mut_effects(enum mut mu, int replies)
{
	return mu == MU_NONE || mu == MU_BIG0 || (mu == MU_RO && !replies);
}

static unsigned char bigbuf[8192] __attribute__((aligned(64)));
/* Made once: an mmap per call could land where a test aims next. */
static char *ro_page, *edge_page;	/* read-only; RW page + a guard */

static int issue(int fd, unsigned long cmd, void *arg, size_t size,
		 enum mut mu)
{
	unsigned int extra, i;
	char *page;
	int ret;

	switch (mu) {
	case MU_SMALL:
		/* Below the smallest size taken (Info grew past VER0). */
		*(__u32 *)arg = rnd(cmd == FNMM_IOC_INFO ?
				    FNMM_INFO_SIZE_VER0 : size);
		return fnmm_ioctl_raw(fd, cmd, arg);
	case MU_HUGE:
		memset(bigbuf, 0, sizeof(bigbuf));
		memcpy(bigbuf, arg, size);
		*(__u32 *)bigbuf = ARGSZ_MAX + 1 + rnd(sizeof(bigbuf) - ARGSZ_MAX);
		ret = fnmm_ioctl_raw(fd, cmd, bigbuf);
		reply_ok(!memcmp(bigbuf + 4, (char *)arg + 4, size - 4),
			 "a refused argsz over a page wrote a reply");
		return ret;
	case MU_BIG0:
	case MU_BIGX:
		extra = 1 + rnd(ARGSZ_MAX - size);
		memset(bigbuf, 0, sizeof(bigbuf));
		memcpy(bigbuf, arg, size);
		*(__u32 *)bigbuf = size + extra;
		if (mu == MU_BIGX)
			bigbuf[size + rnd(extra)] = 1 + rnd(255);
		ret = fnmm_ioctl_raw(fd, cmd, bigbuf);
		memcpy(arg, bigbuf, size);
		if (mu == MU_BIG0) {
			for (i = size; i < size + extra; i++)
				if (bigbuf[i])
					break;
			reply_ok(i == size + extra,
				 "the reply wrote byte %u beyond its %zu bytes",
				 i, size);
		}
		return ret;
	case MU_NULL:
		return fnmm_ioctl_raw(fd, cmd, NULL);
	case MU_BADPTR:
		switch (rnd(3)) {
		case 0:
			return fnmm_ioctl_raw(fd, cmd, free_area(pg));
		case 1:
			return fnmm_ioctl_raw(fd, cmd,
					      (void *)0xffff888000000000ULL);
		default:
			/* argsz readable, the rest in the guard page */
			page = edge_page + pg - 8;
			memcpy(page, arg, 8);
			return fnmm_ioctl_raw(fd, cmd, page);
		}
	case MU_RO:
		mprotect(ro_page, pg, PROT_READ | PROT_WRITE);
		memcpy(ro_page, arg, size);
		mprotect(ro_page, pg, PROT_READ);
		ret = fnmm_ioctl_raw(fd, cmd, ro_page);
		return ret;
	default:
		return fnmm_ioctl_raw(fd, cmd, arg);
	}
}

static int vmctl(int fd, unsigned long cmd, struct fnmm_vmctl *a, enum mut mu)
{
	a->argsz = sizeof(*a);
	return issue(fd, cmd, a, sizeof(*a), mu);
}

/* Addresses to aim at. */
enum vkind { VA_ZERO, VA_FREE, VA_MISALIGNED, VA_USED, VA_ANON, VA_TOP,
	     VA_HIGH };

static __u64 anon_page;	/* a private anonymous page of ours */

static __u64 rnd_virt(enum vkind *k, __u64 len)
{
	unsigned int r = rnd(100);
	struct mvma *v;

	if (r < 55) {
		*k = VA_ZERO;
		return 0;
	}
	if (r < 75) {
		*k = VA_FREE;
		return fnmm_addr(free_area(len));
	}
	if (r < 82) {
		*k = VA_MISALIGNED;
		return fnmm_addr(free_area(len)) + 1 + rnd(pg - 1);
	}
	v = r < 90 ? pick_vma(0) : NULL;
	if (v) {
		*k = VA_USED;
		return v->start;
	}
	if (r < 94) {
		*k = VA_ANON;
		return anon_page;
	}
	if (r < 97) {
		*k = VA_TOP;
		return HD_TASK_TOP - pg;
	}
	*k = VA_HIGH;
	return HD_TASK_TOP + pg * rnd(1 << 20);
}

/* An address for Lookup/Access/cache/UnMap: inside a mapping or not. */
static __u64 rnd_addr(struct mvma **hit)
{
	unsigned int r = rnd(100);
	struct mvma *v;

	*hit = NULL;
	v = r < 65 ? pick_vma(0) : NULL;
	if (v) {
		*hit = v;
		return v->start + rnd(v->end - v->start);
	}
	if (r < 75)
		return fnmm_addr(free_area(pg));
	if (r < 82)
		return anon_page + rnd(pg);
	if (r < 86)
		return 0;
	if (r < 90)
		return HD_TASK_TOP - 1 - rnd(pg);
	if (r < 95)
		return HD_TASK_TOP + rnd(1ULL << 40);
	return 0xffff888000000000ULL + rnd(1ULL << 30);
}

/* A handle to aim at, and the allocation it names on @c (or NULL). */
static __u64 rnd_handle(struct mctx *c, struct mbuf **b)
{
	unsigned int r = rnd(100);
	struct mctx *o = other_ctx(c);
	struct mbuf *x;
	__u64 h;

	x = r < 65 ? pick_buf(c) : NULL;
	if (!x && r < 77 && o)
		x = pick_buf(o);	/* another file's */
	if (x)
		h = x->handle;
	else if (r < 87 && c->ndead)
		h = c->dead[rnd(c->ndead < DEAD_HANDLES ? c->ndead :
				DEAD_HANDLES)];
	else if (r < 90)
		h = 0;
	else if (r < 93)
		h = (1 + rnd(64)) * pg + 1 + rnd(pg - 1);	/* misaligned */
	else if (r < 96)
		h = (1ULL << 20) * pg + rnd(1 << 20) * pg;	/* too large */
	else
		h = (1 + rnd(256)) * pg;
	*b = buf_find(c, h);
	return h;
}

static const char *kname(int kind)
{
	if (kind == FNMM_ALLOC_BUBBLE)
		return "bubble";
	return kind >= 0 && kind < FNMM_NR_ALLOCATORS ? fnmm_alloc_name(kind) :
	       "none";
}

/* The operations. */
static void after_new_map(struct mbuf *b, __u64 addr, __u64 len, int prot)
{
	struct mvma *v = vma_add(b, addr, addr + len, addr, prot);

	/* Every page a new mapping shows is checked in full. */
	if (v)
		vma_verify(v, 0, ~0ULL, 0, "new mapping");
}

static int too_full(void)
{
	return count_bufs() >= MAX_BUF - 2 || count_vmas() >= MAX_VMA - 4 ||
	       held_pages() > MAX_HELD_PAGES;
}

static void op_release(void);
static void op_unmap(void);

/*
 * Whether a ReserveMem or Map with handle 0 that gave @ret under @mu may
 * have made an allocation and undone it (and so scrubbed a Pool object
 * the model never saw): errors that come after the allocation.
 */
static int maybe_undone(int ret, enum mut mu)
{
	switch (-ret) {
	case EFAULT:
		return mu == MU_RO;	/* the reply could not be written */
	case EEXIST:
	case ENOMEM:
	case EPERM:
	case ENOENT:
	case EACCES:
	case ENOSPC:
		return 1;
	default:
		return 0;
	}
}

static void bubble_obj(struct mctx *c, struct fnmm_vmctl *a, enum mut mu);

/* ReserveMem; with @arena a Bubble arena (allocator 3, handle 0). */
static void op_reserve(int arena)
{
	struct fnmm_vmctl a, req;
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret, kind, bubble;
	uint64_t want;
	struct mctx *c;
	struct mbuf *b;

	if (s < 0)
		return;
	if (too_full()) {
		op_release();
		return;
	}
	c = slot[s];
	memset(&a, 0, sizeof(a));
	a.flags = arena || chance(10) ? FNMM_ALLOC_BUBBLE : rnd(3);
	a.range.size = rnd_size(a.flags == POOL ? POOL : SPLIT);
	a.range.access = rnd_access();
	a.align = rnd_align();
	if (!arena && chance(10))
		a.handle = rnd(1 << 20) * pg;	/* ignored, but by Bubble */
	rnd_bad_common(&a);
	kind = a.flags & FNMM_VMCTL_ALLOC_MASK;
	bubble = kind == FNMM_ALLOC_BUBBLE;
	/* With Bubble a handle is an arena's: an object in it. */
	if (bubble && a.handle) {
		bubble_obj(c, &a, mu);
		return;
	}
	if (bubble)
		kind = SPLIT;
	req = a;
	want = mut_want(mu, exp_reserve(&a, F_RESERVE), 1);
	ret = vmctl(c->fd, FNMM_IOC_RESERVE_MEM, &a, mu);
	note("ReserveMem ctx %d %s size %llu access %#x align %#llx%s -> %s handle %#llx",
	     c->id, kname(req.flags & 3), (unsigned long long)req.range.size,
	     req.range.access, (unsigned long long)req.align, mut_names[mu],
	     errname(ret), (unsigned long long)a.handle);
	if (kind == POOL && maybe_undone(ret, mu))
		pp_may_zero(c);
	if (!expect(F_RESERVE, ret, want, "ReserveMem") || ret ||
	    !mut_effects(mu, 1))
		return;
	reply_new(c, &req, &a, kind);
	b = buf_new(c, &a, kind, 1);
	if (!b) {
		fnmm_release(c->fd, a.handle);
		if (kind == POOL)
			pp_may_zero(c);
		return;
	}
	if (bubble) {
		b->arena = 1;	/* top 0: nothing handed out yet */
		st->arenas++;
	}
}

/* A live Bubble arena of @c, NULL if none. */
static struct mbuf *pick_arena(struct mctx *c)
{
	unsigned int i, n = 0, k;

	for (i = 0; i < MAX_BUF; i++)
		n += bufs[i].used && bufs[i].live && bufs[i].ctx == c &&
		     bufs[i].arena;
	if (!c || !n)
		return NULL;
	k = rnd(n);
	for (i = 0; i < MAX_BUF; i++)
		if (bufs[i].used && bufs[i].live && bufs[i].ctx == c &&
		    bufs[i].arena && !k--)
			return &bufs[i];
	return NULL;
}

/*
 * The results of an object of @a (ReserveMem, allocator 3, a non-zero
 * handle) on a file whose live allocation of that handle is @b (NULL:
 * none), in the kernel's order; on success it goes at *@at, *@need bytes
 * (the top rounded up to max(align, granule), the size to the granule).
 */
static uint64_t exp_bubble(const struct fnmm_vmctl *a, const struct mbuf *b,
			   __u64 *at, __u64 *need)
{
	__u64 g = FNMM_BUBBLE_GRANULE, size = a->range.size, al = a->align;
	__u64 align = al > g ? al : g;

	if (bad_common(a, F_BUBBLE))
		return R(EINVAL);
	if (!b)
		return R(ENOENT);
	if (!b->arena)
		return R(EINVAL);
	if (!size || (al && !is_pow2(al)))
		return R(EINVAL);
	if (size > b->size)
		return R(E2BIG);
	if (align > b->size)
		return R(EINVAL);
	*need = (size + g - 1) & ~(g - 1);
	*at = (b->top + align - 1) & ~(align - 1);
	return *at + *need > b->size ? R(ENOMEM) : RES_OK;
}

/*
 * An object in an arena: ReserveMem of @a (allocator 3, a non-zero
 * handle) on @c under @mu, counted as a Bubble object whichever
 * operation made it.  The reply must put it where the model says, and
 * the arena's top moves past it; a reply that cannot be written has it
 * taken back (nothing came after it): the top stays.
 */
static void bubble_obj(struct mctx *c, struct fnmm_vmctl *a, enum mut mu)
{
	struct mbuf *b = buf_find(c, a->handle);
	__u64 h = a->handle, at = 0, need = 0;
	struct fnmm_vmctl req = *a;
	uint64_t want;
	int ret;

	want = mut_want(mu, exp_bubble(a, b, &at, &need), 1);
	ret = vmctl(c->fd, FNMM_IOC_RESERVE_MEM, a, mu);
	note("Bubble object ctx %d handle %#llx (%s, top %llu of %llu) size %llu align %#llx%s -> %s offset %llu size %llu",
	     c->id, (unsigned long long)h,
	     !b ? "not live" : b->arena ? "arena" : kname(b->kind),
	     b ? (unsigned long long)b->top : 0ULL,
	     b ? (unsigned long long)b->size : 0ULL,
	     (unsigned long long)req.range.size,
	     (unsigned long long)req.align, mut_names[mu], errname(ret),
	     (unsigned long long)a->offset,
	     (unsigned long long)a->range.size);
	if (!expect(F_BUBBLE, ret, want, "Bubble object") || ret ||
	    !mut_effects(mu, 1))
		return;
	reply_ok(a->offset == at,
		 "Bubble object in %#llx (top %llu of %llu) of %llu bytes, align %llu: offset %llu, want %llu",
		 (unsigned long long)h, (unsigned long long)b->top,
		 (unsigned long long)b->size,
		 (unsigned long long)req.range.size,
		 (unsigned long long)req.align,
		 (unsigned long long)a->offset, (unsigned long long)at);
	reply_ok(a->range.size == need,
		 "Bubble object of %llu bytes: size %llu, want %llu",
		 (unsigned long long)req.range.size,
		 (unsigned long long)a->range.size, (unsigned long long)need);
	reply_ok(a->handle == h, "Bubble object: handle %#llx, asked %#llx",
		 (unsigned long long)a->handle, (unsigned long long)h);
	reply_ok(a->range.access == b->access,
		 "Bubble object: access %#x, the arena's %#x",
		 a->range.access, b->access);
	/* Shown as for the arena itself (reply_new()). */
	if (!priv)
		reply_ok(!a->range.phys, "Bubble object: phys %#llx shown",
			 (unsigned long long)a->range.phys);
	else if (b->phys)
		reply_ok(a->range.phys == b->phys + at,
			 "Bubble object at %llu: phys %#llx, want %#llx",
			 (unsigned long long)at,
			 (unsigned long long)a->range.phys,
			 (unsigned long long)(b->phys + at));
	b->top = at + need;
	st->objects++;
}

/*
 * Objects in arenas: mostly one of the file's arenas, else any of its
 * allocations (EINVAL unless an arena), another file's arena, a
 * released, unknown or bad handle (ENOENT); sizes from 0 to beyond the
 * arena, around what it has left; alignments mostly the granule's, up
 * to beyond the arena, some not powers of two.
 */
static void op_bubble(void)
{
	enum mut mu = rnd_mut();
	int s = pick_slot();
	struct mbuf *b, *x, *y;
	unsigned int r = rnd(100);
	struct fnmm_vmctl a;
	__u64 h, n, left;
	struct mctx *c;

	if (s < 0)
		return;
	c = slot[s];
	x = pick_arena(c);
	/* A file without an arena mostly gets one first. */
	if (!x && chance(60) && !too_full()) {
		op_reserve(1);
		return;
	}
	if (x && r < 70)
		h = x->handle;
	else if (r < 80 && (y = pick_buf(c)))
		h = y->handle;
	else if (r < 85 && (y = pick_arena(other_ctx(c))))
		h = y->handle;
	else
		do
			h = rnd_handle(c, &b);
		while (!h);	/* handle 0 would make an arena */
	b = buf_find(c, h);
	n = b && b->arena ? b->size : 4 * pg;
	left = b && b->arena ? b->size - b->top : n;

	memset(&a, 0, sizeof(a));
	a.flags = FNMM_ALLOC_BUBBLE;
	a.handle = h;
	r = rnd(100);
	if (r < 6)
		a.range.size = 0;
	else if (r < 50)
		a.range.size = 1 + rnd(4096);
	else if (r < 62)
		a.range.size = 1 + rnd(64);
	else if (r < 74)	/* around what is left */
		a.range.size = left - (left < 32 ? left : 32) + rnd(64);
	else if (r < 86)
		a.range.size = 1 + rnd(left + 1);
	else if (r < 95)	/* around the arena's size */
		a.range.size = n - 32 + rnd(64);
	else
		a.range.size = n + 1 + rnd(1ULL << 40);
	r = rnd(100);
	if (r < 65)
		a.align = 0;
	else if (r < 80)
		a.align = 1ULL << rnd(5);		/* 1 .. the granule */
	else if (r < 95)	/* up to 4 times the arena */
		a.align = 1ULL << rnd(63 - __builtin_clzll(n) + 3);
	else
		a.align = (3 + rnd(64) * 2) << rnd(12);	/* not a power of two */
	/* Ignored: the access, the address, the offset (an output). */
	if (chance(20))
		a.range.access = rnd_access();
	if (chance(10))
		a.range.virt = hd_next(&rng);
	if (chance(10))
		a.offset = hd_next(&rng);
	rnd_bad_common(&a);
	bubble_obj(c, &a, mu);
}

static uint64_t exp_map_virt(enum vkind vk, __u64 virt, __u64 len)
{
	/* The end of the address space is checked before overlaps. */
	if (virt && (len > HD_TASK_TOP || virt > HD_TASK_TOP - len))
		return vk == VA_TOP ? RES_OK | R(ENOMEM) | R(EEXIST) : R(ENOMEM);
	switch (vk) {
	case VA_MISALIGNED:
	case VA_HIGH:
		return R(EINVAL);
	case VA_USED:
	case VA_ANON:
		return R(EEXIST);
	case VA_TOP:
		return len > pg ? R(ENOMEM) : RES_OK | R(ENOMEM) | R(EEXIST);
	default:
		return RES_OK | R(ENOMEM);
	}
}

static int acc_prot(__u32 acc)
{
	return (acc & ACC_R ? PROT_READ : 0) | (acc & ACC_W ? PROT_WRITE : 0) |
	       (acc & ACC_X ? PROT_EXEC : 0);
}

static void op_map(int sparse)
{
	enum fop op = sparse ? F_MAPS : F_MAPC;
	struct fnmm_vmctl a, req;
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret, kind, fresh;
	uint64_t want, vwant;
	__u64 len, h;
	enum vkind vk;
	struct mctx *c;
	struct mbuf *b = NULL;
	__u32 acc;

	if (s < 0)
		return;
	if (too_full()) {
		if (chance(50))
			op_unmap();
		else
			op_release();
		return;
	}
	c = slot[s];
	memset(&a, 0, sizeof(a));
	a.flags = rnd(3);
	kind = a.flags;
	fresh = chance(50);
	h = fresh ? 0 : rnd_handle(c, &b);
	fresh = !h;		/* handle 0 reserves, whoever picked it */
	a.handle = h;
	a.range.size = fresh ? rnd_size(kind) : rnd(1 << 20);
	a.range.access = fresh ? rnd_access() : (chance(60) ? 0 : rnd_access());
	if (fresh)
		a.align = rnd_align();
	if (fresh)
		len = kind == POOL ? pg : (a.range.size + pg - 1) & ~(pg - 1);
	else
		len = b ? b->map_size : pg;
	a.range.virt = rnd_virt(&vk, len ? len : pg);
	rnd_bad_common(&a);
	req = a;

	/* The expectation, in the order the ABI checks. */
	acc = 0;
	if (bad_common(&a, op)) {
		want = R(EINVAL);
	} else if (vk == VA_MISALIGNED || vk == VA_HIGH) {
		want = R(EINVAL);
	} else if (!h) {
		want = exp_reserve(&a, op);
		acc = a.range.access ? a.range.access : RWU;
		if (want & RES_OK) {
			vwant = exp_map_virt(vk, a.range.virt, len);
			if ((acc & ACC_X) && noexec)
				vwant = R(EPERM);
			want = (want & ~RES_OK) | vwant;
		}
	} else if (!b) {
		want = R(ENOENT);
	} else {
		acc = a.range.access ? a.range.access : b->access;
		if (!sparse && b->contig == 0)
			want = R(EINVAL);
		else if (acc & ~b->access)
			want = R(EACCES);
		else if ((acc & ACC_X) && noexec)
			want = R(EPERM);
		else
			want = exp_map_virt(vk, a.range.virt, len);
		/* Contiguity is checked first: unknown, it may refuse. */
		if (!sparse && b->contig < 0)
			want |= R(EINVAL);
		/* "MapSparse ... Not for Pool": of a Pool handle too? */
		if (sparse && b->kind == POOL && !(acc & ~b->access))
			want |= R(EINVAL);
	}
	want = mut_want(mu, want, 1);
	ret = vmctl(c->fd, sparse ? FNMM_IOC_MAP_SPARSE :
		    FNMM_IOC_MAP_CONTIGUOUS, &a, mu);
	note("%s ctx %d handle %#llx %s size %llu access %#x align %#llx virt %#llx%s -> %s handle %#llx virt %#llx",
	     fops[op].name, c->id, (unsigned long long)h, kname(req.flags & 3),
	     (unsigned long long)req.range.size, req.range.access,
	     (unsigned long long)req.align,
	     (unsigned long long)req.range.virt, mut_names[mu], errname(ret),
	     (unsigned long long)a.handle, (unsigned long long)a.range.virt);
	if (!h && kind == POOL && maybe_undone(ret, mu))
		pp_may_zero(c);
	if (!expect(op, ret, want, fops[op].name))
		goto learn;
	if (ret || !mut_effects(mu, 1))
		goto learn;
	if (!h) {
		struct fnmm_vmctl rr = a;

		/* The reply of a new allocation, as ReserveMem's. */
		rr.range.access = a.range.access;
		rr.offset = a.offset;
		if (sparse)
			rr.range.phys = 0;
		reply_new(c, &req, &rr, kind);
		b = buf_new(c, &a, kind, sparse ? -1 : 1);
		if (!b) {
			munmap(fnmm_ptr(a.range.virt & ~(pg - 1)), len);
			fnmm_release(c->fd, a.handle);
			if (kind == POOL)
				pp_may_zero(c);
			return;
		}
	} else {
		reply_ok(a.handle == h, "handle %#llx, asked %#llx",
			 (unsigned long long)a.handle, (unsigned long long)h);
		reply_ok(a.range.size == b->size, "size %llu, allocation %llu",
			 (unsigned long long)a.range.size,
			 (unsigned long long)b->size);
		reply_ok(a.range.access == acc, "access %#x, want %#x",
			 a.range.access, acc);
		reply_ok(a.offset == b->off, "offset %llu, want %llu",
			 (unsigned long long)a.offset,
			 (unsigned long long)b->off);
		if (b->contig < 0 && !sparse)
			b->contig = 1;
	}
	reply_ok(!((a.range.virt - b->off) & (pg - 1)),
		 "virt %#llx not the page + offset %llu",
		 (unsigned long long)a.range.virt, (unsigned long long)b->off);
	if (req.range.virt)
		reply_ok(a.range.virt == req.range.virt + b->off,
			 "virt %#llx, asked %#llx",
			 (unsigned long long)a.range.virt,
			 (unsigned long long)req.range.virt);
	if (priv && b->phys && a.range.phys) {
		/* The first block left: where the first backed page was. */
		unsigned int u = 0;

		while (b->kind != POOL && u < b->nunits && b->unit[u] == U_GONE)
			u++;
		reply_ok(a.range.phys == b->phys + (__u64)u * pg,
			 "phys %#llx, want %#llx", (unsigned long long)a.range.phys,
			 (unsigned long long)(b->phys + (__u64)u * pg));
	}
	after_new_map(b, a.range.virt - b->off, b->map_size, acc_prot(acc));
	return;
learn:
	/* An allocation of unknown contiguity answers for itself. */
	if (b && h && !sparse && b->contig < 0 && mut_effects(mu, 1) &&
	    !bad_common(&req, op) && vk != VA_MISALIGNED && vk != VA_HIGH) {
		if (ret == -EINVAL)
			b->contig = 0;
		else	/* anything else came after the check */
			b->contig = 1;
	}
}

/* Is [lo, hi) wholly mapped by @c's allocations?  Any released section? */
static int covered(struct mctx *c, __u64 lo, __u64 hi, int *gone,
		   int *uncached)
{
	__u64 a = lo;

	*gone = 0;
	*uncached = 0;
	while (a < hi) {
		struct mvma *v = vma_at(a);
		__u64 e, p;

		if (!v || v->buf->ctx != c)
			return 0;
		e = v->end < hi ? v->end : hi;
		if (v->buf->access & (FNMM_ACCESS_UNCACHED | FNMM_ACCESS_DEVICE))
			*uncached = 1;
		if (v->buf->kind != POOL)
			for (p = a & ~(pg - 1); p < e; p += pg)
				if (v->buf->unit[(p - v->base) / pg] == U_GONE)
					*gone = 1;
		a = e;
	}
	return 1;
}

static void op_unmap(void)
{
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret, gone, unc;
	struct fnmm_vmctl a;
	struct mvma *v;
	struct mctx *c;
	uint64_t want;
	__u64 lo, n;

	if (s < 0)
		return;
	c = slot[s];
	memset(&a, 0, sizeof(a));
	a.flags = rnd(3);
	v = pick_vma(0);
	if (v && chance(75)) {
		/* Whole or part of one of our mappings (maybe another file's). */
		n = (v->end - v->start) / pg;
		lo = no_partial ? 0 : rnd(n);
		a.range.virt = v->start + lo * pg;
		a.range.size = no_partial ? n * pg : (1 + rnd(n - lo)) * pg;
		/* Past or before it: maybe into an adjacent mapping. */
		if (!no_partial && chance(15))
			a.range.size += pg;
		if (!no_partial && chance(5))
			a.range.virt -= pg;
		if (chance(5))
			a.range.virt += 1 + rnd(pg - 1);
		if (chance(5))
			a.range.size -= 1 + rnd(pg - 1);
		if (chance(3))
			a.range.size = 0;
	} else {
		switch (rnd(5)) {
		case 0:
			a.range.virt = fnmm_addr(free_area(4 * pg));
			a.range.size = 4 * pg;
			break;
		case 1:
			a.range.virt = anon_page;
			a.range.size = pg;
			break;
		case 2:
			a.range.virt = v ? v->start : pg;
			a.range.size = -a.range.virt + pg;	/* wraps */
			break;
		case 3:
			a.range.virt = HD_TASK_TOP - pg;
			a.range.size = 2 * pg;
			break;
		default:
			a.range.virt = 0;
			a.range.size = pg;
			break;
		}
	}
	rnd_bad_common(&a);
	if (bad_common(&a, F_UNMAP) || (a.range.virt & (pg - 1)) ||
	    (a.range.size & (pg - 1)) || !a.range.size ||
	    a.range.virt + a.range.size < a.range.virt)
		want = R(EINVAL);
	else if (a.range.virt + a.range.size > HD_TASK_TOP)
		want = R(EFAULT);
	else if (!covered(c, a.range.virt, a.range.virt + a.range.size, &gone,
			  &unc))
		want = R(EFAULT);
	else if (splits_vma(a.range.virt, a.range.virt + a.range.size))
		want = R(EINVAL);
	else
		want = RES_OK;
	want = mut_want(mu, want, 0);
	if ((want & RES_OK) && mut_effects(mu, 0))
		range_verify(a.range.virt, a.range.virt + a.range.size,
			     "before UnMap");
	ret = vmctl(c->fd, FNMM_IOC_UNMAP, &a, mu);
	note("UnMap ctx %d [%#llx +%#llx)%s -> %s", c->id,
	     (unsigned long long)a.range.virt,
	     (unsigned long long)a.range.size, mut_names[mu], errname(ret));
	if (expect(F_UNMAP, ret, want, "UnMap") && !ret && mut_effects(mu, 0))
		vma_cut(a.range.virt, a.range.virt + a.range.size);
}

static void op_release(void)
{
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret;
	struct fnmm_vmctl a;
	struct mbuf *b;
	struct mctx *c;
	uint64_t want;

	if (s < 0)
		return;
	c = slot[s];
	memset(&a, 0, sizeof(a));
	a.flags = rnd(3);
	a.handle = rnd_handle(c, &b);
	rnd_bad_common(&a);
	want = bad_common(&a, F_RELEASE) ? R(EINVAL) : b ? RES_OK : R(ENOENT);
	want = mut_want(mu, want, 0);
	if (b && (want & RES_OK) && mut_effects(mu, 0) && !b->nvma)
		buf_verify(b, "before Release");
	ret = vmctl(c->fd, FNMM_IOC_RELEASE, &a, mu);
	note("Release ctx %d handle %#llx%s -> %s", c->id,
	     (unsigned long long)a.handle, mut_names[mu], errname(ret));
	if (expect(F_RELEASE, ret, want, "Release") && !ret &&
	    mut_effects(mu, 0))
		buf_unlive(b);
}

static void op_relsec(void)
{
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret, invalid, all_gone = 1, any_gone = 0, left;
	int busy;
	struct fnmm_vmctl a;
	struct mbuf *b;
	struct mctx *c;
	uint64_t want;
	__u64 p, h, n;

	if (s < 0)
		return;
	c = slot[s];
	memset(&a, 0, sizeof(a));
	a.flags = rnd(3);
	h = a.handle = rnd_handle(c, &b);
	n = b && b->kind != POOL ? b->nunits : 4;
	a.offset = rnd(n) * pg;
	a.range.size = (1 + rnd(n - a.offset / pg)) * pg;
	switch (rnd(12)) {
	case 0:
		a.offset += 1 + rnd(pg - 1);
		break;
	case 1:
		a.range.size += 1 + rnd(pg - 1);
		break;
	case 2:
		a.range.size = 0;
		break;
	case 3:
		a.range.size += pg * (1 + rnd(4));	/* past the end */
		break;
	case 4:
		a.offset = -pg * (1 + rnd(4));		/* wraps */
		break;
	case 5:
		a.offset = n * pg;			/* at the end */
		break;
	}
	rnd_bad_common(&a);
	if (bad_common(&a, F_RELSEC)) {
		want = R(EINVAL);
	} else if (!b) {
		want = R(ENOENT);
	} else {
		/* Not for Pool objects, nor Bubble arenas. */
		invalid = b->kind == POOL || b->arena || !a.range.size ||
			  (a.offset & (pg - 1)) || (a.range.size & (pg - 1)) ||
			  a.offset >= b->size ||
			  a.range.size > b->size - a.offset;
		/* Mapped, or exported (a dma-buf's importers hold it). */
		busy = b->nvma || b->nexp;
		if (invalid && busy)
			want = R(EINVAL) | R(EBUSY);
		else if (invalid)
			want = R(EINVAL);
		else if (busy)
			want = R(EBUSY);
		else
			want = RES_OK | R(ENOMEM);
		if (!invalid) {
			for (p = a.offset; p < a.offset + a.range.size; p += pg) {
				if (b->unit[p / pg] == U_GONE)
					any_gone = 1;
				else
					all_gone = 0;
			}
			/* "A released section cannot be released again." */
			if (!busy && all_gone)
				want = R(EINVAL);
			else if (!busy && any_gone)
				want |= R(EINVAL);	/* partly: unclear */
		}
	}
	want = mut_want(mu, want, 0);
	ret = vmctl(c->fd, FNMM_IOC_RELEASE_SECTIONS, &a, mu);
	note("ReleaseSections ctx %d handle %#llx [%#llx +%#llx)%s -> %s",
	     c->id, (unsigned long long)h, (unsigned long long)a.offset,
	     (unsigned long long)a.range.size, mut_names[mu], errname(ret));
	if (want == R(EINVAL) && b && all_gone && !ret &&
	    !bad_common(&a, F_RELSEC) &&
	    mut_effects(mu, 0)) {
		st->calls[F_RELSEC][hd_err_index(ret)]++;
		deviation("ReleaseSections of handle %#llx [%#llx +%#llx), a section released already: got 0, the ABI says EINVAL",
			  (unsigned long long)h, (unsigned long long)a.offset,
			  (unsigned long long)a.range.size);
		return;
	}
	if (!expect(F_RELSEC, ret, want, "ReleaseSections") || ret ||
	    !mut_effects(mu, 0))
		return;
	for (p = a.offset; p < a.offset + a.range.size; p += pg)
		b->unit[p / pg] = U_GONE;
	b->contig = 0;
	for (left = 0, p = 0; p < b->nunits; p++)
		left += b->unit[p] != U_GONE;
	if (left)
		return;
	/* "Releasing the last section releases the allocation." */
	buf_unlive(b);
	ret = fnmm_release(c->fd, h);
	note("Release ctx %d handle %#llx (after its last section) -> %s",
	     c->id, (unsigned long long)h, errname(ret));
	if (ret == -ENOENT)
		return;
	deviation("ReleaseSections of the last section of handle %#llx left the allocation live (Release then gave %s, want ENOENT)",
		  (unsigned long long)h, errname(ret));
}

static void lookup_reply(int phys, __u64 virt, const struct mvma *v,
			 const struct fnmm_vmctl *ap);

static void op_lookup(int phys)
{
	enum fop op = phys ? F_LOOKUP : F_ACCESS;
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret;
	struct fnmm_vmctl a;
	struct mvma *v;
	struct mbuf *b;
	struct mctx *c;
	uint64_t want;
	__u64 virt;

	if (s < 0)
		return;
	c = slot[s];
	memset(&a, 0, sizeof(a));
	a.flags = rnd(3);
	virt = a.range.virt = rnd_addr(&v);
	if (chance(10))
		a.handle = rnd(1 << 20) * pg;	/* ignored */
	rnd_bad_common(&a);
	v = vma_at(virt);
	if (v && v->buf->ctx != c)
		v = NULL;
	b = v ? v->buf : NULL;
	if (bad_common(&a, op))
		want = R(EINVAL);
	else if (phys && !priv)
		want = R(EPERM);
	else if (!v)
		want = R(EFAULT);
	else if (phys && b->kind != POOL &&
		 b->unit[(virt - v->base) / pg] == U_GONE)
		want = R(EFAULT);
	/* Only an object's own bytes have an offset in it. */
	else if (phys && (virt - v->base < b->off ||
			  virt - v->base - b->off >= b->size))
		want = R(EFAULT);
	else
		want = RES_OK;
	want = mut_want(mu, want, 1);
	ret = vmctl(c->fd, phys ? FNMM_IOC_LOOKUP_VIRTUAL : FNMM_IOC_ACCESS,
		    &a, mu);
	note("%s ctx %d virt %#llx%s -> %s", fops[op].name, c->id,
	     (unsigned long long)virt, mut_names[mu], errname(ret));
	if (!expect(op, ret, want, fops[op].name) || ret || !mut_effects(mu, 1))
		return;
	lookup_reply(phys, virt, v, &a);
}

/* Check a LookupVirtual (@phys) or Access reply for @virt in mapping @v. */
static void lookup_reply(int phys, __u64 virt, const struct mvma *v,
			 const struct fnmm_vmctl *ap)
{
	enum fop op = phys ? F_LOOKUP : F_ACCESS;
	const struct fnmm_vmctl a = *ap;
	const struct mbuf *b = v->buf;
	__u64 off;
	__u32 acc;

	off = virt - v->base;
	acc = FNMM_ACCESS_USER | (b->access & ACC_CACHE_BITS) |
	      (v->prot & PROT_READ ? ACC_R : 0) |
	      (v->prot & PROT_WRITE ? ACC_W : 0) |
	      (v->prot & PROT_EXEC ? ACC_X : 0);
	reply_ok(a.handle == b->handle, "%s %#llx: handle %#llx, want %#llx",
		 fops[op].name, (unsigned long long)virt,
		 (unsigned long long)a.handle, (unsigned long long)b->handle);
	reply_ok(a.offset == off - b->off, "%s %#llx: offset %#llx, want %#llx",
		 fops[op].name, (unsigned long long)virt,
		 (unsigned long long)a.offset,
		 (unsigned long long)(off - b->off));
	reply_ok(a.range.size == v->end - virt, "%s %#llx: size %llu, want %llu",
		 fops[op].name, (unsigned long long)virt,
		 (unsigned long long)a.range.size,
		 (unsigned long long)(v->end - virt));
	reply_ok(a.range.access == acc, "%s %#llx: access %#x, want %#x",
		 fops[op].name, (unsigned long long)virt, a.range.access, acc);
	if (!phys) {
		reply_ok(!a.range.phys, "Access %#llx: phys %#llx",
			 (unsigned long long)virt,
			 (unsigned long long)a.range.phys);
		return;
	}
	reply_ok(a.range.phys >= info0.region_base &&
		 a.range.phys - info0.region_base < info0.region_size &&
		 (a.range.phys & (pg - 1)) == (virt & (pg - 1)),
		 "LookupVirtual %#llx: phys %#llx", (unsigned long long)virt,
		 (unsigned long long)a.range.phys);
	if (b->phys)
		reply_ok(a.range.phys == b->phys - b->off + off,
			 "LookupVirtual %#llx: phys %#llx, want %#llx",
			 (unsigned long long)virt,
			 (unsigned long long)a.range.phys,
			 (unsigned long long)(b->phys - b->off + off));
}

static void op_cache(enum fop op)
{
	static const unsigned long cmds[] = {
		FNMM_IOC_CACHE_CLEAN, FNMM_IOC_CACHE_INVALIDATE,
		FNMM_IOC_CACHE_CLEAN_INVALIDATE,
	};
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret, gone, unc;
	struct fnmm_vmctl a;
	struct mvma *v;
	struct mctx *c;
	uint64_t want;
	__u64 lo, hi;

	if (s < 0)
		return;
	c = slot[s];
	memset(&a, 0, sizeof(a));
	a.flags = rnd(3);
	a.range.virt = rnd_addr(&v);
	if (v) {
		a.range.size = 1 + rnd(v->end - a.range.virt);
		if (chance(10))
			a.range.size += pg;
	} else {
		a.range.size = 1 + rnd(4 * pg);
	}
	if (chance(4))
		a.range.size = 0;
	if (chance(3))
		a.range.size = -a.range.virt + 1 + rnd(pg);	/* wraps */
	rnd_bad_common(&a);
	lo = a.range.virt;
	hi = lo + a.range.size;
	if (bad_common(&a, op) || !a.range.size || hi < lo)
		want = R(EINVAL);
	else if (hi > HD_TASK_TOP)
		want = R(EFAULT);
	else if (!covered(c, lo, hi, &gone, &unc))
		want = R(EFAULT);
	else if (gone)
		want = unc ? RES_OK | R(EFAULT) : R(EFAULT);
	else
		want = RES_OK;
	want = mut_want(mu, want, 0);
	ret = vmctl(c->fd, cmds[op - F_CLEAN], &a, mu);
	note("%s ctx %d [%#llx +%#llx)%s -> %s", fops[op].name, c->id,
	     (unsigned long long)lo, (unsigned long long)a.range.size,
	     mut_names[mu], errname(ret));
	expect(op, ret, want, fops[op].name);
}

static void op_info(void)
{
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret;
	struct fnmm_info in;
	uint64_t want;

	if (s < 0)
		return;
	if (mu == MU_RO)
		mu = MU_NULL;
	memset(&in, 0, sizeof(in));
	in.argsz = sizeof(in);
	in.version = rnd(2) ? 0 : 0xdead;	/* input fields are ignored */
	want = mu == MU_NONE || mu == MU_BIG0 ? RES_OK : mut_want(mu, RES_OK, 1);
	ret = issue(slot[s]->fd, FNMM_IOC_INFO, &in, sizeof(in), mu);
	note("Info ctx %d%s -> %s", slot[s]->id, mut_names[mu], errname(ret));
	if (!expect(F_INFO, ret, want, "Info") || ret)
		return;
	reply_ok(in.argsz == sizeof(in) && in.version == FNMM_ABI_VERSION &&
		 in.page_size == pg && in.region_size == info0.region_size &&
		 in.region_base == info0.region_base,
		 "Info: argsz %u version %u page %llu region %#llx+%llu",
		 in.argsz, in.version, (unsigned long long)in.page_size,
		 (unsigned long long)in.region_base,
		 (unsigned long long)in.region_size);
	/* Each counter is read on its own: only what holds under races. */
	reply_ok(in.alloc[SPLIT].free <= in.alloc[SPLIT].size &&
		 in.alloc[BIT].free <= in.alloc[BIT].size &&
		 in.alloc[SPLIT].largest <= in.alloc[SPLIT].size &&
		 in.alloc[BIT].largest <= in.alloc[BIT].size &&
		 in.alloc[POOL].free <= in.alloc[POOL].size,
		 "Info: free/largest above size: split %llu/%llu/%llu bit %llu/%llu/%llu pool %llu/%llu",
		 (unsigned long long)in.alloc[SPLIT].free,
		 (unsigned long long)in.alloc[SPLIT].largest,
		 (unsigned long long)in.alloc[SPLIT].size,
		 (unsigned long long)in.alloc[BIT].free,
		 (unsigned long long)in.alloc[BIT].largest,
		 (unsigned long long)in.alloc[BIT].size,
		 (unsigned long long)in.alloc[POOL].free,
		 (unsigned long long)in.alloc[POOL].size);
	/*
	 * Pages the rest of the kernel holds (pipes after vmsplice, I/O in
	 * flight) keep their released blocks waiting: with --blkdev any
	 * amount within the region; without, nothing the fuzzer does pins.
	 */
	reply_ok(in.pinned <= in.region_size, "Info: pinned %llu above the region",
		 (unsigned long long)in.pinned);
	reply_ok(blkdev || in.pinned == info0.pinned,
		 "Info: pinned %llu without any get_user_pages() user",
		 (unsigned long long)in.pinned);
	if (in.pinned > st->pinned_max)
		st->pinned_max = in.pinned;
	/* As root: nothing quarantined, not limited, not charged. */
	reply_ok(info_limits_ok(&in),
		 "Info: quarantined %llu, memlock used %llu limit %#llx (CAP_IPC_LOCK %d, RLIMIT_MEMLOCK %#llx)",
		 (unsigned long long)in.quarantined,
		 (unsigned long long)in.memlock_used,
		 (unsigned long long)in.memlock_limit, ipc_lock,
		 (unsigned long long)memlock_rlimit);
}

static void op_raw(void)
{
	int s = pick_slot(), ret;
	unsigned int dir, type, nr, size;
	unsigned long cmd;
	void *arg;

	if (s < 0)
		return;
	dir = rnd(4);
	type = chance(60) ? FNMM_IOC_MAGIC : 0x80 + rnd(0x80);
	if (type == 0x94)	/* FICLONE & co. */
		type = 0x95;
	nr = rnd(256);
	size = chance(50) ? 0 : rnd(1 << 14);
	/* Numbers 1 (ReserveMem) to 13 (Export) are known: skip them. */
	if (type == FNMM_IOC_MAGIC && dir == _IOC_NONE && !size &&
	    nr >= 1 && nr <= 13)
		nr += 13;
	cmd = _IOC(dir, type, nr, size);
	switch (rnd(4)) {
	case 0:
		arg = NULL;
		break;
	case 1:
		arg = bigbuf;
		memset(bigbuf, 0, 128);
		*(__u32 *)bigbuf = rnd(2) ? 80 : 224;
		break;
	case 2:
		arg = (void *)(uintptr_t)hd_next(&rng);
		break;
	default:
		arg = fnmm_ptr(anon_page);
		break;
	}
	ret = fnmm_ioctl_raw(slot[s]->fd, cmd, arg);
	note("ioctl ctx %d cmd %#lx arg %p -> %s", slot[s]->id, cmd, arg,
	     errname(ret));
	expect(F_RAW, ret, R(ENOTTY), "raw ioctl");
}

static int rnd_prot(void)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
		PROT_WRITE, PROT_NONE, PROT_READ | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC,
	};

	return prots[rnd(ARRAY_SIZE(prots))];
}

/* mmap errors for @prot against an allocation's access. */
static uint64_t prot_want(int prot, __u32 access)
{
	if (((prot & PROT_READ) && !(access & ACC_R)) ||
	    ((prot & PROT_WRITE) && !(access & ACC_W)) ||
	    ((prot & PROT_EXEC) && !(access & ACC_X)))
		return R(EACCES);
	return RES_OK;
}

/* The results of an mmap at offset 0 (a new allocation) of @alen bytes. */
static uint64_t exp_onestep(__u64 alen)
{
	/* From Split, whose Bit part is never free: more never fits. */
	if (alen > info0.region_size ||
	    alen > info0.alloc[SPLIT].size - info0.alloc[BIT].size)
		return R(ENOMEM);
	return RES_OK | R(ENOMEM);
}

/*
 * A new mapping of a new allocation without a handle (mmap at offset 0)
 * at @p: model it as an allocation whose handle is gone but that is
 * mapped, check every page of it (zero; made readable for that if it is
 * not), and ask LookupVirtual/Access about it.
 */
static void after_onestep(struct mctx *c, void *p, __u64 alen, int prot)
{
	struct fnmm_vmctl r, a;
	struct mvma *v;
	struct mbuf *b;
	__u64 virt;
	int ret, phys;

	st->onestep++;
	memset(&r, 0, sizeof(r));
	r.range.size = alen;
	r.range.access = RWU | (prot & PROT_EXEC ? ACC_X : 0);
	b = buf_new(c, &r, SPLIT, -1);
	v = b ? vma_add(b, fnmm_addr(p), fnmm_addr(p) + alen, fnmm_addr(p),
			prot) : NULL;
	if (b) {
		b->live = 0;	/* no handle, never had one */
		b->dropped = 1;
	}
	if (!v) {
		/* No room in the model: it goes with its mapping. */
		munmap(p, alen);
		if (b)
			buf_maybe_free(b);
		return;
	}
	if (prot & PROT_READ) {
		vma_verify(v, 0, ~0ULL, 0, "new mapping at offset 0");
	} else {
		/* Every new page is read: through the mapping made readable. */
		ret = mprotect(p, alen, PROT_READ) ? -errno : 0;
		note("mprotect [%#llx +%#llx) prot %d to check it -> %s",
		     (unsigned long long)v->start, (unsigned long long)alen,
		     PROT_READ, errname(ret));
		if (expect(F_MPROTECT, ret, RES_OK,
			   "mprotect PROT_READ of a new mapping at offset 0")) {
			v->prot = PROT_READ;
			vma_verify(v, 0, ~0ULL, 0, "new mapping at offset 0");
			ret = mprotect(p, alen, prot) ? -errno : 0;
			note("mprotect [%#llx +%#llx) prot %d back -> %s",
			     (unsigned long long)v->start,
			     (unsigned long long)alen, prot, errname(ret));
			if (expect(F_MPROTECT, ret, RES_OK,
				   "mprotect of a new mapping at offset 0 back"))
				v->prot = prot;
		}
	}
	/* Handle 0, and the byte offset in the allocation. */
	phys = priv && chance(50);
	virt = v->start + rnd(alen);
	ret = phys ? fnmm_lookup(c->fd, virt, &a) : fnmm_access(c->fd, virt, &a);
	note("%s ctx %d virt %#llx (offset 0 mapping) -> %s handle %#llx offset %#llx",
	     fops[phys ? F_LOOKUP : F_ACCESS].name, c->id,
	     (unsigned long long)virt, errname(ret),
	     (unsigned long long)a.handle, (unsigned long long)a.offset);
	if (expect(phys ? F_LOOKUP : F_ACCESS, ret, RES_OK,
		   "the mapping at offset 0"))
		lookup_reply(phys, virt, v, &a);
}

static void op_mmap(void)
{
	int s = pick_slot(), prot = rnd_prot(), flags = MAP_SHARED, ret;
	struct mbuf *b = NULL;
	struct mctx *c;
	uint64_t want;
	__u64 h, len, alen;
	int onestep;
	void *p;

	if (s < 0)
		return;
	if (too_full()) {
		op_unmap();
		return;
	}
	c = slot[s];
	/* Now and then on purpose a new allocation: offset 0. */
	onestep = chance(30);
	h = onestep ? 0 : rnd_handle(c, &b);
	len = b ? b->map_size : pg;
	if (onestep)
		len = rnd_size(SPLIT);
	else switch (rnd(10)) {
	case 0:
		len += pg;
		break;
	case 1:
		len = 0;
		break;
	case 2:
		if (!no_partial)
			len = 1 + rnd(len);
		break;
	case 3:
		if (!no_partial)
			len = pg * (1 + rnd(len / pg));
		break;
	}
	if (chance(8))
		flags = MAP_PRIVATE;
	alen = (len + pg - 1) & ~(pg - 1);
	if (!len)
		want = R(EINVAL);
	else if ((prot & PROT_EXEC) && noexec)
		want = R(EPERM);
	else if (h & (pg - 1))
		want = R(EINVAL);
	else if (flags == MAP_PRIVATE)
		/* A large private writable one may be refused first. */
		want = R(EINVAL) | (alen > info0.region_size ? R(ENOMEM) : 0);
	else if (!h)
		want = exp_onestep(alen);	/* a new allocation */
	else if (!b || alen > b->map_size)
		want = R(EINVAL);
	else
		want = prot_want(prot, b->access);
	p = mmap(NULL, len, prot, flags, c->fd, (off_t)h);
	ret = p == MAP_FAILED ? -errno : 0;
	note("mmap ctx %d handle %#llx len %#llx prot %d %s -> %s %p", c->id,
	     (unsigned long long)h, (unsigned long long)len, prot,
	     flags == MAP_PRIVATE ? "private" : "shared", errname(ret), p);
	if (!expect(F_MMAP, ret, want, "mmap")) {
		if (!ret)
			munmap(p, alen);
		return;
	}
	if (!ret && !h)
		after_onestep(c, p, alen, prot);
	/* A partial mapping covers only the first pages. */
	else if (!ret)
		after_new_map(b, fnmm_addr(p), alen, prot);
}

/* A page-aligned range inside mapping @v. */
static void rnd_piece(const struct mvma *v, __u64 *lo, __u64 *hi)
{
	__u64 n = (v->end - v->start) / pg, a = rnd(n);

	*lo = v->start + a * pg;
	*hi = *lo + (1 + rnd(n - a)) * pg;
	if (no_partial) {
		*lo = v->start;
		*hi = v->end;
	}
}

static void op_munmap(void)
{
	struct mvma *v = pick_vma(0), *w;
	__u64 lo, hi;
	uint64_t want = RES_OK;
	int ret;

	if (!v) {
		op_mmap();
		return;
	}
	rnd_piece(v, &lo, &hi);
	/* Sometimes with the adjacent mapping of ours, if there is one. */
	w = hi == v->end ? vma_at(hi) : NULL;
	if (w && w->start == hi && chance(50))
		hi = w->end;
	if (chance(5)) {
		lo += 1 + rnd(pg - 1);
		want = R(EINVAL);
	}
	if (splits_vma(lo, hi))
		want = R(EINVAL);
	if (want & RES_OK)
		range_verify(lo, hi, "before munmap");
	ret = munmap(fnmm_ptr(lo), hi - lo) ? -errno : 0;
	note("munmap [%#llx +%#llx) -> %s", (unsigned long long)lo,
	     (unsigned long long)(hi - lo), errname(ret));
	if (expect(F_MUNMAP, ret, want, "munmap") && !ret)
		vma_cut(lo, hi);
}

static void op_mprotect(void)
{
	struct mvma *v = pick_vma(0);
	int prot = rnd_prot(), ret;
	uint64_t want;
	__u64 lo, hi;

	if (!v || chance(5)) {
		lo = fnmm_addr(free_area(2 * pg));
		ret = mprotect(fnmm_ptr(lo), 2 * pg, prot) ? -errno : 0;
		note("mprotect hole %#llx -> %s", (unsigned long long)lo,
		     errname(ret));
		expect(F_MPROTECT, ret, R(ENOMEM), "mprotect of a hole");
		return;
	}
	rnd_piece(v, &lo, &hi);
	want = prot_want(prot, v->buf->access);
	if ((prot & PROT_EXEC) && noexec)
		want = R(EACCES);
	/* A change of part of a mapping would split it (unchanged: no-op). */
	if ((want & RES_OK) && prot != v->prot && splits_vma(lo, hi))
		want = R(EINVAL);
	ret = mprotect(fnmm_ptr(lo), hi - lo, prot) ? -errno : 0;
	note("mprotect [%#llx +%#llx) prot %d (access %#x) -> %s",
	     (unsigned long long)lo, (unsigned long long)(hi - lo), prot,
	     v->buf->access, errname(ret));
	if (expect(F_MPROTECT, ret, want, "mprotect") && !ret)
		vma_protect(v, lo, hi, prot);
}

static void op_mremap(void)
{
	struct mvma *v = pick_vma(0);
	__u64 len, to;
	int ret, r = rnd(3);
	void *p;

	if (!v)
		return;
	len = v->end - v->start;
	to = r == 1 ? fnmm_addr(free_area(len)) : 0;
	if (r == 0 || (r == 1 && !to) || (r == 2 && (len == pg || no_partial))) {
		/* Grow in place: mappings cannot grow. */
		p = mremap(fnmm_ptr(v->start), len, len + pg * (1 + rnd(4)), 0);
		ret = p == MAP_FAILED ? -errno : 0;
		note("mremap grow %#llx -> %s", (unsigned long long)v->start,
		     errname(ret));
		if (!expect(F_MREMAP, ret, R(EFAULT), "mremap grow") && !ret)
			munmap(p, len);
	} else if (r == 1) {
		/* Move whole: mappings keep their place. */
		p = mremap(fnmm_ptr(v->start), len, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, fnmm_ptr(to));
		ret = p == MAP_FAILED ? -errno : 0;
		note("mremap move %#llx -> %#llx: %s",
		     (unsigned long long)v->start, (unsigned long long)to,
		     errname(ret));
		if (!expect(F_MREMAP, ret, R(EINVAL) | R(EFAULT),
			    "mremap move") && !ret) {
			munmap(p, len);
			vma_cut(v->start, v->end);
			return;
		}
		vma_verify(v, 0, ~0ULL, 2, "after a refused mremap");
	} else {
		/* Shrink: the tail goes. */
		__u64 keep = pg * (1 + rnd(len / pg - 1));

		/* Shrinking splits the mapping: refused. */
		p = mremap(fnmm_ptr(v->start), len, keep, 0);
		ret = p == MAP_FAILED ? -errno : 0;
		note("mremap shrink [%#llx +%#llx) to %#llx -> %s",
		     (unsigned long long)v->start, (unsigned long long)len,
		     (unsigned long long)keep, errname(ret));
		if (!expect(F_MREMAP, ret, R(EINVAL), "mremap shrink") && !ret)
			vma_cut(v->start + keep, v->start + len);
		else
			vma_verify(v, 0, ~0ULL, 2, "after a refused shrink");
	}
}

/*
 * Write the words through a mapping, everywhere it lets us (for a Pool
 * object mostly its whole page); writes that must fault, fault.
 */
static void op_write(void)
{
	struct mvma *v = pick_vma(0);
	struct mbuf *b;
	unsigned int u, n = 0, first;
	int ret, whole = 0;
	char s[48];

	if (!v) {
		op_map(0);
		return;
	}
	b = v->buf;
	first = rnd(b->nunits);
	for (u = 0; u < b->nunits && n < CHECK_UNITS; u++) {
		unsigned int k = (first + u) % b->nunits;
		void *p = fnmm_ptr(unit_addr(v, k));
		int want = 0;

		/* A unit a request in flight uses keeps what it holds. */
		if (!unit_in(v, k) || b->unit[k] == U_UNKNOWN ||
		    unit_busy(b, k))
			continue;
		n++;
		if (!(v->prot & PROT_WRITE)) {
			/* A store of what is there already: it must fault. */
			want = -SIGSEGV;
			ret = hd_store(p, unit_byte0(b, k));
		} else if (b->unit[k] == U_GONE) {
			want = -SIGBUS;
			ret = hd_store(p, 0);
		} else {
			whole = b->pp && chance(70);
			ret = unit_fill(v, k, whole);
			if (!ret)
				unit_written(b, k, whole, 1);
		}
		st->calls[F_WRITE][ret == want ? 0 : HD_NR_ERRS - 1]++;
		if (ret == want)
			continue;
		st->corrupt++;
		report("write handle %#llx unit %u at %p (prot %d, %s): %s, want %s",
		       (unsigned long long)b->handle, k, p, v->prot,
		       b->unit[k] == U_GONE ? "released section" : "backed",
		       hd_str(ret, 0, s, sizeof(s)),
		       want ? (want == -SIGBUS ? "SIGBUS" : "SIGSEGV") : "ok");
		unit_written(b, k, whole, 0);
	}
	note("write %u units of handle %#llx (alloc %u%s) via [%#llx, %#llx)",
	     n, (unsigned long long)b->handle, b->gid,
	     whole ? ", the whole Pool page" : "",
	     (unsigned long long)v->start, (unsigned long long)v->end);
}

static void op_read(void)
{
	struct mvma *v = pick_vma(0);
	uint64_t c0 = st->corrupt;

	if (!v)
		return;
	vma_verify(v, 0, ~0ULL, CHECK_UNITS, "read");
	st->calls[F_READ][st->corrupt == c0 ? 0 : HD_NR_ERRS - 1]++;
	note("read handle %#llx via [%#llx, %#llx)",
	     (unsigned long long)v->buf->handle, (unsigned long long)v->start,
	     (unsigned long long)v->end);
}

static void op_reopen(void)
{
	int s = rnd(2);

	if (slot[s]) {
		slot_close(s);
		/* Sometimes a process works with one file for a while. */
		if (chance(70) || !slot[!s])
			slot_open(s);
	} else {
		slot_open(s);
	}
	st->calls[F_REOPEN][0]++;
}

/*
 * A child inherits the files and mappings: it checks data through them,
 * looks a mapping up through the inherited file, writes the pattern to a
 * few pages (the parent sees it afterwards), sometimes makes allocations
 * of its own, and exits or dies without cleaning up.
 */
static void op_fork(void)
{
	struct mvma *r = pick_vma(PROT_READ), *w = pick_vma(PROT_WRITE);
	unsigned int wu[CHECK_UNITS], nw = 0, u, first;
	int own = chance(40), die = chance(20), status, fails, whole = 0;
	uint64_t corrupt0 = st->corrupt, unexp0 = st->unexpected;
	pid_t pid;

	if (w) {
		whole = w->buf->pp && chance(70);
		first = rnd(w->buf->nunits);
		for (u = 0; u < w->buf->nunits && nw < 4; u++) {
			unsigned int k = (first + u) % w->buf->nunits;

			if (unit_in(w, k) && w->buf->unit[k] != U_GONE &&
			    w->buf->unit[k] != U_UNKNOWN &&
			    !unit_busy(w->buf, k))
				wu[nw++] = k;
		}
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		st->calls[F_FORK][HD_NR_ERRS - 1]++;
		return;
	}
	if (!pid) {
		struct fnmm_vmctl a;
		int ret;

		if (r)
			vma_verify(r, 0, ~0ULL, CHECK_UNITS, "forked child");
		if (r && r->buf->ctx->fd >= 0) {
			ret = fnmm_access(r->buf->ctx->fd, r->start, &a);
			if (expect(F_ACCESS, ret, RES_OK, "child: Access"))
				reply_ok(a.handle == r->buf->handle &&
					 a.range.size == r->end - r->start,
					 "child: Access: handle %#llx size %llu",
					 (unsigned long long)a.handle,
					 (unsigned long long)a.range.size);
		}
		for (u = 0; u < nw; u++) {
			ret = unit_fill(w, wu[u], whole);
			if (ret) {
				st->corrupt++;
				report("child: write through an inherited mapping: signal %d",
				       -ret);
			}
		}
		if (own) {
			int f = fnmm_open();

			if (f >= 0) {
				fnmm_map_contiguous(f, 0, 0, 3 * pg, 0, SPLIT,
						    0, &a);
				fnmm_map_contiguous(f, 0, 0, 100, 0, POOL, 0,
						    &a);
				fnmm_reserve(f, pg, 0, BIT, 0, &a);
			}
		}
		fflush(stdout);
		if (die)
			raise(SIGKILL);
		_exit(st->corrupt != corrupt0 || st->unexpected != unexp0);
	}
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	fails = die ? !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) :
		!(WIFEXITED(status) && !WEXITSTATUS(status));
	note("fork: child %d %s, wrote %u units of %#llx -> status %#x",
	     pid, die ? "killed itself" : "exited", nw,
	     w ? (unsigned long long)w->buf->handle : 0ULL, status);
	st->calls[F_FORK][fails ? HD_NR_ERRS - 1 : 0]++;
	if (fails && (die || WIFSIGNALED(status))) {
		st->unexpected++;
		report("forked child: status %#x", status);
	}
	for (u = 0; u < nw; u++)
		unit_written(w->buf, wu[u], whole, !fails);
}

/*
 * dma-bufs.  An export of a live Split/Bit allocation with every page
 * held gives a dma-buf fd (one per allocation at a time: EBUSY while one
 * lives); its mappings show the allocation's pages themselves, so they
 * are checked by the same words (the allocation's own, or zero), and
 * words written through them must show in the allocation's mappings.
 * The fds are passed on (dup, or SCM_RIGHTS through a socketpair of the
 * process) and closed at random; the allocation, its handle released or
 * its file closed, lives on in the model until the last fd and mapping
 * go.  ReleaseSections of an exported allocation is EBUSY.
 */
static struct mdbuf *pick_dbuf(void)
{
	unsigned int i, n = 0, k;

	for (i = 0; i < MAX_DBUF; i++)
		n += dbufs[i].used;
	if (!n)
		return NULL;
	k = rnd(n);
	for (i = 0; i < MAX_DBUF; i++)
		if (dbufs[i].used && !k--)
			return &dbufs[i];
	return NULL;
}

static struct mdmap *pick_dmap(void)
{
	unsigned int i, n = 0, k;

	for (i = 0; i < MAX_DMAP; i++)
		n += dmaps[i].used;
	if (!n)
		return NULL;
	k = rnd(n);
	for (i = 0; i < MAX_DMAP; i++)
		if (dmaps[i].used && !k--)
			return &dmaps[i];
	return NULL;
}

static struct mdbuf *free_dbuf(void)
{
	unsigned int i;

	for (i = 0; i < MAX_DBUF; i++)
		if (!dbufs[i].used)
			return &dbufs[i];
	return NULL;
}

/* A live Split/Bit allocation of @c, NULL if none. */
static struct mbuf *pick_exportable(struct mctx *c)
{
	unsigned int i, n = 0, k;

	for (i = 0; i < MAX_BUF; i++)
		n += bufs[i].used && bufs[i].live && bufs[i].ctx == c &&
		     bufs[i].kind != POOL;
	if (!n)
		return NULL;
	k = rnd(n);
	for (i = 0; i < MAX_BUF; i++)
		if (bufs[i].used && bufs[i].live && bufs[i].ctx == c &&
		    bufs[i].kind != POOL && !k--)
			return &bufs[i];
	return NULL;
}

/* The fd's mode and close-on-exec flag must be what was asked for. */
static void dbuf_flags_ok(int fd, int rw, int cloexec, const char *what)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	reply_ok(fl >= 0 && (fl & O_ACCMODE) == (rw ? O_RDWR : O_RDONLY),
		 "%s: dma-buf fd %d has file flags %#x, want %s", what, fd, fl,
		 rw ? "O_RDWR" : "O_RDONLY");
	if (cloexec >= 0)
		reply_ok(fdfl >= 0 && !!(fdfl & FD_CLOEXEC) == cloexec,
			 "%s: dma-buf fd %d has fd flags %#x, want FD_CLOEXEC %d",
			 what, fd, fdfl, cloexec);
}

static void op_dclose(void);

static void op_export(void)
{
	enum mut mu = rnd_mut();
	int s = pick_slot(), ret;
	struct fnmm_export ex;
	struct mdbuf *d;
	struct mbuf *b;
	struct mctx *c;
	unsigned int u;
	uint64_t want;
	__u32 mode;

	if (s < 0)
		return;
	d = free_dbuf();
	if (!d) {
		op_dclose();
		return;
	}
	c = slot[s];
	memset(&ex, 0, sizeof(ex));
	ex.argsz = sizeof(ex);
	ex.handle = rnd_handle(c, &b);
	if (chance(50) && pick_exportable(c)) {
		b = pick_exportable(c);
		ex.handle = b->handle;
	}
	ex.flags = (chance(60) ? O_RDWR : O_RDONLY) |
		   (chance(50) ? O_CLOEXEC : 0);
	ex.fd = chance(50) ? -1 : (int)rnd(1024);	/* ignored */
	switch (rnd(20)) {
	case 0:
		ex.flags = O_WRONLY | (ex.flags & O_CLOEXEC);
		break;
	case 1:
		ex.flags |= O_ACCMODE;
		break;
	case 2:
		ex.flags |= 1U << rnd(32);	/* maybe a valid bit */
		break;
	case 3:
		ex.reserved = 1 + rnd(0xfffffffe);
		break;
	}
	mode = ex.flags & O_ACCMODE;
	if ((ex.flags & ~(O_CLOEXEC | O_ACCMODE)) || ex.reserved ||
	    (mode != O_RDONLY && mode != O_RDWR))
		want = R(EINVAL);
	else if (!b)
		want = R(ENOENT);
	else if (b->kind == POOL)
		want = R(EINVAL);
	else if (!(b->access & ACC_R) ||
		 (mode == O_RDWR && !(b->access & ACC_W)))
		want = R(EACCES);
	else
		want = 0;
	if (!want) {
		for (u = 0; u < b->nunits; u++)
			if (b->unit[u] == U_GONE)
				want = R(EINVAL);
		if (!want)
			want = b->nexp ? R(EBUSY) : RES_OK | R(ENOMEM);
	}
	want = mut_want(mu, want, 1);
	ret = issue(c->fd, FNMM_IOC_EXPORT, &ex, sizeof(ex), mu);
	note("export ctx %d handle %#llx flags %#x reserved %#x%s -> %s fd %d",
	     c->id, (unsigned long long)ex.handle, ex.flags, ex.reserved,
	     mut_names[mu], errname(ret), ret ? -1 : ex.fd);
	if (!expect(F_EXPORT, ret, want, "export") || !mut_effects(mu, 1)) {
		if (!ret && mut_effects(mu, 1) && ex.fd >= 0)
			close(ex.fd);	/* the model knows of no such dma-buf */
		return;
	}
	if (ret)
		return;
	if (!reply_ok(ex.fd >= 0, "export: fd %d", ex.fd))
		return;
	*d = (struct mdbuf){ 1, b, ex.fd, mode == O_RDWR };
	b->nexp++;
	st->exports++;
	dbuf_flags_ok(ex.fd, d->rw, !!(ex.flags & O_CLOEXEC), "export");
}

/* A mapping of a held dma-buf: a random page range, maybe a bad one. */
static void op_dmmap(void)
{
	struct mdbuf *d = pick_dbuf();
	int prot, flags = MAP_SHARED, ret, bad = 0;
	__u64 npages, first, len;
	struct mdmap *m = NULL;
	unsigned int i;
	struct mvma v;
	uint64_t want;
	void *p;

	if (!d) {
		op_export();
		return;
	}
	for (i = 0; i < MAX_DMAP && !m; i++)
		if (!dmaps[i].used)
			m = &dmaps[i];
	if (!m) {
		m = pick_dmap();
		if (dmap_drop(m, "dma-buf mmap: making room")) {
			st->unexpected++;
			report("munmap of a dma-buf mapping failed");
			return;
		}
	}
	npages = d->buf->map_size / pg;
	first = rnd(npages);
	len = 1 + rnd(npages - first);
	if (no_partial) {
		first = 0;
		len = npages;
	}
	switch (rnd(16)) {
	case 0:
		first = npages;			/* past the end */
		len = 1;
		bad = 1;
		break;
	case 1:
		len = npages - first + 1 + rnd(4);	/* beyond the end */
		bad = 1;
		break;
	case 2:
		flags = MAP_PRIVATE;
		bad = 1;
		break;
	}
	prot = PROT_READ | (chance(d->rw ? 60 : 15) ? PROT_WRITE : 0);
	if (flags == MAP_SHARED && (prot & PROT_WRITE) && !d->rw)
		want = R(EACCES);	/* the file is read-only */
	else if (bad)
		want = R(EINVAL);
	else
		want = RES_OK | R(ENOMEM);
	p = mmap(NULL, len * pg, prot, flags, d->fd, first * pg);
	ret = p == MAP_FAILED ? -errno : 0;
	note("dma-buf mmap fd %d (alloc %u, %s) pages [%llu +%llu) prot %d%s -> %s %p",
	     d->fd, d->buf->gid, d->rw ? "rw" : "ro",
	     (unsigned long long)first, (unsigned long long)len, prot,
	     flags == MAP_PRIVATE ? " private" : "", errname(ret), p);
	if (!expect(F_DMMAP, ret, want, "dma-buf mmap") || ret) {
		if (!ret)
			munmap(p, len * pg);
		return;
	}
	*m = (struct mdmap){ 1, d->buf, fnmm_addr(p), fnmm_addr(p) + len * pg,
			     fnmm_addr(p) - first * pg, prot };
	d->buf->nexp++;
	/* A new mapping: every page of it. */
	v = dmap_vma(m);
	i = st->pages;
	vma_verify(&v, 0, ~0ULL, 0, "new dma-buf mapping");
	st->dma_pages += st->pages - i;
}

static void op_dmunmap(void)
{
	struct mdmap *m = pick_dmap();
	__u64 len;
	int ret;

	if (!m)
		return;
	len = m->end - m->start;
	if (!no_partial && len > pg && chance(15)) {
		/* Mappings cannot be split. */
		ret = munmap(fnmm_ptr(m->start), pg) ? -errno : 0;
		note("munmap of the first page of dma-buf mapping [%#llx, %#llx) -> %s",
		     (unsigned long long)m->start, (unsigned long long)m->end,
		     errname(ret));
		expect(F_DMUNMAP, ret, R(EINVAL), "munmap of part of a dma-buf mapping");
		return;
	}
	ret = dmap_drop(m, "dma-buf munmap");
	expect(F_DMUNMAP, ret, RES_OK, "munmap of a dma-buf mapping");
}

/*
 * Read a dma-buf mapping by the model, write a few of its pages with the
 * allocation's own words (a store faults where the mapping is read-only),
 * and look for them through the allocation's own mappings.
 */
static void op_drw(void)
{
	struct mdmap *m = pick_dmap();
	unsigned int u, n = 0, first, j;
	uint64_t c0 = st->corrupt, p0 = st->pages;
	struct mvma v;
	struct mbuf *b;
	char s[48];
	int ret, want;

	if (!m) {
		op_dmmap();
		return;
	}
	v = dmap_vma(m);
	b = m->buf;
	vma_verify(&v, 0, ~0ULL, CHECK_UNITS, "read via a dma-buf mapping");
	first = rnd(b->nunits);
	for (u = 0; u < b->nunits && n < 4; u++) {
		unsigned int k = (first + u) % b->nunits;
		void *p = fnmm_ptr(unit_addr(&v, k));

		if (!unit_in(&v, k) || b->unit[k] == U_UNKNOWN ||
		    b->unit[k] == U_GONE || unit_busy(b, k))
			continue;
		n++;
		if (m->prot & PROT_WRITE) {
			want = 0;
			ret = unit_fill(&v, k, 0);
			unit_written(b, k, 0, !ret);
			st->dma_writes += !ret;
		} else {
			want = -SIGSEGV;
			ret = hd_store(p, unit_byte0(b, k));
		}
		if (ret != want) {
			st->corrupt++;
			report("write via dma-buf mapping: alloc %u unit %u at %p (prot %d): %s, want %s",
			       b->gid, k, p, m->prot, hd_str(ret, 0, s, sizeof(s)),
			       want ? "SIGSEGV" : "ok");
			continue;
		}
		if (want)
			continue;
		/* The allocation's own mappings show it. */
		for (j = 0; j < MAX_VMA; j++)
			if (vmas[j].used && vmas[j].buf == b &&
			    (vmas[j].prot & PROT_READ) && unit_in(&vmas[j], k)) {
				unit_verify(&vmas[j], k,
					    "own mapping after a write via a dma-buf");
				break;
			}
	}
	st->dma_pages += st->pages - p0;
	st->calls[F_DRW][st->corrupt == c0 ? 0 : HD_NR_ERRS - 1]++;
	note("dma-buf read/write: alloc %u via [%#llx, %#llx) prot %d, %u units written",
	     b->gid, (unsigned long long)m->start, (unsigned long long)m->end,
	     m->prot, n);
}

/* Receive one fd over scm[1]: the fd, or -errno. */
static int scm_recv(void)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(scm[1], &mh, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/* Send @fd over scm[0]: 0 or -errno. */
static int scm_send(int fd)
{
	char data = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return sendmsg(scm[0], &mh, 0) == 1 ? 0 : -errno;
}

/*
 * Pass a dma-buf fd on: dup() it, or send it through the socketpair
 * (it is in flight, held by the socket, until received); then mostly
 * close the original.
 */
static void op_dpass(void)
{
	struct mdbuf *d = pick_dbuf(), *n;
	int scm_way = scm[0] >= 0 && chance(60), fd, ret, rw;
	struct mbuf *b;

	if (!d)
		return;
	if (!free_dbuf()) {
		op_dclose();
		return;
	}
	b = d->buf;
	rw = d->rw;
	b->nexp++;		/* the new fd's (in flight: the socket's) */
	if (scm_way) {
		ret = scm_send(d->fd);
		if (!ret && chance(50)) {
			/* The original goes while the fd is in the socket. */
			dbuf_drop(d, "dma-buf pass: the original, in flight");
			d = NULL;
		}
		fd = ret ? ret : scm_recv();
	} else {
		fd = fcntl(d->fd, chance(50) ? F_DUPFD_CLOEXEC : F_DUPFD, 3);
		fd = fd < 0 ? -errno : fd;
	}
	ret = fd < 0 ? fd : 0;
	note("dma-buf pass %s of alloc %u -> %s fd %d",
	     scm_way ? "SCM_RIGHTS" : "dup", b->gid, errname(ret), fd);
	if (!expect(F_DPASS, ret, RES_OK, "dma-buf pass")) {
		dma_unref(b);
		return;
	}
	st->passed++;
	dbuf_flags_ok(fd, rw, -1, "dma-buf pass");
	n = free_dbuf();
	*n = (struct mdbuf){ 1, b, fd, rw };
	if (d && chance(70))
		dbuf_drop(d, "dma-buf pass: the original");
}

static void op_dsync(void)
{
	struct mdbuf *d = pick_dbuf();
	struct dma_buf_sync sy;
	uint64_t want;
	int ret;

	if (!d)
		return;
	sy.flags = (chance(50) ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
		   (1 + rnd(3));
	switch (rnd(6)) {
	case 0:
		sy.flags &= ~(__u64)DMA_BUF_SYNC_RW;	/* no direction */
		break;
	case 1:
		sy.flags |= 1ULL << (3 + rnd(61));	/* an unknown bit */
		break;
	}
	want = sy.flags & ~(__u64)DMA_BUF_SYNC_VALID_FLAGS_MASK ||
	       !(sy.flags & DMA_BUF_SYNC_RW) ? R(EINVAL) : RES_OK;
	ret = ioctl(d->fd, DMA_BUF_IOCTL_SYNC, &sy) ? -errno : 0;
	note("dma-buf sync fd %d (alloc %u) flags %#llx -> %s", d->fd,
	     d->buf->gid, (unsigned long long)sy.flags, errname(ret));
	expect(F_DSYNC, ret, want, "DMA_BUF_IOCTL_SYNC");
}

/* vgem imports a held dma-buf (DRM_IOCTL_PRIME_FD_TO_HANDLE). */
static void op_import(void)
{
	struct mdbuf *d = pick_dbuf();
	struct fnmm_drm_prime_handle ph = { 0 };
	struct mgem *g = NULL, *again = NULL;
	unsigned int i;
	uint64_t want;
	int ret;

	if (card < 0 || !d)
		return;
	for (i = 0; i < MAX_GEM; i++) {
		if (gems[i].used && gems[i].buf == d->buf)
			again = &gems[i];
		else if (!gems[i].used && !g)
			g = &gems[i];
	}
	if (!again && !g)
		return;
	ph.fd = d->fd;
	want = d->rw ? RES_OK | R(ENOMEM) : R(EACCES);
	ret = ioctl(card, FNMM_DRM_PRIME_FD_TO_HANDLE, &ph) ? -errno : 0;
	note("vgem import fd %d (alloc %u, %s) -> %s handle %u", d->fd,
	     d->buf->gid, d->rw ? "rw" : "ro", errname(ret), ph.handle);
	if (!expect(F_IMPORT, ret, want, "vgem import") || ret)
		return;
	if (again) {
		reply_ok(ph.handle == again->handle,
			 "vgem import again: handle %u, first %u", ph.handle,
			 again->handle);
		return;
	}
	*g = (struct mgem){ 1, d->buf, ph.handle };
	d->buf->nexp++;
	st->imports++;
}

static void op_gemclose(void)
{
	unsigned int i, n = 0, k;

	for (i = 0; i < MAX_GEM; i++)
		n += gems[i].used;
	if (!n)
		return;
	k = rnd(n);
	for (i = 0; i < MAX_GEM; i++)
		if (gems[i].used && !k--)
			break;
	expect(F_GEMCLOSE, gem_drop(&gems[i], "vgem GEM close"), RES_OK,
	       "vgem GEM_CLOSE");
}

static void op_dclose(void)
{
	struct mdbuf *d = pick_dbuf();
	int ret;

	if (!d)
		return;
	ret = dbuf_drop(d, "dma-buf close");
	expect(F_DCLOSE, ret, RES_OK, "close of a dma-buf fd");
}

/*
 * Handing the mappings to the rest of the kernel (--blkdev DEV): the
 * pages of a mapping are got by get_user_pages() for vmsplice(), O_DIRECT
 * and io_uring, and may stay referenced after the mapping, its handle
 * and its file are gone.  Such blocks must wait (Info "pinned"), neither
 * scrubbed nor reused, until the last reference drops.
 *
 * vmsplice: up to GUP_MAX_PAGES pages of one mapping go into one of the
 * process's MAX_PIPES pipes (F_SETPIPE_SZ PIPE_BYTES), which keeps them
 * until a later "pipe read" (or a vmsplice that finds the pipe full, or
 * the end of the run) reads all of it; meanwhile every other operation
 * goes on.  The pipe holds the allocation's pages themselves, not copies:
 * while the allocation lives a later write to a page shows in the pipe.
 * Each segment (one vmsplice) is checked word by word:
 *
 *  - a page of a Split/Bit allocation: zero, or exactly the word this
 *    context writes at that byte of that allocation, wenc(me, ctx,
 *    alloc, offset) -- the only non-zero word that writes through a
 *    mapping, forked children, and the io_uring reads below (which only
 *    bring a page what it holds already) ever put there;
 *  - "loose": zero or any word of the same context.  A Pool object's
 *    page is (other objects of the context share it; a released object
 *    is zeroed at once), and so is a Split/Bit page into which an
 *    O_DIRECT read brought words of another allocation or offset of the
 *    context (the read makes the segments alive then loose; a vmsplice
 *    of such a page starts loose).
 *
 * Anything else -- a word of another context or process, or not of this
 * fuzzer -- is reported with its writer decoded, and counted as a LEAK.
 * A page scrubbed while the pipe held it reads zero and passes; what the
 * rule catches is a page that went to someone else meanwhile.
 *
 * The block device: process P owns slice P of DEV (DEV's size over the
 * processes, at most SLICE_MAX), zeroed when it starts, and models each
 * page of it:
 *
 *  - DV_SEQ w0: exactly w0, w0 + 8, ... (w0 0: all zero): written by a
 *    completed O_DIRECT write from a Split/Bit page whose words the
 *    model knew (pages an io_uring request in flight uses, in a mapping
 *    or on the device, are "busy": nothing writes them, nothing reads
 *    into them, until it is reaped);
 *  - DV_OWN ctx: zero or any word of context ctx (from a Pool page);
 *  - DV_ANY: zero or any word of this process (a write that failed or
 *    completed in part: each sector old or new).
 *
 * Reads into anonymous memory (O_DIRECT, io_uring) are judged by that
 * model.  An O_DIRECT read into a mapping of context C takes only DV_SEQ
 * pages C wrote (or all zero): the words of C's own earlier writes,
 * maybe of another allocation or offset.  The unit then holds them (its
 * w0[]) and is checked through the mapping at once and from then on.
 * An io_uring read into a mapping takes only device pages that hold
 * what the target pages hold already, so whether it lands before the
 * buffer is unmapped and released (the pages must then wait, pinned),
 * or fails (EFAULT: unmapped or mprotected before the kernel got the
 * pages), the mapping's model holds; pages it reached after they went
 * must not be anyone else's by then.  Where the buffer of a request in
 * flight is unmapped, a PROT_NONE placeholder takes its place until no
 * request is in flight, so a request that runs late (io-wq) can fail
 * but never write into a new mapping at the same address.
 */
#define MAX_PIPES	4
#define PIPE_BYTES	(256 * 1024)	/* F_SETPIPE_SZ: 64 pages of 4 KiB */
#define PIPE_SEGS	64
#define GUP_MAX_PAGES	8		/* pages per vmsplice or I/O */
#define MAX_INFLIGHT	8		/* io_uring requests per process */
#define MAX_HOLDERS	64		/* placeholder pages */
#define SLICE_MAX	(4ULL << 20)
#define PIN_WAIT_MS	5000		/* for Info "pinned" 0 at the end */
#define REAP_WAIT_S	10

static int gup_pages;		/* the region has struct pages: GUP works */
static __u64 slice_pages;	/* of each process's slice */
static __u64 slice_base;	/* this process's, bytes */
static int blk_fd = -1;
static char *iobuf;		/* 1 + MAX_INFLIGHT buffers of GUP_MAX_PAGES */

/* One vmsplice in a pipe: the pages of an allocation, in order. */
struct pseg {
	int ctx;		/* context id */
	unsigned int gid;	/* allocation id */
	int loose;		/* zero or any word of the context */
	int pool;		/* a Pool object's page */
	__u64 aoff;		/* allocation offset of the first page */
	__u64 len;
	__u64 addr;		/* where it was mapped, for reports */
};

struct mpipe {
	int open;
	int fd[2];
	__u64 bytes;
	unsigned int nseg;
	struct pseg seg[PIPE_SEGS];
};

static struct mpipe pipes[MAX_PIPES];
static uint64_t pipebuf[PIPE_BYTES / 8];

enum { DV_SEQ, DV_OWN, DV_ANY };

struct dpage {
	unsigned char kind;
	int ctx;		/* the writer */
	uint64_t w0;		/* DV_SEQ: the first word, 0: all zero */
};

static struct dpage *dv;

enum { UR_READ_ANON, UR_READ_MAP, UR_WRITE };

static const char * const ur_names[] = { "read into anonymous memory",
	"read into a mapping", "write from a mapping" };

struct ureq {
	int used;
	int kind;
	int async;		/* IOSQE_ASYNC: io-wq does it, later */
	int disturbed;		/* its buffer was unmapped or mprotected */
	int pool;		/* the buffer is a Pool object's page */
	int ctx;
	unsigned int gid, u0;	/* the buffer's allocation, first unit */
	__u64 addr, len;
	__u64 d;		/* first device page of the slice */
	uint64_t w0[GUP_MAX_PAGES];	/* a write: what each page holds */
};

static struct ureq ureqs[MAX_INFLIGHT];
static unsigned int ninflight;
static struct io_uring uring;
static int ring_ok;
static __u64 holders[MAX_HOLDERS];
static unsigned int nholders;

/* Whether @w is a word of context @id of this process (any: @id < 0). */
static int word_of(uint64_t w, int id)
{
	unsigned int p, cx, g, o;

	return wdec(w, &p, &cx, &g, &o) && p == (unsigned int)me &&
	       (id < 0 || cx == ((unsigned int)id & 0xfff));
}

static int unit_busy(const struct mbuf *b, unsigned int u)
{
	unsigned int i;

	if (b->kind == POOL)
		return 0;
	for (i = 0; i < MAX_INFLIGHT; i++) {
		const struct ureq *r = &ureqs[i];

		if (r->used && r->kind != UR_READ_ANON && !r->pool &&
		    r->gid == b->gid && u >= r->u0 && u < r->u0 + r->len / pg)
			return 1;
	}
	return 0;
}

static int dev_busy(__u64 d, __u64 n)
{
	unsigned int i;

	for (i = 0; i < MAX_INFLIGHT; i++)
		if (ureqs[i].used && ureqs[i].d < d + n &&
		    d < ureqs[i].d + ureqs[i].len / pg)
			return 1;
	return 0;
}

static void uring_reap(unsigned int min);

static void holders_free(void)
{
	unsigned int i;

	for (i = 0; i < nholders; i++)
		munmap(fnmm_ptr(holders[i]), pg);
	nholders = 0;
}

/*
 * [lo, hi) was unmapped (@unmapped) or its protection changed: requests
 * whose buffer is there may fail now; a placeholder keeps each unmapped
 * page of their buffers until no request is in flight.
 */
static void io_disturb(__u64 lo, __u64 hi, int unmapped)
{
	unsigned int i;
	__u64 a, s, e;
	void *p;

	for (i = 0; i < MAX_INFLIGHT; i++) {
		struct ureq *r = &ureqs[i];

		if (!r->used || r->kind == UR_READ_ANON || r->addr >= hi ||
		    r->addr + r->len <= lo)
			continue;
		r->disturbed = 1;
		if (!unmapped)
			continue;
		s = r->addr > lo ? r->addr : lo;
		e = r->addr + r->len < hi ? r->addr + r->len : hi;
		for (a = s; a < e; a += pg) {
			if (nholders == MAX_HOLDERS) {
				/* No room: let every request finish now. */
				uring_reap(ninflight);
				return;
			}
			p = mmap(fnmm_ptr(a), pg, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				 -1, 0);
			if (p == fnmm_ptr(a))
				holders[nholders++] = a;
			else if (p != MAP_FAILED)
				munmap(p, pg);
		}
	}
}

/* The rule of a page read out of a pipe (see above). */
struct prule {
	uint64_t first;
	int loose;
	int ctx;
};

static int pipe_rule(const void *arg, unsigned int i, uint64_t got,
		     uint64_t *want, int *or_zero)
{
	const struct prule *r = arg;

	*or_zero = 1;
	if (r->loose) {
		*want = PP_OWN;
		return !got || word_of(got, r->ctx);
	}
	*want = r->first + i * 8ULL;
	return !got || got == *want;
}

/* The rule of a device page read back. */
static int dev_rule(const void *arg, unsigned int i, uint64_t got,
		    uint64_t *want, int *or_zero)
{
	const struct dpage *e = arg;

	switch (e->kind) {
	case DV_SEQ:
		*want = e->w0 ? e->w0 + i * 8ULL : 0;
		*or_zero = 0;
		return got == *want;
	case DV_OWN:
		*want = PP_OWN;
		*or_zero = 1;
		return !got || word_of(got, e->ctx);
	default:
		*want = PP_PROC;
		*or_zero = 1;
		return !got || word_of(got, -1);
	}
}

/* Judge @n device pages from [@d ...) read into @buf. */
static int dev_judge(const char *buf, __u64 d, __u64 n, const char *how)
{
	static const char * const dnames[] = { "its words", "a Pool page's",
					       "partly written" };
	struct mctx who;
	char what[224];
	int ok = 1;
	__u64 k;

	for (k = 0; k < n; k++) {
		const struct dpage *e = &dv[d + k];

		memcpy(pagebuf, buf + k * pg, pg);
		memset(&who, 0, sizeof(who));
		who.id = e->ctx;
		snprintf(what, sizeof(what),
			 "%s: device page %llu of proc %d's slice (%s, by ctx %d)",
			 how, (unsigned long long)(d + k), me, dnames[e->kind],
			 e->ctx);
		st->units++;
		st->dev_pages++;
		ok &= page_judge(dev_rule, e, pg / 8, &who, what);
	}
	return ok;
}

/* Device pages [@d, +@n) now hold @n pages of @v from @lo. */
static void dev_written(const struct mvma *v, __u64 lo, __u64 n, __u64 d)
{
	const struct mbuf *b = v->buf;
	__u64 k;

	for (k = 0; k < n; k++) {
		struct dpage *e = &dv[d + k];

		e->ctx = b->ctx->id;
		if (b->kind == POOL) {
			e->kind = DV_OWN;
			e->w0 = 0;
		} else {
			e->kind = DV_SEQ;
			e->w0 = unit_want0(b, (lo - v->base) / pg + k);
		}
	}
}

static void dev_unknown(__u64 d, __u64 n)
{
	__u64 k;

	for (k = 0; k < n; k++)
		dv[d + k] = (struct dpage){ DV_ANY, -1, 0 };
}

/* Free device pages for a request of @n pages: 1 and *@d, or 0. */
static int dev_pick(unsigned int n, __u64 *d)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		*d = rnd(slice_pages - n + 1);
		if (!dev_busy(*d, n))
			return 1;
	}
	return 0;
}

/*
 * Device pages [*@d, +@n) a read may bring into units [@u, +@n) of @b:
 * with @same, pages holding exactly what each unit holds; else DV_SEQ
 * pages of @b's context, or all zero (with @nonzero, not zero).
 */
static int dev_find1(const struct mbuf *b, unsigned int u, unsigned int n,
		     int same, int nonzero, __u64 *d)
{
	__u64 s0 = rnd(slice_pages), i, s;
	unsigned int k;

	for (i = 0; i < slice_pages; i++) {
		s = (s0 + i) % slice_pages;
		if (s + n > slice_pages)
			continue;
		for (k = 0; k < n; k++) {
			const struct dpage *e = &dv[s + k];

			if (e->kind != DV_SEQ || (nonzero && !e->w0))
				break;
			if (same ? e->w0 != unit_want0(b, u + k) :
			    e->w0 && e->ctx != b->ctx->id)
				break;
		}
		if (k == n && !dev_busy(s, n)) {
			*d = s;
			return 1;
		}
	}
	return 0;
}

static int dev_find(const struct mbuf *b, unsigned int u, unsigned int *n,
		    int same, __u64 *d)
{
	if (!same && dev_find1(b, u, *n, 0, 1, d))
		return 1;
	if (dev_find1(b, u, *n, same, 0, d))
		return 1;
	*n = 1;
	return dev_find1(b, u, 1, same, 0, d);
}

/* Unit @u of @b holds the words @w, w + 8, ... (0: zero) from the device. */
static void unit_from_device(struct mbuf *b, unsigned int u, uint64_t w)
{
	unsigned int i, s;

	if (b->w0)
		b->w0[u] = 0;
	if (!w) {
		b->unit[u] = U_ZERO;
		return;
	}
	b->unit[u] = U_PAT;
	if (w == unit_word0(b, u))
		return;
	if (!b->w0)
		b->w0 = calloc(b->nunits, sizeof(*b->w0));
	if (!b->w0) {
		b->unit[u] = U_UNKNOWN;
		return;
	}
	b->w0[u] = w;
	/* The pipes holding this page may read these words from now on. */
	for (i = 0; i < MAX_PIPES; i++)
		for (s = 0; s < pipes[i].nseg; s++) {
			struct pseg *g = &pipes[i].seg[s];

			if (g->gid == b->gid && (__u64)u * pg >= g->aoff &&
			    (__u64)u * pg < g->aoff + g->len)
				g->loose = 1;
		}
}

/* A mapping with @prot, of a Split/Bit allocation when @paged. */
static struct mvma *pick_vma_for(int prot, int paged)
{
	unsigned int i, n = 0, k;

#define VMA_FITS(v) ((v)->used && ((v)->prot & prot) == prot && \
		     (!paged || (v)->buf->kind != POOL))
	for (i = 0; i < MAX_VMA; i++)
		n += VMA_FITS(&vmas[i]);
	if (!n)
		return NULL;
	k = rnd(n);
	for (i = 0; i < MAX_VMA; i++)
		if (VMA_FITS(&vmas[i]) && !k--)
			return &vmas[i];
#undef VMA_FITS
	return NULL;
}

static int unit_good(const struct mbuf *b, unsigned int u)
{
	return (b->unit[u] == U_ZERO || b->unit[u] == U_PAT) &&
	       !unit_busy(b, u);
}

/*
 * Pages of a mapping for the kernel to get with @prot access (PROT_READ:
 * it reads them, PROT_WRITE: it writes them): usually up to @max pages
 * of one mapping with @prot (of Split/Bit with @paged), each a unit the
 * model knows (zero or written) and no request in flight uses; a Pool
 * object's page whole.  With @neg, now and then one page the kernel
 * must refuse (EFAULT): of a mapping without that access, or a released
 * section.  Returns the results the call may have, *@n 0 when nothing
 * fits.
 */
static uint64_t gup_pick(int prot, int paged, int neg, unsigned int max,
			 struct mvma **vp, __u64 *lo, unsigned int *n)
{
	struct mvma *v;
	struct mbuf *b;
	__u64 np, a, i, u0;

	*n = 0;
	if (neg && chance(6)) {
		v = pick_vma(0);
		if (!v || (paged && v->buf->kind == POOL))
			return 0;
		*vp = v;
		b = v->buf;
		/* Writable but not readable: x86 may let GUP read it. */
		if (!(v->prot & prot) &&
		    (v->prot == PROT_NONE || prot == PROT_WRITE)) {
			*lo = v->start;
			*n = 1;
			return R(EFAULT);
		}
		if (!(v->prot & prot) || b->kind == POOL)
			return 0;
		for (a = v->start; a < v->end; a += pg) {
			if (b->unit[(a - v->base) / pg] == U_GONE) {
				*lo = a;
				*n = 1;
				return R(EFAULT);
			}
		}
		return 0;
	}
	v = pick_vma_for(prot, paged);
	if (!v)
		return 0;
	*vp = v;
	b = v->buf;
	if (b->kind == POOL) {
		*lo = v->start;
		*n = 1;
		return gup_pages ? RES_OK : R(EFAULT);
	}
	np = (v->end - v->start) / pg;
	u0 = (v->start - v->base) / pg;
	a = rnd(np);
	for (i = 0; i < np && !unit_good(b, u0 + (a + i) % np); i++)
		;
	if (i == np)
		return 0;
	a = (a + i) % np;
	*lo = v->start + a * pg;
	while (*n < max && a + *n < np && unit_good(b, u0 + a + *n))
		(*n)++;
	return gup_pages ? RES_OK : R(EFAULT);
}

/* Open pipe @pp if it is not: 0, or -1. */
static int pipe_open(struct mpipe *pp)
{
	if (pp->open)
		return 0;
	if (pipe2(pp->fd, O_NONBLOCK)) {
		st->unexpected++;
		report("pipe2: %s", strerror(errno));
		return -1;
	}
	if (fcntl(pp->fd[0], F_SETPIPE_SZ, PIPE_BYTES) < PIPE_BYTES) {
		st->unexpected++;
		report("F_SETPIPE_SZ %d: %s", PIPE_BYTES, strerror(errno));
		close(pp->fd[0]);
		close(pp->fd[1]);
		return -1;
	}
	pp->open = 1;
	pp->bytes = 0;
	pp->nseg = 0;
	return 0;
}

static void pipe_close(struct mpipe *pp)
{
	if (!pp->open)
		return;
	close(pp->fd[0]);
	close(pp->fd[1]);
	pp->open = 0;
	pp->bytes = 0;
	pp->nseg = 0;
}

/* Read all of pipe @pp and judge every page by its segment's rule. */
static void pipe_drain(struct mpipe *pp, const char *when)
{
	__u64 got = 0, off = 0, k;
	struct mctx who;
	char what[256];
	unsigned int s;
	int bad = 0;
	ssize_t n;

	while (got < pp->bytes) {
		n = read(pp->fd[0], (char *)pipebuf + got, pp->bytes - got);
		if (n <= 0)
			break;
		got += n;
	}
	if (got != pp->bytes) {
		bad = 1;
		st->unexpected++;
		report("%s: pipe %ld gave %llu of the %llu bytes vmspliced into it",
		       when, (long)(pp - pipes), (unsigned long long)got,
		       (unsigned long long)pp->bytes);
	} else if (read(pp->fd[0], pagebuf, 8) != -1 || errno != EAGAIN) {
		bad = 1;
		st->unexpected++;
		report("%s: pipe %ld holds more than the %llu bytes vmspliced into it",
		       when, (long)(pp - pipes), (unsigned long long)pp->bytes);
	}
	for (s = 0; s < pp->nseg; s++) {
		const struct pseg *g = &pp->seg[s];

		for (k = 0; k < g->len / pg && off + pg <= got; k++) {
			struct prule r = {
				wenc(me, g->ctx, g->gid, g->aoff + k * pg),
				g->loose, g->ctx };

			memcpy(pagebuf, (char *)pipebuf + off, pg);
			off += pg;
			memset(&who, 0, sizeof(who));
			who.id = g->ctx;
			snprintf(what, sizeof(what),
				 "%s: pipe %ld, page %llu of a vmsplice of [%#llx +%#llx) of ctx %d alloc %u (byte %#llx of it%s)",
				 when, (long)(pp - pipes),
				 (unsigned long long)k,
				 (unsigned long long)g->addr,
				 (unsigned long long)g->len, g->ctx, g->gid,
				 (unsigned long long)(g->aoff + k * pg),
				 g->loose ? "; zero or the context's words" :
				 "; zero or its own words");
			st->units++;
			st->pipe_pages++;
			if (!page_judge(pipe_rule, &r, pg / 8, &who, what))
				bad = 1;
		}
	}
	note("%s: pipe %ld, %llu bytes in %u vmsplices -> %s", when,
	     (long)(pp - pipes), (unsigned long long)got, pp->nseg,
	     bad ? "BAD" : "ok");
	st->calls[F_PIPEREAD][bad ? HD_NR_ERRS - 1 : 0]++;
	pp->bytes = 0;
	pp->nseg = 0;
}

static void op_vmsplice(void)
{
	struct mpipe *pp = &pipes[rnd(MAX_PIPES)];
	unsigned int n, room, u;
	struct mvma *v = NULL;
	struct iovec iov;
	struct pseg *g;
	uint64_t want;
	ssize_t got;
	__u64 lo;
	int ret;

	if (pipe_open(pp))
		return;
	room = (PIPE_BYTES - pp->bytes) / pg;
	if (!room || pp->nseg == PIPE_SEGS) {
		pipe_drain(pp, "pipe read (full)");
		room = PIPE_BYTES / pg;
	}
	want = gup_pick(PROT_READ, 0, 1,
			room < GUP_MAX_PAGES ? room : GUP_MAX_PAGES, &v, &lo,
			&n);
	if (!n)
		return;
	iov.iov_base = fnmm_ptr(lo);
	iov.iov_len = (size_t)n * pg;
	got = vmsplice(pp->fd[1], &iov, 1, SPLICE_F_NONBLOCK);
	ret = got < 0 ? -errno : got == (ssize_t)iov.iov_len ? 0 : -EIO;
	note("vmsplice [%#llx +%#llx) of handle %#llx (ctx %d alloc %u, prot %d) into pipe %ld -> %s (%zd)",
	     (unsigned long long)lo, (unsigned long long)iov.iov_len,
	     (unsigned long long)v->buf->handle, v->buf->ctx->id,
	     v->buf->gid, v->prot, (long)(pp - pipes), errname(ret), got);
	expect(F_VMSPLICE, ret, want, "vmsplice of a mapping");
	if (got <= 0)
		return;
	/* Whatever went in is read back and judged. */
	g = &pp->seg[pp->nseg++];
	g->ctx = v->buf->ctx->id;
	g->gid = v->buf->gid;
	g->aoff = lo - v->base;
	g->len = (__u64)got & ~(pg - 1);
	g->addr = lo;
	g->pool = v->buf->kind == POOL;
	g->loose = g->pool;
	for (u = 0; !g->loose && v->buf->w0 && u < g->len / pg; u++)
		g->loose = !!v->buf->w0[g->aoff / pg + u];
	pp->bytes += g->len;
	st->spliced += g->len / pg;
}

static void op_pipe_read(void)
{
	unsigned int i, k = rnd(MAX_PIPES);
	struct mpipe *pp;

	for (i = 0; i < MAX_PIPES; i++) {
		pp = &pipes[(k + i) % MAX_PIPES];
		if (pp->open && pp->bytes)
			break;
	}
	if (i == MAX_PIPES)
		return;
	pipe_drain(pp, "pipe read");
	/* Sometimes the next vmsplice starts a new pipe. */
	if (chance(25))
		pipe_close(pp);
}

/* O_DIRECT pwrite of pages of a mapping to the slice. */
static void op_dwrite(void)
{
	struct mvma *v = NULL;
	unsigned int n;
	uint64_t want;
	ssize_t got;
	__u64 lo, d;
	int ret;

	want = gup_pick(PROT_READ, 0, 1, GUP_MAX_PAGES, &v, &lo, &n);
	if (!n || !dev_pick(n, &d))
		return;
	got = pwrite(blk_fd, fnmm_ptr(lo), (size_t)n * pg,
		     slice_base + d * pg);
	ret = got < 0 ? -errno : got == (ssize_t)(n * pg) ? 0 : -EIO;
	note("O_DIRECT write [%#llx +%#llx) of handle %#llx (ctx %d alloc %u, prot %d) to device page %llu -> %s",
	     (unsigned long long)lo, (unsigned long long)(n * pg),
	     (unsigned long long)v->buf->handle, v->buf->ctx->id,
	     v->buf->gid, v->prot, (unsigned long long)d, errname(ret));
	if (!expect(F_DWRITE, ret, want, "O_DIRECT write from a mapping"))
		dev_unknown(d, n);
	else if (!ret)
		dev_written(v, lo, n, d);
}

/*
 * O_DIRECT pread from the slice: into anonymous memory, judged by the
 * device model; or into a mapping, of words its context wrote there.
 */
static void op_dread(void)
{
	struct mvma *v = NULL;
	unsigned int n = 0, k, u = 0;
	uint64_t want = RES_OK;
	ssize_t got;
	__u64 lo, d;
	int ret;

	if (chance(50)) {
		want = gup_pick(PROT_WRITE, 1, 1, GUP_MAX_PAGES, &v, &lo, &n);
		if (n && want == RES_OK) {
			u = (lo - v->base) / pg;
			if (!dev_find(v->buf, u, &n, 0, &d))
				n = 0;
		} else if (n && !dev_pick(n, &d)) {
			n = 0;
		}
	}
	if (!n) {
		n = 1 + rnd(GUP_MAX_PAGES);
		if (!dev_pick(n, &d))
			return;
		got = pread(blk_fd, iobuf, (size_t)n * pg, slice_base + d * pg);
		ret = got < 0 ? -errno : got == (ssize_t)(n * pg) ? 0 : -EIO;
		note("O_DIRECT read of device page %llu +%u into anonymous memory -> %s",
		     (unsigned long long)d, n, errname(ret));
		expect(F_DREAD, ret, RES_OK, "O_DIRECT read into anonymous memory");
		if (got > 0)
			dev_judge(iobuf, d, (__u64)got / pg,
				  "O_DIRECT read into anonymous memory");
		return;
	}
	got = pread(blk_fd, fnmm_ptr(lo), (size_t)n * pg, slice_base + d * pg);
	ret = got < 0 ? -errno : got == (ssize_t)(n * pg) ? 0 : -EIO;
	note("O_DIRECT read of device page %llu +%u into [%#llx +%#llx) of handle %#llx (ctx %d alloc %u, prot %d) -> %s",
	     (unsigned long long)d, n, (unsigned long long)lo,
	     (unsigned long long)(n * pg), (unsigned long long)v->buf->handle,
	     v->buf->ctx->id, v->buf->gid, v->prot, errname(ret));
	if (!expect(F_DREAD, ret, want, "O_DIRECT read into a mapping")) {
		if (want == RES_OK)
			for (k = 0; k < n; k++)
				v->buf->unit[u + k] = U_UNKNOWN;
		return;
	}
	if (ret)
		return;
	for (k = 0; k < n; k++)
		unit_from_device(v->buf, u + k, dv[d + k].w0);
	st->dev_into += n;
	/* What came in is checked through the mapping at once. */
	vma_verify(v, lo, lo + (__u64)n * pg, 0, "after an O_DIRECT read into it");
}

/* A request completed with @res. */
static void ureq_done(unsigned int idx, int res)
{
	struct ureq *r = &ureqs[idx];
	__u64 n = r->len / pg;
	int full = res == (int)r->len, good;
	char s[32];

	if (r->kind != UR_READ_ANON && !gup_pages)
		good = res == -EFAULT;
	else if (r->kind != UR_READ_ANON && r->disturbed)
		good = full || res == -EFAULT ||
		       (res >= 0 && res < (int)r->len && !(res & 511));
	else
		good = full;
	if (res >= 0 && !full)
		snprintf(s, sizeof(s), "%d of %llu bytes", res,
			 (unsigned long long)r->len);
	else
		snprintf(s, sizeof(s), "%s", full ? "ok" : errname(res));
	note("io_uring %s [%#llx +%#llx) device page %llu%s%s (ctx %d alloc %u) completed: %s",
	     ur_names[r->kind], (unsigned long long)r->addr,
	     (unsigned long long)r->len, (unsigned long long)r->d,
	     r->async ? " async" : "",
	     r->disturbed ? " (its buffer unmapped or mprotected meanwhile)" : "",
	     r->ctx, r->gid, s);
	st->calls[F_REAP][full ? 0 : res < 0 ? hd_err_index(res) :
			  HD_NR_ERRS - 1]++;
	if (!good) {
		st->unexpected++;
		report("io_uring %s [%#llx +%#llx), device page %llu%s: %s",
		       ur_names[r->kind], (unsigned long long)r->addr,
		       (unsigned long long)r->len, (unsigned long long)r->d,
		       r->disturbed ? " (unmapped or mprotected meanwhile)" :
		       "", s);
	}
	if (r->kind == UR_READ_ANON && res > 0)
		dev_judge(iobuf + (idx + 1) * GUP_MAX_PAGES * pg, r->d,
			  (__u64)res / pg, "io_uring read into anonymous memory");
	if (r->kind == UR_WRITE) {
		__u64 k;

		for (k = 0; k < n; k++) {
			struct dpage *e = &dv[r->d + k];

			if (!full)
				*e = (struct dpage){ DV_ANY, -1, 0 };
			else if (r->pool)
				*e = (struct dpage){ DV_OWN, r->ctx, 0 };
			else
				*e = (struct dpage){ DV_SEQ, r->ctx, r->w0[k] };
		}
	}
	r->used = 0;
	ninflight--;
}

/*
 * Reap completions: wait for @min of them (a few seconds at most), then
 * take whatever else is done.
 */
static void uring_reap(unsigned int min)
{
	struct __kernel_timespec ts = { REAP_WAIT_S, 0 };
	struct io_uring_cqe *cqe;
	unsigned int done = 0;
	__u64 idx;
	int ret, res;

	while (ninflight) {
		if (done < min)
			ret = io_uring_wait_cqe_timeout(&uring, &cqe, &ts);
		else
			ret = io_uring_peek_cqe(&uring, &cqe);
		if (ret) {
			if (done < min) {
				st->unexpected++;
				report("io_uring: %u request(s) in flight, none completed within %d s: %s",
				       ninflight, REAP_WAIT_S, errname(ret));
			}
			break;
		}
		idx = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&uring, cqe);
		done++;
		if (idx >= MAX_INFLIGHT || !ureqs[idx].used) {
			st->unexpected++;
			report("io_uring: a completion (%d) for no request (%llu)",
			       res, (unsigned long long)idx);
			continue;
		}
		ureq_done(idx, res);
	}
	if (!ninflight)
		holders_free();
}

/*
 * The buffer of request @r goes while it may be in flight: its mapping
 * @v is unmapped, and sometimes its handle released.
 */
static void uring_drop(struct mvma *v, struct ureq *r)
{
	struct mvma copy = *v;
	struct mbuf *b = v->buf;
	unsigned int gid = b->gid;
	__u64 h = b->handle;
	int ret;

	range_verify(copy.start, copy.end, "before munmap of an io_uring buffer");
	ret = munmap(fnmm_ptr(copy.start), copy.end - copy.start) ? -errno : 0;
	note("munmap [%#llx +%#llx) of handle %#llx under an io_uring request -> %s",
	     (unsigned long long)copy.start,
	     (unsigned long long)(copy.end - copy.start),
	     (unsigned long long)h, errname(ret));
	if (!expect(F_MUNMAP, ret, RES_OK, "munmap of an io_uring buffer"))
		return;
	vma_cut(copy.start, copy.end);
	if (r->used)
		st->dropped++;
	/* The model may have let go of it with its last mapping. */
	if (!chance(60) || !b->used || b->gid != gid || !b->live ||
	    b->ctx->fd < 0)
		return;
	if (!b->nvma)
		buf_verify(b, "before Release of an io_uring buffer");
	ret = fnmm_release(b->ctx->fd, h);
	note("Release ctx %d handle %#llx under an io_uring request -> %s",
	     b->ctx->id, (unsigned long long)h, errname(ret));
	if (expect(F_RELEASE, ret, RES_OK, "Release of an io_uring buffer")) {
		buf_unlive(b);
		st->dropped_rel++;
	}
}

/*
 * An io_uring O_DIRECT request, reaped by a later op_reap() (or when
 * all MAX_INFLIGHT are in flight, or at the end): a read into anonymous
 * memory, a write from a mapping, or a read into a mapping of what its
 * pages hold already; IOSQE_ASYNC (io-wq, later) half the time.
 */
static void op_uring(void)
{
	unsigned int i, k, n = 0, kind = rnd(3);
	struct io_uring_sqe *sqe;
	struct mvma *v = NULL;
	struct ureq *r;
	uint64_t want;
	__u64 lo = 0, d = 0;
	int ret;

	if (!ring_ok)
		return;
	if (ninflight == MAX_INFLIGHT)
		uring_reap(1);
	for (i = 0; i < MAX_INFLIGHT && ureqs[i].used; i++)
		;
	if (i == MAX_INFLIGHT)
		return;
	r = &ureqs[i];
	if (kind != UR_READ_ANON) {
		want = gup_pick(kind == UR_WRITE ? PROT_READ : PROT_WRITE,
				kind == UR_READ_MAP, 0, GUP_MAX_PAGES, &v, &lo,
				&n);
		k = n ? (lo - v->base) / pg : 0;
		if (n && kind == UR_READ_MAP && want == RES_OK &&
		    !dev_find(v->buf, k, &n, 1, &d))
			n = 0;
		else if (n && (kind == UR_WRITE || want != RES_OK) &&
			 !dev_pick(n, &d))
			n = 0;
		if (!n)
			kind = UR_READ_ANON;
	}
	if (kind == UR_READ_ANON) {
		v = NULL;
		n = 1 + rnd(GUP_MAX_PAGES);
		lo = fnmm_addr(iobuf + (i + 1) * GUP_MAX_PAGES * pg);
		if (!dev_pick(n, &d))
			return;
	}
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->addr = lo;
	r->len = (__u64)n * pg;
	r->d = d;
	r->async = chance(50);
	r->ctx = -1;
	if (v) {
		r->pool = v->buf->kind == POOL;
		r->ctx = v->buf->ctx->id;
		r->gid = v->buf->gid;
		r->u0 = r->pool ? 0 : (lo - v->base) / pg;
		for (k = 0; !r->pool && k < n; k++)
			r->w0[k] = unit_want0(v->buf, r->u0 + k);
	}
	sqe = io_uring_get_sqe(&uring);
	if (!sqe)
		return;
	if (kind == UR_WRITE)
		io_uring_prep_write(sqe, blk_fd, fnmm_ptr(lo), r->len,
				    slice_base + d * pg);
	else
		io_uring_prep_read(sqe, blk_fd, fnmm_ptr(lo), r->len,
				   slice_base + d * pg);
	if (r->async)
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data64(sqe, i);
	r->used = 1;
	ninflight++;
	ret = io_uring_submit(&uring);
	ret = ret == 1 ? 0 : ret < 0 ? ret : -EIO;
	note("io_uring %s [%#llx +%#llx) device page %llu +%u%s (ctx %d alloc %u) submitted -> %s",
	     ur_names[kind], (unsigned long long)lo,
	     (unsigned long long)r->len, (unsigned long long)d, n,
	     r->async ? " async" : "", r->ctx, r->gid, errname(ret));
	if (!expect(F_URING, ret, RES_OK, "io_uring submit")) {
		/* Not in flight; the ring may be left unusable. */
		r->used = 0;
		ninflight--;
		ring_ok = 0;
		return;
	}
	/* Now and then its buffer goes while it may be in flight. */
	if (v && chance(35))
		uring_drop(v, r);
}

static void op_reap(void)
{
	if (ninflight)
		uring_reap(chance(50));
}

/* Per process: the slice (zeroed), the ring, the buffers. */
static int gup_setup(void)
{
	size_t len = (size_t)(MAX_INFLIGHT + 1) * GUP_MAX_PAGES * pg;
	__u64 d, n;
	int ret;

	slice_base = (__u64)me * slice_pages * pg;
	dv = calloc(slice_pages, sizeof(*dv));	/* DV_SEQ zero */
	iobuf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	blk_fd = open(blkdev, O_RDWR | O_DIRECT);
	if (!dv || iobuf == MAP_FAILED || blk_fd < 0) {
		report("%s: open O_DIRECT: %s", blkdev, strerror(errno));
		return -1;
	}
	for (d = 0; d < slice_pages; d += n) {
		n = slice_pages - d < GUP_MAX_PAGES ? slice_pages - d :
		    GUP_MAX_PAGES;
		if (pwrite(blk_fd, iobuf, n * pg, slice_base + d * pg) !=
		    (ssize_t)(n * pg)) {
			report("%s: zeroing the slice: %s", blkdev,
			       strerror(errno));
			return -1;
		}
	}
	ret = io_uring_queue_init(2 * MAX_INFLIGHT, &uring, 0);
	if (ret) {
		report("io_uring_queue_init: %s", errname(ret));
		return -1;
	}
	ring_ok = 1;
	gup_on = 1;
	return 0;
}

/* Whether page @k of segment @g is in a segment before it too. */
static int pseg_seen(const struct pseg *g, __u64 k)
{
	unsigned int i, s;

	for (i = 0; i < MAX_PIPES; i++) {
		for (s = 0; s < pipes[i].nseg; s++) {
			const struct pseg *h = &pipes[i].seg[s];
			__u64 off = g->aoff + k * pg;

			if (h == g)
				return 0;
			if (!h->pool && h->gid == g->gid && off >= h->aoff &&
			    off < h->aoff + h->len)
				return 1;
		}
	}
	return 0;
}

/*
 * At the end, after every request was reaped and everything released:
 * the Split/Bit pages the pipes still hold are of released blocks, which
 * must all wait, so Info "pinned" is at least their size (other
 * processes' only add to it).  Then every pipe is read, judged and
 * closed.
 */
static void gup_finish(void)
{
	__u64 held = 0, k;
	struct fnmm_info in;
	unsigned int i, s;
	int fd, ret;

	for (i = 0; i < MAX_PIPES; i++)
		for (s = 0; s < pipes[i].nseg; s++)
			for (k = 0; !pipes[i].seg[s].pool &&
			     k < pipes[i].seg[s].len / pg; k++)
				held += !pseg_seen(&pipes[i].seg[s], k);
	fd = fnmm_open();
	ret = fd < 0 ? fd : fnmm_info(fd, &in);
	if (fd >= 0)
		close(fd);
	if (!ret)
		st->pinned_end = in.pinned;
	if (ret || in.pinned < held * pg) {
		st->unexpected++;
		report("cleanup: everything released, the pipes hold %llu pages of Split/Bit blocks, but Info pinned is %llu KiB (%s)",
		       (unsigned long long)held,
		       ret ? 0ULL : (unsigned long long)in.pinned >> 10,
		       errname(ret));
	}
	for (i = 0; i < MAX_PIPES; i++) {
		if (pipes[i].open && pipes[i].bytes)
			pipe_drain(&pipes[i], "cleanup: pipe read");
		pipe_close(&pipes[i]);
	}
	if (ring_ok)
		io_uring_queue_exit(&uring);
	if (blk_fd >= 0)
		close(blk_fd);
}

/* The slices of @dev for @procs processes: 0, or -1 (a failed TAP line). */
static int blk_slices(const char *dev, uint64_t procs)
{
	int fd = open(dev, O_RDWR | O_DIRECT);
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	__u64 slice;

	if (fd >= 0)
		close(fd);
	if (size <= 0) {
		tap(0, strerror(errno), "--blkdev %s: open O_DIRECT, its size",
		    dev);
		return -1;
	}
	slice = (__u64)size / procs;
	if (slice > SLICE_MAX)
		slice = SLICE_MAX;
	slice_pages = slice / pg;
	if (slice_pages < GUP_MAX_PAGES) {
		tap(0, "too small", "--blkdev %s: %lld bytes for %llu processes",
		    dev, (long long)size, (unsigned long long)procs);
		return -1;
	}
	gup_pages = strcmp(fnmm_pages_mode(), "none") != 0;
	tap_diag("--blkdev %s: %lld MiB, a slice of %llu KiB per process; vmsplice, O_DIRECT and io_uring on the mappings %s",
		 dev, (long long)size >> 20,
		 (unsigned long long)(slice_pages * pg) >> 10,
		 gup_pages ? "work" : "must fail (EFAULT: no struct pages)");
	return 0;
}

/* The weight of @op: the GUP operations only with --blkdev. */
static unsigned int fop_weight(unsigned int op)
{
	return op >= F_VMSPLICE && !gup_on ? 0 : fops[op].weight;
}

static enum fop pick_op(void)
{
	static unsigned int total;
	unsigned int i, r;

	if (!total)
		for (i = 0; i < NR_FOPS; i++)
			total += fop_weight(i);
	r = rnd(total);
	for (i = 0; i < NR_FOPS; i++) {
		if (r < fop_weight(i))
			return i;
		r -= fop_weight(i);
	}
	return F_INFO;
}

static void run_op(enum fop op)
{
	switch (op) {
	case F_RESERVE:
		op_reserve(0);
		break;
	case F_BUBBLE:
		op_bubble();
		break;
	case F_MAPC:
	case F_MAPS:
		op_map(op == F_MAPS);
		break;
	case F_UNMAP:
		op_unmap();
		break;
	case F_RELEASE:
		op_release();
		break;
	case F_RELSEC:
		op_relsec();
		break;
	case F_LOOKUP:
	case F_ACCESS:
		op_lookup(op == F_LOOKUP);
		break;
	case F_CLEAN:
	case F_INVAL:
	case F_CLEANINV:
		op_cache(op);
		break;
	case F_INFO:
		op_info();
		break;
	case F_RAW:
		op_raw();
		break;
	case F_MMAP:
		op_mmap();
		break;
	case F_MUNMAP:
		op_munmap();
		break;
	case F_MPROTECT:
		op_mprotect();
		break;
	case F_MREMAP:
		op_mremap();
		break;
	case F_WRITE:
		op_write();
		break;
	case F_READ:
		op_read();
		break;
	case F_REOPEN:
		op_reopen();
		break;
	case F_FORK:
		op_fork();
		break;
	case F_EXPORT:
		op_export();
		break;
	case F_DMMAP:
		op_dmmap();
		break;
	case F_DMUNMAP:
		op_dmunmap();
		break;
	case F_DRW:
		op_drw();
		break;
	case F_DPASS:
		op_dpass();
		break;
	case F_DSYNC:
		op_dsync();
		break;
	case F_DCLOSE:
		op_dclose();
		break;
	case F_IMPORT:
		op_import();
		break;
	case F_GEMCLOSE:
		op_gemclose();
		break;
	case F_VMSPLICE:
		op_vmsplice();
		break;
	case F_PIPEREAD:
		op_pipe_read();
		break;
	case F_DWRITE:
		op_dwrite();
		break;
	case F_DREAD:
		op_dread();
		break;
	case F_URING:
		op_uring();
		break;
	default:
		op_reap();
		break;
	}
}

/* Unmap and release everything, checking data and counters on the way. */
static void cleanup(void)
{
	unsigned int i, s;

	/* Every request reaped (and judged) before its buffer goes. */
	if (gup_on && ninflight)
		uring_reap(ninflight);
	/* Every dma-buf fd and mapping closed: the allocations go back. */
	dma_drop_ctx(NULL, "cleanup");
	for (i = 0; i < MAX_VMA; i++) {
		struct mvma v = vmas[i];

		if (!v.used)
			continue;
		vma_verify(&v, 0, ~0ULL, CHECK_UNITS, "cleanup");
		if (munmap(fnmm_ptr(v.start), v.end - v.start)) {
			st->unexpected++;
			report("cleanup: munmap %#llx: %s",
			       (unsigned long long)v.start, strerror(errno));
		}
		vma_cut(v.start, v.end);
	}
	acct_check("cleanup: unmapping everything");
	for (s = 0; s < 2; s++) {
		struct mctx *c = slot[s];
		struct fnmm_info in;
		int ret;

		if (!c)
			continue;
		for (i = 0; i < MAX_BUF; i++) {
			struct mbuf *b = &bufs[i];

			if (!b->used || b->ctx != c || !b->live)
				continue;
			buf_verify(b, "cleanup");
			ret = fnmm_release(c->fd, b->handle);
			note("cleanup: Release ctx %d handle %#llx -> %s",
			     c->id, (unsigned long long)b->handle,
			     errname(ret));
			if (expect(F_RELEASE, ret, RES_OK, "cleanup: Release"))
				buf_unlive(b);
		}
		ret = fnmm_info(c->fd, &in);
		st->acct++;
		if (ret || in.ctx_allocations || in.ctx_bytes ||
		    in.ctx_mappings) {
			st->acct_bad++;
			report("cleanup: INFO of ctx %d (%s): allocations %llu bytes %llu mappings %llu, want none",
			       c->id, errname(ret),
			       (unsigned long long)in.ctx_allocations,
			       (unsigned long long)in.ctx_bytes,
			       (unsigned long long)in.ctx_mappings);
		}
		slot_close(s);
	}
	/* A mapping the model does not know would be a leak of ours. */
	if (unmap_all_fnmm() > 0) {
		st->unexpected++;
		report("cleanup: mappings of the device left that the model did not know");
	}
	if (gup_on)
		gup_finish();
}

static int worker(int idx, uint64_t seed)
{
	char *page;
	uint64_t ops = 0;

	me = idx;
	st = &stats[idx];
	st->seed = seed;
	rng = seed;
	hd_fault_setup();
	page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 1;
	anon_page = fnmm_addr(page);
	ro_page = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	edge_page = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro_page == MAP_FAILED || edge_page == MAP_FAILED)
		return 1;
	mprotect(edge_page + pg, pg, PROT_NONE);	/* a guard, never reused */
	if (blkdev && gup_setup()) {
		st->unexpected++;
		gup_on = 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, scm))
		scm[0] = scm[1] = -1;
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (!slot_open(0))
		return 1;
	if (chance(50))
		slot_open(1);
	while (hd_now_ms() < deadline_ms && (!max_iters || ops < max_iters)) {
		enum fop op = pick_op();

		run_op(op);
		acct_check(fops[op].name);
		st->iters = ++ops;
	}
	cleanup();
	st->finished = 1;
	fflush(stdout);
	return 0;
}

/* Whether this process has capability @cap in effect. */
static int has_cap(unsigned int cap)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> cap) & 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fnmm_fuzz [--seed N] [--seconds S] [--iterations N] [--procs P]\n"
		   "                 [--only I] [--trace] [--xfail-relsec] [--no-partial]\n"
		   "                 [--no-uncached] [--blkdev DEV]\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = 0, seconds = 60, procs = 4, only = ~0ULL, v;
	int have_seed = 0, i, mon, status, ret;
	struct fnmm_info end;
	pid_t pids[MAX_PROCS];
	uint64_t t0, grace;
	struct statvfs sv;
	struct rlimit rl;
	char d[1024];
	unsigned int p, k, e;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--trace")) {
			trace = 1;
			continue;
		}
		if (!strcmp(a, "--xfail-relsec")) {
			xfail_relsec = 1;
			continue;
		}
		if (!strcmp(a, "--no-partial")) {
			no_partial = 1;
			continue;
		}
		if (!strcmp(a, "--no-uncached")) {
			no_uncached = 1;
			continue;
		}
		if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--blkdev") && i + 1 < argc) {
			blkdev = argv[++i];
			continue;
		}
		if (i + 1 >= argc || parse_u64(argv[i + 1], &v)) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(a, "--seed")) {
			seed = v;
			have_seed = 1;
		} else if (!strcmp(a, "--seconds")) {
			seconds = v;
		} else if (!strcmp(a, "--iterations")) {
			max_iters = v;
		} else if (!strcmp(a, "--procs") && v >= 1 && v <= MAX_PROCS) {
			procs = v;
		} else if (!strcmp(a, "--only") && v < MAX_PROCS) {
			only = v;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (only != ~0ULL && only >= procs)
		procs = only + 1;
	pg = fnmm_page_size();
	cached_only = fnmm_cached_only();
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(d, sizeof(d), "at most %llu iterations each",
		 (unsigned long long)max_iters);
	tap_diag("fnmm_fuzz: seed %#llx, %llu process(es)%s, %llu s, %s",
		 (unsigned long long)seed, (unsigned long long)procs,
		 only != ~0ULL ? " (only one)" : "",
		 (unsigned long long)seconds, max_iters ? d : "no iteration limit");
	tap_diag("struct pages: %s%s", fnmm_pages_mode(),
		 cached_only ? " (Uncached/Device: EINVAL)" : "");
	tap_diag("reproduce: fnmm_fuzz --seed %#llx --procs %llu --seconds %llu%s%s%s%s%s",
		 (unsigned long long)seed, (unsigned long long)procs,
		 (unsigned long long)seconds, xfail_relsec ? " --xfail-relsec" : "",
		 no_partial ? " --no-partial" : "",
		 no_uncached ? " --no-uncached" : "",
		 blkdev ? " --blkdev " : "", blkdev ? blkdev : "");
	if (blkdev && blk_slices(blkdev, procs))
		blkdev = NULL;

	mon = open_or_bail();
	if (info_or_fail(mon, &info0, "start"))
		return tap_done();
	priv = info0.region_base != 0;
	ipc_lock = has_cap(14);		/* CAP_IPC_LOCK */
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY)
		memlock_rlimit = rl.rlim_cur;
	else
		memlock_rlimit = ~0ULL;
	noexec = !statvfs(FNMM_DEVICE_PATH, &sv) && (sv.f_flag & ST_NOEXEC);
	tap_diag("region %llu KiB, split %llu KiB free, bit %llu KiB free, physical addresses %s, /dev %s",
		 (unsigned long long)info0.region_size >> 10,
		 (unsigned long long)info0.alloc[SPLIT].free >> 10,
		 (unsigned long long)info0.alloc[BIT].free >> 10,
		 priv ? "shown" : "hidden", noexec ? "noexec" : "exec");
	stats = mmap(NULL, sizeof(*stats) * MAX_PROCS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED) {
		tap(0, strerror(errno), "shared statistics");
		return tap_done();
	}
	memset(stats, 0, sizeof(*stats) * MAX_PROCS);

	t0 = hd_now_ms();
	deadline_ms = t0 + seconds * 1000;
	fflush(stdout);
	for (p = 0; p < procs; p++) {
		pids[p] = 0;
		if (only != ~0ULL && p != only)
			continue;
		stats[p].seed = hd_sub_seed(seed, p);
		tap_diag("proc %u: seed %#llx", p,
			 (unsigned long long)stats[p].seed);
		pids[p] = fork();
		if (pids[p] < 0) {
			tap(0, strerror(errno), "fork process %u", p);
			pids[p] = 0;
			continue;
		}
		if (!pids[p]) {
			close(mon);
			_exit(worker(p, stats[p].seed));
		}
	}

	/* Wait, within the budget: the cleanup may take a while under TCG. */
	grace = 60000 + seconds * 500;
	for (p = 0; p < procs; p++) {
		int done = 0;

		if (!pids[p])
			continue;
		while (!done) {
			ret = waitpid(pids[p], &status, WNOHANG);
			if (ret == pids[p])
				done = 1;
			else if (hd_now_ms() > deadline_ms + grace) {
				kill(pids[p], SIGKILL);
				waitpid(pids[p], &status, 0);
				tap_diag("proc %u: still running %llu ms after the deadline: killed",
					 p, (unsigned long long)grace);
				status = -1;
				done = 1;
			} else {
				hd_sleep_ms(20);
			}
		}
		stats[p].finished &= WIFEXITED(status) && !WEXITSTATUS(status);
	}
	tap_diag("ran %llu ms", (unsigned long long)(hd_now_ms() - t0));

	/* The figures. */
	for (k = 0; k < NR_FOPS; k++) {
		uint64_t tot[HD_NR_ERRS] = { 0 }, n = 0;
		size_t len = 0;

		if (k >= F_VMSPLICE && !blkdev)
			continue;

		for (p = 0; p < procs; p++)
			for (e = 0; e < HD_NR_ERRS; e++)
				tot[e] += stats[p].calls[k][e];
		for (e = 0; e < HD_NR_ERRS; e++)
			n += tot[e];
		d[0] = '\0';
		for (e = 0; e < HD_NR_ERRS && len < sizeof(d); e++)
			if (tot[e])
				len += snprintf(d + len, sizeof(d) - len,
						" %s %llu", hd_err_name(e),
						(unsigned long long)tot[e]);
		tap_diag("%-20s %7llu:%s", fops[k].name, (unsigned long long)n, d);
	}
	for (p = 0; p < procs; p++) {
		struct pstat *s = &stats[p];

		if (!pids[p])
			continue;
		tap_diag("proc %u: %llu iterations, %llu units checked (%llu pages read in full), %llu INFO comparisons, %llu mmaps at offset 0 made, %llu Bubble arenas made with %llu objects, %llu xfail",
			 p, (unsigned long long)s->iters,
			 (unsigned long long)s->units,
			 (unsigned long long)s->pages,
			 (unsigned long long)s->acct,
			 (unsigned long long)s->onestep,
			 (unsigned long long)s->arenas,
			 (unsigned long long)s->objects,
			 (unsigned long long)s->xfail);
		if (blkdev)
			tap_diag("proc %u: %llu pages vmspliced, %llu read back out of the pipes and %llu device pages checked, %llu mapping pages filled from the device, %llu io_uring buffers unmapped in flight (%llu also released), Info pinned up to %llu KiB (%llu KiB with only the pipes left)",
				 p, (unsigned long long)s->spliced,
				 (unsigned long long)s->pipe_pages,
				 (unsigned long long)s->dev_pages,
				 (unsigned long long)s->dev_into,
				 (unsigned long long)s->dropped,
				 (unsigned long long)s->dropped_rel,
				 (unsigned long long)s->pinned_max >> 10,
				 (unsigned long long)s->pinned_end >> 10);
		tap_diag("proc %u: %llu dma-bufs exported (%llu handles released while exported), %llu pages checked and %llu units written via dma-buf mappings, %llu dma-buf fds passed, %llu imported by vgem",
			 p, (unsigned long long)s->exports,
			 (unsigned long long)s->exp_released,
			 (unsigned long long)s->dma_pages,
			 (unsigned long long)s->dma_writes,
			 (unsigned long long)s->passed,
			 (unsigned long long)s->imports);
		snprintf(d, sizeof(d), "%llu unexpected results%s",
			 (unsigned long long)s->unexpected,
			 s->finished ? "" : ", did not finish its cleanup");
		tap(!s->unexpected && s->finished, d,
		    "proc %u: no unexpected errno or reply (%llu iterations)", p,
		    (unsigned long long)s->iters);
		snprintf(d, sizeof(d), "%llu of %llu checks failed",
			 (unsigned long long)s->corrupt,
			 (unsigned long long)s->units);
		tap(!s->corrupt && s->units, d, "proc %u: data intact", p);
		snprintf(d, sizeof(d), "%llu pages held words of another process or context, or not the fuzzer's",
			 (unsigned long long)s->leaks);
		tap(!s->leaks, d, "proc %u: no data of another process or context", p);
		snprintf(d, sizeof(d), "%llu of %llu comparisons differed",
			 (unsigned long long)s->acct_bad,
			 (unsigned long long)s->acct);
		tap(!s->acct_bad, d, "proc %u: INFO of its contexts matches the model",
		    p);
	}

	if (blkdev) {
		/* Every pipe closed, every request reaped: nothing waits. */
		uint64_t t = hd_now_ms(), max = 0;

		ret = fnmm_info(mon, &end);
		while (!ret && end.pinned && hd_now_ms() - t < PIN_WAIT_MS) {
			hd_sleep_ms(20);
			ret = fnmm_info(mon, &end);
		}
		for (p = 0; p < procs; p++)
			if (stats[p].pinned_max > max)
				max = stats[p].pinned_max;
		snprintf(d, sizeof(d), "%s, pinned %llu bytes after %llu ms",
			 errname(ret), (unsigned long long)end.pinned,
			 (unsigned long long)(hd_now_ms() - t));
		tap(!ret && !end.pinned, d,
		    "Info pinned back to 0 within %d s of the last pipe closed (up to %llu KiB during the run)",
		    PIN_WAIT_MS / 1000, (unsigned long long)max >> 10);
	}
	ret = info_wait(mon, &info0, WAIT_MS, d, sizeof(d));
	tap(!ret, d, "every INFO counter back to the start");
	ret = fnmm_info(mon, &end);
	snprintf(d, sizeof(d), "%s, exported %llu (%llu bytes)", errname(ret),
		 (unsigned long long)end.exported,
		 (unsigned long long)end.exported_bytes);
	tap(!ret && !end.exported && !end.exported_bytes, d,
	    "Info exported back to 0: every dma-buf gone");
	if (!fnmm_info(mon, &end))
		tap_diag("pages lost: %lld",
			 (long long)(hd_free_pages(&info0) - hd_free_pages(&end)));
	ret = hd_debugfs_check(d, sizeof(d));
	tap(ret, d, "debugfs check: ok");
	close(mon);
	return tap_done();
}
