/* orderview: what the admin console reads about orders, never writes: the search over orders
 * and their shoppers, and an order's payment row. Everything that changes an order lives in
 * lib/shop/orders (and payments, refunds); this module only looks. Knows nothing of HTTP. */
#ifndef JT_ORDERVIEW_H
#define JT_ORDERVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "shop/orders.h"

struct arena;
struct db;

/* The orders list's orders (the console's column headers link to them). */
enum orderview_sort {
	ORDERVIEW_NEWEST,           /* "new": newest first (the default; pages by before_id) */
	ORDERVIEW_OLDEST,           /* "old" */
	ORDERVIEW_AMOUNT_DESC,      /* "amount_desc": the largest amount first */
	ORDERVIEW_AMOUNT_ASC,       /* "amount_asc" */
	ORDERVIEW_SORT__MAX
};

/* The sort's name in a URL ("new", ...). */
const char *orderview_sort_name(enum orderview_sort s);

/* Parses a sort's name. Returns 0 with *out set, or -1. */
int orderview_sort_parse(const char *name, enum orderview_sort *out);

/* A search: every condition given narrows it, the others are off. The caller validated the
 * values. */
struct orderview_query {
	const char *public_id;      /* the order's public id, or NULL */
	int64_t id;                 /* the order's internal id (its order number), or 0 */
	const char *created_day;    /* "YYYY-MM-DD": created that day (with id), or NULL */
	int64_t user_id;            /* the shopper's id, or 0 */
	const char *email;          /* the shopper's e-mail as stored, or NULL */
	enum order_status status;   /* ORDER_STATUS__MAX: any */
	const char *from_day;       /* "YYYY-MM-DD": created on or after that day, or NULL */
	const char *to_day;         /* "YYYY-MM-DD": created on or before that day, or NULL */
	const char *pay_method;     /* "toss", "kakaopay", "points", or NULL */
	int64_t before_id;          /* the page after the order with this internal id, or 0 */
	enum orderview_sort sort;
	int64_t offset;             /* rows to skip (pages of the sorts other than NEWEST) */
};

/* One order of a search's page. Strings live in the arena given to the search. */
struct orderview_row {
	int64_t id;                 /* internal: the next page's before_id */
	const char *public_id;
	const char *status;         /* the database's spelling ("PAID") */
	const char *pay_method;
	int64_t amount;
	int64_t refunded_amount;
	const char *order_name;
	const char *created_at;     /* "YYYY-MM-DD HH:MM:SS" */
	int64_t user_id;
	const char *email;
	const char *user_name;      /* the shopper's name as stored, or NULL */
};

/* An order's payment row (one per order: the PG approved it). Strings in the arena; any of
 * them may be NULL. */
struct orderview_payment {
	const char *pg;
	const char *payment_key;    /* Toss paymentKey / KakaoPay tid */
	int64_t amount;
	const char *status;
	const char *approved_at;
	const char *method;
	const char *created_at;     /* "YYYY-MM-DD HH:MM:SS" */
};

/* The orders matching q, in q->sort's order (ties: newest first), at most limit, into an array from a. Returns the
 * count or an enum db_rc. */
int64_t orderview_search(struct db *db, struct arena *a, const struct orderview_query *q,
    size_t limit, struct orderview_row **out);

/* The payment row of order order_id (internal id) into *out. Returns 1 found, 0 none (not
 * paid through a PG), or an enum db_rc. */
int orderview_payment(struct db *db, struct arena *a, int64_t order_id,
    struct orderview_payment *out);

#endif
