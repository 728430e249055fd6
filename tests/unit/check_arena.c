/* check_arena: arena allocations are aligned, zeroed, distinct, and survive growth. */
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "suites.h"

START_TEST(test_arena_alignment_zeroed)
{
	struct arena *a = arena_new(1024);
	unsigned char *p;
	size_t i, n;

	for (n = 0; n < 300; n++) {
		p = arena_alloc(a, n);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		for (i = 0; i < n; i++)
			ck_assert_uint_eq(p[i], 0);
		memset(p, 0xa5, n);
	}
	arena_free(&a);
	ck_assert_ptr_null(a);
	arena_free(&a);
	arena_free(NULL);
}
END_TEST

START_TEST(test_arena_zero_size_unique)
{
	struct arena *a = arena_new(0);
	void *p = arena_alloc(a, 0), *q = arena_alloc(a, 0);

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(p, q);
	arena_free(&a);
}
END_TEST

START_TEST(test_arena_big_and_many)
{
	struct arena *a = arena_new(512);
	char *small1, *big, *small2, *ptrs[2000];
	size_t i;

	small1 = arena_alloc(a, 100);
	memset(small1, 'a', 100);
	big = arena_alloc(a, 100000);
	ck_assert_uint_eq((uintptr_t)big % 16, 0);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(big[i], 0);
	memset(big, 'b', 100000);
	small2 = arena_alloc(a, 100);
	memset(small2, 'c', 100);
	for (i = 0; i < 2000; i++) {
		ptrs[i] = arena_printf(a, "item-%zu", i);
	}
	for (i = 0; i < 2000; i++) {
		char want[32];

		snprintf(want, sizeof(want), "item-%zu", i);
		ck_assert_str_eq(ptrs[i], want);
	}
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(small1[i], 'a');
		ck_assert_int_eq(small2[i], 'c');
	}
	ck_assert_int_eq(big[0], 'b');
	ck_assert_int_eq(big[99999], 'b');
	arena_free(&a);
}
END_TEST

START_TEST(test_arena_reset)
{
	struct arena *a = arena_new(256);
	unsigned char *p;
	size_t i;
	int round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 50; i++) {
			p = arena_alloc(a, 40);
			memset(p, 0xff, 40);
		}
		p = arena_alloc(a, 10000);
		memset(p, 0xff, 10000);
		arena_reset(a);
		/* Memory handed out again after a reset is zeroed again. */
		p = arena_alloc(a, 64);
		for (i = 0; i < 64; i++)
			ck_assert_uint_eq(p[i], 0);
	}
	arena_free(&a);
}
END_TEST

START_TEST(test_arena_strings)
{
	struct arena *a = arena_new(64);
	char *s;

	ck_assert_str_eq(arena_strdup(a, "hello"), "hello");
	ck_assert_str_eq(arena_strdup(a, ""), "");
	ck_assert_ptr_null(arena_strdup(a, NULL));
	ck_assert_ptr_null(arena_strndup(a, NULL, 5));
	ck_assert_str_eq(arena_strndup(a, "hello", 3), "hel");
	ck_assert_str_eq(arena_strndup(a, "hi", 10), "hi");
	ck_assert_str_eq(arena_strndup(a, "a\0bc", 4), "a");
	s = arena_printf(a, "%s-%d-%c", "주문", -5, 'z');
	ck_assert_str_eq(s, "주문--5-z");
	s = arena_printf(a, "%s", "");
	ck_assert_str_eq(s, "");
	s = arena_printf(a, "%3000d", 1);
	ck_assert_uint_eq(strlen(s), 3000);
	ck_assert_int_eq(s[2999], '1');
	arena_free(&a);
}
END_TEST

START_TEST(test_arena_overflow_aborts)
{
	struct arena *a = arena_new(64);

	arena_alloc(a, SIZE_MAX - 4);   /* never returns */
}
END_TEST

/* The arena suite. */
Suite *
arena_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_arena_alignment_zeroed);
	tcase_add_test(tc, test_arena_zero_size_unique);
	tcase_add_test(tc, test_arena_big_and_many);
	tcase_add_test(tc, test_arena_reset);
	tcase_add_test(tc, test_arena_strings);
	tcase_add_test_raise_signal(tc, test_arena_overflow_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
