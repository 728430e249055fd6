/* check_alimtalk: the 알림톡 request body is NHN Cloud's v2.3 shape exactly, unsendable messages
 * are refused before any call, and every kind of answer is classified (no server). */
#include <check.h>
#include <string.h>

#include "base/buf.h"
#include "base/conf.h"
#include "clients/alimtalk.h"
#include "suites.h"

static const struct alimtalk_param PARAMS[] = {
	{ "name", "김장터" }, { "orderId", "AbC123" }, { "amount", "27,970" },
};

static struct conf *
conf_with(const char *text)
{
	char err[256];
	struct conf *c = conf_parse(text, err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

static struct alimtalk_msg
msg(const char *recipient, const char *key)
{
	struct alimtalk_msg m = {
		.template_code = "JT_ORDER_PAID",
		.recipient = recipient,
		.params = PARAMS,
		.nparams = 3,
		.key = key,
	};

	return m;
}

START_TEST(test_alimtalk_body_is_the_v23_shape)
{
	struct conf *c = conf_with("alimtalk.appkey = app\nalimtalk.sender_key = sender-40\n"
	    "alimtalk.resend_send_no = 0212345678\n");
	struct alimtalk_msg m = msg("010-1234-5678", "paid:AbC123");
	struct buf b = { 0 };

	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "{\"senderKey\":\"sender-40\",\"templateCode\":\"JT_ORDER_PAID\",\"recipientList\":"
	    "[{\"recipientNo\":\"01012345678\",\"templateParameter\":{\"name\":\"김장터\","
	    "\"orderId\":\"AbC123\",\"amount\":\"27,970\"},\"resendParameter\":{\"isResend\":true,"
	    "\"resendSendNo\":\"0212345678\"},\"recipientGroupingKey\":\"paid:AbC123\"}]}");
	buf_release(&b);
	conf_free(&c);

	/* Without a sender number for SMS there is no resend. */
	c = conf_with("alimtalk.appkey = app\n");
	m = msg("01012345678", "k");
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "\"resendParameter\":{\"isResend\":false}"));
	buf_release(&b);
	conf_free(&c);
}
END_TEST

START_TEST(test_alimtalk_unsendable_messages_are_refused)
{
	struct conf *c = conf_with("alimtalk.appkey = app\n");
	struct alimtalk_param bad_value[] = { { "name", "\xff\xfe" } };
	struct alimtalk_param bad_key[] = { { "na me", "x" } };
	struct alimtalk_msg m;
	struct buf b = { 0 };
	char long_key[ALIMTALK_KEY_MAX + 2];

	m = msg("011-1234-5678", "k");
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	m = msg("010-1234-5678", "bad key");
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	m = msg("010-1234-5678", "");
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	m = msg("010-1234-5678", long_key);
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	m = msg("010-1234-5678", "k");
	m.params = bad_value;
	m.nparams = 1;
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	m.params = bad_key;
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	m = msg("010-1234-5678", "k");
	m.template_code = "";
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	m = msg("010-1234-5678", "k");
	m.nparams = ALIMTALK_PARAMS_MAX + 1;
	ck_assert_int_eq(alimtalk_request_body(c, &m, &b), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
	conf_free(&c);
}
END_TEST

static enum alimtalk_outcome
classify(long status, const char *body, struct alimtalk_result *r)
{
	alimtalk_classify(status, body, body != NULL ? strlen(body) : 0, r);
	return r->outcome;
}

#define OK_HEADER "\"header\":{\"resultCode\":0,\"resultMessage\":\"SUCCESS\",\"isSuccessful\":true}"

START_TEST(test_alimtalk_answers_are_classified)
{
	struct alimtalk_result r;

	ck_assert_int_eq(classify(200, "{" OK_HEADER ",\"message\":{\"requestId\":"
	    "\"20261207123456abcDEF\",\"senderGroupingKey\":null,\"sendResults\":[{"
	    "\"recipientSeq\":1,\"recipientNo\":\"01012345678\",\"resultCode\":0,\"resultMessage\":"
	    "\"SUCCESS\",\"recipientGroupingKey\":\"paid:x\"}]}}", &r), ALIMTALK_SENT);
	ck_assert_str_eq(r.request_id, "20261207123456abcDEF");
	ck_assert_int_eq(r.result_code, 0);
	/* The idempotency key was used in the last 10 minutes: an earlier try was taken. */
	ck_assert_int_eq(classify(200, "{\"header\":{\"resultCode\":-1005,\"resultMessage\":"
	    "\"The same 'X-NC-API-IDEMPOTENCY-KEY' was used within the last 10 minute.\","
	    "\"isSuccessful\":false}}", &r), ALIMTALK_DUPLICATE);
	ck_assert_int_eq(r.result_code, -1005);
	/* Definite refusals: template, parameters, credentials, validation. */
	ck_assert_int_eq(classify(200, "{\"header\":{\"resultCode\":-3003,\"resultMessage\":"
	    "\"Template does not exist.\",\"isSuccessful\":false}}", &r), ALIMTALK_REFUSED);
	ck_assert_int_eq(r.result_code, -3003);
	ck_assert_str_eq(r.message, "Template does not exist.");
	ck_assert_int_eq(classify(200, "{\"header\":{\"resultCode\":-1001,\"resultMessage\":"
	    "\"Invalid secretKey.\",\"isSuccessful\":false}}", &r), ALIMTALK_REFUSED);
	ck_assert_int_eq(classify(200, "{\"header\":{\"resultCode\":4,\"resultMessage\":"
	    "\"bad\",\"isSuccessful\":false}}", &r), ALIMTALK_REFUSED);
	ck_assert_int_eq(classify(401, "{\"header\":{\"resultCode\":-1000,\"resultMessage\":"
	    "\"Invalid appKey.\",\"isSuccessful\":false}}", &r), ALIMTALK_REFUSED);
	ck_assert_int_eq(classify(404, "<html>no</html>", &r), ALIMTALK_REFUSED);
	/* The recipient refused while the request was taken. */
	ck_assert_int_eq(classify(200, "{" OK_HEADER ",\"message\":{\"requestId\":\"r\","
	    "\"sendResults\":[{\"recipientSeq\":1,\"resultCode\":-2002,\"resultMessage\":"
	    "\"The 'recipientNo' must not be null.\"}]}}", &r), ALIMTALK_REFUSED);
	ck_assert_int_eq(r.result_code, -2002);
	ck_assert_str_eq(r.request_id, "");
	/* Unknown: no answer to rely on. */
	ck_assert_int_eq(classify(500, "{}", &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(503, NULL, &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(429, "{\"header\":{\"resultCode\":-3003,\"resultMessage\":"
	    "\"x\",\"isSuccessful\":false}}", &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(302, "", &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(200, "not json", &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(200, "{" OK_HEADER "}", &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(200, "{" OK_HEADER ",\"message\":{\"sendResults\":[]}}", &r),
	    ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(200, "{" OK_HEADER ",\"message\":{\"sendResults\":[{},{}]}}",
	    &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(200, "{\"header\":{\"resultCode\":-9999,\"resultMessage\":"
	    "\"x\",\"isSuccessful\":false}}", &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(200, "{\"header\":{\"resultCode\":\"0\",\"isSuccessful\":true}}",
	    &r), ALIMTALK_UNKNOWN);
	ck_assert_int_eq(classify(201, "{" OK_HEADER ",\"message\":{\"sendResults\":[{"
	    "\"resultCode\":0}]}}", &r), ALIMTALK_UNKNOWN);
	/* Control bytes in a message never reach a log line. */
	classify(200, "{\"header\":{\"resultCode\":-3004,\"resultMessage\":\"a\\nb\\tc\","
	    "\"isSuccessful\":false}}", &r);
	ck_assert_int_eq(r.outcome, ALIMTALK_REFUSED);
	ck_assert_str_eq(r.message, "a?b?c");
}
END_TEST

START_TEST(test_alimtalk_off_without_an_appkey)
{
	struct conf *c = conf_with("");
	struct alimtalk *at = alimtalk_new(c);
	struct alimtalk_msg m = msg("010-1234-5678", "k");
	struct alimtalk_result r;

	ck_assert(!alimtalk_enabled(c));
	alimtalk_send(at, &m, NULL, &r);
	ck_assert_int_eq(r.outcome, ALIMTALK_OFF);
	ck_assert_str_eq(alimtalk_outcome_name(r.outcome), "off");
	alimtalk_free(&at);
	ck_assert_ptr_null(at);
	conf_free(&c);
}
END_TEST

Suite *
alimtalk_suite(void)
{
	Suite *s = suite_create("alimtalk");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_alimtalk_body_is_the_v23_shape);
	tcase_add_test(tc, test_alimtalk_unsendable_messages_are_refused);
	tcase_add_test(tc, test_alimtalk_answers_are_classified);
	tcase_add_test(tc, test_alimtalk_off_without_an_appkey);
	suite_add_tcase(s, tc);
	return s;
}
