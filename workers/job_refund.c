/* job_refund: the refund job: cancels a reserved refund's amount at the PG, behind a circuit
 * breaker per PG of its own, and completes or releases the refund with lib/refunds.
 *
 * Outcomes: the PG's yes -> refunds_complete (DONE); a definite no -> refunds_release (FAILED,
 * the reservation given back); anything else (timeout, 5xx, reset, unparsable, in progress,
 * open breaker) -> JOB_RETRY with the same Idempotency-Key "refund-<refundId>", never a
 * release. A refusal may be the PG refusing our own earlier cancel that went through with
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

#include "arena.h"
#include "breaker.h"
#include "bus.h"
#include "conf.h"
#include "db.h"
#include "jobs.h"
#include "jparse.h"
#include "pg.h"
#include "redis.h"
#include "refunds.h"

/* How long a published breaker report lives in Redis, and how often it is refreshed. */
#define BREAKER_PUBLISH_TTL 120
#define BREAKER_PUBLISH_EVERY_MS 10000
/* The cancelReason when the refund has none. */
#define DEFAULT_REASON "고객 요청에 의한 환불"

/* This worker process's clients, breakers, Redis and bus producer, made on first use. */
static struct pg *pgs[PG__MAX];
static struct breaker *breakers[PG__MAX];
static struct redis *redis;
static struct bus *producer;
static int64_t published_ms[PG__MAX];

static const char *const breaker_names[PG__MAX] = { "pg-toss-refund", "pg-kakaopay-refund" };

static void
on_transition(struct breaker *b, enum breaker_state from, enum breaker_state to, void *arg)
{
	struct breaker_snapshot s;

	breaker_snapshot(b, &s);
	log_warn(NULL, "breaker %s: %s -> %s (failure rate %d%%, slow rate %d%%, %d calls)",
	    breaker_name(b), breaker_state_name(from), breaker_state_name(to), s.failure_rate,
	    s.slow_rate, s.window_calls);
	if (redis != NULL)
		breaker_publish(b, redis, BREAKER_PUBLISH_TTL);
}

/* Makes this process's PG client and breaker for id on first use. */
static void
setup(const struct conf *c, enum pg_id id)
{
	static const struct breaker_hook hook = { on_transition, NULL };
	struct breaker_settings s;

	if (redis == NULL)
		redis = redis_new(c);
	if (pgs[id] == NULL)
		pgs[id] = pg_new(c, id);
	if (breakers[id] == NULL) {
		breaker_settings_from_conf(c, &s);
		breakers[id] = breaker_new(breaker_names[id], &s, NULL);
		if (breakers[id] == NULL)
			abort();  /* the config's bounds make the settings valid: a programming error */
		breaker_set_hook(breakers[id], &hook);
		breaker_publish(breakers[id], redis, BREAKER_PUBLISH_TTL);
		published_ms[id] = breaker_clock_ms();
	}
}

/* Refreshes the breaker's report now and then (the hook reports every transition). */
static void
publish_now_and_then(enum pg_id id)
{
	int64_t now = breaker_clock_ms();

	if (now - published_ms[id] < BREAKER_PUBLISH_EVERY_MS)
		return;
	published_ms[id] = now;
	breaker_publish(breakers[id], redis, BREAKER_PUBLISH_TTL);
}

/* True when the breaker should count this outcome as the PG failing: a refusal is a healthy
 * answer, and so is "not found" for a lookup. */
static bool
pg_failed(enum pg_outcome o)
{
	return o != PG_OK && o != PG_REFUSED && o != PG_NOT_FOUND;
}

/* The payload's refundId (owned by *p), or NULL when the payload is malformed. */
static const char *
parse_job(const char *payload, struct json_object **p)
{
	static const char *const keys[] = { "refundId", NULL };
	const char *id;

	if (jparse(payload, strlen(payload), 1024, 1, p) != JPARSE_OK || *p == NULL ||
	    jparse_only_keys(*p, keys) != 0 ||
	    jparse_string(*p, "refundId", REFUNDS_ID_LEN, &id) != 0)
		return NULL;
	return id;
}

/* Pushes the jobs a completion queued; a failed push is harmless (the janitor re-pushes). */
static void
push(struct job_ctx *ctx, int64_t id, enum job_kind kind)
{
	struct bus_job bj = { id, kind };

	if (id <= 0)
		return;
	if (producer == NULL)
		producer = bus_producer_new(ctx->conf);
	if (bus_push(producer, &bj) != 0)
		log_warn(&ctx->log, "%s job %" PRId64 " not pushed; the janitor will",
		    bus_kind_name(kind), id);
}

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
	int64_t settle = 0, notify = 0;
	enum refunds_job_rc rc;

	rc = refunds_complete(ctx->db, ctx->a, claim, t->public_id, &settle, &notify);
	if (rc == REFUNDS_JOB_DONE) {
		push(ctx, settle, JOB_REFUND_SETTLE);
		push(ctx, notify, JOB_NOTIFY);
	}
	return result(ctx, t, rc, "done");
}

/* After a refusal: did our own earlier cancel go through after all? Asks the PG
 * through the breaker. Returns 1 when the PG's balance already shows this cancel, 0 when it
 * shows none, -1 when that cannot be told now (retry). */
static int
went_through(struct job_ctx *ctx, enum pg_id id, const struct refunds_task *t)
{
	struct pg_lookup_req req;
	struct pg_result r;

	if (!breaker_allow(breakers[id]))
		return -1;
	memset(&req, 0, sizeof(req));
	req.order_id = t->order_public_id;
	req.payment_key = t->payment_key;
	pg_lookup(pgs[id], &req, &r);
	breaker_record(breakers[id], !pg_failed(r.outcome), r.elapsed_ms);
	log_info(&ctx->log, "lookup of %s at %s after a refusal: %s %s balance %" PRId64,
	    t->order_public_id, pg_name(id), pg_outcome_name(r.outcome), r.status,
	    r.balance_amount);
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

enum job_result
job_refund_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct json_object *p = NULL;
	struct refunds_task t;
	struct pg_cancel_req req;
	struct pg_result r;
	enum pg_id id;
	enum job_result res;
	const char *refund_id;
	char key[40];
	int rc;

	memset(&t, 0, sizeof(t));
	refund_id = parse_job(claim->payload, &p);
	if (refund_id == NULL) {
		log_error(&ctx->log, "refund: malformed payload");
		res = JOB_RETRY;  /* kept for a person; dead after outbox.max_attempts */
		goto out;
	}
	rc = refunds_task_get(ctx->db, ctx->a, refund_id, &t);
	if (rc < 0) {
		res = JOB_RETRY;
		goto out;
	}
	if (rc == 0) {
		log_error(&ctx->log, "refund: no refund %s: job dropped", refund_id);
		res = refunds_skip(ctx->db, claim) == REFUNDS_JOB_SKIPPED ? JOB_DONE : JOB_RETRY;
		goto out;
	}
	if (t.status != REFUND_REQUESTED) {
		res = result(ctx, &t, refunds_skip(ctx->db, claim),
		    arena_printf(ctx->a, "already %s", refunds_status_name(t.status)));
		goto out;
	}
	if (t.older_requested > 0) {
		log_info(&ctx->log, "refund %s waits for %" PRId64 " older refund(s) of order %s",
		    t.public_id, t.older_requested, t.order_public_id);
		res = JOB_RETRY;
		goto out;
	}
	if (pg_parse(t.pg, &id) != 0 || t.payment_key == NULL) {
		log_error(&ctx->log, "refund %s: order %s has no PG payment (%s): left for a person",
		    t.public_id, t.order_public_id, t.pg);
		res = JOB_RETRY;
		goto out;
	}

	setup(ctx->conf, id);
	if (!breaker_allow(breakers[id])) {
		log_info(&ctx->log, "breaker %s open: refund %s waits", breaker_names[id], t.public_id);
		res = JOB_RETRY;
		goto out;
	}
	snprintf(key, sizeof(key), "refund-%s", t.public_id);
	memset(&req, 0, sizeof(req));
	req.payment_key = t.payment_key;
	req.amount = t.amount;
	req.cancelable = t.cancelable;
	req.reason = t.reason != NULL ? t.reason : DEFAULT_REASON;
	req.idempotency_key = key;
	pg_cancel(pgs[id], &req, &r);
	breaker_record(breakers[id], !pg_failed(r.outcome), r.elapsed_ms);
	publish_now_and_then(id);
	log_info(&ctx->log, "cancel %s of %" PRId64 " won (cancelable %" PRId64 ") at %s,"
	    " attempt %d: %s %s %s (%ld ms)", t.public_id, t.amount, t.cancelable, pg_name(id),
	    claim->attempts, pg_outcome_name(r.outcome), r.status, r.code, r.elapsed_ms);

	switch (r.outcome) {
	case PG_OK:
		res = complete(ctx, claim, &t);
		break;
	case PG_REFUSED:
		rc = went_through(ctx, id, &t);
		if (rc == 1)
			res = complete(ctx, claim, &t);
		else if (rc == 0)
			res = result(ctx, &t, refunds_release(ctx->db, ctx->a, claim, t.public_id,
			    r.code, r.message), "failed");
		else
			res = JOB_RETRY;
		break;
	default:
		res = JOB_RETRY;  /* unknown: the same key next time; never released */
		break;
	}
out:
	json_object_put(p);
	return res;
}
