/* fuzz_fulfil_csv: the staff's bulk shipping upload through fulfilment_bulk_parse
 * (lib/shop/fulfilment_bulk.c), as /admin/fulfilment/bulk reads the pasted text. A refused
 * text has a reason and no rows; an accepted one has 1..FULFILMENT_BULK_ROWS_MAX rows in line
 * order, each either with a problem and empty fields, or with four UTF-8 fields of at most
 * FULFILMENT_BULK_FIELD_MAX bytes holding no comma, line end or NUL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/valid.h"
#include "fuzz.h"
#include "shop/fulfilment.h"

static void
check_field(const char *s)
{
	size_t n;

	if (s == NULL)
		abort();
	n = strlen(s);
	if (n > FULFILMENT_BULK_FIELD_MAX || !valid_utf8(s, n) || strpbrk(s, ",\r\n") != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);   /* exact size: ASan sees a read past the end */
	struct arena *a = arena_new(4096);
	struct fulfilment_bulk_row *rows = NULL;
	const char *err = NULL;
	int64_t n, i;

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	n = fulfilment_bulk_parse(a, copy, size, &rows, &err);
	if (n < 0) {
		if (err == NULL || rows != NULL)
			abort();
	} else {
		if (n == 0 || n > FULFILMENT_BULK_ROWS_MAX || rows == NULL)
			abort();
		for (i = 0; i < n; i++) {
			if (rows[i].line < 1 || (i > 0 && rows[i].line <= rows[i - 1].line))
				abort();
			check_field(rows[i].order);
			check_field(rows[i].seller);
			check_field(rows[i].courier);
			check_field(rows[i].tracking_no);
			if (rows[i].problem != NULL && (rows[i].order[0] != '\0' ||
			    rows[i].tracking_no[0] != '\0'))
				abort();
		}
	}
	arena_free(&a);
	free(copy);
	return 0;
}
