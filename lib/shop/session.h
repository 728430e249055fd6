/* session: browser sessions in Redis, for guests and signed-in users. A session is the hash
 * sess:{id} = {user, role, name, csrf} with a sliding TTL. Ids and CSRF tokens are 40 random
 * characters. Losing Redis signs everyone out; it never grants anything. */
#ifndef JT_SESSION_H
#define JT_SESSION_H

#include <stdbool.h>
#include <stdint.h>

struct redis;

#define SESSION_ID_LEN 40

struct session {
	char id[SESSION_ID_LEN + 1];
	char csrf[SESSION_ID_LEN + 1];
	int64_t user_id;     /* 0 for a guest */
	char role[16];       /* "shopper" or "admin"; "" for a guest */
	char name[256];      /* the user's display name (50 Korean characters fit); "" for a guest */
};

/* Loads session id and slides its expiry to ttl seconds. Returns 1 when found, 0 when absent
 * or malformed (a forged id reads as absent), -1 when Redis did not answer. */
int session_load(struct redis *r, const char *id, int64_t ttl, struct session *out);

/* Creates a new session (fresh id and CSRF token) for user_id (0: a guest) with role and
 * name. Returns 0, or -1 when Redis did not answer. */
int session_create(struct redis *r, int64_t user_id, const char *role, const char *name,
    int64_t ttl, struct session *out);

/* Deletes session id. Returns 0, or -1 when Redis did not answer. */
int session_destroy(struct redis *r, const char *id);

/* True when token equals the session's CSRF token (compared in constant time). */
bool session_csrf_ok(const struct session *s, const char *token);

#endif
