/* fulfilment: each seller's delivery of a paid order and its moves (see fulfilment.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/valid.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "infra/payload.h"
#include "shop/audit.h"
#include "shop/fulfilment.h"
#include "shop/labels.h"

static const char *const status_names[DELIVERY_STATUS__MAX] = {
	[DELIVERY_PREPARING] = "PREPARING", [DELIVERY_SHIPPED] = "SHIPPED",
	[DELIVERY_DELIVERED] = "DELIVERED", [DELIVERY_RETURN_REQUESTED] = "RETURN_REQUESTED",
	[DELIVERY_RETURNED] = "RETURNED",
};

static const char *const rc_names[FULFILMENT_RC__MAX] = {
	[FULFILMENT_DONE] = "DONE", [FULFILMENT_ALREADY] = "ALREADY",
	[FULFILMENT_NOT_FOUND] = "NOT_FOUND", [FULFILMENT_WRONG_STATE] = "WRONG_STATE",
	[FULFILMENT_TOO_LATE] = "TOO_LATE", [FULFILMENT_BAD_INPUT] = "BAD_INPUT",
	[FULFILMENT_FAILED] = "FAILED",
};

#define DT(col) "DATE_FORMAT(" col ", '%Y-%m-%d %H:%i:%s')"

/* One row per seller of the order's lines, with its delivery when one was written. */
enum of_order_col { OC_SELLER_ID, OC_SELLER, OC_FEE, OC_STATUS, OC_COURIER, OC_TRACKING,
	OC_SHIPPED, OC_DELIVERED, OC_RETURN_AT, OC_REASON, OC_LEFT, OC_RETURNABLE };
static const char SQL_OF_ORDER[] =
    "SELECT l.seller_id, e.name, COALESCE(d.shipping_fee, 0), COALESCE(d.status, 'PREPARING'),"
    " d.courier, d.tracking_no, " DT("d.shipped_at") ", " DT("d.delivered_at") ","
    " " DT("d.return_requested_at") ", d.return_reason,"
    " CAST(SUM(l.quantity - l.canceled_quantity) AS SIGNED),"
    " COALESCE(d.status = 'DELIVERED' AND d.delivered_at > NOW(3) - INTERVAL ? DAY, 0)"
    " FROM order_lines l JOIN sellers e ON e.id = l.seller_id"
    " LEFT JOIN order_deliveries d ON d.order_id = l.order_id AND d.seller_id = l.seller_id"
    " WHERE l.order_id = ?"
    " GROUP BY l.seller_id, e.name, d.shipping_fee, d.status, d.courier, d.tracking_no,"
    " d.shipped_at, d.delivered_at, d.return_requested_at, d.return_reason"
    " ORDER BY l.seller_id";
/* The order row, locked first: every move and every refund of one order take turns. By its
 * public id, or by the number people read (its id and its creation day, labels_order_no). */
enum lock_col { LC_ID, LC_STATUS, LC_USER, LC_PUBLIC_ID };
static const char SQL_LOCK_ORDER[] =
    "SELECT id, status, user_id, public_id FROM orders WHERE public_id = ? FOR UPDATE";
static const char SQL_LOCK_ORDER_NO[] =
    "SELECT id, status, user_id, public_id FROM orders"
    " WHERE id = ? AND DATE_FORMAT(created_at, '%Y%m%d') = ? FOR UPDATE";
static const char SQL_LEFT[] =
    "SELECT COUNT(*), CAST(COALESCE(SUM(quantity - canceled_quantity), 0) AS SIGNED)"
    " FROM order_lines WHERE order_id = ? AND seller_id = ?";
static const char SQL_MATERIALIZE[] =
    "INSERT IGNORE INTO order_deliveries (order_id, seller_id) VALUES (?, ?)";
static const char SQL_SHIP[] =
    "UPDATE order_deliveries SET status = 'SHIPPED', courier = ?, tracking_no = ?,"
    " shipped_at = NOW(3) WHERE order_id = ? AND seller_id = ? AND status = 'PREPARING'";
static const char SQL_DELIVER[] =
    "UPDATE order_deliveries SET status = 'DELIVERED', delivered_at = NOW(3)"
    " WHERE order_id = ? AND seller_id = ? AND status = 'SHIPPED'";
static const char SQL_RETURN[] =
    "UPDATE order_deliveries SET status = 'RETURN_REQUESTED', return_requested_at = NOW(3),"
    " return_reason = ? WHERE order_id = ? AND seller_id = ? AND status = 'DELIVERED'"
    " AND delivered_at > NOW(3) - INTERVAL ? DAY";
enum current_col { CC_STATUS, CC_COURIER, CC_TRACKING };
static const char SQL_CURRENT[] =
    "SELECT status, courier, tracking_no FROM order_deliveries"
    " WHERE order_id = ? AND seller_id = ?";
/* The staff's queue: parcels of paid orders in one status, oldest order first, after a
 * cursor; a parcel still to ship must have goods left (items_left > min_left). */
enum queue_col { QC_ORDER_ID, QC_PUBLIC_ID, QC_CREATED, QC_SELLER_ID, QC_SELLER, QC_STATUS,
	QC_COURIER, QC_TRACKING, QC_SHIPPED, QC_LEFT, QC_RECIPIENT, QC_ZIP, QC_ADDR1, QC_ADDR2,
	QC_MEMO };
/* What a parcel still has to ship (its seller's lines less what was cancelled). */
#define SQL_ITEMS_LEFT \
    "(SELECT CAST(COALESCE(SUM(l.quantity - l.canceled_quantity), 0) AS SIGNED)" \
    " FROM order_lines l WHERE l.order_id = d.order_id AND l.seller_id = d.seller_id)"
/* The filter is a WHERE, not a HAVING on the alias: with the HAVING, a suite run once got a
 * second page whose rows were not in ORDER BY's order (seller 164 before 163). */
static const char SQL_QUEUE[] =
    "SELECT d.order_id, o.public_id, " DT("o.created_at") ", d.seller_id, e.name, d.status,"
    " d.courier, d.tracking_no, " DT("d.shipped_at") ", " SQL_ITEMS_LEFT " AS items_left,"
    " a.recipient, a.zipcode, a.address1, a.address2, a.memo"
    " FROM order_deliveries d JOIN orders o ON o.id = d.order_id"
    " JOIN sellers e ON e.id = d.seller_id"
    " LEFT JOIN order_addresses a ON a.order_id = d.order_id"
    " WHERE d.status = ? AND o.status IN ('PAID', 'PARTIALLY_CANCELED')"
    " AND (? = 0 OR d.seller_id = ?)"
    " AND (d.order_id > ? OR (d.order_id = ? AND d.seller_id > ?))"
    " AND " SQL_ITEMS_LEFT " > ?"
    " ORDER BY d.order_id, d.seller_id LIMIT ?";
static const char SQL_STARTED[] =
    "SELECT 1 FROM order_deliveries WHERE order_id = ? AND status <> 'PREPARING' LIMIT 1";

const char *
fulfilment_status_name(enum delivery_status s)
{
	return (unsigned)s < DELIVERY_STATUS__MAX ? status_names[s] : "?";
}

int
fulfilment_status_parse(const char *s, enum delivery_status *out)
{
	int i;

	for (i = 0; s != NULL && i < DELIVERY_STATUS__MAX; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum delivery_status)i;
			return 0;
		}
	}
	return -1;
}

const char *
fulfilment_rc_name(enum fulfilment_rc rc)
{
	return (unsigned)rc < FULFILMENT_RC__MAX ? rc_names[rc] : "?";
}

bool
fulfilment_courier_valid(const char *code)
{
	return labels_find(LABEL_COURIER, code) != NULL;
}

bool
fulfilment_tracking_valid(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n < 6 || n > FULFILMENT_TRACKING_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return false;
	return true;
}

int64_t
fulfilment_of_order(struct db *db, struct arena *a, int64_t order_id, int return_days,
    struct delivery **out)
{
	struct db_res res;
	int64_t n, i;

	n = db_query(db, a, &res, SQL_OF_ORDER, "ii", (int64_t)(return_days > 0 ? return_days : 0),
	    order_id);
	if (n < 0)
		return -1;
	*out = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(**out));
	for (i = 0; i < n; i++) {
		struct delivery *d = &(*out)[i];
		size_t k = (size_t)i;
		int64_t left = db_res_i64(&res, k, OC_LEFT);

		d->seller_id = db_res_i64(&res, k, OC_SELLER_ID);
		d->seller = db_res_str(&res, k, OC_SELLER);
		d->shipping_fee = db_res_i64(&res, k, OC_FEE);
		if (fulfilment_status_parse(db_res_str(&res, k, OC_STATUS), &d->status) != 0)
			d->status = DELIVERY_PREPARING;
		d->courier = db_res_str(&res, k, OC_COURIER);
		d->tracking_no = db_res_str(&res, k, OC_TRACKING);
		d->shipped_at = db_res_str(&res, k, OC_SHIPPED);
		d->delivered_at = db_res_str(&res, k, OC_DELIVERED);
		d->return_requested_at = db_res_str(&res, k, OC_RETURN_AT);
		d->return_reason = db_res_str(&res, k, OC_REASON);
		d->items_left = left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
		d->returnable = return_days > 0 && db_res_i64(&res, k, OC_RETURNABLE) != 0;
	}
	return n;
}

int
fulfilment_started(struct db *db, int64_t order_id)
{
	struct arena *a = arena_new(256);
	struct db_res res;
	int64_t n = db_query(db, a, &res, SQL_STARTED, "i", order_id);

	arena_free(&a);
	return n < 0 ? (int)n : n > 0;
}

int64_t
fulfilment_queue(struct db *db, struct arena *a, const struct fulfilment_queue_q *q,
    struct fulfilment_parcel **out)
{
	enum delivery_status status = q->status;
	size_t limit = q->limit;
	struct db_res res;
	int64_t n, i;

	if (limit < 1 || limit > 200 || (unsigned)status >= DELIVERY_STATUS__MAX)
		return DB_ERR;
	n = db_query(db, a, &res, SQL_QUEUE, "siiiiiii", status_names[status], q->seller_id,
	    q->seller_id, q->after_order, q->after_order, q->after_seller,
	    (int64_t)(status == DELIVERY_PREPARING ? 0 : -1), (int64_t)limit);
	if (n < 0)
		return n;
	*out = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(**out));
	for (i = 0; i < n; i++) {
		struct fulfilment_parcel *p = &(*out)[i];
		size_t k = (size_t)i;
		int64_t left = db_res_i64(&res, k, QC_LEFT);

		memset(p, 0, sizeof(*p));
		p->order_id = db_res_i64(&res, k, QC_ORDER_ID);
		p->public_id = db_res_str(&res, k, QC_PUBLIC_ID);
		p->ordered_at = db_res_str(&res, k, QC_CREATED);
		labels_order_no(p->ordered_at, p->order_id, p->order_no, sizeof(p->order_no));
		p->seller_id = db_res_i64(&res, k, QC_SELLER_ID);
		p->seller = db_res_str(&res, k, QC_SELLER);
		if (fulfilment_status_parse(db_res_str(&res, k, QC_STATUS), &p->status) != 0)
			p->status = status;
		p->courier = db_res_str(&res, k, QC_COURIER);
		p->tracking_no = db_res_str(&res, k, QC_TRACKING);
		p->shipped_at = db_res_str(&res, k, QC_SHIPPED);
		p->items_left = left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
		p->recipient = db_res_str(&res, k, QC_RECIPIENT);
		p->zipcode = db_res_str(&res, k, QC_ZIP);
		p->address1 = db_res_str(&res, k, QC_ADDR1);
		p->address2 = db_res_str(&res, k, QC_ADDR2);
		p->memo = db_res_str(&res, k, QC_MEMO);
	}
	return n;
}

/* ---- the moves ----------------------------------------------------------------------------- */


enum move_kind { MOVE_SHIP, MOVE_DELIVER, MOVE_RETURN };

struct move_tx {
	enum move_kind kind;
	const char *public_id;        /* the order's public id or its number (20261206-000123) */
	int64_t user_id;              /* > 0: the order must be this shopper's */
	int64_t seller_id;
	int64_t actor_id;             /* > 0: the admin who moves it (audited) */
	const char *courier, *tracking_no, *reason;
	int return_days;
	struct bus_batch jobs;        /* the notice queued with a ship or a delivery */
	char found_id[FULFILMENT_ORDER_MAX + 1]; /* out: the order's public id */
	enum fulfilment_rc rc;        /* out */
};

/* Splits an order number "YYYYMMDD-NNNNNN" into its day and id. Returns 0, or -1 when s is
 * not one (a public id has no '-'). */
static int
order_no_split(const char *s, char day[9], int64_t *id)
{
	size_t i;

	if (strlen(s) < 10 || strlen(s) > 28 || s[8] != '-')
		return -1;
	for (i = 0; i < 8; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		day[i] = s[i];
	}
	day[8] = '\0';
	s += 9;
	while (s[0] == '0' && s[1] != '\0')
		s++;   /* the number pads the id with zeros: 000123 */
	return valid_int64(s, 1, INT64_MAX, id);
}

/* Locks the order and checks it may move: paid, the shopper's when asked, the seller's goods
 * in it and (for a ship) some left. Returns 0 with *order_id set, DB_ABORT (t->rc set), or
 * an enum db_rc. */
static int
lock_order(struct db *db, struct arena *a, struct move_tx *t, int64_t *order_id)
{
	struct db_res res;
	const char *status;
	char day[9];
	int64_t n, no_id;

	if (order_no_split(t->public_id, day, &no_id) == 0)
		n = db_query(db, a, &res, SQL_LOCK_ORDER_NO, "is", no_id, day);
	else
		n = db_query(db, a, &res, SQL_LOCK_ORDER, "s", t->public_id);
	if (n < 0)
		return (int)n;
	if (n == 0 || (t->user_id > 0 && db_res_i64(&res, 0, LC_USER) != t->user_id)) {
		t->rc = FULFILMENT_NOT_FOUND;
		return DB_ABORT;
	}
	*order_id = db_res_i64(&res, 0, LC_ID);
	status = db_res_str(&res, 0, LC_STATUS);
	snprintf(t->found_id, sizeof(t->found_id), "%s", db_res_str(&res, 0, LC_PUBLIC_ID));
	n = db_query(db, a, &res, SQL_LEFT, "ii", *order_id, t->seller_id);
	if (n < 0)
		return (int)n;
	if (db_res_i64(&res, 0, 0) == 0) {
		t->rc = FULFILMENT_NOT_FOUND;
		return DB_ABORT;
	}
	if (t->kind == MOVE_SHIP && (strcmp(status, "PAID") != 0 &&
	    strcmp(status, "PARTIALLY_CANCELED") != 0)) {
		t->rc = FULFILMENT_WRONG_STATE;
		return DB_ABORT;
	}
	if (t->kind == MOVE_SHIP && db_res_i64(&res, 0, 1) <= 0) {
		t->rc = FULFILMENT_WRONG_STATE;   /* everything of this seller's was cancelled */
		return DB_ABORT;
	}
	return 0;
}

/* Why a guarded UPDATE matched nothing: ALREADY when the delivery already is where the move
 * leads (a ship: with the same courier and number), else WRONG_STATE (or TOO_LATE for a return
 * of a delivery still DELIVERED). */
static enum fulfilment_rc
why_not(struct db *db, struct arena *a, const struct move_tx *t, int64_t order_id)
{
	static const enum delivery_status target[] = {
		[MOVE_SHIP] = DELIVERY_SHIPPED, [MOVE_DELIVER] = DELIVERY_DELIVERED,
		[MOVE_RETURN] = DELIVERY_RETURN_REQUESTED,
	};
	enum delivery_status now;
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_CURRENT, "ii", order_id, t->seller_id);
	if (n < 0)
		return FULFILMENT_FAILED;
	if (n == 0 || fulfilment_status_parse(db_res_str(&res, 0, CC_STATUS), &now) != 0)
		return FULFILMENT_WRONG_STATE;
	if (now == target[t->kind]) {
		if (t->kind != MOVE_SHIP)
			return FULFILMENT_ALREADY;
		return strcmp(db_res_str(&res, 0, CC_COURIER), t->courier) == 0 &&
		    strcmp(db_res_str(&res, 0, CC_TRACKING), t->tracking_no) == 0 ?
		    FULFILMENT_ALREADY : FULFILMENT_WRONG_STATE;
	}
	if (t->kind == MOVE_RETURN && now == DELIVERY_DELIVERED)
		return FULFILMENT_TOO_LATE;
	return FULFILMENT_WRONG_STATE;
}

/* What a ship or a delivery writes beside the move, in its transaction: the shopper's notice
 * (the notify job, pushed after the commit) and, for an admin's move, the audit record.
 * Returns 0 or an enum db_rc. */
static int
move_effects(struct db *db, struct arena *a, struct move_tx *t)
{
	struct payload_notify notify = { .order_id = t->found_id, .seller_id = t->seller_id };
	struct json_object *before, *after;
	const char *target;
	int64_t rc;

	if (t->kind == MOVE_RETURN)
		return 0;
	notify.event = t->kind == MOVE_SHIP ? PAYLOAD_EVENT_SHIPPED : PAYLOAD_EVENT_DELIVERED;
	if (t->kind == MOVE_SHIP) {
		notify.courier = t->courier;
		notify.tracking_no = t->tracking_no;
	}
	rc = outbox_queue(db, &t->jobs, JOB_NOTIFY, payload_notify_build(a, &notify));
	if (rc < 0 || t->actor_id < 1)
		return rc < 0 ? (int)rc : 0;
	target = arena_printf(a, "order:%s", t->found_id);
	before = json_object_new_object();
	after = json_object_new_object();
	json_object_object_add(before, "sellerId", json_object_new_int64(t->seller_id));
	json_object_object_add(after, "sellerId", json_object_new_int64(t->seller_id));
	json_object_object_add(before, "status", json_object_new_string(
	    t->kind == MOVE_SHIP ? "PREPARING" : "SHIPPED"));
	json_object_object_add(after, "status", json_object_new_string(
	    t->kind == MOVE_SHIP ? "SHIPPED" : "DELIVERED"));
	if (t->kind == MOVE_SHIP) {
		json_object_object_add(after, "courier", json_object_new_string(t->courier));
		json_object_object_add(after, "trackingNo", json_object_new_string(t->tracking_no));
	}
	rc = audit_record_json(db, t->actor_id, t->kind == MOVE_SHIP ? "delivery.ship" :
	    "delivery.deliver", target, before, after);
	json_object_put(before);
	json_object_put(after);
	return (int)rc;
}

static int
move_tx_fn(struct db *db, void *arg)
{
	struct move_tx *t = arg;
	struct arena *a = arena_new(1024);
	int64_t order_id = 0, n = 0;
	int rc;

	bus_batch_clear(&t->jobs);
	t->found_id[0] = '\0';
	rc = lock_order(db, a, t, &order_id);
	if (rc != 0)
		goto out;
	switch (t->kind) {
	case MOVE_SHIP:
		n = db_exec(db, SQL_MATERIALIZE, "ii", order_id, t->seller_id);
		if (n >= 0)
			n = db_exec(db, SQL_SHIP, "ssii", t->courier, t->tracking_no, order_id,
			    t->seller_id);
		break;
	case MOVE_DELIVER:
		n = db_exec(db, SQL_DELIVER, "ii", order_id, t->seller_id);
		break;
	case MOVE_RETURN:
		n = db_exec(db, SQL_RETURN, "siii", t->reason, order_id, t->seller_id,
		    (int64_t)t->return_days);
		break;
	}
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	if (n == 0) {
		t->rc = why_not(db, a, t, order_id);
		rc = DB_ABORT;
		goto out;
	}
	rc = move_effects(db, a, t);
	if (rc != 0)
		goto out;
	t->rc = FULFILMENT_DONE;
out:
	arena_free(&a);
	return rc;
}

/* Runs a move in its transaction, pushes the jobs it queued once committed, and answers its
 * outcome. */
static enum fulfilment_rc
run(struct db *db, struct bus *bus, struct move_tx *t)
{
	int rc;

	t->rc = FULFILMENT_FAILED;
	rc = db_tx(db, move_tx_fn, t);
	if (rc == 0) {
		bus_push_batch(bus, &t->jobs);
		return t->rc;
	}
	if (rc == DB_ABORT)
		return t->rc;
	return FULFILMENT_FAILED;
}

/* The order named what the caller gave (public id or number), <= FULFILMENT_ORDER_MAX. */
static bool
order_ref_ok(const char *s)
{
	return s != NULL && valid_token(s, 1, FULFILMENT_ORDER_MAX);
}

enum fulfilment_rc
fulfilment_ship(struct db *db, struct bus *bus, const struct fulfilment_move *m,
    const char *courier, const char *tracking_no)
{
	struct move_tx t = { .kind = MOVE_SHIP, .public_id = m->order, .seller_id = m->seller_id,
		.actor_id = m->actor_id, .courier = courier, .tracking_no = tracking_no };

	if (!order_ref_ok(m->order) || m->seller_id < 1)
		return FULFILMENT_NOT_FOUND;
	if (!fulfilment_courier_valid(courier) || !fulfilment_tracking_valid(tracking_no))
		return FULFILMENT_BAD_INPUT;
	return run(db, bus, &t);
}

enum fulfilment_rc
fulfilment_deliver(struct db *db, struct bus *bus, const struct fulfilment_move *m)
{
	struct move_tx t = { .kind = MOVE_DELIVER, .public_id = m->order,
		.seller_id = m->seller_id, .actor_id = m->actor_id };

	if (!order_ref_ok(m->order) || m->seller_id < 1)
		return FULFILMENT_NOT_FOUND;
	return run(db, bus, &t);
}

enum fulfilment_rc
fulfilment_request_return(struct db *db, const char *public_id, int64_t user_id,
    int64_t seller_id, const char *reason, int return_days)
{
	struct move_tx t = { .kind = MOVE_RETURN, .public_id = public_id, .user_id = user_id,
		.seller_id = seller_id, .reason = reason, .return_days = return_days };

	if (reason == NULL || !valid_text(reason, strlen(reason), FULFILMENT_REASON_MAX, true) ||
	    user_id < 1 || return_days < 1)
		return FULFILMENT_BAD_INPUT;
	return run(db, NULL, &t);
}
