/* check_esc: every escaper against hostile input, with the exact bytes expected. */
#include <check.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/esc.h"
#include "suites.h"

/* Runs one escaper over in and compares the result with want. */
static void
expect(void (*fn)(struct buf *, const char *), const char *in, const char *want)
{
	struct buf b;

	buf_init(&b);
	fn(&b, in);
	ck_assert_str_eq(buf_cstr(&b), want);
	buf_release(&b);
}

START_TEST(test_html_script_tag)
{
	expect(esc_html, "<script>alert(1)</script>",
	    "&lt;script&gt;alert(1)&lt;/script&gt;");
}
END_TEST

START_TEST(test_html_quotes_and_amp)
{
	expect(esc_html, "\"' onmouseover='x' & &amp;",
	    "&quot;&#39; onmouseover=&#39;x&#39; &amp; &amp;amp;");
	expect(esc_html, "a\";b'", "a&quot;;b&#39;");
}
END_TEST

START_TEST(test_html_passes_the_rest)
{
	expect(esc_html, "", "");
	expect(esc_html, "plain text 123", "plain text 123");
	expect(esc_html, "상품 \xe2\x80\xa8 /=`", "상품 \xe2\x80\xa8 /=`");
	expect(esc_html, NULL, "");
}
END_TEST

START_TEST(test_html_appends)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "<p>");
	esc_html(&b, "<b>");
	buf_puts(&b, "</p>");
	ck_assert_str_eq(buf_cstr(&b), "<p>&lt;b&gt;</p>");
	ck_assert_uint_eq(b.len, 16);
	buf_release(&b);
}
END_TEST

START_TEST(test_url_path)
{
	expect(esc_url_path, "AZaz09-._~", "AZaz09-._~");
	expect(esc_url_path, "../etc/passwd", "..%2Fetc%2Fpasswd");
	expect(esc_url_path, "a b?c#d&e=f+g%h", "a%20b%3Fc%23d%26e%3Df%2Bg%25h");
	expect(esc_url_path, "\"><script>", "%22%3E%3Cscript%3E");
	expect(esc_url_path, "\r\n", "%0D%0A");
	/* 신발 in UTF-8, uppercase hex */
	expect(esc_url_path, "\xec\x8b\xa0\xeb\xb0\x9c", "%EC%8B%A0%EB%B0%9C");
	expect(esc_url_path, "\xff\x80", "%FF%80");
	expect(esc_url_path, "", "");
	expect(esc_url_path, NULL, "");
}
END_TEST

START_TEST(test_url_query)
{
	expect(esc_url_query, "a b", "a%20b");
	expect(esc_url_query, "x=1&y=2+3", "x%3D1%26y%3D2%2B3");
	expect(esc_url_query, "javascript:alert('1')", "javascript%3Aalert%28%271%27%29");
	expect(esc_url_query, "운동화 270", "%EC%9A%B4%EB%8F%99%ED%99%94%20270");
	expect(esc_url_query, "~user.name_1-2", "~user.name_1-2");
	expect(esc_url_query, "\x01\x7f", "%01%7F");
}
END_TEST

START_TEST(test_header_quoted)
{
	/* A CR/LF injection must not be able to start a new header line. */
	expect(esc_header_quoted, "a.pdf\r\nSet-Cookie: s=1",
	    "a.pdfSet-Cookie: s=1");
	expect(esc_header_quoted, "say \"hi\" \\o/", "say \\\"hi\\\" \\\\o/");
	expect(esc_header_quoted, "\"; filename=evil.exe",
	    "\\\"; filename=evil.exe");
	expect(esc_header_quoted, "tab\there\x01\x1f\x7f!", "tabhere!");
	expect(esc_header_quoted, "영수증.pdf", "영수증.pdf");
	expect(esc_header_quoted, "", "");
	expect(esc_header_quoted, NULL, "");
}
END_TEST

START_TEST(test_script_json)
{
	/* A string value that tries to close the script element. */
	expect(esc_script_json, "{\"n\":\"</script><script>alert(1)</script>\"}",
	    "{\"n\":\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\"}");
	expect(esc_script_json, "[\"<!--\",\"a&b\"]",
	    "[\"\\u003c!--\",\"a\\u0026b\"]");
	/* U+2028 and U+2029 end a line in older JavaScript parsers. */
	expect(esc_script_json, "\"a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\"",
	    "\"a\\u2028b\\u2029c\"");
	/* Other 3-byte characters and truncated sequences pass untouched. */
	expect(esc_script_json, "\"\xe2\x80\xa7\xe2\x80\"", "\"\xe2\x80\xa7\xe2\x80\"");
	expect(esc_script_json, "\xe2", "\xe2");
	expect(esc_script_json, "{\"k\":\"상품\"}", "{\"k\":\"상품\"}");
	expect(esc_script_json, "", "");
	expect(esc_script_json, NULL, "");
}
END_TEST

/* The Check suite for lib/base/esc.c. */
Suite *
esc_suite(void)
{
	Suite *s = suite_create("esc");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, test_html_script_tag);
	tcase_add_test(tc, test_html_quotes_and_amp);
	tcase_add_test(tc, test_html_passes_the_rest);
	tcase_add_test(tc, test_html_appends);
	tcase_add_test(tc, test_url_path);
	tcase_add_test(tc, test_url_query);
	tcase_add_test(tc, test_header_quoted);
	tcase_add_test(tc, test_script_json);
	suite_add_tcase(s, tc);
	return s;
}
