/* pggate: each payment worker process's PG clients and circuit breakers (see pggate.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infra/breaker.h"
#include "base/log.h"
#include "clients/pggate.h"
#include "infra/redis.h"

/* How long a published breaker report lives in Redis, and how often it is refreshed. */
#define PGGATE_BREAKER_TTL 120
#define PGGATE_PUBLISH_MS 10000

static const char *const breaker_names[PGGATE_USE__MAX][PG__MAX] = {
	[PGGATE_PAY] = { "pg-toss", "pg-kakaopay" },
	[PGGATE_REFUND] = { "pg-toss-refund", "pg-kakaopay-refund" },
};

static struct pggate gates[PGGATE_USE__MAX][PG__MAX];
static int64_t published_ms[PGGATE_USE__MAX][PG__MAX];
static struct pg *clients[PG__MAX];
static struct redis *gate_redis;

const char *
pggate_breaker_name(enum pg_id id, enum pggate_use use)
{
	if ((unsigned)id >= PG__MAX || (unsigned)use >= PGGATE_USE__MAX)
		return "?";
	return breaker_names[use][id];
}

static void
on_transition(struct breaker *b, enum breaker_state from, enum breaker_state to, void *arg)
{
	struct breaker_snapshot s;

	breaker_snapshot(b, &s);
	/* The window is emptied by the transition: the running totals say more. */
	log_warn(NULL, "breaker %s: %s -> %s (since start: %llu calls, %llu failed, %llu slow,"
	    " %llu refused)", breaker_name(b), breaker_state_name(from), breaker_state_name(to),
	    (unsigned long long)s.counters.calls, (unsigned long long)s.counters.failures,
	    (unsigned long long)s.counters.slow, (unsigned long long)s.counters.rejected);
	if (gate_redis != NULL)
		(void)breaker_publish(b, gate_redis, PGGATE_BREAKER_TTL);
}

struct pggate *
pggate_get(const struct conf *c, enum pg_id id, enum pggate_use use)
{
	static const struct breaker_hook hook = { on_transition, NULL };
	struct pggate *g;
	struct breaker_settings s;

	if ((unsigned)id >= PG__MAX || (unsigned)use >= PGGATE_USE__MAX)
		abort();  /* a programming error: ids come from pg_parse */
	g = &gates[use][id];
	if (g->breaker != NULL)
		return g;
	if (gate_redis == NULL)
		gate_redis = redis_new(c);
	if (clients[id] == NULL)
		clients[id] = pg_new(c, id);
	g->id = id;
	g->use = use;
	g->pg = clients[id];
	breaker_settings_from_conf(c, &s);
	g->breaker = breaker_new(breaker_names[use][id], &s, NULL);
	if (g->breaker == NULL)
		abort();  /* the config's bounds make the settings valid */
	breaker_set_hook(g->breaker, &hook);
	(void)breaker_publish(g->breaker, gate_redis, PGGATE_BREAKER_TTL);
	published_ms[use][id] = breaker_clock_ms();
	return g;
}

/* True when r means the PG failed to answer (what the breakers count as a failure): a
 * refusal or "not found" is the PG answering. */
static bool
pggate_pg_failed(const struct pg_result *r)
{
	return r->outcome != PG_OK && r->outcome != PG_REFUSED && r->outcome != PG_NOT_FOUND;
}

static void
pggate_record(struct pggate *g, const struct pg_result *r)
{
	int64_t now;

	breaker_record(g->breaker, !pggate_pg_failed(r), r->elapsed_ms);
	now = breaker_clock_ms();
	if (now - published_ms[g->use][g->id] < PGGATE_PUBLISH_MS)
		return;
	published_ms[g->use][g->id] = now;
	(void)breaker_publish(g->breaker, gate_redis, PGGATE_BREAKER_TTL);
}

void
pggate_refresh(void)
{
	int64_t now = breaker_clock_ms();
	size_t use, id;

	for (use = 0; use < PGGATE_USE__MAX; use++)
		for (id = 0; id < PG__MAX; id++) {
			struct pggate *g = &gates[use][id];

			if (g->breaker == NULL)
				continue;
			/* An open breaker whose time is up turns half-open here: its hook
			 * (on_transition) logs and publishes the change. */
			(void)breaker_state(g->breaker);
			if (now - published_ms[use][id] < PGGATE_PUBLISH_MS)
				continue;
			published_ms[use][id] = now;
			(void)breaker_publish(g->breaker, gate_redis, PGGATE_BREAKER_TTL);
		}
}

/* Asks the breaker: false (out filled: not sent) when it refuses. */
static bool
pggate_admit(struct pggate *g, struct pg_result *out)
{
	if (breaker_allow(g->breaker))
		return true;
	memset(out, 0, sizeof(*out));
	out->outcome = PG_NOT_SENT;
	snprintf(out->code, sizeof(out->code), "%s", PG_CODE_BREAKER_OPEN);
	snprintf(out->message, sizeof(out->message), "breaker %s is open",
	    breaker_name(g->breaker));
	return false;
}

int64_t
pggate_wait_ms(struct pggate *g)
{
	struct breaker_snapshot s;
	int64_t left;

	breaker_snapshot(g->breaker, &s);
	if (s.state != BREAKER_OPEN)
		return PGGATE_HALF_OPEN_WAIT_MS;
	left = breaker_settings(g->breaker)->open_ms - (s.now_ms - s.since_ms);
	return left > 0 ? left : 0;
}

bool
pggate_ready(struct pggate *g, const struct pg_ready_req *req, struct pg_result *out)
{
	if (!pggate_admit(g, out))
		return false;
	pg_ready(g->pg, req, out);
	pggate_record(g, out);
	return true;
}

bool
pggate_confirm(struct pggate *g, const struct pg_confirm_req *req, struct pg_result *out)
{
	if (!pggate_admit(g, out))
		return false;
	pg_confirm(g->pg, req, out);
	pggate_record(g, out);
	return true;
}

void
pggate_confirm_many(struct pggate *g, const struct pg_confirm_req *reqs, size_t n,
    struct pg_result *outs, bool *sent)
{
	struct pg_confirm_req *go = calloc(n > 0 ? n : 1, sizeof(*go));
	struct pg_result *r = calloc(n > 0 ? n : 1, sizeof(*r));
	size_t i, k, m = 0;

	if (go == NULL || r == NULL)
		abort();
	for (i = 0; i < n; i++) {
		sent[i] = pggate_admit(g, &outs[i]);
		if (sent[i])
			go[m++] = reqs[i];
	}
	pg_confirm_many(g->pg, go, m, r);
	for (i = 0, k = 0; i < n; i++) {
		if (!sent[i])
			continue;
		outs[i] = r[k++];
		pggate_record(g, &outs[i]);
	}
	free(go);
	free(r);
}

bool
pggate_cancel(struct pggate *g, const struct pg_cancel_req *req, struct pg_result *out)
{
	if (!pggate_admit(g, out))
		return false;
	pg_cancel(g->pg, req, out);
	pggate_record(g, out);
	return true;
}

bool
pggate_lookup(struct pggate *g, const struct pg_lookup_req *req, struct pg_result *out)
{
	if (!pggate_admit(g, out))
		return false;
	pg_lookup(g->pg, req, out);
	pggate_record(g, out);
	return true;
}

bool
pggate_toss_settlements(struct pggate *g, const char *date, int page, int size,
    struct pg_settlement *rows, size_t *n, struct pg_result *out)
{
	*n = 0;
	if (!pggate_admit(g, out))
		return false;
	pg_toss_settlements(g->pg, date, page, size, rows, n, out);
	pggate_record(g, out);
	return true;
}
