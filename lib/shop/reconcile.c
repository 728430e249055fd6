/* reconcile: matches a PG's settlement records of one day (a file, or Toss's settlement API)
 * against our payments, classifies every payment of the file and every PAID payment of ours
 * approved that day, repairs what is safe, and stores the run and its findings for the admin
 * console (see reconcile.h and sql/013_reconcile.sql).
 *
 * The rows of one paymentKey / tid are aggregated (approvals minus cancels, partial cancels
 * summed); a repeated transaction key is a duplicate row, two approvals of one payment a
 * duplicate payment. Where the file alone cannot settle a payment (its cancels span days, or
 * a repair is due) the PG is asked for the payment's current balance (a lookup through
 * lib/clients/pggate), so a refund
 * we made today does not look like a discrepancy in yesterday's file.
 *
 * Repairs, each recorded with its finding:
 *   the PG approved, we hold the order FAILED, EXPIRED, UNKNOWN or CONFIRMING past
 *   payments.confirming_stale_seconds, the PG's balance is the order's amount:
 *     reconcile.repair_approved -> PAID in one transaction: the order's move (by
 *     "reconcile", lib/shop/order_state), stock re-reserved for a FAILED / EXPIRED order, and
 *     the paid effects every paid order has (payments row, sales, posting, settle job and
 *     the shopper's mail);
 *     no stock left, or repair_approved off -> cancel at the PG (Idempotency-Key
 *     "recon-<paymentKey>"), and an UNKNOWN / CONFIRMING order becomes FAILED, stock back;
 *     an order the shopper CANCELED before paying, or one the shop FAILED as not approved
 *     (PAYCHECKS_NOT_APPROVED_CODE: the bounded wait of lib/shop/paychecks.h; the shopper was
 *     told it failed) -> cancel at the PG, whatever repair_approved says.
 *   PAID here, the PG's balance is lower than ours -> refunds_record_pg_cancel(difference).
 * Everything else (amounts that differ, missing at the PG, duplicates, unknown payments) is
 * reported ("report") for a person.
 *
 * Every write of a run runs in a transaction that first reads recon_guard FOR SHARE and rolls
 * back when a newer run's fencing token is there. refunds_record_pg_cancel runs its own
 * transaction, so for it the guard is checked in a transaction just before the call: a run
 * stalled between that check and the call, while a newer run records the same cancel, could
 * still record it twice (an idempotency key on refunds_record_pg_cancel would close this).
 * Findings are numbered by the file row they start at (our missing payments after the last
 * row), so the console lists them in file order. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/money.h"
#include "clients/pg.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "shop/audit.h"
#include "shop/order_state.h"
#include "shop/orders.h"
#include "shop/reconcile.h"
#include "shop/reconcile_impl.h"

static const char SQL_GUARD_RAISE[] =
    "UPDATE recon_guard SET fencing_token = ? WHERE id = 1 AND fencing_token < ?";
static const char SQL_GUARD_READ[] =
    "SELECT fencing_token FROM recon_guard WHERE id = 1";
static const char SQL_GUARD_CHECK[] =
    "SELECT fencing_token FROM recon_guard WHERE id = 1 LOCK IN SHARE MODE";
static const char SQL_GUARD_RUN[] =
    "UPDATE recon_guard SET run_id = ? WHERE id = 1";
static const char SQL_SUPERSEDE[] =
    "UPDATE recon_runs SET status = 'failed', finished_at = NOW(3),"
    " note = 'stopped: a newer run took over' WHERE status = 'running' AND fencing_token < ?";
static const char SQL_RUN_INSERT[] =
    "INSERT INTO recon_runs (pg, source, period, dry_run, fencing_token, rows_read)"
    " VALUES (?, ?, NULLIF(?, ''), ?, ?, ?)";
static const char SQL_RUN_FINISH[] =
    "UPDATE recon_runs SET status = ?, n_match = ?, n_amount_mismatch = ?, n_missing_here = ?,"
    " n_missing_pg = ?, n_duplicate = ?, repaired = ?, note = ?, finished_at = NOW(3)"
    " WHERE id = ? AND status = 'running'";
static const char SQL_FINDING_INSERT[] =
    "INSERT INTO recon_findings (run_id, seq, cls, pg_key, order_id, pg_amount, our_amount,"
    " action, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_OURS_OF_DAY[] =
    "SELECT o.public_id, p.payment_key, o.amount, o.refunded_amount FROM payments p"
    " JOIN orders o ON o.id = p.order_id WHERE p.pg = ? AND p.approved_at LIKE ? ORDER BY p.id";
static const char SQL_LOCK_ORDER[] =
    "SELECT status FROM orders WHERE id = ? FOR UPDATE";

#define RECON_SOURCE_MAX 255
#define RECON_RENEW_MS 10000      /* renew the lock when it is older than this */

/* ---- small helpers ------------------------------------------------------------------- */

const char *
reconcile_note(struct arena *a, const char *fmt, ...)
{
	char buf[RECON_NOTE_MAX + 1];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Notes hold PG codes and keys we checked, but never trust a byte into a log or a page
	 * unchecked. */
	for (i = 0; buf[i] != '\0'; i++) {
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			buf[i] = '?';
	}
	return arena_strdup(a, buf);
}

/* ---- a string map over an array's keys ------------------------------------------------ */

/* An open-addressing string map over the keys of an array (slots hold index + 1). */
struct recon_strmap {
	size_t *slots;              /* index + 1, 0 = empty */
	size_t mask;
	const char *(*name)(const void *, size_t);
	const void *ctx;
};

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* A map for about n keys; name(ctx, i) is the key of index i. Never NULL: free it with
 * strmap_free. */
static struct recon_strmap *
strmap_new(size_t n, const char *(*name)(const void *, size_t), const void *ctx)
{
	struct recon_strmap *m = calloc(1, sizeof(*m));
	size_t cap = 16;

	if (m == NULL)
		abort();
	while (cap < n * 2)
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (m->slots == NULL)
		abort();
	m->mask = cap - 1;
	m->name = name;
	m->ctx = ctx;
	return m;
}

/* The slot of key: holding its index + 1, or 0 where it would go (store index + 1 there). */
static size_t *
strmap_slot(struct recon_strmap *m, const char *key)
{
	size_t i = (size_t)str_hash(key) & m->mask;

	while (m->slots[i] != 0 && strcmp(m->name(m->ctx, m->slots[i] - 1), key) != 0)
		i = (i + 1) & m->mask;
	return &m->slots[i];
}

static void
strmap_free(struct recon_strmap **m)
{
	if (*m == NULL)
		return;
	free((*m)->slots);
	free(*m);
	*m = NULL;
}

static const char *
group_name(const void *ctx, size_t i)
{
	return ((const struct recon_group *)ctx)[i].key;
}

static const char *
row_tx_name(const void *ctx, size_t i)
{
	return ((const struct recon_row *)ctx)[i].transaction_key;
}

/* ---- writing a finding ------------------------------------------------------------------ */

/* One finding's transaction: the guard, the repair, the finding row. */
struct write_tx {
	struct recon_ctx *c;
	const struct recon_found *f;
	enum recon_repair repair;
	const struct recon_ours *ours;
	const struct recon_group *g;
	enum ledger_rc ledger;      /* out: RECON_REPAIR_MARK_PAID */
	struct bus_batch jobs;      /* out: RECON_REPAIR_MARK_PAID */
};

/* Ends the transaction on its own: why in c->stop. */
static int
stop(struct recon_ctx *c, enum recon_stop why)
{
	c->stop = why;
	return DB_ABORT;
}

int
reconcile_fence_check(struct db *db, struct recon_ctx *c)
{
	struct db_res res;
	int64_t rc;

	rc = db_query(db, c->scratch, &res, SQL_GUARD_CHECK, "");
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return DB_ERR;
	if (db_res_i64(&res, 0, 0) != c->o->lock->fencing_token)
		return stop(c, RECON_FENCED);
	return 0;
}

/* The repair's status guard: locks the order and checks it is still in the status the
 * finding was made for. */
static int
lock_status(struct db *db, struct write_tx *t)
{
	struct db_res res;
	enum order_status now;
	int64_t rc;

	rc = db_query(db, t->c->scratch, &res, SQL_LOCK_ORDER, "i", t->ours->o.id);
	if (rc < 0)
		return (int)rc;
	if (rc != 1 || orders_status_parse(db_res_str(&res, 0, 0), &now) != 0 ||
	    now != t->ours->o.status)
		return stop(t->c, RECON_CHANGED);
	return 0;
}

/* The order's move, by reconciliation. Returns 0, DB_ABORT (RECON_CHANGED) or a db_rc. */
static int
move(struct db *db, struct write_tx *t, struct order_move *m)
{
	int rc;

	m->order_id = t->ours->o.id;
	m->from = t->ours->o.status;
	m->actor = ORDER_BY_RECONCILE;
	m->amount = t->ours->o.amount;
	rc = order_state_move(db, m);
	if (rc < 0)
		return rc;
	return rc == ORDER_STATE_MOVED ? 0 : stop(t->c, RECON_CHANGED);
}

/* The PG approved the order's amount: PAID, with every paid order's effects. */
static int
mark_paid(struct db *db, struct write_tx *t)
{
	const struct order *o = &t->ours->o;
	struct order_payment pay = { pg_name(t->c->o->file->pg), t->g->key, t->g->approved_at,
	    NULL };
	struct order_move m;
	int rc;

	rc = lock_status(db, t);
	if (rc != 0)
		return rc;
	if (o->status == ORDER_FAILED || o->status == ORDER_EXPIRED) {
		/* They gave their stock back: take it again, guarded, in product-id order. */
		rc = order_state_reserve(db, o->lines, o->nlines);
		if (rc <= 0)
			return rc < 0 ? rc : stop(t->c, RECON_STOCK_GONE);
	}
	memset(&m, 0, sizeof(m));
	m.to = ORDER_PAID;
	m.payment_key = t->g->key;
	m.note = reconcile_note(t->c->scratch, "reconcile run %" PRId64 ": %s %s approved",
	    t->c->run->id, pay.pg, t->g->key);
	rc = move(db, t, &m);
	if (rc != 0)
		return rc;
	rc = order_state_paid(db, t->c->scratch, o, &pay, &t->jobs, &t->ledger);
	return rc == DB_ABORT ? stop(t->c, RECON_LEDGER) : rc;
}

/* The PG's approval was cancelled there: an UNKNOWN / CONFIRMING order fails, stock back. */
static int
fail_order(struct db *db, struct write_tx *t)
{
	const struct order *o = &t->ours->o;
	struct order_move m;
	int rc;

	rc = lock_status(db, t);
	if (rc != 0)
		return rc;
	memset(&m, 0, sizeof(m));
	m.to = ORDER_FAILED;
	m.fail_code = "RECON_CANCELED";
	m.fail_message = "대사에서 PG 승인을 취소했습니다.";
	m.note = reconcile_note(t->c->scratch, "reconcile run %" PRId64 ": approval %s cancelled"
	    " at the PG", t->c->run->id, t->g->key);
	rc = move(db, t, &m);
	if (rc != 0)
		return rc;
	return order_state_release(db, o->lines, o->nlines);
}

static int
write_tx_fn(struct db *db, void *arg)
{
	struct write_tx *t = arg;
	const struct recon_found *f = t->f;
	int64_t rc;

	t->ledger = LEDGER_POSTED;
	bus_batch_clear(&t->jobs);
	t->c->stop = RECON_GO;
	rc = reconcile_fence_check(db, t->c);
	if (rc != 0)
		return (int)rc;
	if (t->repair == RECON_REPAIR_MARK_PAID)
		rc = mark_paid(db, t);
	else if (t->repair == RECON_REPAIR_FAIL_ORDER)
		rc = fail_order(db, t);
	if (rc != 0)
		return (int)rc;
	rc = db_exec(db, SQL_FINDING_INSERT, "iisssiiss", t->c->run->id, f->seq,
	    reconcile_class_names[f->cls], f->pg_key, f->order_id, f->pg_amount, f->our_amount,
	    f->action, f->note);
	return rc < 0 ? (int)rc : 0;
}

/* Counts a written finding. */
static void
counted(struct recon_ctx *c, const struct recon_found *f, bool repaired)
{
	c->run->counts[f->cls]++;
	if (repaired)
		c->run->repaired++;
	if (strcmp(f->action, "report") == 0)
		c->nreport++;
	else if (strncmp(f->action, "would_", 6) == 0)
		c->nwould++;
	log_info(NULL, "reconcile run %" PRId64 ": %s %s order %s pg %" PRId64 " ours %" PRId64
	    ": %s%s%s", c->run->id, reconcile_class_names[f->cls],
	    f->pg_key != NULL ? f->pg_key : "-", f->order_id != NULL ? f->order_id : "-",
	    f->pg_amount, f->our_amount, f->action, f->note != NULL ? " - " : "",
	    f->note != NULL ? f->note : "");
}

/* A repair that could not be made, recorded as its note says. */
static int
record_unrepaired(struct recon_ctx *c, struct recon_found *f, enum recon_repair rep,
    enum ledger_rc ledger)
{
	int rc;

	if (c->stop == RECON_CHANGED && rep == RECON_REPAIR_MARK_PAID) {
		f->action = "none";
		f->our_amount = -1;
		f->note = "the order changed during the run: the next run looks again";
	} else if (c->stop == RECON_CHANGED) {
		/* The PG's cancel is done; only the order's own move was overtaken. */
		f->note = reconcile_note(c->scratch, "%s; the order changed meanwhile, left as it is",
		    f->note);
		rc = reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
		if (rc == 0)
			c->run->repaired++;
		return rc;
	} else {
		f->action = "report";
		f->note = reconcile_note(c->scratch, "not marked paid: the ledger refused (%s)",
		    ledger_rc_name(ledger));
	}
	return reconcile_record(c, f, RECON_REPAIR_NONE, NULL, NULL);
}

int
reconcile_record(struct recon_ctx *c, struct recon_found *f, enum recon_repair rep,
    const struct recon_ours *ours, const struct recon_group *g)
{
	struct write_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.c = c;
	t.f = f;
	t.repair = rep;
	t.ours = ours;
	t.g = g;
	rc = db_tx(c->o->db, write_tx_fn, &t);
	if (rc == 0) {
		counted(c, f, ours != NULL);  /* with ours: a repair (a cancel at the PG is one) */
		bus_push_batch(c->o->bus, &t.jobs);
		return 0;
	}
	if (rc == DB_ABORT && (c->stop == RECON_CHANGED || c->stop == RECON_LEDGER))
		return record_unrepaired(c, f, rep, t.ledger);
	return rc;
}

/* ---- the run ------------------------------------------------------------------------------ */

/* One finding for a row that repeats an earlier row's transaction key. */
static int
repeated_row(struct recon_ctx *c, size_t i, size_t first)
{
	const struct recon_row *r = &c->o->file->rows[i];
	struct recon_found f;

	memset(&f, 0, sizeof(f));
	f.seq = (int64_t)i;
	f.cls = RECON_DUPLICATE;
	f.pg_key = r->payment_key;
	f.pg_amount = r->amount;
	f.our_amount = -1;
	f.action = "report";
	f.note = reconcile_note(c->scratch, "line %zu repeats transaction %s of line %zu",
	    r->line, r->transaction_key, c->o->file->rows[first].line);
	return reconcile_record(c, &f, RECON_REPAIR_NONE, NULL, NULL);
}

/* Adds row i to its payment's group (made when new). Returns 0, or DB_ERR when the amounts
 * overflow (logged). */
static int
group_row(struct recon_ctx *c, size_t i)
{
	const struct recon_row *r = &c->o->file->rows[i];
	size_t *slot = strmap_slot(c->gmap, r->payment_key);
	struct recon_group *g;
	int64_t *sum;

	if (*slot == 0) {
		g = &c->groups[c->ngroups];
		g->key = r->payment_key;
		g->order_id = r->order_id;
		g->first = i;
		*slot = ++c->ngroups;
	}
	g = &c->groups[*slot - 1];
	if (strcmp(g->order_id, r->order_id) != 0)
		g->order_conflict = true;
	if (r->type == RECON_APPROVE) {
		g->napprove++;
		g->approved_at = r->at;
	}
	sum = r->type == RECON_APPROVE ? &g->approved : &g->cancelled;
	if (money_add(*sum, r->type == RECON_APPROVE ? r->amount : -r->amount, sum) == 0)
		return 0;
	log_error(NULL, "reconcile: the amounts of payment %s overflow", r->payment_key);
	return DB_ERR;
}

/* One finding per repeated row (its transaction key seen before), and the groups. */
static int
build_groups(struct recon_ctx *c)
{
	const struct recon_file *file = c->o->file;
	struct recon_strmap *txs;
	size_t i, *slot;
	int rc = 0;

	c->groups = calloc(file->nrows > 0 ? file->nrows : 1, sizeof(*c->groups));
	if (c->groups == NULL)
		abort();
	c->gmap = strmap_new(file->nrows, group_name, c->groups);
	txs = strmap_new(file->nrows, row_tx_name, file->rows);
	for (i = 0; rc == 0 && i < file->nrows; i++) {
		slot = strmap_slot(txs, file->rows[i].transaction_key);
		if (*slot != 0) {
			rc = repeated_row(c, i, *slot - 1);
			arena_reset(c->scratch);
			continue;
		}
		*slot = i + 1;
		rc = group_row(c, i);
	}
	strmap_free(&txs);
	return rc;
}

/* Our PAID payments of the file's day that the file does not have. */
static int
missing_at_pg(struct recon_ctx *c)
{
	struct db_res res;
	struct recon_found f;
	int64_t n;
	size_t i;
	int rc;

	if (c->o->file->date[0] == '\0')
		return 0;
	n = db_query(c->o->db, c->scratch, &res, SQL_OURS_OF_DAY, "ss", pg_name(c->o->file->pg),
	    arena_printf(c->scratch, "%s%%", c->o->file->date));
	if (n < 0)
		return (int)n;
	for (i = 0; i < res.nrows; i++) {
		if (*strmap_slot(c->gmap, db_col_str(&res, i, "payment_key")) != 0)
			continue;
		memset(&f, 0, sizeof(f));
		f.seq = (int64_t)(c->o->file->nrows + i);
		f.cls = RECON_MISSING_PG;
		f.order_id = db_col_str(&res, i, "public_id");
		f.pg_key = db_col_str(&res, i, "payment_key");
		f.pg_amount = -1;
		f.our_amount = db_col_i64(&res, i, "amount") - db_col_i64(&res, i, "refunded_amount");
		f.action = "report";
		f.note = reconcile_note(c->scratch, "approved here on %s; not in the PG's records",
		    c->o->file->date);
		rc = reconcile_record(c, &f, RECON_REPAIR_NONE, NULL, NULL);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the run's own rows ----------------------------------------------------------------- */

struct start_tx {
	struct recon_ctx *c;
	const char *source;
};

/* The audit record of a run an admin started from the console (reconcile.run, target
 * "reconcile:<runId>"), written with the run's row. Returns 0 or an enum db_rc. */
static int
audit_run(struct db *db, struct arena *a, const struct recon_opts *o, const char *source,
    int64_t run_id)
{
	struct json_object *after = json_object_new_object();
	int rc;

	json_object_object_add(after, "pg", json_object_new_string(pg_name(o->file->pg)));
	json_object_object_add(after, "source", json_object_new_string(source));
	json_object_object_add(after, "date", json_object_new_string(o->file->date));
	json_object_object_add(after, "dryRun", json_object_new_boolean(o->dry_run));
	json_object_object_add(after, "rows", json_object_new_int64((int64_t)o->file->nrows));
	rc = audit_record_json(db, o->actor_id, "reconcile.run",
	    arena_printf(a, "reconcile:%" PRId64, run_id), NULL, after);
	json_object_put(after);
	return rc;
}

static int
start_tx_fn(struct db *db, void *arg)
{
	struct start_tx *t = arg;
	const struct recon_opts *o = t->c->o;
	int64_t token = o->lock->fencing_token, rc;

	rc = db_exec(db, SQL_GUARD_RAISE, "ii", token, token);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return stop(t->c, RECON_FENCED);
	rc = db_exec(db, SQL_SUPERSEDE, "i", token);
	if (rc < 0)
		return (int)rc;
	rc = db_exec(db, SQL_RUN_INSERT, "sssiii", pg_name(o->file->pg), t->source, o->file->date,
	    (int64_t)o->dry_run, token, (int64_t)o->file->nrows);
	if (rc < 0)
		return (int)rc;
	t->c->run->id = db_last_insert_id(db);
	rc = db_exec(db, SQL_GUARD_RUN, "i", t->c->run->id);
	if (rc < 0)
		return (int)rc;
	return o->actor_id > 0 ? audit_run(db, t->c->scratch, o, t->source, t->c->run->id) : 0;
}

/* The source as stored: printable ASCII (others become '?'), at most RECON_SOURCE_MAX. */
static const char *
clean_source(struct arena *a, const char *s)
{
	char *d = arena_strndup(a, s != NULL ? s : "-", RECON_SOURCE_MAX);
	size_t i;

	for (i = 0; d[i] != '\0'; i++) {
		if ((unsigned char)d[i] < 0x20 || (unsigned char)d[i] > 0x7e)
			d[i] = '?';
	}
	return d;
}

/* True when the last transaction of the run stopped because a newer run holds the guard. */
static bool
fenced(const struct recon_ctx *c, int rc)
{
	return rc == DB_ABORT && c->stop == RECON_FENCED;
}

/* Raises the guard to our token and records the run. 0, DB_ABORT (fenced) or an enum db_rc. */
static int
start_run(struct recon_ctx *c)
{
	struct start_tx t = { c, clean_source(c->a, c->o->source) };
	struct db_res res;
	int64_t guard;
	int rc;

	rc = db_tx(c->o->db, start_tx_fn, &t);
	if (!fenced(c, rc))
		return rc;
	/* A newer token is in the guard. If the lock is still ours no other run is live, so
	 * Redis lost its counter: move it past the guard and try once more. */
	if (db_query(c->o->db, c->scratch, &res, SQL_GUARD_READ, "") != 1 ||
	    reconcile_lock_renew(c->o->redis, c->o->lock) != 1)
		return rc;
	guard = db_res_i64(&res, 0, 0);
	if (reconcile_fence_above(c->o->redis, guard, &c->o->lock->fencing_token) != 0)
		return rc;
	log_warn(NULL, "reconcile: the fencing counter was behind the guard (%" PRId64 "): now %"
	    PRId64, guard, c->o->lock->fencing_token);
	c->run->fencing_token = c->o->lock->fencing_token;
	return db_tx(c->o->db, start_tx_fn, &t);
}

struct finish_tx {
	struct recon_ctx *c;
	const char *status;
	const char *note;
};

static int
finish_tx_fn(struct db *db, void *arg)
{
	struct finish_tx *t = arg;
	const struct recon_run *run = t->c->run;
	int64_t rc;

	rc = reconcile_fence_check(db, t->c);
	if (rc != 0)
		return (int)rc;
	rc = db_exec(db, SQL_RUN_FINISH, "siiiiiisi", t->status, run->counts[RECON_MATCH],
	    run->counts[RECON_AMOUNT_MISMATCH], run->counts[RECON_MISSING_HERE],
	    run->counts[RECON_MISSING_PG], run->counts[RECON_DUPLICATE], run->repaired, t->note,
	    run->id);
	return rc < 0 ? (int)rc : 0;
}

static int
finish_run(struct recon_ctx *c, const char *status, const char *note)
{
	struct finish_tx t = { c, status, note };

	c->run->status = status;
	c->run->note = note;
	return db_tx(c->o->db, finish_tx_fn, &t);
}

/* Every payment of the file, then ours the file lacks. 0, DB_ABORT (fenced) or a db_rc. */
static int
run_groups(struct recon_ctx *c)
{
	size_t i;
	int rc;

	rc = build_groups(c);
	for (i = 0; rc == 0 && i < c->ngroups; i++) {
		if (reconcile_now_ms() - c->o->lock->renewed_ms > RECON_RENEW_MS &&
		    reconcile_lock_renew(c->o->redis, c->o->lock) == 0)
			return stop(c, RECON_FENCED);
		rc = reconcile_group(c, &c->groups[i]);
		arena_reset(c->scratch);
	}
	if (rc == 0)
		rc = missing_at_pg(c);
	arena_reset(c->scratch);
	return rc;
}

/* Starts, runs and closes the run c describes. */
static enum recon_rc
run(struct recon_ctx *c)
{
	struct recon_run *out = c->run;
	int rc;

	rc = start_run(c);
	if (rc != 0) {
		if (fenced(c, rc)) {
			log_warn(NULL, "reconcile: a newer run holds the guard: nothing done");
			return RECON_BUSY;
		}
		log_error(NULL, "reconcile: could not record the run (database)");
		return RECON_FAILED;
	}
	rc = run_groups(c);
	if (fenced(c, rc)) {
		log_warn(NULL, "reconcile run %" PRId64 ": a newer run took over: stopped", out->id);
		return RECON_BUSY;
	}
	if (rc != 0) {
		if (finish_run(c, "failed", "stopped: the database failed (the next run resumes)") != 0)
			log_error(NULL, "reconcile run %" PRId64 ": could not mark it failed", out->id);
		return RECON_FAILED;
	}
	rc = finish_run(c, "done", c->o->file->date[0] == '\0' ?
	    "the file has no rows: the day's payments were not checked" : NULL);
	if (rc != 0)
		return fenced(c, rc) ? RECON_BUSY : RECON_FAILED;
	return c->nreport > 0 || c->nwould > 0 ? RECON_FINDINGS : RECON_DONE;
}

enum recon_rc
reconcile_run(const struct recon_opts *o, struct arena *a, struct recon_run *out)
{
	struct recon_ctx c;
	enum recon_rc ret;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.a = a;
	c.run = out;
	c.scratch = arena_new(16384);
	out->pg = pg_name(o->file->pg);
	out->source = clean_source(a, o->source);
	out->status = "running";
	out->dry_run = o->dry_run;
	out->fencing_token = o->lock->fencing_token;
	out->rows = (int64_t)o->file->nrows;
	out->period = o->file->date[0] != '\0' ? arena_strdup(a, o->file->date) : NULL;

	ret = run(&c);
	if (out->note != NULL)
		out->note = arena_strdup(a, out->note);
	if (ret == RECON_FAILED && strcmp(out->status, "running") == 0)
		out->status = "failed";
	free(c.groups);
	strmap_free(&c.gmap);
	arena_free(&c.scratch);
	return ret;
}
