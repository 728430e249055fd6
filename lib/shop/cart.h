/* cart: a shopper's cart, held in Redis as one hash per owner (product id -> quantity) with a
 * sliding TTL: cart:s:{session id} for a guest, cart:u:{user id} for a signed-in user. At login
 * the guest's cart is merged into the user's. A cart holds no prices: checkout prices every
 * line from the database. Losing Redis loses carts, never money. Knows nothing of HTTP. */
#ifndef JT_CART_H
#define JT_CART_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct conf;
struct db;
struct redis;

/* Whose cart: exactly one of user_id (> 0) and session_id (non-NULL, a session id as
 * lib/shop/session makes them) is set. An owner that names no cart is refused by every call below
 * with CART_UNAVAILABLE, touching nothing (a programming error; logged). */
struct cart_owner {
	int64_t user_id;
	const char *session_id;
};

/* The limits, from the config (cart.max_lines, cart.max_quantity, cart.ttl_seconds). */
struct cart_limits {
	int max_lines;
	int max_quantity;
	int64_t ttl_seconds;
};

/* Fills *out from the config keys cart.max_lines, cart.max_quantity and cart.ttl_seconds. */
void cart_limits_from_conf(const struct conf *c, struct cart_limits *out);

/* One line as shown to the shopper, joined with the catalog. */
struct cart_line {
	int64_t product_id;
	int quantity;
	const char *name;          /* in the arena; "" when the product no longer exists (a
	                            * deactivated product keeps its name) */
	int64_t unit_price;        /* current price, won; 0 when the line is not active */
	int64_t line_amount;       /* unit_price * quantity (overflow-checked); 0 when inactive */
	int available;             /* stock available now */
	int active;                /* 0 when the product was deactivated or deleted */
	int64_t seller_id;         /* 0 when the product no longer exists */
	const char *seller;        /* the seller's name, in the arena; "" when unknown */
	const char *image;         /* the product's first image URL, or NULL */
};

struct cart {
	struct cart_line *lines;   /* sorted by product id; in the arena */
	size_t nlines;
	int64_t total;             /* sum of line_amount over active lines, won */
	int total_quantity;        /* sum of quantity over active lines */
};

enum cart_rc {
	CART_OK = 0,
	CART_NO_PRODUCT = -10,     /* unknown or inactive product */
	CART_BAD_QUANTITY = -11,   /* quantity outside 1..max_quantity (0 allowed for cart_set: removes) */
	CART_FULL = -12,           /* adding a new product would pass max_lines */
	CART_UNAVAILABLE = -13,    /* Redis did not answer: nothing changed */
	CART_DB = -14,             /* the database failed */
};

/* Adds quantity (1..max_quantity) of product_id; an existing line grows, capped at
 * max_quantity. The product must exist and be active. Returns CART_OK or a cart_rc. */
int cart_add(struct redis *r, struct db *db, const struct cart_owner *o,
    const struct cart_limits *lim, int64_t product_id, int quantity);

/* Sets the line's quantity (0 removes it; 1..max_quantity). Setting a product that is not in
 * the cart adds it (same checks as cart_add). Returns CART_OK or a cart_rc. */
int cart_set(struct redis *r, struct db *db, const struct cart_owner *o,
    const struct cart_limits *lim, int64_t product_id, int quantity);

/* Removes the line (no error when absent). Returns CART_OK or CART_UNAVAILABLE. */
int cart_remove(struct redis *r, const struct cart_owner *o, int64_t product_id);

/* Loads the cart joined with current names, prices and stock (one query). Lines whose product
 * is gone are returned with active = 0 (and not counted in total) so the page can say so.
 * Refreshes the TTL. Returns CART_OK or a cart_rc (CART_DB also when the amounts would pass
 * int64); *out is valid on CART_OK (memory from a), empty otherwise. */
int cart_get(struct redis *r, struct db *db, struct arena *a, const struct cart_owner *o,
    const struct cart_limits *lim, struct cart *out);

/* Empties the cart (after a successful checkout). Returns CART_OK or CART_UNAVAILABLE. */
int cart_clear(struct redis *r, const struct cart_owner *o);

/* Removes the lines of the n products in ids (those absent are ignored) with one HDEL: what
 * an order bought leaves the cart once it is paid for, or its payment is under way, while the
 * rest stays. Returns CART_OK or CART_UNAVAILABLE. */
int cart_remove_products(struct redis *r, const struct cart_owner *o, const int64_t *ids,
    size_t n);

/* How many different products the cart holds (the header's badge): one HLEN, no database, no
 * TTL refresh. Returns the count (0 for no cart), or -1 when Redis did not answer or the owner
 * names no cart. */
int cart_count(struct redis *r, const struct cart_owner *o);

/* Moves the guest cart of session_id into user_id's cart: quantities of the same product are
 * added and capped at max_quantity; lines beyond max_lines are dropped (lowest product ids
 * kept). The guest cart is deleted. Atomic (one Redis script). Idempotent when run twice. A
 * session_id that is not a session id names no guest cart: CART_OK, nothing done. Returns
 * CART_OK or CART_UNAVAILABLE. */
int cart_merge(struct redis *r, const char *session_id, int64_t user_id,
    const struct cart_limits *lim);

#endif
