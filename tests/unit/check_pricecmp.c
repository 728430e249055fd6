/* check_pricecmp: Naver Shopping answers parsed strictly, titles cleaned, request URLs and
 * cache entries (no server). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "clients/pricecmp.h"
#include "suites.h"

/* A real-shaped answer (contract section 3.2), items in the order given. */
static const char REAL[] =
    "{\"lastBuildDate\": \"Thu, 12 Jun 2025 23:20:23 +0900\", \"total\": 2313084, \"start\": 1,"
    " \"display\": 3, \"items\": ["
    "{\"title\": \"르라보 어나더 13 오 드 <b>퍼퓸</b> 15ml\","
    " \"link\": \"https://search.shopping.naver.com/catalog/52269766629\","
    " \"image\": \"https://shopping-phinf.pstatic.net/main_5226976/52269766629.jpg\","
    " \"lprice\": \"116280\", \"hprice\": \"\", \"mallName\": \"네이버\","
    " \"productId\": \"52269766629\", \"productType\": \"1\", \"brand\": \"르라보\","
    " \"maker\": \"\", \"category1\": \"화장품/미용\", \"category2\": \"향수\","
    " \"category3\": \"여성향수\", \"category4\": \"\"},"
    "{\"title\": \"<b>퍼퓸</b> 미니 &amp; 샘플\","
    " \"link\": \"https://smartstore.naver.com/a/products/1\","
    " \"image\": \"\", \"lprice\": \"9900\", \"hprice\": \"\", \"mallName\": \"향수가게\","
    " \"productId\": \"1\", \"productType\": \"2\", \"brand\": \"\", \"maker\": \"\","
    " \"category1\": \"\", \"category2\": \"\", \"category3\": \"\", \"category4\": \"\"},"
    "{\"title\": \"같은 값 다른 몰\", \"link\": \"http://shop.example.com/p?id=2&x=1\","
    " \"lprice\": \"9900\", \"mallName\": \"두번째\"}"
    "]}";

/* Parses body with status 200. */
static enum pricecmp_rc
parse200(const char *body, struct pricecmp_result *r)
{
	return pricecmp_parse(200, body, strlen(body), r);
}

/* {"items": [ITEM]} where ITEM has the given raw JSON values (NULL leaves the key out). */
static enum pricecmp_rc
parse_one(const char *title, const char *link, const char *mall, const char *lprice,
    struct pricecmp_result *r)
{
	struct buf b = { 0 };
	enum pricecmp_rc rc;
	const char *sep = "";

	buf_puts(&b, "{\"total\": 1, \"items\": [{");
	if (title != NULL) {
		buf_printf(&b, "%s\"title\": %s", sep, title);
		sep = ", ";
	}
	if (link != NULL) {
		buf_printf(&b, "%s\"link\": %s", sep, link);
		sep = ", ";
	}
	if (mall != NULL) {
		buf_printf(&b, "%s\"mallName\": %s", sep, mall);
		sep = ", ";
	}
	if (lprice != NULL)
		buf_printf(&b, "%s\"lprice\": %s", sep, lprice);
	buf_puts(&b, "}]}");
	rc = pricecmp_parse(200, b.data, b.len, r);
	buf_release(&b);
	return rc;
}

static enum pricecmp_rc
parse_price(const char *lprice, struct pricecmp_result *r)
{
	return parse_one("\"t\"", "\"https://x.test/1\"", "\"몰\"", lprice, r);
}

static void
assert_unavailable(const struct pricecmp_result *r, enum pricecmp_rc rc)
{
	ck_assert_int_eq(r->status, PRICECMP_UNAVAILABLE);
	ck_assert_int_eq(r->rc, rc);
	ck_assert_int_eq(r->offer.price, 0);
	ck_assert_str_eq(r->offer.mall, "");
	ck_assert_str_eq(r->offer.link, "");
	ck_assert_int_eq(r->fetched_at, 0);
	ck_assert(!r->cached);
	ck_assert(!r->stale);
}

START_TEST(real_answer_gives_the_lowest_price)
{
	struct pricecmp_result r;

	ck_assert_int_eq(parse200(REAL, &r), PRICECMP_OK);
	ck_assert_int_eq(r.status, PRICECMP_FOUND);
	ck_assert_int_eq(r.rc, PRICECMP_OK);
	ck_assert_int_eq(r.offer.price, 9900);
	ck_assert_str_eq(r.offer.mall, "향수가게");    /* the first of two equal prices */
	ck_assert_str_eq(r.offer.link, "https://smartstore.naver.com/a/products/1");
	ck_assert_str_eq(r.offer.title, "퍼퓸 미니 & 샘플");
	ck_assert_int_eq(r.fetched_at, 0);
	ck_assert(!r.cached);
}
END_TEST

START_TEST(single_item_and_title_tags)
{
	struct pricecmp_result r;

	ck_assert_int_eq(parse_one("\"르라보 어나더 13 오 드 <b>퍼퓸</b> 15ml\"",
	    "\"https://search.shopping.naver.com/catalog/52269766629\"", "\"네이버\"",
	    "\"116280\"", &r), PRICECMP_OK);
	ck_assert_int_eq(r.status, PRICECMP_FOUND);
	ck_assert_int_eq(r.offer.price, 116280);
	ck_assert_str_eq(r.offer.title, "르라보 어나더 13 오 드 퍼퓸 15ml");
	ck_assert_str_eq(r.offer.mall, "네이버");
	/* An empty mall name is allowed (the page then names Naver Shopping). */
	ck_assert_int_eq(parse_one("\"t\"", "\"https://x.test/\"", "\"\"", "\"1\"", &r),
	    PRICECMP_OK);
	ck_assert_str_eq(r.offer.mall, "");
	ck_assert_int_eq(r.offer.price, 1);
}
END_TEST

START_TEST(empty_items_is_none)
{
	struct pricecmp_result r;

	ck_assert_int_eq(parse200("{\"lastBuildDate\": \"x\", \"total\": 0, \"start\": 1, "
	    "\"display\": 0, \"items\": []}", &r), PRICECMP_OK);
	ck_assert_int_eq(r.status, PRICECMP_NONE);
	ck_assert_int_eq(r.offer.price, 0);
	ck_assert_int_eq(parse200("{\"items\":[]}", &r), PRICECMP_OK);
	ck_assert_int_eq(r.status, PRICECMP_NONE);
}
END_TEST

START_TEST(statuses_are_classified)
{
	static const char rate[] = "{\"errorMessage\":\"Rate limit exceeded. (속도 제한을 초과했습니다.)\","
	    "\"errorCode\":\"012\"}";
	static const char auth[] = "{\"errorMessage\":\"NID AUTH Result Invalid (1000) : "
	    "Authentication failed. (인증에 실패했습니다.)\",\"errorCode\":\"024\"}";
	static const char sys[] = "{\"errorMessage\":\"System error\",\"errorCode\":\"SE99\"}";
	struct pricecmp_result r;

	ck_assert_int_eq(pricecmp_parse(429, rate, strlen(rate), &r), PRICECMP_ERR_RATE_LIMITED);
	assert_unavailable(&r, PRICECMP_ERR_RATE_LIMITED);
	ck_assert_int_eq(pricecmp_parse(401, auth, strlen(auth), &r), PRICECMP_ERR_AUTH);
	assert_unavailable(&r, PRICECMP_ERR_AUTH);
	ck_assert_int_eq(pricecmp_parse(403, "", 0, &r), PRICECMP_ERR_AUTH);
	ck_assert_int_eq(pricecmp_parse(500, sys, strlen(sys), &r), PRICECMP_ERR_SERVER);
	assert_unavailable(&r, PRICECMP_ERR_SERVER);
	ck_assert_int_eq(pricecmp_parse(502, "<html>", 6, &r), PRICECMP_ERR_SERVER);
	ck_assert_int_eq(pricecmp_parse(599, NULL, 0, &r), PRICECMP_ERR_SERVER);
	/* Anything else, even with a valid body, is not an answer. */
	ck_assert_int_eq(pricecmp_parse(201, REAL, strlen(REAL), &r), PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(pricecmp_parse(204, "", 0, &r), PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(pricecmp_parse(302, REAL, strlen(REAL), &r), PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(pricecmp_parse(400, "{\"errorCode\":\"SE01\"}", 20, &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(pricecmp_parse(404, REAL, strlen(REAL), &r), PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(pricecmp_parse(600, REAL, strlen(REAL), &r), PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(pricecmp_parse(0, REAL, strlen(REAL), &r), PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(pricecmp_parse(-1, REAL, strlen(REAL), &r), PRICECMP_ERR_BAD_RESPONSE);
	assert_unavailable(&r, PRICECMP_ERR_BAD_RESPONSE);
}
END_TEST

START_TEST(error_body_with_200_is_an_error)
{
	struct pricecmp_result r;

	ck_assert_int_eq(parse200("{\"errorMessage\":\"Incorrect query request\","
	    "\"errorCode\":\"SE01\"}", &r), PRICECMP_ERR_BAD_RESPONSE);
	assert_unavailable(&r, PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse200("{\"errorMessage\":\"Query limit exceeded\","
	    "\"errorCode\":\"010\"}", &r), PRICECMP_ERR_RATE_LIMITED);
	ck_assert_int_eq(parse200("{\"errorCode\":\"012\"}", &r), PRICECMP_ERR_RATE_LIMITED);
	/* errorCode beside real items still means an error; a non-string code too. */
	ck_assert_int_eq(parse200("{\"errorCode\":\"SE99\",\"items\":[]}", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse200("{\"errorCode\":12,\"items\":[]}", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse200("{\"errorCode\":null,\"items\":[]}", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
}
END_TEST

START_TEST(bad_json_is_refused)
{
	static const char *const bodies[] = {
		"", " ", "null", "[]", "\"items\"", "42", "{", "{\"items\": [",
		"{\"items\": []} trailing", "{\"items\": []}{}", "{'items': []}",
		"{\"items\": [], }", "{\"items\": [],\"items\": []}",   /* duplicate key */
		"{\"items\": [{\"lprice\": \"1000\",}]}", "<html><body>502</body></html>",
		"{\"items\": [[[[[[1]]]]]]}",                            /* too deep */
		"{\"items\": {}}", "{\"items\": null}", "{\"items\": \"[]\"}", "{\"total\": 0}",
		"{\"items\": [1]}", "{\"items\": [null]}", "{\"items\": [\"x\"]}",
		"{\"items\": [{}]}",
		"{\"items\": [], \"x\": NaN}",
	};
	struct pricecmp_result r;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ck_assert_msg(parse200(bodies[i], &r) == PRICECMP_ERR_BAD_RESPONSE, "body %zu: %s",
		    i, bodies[i]);
		assert_unavailable(&r, PRICECMP_ERR_BAD_RESPONSE);
	}
	ck_assert_int_eq(pricecmp_parse(200, NULL, 0, &r), PRICECMP_ERR_BAD_RESPONSE);
	/* A NUL byte inside the body, invalid UTF-8, a lone surrogate. */
	ck_assert_int_eq(pricecmp_parse(200, "{\"items\": []}\0", 14, &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one("\"\xC3\x28\"", "\"https://x.test/\"", "\"m\"", "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one("\"a\"", "\"https://x.test/\"", "\"\xED\xA0\x80\"", "\"1\"",
	    &r), PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one("\"\\ud800\"", "\"https://x.test/\"", "\"m\"", "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one("\"a\\u0000b\"", "\"https://x.test/\"", "\"m\"", "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
}
END_TEST

START_TEST(lprice_must_be_a_string_of_digits)
{
	static const char *const bad[] = {
		"1000", "1000.0", "null", "true", "[\"1000\"]", "{}",   /* not strings */
		"\"\"", "\"-1000\"", "\"+1000\"", "\"1,000\"", "\"1000.0\"", "\" 1000\"",
		"\"1000 \"", "\"0\"", "\"00\"", "\"0100\"", "\"1e5\"", "\"0x10\"", "\"1000원\"",
		"\"\\uff11\\uff10\"",                /* full-width digits */
		"\"100000000001\"",                  /* one won above PRICECMP_PRICE_MAX */
		"\"999999999999\"",                  /* 12 digits, above the maximum */
		"\"1000000000000\"",                 /* 13 digits */
		"\"99999999999999999999999\"",       /* beyond int64 */
		"\"9223372036854775808\"",
	};
	struct pricecmp_result r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_price(bad[i], &r) == PRICECMP_ERR_BAD_RESPONSE, "lprice %s",
		    bad[i]);
	ck_assert_int_eq(parse_one("\"t\"", "\"https://x.test/\"", "\"m\"", NULL, &r),
	    PRICECMP_ERR_BAD_RESPONSE);                   /* missing */
	ck_assert_int_eq(parse_price("\"100000000000\"", &r), PRICECMP_OK);
	ck_assert_int_eq(r.offer.price, INT64_C(100000000000));
	ck_assert_int_eq(parse_price("\"7\"", &r), PRICECMP_OK);
	ck_assert_int_eq(r.offer.price, 7);
}
END_TEST

START_TEST(one_bad_item_spoils_the_answer)
{
	struct pricecmp_result r;

	ck_assert_int_eq(parse200("{\"items\": [{\"title\": \"a\", \"link\": \"https://x.test/1\","
	    " \"mallName\": \"m\", \"lprice\": \"5000\"}, {\"title\": \"b\", \"link\": "
	    "\"https://x.test/2\", \"mallName\": \"m\", \"lprice\": \"-1\"}]}", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	assert_unavailable(&r, PRICECMP_ERR_BAD_RESPONSE);
}
END_TEST

START_TEST(links_must_be_http_urls)
{
	static const char *const bad[] = {
		"\"javascript:alert(1)\"", "\"JAVASCRIPT:alert(1)\"", "\"data:text/html,x\"",
		"\"//evil.test/\"", "\"/relative\"", "\"\"", "\"https://\"", "\"http://\"",
		"\"ftp://x.test/\"", "\"https://x.test/a b\"", "\"https://x.test/\\t\"",
		"\"https://x.test/\\u00e9\"", "\"https://x.test/\\n\"", "\" https://x.test/\"",
		"\"HTTPS://x.test/\"", "1", "null", "[]",
	};
	struct pricecmp_result r;
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_one("\"t\"", bad[i], "\"m\"", "\"1000\"", &r) ==
		    PRICECMP_ERR_BAD_RESPONSE, "link %s", bad[i]);
	ck_assert_int_eq(parse_one("\"t\"", NULL, "\"m\"", "\"1000\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	/* The longest link accepted, and one byte more. */
	buf_puts(&b, "\"https://x.test/");
	while (b.len < PRICECMP_LINK_MAX + 1)
		buf_putc(&b, 'a');
	buf_putc(&b, '"');
	ck_assert_int_eq(parse_one("\"t\"", b.data, "\"m\"", "\"1000\"", &r), PRICECMP_OK);
	ck_assert_uint_eq(strlen(r.offer.link), PRICECMP_LINK_MAX);
	buf_truncate(&b, b.len - 1);
	buf_puts(&b, "a\"");
	ck_assert_int_eq(parse_one("\"t\"", b.data, "\"m\"", "\"1000\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	buf_release(&b);
}
END_TEST

START_TEST(mall_and_title_types_and_sizes)
{
	struct pricecmp_result r;
	struct buf b = { 0 };
	size_t i;

	ck_assert_int_eq(parse_one("\"t\"", "\"https://x.test/\"", NULL, "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one("\"t\"", "\"https://x.test/\"", "7", "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one("\"t\"", "\"https://x.test/\"", "null", "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one(NULL, "\"https://x.test/\"", "\"m\"", "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	ck_assert_int_eq(parse_one("[\"t\"]", "\"https://x.test/\"", "\"m\"", "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	/* A mall name of 201 bytes is refused; 66 Hangul syllables (198 bytes) pass. */
	buf_putc(&b, '"');
	for (i = 0; i < 201; i++)
		buf_putc(&b, 'm');
	buf_putc(&b, '"');
	ck_assert_int_eq(parse_one("\"t\"", "\"https://x.test/\"", b.data, "\"1\"", &r),
	    PRICECMP_ERR_BAD_RESPONSE);
	buf_reset(&b);
	buf_putc(&b, '"');
	for (i = 0; i < 66; i++)
		buf_puts(&b, "몰");
	buf_putc(&b, '"');
	ck_assert_int_eq(parse_one("\"t\"", "\"https://x.test/\"", b.data, "\"1\"", &r),
	    PRICECMP_OK);
	ck_assert_uint_eq(strlen(r.offer.mall), 198);
	/* A long title is cut at a character boundary, never inside one. */
	buf_reset(&b);
	buf_putc(&b, '"');
	for (i = 0; i < 300; i++)
		buf_puts(&b, "가");
	buf_putc(&b, '"');
	ck_assert_int_eq(parse_one(b.data, "\"https://x.test/\"", "\"m\"", "\"1\"", &r),
	    PRICECMP_OK);
	ck_assert_uint_eq(strlen(r.offer.title), 399);
	ck_assert_int_eq(memcmp(r.offer.title + 396, "가", 3), 0);
	buf_release(&b);
}
END_TEST

START_TEST(too_many_items_are_refused)
{
	struct pricecmp_result r;
	struct buf b = { 0 };
	int i;

	buf_puts(&b, "{\"items\": [");
	for (i = 0; i < PRICECMP_ITEMS_MAX; i++)
		buf_printf(&b, "%s{\"title\": \"t%d\", \"link\": \"https://x.test/%d\", "
		    "\"mallName\": \"m%d\", \"lprice\": \"%d\"}", i ? "," : "", i, i, i, 5000 - i);
	buf_puts(&b, "]}");
	ck_assert_int_eq(pricecmp_parse(200, b.data, b.len, &r), PRICECMP_OK);
	ck_assert_int_eq(r.offer.price, 5000 - (PRICECMP_ITEMS_MAX - 1));
	ck_assert_str_eq(r.offer.mall, "m99");
	buf_truncate(&b, b.len - 2);
	buf_puts(&b, ",{\"title\": \"t\", \"link\": \"https://x.test/\", \"mallName\": \"m\", "
	    "\"lprice\": \"1\"}]}");
	ck_assert_int_eq(pricecmp_parse(200, b.data, b.len, &r), PRICECMP_ERR_BAD_RESPONSE);
	buf_release(&b);
}
END_TEST

START_TEST(strip_title)
{
	char out[64];

	pricecmp_strip_title("르라보 <b>퍼퓸</b> 15ml", out, sizeof(out));
	ck_assert_str_eq(out, "르라보 퍼퓸 15ml");
	pricecmp_strip_title("<B>A</B><b></b>b", out, sizeof(out));
	ck_assert_str_eq(out, "Ab");
	pricecmp_strip_title("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", out, sizeof(out));
	ck_assert_str_eq(out, "<script>alert(\"x\")</script>");   /* escaped again on output */
	pricecmp_strip_title("Tom &amp; Jerry&#39;s &apos;x&apos; &amp;lt;", out, sizeof(out));
	ck_assert_str_eq(out, "Tom & Jerry's 'x' &lt;");           /* decoded once only */
	pricecmp_strip_title("a & b &unknown; &#60;&#x3e;&#X3C; &", out, sizeof(out));
	ck_assert_str_eq(out, "a & b &unknown; <>< &");
	pricecmp_strip_title("&#44032;&#xAC00;&#x1F600;&#xe9;", out, sizeof(out));
	ck_assert_str_eq(out, "가가\xF0\x9F\x98\x80\xC3\xA9");
	/* Not decoded: controls, NUL, surrogates, out of range, unterminated, empty, too long. */
	pricecmp_strip_title("&#0;&#10;&#x7f;&#x85;&#xD800;&#x110000;&#65&#;&#x;&#00000065;",
	    out, sizeof(out));
	ck_assert_str_eq(out, "&#0;&#10;&#x7f;&#x85;&#xD800;&#x110000;&#65&#;&#x;&#00000065;");
	pricecmp_strip_title("<i>x</i> <b", out, sizeof(out));
	ck_assert_str_eq(out, "<i>x</i> <b");
	pricecmp_strip_title("", out, sizeof(out));
	ck_assert_str_eq(out, "");
	pricecmp_strip_title("가나다", out, 7);    /* room for 6 bytes: two syllables */
	ck_assert_str_eq(out, "가나");
	pricecmp_strip_title("가나다", out, 6);    /* 5 bytes: one syllable */
	ck_assert_str_eq(out, "가");
	pricecmp_strip_title("가", out, 1);
	ck_assert_str_eq(out, "");
	pricecmp_strip_title("<b>ab</b>cd", out, 3);
	ck_assert_str_eq(out, "ab");
}
END_TEST

START_TEST(api_for_url)
{
	ck_assert_int_eq(pricecmp_api_for_url("https://openapi.naver.com/v1/search/shop.json"),
	    PRICECMP_API_OPENAPI);
	ck_assert_int_eq(pricecmp_api_for_url(
	    "https://naverapihub.apigw.ntruss.com/search/v1/shop"), PRICECMP_API_HUB);
	ck_assert_int_eq(pricecmp_api_for_url("https://naverapihub.apigw.ntruss.com/search/v1/"
	    "shop.json"), PRICECMP_API_HUB);
	ck_assert_int_eq(pricecmp_api_for_url("http://127.0.0.1:18233/search/v1/shop?x=1"),
	    PRICECMP_API_HUB);
	ck_assert_int_eq(pricecmp_api_for_url("http://127.0.0.1:18233/v1/search/shop.json"),
	    PRICECMP_API_OPENAPI);
	ck_assert_int_eq(pricecmp_api_for_url("http://h/search/v1/shopping"), PRICECMP_API_OPENAPI);
	ck_assert_int_eq(pricecmp_api_for_url("http://search/v1/shop"), PRICECMP_API_OPENAPI);
	ck_assert_int_eq(pricecmp_api_for_url("http://h/x?u=/search/v1/shop"),
	    PRICECMP_API_OPENAPI);
	ck_assert_int_eq(pricecmp_api_for_url("garbage"), PRICECMP_API_OPENAPI);
	ck_assert_int_eq(pricecmp_api_for_url(""), PRICECMP_API_OPENAPI);
}
END_TEST

START_TEST(request_url)
{
	struct buf b = { 0 };
	size_t i;

	ck_assert_int_eq(pricecmp_request_url("https://openapi.naver.com/v1/search/shop.json",
	    "  김치 1kg & 깍두기 #2/3  ", &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "https://openapi.naver.com/v1/search/shop.json?query="
	    "%EA%B9%80%EC%B9%98%201kg%20%26%20%EA%B9%8D%EB%91%90%EA%B8%B0%20%232%2F3"
	    "&display=10&start=1&sort=asc&exclude=used:rental:cbshop");
	buf_reset(&b);
	ck_assert_int_eq(pricecmp_request_url("http://h/s?k=v", "a+b=c", &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "http://h/s?k=v&query=a%2Bb%3Dc"
	    "&display=10&start=1&sort=asc&exclude=used:rental:cbshop");
	buf_reset(&b);
	ck_assert_int_eq(pricecmp_request_url("http://h/s", "", &b), -1);
	ck_assert_int_eq(pricecmp_request_url("http://h/s", "  \t ", &b), -1);
	ck_assert_int_eq(pricecmp_request_url("http://h/s", "\xC3\x28", &b), -1);
	ck_assert_int_eq(pricecmp_request_url("http://h/s", NULL, &b), -1);
	ck_assert_uint_eq(b.len, 0);
	/* A long name is cut at PRICECMP_QUERY_MAX bytes on a character boundary: 66 x 3 bytes. */
	{
		struct buf name = { 0 }, want = { 0 };

		for (i = 0; i < 100; i++)
			buf_puts(&name, "김");
		ck_assert_int_eq(pricecmp_request_url("http://h/s", name.data, &b), 0);
		buf_puts(&want, "http://h/s?query=");
		for (i = 0; i < 66; i++)
			buf_puts(&want, "%EA%B9%80");
		buf_puts(&want, "&display=10&start=1&sort=asc&exclude=used:rental:cbshop");
		ck_assert_str_eq(buf_cstr(&b), want.data);
		buf_release(&name);
		buf_release(&want);
	}
	buf_release(&b);
}
END_TEST

START_TEST(cache_round_trip)
{
#define LINK "https://x.test/p?a=1&b=\"2\""
	struct pricecmp_result r, back;
	struct buf b = { 0 };

	memset(&r, 0, sizeof(r));
	r.status = PRICECMP_FOUND;
	r.offer.price = 116280;
	memcpy(r.offer.mall, "네이버", sizeof("네이버"));
	memcpy(r.offer.link, LINK, sizeof(LINK));
	memcpy(r.offer.title, "<script>&", sizeof("<script>&"));
	r.fetched_at = 1767225600;
	ck_assert_int_eq(pricecmp_cache_encode(&r, "김치 \"1kg\"", &b), 0);
	memset(&back, 0x5a, sizeof(back));
	ck_assert_int_eq(pricecmp_cache_decode(b.data, b.len, "김치 \"1kg\"", &back), 0);
	ck_assert_int_eq(back.status, PRICECMP_FOUND);
	ck_assert_int_eq(back.offer.price, 116280);
	ck_assert_str_eq(back.offer.mall, "네이버");
	ck_assert_str_eq(back.offer.link, LINK);
	ck_assert_str_eq(back.offer.title, "<script>&");
	ck_assert_int_eq(back.fetched_at, 1767225600);
	ck_assert(back.cached);
	ck_assert(!back.stale);
	ck_assert_int_eq(back.rc, PRICECMP_OK);
	/* Another query (the product was renamed) is a miss. */
	memset(&back, 0x5a, sizeof(back));
	ck_assert_int_eq(pricecmp_cache_decode(b.data, b.len, "김치", &back), -1);
	ck_assert_int_eq(back.offer.price, 0x5a5a5a5a5a5a5a5a);   /* untouched */

	buf_reset(&b);
	memset(&r, 0, sizeof(r));
	r.status = PRICECMP_NONE;
	r.fetched_at = 5;
	ck_assert_int_eq(pricecmp_cache_encode(&r, "q", &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "{\"q\":\"q\",\"s\":\"none\",\"at\":5}");
	ck_assert_int_eq(pricecmp_cache_decode(b.data, b.len, "q", &back), 0);
	ck_assert_int_eq(back.status, PRICECMP_NONE);
	ck_assert_int_eq(back.fetched_at, 5);

	buf_reset(&b);
	r.status = PRICECMP_UNAVAILABLE;
	ck_assert_int_eq(pricecmp_cache_encode(&r, "q", &b), -1);
	r.status = PRICECMP_OFF;
	ck_assert_int_eq(pricecmp_cache_encode(&r, "q", &b), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
#undef LINK
}
END_TEST

/* The start of a cache entry for query "q" found at t = 5. */
#define FOUND5 "{\"q\":\"q\",\"s\":\"found\",\"at\":5,"

START_TEST(cache_entries_are_read_strictly)
{
	static const char *const bad[] = {
		"", "x", "null", "[]", "{}", "{\"q\":\"q\",\"s\":\"none\"}",
		"{\"q\":\"q\",\"s\":\"none\",\"at\":0}", "{\"q\":\"q\",\"s\":\"none\",\"at\":-5}",
		"{\"q\":\"q\",\"s\":\"none\",\"at\":\"5\"}",
		"{\"q\":\"q\",\"s\":\"nope\",\"at\":5}",
		"{\"q\":\"q\",\"s\":\"unavailable\",\"at\":5}",
		"{\"q\":\"q\",\"s\":\"off\",\"at\":5}",
		"{\"q\":\"q\",\"s\":\"none\",\"at\":5,\"p\":1}",
		"{\"q\":\"q\",\"s\":\"none\",\"at\":5,\"x\":1}",
		"{\"q\":1,\"s\":\"none\",\"at\":5}", "{\"s\":\"none\",\"at\":5}",
		"{\"q\":\"q\",\"s\":\"found\",\"at\":5}",
		FOUND5 "\"p\":0,\"m\":\"m\",\"l\":\"https://x/\",\"t\":\"\"}",
		FOUND5 "\"p\":-1,\"m\":\"m\",\"l\":\"https://x/\",\"t\":\"\"}",
		FOUND5 "\"p\":100000000001,\"m\":\"m\",\"l\":\"https://x/\",\"t\":\"\"}",
		FOUND5 "\"p\":\"1\",\"m\":\"m\",\"l\":\"https://x/\",\"t\":\"\"}",
		FOUND5 "\"p\":1.5,\"m\":\"m\",\"l\":\"https://x/\",\"t\":\"\"}",
		FOUND5 "\"p\":1,\"m\":\"m\",\"l\":\"javascript:x\",\"t\":\"\"}",
		FOUND5 "\"p\":1,\"m\":\"m\",\"l\":\"https://x/\"}",
		FOUND5 "\"p\":1,\"m\":null,\"l\":\"https://x/\",\"t\":\"\"}",
		FOUND5 "\"p\":1,\"m\":\"m\",\"l\":\"https://x/\",\"t\":\"\",\"z\":1}",
		"{\"q\":\"q\",\"s\":\"none\",\"at\":5}{}",
		"{\"q\":\"q\",\"q\":\"q\",\"s\":\"none\",\"at\":5}",
		"{\"q\":\"q\",\"s\":\"none\",\"at\":5,\"n\":{\"a\":1}}",
	};
	static const char good[] = FOUND5 "\"p\":1,\"m\":\"\","
	    "\"l\":\"https://x/\",\"t\":\"\"}";
	struct pricecmp_result r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pricecmp_cache_decode(bad[i], strlen(bad[i]), "q", &r) == -1,
		    "entry %zu: %s", i, bad[i]);
	ck_assert_int_eq(pricecmp_cache_decode(NULL, 0, "q", &r), -1);
	ck_assert_int_eq(pricecmp_cache_decode(good, strlen(good), "q", &r), 0);
	ck_assert_int_eq(r.offer.price, 1);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(pricecmp_status_name(PRICECMP_OFF), "off");
	ck_assert_str_eq(pricecmp_status_name(PRICECMP_FOUND), "found");
	ck_assert_str_eq(pricecmp_status_name(PRICECMP_NONE), "none");
	ck_assert_str_eq(pricecmp_status_name(PRICECMP_UNAVAILABLE), "unavailable");
	ck_assert_str_eq(pricecmp_status_name(PRICECMP_STATUS__MAX), "?");
	ck_assert_str_eq(pricecmp_rc_name(PRICECMP_OK), "ok");
	ck_assert_str_eq(pricecmp_rc_name(PRICECMP_ERR_BREAKER_OPEN), "breaker open");
	ck_assert_str_eq(pricecmp_rc_name(PRICECMP_RC__MAX), "?");
}
END_TEST

Suite *
pricecmp_suite(void)
{
	Suite *s = suite_create("pricecmp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, real_answer_gives_the_lowest_price);
	tcase_add_test(tc, single_item_and_title_tags);
	tcase_add_test(tc, empty_items_is_none);
	tcase_add_test(tc, statuses_are_classified);
	tcase_add_test(tc, error_body_with_200_is_an_error);
	tcase_add_test(tc, bad_json_is_refused);
	tcase_add_test(tc, lprice_must_be_a_string_of_digits);
	tcase_add_test(tc, one_bad_item_spoils_the_answer);
	tcase_add_test(tc, links_must_be_http_urls);
	tcase_add_test(tc, mall_and_title_types_and_sizes);
	tcase_add_test(tc, too_many_items_are_refused);
	tcase_add_test(tc, strip_title);
	tcase_add_test(tc, api_for_url);
	tcase_add_test(tc, request_url);
	tcase_add_test(tc, cache_round_trip);
	tcase_add_test(tc, cache_entries_are_read_strictly);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}
