/* check_accept: the Accept header gives JSON to clients that ask for it and HTML to browsers,
 * bare wildcards and anything odd. */
#include <string.h>

#include "suites.h"
#include "base/accept.h"

#define JSON "application/json"
#define HTML "text/html"

static int
q_of(const char *header, const char *type)
{
	struct accept_match m;

	accept_match(header, type, &m);
	return m.q;
}

static int
spec_of(const char *header, const char *type)
{
	struct accept_match m;

	accept_match(header, type, &m);
	return m.specificity;
}

START_TEST(test_accept_qvalues)
{
	ck_assert_int_eq(q_of("application/json", JSON), 1000);
	ck_assert_int_eq(spec_of("application/json", JSON), 2);
	ck_assert_int_eq(q_of("application/json;q=0.5", JSON), 500);
	ck_assert_int_eq(q_of("application/json; q=0.123", JSON), 123);
	ck_assert_int_eq(q_of("application/json;Q=1.000", JSON), 1000);
	ck_assert_int_eq(q_of("application/json;q=0", JSON), 0);
	ck_assert_int_eq(q_of("APPLICATION/JSON", JSON), 1000);
	ck_assert_int_eq(q_of("application/*;q=0.3", JSON), 300);
	ck_assert_int_eq(spec_of("application/*;q=0.3", JSON), 1);
	ck_assert_int_eq(q_of("*/*;q=0.2", JSON), 200);
	ck_assert_int_eq(spec_of("*/*;q=0.2", JSON), 0);
	/* The most specific range decides, even with a lower q. */
	ck_assert_int_eq(q_of("*/*, application/json;q=0.1", JSON), 100);
	ck_assert_int_eq(q_of("application/json;q=0, */*", JSON), 0);
	ck_assert_int_eq(q_of("text/html", JSON), 0);
	ck_assert_int_eq(spec_of("text/html", JSON), -1);
	/* No header or a blank one accepts everything. */
	ck_assert_int_eq(q_of(NULL, JSON), 1000);
	ck_assert_int_eq(q_of("  ", JSON), 1000);
	ck_assert_int_eq(spec_of(NULL, JSON), 0);
	/* Other parameters, quoted values with commas, accept-extensions. */
	ck_assert_int_eq(q_of("application/json;charset=utf-8;q=0.7", JSON), 700);
	ck_assert_int_eq(q_of("text/html;a=\"x,application/json\", application/json;q=0.4", JSON),
	    400);
	ck_assert_int_eq(q_of("application/json;q=0.9;ext=1", JSON), 900);
}
END_TEST

START_TEST(test_accept_malformed_elements_are_skipped)
{
	/* Bad qvalues: the element is ignored, not the header. */
	ck_assert_int_eq(q_of("application/json;q=1.5", JSON), 0);
	ck_assert_int_eq(q_of("application/json;q=2", JSON), 0);
	ck_assert_int_eq(q_of("application/json;q=0.1234", JSON), 0);
	ck_assert_int_eq(q_of("application/json;q=.5", JSON), 0);
	ck_assert_int_eq(q_of("application/json;q=", JSON), 0);
	ck_assert_int_eq(q_of("application/json;q=1.001", JSON), 0);
	ck_assert_int_eq(q_of("application/json;q=0.5x, application/json;q=0.2", JSON), 200);
	/* Not a media range. */
	ck_assert_int_eq(q_of("json", JSON), 0);
	ck_assert_int_eq(q_of("*/json", JSON), 0);
	ck_assert_int_eq(q_of("application/", JSON), 0);
	ck_assert_int_eq(q_of("/json", JSON), 0);
	ck_assert_int_eq(q_of("application/json junk", JSON), 0);
	ck_assert_int_eq(q_of("application/json;a=\"unterminated", JSON), 0);
	ck_assert_int_eq(q_of("\x01\x02, application/json;q=0.6", JSON), 600);
	ck_assert_int_eq(q_of(",,, ,application/json,,", JSON), 1000);
	ck_assert_int_eq(q_of("application/json;", JSON), 1000);
}
END_TEST

START_TEST(test_accept_caps)
{
	char big[ACCEPT_HEADER_MAX + 32];
	char many[64 * (ACCEPT_RANGES_MAX + 2)];
	size_t i;

	/* Too long: as if absent (everything at q 1000, no preference for JSON). */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "application/json", 16);
	ck_assert_int_eq(spec_of(big, JSON), 0);
	ck_assert(!accept_prefers(big, JSON, HTML));
	/* Only the first ACCEPT_RANGES_MAX elements count. */
	many[0] = '\0';
	for (i = 0; i < ACCEPT_RANGES_MAX; i++)
		strcat(many, "text/plain,");
	strcat(many, "application/json");
	ck_assert_int_eq(q_of(many, JSON), 0);
}
END_TEST

START_TEST(test_accept_prefers_json_or_html)
{
	ck_assert(accept_prefers("application/json", JSON, HTML));
	ck_assert(accept_prefers("application/json, text/plain, */*", JSON, HTML));  /* axios */
	ck_assert(accept_prefers("application/*", JSON, HTML));
	ck_assert(accept_prefers("text/html;q=0.5, application/json;q=0.9", JSON, HTML));
	/* Browsers, curl and wildcards get the page. */
	ck_assert(!accept_prefers("text/html,application/xhtml+xml,application/xml;q=0.9,"
	    "image/avif,image/webp,*/*;q=0.8", JSON, HTML));
	ck_assert(!accept_prefers("text/html,application/xhtml+xml,application/xml;q=0.9,"
	    "*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", JSON, HTML));
	ck_assert(!accept_prefers("*/*", JSON, HTML));
	ck_assert(!accept_prefers(NULL, JSON, HTML));
	ck_assert(!accept_prefers("", JSON, HTML));
	ck_assert(!accept_prefers("application/json, text/html", JSON, HTML));  /* a tie */
	ck_assert(!accept_prefers("application/json;q=0", JSON, HTML));
	ck_assert(!accept_prefers("image/png", JSON, HTML));                   /* neither */
	ck_assert(!accept_prefers("text/html;q=0, application/json;q=0", JSON, HTML));
}
END_TEST

Suite *
accept_suite(void)
{
	Suite *s = suite_create("accept");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_accept_qvalues);
	tcase_add_test(tc, test_accept_malformed_elements_are_skipped);
	tcase_add_test(tc, test_accept_caps);
	tcase_add_test(tc, test_accept_prefers_json_or_html);
	suite_add_tcase(s, tc);
	return s;
}
