/* inventory: what an admin does to products and their stock: create, edit, deactivate (or
 * reactivate), and adjust stock by hand with a reason (sql/014_admin.sql stock_adjustments).
 * Each change is one transaction that locks the rows it changes, changes them with a guarded
 * statement and writes its audit record (lib/shop/audit.h) before committing, so a change and its
 * record never part. Stock can never go negative: an adjustment that would take it below zero
 * changes nothing and says so. No network calls; the caller invalidates the catalog cache
 * (catalog_invalidate) after a product change commits. Knows nothing of HTTP. */
#ifndef JT_INVENTORY_H
#define JT_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;

#define INVENTORY_NAME_MAX 200          /* characters of a product name */
#define INVENTORY_DESC_MAX 5000         /* characters of a description (may be empty) */
#define INVENTORY_REASON_MAX 200        /* characters of a stock adjustment's reason */
#define INVENTORY_STOCK_MAX 1000000000  /* most units of one product (stock is an INT) */
#define INVENTORY_LIST_MAX 200          /* most products inventory_list returns at once */

/* One product as the console shows it, active or not. Strings live in the caller's arena. */
struct inventory_product {
	int64_t id;
	int64_t seller_id;
	const char *seller_name;
	const char *name;
	const char *description;
	int64_t price;
	bool active;
	int64_t stock;              /* units available now */
	const char *updated_at;     /* "YYYY-MM-DD HH:MM:SS" */
};

/* What create and update set. The caller validated the text (valid_text); the bounds below
 * are checked again here (INVENTORY_INVALID). */
struct inventory_fields {
	int64_t seller_id;          /* an existing seller */
	const char *name;           /* 1..INVENTORY_NAME_MAX characters */
	const char *description;    /* 0..INVENTORY_DESC_MAX characters */
	int64_t price;              /* 1..MONEY_MAX won */
};

enum inventory_rc {
	INVENTORY_OK,           /* done and audited */
	INVENTORY_UNCHANGED,    /* the product already was so: nothing written, nothing audited */
	INVENTORY_NOT_FOUND,    /* no such product */
	INVENTORY_NO_SELLER,    /* no such seller */
	INVENTORY_DUP_NAME,     /* the seller has another product of that name */
	INVENTORY_INVALID,      /* a field out of bounds, a zero delta, an empty reason */
	INVENTORY_NEGATIVE,     /* the adjustment would take stock below zero: nothing changed */
	INVENTORY_TOO_MUCH,     /* the adjustment would pass INVENTORY_STOCK_MAX */
	INVENTORY_FAILED,       /* the database failed: nothing changed */
	INVENTORY_RC__MAX
};

/* "ok", "not_found", ... for logs. */
const char *inventory_rc_name(enum inventory_rc rc);

/* Creates an active product with stock units (0..INVENTORY_STOCK_MAX), audited as
 * "product.create" by actor_id. Sets *id. Returns INVENTORY_OK, INVENTORY_NO_SELLER,
 * INVENTORY_DUP_NAME, INVENTORY_INVALID or INVENTORY_FAILED. */
enum inventory_rc inventory_create(struct db *db, int64_t actor_id,
    const struct inventory_fields *f, int64_t stock, int64_t *id);

/* Sets product id's seller, name, description and price, audited as "product.update" with
 * the product before and after. Returns INVENTORY_OK, INVENTORY_UNCHANGED,
 * INVENTORY_NOT_FOUND, INVENTORY_NO_SELLER, INVENTORY_DUP_NAME, INVENTORY_INVALID or
 * INVENTORY_FAILED. */
enum inventory_rc inventory_update(struct db *db, int64_t actor_id, int64_t id,
    const struct inventory_fields *f);

/* Deactivates (active false: shoppers no longer see or buy it) or reactivates product id,
 * audited as "product.deactivate" / "product.activate". Returns INVENTORY_OK,
 * INVENTORY_UNCHANGED, INVENTORY_NOT_FOUND or INVENTORY_FAILED. */
enum inventory_rc inventory_set_active(struct db *db, int64_t actor_id, int64_t id, bool active);

/* Adds delta (non-zero, may be negative) to product id's stock, with reason (1..
 * INVENTORY_REASON_MAX characters, validated by the caller): the stock row is locked, the new
 * value checked (never below 0, never past INVENTORY_STOCK_MAX), then set with a guarded
 * UPDATE, a stock_adjustments row and an audit record "stock.adjust" (before {"stock"},
 * after {"stock","delta","reason"}) in the same transaction. *before_qty and *after_qty (may
 * be NULL) are the stock around the change (on INVENTORY_NEGATIVE / TOO_MUCH: the stock now
 * and what it would have become). Returns INVENTORY_OK, INVENTORY_NOT_FOUND,
 * INVENTORY_INVALID, INVENTORY_NEGATIVE, INVENTORY_TOO_MUCH or INVENTORY_FAILED. */
enum inventory_rc inventory_adjust(struct db *db, int64_t actor_id, int64_t id, int64_t delta,
    const char *reason, int64_t *before_qty, int64_t *after_qty);

/* One product, active or not. Returns 1, 0 unknown, or an enum db_rc. */
int inventory_get(struct db *db, struct arena *a, int64_t id, struct inventory_product *out);

/* Products (active and not) whose name contains q (NULL or "": all), id descending, ids below
 * before_id (0: from the newest), at most limit (1..INVENTORY_LIST_MAX), descriptions left
 * NULL. Returns the count or an enum db_rc. */
int64_t inventory_list(struct db *db, struct arena *a, const char *q, int64_t before_id,
    size_t limit, struct inventory_product **out);

/* One manual stock change. */
struct inventory_adjustment {
	int64_t id;
	int64_t actor_id;
	const char *actor_email;
	int64_t delta;
	int64_t before_qty;
	int64_t after_qty;
	const char *reason;
	const char *at;
};

/* The newest stock adjustments of product id, at most limit. Returns the count or an enum
 * db_rc. */
int64_t inventory_adjustments(struct db *db, struct arena *a, int64_t id, size_t limit,
    struct inventory_adjustment **out);

struct inventory_seller {
	int64_t id;
	const char *name;
};

/* Every seller by name (for the product form's choice), at most 1000. Returns the count or
 * an enum db_rc. */
int64_t inventory_sellers(struct db *db, struct arena *a, struct inventory_seller **out);

#endif
