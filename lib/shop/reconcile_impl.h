/* reconcile_impl: what the files of the reconcile module share and nothing else includes:
 * reconcile.c (a run: grouping the file, the run's rows, writing findings),
 * reconcile_repair.c (classifying one payment and repairing it), reconcile_file.c (reading
 * settlement records), reconcile_lock.c (the one-run lock) and reconcile_report.c (the admin
 * console's reads). See reconcile.h. */
#ifndef JT_RECONCILE_IMPL_H
#define JT_RECONCILE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shop/orders.h"
#include "shop/reconcile.h"

struct arena;
struct db;
struct recon_strmap;
struct redis;

#define RECON_NOTE_MAX 255        /* recon_findings.note, order_events.note (ASCII notes) */

extern const char *const reconcile_class_names[RECON_CLASS__MAX];

/* Why a run's transaction rolled back on its own (DB_ABORT). */
enum recon_stop {
	RECON_GO,                 /* not stopped */
	RECON_FENCED,             /* a newer run's token is in the guard: the run stops */
	RECON_STOCK_GONE,         /* an order's stock could not be reserved again */
	RECON_CHANGED,            /* the order's status is not the one classified */
	RECON_LEDGER,             /* the ledger refused the paid posting */
};

/* The rows of one payment of the file. */
struct recon_group {
	const char *key;
	const char *order_id;       /* of its first row */
	size_t first;               /* index of its first row: findings keep the file's order */
	int napprove;               /* distinct approvals */
	int64_t approved;           /* won approved */
	int64_t cancelled;          /* won cancelled (positive) */
	const char *approved_at;    /* the approval's time, or NULL */
	bool order_conflict;        /* rows name different orders */
};

/* What a finding says; strings in the run's scratch arena. */
struct recon_found {
	int64_t seq;                /* the index of its (first) file row; past the rows for ours */
	enum recon_class cls;
	const char *pg_key;
	const char *order_id;
	int64_t pg_amount;
	int64_t our_amount;
	const char *action;
	const char *note;
};

/* Our side of a payment. */
struct recon_ours {
	struct order o;             /* with lines */
	int64_t age_seconds;        /* since the order last changed */
	const char *paid_key;       /* its payments row's key, or NULL when unpaid */
};

/* One run. */
struct recon_ctx {
	const struct recon_opts *o;
	struct arena *a;            /* the caller's: the run's strings */
	struct arena *scratch;      /* per payment */
	struct recon_run *run;
	struct recon_group *groups;
	size_t ngroups;
	struct recon_strmap *gmap;  /* payment key -> group */
	int64_t nreport;            /* findings left for a person */
	int64_t nwould;             /* repairs a dry run would make */
	enum recon_stop stop;       /* why the last write rolled back (DB_ABORT) */
};

/* The repairs a finding can carry. */
enum recon_repair { RECON_REPAIR_NONE, RECON_REPAIR_MARK_PAID, RECON_REPAIR_FAIL_ORDER };

/* Writes finding f (with repair rep of ours, by group g) in one transaction that first
 * checks the guard. With ours the finding counts as a repair (a cancel at the PG made before
 * it is one, even with RECON_REPAIR_NONE). A repair that cannot be made (the order moved on,
 * the ledger refused) is recorded instead as its note then says. Returns 0; DB_ABORT with c->stop RECON_FENCED
 * (the run must stop) or RECON_STOCK_GONE (nothing written: the caller decides); or an enum
 * db_rc. */
int reconcile_record(struct recon_ctx *c, struct recon_found *f, enum recon_repair rep,
    const struct recon_ours *ours, const struct recon_group *g);

/* Rolls back with DB_ABORT (c->stop RECON_FENCED) unless the guard still holds this run's
 * token. Call first in every transaction of a run. Returns 0, DB_ABORT or an enum db_rc. */
int reconcile_fence_check(struct db *db, struct recon_ctx *c);

/* Classifies the payment of group g and settles it: records its finding, repairing what is
 * safe. Returns as reconcile_record. */
int reconcile_group(struct recon_ctx *c, const struct recon_group *g);

/* A note in a, at most RECON_NOTE_MAX bytes; non-printable bytes become '?'. */
const char *reconcile_note(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Monotonic milliseconds. */
int64_t reconcile_now_ms(void);

/* A fencing token above floor from Redis (whose counter was behind the guard) into *token.
 * 0, or -1 when Redis failed. */
int reconcile_fence_above(struct redis *r, int64_t floor, int64_t *token);

#endif
