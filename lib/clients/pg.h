/* pg: payment gateway clients behind one strategy interface. Each PG (Toss Payments v1,
 * KakaoPay online) is one file (lib/clients/pg_toss.c, lib/clients/pg_kakaopay.c) exporting a
 * struct pg_ops (pg_impl.h), and one row in pg.c's table; a new PG is one more file and one more row.
 *
 * PG answers are classified once, in the PG's own file and nowhere else: every answer
 * becomes an outcome of the call (enum pg_outcome: yes, a definite no, unknown, ...) and,
 * when it carries the payment, the payment's state (enum pg_state). The PG's status words
 * and error codes never leave lib/clients/pg*.c: callers act on these two enums only (the
 * words are kept in pg_result for logs and notes). The tables are in the top comments of
 * pg_toss.c and pg_kakaopay.c. Callers reach a PG through lib/clients/pggate (the breaker
 * gate), never with these calls directly. Knows nothing of orders or the database. Wire
 * contracts: ../shared/reference/pg-api-contracts.md sections 1 (Toss) and 2 (KakaoPay). */
#ifndef JT_PG_H
#define JT_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct http;
struct json_object;
struct pg;

enum pg_id { PG_TOSS, PG_KAKAOPAY, PG__MAX };

/* How a call ended. */
enum pg_outcome {
	PG_OK,           /* the PG answered yes: approved, cancelled, ready, or (lookup) found */
	PG_REFUSED,      /* a definite no: an error code meaning this payment did not and will not
	                  * happen (card refused, expired, amount mismatch, already cancelled ...) */
	PG_UNKNOWN,      /* timeout after sending, 5xx, reset, unparsable answer, an error code
	                  * that does not say no: the PG may or may not have acted. Never treat
	                  * as a refusal; retry with the same Idempotency-Key or look it up. */
	PG_IN_PROGRESS,  /* the same Idempotency-Key is still being processed at the PG */
	PG_NOT_FOUND,    /* lookup only: the PG has no payment for this order */
	PG_NOT_SENT,     /* could not connect / bad configuration: the PG surely did nothing */
	PG_DUPLICATE,    /* confirm only: the PG says this payment or order was processed before
	                  * (our own earlier confirm may have gone through with its answer lost):
	                  * unknown-class, look the payment up rather than retry blindly */
	PG_OUTCOME__MAX
};

/* What the PG says of the payment itself, from the Payment an answer carries. */
enum pg_state {
	PG_STATE_NONE,              /* the answer carried no payment (an error, no answer) */
	PG_STATE_OPEN,              /* not decided yet (READY, IN_PROGRESS, WAITING_FOR_DEPOSIT) */
	PG_STATE_APPROVED,          /* approved and not cancelled (DONE) */
	PG_STATE_ABORTED,           /* ended without approval: will never be approved */
	PG_STATE_EXPIRED,           /* its time ran out before approval: will never be approved */
	PG_STATE_CANCELED,          /* approved, then cancelled in full */
	PG_STATE_PARTIAL_CANCELED,  /* approved, then cancelled in part */
	PG_STATE__MAX
};

/* What the PG said. Strings are NUL-terminated and truncated to fit. */
struct pg_result {
	enum pg_outcome outcome;
	long http_status;          /* 0 when no response arrived */
	long elapsed_ms;           /* wall time of the HTTP call(s) */
	char code[64];             /* the PG's error code ("REJECT_CARD_COMPANY", "-780"), or "" */
	char message[512];         /* the PG's error message, or "" */
	enum pg_state state;       /* the payment's state, when the answer carried one */
	char status[32];           /* the state as the PG spelled it (Toss's words; KakaoPay's are
	                            * mapped onto them), or "": for logs and notes only */
	char payment_key[201];     /* Toss paymentKey or KakaoPay tid */
	char order_id[65];         /* the orderId / partner_order_id the PG holds */
	int64_t total_amount;      /* won the payment was for */
	int64_t balance_amount;    /* won still cancelable (total - cancelled so far) */
	char approved_at[40];      /* ISO 8601 as the PG sent it, or "" */
	char method[32];           /* payment method ("카드", "CARD", "MONEY"), or "" */
	char redirect_url[1025];   /* ready: where to send the shopper's browser (PC) */
};

/* Codes jangteo itself writes into pg_result.code when the PG gave none (added by the pg
 * module's author; the PG's own codes never start with "JT_"). */
#define PG_CODE_NOT_CONFIGURED "JT_NOT_CONFIGURED" /* PG_NOT_SENT: no secret key (or URL) */
#define PG_CODE_BAD_ARGUMENT "JT_BAD_ARGUMENT"     /* PG_NOT_SENT: a request field is invalid */
#define PG_CODE_NOT_SUPPORTED "JT_NOT_SUPPORTED"   /* PG_NOT_SENT: pg_ready on Toss */
#define PG_CODE_TRANSPORT "JT_TRANSPORT"           /* no answer; message: "timeout", ... */
#define PG_CODE_BAD_ANSWER "JT_BAD_ANSWER"         /* PG_UNKNOWN: unparsable or unexpected */
#define PG_CODE_MISMATCH "JT_ANSWER_MISMATCH"      /* PG_UNKNOWN: a success answer about another
                                                    * payment, order or amount than asked */
#define PG_CODE_BREAKER_OPEN "JT_BREAKER_OPEN"     /* PG_NOT_SENT: the breaker gate refused */

/* KakaoPay's "ready": registers the payment and returns the tid (payment_key) and the page to
 * send the browser to (redirect_url). Toss has no server-side ready (the browser opens the
 * payment window directly): its ops leave it NULL and pg_ready answers PG_NOT_SENT. */
struct pg_ready_req {
	const char *order_id;      /* partner_order_id: the order's public id */
	const char *user_ref;      /* partner_user_id: an opaque user reference, no personal data */
	const char *order_name;    /* item_name, <= 100 characters */
	int quantity;
	int64_t amount;            /* total_amount, won */
	const char *approval_url;  /* absolute URLs of the shop's return pages */
	const char *cancel_url;
	const char *fail_url;
};

/* Confirm (Toss) / approve (KakaoPay) a payment the shopper authorised in the browser. */
struct pg_confirm_req {
	const char *order_id;
	int64_t amount;
	const char *payment_key;   /* Toss paymentKey, or KakaoPay tid */
	const char *pg_token;      /* KakaoPay pg_token from the approval URL; NULL for Toss */
	const char *user_ref;      /* KakaoPay partner_user_id (must equal ready's); NULL for Toss */
	const char *idempotency_key; /* derived from the payment attempt; same attempt, same key */
};

/* Full or partial cancel. */
struct pg_cancel_req {
	const char *payment_key;   /* Toss paymentKey, or KakaoPay tid */
	int64_t amount;            /* won to cancel now (> 0) */
	int64_t cancelable;        /* won still cancelable before this cancel, as we know it (Toss
	                            * refundableAmount / KakaoPay cancel_available_amount: the PG
	                            * refuses when it disagrees, so two racing cancels cannot both pass) */
	const char *reason;        /* cancelReason / payload, <= 200 characters */
	const char *idempotency_key;
};

/* Look a payment up by order id (Toss GET /v1/payments/orders/{orderId}) or, when payment_key
 * is set, by key (Toss GET /v1/payments/{paymentKey}; KakaoPay POST /online/v1/payment/order
 * needs the tid, so KakaoPay lookups require payment_key). */
struct pg_lookup_req {
	const char *order_id;
	const char *payment_key;   /* may be NULL for Toss */
};

/* A client of one PG for this process: its base URL and credentials from the config
 * (pg.<name>_*), and an HTTP handle it owns (one connection kept alive, the http.* timeouts).
 * Never NULL. Owned by the caller: pg_free. */
struct pg *pg_new(const struct conf *c, enum pg_id id);
void pg_free(struct pg **p);

/* True when the PG is configured (its secret key is set; for Toss also its checkout URL). */
bool pg_enabled(const struct conf *c, enum pg_id id);

/* "toss", "kakaopay" and back (pg_parse returns 0 or -1). */
const char *pg_name(enum pg_id id);
int pg_parse(const char *name, enum pg_id *out);

/* English name of an outcome, for logs and metrics. */
const char *pg_outcome_name(enum pg_outcome o);

/* English name of a state ("approved", "aborted"), for logs. */
const char *pg_state_name(enum pg_state s);

/* ---- Toss's webhook ------------------------------------------------------------------ */

/* A well-formed Toss webhook event (section 1.11): its type and, for
 * PAYMENT_STATUS_CHANGED, the order it names and the state it claims (a hint: unsigned). */
struct pg_toss_event {
	char type[65];
	char order_id[65];         /* "" unless PAYMENT_STATUS_CHANGED */
	enum pg_state state;
	char status[32];
};

/* Reads a parsed webhook body {"eventType", "createdAt", "data"} strictly into *out: other
 * event types need only the three keys; a PAYMENT_STATUS_CHANGED's data (a Payment, whose
 * other fields are not ours to refuse) must hold a well-formed orderId and a known status,
 * and a paymentKey when present must be a string. Returns 0 or -1. */
int pg_toss_event_parse(struct json_object *body, struct pg_toss_event *out);

/* Toss's failUrl return: true when its code names the shopper's own cancel in the payment
 * window (PAY_PROCESS_CANCELED), not a refusal. code may be NULL. */
bool pg_toss_return_canceled(const char *code);

/* The calls. Each fills *out completely (zeroing it first) and returns out->outcome. */
enum pg_outcome pg_ready(struct pg *p, const struct pg_ready_req *req, struct pg_result *out);
enum pg_outcome pg_confirm(struct pg *p, const struct pg_confirm_req *req, struct pg_result *out);
enum pg_outcome pg_cancel(struct pg *p, const struct pg_cancel_req *req, struct pg_result *out);
enum pg_outcome pg_lookup(struct pg *p, const struct pg_lookup_req *req, struct pg_result *out);

/* pg_confirm of reqs[0..n) sent at once (lib/infra/http's http_do_many: one connection each,
 * kept alive between calls), each with its own Idempotency-Key and timeouts: outs[i] is what
 * pg_confirm(reqs[i]) would have given. For a batch of confirms, whose answers then take the
 * time of the slowest instead of the sum. */
void pg_confirm_many(struct pg *p, const struct pg_confirm_req *reqs, size_t n,
    struct pg_result *outs);

/* ---- settlement records (reconciliation) --------------------------------------------- */

/* One transaction of a PG's settlement records. Toss: one element of GET /v1/settlements
 * (section 1.12). KakaoPay's online API (section 2) has no settlement endpoint: its records
 * only come as the merchant's settlement file, so there is no KakaoPay fetch. */
struct pg_settlement {
	char payment_key[201];     /* paymentKey */
	char transaction_key[65];  /* transactionKey of this approval or cancel */
	char order_id[65];         /* orderId */
	bool cancel;               /* a cancel transaction (its amounts are negative) */
	int64_t amount;            /* won: > 0 for an approval, < 0 for a cancel */
	int64_t fee;               /* won: the sum of fees[].fee, the sign of amount */
	int64_t pay_out;           /* won: payOutAmount */
	char approved_at[41];      /* approvedAt as the PG sent it */
	char sold_date[11];        /* soldDate, YYYY-MM-DD */
};

#define PG_SETTLEMENT_PAGE_MAX 500  /* records asked for per page */

/* Toss GET /v1/settlements?startDate=date&endDate=date&dateType=soldDate&page=page&size=size
 * with a 60-second timeout (the documented worst case). date is YYYY-MM-DD, page >= 1,
 * 1 <= size <= PG_SETTLEMENT_PAGE_MAX. On PG_OK rows[0..*n) hold the page's records (*n <=
 * size; fewer than size means the last page). Every record is checked strictly (keys,
 * integers within MONEY_MAX, soldDate = date, an approval positive and a cancel negative):
 * one bad record makes the whole answer PG_UNKNOWN (JT_BAD_ANSWER) with *n = 0. Other
 * outcomes: PG_NOT_SENT (p is not Toss, not configured, or a bad argument), PG_UNKNOWN (no or
 * an error answer; code and message say which). rows is the caller's, with room for size. */
enum pg_outcome pg_toss_settlements(struct pg *p, const char *date, int page, int size,
    struct pg_settlement *rows, size_t *n, struct pg_result *out);

#endif
