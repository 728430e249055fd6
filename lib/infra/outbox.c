/* outbox: insert, claim, complete, release and list the jobs of the outbox table. */
#include <string.h>

#include "base/arena.h"
#include "infra/db.h"
#include "base/ids.h"
#include "base/log.h"
#include "infra/outbox.h"

static const char SQL_ADD[] =
    "INSERT INTO outbox (kind, payload) VALUES (?, ?)";
static const char SQL_CLAIM[] =
    "UPDATE outbox SET status = 'claimed', claim_token = ?,"
    " claimed_until = NOW(3) + INTERVAL ? SECOND, attempts = attempts + 1"
    " WHERE id = ? AND attempts < ?"
    " AND ((status = 'pending' AND available_at <= NOW(3))"
    "   OR (status = 'claimed' AND claimed_until < NOW(3)))";
static const char SQL_CLAIMED_ROW[] =
    "SELECT kind, payload, attempts FROM outbox WHERE id = ? AND claim_token = ?";
static const char SQL_BURY[] =
    "UPDATE outbox SET status = 'dead', claim_token = NULL, claimed_until = NULL,"
    " last_error = 'too many attempts'"
    " WHERE id = ? AND attempts >= ?"
    " AND ((status = 'pending' AND available_at <= NOW(3))"
    "   OR (status = 'claimed' AND claimed_until < NOW(3)))";
static const char SQL_COMPLETE[] =
    "UPDATE outbox SET status = 'done', done_at = NOW(3), claim_token = NULL,"
    " claimed_until = NULL WHERE id = ? AND status = 'claimed' AND claim_token = ?";
static const char SQL_RELEASE[] =
    "UPDATE outbox SET status = 'pending', claim_token = NULL, claimed_until = NULL,"
    " available_at = NOW(3) + INTERVAL ? MICROSECOND, last_error = ?"
    " WHERE id = ? AND status = 'claimed' AND claim_token = ?";
static const char SQL_REQUEUE[] =
    "UPDATE outbox SET status = 'pending', claim_token = NULL, claimed_until = NULL,"
    " available_at = NOW(3)"
    " WHERE id = ? AND ((status = 'pending' AND available_at <= NOW(3))"
    "   OR (status = 'claimed' AND claimed_until < NOW(3)))";
/* Expired claims first: a job whose worker died must not wait behind a backlog of pending
 * jobs that fills the batch (a queue whose workers are slow or absent). */
static const char SQL_DUE[] =
    "(SELECT id, kind FROM outbox WHERE status = 'claimed'"
    "  AND claimed_until < NOW(3) ORDER BY claimed_until LIMIT ?)"
    " UNION ALL "
    "(SELECT id, kind FROM outbox WHERE status = 'pending'"
    "  AND available_at <= NOW(3) - INTERVAL ? MICROSECOND ORDER BY available_at LIMIT ?)";

/* The admin console's statements. */
#define OUTBOX_JOB_COLS "id, kind, payload, status, attempts, last_error," \
    " DATE_FORMAT(available_at, '%Y-%m-%d %H:%i:%s')," \
    " DATE_FORMAT(claimed_until, '%Y-%m-%d %H:%i:%s')," \
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s')"
static const char SQL_DEPTHS[] =
    "SELECT kind, SUM(status = 'pending'), SUM(status = 'claimed'), SUM(status = 'dead')"
    " FROM outbox WHERE status IN ('pending', 'claimed', 'dead') GROUP BY kind ORDER BY kind";
static const char SQL_STUCK[] =
    "SELECT " OUTBOX_JOB_COLS " FROM outbox"
    " WHERE (status = 'claimed' AND claimed_until < NOW(3))"
    "   OR (status = 'pending' AND available_at <= NOW(3) - INTERVAL ? MICROSECOND)"
    " ORDER BY id LIMIT ?";
static const char SQL_DEAD[] =
    "SELECT " OUTBOX_JOB_COLS " FROM outbox WHERE status = 'dead' AND (? = 0 OR id < ?)"
    " ORDER BY id DESC LIMIT ?";
static const char SQL_JOB_LOCK[] =
    "SELECT " OUTBOX_JOB_COLS " FROM outbox WHERE id = ? FOR UPDATE";
/* attempts is assigned before status, so it still sees the old status (MariaDB assigns left
 * to right). */
static const char SQL_RETRY[] =
    "UPDATE outbox SET attempts = 0, status = 'pending', claim_token = NULL,"
    " claimed_until = NULL, available_at = NOW(3)"
    " WHERE id = ? AND (status = 'dead'"
    "   OR (status = 'claimed' AND claimed_until < NOW(3))"
    "   OR (status = 'pending' AND available_at <= NOW(3)))";

int64_t
outbox_add(struct db *db, enum job_kind kind, const char *payload_json)
{
	int64_t rc;

	rc = db_exec(db, SQL_ADD, "ss", bus_kind_name(kind), payload_json);
	if (rc < 0)
		return rc;
	return db_last_insert_id(db);
}

int64_t
outbox_queue(struct db *db, struct bus_batch *batch, enum job_kind kind,
    const char *payload_json)
{
	int64_t id = outbox_add(db, kind, payload_json);

	if (id > 0)
		bus_batch_add(batch, id, kind);
	return id;
}

int
outbox_claim(struct db *db, struct arena *a, int64_t id, int claim_seconds, int max_attempts,
    struct outbox_claim *out)
{
	struct db_res res;
	int64_t rc;

	memset(out, 0, sizeof(*out));
	ids_new(out->token, sizeof(out->token));
	rc = db_exec(db, SQL_CLAIM, "siii", out->token, (int64_t)claim_seconds, id,
	    (int64_t)max_attempts);
	if (rc < 0)
		return (int)rc;
	if (rc == 0) {
		rc = db_exec(db, SQL_BURY, "ii", id, (int64_t)max_attempts);
		if (rc < 0)
			return (int)rc;
		if (rc == 1) {
			log_error(NULL, "outbox job %lld is dead after %d attempts", (long long)id,
			    max_attempts);
			return OUTBOX_DEAD;
		}
		return OUTBOX_NOT_MINE;
	}
	rc = db_query(db, a, &res, SQL_CLAIMED_ROW, "is", id, out->token);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return OUTBOX_NOT_MINE;
	if (bus_kind_parse(db_res_str(&res, 0, 0), &out->kind) != 0) {
		log_error(NULL, "outbox job %lld has an unknown kind", (long long)id);
		return OUTBOX_NOT_MINE;
	}
	out->id = id;
	out->payload = db_res_str(&res, 0, 1);
	out->attempts = (int)db_res_i64(&res, 0, 2);
	return OUTBOX_CLAIMED;
}

int
outbox_complete(struct db *db, const struct outbox_claim *c)
{
	return (int)db_exec(db, SQL_COMPLETE, "is", c->id, c->token);
}

int
outbox_finish(struct db *db, const struct outbox_claim *c, bool *lost)
{
	int rc = outbox_complete(db, c);

	*lost = rc == 0;
	if (rc < 0)
		return rc;
	return rc == 0 ? DB_ABORT : 0;
}

int
outbox_release(struct db *db, const struct outbox_claim *c, int64_t retry_delay_ms,
    const char *error)
{
	char note[256];
	size_t n;
	int64_t rc;

	/* Keep the note within the column and cut it on a UTF-8 character boundary. */
	n = error != NULL ? strlen(error) : 0;
	if (n > sizeof(note) - 1)
		n = sizeof(note) - 1;
	while (n > 0 && error[n] != '\0' && ((unsigned char)error[n] & 0xC0) == 0x80)
		n--;
	if (n > 0)
		memcpy(note, error, n);
	note[n] = '\0';
	rc = db_exec(db, SQL_RELEASE, "isis", retry_delay_ms * 1000, note, c->id, c->token);
	return (int)rc;
}

int64_t
outbox_due(struct db *db, struct arena *a, int64_t grace_ms, size_t cap, struct bus_job *out)
{
	struct db_res res;
	int64_t rc;
	size_t i, n = 0;

	rc = db_query(db, a, &res, SQL_DUE, "iii", (int64_t)cap, grace_ms * 1000, (int64_t)cap);
	if (rc < 0)
		return rc;
	for (i = 0; i < res.nrows && n < cap; i++) {
		if (bus_kind_parse(db_res_str(&res, i, 1), &out[n].kind) != 0) {
			log_error(NULL, "outbox job %s has an unknown kind", db_res_str(&res, i, 0));
			continue;
		}
		out[n].outbox_id = db_res_i64(&res, i, 0);
		n++;
	}
	return (int64_t)n;
}

int
outbox_requeue(struct db *db, int64_t id)
{
	return (int)db_exec(db, SQL_REQUEUE, "i", id);
}

/* ---- the admin console's view ---------------------------------------------------------------- */

static void
fill_job(const struct db_res *res, size_t i, struct outbox_job *j)
{
	j->id = db_res_i64(res, i, 0);
	j->kind = db_res_str(res, i, 1);
	j->payload = db_res_str(res, i, 2);
	j->status = db_res_str(res, i, 3);
	j->attempts = (int)db_res_i64(res, i, 4);
	j->last_error = db_res_str(res, i, 5);
	j->available_at = db_res_str(res, i, 6);
	j->claimed_until = db_res_str(res, i, 7);
	j->created_at = db_res_str(res, i, 8);
}

static int64_t
jobs_from(const struct db_res *res, struct arena *a, struct outbox_job **out)
{
	struct outbox_job *j = arena_alloc(a, sizeof(*j) * (res->nrows + 1));
	size_t i;

	for (i = 0; i < res->nrows; i++)
		fill_job(res, i, &j[i]);
	*out = j;
	return (int64_t)res->nrows;
}

int64_t
outbox_depths(struct db *db, struct arena *a, struct outbox_depth **out)
{
	struct outbox_depth *d;
	struct db_res res;
	int64_t rc;
	size_t i;

	*out = NULL;
	rc = db_query(db, a, &res, SQL_DEPTHS, "");
	if (rc < 0)
		return rc;
	d = arena_alloc(a, sizeof(*d) * (res.nrows + 1));
	for (i = 0; i < res.nrows; i++) {
		d[i].kind = db_res_str(&res, i, 0);
		d[i].pending = db_res_i64(&res, i, 1);
		d[i].claimed = db_res_i64(&res, i, 2);
		d[i].dead = db_res_i64(&res, i, 3);
	}
	*out = d;
	return (int64_t)res.nrows;
}

int64_t
outbox_stuck(struct db *db, struct arena *a, int64_t stuck_ms, size_t limit,
    struct outbox_job **out)
{
	struct db_res res;
	int64_t rc;

	*out = NULL;
	if (stuck_ms < 0)
		stuck_ms = 0;
	rc = db_query(db, a, &res, SQL_STUCK, "ii", stuck_ms * 1000, (int64_t)limit);
	if (rc < 0)
		return rc;
	return jobs_from(&res, a, out);
}

int64_t
outbox_dead(struct db *db, struct arena *a, int64_t before_id, size_t limit,
    struct outbox_job **out)
{
	struct db_res res;
	int64_t rc;

	*out = NULL;
	rc = db_query(db, a, &res, SQL_DEAD, "iii", before_id, before_id, (int64_t)limit);
	if (rc < 0)
		return rc;
	return jobs_from(&res, a, out);
}

int
outbox_retry(struct db *db, struct arena *a, int64_t id, struct outbox_job *before)
{
	struct db_res res;
	int64_t rc;

	memset(before, 0, sizeof(*before));
	rc = db_query(db, a, &res, SQL_JOB_LOCK, "i", id);
	if (rc <= 0)
		return (int)rc;
	fill_job(&res, 0, before);
	rc = db_exec(db, SQL_RETRY, "i", id);
	if (rc < 0)
		return (int)rc;
	return rc == 1 ? 1 : 0;
}
