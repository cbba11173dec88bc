// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: after every other freenos-mm suite, kmemleak finds no leak.
 *
 * Built only with CONFIG_DEBUG_KMEMLEAK, and linked last (kunit/Kbuild) so
 * that this suite runs after all the others.  Linux 6.1 gives the kernel
 * no call that scans: a scan runs when user space writes "scan" to
 * /sys/kernel/debug/kmemleak, or from kmemleak's thread (first a minute
 * after boot, then every ten minutes).  A KUnit run has no user space, so
 * the case looks kmemleak_scan() and its mutex up by name (which needs
 * CONFIG_KALLSYMS_ALL) and scans as that write does, with kmemleak's
 * verbose mode on: each leak is printed as "unreferenced object ..." with
 * the backtrace of its allocation, and the case fails.  Like any kmemleak
 * scan it misses a leak whose address still lies on a stack (those of
 * live tasks, and those kept for reuse after a thread exits).  Tried with
 * planted leaks: a Split not destroyed in fnmm_split and a Pool's parent
 * in fnmm_concurrent were both reported, with their backtraces.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/mutex.h>

/* mm/kmemleak.c reports no object younger than MSECS_MIN_AGE (5 s). */
#define LEAK_MIN_AGE_MS	5000

static void *leak_sym(struct kunit *test, const char *name)
{
	void *p = (void *)kallsyms_lookup_name(name);

	KUNIT_ASSERT_NOT_NULL_MSG(test, p, "no symbol %s (CONFIG_KALLSYMS_ALL?)",
				  name);
	return p;
}

/* What mm/kmemleak.c keeps static. */
struct leak_syms {
	void (*scan)(void);
	struct mutex *scan_mutex;
	bool *verbose;
	bool *found;
};

static void leak_scan(struct kunit *test)
{
	struct leak_syms k = {
		.scan = leak_sym(test, "kmemleak_scan"),
		.scan_mutex = leak_sym(test, "scan_mutex"),
		.verbose = leak_sym(test, "kmemleak_verbose"),
		.found = leak_sym(test, "kmemleak_found_leaks"),
	};
	bool leaked;

	/* Old enough to be reported: everything the suites allocated. */
	msleep(LEAK_MIN_AGE_MS + 1000);
	mutex_lock(k.scan_mutex);
	WRITE_ONCE(*k.verbose, true);
	*k.found = false;	/* otherwise only read when kmemleak stops */
	/*
	 * A scan reports an unreferenced object only if its contents are
	 * as the previous scan saw them (checksum): so two.
	 */
	k.scan();
	k.scan();
	leaked = *k.found;
	mutex_unlock(k.scan_mutex);
	KUNIT_EXPECT_FALSE_MSG(test, leaked,
			       "kmemleak: unreferenced objects (reported above)");
}

static struct kunit_case leak_cases[] = {
	KUNIT_CASE(leak_scan),
	{}
};

static struct kunit_suite leak_suite = {
	.name = "fnmm_leaks",
	.test_cases = leak_cases,
};

kunit_test_suites(&leak_suite);
