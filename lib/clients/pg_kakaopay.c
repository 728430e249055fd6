/* pg_kakaopay: the KakaoPay online single-payment strategy (new API, open-api.kakaopay.com;
 * contract: pg-api-contracts.md section 2): ready, approve (pg_confirm), cancel, order
 * (pg_lookup, by tid only).
 *
 * Requests: "Authorization: SECRET_KEY <secret>", JSON bodies, the cid from the config.
 * KakaoPay has no Idempotency-Key: the idempotency_key of a request is not sent. A retried
 * approve cannot charge twice because a tid and its pg_token are single-use (a second approve
 * of an approved tid is an error, -702 below); a retried cancel cannot refund twice because
 * cancel_available_amount (what we believe is still cancelable) must match the PG's.
 *
 * KakaoPay's statuses are reported in Toss's words (pg_kakaopay_status):
 *   READY, SEND_TMS, OPEN_PAYMENT -> READY       SELECT_METHOD, ARS_WAITING, AUTH_PASSWORD
 *   SUCCESS_PAYMENT -> DONE                       -> IN_PROGRESS
 *   PART_CANCEL_PAYMENT -> PARTIAL_CANCELED       CANCEL_PAYMENT -> CANCELED
 *   FAIL_AUTH_PASSWORD, QUIT_PAYMENT, FAIL_PAYMENT -> ABORTED   (ISSUED_SID: not ours)
 *
 * How an answer is classified (pg_kakaopay_parse). KakaoPay's full error table is not public;
 * the numbers are those the fake PG (tests/fakes/pg.py) answers, after the legacy Kakao
 * Developers table, and -780 (documented):
 *   no answer: connect failed, bad URL                               -> PG_NOT_SENT
 *              timeout after sending, reset, answer too big          -> PG_UNKNOWN
 *   200:
 *     ready    a tid and an http(s) next_redirect_pc_url             -> PG_OK (status READY)
 *     approve  the tid, partner_order_id and amount.total sent       -> PG_OK (status DONE)
 *     cancel   the tid sent, CANCEL_PAYMENT or PART_CANCEL_PAYMENT,
 *              cancel_available_amount.total = cancelable - amount   -> PG_OK
 *     order    the tid (and partner_order_id) asked about, a known status -> PG_OK
 *     another tid, order, amount or status          -> PG_UNKNOWN (JT_ANSWER_MISMATCH)
 *     not JSON, a field missing, mistyped or out of range            -> PG_UNKNOWN (JT_BAD_ANSWER)
 *   401 (any body, -401 invalid SECRET_KEY): nothing was done       -> PG_NOT_SENT
 *   4xx {"error_code","error_message"}:
 *     approve -780 with extras.method_result_code USER_LOCKED (another approve of the tid is
 *             still running)                                         -> PG_IN_PROGRESS
 *     ready   -2 bad parameter, -797 over the amount limit           -> PG_REFUSED
 *     approve -2, -701 not authenticated / wrong pg_token, -705 ids or amount differ from
 *             ready, -721 no such tid, -723 expired, -780 approval failure, -797 -> PG_REFUSED
 *     cancel  -2, -721, -798 cancel_available_amount differs or amount too big,
 *             -799 not cancelable (not approved, already cancelled)  -> PG_REFUSED
 *     order   -721 no such tid                                       -> PG_NOT_FOUND
 *     approve -702 (already approved: our earlier approve may have gone through), at any
 *     status                                                         -> PG_DUPLICATE
 *     anything else, a code we do not know, 429                     -> PG_UNKNOWN
 *   5xx, any other status, an error body that is not well-formed     -> PG_UNKNOWN
 * Unknown members of an answer are ignored; the ones we read are strict. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "infra/http.h"
#include "base/money.h"
#include "clients/pg.h"
#include "clients/pg_impl.h"
#include "base/valid.h"

#define KAKAO_ID_MAX 100        /* partner_user_id, item_name (characters) */
#define KAKAO_ORDER_MAX 64      /* partner_order_id: KakaoPay allows 100, pg_result holds 64 */
#define KAKAO_TID_MAX 200       /* tid: 20 characters in practice; payment_key's capacity */
#define KAKAO_TOKEN_MAX 200     /* pg_token */
#define KAKAO_URL_MAX 255       /* approval_url, cancel_url, fail_url */
#define KAKAO_PAYLOAD_MAX 200   /* payload (the cancel reason), characters */
#define KAKAO_MESSAGE_MAX 4096  /* bytes of an error message we accept (then cut to fit) */
#define KAKAO_CODE_MIN (-999999)
#define KAKAO_CODE_MAX 999999

/* Which error codes refuse which call (see the top comment). */
static const struct {
	int64_t code;
	bool refuses[PG_CALL__MAX];   /* READY, CONFIRM, CANCEL, LOOKUP */
} kakao_refusals[] = {
	{ -2,   { true, true, true, false } },
	{ -701, { false, true, false, false } },
	{ -705, { false, true, false, false } },
	{ -721, { false, true, true, false } },
	{ -723, { false, true, false, false } },
	{ -780, { false, true, false, false } },
	{ -797, { true, true, false, false } },
	{ -798, { false, false, true, false } },
	{ -799, { false, false, true, false } },
};

/* Approve error codes that say the tid was approved before: our own earlier approve may
 * have gone through with its answer lost (PG_DUPLICATE: look it up). */
static const int64_t kakao_confirm_duplicates[] = { -702 };

/* KakaoPay's status words, in Toss's words and as a state (see the top comment). */
static const struct {
	const char *kakao;
	const char *toss;
	enum pg_state state;
} kakao_statuses[] = {
	{ "READY", "READY", PG_STATE_OPEN }, { "SEND_TMS", "READY", PG_STATE_OPEN },
	{ "OPEN_PAYMENT", "READY", PG_STATE_OPEN },
	{ "SELECT_METHOD", "IN_PROGRESS", PG_STATE_OPEN },
	{ "ARS_WAITING", "IN_PROGRESS", PG_STATE_OPEN },
	{ "AUTH_PASSWORD", "IN_PROGRESS", PG_STATE_OPEN },
	{ "SUCCESS_PAYMENT", "DONE", PG_STATE_APPROVED },
	{ "PART_CANCEL_PAYMENT", "PARTIAL_CANCELED", PG_STATE_PARTIAL_CANCELED },
	{ "CANCEL_PAYMENT", "CANCELED", PG_STATE_CANCELED },
	{ "FAIL_AUTH_PASSWORD", "ABORTED", PG_STATE_ABORTED },
	{ "QUIT_PAYMENT", "ABORTED", PG_STATE_ABORTED },
	{ "FAIL_PAYMENT", "ABORTED", PG_STATE_ABORTED },
};

/* The row of kakao_status in kakao_statuses, or -1 for a word we do not know. */
static int
kakao_status_row(const char *kakao_status)
{
	size_t i;

	if (kakao_status == NULL)
		return -1;
	for (i = 0; i < sizeof(kakao_statuses) / sizeof(kakao_statuses[0]); i++) {
		if (strcmp(kakao_statuses[i].kakao, kakao_status) == 0)
			return (int)i;
	}
	return -1;
}

const char *
pg_kakaopay_status(const char *kakao_status)
{
	int row = kakao_status_row(kakao_status);

	return row < 0 ? NULL : kakao_statuses[row].toss;
}

/* Classifies a non-200 answer: {"error_code": int, "error_message": str, "extras": {}}. */
static enum pg_outcome
kakao_error(enum pg_call call, long status, struct json_object *o, struct pg_result *out)
{
	struct json_object *extras;
	char msg[sizeof(out->message)], method_code[64], codes[sizeof(out->code)];
	int64_t code;
	size_t i;

	if (o == NULL || pg_json_int(o, "error_code", KAKAO_CODE_MIN, KAKAO_CODE_MAX, &code) != 0 ||
	    pg_json_str(o, "error_message", false, KAKAO_MESSAGE_MAX, msg, sizeof(msg)) != 0) {
		if (status == 401)
			return pg_set(out, PG_NOT_SENT, "-401", "authentication failed");
		return pg_set(out, PG_UNKNOWN, PG_CODE_BAD_ANSWER,
		    status >= 500 && status <= 599 ? "server error" : "unexpected answer");
	}
	snprintf(codes, sizeof(codes), "%" PRId64, code);
	pg_set(out, PG_UNKNOWN, codes, msg);
	if (status == 401)
		return pg_set(out, PG_NOT_SENT, codes, msg);
	for (i = 0; call == PG_CALL_CONFIRM && i < sizeof(kakao_confirm_duplicates) /
	    sizeof(kakao_confirm_duplicates[0]); i++) {
		if (kakao_confirm_duplicates[i] == code)
			return pg_set(out, PG_DUPLICATE, codes, msg);
	}
	if (status < 400 || status > 499 || status == 409 || status == 429)
		return out->outcome;
	if (call == PG_CALL_LOOKUP && code == -721)
		return pg_set(out, PG_NOT_FOUND, codes, msg);
	if (call == PG_CALL_CONFIRM && code == -780 &&
	    json_object_object_get_ex(o, "extras", &extras) &&
	    json_object_is_type(extras, json_type_object) &&
	    pg_json_str(extras, "method_result_code", true, sizeof(method_code) - 1, method_code,
	    sizeof(method_code)) == 0 && strcmp(method_code, "USER_LOCKED") == 0)
		return pg_set(out, PG_IN_PROGRESS, codes, msg);
	for (i = 0; i < sizeof(kakao_refusals) / sizeof(kakao_refusals[0]); i++) {
		if (kakao_refusals[i].code == code && kakao_refusals[i].refuses[call])
			return pg_set(out, PG_REFUSED, codes, msg);
	}
	return out->outcome;
}

/* The "total" of an amount object member: 0 stored, 1 absent or null, -1 malformed. */
static int
kakao_total(struct json_object *o, const char *key, int64_t *total)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 1;
	if (!json_object_is_type(v, json_type_object))
		return -1;
	return pg_json_int(v, "total", 0, MONEY_MAX, total) == 0 ? 0 : -1;
}

/* An absolute http(s) URL without spaces or control bytes. */
static bool
kakao_url_ok(const char *s, size_t max)
{
	return pg_word_ok(s, max) &&
	    (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

/* ready: {"tid", "next_redirect_pc_url", ..., "created_at"}. */
static int
kakao_ready_answer(struct json_object *o, const struct pg_expect *exp, struct pg_result *out)
{
	if (pg_json_str(o, "tid", false, KAKAO_TID_MAX, out->payment_key,
	    sizeof(out->payment_key)) != 0 || !pg_word_ok(out->payment_key, KAKAO_TID_MAX))
		return -1;
	if (pg_json_str(o, "next_redirect_pc_url", false, sizeof(out->redirect_url) - 1,
	    out->redirect_url, sizeof(out->redirect_url)) != 0 ||
	    !kakao_url_ok(out->redirect_url, sizeof(out->redirect_url) - 1))
		return -1;
	pg_copy(out->status, sizeof(out->status), "READY");
	out->state = PG_STATE_OPEN;
	if (exp->order_id != NULL)
		pg_copy(out->order_id, sizeof(out->order_id), exp->order_id);
	if (exp->total_amount > 0)
		out->total_amount = exp->total_amount;
	return 0;
}

/* approve, cancel and order answers: the members they share. */
static int
kakao_payment_answer(enum pg_call call, struct json_object *o, struct pg_result *out)
{
	char kstatus[32];
	int has, row;

	if (pg_json_str(o, "tid", false, KAKAO_TID_MAX, out->payment_key,
	    sizeof(out->payment_key)) != 0 || !pg_word_ok(out->payment_key, KAKAO_TID_MAX))
		return -1;
	if (pg_json_str(o, "partner_order_id", false, sizeof(out->order_id) - 1, out->order_id,
	    sizeof(out->order_id)) != 0 || !pg_word_ok(out->order_id, sizeof(out->order_id) - 1))
		return -1;
	if (kakao_total(o, "amount", &out->total_amount) != 0)
		return -1;
	if (pg_json_str(o, "approved_at", true, sizeof(out->approved_at) - 1, out->approved_at,
	    sizeof(out->approved_at)) < 0 ||
	    pg_json_str(o, "payment_method_type", true, sizeof(out->method) - 1, out->method,
	    sizeof(out->method)) < 0)
		return -1;
	if (call == PG_CALL_CONFIRM) {
		/* The approval object has no status: an approval is DONE by definition. */
		if (out->approved_at[0] == '\0')
			return -1;
		pg_copy(out->status, sizeof(out->status), "DONE");
		out->state = PG_STATE_APPROVED;
		out->balance_amount = out->total_amount;
		return 0;
	}
	if (pg_json_str(o, "status", false, sizeof(kstatus) - 1, kstatus, sizeof(kstatus)) != 0)
		return -1;
	row = kakao_status_row(kstatus);
	if (row < 0)
		return -1;
	pg_copy(out->status, sizeof(out->status), kakao_statuses[row].toss);
	out->state = kakao_statuses[row].state;
	has = kakao_total(o, "cancel_available_amount", &out->balance_amount);
	if (has < 0 || (has == 1 && call == PG_CALL_CANCEL) || out->balance_amount > out->total_amount)
		return -1;
	return 0;
}

static enum pg_outcome
kakao_check(enum pg_call call, const struct pg_expect *exp, struct pg_result *out)
{
	bool ok = true;

	if (exp->payment_key != NULL && strcmp(exp->payment_key, out->payment_key) != 0)
		ok = false;
	if (call != PG_CALL_READY && exp->order_id != NULL &&
	    strcmp(exp->order_id, out->order_id) != 0)
		ok = false;
	if (call == PG_CALL_CONFIRM && exp->total_amount >= 0 &&
	    out->total_amount != exp->total_amount)
		ok = false;
	if (call == PG_CALL_CANCEL && ((out->state != PG_STATE_CANCELED &&
	    out->state != PG_STATE_PARTIAL_CANCELED) ||
	    (exp->balance_amount >= 0 && out->balance_amount != exp->balance_amount)))
		ok = false;
	if (!ok)
		return pg_set(out, PG_UNKNOWN, PG_CODE_MISMATCH,
		    "the answer is not about the payment asked for");
	out->outcome = PG_OK;
	return PG_OK;
}

enum pg_outcome
pg_kakaopay_parse(enum pg_call call, const struct pg_expect *exp, long status,
    const char *body, size_t len, struct pg_result *out)
{
	static const struct pg_expect none = PG_EXPECT_NONE;
	struct json_object *o;
	enum pg_outcome rc;
	int bad;

	memset(out, 0, sizeof(*out));
	out->http_status = status;
	if (exp == NULL)
		exp = &none;
	if ((unsigned)call >= PG_CALL__MAX)
		return pg_set(out, PG_UNKNOWN, PG_CODE_BAD_ANSWER, "unknown call");
	o = pg_json_object(body, len);
	if (status != 200) {
		rc = kakao_error(call, status, o, out);
		json_object_put(o);
		return rc;
	}
	if (o == NULL)
		bad = -1;
	else if (call == PG_CALL_READY)
		bad = kakao_ready_answer(o, exp, out);
	else
		bad = kakao_payment_answer(call, o, out);
	json_object_put(o);
	if (bad != 0) {
		memset(out, 0, sizeof(*out));
		out->http_status = status;
		return pg_set(out, PG_UNKNOWN, PG_CODE_BAD_ANSWER, "unparsable answer");
	}
	return kakao_check(call, exp, out);
}

/* ---- requests ------------------------------------------------------------------------ */

/* KakaoPay's call to path with body (the cid added): a POST without Idempotency-Key, which
 * KakaoPay has none of (see the top comment). */
static struct pg_call_spec
kakao_spec(struct pg *p, enum pg_call call, const struct pg_expect *exp, const char *path,
    struct json_object *body)
{
	json_object_object_add(body, "cid", json_object_new_string(p->cid));
	return (struct pg_call_spec){ call, "POST", path, pg_json_text(body), NULL, *exp };
}

static int
kakao_send(struct pg *p, enum pg_call call, const struct pg_expect *exp, const char *path,
    struct json_object *body, struct pg_result *out)
{
	struct pg_call_spec spec = kakao_spec(p, call, exp, path, body);

	return pg_send(p, &spec, out);
}

static bool
kakao_text_ok(const char *s, size_t max_chars)
{
	return s != NULL && valid_text(s, strlen(s), max_chars, false);
}

static int
kakao_ready(struct pg *p, const struct pg_ready_req *req, struct pg_result *out)
{
	struct pg_expect exp = { NULL, req->order_id, req->amount, -1 };
	struct json_object *body;
	int rc;

	if (!pg_word_ok(req->order_id, KAKAO_ORDER_MAX) ||
	    !pg_word_ok(req->user_ref, KAKAO_ID_MAX) ||
	    !kakao_text_ok(req->order_name, KAKAO_ID_MAX) || req->quantity < 1 ||
	    req->amount < 1 || req->amount > MONEY_MAX ||
	    !kakao_url_ok(req->approval_url, KAKAO_URL_MAX) ||
	    !kakao_url_ok(req->cancel_url, KAKAO_URL_MAX) ||
	    !kakao_url_ok(req->fail_url, KAKAO_URL_MAX))
		return (int)pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "invalid ready request");
	body = json_object_new_object();
	json_object_object_add(body, "partner_order_id", json_object_new_string(req->order_id));
	json_object_object_add(body, "partner_user_id", json_object_new_string(req->user_ref));
	json_object_object_add(body, "item_name", json_object_new_string(req->order_name));
	json_object_object_add(body, "quantity", json_object_new_int(req->quantity));
	json_object_object_add(body, "total_amount", json_object_new_int64(req->amount));
	json_object_object_add(body, "tax_free_amount", json_object_new_int64(0));
	json_object_object_add(body, "approval_url", json_object_new_string(req->approval_url));
	json_object_object_add(body, "cancel_url", json_object_new_string(req->cancel_url));
	json_object_object_add(body, "fail_url", json_object_new_string(req->fail_url));
	rc = kakao_send(p, PG_CALL_READY, &exp, "/online/v1/payment/ready", body, out);
	json_object_put(body);
	return rc;
}

static int
kakao_approve_prepare(struct pg *p, const struct pg_confirm_req *req, struct pg_call_spec *spec,
    struct pg_result *out)
{
	struct pg_expect exp = { req->payment_key, req->order_id, req->amount, -1 };
	struct json_object *body;

	if (!pg_word_ok(req->payment_key, KAKAO_TID_MAX) ||
	    !pg_word_ok(req->order_id, KAKAO_ORDER_MAX) || !pg_word_ok(req->user_ref, KAKAO_ID_MAX) ||
	    !pg_word_ok(req->pg_token, KAKAO_TOKEN_MAX) || req->amount < 1 ||
	    req->amount > MONEY_MAX) {
		pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "invalid approve request");
		return -1;
	}
	body = json_object_new_object();
	json_object_object_add(body, "tid", json_object_new_string(req->payment_key));
	json_object_object_add(body, "partner_order_id", json_object_new_string(req->order_id));
	json_object_object_add(body, "partner_user_id", json_object_new_string(req->user_ref));
	json_object_object_add(body, "pg_token", json_object_new_string(req->pg_token));
	json_object_object_add(body, "total_amount", json_object_new_int64(req->amount));
	*spec = kakao_spec(p, PG_CALL_CONFIRM, &exp, "/online/v1/payment/approve", body);
	json_object_put(body);
	return 0;
}

static int
kakao_cancel(struct pg *p, const struct pg_cancel_req *req, struct pg_result *out)
{
	struct pg_expect exp = { req->payment_key, NULL, -1, -1 };
	struct json_object *body;
	int rc;

	if (!pg_word_ok(req->payment_key, KAKAO_TID_MAX) || req->amount < 1 ||
	    req->cancelable > MONEY_MAX || req->amount > req->cancelable ||
	    !kakao_text_ok(req->reason, KAKAO_PAYLOAD_MAX))
		return (int)pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "invalid cancel request");
	exp.balance_amount = req->cancelable - req->amount;
	body = json_object_new_object();
	json_object_object_add(body, "tid", json_object_new_string(req->payment_key));
	json_object_object_add(body, "cancel_amount", json_object_new_int64(req->amount));
	json_object_object_add(body, "cancel_tax_free_amount", json_object_new_int64(0));
	json_object_object_add(body, "cancel_available_amount",
	    json_object_new_int64(req->cancelable));
	json_object_object_add(body, "payload", json_object_new_string(req->reason));
	rc = kakao_send(p, PG_CALL_CANCEL, &exp, "/online/v1/payment/cancel", body, out);
	json_object_put(body);
	return rc;
}

static int
kakao_order(struct pg *p, const struct pg_lookup_req *req, struct pg_result *out)
{
	struct pg_expect exp = { req->payment_key, req->order_id, -1, -1 };
	struct json_object *body;
	int rc;

	if (!pg_word_ok(req->payment_key, KAKAO_TID_MAX) ||
	    (req->order_id != NULL && !pg_word_ok(req->order_id, KAKAO_ORDER_MAX)))
		return (int)pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT,
		    "a KakaoPay lookup needs the tid");
	body = json_object_new_object();
	json_object_object_add(body, "tid", json_object_new_string(req->payment_key));
	rc = kakao_send(p, PG_CALL_LOOKUP, &exp, "/online/v1/payment/order", body, out);
	json_object_put(body);
	return rc;
}

const struct pg_ops pg_kakaopay_ops = {
	"kakaopay",
	kakao_ready,
	kakao_approve_prepare,
	kakao_cancel,
	kakao_order,
	pg_kakaopay_parse,
};
