// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm privilege tests, run as root: physical addresses and the
 * device node are privileged.  A forked child drops to uid/gid 65534
 * (which clears every capability) and checks, through a descriptor it
 * inherited and through its own open(), what it may see:
 *
 *  - the device node's mode decides whether it may open it (0600 by
 *    default: EACCES);
 *  - whether a file shows physical addresses is decided at open with the
 *    opener's credentials (as /proc/PID/pagemap): through a file nobody
 *    opened itself, unless the module's expose_phys parameter is set,
 *    every physical address in a reply is 0 and LookupVirtual fails with
 *    EPERM; the descriptor root opened and passed on keeps root's view,
 *    and the one nobody opened and handed to root (SCM_RIGHTS) keeps
 *    nobody's: no capable() on each call;
 *  - everything else (ReserveMem, Map, Access, Info) still works;
 *  - Info's largest through nobody's own file does not drain the per-CPU
 *    magazines (a loop of reads must not make every CPU go to the
 *    allocator's lock): blocks nobody released onto CPU 0's magazine are
 *    left out of it until a privileged Info drains them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define NOBODY	65534
#define EXPOSE	"/sys/module/freenos_mm/parameters/expose_phys"

static int exposed(void)
{
	char c = 'N';
	FILE *f = fopen(EXPOSE, "r");

	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = 'N';
		fclose(f);
	}
	return c == 'Y' || c == '1';
}

/* Replies through @fd show physical addresses, or all are 0 (@shown). */
static void phys_checks(int fd, int shown, const char *who)
{
	const char *how = shown ? "shown" : "is 0";
	struct fnmm_vmctl r, m;
	struct fnmm_info info;
	int ret;

	if (!info_or_fail(fd, &info, "nobody: INFO"))
		tap(shown ? info.region_base != 0 : info.region_base == 0,
		    NULL, "%s: INFO region_base %s", who, how);
	ret = fnmm_reserve(fd, 8192, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (tap_ret(ret, 0, "%s: ReserveMem", who)) {
		tap(shown ? r.range.phys != 0 : r.range.phys == 0, NULL,
		    "%s: ReserveMem reply phys %s", who, how);
		ret = fnmm_map_contiguous(fd, r.handle, 0, 0, 0, 0, 0, &m);
		if (tap_ret(ret, 0, "%s: MapContiguous", who)) {
			tap(shown ? m.range.phys != 0 : m.range.phys == 0,
			    NULL, "%s: MapContiguous reply phys %s",
			    who, how);
			ret = fnmm_lookup(fd, m.range.virt, &m);
			tap_ret(ret, shown ? 0 : -EPERM,
				"%s: LookupVirtual of its own mapping",
				who);
			tap_ret(fnmm_unmap(fd, m.range.virt, 8192), 0,
				"%s: UnMap", who);
		}
		tap_ret(fnmm_release(fd, r.handle), 0, "%s: Release",
			who);
	}
	ret = fnmm_map_contiguous(fd, 0, 0, 4096, 0, FNMM_ALLOC_BIT, 0, &m);
	if (tap_ret(ret, 0, "%s: MapContiguous with handle 0", who)) {
		tap(shown ? m.range.phys != 0 : m.range.phys == 0, NULL,
		    "%s: new allocation's phys %s", who, how);
		fnmm_unmap(fd, m.range.virt, 4096);
		fnmm_release(fd, m.handle);
	}
}

/* Send @fd over the socket @sock. */
static int send_fd(int sock, int fd)
{
	char c = 'F', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* A descriptor from the socket, or -errno. */
static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -errno ?: -EIO;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Split's largest through @fd; 0 if Info failed. */
static __u64 split_largest(int fd, const char *who)
{
	struct fnmm_info in;

	return info_or_fail(fd, &in, who) ? 0 :
	       in.alloc[FNMM_ALLOC_SPLIT].largest;
}

/*
 * On CPU 0: a page reserved and released through nobody's file @f fills
 * and refills CPU 0's order-0 magazine.  Nobody's Info leaves those
 * blocks out of largest, and reading it again does not drain them; an
 * Info through root's @rootfd does, and then both agree again.
 */
static void largest_checks(int f, int rootfd)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct fnmm_info in;
	struct fnmm_vmctl r;
	__u64 l0, l1;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		tap(0, strerror(errno), "nobody: pin to CPU 0");
		return;
	}
	if (info_or_fail(rootfd, &in, "nobody: INFO through root's file"))
		return;
	l0 = in.alloc[FNMM_ALLOC_SPLIT].largest;
	if (l0 != in.alloc[FNMM_ALLOC_SPLIT].free) {
		tap_skip("Split's free space is not one run", "largest checks");
		return;
	}
	if (!tap_ret(fnmm_reserve(f, pg, 0, FNMM_ALLOC_SPLIT, 0, &r), 0,
		     "nobody: ReserveMem of a page"))
		return;
	tap_ret(fnmm_release(f, r.handle), 0, "nobody: ... Release");
	l1 = split_largest(f, "nobody: INFO");
	tap(l1 < l0, NULL,
	    "nobody: its Info's largest leaves out the magazine's blocks (%llu < %llu)",
	    (unsigned long long)l1, (unsigned long long)l0);
	tap_eq(split_largest(f, "nobody: INFO again"), l1,
	       "nobody: reading it again drains nothing");
	tap_eq(split_largest(rootfd, "nobody: INFO through root's file"), l0,
	       "root's file: Info drains the magazines, largest is exact");
	tap_eq(split_largest(f, "nobody: INFO after"), l0,
	       "nobody: ... and then its Info agrees");
}

/* What the unprivileged child checks; @fd came from root. */
static void unprivileged(int fd, __u64 virt, int open_ok, int expose,
			 int sock)
{
	struct fnmm_vmctl m;
	int f, ret;

	f = open(FNMM_DEVICE_PATH, O_RDWR);
	if (open_ok)
		tap(f >= 0, strerror(errno), "nobody: open a world-writable node");
	else
		tap(f < 0 && errno == EACCES, f < 0 ? strerror(errno) : "opened",
		    "nobody: open of the 0600 node is refused with EACCES");
	if (f >= 0) {
		phys_checks(f, expose, "nobody, its own file");
		memset(&m, 0, sizeof(m));
		ret = fnmm_lookup(f, virt, &m);
		tap_ret(ret, expose ? -EFAULT : -EPERM,
			"nobody, its own file: LookupVirtual of root's mapping");
		tap(m.range.phys == 0, NULL,
		    "nobody: a refused lookup leaves phys 0");
		if (!expose)
			largest_checks(f, fd);
		tap_ret(send_fd(sock, f), 0, "nobody: hand its own file to root");
		close(f);
	}

	/* Root's file, inherited: root's view, as pagemap. */
	phys_checks(fd, 1, "nobody, root's file");
	memset(&m, 0, sizeof(m));
	ret = fnmm_lookup(fd, virt, &m);
	tap_ret(ret, 0, "nobody: LookupVirtual of root's inherited mapping");
	tap(m.range.phys != 0, NULL, "nobody: root's file shows its phys");
	ret = fnmm_access(fd, virt, &m);
	tap_ret(ret, 0, "nobody: Access of the inherited mapping");
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct fnmm_info start, now;
	int fd, open_ok, expose, status, sv[2], nf;
	struct fnmm_vmctl r;
	struct stat st;
	char diff[512];
	pid_t pid;

	if (geteuid() != 0) {
		tap_skip("needs root to drop privileges", "privilege tests");
		return tap_done();
	}
	tap_share();
	fd = open_or_bail();
	tap(!stat(FNMM_DEVICE_PATH, &st), strerror(errno), "stat the node");
	open_ok = (st.st_mode & 0006) == 0006;
	expose = exposed();
	tap_diag("node mode %o, expose_phys %s", st.st_mode & 0777,
		 expose ? "Y" : "N");
	if (info_or_fail(fd, &start, "INFO"))
		return tap_done();
	tap(start.region_base != 0, NULL, "root: INFO shows region_base");

	if (!tap_ret(fnmm_map_contiguous(fd, 0, 0, 2 * pg, 0, 0, 0, &r), 0,
		     "root: MapContiguous with handle 0"))
		return tap_done();
	tap(r.range.phys != 0, NULL, "root: the reply shows phys");

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		tap(0, strerror(errno), "socketpair");
		return tap_done();
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
			tap(0, strerror(errno), "drop to uid/gid %d", NOBODY);
			_exit(1);
		}
		tap(getuid() == NOBODY, NULL, "child runs as nobody");
		unprivileged(fd, r.range.virt, open_ok, expose, sv[1]);
		fflush(stdout);
		_exit(0);
	}
	close(sv[1]);
	tap(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && !WEXITSTATUS(status), NULL,
	    "unprivileged child finished");
	if (open_ok) {
		/* Root on nobody's file: only what its opener could see. */
		nf = recv_fd(sv[0]);
		if (tap(nf >= 0, errname(nf), "root: receive nobody's file")) {
			phys_checks(nf, expose, "root, nobody's file");
			close(nf);
		}
	}
	close(sv[0]);

	tap_ret(fnmm_unmap(fd, r.range.virt, 2 * pg), 0, "root: UnMap");
	tap_ret(fnmm_release(fd, r.handle), 0, "root: Release");
	if (!info_or_fail(fd, &now, "INFO after"))
		tap(!info_wait(fd, &start, 2000, diff, sizeof(diff)), diff,
		    "every counter back to the start");
	close(fd);
	return tap_done();
}
