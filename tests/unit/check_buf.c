/* check_buf: the growable buffer keeps its NUL, its length and its ownership rules. */
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "suites.h"

START_TEST(test_buf_empty)
{
	struct buf b;
	char *p;

	buf_init(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	p = buf_steal(&b);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_ptr_null(b.data);
	free(p);
	buf_release(&b);
	buf_release(&b);
	ck_assert_str_eq(buf_cstr(&b), "");
}
END_TEST

START_TEST(test_buf_append)
{
	struct buf b = { 0 };

	buf_puts(&b, "abc");
	buf_putc(&b, 'd');
	buf_append(&b, "efgh", 2);
	buf_append(&b, NULL, 0);
	ck_assert_str_eq(buf_cstr(&b), "abcdef");
	ck_assert_uint_eq(b.len, 6);
	ck_assert_uint_ge(b.cap, 7);
	ck_assert_int_eq(b.data[6], '\0');
	buf_printf(&b, "-%d-%s-%05.1f", 42, "x", 2.5);
	ck_assert_str_eq(buf_cstr(&b), "abcdef-42-x-002.5");
	ck_assert_uint_eq(b.len, 17);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_embedded_nul)
{
	struct buf b = { 0 };

	buf_append(&b, "a\0b", 3);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b\0", 4), 0);
	buf_putc(&b, '\0');
	ck_assert_uint_eq(b.len, 4);
	ck_assert_int_eq(b.data[4], '\0');
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_grow_large)
{
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < 100000; i++)
		buf_putc(&b, (char)('a' + i % 26));
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_int_eq(b.data[0], 'a');
	ck_assert_int_eq(b.data[99999], 'a' + 99999 % 26);
	ck_assert_int_eq(b.data[100000], '\0');
	ck_assert_uint_eq(strlen(buf_cstr(&b)), 100000);
	/* One printf much larger than the current capacity. */
	buf_reset(&b);
	buf_printf(&b, "%5000s|", "z");
	ck_assert_uint_eq(b.len, 5001);
	ck_assert_int_eq(b.data[4999], 'z');
	ck_assert_int_eq(b.data[5000], '|');
	ck_assert_int_eq(b.data[5001], '\0');
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_reset_keeps_memory)
{
	struct buf b = { 0 };
	char *data;
	size_t cap;

	buf_puts(&b, "hello world");
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_puts(&b, "x");
	ck_assert_str_eq(buf_cstr(&b), "x");
	buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_buf_truncate)
{
	struct buf b = { 0 };

	buf_truncate(&b, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_puts(&b, "abcdef");
	buf_truncate(&b, 6);
	ck_assert_str_eq(buf_cstr(&b), "abcdef");
	buf_truncate(&b, 2);
	ck_assert_str_eq(buf_cstr(&b), "ab");
	ck_assert_uint_eq(b.len, 2);
	buf_puts(&b, "z");
	ck_assert_str_eq(buf_cstr(&b), "abz");
	buf_truncate(&b, 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_truncate_beyond_aborts)
{
	struct buf b = { 0 };

	buf_puts(&b, "ab");
	buf_truncate(&b, 3);   /* never returns */
}
END_TEST

START_TEST(test_buf_steal)
{
	struct buf b = { 0 };
	char *p;

	buf_printf(&b, "%s=%d", "n", 7);
	p = buf_steal(&b);
	ck_assert_str_eq(p, "n=7");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	buf_puts(&b, "again");
	ck_assert_str_eq(buf_cstr(&b), "again");
	free(p);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_overflow_aborts)
{
	struct buf b = { 0 };

	buf_putc(&b, 'x');
	buf_append(&b, "y", (size_t)-1);   /* never returns */
}
END_TEST

/* The buffer suite. */
Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buf_empty);
	tcase_add_test(tc, test_buf_append);
	tcase_add_test(tc, test_buf_embedded_nul);
	tcase_add_test(tc, test_buf_grow_large);
	tcase_add_test(tc, test_buf_reset_keeps_memory);
	tcase_add_test(tc, test_buf_truncate);
	tcase_add_test_raise_signal(tc, test_buf_truncate_beyond_aborts, SIGABRT);
	tcase_add_test(tc, test_buf_steal);
	tcase_add_test_raise_signal(tc, test_buf_overflow_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
