/* check_labels: every code a shopper can meet has Korean words, the tones are known, and the
 * short order number has its exact form. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "shop/labels.h"
#include "shop/ledger.h"
#include "shop/orders.h"
#include "shop/reconcile.h"
#include "shop/refunds.h"
#include "suites.h"

/* True when s holds a Hangul syllable (so it is Korean, not a code echoed back). */
static int
has_hangul(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; p[0] != '\0'; p++)  /* U+AC00..U+D7A3 is EA B0 80 .. ED 9E A3 in UTF-8 */
		if ((p[0] == 0xEA && p[1] >= 0xB0) || p[0] == 0xEB || p[0] == 0xEC ||
		    (p[0] == 0xED && p[1] <= 0x9E))
			return 1;
	return 0;
}

START_TEST(test_every_order_status_and_method_has_korean_words)
{
	int i;

	for (i = 0; i < ORDER_STATUS__MAX; i++) {
		const char *code = orders_status_name((enum order_status)i);

		ck_assert_msg(labels_find(LABEL_ORDER, code) != NULL, "no label for %s", code);
		ck_assert_msg(has_hangul(labels_text(LABEL_ORDER, code)), "%s", code);
		ck_assert_msg(labels_find(LABEL_EVENT, code) != NULL, "no event text for %s", code);
	}
	for (i = 0; i < ORDER_PAY__MAX; i++)
		ck_assert_ptr_nonnull(labels_find(LABEL_PAY, orders_pay_name((enum order_pay)i)));
	for (i = 0; i < REFUND_STATUS__MAX; i++)
		ck_assert_ptr_nonnull(labels_find(LABEL_REFUND,
		    refunds_status_name((enum refund_status)i)));
	ck_assert_str_eq(labels_text(LABEL_ORDER, "PAID"), "결제완료");
	ck_assert_str_eq(labels_text(LABEL_ORDER, "PARTIALLY_CANCELED"), "부분취소");
	ck_assert_str_eq(labels_text(LABEL_PAY, "toss"), "토스페이먼츠");
	ck_assert_str_eq(labels_text(LABEL_PAY, "kakaopay"), "카카오페이");
	ck_assert_str_eq(labels_text(LABEL_DELIVERY, "SHIPPED"), "배송중");
	ck_assert_str_eq(labels_tone(LABEL_ORDER, "PAID"), "ok");
	ck_assert_str_eq(labels_tone(LABEL_ORDER, "FAILED"), "danger");
}
END_TEST

START_TEST(test_unknown_codes_never_echo_the_code)
{
	ck_assert_ptr_null(labels_find(LABEL_ORDER, "SHIPPED"));
	ck_assert_ptr_null(labels_find(LABEL_ORDER, NULL));
	ck_assert_str_eq(labels_text(LABEL_ORDER, "NEW_STATE"), "확인 중");
	ck_assert_str_eq(labels_text(LABEL_PAY, NULL), "확인 중");
	ck_assert_str_eq(labels_tone(LABEL_PAY, "bitcoin"), "muted");
}
END_TEST

START_TEST(test_nth_lists_a_kind_in_table_order)
{
	const struct label *l = NULL;

	ck_assert_int_eq(labels_nth(LABEL_COURIER, 0, &l), 1);
	ck_assert_str_eq(l->code, "cj");
	ck_assert_str_eq(l->text, "CJ대한통운");
	ck_assert_int_eq(labels_nth(LABEL_PAY, 2, &l), 1);
	ck_assert_str_eq(l->code, "kakaopay");
	ck_assert_int_eq(labels_nth(LABEL_PAY, 3, &l), 0);
}
END_TEST

START_TEST(test_ledger_words_for_every_kind_code_and_account)
{
	char buf[LABELS_ACCOUNT_MAX];
	int i;

	for (i = 0; i < LEDGER_KIND__MAX; i++)
		ck_assert_ptr_nonnull(labels_find(LABEL_ACCOUNT_KIND,
		    ledger_kind_name((enum ledger_kind)i)));
	for (i = 0; i < LEDGER_CODE__MAX; i++)
		ck_assert_ptr_nonnull(labels_find(LABEL_POSTING,
		    ledger_code_name((enum ledger_code)i)));
	ck_assert_str_eq(labels_account("pg_receivable:toss", buf, sizeof(buf)),
	    "PG 미수금 (토스페이먼츠)");
	ck_assert_str_eq(labels_account("points:12", buf, sizeof(buf)), "회원 포인트 (회원 12)");
	ck_assert_str_eq(labels_account("seller_payable:3", buf, sizeof(buf)),
	    "판매자 지급 예정금 (판매자 3)");
	ck_assert_str_eq(labels_account("cash_at_bank", buf, sizeof(buf)), "은행 예금");
	ck_assert_str_eq(labels_account("mystery:1", buf, sizeof(buf)), "확인 중 (1)");
	ck_assert_str_eq(labels_account(NULL, buf, sizeof(buf)), "확인 중");
}
END_TEST

START_TEST(test_order_number_reads_back)
{
	char day[11];
	int64_t id = 0;

	ck_assert_int_eq(labels_order_no_parse("20261206-000123", &id, day), 0);
	ck_assert_int_eq(id, 123);
	ck_assert_str_eq(day, "2026-12-06");
	ck_assert_int_eq(labels_order_no_parse("20261206-1234567", &id, day), 0);
	ck_assert_int_eq(id, 1234567);
	ck_assert_int_eq(labels_order_no_parse("20261206000123", &id, day), -1);
	ck_assert_int_eq(labels_order_no_parse("2026120-0000123", &id, day), -1);
	ck_assert_int_eq(labels_order_no_parse("20261206-000000", &id, day), -1);
	ck_assert_int_eq(labels_order_no_parse("20261206-", &id, day), -1);
	ck_assert_int_eq(labels_order_no_parse("20261206-12a", &id, day), -1);
	ck_assert_int_eq(labels_order_no_parse("20261206-1234567890123456789", &id, day), -1);
	ck_assert_int_eq(labels_order_no_parse(NULL, &id, day), -1);
}
END_TEST

START_TEST(test_order_number)
{
	char out[LABELS_ORDER_NO_MAX];

	ck_assert_int_eq(labels_order_no("2026-12-06 09:15:00", 123, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "20261206-000123");
	ck_assert_int_eq(labels_order_no("2026-01-31 23:59:59.999", 1234567, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "20260131-1234567");
	ck_assert_int_eq(labels_order_no("2026-01-31", INT64_MAX, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "20260131-9223372036854775807");
	ck_assert_int_eq(labels_order_no("2026/01/31", 5, out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(labels_order_no("2026-0a-31", 5, out, sizeof(out)), -1);
	ck_assert_int_eq(labels_order_no(NULL, 5, out, sizeof(out)), -1);
	ck_assert_int_eq(labels_order_no("2026-01-31", 0, out, sizeof(out)), -1);
	ck_assert_int_eq(labels_order_no("2026-01-31", 5, out, 10), -1);
	ck_assert_str_eq(out, "");
}
END_TEST

/* The reconciliation console's words: every run status, finding class and action a run
 * writes (lib/shop/reconcile.c and reconcile_repair.c) reads in Korean. */
START_TEST(test_reconcile_words_for_every_status_class_and_action)
{
	static const char *const statuses[] = { "running", "done", "failed" };
	static const char *const actions[] = { "none", "report", "marked_paid", "canceled_at_pg",
		"refund_recorded", "would_mark_paid", "would_cancel_at_pg",
		"would_record_refund" };
	size_t i;

	for (i = 0; i < RECON_CLASS__MAX; i++) {
		const char *code = reconcile_class_name((enum recon_class)i);

		ck_assert_msg(labels_find(LABEL_RECON_CLASS, code) != NULL, "no label for %s", code);
		ck_assert(has_hangul(labels_text(LABEL_RECON_CLASS, code)));
	}
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		ck_assert(has_hangul(labels_text(LABEL_RECON_STATUS, statuses[i])));
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		ck_assert_msg(labels_find(LABEL_RECON_ACTION, actions[i]) != NULL, "%s", actions[i]);
		ck_assert(has_hangul(labels_text(LABEL_RECON_ACTION, actions[i])));
	}
	ck_assert_str_eq(labels_text(LABEL_RECON_CLASS, "missing_here"), "우리 쪽 누락");
	ck_assert_str_eq(labels_tone(LABEL_RECON_STATUS, "failed"), "danger");
}
END_TEST

Suite *
labels_suite(void)
{
	Suite *s = suite_create("labels");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_order_status_and_method_has_korean_words);
	tcase_add_test(tc, test_unknown_codes_never_echo_the_code);
	tcase_add_test(tc, test_nth_lists_a_kind_in_table_order);
	tcase_add_test(tc, test_ledger_words_for_every_kind_code_and_account);
	tcase_add_test(tc, test_reconcile_words_for_every_status_class_and_action);
	tcase_add_test(tc, test_order_number);
	tcase_add_test(tc, test_order_number_reads_back);
	suite_add_tcase(s, tc);
	return s;
}
