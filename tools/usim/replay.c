// SPDX-License-Identifier: GPL-2.0
/*
 * usim: run the fuzz target (fuzz_alloc.c) without libFuzzer, so the
 * same checks run under gcc, valgrind or callgrind.
 *
 *   replay [options] FILE...   run each file (a crash input, a corpus)
 *   replay [options]           run --runs pseudo-random inputs
 *
 * Options: --seed N (default 1), --runs N (default 1000), --max-len N
 * (bytes, default 4096), --last FILE (write each generated input there
 * before running it: after a crash it holds the crashing input),
 * --trace (print every step, as USIM_FUZZ_TRACE=1).  Directories given
 * as FILE are read one level deep.  Ends with "usim-replay: N passed,
 * 0 failed"; a violation aborts with a message instead.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int usim_fuzz_trace;
void usim_fuzz_print_stats(FILE *f);

static unsigned long passed;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		exit(2);
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	passed++;
}

static void run_path(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	if (!d) {
		perror(path);
		exit(2);
	}
	while ((e = readdir(d))) {
		char p[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (!stat(p, &st) && S_ISREG(st.st_mode))
			run_file(p);
	}
	closedir(d);
}

/* splitmix64: a fixed, portable sequence for a given seed */
static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	unsigned long seed = 1, runs = 1000, max_len = 4096, r;
	const char *last = NULL;
	int i, nfiles = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--max-len") && i + 1 < argc)
			max_len = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--last") && i + 1 < argc)
			last = argv[++i];
		else if (!strcmp(argv[i], "--trace"))
			usim_fuzz_trace = 1;
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [--seed N] [--runs N] "
				"[--max-len N] [--last FILE] [--trace] "
				"[FILE|DIR...]\n", argv[0]);
			return 2;
		} else {
			run_path(argv[i]);
			nfiles++;
		}
	}
	if (!nfiles) {
		uint64_t s = seed;
		uint8_t *buf = malloc(max_len ? max_len : 1);

		printf("# replay: %lu pseudo-random inputs, seed %lu, up to %lu bytes\n",
		       runs, seed, max_len);
		for (r = 0; r < runs; r++) {
			size_t len = max_len ? next(&s) % (max_len + 1) : 0, j;

			for (j = 0; j < len; j++)
				buf[j] = next(&s);
			if (last) {
				FILE *f = fopen(last, "wb");

				if (f) {
					fwrite(buf, 1, len, f);
					fclose(f);
				}
			}
			LLVMFuzzerTestOneInput(buf, len);
			passed++;
		}
		free(buf);
	}
	usim_fuzz_print_stats(stdout);
	printf("usim-replay: %lu passed, 0 failed\n", passed);
	return 0;
}
