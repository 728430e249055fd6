/* fuzz_form: the urlencoded and Cookie parsers never crash and what they return keeps its
 * promises (decoded UTF-8 without NUL, lengths right, caps honoured). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/form.h"
#include "base/valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_LEN 4096
#define FUZZ_MAX_PAIRS 32

static void
check_form(const struct form *f, enum form_err err, bool cookies)
{
	const char *v;
	size_t i, len;
	int rc;

	if ((unsigned)err >= FORM__MAX || form_strerror(err) == NULL)
		abort();
	if (err != FORM_OK) {
		if (f->n != 0 || f->pairs != NULL)
			abort();
		return;
	}
	if (f->n > FUZZ_MAX_PAIRS)
		abort();
	for (i = 0; i < f->n; i++) {
		const struct form_pair *p = &f->pairs[i];

		if (p->key == NULL || p->val == NULL || p->key[0] == '\0')
			abort();
		if (strlen(p->val) != p->val_len)
			abort();
		if (!valid_utf8(p->key, strlen(p->key)) || !valid_utf8(p->val, p->val_len))
			abort();
		if (cookies && (strpbrk(p->key, " ;=\t\"") != NULL ||
		    strpbrk(p->val, " ;\t\",\\") != NULL))
			abort();
		rc = form_get(f, p->key, &v, &len);
		if (rc == 1 || (rc == 0 && (v != p->val || len != p->val_len)))
			abort();
		if (form_get_first(f, p->key, &v) != 0)
			abort();
	}
}

/* libFuzzer entry: the bytes as a form body, then (up to the first NUL) as a Cookie header. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	struct form f;
	enum form_err err;
	char *cstr;

	err = form_parse_urlencoded(a, (const char *)data, size, FUZZ_MAX_LEN, FUZZ_MAX_PAIRS,
	    &f);
	if (size > FUZZ_MAX_LEN && err != FORM_TOO_BIG)
		abort();
	check_form(&f, err, false);

	cstr = arena_strndup(a, (const char *)data, size);
	err = form_parse_cookies(a, cstr, FUZZ_MAX_LEN, FUZZ_MAX_PAIRS, &f);
	check_form(&f, err, true);
	arena_free(&a);
	return 0;
}
