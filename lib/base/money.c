/* money: overflow-checked arithmetic, strict parsing and formatting of integer won. */
#include <stdint.h>
#include <string.h>

#include "base/money.h"
#include "base/valid.h"

/* Stores a + b in *out and returns 0, or returns -1 on int64 overflow (out untouched). */
int
money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

/* Stores a - b in *out and returns 0, or returns -1 on int64 overflow (out untouched). */
int
money_sub(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

/* Stores amount * qty in *out and returns 0, or returns -1 on int64 overflow. */
int
money_mul(int64_t amount, int64_t qty, int64_t *out)
{
	int64_t r;

	if (__builtin_mul_overflow(amount, qty, &r))
		return -1;
	*out = r;
	return 0;
}

bool
money_amount_ok(int64_t won)
{
	return won >= 1 && won <= MONEY_MAX;
}

/* Stores floor(amount * bp / 10000) in *out and returns 0; -1 when amount < 0 or bp is
 * outside [0, 10000]. Split so no intermediate exceeds amount: exact for every amount >= 0. */
int
money_share_bp(int64_t amount, int64_t bp, int64_t *out)
{
	if (amount < 0 || bp < 0 || bp > 10000)
		return -1;
	*out = amount / 10000 * bp + amount % 10000 * bp / 10000;
	return 0;
}

/* Parses a strict decimal amount (see money.h). "-0" is refused: zero has one spelling. */
int
money_parse(const char *s, int64_t *out)
{
	return valid_int64(s, -MONEY_MAX, MONEY_MAX, out);
}

/* Writes won with thousands separators ("-1,234,567") into out (MONEY_FMT_MAX bytes) and
 * returns out. Handles every int64_t, INT64_MIN included. */
char *
money_format(int64_t won, char out[MONEY_FMT_MAX])
{
	char tmp[MONEY_FMT_MAX];
	size_t i = sizeof(tmp), n = 0, digits = 0;
	uint64_t mag = won < 0 ? (uint64_t)0 - (uint64_t)won : (uint64_t)won;

	tmp[--i] = '\0';
	do {
		if (digits > 0 && digits % 3 == 0)
			tmp[--i] = ',';
		tmp[--i] = (char)('0' + mag % 10);
		mag /= 10;
		digits++;
	} while (mag > 0);
	if (won < 0)
		tmp[--i] = '-';
	n = sizeof(tmp) - i;
	memcpy(out, tmp + i, n);
	return out;
}
