/* route: the route table and the dispatcher (parse, match, enforce flags, handle, count). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "base/accept.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/log.h"
#include "infra/db.h"
#include "infra/metrics.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "base/form.h"
#include "sess.h"
#include "shop/session.h"

/* The core routes; each page family file adds its own table (route.h). */
static const struct route core_routes[] = {
	{ METHOD_GET,  "/",                          home_index,         ROUTE_HTML, "home" },
	{ METHOD_GET,  "/healthz",                   ops_healthz,        ROUTE_JSON, "healthz" },
	{ METHOD_GET,  "/metrics",                   ops_metrics,        ROUTE_RAW,  "metrics" },
	{ 0, NULL, NULL, 0, NULL },
};

/* Every family's table, in matching order. A new page family: one file, one line here. */
static const struct route *const route_families[] = {
	core_routes, account_routes, settings_routes, oauth_routes, catalog_routes, points_routes,
	cart_routes, checkout_routes, pg_return_routes, orders_routes, refunds_routes,
	delivery_routes, addresses_routes, webhook_routes, wallet_routes, admin_dashboard_routes,
	admin_products_routes, admin_orders_routes, admin_fulfilment_routes, admin_money_routes,
	admin_reconcile_routes, admin_ops_routes, admin_audit_routes,
#ifdef JT_TEST_ROUTES   /* configure --enable-test-routes (Makefile.am) */
	testing_routes,
#endif
};

#define ROUTE_MAX 256
static struct route routes[ROUTE_MAX];
static const char *names[ROUTE_MAX];
static size_t nroutes;

/* The words route_dump writes for each flag, in bit order. */
static const char *const flag_words[] = {
	"html", "json", "login", "admin", "csrf", "test", "raw", "twin", "upload",
};

/* True when the table has exactly one partner for twin route t: the same method and pattern,
 * ROUTE_TWIN, the other representation. */
static bool
twin_has_partner(size_t t)
{
	size_t i, n = 0;

	for (i = 0; i < nroutes; i++) {
		if (i == t || !(routes[i].flags & ROUTE_TWIN) || routes[i].method != routes[t].method ||
		    strcmp(routes[i].pattern, routes[t].pattern) != 0)
			continue;
		if (((routes[i].flags ^ routes[t].flags) & (ROUTE_HTML | ROUTE_JSON)) !=
		    (ROUTE_HTML | ROUTE_JSON))
			return false;
		n++;
	}
	return n == 1;
}

void
route_init(void)
{
	size_t f, i;

	nroutes = 0;
	for (f = 0; f < sizeof(route_families) / sizeof(route_families[0]); f++) {
		for (i = 0; route_families[f][i].handler != NULL; i++) {
			if (nroutes == ROUTE_MAX)
				abort();  /* raise ROUTE_MAX */
			routes[nroutes] = route_families[f][i];
			names[nroutes] = routes[nroutes].name;
			nroutes++;
		}
	}
	for (i = 0; i < nroutes; i++) {
		if ((routes[i].flags & ROUTE_TWIN) && !twin_has_partner(i)) {
			log_error(NULL, "route %s: a twin needs one partner of the other kind",
			    routes[i].name);
			abort();
		}
	}
}

void
route_dump(FILE *f)
{
	static const char *const methods[METHOD__MAX] = {
		"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER",
	};
	size_t i, b;

	for (i = 0; i < nroutes; i++) {
		const char *sep = "";

		fprintf(f, "%s %s ", methods[routes[i].method], routes[i].pattern);
		for (b = 0; b < sizeof(flag_words) / sizeof(flag_words[0]); b++) {
			if (routes[i].flags & (1u << b)) {
				fprintf(f, "%s%s", sep, flag_words[b]);
				sep = "+";
			}
		}
		fprintf(f, " %s\n", routes[i].name);
	}
}

size_t
route_count(void)
{
	return nroutes;
}

const char *const *
route_names(void)
{
	return names;
}

/* Matches path against pattern, filling r->params. 1 match, 0 no match, -1 malformed segment. */
static int
match_pattern(struct req *r, const char *pattern, const char *path)
{
	const char *p = pattern, *s = path;
	size_t n = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			const char *se = strchr(s, '/');
			size_t len = se != NULL ? (size_t)(se - s) : strlen(s);
			const char *v;

			if (len == 0 || n == REQ_MAX_PARAMS || len > 256)
				return 0;
			if (form_decode_path_segment(r->a, s, len, &v) != FORM_OK)
				return -1;
			r->params[n++] = v;
			p = pe + 1;
			s += len;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	if (*p != '\0' || *s != '\0')
		return 0;
	r->nparams = n;
	return 1;
}

/* True when the request's Accept header prefers JSON to HTML (a twin's JSON route). */
static bool
wants_json_twin(const struct req *r)
{
	return accept_prefers(req_param(r, "HTTP_ACCEPT"), "application/json", "text/html");
}

/* Finds the route for r; on a path that exists with other methods, writes them into allow.
 * Of two twins (ROUTE_TWIN) only the one the Accept header picks can match. */
static const struct route *
find_route(struct req *r, struct buf *allow, bool *bad_segment)
{
	bool tests = conf_bool(r->app->conf, CONF_FCGI_TEST_ROUTES);
	enum req_method m = r->method == METHOD_HEAD ? METHOD_GET : r->method;
	int json_twin = -1;  /* wants_json_twin, asked once when a twin matches */
	size_t i;
	int rc;

	for (i = 0; i < nroutes; i++) {
		const struct route *rt = &routes[i];

		if ((rt->flags & ROUTE_TEST) && !tests)
			continue;
		r->nparams = 0;
		rc = match_pattern(r, rt->pattern, r->path);
		if (rc < 0) {
			*bad_segment = true;
			continue;
		}
		if (rc == 0)
			continue;
		if (rt->flags & ROUTE_TWIN) {
			if (json_twin < 0)
				json_twin = wants_json_twin(r);
			r->negotiated = true;
			if (((rt->flags & ROUTE_JSON) != 0) != (json_twin == 1))
				continue;  /* the other representation's route */
		}
		if (rt->flags & ROUTE_JSON)
			r->path_is_json = true;
		if (rt->method == m) {
			r->route_index = i;
			return rt;
		}
		if (allow->len > 0)
			buf_puts(allow, ", ");
		buf_puts(allow, rt->method == METHOD_GET ? "GET, HEAD" :
		    rt->method == METHOD_POST ? "POST" : rt->method == METHOD_PUT ? "PUT" :
		    rt->method == METHOD_PATCH ? "PATCH" : "DELETE");
	}
	return NULL;
}

static void
answer_parse_error(struct req *r, enum req_err e)
{
	switch (e) {
	case REQ_TOO_LARGE: resp_fail(r, RESP_TOO_LARGE); break;
	case REQ_BAD_MEDIA: resp_fail(r, RESP_BAD_MEDIA); break;
	case REQ_BAD_JSON:  resp_fail(r, RESP_BAD_JSON); break;
	default:            resp_fail(r, RESP_BAD_REQUEST); break;
	}
}

/* Where a guest who asked for a page that needs a login is sent: /login?next=<this page>, so
 * the login page sends them back (GET pages only: after a login a POST cannot be replayed, so
 * its page is the one to return to). The path and query are this request's own, escaped as
 * one query value; /login checks next again before it redirects (same site only). */
static const char *
login_url(struct req *r)
{
	const char *query = req_param(r, "QUERY_STRING");
	struct buf u = { 0 };
	const char *out;

	if (r->method != METHOD_GET && r->method != METHOD_HEAD)
		return "/login";
	buf_puts(&u, "/login?next=");
	if (query != NULL && query[0] != '\0')
		esc_url_query(&u, arena_printf(r->a, "%s?%s", r->path, query));
	else
		esc_url_query(&u, r->path);
	out = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return out;
}

/* Enforces the login and admin flags. Returns 0 to go on, or -1 after answering. */
static int
enforce_identity(struct req *r)
{
	unsigned f = r->route->flags;

	if ((f & (ROUTE_LOGIN | ROUTE_ADMIN)) && sess_user(r) == 0) {
		if (f & ROUTE_JSON)
			resp_fail(r, RESP_UNAUTHORIZED);
		else
			resp_redirect_built(r, login_url(r));  /* our path, the rest escaped */
		return -1;
	}
	if ((f & ROUTE_ADMIN) && !sess_is_admin(r)) {
		resp_fail(r, RESP_FORBIDDEN);
		return -1;
	}
	return 0;
}

/* Enforces the CSRF flag once the body is read: the session's token must come back in the
 * X-CSRF-Token header (scripts) or the csrf_token form field (forms). Returns 0 or -1 after
 * answering. */
static int
enforce_csrf(struct req *r)
{
	const char *token = req_param(r, "HTTP_X_CSRF_TOKEN");

	if (!(r->route->flags & ROUTE_CSRF) || r->method == METHOD_GET || r->method == METHOD_HEAD)
		return 0;
	if (token == NULL && form_get(&r->form, "csrf_token", &token, NULL) != 0)
		token = NULL;
	if (!r->has_sess || !session_csrf_ok(&r->sess, token)) {
		log_warn(&r->log, "CSRF token missing or wrong for %s %s", r->method_name, r->path);
		resp_fail(r, RESP_CSRF);
		return -1;
	}
	return 0;
}

static bool
has_body(enum req_method m)
{
	return m == METHOD_POST || m == METHOD_PUT || m == METHOD_PATCH || m == METHOD_DELETE;
}

void
route_dispatch(struct req *r)
{
	struct buf allow = { 0 };
	bool bad_segment = false;
	enum req_err e;
	size_t slot;

	if (r->path == NULL)
		r->path = "/";
	r->route = find_route(r, &allow, &bad_segment);
	if (r->route == NULL) {
		if (allow.len > 0)
			resp_fail_allow(r, allow.data);
		else if (bad_segment)
			resp_fail(r, RESP_BAD_REQUEST);
		else
			resp_fail(r, RESP_NOT_FOUND);
		goto out;
	}
	sess_load(r);
	if (enforce_identity(r) != 0)
		goto out;
	if (has_body(r->method)) {
		e = req_read_body(r, (r->route->flags & ROUTE_JSON) != 0);
		if (e != REQ_OK) {
			answer_parse_error(r, e);
			goto out;
		}
	}
	if (enforce_csrf(r) != 0)
		goto out;
	if (r->route->handler(r) != 0 || r->status == 0) {
		if (r->status == 0 && db_ping(r->app->db) != 0) {
			/* MariaDB is out of reach (killed, restarting): what failed was the database,
			 * not the request, so the client gets a 503 it may retry, not a 500. */
			log_warn(&r->log, "handler %s failed for %s %s: the database is unreachable",
			    r->route->name, r->method_name, r->path);
			resp_fail(r, RESP_UNAVAILABLE);
			goto out;
		}
		log_error(&r->log, "handler %s failed for %s %s", r->route->name, r->method_name,
		    r->path);
		if (r->status == 0)
			resp_fail(r, RESP_INTERNAL);
	}
out:
	buf_release(&allow);
	if (r->app->metrics != NULL) {
		slot = r->route != NULL ? r->route_index : metrics_unmatched(r->app->metrics);
		metrics_observe(r->app->metrics, slot, r->status, req_elapsed_usec(r));
	}
	if (r->status >= 500)
		log_warn(&r->log, "%s %s -> %d", r->method_name, r->path, r->status);
	else
		log_debug(&r->log, "%s %s -> %d", r->method_name, r->path, r->status);
}
