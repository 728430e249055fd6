/* orders_create: checkout: the lines priced from the database, then one transaction that
 * writes the order, reserves its stock and, for points, pays it (see orders.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"
#include "infra/db.h"
#include "shop/addresses.h"
#include "shop/fulfilment.h"
#include "shop/order_state.h"
#include "shop/orders.h"

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
static const char SQL_SPEND_POINTS[] =
    "UPDATE users SET points = points - ? WHERE id = ? AND points >= ?";
static const char SQL_TIMES[] =
    "SELECT DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i:%s') AS expires_at,"
    " DATE_FORMAT(paid_at, '%Y-%m-%d %H:%i:%s') AS paid_at,"
    " DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') AS created_at FROM orders WHERE id = ?";

/* A priced product as SQL_PRICES gives it. */
struct price {
	int64_t id;
	int64_t seller_id;
	const char *name;
	int64_t price;
	bool active;
};

static const struct db_field price_fields[] = {
	DB_FIELD(struct price, id, DB_F_I64, "id"),
	DB_FIELD(struct price, seller_id, DB_F_I64, "seller_id"),
	DB_FIELD(struct price, name, DB_F_STR, "name"),
	DB_FIELD(struct price, price, DB_F_I64, "price"),
	DB_FIELD(struct price, active, DB_F_BOOL, "active"),
	DB_FIELDS_END,
};

static const struct db_field time_fields[] = {
	DB_FIELD(struct order, expires_at, DB_F_STR, "expires_at"),
	DB_FIELD(struct order, paid_at, DB_F_STR, "paid_at"),
	DB_FIELD(struct order, created_at, DB_F_STR, "created_at"),
	DB_FIELDS_END,
};

/* Longest order_name, in characters (KakaoPay's item_name limit). */
#define ORDER_NAME_CHARS 100

/* What the transaction writes; the order it makes is built in o as it goes. */
struct create_tx {
	const struct orders_create_req *req;
	struct arena *a;
	struct order o;                 /* lines priced and sorted by product id; id, public_id,
	                                 * status and jobs set by the transaction */
	enum orders_create_rc why;      /* DB_ABORT: the refusal */
	struct shipping_quote shipping; /* each seller's parcel and its fee (in o.amount) */
};

static int
cmp_line(const void *a, const void *b)
{
	const struct order_line *x = a, *y = b;

	return (x->product_id > y->product_id) - (x->product_id < y->product_id);
}

/* "첫 상품 외 2건" in the PGs' style: the first line the shopper listed, then how many
 * others; at most ORDER_NAME_CHARS characters (the suffix is at most 8 of them). */
static const char *
make_order_name(struct arena *a, const char *first, size_t nlines)
{
	if (nlines <= 1)
		return arena_strndup(a, first, valid_utf8_cut_chars(first, ORDER_NAME_CHARS));
	return arena_printf(a, "%s 외 %zu건",
	    arena_strndup(a, first, valid_utf8_cut_chars(first, ORDER_NAME_CHARS - 8)), nlines - 1);
}

/* The priced row of product id among n rows of res into *p. Returns 1 found, 0 not. */
static int
find_price(const struct db_res *res, size_t n, int64_t id, struct price *p)
{
	size_t j;

	for (j = 0; j < n; j++) {
		if (db_col_i64(res, j, "id") != id)
			continue;
		return db_res_map(res, j, price_fields, p) == 0;
	}
	return 0;
}

/* Adds each seller's parcel fee to the goods priced in t->o (lib/shop/shipping.c: the same
 * quote the checkout page showed). Returns ORDERS_CREATED, ORDERS_TOO_LARGE or
 * ORDERS_CREATE_FAILED. */
static enum orders_create_rc
quote_shipping(struct db *db, struct arena *a, const struct orders_create_req *req,
    struct create_tx *t)
{
	struct order *o = &t->o;
	int64_t *sellers = arena_alloc(a, (o->nlines + 1) * sizeof(*sellers));
	int64_t *amounts = arena_alloc(a, (o->nlines + 1) * sizeof(*amounts));
	size_t i;
	int rc;

	for (i = 0; i < o->nlines; i++) {
		sellers[i] = o->lines[i].seller_id;
		amounts[i] = o->lines[i].amount;
	}
	rc = shipping_quote(db, a, &req->shipping, sellers, amounts, o->nlines, &t->shipping);
	if (rc == -2 || (rc == 0 && t->shipping.goods != o->amount))
		return ORDERS_TOO_LARGE;
	if (rc != 0)
		return ORDERS_CREATE_FAILED;
	if (!money_amount_ok(t->shipping.total))
		return ORDERS_TOO_LARGE;
	o->amount = t->shipping.total;
	return ORDERS_CREATED;
}

/* Prices req's lines from the database into t->o (sorted by product id), with the order's
 * amount (goods and shipping), item count and name. Returns ORDERS_CREATED when all is well,
 * else the refusal. */
static enum orders_create_rc
price_lines(struct db *db, struct arena *a, const struct orders_create_req *req,
    struct create_tx *t)
{
	struct order *o = &t->o;
	struct db_res res;
	struct price p;
	struct buf ids;
	int64_t n;
	size_t i;

	buf_init(&ids);
	buf_puts(&ids, "[");
	for (i = 0; i < req->nlines; i++)
		buf_printf(&ids, "%s%" PRId64, i > 0 ? "," : "", req->lines[i].product_id);
	buf_puts(&ids, "]");
	n = db_query(db, a, &res, SQL_PRICES, "s", buf_cstr(&ids));
	buf_release(&ids);
	if (n < 0)
		return ORDERS_CREATE_FAILED;

	o->lines = arena_alloc(a, req->nlines * sizeof(*o->lines));
	o->nlines = req->nlines;
	for (i = 0; i < req->nlines; i++) {
		struct order_line *l = &o->lines[i];

		memset(&p, 0, sizeof(p));
		if (find_price(&res, (size_t)n, req->lines[i].product_id, &p) != 1 || !p.active)
			return ORDERS_NO_PRODUCT;
		memset(l, 0, sizeof(*l));
		l->product_id = p.id;
		l->seller_id = p.seller_id;
		l->name = p.name;
		l->unit_price = p.price;
		l->quantity = req->lines[i].quantity;
		if (money_mul(l->unit_price, l->quantity, &l->amount) != 0 ||
		    money_add(o->amount, l->amount, &o->amount) != 0 || !money_amount_ok(o->amount))
			return ORDERS_TOO_LARGE;
		o->item_count += l->quantity;
	}
	o->order_name = make_order_name(a, o->lines[0].name, req->nlines);
	qsort(o->lines, o->nlines, sizeof(*o->lines), cmp_line);
	return quote_shipping(db, a, req, t);
}

/* True when a name the client sent for a line is not that product's name in o (priced from
 * the database, sorted by product id). Compared byte for byte: a renamed product, or a
 * client showing something else, must be looked at again. */
static bool
client_names_differ(const struct orders_create_req *req, const struct order *o)
{
	size_t i, j;

	for (i = 0; i < req->nlines; i++) {
		if (req->lines[i].client_name == NULL)
			continue;
		for (j = 0; j < o->nlines; j++)
			if (o->lines[j].product_id == req->lines[i].product_id)
				break;
		if (j == o->nlines || strcmp(o->lines[j].name, req->lines[i].client_name) != 0)
			return true;
	}
	return false;
}

/* For points: the balance taken (guarded), then the paid effects. */
static int
pay_with_points(struct db *db, struct create_tx *t)
{
	enum ledger_rc lrc;
	int64_t rc;

	rc = db_exec(db, SQL_SPEND_POINTS, "iii", t->o.amount, t->o.user_id, t->o.amount);
	if (rc < 0)
		return (int)rc;
	if (rc == 0) {
		t->why = ORDERS_NO_POINTS;
		return DB_ABORT;
	}
	/* The posting comes last in order_state_paid, after the points UPDATE, as ledger.h asks. */
	rc = order_state_paid(db, t->a, &t->o, NULL, &t->o.jobs, &lrc);
	if (rc == DB_ABORT)
		t->why = ORDERS_CREATE_FAILED;
	return (int)rc;
}

static int
create_tx_fn(struct db *db, void *arg)
{
	struct create_tx *t = arg;
	const struct orders_create_req *req = t->req;
	struct order *o = &t->o;
	const char *status = orders_status_name(o->status);
	int64_t rc;
	size_t i;

	bus_batch_clear(&o->jobs);
	/* A rerun after a deadlock gets a fresh id: the rolled-back one is gone anyway. */
	ids_new(o->public_id, sizeof(o->public_id));
	rc = db_exec(db, SQL_INSERT_ORDER, "sissisisis", o->public_id, o->user_id, status,
	    orders_pay_name(o->pay), o->amount, o->order_name, (int64_t)o->item_count,
	    req->checkout_key, req->expire_seconds, status);
	if (rc < 0)
		return (int)rc;
	o->id = db_last_insert_id(db);
	for (i = 0; i < o->nlines; i++) {
		const struct order_line *l = &o->lines[i];

		rc = db_exec(db, SQL_INSERT_LINE, "iiisiii", o->id, l->product_id, l->seller_id,
		    l->name, l->unit_price, (int64_t)l->quantity, l->amount);
		if (rc < 0)
			return (int)rc;
	}
	rc = order_state_created(db, o->id, o->status);
	if (rc < 0)
		return (int)rc;
	/* Each seller's parcel with its fee, and where the parcels go. */
	for (i = 0; i < t->shipping.n; i++) {
		rc = fulfilment_open(db, o->id, t->shipping.parcels[i].seller_id,
		    t->shipping.parcels[i].fee);
		if (rc < 0)
			return (int)rc;
	}
	if (req->ship_to != NULL) {
		rc = addresses_copy_to_order(db, o->id, req->ship_to);
		if (rc < 0)
			return (int)rc;
	}
	/* The contended rows last, in product-id order: the locks are held for the shortest
	 * time and every checkout takes them in the same order. */
	rc = order_state_reserve(db, o->lines, o->nlines);
	if (rc < 0)
		return (int)rc;
	if (rc == 0) {
		t->why = ORDERS_SOLD_OUT;
		return DB_ABORT;
	}
	return o->pay == ORDER_PAY_POINTS ? pay_with_points(db, t) : 0;
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

/* The checkout key was used before: the order it made, if it is the same checkout. */
static enum orders_create_rc
replay(struct db *db, struct arena *a, const struct orders_create_req *req, struct order *out)
{
	int rc = orders_by_checkout_key(db, a, req->user_id, req->checkout_key, out);

	if (rc < 0)
		return ORDERS_CREATE_FAILED;
	if (rc == 0)
		return ORDERS_CREATED;  /* the key is new */
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

	n = db_query(db, a, &res, SQL_TIMES, "i", t->o.id);
	if (n <= 0)
		return n < 0 ? (int)n : DB_ERR;
	*out = t->o;
	if (db_res_map(&res, 0, time_fields, out) != 0)
		return DB_ERR;
	out->nevents = 1;
	out->events = arena_alloc(a, sizeof(*out->events));
	memset(out->events, 0, sizeof(*out->events));
	out->events[0].to = orders_status_name(out->status);
	out->events[0].actor = order_state_actor_name(ORDER_BY_SHOPPER);
	out->events[0].at = out->created_at;
	return 0;
}

/* Maps a failed transaction: the refusal, a racing double submit, or a missing user. */
static enum orders_create_rc
create_failed(struct db *db, struct arena *a, const struct create_tx *t, int rc,
    struct order *out)
{
	const struct orders_create_req *req = t->req;
	enum orders_create_rc rrc;
	struct db_res res;

	if (rc == DB_ABORT)
		return t->why;
	if (rc == DB_DUP && req->checkout_key != NULL) {
		/* The same checkout key committed in between (a double submit racing itself). */
		rrc = replay(db, a, req, out);
		return rrc == ORDERS_CREATED ? ORDERS_CREATE_FAILED : rrc;
	}
	/* A foreign key on users is the one way a valid checkout can fail here. */
	return db_query(db, a, &res, SQL_USER_EXISTS, "i", req->user_id) == 0 ?
	    ORDERS_NO_USER : ORDERS_CREATE_FAILED;
}

enum orders_create_rc
orders_create(struct db *db, struct arena *a, const struct orders_create_req *req,
    struct order *out)
{
	struct create_tx t;
	enum orders_create_rc prc;
	int rc;

	if (req->nlines == 0)
		return ORDERS_NO_PRODUCT;
	if (req->checkout_key != NULL) {
		prc = replay(db, a, req, out);
		if (prc != ORDERS_CREATED)
			return prc;
	}
	memset(&t, 0, sizeof(t));
	t.req = req;
	t.a = a;
	t.o.user_id = req->user_id;
	t.o.pay = req->pay;
	t.o.status = req->pay == ORDER_PAY_POINTS ? ORDER_PAID : ORDER_PENDING;
	prc = price_lines(db, a, req, &t);
	if (prc != ORDERS_CREATED)
		return prc;
	if (client_names_differ(req, &t.o))
		return ORDERS_PRODUCT_CHANGED;
	if (req->client_amount >= 0 && req->client_amount != t.o.amount)
		return ORDERS_AMOUNT_MISMATCH;

	rc = db_tx(db, create_tx_fn, &t);
	if (rc != 0)
		return create_failed(db, a, &t, rc, out);
	if (created_order(db, a, &t, out) != 0)
		return ORDERS_CREATE_FAILED;
	log_debug(NULL, "order %s created (%s)", out->public_id, orders_status_name(out->status));
	return ORDERS_CREATED;
}
