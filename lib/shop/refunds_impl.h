/* refunds_impl: what the files of the refunds module share and nothing else includes:
 * refunds.c (reserving: a shopper's or admin's request), refunds_done.c (a refund becoming
 * DONE or FAILED: the PG's answer, a points refund, a cancel reconciliation found) and
 * refunds_read.c (loading and JSON). See refunds.h for the module's contract and the lock
 * order every refund transaction keeps: order, order lines, stock, users, ledger accounts. */
#ifndef JT_REFUNDS_IMPL_H
#define JT_REFUNDS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/bus.h"
#include "shop/orders.h"
#include "shop/refunds.h"

struct arena;
struct db;

/* Widths of the columns written from PG text, in bytes. */
#define REFUNDS_FAIL_CODE_MAX 64
#define REFUNDS_FAIL_MESSAGE_MAX 512

/* The order row as a refund transaction reads it under its lock (SELECT ... FOR UPDATE). */
struct refunds_order {
	enum order_status status;
	enum order_pay pay;
	int64_t amount;
	int64_t refunded;
	int64_t user_id;
	char public_id[ORDERS_ID_LEN + 1];
	bool in_window;             /* paid at most the shopper's days ago */
};

/* Locks order order_id and reads it into *out (in_window for shopper_days days, 0: false).
 * Returns 1, 0 no such order (or a status or method this program does not know), or an
 * enum db_rc. */
int refunds_lock_order(struct db *db, struct arena *a, int64_t order_id, int shopper_days,
    struct refunds_order *out);

/* One line a refund cancels. */
struct refunds_chosen {
	int64_t product_id;
	int64_t quantity;
	int64_t amount;
};

/* A line of the order, read under the lock. */
struct refunds_line {
	int64_t product_id;
	int64_t unit_price;
	int64_t quantity;
	int64_t canceled;
};

/* Reads the order's lines under the lock, in product-id order, into an array from a.
 * Returns the count or an enum db_rc. */
int64_t refunds_lock_lines(struct db *db, struct arena *a, int64_t order_id,
    struct refunds_line **out);

/* The refund row to write. */
struct refunds_new {
	int64_t order_id;
	int64_t amount;
	struct refunds_chosen *lines;   /* sorted here by product id */
	size_t nlines;
	const char *public_id;
	enum refund_status status;      /* REQUESTED or DONE */
	const char *reason;             /* or NULL */
	const char *actor;              /* "shopper", "admin:<id>", "reconcile" */
	const char *key;                /* idempotency key or NULL */
	bool whole;                     /* everything left was asked for */
};

/* The guarded UPDATEs that reserve n->amount and n->lines on the order, then the refund row
 * and its lines. Returns the refund's id (> 0), 0 when a guard refused (more than is left:
 * the caller rolls back), or an enum db_rc. */
int64_t refunds_reserve(struct db *db, const struct refunds_new *n);

/* A refund that has just become DONE (its row says so already), inside the transaction that
 * locked its order. */
struct refunds_effects {
	struct arena *a;
	int64_t order_id;
	const struct refunds_order *order;  /* as read under the lock */
	int64_t refund_id;
	const char *refund_public_id;
	int64_t amount;
	enum order_actor actor;     /* the order move's actor */
	bool notify;                /* mail the shopper */
	struct bus_batch *jobs;     /* out: refund.settle (and notify) appended */
};

/* Order status (a move of lib/shop/order_state), payment status, stock of the refund's
 * lines, points, the ledger posting and the jobs of a DONE refund. Returns 0, an enum db_rc,
 * or DB_ABORT when the order could not be moved or the ledger refused (logged). */
int refunds_done_effects(struct db *db, const struct refunds_effects *e);

/* s cut to at most max bytes without splitting a UTF-8 sequence (a copy in a). NULL stays
 * NULL. */
const char *refunds_cut_bytes(struct arena *a, const char *s, size_t max);

#endif
