/* inventory: admin changes to products and stock, each one audited transaction. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "shop/audit.h"
#include "base/buf.h"
#include "infra/db.h"
#include "shop/inventory.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"

static const char SQL_SELLER_EXISTS[] =
    "SELECT id FROM sellers WHERE id = ?";
static const char SQL_NAME_TAKEN[] =
    "SELECT id FROM products WHERE seller_id = ? AND name = ? AND id <> ?";
static const char SQL_INSERT_PRODUCT[] =
    "INSERT INTO products (seller_id, name, description, price, active) VALUES (?, ?, ?, ?, 1)";
static const char SQL_INSERT_STOCK[] =
    "INSERT INTO stock (product_id, available) VALUES (?, ?)";
/* The product row locked for a change; the columns of its audit picture. */
static const char SQL_LOCK_PRODUCT[] =
    "SELECT id, seller_id, name, description, price, active FROM products WHERE id = ?"
    " FOR UPDATE";
static const char SQL_UPDATE_PRODUCT[] =
    "UPDATE products SET seller_id = ?, name = ?, description = ?, price = ? WHERE id = ?";
static const char SQL_SET_ACTIVE[] =
    "UPDATE products SET active = ? WHERE id = ? AND active = ?";
static const char SQL_LOCK_STOCK[] =
    "SELECT available FROM stock WHERE product_id = ? FOR UPDATE";
static const char SQL_SET_STOCK[] =
    "UPDATE stock SET available = ? WHERE product_id = ? AND available = ?";
static const char SQL_INSERT_ADJUSTMENT[] =
    "INSERT INTO stock_adjustments (product_id, actor_id, delta, before_qty, after_qty, reason)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_GET[] =
    "SELECT p.id, p.seller_id, s.name, p.name, p.description, p.price, p.active,"
    " COALESCE(st.available, 0), DATE_FORMAT(p.updated_at, '%Y-%m-%d %H:%i:%s')"
    " FROM products p JOIN sellers s ON s.id = p.seller_id"
    " LEFT JOIN stock st ON st.product_id = p.id WHERE p.id = ?";
static const char SQL_LIST[] =
    "SELECT p.id, p.seller_id, s.name, p.name, NULL, p.price, p.active,"
    " COALESCE(st.available, 0), DATE_FORMAT(p.updated_at, '%Y-%m-%d %H:%i:%s')"
    " FROM products p JOIN sellers s ON s.id = p.seller_id"
    " LEFT JOIN stock st ON st.product_id = p.id"
    " WHERE (? IS NULL OR p.name LIKE ?) AND (? = 0 OR p.id < ?)"
    " ORDER BY p.id DESC LIMIT ?";
static const char SQL_ADJUSTMENTS[] =
    "SELECT a.id, a.actor_id, u.email, a.delta, a.before_qty, a.after_qty, a.reason,"
    " DATE_FORMAT(a.created_at, '%Y-%m-%d %H:%i:%s')"
    " FROM stock_adjustments a JOIN users u ON u.id = a.actor_id"
    " WHERE a.product_id = ? ORDER BY a.id DESC LIMIT ?";
static const char SQL_SELLERS[] =
    "SELECT id, name FROM sellers ORDER BY name, id LIMIT 1000";

static const struct db_field product_fields[] = {
	DB_FIELD(struct inventory_fields, seller_id, DB_F_I64, "seller_id"),
	DB_FIELD(struct inventory_fields, name, DB_F_STR, "name"),
	DB_FIELD(struct inventory_fields, description, DB_F_STR, "description"),
	DB_FIELD(struct inventory_fields, price, DB_F_I64, "price"),
	DB_FIELDS_END,
};

static const char *const rc_names[INVENTORY_RC__MAX] = {
	[INVENTORY_OK] = "ok",
	[INVENTORY_UNCHANGED] = "unchanged",
	[INVENTORY_NOT_FOUND] = "not_found",
	[INVENTORY_NO_SELLER] = "no_seller",
	[INVENTORY_DUP_NAME] = "dup_name",
	[INVENTORY_INVALID] = "invalid",
	[INVENTORY_NEGATIVE] = "negative",
	[INVENTORY_TOO_MUCH] = "too_much",
	[INVENTORY_FAILED] = "failed",
};


const char *
inventory_rc_name(enum inventory_rc rc)
{
	if ((unsigned)rc >= INVENTORY_RC__MAX)
		return "?";
	return rc_names[rc];
}

/* A transaction's refusal: why is stored, DB_ABORT rolls it back (nothing written). */
static int
refuse(enum inventory_rc *why, enum inventory_rc rc)
{
	*why = rc;
	return DB_ABORT;
}

/* The outcome of a transaction that returned rc, having refused for *why (read after the
 * transaction ran). */
static enum inventory_rc
tx_result(int rc, const enum inventory_rc *why)
{
	if (rc == 0)
		return INVENTORY_OK;
	return rc == DB_ABORT ? *why : INVENTORY_FAILED;
}

static bool
fields_ok(const struct inventory_fields *f)
{
	size_t dlen;

	if (f == NULL || f->seller_id <= 0 || f->price < 1 || f->price > MONEY_MAX ||
	    f->name == NULL || f->description == NULL)
		return false;
	if (!valid_text(f->name, strlen(f->name), INVENTORY_NAME_MAX, false))
		return false;
	dlen = strlen(f->description);
	return dlen == 0 || valid_text(f->description, dlen, INVENTORY_DESC_MAX, true);
}

/* The audit picture of a product's descriptive fields. */
static struct json_object *
picture(int64_t id, const struct inventory_fields *f, bool active)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "sellerId", json_object_new_int64(f->seller_id));
	json_object_object_add(o, "name", json_object_new_string(f->name));
	json_object_object_add(o, "description", json_object_new_string(f->description));
	json_object_object_add(o, "price", json_object_new_int64(f->price));
	json_object_object_add(o, "active", json_object_new_boolean(active));
	return o;
}

/* Writes the audit record with the two pictures and drops them. */
static int
audit_pictures(struct db *db, int64_t actor_id, const char *action, int64_t id,
    struct json_object *before, struct json_object *after)
{
	char target[48];
	int rc;

	snprintf(target, sizeof(target), "product:%" PRId64, id);
	rc = audit_record_json(db, actor_id, action, target, before, after);
	json_object_put(before);
	json_object_put(after);
	return rc;
}

/* Checks that the seller exists and that no other product of it has the name. */
static int
check_seller_name(struct db *db, struct arena *a, const struct inventory_fields *f, int64_t id,
    enum inventory_rc *why)
{
	struct db_res res;
	int64_t rc;

	rc = db_query(db, a, &res, SQL_SELLER_EXISTS, "i", f->seller_id);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return refuse(why, INVENTORY_NO_SELLER);
	rc = db_query(db, a, &res, SQL_NAME_TAKEN, "isi", f->seller_id, f->name, id);
	if (rc < 0)
		return (int)rc;
	return rc > 0 ? refuse(why, INVENTORY_DUP_NAME) : 0;
}

/* ---- create ---------------------------------------------------------------------------------- */

struct create_tx {
	struct arena *a;
	int64_t actor_id;
	const struct inventory_fields *f;
	int64_t stock;
	int64_t id;
	enum inventory_rc why;      /* DB_ABORT: the refusal */
};

static int
create_fn(struct db *db, void *arg)
{
	struct create_tx *t = arg;
	struct json_object *after;
	int64_t rc;
	int irc;

	t->id = 0;
	irc = check_seller_name(db, t->a, t->f, 0, &t->why);
	if (irc != 0)
		return irc;
	rc = db_exec(db, SQL_INSERT_PRODUCT, "issi", t->f->seller_id, t->f->name,
	    t->f->description, t->f->price);
	if (rc == DB_DUP)
		return refuse(&t->why, INVENTORY_DUP_NAME);
	if (rc < 0)
		return (int)rc;
	t->id = db_last_insert_id(db);
	rc = db_exec(db, SQL_INSERT_STOCK, "ii", t->id, t->stock);
	if (rc < 0)
		return (int)rc;
	after = picture(t->id, t->f, true);
	json_object_object_add(after, "stock", json_object_new_int64(t->stock));
	return audit_pictures(db, t->actor_id, "product.create", t->id, NULL, after);
}

enum inventory_rc
inventory_create(struct db *db, int64_t actor_id, const struct inventory_fields *f,
    int64_t stock, int64_t *id)
{
	struct create_tx t = { .actor_id = actor_id, .f = f, .stock = stock };
	enum inventory_rc rc;

	*id = 0;
	if (!fields_ok(f) || stock < 0 || stock > INVENTORY_STOCK_MAX || actor_id <= 0)
		return INVENTORY_INVALID;
	t.a = arena_new(1024);
	rc = tx_result(db_tx(db, create_fn, &t), &t.why);
	arena_free(&t.a);
	if (rc == INVENTORY_OK)
		*id = t.id;
	return rc;
}

/* ---- update and (de)activate ---------------------------------------------------------------- */

/* Locks product id and reads its fields. Returns 0, DB_ABORT (*why INVENTORY_NOT_FOUND) or
 * an enum db_rc. */
static int
lock_product(struct db *db, struct arena *a, int64_t id, struct inventory_fields *f,
    bool *active, enum inventory_rc *why)
{
	struct db_res res;
	int64_t rc;

	rc = db_query(db, a, &res, SQL_LOCK_PRODUCT, "i", id);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return refuse(why, INVENTORY_NOT_FOUND);
	if (db_res_map(&res, 0, product_fields, f) != 0)
		return DB_ERR;
	*active = db_col_i64(&res, 0, "active") != 0;
	return 0;
}

struct update_tx {
	struct arena *a;
	int64_t actor_id;
	int64_t id;
	const struct inventory_fields *f;
	bool active;                /* set_active: the wanted flag */
	enum inventory_rc why;      /* DB_ABORT: the refusal */
};

static int
update_fn(struct db *db, void *arg)
{
	struct update_tx *t = arg;
	struct inventory_fields old;
	bool active;
	int64_t rc;
	int irc;

	irc = lock_product(db, t->a, t->id, &old, &active, &t->why);
	if (irc != 0)
		return irc;
	if (old.seller_id == t->f->seller_id && old.price == t->f->price &&
	    strcmp(old.name, t->f->name) == 0 && strcmp(old.description, t->f->description) == 0)
		return refuse(&t->why, INVENTORY_UNCHANGED);
	irc = check_seller_name(db, t->a, t->f, t->id, &t->why);
	if (irc != 0)
		return irc;
	rc = db_exec(db, SQL_UPDATE_PRODUCT, "issii", t->f->seller_id, t->f->name,
	    t->f->description, t->f->price, t->id);
	if (rc == DB_DUP)
		return refuse(&t->why, INVENTORY_DUP_NAME);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return refuse(&t->why, INVENTORY_NOT_FOUND);
	return audit_pictures(db, t->actor_id, "product.update", t->id,
	    picture(t->id, &old, active), picture(t->id, t->f, active));
}

enum inventory_rc
inventory_update(struct db *db, int64_t actor_id, int64_t id, const struct inventory_fields *f)
{
	struct update_tx t = { .actor_id = actor_id, .id = id, .f = f };
	enum inventory_rc rc;

	if (!fields_ok(f) || id <= 0 || actor_id <= 0)
		return INVENTORY_INVALID;
	t.a = arena_new(1024);
	rc = tx_result(db_tx(db, update_fn, &t), &t.why);
	arena_free(&t.a);
	return rc;
}

static int
set_active_fn(struct db *db, void *arg)
{
	struct update_tx *t = arg;
	struct inventory_fields old;
	bool active;
	int64_t rc;
	int irc;

	irc = lock_product(db, t->a, t->id, &old, &active, &t->why);
	if (irc != 0)
		return irc;
	if (active == t->active)
		return refuse(&t->why, INVENTORY_UNCHANGED);
	rc = db_exec(db, SQL_SET_ACTIVE, "iii", (int64_t)t->active, t->id, (int64_t)active);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return refuse(&t->why, INVENTORY_UNCHANGED);
	return audit_pictures(db, t->actor_id, t->active ? "product.activate" : "product.deactivate",
	    t->id, picture(t->id, &old, active), picture(t->id, &old, t->active));
}

enum inventory_rc
inventory_set_active(struct db *db, int64_t actor_id, int64_t id, bool active)
{
	struct update_tx t = { .actor_id = actor_id, .id = id, .active = active };
	enum inventory_rc rc;

	if (id <= 0 || actor_id <= 0)
		return INVENTORY_INVALID;
	t.a = arena_new(1024);
	rc = tx_result(db_tx(db, set_active_fn, &t), &t.why);
	arena_free(&t.a);
	return rc;
}

/* ---- stock ----------------------------------------------------------------------------------- */

struct adjust_tx {
	struct arena *a;
	int64_t actor_id;
	int64_t id;
	int64_t delta;
	const char *reason;
	int64_t before;
	int64_t after;
	enum inventory_rc why;      /* DB_ABORT: the refusal */
};

static int
adjust_fn(struct db *db, void *arg)
{
	struct adjust_tx *t = arg;
	struct inventory_fields f;
	struct json_object *before, *after;
	struct db_res res;
	char target[48];
	bool active;
	int64_t rc;
	int irc;

	t->before = t->after = 0;
	/* The product row first, then its stock row: the order every change here takes. */
	irc = lock_product(db, t->a, t->id, &f, &active, &t->why);
	if (irc != 0)
		return irc;
	rc = db_query(db, t->a, &res, SQL_LOCK_STOCK, "i", t->id);
	if (rc < 0)
		return (int)rc;
	if (rc == 0) {
		/* A product made without a stock row (by hand): it has none in stock. */
		rc = db_exec(db, SQL_INSERT_STOCK, "ii", t->id, (int64_t)0);
		if (rc < 0)
			return (int)rc;
		t->before = 0;
	} else {
		t->before = db_res_i64(&res, 0, 0);
	}
	t->after = t->before + t->delta;    /* both within +-INVENTORY_STOCK_MAX: no overflow */
	if (t->after < 0)
		return refuse(&t->why, INVENTORY_NEGATIVE);
	if (t->after > INVENTORY_STOCK_MAX)
		return refuse(&t->why, INVENTORY_TOO_MUCH);
	rc = db_exec(db, SQL_SET_STOCK, "iii", t->after, t->id, t->before);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return DB_RETRY;            /* cannot happen under the row lock: rerun to be sure */
	rc = db_exec(db, SQL_INSERT_ADJUSTMENT, "iiiiis", t->id, t->actor_id, t->delta, t->before,
	    t->after, t->reason);
	if (rc < 0)
		return (int)rc;
	before = json_object_new_object();
	json_object_object_add(before, "stock", json_object_new_int64(t->before));
	after = json_object_new_object();
	json_object_object_add(after, "stock", json_object_new_int64(t->after));
	json_object_object_add(after, "delta", json_object_new_int64(t->delta));
	json_object_object_add(after, "reason", json_object_new_string(t->reason));
	snprintf(target, sizeof(target), "product:%" PRId64, t->id);
	irc = audit_record_json(db, t->actor_id, "stock.adjust", target, before, after);
	json_object_put(before);
	json_object_put(after);
	return irc;
}

enum inventory_rc
inventory_adjust(struct db *db, int64_t actor_id, int64_t id, int64_t delta, const char *reason,
    int64_t *before_qty, int64_t *after_qty)
{
	struct adjust_tx t = { .actor_id = actor_id, .id = id, .delta = delta, .reason = reason };
	enum inventory_rc rc;

	if (before_qty != NULL)
		*before_qty = 0;
	if (after_qty != NULL)
		*after_qty = 0;
	if (id <= 0 || actor_id <= 0 || delta == 0 || delta < -INVENTORY_STOCK_MAX ||
	    delta > INVENTORY_STOCK_MAX || reason == NULL ||
	    !valid_text(reason, strlen(reason), INVENTORY_REASON_MAX, false))
		return INVENTORY_INVALID;
	t.a = arena_new(1024);
	rc = tx_result(db_tx(db, adjust_fn, &t), &t.why);
	arena_free(&t.a);
	if (rc == INVENTORY_OK || rc == INVENTORY_NEGATIVE || rc == INVENTORY_TOO_MUCH) {
		if (before_qty != NULL)
			*before_qty = t.before;
		if (after_qty != NULL)
			*after_qty = t.after;
	}
	if (rc == INVENTORY_OK)
		log_info(NULL, "inventory: product %" PRId64 " stock %" PRId64 " -> %" PRId64
		    " by user %" PRId64, id, t.before, t.after, actor_id);
	return rc;
}

/* ---- reads ----------------------------------------------------------------------------------- */

static void
fill_product(const struct db_res *res, size_t i, struct inventory_product *p)
{
	p->id = db_res_i64(res, i, 0);
	p->seller_id = db_res_i64(res, i, 1);
	p->seller_name = db_res_str(res, i, 2);
	p->name = db_res_str(res, i, 3);
	p->description = db_res_str(res, i, 4);
	p->price = db_res_i64(res, i, 5);
	p->active = db_res_i64(res, i, 6) != 0;
	p->stock = db_res_i64(res, i, 7);
	p->updated_at = db_res_str(res, i, 8);
}

int
inventory_get(struct db *db, struct arena *a, int64_t id, struct inventory_product *out)
{
	struct db_res res;
	int64_t rc;

	memset(out, 0, sizeof(*out));
	rc = db_query(db, a, &res, SQL_GET, "i", id);
	if (rc <= 0)
		return (int)rc;
	fill_product(&res, 0, out);
	return 1;
}

int64_t
inventory_list(struct db *db, struct arena *a, const char *q, int64_t before_id, size_t limit,
    struct inventory_product **out)
{
	struct inventory_product *p;
	const char *like = NULL;
	struct db_res res;
	int64_t rc;
	size_t i;

	*out = NULL;
	if (limit < 1 || limit > INVENTORY_LIST_MAX || before_id < 0)
		return DB_ERR;
	if (q != NULL && q[0] != '\0') {
		struct buf b;

		buf_init(&b);
		buf_putc(&b, '%');
		for (; *q != '\0'; q++) {
			if (*q == '%' || *q == '_' || *q == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *q);
		}
		buf_putc(&b, '%');
		like = arena_strdup(a, buf_cstr(&b));
		buf_release(&b);
	}
	rc = db_query(db, a, &res, SQL_LIST, "ssiii", like, like, before_id, before_id,
	    (int64_t)limit);
	if (rc < 0)
		return rc;
	p = arena_alloc(a, sizeof(*p) * (res.nrows + 1));
	for (i = 0; i < res.nrows; i++)
		fill_product(&res, i, &p[i]);
	*out = p;
	return (int64_t)res.nrows;
}

int64_t
inventory_adjustments(struct db *db, struct arena *a, int64_t id, size_t limit,
    struct inventory_adjustment **out)
{
	struct inventory_adjustment *j;
	struct db_res res;
	int64_t rc;
	size_t i;

	*out = NULL;
	rc = db_query(db, a, &res, SQL_ADJUSTMENTS, "ii", id, (int64_t)limit);
	if (rc < 0)
		return rc;
	j = arena_alloc(a, sizeof(*j) * (res.nrows + 1));
	for (i = 0; i < res.nrows; i++) {
		j[i].id = db_res_i64(&res, i, 0);
		j[i].actor_id = db_res_i64(&res, i, 1);
		j[i].actor_email = db_res_str(&res, i, 2);
		j[i].delta = db_res_i64(&res, i, 3);
		j[i].before_qty = db_res_i64(&res, i, 4);
		j[i].after_qty = db_res_i64(&res, i, 5);
		j[i].reason = db_res_str(&res, i, 6);
		j[i].at = db_res_str(&res, i, 7);
	}
	*out = j;
	return (int64_t)res.nrows;
}

int64_t
inventory_sellers(struct db *db, struct arena *a, struct inventory_seller **out)
{
	struct inventory_seller *s;
	struct db_res res;
	int64_t rc;
	size_t i;

	*out = NULL;
	rc = db_query(db, a, &res, SQL_SELLERS, "");
	if (rc < 0)
		return rc;
	s = arena_alloc(a, sizeof(*s) * (res.nrows + 1));
	for (i = 0; i < res.nrows; i++) {
		s[i].id = db_res_i64(&res, i, 0);
		s[i].name = db_res_str(&res, i, 1);
	}
	*out = s;
	return (int64_t)res.nrows;
}
