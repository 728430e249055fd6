/* bus: ZeroMQ job messages. A job's record is its outbox row; the message only carries the
 * row id and kind, so losing a message loses nothing (the janitor re-pushes).
 *
 * Topology: producers PUSH (connect) to bus.in; jangteo-bus reads each message and PUSHes it
 * on the queue its kind belongs to (bound at bus.out_<queue>); workers of that queue PULL
 * (connect). Endpoints come from the config, so workers may live on other hosts (tcp://). */
#ifndef JT_BUS_H
#define JT_BUS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct bus;

enum bus_queue { BUS_Q_DEMO, BUS_Q_PAYMENT, BUS_Q_SETTLE, BUS_Q_NOTIFY, BUS_Q__MAX };

enum job_kind {
	JOB_ECHO,             /* demo job (queue demo) */
	JOB_PAYMENT_CONFIRM,  /* confirm a PG payment (queue payment) */
	JOB_SETTLE,           /* settle a paid order with its seller (queue settle) */
	JOB_REFUND_SETTLE,    /* reverse the settlement of a refund (queue settle) */
	JOB_NOTIFY,           /* mail the shopper about their order (queue notify) */
	JOB_PAYMENT_CHECK,    /* ask the PG about an UNKNOWN or stale CONFIRMING order (queue payment) */
	JOB_REFUND,           /* cancel (refund) a payment at the PG (queue payment) */
	JOB__MAX
};

/* CURVE keys in Z85 text: 40 characters for 32 bytes. */
#define BUS_KEY_Z85 40

struct bus_job {
	int64_t outbox_id;
	enum job_kind kind;
};

/* "echo", ... and back. bus_kind_parse returns 0 or -1. */
const char *bus_kind_name(enum job_kind k);
int bus_kind_parse(const char *s, enum job_kind *out);
enum bus_queue bus_kind_queue(enum job_kind k);
const char *bus_queue_name(enum bus_queue q);

/* The wire envelope: {"v":1,"id":123,"kind":"echo"}. encode writes at most cap bytes
 * (NUL included) and returns the length, or -1 if it does not fit. decode is strict (exact
 * keys, positive id, known kind) and returns 0 or -1. */
int bus_job_encode(const struct bus_job *j, char *out, size_t cap);
int bus_job_decode(const char *msg, size_t len, struct bus_job *out);

/* Key files (CURVE). bus_key_load reads a file holding exactly one Z85 key on a line ('#'
 * lines and blank lines ignored) into out (NUL-terminated). bus_allow_load reads an
 * allow-list: one Z85 public key per line, optionally followed by blanks and a comment;
 * *keys (32 bytes each, owned by the caller: free) and *n are set. Both return 0, or -1 with
 * a reason in err ("path: ..."). */
int bus_key_load(const char *path, char out[BUS_KEY_Z85 + 1], char *err, size_t errlen);
int bus_allow_load(const char *path, uint8_t (**keys)[32], size_t *n, char *err,
    size_t errlen);

/* Endpoint lists: every bus.* endpoint key may list several endpoints, comma-separated.
 * Producers and consumers connect to each; the broker binds the first (its own). With
 * bus.curve_server_public set, every socket uses CURVE: the broker's as server with the
 * secret of bus.curve_server_secret, admitting only the client keys of bus.curve_allow
 * (a ZAP handler), the others as clients with this host's bus.curve_secret. */

/* A producer: one PUSH socket connected to bus.in (linger 0, send HWM from the config).
 * Never NULL. */
struct bus *bus_producer_new(const struct conf *c);

/* Sends without blocking. Returns 0, or -1 when the message could not be queued (HWM reached,
 * no bus, broker down: the socket has ZMQ_IMMEDIATE, so nothing is queued for a broker that
 * is not connected): harmless, the outbox janitor re-pushes. bus_producer_new waits up to
 * 100 ms for the connection so a fresh process's first push does not fail needlessly. */
int bus_push(struct bus *b, const struct bus_job *j);

/* A consumer of one queue: a PULL socket connected to bus.out_<queue>. Never NULL. */
struct bus *bus_consumer_new(const struct conf *c, enum bus_queue q);

/* Waits up to timeout_ms (-1 forever) for a job. Returns 1 with *out filled, 0 on timeout or
 * signal, -1 on error. Malformed messages are logged and skipped. */
int bus_pull(struct bus *b, struct bus_job *out, int timeout_ms);

void bus_free(struct bus **b);

/* The broker loop of jangteo-bus: binds (the first endpoint of) bus.in and every
 * bus.out_<queue>, with its ZAP handler first when CURVE is on, forwards each job to
 * its kind's queue until *stop becomes non-zero (checked every 200 ms and after a signal).
 * Malformed messages are logged and dropped; a message whose queue has no worker ready is
 * dropped (debug log): the outbox janitor re-pushes it. An ipc:// endpoint another live
 * process is accepting on is refused (ZeroMQ itself would silently take it over); a stale
 * socket file is replaced. Returns 0 on a clean stop, -1 if it could not bind (or a socket
 * failed later). */
int bus_broker_run(const struct conf *c, volatile sig_atomic_t *stop);

#endif
