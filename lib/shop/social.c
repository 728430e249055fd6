/* social: a social login's start, state and finish (see social.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/ids.h"
#include "base/log.h"
#include "infra/http.h"
#include "infra/redis.h"
#include "shop/identity.h"
#include "shop/social.h"

struct social {
	const struct conf *conf;
	struct http *http;     /* libcurl's connection cache for the providers */
};

struct social *
social_new(const struct conf *c)
{
	struct social *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	s->conf = c;
	s->http = http_new(c);
	return s;
}

void
social_free(struct social **s)
{
	if (*s == NULL)
		return;
	http_free(&(*s)->http);
	free(*s);
	*s = NULL;
}

int
social_provider_parse(const struct conf *c, const char *name, enum oauth_provider *out)
{
	if (oauth_provider_parse(name, out) != 0 || !oauth_enabled(c, *out))
		return -1;
	return 0;
}

bool
social_enabled(const struct conf *c, enum oauth_provider p)
{
	return oauth_enabled(c, p);
}

const char *
social_provider_name(enum oauth_provider p)
{
	return oauth_provider_name(p);
}

const char *
social_provider_label(enum oauth_provider p)
{
	return oauth_provider_label(p);
}

/* oauth:state:{state} into key (SOCIAL_STATE_LEN + 13 bytes at least). */
static void
state_key(char *key, size_t cap, const char *state)
{
	snprintf(key, cap, "oauth:state:%s", state);
}

enum social_rc
social_start(struct social *s, struct redis *redis, enum oauth_provider p,
    const char *sess_id, const char *next, const char *redirect_uri, const struct log_ctx *log,
    struct buf *url)
{
	char state[SOCIAL_STATE_LEN + 1], key[SOCIAL_STATE_LEN + 16], ttl[16];
	struct buf value = { 0 };
	redisReply *rep;
	bool stored;

	ids_new(state, sizeof(state));
	state_key(key, sizeof(key), state);
	snprintf(ttl, sizeof(ttl), "%d", SOCIAL_STATE_TTL);
	buf_printf(&value, "%s\n%s\n%s", oauth_provider_name(p), sess_id, next);
	rep = redis_cmdl(redis, "SET", key, buf_cstr(&value), "EX", ttl, "NX", NULL);
	buf_release(&value);
	stored = rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0;
	if (rep != NULL)
		freeReplyObject(rep);
	if (!stored) {
		log_warn(log, "oauth: state not stored: %s", redis_error(redis));
		return SOCIAL_UNAVAILABLE;
	}
	if (oauth_authorize_url(s->conf, p, redirect_uri, state, url) != 0) {
		log_error(log, "oauth: the %s authorize URL in the config is not an absolute "
		    "http(s) URL", oauth_provider_name(p));
		return SOCIAL_FAILED;
	}
	log_info(log, "oauth: %s login started", oauth_provider_name(p));
	return SOCIAL_OK;
}

enum social_rc
social_take_state(struct redis *redis, struct arena *a, enum oauth_provider p,
    const char *state, const char *sess_id, const struct log_ctx *log,
    struct social_state *out)
{
	char key[SOCIAL_STATE_LEN + 16];
	enum oauth_provider sp;
	redisReply *rep;
	char *v, *nl1, *nl2;

	state_key(key, sizeof(key), state);
	rep = redis_cmdl(redis, "GETDEL", key, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		log_warn(log, "oauth: state not read: %s",
		    rep != NULL ? rep->str : redis_error(redis));
		if (rep != NULL)
			freeReplyObject(rep);
		return SOCIAL_UNAVAILABLE;
	}
	v = rep->type == REDIS_REPLY_STRING ? arena_strndup(a, rep->str, rep->len) : NULL;
	freeReplyObject(rep);
	if (v == NULL) {
		log_warn(log, "oauth: %s callback with an unknown, used or expired state",
		    oauth_provider_name(p));
		return SOCIAL_STATE_INVALID;
	}
	nl1 = strchr(v, '\n');
	nl2 = nl1 != NULL ? strchr(nl1 + 1, '\n') : NULL;
	if (nl2 == NULL)
		return SOCIAL_STATE_INVALID;
	*nl1 = '\0';
	*nl2 = '\0';
	if (oauth_provider_parse(v, &sp) != 0 || sp != p) {
		log_warn(log, "oauth: %s callback with a state started for %s",
		    oauth_provider_name(p), v);
		return SOCIAL_STATE_INVALID;
	}
	if (sess_id == NULL || strcmp(sess_id, nl1 + 1) != 0) {
		log_warn(log, "oauth: %s callback from another browser session",
		    oauth_provider_name(p));
		return SOCIAL_STATE_INVALID;
	}
	out->provider = sp;
	out->next = nl2 + 1;
	return SOCIAL_OK;
}

enum social_rc
social_finish(struct social *s, struct db *db, enum oauth_provider p, const char *code,
    const char *state, const char *redirect_uri, const char *fallback_name,
    const struct log_ctx *log, struct account *out)
{
	struct identity_claim claim;
	struct oauth_profile prof;
	enum identity_rc irc;

	switch (oauth_fetch_profile(s->http, s->conf, p, code, state, redirect_uri, log, &prof)) {
	case OAUTH_OK:
		break;
	case OAUTH_ERR_REFUSED:
		return SOCIAL_CODE_REFUSED;
	case OAUTH_ERR_USAGE:
		return SOCIAL_FAILED;
	default:
		return SOCIAL_PROVIDER_DOWN;
	}
	memset(&claim, 0, sizeof(claim));
	claim.provider = oauth_provider_name(p);
	claim.subject = prof.subject;
	claim.email = prof.email;
	claim.email_verified = prof.email_verified;
	claim.name = prof.name;
	claim.fallback_name = fallback_name;
	irc = identity_resolve(db, &claim, log, out, NULL);
	if (irc == IDENTITY_DISABLED)
		return SOCIAL_DISABLED;
	return irc == IDENTITY_OK ? SOCIAL_OK : SOCIAL_FAILED;
}
