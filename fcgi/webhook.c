/* webhook: the PGs' status-change webhooks. Toss's PAYMENT_STATUS_CHANGED carries no
 * signature, so its body is a hint only: lib/shop/paychecks reads it (through the PG's own
 * parser in lib/clients/pg_toss) and, when it names an order whose payment outcome is still
 * open (CONFIRMING or UNKNOWN), queues a payment.check job (at most one waiting per order)
 * that re-queries the PG and acts on the PG's own answer (workers/job_check.c). Nothing the
 * body says about the status is believed, so duplicate and out-of-order deliveries change
 * nothing by themselves. Every well-formed event is answered 200, whatever the order, so the
 * PG stops retrying; a malformed one 400. KakaoPay has no webhook for single payments
 * (pg-api-contracts.md section 2). */
#include <inttypes.h>
#include <json-c/json.h>

#include "app.h"
#include "base/conf.h"
#include "base/log.h"
#include "infra/bus.h"
#include "shop/paychecks.h"
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
	struct paychecks_hint h;

	switch (paychecks_toss_event(r->app->db, r->a, r->json,
	    conf_int(r->app->conf, CONF_PAYMENTS_CHECK_BASE_SECONDS), &h)) {
	case PAYCHECKS_HINT_MALFORMED:
		log_warn(&r->log, "webhook toss: malformed event refused");
		return resp_error(r, 400, "BAD_REQUEST", MSG_MALFORMED);
	case PAYCHECKS_HINT_FAILED:
		return -1;
	case PAYCHECKS_HINT_IGNORED:
		log_info(&r->log, "webhook toss: %s %s for order %s ignored: %s", h.type, h.status,
		    h.order_id[0] != '\0' ? h.order_id : "-", h.why);
		return received(r);
	case PAYCHECKS_HINT_QUEUED:
		bus_push_job(r->app->bus, h.job, JOB_PAYMENT_CHECK);
		log_info(&r->log, "webhook toss: %s for order %s: check %" PRId64 " queued",
		    h.status, h.order_id, h.job);
		return received(r);
	default:
		log_info(&r->log, "webhook toss: %s for order %s: a check is already waiting",
		    h.status, h.order_id);
		return received(r);
	}
}

const struct route webhook_routes[] = {
	{ METHOD_POST, "/api/v1/webhooks/toss", webhook_toss, ROUTE_JSON, "api_webhook_toss" },
	{ 0, NULL, NULL, 0, NULL },
};
