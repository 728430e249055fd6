/* check_multipart: multipart/form-data bodies parse exactly as browsers send them, and every
 * malformed framing, header or disposition is refused with nothing returned. */
#include <string.h>

#include "base/arena.h"
#include "base/multipart.h"
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

/* Parses the literal body lit framed by boundary "XyZ" with generous caps. */
#define PARSE(lit, m) multipart_parse(arena, (lit), sizeof(lit) - 1, "XyZ", 1 << 20, 16, (m))

/* What Chromium sends for the reconcile form: a token, a text field, a file. */
static const char chrome_body[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"csrf_token\"\r\n"
    "\r\n"
    "abc123\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"pg\"\r\n"
    "\r\n"
    "토스\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"toss-12-06.csv\"\r\n"
    "Content-Type: text/csv\r\n"
    "\r\n"
    "a,b\r\n1,2\0x\r\n"
    "--XyZ--\r\n";

START_TEST(test_multipart_browser_body)
{
	const struct multipart_part *p;
	struct multipart m;

	ck_assert_int_eq(multipart_parse(arena, chrome_body, sizeof(chrome_body) - 1, "XyZ",
	    1 << 20, 16, &m), MULTIPART_OK);
	ck_assert_uint_eq(m.n, 3);
	ck_assert_str_eq(m.parts[0].name, "csrf_token");
	ck_assert_ptr_null(m.parts[0].filename);
	ck_assert_ptr_null(m.parts[0].content_type);
	ck_assert_str_eq(m.parts[0].data, "abc123");
	ck_assert_uint_eq(m.parts[0].len, 6);
	ck_assert_str_eq(m.parts[1].data, "토스");
	ck_assert_int_eq(multipart_get(&m, "file", &p), 0);
	ck_assert_str_eq(p->filename, "toss-12-06.csv");
	ck_assert_str_eq(p->content_type, "text/csv");
	ck_assert_uint_eq(p->len, 10);  /* the NUL and the inner CRLF kept, the last CRLF not */
	ck_assert_int_eq(memcmp(p->data, "a,b\r\n1,2\0x", 10), 0);
	ck_assert_int_eq(p->data[10], 0);
	ck_assert_int_eq(multipart_get(&m, "nope", &p), 1);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_multipart_edges)
{
	struct multipart m;
	const struct multipart_part *p;

	/* No file chosen: the browser still sends the part, filename "" and no content. */
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyZ--", &m),
	    MULTIPART_OK);
	ck_assert_uint_eq(m.n, 1);
	ck_assert_str_eq(m.parts[0].filename, "");
	ck_assert_uint_eq(m.parts[0].len, 0);
	/* No parts at all; token values; case-insensitive header names. */
	ck_assert_int_eq(PARSE("--XyZ--", &m), MULTIPART_OK);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_int_eq(PARSE("--XyZ\r\ncontent-disposition: Form-Data; name=a\r\n\r\nx\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ny\r\n--XyZ--\r\n", &m),
	    MULTIPART_OK);
	ck_assert_uint_eq(m.n, 2);
	ck_assert_int_eq(multipart_get(&m, "a", &p), -1);  /* a field sent twice */
	/* A line in the content that starts like the boundary but is not the delimiter. */
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
	    "--XyZ is not\r\n--XyZ--", &m), MULTIPART_OK);
	ck_assert_str_eq(m.parts[0].data, "--XyZ is not");
}
END_TEST

START_TEST(test_multipart_refused)
{
	struct multipart m;

	/* Framing. */
	ck_assert_int_eq(PARSE("", &m), MULTIPART_BAD_FRAMING);
	ck_assert_int_eq(PARSE("preamble\r\n--XyZ--", &m), MULTIPART_BAD_FRAMING);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",
	    &m), MULTIPART_BAD_FRAMING);  /* never closed */
	ck_assert_int_eq(PARSE("--XyZ--\r\nepilogue", &m), MULTIPART_BAD_FRAMING);
	ck_assert_int_eq(PARSE("--XyZx\r\n", &m), MULTIPART_BAD_FRAMING);
	ck_assert_int_eq(PARSE("--XyZ\nContent-Disposition: form-data; name=a\n\nx\n--XyZ--", &m),
	    MULTIPART_BAD_FRAMING);  /* bare LF */
	ck_assert_uint_eq(m.n, 0);
	ck_assert_ptr_null(m.parts);
	/* Headers. */
	ck_assert_int_eq(PARSE("--XyZ\r\n\r\nx\r\n--XyZ--", &m), MULTIPART_BAD_HEADER);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nx\r\n--XyZ--", &m), MULTIPART_BAD_HEADER);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
	    "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--XyZ--", &m),
	    MULTIPART_BAD_HEADER);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", &m),
	    MULTIPART_BAD_DISPOSITION);
	/* Dispositions. */
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n"
	    "--XyZ--", &m), MULTIPART_BAD_DISPOSITION);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", &m),
	    MULTIPART_BAD_DISPOSITION);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n"
	    "--XyZ--", &m), MULTIPART_BAD_DISPOSITION);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n"
	    "--XyZ--", &m), MULTIPART_BAD_DISPOSITION);  /* an unterminated quote */
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n"
	    "x\r\n--XyZ--", &m), MULTIPART_BAD_DISPOSITION);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=a; "
	    "filename*=UTF-8''x.csv\r\n\r\nx\r\n--XyZ--", &m), MULTIPART_BAD_DISPOSITION);
	/* A text field's value must be UTF-8 without NUL; a file's need not. */
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\r\n"
	    "--XyZ--", &m), MULTIPART_BAD_TEXT);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n\0\r\n"
	    "--XyZ--", &m), MULTIPART_BAD_TEXT);
	ck_assert_int_eq(PARSE("--XyZ\r\nContent-Disposition: form-data; name=a; filename=b\r\n"
	    "\r\n\xff\0\r\n--XyZ--", &m), MULTIPART_OK);
}
END_TEST

START_TEST(test_multipart_caps)
{
	static const char two[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n--XyZ--";
	struct multipart m;
	char line[1100];

	ck_assert_int_eq(multipart_parse(arena, two, sizeof(two) - 1, "XyZ", 1 << 20, 1, &m),
	    MULTIPART_TOO_MANY);
	ck_assert_int_eq(multipart_parse(arena, two, sizeof(two) - 1, "XyZ", 1 << 20, 2, &m),
	    MULTIPART_OK);
	ck_assert_int_eq(multipart_parse(arena, two, sizeof(two) - 1, "XyZ", sizeof(two) - 2, 2,
	    &m), MULTIPART_TOO_BIG);
	ck_assert_int_eq(multipart_parse(arena, two, sizeof(two) - 1, NULL, 1 << 20, 2, &m),
	    MULTIPART_BAD_BOUNDARY);
	/* A header line over 1024 bytes. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "--XyZ\r\nContent-Type: ", 21);
	memcpy(line + sizeof(line) - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(multipart_parse(arena, line, sizeof(line), "XyZ", 1 << 20, 2, &m),
	    MULTIPART_BAD_HEADER);
}
END_TEST

START_TEST(test_multipart_boundary)
{
	const char *b;

	ck_assert_int_eq(multipart_boundary(arena,
	    "multipart/form-data; boundary=----WebKitFormBoundaryAbC123", &b), MULTIPART_OK);
	ck_assert_str_eq(b, "----WebKitFormBoundaryAbC123");
	ck_assert_int_eq(multipart_boundary(arena,
	    "Multipart/Form-Data; charset=utf-8; boundary=\"a b'()+_,-./:=?\"", &b), MULTIPART_OK);
	ck_assert_str_eq(b, "a b'()+_,-./:=?");
	ck_assert(multipart_is_form_data("multipart/form-data"));
	ck_assert(!multipart_is_form_data("multipart/form-datax"));
	ck_assert(!multipart_is_form_data(NULL));
	ck_assert_int_eq(multipart_boundary(arena, "application/x-www-form-urlencoded", &b),
	    MULTIPART_NOT_MULTIPART);
	ck_assert_int_eq(multipart_boundary(arena, NULL, &b), MULTIPART_NOT_MULTIPART);
	ck_assert_int_eq(multipart_boundary(arena, "multipart/form-data", &b),
	    MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(multipart_boundary(arena, "multipart/form-data; boundary=", &b),
	    MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(multipart_boundary(arena, "multipart/form-data; boundary=\"ab", &b),
	    MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(multipart_boundary(arena, "multipart/form-data; boundary=a\"b", &b),
	    MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(multipart_boundary(arena, "multipart/form-data; boundary=\"ab \"", &b),
	    MULTIPART_BAD_BOUNDARY);  /* a space may not end it */
	ck_assert_int_eq(multipart_boundary(arena, "multipart/form-data; boundary=a; boundary=b",
	    &b), MULTIPART_BAD_BOUNDARY);
	ck_assert_int_eq(multipart_boundary(arena, "multipart/form-data; boundary="
	    "12345678901234567890123456789012345678901234567890123456789012345678901", &b),
	    MULTIPART_BAD_BOUNDARY);  /* 71 characters */
	ck_assert_ptr_null(b);
	ck_assert_str_eq(multipart_strerror(MULTIPART_BAD_TEXT),
	    "a text field is not UTF-8 without NUL");
}
END_TEST

Suite *
multipart_suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_multipart_browser_body);
	tcase_add_test(tc, test_multipart_edges);
	tcase_add_test(tc, test_multipart_refused);
	tcase_add_test(tc, test_multipart_caps);
	tcase_add_test(tc, test_multipart_boundary);
	suite_add_tcase(s, tc);
	return s;
}
