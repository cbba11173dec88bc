/* SPDX-License-Identifier: GPL-2.0 */
/*
 * freenos-mm tracepoints (trace system "fnmm"):
 *
 *   fnmm_alloc    an allocator served (or refused) a request for a
 *                 context, and how long it took (ns)
 *   fnmm_release  a context's block went back to its allocator
 *   fnmm_map      a mapping of an allocation was made (mmap)
 *   fnmm_unmap    a mapping went away
 *   fnmm_lookup   LookupVirtual / Access
 *   fnmm_cache    a cache maintenance operation
 *
 * Offsets are relative to the allocator's base, so no physical address
 * leaks to a reader of the trace who could not see it otherwise.
 * fnmm_alloc and fnmm_release also carry the allocator's free bytes and
 * largest free block after the operation (computed only while the event
 * is enabled), for fragmentation over time.  The largest block is
 * fnmm_longest(): an event must not drain the per-CPU magazines, so
 * blocks on them are free but not in it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM fnmm

#if !defined(_FNMM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FNMM_TRACE_H

#include <linux/tracepoint.h>
#include "fnmm_alloc.h"

TRACE_EVENT(fnmm_alloc,
	TP_PROTO(struct fnmm_allocator *a, u64 size, u64 granted, u64 align,
		 u64 addr, int ret, u64 ns),
	TP_ARGS(a, size, granted, align, addr, ret, ns),
	TP_STRUCT__entry(
		__string(alloc, a->ops->name)
		__field(u64, offset)
		__field(u64, size)
		__field(u64, granted)
		__field(u64, align)
		__field(int, order)
		__field(int, ret)
		__field(u64, ns)
		__field(u64, free)
		__field(u64, largest)
	),
	TP_fast_assign(
		__assign_str(alloc, a->ops->name);
		__entry->offset = ret ? 0 : addr - a->base;
		__entry->size = size;
		__entry->granted = granted;
		__entry->align = align;
		__entry->order = size > a->granule ?
			order_base_2(DIV_ROUND_UP_ULL(size, a->granule)) : 0;
		__entry->ret = ret;
		__entry->ns = ns;
		__entry->free = fnmm_available(a);
		__entry->largest = fnmm_longest(a);
	),
	TP_printk("alloc=%s offset=%#llx size=%llu granted=%llu align=%llu order=%d ret=%d ns=%llu free=%llu largest=%llu",
		  __get_str(alloc), __entry->offset, __entry->size,
		  __entry->granted, __entry->align, __entry->order, __entry->ret, __entry->ns,
		  __entry->free, __entry->largest)
);

TRACE_EVENT(fnmm_release,
	TP_PROTO(struct fnmm_allocator *a, u64 addr, u64 size, int ret),
	TP_ARGS(a, addr, size, ret),
	TP_STRUCT__entry(
		__string(alloc, a->ops->name)
		__field(u64, offset)
		__field(u64, size)
		__field(int, ret)
		__field(u64, free)
		__field(u64, largest)
	),
	TP_fast_assign(
		__assign_str(alloc, a->ops->name);
		__entry->offset = addr - a->base;
		__entry->size = size;
		__entry->ret = ret;
		__entry->free = fnmm_available(a);
		__entry->largest = fnmm_longest(a);
	),
	TP_printk("alloc=%s offset=%#llx size=%llu ret=%d free=%llu largest=%llu",
		  __get_str(alloc), __entry->offset, __entry->size, __entry->ret,
		  __entry->free, __entry->largest)
);

DECLARE_EVENT_CLASS(fnmm_vma,
	TP_PROTO(u32 handle_id, u8 kind, u64 virt, u64 len, int ret),
	TP_ARGS(handle_id, kind, virt, len, ret),
	TP_STRUCT__entry(
		__field(u32, handle_id)
		__field(u8, kind)
		__field(u64, virt)
		__field(u64, len)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->handle_id = handle_id;
		__entry->kind = kind;
		__entry->virt = virt;
		__entry->len = len;
		__entry->ret = ret;
	),
	TP_printk("handle=%#llx alloc=%u virt=%#llx len=%llu ret=%d",
		  (u64)__entry->handle_id << PAGE_SHIFT, __entry->kind,
		  __entry->virt, __entry->len, __entry->ret)
);

DEFINE_EVENT(fnmm_vma, fnmm_map,
	TP_PROTO(u32 handle_id, u8 kind, u64 virt, u64 len, int ret),
	TP_ARGS(handle_id, kind, virt, len, ret));

DEFINE_EVENT(fnmm_vma, fnmm_unmap,
	TP_PROTO(u32 handle_id, u8 kind, u64 virt, u64 len, int ret),
	TP_ARGS(handle_id, kind, virt, len, ret));

DEFINE_EVENT(fnmm_vma, fnmm_lookup,
	TP_PROTO(u32 handle_id, u8 kind, u64 virt, u64 len, int ret),
	TP_ARGS(handle_id, kind, virt, len, ret));

TRACE_EVENT(fnmm_cache,
	TP_PROTO(unsigned int op, u64 virt, u64 len, int ret),
	TP_ARGS(op, virt, len, ret),
	TP_STRUCT__entry(
		__field(unsigned int, op)
		__field(u64, virt)
		__field(u64, len)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->op = op;
		__entry->virt = virt;
		__entry->len = len;
		__entry->ret = ret;
	),
	TP_printk("op=%s virt=%#llx len=%llu ret=%d",
		  __print_symbolic(__entry->op, { 0, "clean" }, { 1, "invalidate" },
				   { 2, "clean+invalidate" }),
		  __entry->virt, __entry->len, __entry->ret)
);

/*
 * A block released and unmapped while a page of it is still referenced
 * (get_user_pages) waits (fnmm_pin); fnmm_unpin when the last
 * reference is gone and it goes on to be scrubbed and freed.
 */
DECLARE_EVENT_CLASS(fnmm_pinned_block,
	TP_PROTO(u8 kind, u64 phys, u64 size),
	TP_ARGS(kind, phys, size),
	TP_STRUCT__entry(
		__field(u8, kind)
		__field(u64, phys)
		__field(u64, size)
	),
	TP_fast_assign(
		__entry->kind = kind;
		__entry->phys = phys;
		__entry->size = size;
	),
	TP_printk("alloc=%u phys=%#llx size=%llu", __entry->kind,
		  __entry->phys, __entry->size)
);

DEFINE_EVENT(fnmm_pinned_block, fnmm_pin,
	TP_PROTO(u8 kind, u64 phys, u64 size),
	TP_ARGS(kind, phys, size));

DEFINE_EVENT(fnmm_pinned_block, fnmm_unpin,
	TP_PROTO(u8 kind, u64 phys, u64 size),
	TP_ARGS(kind, phys, size));

#endif /* _FNMM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE fnmm_trace
#include <trace/define_trace.h>
