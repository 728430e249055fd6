/* webhook: the PGs' status-change webhooks. Toss's PAYMENT_STATUS_CHANGED carries no
 * signature, so its body is a hint only: it names an order, and when that order's payment
 * outcome is still open (CONFIRMING or UNKNOWN) a payment.check job is queued (at most one
 * waiting per order) that re-queries the PG and acts on the PG's own answer
 * (workers/job_check.c). Nothing the body says about the status is believed, so duplicate and
 * out-of-order deliveries change nothing by themselves. Every well-formed event is answered
 * 200, whatever the order, so the PG stops retrying; a malformed one 400. KakaoPay has no
 * webhook for single payments (pg-api-contracts.md section 2). The body is read by
 * lib/shop/webhook.c (fuzzed by tests/fuzz/fuzz_webhook.c). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "infra/bus.h"
#include "base/conf.h"
#include "base/log.h"
#include "shop/orders.h"
#include "shop/paychecks.h"
#include "shop/webhook.h"
#include "req.h"
#include "resp.h"
#include "route.h"

static const char MSG_MALFORMED[] = "웹훅 본문이 올바르지 않습니다.";

static int
received(struct req *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "received", json_object_new_boolean(1));
	return resp_json(r, 200, o);
}

/* POST /api/v1/webhooks/toss: 200 {"received": true} for every well-formed event (after
 * queuing a check when the order's outcome is open), 400 BAD_REQUEST for a malformed one
 * (the dispatcher answers 400 BAD_JSON / 415 before that), -1 (500, the PG retries) when the
 * database failed. */
static int
webhook_toss(struct req *r)
{
	struct webhook_toss_event ev;
	struct order o;
	struct bus_job bj = { 0, JOB_PAYMENT_CHECK };
	int64_t job = 0;
	int rc;

	if (webhook_toss_parse(r->json, &ev) != 0) {
		log_warn(&r->log, "webhook toss: malformed event refused");
		return resp_error(r, 400, "BAD_REQUEST", MSG_MALFORMED);
	}
	if (ev.order_id == NULL) {
		log_info(&r->log, "webhook toss: %s ignored", ev.type);
		return received(r);
	}
	rc = orders_get(r->app->db, r->a, ev.order_id, false, &o);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		log_warn(&r->log, "webhook toss: %s for unknown order %s ignored", ev.status,
		    ev.order_id);
		return received(r);
	}
	if (o.pay != ORDER_PAY_TOSS) {
		log_warn(&r->log, "webhook toss: order %s is not a Toss order: ignored", o.public_id);
		return received(r);
	}
	if (o.status != ORDER_CONFIRMING && o.status != ORDER_UNKNOWN) {
		log_info(&r->log, "webhook toss: %s for %s order %s: nothing to do", ev.status,
		    orders_status_name(o.status), o.public_id);
		return received(r);
	}
	rc = paychecks_queue(r->app->db, o.id, o.public_id,
	    conf_int(r->app->conf, CONF_PAYMENTS_CHECK_BASE_SECONDS), &job);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		bj.outbox_id = job;
		if (bus_push(r->app->bus, &bj) != 0)
			log_warn(&r->log, "webhook toss: push of check %" PRId64 " failed; the janitor"
			    " will resend it", job);
	}
	log_info(&r->log, "webhook toss: %s for %s order %s: check %s", ev.status,
	    orders_status_name(o.status), o.public_id, rc == 1 ? "queued" : "already waiting");
	return received(r);
}

const struct route webhook_routes[] = {
	{ METHOD_POST, "/api/v1/webhooks/toss", webhook_toss, ROUTE_JSON, "api_webhook_toss" },
	{ 0, NULL, NULL, 0, NULL },
};
