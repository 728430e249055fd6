/* refunds: full and partial cancels of a paid order (sql/011_refunds.sql), safe under
 * concurrency in the way Hyperswitch learned it had to be (#13182): the refund is RESERVED
 * first, in one transaction with a guarded UPDATE (orders.refunded_amount + amount <= amount,
 * each line's canceled_quantity + quantity <= quantity), so two refunds that together pass
 * what was paid can never both be accepted. Only then is the PG asked, outside any
 * transaction, by a `refund` job on the payment queue with Idempotency-Key
 * "refund-<refundId>", the same on every try. The PG's yes completes the refund in one
 * transaction: refund DONE, order PARTIALLY_CANCELED or CANCELED (a move of
 * lib/shop/order_state), stock of the cancelled lines back, ledger posting refund:<refundId>,
 * outbox refund.settle and notify jobs. A definite no releases the reservation (refund
 * FAILED); an unknown answer is retried and never released. Points orders are refunded at
 * once in the reserving transaction (the points come back). An admin's refund is audited
 * (lib/shop/audit) inside that transaction. Knows nothing of HTTP.
 *
 * Files: refunds.c reserves (refunds_request), refunds_done.c completes, releases and
 * records (the PG's answer, reconciliation), refunds_read.c loads and renders. */
#ifndef JT_REFUNDS_H
#define JT_REFUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "infra/bus.h"

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
	int64_t admin_id;            /* the admin asking, or 0: the request is audited as
	                              * "refund.request" inside its transaction */
	int shopper_days;            /* config refunds.shopper_days */
	const struct refunds_line_req *lines;  /* what to cancel; nlines 0 = everything left */
	size_t nlines;
	const char *reason;          /* may be NULL */
	const char *key;             /* idempotency key (Idempotency-Key header or the form's);
	                              * NULL for none */
};

enum refunds_rc {
	REFUNDS_ACCEPTED,     /* 202: reserved, the PG cancel is queued (out->jobs: push it) */
	REFUNDS_DONE,         /* 200: refunded now (points) */
	REFUNDS_REPLAYED,     /* 200: this key made *out before */
	REFUNDS_KEY_REUSED,   /* 422: this key made a different refund */
	REFUNDS_NOT_FOUND,    /* 404: no such order, or not this shopper's */
	REFUNDS_WRONG_STATE,  /* 409: the order is not PAID or PARTIALLY_CANCELED */
	REFUNDS_TOO_LATE,     /* 409: past the shopper's refund window */
	REFUNDS_SHIPPED,      /* 409: a shopper's refund of an order a seller shipped (a return) */
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
	struct bus_batch jobs;      /* what the call queued (the PG's cancel; refund.settle and
	                             * notify for a refund DONE at once): push after it returns */
};

/* Reserves (and for points completes) a refund; see the top comment. *out is the refund. */
enum refunds_rc refunds_request(struct db *db, struct arena *a, const struct refunds_req *req,
    struct refund *out);

/* The refunds of an order, oldest first, with lines. Returns the count or an enum db_rc. */
int64_t refunds_of_order(struct db *db, struct arena *a, int64_t order_id, struct refund **out);

/* The PG shows a cancel of amount that we do not have (reconciliation): records it as a DONE
 * refund of the order's remaining lines worth amount (actor "reconcile"), with its posting,
 * stock and refund.settle job (out->jobs), in one transaction, without calling the PG.
 * Returns REFUNDS_DONE, REFUNDS_EXCEEDS, REFUNDS_WRONG_STATE, REFUNDS_NOT_FOUND or
 * REFUNDS_FAILED. */
enum refunds_rc refunds_record_pg_cancel(struct db *db, struct arena *a,
    const char *order_public_id, int64_t amount, struct refund *out);

/* {"refundId","orderId","amount","status","reason","createdAt","doneAt","lines":[...]} */
struct json_object *refunds_json(const struct refund *r);

const char *refunds_status_name(enum refund_status s);

/* The statuses' database spellings, indexed by value (for row descriptors: DB_ENUM). */
extern const char *const refunds_status_names[REFUND_STATUS__MAX];

/* English name of rc, for logs. */
const char *refunds_rc_name(enum refunds_rc rc);

/* How a caller that answers people (the shopper's pages and API, the admin console) answers
 * rc: the HTTP status, the envelope's code and the Korean message. REFUNDS_ACCEPTED 202,
 * REFUNDS_DONE and REFUNDS_REPLAYED 200 (code and message NULL: answer the refund),
 * REFUNDS_NOT_FOUND 404 ORDER_NOT_FOUND, REFUNDS_WRONG_STATE 409 REFUND_NOT_ALLOWED,
 * REFUNDS_TOO_LATE 409 REFUND_PERIOD_OVER, REFUNDS_EXCEEDS 409 REFUND_EXCEEDS_BALANCE,
 * REFUNDS_BAD_LINE 400 REFUND_LINES_INVALID, REFUNDS_KEY_REUSED 422 IDEMPOTENCY_KEY_REUSED,
 * REFUNDS_FAILED 500 REFUND_FAILED. Strings are static. */
void refunds_rc_answer(enum refunds_rc rc, int *status, const char **code, const char **message);

/* One refund by public id, with lines. Returns 1, 0 unknown (or a malformed id), or an enum
 * db_rc. */
int refunds_get(struct db *db, struct arena *a, const char *refund_public_id, struct refund *out);

/* 1 when a PAID / PARTIALLY_CANCELED order's shopper may still refund it: paid at most
 * shopper_days days ago, and something is left to refund. 0 otherwise, or an enum db_rc. */
int refunds_shopper_may(struct db *db, struct arena *a, int64_t order_id, int shopper_days);

/* What the refund job (workers/job_refund.c) needs to ask the PG. */
struct refunds_task {
	int64_t refund_id;
	char public_id[REFUNDS_ID_LEN + 1];
	char order_public_id[REFUNDS_ID_LEN + 1];
	enum refund_status status;
	const char *pg;             /* the order's pay method: "toss", "kakaopay" (or "points") */
	const char *payment_key;    /* the approved payment's paymentKey / tid, or NULL */
	int64_t amount;             /* won to cancel */
	int64_t cancelable;         /* what the PG still holds: the order's amount minus its DONE
	                             * refunds (refundableAmount / cancel_available_amount) */
	const char *reason;         /* or NULL */
	int64_t older_requested;    /* older refunds of the same order still REQUESTED: this one
	                             * waits for them, so the PG sees one cancel of an order at a
	                             * time and cancelable is exact */
};

/* Loads the task of refund refund_public_id. Returns 1, 0 unknown, or an enum db_rc. */
int refunds_task_get(struct db *db, struct arena *a, const char *refund_public_id,
    struct refunds_task *out);

/* How a job's transaction ended. */
enum refunds_job_rc {
	REFUNDS_JOB_DONE,       /* the refund moved and the outbox row completed, together */
	REFUNDS_JOB_SKIPPED,    /* the refund was no longer REQUESTED: only the outbox row completed */
	REFUNDS_JOB_LOST,       /* the outbox claim was lost: rolled back */
	REFUNDS_JOB_DB_FAILED,  /* the database (or the ledger) failed: rolled back, retry */
	REFUNDS_JOB__MAX
};

/* The PG cancelled: in one transaction with outbox_complete(claim): refund REQUESTED -> DONE,
 * order PARTIALLY_CANCELED or CANCELED (CANCELED once the DONE refunds add up to the amount;
 * a move by the worker), payments.status likewise, the stock of the refund's lines back,
 * ledger_post_refund, and outbox refund.settle and notify jobs (*jobs: push them after this
 * returns; empty when not DONE). */
enum refunds_job_rc refunds_complete(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const char *refund_public_id, struct bus_batch *jobs);

/* The PG definitely refused: in one transaction with outbox_complete(claim): refund
 * REQUESTED -> FAILED with code and message (truncated to the columns; may be NULL), and the
 * reservation given back (orders.refunded_amount, each line's canceled_quantity). */
enum refunds_job_rc refunds_release(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const char *refund_public_id, const char *code,
    const char *message);

/* Only completes the outbox row (nothing to do). SKIPPED, LOST or DB_FAILED. */
enum refunds_job_rc refunds_skip(struct db *db, const struct outbox_claim *claim);

const char *refunds_job_rc_name(enum refunds_job_rc rc);

#endif
