/* payload: build and parse every job kind's outbox payload (see payload.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/jparse.h"
#include "base/money.h"
#include "infra/payload.h"

#define PAYLOAD_TEXT_MAX 4096      /* bytes of any payload we parse */

static const char *const event_names[PAYLOAD_EVENT__MAX] = {
	"paid", "refunded", "shipped", "delivered",
};

const char *
payload_event_name(enum payload_event e)
{
	return (unsigned)e < PAYLOAD_EVENT__MAX ? event_names[e] : "?";
}

/* ---- building ------------------------------------------------------------------------ */

static struct json_object *
new_object(void)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		abort();
	return o;
}

static void
add_str(struct json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

/* o as compact text in a; drops o. */
static const char *
finish(struct arena *a, struct json_object *o)
{
	const char *s = arena_strdup(a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

/* {key: id}: the shape of every payload that names one order or refund. */
static const char *
one_id(struct arena *a, const char *key, const char *id)
{
	struct json_object *o = new_object();

	add_str(o, key, id);
	return finish(a, o);
}

const char *
payload_order_build(struct arena *a, const char *order_id)
{
	return one_id(a, "orderId", order_id);
}

const char *
payload_refund_build(struct arena *a, const char *refund_id)
{
	return one_id(a, "refundId", refund_id);
}

const char *
payload_confirm_build(struct arena *a, const struct payload_confirm *p)
{
	struct json_object *o = new_object();

	add_str(o, "orderId", p->order_id);
	add_str(o, "pg", p->pg);
	json_object_object_add(o, "amount", json_object_new_int64(p->amount));
	add_str(o, "paymentKey", p->payment_key);
	if (p->pg_token != NULL)
		add_str(o, "pgToken", p->pg_token);
	add_str(o, "userRef", p->user_ref);
	return finish(a, o);
}

const char *
payload_notify_build(struct arena *a, const struct payload_notify *p)
{
	struct json_object *o = new_object();

	add_str(o, "orderId", p->order_id);
	add_str(o, "event", payload_event_name(p->event));
	if (p->event == PAYLOAD_EVENT_REFUNDED)
		add_str(o, "refundId", p->refund_id);
	if (p->event == PAYLOAD_EVENT_SHIPPED || p->event == PAYLOAD_EVENT_DELIVERED)
		json_object_object_add(o, "sellerId", json_object_new_int64(p->seller_id));
	if (p->event == PAYLOAD_EVENT_SHIPPED) {
		add_str(o, "courier", p->courier);
		add_str(o, "trackingNo", p->tracking_no);
	}
	return finish(a, o);
}

const char *
payload_echo_build(struct arena *a, const struct payload_echo *p)
{
	struct json_object *o = new_object();

	add_str(o, "message", p->message);
	json_object_object_add(o, "sleep_ms", json_object_new_int64(p->sleep_ms));
	return finish(a, o);
}

/* ---- parsing ------------------------------------------------------------------------- */

/* The object in text with no key outside allowed, or NULL. A new reference. */
static struct json_object *
parse_object(const char *text, const char *const *allowed)
{
	struct json_object *o = NULL;

	if (text == NULL || jparse(text, strlen(text), PAYLOAD_TEXT_MAX, 1, &o) != JPARSE_OK ||
	    o == NULL || !json_object_is_type(o, json_type_object) ||
	    jparse_only_keys(o, allowed) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Member key as a string of 1..max bytes, copied into a: 0 stored, 1 absent, -1 malformed. */
static int
get_str(struct arena *a, struct json_object *o, const char *key, size_t max, const char **out)
{
	const char *s;
	int rc = jparse_string(o, key, max, &s);

	if (rc != 0)
		return rc;
	if (s[0] == '\0')
		return -1;
	*out = arena_strdup(a, s);
	return 0;
}

/* The payload {key: "<id>"}. */
static int
parse_one_id(struct arena *a, const char *text, const char *key, const char **id)
{
	const char *const keys[] = { key, NULL };
	struct json_object *o = parse_object(text, keys);
	int rc = -1;

	if (o != NULL && get_str(a, o, key, PAYLOAD_ID_MAX, id) == 0)
		rc = 0;
	json_object_put(o);
	return rc;
}

int
payload_order_parse(struct arena *a, const char *text, const char **order_id)
{
	return parse_one_id(a, text, "orderId", order_id);
}

int
payload_refund_parse(struct arena *a, const char *text, const char **refund_id)
{
	return parse_one_id(a, text, "refundId", refund_id);
}

int
payload_confirm_parse(struct arena *a, const char *text, struct payload_confirm *out)
{
	static const char *const keys[] = {
		"orderId", "pg", "amount", "paymentKey", "pgToken", "userRef", NULL,
	};
	struct json_object *o = parse_object(text, keys);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return -1;
	if (get_str(a, o, "orderId", PAYLOAD_ID_MAX, &out->order_id) == 0 &&
	    get_str(a, o, "pg", PAYLOAD_PG_MAX, &out->pg) == 0 &&
	    jparse_int64(o, "amount", 1, MONEY_MAX, &out->amount) == 0 &&
	    get_str(a, o, "paymentKey", PAYLOAD_KEY_MAX, &out->payment_key) == 0 &&
	    get_str(a, o, "pgToken", PAYLOAD_KEY_MAX, &out->pg_token) >= 0 &&
	    get_str(a, o, "userRef", PAYLOAD_ID_MAX, &out->user_ref) == 0)
		rc = 0;
	json_object_put(o);
	return rc;
}

int
payload_notify_parse(struct arena *a, const char *text, struct payload_notify *out)
{
	static const char *const keys[] = {
		"orderId", "event", "refundId", "sellerId", "courier", "trackingNo", NULL,
	};
	struct json_object *o = parse_object(text, keys);
	const char *event = NULL;
	int rc = -1, e, has_refund, has_seller, has_courier, has_tracking;
	bool parcel, shipped;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return -1;
	if (get_str(a, o, "orderId", PAYLOAD_ID_MAX, &out->order_id) != 0 ||
	    get_str(a, o, "event", 16, &event) != 0)
		goto out;
	for (e = 0; e < PAYLOAD_EVENT__MAX; e++)
		if (strcmp(event, event_names[e]) == 0)
			break;
	if (e == PAYLOAD_EVENT__MAX)
		goto out;
	out->event = (enum payload_event)e;
	has_refund = get_str(a, o, "refundId", PAYLOAD_ID_MAX, &out->refund_id);
	/* A refund names its refund; a payment has none. */
	if (has_refund < 0 || (has_refund == 0) != (out->event == PAYLOAD_EVENT_REFUNDED))
		goto out;
	/* A parcel's notice names its seller; a shipped one its courier and number too. */
	shipped = out->event == PAYLOAD_EVENT_SHIPPED;
	parcel = shipped || out->event == PAYLOAD_EVENT_DELIVERED;
	has_seller = jparse_int64(o, "sellerId", 1, INT64_MAX, &out->seller_id);
	has_courier = get_str(a, o, "courier", PAYLOAD_COURIER_MAX, &out->courier);
	has_tracking = get_str(a, o, "trackingNo", PAYLOAD_TRACKING_MAX, &out->tracking_no);
	if (has_seller < 0 || has_courier < 0 || has_tracking < 0 ||
	    (has_seller == 0) != parcel || (has_courier == 0) != shipped ||
	    (has_tracking == 0) != shipped)
		goto out;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int
payload_echo_parse(struct arena *a, const char *text, struct payload_echo *out)
{
	static const char *const keys[] = { "message", "sleep_ms", NULL };
	struct json_object *o = parse_object(text, keys);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return -1;
	if (get_str(a, o, "message", PAYLOAD_MESSAGE_MAX, &out->message) == 0 &&
	    jparse_int64(o, "sleep_ms", 0, 60000, &out->sleep_ms) >= 0)
		rc = 0;
	json_object_put(o);
	return rc;
}
