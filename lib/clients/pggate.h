/* pggate: a payment worker process's way to a PG. One PG client per PG (libcurl keeps its
 * connections) and one circuit breaker per PG and use: confirms and lookups share the
 * "pg-toss" / "pg-kakaopay" breaker, cancels have their own ("pg-toss-refund", ...) so a
 * cancel outage never stops confirms. Every breaker transition is logged and published to
 * Redis (the admin console and /metrics read it), and each breaker's report is refreshed
 * now and then. State is per process, made on first use, kept for the process's life; a
 * worker process runs one job at a time (not thread-safe). */
#ifndef JT_PGGATE_H
#define JT_PGGATE_H

#include <stdbool.h>
#include "clients/pg.h"

struct breaker;
struct conf;

enum pggate_use {
	PGGATE_PAY,      /* confirm and lookup (payment.confirm, payment.check) */
	PGGATE_REFUND,   /* cancel and the lookup after a refused cancel (refund) */
	PGGATE_USE__MAX
};

struct pggate {
	enum pg_id id;
	enum pggate_use use;
	struct pg *pg;             /* shared by the PG's uses */
	struct breaker *breaker;
};

/* The gate for PG id and use, made on first use from c (pg_new, breaker.* settings). Never
 * NULL. */
struct pggate *pggate_get(const struct conf *c, enum pg_id id, enum pggate_use use);

/* Reports an admitted call's result r to the gate's breaker (a refusal or "not found" is the
 * PG answering, not failing) and refreshes the breaker's Redis report now and then. */
void pggate_record(struct pggate *g, const struct pg_result *r);

/* True when r means the PG failed to answer (what the breakers count as a failure). */
bool pggate_pg_failed(const struct pg_result *r);

/* The breaker's name ("pg-toss", "pg-kakaopay-refund"), as /metrics and the admin console
 * show it; "?" out of range. */
const char *pggate_breaker_name(enum pg_id id, enum pggate_use use);

#endif
