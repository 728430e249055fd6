/* pg_toss: the Toss Payments core API v1 strategy (contract: pg-api-contracts.md section 1):
 * confirm, full and partial cancel, lookup by paymentKey or orderId; no server-side ready
 * (the browser opens the payment window itself); and, outside the strategy interface, the
 * settlement records of a day (GET /v1/settlements) for reconciliation.
 *
 * Requests: Basic auth ("<secret>:" in base64), JSON bodies, an Idempotency-Key header on
 * every POST when the caller gives one (confirm and cancel; a retry with the same key gets the
 * first answer back, a retry while the first is still running gets 409). Cancels always send
 * cancelAmount and refundableAmount (= what we believe is still cancelable), so two racing
 * cancels cannot both pass.
 *
 * How an answer is classified (pg_toss_parse):
 *   no answer: connect failed, bad URL                               -> PG_NOT_SENT
 *              timeout after sending, reset, answer too big          -> PG_UNKNOWN
 *   200 with a Payment object (its status word also classified into an enum pg_state:
 *   READY, IN_PROGRESS, WAITING_FOR_DEPOSIT -> open; DONE -> approved; ABORTED; EXPIRED;
 *   CANCELED; PARTIAL_CANCELED):
 *     confirm  status DONE, the paymentKey, orderId, totalAmount sent -> PG_OK
 *     cancel   status CANCELED or PARTIAL_CANCELED, the paymentKey sent and
 *              balanceAmount = cancelable - amount                    -> PG_OK
 *     lookup   any status, the paymentKey / orderId asked about      -> PG_OK (status says)
 *     another status, key, order or amount          -> PG_UNKNOWN (JT_ANSWER_MISMATCH)
 *     not JSON, a field missing, mistyped or out of range, an unknown status word
 *                                                                    -> PG_UNKNOWN (JT_BAD_ANSWER)
 *   409 IDEMPOTENT_REQUEST_PROCESSING                                -> PG_IN_PROGRESS
 *   401 (any body), UNAUTHORIZED_KEY, INVALID_API_KEY, INCORRECT_BASIC_AUTH_FORMAT,
 *   INVALID_IDEMPOTENCY_KEY: our configuration, the PG did nothing  -> PG_NOT_SENT
 *   lookup 404 NOT_FOUND_PAYMENT or NOT_FOUND                        -> PG_NOT_FOUND
 *   confirm 4xx with a code of toss_confirm_refusals below (card refused, limits, amount or
 *   request invalid, unknown paymentKey, auth session expired ...)   -> PG_REFUSED
 *   cancel 4xx with a code of toss_cancel_refusals (already cancelled, refundableAmount
 *   disagrees, amount not cancelable, partial not allowed ...)      -> PG_REFUSED
 *   confirm ALREADY_PROCESSED_PAYMENT (our earlier confirm may have gone through),
 *   DUPLICATED_ORDER_ID (the order may be paid under another key), at any status
 *                                                                    -> PG_DUPLICATE
 *   everything else                                                  -> PG_UNKNOWN, notably:
 *     PROVIDER_ERROR (400, "retry"), UNAPPROVED_ORDER_ID, FORBIDDEN_CONSECUTIVE_REQUEST, 429, every 5xx
 *     (FAILED_INTERNAL_SYSTEM_PROCESSING, FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING,
 *     UNKNOWN_PAYMENT_ERROR, COMMON_ERROR, ...), a code we do not know, a refusal code with a
 *     status outside 4xx, a 4xx without a well-formed {"code","message"}, any other status.
 * Unknown members of an answer are ignored (Toss adds fields); the ones we read are strict. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/buf.h"
#include "base/esc.h"
#include "infra/http.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/money.h"
#include "clients/pg.h"
#include "clients/pg_impl.h"
#include "base/valid.h"

#define TOSS_KEY_MAX 200       /* paymentKey */
#define TOSS_ORDER_MAX 64      /* orderId */
#define TOSS_ORDER_MIN 6
#define TOSS_REASON_MAX 200    /* cancelReason, characters */
#define TOSS_MESSAGE_MAX 4096  /* bytes of an error message we accept (then cut to fit) */

/* Confirm error codes that mean this payment was not and will not be approved. */
static const char *const toss_confirm_refusals[] = {
	"INVALID_REQUEST", "INVALID_REJECT_CARD", "INVALID_CARD_EXPIRATION",
	"INVALID_STOPPED_CARD", "INVALID_CARD_LOST_OR_STOLEN", "INVALID_CARD_NUMBER",
	"NOT_SUPPORTED_CARD_TYPE", "NOT_REGISTERED_CARD_COMPANY", "BELOW_MINIMUM_AMOUNT",
	"EXCEED_MAX_CARD_INSTALLMENT_PLAN", "INVALID_CARD_INSTALLMENT_PLAN",
	"NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT", "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN",
	"NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT", "EXCEED_MAX_DAILY_PAYMENT_COUNT",
	"EXCEED_MAX_PAYMENT_AMOUNT", "EXCEED_MAX_AMOUNT", "EXCEED_MAX_ONE_DAY_WITHDRAW_AMOUNT",
	"EXCEED_MAX_ONE_TIME_WITHDRAW_AMOUNT", "CARD_PROCESSING_ERROR", "NOT_AVAILABLE_PAYMENT",
	"INVALID_AUTHORIZE_AUTH", "NOT_FOUND_TERMINAL_ID", "RESTRICTED_TRANSFER_ACCOUNT",
	"INVALID_UNREGISTERED_SUBMALL", "NOT_REGISTERED_BUSINESS",
	"INVALID_ACCOUNT_INFO_RE_REGISTER", "NOT_ALLOWED_POINT_USE", "INVALID_EMAIL",
	"INVALID_REQUIRED_PARAM", "INVALID_BILL_KEY_REQUEST", "NOT_MATCHES_CUSTOMER_KEY",
	"REJECT_CARD_PAYMENT", "REJECT_CARD_COMPANY", "REJECT_ACCOUNT_PAYMENT", "FORBIDDEN_REQUEST",
	"EXCEED_MAX_AUTH_COUNT", "EXCEED_MAX_ONE_DAY_AMOUNT", "NOT_AVAILABLE_BANK",
	"INVALID_PASSWORD", "FDS_ERROR", "REJECT_TOSSPAY_INVALID_ACCOUNT", "NOT_FOUND_PAYMENT",
	"NOT_FOUND_PAYMENT_SESSION", NULL,
};

/* Cancel error codes that mean this cancel was not and will not be done. */
static const char *const toss_cancel_refusals[] = {
	"ALREADY_CANCELED_PAYMENT", "ALREADY_REFUND_PAYMENT", "NOT_MATCHES_REFUNDABLE_AMOUNT",
	"EXCEED_CANCEL_AMOUNT_DISCOUNT_AMOUNT", "INVALID_REFUND_ACCOUNT_INFO",
	"INVALID_REFUND_ACCOUNT_NUMBER", "INVALID_BANK", "FORBIDDEN_BANK_REFUND_REQUEST",
	"REFUND_REJECTED", "INVALID_REQUEST", "NOT_CANCELABLE_AMOUNT", "NOT_CANCELABLE_PAYMENT",
	"NOT_ALLOWED_PARTIAL_REFUND", "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
	"EXCEED_MAX_REFUND_DUE", "EXCEED_CANCEL_LIMIT", "FORBIDDEN_REQUEST", "NOT_AVAILABLE_BANK",
	"NOT_CANCELABLE_PAYMENT_FOR_DORMANT_USER", "NOT_FOUND_PAYMENT", NULL,
};

/* Codes that say our request never got past authentication: nothing was done. */
static const char *const toss_config_errors[] = {
	"UNAUTHORIZED_KEY", "INVALID_API_KEY", "INCORRECT_BASIC_AUTH_FORMAT",
	"INVALID_IDEMPOTENCY_KEY", NULL,
};

/* Confirm error codes that say this payment or order was processed before: our own earlier
 * confirm may have gone through with its answer lost (PG_DUPLICATE: look it up). */
static const char *const toss_confirm_duplicates[] = {
	"ALREADY_PROCESSED_PAYMENT", "DUPLICATED_ORDER_ID", NULL,
};

/* Every payment status of section 1.4, and what it says of the payment. */
static const struct {
	const char *word;
	enum pg_state state;
} toss_statuses[] = {
	{ "READY", PG_STATE_OPEN }, { "IN_PROGRESS", PG_STATE_OPEN },
	{ "WAITING_FOR_DEPOSIT", PG_STATE_OPEN }, { "DONE", PG_STATE_APPROVED },
	{ "CANCELED", PG_STATE_CANCELED }, { "PARTIAL_CANCELED", PG_STATE_PARTIAL_CANCELED },
	{ "ABORTED", PG_STATE_ABORTED }, { "EXPIRED", PG_STATE_EXPIRED },
};

/* The state Toss's status word says, or -1 for a word we do not know. */
static int
toss_state(const char *word, enum pg_state *out)
{
	size_t i;

	for (i = 0; i < sizeof(toss_statuses) / sizeof(toss_statuses[0]); i++) {
		if (strcmp(toss_statuses[i].word, word) == 0) {
			*out = toss_statuses[i].state;
			return 0;
		}
	}
	return -1;
}

static bool
toss_in(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], s) == 0)
			return true;
	}
	return false;
}

/* An error code as Toss spells them: 1..63 of [A-Z0-9_]. */
static bool
toss_code_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return i > 0 && i < sizeof(((struct pg_result *)0)->code);
}

/* Classifies a non-200 answer: {"code","message"} with the HTTP status. */
static enum pg_outcome
toss_error(enum pg_call call, long status, struct json_object *o, struct pg_result *out)
{
	char code[64], msg[sizeof(out->message)];
	bool client_error = status >= 400 && status <= 499;

	if (o == NULL || pg_json_str(o, "code", false, sizeof(code) - 1, code, sizeof(code)) != 0 ||
	    !toss_code_ok(code) ||
	    pg_json_str(o, "message", false, TOSS_MESSAGE_MAX, msg, sizeof(msg)) != 0) {
		/* A 401 from anyone means the request went no further. */
		if (status == 401)
			return pg_set(out, PG_NOT_SENT, "UNAUTHORIZED_KEY", "authentication failed");
		if (status >= 500 && status <= 599)
			return pg_set(out, PG_UNKNOWN, PG_CODE_BAD_ANSWER, "server error");
		return pg_set(out, PG_UNKNOWN, PG_CODE_BAD_ANSWER, "unexpected answer");
	}
	pg_set(out, PG_UNKNOWN, code, msg);
	if (status == 409 && strcmp(code, "IDEMPOTENT_REQUEST_PROCESSING") == 0)
		out->outcome = PG_IN_PROGRESS;
	else if (status == 401 || (client_error && toss_in(toss_config_errors, code)))
		out->outcome = PG_NOT_SENT;
	else if (call == PG_CALL_LOOKUP && status == 404 &&
	    (strcmp(code, "NOT_FOUND_PAYMENT") == 0 || strcmp(code, "NOT_FOUND") == 0))
		out->outcome = PG_NOT_FOUND;
	else if (call == PG_CALL_CONFIRM && client_error && status != 409 && status != 429 &&
	    toss_in(toss_confirm_refusals, code))
		out->outcome = PG_REFUSED;
	else if (call == PG_CALL_CANCEL && client_error && status != 409 && status != 429 &&
	    toss_in(toss_cancel_refusals, code))
		out->outcome = PG_REFUSED;
	else if (call == PG_CALL_CONFIRM && toss_in(toss_confirm_duplicates, code))
		out->outcome = PG_DUPLICATE;
	return out->outcome;
}

/* Reads the Payment object's members we use into out. -1 when one is missing or malformed. */
static int
toss_payment(struct json_object *o, struct pg_result *out)
{
	struct json_object *failure;

	if (pg_json_str(o, "paymentKey", false, TOSS_KEY_MAX, out->payment_key,
	    sizeof(out->payment_key)) != 0 || !pg_word_ok(out->payment_key, TOSS_KEY_MAX))
		return -1;
	if (pg_json_str(o, "orderId", false, TOSS_ORDER_MAX, out->order_id,
	    sizeof(out->order_id)) != 0 || !pg_word_ok(out->order_id, TOSS_ORDER_MAX))
		return -1;
	if (pg_json_str(o, "status", false, sizeof(out->status) - 1, out->status,
	    sizeof(out->status)) != 0 || toss_state(out->status, &out->state) != 0)
		return -1;
	if (pg_json_int(o, "totalAmount", 0, MONEY_MAX, &out->total_amount) != 0 ||
	    pg_json_int(o, "balanceAmount", 0, out->total_amount, &out->balance_amount) != 0)
		return -1;
	if (pg_json_str(o, "approvedAt", true, sizeof(out->approved_at) - 1, out->approved_at,
	    sizeof(out->approved_at)) < 0)
		return -1;
	if (pg_json_str(o, "method", true, sizeof(out->method) - 1, out->method,
	    sizeof(out->method)) < 0)
		return -1;
	if (out->state == PG_STATE_APPROVED && out->approved_at[0] == '\0')
		return -1;
	/* ABORTED / EXPIRED carry {"code","message"} in failure: keep them for the caller. */
	if (json_object_object_get_ex(o, "failure", &failure) && failure != NULL) {
		if (!json_object_is_type(failure, json_type_object) ||
		    pg_json_str(failure, "code", false, sizeof(out->code) - 1, out->code,
		    sizeof(out->code)) != 0 ||
		    pg_json_str(failure, "message", true, TOSS_MESSAGE_MAX, out->message,
		    sizeof(out->message)) < 0)
			return -1;
	}
	return 0;
}

/* Checks a parsed Payment against what the call asked for. */
static enum pg_outcome
toss_check(enum pg_call call, const struct pg_expect *exp, struct pg_result *out)
{
	bool ok = true;

	if (exp->payment_key != NULL && strcmp(exp->payment_key, out->payment_key) != 0)
		ok = false;
	if (exp->order_id != NULL && strcmp(exp->order_id, out->order_id) != 0)
		ok = false;
	switch (call) {
	case PG_CALL_CONFIRM:
		if (out->state != PG_STATE_APPROVED ||
		    (exp->total_amount >= 0 && out->total_amount != exp->total_amount))
			ok = false;
		break;
	case PG_CALL_CANCEL:
		if ((out->state != PG_STATE_CANCELED && out->state != PG_STATE_PARTIAL_CANCELED) ||
		    (exp->balance_amount >= 0 && out->balance_amount != exp->balance_amount))
			ok = false;
		break;
	default:
		break;
	}
	if (!ok)
		return pg_set(out, PG_UNKNOWN, PG_CODE_MISMATCH,
		    "the answer is not about the payment asked for");
	out->outcome = PG_OK;
	return PG_OK;
}

enum pg_outcome
pg_toss_parse(enum pg_call call, const struct pg_expect *exp, long status, const char *body,
    size_t len, struct pg_result *out)
{
	static const struct pg_expect none = PG_EXPECT_NONE;
	struct json_object *o;
	enum pg_outcome rc;

	memset(out, 0, sizeof(*out));
	out->http_status = status;
	if (exp == NULL)
		exp = &none;
	o = pg_json_object(body, len);
	if (status != 200) {
		rc = toss_error(call, status, o, out);
		json_object_put(o);
		return rc;
	}
	if (call == PG_CALL_READY || o == NULL || toss_payment(o, out) != 0) {
		json_object_put(o);
		/* Nothing of a half-read answer may be taken for the PG's word. */
		memset(out, 0, sizeof(*out));
		out->http_status = status;
		return pg_set(out, PG_UNKNOWN, PG_CODE_BAD_ANSWER, "unparsable payment");
	}
	json_object_put(o);
	return toss_check(call, exp, out);
}

/* ---- requests ------------------------------------------------------------------------ */

/* A Toss orderId: 6..64 of [A-Za-z0-9_-]. */
static bool
toss_order_ok(const char *s)
{
	return s != NULL && valid_token(s, TOSS_ORDER_MIN, TOSS_ORDER_MAX);
}

static bool
toss_idem_ok(const char *key)
{
	return key == NULL || pg_word_ok(key, PG_IDEMPOTENCY_KEY_MAX);
}

/* Sends, parses and finishes out (pg_send). */
static int
toss_send(struct pg *p, enum pg_call call, const struct pg_expect *exp, const char *method,
    const char *path, struct json_object *body, const char *idem, struct pg_result *out)
{
	struct pg_call_spec spec = { call, method, path,
		body != NULL ? pg_json_text(body) : NULL, idem, *exp };

	return pg_send(p, &spec, out);
}

static int
toss_confirm_prepare(struct pg *p, const struct pg_confirm_req *req, struct pg_call_spec *spec,
    struct pg_result *out)
{
	struct json_object *body;

	(void)p;
	if (!pg_word_ok(req->payment_key, TOSS_KEY_MAX) || !toss_order_ok(req->order_id) ||
	    req->amount < 1 || req->amount > MONEY_MAX || !toss_idem_ok(req->idempotency_key)) {
		pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "invalid confirm request");
		return -1;
	}
	body = json_object_new_object();
	json_object_object_add(body, "paymentKey", json_object_new_string(req->payment_key));
	json_object_object_add(body, "orderId", json_object_new_string(req->order_id));
	json_object_object_add(body, "amount", json_object_new_int64(req->amount));
	*spec = (struct pg_call_spec){ PG_CALL_CONFIRM, "POST", "/v1/payments/confirm",
		pg_json_text(body), req->idempotency_key,
		{ req->payment_key, req->order_id, req->amount, -1 } };
	json_object_put(body);
	return 0;
}

static int
toss_cancel(struct pg *p, const struct pg_cancel_req *req, struct pg_result *out)
{
	struct pg_expect exp = { req->payment_key, NULL, -1, -1 };
	struct json_object *body;
	struct buf path = { 0 };
	int rc;

	if (!pg_word_ok(req->payment_key, TOSS_KEY_MAX) || req->amount < 1 ||
	    req->cancelable > MONEY_MAX || req->amount > req->cancelable ||
	    req->reason == NULL ||
	    !valid_text(req->reason, strlen(req->reason), TOSS_REASON_MAX, false) ||
	    !toss_idem_ok(req->idempotency_key))
		return (int)pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "invalid cancel request");
	exp.balance_amount = req->cancelable - req->amount;
	body = json_object_new_object();
	json_object_object_add(body, "cancelReason", json_object_new_string(req->reason));
	json_object_object_add(body, "cancelAmount", json_object_new_int64(req->amount));
	json_object_object_add(body, "refundableAmount", json_object_new_int64(req->cancelable));
	buf_puts(&path, "/v1/payments/");
	esc_url_path(&path, req->payment_key);
	buf_puts(&path, "/cancel");
	rc = toss_send(p, PG_CALL_CANCEL, &exp, "POST", buf_cstr(&path), body,
	    req->idempotency_key, out);
	json_object_put(body);
	buf_release(&path);
	return rc;
}

static int
toss_lookup(struct pg *p, const struct pg_lookup_req *req, struct pg_result *out)
{
	struct pg_expect exp = { req->payment_key, req->order_id, -1, -1 };
	struct buf path = { 0 };
	int rc;

	if ((req->payment_key == NULL && req->order_id == NULL) ||
	    (req->payment_key != NULL && !pg_word_ok(req->payment_key, TOSS_KEY_MAX)) ||
	    (req->order_id != NULL && !toss_order_ok(req->order_id)))
		return (int)pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "invalid lookup request");
	if (req->payment_key != NULL) {
		buf_puts(&path, "/v1/payments/");
		esc_url_path(&path, req->payment_key);
	} else {
		buf_puts(&path, "/v1/payments/orders/");
		esc_url_path(&path, req->order_id);
	}
	rc = toss_send(p, PG_CALL_LOOKUP, &exp, "GET", buf_cstr(&path), NULL, NULL, out);
	buf_release(&path);
	return rc;
}

const struct pg_ops pg_toss_ops = {
	"toss",
	NULL,           /* ready: the browser opens Toss's payment window directly */
	toss_confirm_prepare,
	toss_cancel,
	toss_lookup,
	pg_toss_parse,
};

/* ---- the webhook (section 1.11) -------------------------------------------------------- */

int
pg_toss_event_parse(struct json_object *body, struct pg_toss_event *out)
{
	static const char *const keys[] = { "eventType", "createdAt", "data", NULL };
	struct json_object *data;
	const char *type, *created, *order_id, *status, *key;

	memset(out, 0, sizeof(*out));
	if (body == NULL || !json_object_is_type(body, json_type_object) ||
	    jparse_only_keys(body, keys) != 0 ||
	    jparse_string(body, "eventType", sizeof(out->type) - 1, &type) != 0 ||
	    !valid_token(type, 1, sizeof(out->type) - 1) ||
	    jparse_string(body, "createdAt", 40, &created) != 0 || created[0] == '\0' ||
	    !json_object_object_get_ex(body, "data", &data) ||
	    !json_object_is_type(data, json_type_object))
		return -1;
	pg_copy(out->type, sizeof(out->type), type);
	if (strcmp(type, "PAYMENT_STATUS_CHANGED") != 0)
		return 0;
	if (jparse_string(data, "orderId", TOSS_ORDER_MAX, &order_id) != 0 ||
	    !toss_order_ok(order_id) ||
	    jparse_string(data, "status", sizeof(out->status) - 1, &status) != 0 ||
	    toss_state(status, &out->state) != 0 ||
	    jparse_string(data, "paymentKey", TOSS_KEY_MAX, &key) < 0)
		return -1;
	pg_copy(out->order_id, sizeof(out->order_id), order_id);
	pg_copy(out->status, sizeof(out->status), status);
	return 0;
}

/* ---- settlement records (GET /v1/settlements) ------------------------------------------ */

#define TOSS_SETTLEMENT_DEPTH 6          /* array > record > fees[] > fee, card > ... */
#define TOSS_SETTLEMENT_TIMEOUT_MS 60000 /* "up to 60 s" (section 1.12) */

/* A date as YYYY-MM-DD with a plausible month and day. */
static bool
toss_date_ok(const char *s)
{
	int i, month, day;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	}
	month = (s[5] - '0') * 10 + (s[6] - '0');
	day = (s[8] - '0') * 10 + (s[9] - '0');
	return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* The sum of a record's fees[].fee into *out. 0, or -1 when malformed or out of range. */
static int
toss_settlement_fees(struct json_object *o, int64_t *out)
{
	struct json_object *fees, *f;
	int64_t fee, sum = 0;
	size_t i, n;

	*out = 0;
	if (!json_object_object_get_ex(o, "fees", &fees) || fees == NULL)
		return 0;
	if (!json_object_is_type(fees, json_type_array))
		return -1;
	n = json_object_array_length(fees);
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(fees, i);
		if (f == NULL || !json_object_is_type(f, json_type_object) ||
		    pg_json_int(f, "fee", -MONEY_MAX, MONEY_MAX, &fee) != 0 ||
		    money_add(sum, fee, &sum) != 0 || sum > MONEY_MAX || sum < -MONEY_MAX)
			return -1;
	}
	*out = sum;
	return 0;
}

/* One Settlement object into *r. 0, or -1 when malformed. */
static int
toss_settlement(struct json_object *o, const char *date, struct pg_settlement *r)
{
	struct json_object *cancel;

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object))
		return -1;
	if (pg_json_str(o, "paymentKey", false, TOSS_KEY_MAX, r->payment_key,
	    sizeof(r->payment_key)) != 0 || !pg_word_ok(r->payment_key, TOSS_KEY_MAX))
		return -1;
	if (pg_json_str(o, "transactionKey", false, sizeof(r->transaction_key) - 1,
	    r->transaction_key, sizeof(r->transaction_key)) != 0 ||
	    !pg_word_ok(r->transaction_key, sizeof(r->transaction_key) - 1))
		return -1;
	if (pg_json_str(o, "orderId", false, TOSS_ORDER_MAX, r->order_id,
	    sizeof(r->order_id)) != 0 || !toss_order_ok(r->order_id))
		return -1;
	if (pg_json_int(o, "amount", -MONEY_MAX, MONEY_MAX, &r->amount) != 0 || r->amount == 0 ||
	    pg_json_int(o, "payOutAmount", -MONEY_MAX, MONEY_MAX, &r->pay_out) != 0 ||
	    toss_settlement_fees(o, &r->fee) != 0)
		return -1;
	if (pg_json_str(o, "approvedAt", true, sizeof(r->approved_at) - 1, r->approved_at,
	    sizeof(r->approved_at)) < 0)
		return -1;
	if (pg_json_str(o, "soldDate", false, sizeof(r->sold_date) - 1, r->sold_date,
	    sizeof(r->sold_date)) != 0 || !toss_date_ok(r->sold_date) ||
	    (date != NULL && strcmp(r->sold_date, date) != 0))
		return -1;
	cancel = NULL;
	if (json_object_object_get_ex(o, "cancel", &cancel) && cancel != NULL &&
	    !json_object_is_type(cancel, json_type_object))
		return -1;
	r->cancel = cancel != NULL || r->amount < 0;
	if (r->cancel && r->amount > 0) {
		/* A cancel reported with positive amounts: what it takes back is negative. */
		r->amount = -r->amount;
		r->fee = -r->fee;
		r->pay_out = -r->pay_out;
	}
	return 0;
}

int
pg_toss_parse_settlements(const char *body, size_t len, const char *date,
    struct pg_settlement *rows, size_t cap, size_t *n)
{
	struct json_object *arr = NULL;
	size_t i, count;
	int rc = -1;

	*n = 0;
	if (jparse(body != NULL ? body : "", body != NULL ? len : 0, PG_SETTLEMENT_JSON_MAX,
	    TOSS_SETTLEMENT_DEPTH, &arr) != JPARSE_OK || arr == NULL ||
	    !json_object_is_type(arr, json_type_array))
		goto out;
	count = json_object_array_length(arr);
	if (count > cap)
		goto out;
	for (i = 0; i < count; i++) {
		if (toss_settlement(json_object_array_get_idx(arr, i), date, &rows[i]) != 0)
			goto out;
	}
	*n = count;
	rc = 0;
out:
	json_object_put(arr);
	return rc;
}

enum pg_outcome
pg_toss_settlements(struct pg *p, const char *date, int page, int size,
    struct pg_settlement *rows, size_t *n, struct pg_result *out)
{
	const char *headers[3];
	struct buf url = { 0 };
	struct http_req req;
	struct http_resp resp = { 0 };
	enum http_rc hrc;

	memset(out, 0, sizeof(*out));
	*n = 0;
	if (p == NULL || p->id != PG_TOSS || !toss_date_ok(date) || page < 1 || size < 1 ||
	    size > PG_SETTLEMENT_PAGE_MAX || rows == NULL)
		return pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "invalid settlements request");
	if (!p->enabled)
		return pg_set(out, PG_NOT_SENT, PG_CODE_NOT_CONFIGURED, "the PG has no secret key");
	buf_printf(&url, "%s/v1/settlements?startDate=%s&endDate=%s&dateType=soldDate"
	    "&page=%d&size=%d", p->base_url, date, date, page, size);
	headers[0] = p->auth_header;
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = buf_cstr(&url);
	req.headers = headers;
	req.timeout_ms = TOSS_SETTLEMENT_TIMEOUT_MS;
	hrc = http_do(p->http, &req, &resp);
	out->elapsed_ms = resp.elapsed_ms;
	if (hrc != HTTP_OK) {
		pg_set(out, pg_transport_outcome(hrc), PG_CODE_TRANSPORT, http_rc_name(hrc));
		goto out;
	}
	out->http_status = resp.status;
	if (resp.status != 200) {
		struct json_object *o = pg_json_object(resp.body.data, resp.body.len);
		long status = resp.status;

		/* The lookup rules fit a GET that changes nothing; a refusal is still "unknown"
		 * to a caller that wanted the records. */
		toss_error(PG_CALL_LOOKUP, status, o, out);
		json_object_put(o);
		if (out->outcome != PG_NOT_SENT)
			out->outcome = PG_UNKNOWN;
		out->http_status = status;
		goto out;
	}
	if (pg_toss_parse_settlements(resp.body.data, resp.body.len, date, rows, (size_t)size,
	    n) != 0) {
		pg_set(out, PG_UNKNOWN, PG_CODE_BAD_ANSWER, "unparsable settlement records");
		goto out;
	}
	out->outcome = PG_OK;
out:
	LOG_AT(NULL, out->outcome == PG_OK ? LOG_LVL_DEBUG : LOG_LVL_WARN,
	    "pg toss settlements %s page %d: %s (HTTP %ld%s%s), %zu records in %ld ms", date,
	    page, pg_outcome_name(out->outcome), out->http_status, out->code[0] != '\0' ? ", " : "",
	    out->code, *n, out->elapsed_ms);
	buf_release(&url);
	buf_release(&resp.body);
	return out->outcome;
}

bool
pg_toss_return_canceled(const char *code)
{
	return code != NULL && strcmp(code, "PAY_PROCESS_CANCELED") == 0;
}
