/* orders: checkout with stock reservation, the PG's returns, cancel and expiry (see orders.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/buf.h"
#include "infra/bus.h"
#include "shop/catalog.h"
#include "infra/db.h"
#include "base/ids.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "base/money.h"
#include "shop/orders.h"
#include "infra/outbox.h"
#include "base/valid.h"
#include "shop/addresses.h"
#include "shop/fulfilment.h"

/* The products of a checkout, priced in one statement: the ids arrive as a JSON array. */
static const char SQL_PRICES[] =
    "SELECT p.id, p.seller_id, p.name, p.price, p.active"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (pid BIGINT UNSIGNED PATH '$')) AS j"
    " JOIN products p ON p.id = j.pid";
static const char SQL_USER_EXISTS[] =
    "SELECT 1 FROM users WHERE id = ?";
static const char SQL_INSERT_ORDER[] =
    "INSERT INTO orders (public_id, user_id, status, pay_method, amount, order_name,"
    " item_count, checkout_key, expires_at, paid_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NOW(3) + INTERVAL ? SECOND, IF(? = 'PAID', NOW(3), NULL))";
static const char SQL_INSERT_LINE[] =
    "INSERT INTO order_lines (order_id, product_id, seller_id, name, unit_price, quantity,"
    " amount) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_INSERT_EVENT[] =
    "INSERT INTO order_events (order_id, from_status, to_status, actor, note)"
    " VALUES (?, ?, ?, ?, ?)";
static const char SQL_RESERVE[] =
    "UPDATE stock SET available = available - ? WHERE product_id = ? AND available >= ?";
static const char SQL_RELEASE[] =
    "UPDATE stock SET available = available + ? WHERE product_id = ?";
static const char SQL_SPEND_POINTS[] =
    "UPDATE users SET points = points - ? WHERE id = ? AND points >= ?";
static const char SQL_TIMES[] =
    "SELECT DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(paid_at, '%Y-%m-%d %H:%i:%s'),"
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') FROM orders WHERE id = ?";
static const char SQL_BY_CHECKOUT_KEY[] =
    "SELECT public_id FROM orders WHERE user_id = ? AND checkout_key = ?";

#define ORDER_COLUMNS \
    "SELECT id, public_id, user_id, status, pay_method, amount, refunded_amount, order_name," \
    " item_count, payment_key, pg_redirect_url, fail_code, fail_message," \
    " DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(paid_at, '%Y-%m-%d %H:%i:%s')," \
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') FROM orders"
static const char SQL_GET[] = ORDER_COLUMNS " WHERE public_id = ?";
static const char SQL_LIST[] = ORDER_COLUMNS " WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
static const char SQL_LINES[] =
    "SELECT product_id, seller_id, name, unit_price, quantity, canceled_quantity, amount"
    " FROM order_lines WHERE order_id = ? ORDER BY product_id";
static const char SQL_EVENTS[] =
    "SELECT from_status, to_status, actor, note, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s')"
    " FROM order_events WHERE order_id = ? ORDER BY id";
static const char SQL_REACHED_CONFIRMING[] =
    "SELECT 1 FROM order_events WHERE order_id = ? AND to_status = 'CONFIRMING' LIMIT 1";

/* The guarded transitions. Each names the status it leaves in its WHERE clause. */
static const char SQL_TO_CONFIRMING[] =
    "UPDATE orders SET status = 'CONFIRMING', payment_key = COALESCE(?, payment_key)"
    " WHERE id = ? AND status = 'PENDING' AND amount = ? AND expires_at > NOW(3)";
static const char SQL_SET_READY[] =
    "UPDATE orders SET payment_key = ?, pg_redirect_url = ?"
    " WHERE id = ? AND status = 'PENDING' AND payment_key IS NULL";
static const char SQL_ABANDON[] =
    "UPDATE orders SET status = ?, fail_code = ?, fail_message = ?"
    " WHERE id = ? AND status = 'PENDING'";
static const char SQL_EXPIRE[] =
    "UPDATE orders SET status = 'EXPIRED', fail_code = ?, fail_message = ?"
    " WHERE id = ? AND status = 'PENDING' AND expires_at <= NOW(3)";
static const char SQL_DUE[] =
    "SELECT public_id FROM orders WHERE status = 'PENDING' AND expires_at <= NOW(3)"
    " ORDER BY expires_at LIMIT ?";

static const char *const status_names[ORDER_STATUS__MAX] = {
	"PENDING", "CONFIRMING", "PAID", "FAILED", "UNKNOWN", "EXPIRED", "CANCELED",
	"PARTIALLY_CANCELED",
};

static const char *const pay_names[ORDER_PAY__MAX] = { "points", "toss", "kakaopay" };

/* Longest order_name, in characters (KakaoPay's item_name limit). */
#define ORDER_NAME_CHARS 100

/* Results of the transaction functions besides 0 and the enum db_rc values. */
enum orders_tx_rc {
	TX_SOLD_OUT = -200,
	TX_NO_POINTS = -201,
	TX_NOT_MOVED = -202,    /* the guarded UPDATE matched nothing */
};

const char *
orders_status_name(enum order_status s)
{
	return (unsigned)s < ORDER_STATUS__MAX ? status_names[s] : "?";
}

int
orders_status_parse(const char *s, enum order_status *out)
{
	int i;

	for (i = 0; s != NULL && i < ORDER_STATUS__MAX; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum order_status)i;
			return 0;
		}
	}
	return -1;
}

const char *
orders_pay_name(enum order_pay p)
{
	return (unsigned)p < ORDER_PAY__MAX ? pay_names[p] : "?";
}

int
orders_pay_parse(const char *s, enum order_pay *out)
{
	int i;

	for (i = 0; s != NULL && i < ORDER_PAY__MAX; i++) {
		if (strcmp(s, pay_names[i]) == 0) {
			*out = (enum order_pay)i;
			return 0;
		}
	}
	return -1;
}

bool
orders_status_final(enum order_status s)
{
	return s == ORDER_PAID || s == ORDER_FAILED || s == ORDER_EXPIRED || s == ORDER_CANCELED ||
	    s == ORDER_PARTIALLY_CANCELED;
}

/* ---- loading ------------------------------------------------------------------------- */

/* Fills *o from row i of an ORDER_COLUMNS result. Returns 0, or -1 when a stored enum is
 * unknown (a schema newer than this program). */
static int
order_from_row(const struct db_res *res, size_t i, struct order *o)
{
	memset(o, 0, sizeof(*o));
	o->id = db_res_i64(res, i, 0);
	snprintf(o->public_id, sizeof(o->public_id), "%s", db_res_str(res, i, 1));
	o->user_id = db_res_i64(res, i, 2);
	if (orders_status_parse(db_res_str(res, i, 3), &o->status) != 0 ||
	    orders_pay_parse(db_res_str(res, i, 4), &o->pay) != 0)
		return -1;
	o->amount = db_res_i64(res, i, 5);
	o->refunded_amount = db_res_i64(res, i, 6);
	o->order_name = db_res_str(res, i, 7);
	o->item_count = (int)db_res_i64(res, i, 8);
	o->payment_key = db_res_str(res, i, 9);
	o->pg_redirect_url = db_res_str(res, i, 10);
	o->fail_code = db_res_str(res, i, 11);
	o->fail_message = db_res_str(res, i, 12);
	o->expires_at = db_res_str(res, i, 13);
	o->paid_at = db_res_str(res, i, 14);
	o->created_at = db_res_str(res, i, 15);
	return 0;
}

/* Loads the lines and the timeline of *o. Returns 0 or an enum db_rc. */
static int
load_details(struct db *db, struct arena *a, struct order *o)
{
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_LINES, "i", o->id);
	if (n < 0)
		return (int)n;
	o->nlines = (size_t)n;
	o->lines = arena_alloc(a, (o->nlines + 1) * sizeof(*o->lines));
	for (i = 0; i < o->nlines; i++) {
		struct order_line *l = &o->lines[i];

		l->product_id = db_res_i64(&res, i, 0);
		l->seller_id = db_res_i64(&res, i, 1);
		l->name = db_res_str(&res, i, 2);
		l->unit_price = db_res_i64(&res, i, 3);
		l->quantity = (int)db_res_i64(&res, i, 4);
		l->canceled_quantity = (int)db_res_i64(&res, i, 5);
		l->amount = db_res_i64(&res, i, 6);
	}
	n = db_query(db, a, &res, SQL_EVENTS, "i", o->id);
	if (n < 0)
		return (int)n;
	o->nevents = (size_t)n;
	o->events = arena_alloc(a, (o->nevents + 1) * sizeof(*o->events));
	for (i = 0; i < o->nevents; i++) {
		struct order_event *e = &o->events[i];

		e->from = db_res_str(&res, i, 0);
		e->to = db_res_str(&res, i, 1);
		e->actor = db_res_str(&res, i, 2);
		e->note = db_res_str(&res, i, 3);
		e->at = db_res_str(&res, i, 4);
	}
	return 0;
}

int
orders_get(struct db *db, struct arena *a, const char *public_id, bool details, struct order *out)
{
	struct db_res res;
	int64_t n;
	int rc;

	if (public_id == NULL || strlen(public_id) != ORDERS_ID_LEN ||
	    !valid_token(public_id, ORDERS_ID_LEN, ORDERS_ID_LEN))
		return 0;
	n = db_query(db, a, &res, SQL_GET, "s", public_id);
	if (n <= 0)
		return (int)n;
	if (order_from_row(&res, 0, out) != 0)
		return DB_ERR;
	if (details) {
		rc = load_details(db, a, out);
		if (rc < 0)
			return rc;
	}
	return 1;
}

int64_t
orders_list(struct db *db, struct arena *a, int64_t user_id, int64_t before_id, size_t limit,
    struct order **out)
{
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_LIST, "iii", user_id, before_id > 0 ? before_id : INT64_MAX,
	    (int64_t)limit);
	if (n < 0)
		return n;
	*out = arena_alloc(a, ((size_t)n + 1) * sizeof(**out));
	for (i = 0; i < (size_t)n; i++)
		if (order_from_row(&res, i, &(*out)[i]) != 0)
			return DB_ERR;
	return n;
}

/* ---- checkout ------------------------------------------------------------------------ */

/* A checkout line priced from the database. */
struct priced_line {
	int64_t product_id;
	int64_t seller_id;
	const char *name;
	int64_t unit_price;
	int quantity;
	int64_t amount;
};

struct create_tx {
	const struct orders_create_req *req;
	struct arena *a;
	struct priced_line *lines;      /* sorted by product id */
	size_t nlines;
	int64_t amount;
	int item_count;
	const char *order_name;
	char public_id[ORDERS_ID_LEN + 1];
	int64_t order_id;               /* out */
	int64_t settle_job;             /* out: points only */
	struct shipping_quote shipping; /* the parcels and their fees (in amount) */
};

static int
cmp_priced(const void *a, const void *b)
{
	const struct priced_line *x = a, *y = b;

	return (x->product_id > y->product_id) - (x->product_id < y->product_id);
}

/* The first max_chars characters of the valid UTF-8 string s (a copy in a). */
static const char *
truncate_chars(struct arena *a, const char *s, size_t max_chars)
{
	size_t len = strlen(s), off = 0, chars = 0, n;
	uint32_t cp;

	while (off < len && chars < max_chars) {
		n = valid_utf8_next((const unsigned char *)s + off, len - off, &cp);
		if (n == 0)
			break;
		off += n;
		chars++;
	}
	return arena_strndup(a, s, off);
}

/* "첫 상품 외 2건" in the PGs' style: the first line the shopper listed, then how many
 * others; at most ORDER_NAME_CHARS characters (the suffix is at most 8 of them). */
static const char *
make_order_name(struct arena *a, const char *first, size_t nlines)
{
	if (nlines <= 1)
		return truncate_chars(a, first, ORDER_NAME_CHARS);
	return arena_printf(a, "%s 외 %zu건", truncate_chars(a, first, ORDER_NAME_CHARS - 8),
	    nlines - 1);
}

/* Adds each seller's parcel fee to the goods priced in t (lib/shop/shipping.c: the same quote
 * the checkout page showed). Returns ORDERS_CREATED, ORDERS_TOO_LARGE or
 * ORDERS_CREATE_FAILED. */
static enum orders_create_rc
quote_shipping(struct db *db, struct arena *a, const struct orders_create_req *req,
    struct create_tx *t)
{
	int64_t *sellers = arena_alloc(a, (t->nlines + 1) * sizeof(*sellers));
	int64_t *amounts = arena_alloc(a, (t->nlines + 1) * sizeof(*amounts));
	size_t i;
	int rc;

	for (i = 0; i < t->nlines; i++) {
		sellers[i] = t->lines[i].seller_id;
		amounts[i] = t->lines[i].amount;
	}
	rc = shipping_quote(db, a, &req->shipping, sellers, amounts, t->nlines, &t->shipping);
	if (rc == -2 || (rc == 0 && t->shipping.goods != t->amount))
		return ORDERS_TOO_LARGE;
	if (rc != 0)
		return ORDERS_CREATE_FAILED;
	t->amount = t->shipping.total;
	return ORDERS_CREATED;
}

/* Prices req's lines from the database into t (sorted by product id), with the order's
 * amount (goods and shipping), item count and name. Returns ORDERS_CREATED when all is well,
 * else the refusal. */
static enum orders_create_rc
price_lines(struct db *db, struct arena *a, const struct orders_create_req *req,
    struct create_tx *t)
{
	struct db_res res;
	struct buf ids;
	int64_t n;
	size_t i, j;
	const char *first_name = NULL;

	buf_init(&ids);
	buf_puts(&ids, "[");
	for (i = 0; i < req->nlines; i++)
		buf_printf(&ids, "%s%" PRId64, i > 0 ? "," : "", req->lines[i].product_id);
	buf_puts(&ids, "]");
	n = db_query(db, a, &res, SQL_PRICES, "s", buf_cstr(&ids));
	buf_release(&ids);
	if (n < 0)
		return ORDERS_CREATE_FAILED;

	t->lines = arena_alloc(a, req->nlines * sizeof(*t->lines));
	t->nlines = req->nlines;
	t->amount = 0;
	t->item_count = 0;
	for (i = 0; i < req->nlines; i++) {
		struct priced_line *l = &t->lines[i];
		bool found = false;

		for (j = 0; j < (size_t)n; j++) {
			if (db_res_i64(&res, j, 0) != req->lines[i].product_id)
				continue;
			found = db_res_i64(&res, j, 4) == 1;
			l->seller_id = db_res_i64(&res, j, 1);
			l->name = db_res_str(&res, j, 2);
			l->unit_price = db_res_i64(&res, j, 3);
			break;
		}
		if (!found)
			return ORDERS_NO_PRODUCT;
		l->product_id = req->lines[i].product_id;
		l->quantity = req->lines[i].quantity;
		if (money_mul(l->unit_price, l->quantity, &l->amount) != 0 ||
		    money_add(t->amount, l->amount, &t->amount) != 0)
			return ORDERS_TOO_LARGE;
		t->item_count += l->quantity;
		if (first_name == NULL)
			first_name = l->name;
	}
	t->order_name = make_order_name(a, first_name, req->nlines);
	qsort(t->lines, t->nlines, sizeof(*t->lines), cmp_priced);
	return quote_shipping(db, a, req, t);
}

/* True when a name the client sent for a line is not that product's name in t (priced from
 * the database, sorted by product id). Compared byte for byte: a renamed product, or a
 * client showing something else, must be looked at again. */
static bool
client_names_differ(const struct orders_create_req *req, const struct create_tx *t)
{
	size_t i, j;

	for (i = 0; i < req->nlines; i++) {
		if (req->lines[i].client_name == NULL)
			continue;
		for (j = 0; j < t->nlines; j++)
			if (t->lines[j].product_id == req->lines[i].product_id)
				break;
		if (j == t->nlines || strcmp(t->lines[j].name, req->lines[i].client_name) != 0)
			return true;
	}
	return false;
}

static int
create_tx_fn(struct db *db, void *arg)
{
	struct create_tx *t = arg;
	const struct orders_create_req *req = t->req;
	bool points = req->pay == ORDER_PAY_POINTS;
	const char *status = points ? "PAID" : "PENDING";
	enum ledger_rc lrc;
	int64_t rc;
	size_t i;

	/* A rerun after a deadlock gets a fresh id: the rolled-back one is gone anyway. */
	ids_new(t->public_id, sizeof(t->public_id));
	rc = db_exec(db, SQL_INSERT_ORDER, "sissisisis", t->public_id, req->user_id, status,
	    pay_names[req->pay], t->amount, t->order_name, (int64_t)t->item_count,
	    req->checkout_key, req->expire_seconds, status);
	if (rc < 0)
		return (int)rc;
	t->order_id = db_last_insert_id(db);
	for (i = 0; i < t->nlines; i++) {
		const struct priced_line *l = &t->lines[i];

		rc = db_exec(db, SQL_INSERT_LINE, "iiisiii", t->order_id, l->product_id, l->seller_id,
		    l->name, l->unit_price, (int64_t)l->quantity, l->amount);
		if (rc < 0)
			return (int)rc;
	}
	rc = db_exec(db, SQL_INSERT_EVENT, "issss", t->order_id, NULL, status, "shopper", NULL);
	if (rc < 0)
		return (int)rc;
	/* Each seller's parcel with its fee, and where the parcels go. */
	for (i = 0; i < t->shipping.n; i++) {
		rc = fulfilment_open(db, t->order_id, t->shipping.parcels[i].seller_id,
		    t->shipping.parcels[i].fee);
		if (rc < 0)
			return (int)rc;
	}
	if (req->ship_to != NULL) {
		rc = addresses_copy_to_order(db, t->order_id, req->ship_to);
		if (rc < 0)
			return (int)rc;
	}

	/* The contended rows last, in product-id order: the locks are held for the shortest
	 * time and every checkout takes them in the same order. */
	for (i = 0; i < t->nlines; i++) {
		const struct priced_line *l = &t->lines[i];

		rc = db_exec(db, SQL_RESERVE, "iii", (int64_t)l->quantity, l->product_id,
		    (int64_t)l->quantity);
		if (rc < 0)
			return (int)rc;
		if (rc == 0)
			return TX_SOLD_OUT;
	}
	if (!points)
		return 0;

	rc = db_exec(db, SQL_SPEND_POINTS, "iii", t->amount, req->user_id, t->amount);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return TX_NO_POINTS;
	for (i = 0; i < t->nlines; i++) {
		rc = catalog_sale_add(db, t->lines[i].product_id, t->lines[i].quantity);
		if (rc < 0)
			return (int)rc;
	}
	t->settle_job = outbox_add(db, JOB_SETTLE,
	    arena_printf(t->a, "{\"orderId\":\"%s\"}", t->public_id));
	if (t->settle_job < 0)
		return (int)t->settle_job;
	/* The shopper's mail: pushed by the janitor within janitor.grace_ms. */
	rc = outbox_add(db, JOB_NOTIFY,
	    arena_printf(t->a, "{\"orderId\":\"%s\",\"event\":\"paid\"}", t->public_id));
	if (rc < 0)
		return (int)rc;
	/* The posting last (after the points UPDATE, as ledger.h asks): the hot account's row
	 * stays locked only until the commit. */
	lrc = ledger_post_paid(db, t->public_id, "points", req->user_id, t->amount);
	if (lrc != LEDGER_POSTED && lrc != LEDGER_REPLAYED) {
		log_error(NULL, "order %s: paid posting refused: %s", t->public_id,
		    ledger_rc_name(lrc));
		return ledger_tx_rc(db, lrc);
	}
	return 0;
}

/* True when *o (loaded with details) is the order req describes: same method, same lines. */
static bool
same_checkout(const struct order *o, const struct orders_create_req *req)
{
	size_t i, j;

	if (o->pay != req->pay || o->nlines != req->nlines)
		return false;
	for (i = 0; i < req->nlines; i++) {
		for (j = 0; j < o->nlines; j++)
			if (o->lines[j].product_id == req->lines[i].product_id)
				break;
		if (j == o->nlines || o->lines[j].quantity != req->lines[i].quantity)
			return false;
	}
	return true;
}

int
orders_by_checkout_key(struct db *db, struct arena *a, int64_t user_id, const char *key,
    struct order *out)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_BY_CHECKOUT_KEY, "is", user_id, key);
	if (n <= 0)
		return (int)n;
	return orders_get(db, a, db_res_str(&res, 0, 0), true, out);
}

/* The checkout key was used before: the order it made, if it is the same checkout. */
static enum orders_create_rc
replay(struct db *db, struct arena *a, const struct orders_create_req *req, struct order *out)
{
	if (orders_by_checkout_key(db, a, req->user_id, req->checkout_key, out) != 1)
		return ORDERS_CREATE_FAILED;
	return same_checkout(out, req) ? ORDERS_REPLAYED : ORDERS_KEY_REUSED;
}

/* Fills *out with the order t just committed, from what the transaction wrote (only its
 * times are read back): a checkout answers without reloading what it knows. Returns 0 or an
 * enum db_rc. */
static int
created_order(struct db *db, struct arena *a, const struct create_tx *t, struct order *out)
{
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_TIMES, "i", t->order_id);
	if (n <= 0)
		return n < 0 ? (int)n : DB_ERR;
	memset(out, 0, sizeof(*out));
	out->id = t->order_id;
	memcpy(out->public_id, t->public_id, sizeof(out->public_id));
	out->user_id = t->req->user_id;
	out->status = t->req->pay == ORDER_PAY_POINTS ? ORDER_PAID : ORDER_PENDING;
	out->pay = t->req->pay;
	out->amount = t->amount;
	out->order_name = t->order_name;
	out->item_count = t->item_count;
	out->expires_at = db_res_str(&res, 0, 0);
	out->paid_at = db_res_str(&res, 0, 1);
	out->created_at = db_res_str(&res, 0, 2);
	out->nlines = t->nlines;
	out->lines = arena_alloc(a, t->nlines * sizeof(*out->lines));
	for (i = 0; i < t->nlines; i++) {
		out->lines[i].product_id = t->lines[i].product_id;
		out->lines[i].seller_id = t->lines[i].seller_id;
		out->lines[i].name = t->lines[i].name;
		out->lines[i].unit_price = t->lines[i].unit_price;
		out->lines[i].quantity = t->lines[i].quantity;
		out->lines[i].amount = t->lines[i].amount;
	}
	out->nevents = 1;
	out->events = arena_alloc(a, sizeof(*out->events));
	out->events[0].to = status_names[out->status];
	out->events[0].actor = "shopper";
	out->events[0].at = out->created_at;
	out->settle_job = t->settle_job;
	return 0;
}

enum orders_create_rc
orders_create(struct db *db, struct arena *a, const struct orders_create_req *req,
    struct order *out)
{
	struct create_tx t;
	struct db_res res;
	enum orders_create_rc prc;
	int64_t n;
	int rc;

	memset(&t, 0, sizeof(t));
	t.req = req;
	t.a = a;
	if (req->nlines == 0)
		return ORDERS_NO_PRODUCT;
	if (req->checkout_key != NULL) {
		rc = orders_by_checkout_key(db, a, req->user_id, req->checkout_key, out);
		if (rc < 0)
			return ORDERS_CREATE_FAILED;
		if (rc == 1)
			return same_checkout(out, req) ? ORDERS_REPLAYED : ORDERS_KEY_REUSED;
	}
	prc = price_lines(db, a, req, &t);
	if (prc != ORDERS_CREATED)
		return prc;
	if (client_names_differ(req, &t))
		return ORDERS_PRODUCT_CHANGED;
	if (req->client_amount >= 0 && req->client_amount != t.amount)
		return ORDERS_AMOUNT_MISMATCH;

	rc = db_tx(db, create_tx_fn, &t);
	switch (rc) {
	case 0:
		break;
	case TX_SOLD_OUT:
		return ORDERS_SOLD_OUT;
	case TX_NO_POINTS:
		return ORDERS_NO_POINTS;
	case DB_DUP:
		/* The same checkout key committed in between (a double submit racing itself). */
		if (req->checkout_key != NULL)
			return replay(db, a, req, out);
		return ORDERS_CREATE_FAILED;
	default:
		/* A foreign key on users is the one way a valid checkout can fail here. */
		n = db_query(db, a, &res, SQL_USER_EXISTS, "i", req->user_id);
		return n == 0 ? ORDERS_NO_USER : ORDERS_CREATE_FAILED;
	}
	if (created_order(db, a, &t, out) != 0)
		return ORDERS_CREATE_FAILED;
	return ORDERS_CREATED;
}

/* ---- transitions ---------------------------------------------------------------------- */

int
orders_release_stock(struct db *db, const struct order *o)
{
	size_t i;
	int64_t rc;

	for (i = 0; i < o->nlines; i++) {
		int64_t q = o->lines[i].quantity - o->lines[i].canceled_quantity;

		if (q <= 0)
			continue;
		rc = db_exec(db, SQL_RELEASE, "ii", q, o->lines[i].product_id);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}

struct confirm_tx {
	const struct order *o;
	const struct orders_pg_return *ret;
	struct arena *a;
	int64_t job;       /* out */
};

static int
confirm_tx_fn(struct db *db, void *arg)
{
	struct confirm_tx *t = arg;
	const struct orders_pg_return *ret = t->ret;
	struct json_object *p;
	int64_t rc;
	const char *payload;

	rc = db_exec(db, SQL_TO_CONFIRMING, "sii", ret->payment_key, t->o->id, t->o->amount);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return TX_NOT_MOVED;
	rc = db_exec(db, SQL_INSERT_EVENT, "issss", t->o->id, "PENDING", "CONFIRMING", "pg", NULL);
	if (rc < 0)
		return (int)rc;

	/* Everything the confirm worker needs, so it never has to trust a browser again. */
	p = json_object_new_object();
	json_object_object_add(p, "orderId", json_object_new_string(t->o->public_id));
	json_object_object_add(p, "pg", json_object_new_string(pay_names[t->o->pay]));
	json_object_object_add(p, "amount", json_object_new_int64(t->o->amount));
	json_object_object_add(p, "paymentKey", json_object_new_string(
	    ret->payment_key != NULL ? ret->payment_key : t->o->payment_key));
	if (ret->pg_token != NULL)
		json_object_object_add(p, "pgToken", json_object_new_string(ret->pg_token));
	json_object_object_add(p, "userRef", json_object_new_string(
	    arena_printf(t->a, "%" PRId64, t->o->user_id)));
	payload = arena_strdup(t->a, json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(p);
	t->job = outbox_add(db, JOB_PAYMENT_CONFIRM, payload);
	return t->job < 0 ? (int)t->job : 0;
}

/* How a PG return that found the order no longer PENDING is answered: a replay of a return
 * that got through (the attempt reached CONFIRMING with this key) is ORDERS_ALREADY. */
static enum orders_move_rc
classify_late_return(struct db *db, struct arena *a, const struct order *o,
    const struct orders_pg_return *ret)
{
	struct db_res res;
	int64_t n;

	n = db_query(db, a, &res, SQL_REACHED_CONFIRMING, "i", o->id);
	if (n < 0)
		return ORDERS_MOVE_FAILED;
	if (n == 0)
		return ORDERS_WRONG_STATE;
	if (ret->payment_key != NULL &&
	    (o->payment_key == NULL || strcmp(o->payment_key, ret->payment_key) != 0))
		return ORDERS_WRONG_STATE;
	return ORDERS_ALREADY;
}

enum orders_move_rc
orders_pg_returned(struct db *db, struct arena *a, const struct orders_pg_return *ret,
    struct order *out)
{
	struct confirm_tx t;
	int rc;

	rc = orders_get(db, a, ret->public_id, true, out);
	if (rc < 0)
		return ORDERS_MOVE_FAILED;
	if (rc == 0 || out->user_id != ret->user_id)
		return ORDERS_NOT_FOUND;
	if (out->pay != ret->pay)
		return ORDERS_TAMPERED;
	if (out->status != ORDER_PENDING)
		return classify_late_return(db, a, out, ret);
	if (ret->pay == ORDER_PAY_TOSS && (ret->amount != out->amount || ret->payment_key == NULL))
		return ORDERS_TAMPERED;
	if (ret->pay == ORDER_PAY_KAKAOPAY && (out->payment_key == NULL || ret->pg_token == NULL))
		return ORDERS_WRONG_STATE;  /* no ready call was made for it: nothing to approve */

	memset(&t, 0, sizeof(t));
	t.o = out;
	t.ret = ret;
	t.a = a;
	rc = db_tx(db, confirm_tx_fn, &t);
	if (rc == TX_NOT_MOVED) {
		/* Moved by someone else in between (a replay racing this one), or expired. */
		if (orders_get(db, a, ret->public_id, true, out) != 1)
			return ORDERS_MOVE_FAILED;
		if (out->status == ORDER_PENDING)
			return ORDERS_WRONG_STATE;  /* past expires_at: the janitor will expire it */
		return classify_late_return(db, a, out, ret);
	}
	if (rc != 0)
		return ORDERS_MOVE_FAILED;
	if (orders_get(db, a, ret->public_id, true, out) != 1)
		return ORDERS_MOVE_FAILED;
	out->confirm_job = t.job;
	return ORDERS_MOVED;
}

enum orders_move_rc
orders_set_pg_ready(struct db *db, int64_t order_id, const char *tid, const char *redirect_url)
{
	int64_t rc = db_exec(db, SQL_SET_READY, "ssi", tid, redirect_url, order_id);

	if (rc < 0)
		return ORDERS_MOVE_FAILED;
	return rc == 1 ? ORDERS_MOVED : ORDERS_WRONG_STATE;
}

struct abandon_tx {
	const struct order *o;
	enum order_status to;
	const char *actor;
	const char *code;
	const char *message;
};

static int
abandon_tx_fn(struct db *db, void *arg)
{
	struct abandon_tx *t = arg;
	int64_t rc;

	if (t->to == ORDER_EXPIRED)
		rc = db_exec(db, SQL_EXPIRE, "ssi", t->code, t->message, t->o->id);
	else
		rc = db_exec(db, SQL_ABANDON, "sssi", status_names[t->to], t->code, t->message,
		    t->o->id);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return TX_NOT_MOVED;
	rc = db_exec(db, SQL_INSERT_EVENT, "issss", t->o->id, "PENDING", status_names[t->to],
	    t->actor, t->message);
	if (rc < 0)
		return (int)rc;
	return orders_release_stock(db, t->o);
}

enum orders_move_rc
orders_abandon(struct db *db, struct arena *a, const char *public_id, int64_t user_id,
    enum order_status to, const char *actor, const char *code, const char *message,
    struct order *out)
{
	struct abandon_tx t;
	struct order local;
	struct order *o = out != NULL ? out : &local;
	int rc;

	if (to != ORDER_FAILED && to != ORDER_CANCELED && to != ORDER_EXPIRED)
		return ORDERS_WRONG_STATE;
	rc = orders_get(db, a, public_id, true, o);
	if (rc < 0)
		return ORDERS_MOVE_FAILED;
	if (rc == 0 || (user_id > 0 && o->user_id != user_id))
		return ORDERS_NOT_FOUND;
	if (o->status == to)
		return ORDERS_ALREADY;
	if (o->status != ORDER_PENDING)
		return ORDERS_WRONG_STATE;

	t.o = o;
	t.to = to;
	t.actor = actor;
	t.code = code;
	t.message = message;
	rc = db_tx(db, abandon_tx_fn, &t);
	if (rc != 0 && rc != TX_NOT_MOVED)
		return ORDERS_MOVE_FAILED;
	if (orders_get(db, a, public_id, true, o) != 1)
		return ORDERS_MOVE_FAILED;
	if (rc == TX_NOT_MOVED)
		return o->status == to ? ORDERS_ALREADY : ORDERS_WRONG_STATE;
	return ORDERS_MOVED;
}

int64_t
orders_expire_due(struct db *db, struct arena *a, size_t max)
{
	struct db_res res;
	int64_t n, done = 0;
	size_t i;

	n = db_query(db, a, &res, SQL_DUE, "i", (int64_t)max);
	if (n < 0)
		return n;
	for (i = 0; i < (size_t)n; i++) {
		enum orders_move_rc rc = orders_abandon(db, a, db_res_str(&res, i, 0), 0, ORDER_EXPIRED,
		    "janitor", "EXPIRED", "결제 시간이 지나 주문이 만료되었습니다.", NULL);

		if (rc == ORDERS_MOVED)
			done++;
		else if (rc == ORDERS_MOVE_FAILED)
			return done > 0 ? done : DB_ERR;
	}
	return done;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static struct json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
orders_json(const struct order *o)
{
	struct json_object *j = json_object_new_object();
	struct json_object *failure = NULL;
	size_t i;

	json_object_object_add(j, "orderId", json_object_new_string(o->public_id));
	json_object_object_add(j, "status", json_object_new_string(status_names[o->status]));
	json_object_object_add(j, "final", json_object_new_boolean(orders_status_final(o->status)));
	json_object_object_add(j, "payMethod", json_object_new_string(pay_names[o->pay]));
	json_object_object_add(j, "amount", json_object_new_int64(o->amount));
	json_object_object_add(j, "refundedAmount", json_object_new_int64(o->refunded_amount));
	json_object_object_add(j, "orderName", json_object_new_string(o->order_name));
	json_object_object_add(j, "itemCount", json_object_new_int(o->item_count));
	json_object_object_add(j, "createdAt", str_or_null(o->created_at));
	json_object_object_add(j, "paidAt", str_or_null(o->paid_at));
	json_object_object_add(j, "expiresAt", str_or_null(o->expires_at));
	if (o->fail_code != NULL) {
		failure = json_object_new_object();
		json_object_object_add(failure, "code", json_object_new_string(o->fail_code));
		json_object_object_add(failure, "message", str_or_null(o->fail_message));
	}
	json_object_object_add(j, "failure", failure);
	if (o->lines != NULL) {
		struct json_object *lines = json_object_new_array();

		for (i = 0; i < o->nlines; i++) {
			const struct order_line *l = &o->lines[i];
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "productId", json_object_new_int64(l->product_id));
			json_object_object_add(x, "name", json_object_new_string(l->name));
			json_object_object_add(x, "unitPrice", json_object_new_int64(l->unit_price));
			json_object_object_add(x, "quantity", json_object_new_int(l->quantity));
			json_object_object_add(x, "canceledQuantity",
			    json_object_new_int(l->canceled_quantity));
			json_object_object_add(x, "amount", json_object_new_int64(l->amount));
			json_object_array_add(lines, x);
		}
		json_object_object_add(j, "lines", lines);
	}
	if (o->events != NULL) {
		struct json_object *events = json_object_new_array();

		for (i = 0; i < o->nevents; i++) {
			const struct order_event *e = &o->events[i];
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "from", str_or_null(e->from));
			json_object_object_add(x, "to", json_object_new_string(e->to));
			json_object_object_add(x, "actor", json_object_new_string(e->actor));
			json_object_object_add(x, "note", str_or_null(e->note));
			json_object_object_add(x, "at", json_object_new_string(e->at));
			json_object_array_add(events, x);
		}
		json_object_object_add(j, "events", events);
	}
	return j;
}

/* How each payment method is named to shoppers (mails, 알림톡). */
static const char *const pay_labels[ORDER_PAY__MAX] = { "포인트", "토스페이먼츠", "카카오페이" };

const char *
orders_pay_label(enum order_pay p)
{
	return (unsigned)p < ORDER_PAY__MAX ? pay_labels[p] : "-";
}
