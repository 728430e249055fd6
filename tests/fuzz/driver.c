/* driver: runs a fuzz target's LLVMFuzzerTestOneInput once per input file, for builds
 * without libFuzzer (make check replays the seed corpora through it). */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads all of f into a malloc'd buffer (never NULL, even when empty). */
static uint8_t *
driver_slurp(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	uint8_t *p = malloc(cap), *q;

	if (p == NULL)
		abort();
	while ((got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			q = realloc(p, cap);
			if (q == NULL)
				abort();
			p = q;
		}
	}
	*len = n;
	return p;
}

/* Runs one file through the target. Returns 0, or -1 when it cannot be read. */
static int
driver_run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data, *copy;
	size_t len;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	data = driver_slurp(f, &len);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	/* An exact-size copy so ASan sees reads past the end. */
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, len);
	free(data);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	return 0;
}

/* Runs every regular file directly inside dir (dot files skipped), in name order. */
static int
driver_run_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	char path[4096];
	int n, i, rc = 0;
	struct stat st;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) <
		    (int)sizeof(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (driver_run_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Usage: fuzz_X [-flag ...] FILE|DIR ... Arguments starting with '-' are libFuzzer flags
 * and ignored, so the same command line works for both builds. With no file arguments the
 * input is read from stdin. Exits 1 when an input could not be read; a finding in the
 * target crashes the process. */
int
main(int argc, char **argv)
{
	size_t count = 0;
	struct stat st;
	uint8_t *data;
	size_t len;
	int i, files = 0, rc = 0;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		files++;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (driver_run_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (driver_run_file(argv[i]) != 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	if (files == 0) {
		data = driver_slurp(stdin, &len);
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		count++;
	}
	fprintf(stderr, "%s: %zu input(s) run\n", argv[0], count);
	return rc;
}
