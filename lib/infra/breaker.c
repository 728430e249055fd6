/* breaker: the circuit breaker in front of every outside service (see breaker.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "infra/breaker.h"
#include "base/conf.h"
#include "base/jparse.h"
#include "base/log.h"
#include "infra/redis.h"
#include "base/valid.h"

/* Bits of one outcome in the ring. */
#define OUTCOME_FAILED 0x1u
#define OUTCOME_SLOW 0x2u

#define PUBLISH_JSON_MAX 4096   /* bytes of one process's report in breaker:{name}:procs */
#define RENDER_PROCS_MAX 512    /* processes breaker_render_metrics shows */

struct breaker {
	char name[BREAKER_NAME_MAX + 1];
	struct breaker_settings s;
	int64_t (*now_ms)(void);
	struct breaker_hook hook;
	bool in_hook;              /* the hook is running: no transitions from snapshots */

	enum breaker_state state;
	int64_t since_ms;

	/* CLOSED: the last s.window outcomes. */
	unsigned char *ring;
	int head;                  /* where the next outcome goes */
	int count;                 /* outcomes in the ring, <= s.window */
	int failed;
	int slow;

	/* HALF_OPEN: this period's trials. */
	int admitted;              /* admissions handed out and not released */
	int trials;                /* of those, recorded */
	int trial_failed;
	int trial_slow;

	struct breaker_counters c;
};

static const char *const breaker_state_names[BREAKER_STATE__MAX] = {
	[BREAKER_CLOSED] = "closed",
	[BREAKER_OPEN] = "open",
	[BREAKER_HALF_OPEN] = "half_open",
};

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		abort();
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

void
breaker_settings_default(struct breaker_settings *out)
{
	out->window = 30;
	out->min_calls = 20;
	out->failure_rate = 40;
	out->slow_call_ms = 1000;
	out->slow_rate = 50;
	out->open_ms = 30 * 1000;
	out->half_open_calls = 5;
}

void
breaker_settings_from_conf(const struct conf *c, struct breaker_settings *out)
{
	out->window = (int)conf_int(c, CONF_BREAKER_WINDOW);
	out->min_calls = (int)conf_int(c, CONF_BREAKER_MIN_CALLS);
	out->failure_rate = (int)conf_int(c, CONF_BREAKER_FAILURE_RATE);
	out->slow_call_ms = conf_int(c, CONF_BREAKER_SLOW_CALL_MS);
	out->slow_rate = (int)conf_int(c, CONF_BREAKER_SLOW_RATE);
	out->open_ms = conf_int(c, CONF_BREAKER_OPEN_SECONDS) * 1000;
	out->half_open_calls = (int)conf_int(c, CONF_BREAKER_HALF_OPEN_CALLS);
}

int
breaker_settings_check(const struct breaker_settings *s)
{
	if (s == NULL)
		return -1;
	if (s->window < 1 || s->window > BREAKER_WINDOW_MAX || s->min_calls < 1)
		return -1;
	if (s->failure_rate < 1 || s->failure_rate > 100 || s->slow_rate < 1 || s->slow_rate > 100)
		return -1;
	if (s->slow_call_ms < 1 || s->open_ms < 1)
		return -1;
	if (s->half_open_calls < 1 || s->half_open_calls > BREAKER_WINDOW_MAX)
		return -1;
	return 0;
}

int64_t
breaker_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when name is 1..BREAKER_NAME_MAX bytes of [a-z0-9_-]. */
static bool
name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n == 0 || n > BREAKER_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		    ch == '-';

		if (!ok)
			return false;
	}
	return true;
}

struct breaker *
breaker_new(const char *name, const struct breaker_settings *s, int64_t (*now_ms)(void))
{
	struct breaker *b;

	if (!name_ok(name) || breaker_settings_check(s) != 0)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	memcpy(b->name, name, strlen(name) + 1);
	b->s = *s;
	b->now_ms = now_ms != NULL ? now_ms : breaker_clock_ms;
	b->ring = xcalloc((size_t)s->window, 1);
	b->state = BREAKER_CLOSED;
	b->since_ms = b->now_ms();
	return b;
}

void
breaker_free(struct breaker **b)
{
	if (b == NULL || *b == NULL)
		return;
	free((*b)->ring);
	free(*b);
	*b = NULL;
}

void
breaker_set_hook(struct breaker *b, const struct breaker_hook *hook)
{
	if (hook == NULL || hook->fn == NULL) {
		b->hook.fn = NULL;
		b->hook.arg = NULL;
		return;
	}
	b->hook = *hook;
}

/* Empties the closed-state window and the half-open trials. */
static void
clear_windows(struct breaker *b)
{
	memset(b->ring, 0, (size_t)b->s.window);
	b->head = 0;
	b->count = 0;
	b->failed = 0;
	b->slow = 0;
	b->admitted = 0;
	b->trials = 0;
	b->trial_failed = 0;
	b->trial_slow = 0;
}

/* Moves b to state to (a different state) at now, with fresh windows, then runs the hook. */
static void
transition(struct breaker *b, enum breaker_state to, int64_t now)
{
	enum breaker_state from = b->state;

	assert(from != to);
	b->state = to;
	b->since_ms = now;
	clear_windows(b);
	b->c.transitions++;
	if (to == BREAKER_OPEN)
		b->c.opened++;
	if (b->hook.fn != NULL) {
		b->in_hook = true;
		b->hook.fn(b, from, to, b->hook.arg);
		b->in_hook = false;
	}
}

/* OPEN -> HALF_OPEN once open_ms has passed since it opened. */
static void
maybe_half_open(struct breaker *b, int64_t now)
{
	if (b->state == BREAKER_OPEN && now - b->since_ms >= b->s.open_ms)
		transition(b, BREAKER_HALF_OPEN, now);
}

/* True when bad outcomes out of n reach pct percent (integer arithmetic, no rounding). */
static bool
rate_reached(int bad, int n, int pct)
{
	return n > 0 && (int64_t)bad * 100 >= (int64_t)pct * n;
}

/* The closed window's minimum: min_calls, or the window when that is smaller. */
static int
closed_minimum(const struct breaker *b)
{
	return b->s.min_calls < b->s.window ? b->s.min_calls : b->s.window;
}

bool
breaker_allow(struct breaker *b)
{
	maybe_half_open(b, b->now_ms());
	switch (b->state) {
	case BREAKER_CLOSED:
		return true;
	case BREAKER_HALF_OPEN:
		if (b->admitted < b->s.half_open_calls) {
			b->admitted++;
			return true;
		}
		break;
	case BREAKER_OPEN:
	case BREAKER_STATE__MAX:
		break;
	}
	b->c.rejected++;
	return false;
}

/* Adds one outcome to the closed window, evicting the oldest when it is full. */
static void
ring_push(struct breaker *b, unsigned char outcome)
{
	if (b->count == b->s.window) {
		unsigned char old = b->ring[b->head];

		if (old & OUTCOME_FAILED)
			b->failed--;
		if (old & OUTCOME_SLOW)
			b->slow--;
	} else {
		b->count++;
	}
	b->ring[b->head] = outcome;
	b->head = (b->head + 1) % b->s.window;
	if (outcome & OUTCOME_FAILED)
		b->failed++;
	if (outcome & OUTCOME_SLOW)
		b->slow++;
}

void
breaker_record(struct breaker *b, bool ok, int64_t elapsed_ms)
{
	int64_t now = b->now_ms();
	unsigned char outcome = 0;

	if (!ok)
		outcome |= OUTCOME_FAILED;
	if (elapsed_ms > b->s.slow_call_ms)
		outcome |= OUTCOME_SLOW;
	b->c.calls++;
	if (!ok)
		b->c.failures++;
	if (outcome & OUTCOME_SLOW)
		b->c.slow++;

	switch (b->state) {
	case BREAKER_CLOSED:
		ring_push(b, outcome);
		if (b->count >= closed_minimum(b) &&
		    (rate_reached(b->failed, b->count, b->s.failure_rate) ||
		    rate_reached(b->slow, b->count, b->s.slow_rate)))
			transition(b, BREAKER_OPEN, now);
		break;
	case BREAKER_HALF_OPEN:
		if (b->trials >= b->admitted)
			break;  /* not one of this period's trials: counted, nothing more */
		b->trials++;
		if (outcome & OUTCOME_FAILED)
			b->trial_failed++;
		if (outcome & OUTCOME_SLOW)
			b->trial_slow++;
		if (b->trials < b->s.half_open_calls)
			break;
		if (rate_reached(b->trial_failed, b->trials, b->s.failure_rate) ||
		    rate_reached(b->trial_slow, b->trials, b->s.slow_rate))
			transition(b, BREAKER_OPEN, now);
		else
			transition(b, BREAKER_CLOSED, now);
		break;
	case BREAKER_OPEN:
	case BREAKER_STATE__MAX:
		break;
	}
}

void
breaker_release(struct breaker *b)
{
	if (b->state == BREAKER_HALF_OPEN && b->admitted > b->trials)
		b->admitted--;
}

enum breaker_state
breaker_state(struct breaker *b)
{
	if (!b->in_hook)
		maybe_half_open(b, b->now_ms());
	return b->state;
}

const char *
breaker_state_name(enum breaker_state s)
{
	if ((unsigned)s >= BREAKER_STATE__MAX)
		return "?";
	return breaker_state_names[s];
}

const char *
breaker_name(const struct breaker *b)
{
	return b->name;
}

const struct breaker_settings *
breaker_settings(const struct breaker *b)
{
	return &b->s;
}

void
breaker_snapshot(struct breaker *b, struct breaker_snapshot *out)
{
	int64_t now = b->now_ms();
	int n, failed, slow, minimum;

	if (!b->in_hook)
		maybe_half_open(b, now);
	memset(out, 0, sizeof(*out));
	out->name = b->name;
	out->state = b->state;
	out->since_ms = b->since_ms;
	out->now_ms = now;
	if (b->state == BREAKER_HALF_OPEN) {
		n = b->trials;
		failed = b->trial_failed;
		slow = b->trial_slow;
		minimum = 1;
	} else {
		n = b->count;
		failed = b->failed;
		slow = b->slow;
		minimum = closed_minimum(b);
	}
	out->window_calls = n;
	out->failure_rate = n >= minimum && n > 0 ? (int)((int64_t)failed * 100 / n) : -1;
	out->slow_rate = n >= minimum && n > 0 ? (int)((int64_t)slow * 100 / n) : -1;
	out->counters = b->c;
}

/* Wall-clock Unix milliseconds. */
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when rep is a reply that is neither missing nor an error. */
static bool
reply_ok(const redisReply *rep)
{
	return rep != NULL && rep->type != REDIS_REPLY_ERROR;
}

int
breaker_publish(struct breaker *b, struct redis *r, int ttl_seconds)
{
	struct breaker_snapshot s;
	struct json_object *o;
	char key[BREAKER_NAME_MAX + 16], procs[BREAKER_NAME_MAX + 16], pid[24], ttl[24];
	char since[24], updated[24], fr[16], sr[16], wc[16];
	char calls[24], failures[24], slow[24], rejected[24], transitions[24], opened[24];
	int64_t wall = wall_ms();
	redisReply *rep;
	int rc = -1;

	if (ttl_seconds < 1)
		ttl_seconds = 1;
	breaker_snapshot(b, &s);
	snprintf(key, sizeof(key), "breaker:%s", b->name);
	snprintf(procs, sizeof(procs), "breaker:%s:procs", b->name);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(ttl, sizeof(ttl), "%d", ttl_seconds);
	snprintf(since, sizeof(since), "%" PRId64, wall - (s.now_ms - s.since_ms));
	snprintf(updated, sizeof(updated), "%" PRId64, wall);
	snprintf(fr, sizeof(fr), "%d", s.failure_rate);
	snprintf(sr, sizeof(sr), "%d", s.slow_rate);
	snprintf(wc, sizeof(wc), "%d", s.window_calls);
	snprintf(calls, sizeof(calls), "%" PRIu64, s.counters.calls);
	snprintf(failures, sizeof(failures), "%" PRIu64, s.counters.failures);
	snprintf(slow, sizeof(slow), "%" PRIu64, s.counters.slow);
	snprintf(rejected, sizeof(rejected), "%" PRIu64, s.counters.rejected);
	snprintf(transitions, sizeof(transitions), "%" PRIu64, s.counters.transitions);
	snprintf(opened, sizeof(opened), "%" PRIu64, s.counters.opened);

	rep = redis_cmdl(r, "HSET", key, "state", breaker_state_name(s.state), "since_ms", since,
	    "failure_rate", fr, "slow_rate", sr, "window_calls", wc, "calls", calls,
	    "failures", failures, "slow", slow, "rejected", rejected, "transitions", transitions,
	    "opened", opened, "pid", pid, "updated_ms", updated, NULL);
	if (!reply_ok(rep))
		goto out;
	freeReplyObject(rep);

	o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(breaker_state_name(s.state)));
	json_object_object_add(o, "since_ms",
	    json_object_new_int64(wall - (s.now_ms - s.since_ms)));
	json_object_object_add(o, "failure_rate", json_object_new_int(s.failure_rate));
	json_object_object_add(o, "slow_rate", json_object_new_int(s.slow_rate));
	json_object_object_add(o, "window_calls", json_object_new_int(s.window_calls));
	json_object_object_add(o, "calls", json_object_new_int64((int64_t)s.counters.calls));
	json_object_object_add(o, "failures", json_object_new_int64((int64_t)s.counters.failures));
	json_object_object_add(o, "slow", json_object_new_int64((int64_t)s.counters.slow));
	json_object_object_add(o, "rejected", json_object_new_int64((int64_t)s.counters.rejected));
	json_object_object_add(o, "transitions",
	    json_object_new_int64((int64_t)s.counters.transitions));
	json_object_object_add(o, "opened", json_object_new_int64((int64_t)s.counters.opened));
	json_object_object_add(o, "updated_ms", json_object_new_int64(wall));
	rep = redis_cmdl(r, "HSET", procs, pid,
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL);
	json_object_put(o);
	if (!reply_ok(rep))
		goto out;
	freeReplyObject(rep);

	rep = redis_cmdl(r, "EXPIRE", key, ttl, NULL);
	if (!reply_ok(rep))
		goto out;
	freeReplyObject(rep);
	rep = redis_cmdl(r, "EXPIRE", procs, ttl, NULL);
	if (!reply_ok(rep))
		goto out;
	rc = 0;
out:
	if (rc != 0)
		log_warn(NULL, "breaker %s: publishing to Redis failed: %s", b->name,
		    rep != NULL && rep->type == REDIS_REPLY_ERROR ? rep->str : redis_error(r));
	if (rep != NULL)
		freeReplyObject(rep);
	return rc;
}

/* One process's report, as breaker_render_metrics reads it back. */
struct proc_report {
	const char *pid;                 /* points into the Redis reply; read_reports copies it */
	enum breaker_state state;
	int64_t n[5];                    /* calls, failures, slow, rejected, transitions */
};

static const char *const report_counters[5] = {
	"calls", "failures", "slow", "rejected", "transitions",
};

/* Parses one field/value of breaker:{name}:procs. Returns 0, or -1 when malformed. */
static int
parse_report(const char *pid, const char *text, size_t len, struct proc_report *out)
{
	struct json_object *o = NULL;
	const char *state;
	int64_t v;
	int i, rc = -1;

	if (!valid_token(pid, 1, 10) || strspn(pid, "0123456789") != strlen(pid))
		return -1;
	if (jparse(text, len, PUBLISH_JSON_MAX, 2, &o) != JPARSE_OK)
		return -1;
	if (jparse_string(o, "state", 16, &state) != 0)
		goto out;
	for (i = 0; i < BREAKER_STATE__MAX; i++)
		if (strcmp(state, breaker_state_names[i]) == 0)
			break;
	if (i == BREAKER_STATE__MAX)
		goto out;
	out->state = (enum breaker_state)i;
	for (i = 0; i < 5; i++) {
		if (jparse_int64(o, report_counters[i], 0, INT64_MAX, &v) != 0)
			goto out;
		out->n[i] = v;
	}
	out->pid = pid;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Reads the per-process reports of breaker name from Redis into reps (at most
 * RENDER_PROCS_MAX). Returns how many, or -1 when Redis did not answer. */
static int
read_reports(struct redis *r, const char *name, struct proc_report *reps)
{
	char key[BREAKER_NAME_MAX + 16];
	redisReply *rep;
	size_t i;
	int n = 0;

	snprintf(key, sizeof(key), "breaker:%s:procs", name);
	rep = redis_cmdl(r, "HGETALL", key, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep != NULL)
			freeReplyObject(rep);
		return -1;
	}
	for (i = 0; i + 1 < rep->elements && n < RENDER_PROCS_MAX; i += 2) {
		redisReply *f = rep->element[i], *v = rep->element[i + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (parse_report(f->str, v->str, v->len, &reps[n]) == 0) {
			/* pid points into the reply: keep a copy past freeReplyObject. */
			reps[n].pid = xstrdup(reps[n].pid);
			n++;
		}
	}
	freeReplyObject(rep);
	return n;
}

int
breaker_render_metrics(struct redis *r, const char *const *names, size_t nnames,
    struct buf *out)
{
	static const char *const help[5] = {
		"Calls whose outcome a circuit breaker recorded.",
		"Recorded calls that failed.",
		"Recorded calls slower than breaker.slow_call_ms.",
		"Calls a circuit breaker refused (failed fast).",
		"Circuit breaker state changes.",
	};
	struct proc_report *reps;
	int *counts;
	size_t b, i;
	int k, st, rc = 0;

	reps = xcalloc(nnames * RENDER_PROCS_MAX + 1, sizeof(*reps));
	counts = xcalloc(nnames + 1, sizeof(*counts));
	for (b = 0; b < nnames; b++) {
		counts[b] = name_ok(names[b]) ? read_reports(r, names[b], &reps[b * RENDER_PROCS_MAX])
		    : 0;
		if (counts[b] < 0) {
			rc = -1;
			goto out;
		}
	}
	buf_puts(out, "# HELP jangteo_breaker_state Circuit breaker state per process (1 = the "
	    "current one).\n# TYPE jangteo_breaker_state gauge\n");
	for (b = 0; b < nnames; b++)
		for (i = 0; i < (size_t)counts[b]; i++)
			for (st = 0; st < BREAKER_STATE__MAX; st++)
				buf_printf(out, "jangteo_breaker_state{breaker=\"%s\",pid=\"%s\","
				    "state=\"%s\"} %d\n", names[b], reps[b * RENDER_PROCS_MAX + i].pid,
				    breaker_state_names[st],
				    (int)reps[b * RENDER_PROCS_MAX + i].state == st);
	for (k = 0; k < 5; k++) {
		buf_printf(out, "# HELP jangteo_breaker_%s_total %s\n"
		    "# TYPE jangteo_breaker_%s_total counter\n", report_counters[k], help[k],
		    report_counters[k]);
		for (b = 0; b < nnames; b++)
			for (i = 0; i < (size_t)counts[b]; i++)
				buf_printf(out, "jangteo_breaker_%s_total{breaker=\"%s\",pid=\"%s\"} %"
				    PRId64 "\n", report_counters[k], names[b],
				    reps[b * RENDER_PROCS_MAX + i].pid, reps[b * RENDER_PROCS_MAX + i].n[k]);
	}
out:
	for (b = 0; b < nnames; b++)
		for (i = 0; i < (size_t)(counts[b] > 0 ? counts[b] : 0); i++)
			free((char *)reps[b * RENDER_PROCS_MAX + i].pid);
	free(counts);
	free(reps);
	return rc;
}
