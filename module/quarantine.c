// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the way back to Split and Bit, and the two quarantines.
 *
 * Region memory leaves a context through fnmm_dev_give_back() only.  A
 * block goes back to its allocator when three things hold:
 *
 *  1. No page of it is referenced any more (pinned).  Mappings are gone
 *     by then, but get_user_pages() references outlive them: an O_DIRECT
 *     bio in flight, a pipe holding pages after vmsplice(), io_uring.
 *     Such a block waits on dev->pinned, unscrubbed (the reader of the
 *     pipe sees the owner's bytes, nobody else's), still charged to the
 *     owner's RLIMIT_MEMLOCK, and a delayed work looks at it again every
 *     FNMM_PIN_RECHECK until the last reference is gone.  While anything
 *     waits the module holds a reference on itself: rmmod says "in use".
 *  2. Its memory type is write-back again (Uncached/Device allocations
 *     of a region taken at load time).
 *  3. It is scrubbed (zeroed).
 *
 * A block whose type or scrub fails, or with a page that had a memory
 * failure, is quarantined instead (dev->quarantine): never handed out
 * again until "retry" from debugfs, or unload, succeeds (never, for a
 * memory failure).  A block a PMD entry mapped goes back after a TLB
 * flush on every CPU (see pages.c), and every page gets a new futex key.  Both lists are counted per allocator for Info,
 * debugfs and the audit.
 *
 * Cost: the pin check is O(pages of the block) once; a waiting block is
 * rechecked from its first page still referenced (each page is seen
 * referenced-then-free once, never again: nothing can map it), so all the
 * rechecks of a block cost O(pages) in total plus O(1) per period.  The
 * scrub is O(bytes) in 2 MiB steps with cond_resched().  A record is
 * ~64 bytes per waiting block (a block is at most the allocation).
 */
#include <linux/module.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include "fnmm_dev.h"
#include "fnmm_trace.h"

/* How often blocks waiting for references are looked at again. */
#define FNMM_PIN_RECHECK	(HZ / 20)

static struct fnmm_allocator *dev_alloc(struct fnmm_dev *dev, u8 kind)
{
	return kind == FNMM_ALLOC_BIT ? dev->bit : dev->split;
}

/**
 * fnmm_dev_scrub() - zero part of the region, with fault injection
 * @dev: the device
 * @phys: physical start
 * @size: bytes
 *
 * dev->fail_scrub, set from debugfs, makes that many scrubs fail first.
 *
 * Return: 0 or fnmm_region_scrub()'s error (-ENOMEM when injected).
 */
int fnmm_dev_scrub(struct fnmm_dev *dev, u64 phys, u64 size)
{
	if (atomic_add_unless(&dev->fail_scrub, -1, 0))
		return -ENOMEM;
	return fnmm_region_scrub(&dev->region, phys, size);
}

/* fnmm_release() of a block of @size bytes: traced. */
static void dev_free(struct fnmm_dev *dev, u8 kind, u64 phys, u64 size)
{
	struct fnmm_allocator *a = dev_alloc(dev, kind);
	int ret = fnmm_release(a, phys);

	trace_fnmm_release(a, phys, size, ret);
}

/* Keep a block that cannot be handed out again safely out of use. */
static void dev_quarantine(struct fnmm_dev *dev, u8 kind, u64 phys, u64 size)
{
	struct fnmm_qblock *q = kmalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);

	atomic64_add(size, &dev->quarantined[kind]);
	/* Without a record it stays out of use until unload. */
	if (!q)
		return;
	*q = (struct fnmm_qblock){ .kind = kind, .phys = phys, .size = size };
	spin_lock(&dev->qlock);
	list_add_tail(&q->node, &dev->quarantine);
	spin_unlock(&dev->qlock);
}

/*
 * Steps 2 and 3 above: write-back, scrubbed, a new futex key for each
 * page, freed; or quarantined.  A block a PMD mapped waits for a TLB
 * flush first; one with a page that had a memory failure is never
 * touched again.
 */
static void dev_reuse(struct fnmm_dev *dev, u8 kind, u32 access, u64 phys,
		      u64 size, bool flush)
{
	int ret = 0;

	if (flush)
		fnmm_pages_flush_tlb();
	if (fnmm_pages_poisoned(&dev->region, phys, size)) {
		dev_quarantine(dev, kind, phys, size);
		return;
	}
	if (fnmm_access_uncached(access))
		ret = atomic_add_unless(&dev->fail_type, -1, 0) ? -ENOMEM :
		      fnmm_region_set_type(&dev->region, phys, size, 0);
	if (!ret)
		ret = fnmm_dev_scrub(dev, phys, size);
	if (ret) {
		dev_quarantine(dev, kind, phys, size);
		return;
	}
	fnmm_pages_rekey(&dev->region, phys, size);
	dev_free(dev, kind, phys, size);
}

/* Bytes of memlock a waiting block keeps charged to its owner. */
static void pin_charge(struct user_struct *user, u64 size, bool charge)
{
#ifdef FNMM_HAVE_LOCKED_VM
	if (!user)
		return;
	if (charge)
		atomic_long_add(size >> PAGE_SHIFT, &user->locked_vm);
	else
		atomic_long_sub(size >> PAGE_SHIFT, &user->locked_vm);
#endif
}

/*
 * Look at every waiting block again; give back those no longer
 * referenced.  Runs from the delayed work, and from fini.
 */
static bool dev_pins_recheck(struct fnmm_dev *dev)
{
	struct fnmm_qblock *q, *n;
	LIST_HEAD(todo);
	bool empty;

	mutex_lock(&dev->pin_lock);
	spin_lock(&dev->qlock);
	list_splice_init(&dev->pinned, &todo);
	spin_unlock(&dev->qlock);
	list_for_each_entry_safe(q, n, &todo, node) {
		q->next += fnmm_region_idle(&dev->region, q->next,
					    q->phys + q->size - q->next);
		if (q->next != q->phys + q->size) {
			cond_resched();
			continue;
		}
		list_del(&q->node);
		trace_fnmm_unpin(q->kind, q->phys, q->size);
		pin_charge(q->user, q->size, false);
		free_uid(q->user);
		atomic64_sub(q->size, &dev->pinned_bytes[q->kind]);
		dev_reuse(dev, q->kind, q->access, q->phys, q->size, q->flush);
		kfree(q);
		cond_resched();
	}
	spin_lock(&dev->qlock);
	list_splice(&todo, &dev->pinned);
	empty = list_empty(&dev->pinned);
	if (empty && dev->pin_module) {
		dev->pin_module = false;
		module_put(THIS_MODULE);
	}
	spin_unlock(&dev->qlock);
	mutex_unlock(&dev->pin_lock);
	return empty;
}

static void dev_pins_work(struct work_struct *work)
{
	struct fnmm_dev *dev = container_of(to_delayed_work(work),
					    struct fnmm_dev, pin_work);

	if (!dev_pins_recheck(dev))
		queue_delayed_work(system_unbound_wq, &dev->pin_work,
				   FNMM_PIN_RECHECK);
}

/**
 * fnmm_dev_give_back() - return a block of Split or Bit
 * @dev: the device
 * @kind: FNMM_ALLOC_SPLIT or FNMM_ALLOC_BIT
 * @access: the access flags it was used with (its memory type)
 * @phys: physical start: a live allocation of @kind
 * @size: bytes
 * @user: whose RLIMIT_MEMLOCK paid for it (the caller uncharges it),
 *	or NULL
 * @flush: a PMD entry has mapped it: flush every TLB before reuse
 *
 * Nothing may map the block any more.  If a page of it is still
 * referenced, the block waits (charged to @user meanwhile) and is given
 * back once it is not; then, or else now: write-back, scrubbed and
 * freed, or quarantined if that fails.
 */
void fnmm_dev_give_back(struct fnmm_dev *dev, u8 kind, u32 access, u64 phys,
			u64 size, struct user_struct *user, bool flush)
{
	u64 idle = fnmm_region_idle(&dev->region, phys, size);
	struct fnmm_qblock *q;

	if (idle == size) {
		dev_reuse(dev, kind, access, phys, size, flush);
		return;
	}
	q = kmalloc(sizeof(*q), GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	*q = (struct fnmm_qblock){ .kind = kind, .access = access,
				   .phys = phys, .size = size,
				   .next = phys + idle,
				   .user = user ? get_uid(user) : NULL,
				   .flush = flush };
	pin_charge(user, size, true);
	atomic64_add(size, &dev->pinned_bytes[kind]);
	trace_fnmm_pin(kind, phys, size);
	spin_lock(&dev->qlock);
	list_add_tail(&q->node, &dev->pinned);
	if (!dev->pin_module) {
		dev->pin_module = true;
		__module_get(THIS_MODULE);
	}
	spin_unlock(&dev->qlock);
	queue_delayed_work(system_unbound_wq, &dev->pin_work, FNMM_PIN_RECHECK);
}

/**
 * fnmm_dev_quarantined() - bytes whose scrub failed, all allocators
 * @dev: the device
 */
u64 fnmm_dev_quarantined(struct fnmm_dev *dev)
{
	return atomic64_read(&dev->quarantined[FNMM_ALLOC_SPLIT]) +
	       atomic64_read(&dev->quarantined[FNMM_ALLOC_BIT]);
}

/**
 * fnmm_dev_pinned() - bytes waiting for references to go, all allocators
 * @dev: the device
 */
u64 fnmm_dev_pinned(struct fnmm_dev *dev)
{
	return atomic64_read(&dev->pinned_bytes[FNMM_ALLOC_SPLIT]) +
	       atomic64_read(&dev->pinned_bytes[FNMM_ALLOC_BIT]);
}

/**
 * fnmm_dev_pins_recheck() - look at the blocks waiting for references now
 * @dev: the device
 *
 * As the delayed work does every FNMM_PIN_RECHECK.  Sleeps.
 *
 * Return: bytes still waiting.
 */
u64 fnmm_dev_pins_recheck(struct fnmm_dev *dev)
{
	dev_pins_recheck(dev);
	return fnmm_dev_pinned(dev);
}

/**
 * fnmm_dev_quarantine_retry() - scrub quarantined blocks again
 * @dev: the device
 *
 * Every block whose memory type (take= mode) and scrub now succeed goes
 * back to its allocator.  Sleeps; O(bytes in quarantine).
 *
 * Return: bytes still in quarantine.
 */
u64 fnmm_dev_quarantine_retry(struct fnmm_dev *dev)
{
	struct fnmm_qblock *q, *n;
	LIST_HEAD(todo);
	LIST_HEAD(left);

	spin_lock(&dev->qlock);
	list_splice_init(&dev->quarantine, &todo);
	spin_unlock(&dev->qlock);
	list_for_each_entry_safe(q, n, &todo, node) {
		/* Write-back first: the type may be what failed to change. */
		if (fnmm_pages_poisoned(&dev->region, q->phys, q->size) ||
		    fnmm_region_set_type(&dev->region, q->phys, q->size, 0) ||
		    fnmm_dev_scrub(dev, q->phys, q->size)) {
			list_move_tail(&q->node, &left);
			continue;
		}
		fnmm_pages_rekey(&dev->region, q->phys, q->size);
		list_del(&q->node);
		fnmm_release(dev_alloc(dev, q->kind), q->phys);
		atomic64_sub(q->size, &dev->quarantined[q->kind]);
		kfree(q);
	}
	spin_lock(&dev->qlock);
	list_splice(&left, &dev->quarantine);
	spin_unlock(&dev->qlock);
	return fnmm_dev_quarantined(dev);
}

/**
 * fnmm_dev_quarantine_init() - empty quarantines
 * @dev: the device
 */
void fnmm_dev_quarantine_init(struct fnmm_dev *dev)
{
	int k;

	spin_lock_init(&dev->qlock);
	INIT_LIST_HEAD(&dev->quarantine);
	INIT_LIST_HEAD(&dev->pinned);
	mutex_init(&dev->pin_lock);
	INIT_DELAYED_WORK(&dev->pin_work, dev_pins_work);
	dev->pin_module = false;
	atomic_set(&dev->fail_scrub, 0);
	atomic_set(&dev->fail_type, 0);
	for (k = 0; k < FNMM_NR_ALLOCATORS; k++) {
		atomic64_set(&dev->quarantined[k], 0);
		atomic64_set(&dev->pinned_bytes[k], 0);
	}
}

/**
 * fnmm_dev_quarantine_fini() - last tries, then drop the records
 * @dev: the device; no context remains
 *
 * The module cannot be unloaded while blocks wait for references (it
 * holds itself); a caller that tears a device down with some still
 * waiting (a test) leaves their pages out of use, with an error.
 */
void fnmm_dev_quarantine_fini(struct fnmm_dev *dev)
{
	struct fnmm_qblock *q, *n;

	cancel_delayed_work_sync(&dev->pin_work);
	atomic_set(&dev->fail_scrub, 0);
	atomic_set(&dev->fail_type, 0);
	if (!dev_pins_recheck(dev)) {
		pr_err("freenos-mm: %llu bytes still referenced at teardown\n",
		       fnmm_dev_pinned(dev));
		list_for_each_entry_safe(q, n, &dev->pinned, node) {
			pin_charge(q->user, q->size, false);
			free_uid(q->user);
			kfree(q);
		}
		INIT_LIST_HEAD(&dev->pinned);
		if (dev->pin_module) {
			dev->pin_module = false;
			module_put(THIS_MODULE);
		}
	}
	/* What still fails is dropped with the allocators. */
	fnmm_dev_quarantine_retry(dev);
	list_for_each_entry_safe(q, n, &dev->quarantine, node)
		kfree(q);
	INIT_LIST_HEAD(&dev->quarantine);
	mutex_destroy(&dev->pin_lock);
}
