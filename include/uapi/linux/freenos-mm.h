/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * freenos-mm user API: /dev/freenos-mm
 *
 * A VMCtl-like interface modelled on the FreeNOS microkernel.  Each open
 * file is a memory context: it owns the allocations made through it and
 * the mappings of them; closing the file (or the process dying) returns
 * everything.
 *
 * Every ioctl takes a struct whose first member is @argsz, the size of
 * the struct the caller was built with.  The kernel accepts any @argsz
 * from the first published size up to a page (4096; larger: -E2BIG);
 * bytes beyond what the kernel knows must be zero (else -E2BIG).
 * Replies are written back up to @argsz bytes.
 *
 * Region bytes a file holds are locked memory of the user who opened it,
 * limited by RLIMIT_MEMLOCK (an opener with CAP_IPC_LOCK is not, nor is
 * anyone when the module's account parameter is 0): over the limit a
 * request that would allocate fails with -ENOMEM.  Physical addresses
 * are shown to a file opened with CAP_SYS_ADMIN (or with the module's
 * expose_phys parameter): decided at open, not per call.  Unknown flag bits, unknown access bits and non-zero
 * reserved fields are rejected with -EINVAL.
 */
#ifndef _UAPI_LINUX_FREENOS_MM_H
#define _UAPI_LINUX_FREENOS_MM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define FNMM_ABI_VERSION	1
#define FNMM_DEVICE_NAME	"freenos-mm"

/* Memory::Access: the FreeNOS access flags of a range. */
#define FNMM_ACCESS_READABLE		(1U << 0)
#define FNMM_ACCESS_WRITABLE		(1U << 1)
#define FNMM_ACCESS_EXECUTABLE		(1U << 2)
#define FNMM_ACCESS_USER		(1U << 3)
#define FNMM_ACCESS_UNCACHED		(1U << 4)	/* mapped write-combining */
#define FNMM_ACCESS_INNER_CACHED	(1U << 5)
#define FNMM_ACCESS_OUTER_CACHED	(1U << 6)
#define FNMM_ACCESS_DEVICE		(1U << 7)	/* mapped uncached */
#define FNMM_ACCESS_ALL			0xffU
/* Access used when a request gives 0: Readable | Writable | User. */
#define FNMM_ACCESS_DEFAULT	(FNMM_ACCESS_READABLE | \
				 FNMM_ACCESS_WRITABLE | FNMM_ACCESS_USER)

/* Which allocator serves a request (struct fnmm_vmctl.flags & mask). */
#define FNMM_ALLOC_SPLIT	0	/* power-of-two page blocks (default) */
#define FNMM_ALLOC_BIT		1	/* one bit per page-sized chunk */
#define FNMM_ALLOC_POOL		2	/* small objects, per-context pool */
/*
 * Bubble arenas (FreeNOS BubbleAllocator): a bump allocator over a Split
 * allocation, objects freed all at once (RESERVE_MEM below).  An arena
 * counts in @alloc[FNMM_ALLOC_SPLIT] as the Split allocation it is; its
 * objects count in struct fnmm_info's bubble_* only.  ReserveMem is the
 * only operation that takes it: any other with it gives -EINVAL.
 */
#define FNMM_ALLOC_BUBBLE	3
#define FNMM_NR_ALLOCATORS	3	/* entries of struct fnmm_info.alloc */
#define FNMM_VMCTL_ALLOC_MASK	0x3U
#define FNMM_VMCTL_FLAGS_ALL	FNMM_VMCTL_ALLOC_MASK

/**
 * struct fnmm_mem_range - FreeNOS Memory::Range
 * @virt: virtual address in the caller's address space
 * @phys: physical address; reported only to privileged callers, else 0
 * @size: size in bytes
 * @access: FNMM_ACCESS_* flags
 * @pad: must be zero
 */
struct fnmm_mem_range {
	__u64 virt;
	__u64 phys;
	__u64 size;
	__u32 access;
	__u32 pad;
};

/**
 * struct fnmm_vmctl - argument of every VMCtl operation
 * @argsz: sizeof(struct fnmm_vmctl) as the caller knows it
 * @flags: FNMM_ALLOC_* (which allocator serves a new allocation)
 * @handle: an allocation of this file; it is also the mmap() offset
 *	that maps it.  0 in a Map request means "reserve a new one first".
 * @range: the range operated on (see each operation)
 * @offset: byte offset within the allocation (ReleaseSections in,
 *	LookupVirtual out); ReserveMem out: offset of the object within
 *	its first page (non-zero only for Pool objects)
 * @align: ReserveMem/Map with handle 0: alignment in bytes, 0 or a
 *	power of two
 * @reserved: must be zero
 */
struct fnmm_vmctl {
	__u32 argsz;
	__u32 flags;
	__u64 handle;
	struct fnmm_mem_range range;
	__u64 offset;
	__u64 align;
	__u64 reserved[2];
};

/**
 * struct fnmm_alloc_stats - counters of one allocator
 * @size: bytes managed
 * @free: bytes free
 * @largest: bytes of the largest allocation that would succeed now; for a
 *	context without CAP_SYS_ADMIN (and not expose_phys), blocks on the
 *	allocator's per-CPU caches are left out of it (see README)
 * @allocations: live allocations
 * @granule: smallest unit handed out, bytes
 */
struct fnmm_alloc_stats {
	__u64 size;
	__u64 free;
	__u64 largest;
	__u64 allocations;
	__u64 granule;
};

/**
 * struct fnmm_info - Info/Stats reply
 * @argsz: sizeof(struct fnmm_info) as the caller knows it
 * @version: FNMM_ABI_VERSION
 * @region_base: physical base of the region; 0 unless privileged
 * @region_size: bytes in the region
 * @page_size: the kernel's page size
 * @alloc: per allocator, indexed by FNMM_ALLOC_*; Pool sums the
 *	per-context pools (size = pages they hold from Split)
 * @mappings: live mappings of the device, all contexts
 * @contexts: open files
 * @ctx_allocations: live allocations of the caller's context
 * @ctx_bytes: bytes held by the caller's context
 * @ctx_mappings: live mappings of the caller's context
 * @quarantined: bytes whose scrub failed: kept out of use, never handed
 *	out again until a scrub succeeds
 * @memlock_used: bytes of locked memory charged to the user who opened
 *	the caller's file (freenos-mm and other users of the per-user
 *	count, such as io_uring); 0 when the file is not charged
 * @memlock_limit: the caller's RLIMIT_MEMLOCK in bytes, or ~0 when the
 *	file is not limited (opened with CAP_IPC_LOCK, or account=0)
 * @pinned: bytes released and unmapped while a page of them is still
 *	referenced by the kernel (get_user_pages: an O_DIRECT read in
 *	flight, a pipe after vmsplice): kept, unscrubbed and out of use,
 *	until the last reference goes, then scrubbed and freed
 * @exported: dma-bufs exported from the device (FNMM_IOC_EXPORT) alive
 * @exported_bytes: bytes of allocations those dma-bufs keep alive
 * @bubble_arenas: Bubble arenas alive, all contexts
 * @bubble_bytes: bytes of those arenas
 * @bubble_used: bytes handed out from them (objects rounded up to the
 *	arena's granule, and the padding alignments put before them)
 * @bubble_objects: objects handed out from them
 */
struct fnmm_info {
	__u32 argsz;
	__u32 version;
	__u64 region_base;
	__u64 region_size;
	__u64 page_size;
	struct fnmm_alloc_stats alloc[FNMM_NR_ALLOCATORS];
	__u64 mappings;
	__u64 contexts;
	__u64 ctx_allocations;
	__u64 ctx_bytes;
	__u64 ctx_mappings;
	__u64 quarantined;
	__u64 memlock_used;
	__u64 memlock_limit;
	__u64 pinned;
	__u64 exported;
	__u64 exported_bytes;
	__u64 bubble_arenas;
	__u64 bubble_bytes;
	__u64 bubble_used;
	__u64 bubble_objects;
};

/**
 * struct fnmm_export - FNMM_IOC_EXPORT: an allocation as a dma-buf
 * @argsz: sizeof(struct fnmm_export) as the caller knows it
 * @flags: O_CLOEXEC, and O_RDWR or O_RDONLY (the dma-buf file's mode)
 * @handle: the allocation (Split or Bit, with every page still held)
 * @fd: out: the dma-buf file descriptor
 * @reserved: zero
 */
struct fnmm_export {
	__u32 argsz;
	__u32 flags;
	__u64 handle;
	__s32 fd;
	__u32 reserved;
};

/* The first published sizes: the smallest @argsz the kernel accepts. */
#define FNMM_VMCTL_SIZE_VER0	80
#define FNMM_INFO_SIZE_VER0	224
#define FNMM_INFO_SIZE_VER1	240	/* exported, exported_bytes */
#define FNMM_INFO_SIZE_VER2	272	/* bubble_* */
/* The granule of a Bubble arena: objects are aligned to it at least. */
#define FNMM_BUBBLE_GRANULE	16
#define FNMM_EXPORT_SIZE_VER0	24

#define FNMM_IOC_MAGIC	0xF7

/*
 * The VMCtl operations.  Errors common to all: -EFAULT (bad user
 * pointer), -EINVAL (argsz too small, unknown flags/access bits,
 * non-zero reserved/pad), -E2BIG (argsz larger than known, with
 * non-zero tail), -ENOTTY (unknown operation).
 *
 * Handles are non-zero multiples of the page size (they are mmap offsets)
 * and name allocations of one file only.  A range.access of 0 means the
 * allocation's access (FNMM_ACCESS_DEFAULT for ReserveMem).
 *
 * RESERVE_MEM: allocate range.size bytes (range.access, flags, align);
 *	the input handle is ignored (except for Bubble, below).  Split and
 *	Bit round the size up to
 *	whole pages (Split gives the tail of its power-of-two block back);
 *	Pool serves up to 2048 bytes from a per-context pool, always
 *	cached (Uncached or Device access with Pool: -EINVAL, since
 *	objects share pages).  Out: handle,
 *	range.size, range.access, range.phys, offset.  -EINVAL size 0, bad
 *	align, or Uncached/Device on a region with ZONE_DEVICE
 *	pages (boot-reserved, pages=1: write-back only), -E2BIG never
 *	satisfiable (before any limit),
 *	-ENOMEM no space now or over RLIMIT_MEMLOCK, -ENOSPC the file has
 *	the module's max_handles live handles.  Memory handed out reads
 *	zero, except a Pool object's page, which may hold bytes the same
 *	file wrote there before.
 *	With flags FNMM_ALLOC_BUBBLE and handle 0: a Bubble arena, a Split
 *	allocation of range.size (as above: same errors, handle out) whose
 *	objects are then taken by bumps.  With flags FNMM_ALLOC_BUBBLE and
 *	the handle of an arena of this file: an object of range.size bytes
 *	in it whose offset in the arena is aligned to align (0:
 *	FNMM_BUBBLE_GRANULE; at most the arena's size; the arena starts on
 *	a page, so up to a page the virtual and physical addresses are
 *	aligned too, and above a page they are if the arena was made with
 *	that align), O(1), no per-object state (range.access and
 *	range.virt are not used).  Out: offset (mmap the arena: the object
 *	is at mapping + offset), range.size (rounded up to
 *	FNMM_BUBBLE_GRANULE), range.phys, range.access (the arena's), the
 *	handle unchanged.  Errors, checked in this order: -ENOENT unknown
 *	handle, -EINVAL not an arena, size 0 or align not a power of two,
 *	-E2BIG size larger than the arena, -EINVAL align larger than the
 *	arena, -ENOMEM the arena is full.  Objects go only all together:
 *	RELEASE of the arena.  An object reads what the file wrote there
 *	before, or zero.  An arena's memory is not charged again per
 *	object.  If the reply cannot be written (-EFAULT), the object is
 *	taken back when no other object was taken in the arena since.
 * MAP_CONTIGUOUS: map allocation @handle (physically contiguous) at
 *	range.virt (0: the kernel picks, as FreeNOS findFree).  With
 *	handle 0 a contiguous allocation of range.size is reserved first
 *	and its handle returned.  Out: range.virt, range.size, handle.
 *	With an existing handle range.size is ignored: the whole
 *	allocation is mapped.  For Pool, range.virt out is the object's
 *	address (page + offset); UnMap takes the page address.
 *	-ENOENT unknown handle, -EINVAL sparse allocation or misaligned
 *	virt, -EEXIST virt already mapped, -EACCES access wider than the
 *	allocation's.  If the reply cannot be written (-EFAULT) the new
 *	mapping, and an allocation made by the call, are undone.
 * MAP_SPARSE: as MAP_CONTIGUOUS, but the pages need not be physically
 *	contiguous (handle 0 reserves page by page).  Not for Pool, nor a
 *	new Bubble arena (-EINVAL).
 * UNMAP: unmap [range.virt, +range.size) which must be page-aligned and
 *	wholly mapped by this file, and cover whole mappings; -EINVAL
 *	misaligned, size 0, or only part of a mapping (mappings are never
 *	split: munmap, mprotect and mremap of part of one give -EINVAL
 *	too), -EFAULT not (wholly) mapped by this file.
 * RELEASE: release allocation @handle.  Its pages return to the
 *	allocator when its last mapping is gone.  -ENOENT unknown handle.
 * RELEASE_SECTIONS: release [offset, +range.size) of allocation @handle
 *	(page-aligned, non-empty, inside it, Split/Bit only and not a
 *	Bubble arena: else -EINVAL); -EBUSY while mapped; -ENOENT unknown
 *	handle.  Every page
 *	of the section must still be held (else -EINVAL, nothing
 *	released).  Releasing the last held pages releases the allocation
 *	(its handle is gone, as after RELEASE).
 * LOOKUP_VIRTUAL: range.virt -> range.phys (needs a file opened with
 *	CAP_SYS_ADMIN or the expose_phys module parameter, else -EPERM),
 *	handle, offset, range.access.  -EFAULT not mapped by this file, or
 *	outside the allocation (the bytes of a Pool object's page around
 *	the object).
 * ACCESS: range.virt -> range.access of the mapping and range.size left
 *	in it from range.virt.  -EFAULT not mapped by this file.
 * CACHE_CLEAN / CACHE_INVALIDATE / CACHE_CLEAN_INVALIDATE: cache
 *	maintenance on [range.virt, +range.size), wholly mapped by this
 *	file (for Pool, anywhere in the mapped page); -EINVAL size 0 or
 *	wrapping, -EFAULT not wholly mapped.
 * INFO: fill struct fnmm_info; its input fields other than argsz are
 *	ignored.  @contexts counts open files and closed files whose
 *	mappings are still alive.
 *
 * mmap(): mmap(addr, len, prot, MAP_SHARED, fd, 0) reserves len bytes
 *	(page-rounded) from Split, physically contiguous if a run is free,
 *	else in pieces, and maps them: an allocation without a handle
 *	(LookupVirtual and Access give handle 0) that lives exactly as long
 *	as its mappings (fork shares it), reads zero when made, cached,
 *	Readable | Writable | User (and Executable with PROT_EXEC); -ENOMEM
 *	no space or over RLIMIT_MEMLOCK.  So any program that maps a file
 *	by path can use the region without the ioctls.
 *	mmap(addr, len, prot, MAP_SHARED, fd, handle) maps allocation
 *	@handle of this file from its start; len must not exceed the
 *	allocation's page-rounded size (-EINVAL), MAP_PRIVATE is refused
 *	(-EINVAL; a read-only file maps MAP_SHARED read-only),
 *	PROT_WRITE/PROT_EXEC need Writable/Executable access
 *	(-EACCES), an unknown handle gives -EINVAL.  A Pool object maps the
 *	page holding it: the object is at the mapping + offset.  Mappings
 *	cannot grow (mremap -EFAULT, no pages behind the old end), cannot
 *	be split (munmap/mprotect/mremap of part: -EINVAL) and keep their
 *	pages alive after RELEASE.
 *	Cacheability: Device -> uncached, Uncached -> write-combining,
 *	otherwise write-back.  Mappings are page-backed (except with the
 *	module parameter pages=0): get_user_pages() works on them
 *	(O_DIRECT, io_uring, vmsplice, process_vm_readv, ptrace, shared
 *	futexes), and where 2 MiB of an allocation is one aligned
 *	physical run a 2 MiB entry maps it.  Pages still referenced by the
 *	kernel when their allocation goes are kept out of use until the
 *	last reference drops (INFO pinned).
 */
#define FNMM_IOC_RESERVE_MEM		_IO(FNMM_IOC_MAGIC, 1)
#define FNMM_IOC_MAP_CONTIGUOUS		_IO(FNMM_IOC_MAGIC, 2)
#define FNMM_IOC_MAP_SPARSE		_IO(FNMM_IOC_MAGIC, 3)
#define FNMM_IOC_UNMAP			_IO(FNMM_IOC_MAGIC, 4)
#define FNMM_IOC_RELEASE		_IO(FNMM_IOC_MAGIC, 5)
#define FNMM_IOC_RELEASE_SECTIONS	_IO(FNMM_IOC_MAGIC, 6)
#define FNMM_IOC_LOOKUP_VIRTUAL		_IO(FNMM_IOC_MAGIC, 7)
#define FNMM_IOC_ACCESS			_IO(FNMM_IOC_MAGIC, 8)
#define FNMM_IOC_CACHE_CLEAN		_IO(FNMM_IOC_MAGIC, 9)
#define FNMM_IOC_CACHE_INVALIDATE	_IO(FNMM_IOC_MAGIC, 10)
#define FNMM_IOC_CACHE_CLEAN_INVALIDATE	_IO(FNMM_IOC_MAGIC, 11)
#define FNMM_IOC_INFO			_IO(FNMM_IOC_MAGIC, 12)
/*
 * EXPORT: a dma-buf of allocation @handle for drivers (V4L2, DRM PRIME,
 * RDMA) and other processes; exporter "freenos-mm".  The allocation
 * lives as long as the dma-buf, after Release, close and exit.  -ENOENT
 * unknown handle, -EINVAL bad flags, reserved set, a Pool object (not
 * page-sized) or an allocation with released sections, -EBUSY already
 * exported (pass or dup the fd instead), -EACCES O_RDWR of a read-only
 * allocation, -EOPNOTSUPP the region has no struct pages (pages=0).
 */
#define FNMM_IOC_EXPORT			_IO(FNMM_IOC_MAGIC, 13)

#endif /* _UAPI_LINUX_FREENOS_MM_H */
