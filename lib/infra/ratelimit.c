/* ratelimit: fixed-window counters in Redis (see ratelimit.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "infra/ratelimit.h"
#include "infra/redis.h"
#include "base/valid.h"

/* Writes "rl:" name into key (released by the caller). */
static void
ratelimit_key(struct buf *key, const char *name)
{
	buf_puts(key, "rl:");
	buf_puts(key, name);
}

/* Seconds left in key's window, giving the key an expiry of window_s when it has none.
 * Returns >= 1, or -1 when Redis did not answer. */
static int64_t
ratelimit_ttl(struct redis *r, const char *key, int64_t window_s)
{
	char win[24];
	redisReply *rep;
	int64_t ttl;

	rep = redis_cmdl(r, "TTL", key, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -1;
	}
	ttl = rep->integer;
	freeReplyObject(rep);
	if (ttl == -1) {
		snprintf(win, sizeof(win), "%" PRId64, window_s);
		rep = redis_cmdl(r, "EXPIRE", key, win, NULL);
		freeReplyObject(rep);
		ttl = window_s;
	}
	return ttl >= 1 ? ttl : 1;
}

enum ratelimit_rc
ratelimit_hit(struct redis *r, const char *name, int64_t limit, int64_t window_s,
    int64_t *retry_after)
{
	struct buf key = { 0 };
	enum ratelimit_rc rc = RATELIMIT_UNAVAILABLE;
	char win[24];
	redisReply *rep;
	int64_t n, ttl;

	ratelimit_key(&key, name);
	rep = redis_cmdl(r, "INCR", key.data, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		goto out;
	}
	n = rep->integer;
	freeReplyObject(rep);
	if (n == 1) {
		snprintf(win, sizeof(win), "%" PRId64, window_s);
		rep = redis_cmdl(r, "EXPIRE", key.data, win, NULL);
		if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
			freeReplyObject(rep);
			goto out;
		}
		freeReplyObject(rep);
	}
	if (n <= limit) {
		rc = RATELIMIT_ALLOWED;
		goto out;
	}
	ttl = ratelimit_ttl(r, key.data, window_s);
	if (ttl < 0)
		goto out;
	if (retry_after != NULL)
		*retry_after = ttl;
	rc = RATELIMIT_LIMITED;
out:
	buf_release(&key);
	return rc;
}

enum ratelimit_rc
ratelimit_peek(struct redis *r, const char *name, int64_t limit, int64_t window_s,
    int64_t *retry_after)
{
	struct buf key = { 0 };
	enum ratelimit_rc rc = RATELIMIT_UNAVAILABLE;
	redisReply *rep;
	int64_t n = 0;
	int64_t ttl;

	ratelimit_key(&key, name);
	rep = redis_cmdl(r, "GET", key.data, NULL);
	if (rep == NULL || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
		freeReplyObject(rep);
		goto out;
	}
	if (rep->type == REDIS_REPLY_STRING && valid_int64(rep->str, INT64_MIN, INT64_MAX, &n) != 0)
		n = 0;  /* not a counter: treat as none */
	freeReplyObject(rep);
	if (n < limit) {
		rc = RATELIMIT_ALLOWED;
		goto out;
	}
	ttl = ratelimit_ttl(r, key.data, window_s);
	if (ttl < 0)
		goto out;
	if (retry_after != NULL)
		*retry_after = ttl;
	rc = RATELIMIT_LIMITED;
out:
	buf_release(&key);
	return rc;
}

int
ratelimit_reset(struct redis *r, const char *name)
{
	struct buf key = { 0 };
	redisReply *rep;
	int rc;

	ratelimit_key(&key, name);
	rep = redis_cmdl(r, "DEL", key.data, NULL);
	rc = rep != NULL && rep->type == REDIS_REPLY_INTEGER ? 0 : -1;
	freeReplyObject(rep);
	buf_release(&key);
	return rc;
}
