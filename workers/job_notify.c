/* job_notify: placeholder until its author lands it. */
#include "jobs.h"

enum job_result
job_notify_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	log_error(&ctx->log, "job_notify_run: not written yet");
	return JOB_RETRY;
}
