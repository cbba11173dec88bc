// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: module parameters, load and unload.
 *
 * Boot-reserved memory (x86: memmap=64M$0x30000000) is named by base= and
 * size=; without it, take= bytes are taken from the page allocator at
 * load time.  The Split allocator serves the region, a Bit allocator a
 * part of it (bit_size=), and each open file gets a Pool on demand.
 * Mappings are page-backed (pages.c) unless pages=0 on a boot-reserved
 * region.
 */
#include <linux/capability.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/user_namespace.h>
#include "fnmm_dev.h"

static unsigned long long base;
module_param(base, ullong, 0444);
MODULE_PARM_DESC(base, "Physical base of a region reserved at boot (with size=)");

static unsigned long long size;
module_param(size, ullong, 0444);
MODULE_PARM_DESC(size, "Bytes of the boot-reserved region at base=");

static unsigned long long take;
module_param(take, ullong, 0444);
MODULE_PARM_DESC(take, "Without base=/size=: bytes to take from the page allocator at load time");

static unsigned long long bit_size;
module_param(bit_size, ullong, 0444);
MODULE_PARM_DESC(bit_size, "Bytes of the region served by the Bit allocator (default: an eighth)");

static bool expose_phys;
module_param(expose_phys, bool, 0444);
MODULE_PARM_DESC(expose_phys, "Show physical addresses to callers without CAP_SYS_ADMIN (default: no)");

static bool account = true;
module_param(account, bool, 0444);
MODULE_PARM_DESC(account, "Charge region bytes to the opener's RLIMIT_MEMLOCK, as io_uring does; CAP_IPC_LOCK exempts (default: yes)");

static uint max_handles = 65536;
module_param(max_handles, uint, 0444);
MODULE_PARM_DESC(max_handles, "Live allocations per open file at most, up to 1048575 (default 65536)");

static bool pages = true;
module_param(pages, bool, 0444);
MODULE_PARM_DESC(pages, "Give a boot-reserved region struct pages (ZONE_DEVICE), so get_user_pages() works on its mappings and 2 MiB entries map it; cached memory only (default: yes; no: PFN mappings, any memory type)");

static bool percpu = true;
module_param(percpu, bool, 0444);
MODULE_PARM_DESC(percpu, "Per-CPU magazines for Split's 1-8 page blocks and Bit's single chunks, so CPUs do not share a lock (default: yes; no: every request is placed under one lock by first fit, as genalloc places, which fragments less)");

static ushort mode = 0600;
module_param(mode, ushort, 0444);
MODULE_PARM_DESC(mode, "Mode of /dev/freenos-mm (default 0600)");

static struct fnmm_dev fnmm;

/* sysfs: /sys/class/misc/freenos-mm/{free,used,largest,bit_*}, bytes. */
static struct fnmm_dev *to_fnmm(struct device *d)
{
	struct miscdevice *misc = dev_get_drvdata(d);

	return container_of(misc, struct fnmm_dev, misc);
}

/*
 * largest: a privileged reader gets the exact figure (the per-CPU
 * magazines drained first); anyone else reads the index as it is, which
 * leaves out the blocks on magazines (at most a few hundred pages per
 * CPU), so that a loop of reads cannot make every CPU's next small
 * request go to the allocator's lock.
 */
static u64 fnmm_sysfs_largest(struct fnmm_allocator *a)
{
	return ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN) ?
	       fnmm_largest(a) : fnmm_longest(a);
}

#define FNMM_ATTR(name, alloc, expr)					\
static ssize_t name##_show(struct device *d,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct fnmm_allocator *a = to_fnmm(d)->alloc;			\
									\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));	\
}									\
static DEVICE_ATTR_RO(name)

FNMM_ATTR(free, split, fnmm_available(a));
FNMM_ATTR(used, split, fnmm_size(a) - fnmm_available(a));
FNMM_ATTR(largest, split, fnmm_sysfs_largest(a));
FNMM_ATTR(bit_free, bit, fnmm_available(a));
FNMM_ATTR(bit_used, bit, fnmm_size(a) - fnmm_available(a));
FNMM_ATTR(bit_largest, bit, fnmm_sysfs_largest(a));

static struct attribute *fnmm_attrs[] = {
	&dev_attr_free.attr,
	&dev_attr_used.attr,
	&dev_attr_largest.attr,
	&dev_attr_bit_free.attr,
	&dev_attr_bit_used.attr,
	&dev_attr_bit_largest.attr,
	NULL,
};
ATTRIBUTE_GROUPS(fnmm);

static int __init fnmm_init(void)
{
	int ret;

	if (base || size)
		ret = fnmm_region_claim(&fnmm.region, base, size);
	else if (take)
		ret = fnmm_region_take(&fnmm.region, PAGE_ALIGN(take));
	else
		ret = -EINVAL;
	if (ret) {
		pr_err("freenos-mm: no region (base=%#llx size=%#llx take=%#llx): %d\n",
		       base, size, take, ret);
		return ret;
	}
	ret = fnmm_pages_init(&fnmm.region, pages);
	if (ret) {
		pr_err("freenos-mm: no struct pages for the region: %d\n", ret);
		goto err_region;
	}
	fnmm.account = account;
	fnmm.max_handles = max_handles;
	fnmm.alloc_flags = percpu ? 0 : FNMM_NO_PERCPU;
	ret = fnmm_dev_init(&fnmm, bit_size);
	if (ret)
		goto err_pages;
	fnmm.expose_phys = expose_phys;
	fnmm.misc.minor = MISC_DYNAMIC_MINOR;
	fnmm.misc.name = FNMM_DEVICE_NAME;
	fnmm.misc.fops = &fnmm_fops;
	fnmm.misc.mode = mode;
	fnmm.misc.groups = fnmm_groups;
	ret = misc_register(&fnmm.misc);
	if (ret)
		goto err_dev;
	fnmm_debugfs_init(&fnmm);
	pr_info("freenos-mm: %llu KiB %s, %s, split max order %u, bit %llu KiB\n",
		fnmm.region.size >> 10, fnmm.region.res ? "boot-reserved" :
		"taken at load", fnmm.region.taken ? "RAM pages" :
		fnmm.region.pages ? "ZONE_DEVICE pages" : "no struct pages",
		fnmm_split_max_order(fnmm.split), fnmm_size(fnmm.bit) >> 10);
	return 0;
err_dev:
	fnmm_dev_fini(&fnmm);
err_pages:
	fnmm_pages_fini(&fnmm.region);
err_region:
	fnmm_region_put(&fnmm.region);
	return ret;
}

static void __exit fnmm_exit(void)
{
	fnmm_debugfs_fini(&fnmm);
	misc_deregister(&fnmm.misc);
	fnmm_dev_fini(&fnmm);
	fnmm_pages_fini(&fnmm.region);
	fnmm_region_put(&fnmm.region);
}

module_init(fnmm_init);
module_exit(fnmm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("FreeNOS-style memory allocators on reserved memory");
