/* sess: the request's view of its session: loaded by the dispatcher from the cookie, created
 * on demand (a guest needs one to hold a CSRF token), rotated at login, dropped at logout. */
#ifndef JT_SESS_H
#define JT_SESS_H

#include <stdint.h>

struct req;

/* Loads the session named by the request's cookie into r->sess (r->has_sess). Called by the
 * dispatcher; a missing, expired or forged cookie leaves the request without a session. */
void sess_load(struct req *r);

/* The CSRF token to embed in a form or hand to a script, creating a guest session (and its
 * cookie) when the request has none. NULL when Redis is down (the page should say so). */
const char *sess_csrf(struct req *r);

/* Signs user_id in: the old session (guest or not) is destroyed and a new one with a new id
 * and CSRF token is created, so an id planted before login is worthless after it (no session
 * fixation). Sets the cookie. Returns 0, or -1 when Redis is down. */
int sess_login(struct req *r, int64_t user_id, const char *role, const char *name);

/* Signs out: destroys the session and expires the cookie. Returns 0, or -1 when Redis is
 * down. */
int sess_logout(struct req *r);

/* The signed-in user's id, or 0 for a guest or no session. */
int64_t sess_user(const struct req *r);

/* True when the signed-in user is an admin. */
int sess_is_admin(const struct req *r);

#endif
