/* fuzz_jparse: jparse must never crash, must only accept valid UTF-8, and what it accepts
 * must survive a round trip through json-c's serializer with the same verdict. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jparse.h"
#include "base/valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_LEN (1 << 16)
#define FUZZ_MAX_DEPTH 16

/* libFuzzer entry. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL, *again = NULL;
	const char *text = (const char *)data, *out, *sv;
	enum jparse_err err;
	int64_t iv;
	size_t outlen;
	int bv;

	err = jparse(text, size, FUZZ_MAX_LEN, FUZZ_MAX_DEPTH, &o);
	if ((unsigned)err >= JPARSE__MAX || jparse_strerror(err) == NULL)
		abort();
	if (err != JPARSE_OK) {
		if (o != NULL)
			abort();
		return 0;
	}
	if (!valid_utf8(text, size))
		abort();
	/* Readers on whatever came out: object or not, keys present or not. */
	jparse_int64(o, "a", INT64_MIN, INT64_MAX, &iv);
	jparse_int64(o, "amount", 0, 1000, &iv);
	jparse_string(o, "a", 8, &sv);
	jparse_bool(o, "a", &bv);
	if (o == NULL)
		return 0;   /* the literal null */
	out = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &outlen);
	if (out == NULL || strlen(out) != outlen)
		abort();
	err = jparse(out, outlen, FUZZ_MAX_LEN * 8, FUZZ_MAX_DEPTH, &again);
	if (err != JPARSE_OK)
		abort();
	if (!json_object_equal(o, again))
		abort();
	json_object_put(again);
	json_object_put(o);
	return 0;
}
