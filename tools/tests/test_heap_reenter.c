// SPDX-License-Identifier: GPL-2.0
/*
 * test_heap_reenter: the preload library's malloc family linked into the
 * program (as LD_PRELOAD puts it in front of glibc's), and a second heap.
 * With more than 32 pthread keys, glibc's pthread_setspecific() callocs,
 * so a thread's first call on the second heap, which sets the cache's
 * key, re-enters the heap through the library's calloc: the cache must
 * end up the second heap's, its object the second heap's, and nothing
 * lost or misplaced.  Exit 0 and "ok" lines on success (run by
 * test_preload.sh; a review found it aborting, or writing another heap's
 * metadata, before the fix).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "fnmm_heap.h"

static pthread_key_t keys[40];
static struct fnmm_heap *f;
static int good;

/* Before main: the library's key comes after these, at 40 or more. */
__attribute__((constructor(101))) static void many_keys(void)
{
	int i;

	for (i = 0; i < 40; i++)
		if (pthread_key_create(&keys[i], NULL))
			exit(2);
}

static void *first_call(void *arg)
{
	void *p, *q;

	(void)arg;
	p = fnmm_malloc(f, 32);		/* the thread's first heap call: f's */
	q = malloc(100);		/* the library's heap */
	good = p && q && fnmm_heap_owns(f, p) && !fnmm_heap_contains(f, q);
	fnmm_free(f, p);
	free(q);
	fnmm_heap_flush(f);
	return NULL;
}

int main(void)
{
	struct fnmm_heap_stats st;
	pthread_t t;
	void *x = malloc(10);		/* the library's heap, its key made */

	free(x);
	f = fnmm_heap_create(fnmm_heap_source_anon());
	if (!f || pthread_create(&t, NULL, first_call, NULL))
		return 2;
	pthread_join(t, NULL);
	fnmm_heap_stats(f, &st);
	printf("%s - a thread's first call on a second heap, its key set through the library's calloc: %s, %zu objects left\n",
	       good && !st.objects ? "ok" : "not ok",
	       good ? "the object was that heap's" : "the object was not that heap's",
	       st.objects);
	fnmm_heap_destroy(f);
	return good && !st.objects ? 0 : 1;
}
