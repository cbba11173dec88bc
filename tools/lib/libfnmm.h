/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libfnmm: a thin C library over the /dev/freenos-mm ioctls.
 *
 * Every function returns 0 (or a non-negative value where stated) on
 * success and -errno on failure; none of them prints.  Build with
 * -I include/uapi so that <linux/freenos-mm.h> is the project's header.
 */
#ifndef _LIBFNMM_H
#define _LIBFNMM_H

#include <stddef.h>
#include <stdint.h>
#include <linux/freenos-mm.h>

#define FNMM_DEVICE_PATH	"/dev/" FNMM_DEVICE_NAME

/* A __u64 address from the ABI as a pointer, and back. */
static inline void *fnmm_ptr(__u64 addr)
{
	return (void *)(uintptr_t)addr;
}

static inline __u64 fnmm_addr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

/* Open /dev/freenos-mm read-write, close-on-exec: the fd, or -errno. */
int fnmm_open(void);

/* Close a device fd (closes its context unless mappings remain): 0/-errno. */
int fnmm_close(int fd);

/* ioctl(fd, cmd, arg) as is, nothing filled in: 0 or -errno. */
int fnmm_ioctl_raw(int fd, unsigned long cmd, void *arg);

/* Any VMCtl operation: sets arg->argsz to sizeof(*arg), then the ioctl. */
int fnmm_vmctl(int fd, unsigned long cmd, struct fnmm_vmctl *arg);

/* ReserveMem: size bytes (access 0: default RW|User); *out gets the reply. */
int fnmm_reserve(int fd, __u64 size, __u32 access, __u32 allocator_flags,
		 __u64 align, struct fnmm_vmctl *out);

/*
 * A Bubble arena of @size bytes (ReserveMem, FNMM_ALLOC_BUBBLE, handle
 * 0): *out gets the reply, its handle the arena's.
 */
int fnmm_bubble_arena(int fd, __u64 size, __u32 access,
		      struct fnmm_vmctl *out);

/*
 * An object of @size bytes aligned to @align (0: FNMM_BUBBLE_GRANULE) in
 * arena @arena: its offset in the arena in *@offset (and the reply in
 * *@out if not NULL).  Objects go when the arena is released.
 */
int fnmm_bubble_alloc(int fd, __u64 arena, __u64 size, __u64 align,
		      __u64 *offset, struct fnmm_vmctl *out);

/*
 * MapContiguous: map allocation @handle at @virt (0: kernel's choice).
 * Handle 0 reserves @size bytes first (@allocator_flags, @align); access 0
 * maps with the allocation's access.  *out gets virt, size and handle.
 */
int fnmm_map_contiguous(int fd, __u64 handle, __u64 virt, __u64 size,
			__u32 access, __u32 allocator_flags, __u64 align,
			struct fnmm_vmctl *out);

/* MapSparse: as fnmm_map_contiguous(), pages need not be contiguous. */
int fnmm_map_sparse(int fd, __u64 handle, __u64 virt, __u64 size,
		    __u32 access, __u32 allocator_flags, __u64 align,
		    struct fnmm_vmctl *out);

/* UnMap [virt, virt + size), page-aligned and wholly mapped by this fd. */
int fnmm_unmap(int fd, __u64 virt, __u64 size);

/* Release allocation @handle (its pages return after its last mapping). */
int fnmm_release(int fd, __u64 handle);

/*
 * Export: allocation @handle as a dma-buf (@flags: O_CLOEXEC, and O_RDWR
 * or O_RDONLY).  The dma-buf fd, or -errno.
 */
int fnmm_export(int fd, __u64 handle, __u32 flags);

/* ReleaseSections: free [offset, offset + size) of allocation @handle. */
int fnmm_release_sections(int fd, __u64 handle, __u64 offset, __u64 size);

/* LookupVirtual: *out gets phys (privileged), handle, offset, access. */
int fnmm_lookup(int fd, __u64 virt, struct fnmm_vmctl *out);

/* Access: *out gets range.access of the mapping at @virt and size left. */
int fnmm_access(int fd, __u64 virt, struct fnmm_vmctl *out);

/* CacheClean on [virt, virt + size), wholly mapped by this fd. */
int fnmm_cache_clean(int fd, __u64 virt, __u64 size);

/* CacheInvalidate on [virt, virt + size), wholly mapped by this fd. */
int fnmm_cache_invalidate(int fd, __u64 virt, __u64 size);

/* CacheCleanInvalidate on [virt, virt + size), wholly mapped by this fd. */
int fnmm_cache_clean_invalidate(int fd, __u64 virt, __u64 size);

/* Info/Stats: fill *info (argsz set to sizeof(*info) first). */
int fnmm_info(int fd, struct fnmm_info *info);

/*
 * mmap(NULL, size, prot, MAP_SHARED, fd, handle): the address, or
 * MAP_FAILED with errno set (like mmap itself).
 */
void *fnmm_mmap(int fd, __u64 handle, size_t size, int prot);

/* The page size (sysconf), as a __u64. */
__u64 fnmm_page_size(void);

/* "split", "bit", "pool" for FNMM_ALLOC_*, else "?". */
const char *fnmm_alloc_name(unsigned int allocator);

/*
 * Parse a size: decimal or 0x-hex, optional suffix K, M, G or T (binary
 * units, case-insensitive, optionally followed by "iB" or "B").
 * 0, -EINVAL (malformed) or -ERANGE (does not fit 64 bits).
 */
int fnmm_parse_size(const char *s, __u64 *out);

/* "1.5 MiB", "4 KiB", "100 B" into buf (at most len bytes); returns buf. */
char *fnmm_format_size(__u64 bytes, char *buf, size_t len);

/* "readable|writable|user", "none", unknown bits as hex; returns buf. */
char *fnmm_format_access(__u32 access, char *buf, size_t len);

#endif /* _LIBFNMM_H */
