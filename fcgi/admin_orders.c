/* admin_orders: the admin console's orders: the search (lib/shop/orderview), an order's page
 * with its timeline, payment row and refunds, and the full or partial refund an admin makes
 * from it (lib/shop/refunds, which writes its audit record in the refund's own transaction).
 * Admin role and CSRF are the dispatcher's (ROUTE_ADMIN, ROUTE_CSRF). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/conf.h"
#include "base/form.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/valid.h"
#include "infra/bus.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "shop/account.h"
#include "shop/audit.h"
#include "shop/labels.h"
#include "shop/orders.h"
#include "shop/orderview.h"
#include "shop/refunds.h"

static const char MSG_NO_ORDER[] = "주문을 찾을 수 없습니다.";

/* The search form's values, kept to show them again. */
struct order_search {
	const char *order;      /* public id or order number */
	char order_day[11];     /* the order number's day */
	const char *user;       /* e-mail or numeric id */
	const char *status;
	const char *from;
	const char *to;
	const char *pay;        /* pay method */
	const char *sort;       /* orderview_sort_name; NULL: newest first */
	int64_t before;
	int64_t page;           /* 1-based page of the sorts other than newest first */
};

static struct json_object *
search_json(const struct order_search *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "order", admin_common_jstr(s->order));
	json_object_object_add(o, "user", admin_common_jstr(s->user));
	json_object_object_add(o, "status", admin_common_jstr(s->status));
	json_object_object_add(o, "from", admin_common_jstr(s->from));
	json_object_object_add(o, "to", admin_common_jstr(s->to));
	json_object_object_add(o, "pay", admin_common_jstr(s->pay));
	json_object_object_add(o, "sort", admin_common_jstr(s->sort));
	return o;
}

/* The pay methods the filter offers, in labels.c's words. */
static struct json_object *
pay_choices(const char *selected)
{
	struct json_object *rows = json_object_new_array();
	const struct label *l;
	size_t i;

	for (i = 0; labels_nth(LABEL_PAY, i, &l); i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "value", json_object_new_string(l->code));
		json_object_object_add(o, "label", json_object_new_string(l->text));
		json_object_object_add(o, "selected", json_object_new_boolean(
		    selected != NULL && strcmp(selected, l->code) == 0));
		json_object_array_add(rows, o);
	}
	return rows;
}

/* The list's URL with the search's filters, then sort and page when given (NULL/0: left
 * out). In r's arena. */
static const char *
list_url(struct req *r, const struct order_search *s, const char *sort, int64_t page,
    int64_t before)
{
	const char *names[] = { "order", "user", "status", "pay", "from", "to", "sort", "page",
	    "before" };
	const char *vals[] = { s->order, s->user, s->status, s->pay, s->from, s->to, sort,
	    page > 1 ? arena_printf(r->a, "%" PRId64, page) : NULL,
	    before > 0 ? arena_printf(r->a, "%" PRId64, before) : NULL };

	return admin_common_url(r, "/admin/orders", names, vals, sizeof(names) / sizeof(names[0]));
}

/* The column headers' sort links: a header's link sorts by it, or turns its order around when
 * the list is already sorted by it; "current" names the header the list is sorted by. */
static struct json_object *
sort_links(struct req *r, const struct order_search *s, enum orderview_sort cur)
{
	struct json_object *o = json_object_new_object();
	bool by_time = cur == ORDERVIEW_NEWEST || cur == ORDERVIEW_OLDEST;

	json_object_object_add(o, "time", json_object_new_string(list_url(r, s,
	    cur == ORDERVIEW_NEWEST ? "old" : NULL, 0, 0)));
	json_object_object_add(o, "amount", json_object_new_string(list_url(r, s,
	    cur == ORDERVIEW_AMOUNT_DESC ? "amount_asc" : "amount_desc", 0, 0)));
	json_object_object_add(o, by_time ? "timeCurrent" : "amountCurrent",
	    json_object_new_string(cur == ORDERVIEW_NEWEST || cur == ORDERVIEW_AMOUNT_DESC ?
	    "내림차순" : "오름차순"));
	return o;
}

static struct json_object *
status_choices(const char *selected)
{
	struct json_object *rows = json_object_new_array();
	enum order_status s;

	for (s = 0; s < ORDER_STATUS__MAX; s++) {
		struct json_object *o = json_object_new_object();
		const char *name = orders_status_name(s);

		json_object_object_add(o, "value", json_object_new_string(name));
		json_object_object_add(o, "label",
		    json_object_new_string(admin_common_status_label(s)));
		json_object_object_add(o, "selected", json_object_new_boolean(
		    selected != NULL && strcmp(selected, name) == 0));
		json_object_array_add(rows, o);
	}
	return rows;
}

/* Reads the search into *s (the form's values, shown again) and *q (what to look for).
 * Returns NULL or the Korean reason it was refused. */
static const char *
read_search(struct req *r, struct order_search *s, struct orderview_query *q)
{
	memset(s, 0, sizeof(*s));
	memset(q, 0, sizeof(*q));
	q->status = ORDER_STATUS__MAX;
	/* The order: the number shoppers read ("20261206-000123") or the public id. */
	if (admin_common_query_text(r, "order", ORDERS_ID_LEN + 3, &s->order) < 0)
		return "주문 번호가 올바르지 않습니다.";
	if (s->order != NULL && strchr(s->order, '-') != NULL) {
		if (labels_order_no_parse(s->order, &q->id, s->order_day) != 0)
			return "주문 번호가 올바르지 않습니다.";
		q->created_day = s->order_day;
	} else if (s->order != NULL) {
		if (!valid_token(s->order, 1, ORDERS_ID_LEN))
			return "주문 번호가 올바르지 않습니다.";
		q->public_id = s->order;
	}
	if (admin_common_query_text(r, "user", 254, &s->user) < 0)
		return "회원 이메일 또는 번호가 올바르지 않습니다.";
	if (admin_common_query_text(r, "status", 32, &s->status) < 0 ||
	    (s->status != NULL && orders_status_parse(s->status, &q->status) != 0))
		return "주문 상태가 올바르지 않습니다.";
	if (admin_common_query_text(r, "from", 10, &s->from) < 0 ||
	    (s->from != NULL && !audit_day_ok(s->from)) ||
	    admin_common_query_text(r, "to", 10, &s->to) < 0 ||
	    (s->to != NULL && !audit_day_ok(s->to)))
		return "날짜는 YYYY-MM-DD 형식으로 입력해 주세요.";
	if (s->from != NULL && s->to != NULL && strcmp(s->from, s->to) > 0)
		return "시작 날짜가 끝 날짜보다 늦습니다.";
	if (admin_common_query_text(r, "pay", 16, &s->pay) < 0 ||
	    (s->pay != NULL && labels_find(LABEL_PAY, s->pay) == NULL))
		return "결제 수단이 올바르지 않습니다.";
	if (admin_common_query_text(r, "sort", 16, &s->sort) < 0 ||
	    (s->sort != NULL && orderview_sort_parse(s->sort, &q->sort) != 0))
		return "정렬 순서가 올바르지 않습니다.";
	if (admin_common_query_id(r, "before", &s->before) < 0 ||
	    admin_common_query_id(r, "page", &s->page) < 0 || s->page > 100000)
		return "페이지 정보가 올바르지 않습니다.";
	if (s->page < 1)
		s->page = 1;
	if (q->sort == ORDERVIEW_NEWEST && s->sort != NULL)
		s->sort = NULL;  /* the default: keep its URLs short */
	/* The user is a shopper's number or e-mail. */
	if (s->user != NULL && valid_int64(s->user, 1, INT64_MAX, &q->user_id) != 0) {
		if (!valid_email(s->user))
			return "회원 이메일 또는 번호가 올바르지 않습니다.";
		q->email = s->user;
	}
	q->from_day = s->from;
	q->to_day = s->to;
	q->pay_method = s->pay;
	q->before_id = q->sort == ORDERVIEW_NEWEST ? s->before : 0;
	q->offset = q->sort == ORDERVIEW_NEWEST ? 0 : (s->page - 1) * ADMIN_COMMON_PAGE_ROWS;
	return NULL;
}

static struct json_object *
row_json(const struct orderview_row *row)
{
	struct json_object *o = json_object_new_object();
	char no[LABELS_ORDER_NO_MAX];

	json_object_object_add(o, "orderId", admin_common_jstr(row->public_id));
	if (labels_order_no(row->created_at, row->id, no, sizeof(no)) == 0)
		json_object_object_add(o, "orderNo", json_object_new_string(no));
	json_object_object_add(o, "status", admin_common_jstr(row->status));
	json_object_object_add(o, "statusLabel", json_object_new_string(
	    labels_text(LABEL_ORDER, row->status)));
	json_object_object_add(o, "statusTone", json_object_new_string(
	    labels_tone(LABEL_ORDER, row->status)));
	json_object_object_add(o, "payMethod", admin_common_jstr(row->pay_method));
	json_object_object_add(o, "payLabel", json_object_new_string(
	    labels_text(LABEL_PAY, row->pay_method)));
	json_object_object_add(o, "amount", json_object_new_int64(row->amount));
	json_object_object_add(o, "refundedAmount", json_object_new_int64(row->refunded_amount));
	json_object_object_add(o, "orderName", admin_common_jstr(row->order_name));
	json_object_object_add(o, "createdAt", admin_common_jstr(row->created_at));
	json_object_object_add(o, "userId", json_object_new_int64(row->user_id));
	json_object_object_add(o, "email", admin_common_jstr(row->email));
	json_object_object_add(o, "userName", admin_common_jstr(row->user_name));
	return o;
}

/* GET /admin/orders?order=&user=&status=&from=&to=&before= */
static int
page_orders(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "주문 관리");
	struct orderview_query q;
	struct orderview_row *rows;
	struct order_search s;
	struct json_object *list;
	const char *err;
	int64_t n, i;

	err = read_search(r, &s, &q);
	json_object_object_add(ctx, "search", search_json(&s));
	json_object_object_add(ctx, "statuses", status_choices(s.status));
	json_object_object_add(ctx, "pays", pay_choices(s.pay));
	json_object_object_add(ctx, "sorts", sort_links(r, &s, q.sort));
	if (err != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(err));
		return admin_common_page(r, 400, "admin_orders", ctx);
	}
	n = orderview_search(r->app->db, r->a, &q, ADMIN_COMMON_PAGE_ROWS, &rows);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "orders_error", "orderview_search");
		return admin_common_page(r, 200, "admin_orders", ctx);
	}
	list = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(list, row_json(&rows[i]));
	json_object_object_add(ctx, "orders", list);
	/* Newest first pages by the last id shown (a new order does not shift the pages); the
	 * other sorts by page number. */
	if (n == ADMIN_COMMON_PAGE_ROWS && q.sort == ORDERVIEW_NEWEST)
		json_object_object_add(ctx, "next", json_object_new_string(list_url(r, &s, NULL, 0,
		    rows[n - 1].id)));
	else if (n == ADMIN_COMMON_PAGE_ROWS)
		json_object_object_add(ctx, "next", json_object_new_string(list_url(r, &s, s.sort,
		    s.page + 1, 0)));
	if (s.before > 0 || s.page > 1)
		json_object_object_add(ctx, "first", json_object_new_string(list_url(r, &s, s.sort,
		    0, 0)));
	if (s.page > 1)
		json_object_object_add(ctx, "page", json_object_new_int64(s.page));
	return admin_common_page(r, 200, "admin_orders", ctx);
}

/* The order {id} of the path with details. Returns 1, 0 after answering 404, -1 on a
 * database error. */
static int
path_order(struct req *r, struct order *o)
{
	int rc = orders_get(r->app->db, r->a, req_path_param(r, 0), true, o);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
		return 0;
	}
	return 1;
}

static bool
refundable(enum order_status s)
{
	return s == ORDER_PAID || s == ORDER_PARTIALLY_CANCELED;
}

static void
add_refunds(struct req *r, struct json_object *ctx, const struct order *o)
{
	struct refund *rf;
	struct json_object *rows;
	int64_t n, i;
	size_t k;

	n = refunds_of_order(r->app->db, r->a, o->id, &rf);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "refunds_error", "refunds_of_order");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_new_object();
		struct json_object *lines = json_object_new_array();

		json_object_object_add(x, "refundId", json_object_new_string(rf[i].public_id));
		json_object_object_add(x, "amount", json_object_new_int64(rf[i].amount));
		json_object_object_add(x, "status", json_object_new_string(
		    refunds_status_name(rf[i].status)));
		json_object_object_add(x, "statusLabel", json_object_new_string(labels_text(
		    LABEL_REFUND, refunds_status_name(rf[i].status))));
		json_object_object_add(x, "statusTone", json_object_new_string(labels_tone(
		    LABEL_REFUND, refunds_status_name(rf[i].status))));
		json_object_object_add(x, "reason", admin_common_jstr(rf[i].reason));
		json_object_object_add(x, "actor", admin_common_jstr(rf[i].actor));
		json_object_object_add(x, "failCode", admin_common_jstr(rf[i].fail_code));
		json_object_object_add(x, "createdAt", admin_common_jstr(rf[i].created_at));
		json_object_object_add(x, "doneAt", admin_common_jstr(rf[i].done_at));
		for (k = 0; k < rf[i].nlines; k++) {
			struct json_object *l = json_object_new_object();

			json_object_object_add(l, "name", admin_common_jstr(rf[i].lines[k].name));
			json_object_object_add(l, "quantity",
			    json_object_new_int(rf[i].lines[k].quantity));
			json_object_object_add(l, "amount",
			    json_object_new_int64(rf[i].lines[k].amount));
			json_object_array_add(lines, l);
		}
		json_object_object_add(x, "lines", lines);
		json_object_array_add(rows, x);
	}
	json_object_object_add(ctx, "refunds", rows);
}

static void
add_payment(struct req *r, struct json_object *ctx, const struct order *o)
{
	struct orderview_payment pay;
	struct json_object *p;
	int rc;

	rc = orderview_payment(r->app->db, r->a, o->id, &pay);
	if (rc < 0) {
		admin_common_unavailable(r, ctx, "payment_error", "orderview_payment");
		return;
	}
	if (rc == 0)
		return;
	p = json_object_new_object();
	json_object_object_add(p, "pg", admin_common_jstr(pay.pg));
	json_object_object_add(p, "pgLabel", json_object_new_string(labels_text(LABEL_PAY,
	    pay.pg)));
	json_object_object_add(p, "paymentKey", admin_common_jstr(pay.payment_key));
	json_object_object_add(p, "amount", json_object_new_int64(pay.amount));
	json_object_object_add(p, "status", admin_common_jstr(pay.status));
	json_object_object_add(p, "approvedAt", admin_common_jstr(pay.approved_at));
	json_object_object_add(p, "method", admin_common_jstr(pay.method));
	json_object_object_add(p, "createdAt", admin_common_jstr(pay.created_at));
	json_object_object_add(ctx, "payment", p);
}

/* Gives each timeline event of the order's JSON its Korean sentence ("toLabel") and the
 * status it left ("fromLabel"). */
static void
add_event_labels(struct json_object *oj)
{
	struct json_object *events, *v;
	size_t i, n;

	if (!json_object_object_get_ex(oj, "events", &events) ||
	    !json_object_is_type(events, json_type_array))
		return;
	n = json_object_array_length(events);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(events, i);

		if (json_object_object_get_ex(e, "to", &v))
			json_object_object_add(e, "toLabel", json_object_new_string(labels_text(
			    LABEL_EVENT, json_object_get_string(v))));
		if (json_object_object_get_ex(e, "from", &v) && json_object_get_string(v) != NULL)
			json_object_object_add(e, "fromLabel", json_object_new_string(labels_text(
			    LABEL_ORDER, json_object_get_string(v))));
	}
}

/* The order page; error (may be NULL) is a refused refund's reason, shown at the form. */
static int
render_order(struct req *r, int status, const struct order *o, const char *error)
{
	struct json_object *ctx = admin_common_ctx(r, "주문 상세");
	struct json_object *oj = orders_json(o), *lines;
	struct account user;
	char key[25];
	size_t i;

	/* Each line's refundable rest, for the refund form's inputs. */
	if (json_object_object_get_ex(oj, "lines", &lines)) {
		for (i = 0; i < o->nlines && i < json_object_array_length(lines); i++)
			json_object_object_add(json_object_array_get_idx(lines, i), "remaining",
			    json_object_new_int(o->lines[i].quantity - o->lines[i].canceled_quantity));
	}
	json_object_object_add(ctx, "order", oj);
	json_object_object_add(ctx, "statusLabel", json_object_new_string(
	    admin_common_status_label(o->status)));
	json_object_object_add(ctx, "statusTone", json_object_new_string(labels_tone(LABEL_ORDER,
	    orders_status_name(o->status))));
	json_object_object_add(ctx, "payLabel", json_object_new_string(labels_text(LABEL_PAY,
	    orders_pay_name(o->pay))));
	add_event_labels(oj);
	if (account_get(r->app->db, o->user_id, &user) == 1) {
		json_object_object_add(ctx, "userId", json_object_new_int64(o->user_id));
		json_object_object_add(ctx, "userEmail", json_object_new_string(user.email));
		json_object_object_add(ctx, "userName", json_object_new_string(user.name));
	}
	add_payment(r, ctx, o);
	add_refunds(r, ctx, o);
	if (refundable(o->status)) {
		int64_t left = o->amount - o->refunded_amount;

		ids_new(key, sizeof(key));
		json_object_object_add(ctx, "refundable", json_object_new_boolean(true));
		json_object_object_add(ctx, "refund_left", json_object_new_int64(left));
		json_object_object_add(ctx, "refund_key", json_object_new_string(key));
	}
	if (error != NULL) {
		json_object_object_add(ctx, "refund_error", json_object_new_string(error));
		json_object_object_add(ctx, "reason", admin_common_jstr(admin_common_kept(r,
		    "reason")));
	}
	return admin_common_page(r, status, "admin_order", ctx);
}

/* GET /admin/orders/{id} */
static int
page_order(struct req *r)
{
	struct order o;
	int status = 200;
	const char *err;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	err = admin_common_refusal(r, &status);
	return render_order(r, status, &o, err);
}

/* The refusal code (admin_common_refused) of each refused refund; NOT_FOUND is a 404 and
 * FAILED a database failure, both answered on the spot. */
static const char *const refund_refusals[REFUNDS_RC__MAX] = {
	[REFUNDS_KEY_REUSED] = "refund_key_reused",
	[REFUNDS_WRONG_STATE] = "refund_wrong_state",
	[REFUNDS_TOO_LATE] = "refund_too_late",
	[REFUNDS_EXCEEDS] = "refund_exceeds",
	[REFUNDS_BAD_LINE] = "refund_bad_line",
};

/* Reads the refund form into rq (lines from r's arena). Returns NULL, or the refusal code. */
static const char *
read_refund(struct req *r, const struct order *o, struct refunds_req *rq)
{
	struct refunds_line_req *lines;
	const char *full = NULL, *key = NULL, *v;
	size_t i, n = 0;

	if (form_get(&r->form, "full", &full, NULL) < 0 ||
	    (full != NULL && strcmp(full, "1") != 0))
		return "refund_bad";
	if (admin_common_form_text(r, "reason", REFUNDS_REASON_MAX, &rq->reason) < 0)
		return "refund_reason";
	if (form_get(&r->form, "key", &key, NULL) != 0 || !valid_token(key, 1, 64))
		return "refund_key";
	lines = arena_alloc(r->a, sizeof(*lines) * (o->nlines + 1));
	if (full == NULL) {
		for (i = 0; i < o->nlines; i++) {
			const char *name = arena_printf(r->a, "qty_%" PRId64, o->lines[i].product_id);
			int64_t q;
			int frc = form_get(&r->form, name, &v, NULL);

			if (frc > 0 || (frc == 0 && v[0] == '\0'))
				continue;
			if (frc < 0 || valid_int64(v, 0, o->lines[i].quantity, &q) != 0)
				return "refund_qty";
			if (q == 0)
				continue;
			lines[n].product_id = o->lines[i].product_id;
			lines[n].quantity = (int)q;
			n++;
		}
		if (n == 0)
			return "refund_none";
	}
	rq->lines = lines;
	rq->nlines = n;
	rq->key = key;
	return NULL;
}

/* POST /admin/orders/{id}/refund: full=1 refunds everything left; otherwise qty_<productId>
 * per line (empty or 0: not that line). reason optional, key the form's idempotency key. A
 * refusal redirects back to the order page's form with the reason typed. */
static int
page_order_refund(struct req *r)
{
	static const char *const names[] = { "reason" };
	struct refunds_req rq = { 0 };
	struct refund out;
	struct order o;
	const char *path, *code;
	enum refunds_rc rrc;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	path = arena_printf(r->a, "/admin/orders/%s", o.public_id);
	code = read_refund(r, &o, &rq);
	if (code != NULL)
		return admin_common_refused(r, path, code, "refund", names, &rq.reason, 1);
	rq.order_public_id = o.public_id;
	rq.user_id = 0;
	rq.admin_id = sess_user(r);
	rq.shopper_days = (int)conf_int(r->app->conf, CONF_REFUNDS_SHOPPER_DAYS);
	rrc = refunds_request(r->app->db, r->a, &rq, &out);
	if (rrc == REFUNDS_REPLAYED)
		return admin_common_done(r, path, "refund_replayed");
	if (rrc == REFUNDS_NOT_FOUND)
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	if (rrc != REFUNDS_ACCEPTED && rrc != REFUNDS_DONE) {
		log_info(&r->log, "admin: refund of %s refused (%d)", o.public_id, (int)rrc);
		if ((unsigned)rrc < REFUNDS_RC__MAX && refund_refusals[rrc] != NULL)
			return admin_common_refused(r, path, refund_refusals[rrc], "refund", names,
			    &rq.reason, 1);
		return render_order(r, admin_common_db_failed_status(r), &o,
		    "환불을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.");
	}
	bus_push_batch(r->app->bus, &out.jobs);  /* audited in the refund's own transaction */
	return admin_common_done(r, path, rrc == REFUNDS_DONE ? "refund_done" : "refund_accepted");
}

const struct route admin_orders_routes[] = {
	{ METHOD_GET,  "/admin/orders",                      page_orders,             ROUTE_HTML | ROUTE_ADMIN, "admin_orders" },
	{ METHOD_GET,  "/admin/orders/{id}",                 page_order,              ROUTE_HTML | ROUTE_ADMIN, "admin_order" },
	{ METHOD_POST, "/admin/orders/{id}/refund",          page_order_refund,       ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_order_refund" },
	{ 0, NULL, NULL, 0, NULL },
};
