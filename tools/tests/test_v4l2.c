// SPDX-License-Identifier: GPL-2.0
/*
 * test_v4l2: freenos-mm dma-bufs as V4L2 capture buffers (issue 13).
 * Runs as root in the test VM with vivid loaded (n_devs=1
 * node_types=0x1: one video capture node); prints TAP.
 *
 *   test_v4l2 vivid vmalloc[TAG] | dma-contig[TAG]
 *	finds vivid's capture node, sets RGB24 near 320x240, the 75%
 *	colorbar and OSD text None, captures a reference frame into
 *	vivid's own buffers (V4L2_MEMORY_MMAP), then streams into 4
 *	exported freenos-mm allocations (V4L2_MEMORY_DMABUF), checking
 *	each frame's bytesused, sequence and every byte against the
 *	reference, read through the allocation's own mapping and the
 *	dma-buf's mapping (DMA_BUF_IOCTL_SYNC); after STREAMOFF,
 *	REQBUFS 0 and closing everything, Info is as at the start.
 *	The argument names the vb2 back end vivid was loaded with
 *	(allocators=0 or 1; TAG only labels the lines): dma-contig
 *	attaches vivid's device to each dma-buf (bufinfo), vmalloc does not.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common.h"

#define NBUF		4
#define NFRAMES		12

static const char *label = "";
static int contig;	/* vivid loaded with allocators=1 (vb2-dma-contig) */
static __u64 pg;

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, cmd, arg);
	while (ret && errno == EINTR);
	return ret ? -errno : 0;
}

/* /dev/videoN of vivid's capture node, or -1. */
static int find_vivid(char *path, size_t len)
{
	DIR *d = opendir("/sys/class/video4linux");
	struct dirent *e;
	int found = -1;

	while (d && found < 0 && (e = readdir(d))) {
		struct v4l2_capability cap;
		char name[64] = "", f[300];
		FILE *nf;
		int vfd;

		if (strncmp(e->d_name, "video", 5))
			continue;
		snprintf(f, sizeof(f), "/sys/class/video4linux/%s/name", e->d_name);
		nf = fopen(f, "r");
		if (!nf)
			continue;
		if (!fgets(name, sizeof(name), nf))
			name[0] = 0;
		fclose(nf);
		if (!strstr(name, "vivid"))
			continue;
		snprintf(path, len, "/dev/%s", e->d_name);
		vfd = open(path, O_RDWR);
		if (vfd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!xioctl(vfd, VIDIOC_QUERYCAP, &cap) &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) &&
		    (cap.device_caps & V4L2_CAP_STREAMING))
			found = vfd;
		else
			close(vfd);
	}
	if (d)
		closedir(d);
	return found;
}

/* Set the menu control named @cname to its item named @item: 0/-errno. */
static int set_menu(int vfd, const char *cname, const char *item)
{
	struct v4l2_queryctrl qc = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!xioctl(vfd, VIDIOC_QUERYCTRL, &qc)) {
		if (qc.type == V4L2_CTRL_TYPE_MENU &&
		    !strcmp((char *)qc.name, cname)) {
			struct v4l2_querymenu qm = { .id = qc.id };
			struct v4l2_control c = { .id = qc.id };

			for (qm.index = qc.minimum; (int)qm.index <= qc.maximum;
			     qm.index++) {
				if (xioctl(vfd, VIDIOC_QUERYMENU, &qm) ||
				    strcmp((char *)qm.name, item))
					continue;
				c.value = qm.index;
				return xioctl(vfd, VIDIOC_S_CTRL, &c);
			}
			return -ENOENT;
		}
		qc.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return -ENOENT;
}

/* DQBUF with a poll() timeout of 5 s: 0/-errno. */
static int dqbuf(int vfd, struct v4l2_buffer *b, __u32 memory)
{
	struct pollfd p = { .fd = vfd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return -ETIMEDOUT;
	memset(b, 0, sizeof(*b));
	b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b->memory = memory;
	return xioctl(vfd, VIDIOC_DQBUF, b);
}

static int reqbufs(int vfd, __u32 memory, __u32 count)
{
	struct v4l2_requestbuffers rb = {
		.count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};
	int ret = xioctl(vfd, VIDIOC_REQBUFS, &rb);

	return ret ? ret : (int)rb.count;
}

static int stream(int vfd, unsigned long cmd)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	return xioctl(vfd, cmd, &type);
}

/*
 * The reference: the third frame captured into vivid's own buffers.
 * Returns a malloc'ed copy of @size bytes, or NULL.
 */
static unsigned char *capture_mmap(int vfd, size_t size)
{
	struct v4l2_buffer b;
	unsigned char *ref = NULL, *map[2] = { MAP_FAILED, MAP_FAILED };
	size_t maplen[2] = { 0, 0 };
	int n, i, ret = 0;

	memset(&b, 0, sizeof(b));
	n = reqbufs(vfd, V4L2_MEMORY_MMAP, 2);
	if (!tap(n >= 2, errname(n), "%sREQBUFS MMAP: %d buffers", label, n))
		return NULL;
	for (i = 0; i < 2 && !ret; i++) {
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_MMAP;
		b.index = i;
		ret = xioctl(vfd, VIDIOC_QUERYBUF, &b);
		if (ret)
			break;
		maplen[i] = b.length;
		map[i] = mmap(NULL, b.length, PROT_READ, MAP_SHARED, vfd,
			      b.m.offset);
		if (map[i] == MAP_FAILED)
			ret = -errno;
		else
			ret = xioctl(vfd, VIDIOC_QBUF, &b);
	}
	if (!ret)
		ret = stream(vfd, VIDIOC_STREAMON);
	for (i = 0; i < 3 && !ret; i++) {
		ret = dqbuf(vfd, &b, V4L2_MEMORY_MMAP);
		if (ret || i == 2)
			break;
		ret = xioctl(vfd, VIDIOC_QBUF, &b);
	}
	if (tap_ret(ret, 0, "%sMMAP: stream 3 frames into vivid's buffers",
		    label) &&
	    tap_eq(b.bytesused, size, "%sMMAP: the reference has sizeimage bytes",
		   label)) {
		ref = malloc(size);
		if (ref)
			memcpy(ref, map[b.index], size);
	}
	stream(vfd, VIDIOC_STREAMOFF);
	for (i = 0; i < 2; i++)
		if (map[i] != MAP_FAILED)
			munmap(map[i], maplen[i]);
	tap_ret(reqbufs(vfd, V4L2_MEMORY_MMAP, 0), 0, "%sREQBUFS MMAP 0", label);
	return ref;
}

/* RGB24 pixel (x, y) of @f as 0xRRGGBB. */
static unsigned int pixel(const unsigned char *f, __u32 bpl, __u32 x, __u32 y)
{
	const unsigned char *p = f + (size_t)y * bpl + 3 * x;

	return p[0] << 16 | p[1] << 8 | p[2];
}

/*
 * vivid's 75% colorbar in full-range RGB: white, yellow, cyan, green,
 * magenta, red, blue, black, left to right, over the whole frame.
 */
static const unsigned int bars75[8] = {
	0xbfbfbf, 0xbfbf00, 0x00bfbf, 0x00bf00,
	0xbf00bf, 0xbf0000, 0x0000bf, 0x000000,
};

/*
 * Every pixel of @f against bars75[], but for the two columns at each
 * border between bars: the number that differ (the first described in
 * @why); *checked counts the pixels compared.
 */
static unsigned long colorbars(const unsigned char *f, __u32 w, __u32 h,
			       __u32 bpl, unsigned long *checked, char *why,
			       size_t len)
{
	unsigned long bad = 0;
	__u32 x, y, i;

	*checked = 0;
	snprintf(why, len, "%s", "");
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			unsigned int c;

			i = x * 8 / w;
			if ((x && (x - 1) * 8 / w != i) ||
			    (x + 1 < w && (x + 1) * 8 / w != i))
				continue;
			(*checked)++;
			c = pixel(f, bpl, x, y);
			if (c != bars75[i] && !bad++)
				snprintf(why, len, "pixel (%u, %u) is %06x, bar %u is %06x",
					 x, y, c, i, bars75[i]);
		}
	return bad;
}

/* First differing byte of two frames, or -1. */
static long frame_diff(const unsigned char *a, const unsigned char *b,
		       size_t n)
{
	size_t i;

	if (!memcmp(a, b, n))
		return -1;
	for (i = 0; a[i] == b[i]; i++)
		;
	return i;
}

static int capture_dmabuf(void)
{
	struct {
		struct fnmm_vmctl r;
		unsigned char *p, *q;
		int dfd;
	} buf[NBUF];
	struct fnmm_info start, now;
	struct v4l2_format fmt;
	struct v4l2_buffer b;
	unsigned char *ref;
	char path[300], why[256];
	int mon = open_or_bail(), fd, vfd, i, n, ret, frames = 0;
	int bad_len = 0, bad_pix = 0, bad_map = 0, bad_seq = 0, bad_flags = 0;
	__u32 w, h, bpl, size, last_seq = 0, dropped = 0;
	unsigned long checked = 0, nbad;
	size_t len;
	long off;

	fnmm_info(mon, &start);
	vfd = find_vivid(path, sizeof(path));
	if (!tap(vfd >= 0, "no /sys/class/video4linux/video*/name with vivid",
		 "%sopen vivid's capture node %s", label, path)) {
		close(mon);
		return tap_done();
	}
	memset(&fmt, 0, sizeof(fmt));
	fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	fmt.fmt.pix.width = 320;
	fmt.fmt.pix.height = 240;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	ret = xioctl(vfd, VIDIOC_S_FMT, &fmt);
	w = fmt.fmt.pix.width;
	h = fmt.fmt.pix.height;
	bpl = fmt.fmt.pix.bytesperline;
	size = fmt.fmt.pix.sizeimage;
	tap(!ret && fmt.fmt.pix.pixelformat == V4L2_PIX_FMT_RGB24 &&
	    bpl >= 3 * w && size >= bpl * h && w >= 16 && h >= 2,
	    errname(ret), "%sS_FMT RGB24: %ux%u, bytesperline %u, sizeimage %u",
	    label, w, h, bpl, size);
	tap_ret(set_menu(vfd, "Test Pattern", "75% Colorbar"), 0,
		"%sTest Pattern: 75%% Colorbar", label);
	tap_ret(set_menu(vfd, "OSD Text Mode", "None"), 0,
		"%sOSD Text Mode: None (no counters in the frame)", label);
	ref = capture_mmap(vfd, size);
	if (!ref) {
		close(vfd);
		close(mon);
		return tap_done();
	}
	nbad = colorbars(ref, w, h, bpl, &checked, why, sizeof(why));
	tap(!nbad && checked, why,
	    "%sthe reference is the 75%% colorbar: %lu pixels checked, %lu differ",
	    label, checked, nbad);

	/* 4 freenos-mm allocations, exported, as the DMABUF buffers. */
	len = (size + pg - 1) / pg * pg;
	fd = open_or_bail();
	n = reqbufs(vfd, V4L2_MEMORY_DMABUF, NBUF);
	tap(n == NBUF, errname(n), "%sREQBUFS DMABUF %d: %d", label, NBUF, n);
	for (i = 0, ret = 0; i < NBUF; i++) {
		buf[i].p = MAP_FAILED;
		buf[i].q = MAP_FAILED;
		buf[i].dfd = -1;
		if (ret)
			continue;
		ret = fnmm_reserve(fd, len, 0, FNMM_ALLOC_SPLIT, 0, &buf[i].r);
		if (ret)
			continue;
		buf[i].p = fnmm_mmap(fd, buf[i].r.handle, len,
				     PROT_READ | PROT_WRITE);
		if (buf[i].p == MAP_FAILED) {
			ret = -errno;
			continue;
		}
		memset(buf[i].p, 0x5a, len);
		{
			ret = fnmm_export(fd, buf[i].r.handle,
					  O_RDWR | O_CLOEXEC);
			buf[i].dfd = ret < 0 ? -1 : ret;
			ret = ret < 0 ? ret : 0;
		}
		if (ret)
			continue;
		buf[i].q = mmap(NULL, len, PROT_READ, MAP_SHARED, buf[i].dfd, 0);
		if (buf[i].q == MAP_FAILED)
			ret = -errno;
	}
	tap_ret(ret, 0, "%s%d allocations of %zu bytes, filled 0x5a, exported and mapped",
		label, NBUF, len);
	fnmm_info(mon, &now);
	tap(now.exported == NBUF && now.exported_bytes == NBUF * len, "",
	    "%sInfo: %d dma-bufs, %zu bytes exported (%llu, %llu)", label,
	    NBUF, NBUF * len, (unsigned long long)now.exported,
	    (unsigned long long)now.exported_bytes);
	for (i = 0; i < NBUF && !ret; i++) {
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_DMABUF;
		b.index = i;
		b.m.fd = buf[i].dfd;
		b.length = len;
		ret = xioctl(vfd, VIDIOC_QBUF, &b);
	}
	if (tap_ret(ret, 0, "%sQBUF the %d dma-bufs (m.fd)", label, NBUF))
		ret = stream(vfd, VIDIOC_STREAMON);
	if (tap_ret(ret, 0, "%sSTREAMON", label)) {
		for (frames = 0; frames < NFRAMES; frames++) {
			ret = dqbuf(vfd, &b, V4L2_MEMORY_DMABUF);
			if (ret)
				break;
			if (b.index >= NBUF) {
				ret = -ERANGE;
				break;
			}
			i = b.index;
			if (b.bytesused != size)
				bad_len++;
			if (b.flags & V4L2_BUF_FLAG_ERROR)
				bad_flags++;
			if (frames && b.sequence <= last_seq)
				bad_seq++;
			else if (frames)
				dropped += b.sequence - last_seq - 1;
			last_seq = b.sequence;
			off = frame_diff(buf[i].p, ref, size);
			if (off >= 0) {
				if (!bad_pix++)
					tap_diag("frame %d (buffer %d): byte %ld (row %lu) is 0x%02x, reference 0x%02x",
						 frames, i, off, off / bpl,
						 buf[i].p[off], ref[off]);
			}
			dmabuf_sync(buf[i].dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
			if (memcmp(buf[i].q, buf[i].p, len))
				bad_map++;
			dmabuf_sync(buf[i].dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
			/* Poison it again: the next frame must overwrite it. */
			memset(buf[i].p, 0x5a, len);
			b.m.fd = buf[i].dfd;
			b.length = len;
			ret = xioctl(vfd, VIDIOC_QBUF, &b);
			if (ret)
				break;
		}
	}
	tap(frames == NFRAMES && !ret, errname(ret),
	    "%sDQBUF %d frames into the dma-bufs, each queued again (%d)",
	    label, NFRAMES, frames);
	tap(frames && !bad_len, "", "%severy frame's bytesused is sizeimage %u (%d differ)",
	    label, size, bad_len);
	tap(frames && !bad_flags, "", "%sno frame flagged V4L2_BUF_FLAG_ERROR (%d)",
	    label, bad_flags);
	tap(frames && !bad_seq, "",
	    "%ssequence numbers increase (last %u, %u skipped by vivid)",
	    label, last_seq, dropped);
	tap(frames && !bad_pix, "",
	    "%severy frame equals the MMAP reference, all %u rows (%d differ)",
	    label, h, bad_pix);
	tap(frames && !bad_map, "",
	    "%sthe dma-buf's mapping shows the allocation's bytes (SYNC start/end read; %d differ)",
	    label, bad_map);
	/*
	 * vb2-dma-contig attaches vivid's device to each dma-buf and maps
	 * it (DMA addresses); vb2-vmalloc attaches nothing, it only vmaps.
	 */
	n = bufinfo_count("vivid");
	if (contig)
		tap(n >= NBUF, "",
		    "%sbufinfo: vivid's device attached to the %d dma-bufs (%d lines)",
		    label, NBUF, n);
	else
		tap(!n, "",
		    "%sbufinfo: no device attached (vb2-vmalloc only vmaps; %d lines)",
		    label, n);
	tap_ret(stream(vfd, VIDIOC_STREAMOFF), 0, "%sSTREAMOFF", label);
	tap_ret(reqbufs(vfd, V4L2_MEMORY_DMABUF, 0), 0, "%sREQBUFS DMABUF 0",
		label);
	n = bufinfo_count("vivid");
	tap(!n, "", "%sbufinfo: vivid detached from every dma-buf (%d lines)",
	    label, n);
	for (i = 0; i < NBUF; i++) {
		if (buf[i].q != MAP_FAILED)
			munmap(buf[i].q, len);
		if (buf[i].p != MAP_FAILED)
			munmap(buf[i].p, len);
		if (buf[i].dfd >= 0)
			close(buf[i].dfd);
	}
	close(fd);
	close(vfd);
	free(ref);
	tap(!info_wait(mon, &start, 5000, why, sizeof(why)), why,
	    "%severything closed: nothing exported, Info as at the start", label);
	close(mon);
	return tap_done();
}

int main(int argc, char **argv)
{
	static char lb[64];

	pg = fnmm_page_size();
	if (argc == 3 && !strcmp(argv[1], "vivid") &&
	    (!strncmp(argv[2], "vmalloc", 7) ||
	     !strncmp(argv[2], "dma-contig", 10))) {
		contig = !strncmp(argv[2], "dma-contig", 10);
		snprintf(lb, sizeof(lb), "%s: ", argv[2]);
		label = lb;
		return capture_dmabuf();
	}
	fprintf(stderr, "usage: test_v4l2 vivid vmalloc[TAG] | dma-contig[TAG]\n");
	return 2;
}
