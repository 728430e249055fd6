/* admin_reconcile: the admin console's reconciliation pages: the runs with their findings,
 * and a run started from the console (issue 15): a PG's settlement file uploaded (a file
 * input, multipart/form-data; or the text pasted: the CSV `jangteoctl reconcile` reads) or a
 * day fetched from the PG, run dry first; the dry run's page shows the findings and an
 * "apply" button that runs exactly that input for real.
 * Everything goes through lib/shop/reconcile (reconcile_console_run audits the run); a finished
 * POST redirects to the run. A run holds the one-run lock and asks the PG inside the request:
 * fine for a day's file of a shop this size (fcgi.max_body caps the paste at 1 MiB by
 * default); `jangteoctl reconcile` stays the tool for large files. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/form.h"
#include "base/log.h"
#include "base/valid.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/labels.h"
#include "shop/reconcile.h"

static const char MSG_NO_RUN[] = "대사 기록을 찾을 수 없습니다.";
#define RECON_NAME_MAX 100   /* characters of a pasted file's name */

/* ---- reconciliation ------------------------------------------------------------------------- */

static struct json_object *
run_json(const struct recon_run *run)
{
	struct json_object *o = json_object_new_object();
	struct json_object *counts = json_object_new_array();
	int c;

	json_object_object_add(o, "id", json_object_new_int64(run->id));
	json_object_object_add(o, "pg", admin_common_jstr(run->pg));
	json_object_object_add(o, "pgLabel", json_object_new_string(labels_text(LABEL_PAY,
	    run->pg)));
	json_object_object_add(o, "source", admin_common_jstr(run->source));
	json_object_object_add(o, "status", admin_common_jstr(run->status));
	json_object_object_add(o, "statusLabel", json_object_new_string(
	    labels_text(LABEL_RECON_STATUS, run->status)));
	json_object_object_add(o, "statusTone", json_object_new_string(
	    labels_tone(LABEL_RECON_STATUS, run->status)));
	json_object_object_add(o, "dryRun", json_object_new_boolean(run->dry_run));
	json_object_object_add(o, "rows", json_object_new_int64(run->rows));
	json_object_object_add(o, "repaired", json_object_new_int64(run->repaired));
	json_object_object_add(o, "startedAt", admin_common_jstr(run->started_at));
	json_object_object_add(o, "finishedAt", admin_common_jstr(run->finished_at));
	for (c = 0; c < RECON_CLASS__MAX; c++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "class", json_object_new_string(
		    reconcile_class_name((enum recon_class)c)));
		json_object_object_add(x, "classLabel", json_object_new_string(labels_text(
		    LABEL_RECON_CLASS, reconcile_class_name((enum recon_class)c))));
		json_object_object_add(x, "count", json_object_new_int64(run->counts[c]));
		json_object_array_add(counts, x);
	}
	json_object_object_add(o, "counts", counts);
	return o;
}

/* What a refused form puts back on the page. */
struct recon_form {
	const char *error;           /* Korean */
	const char *form;            /* "upload" or "fetch": the form the error belongs to */
	const char *pg, *name, *csv, *date;
};

/* The reconciliation page: the two forms (f: a refused one's message and values, or NULL)
 * and the newest runs, with the HTTP status. */
static int
render_reconcile(struct req *r, int status, const struct recon_form *f)
{
	struct json_object *ctx = admin_common_ctx(r, "정산 대사");
	struct recon_run *runs;
	struct json_object *rows;
	int64_t n, i;

	if (f != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(f->error));
		json_object_object_add(ctx, f->form[0] == 'u' ? "upload_error" : "fetch_error",
		    json_object_new_boolean(1));
		json_object_object_add(ctx, "form_pg_kakaopay", json_object_new_boolean(
		    f->pg != NULL && strcmp(f->pg, "kakaopay") == 0));
		json_object_object_add(ctx, "form_name", admin_common_jstr(f->name));
		json_object_object_add(ctx, "form_csv", admin_common_jstr(f->csv));
		json_object_object_add(ctx, "form_date", admin_common_jstr(f->date));
	}
	n = reconcile_runs(r->app->db, r->a, ADMIN_COMMON_PAGE_ROWS, &runs);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "runs_error", "reconcile_runs");
		return admin_common_page(r, status, "admin_reconcile", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(rows, run_json(&runs[i]));
	json_object_object_add(ctx, "runs", rows);
	return admin_common_page(r, status, "admin_reconcile", ctx);
}

/* GET /admin/reconcile[?err=<code>&pg=&name=&date=&csv=&reason=]: a refused form's message
 * (with the refused POST's status) and what was typed. */
static int
page_reconcile(struct req *r)
{
	struct recon_form f = { .form = "upload" };
	int status = 200;

	f.error = admin_common_refusal_text(r, &status);
	if (f.error == NULL)
		return render_reconcile(r, 200, NULL);
	f.pg = admin_common_kept(r, "pg");
	f.name = admin_common_kept(r, "name");
	f.csv = admin_common_kept(r, "csv");
	f.date = admin_common_kept(r, "date");
	return render_reconcile(r, status, &f);
}

/* The answer to a refused form: 303 to /admin/reconcile?err=code with what was typed (a pasted
 * text only when short; never a file) and reason (may be NULL) shown after the message. */
static int
refuse(struct req *r, const char *code, const struct recon_form *f, const char *reason)
{
	static const char *const names[] = { "pg", "name", "date", "csv", "reason" };
	const char *vals[5];

	vals[0] = f->pg;
	vals[1] = f->name;
	vals[2] = f->date;
	vals[3] = f->csv;
	vals[4] = reason;
	return admin_common_refused(r, "/admin/reconcile", code, NULL, names, vals, 5);
}

/* GET /admin/reconcile/{id}?all=1 (all: matches too) */
static int
page_reconcile_run(struct req *r)
{
	struct json_object *ctx;
	struct recon_finding *f;
	struct recon_run run;
	struct json_object *rows;
	const char *all = NULL;
	int64_t id, n, i;
	bool with_matches;
	int rc;

	if (req_path_id(r, 0, &id) != 0)
		return resp_error(r, 404, "RUN_NOT_FOUND", MSG_NO_RUN);
	if (form_get(&r->query, "all", &all, NULL) < 0)
		return resp_fail(r, RESP_BAD_REQUEST);
	with_matches = all != NULL && strcmp(all, "1") == 0;
	ctx = admin_common_ctx(r, "정산 대사 결과");
	json_object_object_add(ctx, "runId", json_object_new_int64(id));
	json_object_object_add(ctx, "all", json_object_new_boolean(with_matches));
	rc = reconcile_run_get(r->app->db, r->a, id, &run);
	if (rc == 0) {
		json_object_put(ctx);
		return resp_error(r, 404, "RUN_NOT_FOUND", MSG_NO_RUN);
	}
	if (rc < 0) {
		admin_common_unavailable(r, ctx, "run_error", "reconcile_run_get");
		return admin_common_page(r, 200, "admin_reconcile_run", ctx);
	}
	json_object_object_add(ctx, "run", run_json(&run));
	if (run.dry_run && run.status != NULL && strcmp(run.status, "done") == 0) {
		struct recon_console kept;

		/* Its input is still kept: it can be applied (an hour, once). */
		memset(&kept, 0, sizeof(kept));
		json_object_object_add(ctx, "applicable", json_object_new_boolean(
		    reconcile_console_kept(r->app->redis, r->a, id, &kept) == 1));
	}
	n = reconcile_findings(r->app->db, r->a, id, with_matches, &f);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "findings_error", "reconcile_findings");
		return admin_common_page(r, 200, "admin_reconcile_run", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "class", json_object_new_string(
		    reconcile_class_name(f[i].cls)));
		json_object_object_add(o, "classLabel", json_object_new_string(labels_text(
		    LABEL_RECON_CLASS, reconcile_class_name(f[i].cls))));
		json_object_object_add(o, "classTone", json_object_new_string(labels_tone(
		    LABEL_RECON_CLASS, reconcile_class_name(f[i].cls))));
		json_object_object_add(o, "pgKey", admin_common_jstr(f[i].pg_key));
		json_object_object_add(o, "orderId", admin_common_jstr(f[i].order_id));
		/* -1: that side has no such payment (a 0 is an amount: all of it cancelled) */
		json_object_object_add(o, "hasPg", json_object_new_boolean(f[i].pg_amount >= 0));
		json_object_object_add(o, "hasOurs", json_object_new_boolean(f[i].our_amount >= 0));
		if (f[i].pg_amount >= 0)
			json_object_object_add(o, "pgAmount", json_object_new_int64(f[i].pg_amount));
		if (f[i].our_amount >= 0)
			json_object_object_add(o, "ourAmount", json_object_new_int64(f[i].our_amount));
		json_object_object_add(o, "action", admin_common_jstr(f[i].action));
		json_object_object_add(o, "actionLabel", json_object_new_string(
		    labels_text(LABEL_RECON_ACTION, f[i].action)));
		json_object_object_add(o, "note", admin_common_jstr(f[i].note));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "findings", rows);
	return admin_common_page(r, 200, "admin_reconcile_run", ctx);
}

/* ---- a run from the console ---------------------------------------------------------- */

/* Runs in (a dry run or an apply) and answers: 303 to the run with its flash, or 303 back to
 * the form with the refusal (admin_common_refused); the page at once only when the run could
 * not even start (the database). f carries the form's values for a refusal. */
static int
run_and_answer(struct req *r, struct recon_console *in, struct recon_form *f)
{
	struct recon_run run;
	char err[256];
	enum recon_console_rc rc;
	const char *code;

	in->db = r->app->db;
	in->redis = r->app->redis;
	in->bus = r->app->bus;
	in->conf = r->app->conf;
	in->actor_id = sess_user(r);
	rc = reconcile_console_run(in, r->a, &run, err, sizeof(err));
	log_info(&r->log, "admin: reconcile %s from the console: run %" PRId64 ", rc %d",
	    in->dry_run ? "dry run" : "apply", run.id, (int)rc);
	switch (rc) {
	case RECON_CONSOLE_RAN:
		code = in->dry_run ? "recon_dry_run" : "recon_applied";
		break;
	case RECON_CONSOLE_RAN_NOT_KEPT:
		code = "recon_not_kept";
		break;
	case RECON_CONSOLE_BAD_INPUT:
		return refuse(r, "recon_bad_file", f, err);
	case RECON_CONSOLE_FETCH_FAILED:
		return refuse(r, "recon_fetch_failed", f, err);
	case RECON_CONSOLE_LOCKED:
		return refuse(r, "recon_locked", f, NULL);
	case RECON_CONSOLE_BUSY:
		return refuse(r, "recon_busy", f, NULL);
	default:
		if (run.id < 1) {
			f->error = "대사를 시작하지 못했습니다. 잠시 후 다시 시도해 주세요.";
			return render_reconcile(r, admin_common_db_failed_status(r), f);
		}
		code = "recon_failed";
		break;
	}
	return admin_common_done(r, arena_printf(r->a, "/admin/reconcile/%" PRId64, run.id), code);
}

/* The pg field: 0 with *out set, -1 when missing or unknown. */
static int
form_pg(struct req *r, struct recon_form *f, enum pg_id *out)
{
	if (admin_common_form_text(r, "pg", 16, &f->pg) != 1 || pg_parse(f->pg, out) != 0) {
		f->pg = NULL;
		return -1;
	}
	return 0;
}

/* POST /admin/reconcile/upload (multipart: pg, name, file: the settlement file; or csv, the
 * text pasted) → the dry run → 303 to /admin/reconcile/<run>?ok=recon_dry_run. The name
 * defaults to the file's. No file, not a CSV, a missing PG, a malformed file (with the
 * parser's reason), another run holding the lock: 303 back to /admin/reconcile?err=<code>
 * (the page answers 400 or 409), nothing written. */
static int
page_upload(struct req *r)
{
	struct recon_form f = { .form = "upload" };
	struct recon_console in;
	const char *text, *filename, *code = NULL;
	size_t len;
	int rc;

	memset(&in, 0, sizeof(in));
	switch (admin_common_csv_upload(r, SIZE_MAX, &text, &len, &filename)) {
	case ADMIN_CSV_OK:
		break;
	case ADMIN_CSV_NONE:
		code = "recon_no_file";
		break;
	case ADMIN_CSV_NOT_CSV:
		code = "recon_not_csv";
		break;
	default:
		code = "recon_bad_form";
		break;
	}
	f.csv = filename == NULL ? text : NULL;  /* a file is never carried back into the page */
	if (form_pg(r, &f, &in.pg) != 0 && code == NULL)
		code = "recon_pg";
	rc = admin_common_form_text(r, "name", RECON_NAME_MAX, &f.name);
	if (rc < 0) {
		f.name = NULL;
		if (code == NULL)
			code = "recon_name";
	}
	if (code != NULL)
		return refuse(r, code, &f, NULL);
	in.text = text;
	in.len = len;
	if (rc == 1)
		in.name = f.name;
	else if (filename != NULL && valid_text(filename, strlen(filename), RECON_NAME_MAX, false))
		in.name = filename;
	else
		in.name = "console-upload.csv";
	in.dry_run = true;
	return run_and_answer(r, &in, &f);
}

/* POST /admin/reconcile/fetch (pg, date) → the dry run of that day from the PG's settlement
 * API → 303 to the run. KakaoPay has no such API, a malformed date, the PG failing: 303 back
 * to /admin/reconcile?err=<code> (the page answers 400, or 502 for the PG). */
static int
page_fetch(struct req *r)
{
	struct recon_form f = { .form = "fetch" };
	struct recon_console in;

	memset(&in, 0, sizeof(in));
	if (form_pg(r, &f, &in.pg) != 0)
		return refuse(r, "recon_pg", &f, NULL);
	if (in.pg != PG_TOSS)
		return refuse(r, "recon_no_fetch", &f, NULL);
	if (admin_common_form_text(r, "date", 10, &f.date) != 1 || !reconcile_date_ok(f.date)) {
		f.date = NULL;
		return refuse(r, "recon_date", &f, NULL);
	}
	in.date = f.date;
	in.name = arena_printf(r->a, "api:%s", f.date);
	in.dry_run = true;
	return run_and_answer(r, &in, &f);
}

/* POST /admin/reconcile/{id}/apply → runs dry run {id}'s kept input for real → 303 to the new
 * run with ?ok=recon_applied; the input is then dropped (a second apply: 409). 404 for an
 * unknown run or one that is no dry run; 409 when its input is no longer kept. */
static int
page_apply(struct req *r)
{
	struct recon_form f = { .form = "upload" };
	struct recon_console in;
	struct recon_run run;
	int64_t id;
	int rc;

	if (req_path_id(r, 0, &id) != 0)
		return resp_error(r, 404, "RUN_NOT_FOUND", MSG_NO_RUN);
	rc = reconcile_run_get(r->app->db, r->a, id, &run);
	if (rc < 0)
		return resp_fail(r, RESP_UNAVAILABLE);
	if (rc == 0 || !run.dry_run)
		return resp_error(r, 404, "RUN_NOT_FOUND", MSG_NO_RUN);
	memset(&in, 0, sizeof(in));
	rc = reconcile_console_kept(r->app->redis, r->a, id, &in);
	if (rc < 0)
		return resp_fail(r, RESP_UNAVAILABLE);
	if (rc == 0)
		return resp_error(r, 409, "DRY_RUN_EXPIRED", "적용할 모의 대사가 없습니다. 한 시간이"
		    " 지났거나 이미 적용했습니다. 모의 대사를 다시 실행해 주세요.");
	in.dry_run = false;
	rc = run_and_answer(r, &in, &f);
	if (r->status == 303)
		reconcile_console_forget(r->app->redis, id);
	return rc;
}

const struct route admin_reconcile_routes[] = {
	{ METHOD_GET,  "/admin/reconcile",               page_reconcile,     ROUTE_HTML | ROUTE_ADMIN, "admin_reconcile" },
	{ METHOD_POST, "/admin/reconcile/upload",        page_upload,        ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF | ROUTE_UPLOAD, "admin_reconcile_upload" },
	{ METHOD_POST, "/admin/reconcile/fetch",         page_fetch,         ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_reconcile_fetch" },
	{ METHOD_GET,  "/admin/reconcile/{id}",          page_reconcile_run, ROUTE_HTML | ROUTE_ADMIN, "admin_reconcile_run" },
	{ METHOD_POST, "/admin/reconcile/{id}/apply",    page_apply,         ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_reconcile_apply" },
	{ 0, NULL, NULL, 0, NULL },
};
