/* payments: the database side of a PG confirm outcome (sql/009_payments.sql). Each call is
 * ONE transaction that applies the outcome to the order (a move of lib/shop/order_state and
 * whatever it causes) and completes the worker's outbox claim, so a crash at
 * any point either leaves the job to be redone or has done it completely, and a job done
 * twice changes nothing. No call here talks to the PG or holds a transaction across a
 * network call. Knows nothing of HTTP or of which PG answered beyond its name. */
#ifndef JT_PAYMENTS_H
#define JT_PAYMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "infra/bus.h"

struct arena;
struct bus_batch;
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

/* The PG approved the payment (r->outcome PG_OK and r->state PG_STATE_APPROVED, from a
 * confirm or a lookup). o is the order loaded with details. Checks r against o (same order
 * id, approved, total_amount equal to o->amount); a mismatch is logged as an error and moves
 * a CONFIRMING order to UNKNOWN instead (PAYMENTS_MISMATCH). Otherwise, in one transaction:
 * the move CONFIRMING|UNKNOWN -> PAID by the worker (amount checked again), its paid effects
 * (order_state_paid: payments row, sales, settle and notify jobs, posting) and
 * outbox_complete. On PAYMENTS_DONE *jobs holds the settle and notify jobs: push them after
 * this returns; else it is empty. */
enum payments_rc payments_mark_paid(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const struct order *o, const struct pg_result *r,
    struct bus_batch *jobs);

/* One approval of a batch (payments_mark_paid_batch). */
struct payments_paid {
	const struct outbox_claim *claim;   /* the job's claim; all of one batch (one token) */
	const struct order *o;              /* loaded with its lines, CONFIRMING or UNKNOWN */
	const struct pg_result *r;          /* the PG's approval of o */
	enum payments_rc rc;                /* out */
	struct bus_batch jobs;              /* out: the settle and notify jobs to push */
};

/* payments_mark_paid for v[0..n) in ONE transaction: the orders' guarded moves to PAID and
 * their paid effects by statement for the whole batch (order_state_paid_batch), their
 * paid:<orderId> postings as one ledger batch (each account's balance updated once,
 * ledger_post_batch), and their claims completed by one statement. Returns 0 with every v[i].rc PAYMENTS_DONE and v[i].jobs to push after
 * this returns; -1 with nothing written when any of them needs the one-by-one path (an
 * approval that disagrees with its order, a points order, an order decided meanwhile, a
 * payments row already there, a refused posting, a lost claim, a database failure): the caller then calls
 * payments_mark_paid for each. */
int payments_mark_paid_batch(struct db *db, struct arena *a, struct payments_paid *v, size_t n);

/* The PG definitely refused (a confirm's refusal, or a lookup of an UNKNOWN order that the PG
 * reports ABORTED or EXPIRED): CONFIRMING|UNKNOWN -> FAILED with fail_code/fail_message
 * (truncated to the columns), an event noting the code, the stock given back
 * (order_state_release; o must be loaded with details) and outbox_complete, in one
 * transaction. code and message may be NULL. */
enum payments_rc payments_mark_failed(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const struct order *o, const char *code,
    const char *message);

/* The outcome stayed unknown: CONFIRMING -> UNKNOWN with an event whose note is note
 * (truncated to PAYMENTS_NOTE_MAX bytes at a character boundary; may be NULL) and
 * outbox_complete, in one transaction. The stock stays reserved: an unknown outcome is
 * never a failure. */
enum payments_rc payments_mark_unknown(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const struct order *o, const char *note);

/* What a PG's answer about an order's payment (a lookup's, or a confirm's) says to do. */
enum payments_verdict {
	PAYMENTS_PAID,       /* approved: payments_mark_paid (which checks the amount again) */
	PAYMENTS_FAILED,     /* this very payment ended without approval (aborted, expired): it
	                      * will never be approved: payments_mark_failed_as */
	PAYMENTS_NOT_FOUND,  /* the PG has no payment for the order: a failure only once the
	                      * order's window is over (the caller knows) */
	PAYMENTS_OPEN,       /* no decision yet (in progress, no answer, another payment of the
	                      * same order ended): ask again later */
	PAYMENTS_ADMIN,      /* approved and cancelled at the PG: only a person can settle it */
	PAYMENTS_VERDICT__MAX
};

/* The verdict of answer r about order o (whose payment_key, when set, is the payment we
 * hold). Only r's outcome and state are read, never the PG's words. */
enum payments_verdict payments_verdict(const struct order *o, const struct pg_result *r);

/* payments_mark_failed with the failure r reported (a PAYMENTS_FAILED or PAYMENTS_NOT_FOUND
 * verdict): its code (or its status word) and its message, or a Korean message for its
 * state when it gave none. */
enum payments_rc payments_mark_failed_as(struct db *db, struct arena *a,
    const struct outbox_claim *claim, const struct order *o, const struct pg_result *r);

/* Only completes the outbox row (the order is already decided, or the job cannot be run).
 * Returns PAYMENTS_SKIPPED, PAYMENTS_LOST or PAYMENTS_DB_FAILED. */
enum payments_rc payments_skip(struct db *db, const struct outbox_claim *claim);

/* English name of rc, for logs. */
const char *payments_rc_name(enum payments_rc rc);

#endif
