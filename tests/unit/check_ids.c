/* check_ids: identifiers have the promised alphabet and length; draws look uniform. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/ids.h"
#include "suites.h"

START_TEST(test_ids_new_shape)
{
	char id[25], other[25], small[2];
	size_t i;

	memset(id, 'X', sizeof(id));
	ids_new(id, sizeof(id));
	ck_assert_uint_eq(strlen(id), 24);
	for (i = 0; i < 24; i++)
		ck_assert_msg((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z'),
		    "bad char %d", id[i]);
	ids_new(other, sizeof(other));
	ck_assert_str_ne(id, other);
	ids_new(small, sizeof(small));
	ck_assert_uint_eq(strlen(small), 1);
}
END_TEST

START_TEST(test_ids_alphabet_coverage)
{
	char id[4097];
	int seen[36] = { 0 };
	size_t i;

	ids_new(id, sizeof(id));
	for (i = 0; i < 4096; i++) {
		if (id[i] >= '0' && id[i] <= '9')
			seen[id[i] - '0']++;
		else
			seen[10 + id[i] - 'a']++;
	}
	/* Expected 113.8 per character; 40 and 200 are over 7 sigma away. */
	for (i = 0; i < 36; i++) {
		ck_assert_int_gt(seen[i], 40);
		ck_assert_int_lt(seen[i], 200);
	}
}
END_TEST

START_TEST(test_ids_bytes)
{
	unsigned char a[32], b[32], zero[32] = { 0 };

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ids_bytes(a, sizeof(a));
	ids_bytes(b, sizeof(b));
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
	ck_assert_int_ne(memcmp(a, zero, sizeof(a)), 0);
	ids_bytes(a, 0);
}
END_TEST

START_TEST(test_ids_uniform)
{
	unsigned long counts[3] = { 0 };
	size_t i;

	ck_assert_uint_eq(ids_uniform(1), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_lt(ids_uniform(7), 7);
	for (i = 0; i < 3000; i++)
		counts[ids_uniform(3)]++;
	/* Expected 1000 each, sigma ~26. */
	for (i = 0; i < 3; i++) {
		ck_assert_uint_gt(counts[i], 800);
		ck_assert_uint_lt(counts[i], 1200);
	}
	/* bound = 2/3 of the range: plain r % bound would land below bound / 2 two times in
	 * three; uniform lands there half the time (expected 1000 of 2000, sigma ~22). */
	counts[0] = 0;
	for (i = 0; i < 2000; i++)
		if (ids_uniform(ULONG_MAX / 3 * 2) < ULONG_MAX / 3)
			counts[0]++;
	ck_assert_uint_gt(counts[0], 880);
	ck_assert_uint_lt(counts[0], 1120);
	for (i = 0; i < 100; i++)
		ck_assert_uint_lt(ids_uniform(ULONG_MAX), ULONG_MAX);
}
END_TEST

START_TEST(test_ids_uniform_zero_aborts)
{
	ids_uniform(0);
}
END_TEST

START_TEST(test_ids_new_short_aborts)
{
	char c[1];

	ids_new(c, sizeof(c));
}
END_TEST

/* The ids suite. */
Suite *
ids_suite(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ids_new_shape);
	tcase_add_test(tc, test_ids_alphabet_coverage);
	tcase_add_test(tc, test_ids_bytes);
	tcase_add_test(tc, test_ids_uniform);
	tcase_add_test_raise_signal(tc, test_ids_uniform_zero_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_ids_new_short_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
