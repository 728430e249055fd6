/* paychecks: the follow-up of payments whose outcome we do not know: which orders are due for
 * a PG lookup, one payment.check job per order at a time, what an answerless lookup leaves
 * behind, and the admin list. The workers reach the PG through lib/clients/pggate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/conf.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "clients/pg.h"
#include "shop/orders.h"
#include "base/valid.h"
#include "shop/paychecks.h"

/* UNKNOWN orders due for a check, and stale CONFIRMING ones whose confirm job is gone (dead,
 * done, or never there); never with a check job waiting, never needs_admin. The orders with a
 * live (pending or claimed) confirm job are listed once per query, in a derived table the
 * status index keeps to the live rows, and anti-joined: a NOT EXISTS per order read every
 * live row's payload again for each CONFIRMING order, and after a PG outage (a thousand
 * CONFIRMING orders, thousands of live jobs) one sweep outran db.rw_timeout, so the janitor
 * gave up, re-pushed nothing and started it again (the chaos drill's long run). */
static const char SQL_DUE[] =
    "SELECT o.id, o.public_id, o.status FROM orders o"
    " LEFT JOIN payment_checks c ON c.order_id = o.id"
    " LEFT JOIN outbox j ON j.id = c.job_id"
    " LEFT JOIN (SELECT DISTINCT JSON_VALUE(x.payload, '$.orderId') AS public_id"
    "      FROM outbox x WHERE x.status IN ('pending','claimed')"
    "      AND x.kind = 'payment.confirm') live ON live.public_id = o.public_id"
    " WHERE o.status IN ('UNKNOWN','CONFIRMING')"
    " AND (c.order_id IS NULL OR (c.needs_admin = 0"
    "      AND (c.next_at IS NULL OR c.next_at <= NOW(3))))"
    " AND (j.id IS NULL OR j.status IN ('done','dead'))"
    " AND ((o.status = 'UNKNOWN' AND (c.order_id IS NOT NULL"
    "       OR o.updated_at <= NOW(3) - INTERVAL ? SECOND))"
    "   OR (o.status = 'CONFIRMING' AND o.updated_at <= NOW(3) - INTERVAL ? SECOND"
    "       AND live.public_id IS NULL))"
    " ORDER BY o.updated_at, o.id LIMIT ?";
static const char SQL_ENSURE_ROW[] =
    "INSERT INTO payment_checks (order_id, next_at) VALUES (?, NOW(3) + INTERVAL ? SECOND)"
    " ON DUPLICATE KEY UPDATE order_id = order_id";
static const char SQL_LOCK_ROW[] =
    "SELECT job_id, checks, needs_admin FROM payment_checks WHERE order_id = ? FOR UPDATE";
static const char SQL_JOB_STATUS[] =
    "SELECT status FROM outbox WHERE id = ?";
static const char SQL_SET_JOB[] =
    "UPDATE payment_checks SET job_id = ?, next_at = NOW(3) + INTERVAL ? SECOND"
    " WHERE order_id = ?";
static const char SQL_RECORD[] =
    "UPDATE payment_checks SET checks = ?, last_result = ?, needs_admin = ?,"
    " next_at = CASE WHEN ? = 1 THEN NULL ELSE NOW(3) + INTERVAL ? SECOND END"
    " WHERE order_id = ?";
static const char SQL_NOTE[] =
    "INSERT INTO payment_checks (order_id, last_result, needs_admin) VALUES (?, ?, ?)"
    " ON DUPLICATE KEY UPDATE last_result = VALUES(last_result), next_at = NULL,"
    " needs_admin = GREATEST(needs_admin, VALUES(needs_admin))";
static const char SQL_WINDOW[] =
    "SELECT expires_at + INTERVAL ? SECOND <= NOW(3) FROM orders WHERE id = ?";
/* How long until order ? has been unchanged for ? seconds, and whether a confirm job of it
 * is alive (the status index keeps the subquery to the live rows). */
static const char SQL_QUIET[] =
    "SELECT GREATEST(0, TIMESTAMPDIFF(MICROSECOND, NOW(3), o.updated_at + INTERVAL ? SECOND))"
    " AS left_us, EXISTS (SELECT 1 FROM outbox x WHERE x.status IN ('pending','claimed')"
    "   AND x.kind = 'payment.confirm'"
    "   AND JSON_VALUE(x.payload, '$.orderId') = ?) AS confirm_live"
    " FROM orders o WHERE o.id = ?";
/* The admin list: every UNKNOWN order, and CONFIRMING ones a check was queued for. */
static const char SQL_OPEN[] =
    "SELECT o.public_id, o.status, o.pay_method, o.amount, LEAST(COALESCE(c.checks, 0),"
    " 2147483647) AS checks, DATE_FORMAT(c.next_at, '%Y-%m-%d %H:%i:%s') AS next_at,"
    " c.last_result, COALESCE(c.needs_admin, 0) AS needs_admin,"
    " DATE_FORMAT(o.updated_at, '%Y-%m-%d %H:%i:%s') AS since FROM orders o LEFT JOIN payment_checks c ON c.order_id = o.id"
    " WHERE o.status IN ('UNKNOWN','CONFIRMING')"
    " AND (o.status = 'UNKNOWN' OR c.order_id IS NOT NULL)"
    " ORDER BY COALESCE(c.needs_admin, 0) DESC, o.updated_at, o.id LIMIT ?";

static const struct db_field due_fields[] = {
	DB_FIELD(struct paycheck_due, order_id, DB_F_I64, "id"),
	DB_FIELD(struct paycheck_due, public_id, DB_F_STR, "public_id"),
	DB_FIELD(struct paycheck_due, status, DB_F_STR, "status"),
	DB_FIELDS_END,
};

static const struct db_field open_fields[] = {
	DB_FIELD(struct paycheck, order_public_id, DB_F_STR, "public_id"),
	DB_FIELD(struct paycheck, status, DB_F_STR, "status"),
	DB_FIELD(struct paycheck, pg, DB_F_STR, "pay_method"),
	DB_FIELD(struct paycheck, amount, DB_F_I64, "amount"),
	DB_FIELD(struct paycheck, checks, DB_F_INT, "checks"),
	DB_FIELD(struct paycheck, next_at, DB_F_STR, "next_at"),
	DB_FIELD(struct paycheck, last_result, DB_F_STR, "last_result"),
	DB_FIELD(struct paycheck, needs_admin, DB_F_BOOL, "needs_admin"),
	DB_FIELD(struct paycheck, since, DB_F_STR, "since"),
	DB_FIELDS_END,
};

/* s cut to at most max bytes without splitting a UTF-8 sequence (a copy in buf, which holds
 * max + 1 bytes, when cut). NULL stays NULL. */
static const char *
cut_utf8(const char *s, size_t max, char *buf)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = valid_utf8_cut_bytes(s, max);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

int64_t
paychecks_due(struct db *db, struct arena *a, int64_t base_seconds, int64_t stale_seconds,
    size_t cap, struct paycheck_due *out)
{
	struct db_res res;
	int64_t rc;
	size_t i;

	rc = db_query(db, a, &res, SQL_DUE, "iii", base_seconds, stale_seconds, (int64_t)cap);
	if (rc < 0)
		return rc;
	for (i = 0; i < res.nrows && i < cap; i++)
		if (db_res_map(&res, i, due_fields, &out[i]) != 0)
			return DB_ERR;
	return (int64_t)i;
}

struct queue_tx {
	int64_t order_id;
	int64_t base_seconds;
	const char *payload;
	int64_t job;            /* out */
};

static int
queue_tx_fn(struct db *db, void *arg)
{
	struct queue_tx *t = arg;
	struct arena *a = arena_new(512);
	struct db_res res;
	const char *st;
	int64_t rc, prev;

	t->job = 0;
	rc = db_exec(db, SQL_ENSURE_ROW, "ii", t->order_id, t->base_seconds);
	if (rc < 0)
		goto out;
	rc = db_query(db, a, &res, SQL_LOCK_ROW, "i", t->order_id);
	if (rc < 0)
		goto out;
	if (rc != 1) {
		rc = DB_ERR;  /* made just above: only a concurrent delete could hide it */
		goto out;
	}
	prev = db_col_i64(&res, 0, "job_id");
	if (prev > 0) {
		rc = db_query(db, a, &res, SQL_JOB_STATUS, "i", prev);
		if (rc < 0)
			goto out;
		st = rc == 1 ? db_res_str(&res, 0, 0) : NULL;
		if (st != NULL && (strcmp(st, "pending") == 0 || strcmp(st, "claimed") == 0)) {
			rc = DB_ABORT;  /* a check job is already waiting: nothing to queue */
			goto out;
		}
	}
	rc = outbox_add(db, JOB_PAYMENT_CHECK, t->payload);
	if (rc < 0)
		goto out;
	t->job = rc;
	rc = db_exec(db, SQL_SET_JOB, "iii", t->job, t->base_seconds, t->order_id);
	if (rc >= 0)
		rc = 0;
out:
	arena_free(&a);
	return (int)rc;
}

int
paychecks_queue(struct db *db, int64_t order_id, const char *public_id, int64_t base_seconds,
    int64_t *job)
{
	struct arena *a = arena_new(256);
	struct queue_tx t;
	int rc;

	*job = 0;
	memset(&t, 0, sizeof(t));
	t.order_id = order_id;
	t.base_seconds = base_seconds;
	t.payload = payload_order_build(a, public_id);
	rc = db_tx(db, queue_tx_fn, &t);
	arena_free(&a);
	if (rc == DB_ABORT)
		return 0;
	if (rc < 0)
		return rc;
	*job = t.job;
	return 1;
}

struct record_tx {
	const struct outbox_claim *claim;
	int64_t order_id;
	const struct paychecks_answerless *ans;
	const char *result;
	int checks;             /* out */
	bool needs_admin;       /* out */
};

/* base * 2^checks seconds, at most PAYCHECKS_DELAY_MAX. */
static int64_t
delay_seconds(int64_t base, int checks)
{
	int64_t d = base < 1 ? 1 : base;
	int i;

	for (i = 0; i < checks && d < PAYCHECKS_DELAY_MAX; i++)
		d *= 2;
	return d > PAYCHECKS_DELAY_MAX ? PAYCHECKS_DELAY_MAX : d;
}

static int
record_tx_fn(struct db *db, void *arg)
{
	struct record_tx *t = arg;
	const struct paychecks_answerless *ans = t->ans;
	struct arena *a = arena_new(512);
	struct db_res res;
	int64_t rc, checks, delay;
	bool admin, lost;

	rc = db_exec(db, SQL_ENSURE_ROW, "ii", t->order_id, ans->base_seconds);
	if (rc < 0)
		goto out;
	rc = db_query(db, a, &res, SQL_LOCK_ROW, "i", t->order_id);
	if (rc < 0)
		goto out;
	if (rc != 1) {
		rc = DB_ERR;
		goto out;
	}
	checks = db_col_i64(&res, 0, "checks");
	admin = db_col_i64(&res, 0, "needs_admin") != 0;
	if (ans->asked && checks < INT32_MAX)
		checks++;
	admin = admin || ans->needs_admin || checks >= ans->check_max;
	delay = delay_seconds(ans->base_seconds, ans->asked ? (int)checks : 0);
	if (ans->due_within > 0 && delay > ans->due_within)
		delay = ans->due_within;
	rc = db_exec(db, SQL_RECORD, "isiiii", checks, t->result, (int64_t)admin, (int64_t)admin,
	    delay, t->order_id);
	if (rc < 0)
		goto out;
	rc = outbox_finish(db, t->claim, &lost);  /* lost: DB_ABORT */
	if (rc != 0)
		goto out;
	t->checks = (int)checks;
	t->needs_admin = admin;
	rc = 0;
out:
	arena_free(&a);
	return (int)rc;
}

int
paychecks_record(struct db *db, const struct outbox_claim *claim, int64_t order_id,
    const struct paychecks_answerless *ans, int *checks, bool *needs_admin)
{
	char buf[PAYCHECKS_RESULT_MAX + 1];
	struct record_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.claim = claim;
	t.order_id = order_id;
	t.ans = ans;
	t.result = cut_utf8(ans->result, PAYCHECKS_RESULT_MAX, buf);
	rc = db_tx(db, record_tx_fn, &t);
	if (rc == DB_ABORT)
		return 0;
	if (rc < 0)
		return rc;
	if (checks != NULL)
		*checks = t.checks;
	if (needs_admin != NULL)
		*needs_admin = t.needs_admin;
	return 1;
}

int
paychecks_note(struct db *db, int64_t order_id, const char *result, bool needs_admin)
{
	char buf[PAYCHECKS_RESULT_MAX + 1];
	int64_t rc;

	rc = db_exec(db, SQL_NOTE, "isi", order_id, cut_utf8(result, PAYCHECKS_RESULT_MAX, buf),
	    (int64_t)needs_admin);
	return rc < 0 ? (int)rc : 0;
}

int
paychecks_window_over(struct db *db, int64_t order_id, int64_t grace_seconds)
{
	struct arena *a = arena_new(256);
	struct db_res res;
	int64_t rc;

	rc = db_query(db, a, &res, SQL_WINDOW, "ii", grace_seconds, order_id);
	if (rc >= 0)
		rc = rc == 1 && db_res_i64(&res, 0, 0) == 1;
	arena_free(&a);
	return (int)rc;
}

int64_t
paychecks_quiet_seconds(const struct conf *c)
{
	int64_t ms = conf_int(c, CONF_HTTP_TOTAL_TIMEOUT_MS);

	return (ms + 999) / 1000 + conf_int(c, CONF_PAYMENTS_UNKNOWN_MARGIN_SECONDS);
}

int
paychecks_quiet(struct db *db, int64_t order_id, const char *public_id, int64_t quiet_seconds,
    struct paychecks_quiet *out)
{
	struct arena *a = arena_new(256);
	struct db_res res;
	int64_t rc;

	memset(out, 0, sizeof(*out));
	rc = db_query(db, a, &res, SQL_QUIET, "isi", quiet_seconds, public_id, order_id);
	if (rc == 1) {
		out->left_seconds = (db_col_i64(&res, 0, "left_us") + 999999) / 1000000;
		out->confirm_live = db_col_i64(&res, 0, "confirm_live") != 0;
	}
	arena_free(&a);
	return rc < 0 ? (int)rc : rc == 1;
}

int64_t
paychecks_open(struct db *db, struct arena *a, size_t limit, struct paycheck **out)
{
	struct db_res res;
	int64_t rc;

	*out = NULL;
	rc = db_query(db, a, &res, SQL_OPEN, "i", (int64_t)limit);
	if (rc < 0)
		return rc;
	return db_res_map_rows(&res, a, open_fields, sizeof(**out), (void **)out);
}

enum paychecks_hint_rc
paychecks_toss_event(struct db *db, struct arena *a, struct json_object *body,
    int64_t base_seconds, struct paychecks_hint *out)
{
	struct pg_toss_event ev;
	struct order o;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pg_toss_event_parse(body, &ev) != 0)
		return PAYCHECKS_HINT_MALFORMED;
	snprintf(out->type, sizeof(out->type), "%s", ev.type);
	snprintf(out->order_id, sizeof(out->order_id), "%s", ev.order_id);
	snprintf(out->status, sizeof(out->status), "%s", ev.status);
	if (ev.order_id[0] == '\0') {
		out->why = "not a payment status change";
		return PAYCHECKS_HINT_IGNORED;
	}
	rc = orders_get(db, a, ev.order_id, false, &o);
	if (rc < 0)
		return PAYCHECKS_HINT_FAILED;
	if (rc == 0 || o.pay != ORDER_PAY_TOSS || (o.status != ORDER_CONFIRMING &&
	    o.status != ORDER_UNKNOWN)) {
		out->why = rc == 0 ? "unknown order" : o.pay != ORDER_PAY_TOSS ? "not a Toss order" :
		    arena_printf(a, "the order is %s: nothing to do", orders_status_name(o.status));
		return PAYCHECKS_HINT_IGNORED;
	}
	rc = paychecks_queue(db, o.id, o.public_id, base_seconds, &out->job);
	if (rc < 0)
		return PAYCHECKS_HINT_FAILED;
	return rc == 1 ? PAYCHECKS_HINT_QUEUED : PAYCHECKS_HINT_WAITING;
}
