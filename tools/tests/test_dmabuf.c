// SPDX-License-Identifier: GPL-2.0
/*
 * test_dmabuf: FNMM_IOC_EXPORT (issue 13), in the style of the kernel's
 * tools/testing/selftests/dmabuf-heaps.  Runs as root in the test VM;
 * prints TAP.
 *
 *   test_dmabuf basic     export, the exporter's name in bufinfo, mmap of
 *                         the dma-buf sees the allocation's bytes both
 *                         ways, DMA_BUF_IOCTL_SYNC, Info exported
 *   test_dmabuf lifetime  the owner fills, exports, passes the fd over
 *                         SCM_RIGHTS, then
 *                         Releases, closes and exits; the receiver maps
 *                         the same bytes; closing the last fd gives every
 *                         page back (Info as at the start)
 *   test_dmabuf bad       every bad input, each with Info unchanged:
 *                         unknown or released handle, Pool object, an
 *                         allocation with released sections, a second
 *                         export, flags, reserved, argsz (smaller, larger
 *                         with zero tail, larger with non-zero tail:
 *                         E2BIG), O_RDWR of a read-only allocation,
 *                         DMA_BUF_IOCTL_SYNC bad flags; ReleaseSections of
 *                         an exported allocation: EBUSY
 *   test_dmabuf vgem      DRM PRIME: vgem imports the dma-buf (attach and
 *                         map for its device, listed in bufinfo), keeps
 *                         the memory after every fd and the context are
 *                         closed, and lets go of it with GEM_CLOSE
 *   test_dmabuf hold SECONDS
 *                         keep a dma-buf of 64 KiB for SECONDS after its
 *                         context is closed (rmmod must be refused)
 *   test_dmabuf nopages   with pages=0: EOPNOTSUPP, nothing changed
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define SPLIT	FNMM_ALLOC_SPLIT
#define BIT	FNMM_ALLOC_BIT
#define POOL	FNMM_ALLOC_POOL
#define RWU	FNMM_ACCESS_DEFAULT
#define RU	(FNMM_ACCESS_READABLE | FNMM_ACCESS_USER)
#define LEN	(256 * 1024)

static __u64 pg;

static int basic(void)
{
	struct fnmm_info start, now;
	int mon = open_or_bail(), fd = open_or_bail();
	static const unsigned int kinds[] = { SPLIT, BIT };
	unsigned int k;
	char why[256];

	fnmm_info(mon, &start);
	for (k = 0; k < 2; k++) {
		const char *kn = fnmm_alloc_name(kinds[k]);
		struct fnmm_vmctl r;
		unsigned char *p, *q;
		size_t bad = 0;
		int dfd, chk;

		if (!tap_ret(fnmm_reserve(fd, LEN, 0, kinds[k], 0, &r), 0,
			     "%s: ReserveMem 256 KiB", kn))
			continue;
		p = fnmm_mmap(fd, r.handle, LEN, PROT_READ | PROT_WRITE);
		pattern_fill(p, LEN, 51);
		dfd = fnmm_export(fd, r.handle, O_RDWR | O_CLOEXEC);
		if (!tap(dfd >= 0, errname(dfd), "%s: export O_RDWR|O_CLOEXEC", kn))
			continue;
		tap(fcntl(dfd, F_GETFD) == FD_CLOEXEC, "", "%s: the fd is close-on-exec", kn);
		tap(lseek(dfd, 0, SEEK_END) == LEN, "", "%s: the dma-buf is 256 KiB", kn);
		tap(bufinfo_count("freenos-mm") >= 1, "",
		    "%s: bufinfo names the exporter freenos-mm", kn);
		fnmm_info(mon, &now);
		tap(now.exported == 1 && now.exported_bytes == LEN, "",
		    "%s: Info exported 1, 256 KiB (%llu, %llu)", kn,
		    (unsigned long long)now.exported,
		    (unsigned long long)now.exported_bytes);
		q = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
		if (tap(q != MAP_FAILED, strerror(errno), "%s: mmap the dma-buf", kn)) {
			tap_ret(dmabuf_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW),
				0, "%s: DMA_BUF_IOCTL_SYNC start rw", kn);
			chk = pattern_check(q, LEN, 51, &bad);
			tap(!chk, pattern_str(chk, bad),
			    "%s: its mapping has the allocation's bytes", kn);
			pattern_fill(q + pg, pg, 52);
			chk = pattern_check(p + pg, pg, 52, &bad);
			tap(!chk, pattern_str(chk, bad),
			    "%s: a write through it is the allocation's", kn);
			tap_ret(dmabuf_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
				0, "%s: DMA_BUF_IOCTL_SYNC end rw", kn);
			munmap(q, LEN);
		}
		/* An offset into the dma-buf maps from there. */
		q = mmap(NULL, pg, PROT_READ, MAP_SHARED, dfd, pg);
		tap(q != MAP_FAILED && !pattern_check(q, pg, 52, &bad), "",
		    "%s: mmap at offset 4096 maps the second page", kn);
		if (q != MAP_FAILED)
			munmap(q, pg);
		q = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, dfd, LEN - pg);
		tap(q == MAP_FAILED, "", "%s: mmap past the end: refused", kn);
		q = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, dfd, 0);
		tap(q == MAP_FAILED && errno == EINVAL, strerror(errno),
		    "%s: MAP_PRIVATE: EINVAL", kn);
		munmap(p, LEN);
		tap_ret(fnmm_release(fd, r.handle), 0, "%s: Release while exported", kn);
		close(dfd);
		tap(!info_wait(mon, &start, 5000, why, sizeof(why)), why,
		    "%s: closing the dma-buf gives the memory back", kn);
	}
	close(fd);
	close(mon);
	return tap_done();
}

/* debugfs "contexts" has a line ending "1 closed" (one dma-buf alive). */
static int debugfs_contexts_closed_exporting(void)
{
	FILE *f = fopen("/sys/kernel/debug/freenos-mm/contexts", "r");
	char line[256];
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " 1 closed\n"))
			found = 1;
	if (f)
		fclose(f);
	return found;
}

/* Send @sfd over @sock (SCM_RIGHTS). */
static int send_fd(int sock, int sfd)
{
	char c = 'f', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sfd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int rfd;

	if (recvmsg(sock, &m, 0) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&rfd, CMSG_DATA(cm), sizeof(int));
	return rfd;
}

static int lifetime(void)
{
	struct fnmm_info start, now;
	int mon = open_or_bail(), sv[2], st, rfd, chk;
	unsigned char *q;
	size_t bad = 0;
	char why[256];
	pid_t pid;

	tap_share();
	fnmm_info(mon, &start);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return tap_done();
	pid = fork();
	if (!pid) {
		/* The owner: fill, export, pass it on, let go of everything. */
		int fd = open_or_bail(), dfd;
		struct fnmm_vmctl r;
		unsigned char *p;

		close(sv[0]);
		if (fnmm_reserve(fd, LEN, 0, SPLIT, 0, &r))
			_exit(2);
		p = fnmm_mmap(fd, r.handle, LEN, PROT_READ | PROT_WRITE);
		if (p == MAP_FAILED)
			_exit(3);
		pattern_fill(p, LEN, 61);
		dfd = fnmm_export(fd, r.handle, O_RDWR);
		if (dfd < 0 || send_fd(sv[1], dfd))
			_exit(4);
		munmap(p, LEN);
		fnmm_release(fd, r.handle);
		close(dfd);
		close(fd);
		_exit(0);
	}
	close(sv[1]);
	rfd = recv_fd(sv[0]);
	waitpid(pid, &st, 0);
	tap(WIFEXITED(st) && !WEXITSTATUS(st) && rfd >= 0, "",
	    "the owner exported, sent the fd over SCM_RIGHTS, released, closed and exited");
	fnmm_info(mon, &now);
	tap(now.exported == 1 && now.exported_bytes == LEN, "",
	    "Info: 1 dma-buf, 256 KiB kept alive after its owner is gone");
	tap_eq(now.alloc[SPLIT].free, start.alloc[SPLIT].free - LEN,
	       "the 256 KiB are still held");
	tap_eq(now.contexts, start.contexts + 1,
	       "the owner's context lives on with the export (Info contexts)");
	tap(debugfs_contexts_closed_exporting(), "",
	    "debugfs contexts: a closed context with 1 dma-buf alive");
	q = mmap(NULL, LEN, PROT_READ, MAP_SHARED, rfd, 0);
	chk = q == MAP_FAILED ? 1 : pattern_check(q, LEN, 61, &bad);
	tap(!chk, q == MAP_FAILED ? strerror(errno) : pattern_str(chk, bad),
	    "the receiver maps the owner's bytes");
	if (q != MAP_FAILED)
		munmap(q, LEN);
	close(rfd);
	close(sv[0]);
	tap(!info_wait(mon, &start, 5000, why, sizeof(why)), why,
	    "the last fd closed: every page back, the context gone, Info as at the start");
	close(mon);
	return tap_done();
}

/* Reissue EXPORT with @argsz bytes of @ex (zero tail beyond the struct). */
static int export_argsz(int fd, struct fnmm_export *ex, __u32 argsz,
			unsigned char tail)
{
	unsigned char raw[64] = { 0 };
	int ret;

	memcpy(raw, ex, sizeof(*ex));
	((struct fnmm_export *)raw)->argsz = argsz;
	/* Larger than raw: refused from argsz alone, before any copy. */
	if (argsz > sizeof(*ex) && argsz <= sizeof(raw))
		raw[argsz - 1] = tail;
	ret = fnmm_ioctl_raw(fd, FNMM_IOC_EXPORT, raw);
	if (!ret)
		ret = ((struct fnmm_export *)raw)->fd;
	return ret;
}

static int bad(void)
{
	struct fnmm_vmctl r, ro, p, s;
	struct fnmm_info before;
	struct fnmm_export ex;
	int fd = open_or_bail(), dfd, ret;

	fnmm_reserve(fd, LEN, 0, SPLIT, 0, &r);
	fnmm_reserve(fd, LEN, RU, SPLIT, 0, &ro);
	fnmm_reserve(fd, 64, 0, POOL, 0, &p);
	fnmm_reserve(fd, 4 * pg, 0, SPLIT, 0, &s);
	fnmm_release_sections(fd, s.handle, pg, pg);
	fnmm_info(fd, &before);
#define BAD(want, call, what)						\
	do {								\
		ret = (call);						\
		if (ret >= 0)						\
			close(ret);					\
		tap_ret(ret < 0 ? ret : 0, want, "%s", what);		\
		tap_info_same(fd, &before, "... Info unchanged");	\
	} while (0)
	BAD(-ENOENT, fnmm_export(fd, 0x7000000, O_RDWR), "unknown handle: ENOENT");
	BAD(-ENOENT, fnmm_export(fd, 0, O_RDWR), "handle 0: ENOENT");
	BAD(-EINVAL, fnmm_export(fd, p.handle, O_RDWR), "a Pool object (not page-sized): EINVAL");
	BAD(-EINVAL, fnmm_export(fd, s.handle, O_RDWR), "an allocation with a released section: EINVAL");
	BAD(-EINVAL, fnmm_export(fd, r.handle, O_WRONLY), "O_WRONLY: EINVAL");
	BAD(-EINVAL, fnmm_export(fd, r.handle, 3), "access mode 3: EINVAL");
	BAD(-EINVAL, fnmm_export(fd, r.handle, O_RDWR | O_NONBLOCK), "O_NONBLOCK: EINVAL");
	BAD(-EINVAL, fnmm_export(fd, r.handle, 1U << 31), "bit 31: EINVAL");
	BAD(-EACCES, fnmm_export(fd, ro.handle, O_RDWR), "O_RDWR of a read-only allocation: EACCES");
	ex = (struct fnmm_export){ .argsz = sizeof(ex), .flags = O_RDWR,
				   .handle = r.handle, .reserved = 1 };
	BAD(-EINVAL, fnmm_ioctl_raw(fd, FNMM_IOC_EXPORT, &ex), "reserved set: EINVAL");
	ex.reserved = 0;
	BAD(-EINVAL, export_argsz(fd, &ex, 0, 0), "argsz 0: EINVAL");
	BAD(-EINVAL, export_argsz(fd, &ex, 23, 0), "argsz 23 (one byte short): EINVAL");
	BAD(-E2BIG, export_argsz(fd, &ex, 32, 1), "argsz 32, non-zero tail: E2BIG");
	BAD(-E2BIG, export_argsz(fd, &ex, 4097, 0), "argsz 4097: E2BIG");
#undef BAD
	/* The good ones, then what an export forbids. */
	dfd = export_argsz(fd, &ex, 32, 0);
	tap(dfd >= 0, errname(dfd), "argsz 32 with a zero tail: exported");
	tap_ret(fnmm_export(fd, r.handle, O_RDWR), -EBUSY,
		"a second export of the same allocation: EBUSY (pass or dup the fd)");
	tap_ret(fnmm_release_sections(fd, r.handle, 0, pg), -EBUSY,
		"ReleaseSections of an exported allocation: EBUSY");
	tap_ret(dmabuf_sync(dfd, 0), -EINVAL, "DMA_BUF_IOCTL_SYNC flags 0: EINVAL");
	tap_ret(dmabuf_sync(dfd, DMA_BUF_SYNC_END), -EINVAL,
		"DMA_BUF_IOCTL_SYNC end without read or write: EINVAL");
	tap_ret(dmabuf_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0,
		"DMA_BUF_IOCTL_SYNC start read: 0");
	tap_ret(dmabuf_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0,
		"DMA_BUF_IOCTL_SYNC end read: 0");
	tap_ret(dmabuf_sync(dfd, 1ULL << 40 | DMA_BUF_SYNC_START), -EINVAL,
		"DMA_BUF_IOCTL_SYNC unknown flag: EINVAL");
	close(dfd);
	dfd = fnmm_export(fd, ro.handle, O_RDONLY);
	tap(dfd >= 0, errname(dfd), "O_RDONLY export of a read-only allocation");
	tap(mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0) == MAP_FAILED &&
	    errno == EACCES, strerror(errno), "its PROT_WRITE mmap: EACCES");
	close(dfd);
	fnmm_release(fd, r.handle);
	tap_ret(fnmm_export(fd, r.handle, O_RDWR), -ENOENT, "a released handle: ENOENT");
	{
		struct fnmm_vmctl w;

		fnmm_reserve(fd, pg, FNMM_ACCESS_WRITABLE | FNMM_ACCESS_USER,
			     SPLIT, 0, &w);
		tap_ret(fnmm_export(fd, w.handle, O_RDONLY), -EACCES,
			"an allocation that is not readable: EACCES");
	}
	close(fd);
	/* A file opened read-only maps read-only, and exports so. */
	fd = open(FNMM_DEVICE_PATH, O_RDONLY);
	if (tap(fd >= 0, strerror(errno), "open the device O_RDONLY")) {
		fnmm_reserve(fd, pg, 0, SPLIT, 0, &r);
		tap_ret(fnmm_export(fd, r.handle, O_RDWR), -EACCES,
			"O_RDWR export through a read-only file: EACCES");
		dfd = fnmm_export(fd, r.handle, O_RDONLY);
		tap(dfd >= 0, errname(dfd), "O_RDONLY export through it");
		if (dfd >= 0)
			close(dfd);
		close(fd);
	}
	return tap_done();
}

static int vgem(void)
{
	struct fnmm_info start, now;
	int mon = open_or_bail(), fd, card, dfd, ret;
	struct fnmm_drm_prime_handle ph = { 0 }, ph2 = { 0 };
	struct fnmm_drm_gem_close gc = { 0 };
	struct fnmm_vmctl r;
	char why[256];

	fnmm_info(mon, &start);
	fd = open_or_bail();
	card = open("/dev/dri/card0", O_RDWR);
	if (!tap(card >= 0, strerror(errno), "open vgem's /dev/dri/card0"))
		return tap_done();
	fnmm_reserve(fd, LEN, 0, SPLIT, 0, &r);
	dfd = fnmm_export(fd, r.handle, O_RDWR);
	tap(dfd >= 0, errname(dfd), "export 256 KiB");
	ph.fd = dfd;
	ret = ioctl(card, FNMM_DRM_PRIME_FD_TO_HANDLE, &ph) ? -errno : 0;
	tap(!ret && ph.handle, errname(ret),
	    "DRM_IOCTL_PRIME_FD_TO_HANDLE: vgem imports it (GEM handle %u)",
	    ph.handle);
	tap(bufinfo_count("vgem") >= 1, "",
	    "bufinfo lists vgem as an attached device (attached and mapped)");
	ph2.fd = dfd;
	tap(!ioctl(card, FNMM_DRM_PRIME_FD_TO_HANDLE, &ph2) &&
	    ph2.handle == ph.handle, strerror(errno),
	    "a second import finds the same GEM object");
	close(dfd);
	fnmm_release(fd, r.handle);
	close(fd);
	fnmm_info(mon, &now);
	tap(now.exported == 1 && now.alloc[SPLIT].free ==
	    start.alloc[SPLIT].free - LEN, "",
	    "fd, handle and context closed: vgem's import keeps the 256 KiB");
	gc.handle = ph.handle;
	tap(!ioctl(card, FNMM_DRM_GEM_CLOSE, &gc), strerror(errno),
	    "DRM_IOCTL_GEM_CLOSE");
	tap(!bufinfo_count("vgem"), "", "vgem is detached (bufinfo)");
	tap(!info_wait(mon, &start, 5000, why, sizeof(why)), why,
	    "the memory is back: Info as at the start");
	/* PRIME maps both ways: a read-only export is refused. */
	fd = open_or_bail();
	fnmm_reserve(fd, LEN, 0, SPLIT, 0, &r);
	dfd = fnmm_export(fd, r.handle, O_RDONLY);
	memset(&ph, 0, sizeof(ph));
	ph.fd = dfd;
	tap(ioctl(card, FNMM_DRM_PRIME_FD_TO_HANDLE, &ph) && errno == EACCES,
	    strerror(errno),
	    "vgem importing a read-only export (PRIME maps it both ways): EACCES");
	tap(!bufinfo_count("vgem"), "", "... and nothing stays attached");
	close(dfd);
	close(fd);
	close(card);
	close(mon);
	return tap_done();
}

static int hold(int secs)
{
	int fd = open_or_bail(), dfd;
	struct fnmm_vmctl r;

	if (fnmm_reserve(fd, 65536, 0, SPLIT, 0, &r))
		return 2;
	dfd = fnmm_export(fd, r.handle, O_RDWR);
	close(fd);
	if (dfd < 0)
		return 3;
	sleep(secs);
	close(dfd);
	return 0;
}

static int nopages(void)
{
	struct fnmm_info before;
	struct fnmm_vmctl r;
	int fd = open_or_bail();

	fnmm_reserve(fd, LEN, 0, SPLIT, 0, &r);
	fnmm_info(fd, &before);
	tap_ret(fnmm_export(fd, r.handle, O_RDWR), -EOPNOTSUPP,
		"export without struct pages (pages=0): EOPNOTSUPP");
	tap_info_same(fd, &before, "... Info unchanged");
	close(fd);
	return tap_done();
}

int main(int argc, char **argv)
{
	pg = fnmm_page_size();
	if (argc == 2 && !strcmp(argv[1], "basic"))
		return basic();
	if (argc == 2 && !strcmp(argv[1], "lifetime"))
		return lifetime();
	if (argc == 2 && !strcmp(argv[1], "bad"))
		return bad();
	if (argc == 2 && !strcmp(argv[1], "vgem"))
		return vgem();
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "nopages"))
		return nopages();
	fprintf(stderr, "usage: test_dmabuf basic | lifetime | bad | vgem | hold SECONDS | nopages\n");
	return 2;
}
