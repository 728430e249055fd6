/* job_confirm: the payment.confirm job: asks the PG to confirm (approve) a payment the shopper
 * authorised, behind this process's circuit breaker for that PG (lib/clients/pggate.h), and
 * records the outcome with lib/shop/payments. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "infra/breaker.h"
#include "infra/bus.h"
#include "base/conf.h"
#include "infra/db.h"
#include "jobs.h"
#include "infra/payload.h"
#include "base/money.h"
#include "shop/orders.h"
#include "shop/payments.h"
#include "clients/pg.h"
#include "clients/pggate.h"

/* Unknown-class outcomes are retried while the claim's attempt count is below this; then the
 * order goes to UNKNOWN for the janitor and an admin. */
#define CONFIRM_MAX_ATTEMPTS 5

/* The failure message kept when a lookup says "no" without one of its own. */
static const char MSG_NOT_APPROVED[] = "결제가 승인되지 않았습니다.";

/* The job's payload, checked. */
struct confirm_job {
	struct payload_confirm p;
	enum pg_id pg;
};

/* Parses the payload strictly into *j (strings in a). Returns 0 or -1. */
static int
parse_job(struct arena *a, const char *payload, struct confirm_job *j)
{
	memset(j, 0, sizeof(*j));
	if (payload_confirm_parse(a, payload, &j->p) != 0 || pg_parse(j->p.pg, &j->pg) != 0)
		return -1;
	if ((j->p.pg_token == NULL) != (j->pg == PG_TOSS))
		return -1;  /* KakaoPay needs the pg_token; Toss has none */
	return 0;
}

/* True when an unknown answer says our own earlier confirm may already have gone through:
 * look the payment up instead of waiting for the same answer again. */
static bool
maybe_done_already(const struct pg_result *r)
{
	return strcmp(r->code, "ALREADY_PROCESSED_PAYMENT") == 0 ||
	    strcmp(r->code, "DUPLICATED_ORDER_ID") == 0 || strcmp(r->code, "-702") == 0;
}

/* Asks the PG about the payment (by orderId at Toss, by tid at KakaoPay) through the breaker.
 * Returns false when the breaker refused (nothing was asked). */
static bool
lookup(struct job_ctx *ctx, struct pggate *g, const struct confirm_job *j,
    struct pg_result *r)
{
	struct pg_lookup_req req;

	if (!breaker_allow(g->breaker))
		return false;
	memset(&req, 0, sizeof(req));
	req.order_id = j->p.order_id;
	req.payment_key = j->pg == PG_KAKAOPAY ? j->p.payment_key : NULL;
	pg_lookup(g->pg, &req, r);
	pggate_record(g, r);
	log_info(&ctx->log, "lookup of %s at %s: %s %s %s (%ld ms)", j->p.order_id,
	    pg_name(j->pg), pg_outcome_name(r->outcome), r->status, r->code, r->elapsed_ms);
	return true;
}

/* True when a lookup says this very payment ended without approval (ABORTED, EXPIRED): it
 * will never be approved, so the order fails. An answer about another payment of the same
 * order (Toss answers an order's latest attempt) decides nothing. */
static bool
lookup_says_no(const struct confirm_job *j, const struct pg_result *lr)
{
	if (strcmp(lr->status, "ABORTED") != 0 && strcmp(lr->status, "EXPIRED") != 0)
		return false;
	return lr->payment_key[0] == '\0' || strcmp(lr->payment_key, j->p.payment_key) == 0;
}

/* The job's result after a payments call. */
static enum job_result
settled(struct job_ctx *ctx, const struct order *o, enum payments_rc rc, const char *what)
{
	log_info(&ctx->log, "order %s: %s -> %s", o->public_id, what, payments_rc_name(rc));
	if (rc == PAYMENTS_LOST)
		return JOB_LOST;
	if (rc == PAYMENTS_DB_FAILED)
		return JOB_RETRY;
	return JOB_DONE;
}

static enum job_result
paid(struct job_ctx *ctx, const struct outbox_claim *claim, const struct order *o,
    const struct pg_result *r)
{
	int64_t settle = 0;
	enum payments_rc rc;

	rc = payments_mark_paid(ctx->db, ctx->a, claim, o, r, &settle);
	if (rc == PAYMENTS_DONE && settle > 0)
		bus_push_job(ctx->bus, settle, JOB_SETTLE);
	return settled(ctx, o, rc, "paid");
}

/* An outcome that says neither yes nor no: retry while attempts remain, then UNKNOWN. */
static enum job_result
unknown(struct job_ctx *ctx, const struct outbox_claim *claim, const struct order *o,
    const struct pg_result *r)
{
	if (claim->attempts < CONFIRM_MAX_ATTEMPTS)
		return JOB_RETRY;
	log_error(&ctx->log, "order %s: outcome still unknown after %d attempts (%s %s)",
	    o->public_id, claim->attempts, pg_outcome_name(r->outcome), r->code);
	return settled(ctx, o, payments_mark_unknown(ctx->db, ctx->a, claim, o,
	    arena_printf(ctx->a, "confirm unknown after %d attempts: %s %s", claim->attempts,
	    pg_outcome_name(r->outcome), r->code)), "unknown");
}

enum job_result
job_confirm_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct confirm_job j;
	struct pg_confirm_req req;
	struct pg_result r, lr;
	struct pggate *g;
	struct order o;
	char key[80];
	enum job_result res;
	int rc;

	if (parse_job(ctx->a, claim->payload, &j) != 0) {
		log_error(&ctx->log, "confirm: malformed payload");
		res = JOB_RETRY;  /* kept for a person; dead after outbox.max_attempts */
		goto out;
	}
	rc = orders_get(ctx->db, ctx->a, j.p.order_id, true, &o);
	if (rc < 0) {
		res = JOB_RETRY;
		goto out;
	}
	if (rc == 0) {
		log_error(&ctx->log, "confirm: no order %s: job dropped", j.p.order_id);
		res = payments_skip(ctx->db, claim) == PAYMENTS_SKIPPED ? JOB_DONE : JOB_RETRY;
		goto out;
	}
	if (o.status != ORDER_CONFIRMING) {
		res = settled(ctx, &o, payments_skip(ctx->db, claim),
		    arena_printf(ctx->a, "already %s", orders_status_name(o.status)));
		goto out;
	}
	if (orders_pay_name(o.pay) == NULL || strcmp(orders_pay_name(o.pay), pg_name(j.pg)) != 0 ||
	    j.p.amount != o.amount || o.payment_key == NULL ||
	    strcmp(o.payment_key, j.p.payment_key) != 0) {
		log_error(&ctx->log, "confirm: job for %s disagrees with the order (pg, amount or"
		    " key)", o.public_id);
		res = settled(ctx, &o, payments_mark_unknown(ctx->db, ctx->a, claim, &o,
		    "confirm job disagrees with the order"), "unknown");
		goto out;
	}

	g = pggate_get(ctx->conf, j.pg, PGGATE_PAY);
	if (!breaker_allow(g->breaker)) {
		/* The order stays CONFIRMING. The release still counts an attempt (lib/infra/outbox has no
		 * way to give a claim back unspent); a job whose attempts run out while the breaker
		 * stays open dies, and the janitor's stale-CONFIRMING sweep asks the PG instead. */
		log_info(&ctx->log, "breaker %s open: order %s waits", pggate_breaker_name(j.pg, PGGATE_PAY),
		    o.public_id);
		res = JOB_RETRY;
		goto out;
	}
	snprintf(key, sizeof(key), "confirm-%s", o.public_id);
	memset(&req, 0, sizeof(req));
	req.order_id = o.public_id;
	req.amount = o.amount;
	req.payment_key = j.p.payment_key;
	req.pg_token = j.p.pg_token;
	req.user_ref = j.pg == PG_KAKAOPAY ? j.p.user_ref : NULL;
	req.idempotency_key = key;
	pg_confirm(g->pg, &req, &r);
	pggate_record(g, &r);
	log_info(&ctx->log, "confirm %s at %s, attempt %d: %s %s %s (%ld ms)", o.public_id,
	    pg_name(j.pg), claim->attempts, pg_outcome_name(r.outcome), r.status, r.code,
	    r.elapsed_ms);

	switch (r.outcome) {
	case PG_OK:
		res = paid(ctx, claim, &o, &r);
		break;
	case PG_REFUSED:
		res = settled(ctx, &o, payments_mark_failed(ctx->db, ctx->a, claim, &o, r.code,
		    r.message), "failed");
		break;
	default:
		/* Our earlier confirm may have gone through with its answer lost (and at the last
		 * attempt, ask anyway before giving up): the PG's own record decides. */
		if ((maybe_done_already(&r) || claim->attempts >= CONFIRM_MAX_ATTEMPTS) &&
		    lookup(ctx, g, &j, &lr) && lr.outcome == PG_OK) {
			if (strcmp(lr.status, "DONE") == 0) {
				res = paid(ctx, claim, &o, &lr);
				break;
			}
			if (lookup_says_no(&j, &lr)) {
				res = settled(ctx, &o, payments_mark_failed(ctx->db, ctx->a, claim, &o,
				    lr.code[0] != '\0' ? lr.code : lr.status, lr.message[0] != '\0' ?
				    lr.message : MSG_NOT_APPROVED), "failed (lookup)");
				break;
			}
		}
		res = unknown(ctx, claim, &o, &r);
		break;
	}
out:
	return res;
}
