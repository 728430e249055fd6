/* money: overflow-checked arithmetic on integer won (KRW has no minor unit). Never floating point. */
#ifndef JT_MONEY_H
#define JT_MONEY_H

#include <stdbool.h>
#include <stdint.h>

/* Largest amount the shop handles anywhere: 10^15 won. Parsers refuse larger values, and the
 * CHECK constraints in sql/ (ck_orders_amount, ck_payments_amount, ck_products_price, ...)
 * hold the same limit. */
#define MONEY_MAX INT64_C(1000000000000000)

/* Room for "-1,000,000,000,000,000" plus NUL. */
#define MONEY_FMT_MAX 32

/* Each returns 0 and stores the result, or -1 on int64 overflow leaving *out untouched. */
int money_add(int64_t a, int64_t b, int64_t *out);
int money_sub(int64_t a, int64_t b, int64_t *out);
int money_mul(int64_t amount, int64_t qty, int64_t *out);

/* True when won is an amount one price, order, payment, refund or payout may carry:
 * 1..MONEY_MAX. Check a computed total with it before writing it, so the database's CHECK is
 * never what refuses it. */
bool money_amount_ok(int64_t won);

/* Share of amount in basis points (1/100 of a percent), rounded down: amount * bp / 10000.
 * 0 <= bp <= 10000 and amount >= 0, else -1. Never overflows for amount <= MONEY_MAX. */
int money_share_bp(int64_t amount, int64_t bp, int64_t *out);

/* Parses a strict decimal amount: optional '-', digits only (no '+', spaces, commas, leading
 * zeros except "0", no "-0", no exponent), |value| <= MONEY_MAX. Returns 0 or -1 (*out
 * untouched on -1). */
int money_parse(const char *s, int64_t *out);

/* Writes "1,234,567" (or "-1,234") into out, which holds MONEY_FMT_MAX bytes. Returns out. */
char *money_format(int64_t won, char out[MONEY_FMT_MAX]);

#endif
