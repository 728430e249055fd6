/* check_oauth: the provider table, the authorize URL and the strict parsers of the providers'
 * token and profile answers, against real shapes and hostile ones. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/conf.h"
#include "clients/oauth.h"
#include "suites.h"

#define NAVER_AUTH "http://127.0.0.1:9/naver/oauth2.0/authorize"

static struct conf *
test_conf(const char *naver_authorize, const char *kakao_id)
{
	char err[256], text[2048];
	struct conf *c;

	snprintf(text, sizeof(text),
	    "oauth.naver_client_id = jangteo-naver-local\n"
	    "oauth.naver_client_secret = naver-local-secret\n"
	    "oauth.naver_authorize_url = %s\n"
	    "oauth.kakao_client_id = %s\n"
	    "oauth.kakao_authorize_url = https://kauth.example/oauth/authorize?prompt=login\n",
	    naver_authorize, kakao_id);
	c = conf_parse(text, err, sizeof(err));
	ck_assert_msg(c != NULL, "conf_parse: %s", err);
	return c;
}

static enum oauth_rc
token(enum oauth_provider p, long status, const char *body, char *tok, char *err)
{
	return oauth_parse_token(p, status, body, body != NULL ? strlen(body) : 0, tok, 4096, err,
	    64);
}

static enum oauth_rc
profile(enum oauth_provider p, long status, const char *body, struct oauth_profile *out)
{
	return oauth_parse_profile(p, status, body, body != NULL ? strlen(body) : 0, out);
}

START_TEST(test_provider_names)
{
	enum oauth_provider p = OAUTH_KAKAO;

	ck_assert_int_eq(oauth_provider_parse("naver", &p), 0);
	ck_assert_int_eq(p, OAUTH_NAVER);
	ck_assert_int_eq(oauth_provider_parse("kakao", &p), 0);
	ck_assert_int_eq(p, OAUTH_KAKAO);
	ck_assert_int_eq(oauth_provider_parse("Naver", &p), -1);
	ck_assert_int_eq(oauth_provider_parse("", &p), -1);
	ck_assert_int_eq(oauth_provider_parse("social", &p), -1);
	ck_assert_int_eq(oauth_provider_parse(NULL, &p), -1);
	ck_assert_str_eq(oauth_provider_name(OAUTH_NAVER), "naver");
	ck_assert_str_eq(oauth_provider_label(OAUTH_KAKAO), "카카오");
}
END_TEST

START_TEST(test_enabled_by_client_id)
{
	struct conf *c = test_conf(NAVER_AUTH, "");

	ck_assert(oauth_enabled(c, OAUTH_NAVER));
	ck_assert(!oauth_enabled(c, OAUTH_KAKAO));
	conf_free(&c);
}
END_TEST

START_TEST(test_authorize_url_escapes_every_value)
{
	struct conf *c = test_conf(NAVER_AUTH, "kakao id&x=1");
	struct buf b = { 0 };

	ck_assert_int_eq(oauth_authorize_url(c, OAUTH_NAVER, "http://127.0.0.1:8080/login/naver/callback",
	    "abc123", &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "http://127.0.0.1:9/naver/oauth2.0/authorize"
	    "?response_type=code&client_id=jangteo-naver-local"
	    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Flogin%2Fnaver%2Fcallback&state=abc123");
	buf_reset(&b);
	/* A query in the configured URL is kept; a hostile client id or state cannot add
	 * parameters or break the header. */
	ck_assert_int_eq(oauth_authorize_url(c, OAUTH_KAKAO, "x", "s\r\nSet-Cookie: a=b&c", &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "https://kauth.example/oauth/authorize?prompt=login"
	    "&response_type=code&client_id=kakao%20id%26x%3D1&redirect_uri=x"
	    "&state=s%0D%0ASet-Cookie%3A%20a%3Db%26c");
	buf_release(&b);
	conf_free(&c);
}
END_TEST

START_TEST(test_authorize_url_refuses_a_bad_config)
{
	static const char *const bad[] = {
		"javascript:alert(1)",
		"//evil.example/a",
		"http://a.example/a b",
		"http://a.example/a#frag",
		"ftp://a.example/",
		"http://a.example/\xea\xb0\x80",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conf *c = test_conf(bad[i], "k");
		struct buf b = { 0 };

		ck_assert_msg(oauth_authorize_url(c, OAUTH_NAVER, "x", "y", &b) == -1, "%s", bad[i]);
		ck_assert_uint_eq(b.len, 0);
		buf_release(&b);
		conf_free(&c);
	}
}
END_TEST

START_TEST(test_token_success)
{
	char tok[4096], err[64];

	ck_assert_int_eq(token(OAUTH_NAVER, 200, "{\"access_token\":\"AAAAQ+/=x\",\"refresh_token\":"
	    "\"r\",\"token_type\":\"bearer\",\"expires_in\":\"3600\"}", tok, err), OAUTH_OK);
	ck_assert_str_eq(tok, "AAAAQ+/=x");
	ck_assert_int_eq(token(OAUTH_KAKAO, 200, "{\"token_type\":\"bearer\",\"access_token\":\"k1\","
	    "\"expires_in\":21599,\"refresh_token\":\"r\",\"refresh_token_expires_in\":5183999,"
	    "\"scope\":\"profile_nickname account_email\"}", tok, err), OAUTH_OK);
	ck_assert_str_eq(tok, "k1");
	ck_assert_int_eq(token(OAUTH_KAKAO, 200, "{\"access_token\":\"k2\",\"token_type\":\"Bearer\"}",
	    tok, err), OAUTH_OK);
	ck_assert_str_eq(tok, "k2");
}
END_TEST

START_TEST(test_token_errors)
{
	char tok[4096], err[64];

	/* Naver: errors with 200. */
	ck_assert_int_eq(token(OAUTH_NAVER, 200, "{\"error\":\"invalid_request\",\"error_description\":"
	    "\"no valid data in session\"}", tok, err), OAUTH_ERR_REFUSED);
	ck_assert_str_eq(err, "invalid_request");
	ck_assert_str_eq(tok, "");
	/* Kakao: errors with 400/401. */
	ck_assert_int_eq(token(OAUTH_KAKAO, 400, "{\"error\":\"invalid_grant\",\"error_description\":"
	    "\"authorization code not found for code=x\",\"error_code\":\"KOE320\"}", tok, err),
	    OAUTH_ERR_REFUSED);
	ck_assert_str_eq(err, "invalid_grant");
	ck_assert_int_eq(token(OAUTH_KAKAO, 401, "{\"error\":\"invalid_client\"}", tok, err),
	    OAUTH_ERR_REFUSED);
	ck_assert_int_eq(token(OAUTH_KAKAO, 500, "{\"error\":\"server_error\"}", tok, err),
	    OAUTH_ERR_UNAVAILABLE);
	ck_assert_int_eq(token(OAUTH_NAVER, 503, "", tok, err), OAUTH_ERR_UNAVAILABLE);
}
END_TEST

START_TEST(test_token_hostile)
{
	static const struct { long status; const char *body; } bad[] = {
		{ 200, "" },
		{ 200, NULL },
		{ 200, "not json" },
		{ 200, "{\"access_token\":\"a\"" },
		{ 200, "[\"access_token\"]" },
		{ 200, "\"a\"" },
		{ 200, "null" },
		{ 200, "{}" },
		{ 200, "{\"access_token\":null}" },
		{ 200, "{\"access_token\":12}" },
		{ 200, "{\"access_token\":\"\"}" },
		{ 200, "{\"access_token\":\"a b\"}" },
		{ 200, "{\"access_token\":\"a\\r\\nX-Evil: 1\"}" },
		{ 200, "{\"access_token\":\"\xea\xb0\x80\"}" },
		{ 200, "{\"access_token\":\"a\",\"access_token\":\"b\"}" },
		{ 200, "{\"access_token\":\"a\",\"token_type\":\"mac\"}" },
		{ 200, "{\"access_token\":\"a\",\"token_type\":1}" },
		{ 200, "{\"error\":5}" },
		{ 200, "{\"access_token\":\"a\"} x" },
		{ 400, "{\"access_token\":\"a\"}" },
		{ 400, "bad gateway" },
		{ 302, "{\"access_token\":\"a\"}" },
		{ 0, "{\"access_token\":\"a\"}" },
		{ 404, "{\"error\":\"x\"}" },
	};
	char tok[4096], err[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(token(OAUTH_NAVER, bad[i].status, bad[i].body, tok, err) ==
		    OAUTH_ERR_BAD_RESPONSE, "case %zu", i);
		ck_assert_str_eq(tok, "");
	}
}
END_TEST

START_TEST(test_token_too_long)
{
	struct buf b = { 0 };
	char tok[64], err[64];
	size_t i;

	buf_puts(&b, "{\"access_token\":\"");
	for (i = 0; i < 64; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\"}");
	/* Longer than the caller's buffer: refused, never cut. */
	ck_assert_int_eq(oauth_parse_token(OAUTH_NAVER, 200, b.data, b.len, tok, sizeof(tok), err,
	    sizeof(err)), OAUTH_ERR_BAD_RESPONSE);
	ck_assert_str_eq(tok, "");
	buf_release(&b);
}
END_TEST

START_TEST(test_naver_profile)
{
	struct oauth_profile p;

	ck_assert_int_eq(profile(OAUTH_NAVER, 200, "{\"resultcode\":\"00\",\"message\":\"success\","
	    "\"response\":{\"id\":\"32742776\",\"nickname\":\"OpenAPI\",\"name\":\"오픈 API\","
	    "\"email\":\"openapi@naver.com\",\"gender\":\"F\",\"age\":\"40-49\",\"mobile\":"
	    "\"010-0000-0000\"}}", &p), OAUTH_OK);
	ck_assert_str_eq(p.subject, "32742776");
	ck_assert_str_eq(p.email, "openapi@naver.com");
	ck_assert(p.email_verified);
	ck_assert_str_eq(p.name, "OpenAPI");

	/* Another domain: Naver does not vouch for it. No nickname: the name. */
	ck_assert_int_eq(profile(OAUTH_NAVER, 200, "{\"resultcode\":\"00\",\"message\":\"success\","
	    "\"response\":{\"id\":\"vhgtW_Q8R3jc7-N1\",\"name\":\"홍길동\",\"email\":"
	    "\"Hong@Example.com\"}}", &p), OAUTH_OK);
	ck_assert_str_eq(p.subject, "vhgtW_Q8R3jc7-N1");
	ck_assert_str_eq(p.email, "Hong@Example.com");
	ck_assert(!p.email_verified);
	ck_assert_str_eq(p.name, "홍길동");

	/* Upper-case domain is the same mailbox; an invalid e-mail and a bad name are dropped. */
	ck_assert_int_eq(profile(OAUTH_NAVER, 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\","
	    "\"email\":\"a@NAVER.COM\",\"nickname\":\"a\\u0007b\"}}", &p), OAUTH_OK);
	ck_assert(p.email_verified);
	ck_assert_str_eq(p.name, "");
	ck_assert_int_eq(profile(OAUTH_NAVER, 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\","
	    "\"email\":\"<script>@naver.com\",\"nickname\":\"  \"}}", &p), OAUTH_OK);
	ck_assert_str_eq(p.email, "");
	ck_assert(!p.email_verified);
	ck_assert_str_eq(p.name, "");
	ck_assert_int_eq(profile(OAUTH_NAVER, 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\","
	    "\"email\":\"x@evil.com@naver.com\"}}", &p), OAUTH_OK);
	ck_assert_str_eq(p.email, "");
	ck_assert(!p.email_verified);

	/* Markup in a name is kept as text (pages escape it). */
	ck_assert_int_eq(profile(OAUTH_NAVER, 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\","
	    "\"nickname\":\"<b>x</b>\"}}", &p), OAUTH_OK);
	ck_assert_str_eq(p.name, "<b>x</b>");
}
END_TEST

START_TEST(test_long_name_is_cut_at_a_character)
{
	struct oauth_profile p;
	struct buf b = { 0 };
	size_t i;

	buf_puts(&b, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\",\"nickname\":\"");
	for (i = 0; i < 40; i++)
		buf_puts(&b, "가");   /* 3 bytes each: 120 bytes */
	buf_puts(&b, "\"}}");
	ck_assert_int_eq(oauth_parse_profile(OAUTH_NAVER, 200, b.data, b.len, &p), OAUTH_OK);
	ck_assert_uint_eq(strlen(p.name), 99);  /* 33 characters */
	ck_assert_int_eq(strncmp(p.name, "가가가", 9), 0);
	buf_release(&b);
}
END_TEST

START_TEST(test_naver_profile_hostile)
{
	static const struct { long status; const char *body; } bad[] = {
		{ 401, "{\"resultcode\":\"024\",\"message\":\"Authentication failed\"}" },
		{ 200, "{\"resultcode\":\"024\",\"message\":\"Authentication failed\"}" },
		{ 200, "{\"resultcode\":\"00\"}" },
		{ 200, "{\"resultcode\":0,\"response\":{\"id\":\"1\"}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":[]}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":32742776}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"\"}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"../1\"}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"a b\"}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":"
		    "\"12345678901234567890123456789012345678901234567890123456789012345\"}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\",\"email\":null}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\",\"email\":[\"a@naver.com\"]}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\",\"nickname\":1}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\",\"id\":\"2\"}}" },
		{ 200, "{\"resultcode\":\"00\",\"response\":{\"id\":\"1\"}" },
		{ 200, "" },
		{ 200, "<html>" },
		{ 302, "" },
	};
	struct oauth_profile p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(profile(OAUTH_NAVER, bad[i].status, bad[i].body, &p) ==
		    OAUTH_ERR_BAD_RESPONSE, "case %zu", i);
		ck_assert_str_eq(p.subject, "");
	}
	ck_assert_int_eq(profile(OAUTH_NAVER, 500, "{}", &p), OAUTH_ERR_UNAVAILABLE);
	ck_assert_int_eq(profile(OAUTH_NAVER, 502, "<html>", &p), OAUTH_ERR_UNAVAILABLE);
}
END_TEST

START_TEST(test_kakao_profile)
{
	struct oauth_profile p;

	ck_assert_int_eq(profile(OAUTH_KAKAO, 200, "{\"id\":1234567890,\"connected_at\":"
	    "\"2024-01-01T00:00:00Z\",\"properties\":{\"nickname\":\"프로퍼티\"},\"kakao_account\":"
	    "{\"profile_nickname_needs_agreement\":false,\"profile\":{\"nickname\":\"홍길동\","
	    "\"is_default_image\":false},\"has_email\":true,\"email_needs_agreement\":false,"
	    "\"is_email_valid\":true,\"is_email_verified\":true,\"email\":\"user@example.com\"}}",
	    &p), OAUTH_OK);
	ck_assert_str_eq(p.subject, "1234567890");
	ck_assert_str_eq(p.email, "user@example.com");
	ck_assert(p.email_verified);
	ck_assert_str_eq(p.name, "홍길동");

	ck_assert_int_eq(profile(OAUTH_KAKAO, 200, "{\"id\":9223372036854775807,\"properties\":"
	    "{\"nickname\":\"프로퍼티\"},\"kakao_account\":{\"is_email_valid\":true,"
	    "\"is_email_verified\":false,\"email\":\"user@example.com\"}}", &p), OAUTH_OK);
	ck_assert_str_eq(p.subject, "9223372036854775807");
	ck_assert(!p.email_verified);
	ck_assert_str_eq(p.name, "프로퍼티");

	/* No consent for anything: just the id. */
	ck_assert_int_eq(profile(OAUTH_KAKAO, 200, "{\"id\":7}", &p), OAUTH_OK);
	ck_assert_str_eq(p.subject, "7");
	ck_assert_str_eq(p.email, "");
	ck_assert_str_eq(p.name, "");
	/* Verified flags without an e-mail say nothing. */
	ck_assert_int_eq(profile(OAUTH_KAKAO, 200, "{\"id\":7,\"kakao_account\":{\"has_email\":false,"
	    "\"is_email_valid\":true,\"is_email_verified\":true}}", &p), OAUTH_OK);
	ck_assert_str_eq(p.email, "");
	ck_assert(!p.email_verified);
}
END_TEST

START_TEST(test_kakao_profile_hostile)
{
	static const struct { long status; const char *body; } bad[] = {
		{ 401, "{\"msg\":\"this access token does not exist\",\"code\":-401}" },
		{ 200, "{\"msg\":\"this access token does not exist\",\"code\":-401}" },
		{ 200, "{\"id\":\"1234\"}" },
		{ 200, "{\"id\":0}" },
		{ 200, "{\"id\":-5}" },
		{ 200, "{\"id\":1.0}" },
		{ 200, "{\"id\":1e3}" },
		{ 200, "{\"id\":9223372036854775808}" },
		{ 200, "{\"id\":true}" },
		{ 200, "{\"id\":1,\"kakao_account\":[]}" },
		{ 200, "{\"id\":1,\"kakao_account\":null}" },
		{ 200, "{\"id\":1,\"properties\":\"x\"}" },
		{ 200, "{\"id\":1,\"kakao_account\":{\"is_email_verified\":\"true\"}}" },
		{ 200, "{\"id\":1,\"kakao_account\":{\"is_email_valid\":1}}" },
		{ 200, "{\"id\":1,\"kakao_account\":{\"email\":7}}" },
		{ 200, "{\"id\":1,\"kakao_account\":{\"profile\":{\"nickname\":[]}}}" },
		{ 200, "{\"id\":1,\"kakao_account\":{\"profile\":\"x\"}}" },
		{ 200, "{\"id\":1,\"properties\":{\"nickname\":null}}" },
		{ 200, "[1]" },
	};
	struct oauth_profile p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(profile(OAUTH_KAKAO, bad[i].status, bad[i].body, &p) ==
		    OAUTH_ERR_BAD_RESPONSE, "case %zu", i);
		ck_assert_str_eq(p.subject, "");
	}
}
END_TEST

START_TEST(test_deep_json_refused)
{
	struct oauth_profile p;
	struct buf b = { 0 };
	size_t i;

	buf_puts(&b, "{\"id\":1,\"x\":");
	for (i = 0; i < 20; i++)
		buf_putc(&b, '[');
	for (i = 0; i < 20; i++)
		buf_putc(&b, ']');
	buf_putc(&b, '}');
	ck_assert_int_eq(oauth_parse_profile(OAUTH_KAKAO, 200, b.data, b.len, &p),
	    OAUTH_ERR_BAD_RESPONSE);
	buf_release(&b);
}
END_TEST

Suite *
oauth_suite(void)
{
	Suite *s = suite_create("oauth");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_provider_names);
	tcase_add_test(tc, test_enabled_by_client_id);
	tcase_add_test(tc, test_authorize_url_escapes_every_value);
	tcase_add_test(tc, test_authorize_url_refuses_a_bad_config);
	tcase_add_test(tc, test_token_success);
	tcase_add_test(tc, test_token_errors);
	tcase_add_test(tc, test_token_hostile);
	tcase_add_test(tc, test_token_too_long);
	tcase_add_test(tc, test_naver_profile);
	tcase_add_test(tc, test_long_name_is_cut_at_a_character);
	tcase_add_test(tc, test_naver_profile_hostile);
	tcase_add_test(tc, test_kakao_profile);
	tcase_add_test(tc, test_kakao_profile_hostile);
	tcase_add_test(tc, test_deep_json_refused);
	suite_add_tcase(s, tc);
	return s;
}
