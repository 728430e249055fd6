/* jangteo-worker: runs the jobs of one queue in batches. A bus message only wakes it; it then
 * claims the due jobs of the message's kind straight from the outbox, up to N per claim
 * statement (N adapts to the load, per kind), and runs them. After a second without a message
 * it claims every kind of its queue, so a lost message, a retry coming due or a reaped claim
 * waits at most that long. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "clients/pggate.h"
#include "infra/bus.h"
#include "base/conf.h"
#include "base/daemon.h"
#include "infra/db.h"
#include "base/ids.h"
#include "jobs.h"
#include "base/log.h"
#include "infra/outbox.h"

/* The handler of each job kind (NULL: not run by this program). */
static enum job_result (*const job_handlers[JOB__MAX])(struct job_ctx *, const struct outbox_claim *) = {
	job_echo_run,      /* JOB_ECHO */
	job_confirm_run,   /* JOB_PAYMENT_CONFIRM */
	job_settle_run,    /* JOB_SETTLE */
	job_refund_settle_run, /* JOB_REFUND_SETTLE */
	job_notify_run,    /* JOB_NOTIFY */
	job_check_run,     /* JOB_PAYMENT_CHECK */
	job_refund_run,    /* JOB_REFUND */
};

/* The kinds whose whole batch one handler can run in one transaction. It returns false when
 * it wrote nothing (the jobs are then run one by one). */
static bool (*const job_batch_handlers[JOB__MAX])(struct job_ctx *, const struct outbox_claim *,
    size_t, int64_t, enum job_result *) = {
	[JOB_PAYMENT_CONFIRM] = job_confirm_batch,
	[JOB_SETTLE] = job_settle_batch,
	[JOB_NOTIFY] = job_notify_batch,
};

/* Retry delay after a transient failure: 1 s doubling per attempt up to 60 s, +-25 % jitter. */
static int64_t
retry_delay_ms(int attempts)
{
	int64_t d = 1000;

	while (attempts-- > 1 && d < 60000)
		d *= 2;
	if (d > 60000)
		d = 60000;
	return d * 3 / 4 + (int64_t)ids_uniform((unsigned long)(d / 2) + 1);
}

/* How long a worker waits for a wake-up before it claims anyway, in milliseconds. */
#define WORKER_POLL_MS 1000

/* One worker process: its queue, its connections, and each kind's next batch size. */
struct worker {
	const struct conf *c;
	struct db *db;
	struct arena *a;           /* reset after every batch */
	struct bus *producer;      /* for the jobs a job queues */
	enum bus_queue q;
	size_t batch[JOB__MAX];    /* the next claim's cap per kind, 1..OUTBOX_BATCH_MAX */
	int64_t claimed_ms[JOB__MAX];  /* when the last claim of the kind took a job (0: never) */
	int64_t linger_ms;         /* outbox.linger_ms */
};

int64_t
worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
job_batch_next(struct job_ctx *ctx, const struct outbox_claim *claim, char *label,
    int64_t deadline_ms)
{
	snprintf(label, 32, "job-%lld", (long long)claim->id);
	ctx->log.req_id = label;
	return !daemon_stop && worker_now_ms() <= deadline_ms;
}

/* Acts on a job's result: a transient failure is given back for a later attempt, a job not
 * run is given back unspent, a job refused by a breaker unspent after wait_ms (at least
 * WORKER_WAIT_MIN_MS, and up to a quarter more so the waiting jobs do not all come back in the
 * same instant). */
#define WORKER_WAIT_MIN_MS 500
static void
after_job(struct worker *w, const struct outbox_claim *claim, enum job_result res,
    int64_t wait_ms)
{
	struct log_ctx log = { NULL, NULL };
	char label[32];

	snprintf(label, sizeof(label), "job-%lld", (long long)claim->id);
	log.req_id = label;
	if (res == JOB_RETRY) {
		log_warn(&log, "attempt %d failed; retrying later", claim->attempts);
		outbox_release(w->db, claim, daemon_stop ? 0 : retry_delay_ms(claim->attempts),
		    "transient failure");
	} else if (res == JOB_UNRUN) {
		outbox_unclaim_one(w->db, claim);
	} else if (res == JOB_WAIT) {
		if (wait_ms < WORKER_WAIT_MIN_MS)
			wait_ms = WORKER_WAIT_MIN_MS;
		outbox_defer(w->db, claim, daemon_stop ? 0 :
		    wait_ms + (int64_t)ids_uniform((unsigned long)(wait_ms / 4) + 1),
		    "not tried: a circuit breaker is open");
	} else if (res == JOB_LOST) {
		log_warn(&log, "claim lost to another worker");
	}
}

/* Runs one claimed job and gives it back when it failed transiently. */
static void
run_job(struct worker *w, const struct outbox_claim *claim)
{
	struct job_ctx ctx = { w->c, w->db, w->a, { NULL, NULL }, w->producer, 0 };
	char label[32];

	snprintf(label, sizeof(label), "job-%lld", (long long)claim->id);
	ctx.log.req_id = label;
	log_debug(&ctx.log, "claimed %s, attempt %d", bus_kind_name(claim->kind), claim->attempts);
	after_job(w, claim, job_handlers[claim->kind](&ctx, claim), ctx.wait_ms);
}

/* The next batch size after a claim of cap took n: doubles while claims come back full (a
 * backlog), else falls to what was there (1 when idle: no job waits for a batch to fill,
 * and a lone job is not hoarded while another worker is free). */
static size_t
next_batch(size_t cap, int64_t n)
{
	if (n >= (int64_t)cap)
		return cap * 2 > OUTBOX_BATCH_MAX ? OUTBOX_BATCH_MAX : cap * 2;
	return n > 1 ? (size_t)n : 1;
}

/* Claims up to w->batch[kind] due jobs of kind in one statement and runs them in turn. When
 * the batch has used half its claim time, or the worker is asked to stop, the jobs not yet
 * run are given back unspent (another worker takes them at once). Returns how many were
 * claimed, or an enum db_rc. */
static int64_t
run_batch(struct worker *w, enum job_kind kind)
{
	struct outbox_claim claims[OUTBOX_BATCH_MAX];
	int claim_s = (int)conf_int(w->c, CONF_OUTBOX_CLAIM_SECONDS);
	int64_t n, i = 0, t0 = worker_now_ms(), back;

	n = outbox_claim_batch(w->db, w->a, kind, w->batch[kind], claim_s,
	    (int)conf_int(w->c, CONF_OUTBOX_MAX_ATTEMPTS), claims);
	if (n < 0)
		return n;
	if (n > 1)
		log_debug(NULL, "claimed %lld %s jobs (cap %zu)", (long long)n, bus_kind_name(kind),
		    w->batch[kind]);
	if (n >= 1 && job_batch_handlers[kind] != NULL) {
		struct job_ctx ctx = { w->c, w->db, w->a, { "batch", NULL }, w->producer, 0 };
		enum job_result res[OUTBOX_BATCH_MAX];

		if (job_batch_handlers[kind](&ctx, claims, (size_t)n, t0 + (int64_t)claim_s * 500,
		    res)) {
			for (i = 0; i < n; i++)
				after_job(w, &claims[i], res[i], ctx.wait_ms);
		}
	}
	for (; i < n; i++) {
		if (daemon_stop || worker_now_ms() - t0 > (int64_t)claim_s * 500) {
			back = outbox_unclaim(w->db, claims[i].token);
			log_info(NULL, "gave back %lld unrun %s jobs of a batch of %lld",
			    (long long)back, bus_kind_name(kind), (long long)n);
			break;
		}
		run_job(w, &claims[i]);
	}
	w->batch[kind] = next_batch(w->batch[kind], n);
	return n;
}

/* The group commit of the workers: while jobs of a kind keep coming (the last claim took one
 * less than outbox.linger_ms ago), the next claim of that kind waits until linger_ms after
 * it, so the jobs that arrive meanwhile are claimed, run and completed together. A job after
 * a quiet spell is claimed at once (no added latency when idle), and a claim that came back
 * full (a backlog) is followed at once by the next. */
static void
linger(struct worker *w, const bool due[JOB__MAX])
{
	int64_t now = worker_now_ms(), wait = 0;
	enum job_kind k;

	for (k = 0; k < JOB__MAX; k++) {
		if (due[k] && w->claimed_ms[k] != 0 && now - w->claimed_ms[k] < w->linger_ms &&
		    w->linger_ms - (now - w->claimed_ms[k]) > wait)
			wait = w->linger_ms - (now - w->claimed_ms[k]);
	}
	if (wait > 0)
		daemon_sleep_ms(wait);
}

/* Claims and runs batches of the kinds flagged in due (every kind of the queue when all is
 * set) until none comes back full. */
static void
drain(struct worker *w, bool due[JOB__MAX], bool all)
{
	enum job_kind k;
	size_t cap;
	bool more = true;
	int64_t n, t;

	for (k = 0; k < JOB__MAX; k++)
		due[k] = (due[k] || all) && bus_kind_queue(k) == w->q && job_handlers[k] != NULL;
	if (!all)
		linger(w, due);
	while (more && !daemon_stop) {
		more = false;
		for (k = 0; k < JOB__MAX && !daemon_stop; k++) {
			if (!due[k])
				continue;
			cap = w->batch[k];
			t = worker_now_ms();
			n = run_batch(w, k);
			arena_reset(w->a);
			if (n < 0)
				return;  /* MariaDB is out of reach: the next wake-up tries again */
			if (n > 0)
				w->claimed_ms[k] = t;
			due[k] = n >= (int64_t)cap;  /* full: more may be waiting */
			more = more || due[k];
		}
	}
	memset(due, 0, sizeof(bool) * JOB__MAX);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "queue", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = JT_SYSCONFDIR "/jangteo.conf", *queue = NULL;
	struct worker w;
	bool due[JOB__MAX] = { false }, all;
	int64_t last_all;
	enum bus_queue q;
	struct bus_job job;
	struct conf *c;
	struct bus *bus;
	enum job_kind k;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:q:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'q': queue = optarg; break;
		case 'h':
			printf("usage: jangteo-worker [--config FILE] --queue NAME\n");
			return 0;
		default:
			fprintf(stderr, "usage: jangteo-worker [--config FILE] --queue NAME\n");
			return 2;
		}
	}
	for (q = 0; queue != NULL && q < BUS_Q__MAX; q++)
		if (strcmp(queue, bus_queue_name(q)) == 0)
			break;
	if (queue == NULL || q == BUS_Q__MAX) {
		fprintf(stderr, "jangteo-worker: --queue must name a queue (e.g. demo)\n");
		return 2;
	}
	c = daemon_config("jangteo-worker", config, false);
	if (c == NULL)
		return 2;
	daemon_signals();
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.q = q;
	w.linger_ms = conf_int(c, CONF_OUTBOX_LINGER_MS);
	for (k = 0; k < JOB__MAX; k++)
		w.batch[k] = 1;
	w.db = db_new(c);
	bus = bus_consumer_new(c, q);
	w.producer = bus_producer_new(c);
	w.a = arena_new(8192);
	log_info(NULL, "worker for queue %s ready", queue);
	/* At start, after a second without a message, and at least once a second, every kind
	 * is claimed (a lost message, a retry come due, a reaped claim); a message wakes the
	 * claims of its kind, and every message already waiting is served by the same claims. */
	all = true;
	last_all = 0;
	while (!daemon_stop) {
		if (all)
			last_all = worker_now_ms();
		drain(&w, due, all);
		pggate_refresh();
		rc = bus_pull(bus, &job, WORKER_POLL_MS);
		if (rc < 0)
			daemon_sleep_ms(200);
		/* every kind at least once a second, however busy one kind keeps the bus */
		all = rc != 1 || worker_now_ms() - last_all >= WORKER_POLL_MS;
		while (rc == 1) {
			due[job.kind] = true;
			rc = bus_pull(bus, &job, 0);
		}
	}
	log_info(NULL, "worker stopped");
	arena_free(&w.a);
	bus_free(&bus);
	bus_free(&w.producer);
	db_free(&w.db);
	conf_free(&c);
	return 0;
}
