/* jangteo-janitor: periodically puts outbox jobs whose worker's claim expired (the worker
 * died) back to pending and marks dead the jobs that used up their attempts (two statements a
 * sweep; it pushes no job: workers claim due jobs from the outbox themselves, so a backlog is
 * never amplified by re-pushes), expires unpaid
 * orders whose time ran out, giving their stock back, and queues a payment.check for every
 * payment whose outcome we do not know (UNKNOWN orders on their back-off schedule, stale
 * CONFIRMING orders whose confirm job is gone; lib/shop/paychecks.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "infra/bus.h"
#include "base/conf.h"
#include "base/daemon.h"
#include "infra/db.h"
#include "base/log.h"
#include "shop/orders.h"
#include "infra/outbox.h"
#include "shop/paychecks.h"

/* Unpaid orders expired per sweep at most (each in its own short transaction). */
#define JANITOR_EXPIRE_BATCH 100

/* Payment checks queued per sweep at most (each in its own short transaction). */
#define JANITOR_CHECK_BATCH 100

/* One sweep of the outbox: expired claims back to pending (the workers' next claim takes
 * them), spent jobs dead. Returns how many jobs moved, or -1. */
static int64_t
sweep(const struct conf *c, struct db *db)
{
	int64_t reaped, buried;

	reaped = outbox_reap(db);
	if (reaped < 0)
		return -1;
	buried = outbox_bury(db, (int)conf_int(c, CONF_OUTBOX_MAX_ATTEMPTS));
	if (buried < 0)
		return -1;
	if (reaped > 0)
		log_info(NULL, "%lld jobs whose claim expired are due again", (long long)reaped);
	if (buried > 0)
		log_error(NULL, "%lld jobs used up outbox.max_attempts and are dead",
		    (long long)buried);
	return reaped + buried;
}

/* Expires unpaid orders past their time. Returns how many, or -1. */
static int64_t
expire_orders(struct db *db, struct arena *a)
{
	int64_t n = orders_expire_due(db, a, JANITOR_EXPIRE_BATCH);

	if (n < 0)
		return -1;
	if (n > 0)
		log_info(NULL, "expired %lld unpaid orders", (long long)n);
	return n;
}

/* Queues and pushes a payment.check for each order due one (at most one pending per order).
 * Returns how many were queued, or -1. */
static int64_t
queue_checks(const struct conf *c, struct db *db, struct bus *bus, struct arena *a)
{
	struct paycheck_due due[JANITOR_CHECK_BATCH];
	int64_t base = conf_int(c, CONF_PAYMENTS_CHECK_BASE_SECONDS), n, i, queued = 0, job;
	int rc;

	n = paychecks_due(db, a, base, conf_int(c, CONF_PAYMENTS_CONFIRMING_STALE_SECONDS),
	    JANITOR_CHECK_BATCH, due);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct bus_job bj = { 0, JOB_PAYMENT_CHECK };

		rc = paychecks_queue(db, due[i].order_id, due[i].public_id, base, &job);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		queued++;
		log_info(NULL, "payment check %lld queued for %s order %s", (long long)job,
		    due[i].status, due[i].public_id);
		bj.outbox_id = job;
		if (bus_push(bus, &bj) != 0)
			log_warn(NULL, "payment check %lld not pushed; swept again after the grace",
			    (long long)job);
	}
	return queued;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = JT_SYSCONFDIR "/jangteo.conf";
	struct conf *c;
	struct db *db;
	struct bus *bus;
	struct arena *a;
	int ch, once = 0;
	int64_t rc = 0;

	while ((ch = getopt_long(argc, argv, "c:1h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case '1': once = 1; break;
		case 'h':
			printf("usage: jangteo-janitor [--config FILE] [--once]\n");
			return 0;
		default:
			fprintf(stderr, "usage: jangteo-janitor [--config FILE] [--once]\n");
			return 2;
		}
	}
	c = daemon_config("jangteo-janitor", config, false);
	if (c == NULL)
		return 2;
	daemon_signals();
	db = db_new(c);
	bus = bus_producer_new(c);
	a = arena_new(8192);
	log_info(NULL, "janitor ready");
	while (!daemon_stop) {
		rc = sweep(c, db);
		if (expire_orders(db, a) < 0)
			rc = -1;
		arena_reset(a);
		if (queue_checks(c, db, bus, a) < 0)
			rc = -1;
		arena_reset(a);
		if (once)
			break;
		daemon_sleep_ms((long)conf_int(c, CONF_JANITOR_INTERVAL_MS));
	}
	arena_free(&a);
	bus_free(&bus);
	db_free(&db);
	conf_free(&c);
	return once && rc < 0 ? 1 : 0;
}
