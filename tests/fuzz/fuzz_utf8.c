/* fuzz_utf8: valid_utf8 must agree with an independent decoder written from the table of
 * well-formed byte sequences (Unicode 15, table 3-7), minus NUL. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Table 3-7: the first byte fixes the length and the allowed range of the second byte;
 * later bytes are always 80..BF. */
static bool
reference_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0, len, k;
	uint8_t lo, hi;

	while (i < n) {
		uint8_t b = s[i];

		if (b == 0x00)
			return false;
		if (b <= 0x7f) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf) {
			len = 2;
		} else if (b == 0xe0) {
			len = 3;
			lo = 0xa0;
		} else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
			len = 3;
		} else if (b == 0xed) {
			len = 3;
			hi = 0x9f;
		} else if (b == 0xf0) {
			len = 4;
			lo = 0x90;
		} else if (b >= 0xf1 && b <= 0xf3) {
			len = 4;
		} else if (b == 0xf4) {
			len = 4;
			hi = 0x8f;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += len;
	}
	return true;
}

/* libFuzzer entry: both decoders must agree on the input and on every prefix length the
 * input's first byte picks. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;

	if (valid_utf8((const char *)data, size) != reference_utf8(data, size))
		abort();
	if (valid_utf8((const char *)data, cut) != reference_utf8(data, cut))
		abort();
	return 0;
}
