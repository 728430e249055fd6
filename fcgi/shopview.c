/* shopview: words an order for the shopper's pages and the order API (see shopview.h). */
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "shopview.h"
#include "req.h"
#include "base/conf.h"
#include "shop/addresses.h"
#include "shop/catalog.h"
#include "shop/fulfilment.h"
#include "shop/labels.h"
#include "shop/orders.h"
#include "shop/refunds.h"

/* The result messages of the shopper's POSTs, by the code their redirect carries. */
static const struct {
	const char *code;
	const char *message;
} done_messages[] = {
	{ "canceled",         "주문을 취소했습니다. 상품 재고가 돌아갔습니다." },
	{ "refund_requested", "환불을 요청했습니다. 결제사가 처리하면 환불완료로 바뀝니다." },
	{ "refunded",         "환불을 마쳤습니다. 포인트로 돌려드렸습니다." },
	{ "return_requested", "반품을 신청했습니다. 판매자가 확인한 뒤 수거와 환불을 안내해 드립니다." },
	{ "delivered",        "구매를 확정했습니다. 이용해 주셔서 감사합니다." },
};

const char *
shopview_done_message(const char *code)
{
	size_t i;

	for (i = 0; code != NULL && i < sizeof(done_messages) / sizeof(done_messages[0]); i++)
		if (strcmp(code, done_messages[i].code) == 0)
			return done_messages[i].message;
	return NULL;
}

const char *
shopview_time(struct req *r, const char *t)
{
	if (t == NULL || strlen(t) < 16)
		return "";
	/* "YYYY-MM-DD HH:MM..." → "YYYY.MM.DD HH:MM" */
	return arena_printf(r->a, "%.4s.%.2s.%.2s %.5s", t, t + 5, t + 8, t + 11);
}

static void
add_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s != NULL ? s : ""));
}

/* The lines with their pictures (one statement for all), or NULL on a database error. */
static struct json_object *
lines_json(struct req *r, const struct order *o)
{
	struct json_object *a;
	const char **urls;
	int64_t *ids;
	size_t i;

	ids = arena_alloc(r->a, (o->nlines + 1) * sizeof(*ids));
	urls = arena_alloc(r->a, (o->nlines + 1) * sizeof(*urls));
	for (i = 0; i < o->nlines; i++)
		ids[i] = o->lines[i].product_id;
	if (catalog_first_images(r->app->db, r->a, ids, o->nlines, urls) != 0)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < o->nlines; i++) {
		const struct order_line *l = &o->lines[i];
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "product_id", json_object_new_int64(l->product_id));
		add_str(x, "name", l->name);
		json_object_object_add(x, "unit_price", json_object_new_int64(l->unit_price));
		json_object_object_add(x, "quantity", json_object_new_int(l->quantity));
		json_object_object_add(x, "canceled", json_object_new_int(l->canceled_quantity));
		json_object_object_add(x, "amount", json_object_new_int64(l->amount));
		if (urls[i] != NULL)
			add_str(x, "image", urls[i]);
		json_object_array_add(a, x);
	}
	return a;
}

/* The timeline in the shopper's words: what reaching each status meant, never a note (notes
 * hold the PG's keys and codes, for staff). */
static struct json_object *
events_json(struct req *r, const struct order *o)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < o->nevents; i++) {
		const struct order_event *e = &o->events[i];
		struct json_object *x = json_object_new_object();

		add_str(x, "at", shopview_time(r, e->at));
		add_str(x, "text", labels_text(LABEL_EVENT, e->to));
		add_str(x, "tone", labels_tone(LABEL_EVENT, e->to));
		add_str(x, "to", e->to);
		json_object_array_add(a, x);
	}
	return a;
}

struct json_object *
shopview_json(struct req *r, const struct order *o)
{
	const char *status = orders_status_name(o->status);
	struct json_object *j = json_object_new_object(), *lines;
	char number[LABELS_ORDER_NO_MAX];
	bool paid = o->status == ORDER_PAID || o->status == ORDER_PARTIALLY_CANCELED;
	bool ended = o->status == ORDER_FAILED || o->status == ORDER_EXPIRED ||
	    (o->status == ORDER_CANCELED && o->paid_at == NULL);

	if (labels_order_no(o->created_at, o->id, number, sizeof(number)) != 0)
		number[0] = '\0';
	add_str(j, "id", o->public_id);
	add_str(j, "number", number);
	add_str(j, "status", status);
	add_str(j, "status_label", labels_text(LABEL_ORDER, status));
	add_str(j, "status_tone", labels_tone(LABEL_ORDER, status));
	add_str(j, "pay_label", labels_text(LABEL_PAY, orders_pay_name(o->pay)));
	json_object_object_add(j, "amount", json_object_new_int64(o->amount));
	json_object_object_add(j, "refunded", json_object_new_int64(o->refunded_amount));
	json_object_object_add(j, "left", json_object_new_int64(o->amount - o->refunded_amount));
	add_str(j, "order_name", o->order_name);
	json_object_object_add(j, "item_count", json_object_new_int(o->item_count));
	add_str(j, "created_at", shopview_time(r, o->created_at));
	add_str(j, "paid_at", shopview_time(r, o->paid_at));
	add_str(j, "expires_at", shopview_time(r, o->expires_at));
	json_object_object_add(j, "final", json_object_new_boolean(orders_status_final(o->status)));
	json_object_object_add(j, "pending", json_object_new_boolean(o->status == ORDER_PENDING));
	json_object_object_add(j, "confirming", json_object_new_boolean(
	    o->status == ORDER_CONFIRMING || o->status == ORDER_UNKNOWN));
	json_object_object_add(j, "paid", json_object_new_boolean(paid));
	json_object_object_add(j, "ended", json_object_new_boolean(ended));
	if (o->fail_message != NULL && o->status != ORDER_CANCELED)
		add_str(j, "failure", o->fail_message);
	if (o->lines != NULL) {
		lines = lines_json(r, o);
		if (lines == NULL) {
			json_object_put(j);
			return NULL;
		}
		json_object_object_add(j, "lines", lines);
	}
	if (o->events != NULL)
		json_object_object_add(j, "events", events_json(r, o));
	return j;
}

struct json_object *
shopview_refund_json(struct req *r, const struct refund *f)
{
	const char *status = refunds_status_name(f->status);
	struct json_object *j = json_object_new_object(), *lines = json_object_new_array();
	size_t i;

	add_str(j, "id", f->public_id);
	add_str(j, "status", status);
	add_str(j, "status_label", labels_text(LABEL_REFUND, status));
	add_str(j, "status_tone", labels_tone(LABEL_REFUND, status));
	json_object_object_add(j, "amount", json_object_new_int64(f->amount));
	if (f->reason != NULL)
		add_str(j, "reason", f->reason);
	add_str(j, "created_at", shopview_time(r, f->created_at));
	for (i = 0; i < f->nlines; i++) {
		struct json_object *x = json_object_new_object();

		add_str(x, "name", f->lines[i].name);
		json_object_object_add(x, "quantity", json_object_new_int(f->lines[i].quantity));
		json_object_array_add(lines, x);
	}
	json_object_object_add(j, "lines", lines);
	return j;
}

/* The step of the shopper's progress bar a delivery has reached: 1 배송준비중, 2 배송중,
 * 3 배송완료 (a return counts as delivered: the parcel arrived). */
static int
delivery_step(enum delivery_status s)
{
	switch (s) {
	case DELIVERY_PREPARING:
		return 1;
	case DELIVERY_SHIPPED:
		return 2;
	default:
		return 3;
	}
}

int
shopview_deliveries(struct req *r, const struct order *o, struct json_object *ctx)
{
	static const char *const step_labels[] = { "결제완료", "배송준비중", "배송중", "배송완료" };
	struct json_object *list, *steps;
	struct delivery *d;
	int64_t n, i, fees = 0;
	int step = 3, k;
	int return_days = (int)conf_int(r->app->conf, CONF_SHIPPING_RETURN_DAYS);

	n = fulfilment_of_order(r->app->db, r->a, o->id, return_days, &d);
	if (n < 0)
		return -1;
	list = json_object_new_array();
	for (i = 0; i < n; i++) {
		const char *status = fulfilment_status_name(d[i].status);
		struct json_object *x = json_object_new_object();

		if (d[i].items_left > 0 && delivery_step(d[i].status) < step)
			step = delivery_step(d[i].status);
		fees += d[i].shipping_fee;   /* each at most 1,000,000,000 (a CHECK): no overflow */
		json_object_object_add(x, "seller_id", json_object_new_int64(d[i].seller_id));
		add_str(x, "seller", d[i].seller);
		json_object_object_add(x, "fee", json_object_new_int64(d[i].shipping_fee));
		add_str(x, "status", status);
		add_str(x, "status_label", labels_text(LABEL_DELIVERY, status));
		add_str(x, "status_tone", labels_tone(LABEL_DELIVERY, status));
		if (d[i].courier != NULL)
			add_str(x, "courier", labels_text(LABEL_COURIER, d[i].courier));
		if (d[i].tracking_no != NULL)
			add_str(x, "tracking_no", d[i].tracking_no);
		if (d[i].shipped_at != NULL)
			add_str(x, "shipped_at", shopview_time(r, d[i].shipped_at));
		if (d[i].delivered_at != NULL)
			add_str(x, "delivered_at", shopview_time(r, d[i].delivered_at));
		if (d[i].return_reason != NULL)
			add_str(x, "return_reason", d[i].return_reason);
		json_object_object_add(x, "returnable", json_object_new_boolean(d[i].returnable &&
		    o->user_id == r->sess.user_id));
		json_object_array_add(list, x);
	}
	json_object_object_add(ctx, "deliveries", list);
	json_object_object_add(ctx, "fees", json_object_new_int64(fees));
	json_object_object_add(ctx, "goods", json_object_new_int64(o->amount - fees));
	if (n == 0)
		step = 1;
	steps = json_object_new_array();
	for (k = 0; k < 4; k++) {
		struct json_object *x = json_object_new_object();

		add_str(x, "label", step_labels[k]);
		json_object_object_add(x, "done", json_object_new_boolean(k < step ||
		    (k == 3 && step == 3)));
		json_object_object_add(x, "now", json_object_new_boolean(k == step && step < 3));
		json_object_array_add(steps, x);
	}
	json_object_object_add(ctx, "steps", steps);
	return 0;
}

int
shopview_ship_to(struct req *r, const struct order *o, struct json_object *ctx)
{
	struct json_object *x;
	struct address ad;
	int f, rc = addresses_of_order(r->app->db, r->a, o->id, &ad);

	if (rc <= 0)
		return rc;
	x = json_object_new_object();
	for (f = 0; f < ADDRESS_FIELD__MAX; f++)
		if (f != ADDRESS_LABEL)
			add_str(x, addresses_field_name((enum address_field)f), ad.f[f]);
	json_object_object_add(ctx, "ship_to", x);
	return 0;
}

struct json_object *
shopview_api_json(const struct order *o)
{
	struct json_object *j = orders_json(o);
	char number[LABELS_ORDER_NO_MAX];

	if (labels_order_no(o->created_at, o->id, number, sizeof(number)) == 0)
		json_object_object_add(j, "orderNumber", json_object_new_string(number));
	json_object_object_add(j, "statusLabel", json_object_new_string(
	    labels_text(LABEL_ORDER, orders_status_name(o->status))));
	json_object_object_add(j, "payMethodLabel", json_object_new_string(
	    labels_text(LABEL_PAY, orders_pay_name(o->pay))));
	return j;
}
