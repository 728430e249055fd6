/* ids: random bytes, identifiers and unbiased random integers from getrandom(2). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "base/ids.h"

static const char ids_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";

#define IDS_ALPHABET_LEN (sizeof(ids_alphabet) - 1)

/* Fills p with n bytes from the kernel's CSPRNG, retrying on EINTR and short reads.
 * Blocks until the pool is initialised. Aborts on any other failure. */
void
ids_bytes(void *p, size_t n)
{
	unsigned char *q = p;
	ssize_t got;

	while (n > 0) {
		got = getrandom(q, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			perror("ids: getrandom");
			abort();
		}
		q += got;
		n -= (size_t)got;
	}
}

/* Writes len-1 characters from [0-9a-z] and a NUL into out; aborts if len < 2. Each
 * character is drawn uniformly (bytes >= 252 are redrawn, 252 = 7 * 36). */
void
ids_new(char *out, size_t len)
{
	unsigned char rnd[64];
	size_t i = 0, j = sizeof(rnd);

	if (len < 2) {
		fprintf(stderr, "ids_new: len %zu < 2\n", len);
		abort();
	}
	while (i < len - 1) {
		if (j == sizeof(rnd)) {
			ids_bytes(rnd, sizeof(rnd));
			j = 0;
		}
		if (rnd[j] < 256 - 256 % IDS_ALPHABET_LEN)
			out[i++] = ids_alphabet[rnd[j] % IDS_ALPHABET_LEN];
		j++;
	}
	out[len - 1] = '\0';
}

/* Returns a uniform integer in [0, bound); aborts if bound == 0. Draws are redrawn while
 * they fall below 2^N mod bound, so every residue has the same number of preimages. */
unsigned long
ids_uniform(unsigned long bound)
{
	unsigned long r, floor_;

	if (bound == 0) {
		fprintf(stderr, "ids_uniform: bound 0\n");
		abort();
	}
	floor_ = (0UL - bound) % bound;
	do
		ids_bytes(&r, sizeof(r));
	while (r < floor_);
	return r % bound;
}
