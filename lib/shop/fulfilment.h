/* fulfilment: getting a paid order to the shopper, beside (never instead of) its payment
 * status. Every seller ships their own goods, so an order has one delivery per seller
 * (order_deliveries, sql/017_delivery.sql) with its own state machine, owned here:
 *
 *   PREPARING (배송준비중) --ship(courier, tracking no.)--> SHIPPED (배송중)
 *   SHIPPED --deliver--> DELIVERED (배송완료) --shopper asks, within shipping.return_days-->
 *   RETURN_REQUESTED (반품요청) --the return is refunded (admin console, later)--> RETURNED
 *
 * Each move is one short transaction that locks the order row first (the lock order of every
 * refund, lib/shop/refunds.c), then a guarded UPDATE whose matched-row count decides. So a ship
 * and a shopper's cancel of the same order take turns: the cancel sees SHIPPED and is refused
 * (fulfilment_started), or the ship sees the order CANCELED and is refused. Only a paid order
 * (PAID or PARTIALLY_CANCELED) with goods of that seller left ships. The delivery rows are
 * written at checkout with the seller's shipping fee; an order from before them gets its row
 * when it first ships (fee 0). Knows nothing of HTTP. */
#ifndef JT_FULFILMENT_H
#define JT_FULFILMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;

enum delivery_status {
	DELIVERY_PREPARING,
	DELIVERY_SHIPPED,
	DELIVERY_DELIVERED,
	DELIVERY_RETURN_REQUESTED,
	DELIVERY_RETURNED,
	DELIVERY_STATUS__MAX
};

/* Database spelling ("SHIPPED") and back (0 or -1). */
const char *fulfilment_status_name(enum delivery_status s);
int fulfilment_status_parse(const char *s, enum delivery_status *out);

#define FULFILMENT_TRACKING_MAX 30   /* longest tracking number */
#define FULFILMENT_REASON_MAX 200    /* longest return reason, in characters */

/* A courier code ("cj", "hanjin", ...: the LABEL_COURIER rows of lib/shop/labels.c) and a
 * tracking number (6..30 of [A-Za-z0-9-]). Pure. */
bool fulfilment_courier_valid(const char *code);
bool fulfilment_tracking_valid(const char *s);

/* One seller's part of an order. Strings live in the arena the deliveries were read into. */
struct delivery {
	int64_t seller_id;
	const char *seller;          /* the seller's name */
	int64_t shipping_fee;        /* won charged for this seller's parcel in this order */
	enum delivery_status status;
	const char *courier;         /* code, or NULL before shipping */
	const char *tracking_no;     /* or NULL before shipping */
	const char *shipped_at;      /* "YYYY-MM-DD HH:MM:SS", or NULL */
	const char *delivered_at;
	const char *return_requested_at;
	const char *return_reason;
	int items_left;              /* units of this seller's lines not cancelled */
	bool returnable;             /* DELIVERED less than return_days ago (see below) */
};

/* The deliveries of order order_id, one per seller of its lines, by seller id, into an array
 * from a; returnable is worked out for return_days (shipping.return_days). Returns the count,
 * or -1 on a database error. */
int64_t fulfilment_of_order(struct db *db, struct arena *a, int64_t order_id, int return_days,
    struct delivery **out);

enum fulfilment_rc {
	FULFILMENT_DONE,          /* moved now */
	FULFILMENT_ALREADY,       /* it had been done before, the same way: nothing changed */
	FULFILMENT_NOT_FOUND,     /* no such order (or not this shopper's), or the seller has no
	                           * goods in it */
	FULFILMENT_WRONG_STATE,   /* the order is not paid, nothing of the seller's is left, or the
	                           * delivery is not where the move starts: nothing changed */
	FULFILMENT_TOO_LATE,      /* a return asked after shipping.return_days */
	FULFILMENT_BAD_INPUT,     /* an unknown courier, a malformed tracking number or reason */
	FULFILMENT_FAILED,        /* the database failed: nothing changed */
	FULFILMENT_RC__MAX
};

/* "DONE", "ALREADY", ... for logs and test routes. */
const char *fulfilment_rc_name(enum fulfilment_rc rc);

/* Writes the delivery row of seller_id in order order_id with its shipping fee (PREPARING).
 * Call inside the checkout transaction. Returns 0 or an enum db_rc. */
int fulfilment_open(struct db *db, int64_t order_id, int64_t seller_id, int64_t shipping_fee);

/* Ships seller_id's goods of order public_id: PREPARING → SHIPPED with the courier and the
 * tracking number. The same courier and number again answers ALREADY. */
enum fulfilment_rc fulfilment_ship(struct db *db, const char *public_id, int64_t seller_id,
    const char *courier, const char *tracking_no);

/* The parcel arrived: SHIPPED → DELIVERED. Again: ALREADY. */
enum fulfilment_rc fulfilment_deliver(struct db *db, const char *public_id, int64_t seller_id);

/* The shopper user_id asks to return seller_id's goods of their order public_id, with a reason
 * (1..FULFILMENT_REASON_MAX characters): DELIVERED → RETURN_REQUESTED, at most return_days
 * days after delivery (TOO_LATE after). Again: ALREADY. */
enum fulfilment_rc fulfilment_request_return(struct db *db, const char *public_id,
    int64_t user_id, int64_t seller_id, const char *reason, int return_days);

/* 1 when a delivery of order order_id has left PREPARING (shipped, delivered, returned): a
 * shopper's cancel is then a return. 0 when all are still being prepared, or an enum db_rc.
 * Read inside the transaction that locked the order row, so no ship slips in between. */
int fulfilment_started(struct db *db, int64_t order_id);

#endif
