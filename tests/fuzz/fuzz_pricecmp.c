/* fuzz_pricecmp: Naver Shopping's search answer through pricecmp_parse and its title cleaner
 * (lib/clients/pricecmp.c): an accepted answer's cheapest offer keeps every promise of
 * pricecmp.h; a refused one is zeroed and UNAVAILABLE.
 *
 * Input: an optional first line "status <N>" (200 when absent), then the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/valid.h"
#include "clients/pricecmp.h"
#include "fuzz.h"

static const char *const words[] = { "status", NULL };

static void
check_offer(const struct pricecmp_offer *o)
{
	size_t i, n;

	if (o->price < 1 || o->price > PRICECMP_PRICE_MAX)
		abort();
	fuzz_terminated(o->mall, sizeof(o->mall));
	fuzz_terminated(o->link, sizeof(o->link));
	fuzz_terminated(o->title, sizeof(o->title));
	if (!valid_utf8(o->mall, strlen(o->mall)) || !valid_utf8(o->title, strlen(o->title)))
		abort();
	if (strncmp(o->link, "http://", 7) != 0 && strncmp(o->link, "https://", 8) != 0)
		abort();
	n = strlen(o->link);
	for (i = 0; i < n; i++)
		if (o->link[i] < 0x21 || o->link[i] > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pricecmp_result res;
	const char *line, *body;
	size_t line_len, len, pos = 0;
	char title[64];
	enum pricecmp_rc rc;
	long status = 200;
	char *copy;

	fuzz_split(data, size, &line, &line_len, &body, &len);
	if (fuzz_word(line, line_len, &pos, words) == 0) {
		status = fuzz_number(line, line_len, &pos, 200);
	} else {
		body = (const char *)data;
		len = size;
	}
	copy = malloc(len > 0 ? len : 1);   /* exact size: ASan sees a read past the end */
	if (copy == NULL)
		abort();
	memcpy(copy, body, len);
	rc = pricecmp_parse(status, copy, len, &res);
	if ((unsigned)rc >= PRICECMP_RC__MAX)
		abort();
	if (rc == PRICECMP_OK) {
		if (res.status == PRICECMP_FOUND)
			check_offer(&res.offer);
		else if (res.status != PRICECMP_NONE)
			abort();
	} else if (res.status != PRICECMP_UNAVAILABLE) {
		abort();
	}
	/* The title cleaner on any valid UTF-8 (its contract), cut into a small buffer. */
	free(copy);
	if (valid_utf8(body, len)) {
		copy = fuzz_cstr(body, len);
		pricecmp_strip_title(copy, title, sizeof(title));
		fuzz_terminated(title, sizeof(title));
		if (!valid_utf8(title, strlen(title)))
			abort();
		free(copy);
	}
	return 0;
}
