// SPDX-License-Identifier: GPL-2.0
/*
 * test_gup: the rest of Linux uses memory mapped from /dev/freenos-mm
 * (issue 12).  Runs as root in the test VM; prints TAP.
 *
 *   test_gup paths EXPECT BLKDEV [CACHE...]
 *	Every path that needs get_user_pages(), on a Split, a Bit and a
 *	Pool allocation of each cache type given (wb, wc = Uncached,
 *	uc = Device; on a region with ZONE_DEVICE pages wc and uc must be
 *	refused with EINVAL), data checked both ways:
 *	O_DIRECT pread/pwrite on BLKDEV, the same through io_uring
 *	(IORING_OP_READ/WRITE), vmsplice into a pipe, process_vm_readv/
 *	writev, /proc/PID/mem, ptrace PEEKDATA/POKEDATA, a shared futex
 *	wait/wake and a process-shared mutex across fork.  EXPECT is
 *	"pages" (everything works) or "pfn" (pages=0: the GUP paths fail
 *	with the errno a PFN mapping gives, which is what every path gave
 *	before issue 12; /proc/PID/mem and ptrace work through ->access).
 *	io_uring registered buffers: EOPNOTSUPP on 6.1 for any file
 *	mapping but shmem/hugetlbfs, and nothing stays pinned.
 *   test_gup pin
 *	Pages a pipe holds after vmsplice outlive munmap + Release + close
 *	+ exit of their owner: Info "pinned" counts them, another context
 *	allocating everything never gets them, the pipe then reads the
 *	owner's bytes, and afterwards every page comes back.
 *   test_gup inflight NULLBLK
 *	An io_uring O_DIRECT read into a mapping on a null_blk device with
 *	delayed completion; munmap + Release + close while it is in flight:
 *	the pages wait (Info, debugfs "pinned") and come back after it.
 *   test_gup stale
 *	No translation outlives the give-back: a thread on another CPU
 *	reading a 2 MiB (PMD) mapping faults once munmap + Release
 *	returned, even after MADV_COLD (which on 6.1 clears a devmap PMD
 *	without a TLB flush).
 *   test_gup futexkey
 *	A shared futex waiter on a page that is released and reused by
 *	another context is not woken by that context's FUTEX_WAKE.
 *   test_gup poison
 *	A memory failure (hwpoison-inject) on a page of an allocation: once
 *	released, its block is quarantined, never scrubbed or reused.
 *   test_gup hold SECONDS
 *	Leaves 64 KiB released but held by a pipe for SECONDS (rmmod must
 *	say "in use" meanwhile), then reads the pipe: exit 0 if it read
 *	the owner's bytes.
 *   test_gup huge
 *	A 32 MiB allocation maps 2 MiB-aligned with PMD entries (VmPTE of
 *	the process grows by at most 12 KiB, against at least 64 KiB for
 *	4 KiB entries); GUP (O_DIRECT is in paths; here vmsplice) and fork work
 *	on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define SPLIT	FNMM_ALLOC_SPLIT
#define BIT	FNMM_ALLOC_BIT
#define POOL	FNMM_ALLOC_POOL
#define RWU	FNMM_ACCESS_DEFAULT
#define DBG	"/sys/kernel/debug/freenos-mm/"
#define IOSZ	(64 * 1024)	/* Split and Bit allocations */
#define POOLSZ	2048		/* a Pool object: O_DIRECT needs 512-aligned */

static __u64 pg;
static int expect_pages;

struct buf {
	int fd;
	unsigned int kind;
	__u32 access;
	__u64 handle;
	size_t len;		/* bytes of the allocation */
	unsigned char *map;	/* the mapping (a Pool object's page) */
	unsigned char *p;	/* the allocation's first byte */
	size_t maplen;
};

static int buf_get(struct buf *b, int fd, unsigned int kind, __u32 access,
		   size_t len)
{
	struct fnmm_vmctl r;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = fnmm_map_contiguous(fd, 0, 0, len, access, kind, 0, &r);
	if (ret)
		return ret;
	b->fd = fd;
	b->kind = kind;
	b->access = access;
	b->handle = r.handle;
	b->len = len;
	b->p = fnmm_ptr(r.range.virt);
	b->map = (unsigned char *)((uintptr_t)b->p & ~(uintptr_t)(pg - 1));
	b->maplen = (b->p - b->map + len + pg - 1) & ~(pg - 1);
	return 0;
}

static void buf_put(struct buf *b)
{
	if (b->map)
		fnmm_unmap(b->fd, fnmm_addr(b->map), b->maplen);
	if (b->handle)
		fnmm_release(b->fd, b->handle);
	memset(b, 0, sizeof(*b));
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

/* The errno a path gives on a PFN mapping (pages=0), else 0. */
static int want(int pfn_errno)
{
	return expect_pages ? 0 : pfn_errno;
}

static const char *kind_name(unsigned int kind)
{
	return fnmm_alloc_name(kind);
}

static const char *cache_name(__u32 access)
{
	if (access & FNMM_ACCESS_DEVICE)
		return "uc";
	if (access & FNMM_ACCESS_UNCACHED)
		return "wc";
	return "wb";
}

/* ---- O_DIRECT, plain and through io_uring ---- */

static int rw_direct(int dfd, void *p, size_t len, off_t off, int write)
{
	ssize_t n = write ? pwrite(dfd, p, len, off) : pread(dfd, p, len, off);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

static int rw_uring(int dfd, void *p, size_t len, off_t off, int write)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		return ret;
	sqe = io_uring_get_sqe(&ring);
	if (write)
		io_uring_prep_write(sqe, dfd, p, len, off);
	else
		io_uring_prep_read(sqe, dfd, p, len, off);
	ret = io_uring_submit(&ring);
	if (ret == 1)
		ret = io_uring_wait_cqe(&ring, &cqe);
	else if (ret >= 0)
		ret = -EIO;
	if (!ret) {
		ret = cqe->res < 0 ? cqe->res :
		      cqe->res == (int)len ? 0 : -EIO;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	return ret;
}

static void test_direct(struct buf *b, const char *dev, const char *what)
{
	int (*rw)(int, void *, size_t, off_t, int) =
		strcmp(what, "io_uring") ? rw_direct : rw_uring;
	unsigned char *a = anon(b->len);
	int dfd = open(dev, O_RDWR | O_DIRECT);
	size_t bad = 0;
	int ret, chk;

	if (dfd < 0) {
		tap(0, strerror(errno), "%s: open %s O_DIRECT", what, dev);
		return;
	}
	/* From the mapping to the device, checked through anonymous memory. */
	pattern_fill(b->p, b->len, 11);
	memset(a, 0, b->len);
	ret = rw(dfd, b->p, b->len, 0, 1);
	if (tap_ret(ret, -want(EFAULT), "%s %s %s: write from the mapping",
		    what, kind_name(b->kind), cache_name(b->access)) && !ret) {
		ret = rw_direct(dfd, a, b->len, 0, 0);
		chk = ret ? 1 : pattern_check(a, b->len, 11, &bad);
		tap(!chk, ret ? errname(ret) : pattern_str(chk, bad),
		    "%s %s %s: the device has the mapping's bytes", what,
		    kind_name(b->kind), cache_name(b->access));
	}
	/* From the device into the mapping. */
	pattern_fill(a, b->len, 12);
	rw_direct(dfd, a, b->len, b->len, 1);
	memset(b->p, 0, b->len);
	ret = rw(dfd, b->p, b->len, b->len, 0);
	if (tap_ret(ret, -want(EFAULT), "%s %s %s: read into the mapping",
		    what, kind_name(b->kind), cache_name(b->access)) && !ret) {
		chk = pattern_check(b->p, b->len, 12, &bad);
		tap(!chk, pattern_str(chk, bad),
		    "%s %s %s: the mapping has the device's bytes", what,
		    kind_name(b->kind), cache_name(b->access));
	}
	close(dfd);
	munmap(a, b->len);
}

/* Registered buffers: 6.1 refuses file mappings but shmem/hugetlbfs. */
static void test_uring_fixed(struct buf *b, int mon)
{
	struct iovec iov = { b->p, b->len };
	struct io_uring ring;
	struct fnmm_info i;
	int ret;

	if (io_uring_queue_init(4, &ring, 0)) {
		tap(0, "", "io_uring_queue_init");
		return;
	}
	ret = io_uring_register_buffers(&ring, &iov, 1);
	tap_ret(ret, expect_pages ? -EOPNOTSUPP : -EFAULT,
		"io_uring register_buffers %s %s: %s", kind_name(b->kind),
		cache_name(b->access),
		expect_pages ? "EOPNOTSUPP (file-backed, 6.1)" : "EFAULT");
	if (!ret)
		io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	fnmm_info(mon, &i);
	tap_eq(i.pinned, 0, "io_uring register_buffers: no pin left (Info pinned 0)");
}

/* ---- vmsplice ---- */

static void test_vmsplice(struct buf *b)
{
	struct iovec iov = { b->p, b->len };
	unsigned char *a = anon(b->len);
	int fds[2], chk;
	size_t bad = 0, got = 0;
	ssize_t n;

	if (pipe(fds) || fcntl(fds[0], F_SETPIPE_SZ, 1 << 20) < 0) {
		tap(0, strerror(errno), "pipe");
		return;
	}
	pattern_fill(b->p, b->len, 21);
	n = vmsplice(fds[1], &iov, 1, 0);
	if (tap_ret(n < 0 ? -errno : n == (ssize_t)b->len ? 0 : -EIO,
		    -want(EFAULT), "vmsplice %s %s into a pipe",
		    kind_name(b->kind), cache_name(b->access)) && n > 0) {
		while (got < b->len && (n = read(fds[0], a + got,
						 b->len - got)) > 0)
			got += n;
		chk = got == b->len ? pattern_check(a, b->len, 21, &bad) : 1;
		tap(!chk, pattern_str(chk, bad),
		    "vmsplice %s %s: the pipe reads the mapping's bytes",
		    kind_name(b->kind), cache_name(b->access));
	}
	close(fds[0]);
	close(fds[1]);
	munmap(a, b->len);
}

/* ---- another process's memory: process_vm_*, /proc/PID/mem, ptrace ---- */

/* A child that shares the mapping and waits to be killed. */
static pid_t idle_child(void)
{
	pid_t pid = fork();

	if (!pid) {
		for (;;)
			pause();
	}
	return pid;
}

static void test_remote(struct buf *b)
{
	unsigned char *a = anon(b->len);
	char path[64];
	size_t bad = 0;
	pid_t pid;
	int ret, chk, mfd;
	long word;

	pattern_fill(b->p, b->len, 31);
	pid = idle_child();
	if (pid < 0) {
		tap(0, strerror(errno), "fork");
		return;
	}
	{
		struct iovec l = { a, b->len }, r = { b->p, b->len };
		ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

		ret = n < 0 ? -errno : n == (ssize_t)b->len ? 0 : -EIO;
		if (tap_ret(ret, -want(EFAULT), "process_vm_readv of %s %s",
			    kind_name(b->kind), cache_name(b->access)) && !ret) {
			chk = pattern_check(a, b->len, 31, &bad);
			tap(!chk, pattern_str(chk, bad),
			    "process_vm_readv: the child's mapping's bytes");
		}
		pattern_fill(a, b->len, 32);
		n = process_vm_writev(pid, &l, 1, &r, 1, 0);
		ret = n < 0 ? -errno : n == (ssize_t)b->len ? 0 : -EIO;
		if (tap_ret(ret, -want(EFAULT), "process_vm_writev of %s %s",
			    kind_name(b->kind), cache_name(b->access)) && !ret) {
			chk = pattern_check(b->p, b->len, 32, &bad);
			tap(!chk, pattern_str(chk, bad),
			    "process_vm_writev: the shared mapping has the bytes");
		}
	}
	/* /proc/PID/mem: GUP, or ->access for a PFN mapping. */
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mfd = open(path, O_RDWR);
	pattern_fill(b->p, b->len, 33);
	memset(a, 0, b->len);
	ret = pread(mfd, a, b->len, (off_t)(uintptr_t)b->p) == (ssize_t)b->len ?
	      0 : -errno;
	chk = ret ? 1 : pattern_check(a, b->len, 33, &bad);
	tap(!chk, ret ? errname(ret) : pattern_str(chk, bad),
	    "/proc/PID/mem read of %s %s", kind_name(b->kind),
	    cache_name(b->access));
	pattern_fill(a, b->len, 34);
	ret = pwrite(mfd, a, b->len, (off_t)(uintptr_t)b->p) == (ssize_t)b->len ?
	      0 : -errno;
	chk = ret ? 1 : pattern_check(b->p, b->len, 34, &bad);
	tap(!chk, ret ? errname(ret) : pattern_str(chk, bad),
	    "/proc/PID/mem write of %s %s", kind_name(b->kind),
	    cache_name(b->access));
	close(mfd);
	/* ptrace, as gdb reads and writes a variable. */
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) || waitpid(pid, NULL, 0) != pid) {
		tap(0, strerror(errno), "ptrace attach");
	} else {
		long *w = (long *)b->p;

		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, pid, w + 3, 0);
		tap(!errno && word == w[3], strerror(errno),
		    "ptrace PEEKDATA of %s %s", kind_name(b->kind),
		    cache_name(b->access));
		ret = ptrace(PTRACE_POKEDATA, pid, w + 5, 0x1234567890abcdefL);
		tap(!ret && w[5] == 0x1234567890abcdefL, strerror(errno),
		    "ptrace POKEDATA of %s %s", kind_name(b->kind),
		    cache_name(b->access));
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	munmap(a, b->len);
}

/* ---- shared futex, process-shared mutex ---- */

static long futex(uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void test_futex(struct buf *b)
{
	uint32_t *f = (uint32_t *)b->p;
	struct timespec ts = { 0, 1000000 };
	pthread_mutexattr_t ma;
	pthread_mutex_t *m;
	long *count;
	int ret, st, i;
	pid_t pid;

	*f = 1;
	/* A value that differs: EAGAIN once the key is found. */
	ret = futex(f, FUTEX_WAIT, 0, &ts) ? -errno : 0;
	tap_ret(ret, expect_pages ? -EAGAIN : -EFAULT,
		"shared FUTEX_WAIT on %s %s: the key is found (EAGAIN)",
		kind_name(b->kind), cache_name(b->access));
	if (!expect_pages)
		return;
	/* A child waits, the parent wakes it. */
	*f = 0;
	pid = fork();
	if (!pid) {
		struct timespec t5 = { 5, 0 };

		while (__atomic_load_n(f, __ATOMIC_SEQ_CST) == 0)
			if (futex(f, FUTEX_WAIT, 0, &t5) &&
			    errno != EAGAIN && errno != EINTR)
				_exit(errno == ETIMEDOUT ? 3 : 4);
		_exit(0);
	}
	usleep(100000);
	__atomic_store_n(f, 1, __ATOMIC_SEQ_CST);
	futex(f, FUTEX_WAKE, 1, NULL);
	waitpid(pid, &st, 0);
	tap(WIFEXITED(st) && !WEXITSTATUS(st), "child timed out",
	    "shared futex: a child waiting on %s %s is woken",
	    kind_name(b->kind), cache_name(b->access));
	/* A PTHREAD_PROCESS_SHARED mutex, two processes contending. */
	m = (pthread_mutex_t *)(b->p + 64);
	count = (long *)(b->p + 64 + sizeof(*m) + 64);
	*count = 0;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &ma);
	pid = fork();
	for (i = 0; i < 20000; i++) {
		pthread_mutex_lock(m);
		(*(volatile long *)count)++;
		if (!(i & 255))
			sched_yield();
		pthread_mutex_unlock(m);
	}
	if (!pid)
		_exit(0);
	waitpid(pid, &st, 0);
	tap_eq(*count, 40000,
	       "process-shared mutex in %s %s: 2 x 20000 increments",
	       kind_name(b->kind), cache_name(b->access));
	pthread_mutex_destroy(m);
}

static __u32 cache_access(const char *name)
{
	if (!strcmp(name, "wc"))
		return RWU | FNMM_ACCESS_UNCACHED;
	if (!strcmp(name, "uc"))
		return RWU | FNMM_ACCESS_DEVICE;
	return RWU;
}


/* Pool serves at most 2048 bytes: anything larger is E2BIG, never EINVAL. */
static void pool_too_big(int fd)
{
	static const __u64 sizes[] = { 4096, 2 << 20, 4 << 20 };
	struct fnmm_info before;
	struct fnmm_vmctl r;
	unsigned int i;

	fnmm_info(fd, &before);
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		tap_ret(fnmm_reserve(fd, sizes[i], 0, POOL, 0, &r), -E2BIG,
			"ReserveMem Pool %llu bytes: E2BIG",
			(unsigned long long)sizes[i]);
	tap_info_same(fd, &before, "Pool too big: stats unchanged");
}

/*
 * A PFN mapping (pages=0) is reached through ->access: a read or write
 * of /proc/PID/mem that starts in the last bytes of a one-page mapping
 * must stop at its end, never run on into the physically next page.
 */
static void mem_straddle(int fd)
{
	unsigned char *a = anon(2 * pg);
	struct buf b;
	int mfd;
	ssize_t n;

	struct fnmm_vmctl r;
	void *va = free_area(2 * pg);

	/* Nothing is mapped in the page after it. */
	memset(&b, 0, sizeof(b));
	if (!tap_ret(fnmm_map_contiguous(fd, 0, fnmm_addr(va), pg, 0, SPLIT, 0,
					 &r), 0, "map one page, the next one unmapped"))
		return;
	b = (struct buf){ .fd = fd, .kind = SPLIT, .access = RWU,
			  .handle = r.handle, .len = pg, .map = va, .p = va,
			  .maplen = pg };
	memset(b.p, 0x71, pg);
	mfd = open("/proc/self/mem", O_RDWR);
	memset(a, 0, 2 * pg);
	n = pread(mfd, a, pg, (off_t)(uintptr_t)(b.p + pg - 16));
	tap(n == 16 && a[0] == 0x71 && a[15] == 0x71, "",
	    "/proc/self/mem read of %llu bytes 16 before the end of a one-page PFN mapping: 16 (got %zd)",
	    (unsigned long long)pg, n);
	memset(a, 0x72, 2 * pg);
	n = pwrite(mfd, a, pg, (off_t)(uintptr_t)(b.p + pg - 16));
	tap(n == 16 && b.p[pg - 1] == 0x72, "",
	    "/proc/self/mem write there: 16 bytes, none past the end (got %zd)", n);
	close(mfd);
	buf_put(&b);
	munmap(a, 2 * pg);
}

static int paths(const char *dev, int ncache, char **caches)
{
	static const unsigned int kinds[] = { SPLIT, BIT, POOL };
	struct fnmm_info start, now;
	int mon = open_or_bail(), fd;
	char why[256];
	int c, k;

	fnmm_info(mon, &start);
	fd = open_or_bail();
	pool_too_big(fd);
	if (!expect_pages)
		mem_straddle(fd);
	for (c = 0; c < ncache; c++) {
		for (k = 0; k < 3; k++) {
			__u32 acc = cache_access(caches[c]);
			struct buf b;
			int ret;

			/* Pool memory is always cached. */
			if (kinds[k] == POOL && acc != RWU)
				continue;
			ret = buf_get(&b, fd, kinds[k], acc,
				      kinds[k] == POOL ? POOLSZ : IOSZ);
			/* ZONE_DEVICE pages: write-back only, say so. */
			if (acc != RWU && fnmm_cached_only()) {
				tap_ret(ret, -EINVAL, "map a %s %s allocation: EINVAL (ZONE_DEVICE pages are write-back)",
					kind_name(kinds[k]), caches[c]);
				continue;
			}
			if (!tap_ret(ret, 0, "map a %s %s allocation",
				     kind_name(kinds[k]), caches[c]))
				continue;
			test_direct(&b, dev, "O_DIRECT");
			test_direct(&b, dev, "io_uring");
			test_uring_fixed(&b, mon);
			test_vmsplice(&b);
			test_remote(&b);
			test_futex(&b);
			buf_put(&b);
		}
	}
	close(fd);
	tap(!info_wait(mon, &start, 5000, why, sizeof(why)), why,
	    "every page back, Info as at the start");
	fnmm_info(mon, &now);
	tap_eq(now.pinned, 0, "nothing left pinned");
	close(mon);
	return tap_done();
}

/* ---- pins outlive Release ---- */

static int debugfs_has(const char *file, const char *what)
{
	char line[256];
	FILE *f = fopen(file, "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			found = 1;
	fclose(f);
	return found;
}

/* Take all of @kind another context can get; 1 if any byte is @fill. */
static int grab_all_sees(unsigned int kind, unsigned char fill, __u64 *got)
{
	int fd = open_or_bail(), seen = 0, n = 0;
	__u64 sz;

	*got = 0;
	for (sz = 16 << 20; sz >= pg; ) {
		struct fnmm_vmctl r;
		unsigned char *p;
		__u64 i;

		int ret = fnmm_map_contiguous(fd, 0, 0, sz, 0, kind, 0, &r);

		if (ret) {
			if (ret != -ENOMEM && ret != -E2BIG)
				tap_diag("grab %llu: %s", (unsigned long long)sz,
					 errname(ret));
			sz /= 2;
			continue;
		}
		p = fnmm_ptr(r.range.virt);
		for (i = 0; i < sz; i += 64)
			if (p[i] == fill)
				seen = 1;
		*got += sz;
		if (++n > 4096)
			break;
	}
	unmap_all_fnmm();
	close(fd);
	return seen;
}

static int pin(void)
{
	static const unsigned int kinds[] = { SPLIT, BIT };
	struct fnmm_info start, now;
	int mon = open_or_bail(), k;
	char why[256];

	tap_share();
	fnmm_info(mon, &start);
	for (k = 0; k < 2; k++) {
		size_t len = 256 * 1024, got = 0, bad = 0;
		unsigned char *a = anon(len);
		int fds[2], st, chk;
		__u64 grabbed;
		ssize_t n;
		pid_t pid;

		if (pipe(fds) || fcntl(fds[0], F_SETPIPE_SZ, 1 << 20) < 0) {
			tap(0, strerror(errno), "pipe");
			return tap_done();
		}
		pid = fork();
		if (!pid) {
			/* The owner: map, fill, vmsplice, then let go of all. */
			int fd = open_or_bail();
			struct iovec iov;
			struct buf b;

			close(fds[0]);
			if (buf_get(&b, fd, kinds[k], RWU, len))
				_exit(2);
			memset(b.p, 0xa7, len);
			iov = (struct iovec){ b.p, len };
			if (vmsplice(fds[1], &iov, 1, 0) != (ssize_t)len)
				_exit(3);
			buf_put(&b);
			close(fd);
			_exit(0);
		}
		close(fds[1]);
		waitpid(pid, &st, 0);
		if (!tap(WIFEXITED(st) && !WEXITSTATUS(st), "owner failed",
			 "%s: the owner vmspliced 256 KiB, unmapped, released, closed and exited",
			 kind_name(kinds[k])))
			continue;
		fnmm_info(mon, &now);
		tap_eq(now.pinned, len, "%s: Info pinned is the 256 KiB the pipe holds",
		       kind_name(kinds[k]));
		tap(debugfs_has(DBG "pinned", kinds[k] == BIT ? "bit " : "split "),
		    "", "%s: debugfs pinned lists the block", kind_name(kinds[k]));
		tap(now.alloc[kinds[k]].free < start.alloc[kinds[k]].free, "",
		    "%s: the block is not free", kind_name(kinds[k]));
		chk = grab_all_sees(kinds[k], 0xa7, &grabbed);
		tap(!chk && grabbed + len == start.alloc[kinds[k]].free, "",
		    "%s: another context taking all of it it can (%llu bytes) never sees the owner's bytes",
		    kind_name(kinds[k]), (unsigned long long)grabbed);
		while (got < len && (n = read(fds[0], a + got, len - got)) > 0)
			got += n;
		for (chk = got != len; !chk && bad < len; bad++)
			chk = a[bad] != 0xa7;
		tap(!chk, "", "%s: the pipe then reads the owner's bytes (%zu of %zu)",
		    kind_name(kinds[k]), chk ? bad - 1 : got, len);
		close(fds[0]);
		munmap(a, len);
		tap(!info_wait(mon, &start, 5000, why, sizeof(why)), why,
		    "%s: once read, every page is back (scrubbed, free), pinned 0",
		    kind_name(kinds[k]));
	}
	/* The block came back scrubbed: a new allocation reads zero. */
	{
		unsigned char fill = 0xa7;
		__u64 grabbed;

		int seen = grab_all_sees(SPLIT, fill, &grabbed);

		tap(!seen && grabbed == start.alloc[SPLIT].free, "",
		    "after: all of Split (%llu bytes) reads no byte of the owner's",
		    (unsigned long long)grabbed);
		seen = grab_all_sees(BIT, fill, &grabbed);
		tap(!seen && grabbed == start.alloc[BIT].free, "",
		    "after: all of Bit (%llu bytes) reads no byte of the owner's",
		    (unsigned long long)grabbed);
	}
	close(mon);
	return tap_done();
}

/* A pipe holding 64 KiB its owner let go of, for @secs seconds. */
static int hold(int secs)
{
	size_t len = 65536, got = 0, i;
	unsigned char *a = anon(len);
	int fds[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return 2;
	pid = fork();
	if (!pid) {
		int fd = open_or_bail();
		struct iovec iov;
		struct buf b;

		if (buf_get(&b, fd, SPLIT, RWU, len))
			_exit(2);
		memset(b.p, 0x6b, len);
		iov = (struct iovec){ b.p, len };
		if (vmsplice(fds[1], &iov, 1, 0) != (ssize_t)len)
			_exit(3);
		_exit(0);	/* exit unmaps, releases and closes */
	}
	close(fds[1]);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return 3;
	sleep(secs);
	while (got < len && (n = read(fds[0], a + got, len - got)) > 0)
		got += n;
	for (i = 0; i < len; i++)
		if (a[i] != 0x6b)
			return 1;
	return got == len ? 0 : 1;
}

/* ---- an O_DIRECT read in flight across Release ---- */

/* Reads /sys/block/NAME/inflight counts for @dev, polled up to @ms. */
static long inflight_reads(const char *dev, int ms)
{
	const char *name = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	char path[128];
	long r = 0, w = 0;

	snprintf(path, sizeof(path), "/sys/block/%s/inflight", name);
	for (; ms > 0; ms -= 10) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (fscanf(f, "%ld %ld", &r, &w) != 2)
				r = 0;
			fclose(f);
		}
		if (r > 0)
			break;
		usleep(10000);
	}
	return r;
}

static int inflight(const char *dev)
{
	struct fnmm_info start, now;
	int mon = open_or_bail(), fd, dfd, ret;
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	size_t len = 1 << 20;
	char why[256];
	struct buf b;

	fnmm_info(mon, &start);
	fd = open_or_bail();
	dfd = open(dev, O_RDWR | O_DIRECT);
	if (!tap(dfd >= 0, strerror(errno), "open %s O_DIRECT", dev))
		return tap_done();
	if (!tap_ret(buf_get(&b, fd, SPLIT, RWU, len), 0, "map 1 MiB of Split"))
		return tap_done();
	memset(b.p, 0x3c, len);
	io_uring_queue_init(4, &ring, 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, dfd, b.p, len, 0);
	tap_eq(io_uring_submit(&ring), 1, "io_uring read of 1 MiB into the mapping submitted");
	/* Issued (its pages referenced) when the device counts it in flight. */
	tap(inflight_reads(dev, 5000) > 0, "", "the device has the read in flight");
	buf_put(&b);
	close(fd);
	fnmm_info(mon, &now);
	tap_eq(now.pinned, len,
	       "munmap + Release + close while in flight: the 1 MiB waits (Info pinned)");
	tap(debugfs_has(DBG "pinned", "split "), "",
	    "debugfs pinned lists the block while the read is in flight");
	tap(now.alloc[SPLIT].free < start.alloc[SPLIT].free, "",
	    "the block is not free meanwhile");
	ret = io_uring_wait_cqe(&ring, &cqe);
	tap(!ret && cqe->res == (int)len, "", "the read completes (%d)",
	    ret ? ret : cqe->res);
	if (!ret)
		io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(dfd);
	tap(!info_wait(mon, &start, 5000, why, sizeof(why)), why,
	    "after completion every page is back: Info as at the start, pinned 0");
	close(mon);
	return tap_done();
}

/* ---- 2 MiB mappings ---- */

static long vm_pte_kb(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmPTE:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static int huge(void)
{
	size_t len = 32 << 20, i, bad = 0;
	int fd = open_or_bail(), st, chk, fds[2];
	struct iovec iov;
	long before, after;
	struct buf b;
	pid_t pid;

	before = vm_pte_kb();
	if (!tap_ret(buf_get(&b, fd, SPLIT, RWU, len), 0, "map 32 MiB of Split"))
		return tap_done();
	tap(!((uintptr_t)b.p & ((2 << 20) - 1)), "", "the mapping is 2 MiB-aligned (%p)",
	    (void *)b.p);
	for (i = 0; i < len; i += pg)
		b.p[i] = (unsigned char)(i >> 12);
	after = vm_pte_kb();
	/*
	 * PMD entries need no PTE table: at most a new PMD table, a PUD
	 * table, and one more PMD table if it straddles 1 GiB (12 kB);
	 * 4 KiB entries need 16 PTE tables (64 kB) on top.
	 */
	tap(after - before <= 12, "", "touching 32 MiB adds %ld kB of page tables (<= 12: PMD entries; 4 KiB entries: >= 64)",
	    after - before);
	/* GUP on a PMD entry. */
	pattern_fill(b.p + (3 << 20), 65536, 41);
	if (!pipe(fds)) {
		unsigned char tmp[65536];
		size_t got = 0;
		ssize_t n;

		iov = (struct iovec){ b.p + (3 << 20), 65536 };
		n = vmsplice(fds[1], &iov, 1, 0);
		while (n > 0 && got < 65536 &&
		       (n = read(fds[0], tmp + got, 65536 - got)) > 0)
			got += n;
		chk = got == 65536 ? pattern_check(tmp, 65536, 41, &bad) : 1;
		tap(!chk, pattern_str(chk, bad), "vmsplice from a PMD-mapped buffer");
		close(fds[0]);
		close(fds[1]);
	}
	/* fork: the child sees and writes the same memory. */
	pid = fork();
	if (!pid) {
		for (i = 0; i < len; i += pg)
			if (i < (3 << 20) && b.p[i] != (unsigned char)(i >> 12))
				_exit(1);
		b.p[len - 1] = 0x5e;
		_exit(0);
	}
	waitpid(pid, &st, 0);
	tap(WIFEXITED(st) && !WEXITSTATUS(st) && b.p[len - 1] == 0x5e, "",
	    "fork: the child reads the parent's bytes and its write is seen");
	buf_put(&b);
	close(fd);
	return tap_done();
}


/* ---- no translation outlives the give-back (stale TLB) ---- */

static volatile int stale_go, stale_unmapped, stale_result;
static unsigned char *volatile stale_addr;
static sigjmp_buf stale_jmp;

static void stale_fault(int sig)
{
	(void)sig;
	siglongjmp(stale_jmp, 1);
}

/* On CPU 1: read the mapping until it faults; 2 if a read after unmap worked. */
static void *stale_reader(void *arg)
{
	cpu_set_t set;

	(void)arg;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (sigsetjmp(stale_jmp, 1)) {
		stale_result = 1;
		return NULL;
	}
	while (!stale_go)
		;
	for (;;) {
		int after = __atomic_load_n(&stale_unmapped, __ATOMIC_ACQUIRE);

		(void)*(volatile unsigned char *)(stale_addr + 7 * 4096);
		if (after) {
			stale_result = 2;
			return NULL;
		}
	}
}

/*
 * 6.1's MADV_COLD (and a MADV_DONTNEED racing a fault) clears a devmap
 * PMD as a "bad pmd" without a TLB flush, and the munmap after it finds
 * nothing to flush: a thread on another CPU could go on using the
 * translation after the memory went to someone else.  Give-back must
 * flush: once munmap + Release returned, the reader's next access faults.
 */
static int stale(void)
{
	struct sigaction sa = { .sa_handler = stale_fault };
	size_t len = 2 << 20, i;
	int fd = open_or_bail(), fd2;
	pthread_t t;
	cpu_set_t set;
	struct buf b, other;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (!tap_ret(buf_get(&b, fd, SPLIT, RWU, len), 0, "map 2 MiB of Split"))
		return tap_done();
	for (i = 0; i < len; i += pg)
		b.p[i] = 1;
	stale_addr = b.p;
	pthread_create(&t, NULL, stale_reader, NULL);
	stale_go = 1;
	usleep(200000);
	tap_ret(madvise(b.p, len, MADV_COLD) ? -errno : 0, 0,
		"MADV_COLD on the 2 MiB mapping");
	usleep(100000);
	buf_put(&b);
	__atomic_store_n(&stale_unmapped, 1, __ATOMIC_RELEASE);
	/* Someone else gets the memory now. */
	fd2 = open_or_bail();
	if (!buf_get(&other, fd2, SPLIT, RWU, len))
		memset(other.p, 0xab, len);
	for (i = 0; i < 200 && !stale_result; i++)
		usleep(10000);
	tap(stale_result == 1, stale_result == 2 ?
	    "read the memory after it was given back" : "no result",
	    "after munmap + Release a thread on another CPU faults, it never reads through a stale translation");
	if (stale_result)
		pthread_join(t, NULL);
	buf_put(&other);
	close(fd2);
	close(fd);
	return tap_done();
}

/* ---- futex keys do not outlive the allocation ---- */

static uint32_t *futexkey_word;

static void *futexkey_waiter(void *arg)
{
	struct timespec ts = { 2, 0 };

	(void)arg;
	return (void *)(long)(futex(futexkey_word, FUTEX_WAIT, 0, &ts) ?
			      -errno : 0);
}

static __u64 phys_of(int fd, void *p)
{
	struct fnmm_vmctl l;

	return fnmm_lookup(fd, fnmm_addr(p), &l) ? 0 : l.range.phys;
}

/*
 * A thread waits (shared futex) on a word of a page; the page is
 * released and handed to another context.  That context's FUTEX_WAKE on
 * the same word must wake nobody: it would be a channel between
 * contexts (and a false wake-up of the first).
 */
static int futexkey(void)
{
	int fd = open_or_bail(), fd2 = open_or_bail(), n, i;
	struct buf a, b[16];
	__u64 phys;
	pthread_t t;
	void *res;

	if (!tap_ret(buf_get(&a, fd, SPLIT, RWU, pg), 0, "map one page"))
		return tap_done();
	phys = phys_of(fd, a.p);
	futexkey_word = (uint32_t *)a.p;
	pthread_create(&t, NULL, futexkey_waiter, NULL);
	usleep(300000);
	buf_put(&a);
	for (i = 0; i < 16; i++) {
		if (buf_get(&b[i], fd2, SPLIT, RWU, pg))
			break;
		if (phys_of(fd2, b[i].p) == phys)
			break;
	}
	if (!tap(i < 16, "", "another context got the same page (%d tries)", i + 1))
		return tap_done();
	n = futex((uint32_t *)b[i].p, FUTEX_WAKE, 1 << 30, NULL);
	tap(n == 0, "", "its FUTEX_WAKE on the same word wakes nobody (woke %d)", n);
	pthread_join(t, &res);
	tap((long)res == -ETIMEDOUT, "", "the first waiter times out (%s)",
	    errname((int)(long)res));
	close(fd2);
	close(fd);
	return tap_done();
}

/* ---- a memory failure keeps its block out of use ---- */

/*
 * A page of an allocation has a memory failure (hwpoison-inject): the
 * allocation keeps working for its owner until it lets go, then the
 * block is quarantined, never scrubbed (touching it again could be
 * fatal) nor handed out, and a retry from debugfs keeps it.
 */
static int poison(void)
{
	struct fnmm_info start, now;
	int mon = open_or_bail(), fd = open_or_bail();
	size_t len = 64 * 1024;
	__u64 phys, grabbed;
	char cmd[64];
	int ret;
	struct buf b;
	FILE *f;

	fnmm_info(mon, &start);
	if (!tap_ret(buf_get(&b, fd, SPLIT, RWU, len), 0, "map 64 KiB of Split"))
		return tap_done();
	memset(b.p, 0x44, len);
	phys = phys_of(fd, b.p);
	f = fopen("/sys/kernel/debug/hwpoison/corrupt-pfn", "w");
	snprintf(cmd, sizeof(cmd), "%llu\n", (unsigned long long)((phys >> 12) + 3));
	/*
	 * RAM pages (take=) are off the LRU: memory_failure() marks the page
	 * but calls it unhandlable (EBUSY); ZONE_DEVICE pages: our handler.
	 */
	errno = 0;
	ret = f && fputs(cmd, f) >= 0 && !fclose(f);
	tap(ret || !strcmp(fnmm_pages_mode(), "ram"), strerror(errno),
	    "hwpoison-inject: a memory failure at the allocation's 4th page (%s)",
	    ret ? "handled" : strerror(errno));
	buf_put(&b);
	close(fd);
	fnmm_info(mon, &now);
	tap_eq(now.quarantined, start.quarantined + len,
	       "released: the 64 KiB block is quarantined (Info quarantined)");
	tap(now.alloc[SPLIT].free == start.alloc[SPLIT].free - len, "",
	    "and not free");
	ret = grab_all_sees(SPLIT, 0x44, &grabbed);
	tap(!ret && grabbed == start.alloc[SPLIT].free - len, "",
	    "another context takes all the rest (%llu bytes), never the block",
	    (unsigned long long)grabbed);
	f = fopen(DBG "quarantine", "w");
	tap(f && fputs("retry\n", f) >= 0 && !fclose(f), strerror(errno),
	    "debugfs quarantine: retry");
	fnmm_info(mon, &now);
	tap_eq(now.quarantined, start.quarantined + len,
	       "a retry keeps the poisoned block");
	close(mon);
	return tap_done();
}

int main(int argc, char **argv)
{
	pg = fnmm_page_size();
	if (argc >= 4 && !strcmp(argv[1], "paths")) {
		expect_pages = !strcmp(argv[2], "pages");
		return paths(argv[3], argc - 4, argv + 4);
	}
	if (argc == 2 && !strcmp(argv[1], "pin"))
		return pin();
	if (argc == 3 && !strcmp(argv[1], "inflight"))
		return inflight(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "huge"))
		return huge();
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "stale"))
		return stale();
	if (argc == 2 && !strcmp(argv[1], "futexkey"))
		return futexkey();
	if (argc == 2 && !strcmp(argv[1], "poison"))
		return poison();
	fprintf(stderr, "usage: test_gup paths pages|pfn BLKDEV [wb|wc|uc...] | pin | inflight NULLBLK | huge | hold SECONDS | stale | futexkey | poison\n");
	return 2;
}
