/* fuzz_pg: a PG's answers through its classifier (pg_toss_parse, or pg_kakaopay_parse when
 * built with -DFUZZ_PG_KAKAOPAY), and for Toss the settlement-list reader too. Whatever the
 * body, the outcome is one of the enum, every field is a terminated string of UTF-8, and an
 * answer taken as PG_OK agrees with what the call asked for.
 *
 * Input: a first line "<call> <status> [expect]" (call: ready, confirm, cancel, lookup, or for
 * Toss settlements; status: the HTTP status, 200 when absent; "expect" checks the answer
 * against paymentKey tpk_fuzz / tid T1234567890, orderId order-fuzz-1, amount 15000 and
 * balance 5000), then the body. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/valid.h"
#include "clients/pg.h"
#include "clients/pg_impl.h"
#include "fuzz.h"

#ifdef FUZZ_PG_KAKAOPAY
#define FUZZ_PARSE pg_kakaopay_parse
#define FUZZ_KEY "T1234567890"
#else
#define FUZZ_PARSE pg_toss_parse
#define FUZZ_KEY "tpk_fuzz"
#endif

static const char *const calls[] = { "ready", "confirm", "cancel", "lookup", "settlements",
	NULL };
static const char *const flags[] = { "expect", NULL };

/* A fixed-size field: terminated and UTF-8. */
static void
check_text(const char *s, size_t cap)
{
	fuzz_terminated(s, cap);
	if (!valid_utf8(s, strlen(s)))
		abort();
}

static void
check_result(enum pg_call call, const struct pg_expect *exp, long status,
    const struct pg_result *out, enum pg_outcome o)
{
	if ((unsigned)o >= PG_OUTCOME__MAX || o != out->outcome || pg_outcome_name(o) == NULL ||
	    out->http_status != status)
		abort();
	check_text(out->code, sizeof(out->code));
	check_text(out->message, sizeof(out->message));
	check_text(out->status, sizeof(out->status));
	check_text(out->payment_key, sizeof(out->payment_key));
	check_text(out->order_id, sizeof(out->order_id));
	check_text(out->approved_at, sizeof(out->approved_at));
	check_text(out->method, sizeof(out->method));
	check_text(out->redirect_url, sizeof(out->redirect_url));
	if (o != PG_OK)
		return;
	/* A yes only from a success status, and about the payment asked for. */
	if (status < 200 || status > 299)
		abort();
	if (call == PG_CALL_READY) {
		if (out->payment_key[0] == '\0' || out->redirect_url[0] == '\0')
			abort();
		return;
	}
	if (exp->payment_key != NULL && strcmp(out->payment_key, exp->payment_key) != 0)
		abort();
	if (exp->order_id != NULL && strcmp(out->order_id, exp->order_id) != 0)
		abort();
	if (call == PG_CALL_CONFIRM && (strcmp(out->status, "DONE") != 0 ||
	    (exp->total_amount >= 0 && out->total_amount != exp->total_amount)))
		abort();
	if (call == PG_CALL_CANCEL && exp->balance_amount >= 0 &&
	    out->balance_amount != exp->balance_amount)
		abort();
}

#ifndef FUZZ_PG_KAKAOPAY
/* The settlement list: all or nothing, every record of the date asked for. */
static void
check_settlements(const char *body, size_t len, bool dated)
{
	static struct pg_settlement rows[8];
	const char *date = dated ? "2025-01-02" : NULL;
	size_t n = 99, i;

	if (pg_toss_parse_settlements(body, len, date, rows, 8, &n) != 0) {
		if (n != 0)
			abort();
		return;
	}
	if (n > 8)
		abort();
	for (i = 0; i < n; i++) {
		check_text(rows[i].payment_key, sizeof(rows[i].payment_key));
		check_text(rows[i].transaction_key, sizeof(rows[i].transaction_key));
		check_text(rows[i].order_id, sizeof(rows[i].order_id));
		check_text(rows[i].approved_at, sizeof(rows[i].approved_at));
		check_text(rows[i].sold_date, sizeof(rows[i].sold_date));
		if (rows[i].cancel ? rows[i].amount >= 0 : rows[i].amount <= 0)
			abort();
		if (dated && strcmp(rows[i].sold_date, date) != 0)
			abort();
	}
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pg_expect none = PG_EXPECT_NONE;
	static const struct pg_expect asked = { FUZZ_KEY, "order-fuzz-1", 15000, 5000 };
	const struct pg_expect *exp;
	struct pg_result out;
	const char *line, *body;
	size_t line_len, len, pos = 0;
	enum pg_outcome o;
	long status;
	char *copy;
	int call;

	fuzz_split(data, size, &line, &line_len, &body, &len);
	call = fuzz_word(line, line_len, &pos, calls);
	status = fuzz_number(line, line_len, &pos, 200);
	exp = fuzz_word(line, line_len, &pos, flags) == 0 ? &asked : &none;
	copy = malloc(len > 0 ? len : 1);   /* exact size: ASan sees a read past the end */
	if (copy == NULL)
		abort();
	memcpy(copy, body, len);
	if (call == 4) {
#ifndef FUZZ_PG_KAKAOPAY
		check_settlements(copy, len, true);
		check_settlements(copy, len, false);
#endif
	} else if (call >= 0) {
		o = FUZZ_PARSE((enum pg_call)call, exp, status, len > 0 ? copy : NULL, len, &out);
		check_result((enum pg_call)call, exp, status, &out, o);
	} else {
		/* No selector: every call, as the bytes came. */
		for (call = 0; call < PG_CALL__MAX; call++) {
			o = FUZZ_PARSE((enum pg_call)call, &none, 200, len > 0 ? copy : NULL, len,
			    &out);
			check_result((enum pg_call)call, &none, 200, &out, o);
		}
	}
	free(copy);
	return 0;
}
