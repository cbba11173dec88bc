/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: a user-space stand-in for the few kernel primitives that
 * module/{alloc,split,bit,pool}.c use, so that those files compile
 * unchanged for user space (libFuzzer, gcc, valgrind, callgrind).
 *
 * This is NOT kernel code and not a general kernel emulation: it covers
 * exactly what those four files need, with the kernel's semantics (Linux
 * 6.1: include/linux/{bitmap,find,log2,list,overflow,err}.h,
 * lib/{bitmap,find_bit}.c).  Where the kernel leaves a case undefined
 * (__ffs(0), a double spin_lock) the shim reports it and aborts, so a
 * fuzzer sees it.  Out-of-line parts live in tools/usim/usim_lib.c.
 *
 * This header is the common base that every shim header in linux/ includes
 * (the kernel spreads the same things over kernel.h, minmax.h, math.h,
 * container_of.h, compiler.h and bug.h).
 */
#ifndef _USIM_KERNEL_H
#define _USIM_KERNEL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline	inline __attribute__((__always_inline__))
#endif

#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define smp_mb__before_atomic()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define cpu_relax()		__asm__ __volatile__("pause" ::: "memory")
/* KCSAN's marker for an intended race: nothing to do here. */
#define data_race(expr)		(expr)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define U8_MAX		((u8)~0U)
#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)
#define S64_MAX		((s64)(U64_MAX >> 1))

/* minmax.h: the same type check as the kernel (distinct pointer types). */
#define __usim_cmp(x, y, op) ({				\
	__typeof__(x) __x = (x);			\
	__typeof__(y) __y = (y);			\
	(void)(&__x == &__y);				\
	__x op __y ? __x : __y; })
#define min(x, y)	__usim_cmp(x, y, <)
#define max(x, y)	__usim_cmp(x, y, >)
#define min_t(t, x, y)	__usim_cmp((t)(x), (t)(y), <)
#define max_t(t, x, y)	__usim_cmp((t)(x), (t)(y), >)
#define swap(a, b) \
	do { __typeof__(a) __t = (a); (a) = (b); (b) = __t; } while (0)
#define max3(x, y, z)	max((typeof(x))max(x, y), z)

/* math.h, align.h */
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define DIV_ROUND_UP_ULL(ll, d) ({				\
	unsigned long long __t = (unsigned long long)(ll) + (d) - 1;	\
	__t / (d); })
#define __ALIGN_MASK(x, mask)	(((x) + (mask)) & ~(mask))
#define ALIGN(x, a)		__ALIGN_MASK(x, (__typeof__(x))(a) - 1)
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define ALIGN_DOWN(x, a)	__ALIGN_MASK((x) - ((a) - 1), (__typeof__(x))(a) - 1)
#define round_up(x, y)		((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y)	((x) & ~((__typeof__(x))((y) - 1)))

/*
 * bug.h.  A kernel WARN is a failure for every user of this shim: it
 * prints and, unless usim_warn_fatal is cleared, aborts.  usim_bug() is
 * for cases the kernel leaves undefined or would BUG() on.
 */
extern int usim_warn_fatal;
extern unsigned long usim_warnings;
void usim_warn(const char *file, int line, const char *cond);
__attribute__((noreturn))
void usim_bug(const char *file, int line, const char *what);

#define WARN_ON(cond) ({					\
	bool __c = !!(cond);					\
	if (unlikely(__c))					\
		usim_warn(__FILE__, __LINE__, #cond);		\
	unlikely(__c); })
#define WARN_ON_ONCE(cond)	WARN_ON(cond)	/* every one counts here */
#define BUG_ON(cond) do {					\
	if (unlikely(cond))					\
		usim_bug(__FILE__, __LINE__, #cond);		\
} while (0)

#endif /* _USIM_KERNEL_H */
