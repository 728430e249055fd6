/* points: a user's points balance (users.points), its history, and top-ups ("charges") made
 * idempotent by a client-chosen key: Redis answers repeats fast, the unique key
 * point_charges (user_id, idempotency_key) makes them safe when Redis has forgotten. Knows
 * nothing of HTTP; statuses below are what the caller should answer. */
#ifndef JT_POINTS_H
#define JT_POINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct arena;
struct db;
struct log_ctx;
struct redis;

/* An Idempotency-Key is 1..POINTS_KEY_MAX characters of [A-Za-z0-9_-]. */
#define POINTS_KEY_MAX 64

/* Charges shown on the points page and in GET /api/v1/users/{id}/charges. */
#define POINTS_HISTORY_MAX 20

/* How long a key stays "inflight" in Redis at most. Shorter than the remembered key's TTL so
 * a handler that died mid-charge does not block its key for a day; a request that outlives
 * it is still charged at most once (the MariaDB unique key). */
#define POINTS_INFLIGHT_SECONDS 60

struct points_user {
	int64_t id;
	char name[401];        /* users.name: up to 100 characters of UTF-8 */
	char phone[81];        /* users.phone (sql/003): up to 20 characters; "" when none */
	bool has_phone;
	int64_t amount;        /* balance in won */
};

struct points_charge_row {
	int64_t id;
	int64_t amount;
	int64_t balance_after;
	const char *created_at; /* "YYYY-MM-DD HH:MM:SS", server time; in the caller's arena */
};

/* Loads user_id's name and balance into *out (scratch memory from a). Returns 1 found,
 * 0 unknown, or an enum db_rc. */
int points_get(struct db *db, struct arena *a, int64_t user_id, struct points_user *out);

/* The balance in the API's shape: {"userId", "name", "phone", "hpNo", "amount": 150000,
 * "amountText": "150,000"}; phone and hpNo (seed 002's name for it) are the same number, null
 * when the user has none; amount is a number (seed 002 sent the string "150,000", which is
 * amountText: money is never a string in our JSON). Returns a new reference (caller puts
 * it). */
struct json_object *points_user_json(const struct points_user *u);

/* Loads user_id's newest charges, at most max, newest first, into an array allocated in a.
 * Returns the count (>= 0) or an enum db_rc. */
int64_t points_history(struct db *db, struct arena *a, int64_t user_id, size_t max,
    struct points_charge_row **out);

/* True when key is a well-formed Idempotency-Key (see POINTS_KEY_MAX). */
bool points_key_valid(const char *key);

/* What a charge came to. The status each maps to is in the comment. */
enum points_outcome {
	POINTS_CHARGED,     /* 200: charged now; res holds the response */
	POINTS_REPLAYED,    /* 200: this key did this request before; res holds that response */
	POINTS_IN_FLIGHT,   /* 409: this key's first request is still running */
	POINTS_KEY_REUSED,  /* 422: this key was used for a different request */
	POINTS_NO_USER,     /* 404: no such user */
	POINTS_LIMIT,       /* 409: the balance would pass MONEY_MAX; nothing charged */
	POINTS_FAILED,      /* 500: the database failed; nothing charged that a retry repeats */
	POINTS__MAX
};

struct points_charge_req {
	int64_t user_id;
	const char *key;            /* the Idempotency-Key; points_key_valid */
	int64_t amount;             /* won, already within points.charge_min..charge_max */
	int64_t key_ttl;            /* seconds Redis remembers a finished key */
	const struct log_ctx *log;  /* for log lines; may be NULL */
};

struct points_charge_res {
	int status;                 /* of the response to send or replay (200) */
	const char *body;           /* JSON text, byte for byte as first sent; in the arena */
	size_t body_len;
};

/* Charges req->amount to req->user_id exactly once per (user, key):
 *  - Redis idem:charge:{user}:{key} is claimed with SET NX ("inflight"); a claim already
 *    held answers POINTS_IN_FLIGHT, a finished one is replayed (POINTS_REPLAYED) or refused
 *    when its request differs (POINTS_KEY_REUSED).
 *  - One short transaction: a guarded UPDATE of users.points (never past MONEY_MAX), the new
 *    balance read back, and the point_charges row with the response. A duplicate key there
 *    (Redis was flushed, or its claim expired) rolls everything back and the stored row
 *    decides: same request → POINTS_REPLAYED, different → POINTS_KEY_REUSED.
 *  - Afterwards the finished response replaces "inflight" for key_ttl seconds; on any
 *    failure the Redis key is deleted so the client may retry with the same key.
 * When Redis does not answer the charge still runs, guarded by MariaDB alone.
 * On POINTS_CHARGED and POINTS_REPLAYED *res holds the response (memory from a). */
enum points_outcome points_charge(struct db *db, struct redis *redis, struct arena *a,
    const struct points_charge_req *req, struct points_charge_res *res);

#endif
