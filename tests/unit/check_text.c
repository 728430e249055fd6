/* check_text: names become one clean line of plain text, cut at a character boundary. */
#include <string.h>

#include "base/buf.h"
#include "base/text.h"
#include "suites.h"

static void
expect(const char *in, size_t max, const char *fallback, const char *want)
{
	struct buf b = { 0 };

	buf_puts(&b, "[");
	text_clean_line(&b, in, max, fallback);
	ck_assert_msg(strcmp(buf_cstr(&b) + 1, want) == 0, "%s -> %s, want %s", in,
	    buf_cstr(&b) + 1, want);
	buf_release(&b);
}

START_TEST(test_text_clean_line)
{
	expect("유기농 사과", 60, "상품", "유기농 사과");
	expect("  a \r\n\tb  ", 60, "x", "a b");
	expect("a\x01\x7f" "b\xc2\x85" "c\xe2\x80\xa8" "d", 60, "x", "a b c d");
	expect("a\xff" "b", 60, "x", "a?b");
	expect("", 60, "고객", "고객");
	expect(NULL, 60, "고객", "고객");
	expect(" \r\n ", 60, "고객", "고객");
	/* Cut at a character boundary, the ellipsis within max. */
	expect("가나다라마", 9, "x", "가나…");
	expect("abcdefgh", 5, "x", "ab…");
	expect("abc", 3, "x", "abc");
}
END_TEST

Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_text_clean_line);
	suite_add_tcase(s, tc);
	return s;
}
