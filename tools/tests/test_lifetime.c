// SPDX-License-Identifier: GPL-2.0
/*
 * test_lifetime: what a context holds goes back when the process dies,
 * when the file is closed (once its mappings are gone), and mappings
 * shared with a forked child stay usable while either side maps them.
 * Prints TAP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define WAIT_MS		5000	/* a dead process's files close at exit */

static int mon;			/* monitoring context, holds nothing */
static __u64 pg;

/* Make allocations of every kind and map them; 0 or a negative errno. */
static int hold_everything(int f)
{
	struct fnmm_vmctl r, m;
	void *p;
	int ret;

	ret = fnmm_reserve(f, 8 * pg, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (ret)
		return ret;
	ret = fnmm_reserve(f, 2 * pg, 0, FNMM_ALLOC_BIT, 0, &r);
	if (ret)
		return ret;
	p = fnmm_mmap(f, r.handle, 2 * pg, PROT_READ | PROT_WRITE);
	if (p == MAP_FAILED || pattern_fill(p, 2 * pg, 1))
		return -EIO;
	ret = fnmm_reserve(f, 100, 0, FNMM_ALLOC_POOL, 0, &r);
	if (ret)
		return ret;
	p = fnmm_mmap(f, r.handle, pg, PROT_READ | PROT_WRITE);
	if (p == MAP_FAILED || pattern_fill((char *)p + r.offset, 100, 2))
		return -EIO;
	ret = fnmm_map_contiguous(f, 0, 0, 1 << 20, 0, FNMM_ALLOC_SPLIT, 0, &m);
	if (ret)
		return ret;
	if (pattern_fill(fnmm_ptr(m.range.virt), 1 << 20, 3))
		return -EIO;
	ret = fnmm_map_sparse(f, 0, 0, 4 * pg, 0, FNMM_ALLOC_SPLIT, 0, &m);
	if (ret)
		return ret;
	/* Released while mapped: only the mapping keeps it. */
	ret = fnmm_map_contiguous(f, 0, 0, 2 * pg, 0, FNMM_ALLOC_BIT, 0, &m);
	if (ret)
		return ret;
	return fnmm_release(f, m.handle);
}

/*
 * A child makes allocations and mappings, then dies holding them: by
 * SIGKILL (@kill) or by _exit() without any cleanup.
 */
static void test_death(int kill_it)
{
	const char *how = kill_it ? "SIGKILL" : "_exit";
	struct fnmm_info start, held;
	char d[512], c = 0;
	int p[2], status, ret;
	pid_t pid;

	if (info_or_fail(mon, &start, how) || pipe(p))
		return;
	pid = fork();
	if (pid < 0) {
		tap(0, strerror(errno), "%s: fork", how);
		return;
	}
	if (!pid) {
		int f = fnmm_open();

		close(p[0]);
		ret = f < 0 ? f : hold_everything(f);
		c = ret ? 'F' : 'R';
		if (write(p[1], &c, 1) != 1 || ret)
			_exit(1);
		if (!kill_it)
			_exit(0);
		for (;;)
			pause();
	}
	close(p[1]);
	ret = read(p[0], &c, 1);
	close(p[0]);
	tap(ret == 1 && c == 'R', "the child could not set up",
	    "%s: child holds allocations of every kind and mappings", how);
	if (kill_it) {
		ret = fnmm_info(mon, &held);
		if (!ret)
			info_diff(&start, &held, d, sizeof(d));
		tap(!ret && held.contexts == start.contexts + 1 &&
		    held.mappings >= start.mappings + 5 &&
		    held.alloc[FNMM_ALLOC_SPLIT].free <
		    start.alloc[FNMM_ALLOC_SPLIT].free &&
		    held.alloc[FNMM_ALLOC_BIT].free <
		    start.alloc[FNMM_ALLOC_BIT].free &&
		    held.alloc[FNMM_ALLOC_POOL].allocations ==
		    start.alloc[FNMM_ALLOC_POOL].allocations + 1,
		    ret ? errname(ret) : d,
		    "%s: INFO shows what the child holds", how);
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	if (kill_it)
		tap(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, NULL,
		    "%s: child killed", how);
	else
		tap(WIFEXITED(status) && !WEXITSTATUS(status), NULL,
		    "%s: child exited", how);
	ret = info_wait(mon, &start, WAIT_MS, d, sizeof(d));
	tap(!ret, d, "%s: every counter back to the start", how);
}

/* Closing the file with mappings left: they work until unmapped. */
static void test_close_mapped(void)
{
	struct fnmm_info start, now;
	struct fnmm_vmctl r, m;
	void *map = MAP_FAILED;
	char d[512];
	size_t bad = 0;
	int f, ret;

	if (info_or_fail(mon, &start, "close while mapped"))
		return;
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "close while mapped: open"))
		return;
	ret = fnmm_reserve(f, 4 * pg, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (!ret) {
		map = fnmm_mmap(f, r.handle, 4 * pg, PROT_READ | PROT_WRITE);
		if (map == MAP_FAILED)
			ret = -errno;
	}
	if (!ret)
		ret = fnmm_map_contiguous(f, 0, 0, 2 * pg, 0, FNMM_ALLOC_SPLIT,
					  0, &m);
	if (!tap_ret(ret, 0, "close while mapped: reserve, mmap, MapContiguous")) {
		close(f);
		if (map != MAP_FAILED)
			munmap(map, 4 * pg);
		return;
	}
	ret = pattern_fill(map, 4 * pg, 61);
	if (!ret)
		ret = pattern_fill(fnmm_ptr(m.range.virt), 2 * pg, 62);
	tap(!ret, pattern_str(ret, 0), "close while mapped: fill both");
	tap(!close(f), strerror(errno), "close while mapped: close the fd");

	ret = pattern_check(map, 4 * pg, 61, &bad);
	if (!ret)
		ret = pattern_check(fnmm_ptr(m.range.virt), 2 * pg, 62, &bad);
	tap(!ret, pattern_str(ret, bad), "after close: the data is still there");
	ret = pattern_fill(map, 4 * pg, 63);
	if (!ret)
		ret = pattern_check(map, 4 * pg, 63, &bad);
	tap(!ret, pattern_str(ret, bad), "after close: still writable");
	ret = fnmm_info(mon, &now);
	tap(!ret && start.alloc[FNMM_ALLOC_SPLIT].free -
	    now.alloc[FNMM_ALLOC_SPLIT].free == 6 * pg, NULL,
	    "after close: the memory is still held");

	tap(!munmap(map, 4 * pg), strerror(errno), "after close: munmap one");
	tap(!munmap(fnmm_ptr(m.range.virt), 2 * pg), strerror(errno),
	    "after close: munmap the other");
	ret = info_wait(mon, &start, WAIT_MS, d, sizeof(d));
	tap(!ret, d, "after the last munmap: every counter back");
}

/* Parent and a forked child share a mapping. */
static void test_fork(void)
{
	struct fnmm_info start, now;
	struct fnmm_vmctl r;
	int p2c[2], c2p[2], f, ret, status;
	char d[512], c = 0;
	size_t bad = 0;
	void *map;
	pid_t pid;

	if (info_or_fail(mon, &start, "fork"))
		return;
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "fork: open"))
		return;
	ret = fnmm_reserve(f, 2 * pg, 0, FNMM_ALLOC_SPLIT, 0, &r);
	if (!tap_ret(ret, 0, "fork: ReserveMem")) {
		close(f);
		return;
	}
	map = fnmm_mmap(f, r.handle, 2 * pg, PROT_READ | PROT_WRITE);
	if (!tap(map != MAP_FAILED, strerror(errno), "fork: mmap") ||
	    pipe(p2c) || pipe(c2p)) {
		close(f);
		return;
	}
	pid = fork();
	if (pid < 0) {
		tap(0, strerror(errno), "fork");
		return;
	}
	if (!pid) {
		close(p2c[1]);
		close(c2p[0]);
		c = pattern_fill(map, 2 * pg, 71) ? 'F' : 'W';
		if (write(c2p[1], &c, 1) != 1)
			_exit(1);
		/* The parent releases its handle; the mapping must live on. */
		if (read(p2c[0], &c, 1) != 1)
			_exit(1);
		c = pattern_check(map, 2 * pg, 71, NULL) ||
		    pattern_fill(map, 2 * pg, 72) ? 'F' : 'K';
		if (write(c2p[1], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(p2c[0]);
	close(c2p[1]);
	ret = read(c2p[0], &c, 1);
	tap(ret == 1 && c == 'W', "child could not write",
	    "fork: child writes through the inherited mapping");
	ret = pattern_check(map, 2 * pg, 71, &bad);
	tap(!ret, pattern_str(ret, bad), "fork: parent sees the child's data");
	tap_ret(fnmm_release(f, r.handle), 0, "fork: parent releases the handle");
	c = 'R';
	ret = write(p2c[1], &c, 1);
	ret = ret == 1 ? (int)read(c2p[0], &c, 1) : -1;
	tap(ret == 1 && c == 'K', "child's mapping failed",
	    "fork: child's mapping still usable after the release");
	close(p2c[1]);
	close(c2p[0]);
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	tap(WIFEXITED(status) && !WEXITSTATUS(status), NULL,
	    "fork: child exited");
	ret = pattern_check(map, 2 * pg, 72, &bad);
	tap(!ret, pattern_str(ret, bad), "fork: parent sees the child's last write");
	ret = fnmm_info(mon, &now);
	tap(!ret && start.alloc[FNMM_ALLOC_SPLIT].free -
	    now.alloc[FNMM_ALLOC_SPLIT].free == 2 * pg, NULL,
	    "fork: pages held while the parent maps them");
	tap(!munmap(map, 2 * pg), strerror(errno), "fork: parent munmaps");
	close(f);
	ret = info_wait(mon, &start, WAIT_MS, d, sizeof(d));
	tap(!ret, d, "fork: every counter back");
}

/* A mapping is unmapped, reprotected or resized whole, never in part. */
static void test_no_split(void)
{
	struct fnmm_info start;
	struct fnmm_vmctl r;
	char d[512];
	size_t bad;
	void *map, *p;
	int f, ret;

	if (info_or_fail(mon, &start, "no split"))
		return;
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "no split: open") ||
	    !tap_ret(fnmm_reserve(f, 4 * pg, 0, 0, 0, &r), 0,
		     "no split: ReserveMem 4 pages")) {
		if (f >= 0)
			close(f);
		return;
	}
	map = fnmm_mmap(f, r.handle, 4 * pg, PROT_READ | PROT_WRITE);
	if (!tap(map != MAP_FAILED, strerror(errno), "no split: mmap")) {
		close(f);
		return;
	}
	tap(!pattern_fill(map, 4 * pg, 7), NULL, "no split: fill");
	ret = munmap((char *)map + pg, pg) ? -errno : 0;
	tap_ret(ret, -EINVAL, "no split: munmap of a middle page");
	ret = munmap(map, pg) ? -errno : 0;
	tap_ret(ret, -EINVAL, "no split: munmap of the first page");
	ret = mprotect((char *)map + 2 * pg, pg, PROT_READ) ? -errno : 0;
	tap_ret(ret, -EINVAL, "no split: mprotect of part");
	ret = mprotect((char *)map + 2 * pg, pg, PROT_READ | PROT_WRITE) ?
	      -errno : 0;
	tap_ret(ret, 0, "no split: mprotect of part, unchanged, is a no-op");
	p = mremap(map, 4 * pg, 2 * pg, 0);
	tap_ret(p == MAP_FAILED ? -errno : 0, -EINVAL,
		"no split: mremap shrink");
	tap_ret(fnmm_unmap(f, fnmm_addr(map) + pg, 2 * pg), -EINVAL,
		"no split: UnMap of part");
	ret = pattern_check(map, 4 * pg, 7, &bad);
	tap(!ret, pattern_str(ret, bad), "no split: the mapping is intact");
	ret = mprotect(map, 4 * pg, PROT_READ) ? -errno : 0;
	tap_ret(ret, 0, "no split: mprotect of the whole mapping");
	tap_ret(fnmm_unmap(f, fnmm_addr(map), 4 * pg), 0,
		"no split: UnMap of the whole mapping");
	tap_ret(fnmm_release(f, r.handle), 0, "no split: Release");
	close(f);
	ret = info_wait(mon, &start, WAIT_MS, d, sizeof(d));
	tap(!ret, d, "no split: every counter back");
}

/*
 * An allocation in pieces (a section released) mapped after one of its
 * pieces was mapped alone: both work, and the x86 PAT memory type of its
 * pages stays write-back (debugfs x86/pat_memtype_list), not uncached.
 */
static void test_pieces(int gap)
{
	struct fnmm_info start;
	struct fnmm_vmctl r, l;
	char d[512], line[256];
	unsigned long long a, b;
	int f, ret, wrong = 0, seen = 0;
	void *one, *all;
	FILE *pat;

	if (info_or_fail(mon, &start, "pieces"))
		return;
	f = fnmm_open();
	if (!tap(f >= 0, errname(f), "pieces: open") ||
	    !tap_ret(fnmm_reserve(f, 4 * pg, 0, 0, 0, &r), 0,
		     "pieces: ReserveMem 4 pages") ||
	    !tap_ret(fnmm_release_sections(f, r.handle, gap * pg, pg), 0,
		     "pieces: ReleaseSections of page %d", gap)) {
		if (f >= 0)
			close(f);
		return;
	}
	one = fnmm_mmap(f, r.handle, pg, PROT_READ | PROT_WRITE);
	tap(one != MAP_FAILED, strerror(errno), "pieces: mmap page 0 alone");
	all = fnmm_mmap(f, r.handle, 4 * pg, PROT_READ | PROT_WRITE);
	tap(all != MAP_FAILED, strerror(errno),
	    "pieces: mmap of all 4 pages while page 0 is mapped");
	if (all != MAP_FAILED) {
		tap(!pattern_fill((char *)all + (gap == 1 ? 2 : 1) * pg, pg, 9),
		    NULL, "pieces: a page after page 0 is writable");
		tap(probe_read((char *)all + gap * pg) == -SIGBUS, NULL,
		    "pieces: the released page %d faults (SIGBUS)", gap);
		pat = fopen("/sys/kernel/debug/x86/pat_memtype_list", "r");
		if (pat && !fnmm_lookup(f, fnmm_addr(all) + 2 * pg - gap / 3 * pg,
					&l) &&
		    l.range.phys) {
			while (fgets(line, sizeof(line), pat))
				if (sscanf(line, "PAT: [mem 0x%llx-0x%llx]", &a,
					   &b) == 2 && a < l.range.phys + 2 * pg &&
				    b > l.range.phys) {
					seen++;
					wrong += !strstr(line, "write-back");
				}
			tap(seen && !wrong, NULL,
			    "pieces: PAT memory type of the pages is write-back (%d entries, %d not)",
			    seen, wrong);
		} else {
			tap_skip("no pat_memtype_list or no phys",
				 "pieces: PAT memory type");
		}
		if (pat)
			fclose(pat);
		munmap(all, 4 * pg);
	}
	if (one != MAP_FAILED)
		munmap(one, pg);
	tap_ret(fnmm_release(f, r.handle), 0, "pieces: Release");
	close(f);
	ret = info_wait(mon, &start, WAIT_MS, d, sizeof(d));
	tap(!ret, d, "pieces: every counter back");
}

int main(void)
{
	pg = fnmm_page_size();
	mon = open_or_bail();
	test_death(1);
	test_death(0);
	test_close_mapped();
	test_fork();
	test_no_split();
	test_pieces(1);
	test_pieces(3);
	close(mon);
	return tap_done();
}
