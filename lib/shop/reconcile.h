/* reconcile: matching a PG's settlement file against our payments and refunds (seed 001's
 * reconciliation batch), classifying every row, repairing what is safe, and storing the run
 * and its findings (sql/013_reconcile.sql) for the admin console. Integer won throughout.
 * Only one run at a time: a Redis lock with a fencing token, and the database guard that
 * refuses a run row whose token is older than the newest. A run is safe to repeat and to
 * resume: every repair is a move of lib/shop/order_state or an idempotent posting. The PG is
 * asked only through lib/clients/pggate.
 *
 * Files: reconcile_file.c (the settlement records), reconcile_lock.c (the lock),
 * reconcile.c (a run), reconcile_repair.c (one payment's finding and repair),
 * reconcile_report.c (the console's reads), reconcile_console.c (a run started from the admin
 * console: dry run first, then apply); reconcile_impl.h is what they share. */
#ifndef JT_RECONCILE_H
#define JT_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clients/pg.h"

struct arena;
struct bus;
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
	const char *period;         /* the settlement date, or NULL (added) */
	const char *note;           /* why it failed, or NULL (added) */
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

/* ---- running a reconciliation (jangteoctl reconcile) --------------------------------- */

#define RECON_FILE_MAX (64 * 1024 * 1024)  /* bytes of a settlement file */
#define RECON_LINE_MAX 1024                /* bytes of one line */
#define RECON_ROWS_MAX 1000000             /* rows of one file */
#define RECON_KEY_MAX 200                  /* paymentKey / tid */
#define RECON_ORDER_MAX 100                /* orderId / partner_order_id */
#define RECON_TX_MAX 64                    /* transactionKey / aid */
#define RECON_LOCK_TTL_MS 60000            /* the Redis lock lives this long unless renewed */

enum recon_type { RECON_APPROVE, RECON_CANCEL, RECON_TYPE__MAX };

/* One transaction of a PG's settlement records. Strings live in the arena the file was read
 * into; all are printable ASCII (checked). */
struct recon_row {
	size_t line;                /* line of the file (1 = the header); 0 when fetched */
	enum recon_type type;
	const char *payment_key;    /* Toss paymentKey / KakaoPay tid, 1..RECON_KEY_MAX */
	const char *order_id;       /* orderId / partner_order_id: [A-Za-z0-9_-]{1,100} */
	const char *transaction_key; /* Toss transactionKey / KakaoPay aid, 1..RECON_TX_MAX */
	int64_t amount;             /* won: > 0 for an approval, < 0 for a cancel */
	int64_t fee;                /* won withheld (negative: given back) */
	int64_t net;                /* amount - fee (a fetched row: the PG's payOutAmount) */
	const char *at;             /* transaction time as the PG wrote it (ISO 8601) */
};

/* A PG's settlement records of one day. rows is malloc'd: reconcile_file_free. */
struct recon_file {
	enum pg_id pg;
	char date[11];              /* the settlement date every row carries; "" for a file
	                             * with no rows */
	struct recon_row *rows;
	size_t nrows;
	size_t cap;
};

void reconcile_file_free(struct recon_file *f);

/* True for a real calendar date written YYYY-MM-DD (year 2000 or later). */
bool reconcile_date_ok(const char *s);

/* Parses a settlement file, the format of tests/fakes/pg.py's /fake/settlement-file: a
 * header line "settlement_date,pg,type,payment_key,order_id,transaction_key,amount,fee,net,
 * transaction_at", then one comma-separated row per transaction (no quoting), LF or CRLF line
 * ends, an optional UTF-8 byte-order mark. Strict: printable ASCII only, exactly ten fields,
 * one settlement date for every row, the row's pg = pg, type approve|cancel, amounts strict
 * integers within MONEY_MAX (an approval > 0, a cancel < 0), amount - fee = net, at most
 * RECON_ROWS_MAX rows of RECON_LINE_MAX bytes. Strings are copied into a. Returns 0, or -1
 * with a one-line English reason naming the line in err (never the raw bytes of a hostile
 * value) and *out empty. */
int reconcile_parse_csv(const char *text, size_t len, enum pg_id pg, struct arena *a,
    struct recon_file *out, char *err, size_t err_len);

/* Fetches date's (YYYY-MM-DD) settlement records from the PG's API into *out, page by page
 * (Toss GET /v1/settlements, soldDate), through this process's breaker gate for the PG (made
 * from c). KakaoPay has no such API: -1 with a reason. Returns 0, or -1 with a reason in err
 * and *out empty. */
int reconcile_fetch(const struct conf *c, enum pg_id pg, const char *date, struct arena *a,
    struct recon_file *out, char *err, size_t err_len);

/* The one-run-at-a-time lock: a Redis key set NX PX with a random token, and the fencing
 * token (INCR) the run writes with. */
struct recon_lock {
	char token[33];
	int64_t fencing_token;
	int64_t renewed_ms;         /* monotonic time of the last renewal */
	bool held;
};

/* Takes the lock. Returns 1 taken (*l filled), 0 another run holds it, -1 Redis failed. */
int reconcile_lock(struct redis *r, struct recon_lock *l);

/* Extends the lock to RECON_LOCK_TTL_MS from now if it is still ours. Returns 1 still ours,
 * 0 lost (expired, or taken by another run), -1 Redis failed. */
int reconcile_lock_renew(struct redis *r, struct recon_lock *l);

/* Releases the lock if it is still ours (never another run's). */
void reconcile_unlock(struct redis *r, struct recon_lock *l);

enum recon_rc {
	RECON_DONE,      /* every finding is settled: matched, repaired or nothing to do */
	RECON_FINDINGS,  /* done, with findings left for a person ("report"), or a dry run that
	                  * would repair */
	RECON_BUSY,      /* a newer run holds the guard (or took the lock over): nothing written */
	RECON_FAILED,    /* the database, Redis or a repair failed: the run is marked failed */
	RECON_RC__MAX
};

struct recon_opts {
	struct db *db;
	struct redis *redis;
	struct recon_lock *lock;    /* held by the caller */
	const struct conf *conf;    /* for the breaker gate of file->pg: lookups and cancels */
	struct bus *bus;            /* where repairs' jobs are pushed; NULL: the janitor pushes */
	const struct recon_file *file;
	const char *source;         /* the file's name, or "api:<date>" */
	bool dry_run;               /* classify and record "would_..." actions; change nothing */
	bool repair_approved;       /* reconcile.repair_approved */
	int64_t confirming_stale_seconds; /* payments.confirming_stale_seconds */
	int64_t actor_id;           /* > 0: the admin who started it from the console: the run's
	                             * row is audited (reconcile.run) in its transaction */
};

/* Runs one reconciliation of o->file against our payments (see the top comment and
 * docs/ARCHITECTURE.md): raises the database guard to the lock's fencing token, records the
 * run, classifies every payment of the file and every PAID payment of ours approved on the
 * file's date, repairs what is safe (unless dry_run), records each finding as it goes, and
 * closes the run. *out is the run (strings in a). Returns an enum recon_rc. */
enum recon_rc reconcile_run(const struct recon_opts *o, struct arena *a, struct recon_run *out);

/* ---- a run started from the admin console (reconcile_console.c) ------------------------ */

/* What the admin gave: a pasted settlement file (text, len, with its name) or a day to fetch
 * from the PG (date), and whether this is the dry run or the apply. */
struct recon_console {
	struct db *db;
	struct redis *redis;
	struct bus *bus;            /* where the apply's repairs' jobs are pushed (may be NULL) */
	const struct conf *conf;
	enum pg_id pg;
	const char *text;           /* the file's bytes, or NULL when date is given */
	size_t len;
	const char *name;           /* the file's name as the admin gave it (the run's source) */
	const char *date;           /* YYYY-MM-DD to fetch (Toss), or NULL */
	bool dry_run;
	int64_t actor_id;           /* the admin (audited as reconcile.run) */
};

enum recon_console_rc {
	RECON_CONSOLE_RAN,          /* *out is the run (done or with findings) */
	RECON_CONSOLE_RAN_NOT_KEPT, /* a dry run that ran, but its input could not be kept for
	                             * the apply (Redis): the admin runs it again */
	RECON_CONSOLE_BAD_INPUT,    /* the file is malformed: err says why; nothing written */
	RECON_CONSOLE_FETCH_FAILED, /* the PG did not give the day: err says why; nothing written */
	RECON_CONSOLE_LOCKED,       /* another run holds the lock: nothing written */
	RECON_CONSOLE_BUSY,         /* a newer run took over: *out is the run, failed */
	RECON_CONSOLE_FAILED,       /* the database, Redis or a repair failed (*out->id > 0 when
	                             * the run was recorded, marked failed) */
	RECON_CONSOLE_RC__MAX
};

/* Runs in as one reconciliation (reconcile_run under the one-run lock, the file parsed or
 * the day fetched first, the PG asked with no transaction open). A dry run's input is kept in
 * Redis for an hour under its run id (reconcile_console_kept). err (English, one line) is set
 * for BAD_INPUT, FETCH_FAILED and a Redis failure. Strings of *out live in a. */
enum recon_console_rc reconcile_console_run(const struct recon_console *in, struct arena *a,
    struct recon_run *out, char *err, size_t err_len);

/* The input kept for dry run run_id into *out (pg, text/len or date, name; strings in a; the
 * handles are left as they were). Returns 1, 0 none (expired, applied, or never kept), -1
 * Redis failed or the kept text is malformed. */
int reconcile_console_kept(struct redis *r, struct arena *a, int64_t run_id,
    struct recon_console *out);

/* Drops the input kept for dry run run_id (after its apply ran). */
void reconcile_console_forget(struct redis *r, int64_t run_id);

#endif
