/* orders: the order's life from checkout to a final state, in MariaDB (sql/007_orders.sql):
 * checkout, loading and listing, the PG's returns, cancel and expiry. Every state change is
 * one short transaction around a move of lib/shop/order_state (the only module that writes
 * an order's status: a guarded UPDATE and its order_events row) and whatever must commit
 * with it (stock given back, an outbox job). An illegal transition matches no row, so it
 * changes nothing and says so. Stock is reserved at checkout with conditional UPDATEs in
 * product-id order, so orders that race on the same products wait on each other briefly
 * instead of deadlocking, and stock can never go negative. No function here makes a network
 * call or holds a transaction across one, except orders_pg_ready (the PG's ready call, made
 * with no transaction open). Knows nothing of HTTP: the outcomes below say what a caller
 * should answer. */
#ifndef JT_ORDERS_H
#define JT_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/bus.h"
#include "shop/order_state.h"
#include "shop/shipping.h"

struct address;
struct arena;
struct conf;
struct db;
struct json_object;

enum order_pay { ORDER_PAY_POINTS, ORDER_PAY_TOSS, ORDER_PAY_KAKAOPAY, ORDER_PAY__MAX };

/* Database spellings, indexed by value (for row descriptors: DB_ENUM). */
extern const char *const orders_status_names[ORDER_STATUS__MAX];
extern const char *const orders_pay_names[ORDER_PAY__MAX];

/* Database spelling ("PENDING", "toss") and back; parse returns 0 or -1. */
const char *orders_status_name(enum order_status s);
int orders_status_parse(const char *s, enum order_status *out);
const char *orders_pay_name(enum order_pay p);
int orders_pay_parse(const char *s, enum order_pay *out);

/* How a payment method is named to shoppers ("포인트", "토스페이먼츠", "카카오페이"); "-" out
 * of range. */
const char *orders_pay_label(enum order_pay p);

/* True for statuses nothing automatic will change any more (PAID may still be refunded by a
 * person). The "order received" page stops polling at these. */
bool orders_status_final(enum order_status s);

/* Checkout keys and public ids: ORDERS_KEY_MAX characters of [A-Za-z0-9_-] at most. */
#define ORDERS_KEY_MAX 64
#define ORDERS_ID_LEN 24

#define ORDERS_CLIENT_NAME_MAX 800  /* bytes of a client_name: products.name is VARCHAR(200)
                                    * of utf8mb4 */

struct orders_line_req {
	int64_t product_id;
	int quantity;
	const char *client_name;   /* the product name the client showed (seed 002's "name"),
	                            * checked against the current one; NULL when not sent */
};

struct orders_create_req {
	int64_t user_id;
	enum order_pay pay;
	const struct orders_line_req *lines;  /* 1..max_lines, distinct products, quantities
	                                       * 1..max_quantity: the caller validated them */
	size_t nlines;
	int64_t client_amount;     /* the total the shopper saw (goods and shipping); -1 when
	                            * not sent */
	const char *checkout_key;  /* idempotency of the checkout itself; NULL for none */
	int64_t expire_seconds;    /* how long a PG order holds its stock */
	struct shipping_rule shipping;     /* the shop's rule (lib/shop/shipping.h): each
	                                    * seller's parcel fee is added to the amount */
	const struct address *ship_to;     /* where it goes (checked; copied into the order), or
	                                    * NULL: seed 002's API has no address */
};

enum orders_create_rc {
	ORDERS_CREATED,            /* 201: *out is the new order */
	ORDERS_REPLAYED,           /* 200: this checkout_key made *out before */
	ORDERS_KEY_REUSED,         /* 422: this checkout_key made a different order */
	ORDERS_NO_PRODUCT,         /* 404: unknown or inactive product (seed 002's message) */
	ORDERS_SOLD_OUT,           /* 409: a line's stock is short; nothing reserved */
	ORDERS_AMOUNT_MISMATCH,    /* 409: client_amount differs from the database's total */
	ORDERS_PRODUCT_CHANGED,    /* 409: a line's client_name is not the product's name now */
	ORDERS_NO_POINTS,          /* 409: points balance below the total; nothing reserved */
	ORDERS_TOO_LARGE,          /* 422: the total passes MONEY_MAX (money_amount_ok) */
	ORDERS_NO_USER,            /* 404: the user does not exist */
	ORDERS_CREATE_FAILED,      /* 500: the database failed; nothing was written */
	ORDERS_CREATE__MAX
};

struct order_line {
	int64_t product_id;
	int64_t seller_id;
	const char *name;
	int64_t unit_price;
	int quantity;
	int canceled_quantity;
	int64_t amount;
};

struct order_event {
	const char *from;          /* NULL for the creation */
	const char *to;
	const char *actor;         /* "shopper", "pg", "janitor", "worker", "admin" */
	const char *note;          /* may be NULL */
	const char *at;            /* "YYYY-MM-DD HH:MM:SS" */
};

/* One order; strings live in the arena the order was loaded into. */
struct order {
	int64_t id;                /* internal; never shown */
	char public_id[ORDERS_ID_LEN + 1];
	int64_t user_id;
	enum order_status status;
	enum order_pay pay;
	int64_t amount;
	int64_t refunded_amount;
	const char *order_name;
	int item_count;            /* sum of quantities */
	const char *payment_key;   /* Toss paymentKey / KakaoPay tid, or NULL */
	const char *pg_redirect_url; /* KakaoPay's payment page, or NULL */
	const char *fail_code;     /* why it failed, or NULL */
	const char *fail_message;
	const char *expires_at;    /* "YYYY-MM-DD HH:MM:SS" */
	const char *paid_at;       /* or NULL */
	const char *created_at;
	struct order_line *lines;  /* filled when loaded with details, else NULL */
	size_t nlines;
	struct order_event *events;
	size_t nevents;
	struct bus_batch jobs;     /* what the call that filled it queued: push after it returns */
};

/* Before anything is written, what the client showed is checked against the shop as it is
 * now, as seed 000 checked the PG's item name and amount: a client_name that is not the
 * product's current name is ORDERS_PRODUCT_CHANGED, a client_amount that is not the total
 * ORDERS_AMOUNT_MISMATCH (the shopper saw another product or price: they must look again).
 * Creates an order in one transaction: the order row (PENDING for a PG; PAID for points),
 * written by one CALL of jt_checkout (sql/019_checkout.sql; a card checkout is that CALL and
 * the price query: two statements),
 * its lines priced from the database, the stock of each line reserved in product-id order,
 * and for points the balance taken with a guarded UPDATE and the paid effects
 * (order_state_paid: sale counted, settle and notify jobs, posting). Stock the price query
 * saw short, or a product this process saw sold out in the last 0.5 s (keyless checkouts
 * only), is ORDERS_SOLD_OUT without a transaction; only the reservation's guarded UPDATE
 * sells. With a checkout key, a key used before answers with its order (ORDERS_REPLAYED, or
 * ORDERS_KEY_REUSED for another basket) whatever else would be refused now. A deadlock
 * reruns the transaction inside; nothing partial is ever committed. On ORDERS_CREATED and
 * ORDERS_REPLAYED *out is the order with details (memory from a); out->jobs holds the jobs
 * to push after this returns. */
enum orders_create_rc orders_create(struct db *db, struct arena *a,
    const struct orders_create_req *req, struct order *out);

/* Loads the order with this public id into *out (with lines and events when details).
 * Returns 1 found, 0 unknown or malformed id, or an enum db_rc. */
int orders_get(struct db *db, struct arena *a, const char *public_id, bool details,
    struct order *out);

/* orders_get for a worker: the order with its lines, without the timeline (one statement
 * fewer). Returns 1 found, 0 unknown or malformed id, or an enum db_rc. */
int orders_get_lines(struct db *db, struct arena *a, const char *public_id, struct order *out);

/* orders_get_lines for public_ids[0..n) in two statements (a worker's batch): out[i] is the
 * order of public_ids[i] with found[i] 1, or zeroed with found[i] 0 when there is none.
 * Returns 0 or an enum db_rc. */
int orders_get_lines_many(struct db *db, struct arena *a, const char *const *public_ids,
    size_t n, struct order *out, int *found);

/* The order user_id's checkout with this key made, into *out (with details). Returns 1
 * found, 0 none, or an enum db_rc. */
int orders_by_checkout_key(struct db *db, struct arena *a, int64_t user_id, const char *key,
    struct order *out);

/* A page of user_id's orders, newest first, with ids below before_id (0: from the newest).
 * At most limit rows (without details) into an array from a. Returns the count or an enum
 * db_rc. */
int64_t orders_list(struct db *db, struct arena *a, int64_t user_id, int64_t before_id,
    size_t limit, struct order **out);

/* The outcome of a transition. */
enum orders_move_rc {
	ORDERS_MOVED,              /* done now */
	ORDERS_ALREADY,            /* it had been done before (a replay): nothing changed */
	ORDERS_NOT_FOUND,          /* no such order, or not this user's */
	ORDERS_WRONG_STATE,        /* the order's status does not allow it: nothing changed */
	ORDERS_TAMPERED,           /* the PG's return does not match the order: nothing changed */
	ORDERS_MOVE_FAILED,        /* the database failed: nothing changed */
	ORDERS_MOVE__MAX
};

/* What the PG's success return carried. */
struct orders_pg_return {
	const char *public_id;
	int64_t user_id;           /* the session's user: the order must be theirs */
	enum order_pay pay;        /* which return URL this came through */
	const char *payment_key;   /* Toss paymentKey; NULL for KakaoPay (its tid is stored) */
	const char *pg_token;      /* KakaoPay pg_token; NULL for Toss */
	int64_t amount;            /* Toss amount from the URL; -1 for KakaoPay (not sent) */
};

/* The PG sent the shopper back with success: checks owner, PENDING, method and amount (a
 * mismatch is ORDERS_TAMPERED and is logged by the caller), then in one transaction moves the
 * order to CONFIRMING, stores the payment key and queues a payment.confirm job (out->jobs:
 * push it after this returns). A replay of the same return answers ORDERS_ALREADY. *out is
 * the order afterwards with its lines but without its timeline (events NULL): the row and
 * the lines are read once, before the transaction, and a move is applied to *out in memory
 * (status, payment key), not read back. A caller showing the timeline loads it (orders_get). */
enum orders_move_rc orders_pg_returned(struct db *db, struct arena *a,
    const struct orders_pg_return *ret, struct order *out);

/* True when shoppers may pay with p: points always, a PG when it is configured. */
bool orders_pay_enabled(const struct conf *c, enum order_pay p);

/* A PG's fail return (its code, possibly NULL): true when it names the shopper's own cancel
 * in the payment window rather than a refusal (Toss's PAY_PROCESS_CANCELED; KakaoPay returns
 * a cancel to its own URL). */
bool orders_pg_back_canceled(enum order_pay pay, const char *code);

/* The shop's pages a PG's window sends the shopper back to (absolute URLs). */
struct orders_return_urls {
	const char *approval;
	const char *cancel;
	const char *fail;
};

/* KakaoPay's ready call for a new PENDING order o (loaded with details), made through this
 * process's breaker gate with no transaction open. On the PG's yes the tid and the payment
 * page are stored on the order (no status change); otherwise the order is ended FAILED by
 * the PG ("PG_READY_FAILED", stock back). *o is reloaded either way. Returns ORDERS_MOVED
 * (ready: o->pg_redirect_url is the page), ORDERS_ALREADY (the order was no longer PENDING
 * without a tid: nothing stored), ORDERS_WRONG_STATE (the ready call failed: the order was
 * ended) or ORDERS_MOVE_FAILED (the database). */
enum orders_move_rc orders_pg_ready(struct db *db, struct arena *a, const struct conf *c,
    const struct orders_return_urls *urls, struct order *o);

/* Ends a PENDING order without payment and gives its stock back, in one transaction:
 * to is ORDER_FAILED (by ORDER_BY_PG: the PG's fail return, code and message noted),
 * ORDER_CANCELED (ORDER_BY_SHOPPER) or ORDER_EXPIRED (ORDER_BY_JANITOR). user_id > 0
 * requires the order to be theirs; 0 is the system. A second call answers ORDERS_ALREADY
 * when the order already has that status. *out (may be NULL) is the order afterwards, with
 * details. */
enum orders_move_rc orders_abandon(struct db *db, struct arena *a, const char *public_id,
    int64_t user_id, enum order_status to, enum order_actor actor, const char *code,
    const char *message, struct order *out);

/* Expires PENDING orders whose expires_at has passed, at most max, each in its own
 * transaction. Returns how many were expired, or an enum db_rc. */
int64_t orders_expire_due(struct db *db, struct arena *a, size_t max);

/* The order as the API shows it: {"orderId", "status", "final", "payMethod", "amount",
 * "refundedAmount", "orderName", "itemCount", "createdAt", "paidAt", "expiresAt",
 * "failure": {"code","message"} | null, "lines": [...], "events": [...]} (lines and events
 * only when loaded). Returns a new reference. */
struct json_object *orders_json(const struct order *o);

#endif
