/* sess: session cookie handling for a request (see sess.h). */
#include <inttypes.h>
#include <string.h>

#include "app.h"
#include "base/arena.h"
#include "shop/cart.h"
#include "base/conf.h"
#include "base/form.h"
#include "base/log.h"
#include "infra/redis.h"
#include "req.h"
#include "sess.h"
#include "shop/session.h"

/* Sets the Set-Cookie header for id (NULL: expire the cookie). */
static void
set_cookie(struct req *r, const char *id)
{
	const struct conf *c = r->app->conf;
	const char *secure = conf_bool(c, CONF_SITE_SECURE_COOKIES) || r->https ? "; Secure" : "";

	if (id != NULL)
		r->set_cookie = arena_printf(r->a, "%s=%s; Path=/; Max-Age=%" PRId64
		    "; HttpOnly; SameSite=Lax%s", conf_str(c, CONF_SESSION_COOKIE), id,
		    conf_int(c, CONF_SESSION_TTL_SECONDS), secure);
	else
		r->set_cookie = arena_printf(r->a, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax%s",
		    conf_str(c, CONF_SESSION_COOKIE), secure);
}

static void
note_user(struct req *r)
{
	r->log.user = r->sess.user_id > 0 ?
	    arena_printf(r->a, "%" PRId64, r->sess.user_id) : NULL;
}

void
sess_load(struct req *r)
{
	const char *id;

	r->has_sess = false;
	if (form_get_first(&r->cookies, conf_str(r->app->conf, CONF_SESSION_COOKIE), &id) != 0)
		return;
	if (session_load(r->app->redis, id, conf_int(r->app->conf, CONF_SESSION_TTL_SECONDS),
	    &r->sess) == 1) {
		r->has_sess = true;
		note_user(r);
	}
}

const char *
sess_csrf(struct req *r)
{
	if (r->has_sess)
		return r->sess.csrf;
	if (session_create(r->app->redis, 0, "", "", conf_int(r->app->conf,
	    CONF_SESSION_TTL_SECONDS), &r->sess) != 0) {
		log_warn(&r->log, "no session: Redis did not answer");
		return NULL;
	}
	r->has_sess = true;
	set_cookie(r, r->sess.id);
	return r->sess.csrf;
}

int
sess_login(struct req *r, int64_t user_id, const char *role, const char *name)
{
	struct cart_limits lim;

	if (r->has_sess && r->sess.user_id == 0) {
		/* A guest's cart becomes the user's; losing it must not stop the sign-in. */
		cart_limits_from_conf(r->app->conf, &lim);
		if (cart_merge(r->app->redis, r->sess.id, user_id, &lim) != CART_OK)
			log_warn(&r->log, "guest cart not merged into user %" PRId64, user_id);
	}
	if (r->has_sess)
		session_destroy(r->app->redis, r->sess.id);
	r->has_sess = false;
	if (session_create(r->app->redis, user_id, role, name,
	    conf_int(r->app->conf, CONF_SESSION_TTL_SECONDS), &r->sess) != 0)
		return -1;
	r->has_sess = true;
	note_user(r);
	set_cookie(r, r->sess.id);
	return 0;
}

int
sess_logout(struct req *r)
{
	int rc = 0;

	if (r->has_sess)
		rc = session_destroy(r->app->redis, r->sess.id);
	memset(&r->sess, 0, sizeof(r->sess));
	r->has_sess = false;
	r->log.user = NULL;
	set_cookie(r, NULL);
	return rc;
}

int64_t
sess_user(const struct req *r)
{
	return r->has_sess ? r->sess.user_id : 0;
}

int
sess_is_admin(const struct req *r)
{
	return r->has_sess && r->sess.user_id > 0 && strcmp(r->sess.role, "admin") == 0;
}
