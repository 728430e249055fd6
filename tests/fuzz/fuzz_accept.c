/* fuzz_accept: the Accept header reader never crashes, never reads past the header, and keeps
 * its promises (q in 0..1000, specificity in -1..2, q 0 when nothing matched). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/accept.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *header, const char *type)
{
	struct accept_match m;

	accept_match(header, type, &m);
	if (m.q < 0 || m.q > 1000 || m.specificity < -1 || m.specificity > 2)
		abort();
	if (m.specificity == -1 && m.q != 0)
		abort();
}

/* libFuzzer entry: the bytes (up to the first NUL) as an Accept header. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1);

	if (h == NULL)
		abort();
	memcpy(h, data, size);
	h[size] = '\0';
	check(h, "application/json");
	check(h, "text/html");
	(void)accept_prefers(h, "application/json", "text/html");
	free(h);
	return 0;
}
