/* jobs: the job handlers a worker runs, one file per job kind. */
#ifndef JT_JOBS_H
#define JT_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "infra/outbox.h"

struct account_contact;
struct arena;
struct conf;
struct db;

struct bus;

struct job_ctx {
	const struct conf *conf;
	struct db *db;
	struct arena *a;        /* reset after every batch of jobs */
	struct log_ctx log;     /* req = "job-<id>" */
	struct bus *bus;        /* this process's producer: jobs a job queues are pushed here
	                         * (bus_push_job, bus_push_batch) after their commit */
	int64_t wait_ms;        /* JOB_WAIT: how long the job waits before it is due again (a
	                         * batch's handler sets the longest of its jobs' waits) */
};

enum job_result {
	JOB_DONE,    /* the effect and the outbox completion committed together */
	JOB_RETRY,   /* a transient failure: give the job back for a later attempt */
	JOB_LOST,    /* our claim was taken over; the other holder finishes the job */
	JOB_UNRUN,   /* a batch handler did not get to it: give it back unspent */
	JOB_WAIT,    /* nothing was tried (a circuit breaker refused the call): give it back
	              * unspent, due after ctx->wait_ms, so an outage never uses up its attempts */
};

/* echo: the demo job. Payload {"message": str, "sleep_ms": n}. Sleeps sleep_ms (the window in
 * which tests kill the worker), then in one transaction records the message in
 * job_echo_effects and completes the outbox row. */
enum job_result job_echo_run(struct job_ctx *ctx, const struct outbox_claim *claim);

/* payment.confirm: payload {"orderId", "pg", "amount", "paymentKey", "pgToken" (KakaoPay
 * only), "userRef"}. Confirms the payment at the PG (Idempotency-Key "confirm-<orderId>",
 * the same on every attempt) behind this process's breaker for that PG, then records the
 * outcome with lib/shop/payments in one transaction with the outbox completion: approved -> PAID
 * (settle job pushed), refused -> FAILED, unknown -> retried up to 5 attempts, then UNKNOWN.
 * An open breaker: JOB_WAIT, nothing asked and the attempt not spent (the order stays
 * CONFIRMING). */
enum job_result job_confirm_run(struct job_ctx *ctx, const struct outbox_claim *claim);

/* settle: payload {"orderId"}. Credits each seller of a paid order with its lines minus
 * commission and the platform with the commission (posting settle:<orderId>), records the
 * settlements, and completes the outbox row, in one transaction (workers/job_settle.c). A
 * replay changes nothing; a failure is retried and never touches the payment. */
enum job_result job_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim);

/* A batch handler runs claims[0..n) (one claim token; n >= 1: a lone job too, in fewer
 * statements than the one-job path) and says each job's result in res[i], returning true;
 * or returns false having done nothing, and the worker runs each job with the kind's
 * one-job handler. It must give its jobs back (JOB_UNRUN) rather than
 * start one after deadline_ms (monotonic, half the claim). */

/* settle: the batch settled in one transaction (lib/shop/settle.h settle_orders_batch);
 * false when that rolled back (nothing written). */
bool job_settle_batch(struct job_ctx *ctx, const struct outbox_claim *claims, size_t n,
    int64_t deadline_ms, enum job_result *res);

/* payment.confirm: the PG asked for each job in turn (each with its own Idempotency-Key,
 * behind the breaker), every job whose answer is not a plain approval decided alone (as
 * job_confirm_run), and the approvals recorded together in one transaction
 * (lib/shop/payments.h payments_mark_paid_batch; one by one when that rolls back). */
bool job_confirm_batch(struct job_ctx *ctx, const struct outbox_claim *claims, size_t n,
    int64_t deadline_ms, enum job_result *res);

/* notify: the batch's orders and lines read together, their shoppers' contacts in one more
 * read, each job run as job_notify_run, and every job that sent its mail (or had none to
 * send) completed by one statement at the end (a job that sent 알림톡 completes itself, with
 * its notice record). A failed completion runs those jobs again: their mail may go twice
 * (at least once, as one job). */
bool job_notify_batch(struct job_ctx *ctx, const struct outbox_claim *claims, size_t n,
    int64_t deadline_ms, enum job_result *res);

/* Milliseconds on the monotonic clock (workers/worker.c). */
int64_t worker_now_ms(void);

/* A batch handler's step to its next job: names the log lines after claim ("job-<id>",
 * written in label[32]) and returns false when the job must be given back unrun (the
 * worker is stopping or deadline_ms has passed: the handler answers JOB_UNRUN). */
bool job_batch_next(struct job_ctx *ctx, const struct outbox_claim *claim, char *label,
    int64_t deadline_ms);

/* refund.settle: payload {"refundId"}. Takes a completed refund back from its sellers and
 * the commission (posting refund.settle:<refundId>), in one transaction with the outbox row. */
enum job_result job_refund_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim);

/* notify: payload {"orderId", "event": "paid" | "refunded"}. Sends the shopper 알림톡 when
 * they consented (exactly once, notify_alimtalk), else mails them through the SMTP relay
 * (workers/job_notify.c; a mail is sent at least once per job and event). */
enum job_result job_notify_run(struct job_ctx *ctx, const struct outbox_claim *claim);

/* The 알림톡 leg of a notice (workers/notify_alimtalk.c). */
struct order;
struct refund;
struct payload_notify;
struct notify_alimtalk_in {
	const struct order *order;    /* paid, loaded with details */
	const struct refund *refund;  /* the completed refund of a "refunded" notice, else NULL */
	const struct account_contact *contact; /* the shopper's: number, consent and name */
	const struct payload_notify *job; /* the notice: its event, and a parcel's seller,
	                                   * courier and tracking number */
};

/* Sends the notice as KakaoTalk 알림톡 when the shopper consented and gave a number and
 * 알림톡 is configured; exactly once per notice (idempotency key at the provider, and the
 * notify_deliveries record written with the job's completion). Returns true when the job is
 * finished here with *res (JOB_DONE sent now or before, JOB_LOST, JOB_RETRY outcome unknown
 * or the database failed), false when the notice should go by mail (no consent or number,
 * not configured, refused for good, or unknown at alimtalk.mail_after_attempts). */
bool notify_alimtalk(struct job_ctx *ctx, const struct outbox_claim *claim,
    const struct notify_alimtalk_in *in, enum job_result *res);

/* payment.check: payload {"orderId"}. Looks the payment up at the PG by orderId behind the
 * breaker and marks an UNKNOWN or CONFIRMING order PAID or FAILED when the PG answers, else
 * schedules the next check (lib/shop/paychecks.h; workers/job_check.c). */
enum job_result job_check_run(struct job_ctx *ctx, const struct outbox_claim *claim);

/* refund: payload {"refundId"}. Cancels the refund's amount at the PG (Idempotency-Key
 * "refund-<refundId>") and completes or releases the refund (lib/shop/refunds.h;
 * workers/job_refund.c). */
enum job_result job_refund_run(struct job_ctx *ctx, const struct outbox_claim *claim);

#endif
