/* check_daemon: SIGTERM sets the stop flag and cuts a sleep short; SIGPIPE is ignored. */
#include <check.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "base/daemon.h"
#include "suites.h"

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(test_term_sets_flag_and_ends_sleep)
{
	struct timespec t0;

	daemon_signals();
	ck_assert_int_eq(daemon_stop, 0);
	raise(SIGTERM);
	ck_assert_int_eq(daemon_stop, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	daemon_sleep_ms(5000);  /* already stopping: returns at once */
	ck_assert_int_lt(elapsed_ms(&t0), 1000);
	daemon_signals();       /* a fresh start clears the flag */
	ck_assert_int_eq(daemon_stop, 0);
	raise(SIGINT);
	ck_assert_int_eq(daemon_stop, 1);
}
END_TEST

START_TEST(test_sleep_sleeps_and_sigpipe_is_ignored)
{
	struct timespec t0;

	daemon_signals();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	daemon_sleep_ms(120);
	ck_assert_int_ge(elapsed_ms(&t0), 120);
	daemon_sleep_ms(0);
	daemon_sleep_ms(-5);
	raise(SIGPIPE);  /* would kill the test process if not ignored */
	ck_assert_int_eq(daemon_stop, 0);
}
END_TEST

Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("signals");

	tcase_add_test(tc, test_term_sets_flag_and_ends_sleep);
	tcase_add_test(tc, test_sleep_sleeps_and_sigpipe_is_ignored);
	suite_add_tcase(s, tc);
	return s;
}
