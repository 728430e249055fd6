/* check_mail: composing a message (encoded Korean subject, CRLF, header injection refused)
 * and the refusals of mail_send that need no relay. Delivery is tested against the SMTP sink
 * in tests/integration/test_account.py. */
#include <check.h>
#include <string.h>

#include "base/buf.h"
#include "base/conf.h"
#include "infra/mail.h"
#include "suites.h"

START_TEST(test_compose)
{
	struct buf b = { 0 };
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "[장터] 회원가입 인증번호 안내",
	    "line1\nline2\r\n.dot\rend", 0), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "Subject: =?UTF-8?B?W+yepe2EsF0g7ZqM7JuQ6rCA7J6FIOyduOymneuyiO2YuCDslYjrgrQ=?=\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\r\n\r\nline1\r\nline2\r\n.dot\r\nend\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "From: =?UTF-8?B?7J6l7YSw?= <a@x.test>\r\nTo: <b@y.test>\r\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "@x.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"));
	size_t len = b.len;
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "hi\r\nBcc: evil@x.test", "x", 0), -1);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test\r\nBcc: e@x.test", "hi", "x", 0), -1);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "hi\n", "x", 0), -1);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "", "x", 0), -1);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "hi", "x\x01y", 0), -1);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "hi", "\xff", 0), -1);
	char big[1200]; memset(big, 'a', 999); big[999] = 0;
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "hi", big, 0), -1);
	ck_assert_uint_eq(b.len, len);  /* untouched on refusal */
	big[998] = 0;
	buf_reset(&b);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "plain ascii", big, 0), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "Subject: plain ascii\r\n"));
	/* a long Korean subject is folded into words of <= 75 chars */
	buf_reset(&b);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test",
	    "가나다라마바사아자차카타파하가나다라마바사아자차카타파하가나다라마바사", "x", 0), 0);
	const char *s = strstr(b.data, "Subject:"), *e = strstr(s, "\r\nDate:");
	int words = 0;
	for (const char *p = s; p < e; p++) if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
		const char *q = strstr(p + 10, "?=");
		ck_assert_int_le(q + 2 - p, 75);
		words++;
	}
	ck_assert_int_eq(words, 3);
	buf_reset(&b);
	ck_assert_int_eq(mail_compose(&b, "a@x.test", "b@y.test", "=?x?= trick", "x", 0), 0);
	ck_assert_ptr_null(strstr(b.data, "Subject: =?x?="));
	buf_release(&b);
}
END_TEST

START_TEST(test_send_refusals)
{
	char err[256];
	struct conf *c = conf_parse("smtp.url = http://127.0.0.1:1\n", err, sizeof(err));
	ck_assert_int_eq(mail_send(c, NULL, "b@y.test", "hi", "x"), MAIL_ERR_USAGE);
	conf_free(&c);
	c = conf_parse("smtp.url = smtp://127.0.0.1:1\n", err, sizeof(err));
	ck_assert_int_eq(mail_send(c, NULL, "b@y.test", "hi", "x"), MAIL_ERR_CONNECT);
	ck_assert_int_eq(mail_send(c, NULL, "b@y.test\r\n", "hi", "x"), MAIL_ERR_USAGE);
	conf_free(&c);
}
END_TEST

Suite *
mail_suite(void)
{
	Suite *s = suite_create("mail");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_compose);
	tcase_add_test(tc, test_send_refusals);
	suite_add_tcase(s, tc);
	return s;
}
