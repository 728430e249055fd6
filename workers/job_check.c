/* job_check: the payment.check job: looks up at the PG, by orderId and behind this process's
 * breaker for that PG, a payment whose outcome we do not know (an UNKNOWN order, a stale
 * CONFIRMING one, one a webhook named), and marks the order PAID or FAILED when the PG
 * answers; otherwise records the check and schedules the next (lib/shop/paychecks.h). An unknown
 * answer never fails an order. A payment the PG reports still open, or does not know, is
 * "not approved" once no confirm of ours can be in flight (the bounded wait of
 * lib/shop/paychecks.h): the order fails then, its stock back. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "base/conf.h"
#include "clients/pg.h"
#include "clients/pggate.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "infra/payload.h"
#include "jobs.h"
#include "shop/orders.h"
#include "shop/paychecks.h"
#include "shop/payments.h"

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

/* The verdict for this check: "not found" fails the order only after its window (Toss's
 * confirm window past expires_at), until then it is open. */
static enum payments_verdict
judge(struct job_ctx *ctx, const struct order *o, const struct pg_result *r)
{
	enum payments_verdict v = payments_verdict(o, r);

	if (v != PAYMENTS_NOT_FOUND)
		return v;
	return paychecks_window_over(ctx->db, o->id, PAYCHECKS_NOT_FOUND_GRACE_SECONDS) == 1 ?
	    PAYMENTS_NOT_FOUND : PAYMENTS_OPEN;
}

/* Records an answerless check and completes the job. */
static enum job_result
answerless(struct job_ctx *ctx, const struct outbox_claim *claim, const struct order *o,
    const char *result, bool asked, bool needs_admin, int64_t due_within)
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
	ans.due_within = due_within;
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
	struct bus_batch jobs;
	enum payments_rc rc;

	rc = payments_mark_paid(ctx->db, ctx->a, claim, o, r, &jobs);
	log_info(&ctx->log, "order %s: %s -> paid: %s", o->public_id, what, payments_rc_name(rc));
	bus_push_batch(ctx->bus, &jobs);
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
	enum payments_rc rc = payments_mark_failed_as(ctx->db, ctx->a, claim, o, r);

	log_info(&ctx->log, "order %s: %s -> failed: %s", o->public_id, what,
	    payments_rc_name(rc));
	if (rc == PAYMENTS_DONE)
		(void)paychecks_note(ctx->db, o->id, arena_printf(ctx->a, "%s: FAILED", what), false);
	return payments_result(rc);
}

/* True when r says the payment is still open at the PG (authenticated, never approved) or
 * that the PG does not know it: answers only a confirm of ours could still turn into an
 * approval. (Toss answers an order's approved payment before its other attempts, so an open
 * one means none is approved.) */
static bool
unapproved(const struct pg_result *r)
{
	return r->outcome == PG_NOT_FOUND || (r->outcome == PG_OK && r->state == PG_STATE_OPEN);
}

/* The PG says the payment is open or unknown to it (what). Once no confirm of ours can be in
 * flight it never will be approved: an UNKNOWN order fails "not approved" (stock back); a
 * CONFIRMING one whose confirm job is gone becomes UNKNOWN, which starts its wait. Until
 * then the check is answerless, the next one due when the wait ends. An answer while our
 * own confirm job is still queued (the breaker held it back, its backoff runs) is not
 * counted toward check_max: the PG did answer, and that job decides; last_result says so. */
static enum job_result
undecided(struct job_ctx *ctx, const struct outbox_claim *claim, const struct order *o,
    const char *what)
{
	struct paychecks_quiet q;
	enum payments_rc rc;
	int64_t base = conf_int(ctx->conf, CONF_PAYMENTS_CHECK_BASE_SECONDS);
	int qrc;

	qrc = paychecks_quiet(ctx->db, o->id, o->public_id, paychecks_quiet_seconds(ctx->conf), &q);
	if (qrc < 0)
		return JOB_RETRY;
	if (qrc == 0)  /* the order row is gone: counted, an admin looks once they run out */
		return answerless(ctx, claim, o, arena_printf(ctx->a, "%s; the order is gone", what),
		    true, false, base);
	if (q.confirm_live)  /* its confirm job decides: not counted toward check_max, and said */
		return answerless(ctx, claim, o, arena_printf(ctx->a,
		    "%s; its confirm job is still queued", what), false, false,
		    q.left_seconds > base ? q.left_seconds : base);
	if (o->status == ORDER_CONFIRMING) {
		rc = payments_mark_unknown(ctx->db, ctx->a, claim, o,
		    arena_printf(ctx->a, "confirm job gone, %s", what));
		log_info(&ctx->log, "order %s: %s, its confirm job gone -> unknown: %s",
		    o->public_id, what, payments_rc_name(rc));
		return payments_result(rc);
	}
	if (q.left_seconds > 0)  /* an answer, not counted toward check_max: the wait decides */
		return answerless(ctx, claim, o, what, false, false, q.left_seconds);
	rc = payments_mark_failed(ctx->db, ctx->a, claim, o, PAYCHECKS_NOT_APPROVED_CODE,
	    PAYCHECKS_NOT_APPROVED_MESSAGE);
	log_info(&ctx->log, "order %s: %s, no confirm in flight for %" PRId64 " s -> not approved,"
	    " failed: %s", o->public_id, what, paychecks_quiet_seconds(ctx->conf),
	    payments_rc_name(rc));
	if (rc == PAYMENTS_DONE)
		(void)paychecks_note(ctx->db, o->id, arena_printf(ctx->a, "%s: not approved, FAILED",
		    what), false);
	return payments_result(rc);
}

/* The order the job names when it is still open and paid through a PG. Returns JOB_DONE
 * with *o and *id set when the PG is to be asked, else the job's result. */
static enum job_result
load_order(struct job_ctx *ctx, const struct outbox_claim *claim, struct order *o,
    enum pg_id *id)
{
	const char *order_id;
	int rc;

	if (payload_order_parse(ctx->a, claim->payload, &order_id) != 0) {
		log_error(&ctx->log, "check: malformed payload");
		return skip(ctx, claim, "malformed payload");  /* the janitor queues a good one */
	}
	rc = orders_get(ctx->db, ctx->a, order_id, true, o);
	if (rc < 0)
		return JOB_RETRY;
	if (rc == 0) {
		log_error(&ctx->log, "check: no order %s", order_id);
		return skip(ctx, claim, "no such order");
	}
	if (o->status != ORDER_UNKNOWN && o->status != ORDER_CONFIRMING)
		return skip(ctx, claim, arena_printf(ctx->a, "order %s already %s", o->public_id,
		    orders_status_name(o->status)));
	if (pg_parse(orders_pay_name(o->pay), id) != 0) {
		log_error(&ctx->log, "check: order %s is not paid through a PG", o->public_id);
		return skip(ctx, claim, "not a PG order");
	}
	if (*id == PG_KAKAOPAY && o->payment_key == NULL)
		return answerless(ctx, claim, o, "no KakaoPay tid to look up", false, true, 0);
	return JOB_DONE;
}

enum job_result
job_check_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct pg_lookup_req req;
	struct pg_result r;
	struct order o;
	const char *what;
	enum job_result res;
	enum pg_id id;

	res = load_order(ctx, claim, &o, &id);
	if (res != JOB_DONE)
		return res;
	memset(&req, 0, sizeof(req));
	req.order_id = o.public_id;
	req.payment_key = id == PG_KAKAOPAY ? o.payment_key : NULL;  /* Toss: by orderId */
	if (!pggate_lookup(pggate_get(ctx->conf, id, PGGATE_PAY), &req, &r))
		return answerless(ctx, claim, &o, arena_printf(ctx->a, "not asked: breaker %s open",
		    pggate_breaker_name(id, PGGATE_PAY)), false, false, 0);
	what = arena_printf(ctx->a, "lookup at %s: %s", pg_name(id), describe(ctx->a, &r));
	log_info(&ctx->log, "check of %s (%s): %s (%ld ms)", o.public_id,
	    orders_status_name(o.status), what, r.elapsed_ms);

	switch (judge(ctx, &o, &r)) {
	case PAYMENTS_PAID:
		return paid(ctx, claim, &o, &r, what);
	case PAYMENTS_FAILED:
	case PAYMENTS_NOT_FOUND:
		return failed(ctx, claim, &o, &r, what);
	case PAYMENTS_ADMIN:
		return answerless(ctx, claim, &o, what, true, true, 0);
	default:
		if (unapproved(&r))
			return undecided(ctx, claim, &o, what);
		return answerless(ctx, claim, &o, what, true, false, 0);
	}
}
