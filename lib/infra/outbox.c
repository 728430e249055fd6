/* outbox: insert, claim (in batches), complete, release, reap, bury and list the jobs of the
 * outbox table. */
#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/buf.h"
#include "infra/db.h"
#include "base/ids.h"
#include "base/log.h"
#include "infra/outbox.h"

static const char SQL_ADD[] =
    "INSERT INTO outbox (kind, payload) VALUES (?, ?)";
/* Several jobs: a JSON array of [kind, payload text], inserted in array order; each row's id
 * comes back with its kind and payload, so the caller checks it got what it sent. */
static const char SQL_ADD_MANY[] =
    "INSERT INTO outbox (kind, payload) SELECT j.kind, j.payload FROM JSON_TABLE(?, '$[*]'"
    " COLUMNS (ord FOR ORDINALITY, kind VARCHAR(32) PATH '$[0]', payload LONGTEXT PATH '$[1]'))"
    " AS j ORDER BY j.ord RETURNING id, kind, payload";
/* A worker's claim in one round trip: jt_outbox_claim (sql/021_outbox_claim.sql) takes up to
 * the cap of due pending jobs of one kind with attempts left, oldest due first (the index
 * ix_outbox_due (status, kind, available_at) gives that order, so only the rows taken are
 * read and locked), and answers them. Jobs that used up their attempts are left for the
 * janitor to bury. (token, claim seconds, kind, max attempts, cap) */
static const char SQL_CLAIM_BATCH[] = "CALL jt_outbox_claim(?, ?, ?, ?, ?)";
static const char SQL_UNCLAIM[] =
    "UPDATE outbox SET status = 'pending', claim_token = NULL, claimed_until = NULL,"
    " attempts = attempts - 1 WHERE status = 'claimed' AND claim_token = ?";
static const char SQL_UNCLAIM_ONE[] =
    "UPDATE outbox SET status = 'pending', claim_token = NULL, claimed_until = NULL,"
    " attempts = attempts - 1 WHERE id = ? AND status = 'claimed' AND claim_token = ?";
static const char SQL_COMPLETE[] =
    "UPDATE outbox SET status = 'done', done_at = NOW(3), claim_token = NULL,"
    " claimed_until = NULL WHERE id = ? AND status = 'claimed' AND claim_token = ?";
/* A whole batch done in one statement: the rows its claim still holds (the batch's token is
 * its own; the caller checks that all of them were). */
static const char SQL_COMPLETE_BATCH[] =
    "UPDATE outbox SET status = 'done', done_at = NOW(3), claim_token = NULL,"
    " claimed_until = NULL WHERE status = 'claimed' AND kind = ? AND claim_token = ?";
/* Some jobs of a batch done in one statement: the ids as a JSON array, joined on the primary
 * key. */
static const char SQL_COMPLETE_IDS[] =
    "UPDATE outbox o JOIN JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j"
    " ON o.id = j.id SET o.status = 'done', o.done_at = NOW(3), o.claim_token = NULL,"
    " o.claimed_until = NULL WHERE o.status = 'claimed' AND o.claim_token = ?";
static const char SQL_RELEASE[] =
    "UPDATE outbox SET status = 'pending', claim_token = NULL, claimed_until = NULL,"
    " available_at = NOW(3) + INTERVAL ? MICROSECOND, last_error = ?"
    " WHERE id = ? AND status = 'claimed' AND claim_token = ?";
/* SQL_RELEASE with the claim's attempt taken back (outbox_defer). */
static const char SQL_DEFER[] =
    "UPDATE outbox SET status = 'pending', claim_token = NULL, claimed_until = NULL,"
    " attempts = attempts - 1, available_at = NOW(3) + INTERVAL ? MICROSECOND, last_error = ?"
    " WHERE id = ? AND status = 'claimed' AND claim_token = ?";
/* The janitor's two statements per sweep. An expired claim's holder died (or ran past its
 * claim): the job is due again at once, and the old holder's completion is refused (its token
 * is gone). */
static const char SQL_REAP[] =
    "UPDATE outbox SET status = 'pending', claim_token = NULL, claimed_until = NULL,"
    " available_at = NOW(3) WHERE status = 'claimed' AND claimed_until < NOW(3)";
static const char SQL_BURY[] =
    "UPDATE outbox SET status = 'dead', last_error = LEFT(CONCAT('too many attempts; last: ',"
    " COALESCE(last_error, '-')), 255) WHERE status = 'pending' AND attempts >= ?";

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

int64_t
outbox_queue_many(struct db *db, struct arena *a, const struct outbox_new *v, size_t n)
{
	struct json_object *rows = json_object_new_array(), *row;
	struct db_res res;
	int64_t rc;
	size_t i;

	for (i = 0; i < n; i++) {
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_string(bus_kind_name(v[i].kind)));
		json_object_array_add(row, json_object_new_string(v[i].payload));
		json_object_array_add(rows, row);
	}
	rc = db_query(db, a, &res, SQL_ADD_MANY, "s",
	    arena_strdup(a, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN)));
	json_object_put(rows);
	if (rc < 0)
		return rc;
	if (rc != (int64_t)n)
		return DB_ERR;
	for (i = 0; i < n; i++)  /* the rows in the order sent, or nothing is trusted */
		if (strcmp(db_res_str(&res, i, 1), bus_kind_name(v[i].kind)) != 0 ||
		    strcmp(db_res_str(&res, i, 2), v[i].payload) != 0) {
			log_error(NULL, "outbox: a multi-row insert answered its rows out of order");
			return DB_ERR;
		}
	for (i = 0; i < n; i++)
		bus_batch_add(v[i].batch, db_res_i64(&res, i, 0), v[i].kind);
	return (int64_t)n;
}

int64_t
outbox_claim_batch(struct db *db, struct arena *a, enum job_kind kind, size_t cap,
    int claim_seconds, int max_attempts, struct outbox_claim *out)
{
	char token[sizeof(out->token)];
	struct db_res res;
	int64_t rc;
	size_t i;

	assert(cap > 0 && cap <= OUTBOX_BATCH_MAX);
	ids_new(token, sizeof(token));
	rc = db_query(db, a, &res, SQL_CLAIM_BATCH, "sisii", token, (int64_t)claim_seconds,
	    bus_kind_name(kind), (int64_t)max_attempts, (int64_t)cap);
	if (rc <= 0)
		return rc;
	for (i = 0; i < res.nrows && i < cap; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = db_res_i64(&res, i, 0);
		out[i].kind = kind;
		out[i].payload = db_res_str(&res, i, 1);
		out[i].attempts = (int)db_res_i64(&res, i, 2);
		memcpy(out[i].token, token, sizeof(token));
	}
	return (int64_t)i;
}

int64_t
outbox_unclaim(struct db *db, const char *token)
{
	return db_exec(db, SQL_UNCLAIM, "s", token);
}

int
outbox_unclaim_one(struct db *db, const struct outbox_claim *c)
{
	return (int)db_exec(db, SQL_UNCLAIM_ONE, "is", c->id, c->token);
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
outbox_finish_batch(struct db *db, const struct outbox_claim *c, size_t n, bool *lost)
{
	int64_t rc = db_exec(db, SQL_COMPLETE_BATCH, "ss", bus_kind_name(c->kind), c->token);

	*lost = rc >= 0 && rc != (int64_t)n;
	if (rc < 0)
		return (int)rc;
	return *lost ? DB_ABORT : 0;
}

int
outbox_finish_some(struct db *db, struct arena *a, const struct outbox_claim *const *c, size_t n,
    bool *lost)
{
	struct buf ids;
	const char *list;
	int64_t rc;
	size_t i;

	assert(n > 0);
	buf_init(&ids);
	buf_puts(&ids, "[");
	for (i = 0; i < n; i++) {
		assert(strcmp(c[i]->token, c[0]->token) == 0);
		buf_printf(&ids, "%s%" PRId64, i > 0 ? "," : "", c[i]->id);
	}
	buf_puts(&ids, "]");
	list = arena_strdup(a, buf_cstr(&ids));
	buf_release(&ids);
	rc = db_exec(db, SQL_COMPLETE_IDS, "ss", list, c[0]->token);
	*lost = rc >= 0 && rc != (int64_t)n;
	if (rc < 0)
		return (int)rc;
	return *lost ? DB_ABORT : 0;
}

/* outbox_release, or outbox_defer when unspent. */
static int
give_back(struct db *db, const struct outbox_claim *c, int64_t retry_delay_ms,
    const char *error, bool unspent)
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
	rc = db_exec(db, unspent ? SQL_DEFER : SQL_RELEASE, "isis", retry_delay_ms * 1000, note,
	    c->id, c->token);
	return (int)rc;
}

int
outbox_release(struct db *db, const struct outbox_claim *c, int64_t retry_delay_ms,
    const char *error)
{
	return give_back(db, c, retry_delay_ms, error, false);
}

int
outbox_defer(struct db *db, const struct outbox_claim *c, int64_t delay_ms, const char *why)
{
	return give_back(db, c, delay_ms, why, true);
}

int64_t
outbox_reap(struct db *db)
{
	return db_exec(db, SQL_REAP, "");
}

int64_t
outbox_bury(struct db *db, int max_attempts)
{
	return db_exec(db, SQL_BURY, "i", (int64_t)max_attempts);
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
