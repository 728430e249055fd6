/* admin_ops: the admin console's operations pages: the outbox's stuck and dead jobs with a
 * retry (audited in the retry's transaction), the circuit breakers as their processes
 * published them to Redis (breaker_publish). The audit log is admin_audit.c's. */
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
	int status = 200;
	const char *err = admin_common_refusal(r, &status);

	return render_outbox(r, status, err);
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
	if (rc == DB_ABORT && t.before.id == 0)
		return resp_error(r, 404, "JOB_NOT_FOUND", MSG_NO_JOB);
	if (rc == DB_ABORT)
		return admin_common_refused(r, "/admin/outbox", "job_not_retryable", NULL, NULL,
		    NULL, 0);
	if (rc != 0)
		return render_outbox(r, admin_common_db_failed_status(r),
		    "작업을 다시 넣지 못했습니다. 잠시 후 다시 시도해 주세요.");
	log_info(&r->log, "admin: outbox job %" PRId64 " (%s) retried", t.id, t.before.kind);
	if (bus_kind_parse(t.before.kind, &kind) == 0)
		bus_push_job(r->app->bus, t.id, kind);
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

const struct route admin_ops_routes[] = {
	{ METHOD_GET,  "/admin/outbox",             page_outbox,       ROUTE_HTML | ROUTE_ADMIN, "admin_outbox" },
	{ METHOD_POST, "/admin/outbox/{id}/retry",  page_outbox_retry, ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_outbox_retry" },
	{ METHOD_GET,  "/admin/breakers",           page_breakers,     ROUTE_HTML | ROUTE_ADMIN, "admin_breakers" },
	{ 0, NULL, NULL, 0, NULL },
};
