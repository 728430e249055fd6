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

/* ---- reports in Redis ------------------------------------------------------------------- */

/* Redis field names of a report, shared by the writer and the readers. */
static const char *const report_field_names[BREAKER_FIELD__MAX] = {
	[BREAKER_FIELD_SINCE_MS] = "since_ms",
	[BREAKER_FIELD_FAILURE_RATE] = "failure_rate",
	[BREAKER_FIELD_SLOW_RATE] = "slow_rate",
	[BREAKER_FIELD_WINDOW_CALLS] = "window_calls",
	[BREAKER_FIELD_CALLS] = "calls",
	[BREAKER_FIELD_FAILURES] = "failures",
	[BREAKER_FIELD_SLOW] = "slow",
	[BREAKER_FIELD_REJECTED] = "rejected",
	[BREAKER_FIELD_TRANSITIONS] = "transitions",
	[BREAKER_FIELD_OPENED] = "opened",
	[BREAKER_FIELD_UPDATED_MS] = "updated_ms",
};

/* The least value a field may hold (the rates are -1 until enough outcomes). */
static int64_t
field_min(enum breaker_report_field f)
{
	return f == BREAKER_FIELD_FAILURE_RATE || f == BREAKER_FIELD_SLOW_RATE ? -1 : 0;
}

const char *
breaker_report_field_name(enum breaker_report_field f)
{
	return (unsigned)f < BREAKER_FIELD__MAX ? report_field_names[f] : "?";
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

/* This process's report of b now: the snapshot's clock times turned into wall-clock ones. */
static void
report_of(struct breaker *b, struct breaker_report *out)
{
	struct breaker_snapshot s;
	int64_t wall = wall_ms();

	breaker_snapshot(b, &s);
	memset(out, 0, sizeof(*out));
	snprintf(out->pid, sizeof(out->pid), "%ld", (long)getpid());
	out->state = s.state;
	out->v[BREAKER_FIELD_SINCE_MS] = wall - (s.now_ms - s.since_ms);
	out->v[BREAKER_FIELD_FAILURE_RATE] = s.failure_rate;
	out->v[BREAKER_FIELD_SLOW_RATE] = s.slow_rate;
	out->v[BREAKER_FIELD_WINDOW_CALLS] = s.window_calls;
	out->v[BREAKER_FIELD_CALLS] = (int64_t)s.counters.calls;
	out->v[BREAKER_FIELD_FAILURES] = (int64_t)s.counters.failures;
	out->v[BREAKER_FIELD_SLOW] = (int64_t)s.counters.slow;
	out->v[BREAKER_FIELD_REJECTED] = (int64_t)s.counters.rejected;
	out->v[BREAKER_FIELD_TRANSITIONS] = (int64_t)s.counters.transitions;
	out->v[BREAKER_FIELD_OPENED] = (int64_t)s.counters.opened;
	out->v[BREAKER_FIELD_UPDATED_MS] = wall;
}

/* HSET breaker:{name} with every field of rep (and its pid). */
static redisReply *
hset_summary(struct redis *r, const char *key, const struct breaker_report *rep)
{
	const char *argv[2 + 2 * (BREAKER_FIELD__MAX + 2)];
	char nums[BREAKER_FIELD__MAX][24];
	int argc = 0, f;

	argv[argc++] = "HSET";
	argv[argc++] = key;
	argv[argc++] = "state";
	argv[argc++] = breaker_state_names[rep->state];
	for (f = 0; f < BREAKER_FIELD__MAX; f++) {
		snprintf(nums[f], sizeof(nums[f]), "%" PRId64, rep->v[f]);
		argv[argc++] = report_field_names[f];
		argv[argc++] = nums[f];
	}
	argv[argc++] = "pid";
	argv[argc++] = rep->pid;
	return redis_cmd(r, argc, argv, NULL);
}

/* The same fields as a JSON object, for breaker:{name}:procs. New reference. */
static struct json_object *
report_json(const struct breaker_report *rep)
{
	struct json_object *o = json_object_new_object();
	int f;

	json_object_object_add(o, "state", json_object_new_string(breaker_state_names[rep->state]));
	for (f = 0; f < BREAKER_FIELD__MAX; f++)
		json_object_object_add(o, report_field_names[f], json_object_new_int64(rep->v[f]));
	return o;
}

int
breaker_publish(struct breaker *b, struct redis *r, int ttl_seconds)
{
	struct breaker_report report;
	struct json_object *o;
	char key[BREAKER_NAME_MAX + 16], procs[BREAKER_NAME_MAX + 16], ttl[24];
	redisReply *rep;
	int rc = -1;

	if (ttl_seconds < 1)
		ttl_seconds = 1;
	report_of(b, &report);
	snprintf(key, sizeof(key), "breaker:%s", b->name);
	snprintf(procs, sizeof(procs), "breaker:%s:procs", b->name);
	snprintf(ttl, sizeof(ttl), "%d", ttl_seconds);

	rep = hset_summary(r, key, &report);
	if (!reply_ok(rep))
		goto out;
	freeReplyObject(rep);
	o = report_json(&report);
	rep = redis_cmdl(r, "HSET", procs, report.pid,
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

/* Parses a state's name. Returns 0, or -1 when unknown. */
static int
state_parse(const char *s, enum breaker_state *out)
{
	int i;

	for (i = 0; i < BREAKER_STATE__MAX; i++) {
		if (s != NULL && strcmp(s, breaker_state_names[i]) == 0) {
			*out = (enum breaker_state)i;
			return 0;
		}
	}
	return -1;
}

/* Copies pid (1..10 decimal digits) into out->pid. Returns 0 or -1. */
static int
pid_copy(const char *pid, size_t len, struct breaker_report *out)
{
	if (len == 0 || len > 10 || strspn(pid, "0123456789") < len)
		return -1;
	memcpy(out->pid, pid, len);
	out->pid[len] = '\0';
	return 0;
}

/* Parses one field/value of breaker:{name}:procs: every field must be there and in range.
 * Returns 0, or -1 when malformed. */
static int
parse_proc(const redisReply *pid, const redisReply *text, struct breaker_report *out)
{
	struct json_object *o = NULL;
	const char *state;
	int f, rc = -1;

	memset(out, 0, sizeof(*out));
	if (pid->type != REDIS_REPLY_STRING || text->type != REDIS_REPLY_STRING ||
	    pid_copy(pid->str, pid->len, out) != 0)
		return -1;
	if (jparse(text->str, text->len, PUBLISH_JSON_MAX, 2, &o) != JPARSE_OK)
		return -1;
	if (jparse_string(o, "state", 16, &state) != 0 || state_parse(state, &out->state) != 0)
		goto out;
	for (f = 0; f < BREAKER_FIELD__MAX; f++)
		if (jparse_int64(o, report_field_names[f], field_min(f), INT64_MAX, &out->v[f]) != 0)
			goto out;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* The value of field name in an HGETALL reply, or NULL. */
static const char *
hash_get(const redisReply *h, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *k = h->element[i], *v = h->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
		    strcmp(k->str, name) == 0)
			return v->str;
	}
	return NULL;
}

/* Parses the HGETALL reply of breaker:{name}. Returns 0, or -1 when malformed or empty. */
static int
parse_summary(const redisReply *h, struct breaker_report *out)
{
	const char *pid = hash_get(h, "pid");
	int f;

	memset(out, 0, sizeof(*out));
	if (pid == NULL || pid_copy(pid, strlen(pid), out) != 0 ||
	    state_parse(hash_get(h, "state"), &out->state) != 0)
		return -1;
	for (f = 0; f < BREAKER_FIELD__MAX; f++) {
		const char *v = hash_get(h, report_field_names[f]);

		if (v == NULL || valid_int64(v, field_min(f), INT64_MAX, &out->v[f]) != 0)
			return -1;
	}
	return 0;
}

/* HGETALL key; NULL (the reply freed) unless Redis answered with an array. */
static redisReply *
hgetall(struct redis *r, const char *key)
{
	redisReply *rep = redis_cmdl(r, "HGETALL", key, NULL);

	if (rep != NULL && rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		rep = NULL;
	}
	return rep;
}

static int
cmp_pid(const void *a, const void *b)
{
	const struct breaker_report *x = a, *y = b;
	size_t lx = strlen(x->pid), ly = strlen(y->pid);

	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->pid, y->pid);
}

/* Reads the well-formed process reports of breaker name (at most max; malformed fields are
 * skipped) into *out, sorted by pid (xcalloc'd, free it). Returns how many, or -1 when Redis
 * did not answer. */
static int
read_procs(struct redis *r, const char *name, size_t max, struct breaker_report **out)
{
	char key[BREAKER_NAME_MAX + 16];
	redisReply *rep;
	size_t i, n = 0;

	*out = NULL;
	snprintf(key, sizeof(key), "breaker:%s:procs", name);
	rep = hgetall(r, key);
	if (rep == NULL)
		return -1;
	*out = xcalloc(rep->elements / 2 + 1, sizeof(**out));
	for (i = 0; i + 1 < rep->elements && n < max; i += 2)
		if (parse_proc(rep->element[i], rep->element[i + 1], &(*out)[n]) == 0)
			n++;
	freeReplyObject(rep);
	qsort(*out, n, sizeof(**out), cmp_pid);
	return (int)n;
}

/* Adds name (len bytes) to the n names of list unless it is there or not a breaker name. */
static void
add_name(struct breaker_published *list, size_t *n, const char *name, size_t len)
{
	char s[BREAKER_NAME_MAX + 1];
	size_t i;

	if (len > BREAKER_NAME_MAX || *n == BREAKER_PUBLISHED_MAX)
		return;
	memcpy(s, name, len);
	s[len] = '\0';
	if (!name_ok(s))
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(list[i].name, s) == 0)
			return;
	memcpy(list[(*n)++].name, s, len + 1);
}

/* Adds the names of every breaker:{name} and breaker:{name}:procs key (SCAN). Returns 0, or
 * -1 when Redis did not answer. */
static int
scan_names(struct redis *r, struct breaker_published *list, size_t *n)
{
	char cursor[32] = "0";
	redisReply *rep;
	size_t i, rounds = 0;

	do {
		rep = redis_cmdl(r, "SCAN", cursor, "MATCH", "breaker:*", "COUNT", "100", NULL);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof(cursor) ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			if (rep != NULL)
				freeReplyObject(rep);
			return -1;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
		cursor[rep->element[0]->len] = '\0';
		for (i = 0; i < rep->element[1]->elements; i++) {
			const redisReply *k = rep->element[1]->element[i];
			size_t len;

			if (k->type != REDIS_REPLY_STRING || k->len <= 8)
				continue;
			len = k->len - 8;       /* after "breaker:" */
			if (len > 6 && memcmp(k->str + 8 + len - 6, ":procs", 6) == 0)
				len -= 6;
			add_name(list, n, k->str + 8, len);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && ++rounds < 100);
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct breaker_published *)a)->name,
	    ((const struct breaker_published *)b)->name);
}

int
breaker_read_published(struct redis *r, const char *const *always, size_t nalways,
    bool with_procs, struct breaker_published **out)
{
	struct breaker_published *list;
	char key[BREAKER_NAME_MAX + 16];
	redisReply *rep;
	size_t n = 0, i;
	int k;

	*out = NULL;
	list = xcalloc(BREAKER_PUBLISHED_MAX, sizeof(*list));
	for (i = 0; i < nalways; i++)
		add_name(list, &n, always[i], strlen(always[i]));
	if (scan_names(r, list, &n) != 0)
		goto fail;
	qsort(list, n, sizeof(*list), cmp_name);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "breaker:%s", list[i].name);
		rep = hgetall(r, key);
		if (rep == NULL)
			goto fail;
		list[i].reported = parse_summary(rep, &list[i].summary) == 0;
		freeReplyObject(rep);
		if (!with_procs)
			continue;
		k = read_procs(r, list[i].name, RENDER_PROCS_MAX, &list[i].procs);
		if (k < 0)
			goto fail;
		list[i].nprocs = (size_t)k;
	}
	*out = list;
	return (int)n;
fail:
	breaker_published_free(&list, n);
	return -1;
}

void
breaker_published_free(struct breaker_published **list, size_t n)
{
	size_t i;

	if (*list == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*list)[i].procs);
	free(*list);
	*list = NULL;
}

/* The counters /metrics shows, with their help text. */
static const struct {
	enum breaker_report_field field;
	const char *help;
} metric_counters[] = {
	{ BREAKER_FIELD_CALLS, "Calls whose outcome a circuit breaker recorded." },
	{ BREAKER_FIELD_FAILURES, "Recorded calls that failed." },
	{ BREAKER_FIELD_SLOW, "Recorded calls slower than breaker.slow_call_ms." },
	{ BREAKER_FIELD_REJECTED, "Calls a circuit breaker refused (failed fast)." },
	{ BREAKER_FIELD_TRANSITIONS, "Circuit breaker state changes." },
};

int
breaker_render_metrics(struct redis *r, const char *const *names, size_t nnames,
    struct buf *out)
{
	struct breaker_report **reps;
	int *counts;
	size_t b, i, k;
	int st, rc = 0;

	reps = xcalloc(nnames + 1, sizeof(*reps));
	counts = xcalloc(nnames + 1, sizeof(*counts));
	for (b = 0; b < nnames; b++) {
		counts[b] = name_ok(names[b]) ? read_procs(r, names[b], RENDER_PROCS_MAX, &reps[b]) : 0;
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
				    "state=\"%s\"} %d\n", names[b], reps[b][i].pid,
				    breaker_state_names[st], (int)reps[b][i].state == st);
	for (k = 0; k < sizeof(metric_counters) / sizeof(metric_counters[0]); k++) {
		const char *field = report_field_names[metric_counters[k].field];

		buf_printf(out, "# HELP jangteo_breaker_%s_total %s\n"
		    "# TYPE jangteo_breaker_%s_total counter\n", field, metric_counters[k].help,
		    field);
		for (b = 0; b < nnames; b++)
			for (i = 0; i < (size_t)counts[b]; i++)
				buf_printf(out, "jangteo_breaker_%s_total{breaker=\"%s\",pid=\"%s\"} %"
				    PRId64 "\n", field, names[b], reps[b][i].pid,
				    reps[b][i].v[metric_counters[k].field]);
	}
out:
	for (b = 0; b < nnames; b++)
		free(reps[b]);
	free(counts);
	free(reps);
	return rc;
}
