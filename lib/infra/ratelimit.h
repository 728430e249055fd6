/* ratelimit: fixed-window counters in Redis (key rl:{name}; INCR, and EXPIRE on the window's
 * first hit). A caller names the thing it limits ("login:acct:<e-mail>") and decides what a
 * hit is; the module says whether the count is still within the limit and, when it is not,
 * how long until the window ends. */
#ifndef JT_RATELIMIT_H
#define JT_RATELIMIT_H

#include <stdint.h>

struct redis;

/* The decision. RATELIMIT_UNAVAILABLE means Redis did not answer: the caller chooses to fail
 * open or closed (login fails closed, see fcgi/account.c). */
enum ratelimit_rc {
	RATELIMIT_ALLOWED,
	RATELIMIT_LIMITED,
	RATELIMIT_UNAVAILABLE,
	RATELIMIT_RC__MAX
};

/* Counts one hit on name in the current window of window_s seconds (the window starts at the
 * first hit), and answers RATELIMIT_ALLOWED while the count, this hit included, is <= limit.
 * On RATELIMIT_LIMITED *retry_after (if non-NULL) is the seconds left in the window (>= 1).
 * A counter found without an expiry (a process died between INCR and EXPIRE) is given one,
 * so no key limits forever. limit >= 1, window_s >= 1. */
enum ratelimit_rc ratelimit_hit(struct redis *r, const char *name, int64_t limit,
    int64_t window_s, int64_t *retry_after);

/* Like ratelimit_hit without counting: RATELIMIT_LIMITED when limit hits were already
 * counted in the current window. */
enum ratelimit_rc ratelimit_peek(struct redis *r, const char *name, int64_t limit,
    int64_t window_s, int64_t *retry_after);

/* Forgets name's count (a successful login clears its account's failures). 0 or -1 when
 * Redis did not answer. */
int ratelimit_reset(struct redis *r, const char *name);

#endif
