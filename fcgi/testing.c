/* testing: routes that exist only when fcgi.test_routes = true, so the integration tests can
 * reach paths no shopper can: a failing handler, an echo page, and the demo job of the outbox. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "base/form.h"
#include "base/jparse.h"
#include "base/log.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "req.h"
#include "resp.h"
#include "base/valid.h"

static const char SQL_JOB[] =
    "SELECT status, attempts, (SELECT COUNT(*) FROM job_echo_effects WHERE outbox_id = o.id)"
    " FROM outbox o WHERE o.id = ?";

static const char SQL_BENCH_COMMIT[] = "INSERT INTO bench_commits () VALUES ()";

/* POST /api/v1/_test/commit: the benchmarks' baseline, "FastCGI hello + one MariaDB commit":
 * one autocommitted INSERT, then {"ok": true}. */
int
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
int
testing_fail(struct req *r)
{
	log_error(&r->log, "testing_fail: failing on purpose");
	return -1;
}

/* GET /_test/echo?name=...: renders name on a page (it must come out escaped). */
int
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
int
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
int
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
int
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
