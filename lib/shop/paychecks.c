/* paychecks: the follow-up of payments whose outcome we do not know: which orders are due for
 * a PG lookup, one payment.check job per order at a time, what an answerless lookup leaves
 * behind, and the admin list. The workers reach the PG through lib/clients/pggate. */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/outbox.h"
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
/* The admin list: every UNKNOWN order, and CONFIRMING ones a check was queued for. */
static const char SQL_OPEN[] =
    "SELECT o.public_id, o.status, o.pay_method, o.amount, COALESCE(c.checks, 0),"
    " DATE_FORMAT(c.next_at, '%Y-%m-%d %H:%i:%s'), c.last_result,"
    " COALESCE(c.needs_admin, 0), DATE_FORMAT(o.updated_at, '%Y-%m-%d %H:%i:%s')"
    " FROM orders o LEFT JOIN payment_checks c ON c.order_id = o.id"
    " WHERE o.status IN ('UNKNOWN','CONFIRMING')"
    " AND (o.status = 'UNKNOWN' OR c.order_id IS NOT NULL)"
    " ORDER BY COALESCE(c.needs_admin, 0) DESC, o.updated_at, o.id LIMIT ?";

/* Results of the transaction functions besides 0 and the enum db_rc values (negative: the
 * transaction is rolled back, which changes nothing for TX_WAITING). */
enum paychecks_tx_rc {
	TX_LOST = -300,     /* record: outbox_complete found the claim gone */
	TX_WAITING = -301,  /* queue: a check job is already pending or claimed */
};

/* s cut to at most max bytes without splitting a UTF-8 sequence (a copy in buf, which holds
 * max + 1 bytes, when cut). NULL stays NULL. */
static const char *
cut_utf8(const char *s, size_t max, char *buf)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
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
	for (i = 0; i < res.nrows && i < cap; i++) {
		out[i].order_id = db_res_i64(&res, i, 0);
		out[i].public_id = db_res_str(&res, i, 1);
		out[i].status = db_res_str(&res, i, 2);
	}
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
	prev = db_res_i64(&res, 0, 0);
	if (prev > 0) {
		rc = db_query(db, a, &res, SQL_JOB_STATUS, "i", prev);
		if (rc < 0)
			goto out;
		st = rc == 1 ? db_res_str(&res, 0, 0) : NULL;
		if (st != NULL && (strcmp(st, "pending") == 0 || strcmp(st, "claimed") == 0)) {
			rc = TX_WAITING;
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
	struct json_object *p = json_object_new_object();
	struct queue_tx t;
	int rc;

	*job = 0;
	if (p == NULL)
		abort();
	json_object_object_add(p, "orderId", json_object_new_string(public_id));
	memset(&t, 0, sizeof(t));
	t.order_id = order_id;
	t.base_seconds = base_seconds;
	t.payload = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN);
	rc = db_tx(db, queue_tx_fn, &t);
	json_object_put(p);
	if (rc == TX_WAITING)
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
	int64_t rc, checks;
	bool admin;

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
	checks = db_res_i64(&res, 0, 1);
	admin = db_res_i64(&res, 0, 2) != 0;
	if (ans->asked && checks < INT32_MAX)
		checks++;
	admin = admin || ans->needs_admin || checks >= ans->check_max;
	rc = db_exec(db, SQL_RECORD, "isiiii", checks, t->result, (int64_t)admin, (int64_t)admin,
	    ans->asked ? delay_seconds(ans->base_seconds, (int)checks) : delay_seconds(
	    ans->base_seconds, 0), t->order_id);
	if (rc < 0)
		goto out;
	rc = outbox_complete(db, t->claim);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		rc = TX_LOST;
		goto out;
	}
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
	if (rc == TX_LOST)
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
paychecks_open(struct db *db, struct arena *a, size_t limit, struct paycheck **out)
{
	struct paycheck *list;
	struct db_res res;
	int64_t rc;
	size_t i;

	*out = NULL;
	rc = db_query(db, a, &res, SQL_OPEN, "i", (int64_t)limit);
	if (rc < 0)
		return rc;
	list = arena_alloc(a, (res.nrows > 0 ? res.nrows : 1) * sizeof(*list));
	for (i = 0; i < res.nrows; i++) {
		struct paycheck *p = &list[i];
		int64_t checks = db_res_i64(&res, i, 4);

		p->order_public_id = db_res_str(&res, i, 0);
		p->status = db_res_str(&res, i, 1);
		p->pg = db_res_str(&res, i, 2);
		p->amount = db_res_i64(&res, i, 3);
		p->checks = checks > INT32_MAX ? INT32_MAX : (int)checks;
		p->next_at = db_res_str(&res, i, 5);
		p->last_result = db_res_str(&res, i, 6);
		p->needs_admin = db_res_i64(&res, i, 7) != 0;
		p->since = db_res_str(&res, i, 8);
	}
	*out = list;
	return (int64_t)res.nrows;
}
