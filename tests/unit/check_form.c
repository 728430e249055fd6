/* check_form: urlencoded and Cookie parsing decode exactly and refuse hostile input. */
#include <string.h>

#include "base/arena.h"
#include "base/form.h"
#include "suites.h"

static struct arena *arena;

static void
setup(void)
{
	arena = arena_new(4096);
}

static void
teardown(void)
{
	arena_free(&arena);
}

/* Parses the C string s with generous caps. */
static enum form_err
url(const char *s, struct form *f)
{
	return form_parse_urlencoded(arena, s, strlen(s), 4096, 64, f);
}

#define URL_N(lit, f) form_parse_urlencoded(arena, (lit), sizeof(lit) - 1, 4096, 64, (f))

START_TEST(test_form_urlencoded_basic)
{
	struct form f;
	const char *v;
	size_t len = 99;

	ck_assert_int_eq(url("a=1&b=x+y%21&c&d=&e=%E2%82%A9%ea%b0%80&f=a=b", &f), FORM_OK);
	ck_assert_uint_eq(f.n, 6);
	ck_assert_str_eq(f.pairs[0].key, "a");
	ck_assert_str_eq(f.pairs[0].val, "1");
	ck_assert_uint_eq(f.pairs[0].val_len, 1);
	ck_assert_str_eq(f.pairs[1].key, "b");
	ck_assert_str_eq(f.pairs[1].val, "x y!");
	ck_assert_str_eq(f.pairs[2].key, "c");
	ck_assert_str_eq(f.pairs[2].val, "");
	ck_assert_uint_eq(f.pairs[2].val_len, 0);
	ck_assert_str_eq(f.pairs[3].key, "d");
	ck_assert_str_eq(f.pairs[3].val, "");
	ck_assert_str_eq(f.pairs[4].val, "₩가");
	ck_assert_uint_eq(f.pairs[4].val_len, 6);
	ck_assert_str_eq(f.pairs[5].key, "f");
	ck_assert_str_eq(f.pairs[5].val, "a=b");
	ck_assert_int_eq(form_get(&f, "b", &v, &len), 0);
	ck_assert_str_eq(v, "x y!");
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(form_get(&f, "c", &v, NULL), 0);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(form_get(&f, "zz", &v, NULL), 1);
	ck_assert_int_eq(form_get(&f, "A", &v, NULL), 1);

	/* Keys are decoded too; empty segments are skipped. */
	ck_assert_int_eq(url("&&a%5Bb%5D=1&&+k+=2&", &f), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_str_eq(f.pairs[0].key, "a[b]");
	ck_assert_str_eq(f.pairs[1].key, " k ");
	ck_assert_str_eq(f.pairs[1].val, "2");

	ck_assert_int_eq(url("", &f), FORM_OK);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(url("&&&", &f), FORM_OK);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(form_get(&f, "a", &v, NULL), 1);
}
END_TEST

START_TEST(test_form_urlencoded_duplicates)
{
	struct form f;
	const char *v = "unset";

	ck_assert_int_eq(url("amount=1000&amount=1", &f), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_int_eq(form_get(&f, "amount", &v, NULL), -1);
	ck_assert_str_eq(v, "unset");
	ck_assert_int_eq(form_get_first(&f, "amount", &v), 0);
	ck_assert_str_eq(v, "1000");
	/* A key spelt with escapes is the same key. */
	ck_assert_int_eq(url("id=1&%69d=2", &f), FORM_OK);
	ck_assert_int_eq(form_get(&f, "id", &v, NULL), -1);
	ck_assert_int_eq(url("id=1&id", &f), FORM_OK);
	ck_assert_int_eq(form_get(&f, "id", &v, NULL), -1);
	ck_assert_int_eq(form_get_first(&f, "none", &v), 1);
}
END_TEST

START_TEST(test_form_urlencoded_hostile)
{
	struct form f;

	ck_assert_int_eq(url("a=%", &f), FORM_BAD_ESCAPE);
	ck_assert_ptr_null(f.pairs);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(url("a=%4", &f), FORM_BAD_ESCAPE);
	ck_assert_int_eq(url("a=%zz", &f), FORM_BAD_ESCAPE);
	ck_assert_int_eq(url("a=%4g", &f), FORM_BAD_ESCAPE);
	ck_assert_int_eq(url("a=%%41", &f), FORM_BAD_ESCAPE);
	ck_assert_int_eq(url("%=1", &f), FORM_BAD_ESCAPE);
	ck_assert_int_eq(url("a=1&b=%", &f), FORM_BAD_ESCAPE);
	ck_assert_ptr_null(f.pairs);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(url("a=%00", &f), FORM_NUL);
	ck_assert_int_eq(url("a%00b=1", &f), FORM_NUL);
	ck_assert_int_eq(URL_N("a=x\x00y", &f), FORM_NUL);
	ck_assert_int_eq(url("a=%C0%80", &f), FORM_BAD_UTF8);
	ck_assert_int_eq(url("a=%ED%A0%80", &f), FORM_BAD_UTF8);
	ck_assert_int_eq(url("a=%F5%80%80%80", &f), FORM_BAD_UTF8);
	ck_assert_int_eq(url("a=%E2%82", &f), FORM_BAD_UTF8);
	ck_assert_int_eq(url("a=%FF", &f), FORM_BAD_UTF8);
	ck_assert_int_eq(url("%C3=1", &f), FORM_BAD_UTF8);
	ck_assert_int_eq(URL_N("a=\xc3", &f), FORM_BAD_UTF8);
	ck_assert_int_eq(url("=1", &f), FORM_EMPTY_KEY);
	ck_assert_int_eq(url("a=1&=2", &f), FORM_EMPTY_KEY);
	ck_assert_int_eq(url("=", &f), FORM_EMPTY_KEY);
	ck_assert_ptr_null(f.pairs);
	ck_assert_uint_eq(f.n, 0);
	/* A value decoding to '&' or '=' does not split anything. */
	ck_assert_int_eq(url("a=%26b%3D2", &f), FORM_OK);
	ck_assert_uint_eq(f.n, 1);
	ck_assert_str_eq(f.pairs[0].val, "&b=2");
	/* %2B is a plus, + is a space. */
	ck_assert_int_eq(url("a=%2B+", &f), FORM_OK);
	ck_assert_str_eq(f.pairs[0].val, "+ ");
}
END_TEST

START_TEST(test_form_urlencoded_caps)
{
	struct form f;

	ck_assert_int_eq(form_parse_urlencoded(arena, "a=1&b=2", 7, 7, 2, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_int_eq(form_parse_urlencoded(arena, "a=1&b=2", 7, 6, 2, &f), FORM_TOO_BIG);
	ck_assert_ptr_null(f.pairs);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(form_parse_urlencoded(arena, "a=1&b=2&c", 9, 100, 2, &f),
	    FORM_TOO_MANY);
	ck_assert_ptr_null(f.pairs);
	/* Empty segments do not count against the cap. */
	ck_assert_int_eq(form_parse_urlencoded(arena, "&&a=1&&&b=2&&", 13, 100, 2, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_int_eq(form_parse_urlencoded(arena, "a=1", 3, 100, 0, &f), FORM_TOO_MANY);
	/* Only len bytes are read. */
	ck_assert_int_eq(form_parse_urlencoded(arena, "a=12345", 3, 100, 4, &f), FORM_OK);
	ck_assert_str_eq(f.pairs[0].val, "1");
	ck_assert_int_eq(form_parse_urlencoded(arena, "a=%41", 4, 100, 4, &f), FORM_BAD_ESCAPE);
}
END_TEST

START_TEST(test_form_cookies)
{
	struct form f;
	const char *v;

	ck_assert_int_eq(form_parse_cookies(arena, "sid=abc123; theme=\"dark\";lang=ko ;  x = 1 ",
	    4096, 16, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 4);
	ck_assert_str_eq(f.pairs[0].key, "sid");
	ck_assert_str_eq(f.pairs[0].val, "abc123");
	ck_assert_uint_eq(f.pairs[0].val_len, 6);
	ck_assert_str_eq(f.pairs[1].key, "theme");
	ck_assert_str_eq(f.pairs[1].val, "dark");
	ck_assert_uint_eq(f.pairs[1].val_len, 4);
	ck_assert_str_eq(f.pairs[2].key, "lang");
	ck_assert_str_eq(f.pairs[2].val, "ko");
	ck_assert_str_eq(f.pairs[3].key, "x");
	ck_assert_str_eq(f.pairs[3].val, "1");

	/* No percent-decoding; empty values and "" are kept. */
	ck_assert_int_eq(form_parse_cookies(arena, "a=%41; b=; c=\"\"", 4096, 16, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_str_eq(f.pairs[0].val, "%41");
	ck_assert_str_eq(f.pairs[1].val, "");
	ck_assert_str_eq(f.pairs[2].val, "");

	/* Malformed pairs are skipped, the rest survive. */
	ck_assert_int_eq(form_parse_cookies(arena,
	    "noeq; =v; a b=1; ok=1; q=\"x; c=a\"b; d=a,b; e=\\x; f=\xc3\xa9; g=\"; h=\x01; i=ok",
	    4096, 16, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_str_eq(f.pairs[0].key, "ok");
	ck_assert_str_eq(f.pairs[1].key, "i");
	ck_assert_str_eq(f.pairs[1].val, "ok");

	/* The first occurrence wins for cookies; form_get still refuses duplicates. */
	ck_assert_int_eq(form_parse_cookies(arena, "sid=path; sid=root", 4096, 16, &f), FORM_OK);
	ck_assert_int_eq(form_get_first(&f, "sid", &v), 0);
	ck_assert_str_eq(v, "path");
	ck_assert_int_eq(form_get(&f, "sid", &v, NULL), -1);

	ck_assert_int_eq(form_parse_cookies(arena, "", 4096, 16, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(form_parse_cookies(arena, " ; ;; ", 4096, 16, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(form_get_first(&f, "sid", &v), 1);
}
END_TEST

START_TEST(test_form_cookies_caps)
{
	struct form f;

	ck_assert_int_eq(form_parse_cookies(arena, "a=1; b=2", 8, 2, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_int_eq(form_parse_cookies(arena, "a=1; b=2", 7, 2, &f), FORM_TOO_BIG);
	ck_assert_ptr_null(f.pairs);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(form_parse_cookies(arena, "a=1; b=2; c=3", 100, 2, &f), FORM_TOO_MANY);
	ck_assert_ptr_null(f.pairs);
	/* Skipped pairs do not count. */
	ck_assert_int_eq(form_parse_cookies(arena, "a=1; bad; =x; b=2", 100, 2, &f), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
}
END_TEST

START_TEST(test_form_strerror)
{
	ck_assert_str_eq(form_strerror(FORM_OK), "ok");
	ck_assert_str_eq(form_strerror(FORM_BAD_ESCAPE), "malformed percent-encoding");
	ck_assert_str_eq(form_strerror(FORM_EMPTY_KEY), "field without a name");
	ck_assert_str_eq(form_strerror(FORM__MAX), "unknown error");
}
END_TEST

/* The form and cookie parser suite. */
START_TEST(test_form_path_segment)
{
	struct arena *a = arena_new(256);
	const char *out = NULL;

	ck_assert_int_eq(form_decode_path_segment(a, "a+b%20c", 7, &out), FORM_OK);
	ck_assert_str_eq(out, "a+b c");
	ck_assert_int_eq(form_decode_path_segment(a, "%ED%95%9C", 9, &out), FORM_OK);
	ck_assert_str_eq(out, "\xed\x95\x9c");
	ck_assert_int_eq(form_decode_path_segment(a, "%zz", 3, &out), FORM_BAD_ESCAPE);
	ck_assert_int_eq(form_decode_path_segment(a, "%4", 2, &out), FORM_BAD_ESCAPE);
	ck_assert_int_eq(form_decode_path_segment(a, "a%00", 4, &out), FORM_NUL);
	ck_assert_int_eq(form_decode_path_segment(a, "%C0%80", 6, &out), FORM_BAD_UTF8);
	arena_free(&a);
}
END_TEST

Suite *
form_suite(void)
{
	Suite *s = suite_create("form");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_form_urlencoded_basic);
	tcase_add_test(tc, test_form_urlencoded_duplicates);
	tcase_add_test(tc, test_form_urlencoded_hostile);
	tcase_add_test(tc, test_form_urlencoded_caps);
	tcase_add_test(tc, test_form_cookies);
	tcase_add_test(tc, test_form_cookies_caps);
	tcase_add_test(tc, test_form_strerror);
	tcase_add_test(tc, test_form_path_segment);
	suite_add_tcase(s, tc);
	return s;
}
