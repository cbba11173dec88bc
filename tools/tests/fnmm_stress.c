// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm_stress: processes x threads hammering /dev/freenos-mm, with a
 * killer that SIGKILLs workers at random points and restarts them.
 *
 *   fnmm_stress [--procs N] [--threads M] [--seconds S] [--kills K]
 *               [--seed N] [--no-partial] [--no-relsec]
 *   fnmm_stress --hold-mapping SECONDS
 *
 * Each worker process opens a shared file; its M threads race on it
 * (ReserveMem, MapContiguous/MapSparse, mmap of each other's handles,
 * Release of them, ReleaseSections, Lookup/Access, cache operations,
 * UnMap, close and reopen of the shared file) and on private files of
 * their own.  A thread owns the mappings it made with a Map of handle 0:
 * they must read zero when new, keep the pattern the thread writes, and
 * answer Lookup/Access exactly, whatever the other threads do to the
 * handle meanwhile (a mapping keeps its pages).  Every result must be
 * one the ABI allows for the operation under such races.
 *
 * Threads also export handles of the shared file (their own or any
 * published one: EBUSY, ENOENT, EINVAL as others race them), map the
 * dma-bufs read-only and read them, SYNC them, close the fd while the
 * mapping keeps the dma-buf, and hold up to DBUF_MAX of them across
 * Release, reopen of the shared file and SIGKILL (the kernel closes a
 * killed holder's).  At the end Info exported must be 0.
 *
 * The parent SIGKILLs a random worker K times during the run (default
 * 20) and starts it again.  At the end the workers clean up, and every
 * INFO counter must be back where it started (no page lost), and the
 * debugfs check must say "ok".  TAP output, figures as "# " lines.
 *
 * --no-partial maps others' handles whole (never their first page
 * alone), --no-relsec never releases sections: they narrow what is
 * tried, to tell the bugs those provoke from others.
 *
 * --hold-mapping S: open, map 2 pages, write them, close the file, and
 * hold the mapping for S seconds (or until SIGTERM) before checking and
 * unmapping it; exit 0 if the data was intact (for rmmod tests: a
 * mapping outliving its file keeps the module busy).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "hardening.h"

#define MAX_PROCS	16
#define MAX_THREADS	16
#define OWN_MAX		12	/* mappings a thread owns */
#define HELD_MAX	8	/* ReserveMem'd handles a thread owns */
#define DBUF_MAX	4	/* dma-bufs a thread holds */
#define TAB		64	/* published handles of the shared file */
#define ADDRS		64	/* published mapping addresses */
#define WAIT_MS		5000
#define MAX_REPORTS	10

#define SPLIT	FNMM_ALLOC_SPLIT
#define BIT	FNMM_ALLOC_BIT
#define POOL	FNMM_ALLOC_POOL

enum sop {
	S_MAP0, S_RESERVE, S_MMAP_OTHER, S_MAPC_OTHER, S_RELEASE_ANY,
	S_RELSEC_OWN, S_TOUCH, S_LOOKUP_OWN, S_LOOKUP_ANY, S_UNMAP_OWN,
	S_CACHE_OWN, S_REOPEN_PRIV, S_REOPEN_SHARED, S_INFO, S_EXPORT,
	S_DMABUF, NR_SOPS
};

static const struct {
	const char *name;
	unsigned int weight;
} sops[NR_SOPS] = {
	[S_MAP0]		= { "map new", 12 },
	[S_RESERVE]		= { "reserve", 8 },
	[S_MMAP_OTHER]		= { "mmap a shared handle", 8 },
	[S_MAPC_OTHER]		= { "MapContiguous a shared handle", 4 },
	[S_RELEASE_ANY]		= { "release a shared handle", 8 },
	[S_RELSEC_OWN]		= { "ReleaseSections", 5 },
	[S_TOUCH]		= { "touch (write/check)", 16 },
	[S_LOOKUP_OWN]		= { "lookup own", 6 },
	[S_LOOKUP_ANY]		= { "lookup any", 4 },
	[S_UNMAP_OWN]		= { "unmap own", 9 },
	[S_CACHE_OWN]		= { "cache op", 3 },
	[S_REOPEN_PRIV]		= { "reopen private", 1 },
	[S_REOPEN_SHARED]	= { "reopen shared", 1 },
	[S_INFO]		= { "info", 2 },
	[S_EXPORT]		= { "export", 4 },
	[S_DMABUF]		= { "dma-buf mmap/sync/close", 4 },
};

/* Per worker slot, shared with the parent (counts survive kills). */
struct wstat {
	uint64_t ops[NR_SOPS];
	uint64_t unexpected;
	uint64_t checks;
	uint64_t corrupt;
	uint64_t reports;
	uint64_t incarnations;
	uint64_t clean_exits;
	uint64_t final_bad;	/* a file not empty after the cleanup */
	uint64_t exports;	/* dma-bufs made */
	uint64_t dma_maps;	/* dma-buf mappings made and read */
};

struct shared {
	volatile int stop;
	uint64_t kills;
	struct wstat w[MAX_PROCS];
};

static struct shared *sh;
static int mon = -1;		/* the parent's file, for INFO */
static struct wstat *ws;
static int slot_no;
static __u64 pg;
static unsigned int nthreads = 4;
static int no_partial, no_relsec;
static uint64_t deadline_ms;

/* The worker process: the shared file and what its threads publish. */
static pthread_rwlock_t fd_lock = PTHREAD_RWLOCK_INITIALIZER;
static int sfd = -1;
static unsigned int sgen;		/* bumped at each reopen */
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static __u64 tab[TAB];			/* handles of the shared file */
/* What put each handle there: a number may be reused once released. */
static uint64_t tab_tag[TAB], tab_serial;
static __u64 addrs[ADDRS];		/* mapping addresses, racy hints */

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char line[400];
	va_list ap;

	if (__atomic_fetch_add(&ws->reports, 1, __ATOMIC_RELAXED) >=
	    MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("# worker %d: %s\n", slot_no, line);
	fflush(stdout);
}

static void bump(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* A result must be in @allowed (bit 0: success, bit e: -e). */
static int allowed(int ret, uint64_t set, const char *what)
{
	int e = ret < 0 ? -ret : ret;

	if (set & (e < 63 ? 1ULL << e : 1ULL << 63))
		return 1;
	bump(&ws->unexpected);
	report("%s: unexpected %s", what, errname(ret));
	return 0;
}

#define A_OK	1ULL
#define A(e)	(1ULL << (e))

struct own {
	__u64 addr, len;	/* the mapping */
	__u64 obj, objlen;	/* the data: a Pool object, or all of it */
	__u64 handle;
	uint64_t seed;
	int shared;		/* made through the shared file */
	unsigned int gen;	/* of that file */
	int written;
	uint64_t published;	/* tab[] tag: release it through the table */
	int slot;		/* in addrs[], or -1 */
};

struct thr {
	int idx;
	uint64_t rng;
	int pfd;		/* private file */
	unsigned int pgen;
	struct own own[OWN_MAX];
	int nown;
	__u64 held[HELD_MAX];	/* ReserveMem'd on the shared file */
	unsigned int hgen[HELD_MAX];
	uint64_t hpub[HELD_MAX];
	int hcut[HELD_MAX];	/* sections released */
	uint64_t hleft[HELD_MAX];	/* pages still held, one bit each */
	int nheld;
	/*
	 * dma-bufs of handles it exported (its own, or any published one):
	 * the fd (-1 once closed) and a read-only mapping (0: none); held
	 * across Release, close of the files and, if it is killed, for the
	 * kernel to close.
	 */
	struct {
		int fd;
		__u64 map, len;
	} db[DBUF_MAX];
	int ndb;
};

static uint64_t rnd(struct thr *t, uint64_t n)
{
	return hd_below(&t->rng, n);
}

/*
 * The table of published handles: a handle in it is live.  Whoever
 * releases a published handle does so under tab_lock and only while it
 * is still there (ReleaseSections takes it out first), so no thread
 * ever releases
 * a handle number that was released and reused meanwhile: the races are
 * the ABI's, not use-after-release.  Mapping a handle from the table may
 * still use a stale number (harmless: those mappings are only read).
 */
static uint64_t tab_put(__u64 h)
{
	uint64_t tag = 0;
	unsigned int i;

	pthread_mutex_lock(&tab_lock);
	for (i = 0; i < TAB; i++)
		if (!tab[i])
			break;
	if (i < TAB) {
		tab[i] = h;
		tab_tag[i] = tag = ++tab_serial;
	}
	pthread_mutex_unlock(&tab_lock);
	return tag;
}

/* Release published handle @h, if it still is: *done says whether. */
static int tab_release(int fd, __u64 h, uint64_t tag, int *done)
{
	unsigned int i;
	int ret = -ENOENT;

	*done = 0;
	pthread_mutex_lock(&tab_lock);
	for (i = 0; i < TAB; i++)
		if (tab[i] == h && tab_tag[i] == tag)
			break;
	if (i < TAB) {
		*done = 1;
		ret = fnmm_release(fd, h);
		if (!ret)
			tab[i] = 0;
	}
	pthread_mutex_unlock(&tab_lock);
	return ret;
}

static __u64 tab_pick(struct thr *t, uint64_t *tag)
{
	unsigned int i = rnd(t, TAB);
	__u64 h;

	pthread_mutex_lock(&tab_lock);
	h = tab[i];
	if (tag)
		*tag = tab_tag[i];
	pthread_mutex_unlock(&tab_lock);
	return h;
}

/* The file for an operation: the shared one (read-locked) or private. */
static int use_fd(struct thr *t, int shared, unsigned int *gen)
{
	if (!shared) {
		*gen = t->pgen;
		return t->pfd;
	}
	pthread_rwlock_rdlock(&fd_lock);
	*gen = sgen;
	return sfd;
}

static void done_fd(int shared)
{
	if (shared)
		pthread_rwlock_unlock(&fd_lock);
}

static int own_fd_current(struct thr *t, const struct own *o)
{
	return o->shared ? o->gen == sgen : o->gen == t->pgen;
}

/* Check an owned mapping: the pattern (or zeros before the first write). */
static int own_check(struct own *o, const char *when)
{
	size_t bad = 0;
	char s[48];
	int ret;

	bump(&ws->checks);
	ret = hd_check(fnmm_ptr(o->obj), o->objlen, o->seed, !o->written,
		       &bad);
	if (!ret)
		return 1;
	bump(&ws->corrupt);
	report("%s: handle %#llx mapping %#llx+%#llx, %s: %s", when,
	       (unsigned long long)o->handle, (unsigned long long)o->addr,
	       (unsigned long long)o->len,
	       o->written ? "pattern" : "new (zero)",
	       hd_str(ret, bad, s, sizeof(s)));
	return 0;
}

static void own_drop(struct thr *t, int i)
{
	if (t->own[i].slot >= 0)
		__atomic_store_n(&addrs[t->own[i].slot], 0, __ATOMIC_RELAXED);
	t->own[i] = t->own[--t->nown];
}

static int rnd_kind(struct thr *t)
{
	unsigned int r = rnd(t, 10);

	return r < 5 ? SPLIT : r < 8 ? BIT : POOL;
}

static __u64 rnd_size(struct thr *t, int kind)
{
	if (kind == POOL)
		return 8 + rnd(t, pg / 2 - 8);
	return pg * (1 + rnd(t, 16)) - (rnd(t, 4) ? 0 : rnd(t, pg));
}

static void op_map0(struct thr *t)
{
	int shared = rnd(t, 10) < 6, kind = rnd_kind(t), fd, ret, sparse;
	struct fnmm_vmctl m;
	unsigned int gen;
	struct own *o;

	if (t->nown >= OWN_MAX)
		return;
	sparse = kind != POOL && rnd(t, 10) < 3;
	fd = use_fd(t, shared, &gen);
	if (sparse)
		ret = fnmm_map_sparse(fd, 0, 0, rnd_size(t, kind), 0, kind, 0,
				      &m);
	else
		ret = fnmm_map_contiguous(fd, 0, 0, rnd_size(t, kind), 0, kind,
					  0, &m);
	if (!allowed(ret, A_OK | A(ENOMEM) | A(ENOSPC),
		     sparse ? "MapSparse, handle 0" :
		     "MapContiguous, handle 0") || ret) {
		done_fd(shared);
		return;
	}
	o = &t->own[t->nown++];
	o->obj = m.range.virt;
	o->objlen = m.range.size;
	o->addr = m.range.virt & ~(pg - 1);
	o->len = (m.offset + m.range.size + pg - 1) & ~(pg - 1);
	o->handle = m.handle;
	o->seed = hd_next(&t->rng);
	o->shared = shared;
	o->gen = gen;
	o->written = 0;
	o->slot = rnd(t, ADDRS);
	__atomic_store_n(&addrs[o->slot], o->addr, __ATOMIC_RELAXED);
	/* Published while the file is still the one it was made on. */
	o->published = shared ? tab_put(m.handle) : 0;
	done_fd(shared);
	own_check(o, "new mapping");
}

static void op_reserve(struct thr *t)
{
	int shared = rnd(t, 10) < 7, kind = rnd_kind(t), fd, ret;
	struct fnmm_vmctl r;
	unsigned int gen;

	if (shared && t->nheld >= HELD_MAX)
		return;
	fd = use_fd(t, shared, &gen);
	ret = fnmm_reserve(fd, rnd_size(t, kind), 0, kind, 0, &r);
	if (!allowed(ret, A_OK | A(ENOMEM) | A(ENOSPC), "ReserveMem") || ret ||
	    !shared) {
		done_fd(shared);	/* a private file's close returns it */
		return;
	}
	t->held[t->nheld] = r.handle;
	t->hpub[t->nheld] = tab_put(r.handle);
	t->hcut[t->nheld] = 0;
	t->hleft[t->nheld] = (r.range.size + pg - 1) / pg >= 64 ? ~0ULL :
			     (1ULL << ((r.range.size + pg - 1) / pg)) - 1;
	t->hgen[t->nheld++] = gen;
	done_fd(shared);
}

/* Map someone's handle (read-only), read a byte, unmap: races galore. */
static void op_map_other(struct thr *t, int ioctl_map)
{
	__u64 h = tab_pick(t, NULL);
	struct fnmm_vmctl m;
	unsigned int gen;
	int fd, ret;
	void *p;

	if (!h)
		return;
	fd = use_fd(t, 1, &gen);
	if (ioctl_map) {
		ret = fnmm_map_contiguous(fd, h, 0, 0, FNMM_ACCESS_READABLE |
					  FNMM_ACCESS_USER, 0, 0, &m);
		/* Released, reused by another kind, or not contiguous. */
		allowed(ret, A_OK | A(ENOENT) | A(EINVAL) | A(EACCES),
			"MapContiguous of a shared handle");
		p = ret ? MAP_FAILED : fnmm_ptr(m.range.virt & ~(pg - 1));
	} else if (no_partial) {
		/* MapSparse maps the whole allocation, whatever it is. */
		ret = fnmm_map_sparse(fd, h, 0, 0, FNMM_ACCESS_READABLE |
				      FNMM_ACCESS_USER, 0, 0, &m);
		allowed(ret, A_OK | A(ENOENT) | A(EACCES) | A(EINVAL),
			"MapSparse of a shared handle");
		p = ret ? MAP_FAILED : fnmm_ptr(m.range.virt & ~(pg - 1));
		ioctl_map = 1;
	} else {
		/* Its first page: often part of the allocation only. */
		p = fnmm_mmap(fd, h, pg, PROT_READ);
		ret = p == MAP_FAILED ? -errno : 0;
		allowed(ret, A_OK | A(EINVAL), "mmap of a shared handle");
	}
	done_fd(1);
	if (p == MAP_FAILED)
		return;
	/* Its owner may have released sections: SIGBUS is possible. */
	ret = hd_probe(p, 0);
	if (ret && ret != -SIGBUS) {
		bump(&ws->corrupt);
		report("read of a shared handle's mapping: signal %d", -ret);
	}
	munmap(p, ioctl_map ? (m.offset + m.range.size + pg - 1) & ~(pg - 1) :
	       pg);
}

static void op_release_any(struct thr *t)
{
	uint64_t tag;
	__u64 h = tab_pick(t, &tag);
	unsigned int gen;
	int fd, ret, done;

	if (!h)
		return;
	fd = use_fd(t, 1, &gen);
	ret = tab_release(fd, h, tag, &done);
	done_fd(1);
	/* Still published: it is live, whatever others do with it. */
	if (done)
		allowed(ret, A_OK, "Release of a shared handle");
}

/*
 * Release a handle of its own, through the table if published (gone
 * from it: another thread released it).  After ReleaseSections it may
 * be gone already: "releasing the last section releases the allocation".
 */
static void own_release(int fd, __u64 h, uint64_t published, int cut)
{
	int ret, done = 1;

	if (published)
		ret = tab_release(fd, h, published, &done);
	else
		ret = fnmm_release(fd, h);
	if (done)
		allowed(ret, A_OK | (cut ? A(ENOENT) : 0),
			"Release of own handle");
}

/* Take @h out of the table: 1 if it was there (still live). */
static int tab_unpublish(__u64 h, uint64_t tag)
{
	unsigned int i;
	int found = 0;

	pthread_mutex_lock(&tab_lock);
	for (i = 0; i < TAB; i++)
		if (tab[i] == h && tab_tag[i] == tag) {
			tab[i] = 0;
			found = 1;
		}
	pthread_mutex_unlock(&tab_lock);
	return found;
}

static void op_relsec_own(struct thr *t)
{
	unsigned int gen, i, first, n;
	int fd, ret;

	if (!t->nheld)
		return;
	i = rnd(t, t->nheld);
	fd = use_fd(t, 1, &gen);
	if (gen != t->hgen[i] || no_relsec || rnd(t, 3) == 0) {
		/* Gone with its file, or released now: forget it. */
		if (gen == t->hgen[i])
			own_release(fd, t->held[i], t->hpub[i], t->hcut[i]);
		done_fd(1);
		goto forget;
	}
	/* Its sections go: from now on only this thread releases it. */
	if (t->hpub[i]) {
		uint64_t tag = t->hpub[i];

		t->hpub[i] = 0;
		if (!tab_unpublish(t->held[i], tag)) {
			done_fd(1);	/* another thread released it */
			goto forget;
		}
	}
	first = rnd(t, 4);
	n = 1 + rnd(t, 4);
	ret = fnmm_release_sections(fd, t->held[i], pg * first, pg * n);
	done_fd(1);
	/*
	 * Others may map it (EBUSY); a Pool object, a range past its end
	 * or over a released page is EINVAL.
	 */
	allowed(ret, A_OK | A(EBUSY) | A(EINVAL) | A(ENOMEM),
		"ReleaseSections of own handle");
	if (ret)
		return;
	t->hcut[i] = 1;
	t->hleft[i] &= ~(((n >= 64 ? 0 : 1ULL << n) - 1) << first);
	/* Its last pages went: the allocation is gone (ABI), and its number
	 * may already name someone else's.
	 */
	if (!t->hleft[i])
		goto forget;
	return;
forget:
	t->nheld--;
	t->held[i] = t->held[t->nheld];
	t->hgen[i] = t->hgen[t->nheld];
	t->hpub[i] = t->hpub[t->nheld];
	t->hcut[i] = t->hcut[t->nheld];
	t->hleft[i] = t->hleft[t->nheld];
}

static void op_touch(struct thr *t)
{
	struct own *o;
	int ret;

	if (!t->nown)
		return;
	o = &t->own[rnd(t, t->nown)];
	if (!o->written || rnd(t, 4) == 0) {
		if (o->written && !own_check(o, "before a rewrite"))
			return;
		ret = hd_fill(fnmm_ptr(o->obj), o->objlen, o->seed);
		if (ret) {
			bump(&ws->corrupt);
			report("write to own mapping %#llx: signal %d",
			       (unsigned long long)o->addr, -ret);
			return;
		}
		o->written = 1;
		return;
	}
	own_check(o, "touch");
}

static void op_lookup_own(struct thr *t)
{
	struct fnmm_vmctl l;
	unsigned int gen;
	struct own *o;
	int fd, ret, cur, phys, outside;
	__u64 v;

	if (!t->nown)
		return;
	o = &t->own[rnd(t, t->nown)];
	v = o->addr + rnd(t, o->len);
	fd = use_fd(t, o->shared, &gen);
	cur = o->shared ? o->gen == gen : o->gen == t->pgen;
	phys = rnd(t, 2);
	/* LookupVirtual: only the object's own bytes have an offset. */
	outside = phys && (v < o->obj || v - o->obj >= o->objlen);
	ret = phys ? fnmm_lookup(fd, v, &l) : fnmm_access(fd, v, &l);
	done_fd(o->shared);
	/* Through a reopened file the mapping is another file's. */
	if (!allowed(ret, (cur && !outside ? A_OK : A(EFAULT)) |
		     (phys ? A(EPERM) : 0), "Lookup/Access of own mapping") ||
	    ret)
		return;
	if (l.handle != o->handle || l.offset != v - o->obj ||
	    l.range.size != o->addr + o->len - v) {
		bump(&ws->unexpected);
		report("Lookup/Access %#llx: handle %#llx offset %#llx size %#llx, want %#llx %#llx %#llx",
		       (unsigned long long)v, (unsigned long long)l.handle,
		       (unsigned long long)l.offset,
		       (unsigned long long)l.range.size,
		       (unsigned long long)o->handle,
		       (unsigned long long)(v - o->obj),
		       (unsigned long long)(o->addr + o->len - v));
	}
}

static void op_lookup_any(struct thr *t)
{
	__u64 v = __atomic_load_n(&addrs[rnd(t, ADDRS)], __ATOMIC_RELAXED);
	struct fnmm_vmctl l;
	unsigned int gen;
	int fd, ret;

	if (!v)
		v = fnmm_addr(free_area(pg));
	fd = use_fd(t, 1, &gen);
	ret = fnmm_access(fd, v + rnd(t, pg), &l);
	done_fd(1);
	allowed(ret, A_OK | A(EFAULT), "Access of any mapping");
}

static void op_unmap_own(struct thr *t)
{
	unsigned int gen, i;
	struct own o;
	int fd, ret;

	if (!t->nown)
		return;
	i = rnd(t, t->nown);
	o = t->own[i];
	own_check(&o, "before unmapping");
	own_drop(t, i);
	fd = use_fd(t, o.shared, &gen);
	if (own_fd_current(t, &o) && rnd(t, 2)) {
		ret = fnmm_unmap(fd, o.addr, o.len);
		allowed(ret, A_OK, "UnMap of own mapping");
	} else {
		ret = munmap(fnmm_ptr(o.addr), o.len) ? -errno : 0;
		allowed(ret, A_OK, "munmap of own mapping");
	}
	/* Give the handle back too, unless someone did already. */
	if (own_fd_current(t, &o))
		own_release(fd, o.handle, o.published, 0);
	done_fd(o.shared);
}

static void op_cache_own(struct thr *t)
{
	unsigned int gen;
	struct own *o;
	int fd, ret;

	if (!t->nown)
		return;
	o = &t->own[rnd(t, t->nown)];
	fd = use_fd(t, o->shared, &gen);
	if (!own_fd_current(t, o)) {
		done_fd(o->shared);
		return;
	}
	ret = fnmm_cache_clean_invalidate(fd, o->obj, o->objlen);
	done_fd(o->shared);
	allowed(ret, A_OK, "CacheCleanInvalidate of own mapping");
}

static void op_reopen_priv(struct thr *t)
{
	int fd;

	close(t->pfd);
	t->pgen++;
	fd = fnmm_open();
	if (!allowed(fd < 0 ? fd : 0, A_OK, "reopen the private file"))
		fd = -1;
	t->pfd = fd;
}

/* Close the shared file under everyone's feet (between operations). */
static void op_reopen_shared(struct thr *t)
{
	unsigned int i;
	int fd;

	(void)t;
	pthread_rwlock_wrlock(&fd_lock);
	close(sfd);
	fd = fnmm_open();
	if (!allowed(fd < 0 ? fd : 0, A_OK, "reopen the shared file"))
		fd = -1;
	sfd = fd;
	sgen++;
	pthread_mutex_lock(&tab_lock);
	for (i = 0; i < TAB; i++)
		tab[i] = 0;
	pthread_mutex_unlock(&tab_lock);
	pthread_rwlock_unlock(&fd_lock);
}

static void op_info(struct thr *t)
{
	struct fnmm_info in;
	unsigned int gen;
	int fd, ret;

	fd = use_fd(t, 1, &gen);
	ret = fnmm_info(fd, &in);
	done_fd(1);
	if (allowed(ret, A_OK, "Info") &&
	    (in.alloc[SPLIT].free > in.alloc[SPLIT].size ||
	     in.alloc[BIT].free > in.alloc[BIT].size)) {
		bump(&ws->unexpected);
		report("Info: free above size");
	}
}

/*
 * Export a handle of the shared file: its own mapped or held ones, or
 * any published one (maybe released and reused meanwhile).  Another
 * thread may have exported it (EBUSY), released it (ENOENT) or some of
 * its sections (EINVAL); a Pool object is EINVAL.
 */
static void op_export(struct thr *t)
{
	struct fnmm_export ex = { .argsz = sizeof(ex) };
	unsigned int gen, r = rnd(t, 3);
	int fd, ret;

	if (t->ndb >= DBUF_MAX)
		return;
	if (r == 0 && t->nown)
		ex.handle = t->own[rnd(t, t->nown)].handle;
	else if (r == 1 && t->nheld)
		ex.handle = t->held[rnd(t, t->nheld)];
	else
		ex.handle = tab_pick(t, NULL);
	if (!ex.handle)
		return;
	ex.flags = (rnd(t, 2) ? O_RDWR : O_RDONLY) |
		   (rnd(t, 2) ? O_CLOEXEC : 0);
	fd = use_fd(t, 1, &gen);
	ret = fnmm_ioctl_raw(fd, FNMM_IOC_EXPORT, &ex);
	done_fd(1);
	if (!allowed(ret, A_OK | A(ENOENT) | A(EINVAL) | A(EBUSY) |
		     A(EACCES) | A(ENOMEM), "export") || ret)
		return;
	bump(&ws->exports);
	t->db[t->ndb].fd = ex.fd;
	t->db[t->ndb].map = 0;
	t->db[t->ndb++].len = 0;
}

/* Drop dma-buf @i of @t: its mapping and its fd. */
static void db_drop(struct thr *t, int i)
{
	if (t->db[i].map)
		munmap(fnmm_ptr(t->db[i].map), t->db[i].len);
	if (t->db[i].fd >= 0)
		allowed(close(t->db[i].fd) ? -errno : 0, A_OK,
			"close of a dma-buf");
	t->db[i] = t->db[--t->ndb];
}

/*
 * Use a held dma-buf: map it read-only and read a page (its owner may
 * write it meanwhile, never release a section of it: EBUSY), SYNC,
 * close the fd (a mapping keeps the dma-buf), or drop it all.
 */
static void op_dmabuf(struct thr *t)
{
	struct dma_buf_sync sy;
	int i, ret;
	off_t size;
	void *p;

	if (!t->ndb)
		return;
	i = rnd(t, t->ndb);
	switch (rnd(t, 4)) {
	case 0:
		if (t->db[i].fd < 0 || t->db[i].map)
			break;
		size = lseek(t->db[i].fd, 0, SEEK_END);
		if (size <= 0 || size % pg) {
			bump(&ws->unexpected);
			report("dma-buf size %lld", (long long)size);
			break;
		}
		p = mmap(NULL, size, PROT_READ, MAP_SHARED, t->db[i].fd, 0);
		ret = p == MAP_FAILED ? -errno : 0;
		if (!allowed(ret, A_OK | A(ENOMEM), "mmap of a dma-buf") ||
		    ret)
			break;
		t->db[i].map = fnmm_addr(p);
		t->db[i].len = size;
		bump(&ws->dma_maps);
		ret = hd_probe((char *)p + rnd(t, size / pg) * pg, 0);
		if (ret) {
			bump(&ws->corrupt);
			report("read of a dma-buf mapping: signal %d", -ret);
		}
		break;
	case 1:
		if (t->db[i].fd < 0)
			break;
		sy.flags = (rnd(t, 2) ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) |
			   (1 + rnd(t, 3));
		ret = ioctl(t->db[i].fd, DMA_BUF_IOCTL_SYNC, &sy) ? -errno : 0;
		allowed(ret, A_OK, "DMA_BUF_IOCTL_SYNC");
		break;
	case 2:
		if (t->db[i].fd < 0 || !t->db[i].map)
			break;
		allowed(close(t->db[i].fd) ? -errno : 0, A_OK,
			"close of a mapped dma-buf");
		t->db[i].fd = -1;
		break;
	default:
		db_drop(t, i);
		break;
	}
}

static enum sop pick(struct thr *t)
{
	unsigned int i, total = 0, r;

	for (i = 0; i < NR_SOPS; i++)
		total += sops[i].weight;
	r = rnd(t, total);
	for (i = 0; i < NR_SOPS; i++) {
		if (r < sops[i].weight)
			return i;
		r -= sops[i].weight;
	}
	return S_INFO;
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	unsigned int gen, i;
	int fd, ret;

	t->pfd = fnmm_open();
	while (!sh->stop && hd_now_ms() < deadline_ms) {
		enum sop op = pick(t);

		if (t->pfd < 0 && op != S_REOPEN_PRIV)
			op = S_REOPEN_PRIV;
		switch (op) {
		case S_MAP0:
			op_map0(t);
			break;
		case S_RESERVE:
			op_reserve(t);
			break;
		case S_MMAP_OTHER:
		case S_MAPC_OTHER:
			op_map_other(t, op == S_MAPC_OTHER);
			break;
		case S_RELEASE_ANY:
			op_release_any(t);
			break;
		case S_RELSEC_OWN:
			op_relsec_own(t);
			break;
		case S_TOUCH:
			op_touch(t);
			break;
		case S_LOOKUP_OWN:
			op_lookup_own(t);
			break;
		case S_LOOKUP_ANY:
			op_lookup_any(t);
			break;
		case S_UNMAP_OWN:
			op_unmap_own(t);
			break;
		case S_CACHE_OWN:
			op_cache_own(t);
			break;
		case S_REOPEN_PRIV:
			op_reopen_priv(t);
			break;
		case S_REOPEN_SHARED:
			/* Rarely: it stops every thread of the process. */
			if (rnd(t, 8) == 0)
				op_reopen_shared(t);
			break;
		case S_EXPORT:
			op_export(t);
			break;
		case S_DMABUF:
			op_dmabuf(t);
			break;
		default:
			op_info(t);
			break;
		}
		bump(&ws->ops[op]);
	}
	/* Its dma-bufs go first: they keep allocations of the files. */
	while (t->ndb)
		db_drop(t, 0);
	/* Clean up: check and unmap what it owns, release its handles. */
	while (t->nown) {
		struct own o = t->own[0];

		own_check(&o, "cleanup");
		own_drop(t, 0);
		ret = munmap(fnmm_ptr(o.addr), o.len) ? -errno : 0;
		allowed(ret, A_OK, "cleanup: munmap");
		fd = use_fd(t, o.shared, &gen);
		if (own_fd_current(t, &o))
			own_release(fd, o.handle, o.published, 0);
		done_fd(o.shared);
	}
	fd = use_fd(t, 1, &gen);
	for (i = 0; i < (unsigned int)t->nheld; i++)
		if (t->hgen[i] == gen)
			own_release(fd, t->held[i], t->hpub[i],
				    t->hcut[i]);
	done_fd(1);
	if (t->pfd >= 0)
		close(t->pfd);
	return NULL;
}

static int worker(uint64_t seed)
{
	static struct thr thr[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	struct fnmm_info in;
	unsigned int i;
	int ret;

	hd_fault_setup();
	sfd = fnmm_open();
	if (sfd < 0) {
		bump(&ws->unexpected);
		report("open: %s", errname(sfd));
		return 1;
	}
	for (i = 0; i < nthreads; i++) {
		memset(&thr[i], 0, sizeof(thr[i]));
		thr[i].idx = i;
		thr[i].rng = hd_sub_seed(seed, i);
		if (pthread_create(&tid[i], NULL, thread_main, &thr[i]))
			return 1;
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	/* The shared file must hold nothing now: every handle is gone. */
	ret = fnmm_info(sfd, &in);
	if (ret || in.ctx_allocations || in.ctx_bytes || in.ctx_mappings) {
		bump(&ws->final_bad);
		report("after the cleanup the shared file holds %llu allocations, %llu bytes, %llu mappings (%s)",
		       (unsigned long long)in.ctx_allocations,
		       (unsigned long long)in.ctx_bytes,
		       (unsigned long long)in.ctx_mappings, errname(ret));
	}
	close(sfd);
	bump(&ws->clean_exits);
	fflush(stdout);
	return 0;
}

static pid_t start_worker(int slot, uint64_t seed)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid)
		return pid;
	close(mon);
	slot_no = slot;
	ws = &sh->w[slot];
	bump(&ws->incarnations);
	_exit(worker(seed));
}

static void on_term(int sig)
{
	(void)sig;	/* only ends the sleep */
}

/*
 * --hold-mapping: a mapping outlives its file for @secs seconds (or
 * until SIGTERM); then its data must still be there.
 */
static int hold_mapping(unsigned long secs)
{
	struct sigaction sa;
	struct fnmm_vmctl m;
	int fd, ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	hd_fault_setup();
	fd = fnmm_open();
	if (fd < 0) {
		fprintf(stderr, "fnmm_stress: open: %s\n", strerror(-fd));
		return 1;
	}
	ret = fnmm_map_contiguous(fd, 0, 0, 2 * pg, 0, SPLIT, 0, &m);
	if (ret) {
		fprintf(stderr, "fnmm_stress: MapContiguous: %s\n",
			strerror(-ret));
		return 1;
	}
	ret = hd_fill(fnmm_ptr(m.range.virt), 2 * pg, 0x5eed);
	close(fd);
	printf("holding a mapping of 2 pages at %#llx, its file closed, for %lu s\n",
	       (unsigned long long)m.range.virt, secs);
	fflush(stdout);
	sleep(secs);
	if (!ret)
		ret = hd_check(fnmm_ptr(m.range.virt), 2 * pg, 0x5eed, 0, NULL);
	munmap(fnmm_ptr(m.range.virt), 2 * pg);
	printf("mapping %s, unmapped\n", ret ? "damaged" : "intact");
	return ret ? 1 : 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fnmm_stress [--procs N] [--threads M] [--seconds S] [--kills K] [--seed N]\n"
		   "                   [--no-partial] [--no-relsec]\n"
		   "       fnmm_stress --hold-mapping SECONDS\n");
}

int main(int argc, char **argv)
{
	uint64_t procs = 4, seconds = 20, kills = 20, seed = 0, v, rng;
	uint64_t t0, interval, next_kill, total_ops = 0, ops[NR_SOPS] = { 0 };
	uint64_t dma_exports = 0, dma_maps = 0;
	pid_t pids[MAX_PROCS];
	struct fnmm_info start, end;
	unsigned int p, k, restarts = 0;
	int have_seed = 0, i, status, ret, kill_fail = 0, early = 0;
	char d[1024];

	pg = fnmm_page_size();
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--no-partial")) {
			no_partial = 1;
			continue;
		}
		if (!strcmp(argv[i], "--no-relsec")) {
			no_relsec = 1;
			continue;
		}
		if (i + 1 >= argc || parse_u64(argv[i + 1], &v)) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(argv[i], "--hold-mapping"))
			return hold_mapping(v);
		else if (!strcmp(argv[i], "--procs") && v >= 1 && v <= MAX_PROCS)
			procs = v;
		else if (!strcmp(argv[i], "--threads") && v >= 1 &&
			 v <= MAX_THREADS)
			nthreads = v;
		else if (!strcmp(argv[i], "--seconds"))
			seconds = v;
		else if (!strcmp(argv[i], "--kills"))
			kills = v;
		else if (!strcmp(argv[i], "--seed")) {
			seed = v;
			have_seed = 1;
		} else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	rng = seed;
	setvbuf(stdout, NULL, _IOLBF, 0);
	tap_diag("fnmm_stress: seed %#llx, %llu processes x %u threads x %llu s, %llu kills%s%s",
		 (unsigned long long)seed, (unsigned long long)procs, nthreads,
		 (unsigned long long)seconds, (unsigned long long)kills,
		 no_partial ? ", --no-partial" : "",
		 no_relsec ? ", --no-relsec" : "");
	mon = open_or_bail();
	if (info_or_fail(mon, &start, "start"))
		return tap_done();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		tap(0, strerror(errno), "shared memory");
		return tap_done();
	}
	memset(sh, 0, sizeof(*sh));

	t0 = hd_now_ms();
	deadline_ms = t0 + seconds * 1000;
	for (p = 0; p < procs; p++)
		pids[p] = start_worker(p, hd_sub_seed(seed, p * 1000));
	/* The killer: K kills at random points, one in each 1/(K+1). */
	interval = kills ? seconds * 1000 / (kills + 1) : 0;
	next_kill = t0 + interval + hd_below(&rng, interval / 2 + 1);
	while (hd_now_ms() < deadline_ms) {
		hd_sleep_ms(5);
		for (p = 0; p < procs; p++) {
			siginfo_t si = { 0 };

			/*
			 * A worker must not stop before the end.  One that
			 * ended at the deadline (restarted just before it,
			 * nothing to clean up) is not early: look first,
			 * then at the clock, and leave it to the end.
			 */
			if (waitid(P_PID, pids[p], &si,
				   WEXITED | WNOHANG | WNOWAIT) || !si.si_pid)
				continue;
			if (hd_now_ms() >= deadline_ms)
				break;
			waitpid(pids[p], &status, 0);
			early++;
			tap_diag("worker %u ended early (status %#x): restarted",
				 p, status);
			pids[p] = start_worker(p, hd_sub_seed(seed, p * 1000 +
							      restarts + 1));
			restarts++;
		}
		if (!kills || sh->kills >= kills || hd_now_ms() < next_kill)
			continue;
		p = hd_below(&rng, procs);
		kill(pids[p], SIGKILL);
		if (waitpid(pids[p], &status, 0) != pids[p] ||
		    !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
			kill_fail++;
			tap_diag("worker %u: status %#x after SIGKILL", p, status);
		}
		sh->kills++;
		restarts++;
		pids[p] = start_worker(p, hd_sub_seed(seed, p * 1000 +
						      restarts));
		next_kill = t0 + (sh->kills + 1) * interval +
			    hd_below(&rng, interval / 2 + 1);
	}
	sh->stop = 1;
	for (p = 0; p < procs; p++) {
		uint64_t limit = hd_now_ms() + 60000;

		while ((ret = waitpid(pids[p], &status, WNOHANG)) == 0 &&
		       hd_now_ms() < limit)
			hd_sleep_ms(10);
		if (ret != pids[p]) {
			kill(pids[p], SIGKILL);
			waitpid(pids[p], &status, 0);
			tap_diag("worker %u did not finish its cleanup in 60 s: killed",
				 p);
			status = -1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			sh->w[p].final_bad++;
	}
	tap_diag("ran %llu ms", (unsigned long long)(hd_now_ms() - t0));

	for (p = 0; p < procs; p++)
		for (k = 0; k < NR_SOPS; k++) {
			ops[k] += sh->w[p].ops[k];
			total_ops += sh->w[p].ops[k];
		}
	for (k = 0; k < NR_SOPS; k++)
		tap_diag("%-30s %9llu", sops[k].name, (unsigned long long)ops[k]);
	for (p = 0; p < procs; p++) {
		struct wstat *w = &sh->w[p];

		snprintf(d, sizeof(d), "%llu unexpected results",
			 (unsigned long long)w->unexpected);
		tap(!w->unexpected, d,
		    "worker %u: no unexpected errno (%llu incarnations)", p,
		    (unsigned long long)w->incarnations);
		snprintf(d, sizeof(d), "%llu of %llu checks failed",
			 (unsigned long long)w->corrupt,
			 (unsigned long long)w->checks);
		tap(!w->corrupt && w->checks, d,
		    "worker %u: data intact (%llu checks)", p,
		    (unsigned long long)w->checks);
		tap(!w->final_bad, "its files were not empty, or it failed",
		    "worker %u: cleaned up and exited 0", p);
	}
	snprintf(d, sizeof(d), "%llu kills, %d not killed cleanly, %d ended early",
		 (unsigned long long)sh->kills, kill_fail, early);
	tap(sh->kills == kills && !kill_fail && !early, d,
	    "killer: %llu SIGKILLs, every worker restarted",
	    (unsigned long long)kills);
	ret = info_wait(mon, &start, WAIT_MS, d, sizeof(d));
	tap(!ret, d, "every INFO counter back to the start");
	ret = fnmm_info(mon, &end);
	for (p = 0; p < procs; p++) {
		dma_exports += sh->w[p].exports;
		dma_maps += sh->w[p].dma_maps;
	}
	tap_diag("%llu dma-bufs exported, %llu of them mapped",
		 (unsigned long long)dma_exports,
		 (unsigned long long)dma_maps);
	snprintf(d, sizeof(d), "%s, exported %llu (%llu bytes)", errname(ret),
		 (unsigned long long)end.exported,
		 (unsigned long long)end.exported_bytes);
	tap(!ret && !end.exported && !end.exported_bytes, d,
	    "Info exported back to 0: every dma-buf gone, killed holders' too");
	tap_diag("%llu processes x %u threads x %llu s: %llu operations, %llu kills, pages lost %lld",
		 (unsigned long long)procs, nthreads,
		 (unsigned long long)seconds, (unsigned long long)total_ops,
		 (unsigned long long)sh->kills,
		 ret ? -1LL : (long long)(hd_free_pages(&start) -
					  hd_free_pages(&end)));
	tap(!ret && hd_free_pages(&start) == hd_free_pages(&end), NULL,
	    "no page lost");
	ret = hd_debugfs_check(d, sizeof(d));
	tap(ret, d, "debugfs check: ok");
	close(mon);
	return tap_done();
}
