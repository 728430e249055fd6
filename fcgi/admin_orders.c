/* admin_orders: the admin console's orders: the search (lib/shop/orderview), an order's page
 * with its timeline, payment row and refunds, and the full or partial refund an admin makes
 * from it (lib/shop/refunds; its audit record right after, admin_common_audit_after). Admin
 * role and CSRF are the dispatcher's (ROUTE_ADMIN, ROUTE_CSRF). */
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
#include "shop/orders.h"
#include "shop/orderview.h"
#include "shop/refunds.h"

static const char MSG_NO_ORDER[] = "주문을 찾을 수 없습니다.";

/* The search form's values, kept to show them again. */
struct order_search {
	const char *order;      /* public id */
	const char *user;       /* e-mail or numeric id */
	const char *status;
	const char *from;
	const char *to;
	int64_t before;
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
	if (admin_common_query_text(r, "order", ORDERS_ID_LEN, &s->order) < 0 ||
	    (s->order != NULL && !valid_token(s->order, 1, ORDERS_ID_LEN)))
		return "주문 번호가 올바르지 않습니다.";
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
	if (admin_common_query_id(r, "before", &s->before) < 0)
		return "페이지 정보가 올바르지 않습니다.";
	/* The user is a shopper's number or e-mail. */
	if (s->user != NULL && valid_int64(s->user, 1, INT64_MAX, &q->user_id) != 0) {
		if (!valid_email(s->user))
			return "회원 이메일 또는 번호가 올바르지 않습니다.";
		q->email = s->user;
	}
	q->public_id = s->order;
	q->from_day = s->from;
	q->to_day = s->to;
	q->before_id = s->before;
	return NULL;
}

static struct json_object *
row_json(const struct orderview_row *row)
{
	struct json_object *o = json_object_new_object();
	enum order_status st;

	json_object_object_add(o, "orderId", admin_common_jstr(row->public_id));
	json_object_object_add(o, "status", admin_common_jstr(row->status));
	if (orders_status_parse(row->status, &st) == 0)
		json_object_object_add(o, "statusLabel",
		    json_object_new_string(admin_common_status_label(st)));
	json_object_object_add(o, "payMethod", admin_common_jstr(row->pay_method));
	json_object_object_add(o, "amount", json_object_new_int64(row->amount));
	json_object_object_add(o, "refundedAmount", json_object_new_int64(row->refunded_amount));
	json_object_object_add(o, "orderName", admin_common_jstr(row->order_name));
	json_object_object_add(o, "createdAt", admin_common_jstr(row->created_at));
	json_object_object_add(o, "userId", json_object_new_int64(row->user_id));
	json_object_object_add(o, "email", admin_common_jstr(row->email));
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
	if (n == ADMIN_COMMON_PAGE_ROWS) {
		const char *names[] = { "order", "user", "status", "from", "to" };
		const char *vals[] = { s.order, s.user, s.status, s.from, s.to };

		json_object_object_add(ctx, "next", json_object_new_string(admin_common_next_url(r,
		    "/admin/orders", rows[n - 1].id, names, vals, sizeof(names) / sizeof(names[0]))));
	}
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
	json_object_object_add(p, "paymentKey", admin_common_jstr(pay.payment_key));
	json_object_object_add(p, "amount", json_object_new_int64(pay.amount));
	json_object_object_add(p, "status", admin_common_jstr(pay.status));
	json_object_object_add(p, "approvedAt", admin_common_jstr(pay.approved_at));
	json_object_object_add(p, "method", admin_common_jstr(pay.method));
	json_object_object_add(p, "createdAt", admin_common_jstr(pay.created_at));
	json_object_object_add(ctx, "payment", p);
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
	if (error != NULL)
		json_object_object_add(ctx, "refund_error", json_object_new_string(error));
	return admin_common_page(r, status, "admin_order", ctx);
}

/* GET /admin/orders/{id} */
static int
page_order(struct req *r)
{
	struct order o;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	return render_order(r, 200, &o, NULL);
}

/* How each refused refund is answered on the form. */
static const struct {
	int status;
	const char *message;
} refund_answers[REFUNDS_RC__MAX] = {
	[REFUNDS_KEY_REUSED] = { 422, "이미 다른 환불에 사용된 요청입니다. 페이지를 새로 고친 뒤 다시 시도해 주세요." },
	[REFUNDS_NOT_FOUND] = { 404, MSG_NO_ORDER },
	[REFUNDS_WRONG_STATE] = { 409, "결제 완료 또는 부분 취소 상태의 주문만 환불할 수 있습니다." },
	[REFUNDS_TOO_LATE] = { 409, "환불 가능 기간이 지났습니다." },
	[REFUNDS_EXCEEDS] = { 409, "남은 결제 금액이나 수량보다 많이 환불할 수 없습니다." },
	[REFUNDS_BAD_LINE] = { 400, "환불할 상품이나 수량이 올바르지 않습니다." },
	[REFUNDS_FAILED] = { 500, "환불을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요." },
};

/* POST /admin/orders/{id}/refund: full=1 refunds everything left; otherwise qty_<productId>
 * per line (empty or 0: not that line). reason optional, key the form's idempotency key. */
static int
page_order_refund(struct req *r)
{
	struct refunds_line_req *lines;
	struct refunds_req rq = { 0 };
	struct refund out;
	struct order o;
	struct json_object *before, *after;
	const char *full = NULL, *key = NULL, *v;
	enum refunds_rc rrc;
	size_t i, n = 0;
	int rc = path_order(r, &o);

	if (rc <= 0)
		return rc;
	if (form_get(&r->form, "full", &full, NULL) < 0 ||
	    (full != NULL && strcmp(full, "1") != 0))
		return render_order(r, 400, &o, "요청이 올바르지 않습니다.");
	if (admin_common_form_text(r, "reason", REFUNDS_REASON_MAX, &rq.reason) < 0)
		return render_order(r, 400, &o, "환불 사유는 200자 이하로 입력해 주세요.");
	if (form_get(&r->form, "key", &key, NULL) != 0 || !valid_token(key, 1, 64))
		return render_order(r, 400, &o, "요청이 올바르지 않습니다. 페이지를 새로 고쳐 주세요.");
	lines = arena_alloc(r->a, sizeof(*lines) * (o.nlines + 1));
	if (full == NULL) {
		for (i = 0; i < o.nlines; i++) {
			const char *name = arena_printf(r->a, "qty_%" PRId64, o.lines[i].product_id);
			int64_t q;
			int frc = form_get(&r->form, name, &v, NULL);

			if (frc > 0 || (frc == 0 && v[0] == '\0'))
				continue;
			if (frc < 0 || valid_int64(v, 0, o.lines[i].quantity, &q) != 0)
				return render_order(r, 400, &o, "환불 수량은 0 이상, 주문 수량 이하의 정수로 입력해 주세요.");
			if (q == 0)
				continue;
			lines[n].product_id = o.lines[i].product_id;
			lines[n].quantity = (int)q;
			n++;
		}
		if (n == 0)
			return render_order(r, 400, &o, "환불할 수량을 입력해 주세요.");
	}
	rq.order_public_id = o.public_id;
	rq.user_id = 0;
	rq.admin_id = sess_user(r);
	rq.shopper_days = (int)conf_int(r->app->conf, CONF_REFUNDS_SHOPPER_DAYS);
	rq.lines = lines;
	rq.nlines = n;
	rq.key = key;
	rrc = refunds_request(r->app->db, r->a, &rq, &out);
	if (rrc != REFUNDS_ACCEPTED && rrc != REFUNDS_DONE && rrc != REFUNDS_REPLAYED) {
		if ((unsigned)rrc >= REFUNDS_RC__MAX || refund_answers[rrc].message == NULL)
			rrc = REFUNDS_FAILED;
		log_info(&r->log, "admin: refund of %s refused (%d)", o.public_id, (int)rrc);
		return render_order(r, refund_answers[rrc].status, &o, refund_answers[rrc].message);
	}
	if (rrc == REFUNDS_REPLAYED)
		return admin_common_done(r, arena_printf(r->a, "/admin/orders/%s", o.public_id),
		    "refund_replayed");
	admin_common_push_job(r, out.job, JOB_REFUND);
	before = json_object_new_object();
	json_object_object_add(before, "status", json_object_new_string(
	    orders_status_name(o.status)));
	json_object_object_add(before, "refundedAmount", json_object_new_int64(o.refunded_amount));
	after = refunds_json(&out);
	if (after == NULL)
		after = json_object_new_object();
	json_object_object_add(after, "full", json_object_new_boolean(full != NULL));
	admin_common_audit_after(r, "refund.request", arena_printf(r->a, "order:%s", o.public_id),
	    before, after);
	json_object_put(before);
	json_object_put(after);
	return admin_common_done(r, arena_printf(r->a, "/admin/orders/%s", o.public_id),
	    rrc == REFUNDS_DONE ? "refund_done" : "refund_accepted");
}

const struct route admin_orders_routes[] = {
	{ METHOD_GET,  "/admin/orders",                      page_orders,             ROUTE_HTML | ROUTE_ADMIN, "admin_orders" },
	{ METHOD_GET,  "/admin/orders/{id}",                 page_order,              ROUTE_HTML | ROUTE_ADMIN, "admin_order" },
	{ METHOD_POST, "/admin/orders/{id}/refund",          page_order_refund,       ROUTE_HTML | ROUTE_ADMIN | ROUTE_CSRF, "admin_order_refund" },
	{ 0, NULL, NULL, 0, NULL },
};
