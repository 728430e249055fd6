/* jangteo-worker: PULLs jobs of one queue from the bus, claims each in the outbox, runs it. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
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

static void
run_job(const struct conf *c, struct db *db, struct arena *a, struct bus *producer,
    const struct bus_job *job)
{
	struct outbox_claim claim;
	struct job_ctx ctx = { c, db, a, { NULL, NULL }, producer };
	char label[32];
	enum job_result res;
	int rc;

	snprintf(label, sizeof(label), "job-%lld", (long long)job->outbox_id);
	ctx.log.req_id = label;
	rc = outbox_claim(db, a, job->outbox_id, (int)conf_int(c, CONF_OUTBOX_CLAIM_SECONDS),
	    (int)conf_int(c, CONF_OUTBOX_MAX_ATTEMPTS), &claim);
	if (rc != OUTBOX_CLAIMED) {
		log_debug(&ctx.log, "not claimed (%d)", rc);
		return;
	}
	log_debug(&ctx.log, "claimed %s, attempt %d", bus_kind_name(claim.kind), claim.attempts);
	if (job_handlers[claim.kind] == NULL) {
		log_error(&ctx.log, "no handler for %s here", bus_kind_name(claim.kind));
		outbox_release(db, &claim, retry_delay_ms(claim.attempts), "no handler");
		return;
	}
	res = job_handlers[claim.kind](&ctx, &claim);
	if (res == JOB_RETRY) {
		log_warn(&ctx.log, "attempt %d failed; retrying later", claim.attempts);
		outbox_release(db, &claim, daemon_stop ? 0 : retry_delay_ms(claim.attempts),
		    "transient failure");
	} else if (res == JOB_LOST) {
		log_warn(&ctx.log, "claim lost to another worker");
	}
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
	enum bus_queue q;
	struct bus_job job;
	struct conf *c;
	struct db *db;
	struct bus *bus, *producer;
	struct arena *a;
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
	db = db_new(c);
	bus = bus_consumer_new(c, q);
	producer = bus_producer_new(c);  /* for the jobs a job queues */
	a = arena_new(8192);
	log_info(NULL, "worker for queue %s ready", queue);
	while (!daemon_stop) {
		rc = bus_pull(bus, &job, 1000);
		if (rc < 0) {
			daemon_sleep_ms(200);
			continue;
		}
		if (rc == 1)
			run_job(c, db, a, producer, &job);
		arena_reset(a);
	}
	log_info(NULL, "worker stopped");
	arena_free(&a);
	bus_free(&bus);
	bus_free(&producer);
	db_free(&db);
	conf_free(&c);
	return 0;
}
