/* points: balance, history and idempotent charges of users.points (see points.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "infra/db.h"
#include "base/jparse.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "base/money.h"
#include "shop/points.h"
#include "infra/redis.h"
#include "base/valid.h"

static const char SQL_USER[] =
    "SELECT name, phone, points FROM users WHERE id = ?";
static const char SQL_USER_EXISTS[] =
    "SELECT 1 FROM users WHERE id = ?";
/* The guard keeps the balance at or below MONEY_MAX: the third parameter is MONEY_MAX - amount. */
static const char SQL_ADD[] =
    "UPDATE users SET points = points + ? WHERE id = ? AND points <= ?";
static const char SQL_INSERT_CHARGE[] =
    "INSERT INTO point_charges (user_id, idempotency_key, request_hash, amount, balance_after,"
    " response) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_STORED_CHARGE[] =
    "SELECT request_hash, response FROM point_charges WHERE user_id = ? AND idempotency_key = ?";
static const char SQL_HISTORY[] =
    "SELECT id, amount, balance_after, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS"
    " created_at FROM point_charges WHERE user_id = ? ORDER BY id DESC LIMIT ?";

static const struct db_field history_fields[] = {
	DB_FIELD(struct points_charge_row, id, DB_F_I64, "id"),
	DB_FIELD(struct points_charge_row, amount, DB_F_I64, "amount"),
	DB_FIELD(struct points_charge_row, balance_after, DB_F_I64, "balance_after"),
	DB_FIELD(struct points_charge_row, created_at, DB_F_STR, "created_at"),
	DB_FIELDS_END,
};

/* What Redis holds for a key whose first request is still running. */
static const char INFLIGHT[] = "inflight";

/* A finished key's Redis record is {"fp": fingerprint, "status": 200, "body": "..."}. */
#define RECORD_MAX (64 * 1024)

struct charge_tx {
	const struct points_charge_req *req;
	struct arena *a;
	const char *fp;         /* the request's fingerprint */
	const char *body;       /* out: the response */
	size_t body_len;
	enum points_outcome why;  /* out, DB_ABORT: POINTS_NO_USER or POINTS_LIMIT */
};

/* How claiming the Redis key went. */
enum claim {
	CLAIM_OWNED,     /* we hold "inflight": release or finish it afterwards */
	CLAIM_NO_REDIS,  /* Redis did not answer: MariaDB alone decides, Redis is left alone */
	CLAIM_DECIDED,   /* Redis already answered the request (in flight, replay, reused) */
};

int
points_get(struct db *db, struct arena *a, int64_t user_id, struct points_user *out)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_USER, "i", user_id);
	if (n <= 0)
		return (int)n;
	memset(out, 0, sizeof(*out));
	out->id = user_id;
	snprintf(out->name, sizeof(out->name), "%s", db_col_str(&res, 0, "name"));
	out->has_phone = !db_col_null(&res, 0, "phone");
	if (out->has_phone)
		snprintf(out->phone, sizeof(out->phone), "%s", db_col_str(&res, 0, "phone"));
	out->amount = db_col_i64(&res, 0, "points");
	return 1;
}

struct json_object *
points_user_json(const struct points_user *u)
{
	struct json_object *o = json_object_new_object();
	char text[MONEY_FMT_MAX];

	json_object_object_add(o, "userId", json_object_new_int64(u->id));
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "phone", u->has_phone ? json_object_new_string(u->phone) : NULL);
	json_object_object_add(o, "hpNo", u->has_phone ? json_object_new_string(u->phone) : NULL);
	json_object_object_add(o, "amount", json_object_new_int64(u->amount));
	json_object_object_add(o, "amountText", json_object_new_string(money_format(u->amount, text)));
	return o;
}

int64_t
points_history(struct db *db, struct arena *a, int64_t user_id, size_t max,
    struct points_charge_row **out)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_HISTORY, "ii", user_id, (int64_t)max);
	if (n < 0)
		return n;
	return db_res_map_rows(&res, a, history_fields, sizeof(**out), (void **)out);
}

bool
points_key_valid(const char *key)
{
	return key != NULL && valid_token(key, 1, POINTS_KEY_MAX);
}

/* The user's balance shape as JSON text in a, as it is sent, stored and replayed. */
static const char *
user_json_text(struct arena *a, const struct points_user *u, size_t *len)
{
	struct json_object *o = points_user_json(u);
	const char *s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	char *copy = arena_strndup(a, s, *len);

	json_object_put(o);
	return copy;
}

/* The transaction: guarded UPDATE, balance read back, the charge row with its response.
 * Returns 0, DB_ABORT (t->why: POINTS_NO_USER or POINTS_LIMIT) or an enum db_rc (DB_DUP: the
 * key was used; everything this run did is rolled back). Safe to rerun. */
static int
charge_tx_fn(struct db *db, void *arg)
{
	struct charge_tx *t = arg;
	const struct points_charge_req *req = t->req;
	struct points_user u;
	struct db_res res;
	const char *body;
	enum ledger_rc lrc;
	size_t len;
	int64_t limit, n;
	int found;

	t->why = POINTS_LIMIT;
	if (money_sub(MONEY_MAX, req->amount, &limit) != 0 || limit < 0)
		return DB_ABORT;
	n = db_exec(db, SQL_ADD, "iii", req->amount, req->user_id, limit);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		n = db_query(db, t->a, &res, SQL_USER_EXISTS, "i", req->user_id);
		if (n < 0)
			return (int)n;
		if (n == 0)
			t->why = POINTS_NO_USER;
		return DB_ABORT;
	}
	found = points_get(db, t->a, req->user_id, &u);
	if (found <= 0)
		return found == 0 ? DB_ERR : found;  /* we just updated the row: it exists */
	body = user_json_text(t->a, &u, &len);
	n = db_exec(db, SQL_INSERT_CHARGE, "issiis", req->user_id, req->key, t->fp, req->amount,
	    u.amount, body);
	if (n < 0)
		return (int)n;
	/* The posting after the balance UPDATE (as ledger.h asks), last in the transaction. */
	lrc = ledger_post_points_charge(db, db_last_insert_id(db), req->user_id, req->amount);
	if (lrc != LEDGER_POSTED && lrc != LEDGER_REPLAYED) {
		log_error(req->log, "points: charge posting refused: %s", ledger_rc_name(lrc));
		return ledger_tx_rc(db, lrc);
	}
	t->body = body;
	t->body_len = len;
	return 0;
}

/* Encodes a finished key's record for Redis, in a. */
static const char *
record_encode(struct arena *a, const char *fp, int status, const char *body, size_t body_len)
{
	struct json_object *o = json_object_new_object();
	const char *s;
	char *copy;

	json_object_object_add(o, "fp", json_object_new_string(fp));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "body", json_object_new_string_len(body, (int)body_len));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	copy = arena_strdup(a, s);
	json_object_put(o);
	return copy;
}

/* Decodes a record; fp and the body are copied into a. Returns 0 or -1 (not a record). */
static int
record_decode(struct arena *a, const char *text, size_t len, const char **fp,
    struct points_charge_res *res)
{
	struct json_object *o = NULL;
	static const char *const keys[] = { "fp", "status", "body", NULL };
	const char *f, *body;
	int64_t status;
	int rc = -1;

	if (jparse(text, len, RECORD_MAX, 1, &o) != JPARSE_OK)
		goto out;
	if (jparse_only_keys(o, keys) != 0 ||
	    jparse_string(o, "fp", 64, &f) != 0 ||
	    jparse_int64(o, "status", 200, 299, &status) != 0 ||
	    jparse_string(o, "body", RECORD_MAX, &body) != 0)
		goto out;
	*fp = arena_strdup(a, f);
	res->status = (int)status;
	res->body_len = strlen(body);
	res->body = arena_strndup(a, body, res->body_len);
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Claims key rkey with SET NX "inflight", or learns what an earlier request with the same
 * key came to (then *outcome and, for a replay, *res are set). */
static enum claim
claim_key(struct redis *redis, struct arena *a, const char *rkey, const char *fp,
    int64_t ttl, const struct points_charge_req *req, enum points_outcome *outcome,
    struct points_charge_res *res)
{
	char ttl_s[24];
	redisReply *rep;
	const char *stored_fp;
	int attempt;

	snprintf(ttl_s, sizeof(ttl_s), "%" PRId64, ttl);
	for (attempt = 0; attempt < 3; attempt++) {
		rep = redis_cmdl(redis, "SET", rkey, INFLIGHT, "NX", "EX", ttl_s, NULL);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			log_warn(req->log, "points: Redis did not claim the key: %s",
			    rep != NULL ? rep->str : redis_error(redis));
			freeReplyObject(rep);
			return CLAIM_NO_REDIS;
		}
		if (rep->type == REDIS_REPLY_STATUS) {
			freeReplyObject(rep);
			return CLAIM_OWNED;
		}
		freeReplyObject(rep);  /* nil: the key exists */
		rep = redis_cmdl(redis, "GET", rkey, NULL);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			freeReplyObject(rep);
			return CLAIM_NO_REDIS;
		}
		if (rep->type != REDIS_REPLY_STRING) {
			freeReplyObject(rep);  /* gone meanwhile (expired): claim it again */
			continue;
		}
		if (rep->len == sizeof(INFLIGHT) - 1 && memcmp(rep->str, INFLIGHT, rep->len) == 0) {
			*outcome = POINTS_IN_FLIGHT;
		} else if (record_decode(a, rep->str, rep->len, &stored_fp, res) != 0) {
			/* Not ours to read: leave the decision to MariaDB and rewrite the key after. */
			log_warn(req->log, "points: unreadable record in Redis for a charge key");
			freeReplyObject(rep);
			return CLAIM_OWNED;
		} else if (strcmp(stored_fp, fp) == 0) {
			*outcome = POINTS_REPLAYED;
		} else {
			*outcome = POINTS_KEY_REUSED;
		}
		freeReplyObject(rep);
		return CLAIM_DECIDED;
	}
	return CLAIM_NO_REDIS;
}

/* Replaces "inflight" with the finished record for ttl seconds. */
static void
remember(struct redis *redis, struct arena *a, const char *rkey, const char *fp,
    const struct points_charge_res *res, int64_t ttl, const struct log_ctx *log)
{
	char ttl_s[24];
	redisReply *rep;

	snprintf(ttl_s, sizeof(ttl_s), "%" PRId64, ttl);
	rep = redis_cmdl(redis, "SET", rkey, record_encode(a, fp, res->status, res->body,
	    res->body_len), "EX", ttl_s, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_STATUS)
		log_warn(log, "points: could not store a finished charge key in Redis");
	freeReplyObject(rep);
}

/* Deletes the key so the client may retry with it. */
static void
forget(struct redis *redis, const char *rkey, const struct log_ctx *log)
{
	redisReply *rep = redis_cmdl(redis, "DEL", rkey, NULL);

	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
		log_warn(log, "points: could not release a charge key in Redis");
	freeReplyObject(rep);
}

/* The key was used before (MariaDB's unique key said so): its stored row decides. On
 * POINTS_REPLAYED and POINTS_KEY_REUSED *stored_fp and *res describe the stored charge. */
static enum points_outcome
stored_charge(struct db *db, struct arena *a, const struct points_charge_req *req,
    const char *fp, const char **stored_fp, struct points_charge_res *res)
{
	struct db_res rows;
	int64_t n;

	n = db_query(db, a, &rows, SQL_STORED_CHARGE, "is", req->user_id, req->key);
	if (n <= 0) {
		log_error(req->log, "points: duplicate charge key but no stored row (%" PRId64 ")", n);
		return POINTS_FAILED;
	}
	*stored_fp = db_col_str(&rows, 0, "request_hash");
	res->status = 200;
	res->body = db_col_str(&rows, 0, "response");
	res->body_len = rows.lens[db_res_col(&rows, "response")];
	return strcmp(*stored_fp, fp) == 0 ? POINTS_REPLAYED : POINTS_KEY_REUSED;
}

enum points_outcome
points_charge(struct db *db, struct redis *redis, struct arena *a,
    const struct points_charge_req *req, struct points_charge_res *res)
{
	struct charge_tx t = { 0 };
	struct points_charge_res found = { 0 };
	enum points_outcome outcome = POINTS_FAILED;
	enum claim claim;
	const char *fp, *rkey, *record_fp = NULL;
	int64_t inflight_ttl;
	int rc;

	memset(res, 0, sizeof(*res));
	fp = arena_printf(a, "chargeAmount=%" PRId64, req->amount);
	rkey = arena_printf(a, "idem:charge:%" PRId64 ":%s", req->user_id, req->key);
	inflight_ttl = req->key_ttl < POINTS_INFLIGHT_SECONDS ? req->key_ttl : POINTS_INFLIGHT_SECONDS;

	claim = claim_key(redis, a, rkey, fp, inflight_ttl, req, &outcome, &found);
	if (claim == CLAIM_DECIDED) {
		if (outcome == POINTS_REPLAYED)
			*res = found;
		return outcome;
	}

	t.req = req;
	t.a = a;
	t.fp = fp;
	rc = db_tx(db, charge_tx_fn, &t);
	switch (rc) {
	case 0:
		outcome = POINTS_CHARGED;
		found.status = 200;
		found.body = t.body;
		found.body_len = t.body_len;
		record_fp = fp;
		break;
	case DB_DUP:
		outcome = stored_charge(db, a, req, fp, &record_fp, &found);
		break;
	case DB_ABORT:
		outcome = t.why;
		break;
	default:
		log_error(req->log, "points: charge transaction failed (%d)", rc);
		outcome = POINTS_FAILED;
		break;
	}

	if (claim == CLAIM_OWNED) {
		if (record_fp != NULL)
			remember(redis, a, rkey, record_fp, &found, req->key_ttl, req->log);
		else
			forget(redis, rkey, req->log);
	}
	if (outcome == POINTS_CHARGED || outcome == POINTS_REPLAYED)
		*res = found;
	return outcome;
}
