/* payload: the one codec of every job kind's outbox payload (the JSON text a producer stores
 * with outbox_add and the worker of that kind reads back from its claim). One build and one
 * parse function per payload shape, used by the producers (lib/shop, fcgi/testing.c) and the
 * workers alike, so the two sides cannot drift. Built with json-c (never printf); parsed
 * strictly: size and depth caps, exactly the known keys, typed and bounded values. Parsed
 * strings are copied into the caller's arena. Knows nothing of orders beyond their ids.
 *
 *   kind              payload
 *   echo              {"message", "sleep_ms"}
 *   payment.confirm   {"orderId", "pg", "amount", "paymentKey", "pgToken"?, "userRef"}
 *   payment.check     {"orderId"}
 *   settle            {"orderId"}
 *   refund            {"refundId"}
 *   refund.settle     {"refundId"}
 *   notify            {"orderId", "event": "paid"}  or  {"orderId", "event": "refunded",
 *                     "refundId"}  or  {"orderId", "event": "shipped", "sellerId", "courier",
 *                     "trackingNo"}  or  {"orderId", "event": "delivered", "sellerId"}
 */
#ifndef JT_PAYLOAD_H
#define JT_PAYLOAD_H

#include <stdint.h>

struct arena;

#define PAYLOAD_ID_MAX 64          /* bytes of an orderId / refundId / userRef */
#define PAYLOAD_KEY_MAX 200        /* bytes of a paymentKey / pgToken */
#define PAYLOAD_PG_MAX 16          /* bytes of a PG's name */
#define PAYLOAD_MESSAGE_MAX 200    /* bytes of an echo message */

/* payment.confirm: everything the confirm worker needs, so it never trusts a browser again. */
struct payload_confirm {
	const char *order_id;
	const char *pg;                /* "toss", "kakaopay" */
	int64_t amount;                /* 1..MONEY_MAX won */
	const char *payment_key;       /* Toss paymentKey / KakaoPay tid */
	const char *pg_token;          /* KakaoPay's pg_token; NULL for Toss */
	const char *user_ref;          /* the shopper's opaque reference (KakaoPay partner_user_id) */
};

enum payload_event {
	PAYLOAD_EVENT_PAID,
	PAYLOAD_EVENT_REFUNDED,
	PAYLOAD_EVENT_SHIPPED,         /* one seller's parcel of the order left (fulfilment_ship) */
	PAYLOAD_EVENT_DELIVERED,       /* that parcel arrived (fulfilment_deliver) */
	PAYLOAD_EVENT__MAX
};

#define PAYLOAD_COURIER_MAX 16     /* bytes of a courier code */
#define PAYLOAD_TRACKING_MAX 40    /* bytes of a tracking number */

/* notify: what happened to the shopper's order. */
struct payload_notify {
	const char *order_id;
	enum payload_event event;
	const char *refund_id;         /* PAYLOAD_EVENT_REFUNDED only, else NULL */
	int64_t seller_id;             /* SHIPPED and DELIVERED only (> 0), else 0 */
	const char *courier;           /* SHIPPED only: the courier's code, else NULL */
	const char *tracking_no;       /* SHIPPED only, else NULL */
};

/* echo: the demo job. */
struct payload_echo {
	const char *message;
	int64_t sleep_ms;              /* 0..60000 */
};

/* The builders return the payload text in a. The caller passed valid values (ids are
 * [A-Za-z0-9_-] of at most PAYLOAD_ID_MAX bytes): a builder does not check them again. */
const char *payload_confirm_build(struct arena *a, const struct payload_confirm *p);
const char *payload_order_build(struct arena *a, const char *order_id);   /* settle, check */
const char *payload_refund_build(struct arena *a, const char *refund_id); /* refund(.settle) */
const char *payload_notify_build(struct arena *a, const struct payload_notify *p);
const char *payload_echo_build(struct arena *a, const struct payload_echo *p);

/* The parsers fill *out (strings copied into a) and return 0, or -1 when the text is not
 * exactly that payload (unknown or missing keys, wrong types, values out of bounds, an empty
 * id). */
int payload_confirm_parse(struct arena *a, const char *text, struct payload_confirm *out);
int payload_order_parse(struct arena *a, const char *text, const char **order_id);
int payload_refund_parse(struct arena *a, const char *text, const char **refund_id);
int payload_notify_parse(struct arena *a, const char *text, struct payload_notify *out);
int payload_echo_parse(struct arena *a, const char *text, struct payload_echo *out);

/* "paid", "refunded", "shipped", "delivered" ("?" out of range). */
const char *payload_event_name(enum payload_event e);

#endif
