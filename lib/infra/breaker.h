/* breaker: a count-based sliding-window circuit breaker in the style of resilience4j, put in
 * front of every call to an outside service (Naver Shopping now, the payment gateways next).
 *
 * States. CLOSED: every call is let through; the outcomes of the last `window` calls are kept
 * in a ring. Once at least min(min_calls, window) outcomes are in the ring, the breaker OPENs
 * when failed calls reach failure_rate percent of them, or calls slower than slow_call_ms
 * reach slow_rate percent (a slow call that also failed counts in both). OPEN: every call is
 * refused at once (fail fast) for open_ms; then the breaker turns HALF_OPEN by itself (the
 * transition is made lazily, by the first breaker_allow or breaker_state that sees the time
 * has passed: the same as resilience4j's automatic transition as far as any caller can
 * tell). HALF_OPEN: exactly half_open_calls trial calls are admitted, the rest refused; when
 * all of them have reported, the rates are judged over those trials alone: over a threshold
 * -> OPEN again (for another open_ms), otherwise -> CLOSED with an empty ring.
 *
 * Use: `if (!breaker_allow(b)) fail fast; ...call...; breaker_record(b, ok, elapsed_ms);`.
 * Every admitted call must be reported once, by breaker_record, or by breaker_release when
 * it was not made after all (otherwise a half-open breaker waits for it for ever).
 *
 * State is per process and not thread-safe: each FastCGI handler process and each worker
 * process keeps its own breaker for a service (no locks, no Redis round trip on the hot path,
 * and it keeps working when Redis is what is down). What that does to the thresholds: with
 * N processes sharing the traffic evenly the RATES are unchanged (each process sees the same
 * failure fraction), but each process needs its own min_calls outcomes before it may open,
 * so the service receives up to about N x min_calls calls before every process has opened,
 * and N x half_open_calls trial calls per open period instead of half_open_calls. Processes
 * also open and half-open at slightly different moments. That is acceptable: a breaker is
 * there to stop piling load and latency onto a service that is failing, and N (a handful of
 * handlers or workers) times a small count is still a trickle; the rates that decide are the
 * configured ones. breaker_publish reports each process's breaker to Redis so the admin
 * console and /metrics can show all of them.
 *
 * Time comes from a clock function given to breaker_new (monotonic milliseconds by default),
 * so tests drive it with a fake clock and never sleep. */
#ifndef JT_BREAKER_H
#define JT_BREAKER_H

#include <stdbool.h>
#include <stdint.h>
#include "base/buf.h"

struct conf;
struct redis;
struct breaker;

enum breaker_state {
	BREAKER_CLOSED,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
	BREAKER_STATE__MAX
};

#define BREAKER_NAME_MAX 32         /* bytes of a breaker's name: [a-z0-9_-], not empty */
#define BREAKER_WINDOW_MAX 100000   /* largest window and half_open_calls breaker_new takes */

/* The knobs; seed 004's values are the defaults (breaker_settings_default). */
struct breaker_settings {
	int window;            /* outcomes kept in the count-based sliding window, >= 1 */
	int min_calls;         /* outcomes needed before the rates are judged, >= 1 (a value
	                        * above window acts as window, as in resilience4j) */
	int failure_rate;      /* percent of failed calls that opens, 1..100 */
	int64_t slow_call_ms;  /* a call taking longer than this (strictly) is slow, >= 1 */
	int slow_rate;         /* percent of slow calls that opens, 1..100 */
	int64_t open_ms;       /* how long an open breaker fails fast, >= 1 */
	int half_open_calls;   /* trial calls admitted while half-open, >= 1 */
};

/* Running totals since breaker_new (never reset by transitions). */
struct breaker_counters {
	uint64_t calls;        /* outcomes recorded (breaker_record) */
	uint64_t failures;     /* of those, failed */
	uint64_t slow;         /* of those, slower than slow_call_ms */
	uint64_t rejected;     /* calls refused by breaker_allow */
	uint64_t transitions;  /* state changes */
	uint64_t opened;       /* of those, into OPEN */
};

/* One look at a breaker, for logs, /metrics, the admin console and breaker_publish. */
struct breaker_snapshot {
	const char *name;            /* owned by the breaker */
	enum breaker_state state;
	int64_t since_ms;            /* clock time of the last transition (breaker_new's time
	                              * for a breaker that never changed) */
	int64_t now_ms;              /* clock time of the snapshot */
	int window_calls;            /* outcomes in the current window (half-open: trials) */
	int failure_rate;            /* percent (rounded down) of failed outcomes in the window,
	                              * -1 while fewer than the minimum have been recorded */
	int slow_rate;               /* likewise for slow outcomes */
	struct breaker_counters counters;
};

/* Called after every state change, once per change, with the breaker already in state to.
 * It may call breaker_snapshot on b; it must not call breaker_allow/record/release. */
struct breaker_hook {
	void (*fn)(struct breaker *b, enum breaker_state from, enum breaker_state to, void *arg);
	void *arg;
};

/* Seed 004's settings: window 30, minimum 20, failure 40 %, slow call 1000 ms, slow 50 %,
 * open 30 s, 5 half-open calls. */
void breaker_settings_default(struct breaker_settings *out);

/* The settings from the breaker.* keys of c (whose bounds make them always valid). */
void breaker_settings_from_conf(const struct conf *c, struct breaker_settings *out);

/* 0 when every field is within the bounds documented on struct breaker_settings (window and
 * half_open_calls at most BREAKER_WINDOW_MAX), else -1. */
int breaker_settings_check(const struct breaker_settings *s);

/* The default clock: CLOCK_MONOTONIC in milliseconds. */
int64_t breaker_clock_ms(void);

/* A CLOSED breaker named name with a copy of settings s; now_ms is its clock (NULL =
 * breaker_clock_ms). Returns NULL when the name is empty, longer than BREAKER_NAME_MAX or
 * holds a byte outside [a-z0-9_-], or when breaker_settings_check refuses s. Owned by the
 * caller: breaker_free. */
struct breaker *breaker_new(const char *name, const struct breaker_settings *s,
    int64_t (*now_ms)(void));

/* Frees b and sets *b to NULL. NULL-safe. */
void breaker_free(struct breaker **b);

/* Installs (or, with hook NULL or hook->fn NULL, removes) the transition hook. */
void breaker_set_hook(struct breaker *b, const struct breaker_hook *hook);

/* May a call be made now? CLOSED: true. OPEN: false (counted as rejected) until open_ms has
 * passed, then the breaker turns HALF_OPEN and this decides as half-open. HALF_OPEN: true for
 * the first half_open_calls calls of this half-open period, false after that. A true answer
 * must be followed by exactly one breaker_record or breaker_release. */
bool breaker_allow(struct breaker *b);

/* Reports the outcome of an admitted call: ok false for a failure (whatever the caller
 * counts as the service failing: no answer, 5xx, 429, garbage), elapsed_ms its duration
 * (slow when > slow_call_ms; a negative value counts as 0). May change the state (the hook
 * runs before this returns). An outcome arriving while OPEN (an old call finishing late) is
 * counted in the totals but changes nothing. */
void breaker_record(struct breaker *b, bool ok, int64_t elapsed_ms);

/* Gives back the admission of a call that was not made after all; changes nothing else. */
void breaker_release(struct breaker *b);

/* The current state (OPEN turns HALF_OPEN here too once open_ms has passed). */
enum breaker_state breaker_state(struct breaker *b);

/* "closed", "open", "half_open"; "?" for a value out of range. */
const char *breaker_state_name(enum breaker_state s);

/* The breaker's name (owned by b). */
const char *breaker_name(const struct breaker *b);

/* The settings b runs with (owned by b). */
const struct breaker_settings *breaker_settings(const struct breaker *b);

/* Fills *out (after applying a due OPEN -> HALF_OPEN transition). */
void breaker_snapshot(struct breaker *b, struct breaker_snapshot *out);

/* Writes this process's view of b to Redis (argv commands; never on the hot path: call it
 * from the hook and now and then):
 *   HSET breaker:{name} state S since_ms T failure_rate F slow_rate R window_calls N
 *        calls N failures N slow N rejected N transitions N opened N pid P updated_ms T
 *     the latest report from any process (the admin console's summary), and
 *   HSET breaker:{name}:procs {pid} {the same fields as a JSON object}
 *     one field per process (what /metrics renders with breaker_render_metrics);
 * both keys EXPIRE after ttl_seconds (>= 1) so dead processes fade out. since_ms and
 * updated_ms are wall-clock Unix milliseconds (the clock's times are converted). Returns 0,
 * or -1 when Redis did not answer or refused (nothing else happens: publishing is best
 * effort). */
int breaker_publish(struct breaker *b, struct redis *r, int ttl_seconds);

/* The numbers of a report, in the order breaker_report_field_name lists them. */
enum breaker_report_field {
	BREAKER_FIELD_SINCE_MS,      /* wall-clock Unix ms of the last transition */
	BREAKER_FIELD_FAILURE_RATE,  /* percent; -1 while too few outcomes */
	BREAKER_FIELD_SLOW_RATE,
	BREAKER_FIELD_WINDOW_CALLS,
	BREAKER_FIELD_CALLS,
	BREAKER_FIELD_FAILURES,
	BREAKER_FIELD_SLOW,
	BREAKER_FIELD_REJECTED,
	BREAKER_FIELD_TRANSITIONS,
	BREAKER_FIELD_OPENED,
	BREAKER_FIELD_UPDATED_MS,    /* wall-clock Unix ms of the report */
	BREAKER_FIELD__MAX
};

/* One report breaker_publish wrote, read back: the latest of any process (breaker:{name}) or
 * one process's (a field of breaker:{name}:procs). */
struct breaker_report {
	char pid[16];                      /* decimal */
	enum breaker_state state;
	int64_t v[BREAKER_FIELD__MAX];
};

/* What Redis holds about one breaker. */
struct breaker_published {
	char name[BREAKER_NAME_MAX + 1];
	bool reported;                     /* summary holds a well-formed report; false when no
	                                    * process published one (or it expired) */
	struct breaker_report summary;
	struct breaker_report *procs;      /* nprocs well-formed process reports, by pid;
	                                    * malformed ones are skipped */
	size_t nprocs;
};

/* The Redis field name of f ("since_ms", "failure_rate", ...); "?" out of range. */
const char *breaker_report_field_name(enum breaker_report_field f);

/* Reads every breaker published in Redis (SCAN breaker:*), with the names always[0..nalways)
 * listed even when nothing was published for them, sorted by name, at most
 * BREAKER_PUBLISHED_MAX; the process reports too when with_procs. Names that are not valid
 * breaker names are skipped. Returns how many with *out set (owned by the caller:
 * breaker_published_free), or -1 when Redis did not answer (*out NULL). */
int breaker_read_published(struct redis *r, const char *const *always, size_t nalways,
    bool with_procs, struct breaker_published **out);

/* Frees the n entries of *list and the array, and sets *list to NULL. NULL-safe. */
void breaker_published_free(struct breaker_published **list, size_t n);

#define BREAKER_PUBLISHED_MAX 64

/* Appends the Prometheus text for every process that published one of the breakers names[0..n)
 * (their breaker:{name}:procs hashes), each metric family's HELP and TYPE once:
 * jangteo_breaker_state{breaker,pid,state} (1 for the current state, 0 for the others) and
 * the counters jangteo_breaker_{calls,failures,slow,rejected,transitions}_total{breaker,pid}.
 * A field that is not a well-formed report is skipped. Returns 0, or -1 when Redis did not
 * answer (nothing appended). */
int breaker_render_metrics(struct redis *r, const char *const *names, size_t n, struct buf *out);

#endif
