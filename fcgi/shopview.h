/* shopview: an order as the shopper's pages and the order API show it: Korean words for its
 * status, method and timeline (lib/shop/labels.c), the short order number, times people read,
 * line pictures, and the fixed result messages a POST's redirect names (?done=). Knows nothing
 * of the order's rules: it only words what lib/shop/orders.c loaded. */
#ifndef JT_SHOPVIEW_H
#define JT_SHOPVIEW_H

#include <json-c/json.h>

struct order;
struct refund;
struct req;

/* The template value of order o (loaded with details or not): {"id" (public id), "number",
 * "status" (the code, for data- attributes), "status_label", "status_tone", "pay_label",
 * "amount", "refunded", "left" (amount not refunded), "order_name", "item_count",
 * "created_at", "paid_at", "expires_at" (as "2026.12.06 09:15"), "final", "pending",
 * "confirming", "paid" (PAID or PARTIALLY_CANCELED), "ended" (FAILED, EXPIRED or CANCELED
 * before payment: 다시 결제하기), "failure" (the PG's message, when it gave one), "lines"
 * [{"product_id", "name", "unit_price", "quantity", "canceled", "amount", "image"}],
 * "events" [{"at", "text", "tone", "to"}]} (lines and events only when loaded). Returns a new
 * reference, or NULL on a database error (the line pictures). */
struct json_object *shopview_json(struct req *r, const struct order *o);

/* The template value of a refund: {"id", "status", "status_label", "status_tone", "amount",
 * "reason", "created_at", "lines" [{"name", "quantity"}]}. New reference. */
struct json_object *shopview_refund_json(struct req *r, const struct refund *f);

/* Adds order o's deliveries to ctx (o paid or once paid): "deliveries" [{"seller_id",
 * "seller", "fee", "status", "status_label", "status_tone", "courier", "tracking_no",
 * "shipped_at", "delivered_at", "returnable" (the shopper may ask to return it now)}], "fees"
 * and "goods" (the amount without them), and
 * "steps": the four steps 결제완료 → 배송준비중 → 배송중 → 배송완료 as [{"label", "done",
 * "now"}], the order as far as its least advanced delivery. Returns 0, or -1 on a database
 * error. */
int shopview_deliveries(struct req *r, const struct order *o, struct json_object *ctx);

/* Adds "ship_to" {"recipient", "phone", "zipcode", "address1", "address2", "memo"} to ctx:
 * where order o goes (nothing for an order made through the API without one). Returns 0, or
 * -1 on a database error. */
int shopview_ship_to(struct req *r, const struct order *o, struct json_object *ctx);

/* orders_json(o) with the shopper's words added: "orderNumber", "statusLabel",
 * "payMethodLabel" (what static/order-status.js shows). New reference. */
struct json_object *shopview_api_json(const struct order *o);

/* "2026-12-06 09:15:42" as "2026.12.06 09:15" (in the request's arena); "" for NULL. */
const char *shopview_time(struct req *r, const char *db_time);

/* The message for a ?done= code a POST redirected with, or NULL for an unknown code (shown:
 * nothing). The codes are fixed words, so no user input is ever reflected. */
const char *shopview_done_message(const char *code);

#endif
