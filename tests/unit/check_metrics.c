/* check_metrics: counters shared by several processes add up; layout changes reset them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "infra/metrics.h"
#include "suites.h"

static char dir[64];
static char path[128];
static const char *const names[] = { "home", "healthz" };

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/jt-metrics-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

START_TEST(test_processes_add_up)
{
	struct metrics *m;
	struct buf out = { 0 };
	int i, k, status;

	for (k = 0; k < 3; k++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct metrics *cm = metrics_open(path, names, 2);

			if (cm == NULL)
				_exit(1);
			for (i = 0; i < 1000; i++)
				metrics_observe(cm, 0, 200, 1500);
			for (i = 0; i < 10; i++)
				metrics_observe(cm, 1, 503, 3000000);
			metrics_observe(cm, metrics_unmatched(cm), 404, 100);
			metrics_close(&cm);
			_exit(0);
		}
	}
	for (k = 0; k < 3; k++) {
		ck_assert_int_gt(wait(&status), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	m = metrics_open(path, names, 2);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(metrics_count(m, 0, 200), 3000);
	ck_assert_uint_eq(metrics_count(m, 1, 503), 30);
	ck_assert_uint_eq(metrics_count(m, 2, 404), 3);
	ck_assert_uint_eq(metrics_count(m, 0, 404), 0);
	metrics_render(m, &out);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "jangteo_http_requests_total{route=\"home\",status=\"200\"} 3000\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "jangteo_http_requests_total{route=\"unmatched\",status=\"404\"} 3\n"));
	/* 1.5 ms lands in the 2.5 ms bucket, not the 1 ms one */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "jangteo_http_request_duration_seconds_bucket{route=\"home\",le=\"0.001000\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "jangteo_http_request_duration_seconds_bucket{route=\"home\",le=\"0.002500\"} 3000\n"));
	/* 3 s is above every bucket: only +Inf counts it */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "jangteo_http_request_duration_seconds_bucket{route=\"healthz\",le=\"2.500000\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "jangteo_http_request_duration_seconds_bucket{route=\"healthz\",le=\"+Inf\"} 30\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "jangteo_http_request_duration_seconds_sum{route=\"healthz\"} 90.000000\n"));
	buf_release(&out);
	metrics_close(&m);
	ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_other_layout_resets)
{
	static const char *const other[] = { "home", "healthz", "orders" };
	struct metrics *m = metrics_open(path, names, 2);

	metrics_observe(m, 0, 200, 10);
	metrics_observe(m, 0, 299, 10);  /* an uncounted status lands in "other" */
	ck_assert_uint_eq(metrics_count(m, 0, 200), 1);
	metrics_close(&m);
	m = metrics_open(path, other, 3);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(metrics_count(m, 0, 200), 0);
	metrics_close(&m);
}
END_TEST

START_TEST(test_unwritable_path)
{
	ck_assert_ptr_null(metrics_open("/nonexistent-dir/metrics", names, 2));
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_processes_add_up);
	tcase_add_test(tc, test_other_layout_resets);
	tcase_add_test(tc, test_unwritable_path);
	suite_add_tcase(s, tc);
	return s;
}
