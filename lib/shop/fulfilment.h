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
 * when it first ships (fee 0). A ship and a delivery queue the shopper's notice (a notify job,
 * lib/infra/payload: "shipped" with the courier and number, "delivered") in their transaction,
 * and an admin's move writes its audit record there too (lib/shop/audit). The console's bulk
 * upload is fulfilment_bulk.c. Knows nothing of HTTP. */
#ifndef JT_FULFILMENT_H
#define JT_FULFILMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct bus;
struct db;
struct redis;

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

/* An order's delivery rows (one per seller, with its shipping fee, PREPARING) are opened by
 * jt_checkout (sql/019_checkout.sql), the single writer of a checkout's rows: a change to
 * this module's rule for them is made there too. */

#define FULFILMENT_ORDER_MAX 32   /* bytes of an order's public id or number */

/* Which parcel a staff move is about, and who makes it. */
struct fulfilment_move {
	const char *order;           /* the order's public id, or its number "20261206-000123"
	                              * (labels_order_no): [A-Za-z0-9-], <= FULFILMENT_ORDER_MAX */
	int64_t seller_id;
	int64_t actor_id;            /* the admin (> 0: audited as delivery.ship / .deliver with
	                              * target "order:<publicId>", the seller in before and
	                              * after); 0: a test route */
};

/* Ships m's parcel: PREPARING → SHIPPED with the courier and the tracking number, the
 * "shipped" notice queued with it (pushed on bus after the commit; bus may be NULL: the janitor
 * pushes). The same courier and number again answers ALREADY and queues nothing. NOT_FOUND
 * for a malformed order reference or seller id. */
enum fulfilment_rc fulfilment_ship(struct db *db, struct bus *bus, const struct fulfilment_move *m,
    const char *courier, const char *tracking_no);

/* The parcel arrived: SHIPPED → DELIVERED, with the "delivered" notice. Again: ALREADY. */
enum fulfilment_rc fulfilment_deliver(struct db *db, struct bus *bus,
    const struct fulfilment_move *m);

/* One parcel of the staff's queue (fulfilment_queue). Strings live in the arena given. */
struct fulfilment_parcel {
	int64_t order_id;            /* internal: the paging cursor */
	const char *public_id;
	char order_no[32];           /* labels_order_no */
	const char *ordered_at;      /* "YYYY-MM-DD HH:MM:SS" */
	int64_t seller_id;
	const char *seller;
	enum delivery_status status;
	const char *courier;         /* or NULL */
	const char *tracking_no;     /* or NULL */
	const char *shipped_at;      /* or NULL */
	int items_left;              /* units of the seller's lines not cancelled */
	const char *recipient;       /* the order's address, or NULL for an order without one */
	const char *zipcode, *address1, *address2, *memo;
};

/* What fulfilment_queue selects. */
struct fulfilment_queue_q {
	enum delivery_status status; /* PREPARING: with goods left to ship; SHIPPED: on their way */
	int64_t seller_id;           /* > 0: this seller's parcels only */
	int64_t after_order;         /* the cursor: parcels after (order id, seller id); 0, 0 */
	int64_t after_seller;        /* from the start */
	size_t limit;                /* 1..200 */
};

/* The parcels of paid orders (PAID or PARTIALLY_CANCELED) q selects, oldest order first, into
 * an array from a. Returns the count, or an enum db_rc (DB_ERR for a limit out of range). */
int64_t fulfilment_queue(struct db *db, struct arena *a, const struct fulfilment_queue_q *q,
    struct fulfilment_parcel **out);

/* ---- bulk upload (fulfilment_bulk.c) ------------------------------------------------- */

#define FULFILMENT_BULK_ROWS_MAX 500     /* data rows of one upload */
#define FULFILMENT_BULK_TEXT_MAX (256 * 1024)  /* bytes of one upload */
#define FULFILMENT_BULK_FIELD_MAX 64     /* bytes of one field */

/* One data row of an upload, as parsed: every field is the raw text trimmed of spaces
 * (valid UTF-8, at most FULFILMENT_BULK_FIELD_MAX bytes, copied into the arena), or the row
 * has a problem. The meaning of the fields is checked by fulfilment_bulk_apply. */
struct fulfilment_bulk_row {
	size_t line;                 /* 1-based line of the text */
	const char *order, *seller, *courier, *tracking_no;  /* "" when the row is malformed */
	const char *problem;         /* NULL, or a Korean reason the row cannot be read */
};

/* Parses CSV text "order number,seller id,courier,tracking number" (one row per line, LF or
 * CRLF, an optional UTF-8 byte-order mark, an optional header line whose first field is
 * "주문번호" or "order", blank lines skipped, no quoting: none of the fields holds a comma).
 * A row with the wrong number of fields, an over-long field or a control character (other than
 * a tab) keeps its line with a problem.
 * Returns the row count (>= 0) into an array from a, or -1 for a text that cannot be taken
 * as a whole (empty, over FULFILMENT_BULK_TEXT_MAX bytes or FULFILMENT_BULK_ROWS_MAX rows, not
 * UTF-8, a NUL byte) with a Korean reason in *err. Pure. */
int64_t fulfilment_bulk_parse(struct arena *a, const char *text, size_t len,
    struct fulfilment_bulk_row **out, const char **err);

/* What became of a row. */
enum fulfilment_bulk_outcome {
	FULFILMENT_BULK_SHIPPED,     /* shipped now */
	FULFILMENT_BULK_ALREADY,     /* it was shipped with this courier and number before */
	FULFILMENT_BULK_REFUSED,     /* nothing written for this row: see the message */
	FULFILMENT_BULK_OUTCOME__MAX
};

struct fulfilment_bulk_result {
	enum fulfilment_bulk_outcome outcome;
	const char *message;         /* Korean, static */
};

/* Checks and ships each row in its own transaction (fulfilment_ship, audited as actor_id):
 * a row whose seller id, courier (its code, "cj", or its Korean name, "CJ대한통운") or
 * tracking number is malformed, or that the rules refuse, writes nothing and is REFUSED with a
 * Korean reason; the other rows go on. The same order and seller as an earlier accepted row
 * of the upload (written the same way): refused. results has one entry per row. Returns the number of rows shipped now. */
size_t fulfilment_bulk_apply(struct db *db, struct bus *bus,
    const struct fulfilment_bulk_row *rows, size_t n, int64_t actor_id,
    struct fulfilment_bulk_result *results);

/* Keeps an upload's report (JSON text) in Redis for an hour under a new random token (24
 * characters, written into token[cap >= 25]), so the console can redirect to it. Returns 0, or
 * -1 when Redis did not take it (logged). */
int fulfilment_bulk_report_save(struct redis *r, const char *json, char *token, size_t cap);

/* The report kept under token into *json (in a). Returns 1, 0 unknown or expired, -1 Redis
 * failed. */
int fulfilment_bulk_report_load(struct redis *r, struct arena *a, const char *token,
    const char **json);

/* The Korean words of a refused move, for the console (NULL for DONE and ALREADY). */
const char *fulfilment_rc_message(enum fulfilment_rc rc);

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
