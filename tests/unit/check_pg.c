/* check_pg: the PG clients without a PG: names, configuration, the Authorization line, the
 * argument checks, a refused connection, and above all how every kind of Toss and KakaoPay
 * answer is classified (pg_toss_parse, pg_kakaopay_parse), real shapes and hostile ones. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf.h"
#include "base/money.h"
#include "clients/pg.h"
#include "clients/pg_impl.h"
#include "suites.h"
#include "base/valid.h"

/* The DONE card payment of the contract (section 1.3), with one field left to fill. */
#define TOSS_DONE_FMT \
	"{\"mId\":\"tosspayments\",\"version\":\"2022-11-16\"," \
	"\"paymentKey\":\"tfake_20250101120000AbCd1\",\"type\":\"NORMAL\"," \
	"\"orderId\":\"order-20250101-0001\",\"orderName\":\"티셔츠 외 2건\",\"currency\":\"KRW\"," \
	"\"method\":\"카드\",\"totalAmount\":%s,\"balanceAmount\":15000,\"suppliedAmount\":13636," \
	"\"vat\":1364,\"taxFreeAmount\":0,\"taxExemptionAmount\":0,\"status\":\"DONE\"," \
	"\"requestedAt\":\"2025-01-01T12:00:00+09:00\",\"approvedAt\":\"2025-01-01T12:00:20+09:00\"," \
	"\"useEscrow\":false,\"cultureExpense\":false," \
	"\"lastTransactionKey\":\"A1B2C3D4E5F60718293A4B5C6D7E8F90\",\"isPartialCancelable\":true," \
	"\"card\":{\"amount\":15000,\"issuerCode\":\"71\",\"number\":\"12345678****000*\"," \
	"\"installmentPlanMonths\":0,\"interestPayer\":null}," \
	"\"virtualAccount\":null,\"cancels\":null,\"secret\":null,\"easyPay\":null,\"country\":\"KR\"," \
	"\"failure\":null,\"metadata\":null,\"receipt\":{\"url\":\"https://example.invalid/r\"}}"

#define TOSS_KEY "tfake_20250101120000AbCd1"
#define TOSS_ORDER "order-20250101-0001"

/* The approve answer of the contract (section 2.2). */
#define KAKAO_APPROVED \
	"{\"aid\":\"A5678901234567890123\",\"tid\":\"T1234567890123456789\",\"cid\":\"TC0ONETIME\"," \
	"\"partner_order_id\":\"order-1\",\"partner_user_id\":\"user-1\"," \
	"\"payment_method_type\":\"MONEY\",\"item_name\":\"초코파이\",\"quantity\":1," \
	"\"amount\":{\"total\":2200,\"tax_free\":0,\"vat\":200,\"point\":0,\"discount\":0," \
	"\"green_deposit\":0},\"created_at\":\"2023-07-15T21:18:22\"," \
	"\"approved_at\":\"2023-07-15T21:18:40\"}"

#define KAKAO_TID "T1234567890123456789"

static char toss_done[4096];

static const char *
toss_done_body(void)
{
	snprintf(toss_done, sizeof(toss_done), TOSS_DONE_FMT, "15000");
	return toss_done;
}

static enum pg_outcome
toss(enum pg_call call, const struct pg_expect *exp, long status, const char *body,
    struct pg_result *out)
{
	return pg_toss_parse(call, exp, status, body, body != NULL ? strlen(body) : 0, out);
}

static enum pg_outcome
kakao(enum pg_call call, const struct pg_expect *exp, long status, const char *body,
    struct pg_result *out)
{
	return pg_kakaopay_parse(call, exp, status, body, body != NULL ? strlen(body) : 0, out);
}

/* Nothing of a refused answer may look like the PG's word. */
static void
assert_empty_payment(const struct pg_result *r)
{
	ck_assert_str_eq(r->status, "");
	ck_assert_int_eq(r->state, PG_STATE_NONE);
	ck_assert_str_eq(r->payment_key, "");
	ck_assert_str_eq(r->order_id, "");
	ck_assert_int_eq(r->total_amount, 0);
	ck_assert_int_eq(r->balance_amount, 0);
	ck_assert_str_eq(r->approved_at, "");
	ck_assert_str_eq(r->redirect_url, "");
}

static struct conf *
test_conf(const char *extra)
{
	char err[256], text[2048];
	struct conf *c;

	snprintf(text, sizeof(text),
	    "http.connect_timeout_ms = 500\n"
	    "http.total_timeout_ms = 1000\n"
	    "%s", extra);
	c = conf_parse(text, err, sizeof(err));
	ck_assert_msg(c != NULL, "conf_parse: %s", err);
	return c;
}

#define CONF_BOTH \
	"pg.toss_api_url = http://127.0.0.1:1/toss//\n" \
	"pg.toss_checkout_url = http://127.0.0.1:1/toss/fake/checkout\n" \
	"pg.toss_client_key = test_ck_jangteo_local\n" \
	"pg.toss_secret_key = test_sk_jangteo_local\n" \
	"pg.kakaopay_api_url = http://127.0.0.1:1/kakaopay\n" \
	"pg.kakaopay_cid = TC0ONETIME\n" \
	"pg.kakaopay_secret_key = DEV_SECRET_jangteo_local\n"

/* ---- names and configuration --------------------------------------------------------- */

START_TEST(test_names)
{
	enum pg_id id = PG_TOSS;

	ck_assert_str_eq(pg_name(PG_TOSS), "toss");
	ck_assert_str_eq(pg_name(PG_KAKAOPAY), "kakaopay");
	ck_assert_str_eq(pg_name(PG__MAX), "?");
	ck_assert_str_eq(pg_name((enum pg_id)-1), "?");
	ck_assert_int_eq(pg_parse("kakaopay", &id), 0);
	ck_assert_int_eq(id, PG_KAKAOPAY);
	ck_assert_int_eq(pg_parse("toss", &id), 0);
	ck_assert_int_eq(id, PG_TOSS);
	ck_assert_int_eq(pg_parse("Toss", &id), -1);
	ck_assert_int_eq(pg_parse("toss ", &id), -1);
	ck_assert_int_eq(pg_parse("", &id), -1);
	ck_assert_int_eq(pg_parse("points", &id), -1);
	ck_assert_int_eq(pg_parse(NULL, &id), -1);
	ck_assert_int_eq(id, PG_TOSS);
	ck_assert_str_eq(pg_outcome_name(PG_OK), "ok");
	ck_assert_str_eq(pg_outcome_name(PG_REFUSED), "refused");
	ck_assert_str_eq(pg_outcome_name(PG_UNKNOWN), "unknown");
	ck_assert_str_eq(pg_outcome_name(PG_IN_PROGRESS), "in progress");
	ck_assert_str_eq(pg_outcome_name(PG_NOT_FOUND), "not found");
	ck_assert_str_eq(pg_outcome_name(PG_NOT_SENT), "not sent");
	ck_assert_str_eq(pg_outcome_name(PG_OUTCOME__MAX), "?");
}
END_TEST

START_TEST(test_enabled)
{
	struct conf *c = test_conf("");

	ck_assert(!pg_enabled(c, PG_TOSS));
	ck_assert(!pg_enabled(c, PG_KAKAOPAY));
	ck_assert(!pg_enabled(c, PG__MAX));
	conf_free(&c);
	/* Toss needs its payment window too; KakaoPay only the secret. */
	c = test_conf("pg.toss_secret_key = test_sk_x\npg.kakaopay_secret_key = DEV_x\n");
	ck_assert(!pg_enabled(c, PG_TOSS));
	ck_assert(pg_enabled(c, PG_KAKAOPAY));
	conf_free(&c);
	c = test_conf(CONF_BOTH);
	ck_assert(pg_enabled(c, PG_TOSS));
	ck_assert(pg_enabled(c, PG_KAKAOPAY));
	conf_free(&c);
}
END_TEST

START_TEST(test_auth_header_and_base_url)
{
	static const struct {
		const char *secret;
		const char *line;
	} cases[] = {
		{ "test_sk_jangteo_local", "Authorization: Basic dGVzdF9za19qYW5ndGVvX2xvY2FsOg==" },
		{ "a", "Authorization: Basic YTo=" },
		{ "ab", "Authorization: Basic YWI6" },
		{ "abc", "Authorization: Basic YWJjOg==" },
	};
	char text[256];
	struct conf *c;
	struct pg *p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "pg.toss_secret_key = %s\n"
		    "pg.toss_api_url = http://127.0.0.1:1/toss/\n", cases[i].secret);
		c = test_conf(text);
		p = pg_new(c, PG_TOSS);
		ck_assert_str_eq(p->auth_header, cases[i].line);
		ck_assert_str_eq(p->base_url, "http://127.0.0.1:1/toss");
		ck_assert_ptr_null(p->cid);
		pg_free(&p);
		ck_assert_ptr_null(p);
		pg_free(&p);
		conf_free(&c);
	}
	c = test_conf(CONF_BOTH);
	p = pg_new(c, PG_KAKAOPAY);
	ck_assert_str_eq(p->auth_header, "Authorization: SECRET_KEY DEV_SECRET_jangteo_local");
	ck_assert_str_eq(p->base_url, "http://127.0.0.1:1/kakaopay");
	ck_assert_str_eq(p->cid, "TC0ONETIME");
	ck_assert_str_eq(p->ops->name, "kakaopay");
	pg_free(&p);
	conf_free(&c);
}
END_TEST

/* ---- calls that never reach a PG ----------------------------------------------------- */

START_TEST(test_not_configured_and_not_supported)
{
	struct conf *c = test_conf("");
	struct pg *p = pg_new(c, PG_KAKAOPAY);
	struct pg_confirm_req cr = { "order-000001", 1000, "T1", "tok", "u1", "k1" };
	struct pg_ready_req rr = { "order-000001", "u1", "상품", 1, 1000, "http://a/ok",
	    "http://a/cancel", "http://a/fail" };
	struct pg_result r;

	memset(&r, 0xa5, sizeof(r));
	ck_assert_int_eq(pg_confirm(p, &cr, &r), PG_NOT_SENT);
	ck_assert_int_eq(r.outcome, PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_NOT_CONFIGURED);
	ck_assert_int_eq(r.http_status, 0);
	ck_assert_str_eq(r.status, "");
	ck_assert_int_eq(r.state, PG_STATE_NONE);
	ck_assert_int_eq(r.total_amount, 0);
	ck_assert_int_eq(pg_ready(p, &rr, &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_NOT_CONFIGURED);
	ck_assert_int_eq(pg_confirm(p, NULL, &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ARGUMENT);
	pg_free(&p);
	conf_free(&c);

	c = test_conf(CONF_BOTH);
	p = pg_new(c, PG_TOSS);
	ck_assert_int_eq(pg_ready(p, &rr, &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_NOT_SUPPORTED);
	pg_free(&p);
	conf_free(&c);
}
END_TEST

START_TEST(test_bad_arguments_are_not_sent)
{
	char long_key[PG_IDEMPOTENCY_KEY_MAX + 2];
	struct conf *c = test_conf(CONF_BOTH);
	struct pg *t = pg_new(c, PG_TOSS), *k = pg_new(c, PG_KAKAOPAY);
	struct pg_confirm_req good = { "order-000001", 1000, "tfake_1", NULL, NULL, "idem-1" };
	struct pg_confirm_req cr;
	struct pg_cancel_req cc;
	struct pg_lookup_req lr;
	struct pg_ready_req rr;
	struct pg_result r;

	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
#define NOT_SENT(call) do { \
		memset(&r, 0x5a, sizeof(r)); \
		ck_assert_int_eq(call, PG_NOT_SENT); \
		ck_assert_str_eq(r.code, PG_CODE_BAD_ARGUMENT); \
		ck_assert_int_eq(r.http_status, 0); \
		ck_assert_str_eq(r.payment_key, ""); \
	} while (0)

	cr = good; cr.amount = 0;                 NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.amount = -1000;             NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.amount = MONEY_MAX + 1;     NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.amount = INT64_MIN;         NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.order_id = "ord 000001";    NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.order_id = "short";         NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.order_id = NULL;            NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.payment_key = NULL;         NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.payment_key = "";           NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.payment_key = "a\r\nX-Evil: 1"; NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.idempotency_key = "k\r\nX-Evil: 1"; NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.idempotency_key = "";       NOT_SENT(pg_confirm(t, &cr, &r));
	cr = good; cr.idempotency_key = long_key; NOT_SENT(pg_confirm(t, &cr, &r));
	/* KakaoPay's approve needs the pg_token and the user reference. */
	cr = good;                                NOT_SENT(pg_confirm(k, &cr, &r));
	cr = good; cr.pg_token = "tok"; cr.user_ref = NULL; NOT_SENT(pg_confirm(k, &cr, &r));

	memset(&cc, 0, sizeof(cc));
	cc.payment_key = "tfake_1"; cc.amount = 5000; cc.cancelable = 4000; cc.reason = "고객 변심";
	NOT_SENT(pg_cancel(t, &cc, &r));
	NOT_SENT(pg_cancel(k, &cc, &r));
	cc.cancelable = 5000; cc.amount = 0;      NOT_SENT(pg_cancel(t, &cc, &r));
	cc.amount = -1;                           NOT_SENT(pg_cancel(t, &cc, &r));
	cc.amount = 100; cc.reason = "";          NOT_SENT(pg_cancel(t, &cc, &r));
	cc.reason = "  ";                         NOT_SENT(pg_cancel(t, &cc, &r));
	cc.reason = "bad\x01" "ctl";              NOT_SENT(pg_cancel(t, &cc, &r));
	cc.reason = "\xff\xfe";                   NOT_SENT(pg_cancel(k, &cc, &r));
	cc.reason = NULL;                         NOT_SENT(pg_cancel(t, &cc, &r));

	memset(&lr, 0, sizeof(lr));
	NOT_SENT(pg_lookup(t, &lr, &r));
	lr.order_id = "order-000001";             NOT_SENT(pg_lookup(k, &lr, &r));
	lr.order_id = "order/../x";               NOT_SENT(pg_lookup(t, &lr, &r));

	memset(&rr, 0, sizeof(rr));
	rr.order_id = "order-000001"; rr.user_ref = "u1"; rr.order_name = "상품"; rr.quantity = 1;
	rr.amount = 1000; rr.approval_url = "http://a/ok"; rr.cancel_url = "http://a/c";
	rr.fail_url = "javascript:alert(1)";      NOT_SENT(pg_ready(k, &rr, &r));
	rr.fail_url = "http://a/f"; rr.quantity = 0; NOT_SENT(pg_ready(k, &rr, &r));
	rr.quantity = 1; rr.order_name = "";      NOT_SENT(pg_ready(k, &rr, &r));
	rr.order_name = "상품"; rr.amount = 0;    NOT_SENT(pg_ready(k, &rr, &r));
#undef NOT_SENT
	pg_free(&t);
	pg_free(&k);
	conf_free(&c);
}
END_TEST

START_TEST(test_refused_connection_is_not_sent)
{
	struct conf *c = test_conf(CONF_BOTH);
	struct pg *t = pg_new(c, PG_TOSS), *k = pg_new(c, PG_KAKAOPAY);
	struct pg_confirm_req cr = { "order-000001", 1000, "tfake_1", NULL, NULL, "idem-1" };
	struct pg_lookup_req lr = { "order-000001", "T1" };
	struct pg_result r;

	ck_assert_int_eq(pg_confirm(t, &cr, &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_TRANSPORT);
	ck_assert_str_eq(r.message, "connect failed");
	ck_assert_int_eq(r.http_status, 0);
	ck_assert_int_eq(pg_lookup(k, &lr, &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_TRANSPORT);
	pg_free(&t);
	pg_free(&k);
	conf_free(&c);
}
END_TEST

/* pg_confirm_many: each request gets what pg_confirm would give it, in its own slot: a bad
 * one is refused unsent, the others (sent together) fail to connect, unsent. */
START_TEST(test_confirm_many_answers_each_in_its_slot)
{
	struct conf *c = test_conf(CONF_BOTH);
	struct pg *t = pg_new(c, PG_TOSS);
	struct pg_confirm_req cr[3] = {
		{ "order-000001", 1000, "tfake_1", NULL, NULL, "idem-1" },
		{ "order-000002", 0, "tfake_2", NULL, NULL, "idem-2" },   /* no amount */
		{ "order-000003", 3000, "tfake_3", NULL, NULL, "idem-3" },
	};
	struct pg_result r[3];

	memset(r, 0xa5, sizeof(r));
	pg_confirm_many(t, cr, 3, r);
	ck_assert_int_eq(r[0].outcome, PG_NOT_SENT);
	ck_assert_str_eq(r[0].code, PG_CODE_TRANSPORT);
	ck_assert_str_eq(r[0].message, "connect failed");
	ck_assert_int_eq(r[1].outcome, PG_NOT_SENT);
	ck_assert_str_eq(r[1].code, PG_CODE_BAD_ARGUMENT);
	ck_assert_int_eq(r[2].outcome, PG_NOT_SENT);
	ck_assert_str_eq(r[2].code, PG_CODE_TRANSPORT);
	ck_assert_int_eq(r[2].http_status, 0);
	pg_confirm_many(t, cr, 0, r);   /* nothing to send: nothing happens */
	pg_free(&t);
	conf_free(&c);
}
END_TEST

/* ---- helpers ------------------------------------------------------------------------- */

START_TEST(test_copy_cuts_at_character_boundary)
{
	char d[8];

	pg_copy(d, sizeof(d), "abc");
	ck_assert_str_eq(d, "abc");
	pg_copy(d, sizeof(d), NULL);
	ck_assert_str_eq(d, "");
	pg_copy(d, sizeof(d), "1234567890");
	ck_assert_str_eq(d, "1234567");
	/* "가나다" is 9 bytes: 7 bytes fit, which would split "다"; two characters remain. */
	pg_copy(d, sizeof(d), "가나다");
	ck_assert_str_eq(d, "가나");
	pg_copy(d, 1, "x");
	ck_assert_str_eq(d, "");
}
END_TEST

START_TEST(test_kakaopay_status_words)
{
	ck_assert_str_eq(pg_kakaopay_status("READY"), "READY");
	ck_assert_str_eq(pg_kakaopay_status("SEND_TMS"), "READY");
	ck_assert_str_eq(pg_kakaopay_status("OPEN_PAYMENT"), "READY");
	ck_assert_str_eq(pg_kakaopay_status("SELECT_METHOD"), "IN_PROGRESS");
	ck_assert_str_eq(pg_kakaopay_status("ARS_WAITING"), "IN_PROGRESS");
	ck_assert_str_eq(pg_kakaopay_status("AUTH_PASSWORD"), "IN_PROGRESS");
	ck_assert_str_eq(pg_kakaopay_status("SUCCESS_PAYMENT"), "DONE");
	ck_assert_str_eq(pg_kakaopay_status("PART_CANCEL_PAYMENT"), "PARTIAL_CANCELED");
	ck_assert_str_eq(pg_kakaopay_status("CANCEL_PAYMENT"), "CANCELED");
	ck_assert_str_eq(pg_kakaopay_status("FAIL_AUTH_PASSWORD"), "ABORTED");
	ck_assert_str_eq(pg_kakaopay_status("QUIT_PAYMENT"), "ABORTED");
	ck_assert_str_eq(pg_kakaopay_status("FAIL_PAYMENT"), "ABORTED");
	ck_assert_ptr_null(pg_kakaopay_status("ISSUED_SID"));
	ck_assert_ptr_null(pg_kakaopay_status("success_payment"));
	ck_assert_ptr_null(pg_kakaopay_status(""));
	ck_assert_ptr_null(pg_kakaopay_status(NULL));
}
END_TEST

/* ---- Toss answers -------------------------------------------------------------------- */

START_TEST(test_toss_confirm_done)
{
	struct pg_expect exp = { TOSS_KEY, TOSS_ORDER, 15000, -1 };
	struct pg_result r;

	ck_assert_int_eq(toss(PG_CALL_CONFIRM, &exp, 200, toss_done_body(), &r), PG_OK);
	ck_assert_int_eq(r.outcome, PG_OK);
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_str_eq(r.status, "DONE");
	ck_assert_int_eq(r.state, PG_STATE_APPROVED);
	ck_assert_str_eq(r.payment_key, TOSS_KEY);
	ck_assert_str_eq(r.order_id, TOSS_ORDER);
	ck_assert_int_eq(r.total_amount, 15000);
	ck_assert_int_eq(r.balance_amount, 15000);
	ck_assert_str_eq(r.approved_at, "2025-01-01T12:00:20+09:00");
	ck_assert_str_eq(r.method, "카드");
	ck_assert_str_eq(r.code, "");
	ck_assert_str_eq(r.message, "");
	/* Without expectations (NULL) the same answer passes too. */
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 200, toss_done_body(), &r), PG_OK);
}
END_TEST

START_TEST(test_toss_confirm_mismatch_is_unknown)
{
	struct pg_expect exp = { TOSS_KEY, TOSS_ORDER, 15000, -1 };
	struct pg_result r;

	exp.total_amount = 15001;
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, &exp, 200, toss_done_body(), &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);
	exp.total_amount = 15000;
	exp.order_id = "order-20250101-0002";
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, &exp, 200, toss_done_body(), &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);
	exp.order_id = TOSS_ORDER;
	exp.payment_key = "tfake_other";
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, &exp, 200, toss_done_body(), &r), PG_UNKNOWN);
	/* A 200 that is not DONE is no approval. */
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 200,
	    "{\"paymentKey\":\"k1\",\"orderId\":\"order-1\",\"status\":\"IN_PROGRESS\","
	    "\"totalAmount\":100,\"balanceAmount\":100,\"approvedAt\":null,\"method\":null}", &r),
	    PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);
	ck_assert_str_eq(r.status, "IN_PROGRESS");
	ck_assert_int_eq(r.state, PG_STATE_OPEN);
	/* A confirm answer to a cancel is no cancel. */
	ck_assert_int_eq(toss(PG_CALL_CANCEL, NULL, 200, toss_done_body(), &r), PG_UNKNOWN);
	/* Toss has no ready: a 200 to it is nonsense. */
	ck_assert_int_eq(toss(PG_CALL_READY, NULL, 200, toss_done_body(), &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
}
END_TEST

struct toss_case {
	enum pg_call call;
	long status;
	const char *code;
	enum pg_outcome want;
};

START_TEST(test_toss_error_classification)
{
	static const struct toss_case cases[] = {
		{ PG_CALL_CONFIRM, 403, "REJECT_CARD_COMPANY", PG_REFUSED },
		{ PG_CALL_CONFIRM, 403, "REJECT_CARD_PAYMENT", PG_REFUSED },
		{ PG_CALL_CONFIRM, 400, "INVALID_CARD_EXPIRATION", PG_REFUSED },
		{ PG_CALL_CONFIRM, 400, "INVALID_REQUEST", PG_REFUSED },
		{ PG_CALL_CONFIRM, 400, "EXCEED_MAX_DAILY_PAYMENT_COUNT", PG_REFUSED },
		{ PG_CALL_CONFIRM, 404, "NOT_FOUND_PAYMENT_SESSION", PG_REFUSED },
		{ PG_CALL_CONFIRM, 404, "NOT_FOUND_PAYMENT", PG_REFUSED },
		{ PG_CALL_CONFIRM, 403, "FDS_ERROR", PG_REFUSED },
		{ PG_CALL_CONFIRM, 400, "PROVIDER_ERROR", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 400, "ALREADY_PROCESSED_PAYMENT", PG_DUPLICATE },
		{ PG_CALL_CONFIRM, 400, "DUPLICATED_ORDER_ID", PG_DUPLICATE },
		{ PG_CALL_CONFIRM, 500, "ALREADY_PROCESSED_PAYMENT", PG_DUPLICATE },
		{ PG_CALL_CANCEL, 400, "ALREADY_PROCESSED_PAYMENT", PG_UNKNOWN },
		{ PG_CALL_LOOKUP, 400, "DUPLICATED_ORDER_ID", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 400, "UNAPPROVED_ORDER_ID", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 403, "FORBIDDEN_CONSECUTIVE_REQUEST", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 500, "FAILED_INTERNAL_SYSTEM_PROCESSING", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 500, "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 500, "UNKNOWN_PAYMENT_ERROR", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 500, "REJECT_CARD_COMPANY", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 429, "REJECT_CARD_COMPANY", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 302, "REJECT_CARD_COMPANY", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 400, "A_CODE_INVENTED_LATER", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 409, "IDEMPOTENT_REQUEST_PROCESSING", PG_IN_PROGRESS },
		{ PG_CALL_CONFIRM, 400, "IDEMPOTENT_REQUEST_PROCESSING", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 409, "REJECT_CARD_COMPANY", PG_UNKNOWN },
		{ PG_CALL_CONFIRM, 401, "UNAUTHORIZED_KEY", PG_NOT_SENT },
		{ PG_CALL_CONFIRM, 400, "INVALID_API_KEY", PG_NOT_SENT },
		{ PG_CALL_CONFIRM, 403, "INCORRECT_BASIC_AUTH_FORMAT", PG_NOT_SENT },
		{ PG_CALL_CONFIRM, 400, "INVALID_IDEMPOTENCY_KEY", PG_NOT_SENT },
		{ PG_CALL_CONFIRM, 500, "UNAUTHORIZED_KEY", PG_UNKNOWN },
		{ PG_CALL_CANCEL, 400, "NOT_MATCHES_REFUNDABLE_AMOUNT", PG_REFUSED },
		{ PG_CALL_CANCEL, 403, "NOT_CANCELABLE_AMOUNT", PG_REFUSED },
		{ PG_CALL_CANCEL, 403, "NOT_CANCELABLE_PAYMENT", PG_REFUSED },
		{ PG_CALL_CANCEL, 400, "ALREADY_CANCELED_PAYMENT", PG_REFUSED },
		{ PG_CALL_CANCEL, 403, "NOT_ALLOWED_PARTIAL_REFUND", PG_REFUSED },
		{ PG_CALL_CANCEL, 404, "NOT_FOUND_PAYMENT", PG_REFUSED },
		{ PG_CALL_CANCEL, 403, "REJECT_CARD_COMPANY", PG_UNKNOWN },
		{ PG_CALL_CANCEL, 400, "PROVIDER_ERROR", PG_UNKNOWN },
		{ PG_CALL_CANCEL, 500, "FAILED_REFUND_PROCESS", PG_UNKNOWN },
		{ PG_CALL_CANCEL, 500, "COMMON_ERROR", PG_UNKNOWN },
		{ PG_CALL_CANCEL, 409, "IDEMPOTENT_REQUEST_PROCESSING", PG_IN_PROGRESS },
		{ PG_CALL_LOOKUP, 404, "NOT_FOUND_PAYMENT", PG_NOT_FOUND },
		{ PG_CALL_LOOKUP, 404, "NOT_FOUND", PG_NOT_FOUND },
		{ PG_CALL_LOOKUP, 400, "NOT_FOUND_PAYMENT", PG_UNKNOWN },
		{ PG_CALL_LOOKUP, 403, "FORBIDDEN_REQUEST", PG_UNKNOWN },
		{ PG_CALL_LOOKUP, 403, "FORBIDDEN_CONSECUTIVE_REQUEST", PG_UNKNOWN },
		{ PG_CALL_LOOKUP, 500, "FAILED_INTERNAL_SYSTEM_PROCESSING", PG_UNKNOWN },
		{ PG_CALL_LOOKUP, 401, "UNAUTHORIZED_KEY", PG_NOT_SENT },
	};
	char body[512];
	struct pg_result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"code\":\"%s\",\"message\":\"메시지 %zu\"}",
		    cases[i].code, i);
		memset(&r, 0x5a, sizeof(r));
		ck_assert_msg(toss(cases[i].call, NULL, cases[i].status, body, &r) == cases[i].want,
		    "case %zu (%ld %s): got %s", i, cases[i].status, cases[i].code,
		    pg_outcome_name(r.outcome));
		ck_assert_int_eq(r.outcome, cases[i].want);
		ck_assert_int_eq(r.http_status, cases[i].status);
		ck_assert_str_eq(r.code, cases[i].code);
		snprintf(body, sizeof(body), "메시지 %zu", i);
		ck_assert_str_eq(r.message, body);
		assert_empty_payment(&r);
	}
}
END_TEST

START_TEST(test_toss_error_bodies_hostile)
{
	char big[6000];
	struct pg_result r;
	size_t i;

	/* Not the error object: never a refusal. */
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403, "<html>Forbidden</html>", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403, "", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403, NULL, &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403, "{\"code\":\"REJECT_CARD_COMPANY\"", &r),
	    PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403, "{\"code\":\"REJECT_CARD_COMPANY\"}", &r),
	    PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":7,\"message\":\"m\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":null,\"message\":\"m\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"reject_card_company\",\"message\":\"m\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"REJECT CARD\",\"message\":\"m\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"\",\"message\":\"m\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"REJECT_CARD_COMPANY\",\"code\":\"PROVIDER_ERROR\",\"message\":\"m\"}", &r),
	    PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "[{\"code\":\"REJECT_CARD_COMPANY\",\"message\":\"m\"}]", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"REJECT_CARD_COMPANY\",\"message\":\"a\\u0000b\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"REJECT_CARD_COMPANY\",\"message\":\"\xc3\x28\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"REJECT_CARD_COMPANY\",\"message\":\"line\\nbreak\"}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
	/* A code longer than the result holds is not truncated into another code. */
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403,
	    "{\"code\":\"REJECT_CARD_COMPANY_REJECT_CARD_COMPANY_REJECT_CARD_COMPANY_XXXX\","
	    "\"message\":\"m\"}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
	/* A 401 stopped the request whatever its body. */
	ck_assert_int_eq(toss(PG_CALL_CANCEL, NULL, 401, "<html>401</html>", &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, "UNAUTHORIZED_KEY");
	ck_assert_int_eq(toss(PG_CALL_LOOKUP, NULL, 502, "<html>Bad Gateway</html>", &r),
	    PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_LOOKUP, NULL, 404, "Not Found", &r), PG_UNKNOWN);
	ck_assert_int_eq(toss(PG_CALL_LOOKUP, NULL, 0, "", &r), PG_UNKNOWN);
	/* A long Korean message is cut to fit at a character boundary. */
	memcpy(big, "{\"code\":\"REJECT_CARD_COMPANY\",\"message\":\"", 41);
	for (i = 41; i + 3 < 41 + 3 * 400; i += 3)
		memcpy(big + i, "가", 3);
	memcpy(big + i, "\"}", 3);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403, big, &r), PG_REFUSED);
	ck_assert_uint_lt(strlen(r.message), sizeof(r.message));
	ck_assert_uint_eq(strlen(r.message), 510);
	ck_assert(valid_utf8(r.message, strlen(r.message)));
	/* Beyond what we accept at all: unknown, not a refusal with a cut message. */
	memcpy(big, "{\"code\":\"REJECT_CARD_COMPANY\",\"message\":\"", 41);
	memset(big + 41, 'x', 5000);
	memcpy(big + 41 + 5000, "\"}", 3);
	ck_assert_int_eq(toss(PG_CALL_CONFIRM, NULL, 403, big, &r), PG_UNKNOWN);
}
END_TEST

START_TEST(test_toss_payment_hostile)
{
	static const char *const bodies[] = {
		"{\"paymentKey\":\"tfake_20250101120000AbCd1\"",          /* truncated */
		"",
		"null",
		"[]",
		"\"DONE\"",
		"{}",
		"{\"status\":\"DONE\"} trailing",
		NULL,
	};
	static const char *const totals[] = {
		"\"15000\"", "15000.0", "1.5e4", "-15000", "99999999999999999999", "1e300",
		"1000000000000001", "true", "null", "[15000]", "{\"v\":15000}", "0x3a98",
		"9223372036854775807", "14999",  /* < balanceAmount 15000 */
		NULL,
	};
	char body[4096];
	struct pg_result r;
	size_t i;

	for (i = 0; bodies[i] != NULL; i++) {
		ck_assert_msg(toss(PG_CALL_LOOKUP, NULL, 200, bodies[i], &r) == PG_UNKNOWN,
		    "body %zu", i);
		ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
		assert_empty_payment(&r);
	}
	for (i = 0; totals[i] != NULL; i++) {
		snprintf(body, sizeof(body), TOSS_DONE_FMT, totals[i]);
		memset(&r, 0x5a, sizeof(r));
		ck_assert_msg(toss(PG_CALL_CONFIRM, NULL, 200, body, &r) == PG_UNKNOWN,
		    "totalAmount %s", totals[i]);
		ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
		assert_empty_payment(&r);
	}
	/* Each field we read, broken one at a time. */
	{
		static const char *const broken[] = {
			"{\"orderId\":\"o-000001\",\"status\":\"DONE\",\"totalAmount\":1,"
			"\"balanceAmount\":1,\"approvedAt\":\"x\"}",                       /* no key */
			"{\"paymentKey\":\"k 1\",\"orderId\":\"o-000001\",\"status\":\"DONE\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":\"x\"}",     /* space */
			"{\"paymentKey\":\"k1\",\"orderId\":null,\"status\":\"DONE\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":\"x\"}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"PAID\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":\"x\"}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"done\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":\"x\"}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"DONE\","
			"\"totalAmount\":1,\"balanceAmount\":-1,\"approvedAt\":\"x\"}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"DONE\","
			"\"totalAmount\":1,\"approvedAt\":\"x\"}",                         /* no balance */
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"DONE\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":null}",    /* DONE, never approved */
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"DONE\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":5}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"DONE\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":\"x\",\"method\":[]}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"ABORTED\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"failure\":\"REJECT\"}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"ABORTED\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"failure\":{\"message\":\"m\"}}",
			"{\"paymentKey\":\"k1\",\"paymentKey\":\"k2\",\"orderId\":\"o-000001\","
			"\"status\":\"DONE\",\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":\"x\"}",
			"{\"paymentKey\":\"k1\",\"orderId\":\"o-000001\",\"status\":\"DONE\","
			"\"totalAmount\":1,\"balanceAmount\":1,\"approvedAt\":\"2025-01-01T12:00:20+09:00 "
			"and a very long tail that does not fit\"}",
			"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]],\"paymentKey\":\"k1\","
			"\"orderId\":\"o-000001\",\"status\":\"DONE\",\"totalAmount\":1,"
			"\"balanceAmount\":1,\"approvedAt\":\"x\"}",                        /* too deep */
			NULL,
		};
		for (i = 0; broken[i] != NULL; i++) {
			ck_assert_msg(toss(PG_CALL_LOOKUP, NULL, 200, broken[i], &r) == PG_UNKNOWN,
			    "broken %zu", i);
			ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
			assert_empty_payment(&r);
		}
	}
	/* A NUL byte inside the body (len counts past it). */
	{
		static const char nul[] = "{\"paymentKey\":\"k1\0\",\"orderId\":\"o-000001\"}";

		ck_assert_int_eq(pg_toss_parse(PG_CALL_LOOKUP, NULL, 200, nul, sizeof(nul) - 1, &r),
		    PG_UNKNOWN);
	}
	/* Only len bytes are read: a valid payment cut short is unknown. */
	ck_assert_int_eq(pg_toss_parse(PG_CALL_CONFIRM, NULL, 200, toss_done_body(), 100, &r),
	    PG_UNKNOWN);
}
END_TEST

START_TEST(test_toss_lookup_statuses)
{
	struct pg_expect exp = { NULL, "order-000001", -1, -1 };
	struct pg_result r;

	ck_assert_int_eq(toss(PG_CALL_LOOKUP, &exp, 200,
	    "{\"paymentKey\":\"tfake_9\",\"orderId\":\"order-000001\",\"status\":\"ABORTED\","
	    "\"totalAmount\":5000,\"balanceAmount\":5000,\"approvedAt\":null,\"method\":null,"
	    "\"failure\":{\"code\":\"REJECT_CARD_COMPANY\",\"message\":\"카드사 거절\"}}", &r),
	    PG_OK);
	ck_assert_str_eq(r.status, "ABORTED");
	ck_assert_int_eq(r.state, PG_STATE_ABORTED);
	ck_assert_str_eq(r.code, "REJECT_CARD_COMPANY");
	ck_assert_str_eq(r.message, "카드사 거절");
	ck_assert_str_eq(r.payment_key, "tfake_9");
	ck_assert_str_eq(r.approved_at, "");
	ck_assert_str_eq(r.method, "");
	ck_assert_int_eq(toss(PG_CALL_LOOKUP, &exp, 200,
	    "{\"paymentKey\":\"tfake_9\",\"orderId\":\"order-000001\",\"status\":\"EXPIRED\","
	    "\"totalAmount\":5000,\"balanceAmount\":5000,"
	    "\"failure\":{\"code\":\"EXPIRED_PAYMENT\",\"message\":null}}", &r), PG_OK);
	ck_assert_str_eq(r.status, "EXPIRED");
	ck_assert_int_eq(r.state, PG_STATE_EXPIRED);
	ck_assert_str_eq(r.code, "EXPIRED_PAYMENT");
	ck_assert_int_eq(toss(PG_CALL_LOOKUP, &exp, 200,
	    "{\"paymentKey\":\"tfake_9\",\"orderId\":\"order-000001\",\"status\":\"IN_PROGRESS\","
	    "\"totalAmount\":5000,\"balanceAmount\":5000}", &r), PG_OK);
	ck_assert_str_eq(r.status, "IN_PROGRESS");
	ck_assert_int_eq(r.state, PG_STATE_OPEN);
	/* A lookup by order id answered with another order's payment. */
	ck_assert_int_eq(toss(PG_CALL_LOOKUP, &exp, 200,
	    "{\"paymentKey\":\"tfake_9\",\"orderId\":\"order-000002\",\"status\":\"DONE\","
	    "\"totalAmount\":5000,\"balanceAmount\":5000,\"approvedAt\":\"x\"}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);
}
END_TEST

START_TEST(test_toss_cancel)
{
	static const char partial[] =
	    "{\"paymentKey\":\"tfake_20250101120000AbCd1\",\"orderId\":\"order-20250101-0001\","
	    "\"status\":\"PARTIAL_CANCELED\",\"totalAmount\":15000,\"balanceAmount\":10000,"
	    "\"suppliedAmount\":9091,\"vat\":909,\"approvedAt\":\"2025-01-01T12:00:20+09:00\","
	    "\"method\":\"카드\",\"lastTransactionKey\":\"C0FFEE00000000000000000000000002\","
	    "\"cancels\":[{\"transactionKey\":\"C0FFEE00000000000000000000000002\","
	    "\"cancelReason\":\"고객 변심\",\"cancelAmount\":5000,\"refundableAmount\":10000,"
	    "\"canceledAt\":\"2025-01-02T09:00:00+09:00\",\"cancelStatus\":\"DONE\"}]}";
	struct pg_expect exp = { TOSS_KEY, NULL, -1, 10000 };
	struct pg_result r;

	ck_assert_int_eq(toss(PG_CALL_CANCEL, &exp, 200, partial, &r), PG_OK);
	ck_assert_str_eq(r.status, "PARTIAL_CANCELED");
	ck_assert_int_eq(r.state, PG_STATE_PARTIAL_CANCELED);
	ck_assert_int_eq(r.total_amount, 15000);
	ck_assert_int_eq(r.balance_amount, 10000);
	ck_assert_str_eq(r.order_id, TOSS_ORDER);
	/* Someone else's cancel answered for ours: the balance is not what ours leaves. */
	exp.balance_amount = 9000;
	ck_assert_int_eq(toss(PG_CALL_CANCEL, &exp, 200, partial, &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);
	exp.balance_amount = 10000;
	exp.payment_key = "tfake_other";
	ck_assert_int_eq(toss(PG_CALL_CANCEL, &exp, 200, partial, &r), PG_UNKNOWN);
}
END_TEST

/* ---- KakaoPay answers ------------------------------------------------------------------ */

START_TEST(test_kakao_ready)
{
	struct pg_expect exp = { NULL, "order-1", 2200, -1 };
	struct pg_result r;

	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 200,
	    "{\"tid\":\"T1234567890123456789\","
	    "\"next_redirect_app_url\":\"https://mockup-pg-web.kakao.com/v1/x/aInfo\","
	    "\"next_redirect_mobile_url\":\"https://mockup-pg-web.kakao.com/v1/x/mInfo\","
	    "\"next_redirect_pc_url\":\"https://mockup-pg-web.kakao.com/v1/x/info\","
	    "\"created_at\":\"2023-07-15T21:18:22\"}", &r), PG_OK);
	ck_assert_str_eq(r.payment_key, KAKAO_TID);
	ck_assert_str_eq(r.redirect_url, "https://mockup-pg-web.kakao.com/v1/x/info");
	ck_assert_str_eq(r.status, "READY");
	ck_assert_int_eq(r.state, PG_STATE_OPEN);
	ck_assert_str_eq(r.order_id, "order-1");
	ck_assert_int_eq(r.total_amount, 2200);
	ck_assert_int_eq(r.balance_amount, 0);
	ck_assert_int_eq(r.http_status, 200);

	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 200,
	    "{\"tid\":\"T1\",\"next_redirect_pc_url\":\"javascript:alert(1)\"}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
	assert_empty_payment(&r);
	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 200,
	    "{\"tid\":\"T1\",\"next_redirect_pc_url\":\"http://a/b c\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 200,
	    "{\"next_redirect_pc_url\":\"http://a/b\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 200,
	    "{\"tid\":1234,\"next_redirect_pc_url\":\"http://a/b\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 200, "{\"tid\":\"T1\"", &r), PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 500,
	    "{\"error_code\":-9798,\"error_message\":\"서비스 점검중\"}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, "-9798");
	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 400,
	    "{\"error_code\":-797,\"error_message\":\"한도 초과\"}", &r), PG_REFUSED);
	ck_assert_int_eq(kakao(PG_CALL_READY, &exp, 400,
	    "{\"error_code\":-2,\"error_message\":\"잘못된 요청\"}", &r), PG_REFUSED);
}
END_TEST

START_TEST(test_kakao_approve)
{
	struct pg_expect exp = { KAKAO_TID, "order-1", 2200, -1 };
	struct pg_result r;

	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, &exp, 200, KAKAO_APPROVED, &r), PG_OK);
	ck_assert_str_eq(r.status, "DONE");
	ck_assert_int_eq(r.state, PG_STATE_APPROVED);
	ck_assert_str_eq(r.payment_key, KAKAO_TID);
	ck_assert_str_eq(r.order_id, "order-1");
	ck_assert_int_eq(r.total_amount, 2200);
	ck_assert_int_eq(r.balance_amount, 2200);
	ck_assert_str_eq(r.approved_at, "2023-07-15T21:18:40");
	ck_assert_str_eq(r.method, "MONEY");
	exp.total_amount = 2300;
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, &exp, 200, KAKAO_APPROVED, &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);
	exp.total_amount = 2200;
	exp.order_id = "order-2";
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, &exp, 200, KAKAO_APPROVED, &r), PG_UNKNOWN);
	exp.order_id = "order-1";
	exp.payment_key = "T0000000000000000000";
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, &exp, 200, KAKAO_APPROVED, &r), PG_UNKNOWN);
	/* Hostile approvals. */
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, NULL, 200,
	    "{\"tid\":\"T1\",\"partner_order_id\":\"order-1\",\"amount\":{\"total\":\"2200\"},"
	    "\"approved_at\":\"x\"}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, NULL, 200,
	    "{\"tid\":\"T1\",\"partner_order_id\":\"order-1\",\"amount\":{\"total\":-2200},"
	    "\"approved_at\":\"x\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, NULL, 200,
	    "{\"tid\":\"T1\",\"partner_order_id\":\"order-1\",\"amount\":2200,"
	    "\"approved_at\":\"x\"}", &r), PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, NULL, 200,
	    "{\"tid\":\"T1\",\"partner_order_id\":\"order-1\",\"amount\":{\"total\":2200}}", &r),
	    PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, NULL, 200,
	    "{\"tid\":\"T1\",\"partner_order_id\":\"order-1\","
	    "\"amount\":{\"total\":123456789012345678901234567890},\"approved_at\":\"x\"}", &r),
	    PG_UNKNOWN);
	ck_assert_int_eq(kakao(PG_CALL_CONFIRM, NULL, 200,
	    "{\"tid\":\"T1\",\"partner_order_id\":\"order-1\",\"amount\":{\"total\":2200},"
	    "\"approved_at\":\"x\"", &r), PG_UNKNOWN);
	assert_empty_payment(&r);
}
END_TEST

struct kakao_case {
	enum pg_call call;
	long status;
	const char *body;
	enum pg_outcome want;
	const char *code;
};

START_TEST(test_kakao_error_classification)
{
	static const struct kakao_case cases[] = {
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-780,\"error_message\":\"approval failure!\","
		  "\"extras\":{\"method_result_code\":\"CARD_REJECTED\","
		  "\"method_result_message\":\"거절\"}}", PG_REFUSED, "-780" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-780,\"error_message\":\"approval failure!\","
		  "\"extras\":{\"method_result_code\":\"USER_LOCKED\","
		  "\"method_result_message\":\"진행중인 거래가 있습니다. 잠시 후 다시 시도해 주세요.\"}}",
		  PG_IN_PROGRESS, "-780" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-780,\"error_message\":\"approval failure!\"}",
		  PG_REFUSED, "-780" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-780,\"error_message\":\"x\","
		  "\"extras\":{\"method_result_code\":null}}", PG_REFUSED, "-780" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-702,\"error_message\":\"이미 승인\"}",
		  PG_DUPLICATE, "-702" },
		{ PG_CALL_CONFIRM, 500, "{\"error_code\":-702,\"error_message\":\"이미 승인\"}",
		  PG_DUPLICATE, "-702" },
		{ PG_CALL_CANCEL, 400, "{\"error_code\":-702,\"error_message\":\"x\"}",
		  PG_UNKNOWN, "-702" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-701,\"error_message\":\"인증 전\"}",
		  PG_REFUSED, "-701" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-705,\"error_message\":\"불일치\"}",
		  PG_REFUSED, "-705" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-721,\"error_message\":\"없는 TID\"}",
		  PG_REFUSED, "-721" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-723,\"error_message\":\"만료\"}",
		  PG_REFUSED, "-723" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-798,\"error_message\":\"x\"}",
		  PG_UNKNOWN, "-798" },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-12345,\"error_message\":\"새 코드\"}",
		  PG_UNKNOWN, "-12345" },
		{ PG_CALL_CONFIRM, 500, "{\"error_code\":-780,\"error_message\":\"x\"}",
		  PG_UNKNOWN, "-780" },
		{ PG_CALL_CONFIRM, 429, "{\"error_code\":-780,\"error_message\":\"x\"}",
		  PG_UNKNOWN, "-780" },
		{ PG_CALL_CONFIRM, 401, "{\"error_code\":-401,\"error_message\":\"키 오류\"}",
		  PG_NOT_SENT, "-401" },
		{ PG_CALL_CONFIRM, 401, "{\"msg\":\"this access token does not exist\",\"code\":-401}",
		  PG_NOT_SENT, "-401" },
		{ PG_CALL_CONFIRM, 502, "<html>Bad Gateway</html>", PG_UNKNOWN, PG_CODE_BAD_ANSWER },
		{ PG_CALL_CONFIRM, 400, "<html>Bad Request</html>", PG_UNKNOWN, PG_CODE_BAD_ANSWER },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":\"-780\",\"error_message\":\"x\"}",
		  PG_UNKNOWN, PG_CODE_BAD_ANSWER },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-780.0,\"error_message\":\"x\"}",
		  PG_UNKNOWN, PG_CODE_BAD_ANSWER },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-99999999999,\"error_message\":\"x\"}",
		  PG_UNKNOWN, PG_CODE_BAD_ANSWER },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-780}", PG_UNKNOWN, PG_CODE_BAD_ANSWER },
		{ PG_CALL_CONFIRM, 400, "{\"error_code\":-780,\"error_message\":\"x\"",
		  PG_UNKNOWN, PG_CODE_BAD_ANSWER },
		{ PG_CALL_CANCEL, 400, "{\"error_code\":-798,\"error_message\":\"취소 가능 금액 불일치\"}",
		  PG_REFUSED, "-798" },
		{ PG_CALL_CANCEL, 400, "{\"error_code\":-799,\"error_message\":\"취소 불가\"}",
		  PG_REFUSED, "-799" },
		{ PG_CALL_CANCEL, 400, "{\"error_code\":-721,\"error_message\":\"없는 TID\"}",
		  PG_REFUSED, "-721" },
		{ PG_CALL_CANCEL, 400, "{\"error_code\":-780,\"error_message\":\"x\"}",
		  PG_UNKNOWN, "-780" },
		{ PG_CALL_CANCEL, 500, "{\"error_code\":-9798,\"error_message\":\"점검\"}",
		  PG_UNKNOWN, "-9798" },
		{ PG_CALL_LOOKUP, 400, "{\"error_code\":-721,\"error_message\":\"없는 TID\"}",
		  PG_NOT_FOUND, "-721" },
		{ PG_CALL_LOOKUP, 404, "{\"error_code\":-721,\"error_message\":\"없는 TID\"}",
		  PG_NOT_FOUND, "-721" },
		{ PG_CALL_LOOKUP, 400, "{\"error_code\":-2,\"error_message\":\"x\"}",
		  PG_UNKNOWN, "-2" },
		{ PG_CALL_LOOKUP, 500, "{\"error_code\":-721,\"error_message\":\"x\"}",
		  PG_UNKNOWN, "-721" },
	};
	struct pg_result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0x5a, sizeof(r));
		ck_assert_msg(kakao(cases[i].call, NULL, cases[i].status, cases[i].body, &r) ==
		    cases[i].want, "case %zu: got %s", i, pg_outcome_name(r.outcome));
		ck_assert_str_eq(r.code, cases[i].code);
		ck_assert_int_eq(r.http_status, cases[i].status);
		assert_empty_payment(&r);
	}
}
END_TEST

START_TEST(test_kakao_cancel_and_order)
{
	static const char cancel[] =
	    "{\"aid\":\"A2\",\"tid\":\"T1234567890123456789\",\"cid\":\"TC0ONETIME\","
	    "\"status\":\"PART_CANCEL_PAYMENT\",\"partner_order_id\":\"order-1\","
	    "\"partner_user_id\":\"user-1\",\"payment_method_type\":\"CARD\","
	    "\"amount\":{\"total\":2200,\"tax_free\":0,\"vat\":200},"
	    "\"approved_cancel_amount\":{\"total\":1000},\"canceled_amount\":{\"total\":1000},"
	    "\"cancel_available_amount\":{\"total\":1200},\"item_name\":\"초코파이\","
	    "\"approved_at\":\"2023-07-15T21:18:40\",\"canceled_at\":\"2023-07-16T10:00:00\"}";
	static const char *const statuses[][2] = {
		{ "READY", "READY" }, { "SEND_TMS", "READY" }, { "OPEN_PAYMENT", "READY" },
		{ "SELECT_METHOD", "IN_PROGRESS" }, { "ARS_WAITING", "IN_PROGRESS" },
		{ "AUTH_PASSWORD", "IN_PROGRESS" }, { "SUCCESS_PAYMENT", "DONE" },
		{ "PART_CANCEL_PAYMENT", "PARTIAL_CANCELED" }, { "CANCEL_PAYMENT", "CANCELED" },
		{ "FAIL_AUTH_PASSWORD", "ABORTED" }, { "QUIT_PAYMENT", "ABORTED" },
		{ "FAIL_PAYMENT", "ABORTED" },
	};
	struct pg_expect exp = { KAKAO_TID, NULL, -1, 1200 };
	struct pg_expect look = { KAKAO_TID, "order-1", -1, -1 };
	char body[1024];
	struct pg_result r;
	size_t i;

	ck_assert_int_eq(kakao(PG_CALL_CANCEL, &exp, 200, cancel, &r), PG_OK);
	ck_assert_str_eq(r.status, "PARTIAL_CANCELED");
	ck_assert_int_eq(r.state, PG_STATE_PARTIAL_CANCELED);
	ck_assert_int_eq(r.total_amount, 2200);
	ck_assert_int_eq(r.balance_amount, 1200);
	ck_assert_str_eq(r.method, "CARD");
	exp.balance_amount = 1000;
	ck_assert_int_eq(kakao(PG_CALL_CANCEL, &exp, 200, cancel, &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		snprintf(body, sizeof(body),
		    "{\"tid\":\"T1234567890123456789\",\"cid\":\"TC0ONETIME\",\"status\":\"%s\","
		    "\"partner_order_id\":\"order-1\",\"partner_user_id\":\"user-1\","
		    "\"payment_method_type\":null,\"amount\":{\"total\":2200},"
		    "\"canceled_amount\":null,\"cancel_available_amount\":null,"
		    "\"approved_at\":null,\"item_name\":\"초코파이\"}", statuses[i][0]);
		ck_assert_int_eq(kakao(PG_CALL_LOOKUP, &look, 200, body, &r), PG_OK);
		ck_assert_str_eq(r.status, statuses[i][1]);
		ck_assert_int_eq(r.total_amount, 2200);
		ck_assert_int_eq(r.balance_amount, 0);
	}
	/* A cancel answer must say what is left; an order of another shop order is a mismatch;
	 * a status we do not know is unparsable. */
	ck_assert_int_eq(kakao(PG_CALL_CANCEL, NULL, 200,
	    "{\"tid\":\"T1\",\"status\":\"CANCEL_PAYMENT\",\"partner_order_id\":\"order-1\","
	    "\"amount\":{\"total\":2200}}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
	look.order_id = "order-2";
	snprintf(body, sizeof(body),
	    "{\"tid\":\"T1234567890123456789\",\"status\":\"SUCCESS_PAYMENT\","
	    "\"partner_order_id\":\"order-1\",\"amount\":{\"total\":2200},"
	    "\"cancel_available_amount\":{\"total\":2200},\"approved_at\":\"x\"}");
	ck_assert_int_eq(kakao(PG_CALL_LOOKUP, &look, 200, body, &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_MISMATCH);
	ck_assert_int_eq(kakao(PG_CALL_LOOKUP, NULL, 200,
	    "{\"tid\":\"T1\",\"status\":\"ISSUED_SID\",\"partner_order_id\":\"order-1\","
	    "\"amount\":{\"total\":2200}}", &r), PG_UNKNOWN);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ANSWER);
	ck_assert_int_eq(kakao(PG_CALL_LOOKUP, NULL, 200,
	    "{\"tid\":\"T1\",\"status\":\"SUCCESS_PAYMENT\",\"partner_order_id\":\"order-1\","
	    "\"amount\":{\"total\":2200},\"cancel_available_amount\":{\"total\":2201}}", &r),
	    PG_UNKNOWN);
	ck_assert_int_eq(kakao((enum pg_call)PG_CALL__MAX, NULL, 200, KAKAO_APPROVED, &r),
	    PG_UNKNOWN);
}
END_TEST

/* Toss's webhook is read in its own file too: well-formed events only, a known status. */
START_TEST(test_toss_event_parse)
{
	static const struct {
		const char *body;
		int rc;
		const char *order_id;
		enum pg_state state;
	} cases[] = {
		{ "{\"eventType\":\"PAYMENT_STATUS_CHANGED\",\"createdAt\":\"2024-01-01T00:00:00\","
		  "\"data\":{\"orderId\":\"order-123\",\"status\":\"DONE\",\"paymentKey\":\"k\","
		  "\"other\":[1]}}", 0, "order-123", PG_STATE_APPROVED },
		{ "{\"eventType\":\"PAYMENT_STATUS_CHANGED\",\"createdAt\":\"x\","
		  "\"data\":{\"orderId\":\"order-123\",\"status\":\"EXPIRED\"}}", 0, "order-123",
		  PG_STATE_EXPIRED },
		{ "{\"eventType\":\"DEPOSIT_CALLBACK\",\"createdAt\":\"x\",\"data\":{}}", 0, "",
		  PG_STATE_NONE },
		{ "{\"eventType\":\"PAYMENT_STATUS_CHANGED\",\"createdAt\":\"x\","
		  "\"data\":{\"orderId\":\"order-123\",\"status\":\"PAID_IN_FULL\"}}", -1, "",
		  PG_STATE_NONE },
		{ "{\"eventType\":\"PAYMENT_STATUS_CHANGED\",\"createdAt\":\"x\","
		  "\"data\":{\"orderId\":\"o\",\"status\":\"DONE\"}}", -1, "", PG_STATE_NONE },
		{ "{\"eventType\":\"PAYMENT_STATUS_CHANGED\",\"createdAt\":\"x\","
		  "\"data\":{\"orderId\":\"order-123\",\"status\":\"DONE\",\"paymentKey\":7}}", -1,
		  "", PG_STATE_NONE },
		{ "{\"eventType\":\"PAYMENT_STATUS_CHANGED\",\"createdAt\":\"\",\"data\":{}}", -1, "",
		  PG_STATE_NONE },
		{ "{\"eventType\":\"X\",\"createdAt\":\"x\",\"data\":{},\"more\":1}", -1, "",
		  PG_STATE_NONE },
		{ "[1]", -1, "", PG_STATE_NONE },
	};
	struct pg_toss_event ev;
	struct json_object *o;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = json_tokener_parse(cases[i].body);
		ck_assert_msg(pg_toss_event_parse(o, &ev) == cases[i].rc, "case %zu", i);
		if (cases[i].rc == 0) {
			ck_assert_str_eq(ev.order_id, cases[i].order_id);
			ck_assert_int_eq(ev.state, cases[i].state);
		}
		json_object_put(o);
	}
	ck_assert_int_eq(pg_toss_event_parse(NULL, &ev), -1);
}
END_TEST

Suite *
pg_suite(void)
{
	Suite *s = suite_create("pg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_enabled);
	tcase_add_test(tc, test_auth_header_and_base_url);
	tcase_add_test(tc, test_not_configured_and_not_supported);
	tcase_add_test(tc, test_bad_arguments_are_not_sent);
	tcase_add_test(tc, test_refused_connection_is_not_sent);
	tcase_add_test(tc, test_confirm_many_answers_each_in_its_slot);
	tcase_add_test(tc, test_copy_cuts_at_character_boundary);
	tcase_add_test(tc, test_kakaopay_status_words);
	tcase_add_test(tc, test_toss_confirm_done);
	tcase_add_test(tc, test_toss_confirm_mismatch_is_unknown);
	tcase_add_test(tc, test_toss_error_classification);
	tcase_add_test(tc, test_toss_error_bodies_hostile);
	tcase_add_test(tc, test_toss_payment_hostile);
	tcase_add_test(tc, test_toss_lookup_statuses);
	tcase_add_test(tc, test_toss_cancel);
	tcase_add_test(tc, test_kakao_ready);
	tcase_add_test(tc, test_kakao_approve);
	tcase_add_test(tc, test_kakao_error_classification);
	tcase_add_test(tc, test_kakao_cancel_and_order);
	tcase_add_test(tc, test_toss_event_parse);
	suite_add_tcase(s, tc);
	return s;
}
