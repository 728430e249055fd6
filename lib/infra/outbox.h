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
	const char *payload;  /* JSON text, in the arena given to outbox_claim */
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

enum outbox_claim_rc {
	OUTBOX_CLAIMED = 1,   /* *out is filled; the job is ours for claim_seconds */
	OUTBOX_NOT_MINE = 0,  /* done, dead, unknown, not yet due, or another worker holds it */
	OUTBOX_DEAD = 2,      /* it had used up max_attempts: now marked dead, do not run it */
};

/* Claims job id if it is pending and due, or claimed with an expired claim. Returns an enum
 * outbox_claim_rc or an enum db_rc (< 0). */
int outbox_claim(struct db *db, struct arena *a, int64_t id, int claim_seconds, int max_attempts,
    struct outbox_claim *out);

/* Marks the job done, only if the claim still holds. Call inside the transaction that applies
 * the job's effect and roll back when it returns 0. Returns 1 marked, 0 claim lost, or an enum
 * db_rc. */
int outbox_complete(struct db *db, const struct outbox_claim *c);

/* outbox_complete as the last step of a job's transaction function: returns 0 when the row
 * is marked done, DB_ABORT with *lost set when the claim was lost (the function returns it,
 * so the transaction rolls back), or an enum db_rc. *lost is cleared otherwise. */
int outbox_finish(struct db *db, const struct outbox_claim *c, bool *lost);

/* Gives a failed job back: pending again, due after retry_delay_ms, error noted (truncated).
 * Returns 1, 0 when the claim was lost, or an enum db_rc. */
int outbox_release(struct db *db, const struct outbox_claim *c, int64_t retry_delay_ms,
    const char *error);

/* Puts a due job back to pending with a fresh due time (so the next sweep does not push it
 * again before janitor.grace_ms has passed): a pending job that is due, or a claimed job
 * whose claim expired (its old holder can no longer complete it). Returns 1 when requeued
 * (push it now), 0 when it is no longer due, or an enum db_rc. */
int outbox_requeue(struct db *db, int64_t id);

/* Lists up to cap jobs the janitor should push again: claimed with an expired claim (first, so
 * a dead worker's job never waits behind a backlog), then pending and due for grace_ms. Stores
 * them in out and returns how many, or an enum db_rc. */
int64_t outbox_due(struct db *db, struct arena *a, int64_t grace_ms, size_t cap,
    struct bus_job *out);

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
