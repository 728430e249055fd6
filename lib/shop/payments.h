/* payments: the database side of a PG confirm outcome (sql/009_payments.sql). Each call is
 * ONE transaction that applies the outcome to the order (a guarded UPDATE, its order_events
 * row, whatever must commit with it) and completes the worker's outbox claim, so a crash at
 * any point either leaves the job to be redone or has done it completely, and a job done
 * twice changes nothing. No call here talks to the PG or holds a transaction across a
 * network call. Knows nothing of HTTP or of which PG answered beyond its name. */
#ifndef JT_PAYMENTS_H
#define JT_PAYMENTS_H

#include <stdint.h>

struct arena;
struct db;
struct order;
struct outbox_claim;
struct pg_result;

enum payments_rc {
	PAYMENTS_DONE,       /* the order moved and the outbox row completed, committed together */
	PAYMENTS_SKIPPED,    /* the order was already past the state the move leaves (someone
	                      * else decided): only the outbox row was completed */
	PAYMENTS_MISMATCH,   /* mark_paid only: the PG's approved amount, order or status differs
	                      * from the order's; logged, the order moved to UNKNOWN for an admin
	                      * (or left as it was when already past CONFIRMING), outbox completed */
	PAYMENTS_LOST,       /* the outbox claim was lost to another worker: rolled back */
	PAYMENTS_DB_FAILED,  /* the database failed: rolled back, retry the job later */
	PAYMENTS__MAX
};

/* Longest order_events note written here, in bytes (the column holds 255 characters). */
#define PAYMENTS_NOTE_MAX 255

/* The PG approved the payment (r->outcome PG_OK with status DONE, from a confirm or a lookup).
 * o is the order loaded with details. Checks r against o (same order id, status DONE,
 * total_amount equal to o->amount); a mismatch is logged as an error and moves a CONFIRMING
 * order to UNKNOWN instead (PAYMENTS_MISMATCH). Otherwise, in one transaction: the guarded
 * UPDATE CONFIRMING|UNKNOWN -> PAID (paid_at now, amount checked again), the payments row (a
 * duplicate is a no-op), an order_events row (actor "worker"), catalog_sale_add per line, an
 * outbox settle job {"orderId"}, and outbox_complete. On PAYMENTS_DONE *settle_job is the
 * settle job's id: push it after this returns; else *settle_job is 0. */
enum payments_rc payments_mark_paid(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const struct order *o, const struct pg_result *r,
    int64_t *settle_job);

/* The PG definitely refused (a confirm's refusal, or a lookup of an UNKNOWN order that the PG
 * reports ABORTED or EXPIRED): CONFIRMING|UNKNOWN -> FAILED with fail_code/fail_message (truncated to
 * the columns), an event noting the code, the stock given back (orders_release_stock; o must
 * be loaded with details) and outbox_complete, in one transaction. code and message may be
 * NULL. */
enum payments_rc payments_mark_failed(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const struct order *o, const char *code,
    const char *message);

/* The outcome stayed unknown: CONFIRMING -> UNKNOWN with an event whose note is note
 * (truncated to PAYMENTS_NOTE_MAX bytes at a character boundary; may be NULL) and
 * outbox_complete, in one transaction. The stock stays reserved: an unknown outcome is
 * never a failure. */
enum payments_rc payments_mark_unknown(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const struct order *o, const char *note);

/* Only completes the outbox row (the order is already decided, or the job cannot be run).
 * Returns PAYMENTS_SKIPPED, PAYMENTS_LOST or PAYMENTS_DB_FAILED. */
enum payments_rc payments_skip(struct db *db, const struct outbox_claim *claim);

/* English name of rc, for logs. */
const char *payments_rc_name(enum payments_rc rc);

#endif
