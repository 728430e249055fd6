/* webhook: the PGs' webhook bodies, read strictly. Toss's PAYMENT_STATUS_CHANGED has no
 * signature, so what it says is a hint only (fcgi/webhook.c queues a payment check on it). */
#ifndef JT_WEBHOOK_H
#define JT_WEBHOOK_H

#include <json-c/json.h>

/* What a well-formed Toss event names. Strings are owned by the body they were read from. */
struct webhook_toss_event {
	const char *type;          /* eventType: [A-Za-z0-9_-]{1,64} */
	const char *order_id;      /* PAYMENT_STATUS_CHANGED only; NULL for other types */
	const char *status;        /* PAYMENT_STATUS_CHANGED only: a Toss payment status */
};

/* Reads a parsed body {"eventType", "createdAt", "data"} strictly into *ev. Other event types
 * need only the three keys; a PAYMENT_STATUS_CHANGED's data (a Payment object, whose many
 * other fields are not ours to refuse) must hold a well-formed orderId and a known status,
 * and a paymentKey when present must be a string. body may be NULL or any JSON value.
 * Returns 0, or -1 for a malformed event. */
int webhook_toss_parse(struct json_object *body, struct webhook_toss_event *ev);

#endif
