/* orders_create: checkout: the lines priced from the database, then one CALL of jt_checkout
 * (sql/019_checkout.sql) that writes the order and reserves its stock, in its own
 * transaction for a card order, inside a db_tx that also pays it for points (see orders.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"
#include "infra/db.h"
#include "shop/addresses.h"
#include "shop/order_state.h"
#include "shop/orders.h"
#include "shop/shipping.h"

/* The products of a checkout, priced in one statement (the ids arrive as a JSON array), with
 * what else the checkout needs to know before its transaction: each seller's own shipping
 * rule (-1: the shop's) and the stock left (a committed read: it turns a sold-out checkout
 * away without a transaction; the guarded UPDATE in the transaction stays the one that
 * decides). */
static const char SQL_PRICES[] =
    "SELECT p.id, p.seller_id, p.name, p.price, p.active,"
    " COALESCE(s.shipping_fee, -1) AS seller_fee,"
    " COALESCE(s.free_shipping_over, -1) AS seller_free_over,"
    " COALESCE(k.available, 0) AS available"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (pid BIGINT UNSIGNED PATH '$')) AS j"
    " JOIN products p ON p.id = j.pid JOIN sellers s ON s.id = p.seller_id"
    " LEFT JOIN stock k ON k.product_id = p.id";
static const char SQL_USER_EXISTS[] =
    "SELECT 1 FROM users WHERE id = ?";
/* The checkout's writes in one statement (sql/019_checkout.sql): the order, its lines, its
 * CREATED event, its parcels, its address, its stock; it answers the order's id and times
 * (time_fields). Its first parameter: 1 its own transaction (card), 0 the caller's (points). */
static const char SQL_CHECKOUT[] =
    "CALL jt_checkout(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SPEND_POINTS[] =
    "UPDATE users SET points = points - ? WHERE id = ? AND points >= ?";

/* A priced product as SQL_PRICES gives it. */
struct price {
	int64_t id;
	int64_t seller_id;
	const char *name;
	int64_t price;
	bool active;
	int64_t seller_fee;         /* -1: the shop's */
	int64_t seller_free_over;   /* -1: the shop's */
	int64_t available;
};

static const struct db_field price_fields[] = {
	DB_FIELD(struct price, id, DB_F_I64, "id"),
	DB_FIELD(struct price, seller_id, DB_F_I64, "seller_id"),
	DB_FIELD(struct price, name, DB_F_STR, "name"),
	DB_FIELD(struct price, price, DB_F_I64, "price"),
	DB_FIELD(struct price, active, DB_F_BOOL, "active"),
	DB_FIELD(struct price, seller_fee, DB_F_I64, "seller_fee"),
	DB_FIELD(struct price, seller_free_over, DB_F_I64, "seller_free_over"),
	DB_FIELD(struct price, available, DB_F_I64, "available"),
	DB_FIELDS_END,
};

static const struct db_field time_fields[] = {
	DB_FIELD(struct order, id, DB_F_I64, "id"),
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
	struct price *priced;           /* per line of o, in o's order: the price query's row */
	struct db_res made;             /* jt_checkout's answer: the order's id and times */
	const char *lines_json;         /* jt_checkout's JSON arguments (checkout_json) */
	const char *parcels_json;
	const char *address_json;       /* NULL: no address */
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
 * quote the checkout page showed, under the sellers' rules the price query read). Returns
 * ORDERS_CREATED or ORDERS_TOO_LARGE. */
static enum orders_create_rc
quote_shipping(struct arena *a, const struct orders_create_req *req, struct create_tx *t)
{
	struct order *o = &t->o;
	int64_t *sellers = arena_alloc(a, (o->nlines + 1) * sizeof(*sellers));
	int64_t *amounts = arena_alloc(a, (o->nlines + 1) * sizeof(*amounts));
	struct shipping_rule *rules = arena_alloc(a, (o->nlines + 1) * sizeof(*rules));
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		sellers[i] = o->lines[i].seller_id;
		amounts[i] = o->lines[i].amount;
		shipping_rule_seller(&req->shipping, t->priced[i].seller_fee,
		    t->priced[i].seller_free_over, &rules[i]);
	}
	if (shipping_quote_rules(a, sellers, amounts, rules, o->nlines, &t->shipping) != 0 ||
	    t->shipping.goods != o->amount || !money_amount_ok(t->shipping.total))
		return ORDERS_TOO_LARGE;
	o->amount = t->shipping.total;
	return ORDERS_CREATED;
}

/* Prices req's lines from the database into t->o (sorted by product id) and t->priced, with
 * the order's amount (goods and shipping), item count and name. One query. Returns
 * ORDERS_CREATED when all is well, else the refusal. */
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
	t->priced = arena_alloc(a, o->nlines * sizeof(*t->priced));
	for (i = 0; i < o->nlines; i++)
		if (find_price(&res, (size_t)n, o->lines[i].product_id, &t->priced[i]) != 1)
			return ORDERS_CREATE_FAILED;  /* found above */
	return quote_shipping(a, req, t);
}

/* ---- sold-out hints -------------------------------------------------------------------------
 * This process remembers, for SOLD_OUT_HINT_MS, the products whose stock it has seen at 0,
 * so that a flash sale's thousands of late buyers are turned away without a query. A hint
 * only ever refuses, and only a checkout without a checkout key (a keyed one may be a replay,
 * which outranks a refusal); it never sells: the reservation's guarded UPDATE stays the one
 * that decides. Stock given back shows again to this process within SOLD_OUT_HINT_MS. Process
 * state, not request state: a FastCGI child runs one request at a time. */
#define SOLD_OUT_HINT_MS 500
#define SOLD_OUT_HINTS 64            /* slots, by product id modulo */

static struct {
	int64_t product_id;
	int64_t until_ms;
} sold_out_hints[SOLD_OUT_HINTS];

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
hint_sold_out(int64_t product_id)
{
	size_t slot = (size_t)((uint64_t)product_id % SOLD_OUT_HINTS);

	sold_out_hints[slot].product_id = product_id;
	sold_out_hints[slot].until_ms = mono_ms() + SOLD_OUT_HINT_MS;
}

/* True when a line of req names a product this process saw sold out a moment ago. */
static bool
hinted_sold_out(const struct orders_create_req *req)
{
	int64_t now = -1;
	size_t i, slot;

	for (i = 0; i < req->nlines; i++) {
		slot = (size_t)((uint64_t)req->lines[i].product_id % SOLD_OUT_HINTS);
		if (sold_out_hints[slot].product_id != req->lines[i].product_id)
			continue;
		if (now < 0)
			now = mono_ms();
		if (now < sold_out_hints[slot].until_ms)
			return true;
	}
	return false;
}

/* True when the stock the price query saw cannot cover some product of t->o (the quantities
 * of the lines naming it, summed). Only a hint that saves a doomed transaction: stock taken
 * in between is caught by the reservation's guard, and stock given back in between is a race
 * this checkout lost either way. */
static bool
looks_sold_out(const struct create_tx *t)
{
	const struct order *o = &t->o;
	int64_t want;
	size_t i, j;

	for (i = 0; i < o->nlines; i++) {
		want = 0;
		for (j = 0; j < o->nlines; j++)
			if (o->lines[j].product_id == o->lines[i].product_id)
				want += o->lines[j].quantity;
		if (t->priced[i].available <= 0)
			hint_sold_out(o->lines[i].product_id);
		if (want > t->priced[i].available)
			return true;
	}
	return false;
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

/* For points: the balance taken (guarded), first in the transaction: the user's row is
 * locked exclusively before the order's foreign key takes a shared lock on it, so two
 * checkouts of one user queue instead of deadlocking (both holding the shared lock, both
 * wanting the exclusive one), and a refusal has written nothing. */
static int
spend_points(struct db *db, struct create_tx *t)
{
	int64_t rc = db_exec(db, SQL_SPEND_POINTS, "iii", t->o.amount, t->o.user_id, t->o.amount);

	if (rc < 0)
		return (int)rc;
	if (rc == 0) {
		t->why = ORDERS_NO_POINTS;
		return DB_ABORT;
	}
	return 0;
}

/* json as compact text copied into a; drops json. */
static const char *
json_text(struct arena *a, struct json_object *json)
{
	const char *text = arena_strdup(a,
	    json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN));

	json_object_put(json);
	return text;
}

/* jt_checkout's JSON arguments for t: the lines (in product-id order), the parcels and the
 * address (NULL when the checkout has none), in the arena. */
static void
checkout_json(struct create_tx *t)
{
	const struct order *o = &t->o;
	const struct address *ad = t->req->ship_to;
	struct json_object *rows, *row;
	size_t i;

	rows = json_object_new_array();
	for (i = 0; i < o->nlines; i++) {
		const struct order_line *l = &o->lines[i];

		row = json_object_new_array();
		json_object_array_add(row, json_object_new_int64(l->product_id));
		json_object_array_add(row, json_object_new_int64(l->quantity));
		json_object_array_add(row, json_object_new_int64(l->seller_id));
		json_object_array_add(row, json_object_new_string(l->name));
		json_object_array_add(row, json_object_new_int64(l->unit_price));
		json_object_array_add(row, json_object_new_int64(l->amount));
		json_object_array_add(rows, row);
	}
	t->lines_json = json_text(t->a, rows);
	rows = json_object_new_array();
	for (i = 0; i < t->shipping.n; i++) {
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_int64(t->shipping.parcels[i].seller_id));
		json_object_array_add(row, json_object_new_int64(t->shipping.parcels[i].fee));
		json_object_array_add(rows, row);
	}
	t->parcels_json = json_text(t->a, rows);
	t->address_json = NULL;
	if (ad == NULL)
		return;
	row = json_object_new_array();
	json_object_array_add(row, json_object_new_string(ad->f[ADDRESS_RECIPIENT]));
	json_object_array_add(row, json_object_new_string(ad->f[ADDRESS_PHONE]));
	json_object_array_add(row, json_object_new_string(ad->f[ADDRESS_ZIPCODE]));
	json_object_array_add(row, json_object_new_string(ad->f[ADDRESS_ADDRESS1]));
	json_object_array_add(row, json_object_new_string(ad->f[ADDRESS_ADDRESS2]));
	json_object_array_add(row, json_object_new_string(ad->f[ADDRESS_MEMO]));
	t->address_json = json_text(t->a, row);
}

/* The order's writes, one CALL: its own transaction (own_tx, through db_tx1: rerun on a
 * deadlock) or inside the caller's. o->id and the times it answers with come back in t->made.
 * Returns 0, DB_ABORT with t->why set for a refusal (the stock), or an enum db_rc. */
static int
call_checkout(struct db *db, struct create_tx *t, bool own_tx)
{
	const struct orders_create_req *req = t->req;
	struct order *o = &t->o;
	const char *status = orders_status_name(o->status);
	int64_t n;

	/* A rerun of the points transaction gets a fresh id: the rolled-back one is gone anyway
	 * (db_tx1 reruns with the same one, as nothing of its first run stayed either). */
	ids_new(o->public_id, sizeof(o->public_id));
	if (own_tx)
		n = db_tx1(db, t->a, &t->made, SQL_CHECKOUT, "isissisisisss", (int64_t)1,
		    o->public_id, o->user_id, status, orders_pay_name(o->pay), o->amount,
		    o->order_name, (int64_t)o->item_count, req->checkout_key, req->expire_seconds,
		    t->lines_json, t->parcels_json, t->address_json);
	else
		n = db_query(db, t->a, &t->made, SQL_CHECKOUT, "isissisisisss", (int64_t)0,
		    o->public_id, o->user_id, status, orders_pay_name(o->pay), o->amount,
		    o->order_name, (int64_t)o->item_count, req->checkout_key, req->expire_seconds,
		    t->lines_json, t->parcels_json, t->address_json);
	if (n == DB_REFUSED) {
		t->why = strcmp(db_error(db), order_state_sold_out_text()) == 0 ? ORDERS_SOLD_OUT :
		    ORDERS_CREATE_FAILED;
		return DB_ABORT;
	}
	if (n < 0)
		return (int)n;
	if (n != 1)
		return DB_ERR;
	o->id = db_res_i64(&t->made, 0, 0);
	return 0;
}

/* The points checkout's transaction: the balance first (spend_points), then the order's
 * writes (call_checkout: the stock rows, contended, last among them), then the paid effects,
 * whose ledger posting comes last (order_state_paid): the contended locks are held until the
 * commit only. */
static int
points_tx_fn(struct db *db, void *arg)
{
	struct create_tx *t = arg;
	struct order *o = &t->o;
	enum ledger_rc lrc;
	int rc;

	bus_batch_clear(&o->jobs);
	rc = spend_points(db, t);
	if (rc < 0)
		return rc;
	rc = call_checkout(db, t, false);
	if (rc < 0)
		return rc;
	/* The posting comes last in order_state_paid, after the points UPDATE, as ledger.h asks. */
	rc = order_state_paid(db, t->a, o, NULL, &o->jobs, &lrc);
	if (rc == DB_ABORT)
		t->why = ORDERS_CREATE_FAILED;
	return rc;
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

/* Fills *out with the order t just committed, from what the transaction wrote: a checkout
 * answers without reading anything back. Returns 0 or DB_ERR. */
static int
created_order(struct arena *a, const struct create_tx *t, struct order *out)
{
	*out = t->o;
	if (db_res_map(&t->made, 0, time_fields, out) != 0)
		return DB_ERR;
	out->nevents = 1;
	out->events = arena_alloc(a, sizeof(*out->events));
	memset(out->events, 0, sizeof(*out->events));
	out->events[0].to = orders_status_name(out->status);
	out->events[0].actor = order_state_actor_name(ORDER_BY_SHOPPER);
	out->events[0].at = out->created_at;
	return 0;
}

/* A checkout refused (prc), before its transaction or by it: with a checkout key, the order that key
 * made, if any, is the answer instead (a replay outranks what changed since). */
static enum orders_create_rc
refused(struct db *db, struct arena *a, const struct orders_create_req *req,
    enum orders_create_rc prc, struct order *out)
{
	enum orders_create_rc rrc;

	if (req->checkout_key == NULL)
		return prc;
	rrc = replay(db, a, req, out);
	return rrc == ORDERS_CREATED ? prc : rrc;
}

/* Maps a failed transaction: the refusal, a racing double submit, or a missing user. */
static enum orders_create_rc
create_failed(struct db *db, struct arena *a, const struct create_tx *t, int rc,
    struct order *out)
{
	const struct orders_create_req *req = t->req;
	enum orders_create_rc rrc;
	struct db_res res;

	if (rc == DB_ABORT)   /* the points or the stock refused: a replay's balance may be spent */
		return refused(db, a, req, t->why, out);
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
	if (req->checkout_key == NULL && hinted_sold_out(req))
		return ORDERS_SOLD_OUT;
	memset(&t, 0, sizeof(t));
	t.req = req;
	t.a = a;
	t.o.user_id = req->user_id;
	t.o.pay = req->pay;
	t.o.status = req->pay == ORDER_PAY_POINTS ? ORDER_PAID : ORDER_PENDING;
	/* Insert first: a checkout key used before shows up as a duplicate in the transaction
	 * (create_failed), or here when the checkout is refused before it. */
	prc = price_lines(db, a, req, &t);
	if (prc == ORDERS_CREATED && client_names_differ(req, &t.o))
		prc = ORDERS_PRODUCT_CHANGED;
	if (prc == ORDERS_CREATED && req->client_amount >= 0 && req->client_amount != t.o.amount)
		prc = ORDERS_AMOUNT_MISMATCH;
	if (prc == ORDERS_CREATED && looks_sold_out(&t))
		prc = ORDERS_SOLD_OUT;
	if (prc != ORDERS_CREATED)
		return prc == ORDERS_CREATE_FAILED ? prc : refused(db, a, req, prc, out);

	checkout_json(&t);
	if (req->pay == ORDER_PAY_POINTS)
		rc = db_tx(db, points_tx_fn, &t);
	else
		rc = call_checkout(db, &t, true);
	if (rc != 0)
		return create_failed(db, a, &t, rc, out);
	if (created_order(a, &t, out) != 0)
		return ORDERS_CREATE_FAILED;
	log_debug(NULL, "order %s created (%s)", out->public_id, orders_status_name(out->status));
	return ORDERS_CREATED;
}
