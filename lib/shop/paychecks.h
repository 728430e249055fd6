/* paychecks: the janitor's follow-up of payments whose outcome we do not know
 * (sql/012_paychecks.sql). An UNKNOWN order, or a CONFIRMING one whose confirm job is dead
 * or finished without moving it, gets a `payment.check` job on a back-off schedule
 * (payments.check_base_seconds, doubling); the payment worker looks the payment up at the
 * PG by orderId and marks the order PAID or FAILED when the PG answers. A payment the PG
 * reports open, or does not know, is decided "not approved" once no confirm of ours can be
 * in flight (the bounded wait, below). After payments.check_max answerless checks the order
 * is listed for an admin.
 *
 * The pieces: paychecks_due (what the janitor should check now), paychecks_queue (one check
 * job per order at a time, shared by the janitor and the PG webhook), paychecks_record and
 * paychecks_note (what workers/job_check.c writes after a lookup), paychecks_open (the admin
 * console's list), and the payment workers' gate to each PG (one client and one circuit
 * breaker per PG per process, used by the confirm and the check jobs alike, so both count
 * against the same breaker). No call here holds a transaction across a network call. */
#ifndef JT_PAYCHECKS_H
#define JT_PAYCHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


struct arena;
struct json_object;
struct breaker;
struct conf;
struct db;
struct outbox_claim;

struct paycheck {
	const char *order_public_id;
	const char *status;         /* the order's: "UNKNOWN" or "CONFIRMING" */
	const char *pg;
	int64_t amount;
	int checks;                 /* lookups made */
	const char *next_at;        /* when the next is due, or NULL */
	const char *last_result;    /* what the last lookup said, or NULL */
	bool needs_admin;           /* checks reached payments.check_max */
	const char *since;          /* when the order entered its status */
};

/* Orders whose payment outcome is open, those needing an admin first, at most limit.
 * Returns the count or an enum db_rc. */
int64_t paychecks_open(struct db *db, struct arena *a, size_t limit, struct paycheck **out);

/* Longest last_result kept, in bytes (the column holds 255 characters; cut at a character
 * boundary). */
#define PAYCHECKS_RESULT_MAX 255

/* Seconds after an order's expires_at during which a PG may still not know its payment
 * (Toss's confirm window is 10 minutes after the shopper authenticates); a lookup answering
 * "not found" later than that fails the order. */
#define PAYCHECKS_NOT_FOUND_GRACE_SECONDS 600

/* An order the janitor should queue a check for. */
struct paycheck_due {
	int64_t order_id;           /* internal id */
	const char *public_id;      /* in the arena given to paychecks_due */
	const char *status;         /* "UNKNOWN" or "CONFIRMING" */
};

/* Lists up to cap orders due for a check now, oldest first, into out:
 *   - UNKNOWN orders whose next check is due (the first base_seconds after the order last
 *     changed, later the next_at the previous check set);
 *   - CONFIRMING orders unchanged for stale_seconds whose payment.confirm job is neither
 *     pending nor claimed (dead, done without moving the order, or missing), at the same
 *     schedule once checked;
 * never an order marked needs_admin nor one with a payment.check job pending or claimed.
 * Returns how many, or an enum db_rc. */
int64_t paychecks_due(struct db *db, struct arena *a, int64_t base_seconds,
    int64_t stale_seconds, size_t cap, struct paycheck_due *out);

/* Queues a payment.check job {"orderId": public_id} for order order_id unless one is already
 * pending or claimed, in one transaction: the order's payment_checks row is made if missing
 * and locked, so a janitor and a webhook racing for one order queue one job. The row's
 * next_at becomes now + base_seconds (so a job that dies before it runs is queued again by
 * the janitor later). Returns 1 queued (*job is its outbox id: push it after this returns),
 * 0 one was already waiting (*job = 0), or an enum db_rc (*job = 0). */
int paychecks_queue(struct db *db, int64_t order_id, const char *public_id,
    int64_t base_seconds, int64_t *job);

/* What one answerless check leaves behind. */
struct paychecks_answerless {
	const char *result;         /* what the lookup said, for last_result (cut to
	                             * PAYCHECKS_RESULT_MAX); may be NULL */
	bool asked;                 /* false: nothing was asked (breaker open), or the PG said
	                             * the payment is open while the bounded wait runs or while
	                             * our own confirm job is still queued: the count stays and
	                             * the next check is due after base_seconds */
	bool needs_admin;           /* true: list for an admin now, whatever the count (the PG
	                             * said something only a person can settle) */
	int64_t base_seconds;       /* payments.check_base_seconds */
	int64_t check_max;          /* payments.check_max */
	int64_t due_within;         /* > 0: the next check is due no later than this many
	                             * seconds from now (when the shop can decide); 0: none */
};

/* Records an answerless check of order order_id and completes the worker's claim, in one
 * transaction: checks + 1 (when asked), last_result, next_at = now + base_seconds * 2^checks
 * (at most PAYCHECKS_DELAY_MAX seconds, and at most due_within when set), and needs_admin (next_at NULL) once checks reach
 * check_max or when asked to. The order itself is not touched: it stays UNKNOWN or
 * CONFIRMING. Returns 1 recorded (*checks and *needs_admin, either may be NULL, tell the
 * row's state), 0 the claim was lost (rolled back), or an enum db_rc (rolled back). */
int paychecks_record(struct db *db, const struct outbox_claim *claim, int64_t order_id,
    const struct paychecks_answerless *ans, int *checks, bool *needs_admin);

/* Longest wait between two checks, in seconds (7 days). */
#define PAYCHECKS_DELAY_MAX 604800

/* Notes on the order's payment_checks row what a check decided (after lib/shop/payments has
 * applied it in its own transaction): last_result = result (cut), next_at NULL, and
 * needs_admin set when needs_admin (never cleared here). A missing row is made. Best effort:
 * returns 0 or an enum db_rc. */
int paychecks_note(struct db *db, int64_t order_id, const char *result, bool needs_admin);

/* True (1) when the order's expires_at lies more than grace_seconds in the past, 0 when not
 * (or no such order), or an enum db_rc. Uses the database's clock. */
int paychecks_window_over(struct db *db, int64_t order_id, int64_t grace_seconds);

/* ---- the bounded wait: deciding "not approved" ------------------------------------------
 *
 * Only the shop's own confirm (Toss) / approve (KakaoPay) can approve a payment. Once no
 * confirm of ours can still be in flight, a payment the PG reports still open (IN_PROGRESS,
 * READY, ...) or does not know will never be approved: the shop decides it was not. No
 * confirm can be in flight when no payment.confirm job of the order is pending or claimed
 * (a claim is only given up when its worker finished, or its claim expired) and the order has
 * not changed for paychecks_quiet_seconds: the longest a confirm call lasts (the PG client's
 * http.total_timeout_ms, one HTTP call per confirm) plus payments.unknown_margin_seconds for a
 * worker still busy when its claim expired and for the PG's own lag. An UNKNOWN order got
 * there from its confirm job's last attempt, so every confirm of ours began before it
 * changed; a stale CONFIRMING order whose confirm job is gone is first moved to UNKNOWN (by
 * the check), which starts its wait. A surprise approval after the decision is cancelled at
 * the PG by reconciliation (lib/shop/reconcile_repair.c knows the code below). */

/* The order's fail_code and fail_message when the shop decided "not approved". "JT_" codes
 * are jangteo's own: a PG's code never starts so, so reconciliation can tell them apart. */
#define PAYCHECKS_NOT_APPROVED_CODE "JT_NOT_APPROVED"
#define PAYCHECKS_NOT_APPROVED_MESSAGE \
    "결제 승인이 확인되지 않아 주문이 취소되었습니다. 승인된 금액이 있다면 자동으로 취소됩니다."

/* Seconds an order must stay unchanged, with no live confirm job, before the shop may decide
 * its open payment was not approved: ceil(http.total_timeout_ms / 1000) +
 * payments.unknown_margin_seconds, from c. */
int64_t paychecks_quiet_seconds(const struct conf *c);

/* Whether a confirm of ours may still be in flight for order order_id (public_id). */
struct paychecks_quiet {
	bool confirm_live;          /* a payment.confirm job of the order is pending or claimed */
	int64_t left_seconds;       /* seconds until the order has been unchanged for
	                             * quiet_seconds (rounded up); 0 when it has */
};

/* Fills *out for order order_id (its public id public_id names its confirm jobs), with the
 * database's clock. Returns 1, 0 no such order, or an enum db_rc. */
int paychecks_quiet(struct db *db, int64_t order_id, const char *public_id,
    int64_t quiet_seconds, struct paychecks_quiet *out);

/* ---- Toss's PAYMENT_STATUS_CHANGED webhook: a hint, never believed -------------------- */

enum paychecks_hint_rc {
	PAYCHECKS_HINT_MALFORMED,   /* not a well-formed event (lib/clients/pg_toss reads it) */
	PAYCHECKS_HINT_IGNORED,     /* another event type, an unknown order, not a Toss order, or
	                             * an order whose outcome is decided: nothing to do */
	PAYCHECKS_HINT_QUEUED,      /* a payment.check job queued (out->job: push it) */
	PAYCHECKS_HINT_WAITING,     /* a check of the order was already waiting */
	PAYCHECKS_HINT_FAILED,      /* the database failed: nothing queued */
};

/* What an event named, for the caller's log (strings owned by the struct or a). */
struct paychecks_hint {
	char type[65];
	char order_id[65];          /* "" unless a PAYMENT_STATUS_CHANGED */
	char status[32];            /* the status the event claims */
	const char *why;            /* IGNORED: why, for the log */
	int64_t job;                /* QUEUED: the check job */
};

/* A Toss webhook event (the parsed body): when it names a Toss order whose payment outcome
 * is still open (CONFIRMING or UNKNOWN), queues a check (paychecks_queue, base_seconds);
 * the PG's own answer to that check decides, never the event. */
enum paychecks_hint_rc paychecks_toss_event(struct db *db, struct arena *a,
    struct json_object *body, int64_t base_seconds, struct paychecks_hint *out);

#endif
