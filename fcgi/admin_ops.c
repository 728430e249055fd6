/* admin_ops: the admin console's operations pages: the outbox's stuck and dead jobs with a
 * retry (audited in the retry's transaction), the circuit breakers as their processes
 * published them to Redis (breaker_publish), and the browsable audit log with filters. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "shop/audit.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/outbox.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"

/* A pending job due this long ago and still not taken is stuck (the janitor re-pushes after
 * janitor.grace_ms, a few seconds: a minute means nobody is taking it). */
#define ADMIN_STUCK_MS 60000

/* The actions the audit log's filter offers (what the console records). */
static const char *const audit_actions[] = {
	"product.create", "product.update", "product.deactivate", "product.activate",
	"stock.adjust", "refund.request", "wallet.payout", "outbox.retry",
};

static const char MSG_NO_JOB[] = "작업을 찾을 수 없습니다.";

/* Transaction results beyond enum db_rc. */
enum { TX_NO_JOB = -200, TX_NOT_RETRYABLE = -201 };

/* ---- outbox --------------------------------------------------------------------------------- */

static struct json_object *
jobs_json(const struct outbox_job *j, int64_t n)
{
	struct json_object *rows = json_object_new_array();
	int64_t i;

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(j[i].id));
		json_object_object_add(o, "kind", admin_common_jstr(j[i].kind));
		json_object_object_add(o, "payload", admin_common_jstr(j[i].payload));
		json_object_object_add(o, "status", admin_common_jstr(j[i].status));
		json_object_object_add(o, "attempts", json_object_new_int(j[i].attempts));
		json_object_object_add(o, "lastError", admin_common_jstr(j[i].last_error));
		json_object_object_add(o, "availableAt", admin_common_jstr(j[i].available_at));
		json_object_object_add(o, "claimedUntil", admin_common_jstr(j[i].claimed_until));
		json_object_object_add(o, "createdAt", admin_common_jstr(j[i].created_at));
		json_object_array_add(rows, o);
	}
	return rows;
}

/* The outbox page; error (may be NULL) is a refused retry's reason. */
static int
render_outbox(struct req *r, int status, const char *error)
{
	struct json_object *ctx = admin_common_ctx(r, "작업 대기열");
	struct outbox_job *j;
	int64_t before = 0, n;

	if (error != NULL)
		json_object_object_add(ctx, "error", json_object_new_string(error));
	if (admin_common_query_id(r, "before", &before) < 0)
		before = 0;
	admin_common_add_queues(r, ctx);
	n = outbox_stuck(r->app->db, r->a, ADMIN_STUCK_MS, ADMIN_COMMON_PAGE_ROWS, &j);
	if (n < 0)
		admin_common_unavailable(r, ctx, "stuck_error", "outbox_stuck");
	else
		json_object_object_add(ctx, "stuck", jobs_json(j, n));
	n = outbox_dead(r->app->db, r->a, before, ADMIN_COMMON_PAGE_ROWS, &j);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "dead_error", "outbox_dead");
	} else {
		json_object_object_add(ctx, "dead", jobs_json(j, n));
		if (n == ADMIN_COMMON_PAGE_ROWS)
			json_object_object_add(ctx, "next", json_object_new_string(arena_printf(r->a,
			    "/admin/outbox?before=%" PRId64, j[n - 1].id)));
	}
	return admin_common_page(r, status, "admin_outbox", ctx);
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
	if (t->before.id == 0)
		return TX_NO_JOB;
	if (rc == 0)
		return TX_NOT_RETRYABLE;
	before = json_object_new_object();
	json_object_object_add(before, "kind", admin_common_jstr(t->before.kind));
	json_object_object_add(before, "status", admin_common_jstr(t->before.status));
	json_object_object_add(before, "attempts", json_object_new_int(t->before.attempts));
	json_object_object_add(before, "lastError", admin_common_jstr(t->before.last_error));
	after = json_object_new_object();
	json_object_object_add(after, "kind", admin_common_jstr(t->before.kind));
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
	if (rc == TX_NO_JOB)
		return resp_error(r, 404, "JOB_NOT_FOUND", MSG_NO_JOB);
	if (rc == TX_NOT_RETRYABLE)
		return render_outbox(r, 409,
		    "다시 시도할 수 없는 작업입니다. 이미 끝났거나 처리 중입니다.");
	if (rc != 0)
		return render_outbox(r, 500, "작업을 다시 넣지 못했습니다. 잠시 후 다시 시도해 주세요.");
	log_info(&r->log, "admin: outbox job %" PRId64 " (%s) retried", t.id, t.before.kind);
	if (bus_kind_parse(t.before.kind, &kind) == 0)
		admin_common_push_job(r, t.id, kind);
	return admin_common_done(r, "/admin/outbox", "job_retried");
}

/* ---- breakers ------------------------------------------------------------------------------- */

/* GET /admin/breakers */
static int
page_breakers(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "서킷 브레이커");

	admin_common_add_breakers(r, ctx, true);
	return admin_common_page(r, 200, "admin_breakers", ctx);
}

/* ---- audit log ------------------------------------------------------------------------------ */

/* Reads the audit log's filter. Returns NULL or the Korean reason it was refused. */
static const char *
read_audit_filter(struct req *r, struct audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	if (admin_common_query_id(r, "actor", &f->actor_id) < 0)
		return "관리자 번호가 올바르지 않습니다.";
	if (admin_common_query_text(r, "action", AUDIT_ACTION_MAX, &f->action) < 0)
		return "작업 종류가 올바르지 않습니다.";
	if (admin_common_query_text(r, "target", AUDIT_TARGET_MAX, &f->target) < 0)
		return "대상이 올바르지 않습니다.";
	if (admin_common_query_text(r, "from", 10, &f->from_day) < 0 ||
	    (f->from_day != NULL && !audit_day_ok(f->from_day)) ||
	    admin_common_query_text(r, "to", 10, &f->to_day) < 0 ||
	    (f->to_day != NULL && !audit_day_ok(f->to_day)))
		return "날짜는 YYYY-MM-DD 형식으로 입력해 주세요.";
	if (admin_common_query_id(r, "before", &f->before_id) < 0)
		return "페이지 정보가 올바르지 않습니다.";
	return NULL;
}

/* Adds the filter form's values: ctx["filter"] and the action choices ctx["actions"]. */
static void
add_audit_filter(struct json_object *ctx, const struct audit_filter *f)
{
	struct json_object *filter = json_object_new_object();
	struct json_object *actions = json_object_new_array();
	size_t k;

	if (f->actor_id > 0)
		json_object_object_add(filter, "actor", json_object_new_int64(f->actor_id));
	json_object_object_add(filter, "action", admin_common_jstr(f->action));
	json_object_object_add(filter, "target", admin_common_jstr(f->target));
	json_object_object_add(filter, "from", admin_common_jstr(f->from_day));
	json_object_object_add(filter, "to", admin_common_jstr(f->to_day));
	json_object_object_add(ctx, "filter", filter);
	for (k = 0; k < sizeof(audit_actions) / sizeof(audit_actions[0]); k++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "value", json_object_new_string(audit_actions[k]));
		json_object_object_add(o, "selected", json_object_new_boolean(
		    f->action != NULL && strcmp(f->action, audit_actions[k]) == 0));
		json_object_array_add(actions, o);
	}
	json_object_object_add(ctx, "actions", actions);
}

static struct json_object *
entry_json(const struct audit_entry *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(e->id));
	json_object_object_add(o, "actorId", json_object_new_int64(e->actor_id));
	json_object_object_add(o, "actorEmail", admin_common_jstr(e->actor_email));
	json_object_object_add(o, "actorName", admin_common_jstr(e->actor_name));
	json_object_object_add(o, "action", admin_common_jstr(e->action));
	json_object_object_add(o, "target", admin_common_jstr(e->target));
	json_object_object_add(o, "before", admin_common_jstr(e->before_json));
	json_object_object_add(o, "after", admin_common_jstr(e->after_json));
	json_object_object_add(o, "at", admin_common_jstr(e->at));
	return o;
}

/* GET /admin/audit?actor=&action=&target=&from=&to=&before= */
static int
page_audit(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "감사 로그");
	struct json_object *rows;
	struct audit_filter f;
	struct audit_entry *e;
	const char *err = read_audit_filter(r, &f);
	int64_t n, i;

	add_audit_filter(ctx, &f);
	if (err != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(err));
		return admin_common_page(r, 400, "admin_audit", ctx);
	}
	n = audit_list(r->app->db, r->a, &f, ADMIN_COMMON_PAGE_ROWS, &e);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "audit_error", "audit_list");
		return admin_common_page(r, 200, "admin_audit", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(rows, entry_json(&e[i]));
	json_object_object_add(ctx, "entries", rows);
	if (n == ADMIN_COMMON_PAGE_ROWS) {
		const char *names[] = { "actor", "action", "target", "from", "to" };
		const char *vals[] = { f.actor_id > 0 ? arena_printf(r->a, "%" PRId64, f.actor_id) :
		    NULL, f.action, f.target, f.from_day, f.to_day };

		json_object_object_add(ctx, "next", json_object_new_string(admin_common_next_url(r,
		    "/admin/audit", e[n - 1].id, names, vals, sizeof(names) / sizeof(names[0]))));
	}
	return admin_common_page(r, 200, "admin_audit", ctx);
}

const struct route admin_ops_routes[] = {
	{ METHOD_GET,  "/admin/outbox",             page_outbox,       ROUTE_HTML | ROUTE_ADMIN, "admin_outbox" },
	{ METHOD_POST, "/admin/outbox/{id}/retry",  page_outbox_retry, ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_outbox_retry" },
	{ METHOD_GET,  "/admin/breakers",           page_breakers,     ROUTE_HTML | ROUTE_ADMIN, "admin_breakers" },
	{ METHOD_GET,  "/admin/audit",              page_audit,        ROUTE_HTML | ROUTE_ADMIN, "admin_audit" },
	{ 0, NULL, NULL, 0, NULL },
};
