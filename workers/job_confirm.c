/* job_confirm: the payment.confirm job: asks the PG to confirm (approve) a payment the shopper
 * authorised, through this process's breaker gate for that PG (lib/clients/pggate.h), and
 * records the outcome with lib/shop/payments. It acts on the classified answer only (the
 * outcome and the payment's state); the PG's words stay in lib/clients. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
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
#include "shop/payments.h"

/* Unknown-class outcomes are retried while the claim's attempt count is below this; then the
 * order goes to UNKNOWN for the janitor and an admin. */
#define CONFIRM_MAX_ATTEMPTS 5

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

/* Asks the PG about the payment (by orderId at Toss, by tid at KakaoPay) through the gate.
 * Returns false when the breaker refused (nothing was asked). */
static bool
lookup(struct job_ctx *ctx, struct pggate *g, const struct confirm_job *j,
    struct pg_result *r)
{
	struct pg_lookup_req req;

	memset(&req, 0, sizeof(req));
	req.order_id = j->p.order_id;
	req.payment_key = j->pg == PG_KAKAOPAY ? j->p.payment_key : NULL;
	if (!pggate_lookup(g, &req, r))
		return false;
	log_info(&ctx->log, "lookup of %s at %s: %s %s %s (%ld ms)", j->p.order_id,
	    pg_name(j->pg), pg_outcome_name(r->outcome), pg_state_name(r->state), r->code,
	    r->elapsed_ms);
	return true;
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
	struct bus_batch jobs;
	enum payments_rc rc;

	rc = payments_mark_paid(ctx->db, ctx->a, claim, o, r, &jobs);
	bus_push_batch(ctx->bus, &jobs);
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

/* Whether the order the job is about (*o as loaded, rc the load's result: 1 found, 0 none,
 * or an enum db_rc) is still to be confirmed as the job says. Returns JOB_DONE when the PG is
 * to be asked, else the job's result. */
static enum job_result
check_order(struct job_ctx *ctx, const struct outbox_claim *claim, const struct confirm_job *j,
    struct order *o, int rc)
{
	enum pg_id id;

	if (rc < 0)
		return JOB_RETRY;
	if (rc == 0) {
		log_error(&ctx->log, "confirm: no order %s: job dropped", j->p.order_id);
		return payments_skip(ctx->db, claim) == PAYMENTS_SKIPPED ? JOB_DONE : JOB_RETRY;
	}
	if (o->status != ORDER_CONFIRMING)
		return settled(ctx, o, payments_skip(ctx->db, claim),
		    arena_printf(ctx->a, "already %s", orders_status_name(o->status)));
	if (pg_parse(orders_pay_name(o->pay), &id) != 0 || id != j->pg ||
	    j->p.amount != o->amount || o->payment_key == NULL ||
	    strcmp(o->payment_key, j->p.payment_key) != 0) {
		log_error(&ctx->log, "confirm: job for %s disagrees with the order (pg, amount or"
		    " key)", o->public_id);
		return settled(ctx, o, payments_mark_unknown(ctx->db, ctx->a, claim, o,
		    "confirm job disagrees with the order"), "unknown");
	}
	return JOB_DONE;
}

/* check_order of the order loaded alone. */
static enum job_result
load_order(struct job_ctx *ctx, const struct outbox_claim *claim, const struct confirm_job *j,
    struct order *o)
{
	return check_order(ctx, claim, j, o, orders_get_lines(ctx->db, ctx->a, j->p.order_id, o));
}

/* Acts on the confirm's classified answer r (the PG was asked). */
static enum job_result
decide(struct job_ctx *ctx, const struct outbox_claim *claim, struct pggate *g,
    const struct confirm_job *j, const struct order *o, const struct pg_result *r)
{
	struct pg_result lr;

	if (r->outcome == PG_OK)
		return paid(ctx, claim, o, r);
	if (r->outcome == PG_REFUSED)
		return settled(ctx, o, payments_mark_failed(ctx->db, ctx->a, claim, o, r->code,
		    r->message), "failed");
	/* Our earlier confirm may have gone through with its answer lost (and at the last
	 * attempt, ask anyway before giving up): the PG's own record decides. */
	if ((r->outcome == PG_DUPLICATE || claim->attempts >= CONFIRM_MAX_ATTEMPTS) &&
	    lookup(ctx, g, j, &lr)) {
		switch (payments_verdict(o, &lr)) {
		case PAYMENTS_PAID:
			return paid(ctx, claim, o, &lr);
		case PAYMENTS_FAILED:
			return settled(ctx, o, payments_mark_failed_as(ctx->db, ctx->a, claim, o, &lr),
			    "failed (lookup)");
		default:
			break;  /* not found, open, cancelled: still unknown to us */
		}
	}
	return unknown(ctx, claim, o, r);
}

static void confirm_req(const struct confirm_job *j, const struct order *o, char *key,
    size_t keysize, struct pg_confirm_req *req);

/* The breaker of gate g refused job j's confirm: nothing was asked and the order stays
 * CONFIRMING. The job waits out the breaker without spending an attempt (JOB_WAIT), so an
 * outage of any length never kills it. */
static enum job_result
breaker_wait(struct job_ctx *ctx, struct pggate *g, const struct confirm_job *j,
    const struct order *o)
{
	int64_t wait = pggate_wait_ms(g);

	log_info(&ctx->log, "breaker %s open: order %s waits %lld ms",
	    pggate_breaker_name(j->pg, PGGATE_PAY), o->public_id, (long long)wait);
	if (wait > ctx->wait_ms)
		ctx->wait_ms = wait;
	return JOB_WAIT;
}

enum job_result
job_confirm_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct confirm_job j;
	struct pg_confirm_req req;
	struct pg_result r;
	struct pggate *g;
	struct order o;
	enum job_result res;
	char key[80];

	if (parse_job(ctx->a, claim->payload, &j) != 0) {
		log_error(&ctx->log, "confirm: malformed payload");
		return JOB_RETRY;  /* kept for a person; dead after outbox.max_attempts */
	}
	res = load_order(ctx, claim, &j, &o);
	if (res != JOB_DONE)
		return res;
	confirm_req(&j, &o, key, sizeof(key), &req);
	g = pggate_get(ctx->conf, j.pg, PGGATE_PAY);
	if (!pggate_confirm(g, &req, &r))
		return breaker_wait(ctx, g, &j, &o);
	log_info(&ctx->log, "confirm %s at %s, attempt %d: %s %s %s (%ld ms)", o.public_id,
	    pg_name(j.pg), claim->attempts, pg_outcome_name(r.outcome), pg_state_name(r.state),
	    r.code, r.elapsed_ms);
	return decide(ctx, claim, g, &j, &o, &r);
}

/* The confirm request of job j for order o, with its Idempotency-Key in key. */
static void
confirm_req(const struct confirm_job *j, const struct order *o, char *key, size_t keysize,
    struct pg_confirm_req *req)
{
	snprintf(key, keysize, "confirm-%s", o->public_id);
	memset(req, 0, sizeof(*req));
	req->order_id = o->public_id;
	req->amount = o->amount;
	req->payment_key = j->p.payment_key;
	req->pg_token = j->p.pg_token;
	req->user_ref = j->pg == PG_KAKAOPAY ? j->p.user_ref : NULL;
	req->idempotency_key = key;
}

/* Asks PG id, at once, about every job i of the batch with ask[i] set whose PG it is:
 * r[i] its answer, sent[i] false when the breaker refused it. */
static void
ask_at_once(struct job_ctx *ctx, enum pg_id id, const struct confirm_job *j,
    const struct pg_confirm_req *req, const bool *ask, size_t n, struct pg_result *r,
    bool *sent)
{
	struct pg_confirm_req *sub = arena_alloc(ctx->a, n * sizeof(*sub));
	struct pg_result *sub_r = arena_alloc(ctx->a, n * sizeof(*sub_r));
	bool *sub_sent = arena_alloc(ctx->a, n * sizeof(*sub_sent));
	size_t *at = arena_alloc(ctx->a, n * sizeof(*at));
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (ask[i] && j[i].pg == id) {
			sub[m] = req[i];
			at[m++] = i;
		}
	}
	if (m == 0)
		return;
	pggate_confirm_many(pggate_get(ctx->conf, id, PGGATE_PAY), sub, m, sub_r, sub_sent);
	for (i = 0; i < m; i++) {
		r[at[i]] = sub_r[i];
		sent[at[i]] = sub_sent[i];
	}
}

bool
job_confirm_batch(struct job_ctx *ctx, const struct outbox_claim *claims, size_t n,
    int64_t deadline_ms, enum job_result *res)
{
	struct confirm_job *j = arena_alloc(ctx->a, n * sizeof(*j));
	struct order *o = arena_alloc(ctx->a, n * sizeof(*o));
	struct pg_result *r = arena_alloc(ctx->a, n * sizeof(*r));
	struct payments_paid *v = arena_alloc(ctx->a, n * sizeof(*v));
	size_t *at = arena_alloc(ctx->a, n * sizeof(*at));
	const char **ids = arena_alloc(ctx->a, n * sizeof(*ids));
	int *found = arena_alloc(ctx->a, n * sizeof(*found));
	struct pg_confirm_req *req = arena_alloc(ctx->a, n * sizeof(*req));
	char (*key)[80] = arena_alloc(ctx->a, n * sizeof(*key));
	bool *ask = arena_alloc(ctx->a, n * sizeof(*ask));
	bool *sent = arena_alloc(ctx->a, n * sizeof(*sent));
	struct pggate *g;
	size_t i, k, np = 0;
	char label[32];
	enum pg_id id;
	int lrc;

	/* The batch's orders and lines in two statements: what each job checks before asking. */
	for (i = 0; i < n; i++) {
		res[i] = parse_job(ctx->a, claims[i].payload, &j[i]) == 0 ? JOB_DONE : JOB_RETRY;
		ids[i] = res[i] == JOB_DONE ? j[i].p.order_id : NULL;
	}
	lrc = orders_get_lines_many(ctx->db, ctx->a, ids, n, o, found);
	for (i = 0; i < n; i++) {
		ask[i] = false;
		if (!job_batch_next(ctx, &claims[i], label, deadline_ms)) {
			res[i] = JOB_UNRUN;
			continue;
		}
		if (res[i] != JOB_DONE) {
			log_error(&ctx->log, "confirm: malformed payload");
			continue;
		}
		res[i] = check_order(ctx, &claims[i], &j[i], &o[i], lrc < 0 ? lrc : found[i]);
		if (res[i] != JOB_DONE)
			continue;
		confirm_req(&j[i], &o[i], key[i], sizeof(key[i]), &req[i]);
		ask[i] = true;
	}
	/* Each PG is asked about all of its jobs at once (each confirm still with its own
	 * Idempotency-Key, through the breaker): the batch waits for its slowest answer, not
	 * for the sum of them. */
	for (id = 0; id < PG__MAX; id++)
		ask_at_once(ctx, id, j, req, ask, n, r, sent);
	for (i = 0; i < n; i++) {
		if (!ask[i])
			continue;
		snprintf(label, sizeof(label), "job-%lld", (long long)claims[i].id);
		ctx->log.req_id = label;
		g = pggate_get(ctx->conf, j[i].pg, PGGATE_PAY);
		if (!sent[i]) {
			res[i] = breaker_wait(ctx, g, &j[i], &o[i]);
			continue;
		}
		log_info(&ctx->log, "confirm %s at %s, attempt %d: %s %s %s (%ld ms)", o[i].public_id,
		    pg_name(j[i].pg), claims[i].attempts, pg_outcome_name(r[i].outcome),
		    pg_state_name(r[i].state), r[i].code, r[i].elapsed_ms);
		if (r[i].outcome == PG_OK) {
			memset(&v[np], 0, sizeof(v[np]));
			v[np].claim = &claims[i];
			v[np].o = &o[i];
			v[np].r = &r[i];
			at[np++] = i;
			continue;
		}
		res[i] = decide(ctx, &claims[i], g, &j[i], &o[i], &r[i]);
	}
	ctx->log.req_id = "batch";
	if (np >= 1 && payments_mark_paid_batch(ctx->db, ctx->a, v, np) == 0) {
		for (k = 0; k < np; k++) {
			bus_push_batch(ctx->bus, &v[k].jobs);
			log_info(&ctx->log, "order %s: paid -> done (batch of %zu)", o[at[k]].public_id,
			    np);
			res[at[k]] = JOB_DONE;
		}
		return true;
	}
	for (k = 0; k < np; k++) {
		snprintf(label, sizeof(label), "job-%lld", (long long)claims[at[k]].id);
		ctx->log.req_id = label;
		res[at[k]] = paid(ctx, &claims[at[k]], &o[at[k]], &r[at[k]]);
	}
	return true;
}
