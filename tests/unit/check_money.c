/* check_money: won arithmetic refuses overflow, parsing is strict, formatting is exact. */
#include <stdint.h>
#include <string.h>

#include "base/money.h"
#include "suites.h"

START_TEST(test_money_add_sub)
{
	int64_t r = 12345;

	ck_assert_int_eq(money_add(1000, 234, &r), 0);
	ck_assert_int_eq(r, 1234);
	ck_assert_int_eq(money_add(INT64_MAX - 1, 1, &r), 0);
	ck_assert_int_eq(r, INT64_MAX);
	r = 77;
	ck_assert_int_eq(money_add(INT64_MAX, 1, &r), -1);
	ck_assert_int_eq(r, 77);
	ck_assert_int_eq(money_add(INT64_MIN, -1, &r), -1);
	ck_assert_int_eq(r, 77);
	ck_assert_int_eq(money_add(INT64_MIN, INT64_MAX, &r), 0);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(money_sub(5000, 7000, &r), 0);
	ck_assert_int_eq(r, -2000);
	r = 77;
	ck_assert_int_eq(money_sub(INT64_MIN, 1, &r), -1);
	ck_assert_int_eq(money_sub(0, INT64_MIN, &r), -1);
	ck_assert_int_eq(money_sub(INT64_MAX, -1, &r), -1);
	ck_assert_int_eq(r, 77);
	ck_assert_int_eq(money_sub(-1, INT64_MIN, &r), 0);
	ck_assert_int_eq(r, INT64_MAX);
}
END_TEST

START_TEST(test_money_mul)
{
	int64_t r = 5;

	ck_assert_int_eq(money_mul(19900, 3, &r), 0);
	ck_assert_int_eq(r, 59700);
	ck_assert_int_eq(money_mul(MONEY_MAX, 9223, &r), 0);
	ck_assert_int_eq(r, INT64_C(9223000000000000000));
	r = 5;
	ck_assert_int_eq(money_mul(MONEY_MAX, 9224, &r), -1);
	ck_assert_int_eq(money_mul(INT64_C(4611686018427387904), 2, &r), -1);  /* 2^62 * 2 */
	ck_assert_int_eq(money_mul(INT64_MIN, -1, &r), -1);
	ck_assert_int_eq(money_mul(-1, INT64_MIN, &r), -1);
	ck_assert_int_eq(r, 5);
	ck_assert_int_eq(money_mul(INT64_MIN, 1, &r), 0);
	ck_assert_int_eq(r, INT64_MIN);
	ck_assert_int_eq(money_mul(-3000, 4, &r), 0);
	ck_assert_int_eq(r, -12000);
	ck_assert_int_eq(money_mul(INT64_MAX, 0, &r), 0);
	ck_assert_int_eq(r, 0);
}
END_TEST

START_TEST(test_money_amount_ok)
{
	ck_assert(money_amount_ok(1));
	ck_assert(money_amount_ok(19900));
	ck_assert(money_amount_ok(MONEY_MAX));
	ck_assert(!money_amount_ok(MONEY_MAX + 1));   /* issue 16: was a CHECK failure, a 500 */
	ck_assert(!money_amount_ok(0));
	ck_assert(!money_amount_ok(-1));
	ck_assert(!money_amount_ok(INT64_MAX));
	ck_assert(!money_amount_ok(INT64_MIN));
}
END_TEST

START_TEST(test_money_share_bp)
{
	int64_t r = 9;

	ck_assert_int_eq(money_share_bp(10000, 250, &r), 0);     /* 2.5 % */
	ck_assert_int_eq(r, 250);
	ck_assert_int_eq(money_share_bp(12345, 330, &r), 0);     /* 407.385 rounds down */
	ck_assert_int_eq(r, 407);
	ck_assert_int_eq(money_share_bp(9999, 1, &r), 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(money_share_bp(0, 10000, &r), 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(money_share_bp(MONEY_MAX, 10000, &r), 0);
	ck_assert_int_eq(r, MONEY_MAX);
	ck_assert_int_eq(money_share_bp(MONEY_MAX, 9999, &r), 0);
	ck_assert_int_eq(r, INT64_C(999900000000000));
	ck_assert_int_eq(money_share_bp(INT64_MAX, 10000, &r), 0);
	ck_assert_int_eq(r, INT64_MAX);
	ck_assert_int_eq(money_share_bp(INT64_MAX, 5000, &r), 0);
	ck_assert_int_eq(r, INT64_MAX / 2);
	r = 9;
	ck_assert_int_eq(money_share_bp(-1, 100, &r), -1);
	ck_assert_int_eq(money_share_bp(100, -1, &r), -1);
	ck_assert_int_eq(money_share_bp(100, 10001, &r), -1);
	ck_assert_int_eq(r, 9);
}
END_TEST

START_TEST(test_money_parse_good)
{
	int64_t r = 1;

	ck_assert_int_eq(money_parse("0", &r), 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(money_parse("1234567", &r), 0);
	ck_assert_int_eq(r, 1234567);
	ck_assert_int_eq(money_parse("-1234", &r), 0);
	ck_assert_int_eq(r, -1234);
	ck_assert_int_eq(money_parse("1000000000000000", &r), 0);
	ck_assert_int_eq(r, MONEY_MAX);
	ck_assert_int_eq(money_parse("-1000000000000000", &r), 0);
	ck_assert_int_eq(r, -MONEY_MAX);
}
END_TEST

START_TEST(test_money_parse_hostile)
{
	static const char *const bad[] = {
		"", "-", "-0", "007", "00", "+5", " 1", "1 ", "1,000", "1e3", "1.0", "1.", "0x10",
		"--1", "1-", "1000000000000001", "-1000000000000001", "9223372036854775807",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999999999",
		"１", "1\n", "\t1", "NaN", "inf",
	};
	int64_t r = 4242;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(money_parse(bad[i], &r) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(r, 4242);
	}
	ck_assert_int_eq(money_parse(NULL, &r), -1);
}
END_TEST

START_TEST(test_money_format)
{
	char out[MONEY_FMT_MAX];

	ck_assert_str_eq(money_format(0, out), "0");
	ck_assert_str_eq(money_format(7, out), "7");
	ck_assert_str_eq(money_format(999, out), "999");
	ck_assert_str_eq(money_format(1000, out), "1,000");
	ck_assert_str_eq(money_format(-999, out), "-999");
	ck_assert_str_eq(money_format(-1000, out), "-1,000");
	ck_assert_str_eq(money_format(100000, out), "100,000");
	ck_assert_str_eq(money_format(1234567, out), "1,234,567");
	ck_assert_str_eq(money_format(-1234567, out), "-1,234,567");
	ck_assert_str_eq(money_format(MONEY_MAX, out), "1,000,000,000,000,000");
	ck_assert_str_eq(money_format(-MONEY_MAX, out), "-1,000,000,000,000,000");
	ck_assert_str_eq(money_format(INT64_MAX, out), "9,223,372,036,854,775,807");
	ck_assert_str_eq(money_format(INT64_MIN + 1, out), "-9,223,372,036,854,775,807");
	ck_assert_str_eq(money_format(INT64_MIN, out), "-9,223,372,036,854,775,808");
	ck_assert_uint_lt(strlen(out), MONEY_FMT_MAX);
	ck_assert_ptr_eq(money_format(1, out), out);
}
END_TEST

/* The money suite. */
Suite *
money_suite(void)
{
	Suite *s = suite_create("money");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_money_add_sub);
	tcase_add_test(tc, test_money_mul);
	tcase_add_test(tc, test_money_amount_ok);
	tcase_add_test(tc, test_money_share_bp);
	tcase_add_test(tc, test_money_parse_good);
	tcase_add_test(tc, test_money_parse_hostile);
	tcase_add_test(tc, test_money_format);
	suite_add_tcase(s, tc);
	return s;
}
