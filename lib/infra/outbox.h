/* outbox: the job table. A job is inserted in the same transaction as the state change that
 * causes it, claimed by one worker at a time (with an expiry), and completed in the
 * transaction that applies its effect, so a crash anywhere loses no job and a job done twice
 * changes nothing. */
#ifndef JT_OUTBOX_H
#define JT_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "infra/bus.h"

struct arena;
struct db;

/* A worker's hold on one job. */
struct outbox_claim {
	int64_t id;
	enum job_kind kind;
	const char *payload;  /* JSON text, in the arena given to outbox_claim_batch */
	char token[25];       /* proves the claim is still ours when completing */
	int attempts;         /* including this one */
};

/* Inserts a pending job; call inside the transaction that causes it. Returns the new id (> 0)
 * or an enum db_rc. */
int64_t outbox_add(struct db *db, enum job_kind kind, const char *payload_json);

/* outbox_add, and on success the job appended to batch (the caller pushes the batch after
 * its commit: bus_push_batch). Returns the new id (> 0) or an enum db_rc. */
int64_t outbox_queue(struct db *db, struct bus_batch *batch, enum job_kind kind,
    const char *payload_json);

/* One job of outbox_queue_many. */
struct outbox_new {
	enum job_kind kind;
	const char *payload;        /* JSON text */
	struct bus_batch *batch;    /* the job is appended here on success */
};

/* outbox_queue for v[0..n) in ONE statement (a multi-row INSERT ... RETURNING: ids come back
 * from the server, never assumed consecutive, so Galera's interleaved auto-increment is
 * fine); call inside the transaction that causes them. Returns n, or an enum db_rc with no
 * job appended to any batch. */
int64_t outbox_queue_many(struct db *db, struct arena *a, const struct outbox_new *v, size_t n);

/* The most jobs one claim takes (a worker's batch). */
#define OUTBOX_BATCH_MAX 64

/* Claims, in one statement, up to cap (1..OUTBOX_BATCH_MAX) pending jobs of kind that are
 * due, oldest due first, each for claim_seconds and one more attempt, all under one fresh
 * token; a job that used up max_attempts is not taken (outbox_bury marks it dead). Fills
 * out[0..n) (payloads in a, each claim carrying the batch's token) and returns n (0: none
 * due), or an enum db_rc. */
int64_t outbox_claim_batch(struct db *db, struct arena *a, enum job_kind kind, size_t cap,
    int claim_seconds, int max_attempts, struct outbox_claim *out);

/* Gives back, unspent, every job still held under token (the part of a batch its worker will
 * not run: stopping, or its claims near expiry): pending, due as before, the claim's attempt
 * taken back. Returns how many, or an enum db_rc. */
int64_t outbox_unclaim(struct db *db, const char *token);

/* outbox_unclaim for the one job of c. Returns 1, 0 when the claim was lost, or an enum
 * db_rc. */
int outbox_unclaim_one(struct db *db, const struct outbox_claim *c);

/* Marks the job done, only if the claim still holds. Call inside the transaction that applies
 * the job's effect and roll back when it returns 0. Returns 1 marked, 0 claim lost, or an enum
 * db_rc. */
int outbox_complete(struct db *db, const struct outbox_claim *c);

/* outbox_complete as the last step of a job's transaction function: returns 0 when the row
 * is marked done, DB_ABORT with *lost set when the claim was lost (the function returns it,
 * so the transaction rolls back), or an enum db_rc. *lost is cleared otherwise. */
int outbox_finish(struct db *db, const struct outbox_claim *c, bool *lost);

/* outbox_finish for a whole batch: marks done every job still held under the token of c (any
 * claim of the batch), inside the transaction that applies all their effects. Returns 0 when
 * exactly n were marked, DB_ABORT with *lost set when fewer (a claim was lost: roll back and
 * run them one by one), or an enum db_rc. */
int outbox_finish_batch(struct db *db, const struct outbox_claim *c, size_t n, bool *lost);

/* outbox_finish for c[0..n) (n > 0), claims of one batch (one token): marks them done in one
 * statement inside the transaction that applies their effects. Returns 0 when all n were
 * marked, DB_ABORT with *lost set when fewer (roll back), or an enum db_rc. */
int outbox_finish_some(struct db *db, struct arena *a, const struct outbox_claim *const *c,
    size_t n, bool *lost);

/* Gives a failed job back: pending again, due after retry_delay_ms, error noted (truncated).
 * Returns 1, 0 when the claim was lost, or an enum db_rc. */
int outbox_release(struct db *db, const struct outbox_claim *c, int64_t retry_delay_ms,
    const char *error);

/* Gives a job back unspent for later: pending, due after delay_ms, the claim's attempt taken
 * back, why noted (truncated). For a job that did nothing because something it needs refused
 * it beforehand (an open circuit breaker): waiting that out must not use up its attempts.
 * Returns 1, 0 when the claim was lost, or an enum db_rc. */
int outbox_defer(struct db *db, const struct outbox_claim *c, int64_t delay_ms, const char *why);

/* The janitor's sweep, one statement each. outbox_reap puts every job whose claim expired (its
 * worker died or overran) back to pending, due now: the next claim of its kind takes it, and
 * the old holder's completion is refused. outbox_bury marks dead every pending job that used
 * max_attempts (its last error kept behind "too many attempts"). Each returns how many jobs it
 * moved, or an enum db_rc. */
int64_t outbox_reap(struct db *db);
int64_t outbox_bury(struct db *db, int max_attempts);

/* ---- the admin console's view (read-only lists, and retrying one job) -------------------- */

/* One job as the console shows it; strings in the arena given to the call. */
struct outbox_job {
	int64_t id;
	const char *kind;           /* "payment.confirm", ... as stored */
	const char *payload;
	const char *status;         /* "pending", "claimed", "done", "dead" */
	int attempts;
	const char *last_error;     /* or NULL */
	const char *available_at;   /* "YYYY-MM-DD HH:MM:SS" */
	const char *claimed_until;  /* or NULL */
	const char *created_at;
};

/* How many jobs of one kind wait, run, or died. */
struct outbox_depth {
	const char *kind;
	int64_t pending;
	int64_t claimed;
	int64_t dead;
};

/* Per kind (by name) with any pending, claimed or dead job, into an array from a. Returns the
 * count or an enum db_rc. */
int64_t outbox_depths(struct db *db, struct arena *a, struct outbox_depth **out);

/* Jobs that should be running and are not: claimed with an expired claim (its worker died),
 * or pending and due for more than stuck_ms (nobody took it). Oldest first, at most limit.
 * Returns the count or an enum db_rc. */
int64_t outbox_stuck(struct db *db, struct arena *a, int64_t stuck_ms, size_t limit,
    struct outbox_job **out);

/* Dead jobs (they used up max_attempts), newest first, ids below before_id (0: from the
 * newest), at most limit. Returns the count or an enum db_rc. */
int64_t outbox_dead(struct db *db, struct arena *a, int64_t before_id, size_t limit,
    struct outbox_job **out);

/* An admin's retry, called inside the transaction that also audits it: locks job id, reads it
 * into *before, and when it is dead, claimed with an expired claim, or pending and due, puts
 * it back to pending, due now, with its attempts reset to 0 (the last error is kept). Returns
 * 1 retried (push it after the commit), 0 not retryable (unknown, done, running, or not yet
 * due; *before is filled when the job exists, else before->id is 0), or an enum db_rc. */
int outbox_retry(struct db *db, struct arena *a, int64_t id, struct outbox_job *before);

#endif
