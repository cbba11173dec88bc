// SPDX-License-Identifier: GPL-2.0
/*
 * test_shared: /dev/freenos-mm is safe on a host shared by several users
 * (issue 10).  Runs as root; forked children drop to other users (uid
 * nobody, and uid 1000 as a second one).  One part per module load, as
 * tools/vm/guest/test.sh loads it:
 *
 *   test_shared leak        (mode=0666) nobody reads only zeroes of what
 *                           another user let go: Pool pages, ReleaseSections,
 *                           Bit; by close, Release and SIGKILL
 *   test_shared limits      (mode=0666) RLIMIT_MEMLOCK accounting
 *   test_shared account0    (mode=0666 account=0) no limit
 *   test_shared quarantine  a failed scrub quarantines the block (debugfs)
 *   test_shared pool        Pool gives its pages back while the file is open
 *   test_shared handles N   (max_handles=N) live handles per file
 *   test_shared abi         O_RDONLY mmap, argsz > 4096, LookupVirtual of a
 *                           Pool page outside the object, Info argsz 232
 *   test_shared take        (take=) Uncached and Device mappings, no
 *                           x86/PAT complaint
 *
 * Prints TAP.  The fields issue 10 gives struct fnmm_info (quarantined,
 * memlock_used, memlock_limit) are read by position, the three words
 * after ctx_mappings, so this builds against the header before them too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define NOBODY		65534
#define OTHER_UID	1000
#define DBG		"/sys/kernel/debug/freenos-mm/"
#define PARAMS		"/sys/module/freenos_mm/parameters/"
#define WAIT_MS		5000
#define FILL		0x5a

#define RWU	FNMM_ACCESS_DEFAULT
#define RU	(FNMM_ACCESS_READABLE | FNMM_ACCESS_USER)
#define SPLIT	FNMM_ALLOC_SPLIT
#define BIT	FNMM_ALLOC_BIT
#define POOL	FNMM_ALLOC_POOL
#define RW	(PROT_READ | PROT_WRITE)
#define NOLIMIT	(~0ULL)

static __u64 pg;
static int mon = -1;		/* root's context, holds nothing */

/* quarantined, memlock_used, memlock_limit: the words after ctx_mappings. */
static __u64 info_ext(const struct fnmm_info *i, int n)
{
	__u64 v;

	memcpy(&v, (const char *)i + offsetof(struct fnmm_info, ctx_mappings) +
	       sizeof(__u64) * (1 + n), sizeof(v));
	return v;
}

#define QUARANTINED(i)		info_ext(i, 0)
#define MEMLOCK_USED(i)		info_ext(i, 1)
#define MEMLOCK_LIMIT(i)	info_ext(i, 2)

static const char *kname(unsigned int kind)
{
	return fnmm_alloc_name(kind);
}

static unsigned long long ull(__u64 v)
{
	return v;
}

/* Read a small file into @buf (NUL-terminated): 0 or -errno. */
static int read_file(const char *path, char *buf, size_t len)
{
	int f = open(path, O_RDONLY), n;

	buf[0] = '\0';
	if (f < 0)
		return -errno;
	n = read(f, buf, len - 1);
	close(f);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int f = open(path, O_WRONLY), ret = 0;
	ssize_t n;

	if (f < 0)
		return -errno;
	n = write(f, s, strlen(s));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(s))
		ret = -EIO;
	close(f);
	return ret;
}

/* debugfs check: 1 when its first line is "ok" (else *why says). */
static int debugfs_ok(char *why, size_t len)
{
	int ret = read_file(DBG "check", why, len);

	if (ret) {
		snprintf(why, len, "%s", errname(ret));
		return 0;
	}
	why[strcspn(why, "\n")] = '\0';
	return !strcmp(why, "ok");
}

/* Offset of the first non-zero byte in [p, p + len), or -1. */
static long first_nonzero(const void *p, size_t len)
{
	const unsigned long *w = p;
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		if (w[i])
			break;
	for (i *= sizeof(*w); i < len; i++)
		if (b[i])
			return (long)i;
	return -1;
}

/*
 * Run @fn(@arg) in a child as @uid (0: root) with RLIMIT_MEMLOCK @memlock
 * (0: inherited), wait for it; one case says whether it finished.
 */
static void as_user(uid_t uid, rlim_t memlock, void (*fn)(void *), void *arg,
		    const char *what)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		struct rlimit rl = { memlock, memlock };

		if (memlock && setrlimit(RLIMIT_MEMLOCK, &rl)) {
			tap(0, strerror(errno), "%s: setrlimit", what);
			_exit(1);
		}
		if (uid && (setgroups(0, NULL) || setgid(uid) || setuid(uid))) {
			tap(0, strerror(errno), "%s: drop to uid %d", what, uid);
			_exit(1);
		}
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	tap(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    !WEXITSTATUS(status), NULL, "%s: the child finished", what);
}

/* Poll until @ok(@mon's Info) or @ms pass; the last Info in *now. */
static int wait_info(int (*ok)(const struct fnmm_info *, const void *),
		     const void *arg, struct fnmm_info *now, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (;;) {
		if (fnmm_info(mon, now))
			return 0;
		if (ok(now, arg))
			return 1;
		if (ms <= 0)
			return 0;
		nanosleep(&ts, NULL);
		ms -= 10;
	}
}

/* What take_all() found. */
struct took {
	__u64 bytes;		/* bytes reserved */
	int nallocs;
	int err;		/* what stopped it (0: free reached 0) */
	int end;		/* one more page after that: want -ENOMEM */
	long bad_alloc;		/* first allocation with a non-zero byte, or -1 */
	long bad_off;
	__u64 bad_size;
	unsigned int bad_byte;
	int overlap;		/* an allocation overlapped [avoid, +avoid_len) */
};

/*
 * Reserve every free byte of allocator @kind on @f: first one page (the
 * block a release put on Split's per-CPU LIFO magazine may come back
 * first), then each time the largest free run.  Each allocation is mapped
 * and must read zero; they stay allocated until @f is closed.  With
 * @avoid_len, note whether any allocation overlaps [@avoid, +@avoid_len)
 * (physical; needs phys to be visible).
 */
static void take_all(int f, unsigned int kind, struct took *t, __u64 avoid,
		     __u64 avoid_len)
{
	struct fnmm_info in;
	struct fnmm_vmctl r;
	__u64 want;
	long off;
	void *p;
	int n;

	memset(t, 0, sizeof(*t));
	t->bad_alloc = -1;
	for (n = 0; n < 4096; n++) {
		t->err = fnmm_info(f, &in);
		if (t->err || !in.alloc[kind].free)
			break;
		want = n ? in.alloc[kind].largest : pg;
		t->err = fnmm_reserve(f, want, RWU, kind, 0, &r);
		if (t->err)
			break;
		if (avoid_len && r.range.phys < avoid + avoid_len &&
		    avoid < r.range.phys + r.range.size)
			t->overlap = 1;
		p = fnmm_mmap(f, r.handle, r.range.size, PROT_READ);
		if (p == MAP_FAILED) {
			t->err = -errno;
			break;
		}
		off = first_nonzero(p, r.range.size);
		if (off >= 0 && t->bad_alloc < 0) {
			t->bad_alloc = n;
			t->bad_off = off;
			t->bad_size = r.range.size;
			t->bad_byte = ((unsigned char *)p)[off];
		}
		munmap(p, r.range.size);
		t->bytes += r.range.size;
		t->nallocs++;
	}
	t->end = fnmm_reserve(f, pg, RWU, kind, 0, &r);
}

static void took_detail(const struct took *t, char *d, size_t len)
{
	snprintf(d, len, "allocation %ld of %llu bytes: byte %ld is 0x%02x",
		 t->bad_alloc, ull(t->bad_size), t->bad_off, t->bad_byte);
}

/* ---- leak: nobody reads only zeroes of what another user let go ---- */

enum leak {
	LK_POOL_CLOSE, LK_POOL_RELEASE, LK_POOL_KILL, LK_SPLIT_RELSEC,
	LK_BIT_CLOSE, NR_LK
};

static const char *const lk_name[NR_LK] = {
	[LK_POOL_CLOSE]		= "Pool 8 B, whole page filled, close",
	[LK_POOL_RELEASE]	= "Pool 8 B, whole page filled, Release (file open)",
	[LK_POOL_KILL]		= "Pool 8 B, whole page filled, SIGKILL while mapped",
	[LK_SPLIT_RELSEC]	= "Split 4 pages filled, ReleaseSections of page 1",
	[LK_BIT_CLOSE]		= "Bit 4 pages filled, close",
};

/* The owner: fills its memory, lets go of it, says so on @rw. */
static void leak_owner(enum leak k, int rw, int gr)
{
	unsigned int kind = k == LK_BIT_CLOSE ? BIT :
			    k == LK_SPLIT_RELSEC ? SPLIT : POOL;
	__u64 len = kind == POOL ? pg : 4 * pg;
	struct fnmm_vmctl r;
	int f = fnmm_open(), ret;
	char c;
	void *p;

	ret = f < 0 ? f : fnmm_reserve(f, kind == POOL ? 8 : len, RWU, kind, 0,
				       &r);
	if (!ret) {
		/* A Pool object maps the page holding it: fill all of it. */
		p = fnmm_mmap(f, r.handle, len, RW);
		if (p == MAP_FAILED)
			ret = -errno;
		else
			memset(p, FILL, len);
		if (!ret && k != LK_POOL_KILL)
			munmap(p, len);
	}
	if (!ret) {
		switch (k) {
		case LK_POOL_RELEASE:
			ret = fnmm_release(f, r.handle);
			break;
		case LK_SPLIT_RELSEC:
			ret = fnmm_release_sections(f, r.handle, pg, pg);
			break;
		case LK_POOL_CLOSE:
		case LK_BIT_CLOSE:
			ret = close(f) ? -errno : 0;
			f = -1;
			break;
		default:
			break;
		}
	}
	c = ret ? 'F' : 'R';
	if (write(rw, &c, 1) != 1 || ret)
		_exit(1);
	if (k == LK_POOL_KILL)
		for (;;)
			pause();
	if (f >= 0 && read(gr, &c, 1) != 1)
		_exit(1);
	_exit(0);
}

struct leak_arg {
	const char *what;
};

/* As nobody: take all of Split, then all of Bit; every byte zero. */
static void leak_reader(void *arg)
{
	const struct leak_arg *la = arg;
	unsigned int kinds[] = { SPLIT, BIT }, i;
	struct took t;
	char d[160];
	int f = fnmm_open();

	if (!tap(f >= 0, errname(f), "%s: nobody opens the device", la->what))
		return;
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		take_all(f, kinds[i], &t, 0, 0);
		took_detail(&t, d, sizeof(d));
		tap(t.bad_alloc < 0, d,
		    "%s: nobody reads only zeroes in all of %s (%d allocations, %llu bytes, one page first)",
		    la->what, kname(kinds[i]), t.nallocs, ull(t.bytes));
		snprintf(d, sizeof(d), "stopped by %s, one more page: %s",
			 errname(t.err), errname(t.end));
		tap(!t.err && t.end == -ENOMEM, d,
		    "%s: nobody got every free byte of %s", la->what,
		    kname(kinds[i]));
	}
	close(f);
}

struct free_want {
	__u64 split, bit;
};

static int free_is(const struct fnmm_info *i, const void *arg)
{
	const struct free_want *w = arg;

	return i->alloc[SPLIT].free == w->split && i->alloc[BIT].free == w->bit;
}

static void leak_case(enum leak k, uid_t owner)
{
	struct fnmm_info start, now;
	struct free_want fw;
	struct leak_arg la;
	int rp[2], gp[2], status;
	char what[128], d[256], c = 0;
	pid_t pid;

	snprintf(what, sizeof(what), "leak: uid %d %s", owner, lk_name[k]);
	la.what = what;
	if (info_or_fail(mon, &start, what) || pipe(rp) || pipe(gp))
		return;
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(rp[0]);
		close(gp[1]);
		if (owner && (setgroups(0, NULL) || setgid(owner) ||
			      setuid(owner)))
			_exit(1);
		leak_owner(k, rp[1], gp[0]);
	}
	close(rp[1]);
	close(gp[0]);
	tap(pid > 0 && read(rp[0], &c, 1) == 1 && c == 'R', NULL,
	    "%s: the owner filled its memory and let go of it", what);
	close(rp[0]);
	if (k == LK_POOL_KILL)
		kill(pid, SIGKILL);
	if (k == LK_POOL_CLOSE || k == LK_BIT_CLOSE || k == LK_POOL_KILL)
		waitpid(pid, &status, 0);

	/* What it let go of is free again: the reader will take all of it. */
	fw.split = start.alloc[SPLIT].free -
		   (k == LK_SPLIT_RELSEC ? 3 * pg : 0);
	fw.bit = start.alloc[BIT].free;
	wait_info(free_is, &fw, &now, WAIT_MS);
	snprintf(d, sizeof(d), "split free %llu, want %llu; bit free %llu, want %llu; pool holds %llu",
		 ull(now.alloc[SPLIT].free), ull(fw.split),
		 ull(now.alloc[BIT].free), ull(fw.bit),
		 ull(now.alloc[POOL].size));
	tap(free_is(&now, &fw), d,
	    "%s: every page it let go of is free again", what);

	as_user(NOBODY, RLIM_INFINITY, leak_reader, &la, what);

	if (k == LK_POOL_RELEASE || k == LK_SPLIT_RELSEC) {
		c = 'G';
		if (write(gp[1], &c, 1) != 1)
			kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(gp[1]);
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "%s: every counter back", what);
}

static void part_leak(void)
{
	uid_t owners[] = { 0, OTHER_UID };
	unsigned int i;
	enum leak k;

	for (i = 0; i < ARRAY_SIZE(owners); i++)
		for (k = 0; k < NR_LK; k++)
			leak_case(k, owners[i]);
}

/* ---- quarantine: a failed scrub keeps the block out of use ---- */

enum qcase { Q_RELEASE_SPLIT, Q_RELEASE_BIT, Q_CLOSE, Q_RELSEC, Q_POOL, NR_Q };

static const char *const q_name[NR_Q] = {
	[Q_RELEASE_SPLIT]	= "Release of Split 64 KiB",
	[Q_RELEASE_BIT]		= "Release of Bit 16 KiB",
	[Q_CLOSE]		= "close holding Split 32 KiB",
	[Q_RELSEC]		= "ReleaseSections of 1 page of Split 16 KiB",
	/*
	 * Two scrubs: the object's, then its page's on the way back to
	 * Split (a failed object scrub leaves its bytes in the context's
	 * own page); the page must be quarantined.
	 */
	[Q_POOL]		= "Release of the last Pool object (page filled), 2 scrubs fail",
};

static int free_at_least(const struct fnmm_info *i, const void *arg)
{
	const struct free_want *w = arg;

	return i->alloc[SPLIT].free >= w->split && i->alloc[BIT].free >= w->bit;
}

static void quarantine_case(enum qcase q)
{
	unsigned int kind = q == Q_RELEASE_BIT ? BIT : SPLIT;
	__u64 size = q == Q_RELEASE_SPLIT ? 64 << 10 : q == Q_CLOSE ? 32 << 10 :
		     q == Q_POOL ? pg : 16 << 10;
	__u64 qsize = q == Q_RELSEC ? pg : size, qphys, qb = 0, qbytes = 0;
	const char *fails = q == Q_POOL ? "2" : "1";
	struct fnmm_info start, before, after, now;
	const char *what = q_name[q];
	struct fnmm_vmctl r;
	struct free_want fw;
	struct took t;
	char d[512], buf[256];
	int f, g, ret;
	void *p;

	if (info_or_fail(mon, &start, what))
		return;
	f = fnmm_open();
	ret = f < 0 ? f : fnmm_reserve(f, q == Q_POOL ? 8 : size, RWU,
				       q == Q_POOL ? POOL : kind, 0, &r);
	if (!tap_ret(ret, 0, "quarantine: %s: reserve", what))
		goto out;
	p = fnmm_mmap(f, r.handle, size, RW);
	if (p != MAP_FAILED) {
		memset(p, FILL, size);
		munmap(p, size);
	}
	qphys = r.range.phys - r.offset + (q == Q_RELSEC ? pg : 0);
	info_or_fail(mon, &before, what);
	ret = write_file(DBG "fail_scrub", fails);
	tap_ret(ret, 0, "quarantine: %s: echo %s > fail_scrub", what, fails);
	switch (q) {
	case Q_RELSEC:
		ret = fnmm_release_sections(f, r.handle, pg, pg);
		break;
	case Q_CLOSE:
		ret = close(f) ? -errno : 0;
		f = -1;
		break;
	default:
		ret = fnmm_release(f, r.handle);
		break;
	}
	tap_ret(ret, 0, "quarantine: %s: the release itself succeeds", what);
	write_file(DBG "fail_scrub", "0");	/* none left for later scrubs */
	info_or_fail(mon, &after, what);
	tap_eq(QUARANTINED(&after) - QUARANTINED(&before), qsize,
	       "quarantine: %s: Info.quarantined grows by %llu", what,
	       ull(qsize));
	tap_eq(after.alloc[kind].free, before.alloc[kind].free,
	       "quarantine: %s: %s free does not grow", what, kname(kind));
	ret = read_file(DBG "quarantine", buf, sizeof(buf));
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(d, sizeof(d), "%s: \"%s\"", errname(ret), buf);
	tap(!ret && sscanf(buf, "blocks %llu bytes %llu", &qb, &qbytes) == 2 &&
	    qb >= 1 && qbytes == QUARANTINED(&after) &&
	    qbytes - QUARANTINED(&before) == qsize, d,
	    "quarantine: %s: debugfs quarantine counts it", what);
	tap(debugfs_ok(d, sizeof(d)), d, "quarantine: %s: debugfs check ok",
	    what);

	/* Everything else can be had; the quarantined block never. */
	g = fnmm_open();
	if (tap(g >= 0, errname(g), "quarantine: %s: open another file", what)) {
		take_all(g, kind, &t, qphys, qsize);
		snprintf(d, sizeof(d), "stopped by %s, one more page: %s; %d allocations, %llu bytes",
			 errname(t.err), errname(t.end), t.nallocs,
			 ull(t.bytes));
		tap(!t.err && t.end == -ENOMEM, d,
		    "quarantine: %s: all the rest of %s reserved, then ENOMEM",
		    what, kname(kind));
		tap(!t.overlap && t.bytes == after.alloc[kind].free, d,
		    "quarantine: %s: the quarantined block was never handed out",
		    what);
		took_detail(&t, d, sizeof(d));
		tap(t.bad_alloc < 0, d,
		    "quarantine: %s: what was handed out reads zero", what);
		close(g);
	}
	fw.split = after.alloc[SPLIT].free;
	fw.bit = after.alloc[BIT].free;
	wait_info(free_at_least, &fw, &now, WAIT_MS);

	ret = write_file(DBG "quarantine", "retry");
	tap_ret(ret, 0, "quarantine: %s: echo retry > quarantine", what);
	info_or_fail(mon, &now, what);
	tap_eq(QUARANTINED(&now), QUARANTINED(&before),
	       "quarantine: %s: Info.quarantined back to %llu", what,
	       ull(QUARANTINED(&before)));
	tap_eq(now.alloc[kind].free, after.alloc[kind].free + qsize,
	       "quarantine: %s: the block is free again", what);
	tap(debugfs_ok(d, sizeof(d)), d,
	    "quarantine: %s: debugfs check ok after the retry", what);

	/* Handed out again now, and scrubbed: all of it reads zero. */
	g = fnmm_open();
	if (g >= 0) {
		take_all(g, kind, &t, qphys, qsize);
		took_detail(&t, d, sizeof(d));
		tap(t.overlap && t.bad_alloc < 0, t.overlap ? d : "not handed out",
		    "quarantine: %s: after the retry it is handed out again, zeroed",
		    what);
		close(g);
	}
out:
	write_file(DBG "fail_scrub", "0");
	if (f >= 0)
		close(f);
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "quarantine: %s: every counter back", what);
}

static void part_quarantine(void)
{
	enum qcase q;

	for (q = 0; q < NR_Q; q++)
		quarantine_case(q);
}

/* ---- limits: RLIMIT_MEMLOCK of the opener's user ---- */

#define CHUNK		(64ULL << 10)
#define LIMIT		(1ULL << 20)
#define MAX_CHUNKS	2048

/* Reserve @CHUNK bytes of Split until an error; the handles in @h. */
static __u64 fill_until_error(int f, __u64 *h, int *n, int *err)
{
	struct fnmm_vmctl r;
	__u64 got = 0;

	*n = 0;
	*err = 0;
	while (*n < MAX_CHUNKS) {
		*err = fnmm_reserve(f, CHUNK, RWU, SPLIT, 0, &r);
		if (*err)
			break;
		h[(*n)++] = r.handle;
		got += r.range.size;
	}
	return got;
}

static int memlock_of(int f, __u64 *used, __u64 *limit)
{
	struct fnmm_info i;
	int ret = fnmm_info(f, &i);

	*used = ret ? ~0ULL : MEMLOCK_USED(&i);
	*limit = ret ? 0 : MEMLOCK_LIMIT(&i);
	return ret;
}

static int used_is(int f, __u64 want, const char *fmt, const char *what)
{
	__u64 used, limit;
	char d[96];
	int ret = memlock_of(f, &used, &limit);

	snprintf(d, sizeof(d), "%s: memlock_used %llu, want %llu",
		 errname(ret), ull(used), ull(want));
	return tap(!ret && used == want, d, fmt, what);
}

static void limits_other_process(void *arg)
{
	struct fnmm_vmctl r;
	int f = fnmm_open();

	tap_ret(f < 0 ? f : fnmm_reserve(f, CHUNK, RWU, SPLIT, 0, &r), -ENOMEM,
		"limits: another process of nobody is refused too (%s)",
		(const char *)arg);
	if (f >= 0)
		close(f);
}

/* As nobody with RLIMIT_MEMLOCK = LIMIT. */
static void limits_nobody(void *arg)
{
	static __u64 h[MAX_CHUNKS];
	const char *what = "nobody, RLIMIT_MEMLOCK 1 MiB";
	struct fnmm_vmctl r, m;
	struct fnmm_info in;
	__u64 got, used, limit, hp, hx;
	int f, f2, f3, n, err, ret, i;
	char d[160];
	void *p;

	(void)arg;
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "limits: %s: open", what))
		return;
	ret = memlock_of(f, &used, &limit);
	snprintf(d, sizeof(d), "%s: used %llu, limit 0x%llx", errname(ret),
		 ull(used), ull(limit));
	tap(!ret && used == 0 && limit == LIMIT, d,
	    "limits: %s: Info.memlock_used 0, memlock_limit 1 MiB", what);

	got = fill_until_error(f, h, &n, &err);
	tap_ret(err, -ENOMEM, "limits: %s: ReserveMem 64 KiB until it fails",
		what);
	snprintf(d, sizeof(d), "got %llu bytes in %d allocations", ull(got), n);
	tap(got <= LIMIT && got + CHUNK > LIMIT, d,
	    "limits: %s: got the limit, within one allocation", what);
	tap_diag("limits: %s: got %llu bytes, then %s", what, ull(got),
		 errname(err));
	used_is(f, got, "limits: %s: Info.memlock_used is what it holds", what);

	/* A refused request changes nothing. */
	if (!info_or_fail(f, &in, what)) {
		tap_ret(fnmm_reserve(f, CHUNK, RWU, SPLIT, 0, &r), -ENOMEM,
			"limits: %s: ReserveMem over the limit", what);
		tap_info_same(f, &in, "limits: %s: ... changes nothing", what);
		tap_ret(fnmm_map_contiguous(f, 0, 0, CHUNK, 0, SPLIT, 0, &m),
			-ENOMEM, "limits: %s: MapContiguous handle 0 over the limit",
			what);
		tap_info_same(f, &in, "limits: %s: ... changes nothing", what);
		tap_ret(fnmm_reserve(f, CHUNK, RWU, BIT, 0, &r), -ENOMEM,
			"limits: %s: Bit over the limit too", what);
	}

	/* Two files of one user share the charge, so do two processes. */
	f2 = fnmm_open();
	if (tap(f2 >= 0, errname(f2), "limits: %s: open a second file", what)) {
		used_is(f2, got, "limits: %s: the second file sees the same charge",
			what);
		tap_ret(fnmm_reserve(f2, CHUNK, RWU, SPLIT, 0, &r), -ENOMEM,
			"limits: %s: the second file is refused", what);
	}
	as_user(0, 0, limits_other_process, (void *)what,
		"limits: another process of nobody");

	/* Release gives it back; the other file may take it. */
	if (n) {
		tap_ret(fnmm_release(f, h[--n]), 0, "limits: %s: Release one",
			what);
		got -= CHUNK;
		used_is(f, got, "limits: %s: ... uncharged", what);
	}
	if (f2 >= 0) {
		ret = fnmm_reserve(f2, CHUNK, RWU, SPLIT, 0, &r);
		tap_ret(ret, 0, "limits: %s: now the second file gets 64 KiB",
			what);
		used_is(f, got + (ret ? 0 : CHUNK),
			"limits: %s: ... charged to the same user", what);
		tap(!close(f2), NULL, "limits: %s: close the second file", what);
		used_is(f, got, "limits: %s: close gives its charge back", what);
	}

	/* A mapping that outlives its file keeps the charge until munmap. */
	f3 = fnmm_open();
	ret = f3 < 0 ? f3 : fnmm_reserve(f3, CHUNK, RWU, SPLIT, 0, &r);
	p = ret ? MAP_FAILED : fnmm_mmap(f3, r.handle, CHUNK, RW);
	if (tap(p != MAP_FAILED, errname(ret ? ret : -errno),
		"limits: %s: a third file: reserve and mmap 64 KiB", what)) {
		close(f3);
		f3 = -1;
		used_is(f, got + CHUNK,
			"limits: %s: closed, still mapped: still charged", what);
		tap_ret(fnmm_reserve(f, CHUNK, RWU, SPLIT, 0, &r), -ENOMEM,
			"limits: %s: ... so the first file is refused", what);
		munmap(p, CHUNK);
		used_is(f, got, "limits: %s: munmap uncharges it", what);
	}
	if (f3 >= 0)
		close(f3);

	/* Released while mapped: charged until munmap. */
	if (n) {
		hx = h[--n];
		p = fnmm_mmap(f, hx, CHUNK, RW);
		tap(p != MAP_FAILED, strerror(errno), "limits: %s: mmap one",
		    what);
		tap_ret(fnmm_release(f, hx), 0, "limits: %s: Release it while mapped",
			what);
		used_is(f, got, "limits: %s: ... still charged", what);
		if (p != MAP_FAILED)
			munmap(p, CHUNK);
		got -= CHUNK;
		used_is(f, got, "limits: %s: munmap uncharges it", what);
	}

	/* Pool pages are charged whole. */
	for (i = 0; i < n; i++)
		fnmm_release(f, h[i]);
	n = 0;
	used_is(f, 0, "limits: %s: all released: nothing charged", what);
	ret = fnmm_reserve(f, 8, RWU, POOL, 0, &r);
	tap_ret(ret, 0, "limits: %s: Pool 8 B", what);
	hp = r.handle;
	used_is(f, pg, "limits: %s: ... charges its slab page", what);
	ret = fnmm_reserve(f, 2048, RWU, POOL, 0, &r);
	tap_ret(ret, 0, "limits: %s: Pool 2048 B", what);
	hx = r.handle;
	/* 2 KiB objects: slabs of 8 pages (16 objects), charged whole. */
	used_is(f, 9 * pg, "limits: %s: ... charges its 8-page slab", what);
	fnmm_release(f, hp);
	fnmm_release(f, hx);
	used_is(f, 0, "limits: %s: Pool objects released: nothing charged", what);
	got = fill_until_error(f, h, &n, &err);
	snprintf(d, sizeof(d), "%s, %llu bytes", errname(err), ull(got));
	tap(err == -ENOMEM && got == LIMIT, d,
	    "limits: %s: Split up to the limit again", what);
	tap_ret(fnmm_reserve(f, 8, RWU, POOL, 0, &r), -ENOMEM,
		"limits: %s: at the limit a Pool object needs a page: ENOMEM",
		what);
	if (n) {
		fnmm_release(f, h[--n]);
		tap_ret(fnmm_reserve(f, 8, RWU, POOL, 0, &r), 0,
			"limits: %s: one chunk released: the Pool object fits",
			what);
		used_is(f, LIMIT - CHUNK + pg,
			"limits: %s: ... its page charged", what);
	}
	close(f);
	f = fnmm_open();
	if (f >= 0) {
		used_is(f, 0, "limits: %s: close: nothing charged", what);
		close(f);
	}
}

/* As nobody with the default RLIMIT_MEMLOCK: measure. */
static void limits_default(void *arg)
{
	static __u64 h[MAX_CHUNKS];
	struct rlimit rl;
	__u64 got, used, limit;
	int f, n, err;
	char d[160];

	(void)arg;
	getrlimit(RLIMIT_MEMLOCK, &rl);
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "limits: nobody, default limit: open"))
		return;
	got = fill_until_error(f, h, &n, &err);
	tap_diag("nobody with the default RLIMIT_MEMLOCK (%llu bytes) took %llu bytes of Split in %d allocations of 64 KiB, then %s",
		 ull(rl.rlim_cur), ull(got), n, errname(err));
	tap_ret(err, -ENOMEM, "limits: nobody, default limit: refused with ENOMEM");
	snprintf(d, sizeof(d), "got %llu, limit %llu", ull(got),
		 ull(rl.rlim_cur));
	tap(got <= rl.rlim_cur && got + CHUNK > rl.rlim_cur, d,
	    "limits: nobody, default limit: got the limit, within one allocation");
	memlock_of(f, &used, &limit);
	snprintf(d, sizeof(d), "used %llu, limit %llu", ull(used), ull(limit));
	tap(used == got && limit == rl.rlim_cur, d,
	    "limits: nobody, default limit: Info.memlock_used/limit");
	close(f);
}

/* On a file root opened: not limited, whoever uses it. */
static void limits_inherited(void *arg)
{
	const int *rootf = arg;
	struct fnmm_vmctl r;
	__u64 used, limit;
	char d[96];
	int ret;

	ret = memlock_of(*rootf, &used, &limit);
	snprintf(d, sizeof(d), "used %llu, limit 0x%llx", ull(used), ull(limit));
	tap(!ret && limit == NOLIMIT && used == 0, d,
	    "limits: nobody on root's file: memlock_limit ~0, used 0");
	ret = fnmm_reserve(*rootf, 2 * LIMIT, RWU, SPLIT, 0, &r);
	tap_ret(ret, 0, "limits: nobody on root's file: 2 MiB over its 1 MiB limit");
	if (!ret)
		fnmm_release(*rootf, r.handle);
}

static void part_limits(void)
{
	struct fnmm_info start;
	struct fnmm_vmctl r;
	__u64 used, limit;
	struct rlimit rl;
	char d[160];
	int f, ret;

	if (info_or_fail(mon, &start, "limits"))
		return;
	as_user(NOBODY, LIMIT, limits_nobody, NULL, "limits: nobody, 1 MiB");
	as_user(NOBODY, 0, limits_default, NULL, "limits: nobody, default");

	/* Root (CAP_IPC_LOCK) is not limited by its RLIMIT_MEMLOCK. */
	getrlimit(RLIMIT_MEMLOCK, &rl);
	ret = memlock_of(mon, &used, &limit);
	snprintf(d, sizeof(d), "used %llu, limit 0x%llx", ull(used), ull(limit));
	tap(!ret && limit == NOLIMIT && used == 0, d,
	    "limits: root: memlock_limit ~0, memlock_used 0");
	f = fnmm_open();
	ret = f < 0 ? f : fnmm_reserve(f, 16 << 20, RWU, SPLIT, 0, &r);
	tap_ret(ret, 0, "limits: root (RLIMIT_MEMLOCK %llu) reserves 16 MiB",
		ull(rl.rlim_cur));
	if (f >= 0) {
		memlock_of(f, &used, &limit);
		tap_eq(used, 0, "limits: root: nothing charged");
		fnmm_release(f, r.handle);
		as_user(NOBODY, LIMIT, limits_inherited, &f,
			"limits: nobody on root's file");
		close(f);
	}
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "limits: every counter back");
}

/* account=0: nobody is not limited. */
static void account0_nobody(void *arg)
{
	struct fnmm_vmctl r;
	__u64 used, limit;
	char d[96];
	int f = fnmm_open(), ret;

	(void)arg;
	if (!tap(f >= 0, errname(f), "account=0: nobody opens"))
		return;
	ret = memlock_of(f, &used, &limit);
	snprintf(d, sizeof(d), "used %llu, limit 0x%llx", ull(used), ull(limit));
	tap(!ret && limit == NOLIMIT && used == 0, d,
	    "account=0: nobody: memlock_limit ~0, memlock_used 0");
	ret = fnmm_reserve(f, 4 * LIMIT, RWU, SPLIT, 0, &r);
	tap_ret(ret, 0, "account=0: nobody (RLIMIT_MEMLOCK 1 MiB) reserves 4 MiB");
	memlock_of(f, &used, &limit);
	tap_eq(used, 0, "account=0: nobody: nothing charged");
	close(f);
}

static void part_account0(void)
{
	struct fnmm_info start;
	char buf[16], d[512];

	tap(!read_file(PARAMS "account", buf, sizeof(buf)) && buf[0] == 'N',
	    buf, "account=0: the parameter reads N");
	if (info_or_fail(mon, &start, "account=0"))
		return;
	as_user(NOBODY, LIMIT, account0_nobody, NULL, "account=0");
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "account=0: every counter back");
}

/* ---- pool: pages go back while the file is open ---- */

struct split_want {
	__u64 free, largest;
};

static int split_is(const struct fnmm_info *i, const void *arg)
{
	const struct split_want *w = arg;

	return i->alloc[SPLIT].free == w->free &&
	       i->alloc[SPLIT].largest == w->largest;
}

/* Reserve and release one object of each class; 0 or the first error. */
static int pool_classes(int f, int all_first)
{
	__u64 h[16];
	struct fnmm_vmctl r;
	unsigned int s, n = 0, i;
	int ret = 0;

	for (s = 8; s <= 2048 && !ret; s *= 2) {
		ret = fnmm_reserve(f, s, RWU, POOL, 0, &r);
		if (ret)
			break;
		if (all_first)
			h[n++] = r.handle;
		else
			ret = fnmm_release(f, r.handle);
	}
	for (i = 0; i < n; i++)
		if (fnmm_release(f, h[i]) && !ret)
			ret = -EIO;
	return ret;
}

/* Split's free and largest are @sw's again, and no Pool holds a page. */
static void split_back(struct split_want *sw, const char *what)
{
	struct fnmm_info now;
	char d[512];

	wait_info(split_is, sw, &now, 0);
	snprintf(d, sizeof(d), "split free %llu largest %llu, want %llu %llu; pool holds %llu",
		 ull(now.alloc[SPLIT].free), ull(now.alloc[SPLIT].largest),
		 ull(sw->free), ull(sw->largest), ull(now.alloc[POOL].size));
	tap(split_is(&now, sw) && !now.alloc[POOL].size, d, "%s", what);
}

#define NFILES	1000

/* Run on CPU @cpu only, or (-1) on any. */
static int pin(int cpu)
{
	cpu_set_t set;
	int c;

	CPU_ZERO(&set);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (cpu < 0 || c == cpu)
			CPU_SET(c, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

#define PER_PAGE	64	/* 64-byte objects: one page */

/*
 * A Pool is one sub-pool per CPU (module/pool.c): a page's worth of
 * objects reserved on CPU 0 and another on CPU 1 take a page each; the
 * CPU-0 ones released from CPU 1 give that page back (its own
 * sub-pool's rule, whoever releases), and then the rest.
 */
static void pool_two_cpus(void)
{
	__u64 h[2][PER_PAGE];
	struct fnmm_info in;
	struct fnmm_vmctl r;
	int f, c, i, ret = 0;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		tap_skip("one CPU", "pool: sub-pools of two CPUs");
		return;
	}
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "pool: two CPUs: open"))
		return;
	for (c = 0; c < 2 && !ret; c++) {
		ret = pin(c);
		for (i = 0; i < PER_PAGE && !ret; i++) {
			ret = fnmm_reserve(f, 64, RWU, POOL, 0, &r);
			h[c][i] = r.handle;
		}
	}
	tap_ret(ret, 0, "pool: two CPUs: %d objects of 64 B on CPU 0, %d on CPU 1",
		PER_PAGE, PER_PAGE);
	if (!info_or_fail(mon, &in, "pool: two CPUs"))
		tap_eq(in.alloc[POOL].size, 2 * pg,
		       "pool: two CPUs: a page each (one sub-pool per CPU)");
	ret = pin(1);
	for (i = 0; i < PER_PAGE && !ret; i++)
		ret = fnmm_release(f, h[0][i]);
	tap_ret(ret, 0, "pool: two CPUs: CPU 0's objects released on CPU 1");
	if (!info_or_fail(mon, &in, "pool: two CPUs"))
		tap_eq(in.alloc[POOL].size, pg,
		       "pool: two CPUs: ... their page went back");
	ret = pin(0);
	for (i = 0; i < PER_PAGE && !ret; i++)
		ret = fnmm_release(f, h[1][i]);
	tap_ret(ret, 0, "pool: two CPUs: CPU 1's objects released on CPU 0");
	if (!info_or_fail(mon, &in, "pool: two CPUs"))
		tap_eq(in.alloc[POOL].size, 0,
		       "pool: two CPUs: ... and no page is held");
	close(f);
	pin(-1);
}

static void part_pool(void)
{
	static int fds[NFILES];
	struct fnmm_info start, now;
	struct split_want sw;
	struct rlimit rl = { NFILES + 64, NFILES + 64 };
	char d[512];
	int f, i, ret = 0, opened = 0;

	if (info_or_fail(mon, &start, "pool"))
		return;
	sw.free = start.alloc[SPLIT].free;
	sw.largest = start.alloc[SPLIT].largest;

	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "pool: open"))
		return;
	tap_ret(pool_classes(f, 0), 0,
		"pool: reserve and release one object of each class, 8..2048 B");
	split_back(&sw, "pool: file open: Split's free and largest back where they started");
	tap_ret(pool_classes(f, 1), 0,
		"pool: one object of each class live at once, then release them");
	split_back(&sw, "pool: ... Split's free and largest back again");
	close(f);
	pool_two_cpus();
	split_back(&sw, "pool: two CPUs: Split's free and largest back again");

	if (setrlimit(RLIMIT_NOFILE, &rl))
		tap_diag("pool: setrlimit NOFILE: %s", strerror(errno));
	for (i = 0; i < NFILES && !ret; i++) {
		fds[i] = fnmm_open();
		if (fds[i] < 0) {
			ret = fds[i];
			break;
		}
		opened++;
		ret = pool_classes(fds[i], i & 1);
	}
	snprintf(d, sizeof(d), "%s after %d files", errname(ret), opened);
	tap(!ret && opened == NFILES, d,
	    "pool: %d files each reserve and release one object of each class",
	    NFILES);
	ret = fnmm_info(mon, &now);
	snprintf(d, sizeof(d), "split free %llu, want %llu (%lld pages short); pool holds %llu; contexts %llu",
		 ull(now.alloc[SPLIT].free), ull(sw.free),
		 (long long)(sw.free - now.alloc[SPLIT].free) / (long long)pg,
		 ull(now.alloc[POOL].size), ull(now.contexts));
	tap(!ret && now.alloc[SPLIT].free == sw.free &&
	    now.contexts == start.contexts + opened, d,
	    "pool: %d files still open: Split free unchanged", opened);
	for (i = 0; i < opened; i++)
		close(fds[i]);
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "pool: every counter back");
}

/* ---- handles: max_handles per file ---- */

static void part_handles(unsigned int max)
{
	struct fnmm_info start, before;
	struct fnmm_vmctl r, m;
	char buf[32], d[512];
	__u64 first = 0;
	unsigned int i;
	int f, f2, ret = 0;

	ret = read_file(PARAMS "max_handles", buf, sizeof(buf));
	tap(!ret && strtoul(buf, NULL, 0) == max, buf,
	    "handles: the parameter max_handles reads %u", max);
	if (info_or_fail(mon, &start, "handles"))
		return;
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "handles: open"))
		return;
	for (i = 0, ret = 0; i < max && !ret; i++) {
		/* Half Pool objects, half Split pages: all handles. */
		ret = fnmm_reserve(f, i & 1 ? 8 : pg, RWU, i & 1 ? POOL : SPLIT,
				   0, &r);
		if (!i)
			first = r.handle;
	}
	snprintf(d, sizeof(d), "%s at handle %u", errname(ret), i);
	tap(!ret, d, "handles: %u live handles in one file", max);
	info_or_fail(f, &before, "handles");
	tap_ret(fnmm_reserve(f, pg, RWU, SPLIT, 0, &r), -ENOSPC,
		"handles: handle %u (Split) gives ENOSPC", max + 1);
	tap_ret(fnmm_reserve(f, 8, RWU, POOL, 0, &r), -ENOSPC,
		"handles: handle %u (Pool) gives ENOSPC", max + 1);
	tap_ret(fnmm_map_contiguous(f, 0, 0, pg, 0, SPLIT, 0, &m), -ENOSPC,
		"handles: MapContiguous with handle 0 gives ENOSPC");
	tap_info_same(f, &before, "handles: the refusals change nothing");

	f2 = fnmm_open();
	ret = f2 < 0 ? f2 : 0;
	for (i = 0; i < max && !ret; i++)
		ret = fnmm_reserve(f2, 8, RWU, POOL, 0, &r);
	tap_ret(ret, 0, "handles: another file still gets its %u", max);
	if (f2 >= 0)
		close(f2);
	tap_ret(fnmm_release(f, first), 0, "handles: release one");
	tap_ret(fnmm_reserve(f, pg, RWU, SPLIT, 0, &r), 0,
		"handles: ... then one more fits");
	close(f);
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "handles: every counter back");
}

/* ---- abi: the points of issue 10 ---- */

static void abi_rdonly(void)
{
	struct fnmm_vmctl r;
	void *p;
	int f = open(FNMM_DEVICE_PATH, O_RDONLY | O_CLOEXEC), ret;
	long off;

	if (!tap(f >= 0, strerror(errno), "abi: open O_RDONLY"))
		return;
	ret = fnmm_reserve(f, 2 * pg, RWU, SPLIT, 0, &r);
	if (tap_ret(ret, 0, "abi: O_RDONLY: ReserveMem")) {
		p = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, f, r.handle);
		ret = p == MAP_FAILED ? -errno : 0;
		tap_ret(ret, 0, "abi: O_RDONLY: mmap PROT_READ, MAP_SHARED");
		if (!ret) {
			off = first_nonzero(p, 2 * pg);
			tap(off < 0, NULL, "abi: O_RDONLY: the mapping reads zero");
			munmap(p, 2 * pg);
		}
		p = mmap(NULL, 2 * pg, RW, MAP_SHARED, f, r.handle);
		ret = p == MAP_FAILED ? -errno : 0;
		tap_ret(ret, -EACCES,
			"abi: O_RDONLY: mmap PROT_WRITE, MAP_SHARED: EACCES");
		if (!ret)
			munmap(p, 2 * pg);
		p = mmap(NULL, 2 * pg, PROT_READ, MAP_PRIVATE, f, r.handle);
		ret = p == MAP_FAILED ? -errno : 0;
		tap_ret(ret, -EINVAL, "abi: O_RDONLY: MAP_PRIVATE still EINVAL");
		if (!ret)
			munmap(p, 2 * pg);
	}
	close(f);
}

static void abi_argsz(void)
{
	static union {
		struct fnmm_vmctl v;
		struct fnmm_info i;
		unsigned char b[8192];
	} u;
	struct fnmm_info before;
	unsigned int sz;
	int f = fnmm_open(), ret;

	if (!tap(f >= 0, errname(f), "abi: open"))
		return;
	for (sz = 4096; sz <= 4097; sz++) {
		int want = sz > 4096 ? -E2BIG : 0;

		info_or_fail(f, &before, "abi");
		memset(&u, 0, sizeof(u));
		u.v.argsz = sz;
		u.v.range.size = pg;
		ret = fnmm_ioctl_raw(f, FNMM_IOC_RESERVE_MEM, &u);
		tap_ret(ret, want, "abi: ReserveMem with argsz %u (zero tail)", sz);
		if (!ret)
			fnmm_release(f, u.v.handle);
		if (want)
			tap_info_same(f, &before, "abi: ... changes nothing");
		memset(&u, 0, sizeof(u));
		u.i.argsz = sz;
		ret = fnmm_ioctl_raw(f, FNMM_IOC_INFO, &u);
		tap_ret(ret, want, "abi: Info with argsz %u (zero tail)", sz);
	}
	memset(&u, 0, sizeof(u));
	u.i.argsz = FNMM_INFO_SIZE_VER0 + 8;
	ret = fnmm_ioctl_raw(f, FNMM_IOC_INFO, &u);
	tap_ret(ret, 0, "abi: Info with argsz %u (zero tail)",
		FNMM_INFO_SIZE_VER0 + 8);
	tap(u.i.version == FNMM_ABI_VERSION && u.i.region_size, NULL,
	    "abi: ... and it is filled in");
	close(f);
}

static void abi_lookup_pool(void)
{
	struct fnmm_vmctl r0, r1, l;
	char *page;
	int f = fnmm_open(), ret;

	if (!tap(f >= 0, errname(f), "abi: open"))
		return;
	ret = fnmm_reserve(f, 8, RWU, POOL, 0, &r0);
	if (!ret)
		ret = fnmm_reserve(f, 8, RWU, POOL, 0, &r1);
	if (!tap_ret(ret, 0, "abi: two Pool objects of 8 B") ||
	    !tap_eq(r1.offset, 8, "abi: the second is 8 bytes into its page")) {
		close(f);
		return;
	}
	page = fnmm_mmap(f, r1.handle, pg, RW);
	if (!tap(page != MAP_FAILED, strerror(errno),
		 "abi: mmap the second one's page")) {
		close(f);
		return;
	}
	ret = fnmm_lookup(f, fnmm_addr(page) + 8, &l);
	tap(!ret && l.handle == r1.handle && l.offset == 0, errname(ret),
	    "abi: LookupVirtual at the object: its handle, offset 0");
	tap_ret(fnmm_lookup(f, fnmm_addr(page), &l), -EFAULT,
		"abi: LookupVirtual at the page's first byte (before the object): EFAULT");
	tap_ret(fnmm_lookup(f, fnmm_addr(page) + 16, &l), -EFAULT,
		"abi: LookupVirtual just after the object: EFAULT");
	tap_ret(fnmm_lookup(f, fnmm_addr(page) + pg - 1, &l), -EFAULT,
		"abi: LookupVirtual at the page's last byte: EFAULT");
	tap_ret(fnmm_access(f, fnmm_addr(page), &l), 0,
		"abi: Access at the page's first byte still works");
	munmap(page, pg);
	close(f);
}

static void part_abi(void)
{
	struct fnmm_info start;
	char d[512];

	if (info_or_fail(mon, &start, "abi"))
		return;
	abi_rdonly();
	abi_argsz();
	abi_lookup_pool();
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "abi: every counter back");
}

/* ---- take: Uncached and Device memory in the direct map ---- */

/* The kernel log's lines containing x86/PAT, newline-separated. */
static char *pat_lines(int *n)
{
	int size = klogctl(10, NULL, 0), len, out = 0;
	char *buf, *res, *line, *save;

	*n = 0;
	if (size <= 0)
		size = 1 << 20;
	buf = malloc(size + 1);
	res = malloc(size + 1);
	if (!buf || !res) {
		free(buf);
		free(res);
		return NULL;
	}
	len = klogctl(3, buf, size);
	if (len < 0)
		len = 0;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, "x86/PAT"))
			continue;
		out += sprintf(res + out, "%s\n", line);
		(*n)++;
	}
	res[out] = '\0';
	free(buf);
	return res;
}

/* The last @n lines of @text as "# " diagnostics. */
static void print_last_lines(char *text, int n)
{
	char *p = text + strlen(text), *line, *save;

	/* text ends in a newline: step back over n + 1 of them. */
	while (p > text && n >= 0) {
		p--;
		if (*p == '\n')
			n--;
	}
	if (*p == '\n')
		p++;
	for (line = strtok_r(p, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		tap_diag("%s", line);
}

struct take_case {
	const char *name;
	unsigned int kind;
	__u32 access;
	int relsec;	/* release page 1, map page 0 alone and the pieces */
};

static void take_case(const struct take_case *c)
{
	int n0 = 0, n1 = 0, f = fnmm_open(), ret;
	char *before = pat_lines(&n0), *after, *p0 = MAP_FAILED, *all;
	struct fnmm_vmctl r;
	__u64 len = 4 * pg;
	size_t bad = 0;

	if (!tap(f >= 0, errname(f), "take: %s: open", c->name))
		goto out;
	ret = fnmm_reserve(f, len, c->access, c->kind, 0, &r);
	if (!tap_ret(ret, 0, "take: %s: ReserveMem 4 pages", c->name))
		goto out;
	if (c->relsec) {
		tap_ret(fnmm_release_sections(f, r.handle, pg, pg), 0,
			"take: %s: ReleaseSections of page 1", c->name);
		p0 = fnmm_mmap(f, r.handle, pg, RW);
		tap(p0 != MAP_FAILED, strerror(errno),
		    "take: %s: mmap page 0 alone", c->name);
	}
	all = fnmm_mmap(f, r.handle, len, RW);
	if (tap(all != MAP_FAILED, strerror(errno), "take: %s: mmap", c->name)) {
		if (c->relsec) {
			ret = pattern_fill(all, pg, 11);
			if (!ret)
				ret = pattern_fill(all + 2 * pg, 2 * pg, 12);
			if (!ret)
				ret = pattern_check(all, pg, 11, &bad);
			if (!ret)
				ret = pattern_check(all + 2 * pg, 2 * pg, 12,
						    &bad);
			if (!ret && p0 != MAP_FAILED)
				ret = pattern_check(p0, pg, 11, &bad);
		} else {
			ret = pattern_fill(all, len, 13);
			if (!ret)
				ret = pattern_check(all, len, 13, &bad);
		}
		tap(!ret, pattern_str(ret, bad), "take: %s: write and read back",
		    c->name);
		munmap(all, len);
	}
	if (p0 != MAP_FAILED)
		munmap(p0, pg);
	tap_ret(fnmm_release(f, r.handle), 0, "take: %s: Release", c->name);

	/* The same pages again, write-back (Split's LIFO cache of blocks). */
	ret = fnmm_reserve(f, len, RWU, c->kind, 0, &r);
	all = ret ? MAP_FAILED : fnmm_mmap(f, r.handle, len, RW);
	if (tap(all != MAP_FAILED, errname(ret ? ret : -errno),
		"take: %s: then a write-back allocation, mapped", c->name)) {
		ret = pattern_fill(all, len, 14);
		if (!ret)
			ret = pattern_check(all, len, 14, &bad);
		tap(!ret, pattern_str(ret, bad),
		    "take: %s: ... write and read back", c->name);
		munmap(all, len);
	}
out:
	if (f >= 0)
		close(f);
	after = pat_lines(&n1);
	tap(before && after && n1 == n0, "the new lines follow",
	    "take: %s: no new x86/PAT line in the kernel log (%d before, %d after)",
	    c->name, n0, n1);
	if (after && n1 > n0)
		print_last_lines(after, n1 - n0);
	free(before);
	free(after);
}

/*
 * An Uncached/Device allocation whose scrub fails, or whose direct map
 * cannot be made write-back again (debugfs @knob), is quarantined; the
 * retry frees it, and its pages, handed out again (Split's per-CPU LIFO
 * magazine: the case runs pinned to one CPU, where the retry's release
 * and the next ReserveMem both happen, with no Info between them: Info's
 * largest drains the magazines) as write-back and mapped, draw no
 * x86/PAT complaint: the direct map is write-back again.
 */
static void take_quarantine(const char *name, __u32 access, const char *knob)
{
	cpu_set_t all, one;
	int n0 = 0, n1 = 0, f = fnmm_open(), ret;
	char *before = pat_lines(&n0), *after;
	struct fnmm_info b, a;
	struct fnmm_vmctl r, r2;
	__u64 len = 4 * pg, phys;
	char path[128];
	size_t bad = 0;
	void *p;

	sched_getaffinity(0, sizeof(all), &all);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	if (!tap(f >= 0, errname(f), "take: quarantine %s: open", name))
		goto out;
	ret = fnmm_reserve(f, len, access, SPLIT, 0, &r);
	if (!tap_ret(ret, 0, "take: quarantine %s: ReserveMem 4 pages", name))
		goto out;
	phys = r.range.phys;
	p = fnmm_mmap(f, r.handle, len, RW);
	if (p != MAP_FAILED) {
		memset(p, FILL, len);
		munmap(p, len);
	}
	info_or_fail(mon, &b, name);
	snprintf(path, sizeof(path), DBG "%s", knob);
	tap_ret(write_file(path, "1"), 0,
		"take: quarantine %s: echo 1 > %s", name, knob);
	tap_ret(fnmm_release(f, r.handle), 0, "take: quarantine %s: Release",
		name);
	write_file(path, "0");
	info_or_fail(mon, &a, name);
	tap_eq(QUARANTINED(&a) - QUARANTINED(&b), len,
	       "take: quarantine %s: quarantined", name);
	tap_ret(write_file(DBG "quarantine", "retry"), 0,
		"take: quarantine %s: echo retry > quarantine", name);
	/* Before Info: its largest drains the magazines. */
	ret = fnmm_reserve(f, len, RWU, SPLIT, 0, &r2);
	info_or_fail(mon, &a, name);
	tap_eq(QUARANTINED(&a), QUARANTINED(&b),
	       "take: quarantine %s: the retry freed it", name);
	tap(!ret && r2.range.phys == phys, errname(ret),
	    "take: quarantine %s: the same pages come back, write-back", name);
	p = ret ? MAP_FAILED : fnmm_mmap(f, r2.handle, len, RW);
	if (tap(p != MAP_FAILED, strerror(errno),
		"take: quarantine %s: ... mapped", name)) {
		tap(first_nonzero(p, len) < 0, NULL,
		    "take: quarantine %s: ... and zeroed", name);
		ret = pattern_fill(p, len, 15);
		if (!ret)
			ret = pattern_check(p, len, 15, &bad);
		tap(!ret, pattern_str(ret, bad),
		    "take: quarantine %s: ... write and read back", name);
		munmap(p, len);
	}
out:
	sched_setaffinity(0, sizeof(all), &all);
	write_file(DBG "fail_scrub", "0");
	write_file(DBG "fail_type", "0");
	if (f >= 0)
		close(f);
	after = pat_lines(&n1);
	tap(before && after && n1 == n0, "the new lines follow",
	    "take: quarantine %s: no new x86/PAT line in the kernel log (%d before, %d after)",
	    name, n0, n1);
	if (after && n1 > n0)
		print_last_lines(after, n1 - n0);
	free(before);
	free(after);
}

static void part_take(void)
{
	static const struct take_case cases[] = {
		{ "Split Uncached", SPLIT, RWU | FNMM_ACCESS_UNCACHED, 0 },
		{ "Split Device", SPLIT, RWU | FNMM_ACCESS_DEVICE, 0 },
		{ "Bit Uncached", BIT, RWU | FNMM_ACCESS_UNCACHED, 0 },
		{ "Bit Device", BIT, RWU | FNMM_ACCESS_DEVICE, 0 },
		{ "Split Uncached in pieces", SPLIT,
		  RWU | FNMM_ACCESS_UNCACHED, 1 },
		{ "Split Device in pieces", SPLIT, RWU | FNMM_ACCESS_DEVICE, 1 },
	};
	struct fnmm_info start;
	char buf[256], d[512];
	unsigned int i;

	tap(!read_file(DBG "region", buf, sizeof(buf)) &&
	    strstr(buf, "taken at load"), buf,
	    "take: the region was taken at load");
	if (info_or_fail(mon, &start, "take"))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		take_case(&cases[i]);
	take_quarantine("Uncached", RWU | FNMM_ACCESS_UNCACHED, "fail_scrub");
	take_quarantine("Device", RWU | FNMM_ACCESS_DEVICE, "fail_scrub");
	/* Write-back could not be restored: the retry must restore it. */
	take_quarantine("Uncached, type", RWU | FNMM_ACCESS_UNCACHED,
			"fail_type");
	take_quarantine("Device, type", RWU | FNMM_ACCESS_DEVICE, "fail_type");
	tap(!info_wait(mon, &start, WAIT_MS, d, sizeof(d)), d,
	    "take: every counter back");
}

static int usage(void)
{
	fprintf(stderr, "usage: test_shared leak|limits|account0|quarantine|pool|abi|take|handles N\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *part = argc > 1 ? argv[1] : "";

	pg = fnmm_page_size();
	if (argc < 2)
		return usage();
	if (geteuid() != 0) {
		tap_skip("needs root", "test_shared %s", part);
		return tap_done();
	}
	tap_share();
	mon = open_or_bail();
	if (!strcmp(part, "leak"))
		part_leak();
	else if (!strcmp(part, "limits"))
		part_limits();
	else if (!strcmp(part, "account0"))
		part_account0();
	else if (!strcmp(part, "quarantine"))
		part_quarantine();
	else if (!strcmp(part, "pool"))
		part_pool();
	else if (!strcmp(part, "abi"))
		part_abi();
	else if (!strcmp(part, "take"))
		part_take();
	else if (!strcmp(part, "handles") && argc > 2)
		part_handles(strtoul(argv[2], NULL, 0));
	else
		return usage();
	close(mon);
	return tap_done();
}
