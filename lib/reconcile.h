/* reconcile: matching a PG's settlement file against our payments and refunds (seed 001's
 * reconciliation batch), classifying every row, repairing what is safe, and storing the run
 * and its findings (sql/013_reconcile.sql) for the admin console. Integer won throughout.
 * Only one run at a time: a Redis lock with a fencing token, and the database guard that
 * refuses a run row whose token is older than the newest. A run is safe to repeat and to
 * resume: every repair is a guarded transition or an idempotent posting. */
#ifndef JT_RECONCILE_H
#define JT_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct conf;
struct db;
struct redis;

enum recon_class {
	RECON_MATCH,            /* same payment, same amounts, same state */
	RECON_AMOUNT_MISMATCH,  /* both have it, amounts (or cancelled amounts) differ */
	RECON_MISSING_HERE,     /* the PG has it, we have no such payment (or hold it unpaid) */
	RECON_MISSING_PG,       /* we hold it PAID, the PG's file does not have it */
	RECON_DUPLICATE,        /* the file lists the same payment more than once */
	RECON_CLASS__MAX
};

struct recon_run {
	int64_t id;
	const char *pg;             /* "toss" or "kakaopay" */
	const char *source;         /* the file's name */
	const char *status;         /* "running", "done", "failed" */
	bool dry_run;
	int64_t fencing_token;
	int64_t rows;               /* rows read from the file */
	int64_t counts[RECON_CLASS__MAX];
	int64_t repaired;
	const char *started_at;
	const char *finished_at;    /* or NULL */
};

struct recon_finding {
	int64_t id;
	enum recon_class cls;
	const char *pg_key;         /* paymentKey / tid */
	const char *order_id;       /* our public order id, or NULL */
	int64_t pg_amount;          /* net of the PG's cancels; -1 when the PG has none */
	int64_t our_amount;         /* net of our refunds; -1 when we have none */
	const char *action;         /* "none", "marked_paid", "canceled_at_pg", "refund_recorded",
	                             * "report" (left for a person), "would_..." on a dry run */
	const char *note;           /* or NULL */
};

const char *reconcile_class_name(enum recon_class c);

/* The newest runs, at most limit. Returns the count or an enum db_rc. */
int64_t reconcile_runs(struct db *db, struct arena *a, size_t limit, struct recon_run **out);

/* One run. Returns 1, 0 unknown, or an enum db_rc. */
int reconcile_run_get(struct db *db, struct arena *a, int64_t id, struct recon_run *out);

/* A run's findings (matches only when with_matches), in file order. Returns the count or an
 * enum db_rc. */
int64_t reconcile_findings(struct db *db, struct arena *a, int64_t run_id, bool with_matches,
    struct recon_finding **out);

#endif
