/* settle: a paid order's money handed to its sellers, and a refund's taken back from them
 * (sql/010_ledger.sql: settlements). Settling an order credits each seller's payable with the
 * sum of its lines minus commission and the platform's commission revenue with the rest,
 * from sales_clearing (posting settle:<orderId>); settling a refund reverses the refunded
 * part (posting refund.settle:<refundId>). Each is ONE transaction with its settlements rows,
 * its ledger posting and the outbox completion, so a replayed job changes nothing and a
 * failure leaves nothing behind. Never reads for update nor writes an order, payment or
 * refund row: a settlement can neither undo nor block a payment.
 *
 * Commission: floor(gross * bp / 10000) per seller per order, bp the seller's
 * sellers.commission_bp or, when NULL, the config's settle.commission_bp; the bp used is
 * recorded. A refund reverses C(prior + refunded) - C(prior) of commission, where prior is
 * what earlier refunds of the order took back from that seller, at the sale's recorded bp:
 * refunding everything, in any number of parts, returns exactly the commission taken. */
#ifndef JT_SETTLE_H
#define JT_SETTLE_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;
struct outbox_claim;

enum settle_rc {
	SETTLE_DONE,      /* settled now (outbox row completed in the same transaction) */
	SETTLE_REPLAYED,  /* it was settled before: nothing changed but the outbox row */
	SETTLE_WAIT,      /* not yet: a refund whose sale is not settled, or not DONE yet */
	SETTLE_SKIPPED,   /* never settleable (unknown order or refund, never paid, a FAILED
	                   * refund): logged, outbox row completed */
	SETTLE_LOST,      /* the outbox claim was lost: rolled back */
	SETTLE_FAILED,    /* the database failed or the books disagree (logged): rolled back */
	SETTLE_RC__MAX
};

/* Settles the order with this public id. claim is the worker's outbox claim, completed in
 * the settling transaction, or NULL (tests, tools). default_bp is settle.commission_bp. */
enum settle_rc settle_order(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *order_public_id, int default_bp);

/* Settles the orders ids[0..n) (distinct public ids) in ONE
 * transaction: one statement reads them all (order, sellers' gross, settled before?), one
 * inserts every settlements row, the ledger takes their postings as a batch (each account's
 * balance updated once, lib/shop/ledger.h ledger_post_batch), and claims (the batch's
 * claims, one per order in the same order, or NULL) are completed together. Sets rc[i] to
 * SETTLE_DONE, SETTLE_REPLAYED or SETTLE_SKIPPED and returns 0 when it committed; returns
 * -1 with nothing written when anything in it needs the one-by-one path (books that
 * disagree, a concurrent settlement, a lost claim, a database failure): the caller then runs
 * settle_order for each. */
int settle_orders_batch(struct db *db, struct arena *a, const struct outbox_claim *claims,
    const char *const *ids, size_t n, int default_bp, enum settle_rc *rc);

/* Settles the DONE refund with this public id: SETTLE_WAIT until its order's sale is
 * settled. claim as above. */
enum settle_rc settle_refund(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *refund_public_id);

/* Only completes the outbox row (a job that can never run, e.g. a malformed payload).
 * Returns SETTLE_SKIPPED, SETTLE_LOST or SETTLE_FAILED. */
enum settle_rc settle_skip(struct db *db, const struct outbox_claim *claim);

/* The commission on gross at bp: floor(gross * bp / 10000). Returns 0 or -1 (gross < 0 or
 * past MONEY_MAX, bp outside 0..10000). */
int settle_commission(int64_t gross, int bp, int64_t *out);

/* The commission a refund of refunded won takes back from a seller who had prior won
 * refunded before: C(prior + refunded) - C(prior). Returns 0 or -1. */
int settle_refund_commission(int64_t prior, int64_t refunded, int bp, int64_t *out);

/* English name of rc, for logs. */
const char *settle_rc_name(enum settle_rc rc);

#endif
