/* job_check: the payment.check job: looks up at the PG, by orderId and behind this process's
 * breaker for that PG, a payment whose outcome we do not know (an UNKNOWN order, a stale
 * CONFIRMING one, one a webhook named), and marks the order PAID or FAILED when the PG
 * answers; otherwise records the check and schedules the next (lib/shop/paychecks.h). An unknown
 * answer never fails an order. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "infra/breaker.h"
#include "infra/bus.h"
#include "base/conf.h"
#include "infra/db.h"
#include "jobs.h"
#include "infra/payload.h"
#include "shop/orders.h"
#include "shop/paychecks.h"
#include "shop/payments.h"
#include "clients/pg.h"
#include "clients/pggate.h"

/* Shown to the shopper when the PG's lookup gave a final "no" without a message of its own. */
static const char MSG_ABORTED[] = "결제가 승인되지 않았습니다.";
static const char MSG_EXPIRED[] = "결제 유효 시간이 만료되었습니다.";
static const char MSG_NOT_FOUND[] = "결제 정보를 찾을 수 없습니다.";

/* What a lookup's answer means for the order. */
enum verdict {
	VERDICT_PAID,      /* approved for the order's amount (lib/shop/payments checks it again) */
	VERDICT_FAILED,    /* ABORTED, EXPIRED, or not found after the order's window */
	VERDICT_OPEN,      /* no answer yet: check again later */
	VERDICT_ADMIN,     /* an answer only a person can settle (cancelled at the PG) */
	VERDICT__MAX
};

/* The job's result after a lib/shop/payments call. */
static enum job_result
payments_result(enum payments_rc rc)
{
	if (rc == PAYMENTS_LOST)
		return JOB_LOST;
	if (rc == PAYMENTS_DB_FAILED)
		return JOB_RETRY;
	return JOB_DONE;
}

/* Completes the job without touching the order. */
static enum job_result
skip(struct job_ctx *ctx, const struct outbox_claim *claim, const char *why)
{
	log_info(&ctx->log, "check: %s: job completed", why);
	return payments_result(payments_skip(ctx->db, claim));
}

/* What the PG said, in one line for last_result and the log. */
static const char *
describe(struct arena *a, const struct pg_result *r)
{
	return arena_printf(a, "%s%s%s%s%s (http %ld)", pg_outcome_name(r->outcome),
	    r->status[0] != '\0' ? " " : "", r->status, r->code[0] != '\0' ? " " : "", r->code,
	    r->http_status);
}

/* True when a final answer is about another payment of the order than the one we hold. */
static bool
other_payment(const struct order *o, const struct pg_result *r)
{
	return o->payment_key != NULL && r->payment_key[0] != '\0' &&
	    strcmp(o->payment_key, r->payment_key) != 0;
}

static enum verdict
judge(struct job_ctx *ctx, const struct order *o, const struct pg_result *r)
{
	int rc;

	if (r->outcome == PG_OK) {
		if (strcmp(r->status, "DONE") == 0)
			return VERDICT_PAID;
		if (strcmp(r->status, "ABORTED") == 0 || strcmp(r->status, "EXPIRED") == 0)
			return other_payment(o, r) ? VERDICT_OPEN : VERDICT_FAILED;
		if (strcmp(r->status, "CANCELED") == 0 || strcmp(r->status, "PARTIAL_CANCELED") == 0)
			return VERDICT_ADMIN;
		return VERDICT_OPEN;  /* READY, IN_PROGRESS, WAITING_FOR_DEPOSIT: not decided yet */
	}
	if (r->outcome == PG_NOT_FOUND) {
		rc = paychecks_window_over(ctx->db, o->id, PAYCHECKS_NOT_FOUND_GRACE_SECONDS);
		return rc == 1 ? VERDICT_FAILED : VERDICT_OPEN;
	}
	return VERDICT_OPEN;
}

/* Records an answerless check and completes the job. */
static enum job_result
answerless(struct job_ctx *ctx, const struct outbox_claim *claim, const struct order *o,
    const char *result, bool asked, bool needs_admin)
{
	struct paychecks_answerless ans;
	bool admin = false;
	int checks = 0, rc;

	memset(&ans, 0, sizeof(ans));
	ans.result = result;
	ans.asked = asked;
	ans.needs_admin = needs_admin;
	ans.base_seconds = conf_int(ctx->conf, CONF_PAYMENTS_CHECK_BASE_SECONDS);
	ans.check_max = conf_int(ctx->conf, CONF_PAYMENTS_CHECK_MAX);
	rc = paychecks_record(ctx->db, claim, o->id, &ans, &checks, &admin);
	if (rc < 0)
		return JOB_RETRY;
	if (rc == 0)
		return JOB_LOST;
	if (admin)
		log_error(&ctx->log, "order %s (%s): no answer after %d checks (%s): listed for an"
		    " admin", o->public_id, orders_status_name(o->status), checks, result);
	else
		log_info(&ctx->log, "order %s (%s): check %d without an answer (%s)", o->public_id,
		    orders_status_name(o->status), checks, result);
	return JOB_DONE;
}

static enum job_result
paid(struct job_ctx *ctx, const struct outbox_claim *claim, const struct order *o,
    const struct pg_result *r, const char *what)
{
	int64_t settle = 0;
	enum payments_rc rc;

	rc = payments_mark_paid(ctx->db, ctx->a, claim, o, r, &settle);
	log_info(&ctx->log, "order %s: %s -> paid: %s", o->public_id, what, payments_rc_name(rc));
	if (rc == PAYMENTS_DONE && settle > 0)
		bus_push_job(ctx->bus, settle, JOB_SETTLE);
	if (rc == PAYMENTS_DONE || rc == PAYMENTS_MISMATCH)
		(void)paychecks_note(ctx->db, o->id, rc == PAYMENTS_DONE ?
		    arena_printf(ctx->a, "%s: PAID", what) :
		    arena_printf(ctx->a, "%s: amount or order differs, not paid", what),
		    rc == PAYMENTS_MISMATCH);
	return payments_result(rc);
}

static enum job_result
failed(struct job_ctx *ctx, const struct outbox_claim *claim, const struct order *o,
    const struct pg_result *r, const char *what)
{
	const char *code, *message;
	enum payments_rc rc;

	if (r->outcome == PG_NOT_FOUND) {
		code = r->code[0] != '\0' ? r->code : "NOT_FOUND_PAYMENT";
		message = MSG_NOT_FOUND;
	} else {
		code = r->code[0] != '\0' ? r->code : r->status;
		message = r->message[0] != '\0' ? r->message :
		    strcmp(r->status, "EXPIRED") == 0 ? MSG_EXPIRED : MSG_ABORTED;
	}
	rc = payments_mark_failed(ctx->db, ctx->a, claim, o, code, message);
	log_info(&ctx->log, "order %s: %s -> failed: %s", o->public_id, what,
	    payments_rc_name(rc));
	if (rc == PAYMENTS_DONE)
		(void)paychecks_note(ctx->db, o->id, arena_printf(ctx->a, "%s: FAILED", what), false);
	return payments_result(rc);
}

enum job_result
job_check_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct pggate *g;
	struct pg_lookup_req req;
	struct pg_result r;
	struct order o;
	const char *order_id, *what;
	enum job_result res;
	enum pg_id id;
	int rc;

	if (payload_order_parse(ctx->a, claim->payload, &order_id) != 0) {
		log_error(&ctx->log, "check: malformed payload");
		res = skip(ctx, claim, "malformed payload");  /* the janitor queues a good one */
		goto out;
	}
	rc = orders_get(ctx->db, ctx->a, order_id, true, &o);
	if (rc < 0) {
		res = JOB_RETRY;
		goto out;
	}
	if (rc == 0) {
		log_error(&ctx->log, "check: no order %s", order_id);
		res = skip(ctx, claim, "no such order");
		goto out;
	}
	if (o.status != ORDER_UNKNOWN && o.status != ORDER_CONFIRMING) {
		res = skip(ctx, claim, arena_printf(ctx->a, "order %s already %s", o.public_id,
		    orders_status_name(o.status)));
		goto out;
	}
	if (orders_pay_name(o.pay) == NULL || pg_parse(orders_pay_name(o.pay), &id) != 0) {
		log_error(&ctx->log, "check: order %s is not paid through a PG", o.public_id);
		res = skip(ctx, claim, "not a PG order");
		goto out;
	}
	g = pggate_get(ctx->conf, id, PGGATE_PAY);
	if (id == PG_KAKAOPAY && o.payment_key == NULL) {
		res = answerless(ctx, claim, &o, "no KakaoPay tid to look up", false, true);
		goto out;
	}
	if (!breaker_allow(g->breaker)) {
		res = answerless(ctx, claim, &o, arena_printf(ctx->a, "not asked: breaker %s open",
		    pggate_breaker_name(id, PGGATE_PAY)), false, false);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.order_id = o.public_id;
	req.payment_key = id == PG_KAKAOPAY ? o.payment_key : NULL;  /* Toss: by orderId */
	pg_lookup(g->pg, &req, &r);
	pggate_record(g, &r);
	what = arena_printf(ctx->a, "lookup at %s: %s", pg_name(id), describe(ctx->a, &r));
	log_info(&ctx->log, "check of %s (%s): %s (%ld ms)", o.public_id,
	    orders_status_name(o.status), what, r.elapsed_ms);

	switch (judge(ctx, &o, &r)) {
	case VERDICT_PAID:
		res = paid(ctx, claim, &o, &r, what);
		break;
	case VERDICT_FAILED:
		res = failed(ctx, claim, &o, &r, what);
		break;
	case VERDICT_ADMIN:
		res = answerless(ctx, claim, &o, what, true, true);
		break;
	default:
		res = answerless(ctx, claim, &o, what, true, false);
		break;
	}
out:
	return res;
}
