/* order_state: the one owner of an order's status (sql/007_orders.sql orders.status and its
 * order_events timeline). Every other module asks it to move an order; nothing else writes
 * orders.status or order_events.
 *
 * The state machine is one table (order_state.c, drawn in docs/ARCHITECTURE.md): each row is
 * a move from one status to another and the actors allowed to make it. An order is born
 * PENDING (a PG order) or PAID (a points order, paid in the transaction that creates it);
 * from then on:
 *
 *   from                to                  who                          guard besides status
 *   PENDING             CONFIRMING          pg (the PG's success return) amount, not expired
 *   PENDING             FAILED              pg (fail return, no ready)
 *   PENDING             CANCELED            shopper
 *   PENDING             EXPIRED             janitor                      expired
 *   CONFIRMING          PAID                worker, reconcile            amount
 *   CONFIRMING          FAILED              worker, reconcile
 *   CONFIRMING          UNKNOWN             worker
 *   UNKNOWN             PAID                worker, reconcile            amount
 *   UNKNOWN             FAILED              worker, reconcile
 *   FAILED, EXPIRED     PAID                reconcile (stock taken again) amount
 *   PAID                PARTIALLY_CANCELED  shopper, admin, worker, reconcile (a refund)
 *   PAID                CANCELED            shopper, admin, worker, reconcile (a refund)
 *   PARTIALLY_CANCELED  PARTIALLY_CANCELED  shopper, admin, worker, reconcile (another one)
 *   PARTIALLY_CANCELED  CANCELED            shopper, admin, worker, reconcile
 *
 * A move is one guarded UPDATE (WHERE id = ? AND status = <from> and the row's guard) and its
 * timeline row, written in the caller's transaction: the caller commits it together with
 * whatever the move causes (the paid effects, stock given back, an outbox job, a refund row,
 * its own outbox claim), so a batch of moves can share one transaction. A move the table
 * does not have is refused before anything is sent. Nothing here makes a network call.
 *
 * Fulfilment (결제완료 -> 배송준비중 -> 배송중 -> 배송완료) is meant to be a status of its own
 * beside this one (a second column and table of the same shape), not more rows here: a paid
 * order's money and its parcel move independently. */
#ifndef JT_ORDER_STATE_H
#define JT_ORDER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/bus.h"
#include "shop/ledger.h"

struct arena;
struct bus_batch;
struct db;
struct order;
struct order_line;

enum order_status {
	ORDER_PENDING,      /* created, stock reserved, waiting for the shopper to pay */
	ORDER_CONFIRMING,   /* the PG sent the shopper back with success; confirm job queued */
	ORDER_PAID,
	ORDER_FAILED,       /* the PG refused or the shopper gave up; stock given back */
	ORDER_UNKNOWN,      /* the PG's answer was lost; the janitor asks the PG */
	ORDER_EXPIRED,      /* never paid in time; stock given back */
	ORDER_CANCELED,     /* cancelled before payment, or fully refunded */
	ORDER_PARTIALLY_CANCELED,
	ORDER_STATUS__MAX
};

/* Who moves an order (order_events.actor). */
enum order_actor {
	ORDER_BY_SHOPPER,   /* the shopper's own request */
	ORDER_BY_PG,        /* the PG's return to the shop (through the shopper's browser) */
	ORDER_BY_WORKER,    /* a worker acting on the PG's answer (confirm, check, refund) */
	ORDER_BY_JANITOR,   /* expiry */
	ORDER_BY_RECONCILE, /* a reconciliation repair */
	ORDER_BY_ADMIN,     /* a person in the admin console */
	ORDER_ACTOR__MAX
};

/* The actor's database spelling ("janitor"). A status's is orders_status_name's. */
const char *order_state_actor_name(enum order_actor a);

/* True when the table lets actor move an order from from to to. */
bool order_state_allowed(enum order_status from, enum order_status to, enum order_actor actor);

/* One move. Fields a move does not use are ignored. */
struct order_move {
	int64_t order_id;
	enum order_status from;     /* the status the caller saw (under its lock, or as loaded) */
	enum order_status to;
	enum order_actor actor;
	const char *note;           /* the timeline row's note (<= 255 characters), or NULL */
	int64_t amount;             /* to CONFIRMING and PAID: the order's amount, checked again */
	const char *payment_key;    /* to CONFIRMING and PAID: stored when not NULL */
	const char *fail_code;      /* to FAILED, CANCELED, EXPIRED: stored (NULL clears) */
	const char *fail_message;
};

enum order_state_rc {
	ORDER_STATE_MOVED,          /* the guarded UPDATE matched; the timeline row is written */
	ORDER_STATE_NOT_MATCHED,    /* the order is not in m->from (any more) or fails the row's
	                             * guard: nothing was written */
	ORDER_STATE_REFUSED,        /* the table has no such move for this actor: nothing sent */
};

/* Applies m inside the caller's transaction: the row's guarded UPDATE, then its
 * order_events row (m->from -> m->to, the actor's name, m->note). PENDING -> CONFIRMING is
 * one CALL of jt_order_confirming (sql/020_order_confirming.sql), that move's one text.
 * Returns an enum order_state_rc (>= 0) or an enum db_rc. */
int order_state_move(struct db *db, const struct order_move *m);

/* The PG's success return as one round trip: m (PENDING -> CONFIRMING by the PG, m->amount
 * and m->payment_key as order_state_move takes them), its timeline row and a job of kind
 * with payload in the outbox, in one transaction of its own (CALL jt_order_confirming with
 * db_tx1; not inside db_tx). The job is appended to jobs (cleared first): push it after this
 * returns. Returns ORDER_STATE_MOVED, ORDER_STATE_NOT_MATCHED (the guard matched nothing:
 * nothing written), ORDER_STATE_REFUSED (not that move), or an enum db_rc (DB_GONE: the
 * connection broke and the outcome is unknown; a re-read tells). */
int order_state_confirming(struct db *db, struct arena *a, const struct order_move *m,
    enum job_kind kind, const char *payload, struct bus_batch *jobs);

/* The creation's timeline row (NULL -> the first status, by "shopper", no note) is written by
 * jt_checkout (sql/019_checkout.sql), the single writer of a checkout's rows: a change to
 * this module's rule for it is made there too. */

/* What became of an approved payment (NULL for a points order: it has no payments row). */
struct order_payment {
	const char *pg;             /* "toss", "kakaopay" */
	const char *payment_key;
	const char *approved_at;    /* as the PG wrote it, or NULL */
	const char *method;         /* or NULL */
};

/* The effects of an order that has just become PAID (its move already matched), in the same
 * transaction, in this order: the payments row (pay != NULL; a duplicate is a no-op), the
 * sale counted per line (catalog_sale_add), a settle job and the shopper's notify job
 * (appended to jobs: push them after the commit), and the ledger posting paid:<orderId>,
 * last, so the hot accounts stay locked only until the commit. o is loaded with its lines
 * (o->id, public_id, user_id, pay, amount). Returns 0, an enum db_rc (DB_RETRY after a
 * deadlock), or DB_ABORT when the ledger refused the posting (*ledger_rc, logged). */
int order_state_paid(struct db *db, struct arena *a, const struct order *o,
    const struct order_payment *pay, struct bus_batch *jobs, enum ledger_rc *ledger_rc);

/* One order of order_state_paid_batch: the PG approved its payment. */
struct order_paid_item {
	const struct order *o;      /* loaded with its lines; o->status is the move's from */
	struct order_payment pay;
	const char *note;           /* the timeline row's note (at most 255 characters) */
	struct bus_batch *jobs;     /* out: its settle and notify jobs, cleared first */
};

/* order_state_move to PAID by the worker and order_state_paid's effects but the posting
 * (the caller posts the batch's together: ledger_post_batch) for v[0..n), by
 * statement for the whole batch rather than per order, in the caller's transaction: one
 * guarded UPDATE (each order from its own status, amount checked, as MOVE_PAY), one INSERT
 * of the timeline rows, one of the payments rows, one sales count (catalog_sales_add_many),
 * one INSERT of the settle and notify jobs (outbox_queue_many). Returns ORDER_STATE_MOVED
 * when every order moved; ORDER_STATE_NOT_MATCHED when any did not (decided meanwhile) and
 * ORDER_STATE_REFUSED when a move is not the worker's: the caller rolls back and takes the
 * one-by-one path, which says what happened to each; or an enum db_rc (DB_DUP: a payments
 * row exists, which the one-by-one path takes as recorded). */
int order_state_paid_batch(struct db *db, struct arena *a, struct order_paid_item *v, size_t n);

/* Takes the stock of each line (quantity - canceled_quantity) with a guarded UPDATE, in
 * product-id order (every taker locks the stock rows in one order): one CALL of
 * jt_stock_take (sql/019_checkout.sql), the rule's one text, which the checkout's
 * jt_checkout calls too. Returns 1 all taken, 0 a line's stock was short (the caller rolls
 * back: earlier lines were taken), or an enum db_rc. */
int order_state_reserve(struct db *db, const struct order_line *lines, size_t n);

/* The MESSAGE_TEXT of jt_stock_take's refusal (db_error() after DB_REFUSED): a line's stock
 * was short. */
const char *order_state_sold_out_text(void);

/* Gives the stock of each line (quantity - canceled_quantity) back. Call in the transaction
 * whose move ended the order (or completed a refund), only when that move matched, so stock
 * comes back once. Returns 0 or an enum db_rc. */
int order_state_release(struct db *db, const struct order_line *lines, size_t n);

#endif
