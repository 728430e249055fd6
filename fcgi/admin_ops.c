/* admin_ops: the admin console's operations pages: the outbox's stuck and dead jobs with a
 * retry (audited in the retry's transaction), the circuit breakers as their processes
 * published them to Redis (breaker_publish), and the browsable audit log with filters. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "admin.h"
#include "app.h"
#include "base/arena.h"
#include "shop/audit.h"
#include "base/buf.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/jparse.h"
#include "base/log.h"
#include "infra/outbox.h"
#include "infra/redis.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "base/valid.h"

/* A pending job due this long ago and still not taken is stuck (the janitor re-pushes after
 * janitor.grace_ms, a few seconds: a minute means nobody is taking it). */
#define ADMIN_STUCK_MS 60000

/* Breakers every deployment has; shown even before any process published them. */
static const char *const known_breakers[] = { "alimtalk", "naver", "pg-kakaopay", "pg-toss" };

#define BREAKERS_MAX 64

/* The actions the audit log's filter offers (what the console records). */
static const char *const audit_actions[] = {
	"product.create", "product.update", "product.deactivate", "product.activate",
	"stock.adjust", "refund.request", "wallet.payout", "outbox.retry",
};

static const char MSG_NO_JOB[] = "작업을 찾을 수 없습니다.";

/* ---- outbox --------------------------------------------------------------------------------- */

static struct json_object *
jobs_json(const struct outbox_job *j, int64_t n)
{
	struct json_object *rows = json_object_new_array();
	int64_t i;

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(j[i].id));
		json_object_object_add(o, "kind", admin_jstr(j[i].kind));
		json_object_object_add(o, "payload", admin_jstr(j[i].payload));
		json_object_object_add(o, "status", admin_jstr(j[i].status));
		json_object_object_add(o, "attempts", json_object_new_int(j[i].attempts));
		json_object_object_add(o, "lastError", admin_jstr(j[i].last_error));
		json_object_object_add(o, "availableAt", admin_jstr(j[i].available_at));
		json_object_object_add(o, "claimedUntil", admin_jstr(j[i].claimed_until));
		json_object_object_add(o, "createdAt", admin_jstr(j[i].created_at));
		json_object_array_add(rows, o);
	}
	return rows;
}

/* The outbox page; error (may be NULL) is a refused retry's reason. */
static int
render_outbox(struct req *r, int status, const char *error)
{
	struct json_object *ctx = admin_ctx(r, "작업 대기열");
	struct outbox_depth *d;
	struct outbox_job *j;
	struct json_object *rows;
	int64_t before = 0, n, i;

	if (error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(error));
	if (admin_query_id(r, "before", &before) < 0)
		before = 0;
	n = outbox_depths(r->app->db, r->a, &d);
	if (n < 0) {
		admin_unavailable(r, ctx, "queues_error", "outbox_depths");
	} else {
		rows = json_object_new_array();
		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "kind", admin_jstr(d[i].kind));
			json_object_object_add(o, "pending", json_object_new_int64(d[i].pending));
			json_object_object_add(o, "claimed", json_object_new_int64(d[i].claimed));
			json_object_object_add(o, "dead", json_object_new_int64(d[i].dead));
			json_object_array_add(rows, o);
		}
		json_object_object_add(ctx, "queues", rows);
	}
	n = outbox_stuck(r->app->db, r->a, ADMIN_STUCK_MS, ADMIN_PAGE_ROWS, &j);
	if (n < 0)
		admin_unavailable(r, ctx, "stuck_error", "outbox_stuck");
	else
		json_object_object_add(ctx, "stuck", jobs_json(j, n));
	n = outbox_dead(r->app->db, r->a, before, ADMIN_PAGE_ROWS, &j);
	if (n < 0) {
		admin_unavailable(r, ctx, "dead_error", "outbox_dead");
	} else {
		json_object_object_add(ctx, "dead", jobs_json(j, n));
		if (n == ADMIN_PAGE_ROWS)
			json_object_object_add(ctx, "next", json_object_new_string(arena_printf(r->a,
			    "/admin/outbox?before=%" PRId64, j[n - 1].id)));
	}
	return admin_page(r, status, "admin_outbox", ctx);
}

/* GET /admin/outbox?before= */
static int
page_outbox(struct req *r)
{
	return render_outbox(r, 200, NULL);
}

struct retry_tx {
	struct arena *a;
	int64_t actor;
	int64_t id;
	struct outbox_job before;
};

static int
retry_fn(struct db *db, void *arg)
{
	struct retry_tx *t = arg;
	struct json_object *before, *after;
	int rc;

	rc = outbox_retry(db, t->a, t->id, &t->before);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return DB_ABORT;  /* no such job (t->before.id 0), or not retryable */
	before = json_object_new_object();
	json_object_object_add(before, "kind", admin_jstr(t->before.kind));
	json_object_object_add(before, "status", admin_jstr(t->before.status));
	json_object_object_add(before, "attempts", json_object_new_int(t->before.attempts));
	json_object_object_add(before, "lastError", admin_jstr(t->before.last_error));
	after = json_object_new_object();
	json_object_object_add(after, "kind", admin_jstr(t->before.kind));
	json_object_object_add(after, "status", json_object_new_string("pending"));
	json_object_object_add(after, "attempts", json_object_new_int(0));
	rc = audit_record_json(db, t->actor, "outbox.retry",
	    arena_printf(t->a, "outbox:%" PRId64, t->id), before, after);
	json_object_put(before);
	json_object_put(after);
	return rc;
}

/* POST /admin/outbox/{id}/retry: a dead or stuck job back to pending, pushed at once. */
static int
page_outbox_retry(struct req *r)
{
	struct retry_tx t = { .a = r->a, .actor = sess_user(r) };
	enum job_kind kind;
	int rc;

	if (req_path_id(r, 0, &t.id) != 0)
		return resp_error(r, 404, "JOB_NOT_FOUND", MSG_NO_JOB);
	rc = db_tx(r->app->db, retry_fn, &t);
	if (rc == DB_ABORT && t.before.id == 0)
		return resp_error(r, 404, "JOB_NOT_FOUND", MSG_NO_JOB);
	if (rc == DB_ABORT)
		return render_outbox(r, 409,
		    "다시 시도할 수 없는 작업입니다. 이미 끝났거나 처리 중입니다.");
	if (rc != 0)
		return render_outbox(r, 500, "작업을 다시 넣지 못했습니다. 잠시 후 다시 시도해 주세요.");
	log_info(&r->log, "admin: outbox job %" PRId64 " (%s) retried", t.id, t.before.kind);
	if (bus_kind_parse(t.before.kind, &kind) == 0)
		bus_push_job(r->app->bus, t.id, kind);
	return admin_done(r, "/admin/outbox", "job_retried");
}

/* ---- breakers ------------------------------------------------------------------------------- */

/* Unix milliseconds as local "YYYY-MM-DD HH:MM:SS", or NULL. */
static const char *
ms_time(struct req *r, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return NULL;
	return arena_strdup(r->a, s);
}

static bool
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 32)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return false;
	return true;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds name to names (n of them, at most BREAKERS_MAX) unless it is there. */
static void
add_name(struct req *r, const char **names, size_t *n, const char *name, size_t len)
{
	size_t i;

	if (!name_ok(name, len) || *n == BREAKERS_MAX)
		return;
	for (i = 0; i < *n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return;
	names[(*n)++] = arena_strndup(r->a, name, len);
}

/* The breaker names published in Redis (SCAN breaker:*), with the known ones. -1 when Redis
 * did not answer. */
static int
breaker_names(struct req *r, const char **names, size_t *n)
{
	char cursor[32] = "0";
	redisReply *rep;
	size_t i, rounds = 0;

	*n = 0;
	for (i = 0; i < sizeof(known_breakers) / sizeof(known_breakers[0]); i++)
		add_name(r, names, n, known_breakers[i], strlen(known_breakers[i]));
	do {
		rep = redis_cmdl(r->app->redis, "SCAN", cursor, "MATCH", "breaker:*", "COUNT", "100",
		    NULL);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof(cursor) ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			if (rep != NULL)
				freeReplyObject(rep);
			return -1;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
		cursor[rep->element[0]->len] = '\0';
		for (i = 0; i < rep->element[1]->elements; i++) {
			const redisReply *k = rep->element[1]->element[i];
			const char *name;
			size_t len;

			if (k->type != REDIS_REPLY_STRING || k->len <= 8)
				continue;
			name = k->str + 8;      /* after "breaker:" */
			len = k->len - 8;
			if (len > 6 && memcmp(name + len - 6, ":procs", 6) == 0)
				len -= 6;
			add_name(r, names, n, name, len);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && ++rounds < 100);
	qsort(names, *n, sizeof(names[0]), cmp_names);
	return 0;
}

/* A hash field of an HGETALL reply as an integer, or def. */
static int64_t
hash_i64(const redisReply *h, const char *field, int64_t def)
{
	size_t i;
	int64_t v;

	for (i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *k = h->element[i], *val = h->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && strcmp(k->str, field) == 0 &&
		    val->type == REDIS_REPLY_STRING && valid_int64(val->str, INT64_MIN + 1,
		    INT64_MAX, &v) == 0)
			return v;
	}
	return def;
}

static const char *
hash_str(const redisReply *h, const char *field)
{
	size_t i;

	for (i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *k = h->element[i], *val = h->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && strcmp(k->str, field) == 0 &&
		    val->type == REDIS_REPLY_STRING)
			return val->str;
	}
	return NULL;
}

static const char *
state_label(const char *state)
{
	if (state == NULL)
		return "기록 없음";
	if (strcmp(state, "closed") == 0)
		return "정상 (closed)";
	if (strcmp(state, "open") == 0)
		return "차단 (open)";
	if (strcmp(state, "half_open") == 0)
		return "시험 중 (half-open)";
	return "알 수 없음";
}

/* Fills o with the counters of a report (the summary hash's fields). */
static void
report_fields(struct req *r, struct json_object *o, const redisReply *h)
{
	static const char *const ints[] = { "failure_rate", "slow_rate", "window_calls", "calls",
	    "failures", "slow", "rejected", "transitions", "opened", "pid" };
	const char *state = hash_str(h, "state");
	size_t i;

	json_object_object_add(o, "state", admin_jstr(state));
	json_object_object_add(o, "stateLabel", json_object_new_string(state_label(state)));
	json_object_object_add(o, "since", admin_jstr(ms_time(r, hash_i64(h, "since_ms", 0))));
	json_object_object_add(o, "updated", admin_jstr(ms_time(r, hash_i64(h, "updated_ms", 0))));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int64_t v = hash_i64(h, ints[i], -1);

		if (v >= 0)
			json_object_object_add(o, ints[i], json_object_new_int64(v));
	}
}

/* One process's report (a field of breaker:{name}:procs). NULL when malformed. */
static struct json_object *
proc_json(struct req *r, const char *pid, const char *text, size_t len)
{
	static const char *const ints[] = { "failure_rate", "slow_rate", "window_calls", "calls",
	    "failures", "slow", "rejected", "transitions", "opened" };
	struct json_object *in = NULL, *o;
	const char *state = NULL;
	int64_t n;
	size_t i;

	if (jparse(text, len, 4096, 4, &in) != JPARSE_OK || in == NULL ||
	    !json_object_is_type(in, json_type_object)) {
		json_object_put(in);
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_string(pid));
	if (jparse_string(in, "state", 16, &state) == 0)
		json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "stateLabel", json_object_new_string(state_label(state)));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (jparse_int64(in, ints[i], -1, INT64_MAX, &n) == 0)
			json_object_object_add(o, ints[i], json_object_new_int64(n));
	if (jparse_int64(in, "updated_ms", 0, INT64_MAX, &n) == 0)
		json_object_object_add(o, "updated", admin_jstr(ms_time(r, n)));
	if (jparse_int64(in, "since_ms", 0, INT64_MAX, &n) == 0)
		json_object_object_add(o, "since", admin_jstr(ms_time(r, n)));
	json_object_put(in);
	return o;
}

static struct json_object *
procs_json(struct req *r, const char *name)
{
	struct json_object *rows = json_object_new_array();
	const char *key = arena_printf(r->a, "breaker:%s:procs", name);
	redisReply *rep;
	size_t i;

	rep = redis_cmdl(r->app->redis, "HGETALL", key, NULL);
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY) {
		for (i = 0; i + 1 < rep->elements; i += 2) {
			const redisReply *k = rep->element[i], *val = rep->element[i + 1];
			struct json_object *p;

			if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
				continue;
			p = proc_json(r, k->str, val->str, val->len);
			if (p != NULL)
				json_object_array_add(rows, p);
		}
	}
	if (rep != NULL)
		freeReplyObject(rep);
	return rows;
}

struct json_object *
admin_ops_breakers_json(struct req *r, bool with_procs)
{
	const char *names[BREAKERS_MAX];
	struct json_object *rows;
	redisReply *rep;
	size_t n, i;

	if (breaker_names(r, names, &n) != 0)
		return NULL;
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(names[i]));
		rep = redis_cmdl(r->app->redis, "HGETALL", arena_printf(r->a, "breaker:%s", names[i]),
		    NULL);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			if (rep != NULL)
				freeReplyObject(rep);
			json_object_put(o);
			json_object_put(rows);
			return NULL;
		}
		report_fields(r, o, rep);
		freeReplyObject(rep);
		if (with_procs)
			json_object_object_add(o, "procs", procs_json(r, names[i]));
		json_object_array_add(rows, o);
	}
	return rows;
}

/* GET /admin/breakers */
static int
page_breakers(struct req *r)
{
	struct json_object *ctx = admin_ctx(r, "서킷 브레이커");
	struct json_object *rows = admin_ops_breakers_json(r, true);

	if (rows == NULL)
		admin_unavailable(r, ctx, "breakers_error", "breakers from Redis");
	else
		json_object_object_add(ctx, "breakers", rows);
	return admin_page(r, 200, "admin_breakers", ctx);
}

/* ---- audit log ------------------------------------------------------------------------------ */

/* GET /admin/audit?actor=&action=&target=&from=&to=&before= */
static int
page_audit(struct req *r)
{
	struct json_object *ctx = admin_ctx(r, "감사 로그");
	struct json_object *rows, *filter, *actions;
	struct audit_filter f = { 0 };
	struct audit_entry *e;
	const char *err = NULL;
	int64_t n, i;
	size_t k;

	if (admin_query_id(r, "actor", &f.actor_id) < 0)
		err = "관리자 번호가 올바르지 않습니다.";
	else if (admin_query_text(r, "action", AUDIT_ACTION_MAX, &f.action) < 0)
		err = "작업 종류가 올바르지 않습니다.";
	else if (admin_query_text(r, "target", AUDIT_TARGET_MAX, &f.target) < 0)
		err = "대상이 올바르지 않습니다.";
	else if (admin_query_text(r, "from", 10, &f.from_day) < 0 ||
	    (f.from_day != NULL && !audit_day_ok(f.from_day)) ||
	    admin_query_text(r, "to", 10, &f.to_day) < 0 ||
	    (f.to_day != NULL && !audit_day_ok(f.to_day)))
		err = "날짜는 YYYY-MM-DD 형식으로 입력해 주세요.";
	else if (admin_query_id(r, "before", &f.before_id) < 0)
		err = "페이지 정보가 올바르지 않습니다.";

	filter = json_object_new_object();
	if (f.actor_id > 0)
		json_object_object_add(filter, "actor", json_object_new_int64(f.actor_id));
	json_object_object_add(filter, "action", admin_jstr(f.action));
	json_object_object_add(filter, "target", admin_jstr(f.target));
	json_object_object_add(filter, "from", admin_jstr(f.from_day));
	json_object_object_add(filter, "to", admin_jstr(f.to_day));
	json_object_object_add(ctx, "filter", filter);
	actions = json_object_new_array();
	for (k = 0; k < sizeof(audit_actions) / sizeof(audit_actions[0]); k++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "value", json_object_new_string(audit_actions[k]));
		json_object_object_add(o, "selected", json_object_new_boolean(
		    f.action != NULL && strcmp(f.action, audit_actions[k]) == 0));
		json_object_array_add(actions, o);
	}
	json_object_object_add(ctx, "actions", actions);
	if (err != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(err));
		return admin_page(r, 400, "admin_audit", ctx);
	}
	n = audit_list(r->app->db, r->a, &f, ADMIN_PAGE_ROWS, &e);
	if (n < 0) {
		admin_unavailable(r, ctx, "audit_error", "audit_list");
		return admin_page(r, 200, "admin_audit", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(e[i].id));
		json_object_object_add(o, "actorId", json_object_new_int64(e[i].actor_id));
		json_object_object_add(o, "actorEmail", admin_jstr(e[i].actor_email));
		json_object_object_add(o, "actorName", admin_jstr(e[i].actor_name));
		json_object_object_add(o, "action", admin_jstr(e[i].action));
		json_object_object_add(o, "target", admin_jstr(e[i].target));
		json_object_object_add(o, "before", admin_jstr(e[i].before_json));
		json_object_object_add(o, "after", admin_jstr(e[i].after_json));
		json_object_object_add(o, "at", admin_jstr(e[i].at));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "entries", rows);
	if (n == ADMIN_PAGE_ROWS) {
		struct buf u;

		buf_init(&u);
		buf_printf(&u, "/admin/audit?before=%" PRId64, e[n - 1].id);
		if (f.actor_id > 0)
			buf_printf(&u, "&actor=%" PRId64, f.actor_id);
		if (f.action != NULL) {
			buf_puts(&u, "&action=");
			esc_url_query(&u, f.action);
		}
		if (f.target != NULL) {
			buf_puts(&u, "&target=");
			esc_url_query(&u, f.target);
		}
		if (f.from_day != NULL)
			buf_printf(&u, "&from=%s", f.from_day);
		if (f.to_day != NULL)
			buf_printf(&u, "&to=%s", f.to_day);
		json_object_object_add(ctx, "next", json_object_new_string(buf_cstr(&u)));
		buf_release(&u);
	}
	return admin_page(r, 200, "admin_audit", ctx);
}

const struct route admin_ops_routes[] = {
	{ METHOD_GET,  "/admin/outbox",             page_outbox,       ROUTE_HTML | ROUTE_ADMIN, "admin_outbox" },
	{ METHOD_POST, "/admin/outbox/{id}/retry",  page_outbox_retry, ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_outbox_retry" },
	{ METHOD_GET,  "/admin/breakers",           page_breakers,     ROUTE_HTML | ROUTE_ADMIN, "admin_breakers" },
	{ METHOD_GET,  "/admin/audit",              page_audit,        ROUTE_HTML | ROUTE_ADMIN, "admin_audit" },
	{ 0, NULL, NULL, 0, NULL },
};
