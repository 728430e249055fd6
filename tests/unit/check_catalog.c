/* check_catalog: the catalog's pure parts: sorted-position cursors (round trip, strictness,
 * the sort they belong to), the sort names and the discount rate. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "shop/catalog.h"
#include "suites.h"

START_TEST(test_positions_round_trip)
{
	const struct catalog_pos cases[] = {
		{ CATALOG_SORT_PRICE, 12900, 7 }, { CATALOG_SORT_PRICE, 1, 1 },
		{ CATALOG_SORT_POPULAR, 0, 42 }, { CATALOG_SORT_POPULAR, INT64_MAX, INT64_MAX },
		{ CATALOG_SORT_NEW, 0, 99 },
	};
	char s[CATALOG_CURSOR_MAX + 1], id_cursor[CATALOG_CURSOR_MAX + 1];
	struct catalog_pos p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(catalog_pos_encode(&cases[i], s, sizeof(s)), 0);
		ck_assert_uint_eq(strlen(s), cases[i].sort == CATALOG_SORT_NEW ? 18 : 30);
		memset(&p, 0xff, sizeof(p));
		ck_assert_int_eq(catalog_pos_decode(s, cases[i].sort, &p), 0);
		ck_assert_int_eq(p.sort, cases[i].sort);
		ck_assert_int_eq(p.id, cases[i].id);
		if (cases[i].sort != CATALOG_SORT_NEW)
			ck_assert_int_eq(p.key, cases[i].key);
	}
	/* The newest-first position is the plain id cursor, so old links keep working. */
	ck_assert_int_eq(catalog_cursor_encode(99, id_cursor, sizeof(id_cursor)), 0);
	ck_assert_int_eq(catalog_pos_encode(&cases[4], s, sizeof(s)), 0);
	ck_assert_str_eq(s, id_cursor);
}
END_TEST

START_TEST(test_positions_are_strict)
{
	struct catalog_pos price = { CATALOG_SORT_PRICE, 15900, 3 }, p = { 0, 0, 0 };
	struct catalog_pos bad_id = { CATALOG_SORT_PRICE, 100, 0 };
	struct catalog_pos bad_key = { CATALOG_SORT_POPULAR, -1, 3 };
	char s[CATALOG_CURSOR_MAX + 1], t[CATALOG_CURSOR_MAX + 1];
	size_t i;

	ck_assert_int_eq(catalog_pos_encode(&bad_id, s, sizeof(s)), -1);
	ck_assert_int_eq(catalog_pos_encode(&bad_key, s, sizeof(s)), -1);
	ck_assert_int_eq(catalog_pos_encode(&price, s, 10), -1);
	ck_assert_int_eq(catalog_pos_encode(&price, s, sizeof(s)), 0);
	/* A price cursor is no popularity cursor, and no newest-first one. */
	ck_assert_int_eq(catalog_pos_decode(s, CATALOG_SORT_POPULAR, &p), -1);
	ck_assert_int_eq(catalog_pos_decode(s, CATALOG_SORT_NEW, &p), -1);
	/* Every single-character change is refused (checksum, alphabet or canonical form). */
	for (i = 0; i < strlen(s); i++) {
		strcpy(t, s);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		ck_assert_msg(catalog_pos_decode(t, CATALOG_SORT_PRICE, &p) == -1, "changed at %zu", i);
	}
	strcpy(t, s);
	t[29] = '\0';
	ck_assert_int_eq(catalog_pos_decode(t, CATALOG_SORT_PRICE, &p), -1);
	ck_assert_int_eq(catalog_pos_decode("", CATALOG_SORT_PRICE, &p), -1);
	ck_assert_int_eq(catalog_pos_decode(NULL, CATALOG_SORT_PRICE, &p), -1);
	ck_assert_int_eq(p.id, 0);  /* untouched by every refusal */
}
END_TEST

START_TEST(test_sort_names_and_discount)
{
	enum catalog_sort s = CATALOG_SORT_NEW;

	ck_assert_int_eq(catalog_sort_parse("price", &s), 0);
	ck_assert_int_eq(s, CATALOG_SORT_PRICE);
	ck_assert_int_eq(catalog_sort_parse("popular", &s), 0);
	ck_assert_int_eq(s, CATALOG_SORT_POPULAR);
	ck_assert_int_eq(catalog_sort_parse("Price", &s), -1);
	ck_assert_int_eq(catalog_sort_parse(NULL, &s), -1);
	ck_assert_str_eq(catalog_sort_name(CATALOG_SORT_NEW), "new");

	ck_assert_int_eq(catalog_discount_pct(29900, 34900), 14);   /* 14.3 % floors */
	ck_assert_int_eq(catalog_discount_pct(89000, 129000), 31);
	ck_assert_int_eq(catalog_discount_pct(100, 100), 0);
	ck_assert_int_eq(catalog_discount_pct(100, 0), 0);
	ck_assert_int_eq(catalog_discount_pct(100, 90), 0);
	ck_assert_int_eq(catalog_discount_pct(9950, 10000), 0);      /* 0.5 %: nothing to show */
	ck_assert_int_eq(catalog_discount_pct(1, 1000000000000000), 99);
	ck_assert_int_eq(catalog_discount_pct(1, INT64_MAX), 0);     /* out of range: no rate */
}
END_TEST

Suite *
catalog_suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_positions_round_trip);
	tcase_add_test(tc, test_positions_are_strict);
	tcase_add_test(tc, test_sort_names_and_discount);
	suite_add_tcase(s, tc);
	return s;
}
