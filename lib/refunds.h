/* refunds: full and partial cancels of a paid order (sql/011_refunds.sql), safe under
 * concurrency in the way Hyperswitch learned it had to be (#13182): the refund is RESERVED
 * first, in one transaction with a guarded UPDATE (orders.refunded_amount + amount <= amount,
 * each line's canceled_quantity + quantity <= quantity), so two refunds that together pass
 * what was paid can never both be accepted. Only then is the PG asked, outside any
 * transaction, by a `refund` job on the payment queue with Idempotency-Key
 * "refund-<refundId>", the same on every try. The PG's yes completes the refund in one
 * transaction: refund DONE, order PARTIALLY_CANCELED or CANCELED, stock of the cancelled
 * lines back, ledger posting refund:<refundId>, outbox refund.settle and notify jobs. A
 * definite no releases the reservation (refund FAILED); an unknown answer is retried and
 * never released. Points orders are refunded at once in the reserving transaction (the
 * points come back). Knows nothing of HTTP. */
#ifndef JT_REFUNDS_H
#define JT_REFUNDS_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;
struct outbox_claim;
struct json_object;

#define REFUNDS_ID_LEN 24
#define REFUNDS_REASON_MAX 200    /* characters */

struct refunds_line_req {
	int64_t product_id;
	int quantity;
};

struct refunds_req {
	const char *order_public_id;
	int64_t user_id;             /* the shopper asking: the order must be theirs and within
	                              * shopper_days of payment; 0 when an admin asks */
	int64_t admin_id;            /* the admin asking, or 0 */
	int shopper_days;            /* config refunds.shopper_days */
	const struct refunds_line_req *lines;  /* what to cancel; nlines 0 = everything left */
	size_t nlines;
	const char *reason;          /* may be NULL */
	const char *key;             /* idempotency key (Idempotency-Key header or the form's);
	                              * NULL for none */
};

enum refunds_rc {
	REFUNDS_ACCEPTED,     /* 202: reserved, the PG cancel is queued (*out->job: push it) */
	REFUNDS_DONE,         /* 200: refunded now (points) */
	REFUNDS_REPLAYED,     /* 200: this key made *out before */
	REFUNDS_KEY_REUSED,   /* 422: this key made a different refund */
	REFUNDS_NOT_FOUND,    /* 404: no such order, or not this shopper's */
	REFUNDS_WRONG_STATE,  /* 409: the order is not PAID or PARTIALLY_CANCELED */
	REFUNDS_TOO_LATE,     /* 409: past the shopper's refund window */
	REFUNDS_EXCEEDS,      /* 409: more than what is left to refund (lines or amount) */
	REFUNDS_BAD_LINE,     /* 400: a product not in the order, or a quantity < 1 */
	REFUNDS_FAILED,       /* 500: the database failed: nothing written */
	REFUNDS_RC__MAX
};

enum refund_status { REFUND_REQUESTED, REFUND_DONE, REFUND_FAILED, REFUND_STATUS__MAX };

struct refund_line {
	int64_t product_id;
	const char *name;
	int quantity;
	int64_t amount;
};

struct refund {
	int64_t id;
	char public_id[REFUNDS_ID_LEN + 1];
	const char *order_public_id;
	int64_t amount;
	enum refund_status status;
	const char *reason;         /* or NULL */
	const char *actor;          /* "shopper", "admin:<id>", "reconcile" */
	const char *fail_code;      /* or NULL */
	const char *created_at;
	const char *done_at;        /* or NULL */
	struct refund_line *lines;
	size_t nlines;
	int64_t job;                /* the outbox job to push after the call returns, or 0 */
};

/* Reserves (and for points completes) a refund; see the top comment. *out is the refund. */
enum refunds_rc refunds_request(struct db *db, struct arena *a, const struct refunds_req *req,
    struct refund *out);

/* The refunds of an order, oldest first, with lines. Returns the count or an enum db_rc. */
int64_t refunds_of_order(struct db *db, struct arena *a, int64_t order_id, struct refund **out);

/* The PG shows a cancel of amount that we do not have (reconciliation): records it as a DONE
 * refund of the order's remaining lines worth amount (actor "reconcile"), with its posting,
 * stock and refund.settle job, in one transaction, without calling the PG. Returns
 * REFUNDS_DONE, REFUNDS_EXCEEDS, REFUNDS_WRONG_STATE, REFUNDS_NOT_FOUND or REFUNDS_FAILED. */
enum refunds_rc refunds_record_pg_cancel(struct db *db, struct arena *a,
    const char *order_public_id, int64_t amount, struct refund *out);

/* {"refundId","orderId","amount","status","reason","createdAt","doneAt","lines":[...]} */
struct json_object *refunds_json(const struct refund *r);

const char *refunds_status_name(enum refund_status s);

#endif
