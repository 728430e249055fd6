/* check_valid: validators accept exactly what they promise and refuse hostile bytes. */
#include <stdint.h>
#include <string.h>

#include "suites.h"
#include "base/valid.h"

#define U8(lit) (lit), (sizeof(lit) - 1)

START_TEST(test_valid_utf8_good)
{
	ck_assert(valid_utf8(U8("")));
	ck_assert(valid_utf8(U8("plain ascii ~\x7f")));
	ck_assert(valid_utf8(U8("\xc2\x80")));               /* U+0080, smallest 2-byte */
	ck_assert(valid_utf8(U8("\xdf\xbf")));               /* U+07FF */
	ck_assert(valid_utf8(U8("\xe0\xa0\x80")));           /* U+0800, smallest 3-byte */
	ck_assert(valid_utf8(U8("\xed\x9f\xbf")));           /* U+D7FF, below surrogates */
	ck_assert(valid_utf8(U8("\xee\x80\x80")));           /* U+E000, above surrogates */
	ck_assert(valid_utf8(U8("\xef\xbf\xbf")));           /* U+FFFF */
	ck_assert(valid_utf8(U8("\xf0\x90\x80\x80")));       /* U+10000 */
	ck_assert(valid_utf8(U8("\xf4\x8f\xbf\xbf")));       /* U+10FFFF */
	ck_assert(valid_utf8(U8("장터 주문 😀")));
}
END_TEST

START_TEST(test_valid_utf8_hostile)
{
	ck_assert(!valid_utf8(U8("\x00")));
	ck_assert(!valid_utf8(U8("a\x00" "b")));
	ck_assert(!valid_utf8(U8("\xc0\x80")));               /* overlong NUL */
	ck_assert(!valid_utf8(U8("\xc1\xbf")));               /* overlong */
	ck_assert(!valid_utf8(U8("\xe0\x80\x80")));           /* overlong 3-byte */
	ck_assert(!valid_utf8(U8("\xe0\x9f\xbf")));           /* overlong U+07FF */
	ck_assert(!valid_utf8(U8("\xf0\x80\x80\x80")));       /* overlong 4-byte */
	ck_assert(!valid_utf8(U8("\xf0\x8f\xbf\xbf")));       /* overlong U+FFFF */
	ck_assert(!valid_utf8(U8("\xed\xa0\x80")));           /* U+D800 */
	ck_assert(!valid_utf8(U8("\xed\xbf\xbf")));           /* U+DFFF */
	ck_assert(!valid_utf8(U8("\xed\xa0\xbd\xed\xb8\x80"))); /* CESU-8 pair */
	ck_assert(!valid_utf8(U8("\xf4\x90\x80\x80")));       /* U+110000 */
	ck_assert(!valid_utf8(U8("\xf5\x80\x80\x80")));
	ck_assert(!valid_utf8(U8("\xf8\x88\x80\x80\x80")));
	ck_assert(!valid_utf8(U8("\xff")));
	ck_assert(!valid_utf8(U8("\xfe")));
	ck_assert(!valid_utf8(U8("\x80")));                   /* lone continuation */
	ck_assert(!valid_utf8(U8("a\xbf")));
	ck_assert(!valid_utf8(U8("\xc3")));                   /* truncated */
	ck_assert(!valid_utf8(U8("\xe2\x82")));
	ck_assert(!valid_utf8(U8("\xf0\x9f\x98")));
	ck_assert(!valid_utf8(U8("\xe2\x82" "a")));
	ck_assert(!valid_utf8(U8("\xc3\xc3\xa9")));
	/* The length is honoured: a valid prefix of a longer invalid buffer is fine. */
	ck_assert(valid_utf8("ok\xff", 2));
	ck_assert(!valid_utf8("\xea\xb0\x80", 2));
}
END_TEST

/* Cutting text to a width never splits a character. */
START_TEST(test_valid_utf8_cut)
{
	static const char ko[] = "장터ab";      /* 3 + 3 + 1 + 1 bytes */

	ck_assert_uint_eq(valid_utf8_cut_bytes(ko, 100), 8);
	ck_assert_uint_eq(valid_utf8_cut_bytes(ko, 8), 8);
	ck_assert_uint_eq(valid_utf8_cut_bytes(ko, 7), 7);
	ck_assert_uint_eq(valid_utf8_cut_bytes(ko, 5), 3);
	ck_assert_uint_eq(valid_utf8_cut_bytes(ko, 2), 0);
	ck_assert_uint_eq(valid_utf8_cut_bytes("", 0), 0);
	ck_assert_uint_eq(valid_utf8_cut_chars(ko, 1), 3);
	ck_assert_uint_eq(valid_utf8_cut_chars(ko, 3), 7);
	ck_assert_uint_eq(valid_utf8_cut_chars(ko, 10), 8);
	ck_assert_uint_eq(valid_utf8_cut_chars(ko, 0), 0);
	ck_assert_uint_eq(valid_utf8_cut_chars("a\xff" "b", 5), 1);
}
END_TEST

START_TEST(test_valid_int64)
{
	int64_t v = 99;

	ck_assert_int_eq(valid_int64("0", 0, 10, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(valid_int64("10", 0, 10, &v), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(valid_int64("-5", -5, 5, &v), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(valid_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_int_eq(valid_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MIN);
	v = 99;
	ck_assert_int_eq(valid_int64("11", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64("-6", -5, 5, &v), -1);
	ck_assert_int_eq(valid_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -1);
	ck_assert_int_eq(valid_int64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -1);
	ck_assert_int_eq(valid_int64("18446744073709551616", INT64_MIN, INT64_MAX, &v), -1);
	ck_assert_int_eq(valid_int64("99999999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
	ck_assert_int_eq(valid_int64("", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64("-", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64("-0", -10, 10, &v), -1);
	ck_assert_int_eq(valid_int64("007", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64("+1", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64(" 1", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64("1 ", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64("1e3", 0, 10000, &v), -1);
	ck_assert_int_eq(valid_int64("1,000", 0, 10000, &v), -1);
	ck_assert_int_eq(valid_int64("0x1", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64("1.0", 0, 10, &v), -1);
	ck_assert_int_eq(valid_int64(NULL, 0, 10, &v), -1);
	ck_assert_int_eq(v, 99);
}
END_TEST

START_TEST(test_valid_text)
{
	ck_assert(valid_text(U8("안녕하세요"), 5, false));
	ck_assert(!valid_text(U8("안녕하세요"), 4, false));
	ck_assert(valid_text(U8("a\tb"), 10, false));
	ck_assert(!valid_text(U8("a\nb"), 10, false));
	ck_assert(!valid_text(U8("a\rb"), 10, false));
	ck_assert(valid_text(U8("a\r\nb"), 10, true));
	ck_assert(!valid_text(U8(""), 10, false));
	ck_assert(!valid_text(U8("   "), 10, false));
	ck_assert(!valid_text(U8(" \t\n\r"), 10, true));
	ck_assert(!valid_text(U8("\xe3\x80\x80\xc2\xa0"), 10, false));  /* U+3000, NBSP */
	ck_assert(!valid_text(U8("a\x00" "b"), 10, true));
	ck_assert(!valid_text(U8("a\x1b[31m"), 10, true));             /* ESC */
	ck_assert(!valid_text(U8("a\x7f"), 10, true));                 /* DEL */
	ck_assert(!valid_text(U8("a\xc2\x85"), 10, true));             /* NEL, C1 */
	ck_assert(!valid_text(U8("a\xc0\x80"), 10, true));
	ck_assert(!valid_text(U8("a\xed\xa0\x80"), 10, true));
	ck_assert(!valid_text(U8("\xf0\x9f\x98"), 10, true));
	ck_assert(valid_text(U8(" x "), 3, false));
	ck_assert(!valid_text(U8(" x  "), 3, false));
	ck_assert(!valid_text(NULL, 0, 10, false));
}
END_TEST

START_TEST(test_valid_email)
{
	char longest[256];

	ck_assert(valid_email("buyer@example.com"));
	ck_assert(valid_email("first.last+tag@mail.example.co.kr"));
	ck_assert(valid_email("a@b.c"));
	ck_assert(!valid_email(""));
	ck_assert(!valid_email("plain"));
	ck_assert(!valid_email("@example.com"));
	ck_assert(!valid_email("user@"));
	ck_assert(!valid_email("user@localhost"));
	ck_assert(!valid_email("a@b@example.com"));
	ck_assert(!valid_email("a b@example.com"));
	ck_assert(!valid_email("\"a\"@example.com"));
	ck_assert(!valid_email("a'b@example.com"));
	ck_assert(!valid_email("<a@example.com>"));
	ck_assert(!valid_email("a@example.com\r\nBcc: x@evil.com"));
	ck_assert(!valid_email(".a@example.com"));
	ck_assert(!valid_email("a.@example.com"));
	ck_assert(!valid_email("a..b@example.com"));
	ck_assert(!valid_email("a@.example.com"));
	ck_assert(!valid_email("a@example.com."));
	ck_assert(!valid_email("a@example..com"));
	ck_assert(!valid_email("a@-example.com"));
	ck_assert(!valid_email("a@example-.com"));
	ck_assert(!valid_email("a@[127.0.0.1]"));
	ck_assert(!valid_email("사용자@example.com"));
	ck_assert(!valid_email(NULL));
	/* 64-byte local part is the limit. */
	memset(longest, 'a', 64);
	memcpy(longest + 64, "@example.com", 13);
	ck_assert(valid_email(longest));
	memset(longest, 'a', 65);
	memcpy(longest + 65, "@example.com", 13);
	ck_assert(!valid_email(longest));
	/* 254 bytes in all is the limit: "a@" + 5 * ("b" * 49 + ".") + "cc". */
	memcpy(longest, "a@", 2);
	for (size_t i = 0; i < 5; i++) {
		memset(longest + 2 + i * 50, 'b', 49);
		longest[2 + i * 50 + 49] = '.';
	}
	memcpy(longest + 252, "cc", 3);
	ck_assert_uint_eq(strlen(longest), 254);
	ck_assert(valid_email(longest));
	memcpy(longest + 252, "ccc", 4);
	ck_assert(!valid_email(longest));
	/* A DNS label is at most 63 bytes. */
	memcpy(longest, "a@", 2);
	memset(longest + 2, 'b', 63);
	memcpy(longest + 65, ".com", 5);
	ck_assert(valid_email(longest));
	memset(longest + 2, 'b', 64);
	memcpy(longest + 66, ".com", 5);
	ck_assert(!valid_email(longest));
}
END_TEST

START_TEST(test_valid_token)
{
	ck_assert(valid_token("abcXYZ019_-", 1, 64));
	ck_assert(valid_token("abcd", 4, 4));
	ck_assert(!valid_token("abc", 4, 8));
	ck_assert(!valid_token("abcdefghi", 4, 8));
	ck_assert(!valid_token("", 1, 8));
	ck_assert(valid_token("", 0, 8));
	ck_assert(!valid_token("ab cd", 1, 8));
	ck_assert(!valid_token("ab.cd", 1, 8));
	ck_assert(!valid_token("ab+/=", 1, 8));
	ck_assert(!valid_token("\xc3\xa9", 1, 8));
	ck_assert(!valid_token(NULL, 0, 8));
}
END_TEST

/* valid_next_path on a NUL-terminated string. */
static bool
next_ok(const char *s)
{
	return valid_next_path(s, strlen(s));
}

START_TEST(test_valid_next_path_good)
{
	char longest[VALID_NEXT_PATH_MAX + 1];

	ck_assert(next_ok("/"));
	ck_assert(next_ok("/cart"));
	ck_assert(next_ok("/products?page=2&sort=new#top"));
	ck_assert(next_ok("/orders/AbCdEf0123456789abcdEF01"));
	ck_assert(next_ok("/a/b/c/"));
	ck_assert(next_ok("/search?q=%EC%9E%A5%ED%84%B0"));        /* 장터, encoded UTF-8 */
	ck_assert(next_ok("/search?q=a%20b%2Bc%3D%26"));            /* space, +, =, & */
	ck_assert(next_ok("/login?next=%2Fadmin"));                 /* a path as a query value */
	ck_assert(next_ok("/login?next=%2F_test%2Fprivate%3Fa%3D1%26b%3D%25EA%25B0%2580"));
	ck_assert(next_ok("/x?a=-._~!$&'()*+,;=:@/?"));
	ck_assert(next_ok("/../.."));                                /* resolves to / anyway */
	memset(longest, 'a', sizeof(longest));
	longest[0] = '/';
	ck_assert(valid_next_path(longest, VALID_NEXT_PATH_MAX));
	/* Only len bytes are read: what follows does not matter. */
	ck_assert(valid_next_path("/ok//evil", 3));
}
END_TEST

START_TEST(test_valid_next_path_hostile)
{
	char longest[VALID_NEXT_PATH_MAX + 1];
	static const char *const bad[] = {
		"", "cart", "evil.test", "https://evil.test/", "http:evil.test", "javascript:alert(1)",
		"//evil.test", "///evil.test", "/\\evil.test", "\\/evil.test", "/\\/evil.test",
		"/\"@evil.test/",              /* issue 16: became /\"@evil.test/ in the header */
		"/a//evil.test", "/x?u=//evil.test", "/#//evil.test",
		"/\t/evil.test", "/\n/evil.test", "/\r\nSet-Cookie: a=b", "/ /evil.test", "/\x7f",
		"/\x01", "/\xc3\xa9", "/\xef\xbc\x8f\xef\xbc\x8f" "evil.test",   /* raw non-ASCII */
		"/<script>", "/a>b", "/a`b", "/a^b", "/a{b}", "/a|b", "/a[0]",
		"/%2F/evil.test", "/%2f%2fevil.test", "/%5Cevil.test", "/%5c", "/%22@evil.test",
		"/%09/evil.test", "/%0d%0aLocation:%20x", "/%00", "/%7F", "/%1f",
		"/%252F%252Fevil.test", "/%25",   /* double encoding */
		"/%", "/%2", "/%zz", "/%G0", "/a%",
		"/%C0%AF", "/%E0%80%AF", "/%C0%80", "/%FF", "/%ED%A0%80",   /* overlong, invalid */
		NULL
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(!next_ok(bad[i]), "accepted %s", bad[i]);
	ck_assert(!valid_next_path(NULL, 0));
	ck_assert(!valid_next_path("/a\0b", 4));   /* NUL inside the length */
	memset(longest, 'a', sizeof(longest));
	longest[0] = '/';
	ck_assert(!valid_next_path(longest, VALID_NEXT_PATH_MAX + 1));
}
END_TEST

/* The validators suite. */
START_TEST(test_valid_kr_mobile)
{
	static const char *const good[][2] = {
		{ "010-1234-5678", "010-1234-5678" }, { "01012345678", "010-1234-5678" },
		{ "010 1234 5678", "010-1234-5678" }, { "010-0000-0000", "010-0000-0000" },
	};
	static const char *const bad[] = {
		"", "010", "0101234567", "010123456789", "010-1234-567", "010-12345-678",
		"010-1234 5678", "010 1234-5678", "010--1234-5678", "011-1234-5678", "016-123-4567",
		"+82-10-1234-5678", "8210-1234-5678", "010-1234-567a", "010-12a4-5678", " 01012345678",
		"01012345678 ", "010-1234-5678\n", "010\t1234\t5678", "０１０-1234-5678",
		"010-1234-56789", "010.1234.5678",
	};
	char out[VALID_KR_MOBILE_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(valid_kr_mobile(good[i][0], out, sizeof(out)), 0);
		ck_assert_str_eq(out, good[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(valid_kr_mobile(bad[i], out, sizeof(out)) == -1, "accepted %s", bad[i]);
		ck_assert_str_eq(out, "");
	}
	ck_assert_int_eq(valid_kr_mobile(NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(valid_kr_mobile("010-1234-5678", out, VALID_KR_MOBILE_LEN), -1);
}
END_TEST

Suite *
valid_suite(void)
{
	Suite *s = suite_create("valid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_valid_utf8_good);
	tcase_add_test(tc, test_valid_utf8_hostile);
	tcase_add_test(tc, test_valid_utf8_cut);
	tcase_add_test(tc, test_valid_int64);
	tcase_add_test(tc, test_valid_text);
	tcase_add_test(tc, test_valid_email);
	tcase_add_test(tc, test_valid_token);
	tcase_add_test(tc, test_valid_kr_mobile);
	tcase_add_test(tc, test_valid_next_path_good);
	tcase_add_test(tc, test_valid_next_path_hostile);
	suite_add_tcase(s, tc);
	return s;
}
