// SPDX-License-Identifier: GPL-2.0
/*
 * libfnmm: a thin C library over the /dev/freenos-mm ioctls.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "libfnmm.h"

int fnmm_open(void)
{
	int fd = open(FNMM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int fnmm_close(int fd)
{
	return close(fd) ? -errno : 0;
}

int fnmm_ioctl_raw(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

int fnmm_vmctl(int fd, unsigned long cmd, struct fnmm_vmctl *arg)
{
	arg->argsz = sizeof(*arg);
	return fnmm_ioctl_raw(fd, cmd, arg);
}

int fnmm_reserve(int fd, __u64 size, __u32 access, __u32 allocator_flags,
		 __u64 align, struct fnmm_vmctl *out)
{
	memset(out, 0, sizeof(*out));
	out->flags = allocator_flags;
	out->range.size = size;
	out->range.access = access;
	out->align = align;
	return fnmm_vmctl(fd, FNMM_IOC_RESERVE_MEM, out);
}

int fnmm_bubble_arena(int fd, __u64 size, __u32 access,
		      struct fnmm_vmctl *out)
{
	return fnmm_reserve(fd, size, access, FNMM_ALLOC_BUBBLE, 0, out);
}

int fnmm_bubble_alloc(int fd, __u64 arena, __u64 size, __u64 align,
		      __u64 *offset, struct fnmm_vmctl *out)
{
	struct fnmm_vmctl r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.flags = FNMM_ALLOC_BUBBLE;
	r.handle = arena;
	r.range.size = size;
	r.align = align;
	ret = fnmm_vmctl(fd, FNMM_IOC_RESERVE_MEM, &r);
	if (!ret && offset)
		*offset = r.offset;
	if (out)
		*out = r;
	return ret;
}

static int fnmm_map(int fd, unsigned long cmd, __u64 handle, __u64 virt,
		    __u64 size, __u32 access, __u32 allocator_flags,
		    __u64 align, struct fnmm_vmctl *out)
{
	memset(out, 0, sizeof(*out));
	out->flags = allocator_flags;
	out->handle = handle;
	out->range.virt = virt;
	out->range.size = size;
	out->range.access = access;
	out->align = align;
	return fnmm_vmctl(fd, cmd, out);
}

int fnmm_map_contiguous(int fd, __u64 handle, __u64 virt, __u64 size,
			__u32 access, __u32 allocator_flags, __u64 align,
			struct fnmm_vmctl *out)
{
	return fnmm_map(fd, FNMM_IOC_MAP_CONTIGUOUS, handle, virt, size,
			access, allocator_flags, align, out);
}

int fnmm_map_sparse(int fd, __u64 handle, __u64 virt, __u64 size,
		    __u32 access, __u32 allocator_flags, __u64 align,
		    struct fnmm_vmctl *out)
{
	return fnmm_map(fd, FNMM_IOC_MAP_SPARSE, handle, virt, size,
			access, allocator_flags, align, out);
}

/* An operation on [virt, virt + size): UnMap and the cache operations. */
static int fnmm_range_op(int fd, unsigned long cmd, __u64 virt, __u64 size)
{
	struct fnmm_vmctl arg;

	memset(&arg, 0, sizeof(arg));
	arg.range.virt = virt;
	arg.range.size = size;
	return fnmm_vmctl(fd, cmd, &arg);
}

int fnmm_unmap(int fd, __u64 virt, __u64 size)
{
	return fnmm_range_op(fd, FNMM_IOC_UNMAP, virt, size);
}

int fnmm_export(int fd, __u64 handle, __u32 flags)
{
	struct fnmm_export ex;
	int ret;

	memset(&ex, 0, sizeof(ex));
	ex.argsz = sizeof(ex);
	ex.flags = flags;
	ex.handle = handle;
	ret = fnmm_ioctl_raw(fd, FNMM_IOC_EXPORT, &ex);
	return ret ? ret : ex.fd;
}

int fnmm_release(int fd, __u64 handle)
{
	struct fnmm_vmctl arg;

	memset(&arg, 0, sizeof(arg));
	arg.handle = handle;
	return fnmm_vmctl(fd, FNMM_IOC_RELEASE, &arg);
}

int fnmm_release_sections(int fd, __u64 handle, __u64 offset, __u64 size)
{
	struct fnmm_vmctl arg;

	memset(&arg, 0, sizeof(arg));
	arg.handle = handle;
	arg.offset = offset;
	arg.range.size = size;
	return fnmm_vmctl(fd, FNMM_IOC_RELEASE_SECTIONS, &arg);
}

int fnmm_lookup(int fd, __u64 virt, struct fnmm_vmctl *out)
{
	memset(out, 0, sizeof(*out));
	out->range.virt = virt;
	return fnmm_vmctl(fd, FNMM_IOC_LOOKUP_VIRTUAL, out);
}

int fnmm_access(int fd, __u64 virt, struct fnmm_vmctl *out)
{
	memset(out, 0, sizeof(*out));
	out->range.virt = virt;
	return fnmm_vmctl(fd, FNMM_IOC_ACCESS, out);
}

int fnmm_cache_clean(int fd, __u64 virt, __u64 size)
{
	return fnmm_range_op(fd, FNMM_IOC_CACHE_CLEAN, virt, size);
}

int fnmm_cache_invalidate(int fd, __u64 virt, __u64 size)
{
	return fnmm_range_op(fd, FNMM_IOC_CACHE_INVALIDATE, virt, size);
}

int fnmm_cache_clean_invalidate(int fd, __u64 virt, __u64 size)
{
	return fnmm_range_op(fd, FNMM_IOC_CACHE_CLEAN_INVALIDATE, virt, size);
}

int fnmm_info(int fd, struct fnmm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return fnmm_ioctl_raw(fd, FNMM_IOC_INFO, info);
}

void *fnmm_mmap(int fd, __u64 handle, size_t size, int prot)
{
	if (handle > (__u64)INT64_MAX) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	return mmap(NULL, size, prot, MAP_SHARED, fd, (off_t)handle);
}

__u64 fnmm_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (__u64)ps : 4096;
}

const char *fnmm_alloc_name(unsigned int allocator)
{
	static const char * const names[] = {
		[FNMM_ALLOC_SPLIT]	= "split",
		[FNMM_ALLOC_BIT]	= "bit",
		[FNMM_ALLOC_POOL]	= "pool",
		[FNMM_ALLOC_BUBBLE]	= "bubble",
	};

	return allocator < sizeof(names) / sizeof(names[0]) ?
	       names[allocator] : "?";
}

int fnmm_parse_size(const char *s, __u64 *out)
{
	unsigned int base = 10, shift = 0;
	__u64 v = 0;
	int digits = 0;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s; s++, digits++) {
		unsigned int d;

		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = tolower((unsigned char)*s) - 'a' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (!digits)
		return -EINVAL;
	switch (tolower((unsigned char)*s)) {
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	}
	if (shift) {
		s++;
		if (tolower((unsigned char)s[0]) == 'i' &&
		    tolower((unsigned char)s[1]) == 'b')
			s += 2;
	}
	if (tolower((unsigned char)*s) == 'b')
		s++;
	if (*s)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

char *fnmm_format_size(__u64 bytes, char *buf, size_t len)
{
	static const char * const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	unsigned int u = 0;
	__u64 whole, tenths, div;

	while (u < 6 && bytes >> (10 * (u + 1)))
		u++;
	div = 1ULL << (10 * u);
	whole = bytes >> (10 * u);
	if (!(bytes & (div - 1))) {
		snprintf(buf, len, "%llu %s", (unsigned long long)whole,
			 units[u]);
		return buf;
	}
	/* (bytes % div) * 10 < 10 * 2^60 fits in 64 bits. */
	tenths = ((bytes & (div - 1)) * 10 + div / 2) >> (10 * u);
	if (tenths == 10) {
		whole++;
		tenths = 0;
		if (whole == 1024 && u < 6) {
			whole = 1;
			u++;
		}
	}
	snprintf(buf, len, "%llu.%llu %s", (unsigned long long)whole,
		 (unsigned long long)tenths, units[u]);
	return buf;
}

char *fnmm_format_access(__u32 access, char *buf, size_t len)
{
	static const char * const names[] = {
		"readable", "writable", "executable", "user",
		"uncached", "inner-cached", "outer-cached", "device",
	};
	size_t n = 0;
	unsigned int i;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < 8; i++) {
		if (!(access & (1U << i)))
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s",
			      n ? "|" : "", names[i]);
		if (n >= len)
			return buf;
	}
	if (access & ~FNMM_ACCESS_ALL)
		n += snprintf(buf + n, n < len ? len - n : 0, "%s0x%x",
			      n ? "|" : "", access & ~FNMM_ACCESS_ALL);
	if (!n)
		snprintf(buf, len, "none");
	return buf;
}
