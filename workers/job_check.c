/* job_check: placeholder until its author lands it. */
#include "jobs.h"

enum job_result
job_check_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	log_error(&ctx->log, "job_check_run: not written yet");
	return JOB_RETRY;
}
