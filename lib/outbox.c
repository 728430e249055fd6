/* outbox: insert, claim, complete, release and list the jobs of the outbox table. */
#include <string.h>

#include "arena.h"
#include "db.h"
#include "ids.h"
#include "log.h"
#include "outbox.h"

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

int64_t
outbox_add(struct db *db, enum job_kind kind, const char *payload_json)
{
	int64_t rc;

	rc = db_exec(db, SQL_ADD, "ss", bus_kind_name(kind), payload_json);
	if (rc < 0)
		return rc;
	return db_last_insert_id(db);
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
