/* job_refund: the refund job: cancels a reserved refund's amount at the PG, behind a circuit
 * breaker per PG of its own (lib/clients/pggate.h, use PGGATE_REFUND), and completes or releases the
 * refund with lib/shop/refunds.
 *
 * Outcomes: the PG's yes -> refunds_complete (DONE); a definite no -> refunds_release (FAILED,
 * the reservation given back); anything else (timeout, 5xx, reset, unparsable, in progress)
 * -> JOB_RETRY with the same Idempotency-Key "refund-<refundId>", never a release; an open
 * breaker (nothing sent) -> JOB_WAIT, the attempt not spent. A refusal may be the PG refusing our own earlier cancel that went through with
 * its answer lost (an earlier attempt, or the HTTP client resending on a dropped keep-alive
 * connection; KakaoPay has no Idempotency-Key and its cancel_available_amount no longer
 * matches): so before releasing, the PG is asked, and a balance that already shows this
 * cancel completes the refund instead; only a balance untouched by it releases. Refunds of
 * one order go to the PG one at a time, oldest first, so the cancelable amount we send (and
 * the balance we expect) is exact. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "infra/bus.h"
#include "base/conf.h"
#include "infra/db.h"
#include "jobs.h"
#include "infra/payload.h"
#include "clients/pg.h"
#include "clients/pggate.h"
#include "shop/refunds.h"

/* The cancelReason when the refund has none. */
#define DEFAULT_REASON "고객 요청에 의한 환불"

/* The job's result after a refunds call. */
static enum job_result
result(struct job_ctx *ctx, const struct refunds_task *t, enum refunds_job_rc rc,
    const char *what)
{
	log_info(&ctx->log, "refund %s of order %s: %s -> %s", t->public_id, t->order_public_id,
	    what, refunds_job_rc_name(rc));
	if (rc == REFUNDS_JOB_LOST)
		return JOB_LOST;
	if (rc == REFUNDS_JOB_DB_FAILED)
		return JOB_RETRY;
	return JOB_DONE;
}

static enum job_result
complete(struct job_ctx *ctx, const struct outbox_claim *claim, const struct refunds_task *t)
{
	struct bus_batch jobs;
	enum refunds_job_rc rc;

	rc = refunds_complete(ctx->db, ctx->a, claim, t->public_id, &jobs);
	bus_push_batch(ctx->bus, &jobs);
	return result(ctx, t, rc, "done");
}

/* After a refusal: did our own earlier cancel go through after all? Asks the PG
 * through the breaker. Returns 1 when the PG's balance already shows this cancel, 0 when it
 * shows none, -1 when that cannot be told now (retry). */
static int
went_through(struct job_ctx *ctx, struct pggate *g, const struct refunds_task *t)
{
	struct pg_lookup_req req;
	struct pg_result r;

	memset(&req, 0, sizeof(req));
	req.order_id = t->order_public_id;
	req.payment_key = t->payment_key;
	if (!pggate_lookup(g, &req, &r))
		return -1;
	log_info(&ctx->log, "lookup of %s at %s after a refusal: %s %s balance %" PRId64,
	    t->order_public_id, pg_name(g->id), pg_outcome_name(r.outcome),
	    pg_state_name(r.state), r.balance_amount);
	if (r.outcome != PG_OK)
		return -1;
	if (r.balance_amount == t->cancelable - t->amount)
		return 1;
	if (r.balance_amount == t->cancelable)
		return 0;
	/* Someone else cancelled too (a cancel we do not know of): neither a yes nor a no for
	 * this refund. It stays reserved and retried; a person (or reconciliation) decides. */
	log_warn(&ctx->log, "refund %s: the PG's balance %" PRId64 " is neither %" PRId64
	    " nor %" PRId64 ": left for a person", t->public_id, r.balance_amount, t->cancelable,
	    t->cancelable - t->amount);
	return -1;
}

/* The refund the job names, when it is to be cancelled at the PG now. Returns true with *t
 * loaded and *id its PG; false with *res the job's result otherwise. */
static bool
load_task(struct job_ctx *ctx, const struct outbox_claim *claim, struct refunds_task *t,
    enum pg_id *id, enum job_result *res)
{
	const char *refund_id;
	int rc;

	*res = JOB_RETRY;
	memset(t, 0, sizeof(*t));
	if (payload_refund_parse(ctx->a, claim->payload, &refund_id) != 0) {
		log_error(&ctx->log, "refund: malformed payload");
		return false;  /* kept for a person; dead after outbox.max_attempts */
	}
	rc = refunds_task_get(ctx->db, ctx->a, refund_id, t);
	if (rc < 0)
		return false;
	if (rc == 0) {
		log_error(&ctx->log, "refund: no refund %s: job dropped", refund_id);
		*res = refunds_skip(ctx->db, claim) == REFUNDS_JOB_SKIPPED ? JOB_DONE : JOB_RETRY;
		return false;
	}
	if (t->status != REFUND_REQUESTED) {
		*res = result(ctx, t, refunds_skip(ctx->db, claim),
		    arena_printf(ctx->a, "already %s", refunds_status_name(t->status)));
		return false;
	}
	if (t->older_requested > 0) {
		log_info(&ctx->log, "refund %s waits for %" PRId64 " older refund(s) of order %s",
		    t->public_id, t->older_requested, t->order_public_id);
		return false;
	}
	if (pg_parse(t->pg, id) != 0 || t->payment_key == NULL) {
		log_error(&ctx->log, "refund %s: order %s has no PG payment (%s): left for a person",
		    t->public_id, t->order_public_id, t->pg);
		return false;
	}
	return true;
}

enum job_result
job_refund_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct refunds_task t;
	struct pg_cancel_req req;
	struct pg_result r;
	struct pggate *g;
	enum pg_id id;
	enum job_result res;
	char key[40];
	int rc;

	if (!load_task(ctx, claim, &t, &id, &res))
		return res;
	g = pggate_get(ctx->conf, id, PGGATE_REFUND);
	snprintf(key, sizeof(key), "refund-%s", t.public_id);
	memset(&req, 0, sizeof(req));
	req.payment_key = t.payment_key;
	req.amount = t.amount;
	req.cancelable = t.cancelable;
	req.reason = t.reason != NULL ? t.reason : DEFAULT_REASON;
	req.idempotency_key = key;
	if (!pggate_cancel(g, &req, &r)) {
		/* Nothing was sent: the job waits out the breaker without spending an attempt. */
		ctx->wait_ms = pggate_wait_ms(g);
		log_info(&ctx->log, "breaker %s open: refund %s waits %lld ms",
		    pggate_breaker_name(id, PGGATE_REFUND), t.public_id, (long long)ctx->wait_ms);
		return JOB_WAIT;
	}
	log_info(&ctx->log, "cancel %s of %" PRId64 " won (cancelable %" PRId64 ") at %s,"
	    " attempt %d: %s %s %s (%ld ms)", t.public_id, t.amount, t.cancelable, pg_name(id),
	    claim->attempts, pg_outcome_name(r.outcome), pg_state_name(r.state), r.code,
	    r.elapsed_ms);

	switch (r.outcome) {
	case PG_OK:
		return complete(ctx, claim, &t);
	case PG_REFUSED:
		rc = went_through(ctx, g, &t);
		if (rc == 1)
			return complete(ctx, claim, &t);
		if (rc == 0)
			return result(ctx, &t, refunds_release(ctx->db, ctx->a, claim, t.public_id,
			    r.code, r.message), "failed");
		return JOB_RETRY;
	default:
		return JOB_RETRY;  /* unknown: the same key next time; never released */
	}
}
