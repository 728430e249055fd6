/* testing: the FastCGI program's test-only routes, so the integration tests and the benchmarks
 * can reach what no shopper can: a failing handler, an echo page, the session's guards, the
 * demo job of the outbox, the catalog cache's version, a shortcut to the staff's shipping
 * moves, and the benchmarks' baseline commit. Test scaffolding: compiled
 * into jangteo-fcgi only by `configure --enable-test-routes` (script/setup), and even then
 * answered only with fcgi.test_routes = true (every route carries ROUTE_TEST). A production
 * build has none of this, nor the table the baseline writes to (sql/008_bench.sql is installed
 * only with the same option). Being no part of the shop, it keeps its two statements here
 * rather than in lib/. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/form.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/valid.h"
#include "fcgi/app.h"
#include "fcgi/req.h"
#include "fcgi/resp.h"
#include "fcgi/route.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "shop/catalog.h"
#include "shop/fulfilment.h"

static const char SQL_JOB[] =
    "SELECT status, attempts, (SELECT COUNT(*) FROM job_echo_effects WHERE outbox_id = o.id)"
    " FROM outbox o WHERE o.id = ?";

static const char SQL_BENCH_COMMIT[] = "INSERT INTO bench_commits () VALUES ()";

/* POST /api/v1/_test/commit: the benchmarks' baseline, "FastCGI hello + one MariaDB commit":
 * one autocommitted INSERT, then {"ok": true}. */
static int
testing_commit(struct req *r)
{
	struct json_object *o;

	if (db_exec(r->app->db, SQL_BENCH_COMMIT, "") != 1)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return resp_json(r, 200, o);
}

/* GET /_test/fail and /api/v1/_test/fail: a handler that fails, as a bug would. */
static int
testing_fail(struct req *r)
{
	log_error(&r->log, "testing_fail: failing on purpose");
	return -1;
}

/* GET /_test/echo?name=...: renders name on a page (it must come out escaped). */
static int
testing_echo(struct req *r)
{
	struct json_object *ctx;
	const char *name;
	size_t len;

	if (form_get(&r->query, "name", &name, &len) != 0 || !valid_text(name, len, 100, false))
		return resp_fail(r, RESP_BAD_REQUEST);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("echo"));
	json_object_object_add(ctx, "name", json_object_new_string_len(name, (int)len));
	return resp_page(r, 200, "test_echo", ctx);
}

/* GET /api/v1/_test/whoami: {"pid": N}, so tests can see several handler processes answer. */
static int
testing_whoami(struct req *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
	return resp_json(r, 200, o);
}

struct job_create {
	const char *payload;
	int64_t id;
};

static int
job_create_tx(struct db *db, void *arg)
{
	struct job_create *jc = arg;
	int64_t id = outbox_add(db, JOB_ECHO, jc->payload);

	if (id < 0)
		return (int)id;
	jc->id = id;
	return 0;
}

/* POST /api/v1/_test/jobs {"message": "...", "sleep_ms": 0..60000}: one echo job through the
 * outbox, pushed on the bus after the commit. 201 {"id": N}. */
static int
testing_job_create(struct req *r)
{
	struct job_create jc = { 0 };
	struct payload_echo echo;
	struct json_object *o;
	struct bus_job job;
	const char *message;
	static const char *const fields[] = { "message", "sleep_ms", NULL };
	int64_t sleep_ms = 0;
	int rc;

	if (jparse_only_keys(r->json, fields) != 0 ||
	    jparse_string(r->json, "message", 200, &message) != 0 ||
	    !valid_text(message, strlen(message), 100, false) ||
	    jparse_int64(r->json, "sleep_ms", 0, 60000, &sleep_ms) < 0)
		return resp_error(r, 400, "INVALID_JOB", "message(1~100자)와 sleep_ms(0~60000)만 허용됩니다.");

	echo.message = message;
	echo.sleep_ms = sleep_ms;
	jc.payload = payload_echo_build(r->a, &echo);

	rc = db_tx(r->app->db, job_create_tx, &jc);
	if (rc != 0)
		return -1;
	job.outbox_id = jc.id;
	job.kind = JOB_ECHO;
	if (bus_push(r->app->bus, &job) != 0)
		log_warn(&r->log, "job %lld not pushed now; the janitor will", (long long)jc.id);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(jc.id));
	return resp_json(r, 201, o);
}

/* GET /api/v1/_test/jobs/{id}: {"id", "status", "attempts", "effects"}; 404 when unknown. */
static int
testing_job_get(struct req *r)
{
	struct db_res res;
	struct json_object *o;
	int64_t id, n;

	if (req_path_id(r, 0, &id) != 0)
		return resp_fail(r, RESP_NOT_FOUND);
	n = db_query(r->app->db, r->a, &res, SQL_JOB, "i", id);
	if (n < 0)
		return -1;
	if (n == 0)
		return resp_fail(r, RESP_NOT_FOUND);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "status", json_object_new_string(db_res_str(&res, 0, 0)));
	json_object_object_add(o, "attempts", json_object_new_int64(db_res_i64(&res, 0, 1)));
	json_object_object_add(o, "effects", json_object_new_int64(db_res_i64(&res, 0, 2)));
	return resp_json(r, 200, o);
}

/* POST /api/v1/_test/catalog/invalidate {}: bumps the catalog version as an admin's product
 * change does; {"version": N}. 503 when Redis is down. */
static int
testing_catalog_invalidate(struct req *r)
{
	static const char *const fields[] = { NULL };
	struct json_object *o;
	int64_t v;

	if (jparse_only_keys(r->json, fields) != 0)
		return resp_fail(r, RESP_BAD_REQUEST);
	v = catalog_invalidate(r->app->redis);
	if (v < 0)
		return resp_fail(r, RESP_UNAVAILABLE);
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int64(v));
	return resp_json(r, 200, o);
}

/* POST /api/v1/_test/orders/{id}/ship {"sellerId", "courier", "trackingNo"} and .../deliver
 * {"sellerId"}: the staff's moves as a shortcut for the tests that are not about the staff's
 * journey (that is /admin/fulfilment), unaudited (no admin). 200 {"result": "DONE"|"ALREADY"}, or the move's error. Test routes only. */
static int
testing_fulfil(struct req *r, bool ship)
{
	static const char *const ship_keys[] = { "sellerId", "courier", "trackingNo", NULL };
	static const char *const deliver_keys[] = { "sellerId", NULL };
	const char *courier = NULL, *tracking = NULL;
	struct fulfilment_move m = { 0 };
	struct json_object *o;
	enum fulfilment_rc rc;
	int64_t seller_id;

	if (!json_object_is_type(r->json, json_type_object) ||
	    jparse_only_keys(r->json, ship ? ship_keys : deliver_keys) != 0 ||
	    jparse_int64(r->json, "sellerId", 1, INT64_MAX, &seller_id) != 0 ||
	    (ship && (jparse_string(r->json, "courier", 16, &courier) != 0 ||
	    jparse_string(r->json, "trackingNo", FULFILMENT_TRACKING_MAX, &tracking) != 0)))
		return resp_fail(r, RESP_BAD_REQUEST);
	m.order = req_path_param(r, 0);
	m.seller_id = seller_id;
	rc = ship ? fulfilment_ship(r->app->db, r->app->bus, &m, courier, tracking) :
	    fulfilment_deliver(r->app->db, r->app->bus, &m);
	if (rc != FULFILMENT_DONE && rc != FULFILMENT_ALREADY)
		return delivery_refused(r, rc);
	o = json_object_new_object();
	json_object_object_add(o, "result", json_object_new_string(fulfilment_rc_name(rc)));
	return resp_json(r, 200, o);
}

static int
testing_ship(struct req *r)
{
	return testing_fulfil(r, true);
}

static int
testing_deliver(struct req *r)
{
	return testing_fulfil(r, false);
}

const struct route testing_routes[] = {
	{ METHOD_GET,  "/_test/fail",                testing_fail,       ROUTE_HTML | ROUTE_TEST, "test_fail" },
	{ METHOD_GET,  "/_test/echo",                testing_echo,       ROUTE_HTML | ROUTE_TEST, "test_echo" },
	{ METHOD_GET,  "/api/v1/_test/fail",         testing_fail,       ROUTE_JSON | ROUTE_TEST, "api_test_fail" },
	{ METHOD_GET,  "/_test/private",             testing_whoami,     ROUTE_HTML | ROUTE_LOGIN | ROUTE_TEST, "test_private" },
	{ METHOD_GET,  "/api/v1/_test/private",      testing_whoami,     ROUTE_JSON | ROUTE_LOGIN | ROUTE_TEST, "api_test_private" },
	{ METHOD_GET,  "/api/v1/_test/admin",        testing_whoami,     ROUTE_JSON | ROUTE_ADMIN | ROUTE_TEST, "api_test_admin" },
	{ METHOD_POST, "/api/v1/_test/csrf",         testing_whoami,     ROUTE_JSON | ROUTE_CSRF | ROUTE_TEST, "api_test_csrf" },
	{ METHOD_GET,  "/api/v1/_test/whoami",       testing_whoami,     ROUTE_JSON | ROUTE_TEST, "api_test_whoami" },
	{ METHOD_POST, "/api/v1/_test/jobs",         testing_job_create, ROUTE_JSON | ROUTE_TEST, "api_test_job_create" },
	{ METHOD_GET,  "/api/v1/_test/jobs/{id}",    testing_job_get,    ROUTE_JSON | ROUTE_TEST, "api_test_job_get" },
	{ METHOD_POST, "/api/v1/_test/commit",       testing_commit,     ROUTE_JSON | ROUTE_TEST, "api_test_commit" },
	{ METHOD_POST, "/api/v1/_test/catalog/invalidate", testing_catalog_invalidate, ROUTE_JSON | ROUTE_TEST, "api_test_catalog_invalidate" },
	{ METHOD_POST, "/api/v1/_test/orders/{id}/ship",    testing_ship,       ROUTE_JSON | ROUTE_TEST, "api_test_order_ship" },
	{ METHOD_POST, "/api/v1/_test/orders/{id}/deliver", testing_deliver,    ROUTE_JSON | ROUTE_TEST, "api_test_order_deliver" },
	{ 0, NULL, NULL, 0, NULL },
};
