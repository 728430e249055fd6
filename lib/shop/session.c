/* session: Redis-backed sessions with sliding expiry and per-session CSRF tokens. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/ids.h"
#include "infra/redis.h"
#include "shop/session.h"
#include "base/valid.h"

static void
session_key(char out[64], const char *id)
{
	snprintf(out, 64, "sess:%s", id);
}

/* Copies a bulk string reply into out (cap bytes, NUL included); -1 when it does not fit. */
static int
copy_reply(const redisReply *rep, char *out, size_t cap)
{
	if (rep == NULL || rep->type != REDIS_REPLY_STRING || rep->len >= cap)
		return -1;
	memcpy(out, rep->str, rep->len);
	out[rep->len] = '\0';
	return 0;
}

int
session_load(struct redis *r, const char *id, int64_t ttl, struct session *out)
{
	char key[64], ttl_s[24];
	redisReply *rep;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (id == NULL || !valid_token(id, SESSION_ID_LEN, SESSION_ID_LEN))
		return 0;
	session_key(key, id);
	rep = redis_cmdl(r, "HMGET", key, "user", "role", "name", "csrf", NULL);
	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4 ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		goto out;
	{
		char user[24];
		int64_t uid;

		if (copy_reply(rep->element[0], user, sizeof(user)) != 0 ||
		    valid_int64(user, 0, INT64_MAX, &uid) != 0 ||
		    copy_reply(rep->element[1], out->role, sizeof(out->role)) != 0 ||
		    copy_reply(rep->element[2], out->name, sizeof(out->name)) != 0 ||
		    copy_reply(rep->element[3], out->csrf, sizeof(out->csrf)) != 0)
			goto out;
		out->user_id = uid;
	}
	memcpy(out->id, id, SESSION_ID_LEN + 1);
	rc = 1;
out:
	freeReplyObject(rep);
	if (rc == 1) {
		snprintf(ttl_s, sizeof(ttl_s), "%" PRId64, ttl);
		rep = redis_cmdl(r, "EXPIRE", key, ttl_s, NULL);
		freeReplyObject(rep);
	} else {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

int
session_create(struct redis *r, int64_t user_id, const char *role, const char *name,
    int64_t ttl, struct session *out)
{
	char key[64], user[24], ttl_s[24];
	redisReply *rep;
	int ok;

	memset(out, 0, sizeof(*out));
	ids_new(out->id, sizeof(out->id));
	ids_new(out->csrf, sizeof(out->csrf));
	out->user_id = user_id;
	snprintf(out->role, sizeof(out->role), "%s", role != NULL ? role : "");
	snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
	session_key(key, out->id);
	snprintf(user, sizeof(user), "%" PRId64, user_id);
	snprintf(ttl_s, sizeof(ttl_s), "%" PRId64, ttl);
	rep = redis_cmdl(r, "HSET", key, "user", user, "role", out->role, "name", out->name,
	    "csrf", out->csrf, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;
	freeReplyObject(rep);
	if (!ok)
		return -1;
	rep = redis_cmdl(r, "EXPIRE", key, ttl_s, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

int
session_destroy(struct redis *r, const char *id)
{
	char key[64];
	redisReply *rep;

	if (id == NULL || !valid_token(id, SESSION_ID_LEN, SESSION_ID_LEN))
		return 0;
	session_key(key, id);
	rep = redis_cmdl(r, "DEL", key, NULL);
	if (rep == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

bool
session_csrf_ok(const struct session *s, const char *token)
{
	unsigned char diff = 0;
	size_t i;

	if (token == NULL || s->csrf[0] == '\0' || strlen(token) != SESSION_ID_LEN)
		return false;
	for (i = 0; i < SESSION_ID_LEN; i++)
		diff |= (unsigned char)(token[i] ^ s->csrf[i]);
	return diff == 0;
}
