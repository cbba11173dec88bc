// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: /sys/kernel/debug/freenos-mm/
 *
 *   check     walk every allocator's structures and audit the accounting:
 *             first line "ok", or "FAIL ..." lines
 *   region    the region and how it was obtained (physical addresses:
 *             debugfs is root's)
 *   orders    Split's free blocks per order
 *   contexts  one line per memory context: pid, handles, bytes per
 *             allocator, mappings, pool pages, dma-bufs of its
 *             allocations alive, and whether its file is open or closed
 *             (a closed one lives on while a dma-buf keeps memory of it)
 *   map       occupancy of Split and Bit: per allocator a line "NAME
 *             OFFSET GRANULE COUNT" (offset from the region's base) and a
 *             line of hex digits, 4 granules each, least significant bit
 *             first, 1 = in use ("fnmm map" draws it)
 *   quarantine  blocks whose scrub failed: "blocks N bytes B", then one
 *             line per block "ALLOCATOR OFFSET SIZE"; writing "retry"
 *             scrubs them again and frees those that succeed
 *   pinned    blocks released and unmapped while a page of them is still
 *             referenced (get_user_pages: O_DIRECT in flight, a pipe
 *             after vmsplice): "blocks N bytes B", then one line per
 *             block "ALLOCATOR OFFSET SIZE waiting OFFSET refcount N"
 *             (the first page still referenced and its count); writing
 *             "recheck" looks at them now (a work does every 50 ms)
 *   fail_scrub  fault injection: the next N scrubs fail (write N)
 *   fail_type   fault injection: the next N restores of write-back to an
 *             Uncached/Device allocation's direct map (take= mode) fail
 */
#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "fnmm_dev.h"

static int check_show(struct seq_file *m, void *unused)
{
	struct fnmm_dev *dev = m->private;
	char why[128] = "";
	int ret;

	ret = fnmm_dev_check(dev);
	if (ret) {
		seq_printf(m, "FAIL structures: allocator metadata inconsistent (%d)\n",
			   ret);
		return 0;
	}
	ret = fnmm_dev_audit(dev, why, sizeof(why));
	if (ret) {
		seq_printf(m, "FAIL accounting: %s\n", why);
		return 0;
	}
	seq_puts(m, "ok\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(check);

static void region_alloc(struct seq_file *m, struct fnmm_allocator *a)
{
	seq_printf(m, "%-6s base %#llx size %llu free %llu largest %llu granule %llu\n",
		   a->ops->name, a->base, a->size, fnmm_available(a), fnmm_largest(a),
		   a->granule);
}

static int region_show(struct seq_file *m, void *unused)
{
	struct fnmm_dev *dev = m->private;

	seq_printf(m, "region base %#llx size %llu %s\n", dev->region.base,
		   dev->region.size, dev->region.res ? "boot-reserved" :
		   "taken at load");
	seq_printf(m, "pages %s\n", dev->region.taken ? "ram" :
		   dev->region.pages ? "zone-device" : "none");
	region_alloc(m, dev->split);
	region_alloc(m, dev->bit);
	seq_printf(m, "split max order %u\n", fnmm_split_max_order(dev->split));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(region);

static int orders_show(struct seq_file *m, void *unused)
{
	struct fnmm_dev *dev = m->private;
	unsigned int k, max = fnmm_split_max_order(dev->split);

	seq_puts(m, "order  pages  free-blocks\n");
	for (k = 0; k <= max; k++)
		seq_printf(m, "%5u %6lu %12lu\n", k, 1UL << k,
			   fnmm_split_free_blocks(dev->split, k));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(orders);

static int contexts_show(struct seq_file *m, void *unused)
{
	struct fnmm_dev *dev = m->private;
	struct fnmm_ctx *c;

	seq_puts(m, "pid handles split-bytes bit-bytes pool-bytes mappings pool-pages exported file\n");
	mutex_lock(&dev->lock);
	list_for_each_entry(c, &dev->contexts, node) {
		u64 pages = 0;

		mutex_lock(&c->lock);
		if (c->pool)
			pages = fnmm_pool_held(c->pool) >> PAGE_SHIFT;
		mutex_unlock(&c->lock);
		seq_printf(m, "%d %lld %lld %lld %lld %lld %llu %lld %s\n",
			   c->pid, atomic64_read(&c->nbufs),
			   atomic64_read(&c->held[FNMM_ALLOC_SPLIT]),
			   atomic64_read(&c->held[FNMM_ALLOC_BIT]),
			   atomic64_read(&c->held[FNMM_ALLOC_POOL]),
			   atomic64_read(&c->maps), pages,
			   atomic64_read(&c->exported),
			   READ_ONCE(c->closed) ? "closed" : "open");
	}
	mutex_unlock(&dev->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(contexts);

static int map_one(struct seq_file *m, struct fnmm_dev *dev,
		   struct fnmm_allocator *a)
{
	unsigned long n = fnmm_size(a) / a->granule, i;
	unsigned long *map = bitmap_zalloc(n, GFP_KERNEL);

	if (!map)
		return -ENOMEM;
	fnmm_occupancy(a, map);
	seq_printf(m, "%s %llu %llu %lu\n", a->ops->name,
		   a->base - dev->region.base, a->granule, n);
	for (i = 0; i < n; i += 4)
		seq_putc(m, hex_asc[(map[BIT_WORD(i)] >> (i % BITS_PER_LONG)) &
				    0xf]);
	seq_putc(m, '\n');
	bitmap_free(map);
	return 0;
}

static int map_show(struct seq_file *m, void *unused)
{
	struct fnmm_dev *dev = m->private;

	return map_one(m, dev, dev->split) ?: map_one(m, dev, dev->bit);
}
DEFINE_SHOW_ATTRIBUTE(map);

/* A command written to a debugfs file: 0 if it is @want, else -EINVAL. */
static int cmd_is(const char __user *ubuf, size_t len, const char *want)
{
	char cmd[12] = "";

	if (len >= sizeof(cmd) || copy_from_user(cmd, ubuf, len))
		return -EINVAL;
	return strcmp(strim(cmd), want) ? -EINVAL : 0;
}

static int quarantine_show(struct seq_file *m, void *unused)
{
	struct fnmm_dev *dev = m->private;
	struct fnmm_qblock *q;
	u64 blocks = 0;

	spin_lock(&dev->qlock);
	list_for_each_entry(q, &dev->quarantine, node)
		blocks++;
	spin_unlock(&dev->qlock);
	seq_printf(m, "blocks %llu bytes %llu\n", blocks,
		   fnmm_dev_quarantined(dev));
	/* The list may change between the count and the lines: both hints. */
	spin_lock(&dev->qlock);
	list_for_each_entry(q, &dev->quarantine, node)
		seq_printf(m, "%s %llu %llu\n",
			   q->kind == FNMM_ALLOC_BIT ? "bit" : "split",
			   q->phys - dev->region.base, q->size);
	spin_unlock(&dev->qlock);
	return 0;
}

static int quarantine_open(struct inode *inode, struct file *file)
{
	return single_open(file, quarantine_show, inode->i_private);
}

static ssize_t quarantine_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct fnmm_dev *dev = file_inode(file)->i_private;
	int ret = cmd_is(ubuf, len, "retry");

	if (ret)
		return ret;
	fnmm_dev_quarantine_retry(dev);
	return len;
}

static int pinned_show(struct seq_file *m, void *unused)
{
	struct fnmm_dev *dev = m->private;
	struct fnmm_qblock *q;
	u64 blocks = 0;

	/*
	 * No recheck runs meanwhile (every waiting block is on the list);
	 * qlock against blocks being added.
	 */
	mutex_lock(&dev->pin_lock);
	spin_lock(&dev->qlock);
	list_for_each_entry(q, &dev->pinned, node)
		blocks++;
	seq_printf(m, "blocks %llu bytes %llu\n", blocks, fnmm_dev_pinned(dev));
	list_for_each_entry(q, &dev->pinned, node)
		seq_printf(m, "%s %llu %llu waiting %llu refcount %d\n",
			   q->kind == FNMM_ALLOC_BIT ? "bit" : "split",
			   q->phys - dev->region.base, q->size,
			   q->next - dev->region.base,
			   page_ref_count(pfn_to_page(PHYS_PFN(q->next))));
	spin_unlock(&dev->qlock);
	mutex_unlock(&dev->pin_lock);
	return 0;
}

static int pinned_open(struct inode *inode, struct file *file)
{
	return single_open(file, pinned_show, inode->i_private);
}

static ssize_t pinned_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct fnmm_dev *dev = file_inode(file)->i_private;
	int ret = cmd_is(ubuf, len, "recheck");

	if (ret)
		return ret;
	fnmm_dev_pins_recheck(dev);
	return len;
}

static const struct file_operations pinned_fops = {
	.owner		= THIS_MODULE,
	.open		= pinned_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= single_release,
	.write		= pinned_write,
};

static const struct file_operations quarantine_fops = {
	.owner		= THIS_MODULE,
	.open		= quarantine_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= single_release,
	.write		= quarantine_write,
};

/**
 * fnmm_debugfs_init() - create /sys/kernel/debug/freenos-mm/
 * @dev: the device, with its allocators built
 *
 * Failure is not fatal: the device works without debugfs.
 */
void fnmm_debugfs_init(struct fnmm_dev *dev)
{
	struct dentry *d = debugfs_create_dir(FNMM_DEVICE_NAME, NULL);

	dev->debugfs = d;
	debugfs_create_file("check", 0400, d, dev, &check_fops);
	debugfs_create_file("region", 0400, d, dev, &region_fops);
	debugfs_create_file("orders", 0400, d, dev, &orders_fops);
	debugfs_create_file("contexts", 0400, d, dev, &contexts_fops);
	debugfs_create_file("map", 0400, d, dev, &map_fops);
	debugfs_create_file("quarantine", 0600, d, dev, &quarantine_fops);
	debugfs_create_file("pinned", 0600, d, dev, &pinned_fops);
	debugfs_create_atomic_t("fail_scrub", 0600, d, &dev->fail_scrub);
	debugfs_create_atomic_t("fail_type", 0600, d, &dev->fail_type);
}

/**
 * fnmm_debugfs_fini() - remove /sys/kernel/debug/freenos-mm/
 * @dev: the device; waits for readers in progress
 */
void fnmm_debugfs_fini(struct fnmm_dev *dev)
{
	debugfs_remove_recursive(dev->debugfs);
	dev->debugfs = NULL;
}
