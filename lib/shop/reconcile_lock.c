/* reconcile_lock: one reconciliation at a time: a Redis lock set NX PX with a random token,
 * renewed while the run lasts, and the fencing token (INCR) every write of the run checks
 * against the database guard (see reconcile.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "base/ids.h"
#include "infra/redis.h"
#include "shop/reconcile.h"
#include "shop/reconcile_impl.h"

int64_t
reconcile_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char lock_key[] = "recon:lock";
static const char fence_key[] = "recon:fence";

static const char lua_renew[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then"
    " return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
static const char lua_release[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then"
    " return redis.call('del', KEYS[1]) else return 0 end";
/* Raises the fencing counter to at least ARGV[1] and takes the next token: for a Redis that
 * lost its counter while the database guard kept the highest token. */
static const char lua_fence_floor[] =
    "local v = tonumber(redis.call('get', KEYS[1]) or '0')"
    " if v < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) end"
    " return redis.call('incr', KEYS[1])";

int
reconcile_lock(struct redis *r, struct recon_lock *l)
{
	char ttl[24];
	redisReply *rep;
	int rc;

	memset(l, 0, sizeof(*l));
	ids_new(l->token, sizeof(l->token));
	snprintf(ttl, sizeof(ttl), "%d", RECON_LOCK_TTL_MS);
	rep = redis_cmdl(r, "SET", lock_key, l->token, "NX", "PX", ttl, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		freeReplyObject(rep);
		return -1;
	}
	rc = rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0;
	freeReplyObject(rep);
	if (!rc)
		return 0;
	l->held = true;
	l->renewed_ms = reconcile_now_ms();
	rep = redis_cmdl(r, "INCR", fence_key, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer <= 0) {
		freeReplyObject(rep);
		reconcile_unlock(r, l);
		return -1;
	}
	l->fencing_token = rep->integer;
	freeReplyObject(rep);
	return 1;
}

int
reconcile_lock_renew(struct redis *r, struct recon_lock *l)
{
	char ttl[24];
	redisReply *rep;
	int rc;

	if (!l->held)
		return 0;
	snprintf(ttl, sizeof(ttl), "%d", RECON_LOCK_TTL_MS);
	rep = redis_cmdl(r, "EVAL", lua_renew, "1", lock_key, l->token, ttl, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -1;
	}
	rc = rep->integer == 1;
	freeReplyObject(rep);
	if (rc)
		l->renewed_ms = reconcile_now_ms();
	else
		l->held = false;
	return rc;
}

void
reconcile_unlock(struct redis *r, struct recon_lock *l)
{
	if (!l->held)
		return;
	freeReplyObject(redis_cmdl(r, "EVAL", lua_release, "1", lock_key, l->token, NULL));
	l->held = false;
}

int
reconcile_fence_above(struct redis *r, int64_t floor, int64_t *token)
{
	char arg[24];
	redisReply *rep;

	snprintf(arg, sizeof(arg), "%" PRId64, floor);
	rep = redis_cmdl(r, "EVAL", lua_fence_floor, "1", fence_key, arg, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer <= floor) {
		freeReplyObject(rep);
		return -1;
	}
	*token = rep->integer;
	freeReplyObject(rep);
	return 0;
}

