/* check_password: the password policy, yescrypt hashing and verification. */
#include <check.h>
#include <string.h>

#include "infra/password.h"
#include "suites.h"

START_TEST(test_policy)
{
	ck_assert_int_eq(password_check("abc1234", 7), PASSWORD_TOO_SHORT);
	ck_assert_int_eq(password_check("abcd1234", 8), PASSWORD_OK);
	ck_assert_int_eq(password_check("abcdefgh", 8), PASSWORD_WEAK);
	ck_assert_int_eq(password_check("12345678", 8), PASSWORD_WEAK);
	ck_assert_int_eq(password_check("abcd\n1234", 9), PASSWORD_BAD_CHARS);
	ck_assert_int_eq(password_check("abcd\xff" "1234", 9), PASSWORD_BAD_CHARS);
	char p[74]; memset(p, 'a', 73); p[0] = '1'; p[73] = 0;
	ck_assert_int_eq(password_check(p, 73), PASSWORD_TOO_LONG);
	ck_assert_int_eq(password_check(p, 72), PASSWORD_OK);
	ck_assert_int_eq(password_check("비밀번호1a", strlen("비밀번호1a")), PASSWORD_OK);
	ck_assert_str_eq(password_policy_message(PASSWORD_OK), "");
	ck_assert_str_eq(password_policy_message(PASSWORD_POLICY__MAX), "");
}
END_TEST

START_TEST(test_hash_verify)
{
	char h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX], tiny[10];
	ck_assert_int_eq(password_hash("abcd1234", h, sizeof(h)), 0);
	ck_assert(strncmp(h, "$y$j9T$", 7) == 0);
	ck_assert_int_eq(password_hash("abcd1234", h2, sizeof(h2)), 0);
	ck_assert_str_ne(h, h2);
	ck_assert(password_verify("abcd1234", h));
	ck_assert(!password_verify("abcd1235", h));
	ck_assert(!password_verify("", h));
	ck_assert(!password_verify(NULL, h));
	ck_assert(!password_verify("abcd1234", NULL));
	ck_assert(!password_verify("abcd1234", ""));
	ck_assert(!password_verify("jangteo-dummy-password-never-used", NULL));
	ck_assert(!password_verify("abcd1234", "garbage"));
	ck_assert(!password_verify("abcd1234", "*0"));
	ck_assert_int_eq(password_hash("abcd1234", tiny, sizeof(tiny)), -1);
	ck_assert_str_eq(tiny, "");
}
END_TEST

Suite *
password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_hash_verify);
	suite_add_tcase(s, tc);
	return s;
}
