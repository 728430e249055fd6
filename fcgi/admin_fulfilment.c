/* admin_fulfilment: the admin console's shipping pages: the queue of paid orders' parcels to
 * ship (배송준비중) and on their way (배송중), the courier and tracking number of one parcel, the
 * bulk CSV upload (a file input, multipart/form-data, or the text pasted) with its report of
 * accepted and refused rows, and marking a parcel delivered. Every move goes through
 * lib/shop/fulfilment (which audits it and queues the shopper's notice in its transaction); a
 * finished POST redirects (the bulk report is kept for an hour in Redis under a random token,
 * so reloading the report never ships again), and so does a refused one (?err=<code>). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/form.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/valid.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/fulfilment.h"
#include "shop/labels.h"

/* The two tabs of the queue. */
static const struct {
	enum delivery_status status;
	const char *label;
} tabs[] = {
	{ DELIVERY_PREPARING, "배송준비중" },
	{ DELIVERY_SHIPPED, "배송중" },
};

/* The refusal code (admin_common_refused) of each refused move; deliver names its own
 * WRONG_STATE. NULL: the database failed (not a refusal). */
static const char *
refused_code(enum fulfilment_rc rc, bool deliver)
{
	switch (rc) {
	case FULFILMENT_NOT_FOUND:
		return "parcel_not_found";
	case FULFILMENT_WRONG_STATE:
		return deliver ? "parcel_not_shipped" : "parcel_wrong_state";
	case FULFILMENT_TOO_LATE:
		return "parcel_too_late";
	case FULFILMENT_BAD_INPUT:
		return "parcel_bad_input";
	default:
		return NULL;
	}
}

/* The couriers for a <select>: [{"code", "label", "selected"}]. */
static struct json_object *
couriers_json(const char *selected)
{
	struct json_object *list = json_object_new_array();
	const struct label *l;
	size_t i;

	for (i = 0; labels_nth(LABEL_COURIER, i, &l); i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "code", json_object_new_string(l->code));
		json_object_object_add(o, "label", json_object_new_string(l->text));
		json_object_object_add(o, "selected", json_object_new_boolean(
		    selected != NULL && strcmp(selected, l->code) == 0));
		json_object_array_add(list, o);
	}
	return list;
}

static struct json_object *
parcel_json(const struct fulfilment_parcel *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "orderId", json_object_new_string(p->public_id));
	json_object_object_add(o, "orderNo", json_object_new_string(p->order_no));
	json_object_object_add(o, "orderedAt", admin_common_jstr(p->ordered_at));
	json_object_object_add(o, "sellerId", json_object_new_int64(p->seller_id));
	json_object_object_add(o, "seller", admin_common_jstr(p->seller));
	json_object_object_add(o, "status", json_object_new_string(
	    fulfilment_status_name(p->status)));
	json_object_object_add(o, "statusLabel", json_object_new_string(
	    labels_text(LABEL_DELIVERY, fulfilment_status_name(p->status))));
	json_object_object_add(o, "courier", admin_common_jstr(p->courier));
	if (p->courier != NULL)
		json_object_object_add(o, "courierLabel", json_object_new_string(
		    labels_text(LABEL_COURIER, p->courier)));
	json_object_object_add(o, "trackingNo", admin_common_jstr(p->tracking_no));
	json_object_object_add(o, "shippedAt", admin_common_jstr(p->shipped_at));
	json_object_object_add(o, "itemsLeft", json_object_new_int(p->items_left));
	json_object_object_add(o, "recipient", admin_common_jstr(p->recipient));
	json_object_object_add(o, "zipcode", admin_common_jstr(p->zipcode));
	json_object_object_add(o, "address1", admin_common_jstr(p->address1));
	json_object_object_add(o, "address2", admin_common_jstr(p->address2));
	json_object_object_add(o, "memo", admin_common_jstr(p->memo));
	return o;
}

/* The ?after=<orderId>-<sellerId> cursor (internal ids). Returns 1 set, 0 absent, -1 bad. */
static int
query_after(struct req *r, int64_t *order_id, int64_t *seller_id)
{
	const char *v, *dash;
	char head[24];
	size_t n;
	int rc = admin_common_query_text(r, "after", 48, &v);

	if (rc <= 0)
		return rc;
	dash = strchr(v, '-');
	if (dash == NULL || (n = (size_t)(dash - v)) == 0 || n >= sizeof(head))
		return -1;
	memcpy(head, v, n);
	head[n] = '\0';
	if (valid_int64(head, 1, INT64_MAX, order_id) != 0 ||
	    valid_int64(dash + 1, 1, INT64_MAX, seller_id) != 0)
		return -1;
	return 1;
}

/* What a refused single move puts back on the page. */
struct form_error {
	const char *message;
	const char *order, *seller, *courier, *tracking_no;
};

/* Renders the queue of tab status with the HTTP status; err (may be NULL) is a refused
 * form's message and values. Answers 400 itself for a malformed cursor. */
static int
render_queue(struct req *r, int http_status, enum delivery_status status,
    const struct form_error *err)
{
	struct json_object *ctx = admin_common_ctx(r, "배송 관리");
	struct fulfilment_queue_q q = { .status = status, .limit = ADMIN_COMMON_PAGE_ROWS };
	struct json_object *list, *rows;
	struct fulfilment_parcel *p;
	const char *seller_q = "";
	int64_t n, i;
	size_t t;

	if (query_after(r, &q.after_order, &q.after_seller) < 0) {
		json_object_put(ctx);
		return resp_error(r, 400, "BAD_CURSOR", "페이지 위치가 올바르지 않습니다.");
	}
	if (admin_common_query_id(r, "seller", &q.seller_id) < 0) {
		json_object_put(ctx);
		return resp_error(r, 400, "BAD_SELLER", "판매자 번호는 1 이상의 정수입니다.");
	}
	if (q.seller_id > 0) {
		seller_q = arena_printf(r->a, "&seller=%" PRId64, q.seller_id);
		json_object_object_add(ctx, "seller_filter", json_object_new_int64(q.seller_id));
	}
	list = json_object_new_array();
	for (t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(
		    fulfilment_status_name(tabs[t].status)));
		json_object_object_add(o, "label", json_object_new_string(tabs[t].label));
		json_object_object_add(o, "query", json_object_new_string(seller_q));
		json_object_object_add(o, "current", json_object_new_boolean(
		    tabs[t].status == status));
		json_object_array_add(list, o);
	}
	json_object_object_add(ctx, "tabs", list);
	json_object_object_add(ctx, "status", json_object_new_string(
	    fulfilment_status_name(status)));
	json_object_object_add(ctx, "preparing", json_object_new_boolean(
	    status == DELIVERY_PREPARING));
	json_object_object_add(ctx, "couriers", couriers_json(err != NULL ? err->courier : NULL));
	if (err != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(err->message));
		json_object_object_add(ctx, "form_order", admin_common_jstr(err->order));
		json_object_object_add(ctx, "form_seller", admin_common_jstr(err->seller));
		json_object_object_add(ctx, "form_tracking", admin_common_jstr(err->tracking_no));
	}
	n = fulfilment_queue(r->app->db, r->a, &q, &p);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "parcels_error", "fulfilment_queue");
		return admin_common_page(r, http_status, "admin_fulfilment", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(rows, parcel_json(&p[i]));
	json_object_object_add(ctx, "parcels", rows);
	if (n == ADMIN_COMMON_PAGE_ROWS)
		json_object_object_add(ctx, "next", json_object_new_string(arena_printf(r->a,
		    "/admin/fulfilment?status=%s&after=%" PRId64 "-%" PRId64 "%s",
		    fulfilment_status_name(status), p[n - 1].order_id, p[n - 1].seller_id,
		    seller_q)));
	return admin_common_page(r, http_status, "admin_fulfilment", ctx);
}

/* GET /admin/fulfilment?status=PREPARING|SHIPPED&seller=<id>&after=<cursor> */
static int
page_fulfilment(struct req *r)
{
	enum delivery_status status = DELIVERY_PREPARING;
	const char *s = NULL;
	int rc = admin_common_query_text(r, "status", 16, &s);

	struct form_error e = { 0 };
	int http_status = 200;

	if (rc < 0 || (rc == 1 && (fulfilment_status_parse(s, &status) != 0 ||
	    (status != DELIVERY_PREPARING && status != DELIVERY_SHIPPED))))
		return resp_error(r, 400, "BAD_STATUS",
		    "배송 상태는 배송준비중(PREPARING) 또는 배송중(SHIPPED)만 볼 수 있습니다.");
	e.message = admin_common_refusal_text(r, &http_status);
	if (e.message == NULL)
		return render_queue(r, 200, status, NULL);
	e.order = admin_common_kept(r, "order");
	e.seller = admin_common_kept(r, "seller");
	e.courier = admin_common_kept(r, "courier");
	e.tracking_no = admin_common_kept(r, "tracking_no");
	return render_queue(r, http_status, status, &e);
}

/* The answer to a refused move or upload: 303 to the queue (tab status) with ?err=code and
 * what was typed (the message shows at the top of the page). reason (may be NULL): a
 * parser's words, shown after the message. */
static int
refuse(struct req *r, enum delivery_status status, const char *code,
    const struct form_error *e, const char *reason)
{
	static const char *const names[] = { "status", "order", "seller", "courier",
	    "tracking_no", "reason" };
	const char *vals[6];

	vals[0] = status == DELIVERY_SHIPPED ? "SHIPPED" : NULL;
	vals[1] = e->order;
	vals[2] = e->seller;
	vals[3] = e->courier;
	vals[4] = e->tracking_no;
	vals[5] = reason;
	return admin_common_refused(r, "/admin/fulfilment", code, NULL, names, vals, 6);
}

/* The order and seller fields of a move form. Returns 0 with m filled (actor: the admin), or
 * -1 with e's message set to the refusal code (and the bad value dropped from e). */
static int
move_fields(struct req *r, struct fulfilment_move *m, struct form_error *e)
{
	int64_t seller_id;

	if (admin_common_form_text(r, "order", FULFILMENT_ORDER_MAX, &e->order) != 1 ||
	    !valid_token(e->order, 1, FULFILMENT_ORDER_MAX)) {
		e->message = "parcel_order";
		e->order = NULL;
		return -1;
	}
	if (admin_common_form_text(r, "seller", 20, &e->seller) != 1 ||
	    valid_int64(e->seller, 1, INT64_MAX, &seller_id) != 0) {
		e->message = "parcel_seller";
		e->seller = NULL;
		return -1;
	}
	m->order = e->order;
	m->seller_id = seller_id;
	m->actor_id = sess_user(r);
	return 0;
}

/* POST /admin/fulfilment/ship (order, seller, courier, tracking_no) → 303 to the queue with
 * ?ok=parcel_shipped (or parcel_already for the same courier and number again). A refused
 * move → 303 to the queue with ?err=<code> and what was typed (the page answers 400, 404 or
 * 409 with the message); a failed database: the queue at once (500/503). */
static int
page_ship(struct req *r)
{
	struct form_error e = { 0 };
	struct fulfilment_move m = { 0 };
	enum fulfilment_rc rc;
	const char *code;

	if (move_fields(r, &m, &e) != 0)
		return refuse(r, DELIVERY_PREPARING, e.message, &e, NULL);
	if (admin_common_form_text(r, "courier", 16, &e.courier) != 1 ||
	    !fulfilment_courier_valid(e.courier)) {
		e.courier = NULL;
		return refuse(r, DELIVERY_PREPARING, "parcel_courier", &e, NULL);
	}
	if (admin_common_form_text(r, "tracking_no", FULFILMENT_TRACKING_MAX, &e.tracking_no) != 1 ||
	    !fulfilment_tracking_valid(e.tracking_no)) {
		if (e.tracking_no != NULL && !valid_token(e.tracking_no, 1, FULFILMENT_TRACKING_MAX))
			e.tracking_no = NULL;
		return refuse(r, DELIVERY_PREPARING, "parcel_tracking", &e, NULL);
	}
	rc = fulfilment_ship(r->app->db, r->app->bus, &m, e.courier, e.tracking_no);
	if (rc == FULFILMENT_DONE || rc == FULFILMENT_ALREADY) {
		log_info(&r->log, "admin: parcel of seller %" PRId64 " of %s shipped: %s",
		    m.seller_id, m.order, fulfilment_rc_name(rc));
		return admin_common_done(r, "/admin/fulfilment", rc == FULFILMENT_DONE ?
		    "parcel_shipped" : "parcel_already");
	}
	code = refused_code(rc, false);
	if (code != NULL)
		return refuse(r, DELIVERY_PREPARING, code, &e, NULL);
	e.message = fulfilment_rc_message(rc);
	return render_queue(r, admin_common_db_failed_status(r), DELIVERY_PREPARING, &e);
}

/* POST /admin/fulfilment/deliver (order, seller) → 303 to the 배송중 tab with
 * ?ok=parcel_delivered. Refused: 303 to the tab with ?err=<code> (the page answers 400, 404
 * or 409 with the message). */
static int
page_deliver(struct req *r)
{
	struct form_error e = { 0 };
	struct fulfilment_move m = { 0 };
	enum fulfilment_rc rc;
	const char *code;

	if (move_fields(r, &m, &e) != 0)
		return refuse(r, DELIVERY_SHIPPED, e.message, &e, NULL);
	rc = fulfilment_deliver(r->app->db, r->app->bus, &m);
	if (rc == FULFILMENT_DONE || rc == FULFILMENT_ALREADY) {
		log_info(&r->log, "admin: parcel of seller %" PRId64 " of %s delivered: %s",
		    m.seller_id, m.order, fulfilment_rc_name(rc));
		return resp_redirect(r, "/admin/fulfilment?status=SHIPPED&ok=parcel_delivered");
	}
	code = refused_code(rc, true);
	if (code != NULL)
		return refuse(r, DELIVERY_SHIPPED, code, &e, NULL);
	e.message = fulfilment_rc_message(rc);
	return render_queue(r, admin_common_db_failed_status(r), DELIVERY_SHIPPED, &e);
}

/* ---- bulk upload -------------------------------------------------------------------------- */

static const char *const outcome_labels[FULFILMENT_BULK_OUTCOME__MAX] = {
	[FULFILMENT_BULK_SHIPPED] = "발송 처리", [FULFILMENT_BULK_ALREADY] = "이미 처리됨",
	[FULFILMENT_BULK_REFUSED] = "거절",
};
static const char *const outcome_codes[FULFILMENT_BULK_OUTCOME__MAX] = {
	[FULFILMENT_BULK_SHIPPED] = "shipped", [FULFILMENT_BULK_ALREADY] = "already",
	[FULFILMENT_BULK_REFUSED] = "refused",
};

/* The report of an upload: {"rows": [{"line", "order", "seller", "courier", "trackingNo",
 * "outcome", "outcomeLabel", "message"}], "shipped", "already", "refused"}. New reference. */
static struct json_object *
bulk_report(const struct fulfilment_bulk_row *rows, const struct fulfilment_bulk_result *res,
    size_t n)
{
	struct json_object *report = json_object_new_object(), *list = json_object_new_array();
	int64_t counts[FULFILMENT_BULK_OUTCOME__MAX] = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "line", json_object_new_int64((int64_t)rows[i].line));
		json_object_object_add(o, "order", json_object_new_string(rows[i].order));
		json_object_object_add(o, "seller", json_object_new_string(rows[i].seller));
		json_object_object_add(o, "courier", json_object_new_string(rows[i].courier));
		json_object_object_add(o, "trackingNo", json_object_new_string(rows[i].tracking_no));
		json_object_object_add(o, "outcome", json_object_new_string(
		    outcome_codes[res[i].outcome]));
		json_object_object_add(o, "outcomeLabel", json_object_new_string(
		    outcome_labels[res[i].outcome]));
		json_object_object_add(o, "message", json_object_new_string(res[i].message));
		json_object_array_add(list, o);
		counts[res[i].outcome]++;
	}
	json_object_object_add(report, "rows", list);
	json_object_object_add(report, "shipped", json_object_new_int64(
	    counts[FULFILMENT_BULK_SHIPPED]));
	json_object_object_add(report, "already", json_object_new_int64(
	    counts[FULFILMENT_BULK_ALREADY]));
	json_object_object_add(report, "refused", json_object_new_int64(
	    counts[FULFILMENT_BULK_REFUSED]));
	return report;
}

/* Renders the bulk report page with report (ownership taken). */
static int
render_report(struct req *r, int status, struct json_object *report)
{
	struct json_object *ctx = admin_common_ctx(r, "운송장 일괄 등록 결과");

	json_object_object_add(ctx, "report", report);
	return admin_common_page(r, status, "admin_fulfilment_report", ctx);
}

/* POST /admin/fulfilment/bulk (multipart: file, the CSV file; or csv, the text pasted) → 303
 * to /admin/fulfilment/bulk/<token>, the report. Every row is checked and shipped on its own
 * (fulfilment_bulk_apply). No file, not a CSV, over 256 KiB, or a text that cannot be read at
 * all: 303 to the queue with ?err=<code> (the page answers 400 with the message and the
 * parser's reason), nothing written. When Redis cannot keep the report, it is shown at once
 * (200) rather than lost. */
static int
page_bulk(struct req *r)
{
	struct fulfilment_bulk_result *res;
	struct fulfilment_bulk_row *rows;
	struct form_error e = { 0 };
	struct json_object *report;
	const char *csv, *filename, *err = NULL;
	char token[25];
	size_t len;
	int64_t n;

	switch (admin_common_csv_upload(r, FULFILMENT_BULK_TEXT_MAX, &csv, &len, &filename)) {
	case ADMIN_CSV_OK:
		break;
	case ADMIN_CSV_NONE:
		return refuse(r, DELIVERY_PREPARING, "bulk_no_file", &e, NULL);
	case ADMIN_CSV_NOT_CSV:
		return refuse(r, DELIVERY_PREPARING, "bulk_not_csv", &e, NULL);
	case ADMIN_CSV_TOO_BIG:
		return refuse(r, DELIVERY_PREPARING, "bulk_too_big", &e, NULL);
	default:
		return refuse(r, DELIVERY_PREPARING, "bulk_bad_form", &e, NULL);
	}
	n = fulfilment_bulk_parse(r->a, csv, len, &rows, &err);
	if (n < 0)
		return refuse(r, DELIVERY_PREPARING, "bulk_unreadable", &e, err);
	res = arena_alloc(r->a, (size_t)n * sizeof(*res));
	fulfilment_bulk_apply(r->app->db, r->app->bus, rows, (size_t)n, sess_user(r), res);
	report = bulk_report(rows, res, (size_t)n);
	log_info(&r->log, "admin: bulk shipping upload of %" PRId64 " rows (%s)", n,
	    filename != NULL ? "a file" : "pasted");
	if (fulfilment_bulk_report_save(r->app->redis,
	    json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN), token,
	    sizeof(token)) != 0) {
		log_warn(&r->log, "admin: the bulk report could not be kept; shown at once");
		return render_report(r, 200, report);
	}
	json_object_put(report);
	return resp_redirect(r, arena_printf(r->a, "/admin/fulfilment/bulk/%s", token));
}

/* GET /admin/fulfilment/bulk/{token}: an upload's report, for an hour. 404 after. */
static int
page_bulk_report(struct req *r)
{
	struct json_object *report = NULL;
	const char *text = NULL;
	int rc;

	if (!valid_token(req_path_param(r, 0), 1, 24))
		return resp_error(r, 404, "REPORT_NOT_FOUND", "결과를 찾을 수 없습니다. 결과는 1시간 동안 보관됩니다.");
	rc = fulfilment_bulk_report_load(r->app->redis, r->a, req_path_param(r, 0), &text);
	if (rc < 0)
		return resp_fail(r, RESP_UNAVAILABLE);
	if (rc == 0)
		return resp_error(r, 404, "REPORT_NOT_FOUND", "결과를 찾을 수 없습니다. 결과는 1시간 동안 보관됩니다.");
	if (jparse(text, strlen(text), FULFILMENT_BULK_TEXT_MAX * 4, 8, &report) != JPARSE_OK ||
	    report == NULL)
		return -1;
	return render_report(r, 200, report);
}

const struct route admin_fulfilment_routes[] = {
	{ METHOD_GET,  "/admin/fulfilment",              page_fulfilment,  ROUTE_HTML | ROUTE_ADMIN, "admin_fulfilment" },
	{ METHOD_POST, "/admin/fulfilment/ship",         page_ship,        ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_fulfilment_ship" },
	{ METHOD_POST, "/admin/fulfilment/deliver",      page_deliver,     ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_fulfilment_deliver" },
	{ METHOD_POST, "/admin/fulfilment/bulk",         page_bulk,        ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF | ROUTE_UPLOAD, "admin_fulfilment_bulk" },
	{ METHOD_GET,  "/admin/fulfilment/bulk/{token}", page_bulk_report, ROUTE_HTML | ROUTE_ADMIN, "admin_fulfilment_report" },
	{ 0, NULL, NULL, 0, NULL },
};
