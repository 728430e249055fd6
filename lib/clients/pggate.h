/* pggate: every process's one way to a PG (payment workers, the FastCGI handlers' KakaoPay
 * ready call, jangteoctl reconcile): no PG call is made around it. One PG client per PG
 * (libcurl keeps its connections) and one circuit breaker per PG and use: ready, confirms,
 * lookups and settlement records share the "pg-toss" / "pg-kakaopay" breaker, cancels have
 * their own ("pg-toss-refund", ...) so a cancel outage never stops confirms. Each call asks
 * the breaker first and reports its result to it. Every breaker transition is logged and
 * published to Redis (the admin console and /metrics read it), and each breaker's report is
 * refreshed now and then. State is per process, made on first use, kept for the process's
 * life; a process makes one call at a time (not thread-safe). */
#ifndef JT_PGGATE_H
#define JT_PGGATE_H

#include <stdbool.h>
#include <stddef.h>
#include "clients/pg.h"

struct breaker;
struct conf;

enum pggate_use {
	PGGATE_PAY,      /* ready, confirm, lookup and settlement records */
	PGGATE_REFUND,   /* cancel and the lookup after a refused cancel (refund, reconcile) */
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

/* The calls of pg.h through the gate: when the breaker refuses, nothing is sent, false is
 * returned and *out says PG_NOT_SENT with code PG_CODE_BREAKER_OPEN; otherwise the call is
 * made, its result reported to the breaker (a refusal or "not found" is the PG answering,
 * not failing) and true returned with the outcome in *out. */
bool pggate_ready(struct pggate *g, const struct pg_ready_req *req, struct pg_result *out);
bool pggate_confirm(struct pggate *g, const struct pg_confirm_req *req, struct pg_result *out);
/* pggate_confirm of reqs[0..n) at once (pg_confirm_many): each is admitted by the breaker in
 * turn (sent[i] false and outs[i] PG_NOT_SENT when refused), the admitted ones are sent
 * together, and each result is reported to the breaker. */
void pggate_confirm_many(struct pggate *g, const struct pg_confirm_req *reqs, size_t n,
    struct pg_result *outs, bool *sent);
bool pggate_cancel(struct pggate *g, const struct pg_cancel_req *req, struct pg_result *out);
bool pggate_lookup(struct pggate *g, const struct pg_lookup_req *req, struct pg_result *out);

/* For a process's idle moments (the worker's loop calls it on every turn; cheap, no I/O
 * unless something is due): each gate this process made turns half-open once its open time
 * is over (breaker_state's lazy transition, logged and published by the transition hook), so
 * a worker that makes no call no longer shows "open" on the console and /metrics after the
 * PG has recovered; and each gate's report is published again now and then, so
 * an idle worker's report does not expire (every 10 s). */
void pggate_refresh(void);

/* pg_toss_settlements through the gate (g must be Toss's), as above. */
bool pggate_toss_settlements(struct pggate *g, const char *date, int page, int size,
    struct pg_settlement *rows, size_t *n, struct pg_result *out);

/* After a refusal by g's breaker: how long until it admits a call again, in milliseconds (what
 * is left of its open time; PGGATE_HALF_OPEN_WAIT_MS when it is half-open with its trial calls
 * out, whose results decide). A job refused by the gate waits this long instead of retrying
 * at once. */
#define PGGATE_HALF_OPEN_WAIT_MS 1000
int64_t pggate_wait_ms(struct pggate *g);

/* The breaker's name ("pg-toss", "pg-kakaopay-refund"), as /metrics and the admin console
 * show it; "?" out of range. */
const char *pggate_breaker_name(enum pg_id id, enum pggate_use use);

#endif
