/* job_settle: placeholder until its author lands it. */
#include "jobs.h"

enum job_result
job_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	log_error(&ctx->log, "job_settle_run: not written yet");
	return JOB_RETRY;
}

enum job_result
job_refund_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	log_error(&ctx->log, "job_refund_settle_run: not written yet");
	return JOB_RETRY;
}
