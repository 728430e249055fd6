/* check_breaker: the circuit breaker's state machine, driven by a fake clock (no sleeps), and
 * (server suite) its reports in Redis read back as they were published. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clients/pggate.h"
#include "infra/breaker.h"
#include "infra/redis.h"
#include "base/buf.h"
#include "base/conf.h"
#include "suites.h"

static int64_t fake_now;

static int64_t
fake_clock(void)
{
	return fake_now;
}

/* What the hook saw. */
#define HOOK_MAX 16
static int hook_calls;
static enum breaker_state hook_from[HOOK_MAX], hook_to[HOOK_MAX];
static void *hook_arg_seen;

static void
record_hook(struct breaker *b, enum breaker_state from, enum breaker_state to, void *arg)
{
	struct breaker_snapshot s;

	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.state, to);  /* the breaker is already in the new state */
	if (hook_calls < HOOK_MAX) {
		hook_from[hook_calls] = from;
		hook_to[hook_calls] = to;
	}
	hook_calls++;
	hook_arg_seen = arg;
}

/* A breaker with seed 004's settings on the fake clock at t = 1000000. */
static struct breaker *
new_default(void)
{
	struct breaker_settings s;
	struct breaker *b;

	fake_now = 1000000;
	hook_calls = 0;
	hook_arg_seen = NULL;
	breaker_settings_default(&s);
	b = breaker_new("naver", &s, fake_clock);
	ck_assert_ptr_nonnull(b);
	return b;
}

/* Allows and records n calls with the same outcome. */
static void
calls(struct breaker *b, int n, bool ok, int64_t ms)
{
	int i;

	for (i = 0; i < n; i++) {
		ck_assert(breaker_allow(b));
		breaker_record(b, ok, ms);
	}
}

/* Opens a default breaker with 20 failures. */
static struct breaker *
new_open(void)
{
	struct breaker *b = new_default();

	calls(b, 20, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	return b;
}

START_TEST(defaults_are_seed_004)
{
	struct breaker_settings s;

	breaker_settings_default(&s);
	ck_assert_int_eq(s.window, 30);
	ck_assert_int_eq(s.min_calls, 20);
	ck_assert_int_eq(s.failure_rate, 40);
	ck_assert_int_eq(s.slow_call_ms, 1000);
	ck_assert_int_eq(s.slow_rate, 50);
	ck_assert_int_eq(s.open_ms, 30000);
	ck_assert_int_eq(s.half_open_calls, 5);
	ck_assert_int_eq(breaker_settings_check(&s), 0);
}
END_TEST

START_TEST(settings_from_conf)
{
	char err[256];
	struct conf *c = conf_parse("", err, sizeof(err));
	struct breaker_settings s, d;

	ck_assert_ptr_nonnull(c);
	memset(&s, 0, sizeof(s));   /* padding compares equal too */
	memset(&d, 0, sizeof(d));
	breaker_settings_from_conf(c, &s);
	breaker_settings_default(&d);
	ck_assert_mem_eq(&s, &d, sizeof(s));
	conf_free(&c);

	c = conf_parse("breaker.window = 7\nbreaker.min_calls = 3\nbreaker.failure_rate = 100\n"
	    "breaker.slow_call_ms = 250\nbreaker.slow_rate = 1\nbreaker.open_seconds = 2\n"
	    "breaker.half_open_calls = 1\n", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	breaker_settings_from_conf(c, &s);
	ck_assert_int_eq(s.window, 7);
	ck_assert_int_eq(s.min_calls, 3);
	ck_assert_int_eq(s.failure_rate, 100);
	ck_assert_int_eq(s.slow_call_ms, 250);
	ck_assert_int_eq(s.slow_rate, 1);
	ck_assert_int_eq(s.open_ms, 2000);
	ck_assert_int_eq(s.half_open_calls, 1);
	conf_free(&c);
}
END_TEST

START_TEST(opens_on_failure_rate)
{
	struct breaker *b = new_default();
	struct breaker_snapshot s;

	calls(b, 12, true, 5);
	calls(b, 7, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);  /* 19 calls: below the minimum */
	calls(b, 1, true, 5);                                 /* 7 of 20 = 35 % */
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.window_calls, 20);
	ck_assert_int_eq(s.failure_rate, 35);
	ck_assert_int_eq(s.slow_rate, 0);
	calls(b, 1, false, 5);                                /* 8 of 21 = 38 % */
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	calls(b, 1, false, 5);                                /* 9 of 22 = 40.9 % */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.counters.calls, 22);
	ck_assert_int_eq(s.counters.failures, 9);
	ck_assert_int_eq(s.counters.transitions, 1);
	ck_assert_int_eq(s.counters.opened, 1);
	ck_assert_int_eq(s.since_ms, 1000000);
	ck_assert_int_eq(s.window_calls, 0);  /* each state starts with a fresh window */
	breaker_free(&b);
	ck_assert_ptr_null(b);
}
END_TEST

START_TEST(opens_at_exactly_the_threshold)
{
	struct breaker *b = new_default();

	calls(b, 12, true, 5);
	calls(b, 7, false, 5);
	calls(b, 1, false, 5);                                /* 8 of 20 = 40 % exactly */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(opens_on_slow_call_rate)
{
	struct breaker *b = new_default();
	struct breaker_snapshot s;

	calls(b, 10, true, 1000);   /* exactly slow_call_ms is not slow */
	calls(b, 9, true, 1001);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	calls(b, 1, true, 5);       /* 9 of 20 = 45 % slow */
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.slow_rate, 45);
	ck_assert_int_eq(s.failure_rate, 0);
	calls(b, 1, true, 60000);   /* 10 of 21 = 47.6 % */
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	calls(b, 1, true, 1001);    /* 11 of 22 = 50 % */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.counters.slow, 11);
	ck_assert_int_eq(s.counters.failures, 0);
	breaker_free(&b);
}
END_TEST

START_TEST(slow_failures_count_in_both_rates)
{
	struct breaker *b = new_default();
	struct breaker_snapshot s;

	calls(b, 12, true, 5);
	calls(b, 7, false, 2000);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.failure_rate, -1);   /* 19 calls: below the minimum */
	ck_assert_int_eq(s.slow_rate, -1);
	ck_assert_int_eq(s.counters.slow, 7);
	ck_assert_int_eq(s.counters.failures, 7);
	calls(b, 1, true, 5);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.failure_rate, 35);   /* 7 of 20 */
	ck_assert_int_eq(s.slow_rate, 35);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_free(&b);
}
END_TEST

START_TEST(not_before_min_calls)
{
	struct breaker *b = new_default();
	struct breaker_snapshot s;

	calls(b, 19, false, 5000);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.window_calls, 19);
	ck_assert_int_eq(s.failure_rate, -1);
	ck_assert_int_eq(s.slow_rate, -1);
	ck_assert_int_eq(s.counters.transitions, 0);
	calls(b, 1, false, 5000);
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(fails_fast_while_open)
{
	struct breaker *b = new_open();
	struct breaker_snapshot s;
	int i;

	for (i = 0; i < 100; i++) {
		fake_now += 299;   /* 29,900 ms in all: still inside the 30 s */
		ck_assert(!breaker_allow(b));
	}
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.counters.rejected, 100);
	ck_assert_int_eq(s.counters.calls, 20);
	ck_assert_int_eq(s.now_ms - s.since_ms, 29900);
	/* A late outcome of a call admitted before the breaker opened changes nothing. */
	breaker_record(b, true, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.counters.calls, 21);
	ck_assert_int_eq(s.counters.transitions, 1);
	breaker_free(&b);
}
END_TEST

START_TEST(half_opens_after_open_seconds)
{
	struct breaker *b = new_open();
	struct breaker_snapshot s;

	fake_now += 29999;
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	ck_assert(!breaker_allow(b));
	fake_now += 1;
	/* The transition is automatic: reading the state makes it, no call needed. */
	ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.since_ms, 1030000);
	ck_assert_int_eq(s.counters.transitions, 2);
	ck_assert_int_eq(s.counters.rejected, 1);
	ck_assert(breaker_allow(b));
	breaker_free(&b);
}
END_TEST

START_TEST(half_open_admits_exactly_half_open_calls)
{
	struct breaker *b = new_open();
	struct breaker_snapshot s;
	int i;

	fake_now += 30000;
	for (i = 0; i < 5; i++)
		ck_assert(breaker_allow(b));
	ck_assert(!breaker_allow(b));
	ck_assert(!breaker_allow(b));
	/* A call that was not made gives its admission back: one more may go. */
	breaker_release(b);
	ck_assert(breaker_allow(b));
	ck_assert(!breaker_allow(b));
	ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.counters.rejected, 3);
	breaker_free(&b);
}
END_TEST

START_TEST(closes_after_successful_trials)
{
	struct breaker *b = new_open();
	struct breaker_snapshot s;
	int i;

	fake_now += 30000;
	for (i = 0; i < 5; i++)
		ck_assert(breaker_allow(b));
	for (i = 0; i < 4; i++) {
		breaker_record(b, true, 10);
		ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	}
	breaker_record(b, true, 10);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.window_calls, 0);
	ck_assert_int_eq(s.failure_rate, -1);
	ck_assert_int_eq(s.counters.transitions, 3);
	ck_assert_int_eq(s.counters.opened, 1);
	/* Closed again: a fresh window needs the minimum again before it may open. */
	calls(b, 19, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	calls(b, 1, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(one_failed_trial_of_five_still_closes)
{
	/* 1 of 5 = 20 % < 40 %: resilience4j judges the trials by the same rates. */
	struct breaker *b = new_open();

	fake_now += 30000;
	calls(b, 1, false, 10);
	calls(b, 4, true, 10);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_free(&b);
}
END_TEST

START_TEST(reopens_on_failed_trials)
{
	struct breaker *b = new_open();
	struct breaker_snapshot s;

	fake_now += 30000;
	calls(b, 3, true, 10);
	calls(b, 1, false, 10);
	ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.window_calls, 4);
	ck_assert_int_eq(s.failure_rate, 25);
	calls(b, 1, false, 10);    /* 2 of 5 = 40 % */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.since_ms, 1030000);
	ck_assert_int_eq(s.counters.opened, 2);
	/* Open for another full period from the reopening. */
	fake_now += 29999;
	ck_assert(!breaker_allow(b));
	fake_now += 1;
	ck_assert(breaker_allow(b));
	ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(reopens_on_slow_trials)
{
	struct breaker *b = new_open();

	fake_now += 30000;
	calls(b, 2, true, 10);
	calls(b, 3, true, 1500);   /* 3 of 5 = 60 % slow */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(half_open_ignores_outcomes_it_did_not_admit)
{
	struct breaker *b = new_open();
	struct breaker_snapshot s;

	fake_now += 30000;
	ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	/* Late outcomes of calls admitted before the breaker opened: not trials. */
	breaker_record(b, false, 10);
	breaker_record(b, false, 10);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.window_calls, 0);
	calls(b, 5, true, 10);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_free(&b);
}
END_TEST

START_TEST(window_slides)
{
	struct breaker_settings set;
	struct breaker_snapshot s;
	struct breaker *b;

	breaker_settings_default(&set);
	set.window = 10;
	set.min_calls = 10;
	set.failure_rate = 50;
	fake_now = 0;
	b = breaker_new("pg-toss", &set, fake_clock);
	ck_assert_ptr_nonnull(b);
	calls(b, 4, false, 5);
	calls(b, 6, true, 5);
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.failure_rate, 40);
	calls(b, 4, true, 5);      /* the four failures fall out of the window */
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.window_calls, 10);
	ck_assert_int_eq(s.failure_rate, 0);
	calls(b, 4, false, 5);     /* 4 of the last 10 (8 of 18 in all) */
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	calls(b, 1, false, 5);     /* 5 of the last 10: 50 % (9 of 19 in all would be 47 %) */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(window_slides_slow_calls_too)
{
	struct breaker_settings set;
	struct breaker_snapshot s;
	struct breaker *b;

	breaker_settings_default(&set);
	set.window = 4;
	set.min_calls = 4;
	set.slow_rate = 75;
	fake_now = 0;
	b = breaker_new("x", &set, fake_clock);
	calls(b, 2, true, 5000);
	calls(b, 2, true, 5);
	calls(b, 2, true, 5);      /* both slow ones gone */
	breaker_snapshot(b, &s);
	ck_assert_int_eq(s.slow_rate, 0);
	calls(b, 2, true, 5000);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);  /* 2 of 4 */
	calls(b, 1, true, 5000);   /* 3 of 4 = 75 % */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(hook_fires_once_per_transition)
{
	struct breaker *b = new_default();
	struct breaker_hook h = { record_hook, &fake_now };
	int i;

	breaker_set_hook(b, &h);
	calls(b, 19, false, 5);
	ck_assert_int_eq(hook_calls, 0);
	calls(b, 1, false, 5);
	ck_assert_int_eq(hook_calls, 1);
	for (i = 0; i < 10; i++)
		ck_assert(!breaker_allow(b));
	ck_assert_int_eq(hook_calls, 1);
	fake_now += 30000;
	ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	ck_assert_int_eq(breaker_state(b), BREAKER_HALF_OPEN);
	ck_assert_int_eq(hook_calls, 2);
	calls(b, 5, false, 5);
	ck_assert_int_eq(hook_calls, 3);
	fake_now += 30000;
	calls(b, 5, true, 5);
	ck_assert_int_eq(hook_calls, 5);
	ck_assert_int_eq(hook_from[0], BREAKER_CLOSED);
	ck_assert_int_eq(hook_to[0], BREAKER_OPEN);
	ck_assert_int_eq(hook_from[1], BREAKER_OPEN);
	ck_assert_int_eq(hook_to[1], BREAKER_HALF_OPEN);
	ck_assert_int_eq(hook_from[2], BREAKER_HALF_OPEN);
	ck_assert_int_eq(hook_to[2], BREAKER_OPEN);
	ck_assert_int_eq(hook_from[3], BREAKER_OPEN);
	ck_assert_int_eq(hook_to[3], BREAKER_HALF_OPEN);
	ck_assert_int_eq(hook_from[4], BREAKER_HALF_OPEN);
	ck_assert_int_eq(hook_to[4], BREAKER_CLOSED);
	ck_assert_ptr_eq(hook_arg_seen, &fake_now);
	/* Removed: no more calls. */
	breaker_set_hook(b, NULL);
	calls(b, 20, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	ck_assert_int_eq(hook_calls, 5);
	breaker_free(&b);
}
END_TEST

START_TEST(settings_edge_cases)
{
	struct breaker_settings d, s;
	struct breaker *b;

	breaker_settings_default(&d);
	ck_assert_int_eq(breaker_settings_check(NULL), -1);
#define REFUSED(field, value) do { s = d; s.field = (value); \
	ck_assert_int_eq(breaker_settings_check(&s), -1); \
	ck_assert_ptr_null(breaker_new("naver", &s, fake_clock)); } while (0)
	REFUSED(window, 0);
	REFUSED(window, -1);
	REFUSED(window, BREAKER_WINDOW_MAX + 1);
	REFUSED(min_calls, 0);
	REFUSED(failure_rate, 0);
	REFUSED(failure_rate, 101);
	REFUSED(slow_rate, 0);
	REFUSED(slow_rate, 101);
	REFUSED(slow_call_ms, 0);
	REFUSED(open_ms, 0);
	REFUSED(open_ms, -30000);
	REFUSED(half_open_calls, 0);
	REFUSED(half_open_calls, BREAKER_WINDOW_MAX + 1);
#undef REFUSED
	ck_assert_ptr_null(breaker_new(NULL, &d, fake_clock));
	ck_assert_ptr_null(breaker_new("", &d, fake_clock));
	ck_assert_ptr_null(breaker_new("Naver", &d, fake_clock));
	ck_assert_ptr_null(breaker_new("na ver", &d, fake_clock));
	ck_assert_ptr_null(breaker_new("naver:x", &d, fake_clock));
	ck_assert_ptr_null(breaker_new("naver\n", &d, fake_clock));
	ck_assert_ptr_null(breaker_new("abcdefghijklmnopqrstuvwxyz0123456", &d, fake_clock));
	ck_assert_ptr_null(breaker_new("naver", NULL, fake_clock));
	b = breaker_new("abcdefghijklmnopqrstuvwxyz012345", &d, NULL);  /* 32 bytes, real clock */
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(breaker_name(b), "abcdefghijklmnopqrstuvwxyz012345");
	ck_assert_int_eq(breaker_settings(b)->window, 30);
	breaker_free(&b);
	breaker_free(&b);   /* NULL-safe */
	breaker_free(NULL);
}
END_TEST

START_TEST(min_calls_above_window_acts_as_window)
{
	struct breaker_settings s;
	struct breaker *b;

	breaker_settings_default(&s);
	s.window = 5;
	s.min_calls = 20;
	fake_now = 0;
	b = breaker_new("x", &s, fake_clock);
	calls(b, 4, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	calls(b, 1, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(window_of_one_and_single_trial)
{
	struct breaker_settings s;
	struct breaker *b;

	breaker_settings_default(&s);
	s.window = 1;
	s.min_calls = 1;
	s.half_open_calls = 1;
	s.open_ms = 1;
	fake_now = 0;
	b = breaker_new("x", &s, fake_clock);
	calls(b, 50, true, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	calls(b, 1, false, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	ck_assert(!breaker_allow(b));
	fake_now += 1;
	ck_assert(breaker_allow(b));
	ck_assert(!breaker_allow(b));
	breaker_record(b, true, 5);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_free(&b);
}
END_TEST

START_TEST(failure_rate_100_needs_every_call_to_fail)
{
	struct breaker_settings s;
	struct breaker *b;

	breaker_settings_default(&s);
	s.failure_rate = 100;
	s.slow_rate = 100;
	fake_now = 0;
	b = breaker_new("x", &s, fake_clock);
	calls(b, 1, true, 5);
	calls(b, 29, false, 5000);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);   /* 29 of 30, 29 slow of 30 */
	calls(b, 1, false, 5000);                            /* the success falls out */
	ck_assert_int_eq(breaker_state(b), BREAKER_OPEN);
	breaker_free(&b);
}
END_TEST

START_TEST(negative_elapsed_counts_as_fast)
{
	struct breaker_settings s;
	struct breaker_snapshot snap;
	struct breaker *b;

	breaker_settings_default(&s);
	s.slow_call_ms = 1;
	fake_now = 0;
	b = breaker_new("x", &s, fake_clock);
	calls(b, 20, true, -5);
	calls(b, 20, true, INT64_MIN);
	calls(b, 1, true, 1);
	breaker_snapshot(b, &snap);
	ck_assert_int_eq(snap.counters.slow, 0);
	calls(b, 1, true, INT64_MAX);
	breaker_snapshot(b, &snap);
	ck_assert_int_eq(snap.counters.slow, 1);
	ck_assert_int_eq(breaker_state(b), BREAKER_CLOSED);
	breaker_free(&b);
}
END_TEST

START_TEST(state_names)
{
	ck_assert_str_eq(breaker_state_name(BREAKER_CLOSED), "closed");
	ck_assert_str_eq(breaker_state_name(BREAKER_OPEN), "open");
	ck_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
	ck_assert_str_eq(breaker_state_name(BREAKER_STATE__MAX), "?");
	ck_assert_str_eq(breaker_state_name((enum breaker_state)-1), "?");
}
END_TEST

Suite *
breaker_suite(void)
{
	Suite *s = suite_create("breaker");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_are_seed_004);
	tcase_add_test(tc, settings_from_conf);
	tcase_add_test(tc, opens_on_failure_rate);
	tcase_add_test(tc, opens_at_exactly_the_threshold);
	tcase_add_test(tc, opens_on_slow_call_rate);
	tcase_add_test(tc, slow_failures_count_in_both_rates);
	tcase_add_test(tc, not_before_min_calls);
	tcase_add_test(tc, fails_fast_while_open);
	tcase_add_test(tc, half_opens_after_open_seconds);
	tcase_add_test(tc, half_open_admits_exactly_half_open_calls);
	tcase_add_test(tc, closes_after_successful_trials);
	tcase_add_test(tc, one_failed_trial_of_five_still_closes);
	tcase_add_test(tc, reopens_on_failed_trials);
	tcase_add_test(tc, reopens_on_slow_trials);
	tcase_add_test(tc, half_open_ignores_outcomes_it_did_not_admit);
	tcase_add_test(tc, window_slides);
	tcase_add_test(tc, window_slides_slow_calls_too);
	tcase_add_test(tc, hook_fires_once_per_transition);
	tcase_add_test(tc, settings_edge_cases);
	tcase_add_test(tc, min_calls_above_window_acts_as_window);
	tcase_add_test(tc, window_of_one_and_single_trial);
	tcase_add_test(tc, failure_rate_100_needs_every_call_to_fail);
	tcase_add_test(tc, negative_elapsed_counts_as_fast);
	tcase_add_test(tc, state_names);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- reports in Redis (server suite) ---------------------------------------------------- */

static struct conf *r_conf;
static struct redis *r_redis;

static void
redis_setup(void)
{
	char err[256];

	r_conf = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(r_conf != NULL, "%s", err);
	r_redis = redis_new(r_conf);
	ck_assert_int_eq(redis_ping(r_redis), 0);
}

static void
redis_teardown(void)
{
	redis_free(&r_redis);
	conf_free(&r_conf);
}

static void
redis_do(const char *a0, const char *a1, const char *a2, const char *a3)
{
	redisReply *rep = redis_cmdl(r_redis, a0, a1, a2, a3, NULL);

	ck_assert_ptr_nonnull(rep);
	ck_assert_int_ne(rep->type, REDIS_REPLY_ERROR);
	freeReplyObject(rep);
}

/* The entry named name of list[0..n), or NULL. */
static const struct breaker_published *
find(const struct breaker_published *list, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

START_TEST(published_reports_read_back_as_written)
{
	struct breaker_settings st;
	struct breaker_published *list;
	const struct breaker_published *p;
	const char *always[] = { "ck-never-published", "Not A Name" };
	char pid[16];
	struct buf m = { 0 };
	const char *names[] = { "ck-pub" };
	struct breaker *b;
	int n;

	redis_do("DEL", "breaker:ck-pub", "breaker:ck-pub:procs", "breaker:ck-never-published");
	breaker_settings_default(&st);
	fake_now = 1000000;
	b = breaker_new("ck-pub", &st, fake_clock);
	calls(b, 20, false, 5);              /* opens */
	ck_assert(!breaker_allow(b));        /* one rejected */
	ck_assert_int_eq(breaker_publish(b, r_redis, 60), 0);
	/* Another process's report that is not well-formed is skipped. */
	redis_do("HSET", "breaker:ck-pub:procs", "1", "{\"state\":\"open\"}");

	n = breaker_read_published(r_redis, always, 2, true, &list);
	ck_assert_int_ge(n, 2);
	ck_assert_ptr_null(find(list, n, "Not A Name"));
	p = find(list, n, "ck-never-published");
	ck_assert_ptr_nonnull(p);
	ck_assert(!p->reported);
	ck_assert_uint_eq(p->nprocs, 0);
	p = find(list, n, "ck-pub");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->reported);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	ck_assert_str_eq(p->summary.pid, pid);
	ck_assert_int_eq(p->summary.state, BREAKER_OPEN);
	ck_assert_int_eq(p->summary.v[BREAKER_FIELD_CALLS], 20);
	ck_assert_int_eq(p->summary.v[BREAKER_FIELD_FAILURES], 20);
	ck_assert_int_eq(p->summary.v[BREAKER_FIELD_REJECTED], 1);
	ck_assert_int_eq(p->summary.v[BREAKER_FIELD_OPENED], 1);
	ck_assert_int_eq(p->summary.v[BREAKER_FIELD_FAILURE_RATE], -1);  /* open: no window */
	ck_assert_int_gt(p->summary.v[BREAKER_FIELD_UPDATED_MS], 0);
	ck_assert_uint_eq(p->nprocs, 1);
	ck_assert_str_eq(p->procs[0].pid, pid);
	ck_assert_mem_eq(p->procs[0].v, p->summary.v, sizeof(p->summary.v));
	breaker_published_free(&list, (size_t)n);
	ck_assert_ptr_null(list);

	/* Without the processes, and /metrics from the same reports. */
	n = breaker_read_published(r_redis, NULL, 0, false, &list);
	p = find(list, n, "ck-pub");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nprocs, 0);
	ck_assert_ptr_null(p->procs);
	breaker_published_free(&list, (size_t)n);
	ck_assert_int_eq(breaker_render_metrics(r_redis, names, 1, &m), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m), "jangteo_breaker_rejected_total{breaker=\"ck-pub\","));
	ck_assert_ptr_null(strstr(buf_cstr(&m), "pid=\"1\""));
	buf_release(&m);

	redis_do("DEL", "breaker:ck-pub", "breaker:ck-pub:procs", "breaker:ck-never-published");
	breaker_free(&b);
}
END_TEST

/* This process's published pg-toss report, read back: its state, or -1 when none. */
static int
published_state(void)
{
	const char *names[] = { "pg-toss" };
	struct breaker_published *list;
	const struct breaker_published *p;
	char pid[16];
	int n, i, state = -1;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	n = breaker_read_published(r_redis, names, 1, true, &list);
	p = find(list, n, "pg-toss");
	for (i = 0; p != NULL && (size_t)i < p->nprocs; i++)
		if (strcmp(p->procs[i].pid, pid) == 0)
			state = (int)p->procs[i].state;
	breaker_published_free(&list, (size_t)n);
	return state;
}

/* A gate whose breaker opened and that then makes no call (an idle payment worker) says
 * "half_open" once its open time is over (pggate_refresh, from the worker's loop), instead of
 * "open" until its next call. */
START_TEST(an_idle_gate_publishes_half_open_after_its_open_time)
{
	struct conf *c;
	struct pggate *g;
	char err[256];
	int i;

	redis_do("DEL", "breaker:pg-toss", "breaker:pg-toss:procs", NULL);
	setenv("JANGTEO_BREAKER_WINDOW", "2", 1);
	setenv("JANGTEO_BREAKER_MIN_CALLS", "2", 1);
	setenv("JANGTEO_BREAKER_OPEN_SECONDS", "1", 1);
	c = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	g = pggate_get(c, PG_TOSS, PGGATE_PAY);
	for (i = 0; i < 2; i++) {
		ck_assert(breaker_allow(g->breaker));
		breaker_record(g->breaker, false, 1);
	}
	ck_assert_int_eq(published_state(), BREAKER_OPEN);   /* the transition's own report */
	pggate_refresh();
	ck_assert_int_eq(published_state(), BREAKER_OPEN);   /* not before the open time */
	usleep(1100 * 1000);
	pggate_refresh();
	ck_assert_int_eq(published_state(), BREAKER_HALF_OPEN);
	redis_do("DEL", "breaker:pg-toss", "breaker:pg-toss:procs", NULL);
	conf_free(&c);
}
END_TEST

START_TEST(report_field_names)
{
	ck_assert_str_eq(breaker_report_field_name(BREAKER_FIELD_SINCE_MS), "since_ms");
	ck_assert_str_eq(breaker_report_field_name(BREAKER_FIELD_OPENED), "opened");
	ck_assert_str_eq(breaker_report_field_name(BREAKER_FIELD__MAX), "?");
}
END_TEST

Suite *
breaker_published_suite(void)
{
	Suite *s = suite_create("breaker_published");
	TCase *tc = tcase_create("redis");

	tcase_add_checked_fixture(tc, redis_setup, redis_teardown);
	tcase_add_test(tc, published_reports_read_back_as_written);
	tcase_add_test(tc, an_idle_gate_publishes_half_open_after_its_open_time);
	tcase_add_test(tc, report_field_names);
	suite_add_tcase(s, tc);
	return s;
}
