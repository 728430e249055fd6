/* job_settle: the settle and refund.settle jobs: settle a paid order, or a refund, with its
 * sellers through lib/shop/settle (one transaction with the outbox completion; a batch of
 * settle jobs in one transaction). */
#include "base/arena.h"
#include "base/conf.h"
#include "infra/payload.h"
#include "jobs.h"
#include "shop/settle.h"

/* The job's result for rc. */
static enum job_result
result(struct job_ctx *ctx, const char *what, const char *id, enum settle_rc rc)
{
	if (rc == SETTLE_WAIT || rc == SETTLE_FAILED)
		log_warn(&ctx->log, "%s %s: %s; retrying later", what, id, settle_rc_name(rc));
	else
		log_info(&ctx->log, "%s %s: %s", what, id, settle_rc_name(rc));
	switch (rc) {
	case SETTLE_DONE:
	case SETTLE_REPLAYED:
	case SETTLE_SKIPPED:
		return JOB_DONE;
	case SETTLE_LOST:
		return JOB_LOST;
	default:
		return JOB_RETRY;
	}
}

/* A payload that can never be run: completed so it stops coming back. */
static enum job_result
malformed(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	log_error(&ctx->log, "%s: malformed payload; dropped", bus_kind_name(claim->kind));
	return result(ctx, bus_kind_name(claim->kind), "-", settle_skip(ctx->db, claim));
}

enum job_result
job_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	const char *id;

	if (payload_order_parse(ctx->a, claim->payload, &id) != 0)
		return malformed(ctx, claim);
	return result(ctx, "settle order", id, settle_order(ctx->db, ctx->a, claim, id,
	    (int)conf_int(ctx->conf, CONF_SETTLE_COMMISSION_BP)));
}

enum job_result
job_refund_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	const char *id;

	if (payload_refund_parse(ctx->a, claim->payload, &id) != 0)
		return malformed(ctx, claim);
	return result(ctx, "settle refund", id, settle_refund(ctx->db, ctx->a, claim, id));
}

bool
job_settle_batch(struct job_ctx *ctx, const struct outbox_claim *claims, size_t n,
    int64_t deadline_ms, enum job_result *res)
{
	const char **ids = arena_alloc(ctx->a, n * sizeof(*ids));
	enum settle_rc *rc = arena_alloc(ctx->a, n * sizeof(*rc));
	size_t i;

	for (i = 0; i < n; i++)
		if (payload_order_parse(ctx->a, claims[i].payload, &ids[i]) != 0)
			return false;  /* the one-by-one path drops it */
	if (settle_orders_batch(ctx->db, ctx->a, claims, ids, n,
	    (int)conf_int(ctx->conf, CONF_SETTLE_COMMISSION_BP), rc) != 0)
		return false;
	(void)deadline_ms;  /* one transaction, no call outside: nothing to stop early */
	for (i = 0; i < n; i++) {
		log_info(&ctx->log, "settle order %s: %s (batch of %zu)", ids[i], settle_rc_name(rc[i]),
		    n);
		res[i] = JOB_DONE;
	}
	return true;
}
