/* jobs: the job handlers a worker runs, one file per job kind. */
#ifndef JT_JOBS_H
#define JT_JOBS_H

#include "log.h"
#include "outbox.h"

struct arena;
struct conf;
struct db;

struct job_ctx {
	const struct conf *conf;
	struct db *db;
	struct arena *a;        /* reset after every job */
	struct log_ctx log;     /* req = "job-<id>" */
};

enum job_result {
	JOB_DONE,    /* the effect and the outbox completion committed together */
	JOB_RETRY,   /* a transient failure: give the job back for a later attempt */
	JOB_LOST,    /* our claim was taken over; the other holder finishes the job */
};

/* echo: the demo job. Payload {"message": str, "sleep_ms": n}. Sleeps sleep_ms (the window in
 * which tests kill the worker), then in one transaction records the message in
 * job_echo_effects and completes the outbox row. */
enum job_result job_echo_run(struct job_ctx *ctx, const struct outbox_claim *claim);

/* payment.confirm: payload {"orderId", "pg", "amount", "paymentKey", "pgToken" (KakaoPay
 * only), "userRef"}. Confirms the payment at the PG (Idempotency-Key "confirm-<orderId>",
 * the same on every attempt) behind this process's breaker for that PG, then records the
 * outcome with lib/payments in one transaction with the outbox completion: approved -> PAID
 * (settle job pushed), refused -> FAILED, unknown -> retried up to 5 attempts, then UNKNOWN.
 * An open breaker retries later without calling (the order stays CONFIRMING). */
enum job_result job_confirm_run(struct job_ctx *ctx, const struct outbox_claim *claim);

#endif
