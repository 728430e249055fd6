/* check_delivery: what a shopper types into an address (each field judged on its own, the
 * phone formatted), the shipping fee rule, and the fulfilment inputs (couriers, tracking
 * numbers), the staff's bulk upload parser, the parcel notices' payloads. Pure: no server. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "infra/payload.h"
#include "shop/addresses.h"
#include "shop/fulfilment.h"
#include "shop/shipping.h"
#include "suites.h"

/* Checks one typed address; returns the check's result, out and errors filled. */
static int
check_one(struct arena *a, const char *label, const char *recipient, const char *phone,
    const char *zipcode, const char *address1, const char *address2, const char *memo,
    struct address *out, const char *errors[ADDRESS_FIELD__MAX])
{
	const char *in[ADDRESS_FIELD__MAX] = {
		[ADDRESS_LABEL] = label, [ADDRESS_RECIPIENT] = recipient, [ADDRESS_PHONE] = phone,
		[ADDRESS_ZIPCODE] = zipcode, [ADDRESS_ADDRESS1] = address1,
		[ADDRESS_ADDRESS2] = address2, [ADDRESS_MEMO] = memo,
	};

	return addresses_check(a, in, out, errors);
}

START_TEST(test_a_good_address_is_tidied)
{
	struct arena *a = arena_new(1024);
	const char *errors[ADDRESS_FIELD__MAX];
	struct address ad;
	int f;

	ck_assert_int_eq(check_one(a, NULL, "  김장터 ", "010 1234 5678", "03925",
	    "서울특별시 마포구 월드컵북로 396", NULL, "", &ad, errors), 0);
	for (f = 0; f < ADDRESS_FIELD__MAX; f++)
		ck_assert_ptr_null(errors[f]);
	ck_assert_str_eq(ad.f[ADDRESS_RECIPIENT], "김장터");
	ck_assert_str_eq(ad.f[ADDRESS_PHONE], "010-1234-5678");
	ck_assert_str_eq(ad.f[ADDRESS_LABEL], "");
	ck_assert_str_eq(ad.f[ADDRESS_ADDRESS2], "");
	ck_assert_int_eq(check_one(a, "집", "이장터", "02-123-4567", "06236", "강남대로 1", "",
	    "", &ad, errors), 0);
	ck_assert_str_eq(ad.f[ADDRESS_PHONE], "02-123-4567");
	ck_assert_int_eq(check_one(a, "", "박", "0311234567", "06236", "x", "", "", &ad, errors),
	    0);
	ck_assert_str_eq(ad.f[ADDRESS_PHONE], "031-123-4567");
	ck_assert_int_eq(check_one(a, "", "박", "031.1234.5678", "06236", "x", "", "", &ad,
	    errors), 0);
	ck_assert_str_eq(ad.f[ADDRESS_PHONE], "031-1234-5678");
	arena_free(&a);
}
END_TEST

START_TEST(test_each_wrong_field_gets_its_own_message)
{
	struct arena *a = arena_new(1024);
	const char *errors[ADDRESS_FIELD__MAX];
	struct address ad;
	char long_memo[200];

	memset(long_memo, 'a', 51);
	long_memo[51] = '\0';
	ck_assert_int_eq(check_one(a, NULL, "", "1234", "0392", NULL, NULL, long_memo, &ad, errors),
	    -1);
	ck_assert_ptr_null(errors[ADDRESS_LABEL]);
	ck_assert_str_eq(errors[ADDRESS_RECIPIENT], "받는 분 이름을 1~20자로 입력해 주세요.");
	ck_assert_str_eq(errors[ADDRESS_PHONE], "연락처를 010-1234-5678처럼 숫자로 입력해 주세요.");
	ck_assert_str_eq(errors[ADDRESS_ZIPCODE], "우편번호 5자리 숫자를 입력해 주세요.");
	ck_assert_str_eq(errors[ADDRESS_ADDRESS1], "주소를 입력해 주세요 (100자까지).");
	ck_assert_ptr_null(errors[ADDRESS_ADDRESS2]);
	ck_assert_str_eq(errors[ADDRESS_MEMO], "배송 메모는 50자까지 입력해 주세요.");
	/* Phones: a letter, too few or too many digits, no leading 0, a Seoul number too short. */
	ck_assert_int_eq(check_one(a, "", "김", "010-12a4-5678", "03925", "x", "", "", &ad, errors),
	    -1);
	ck_assert_int_eq(check_one(a, "", "김", "01012345", "03925", "x", "", "", &ad, errors), -1);
	ck_assert_int_eq(check_one(a, "", "김", "010123456789", "03925", "x", "", "", &ad, errors),
	    -1);
	ck_assert_int_eq(check_one(a, "", "김", "1012345678", "03925", "x", "", "", &ad, errors), -1);
	/* Zip codes: five digits only. */
	ck_assert_int_eq(check_one(a, "", "김", "01012345678", "0392a", "x", "", "", &ad, errors),
	    -1);
	ck_assert_int_eq(check_one(a, "", "김", "01012345678", "039255", "x", "", "", &ad, errors),
	    -1);
	/* Control characters are no text. */
	ck_assert_int_eq(check_one(a, "", "김\x01", "01012345678", "03925", "x", "", "", &ad,
	    errors), -1);
	ck_assert_ptr_nonnull(errors[ADDRESS_RECIPIENT]);
	arena_free(&a);
}
END_TEST

START_TEST(test_the_fee_rule)
{
	struct shipping_rule r = { 3000, 30000 }, free_all = { 0, 30000 }, never_free = { 3500, 0 };

	ck_assert_int_eq(shipping_fee(29999, &r), 3000);
	ck_assert_int_eq(shipping_fee(30000, &r), 0);        /* the threshold itself ships free */
	ck_assert_int_eq(shipping_fee(0, &r), 0);            /* no goods, no parcel */
	ck_assert_int_eq(shipping_fee(100000, &free_all), 0);
	ck_assert_int_eq(shipping_fee(1, &free_all), 0);
	ck_assert_int_eq(shipping_fee(1000000000, &never_free), 3500);
}
END_TEST

/* The checkout's quote from rules it read with its prices: one parcel per seller, each under
 * its seller's own columns over the shop's (-1: the shop's). */
START_TEST(test_a_quote_from_rules_read_with_the_prices)
{
	struct arena *a = arena_new(1024);
	struct shipping_rule shop = { 3000, 30000 }, rules[4];
	const int64_t sellers[4] = { 7, 5, 7, 0 }, amounts[4] = { 20000, 1000, 15000, 999 };
	struct shipping_quote q;

	shipping_rule_seller(&shop, -1, -1, &rules[0]);     /* seller 7: the shop's rule */
	shipping_rule_seller(&shop, 2500, -1, &rules[1]);   /* seller 5: its own fee */
	rules[2] = rules[0];
	rules[3] = rules[0];                                 /* seller 0: left out */
	ck_assert_int_eq(rules[1].fee, 2500);
	ck_assert_int_eq(rules[1].free_over, 30000);
	ck_assert_int_eq(shipping_quote_rules(a, sellers, amounts, rules, 4, &q), 0);
	ck_assert_uint_eq(q.n, 2);
	ck_assert_int_eq(q.parcels[0].seller_id, 5);
	ck_assert_int_eq(q.parcels[0].fee, 2500);
	ck_assert_int_eq(q.parcels[1].seller_id, 7);
	ck_assert_int_eq(q.parcels[1].goods, 35000);
	ck_assert_int_eq(q.parcels[1].fee, 0);              /* over the shop's threshold */
	ck_assert_int_eq(q.goods, 36000);
	ck_assert_int_eq(q.fees, 2500);
	ck_assert_int_eq(q.total, 38500);
	arena_free(&a);
}
END_TEST

START_TEST(test_couriers_and_tracking_numbers)
{
	ck_assert(fulfilment_courier_valid("cj"));
	ck_assert(fulfilment_courier_valid("epost"));
	ck_assert(!fulfilment_courier_valid("ups"));
	ck_assert(!fulfilment_courier_valid("CJ"));
	ck_assert(!fulfilment_courier_valid(NULL));
	ck_assert(fulfilment_tracking_valid("123456789012"));
	ck_assert(fulfilment_tracking_valid("AB-12345"));
	ck_assert(!fulfilment_tracking_valid("12345"));                /* too short */
	ck_assert(!fulfilment_tracking_valid("1234567890123456789012345678901")); /* 31 */
	ck_assert(!fulfilment_tracking_valid("123 456 789"));
	ck_assert(!fulfilment_tracking_valid("12<script>"));
	ck_assert(!fulfilment_tracking_valid(NULL));
	ck_assert_str_eq(fulfilment_status_name(DELIVERY_RETURN_REQUESTED), "RETURN_REQUESTED");
}
END_TEST

/* Parses text; returns the row count (or -1) with rows and err. */
static int64_t
bulk(struct arena *a, const char *text, struct fulfilment_bulk_row **rows, const char **err)
{
	*err = NULL;
	return fulfilment_bulk_parse(a, text, strlen(text), rows, err);
}

START_TEST(test_the_bulk_upload_is_read_row_by_row)
{
	struct arena *a = arena_new(4096);
	struct fulfilment_bulk_row *rows;
	const char *err;

	/* a BOM, a Korean header, CRLF, spaces, a blank line, a bad row, a long field */
	ck_assert_int_eq(bulk(a, "\xEF\xBB\xBF주문번호,판매자,택배사,운송장번호\r\n"
	    " 20261206-000123 , 1 ,CJ대한통운, 123456789012\r\n"
	    "\r\n"
	    "abc,2,cj\n"
	    "x,1,cj,1234567890123456789012345678901234567890123456789012345678901234567890\n"
	    "pub1234,3,hanjin,AB-12345", &rows, &err), 4);
	ck_assert_uint_eq(rows[0].line, 2);
	ck_assert_str_eq(rows[0].order, "20261206-000123");
	ck_assert_str_eq(rows[0].seller, "1");
	ck_assert_str_eq(rows[0].courier, "CJ대한통운");
	ck_assert_str_eq(rows[0].tracking_no, "123456789012");
	ck_assert_ptr_null(rows[0].problem);
	ck_assert_uint_eq(rows[1].line, 4);
	ck_assert_ptr_nonnull(rows[1].problem);
	ck_assert_str_eq(rows[1].order, "");
	ck_assert_uint_eq(rows[2].line, 5);
	ck_assert_ptr_nonnull(rows[2].problem);
	ck_assert_uint_eq(rows[3].line, 6);
	ck_assert_str_eq(rows[3].tracking_no, "AB-12345");
	/* an English header is skipped too; a header alone is no rows */
	ck_assert_int_eq(bulk(a, "order_no,seller,courier,tracking\nA1,1,cj,1234567\n", &rows,
	    &err), 1);
	ck_assert_int_eq(bulk(a, "주문번호,판매자,택배사,운송장번호\n", &rows, &err), -1);
	ck_assert_str_eq(err, "올린 내용에 배송 행이 없습니다.");
	ck_assert_int_eq(bulk(a, "", &rows, &err), -1);
	ck_assert_int_eq(fulfilment_bulk_parse(a, "a,1,cj,1234567\0x", 16, &rows, &err), -1);
	ck_assert_int_eq(bulk(a, "a,1,cj,\xff\xfe\n", &rows, &err), -1);
	/* a control character inside a line (a CR not at its end, an escape): the row is refused */
	ck_assert_int_eq(bulk(a, "a\r,1,cj,1234567\nb,1,cj,12\x1b[31m34567\r\n", &rows, &err), 2);
	ck_assert_ptr_nonnull(rows[0].problem);
	ck_assert_str_eq(rows[0].order, "");
	ck_assert_ptr_nonnull(rows[1].problem);
	arena_free(&a);
}
END_TEST

START_TEST(test_the_bulk_upload_has_a_row_limit)
{
	struct arena *a = arena_new(4096);
	struct fulfilment_bulk_row *rows;
	char *text = malloc(FULFILMENT_BULK_ROWS_MAX * 20 + 40);
	const char *err;
	size_t i, n = 0;

	for (i = 0; i < FULFILMENT_BULK_ROWS_MAX; i++)
		n += (size_t)sprintf(text + n, "o%zu,1,cj,1234567\n", i);
	ck_assert_int_eq(fulfilment_bulk_parse(a, text, n, &rows, &err),
	    FULFILMENT_BULK_ROWS_MAX);
	n += (size_t)sprintf(text + n, "one,1,cj,1234567\n");
	ck_assert_int_eq(fulfilment_bulk_parse(a, text, n, &rows, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(text);
	arena_free(&a);
}
END_TEST

START_TEST(test_parcel_notices_carry_the_seller_courier_and_number)
{
	struct arena *a = arena_new(1024);
	struct payload_notify in = { .order_id = "abc123", .event = PAYLOAD_EVENT_SHIPPED,
		.seller_id = 7, .courier = "cj", .tracking_no = "123456789012" }, out;
	const char *text = payload_notify_build(a, &in);

	ck_assert_str_eq(text, "{\"orderId\":\"abc123\",\"event\":\"shipped\",\"sellerId\":7,"
	    "\"courier\":\"cj\",\"trackingNo\":\"123456789012\"}");
	ck_assert_int_eq(payload_notify_parse(a, text, &out), 0);
	ck_assert_int_eq(out.event, PAYLOAD_EVENT_SHIPPED);
	ck_assert_int_eq(out.seller_id, 7);
	ck_assert_str_eq(out.courier, "cj");
	ck_assert_str_eq(out.tracking_no, "123456789012");
	ck_assert_int_eq(payload_notify_parse(a,
	    "{\"orderId\":\"abc\",\"event\":\"delivered\",\"sellerId\":3}", &out), 0);
	ck_assert_int_eq(out.event, PAYLOAD_EVENT_DELIVERED);
	ck_assert_ptr_null(out.courier);
	/* a shipped notice without its number, a delivered one with one, a paid one with a
	 * seller: refused */
	ck_assert_int_eq(payload_notify_parse(a,
	    "{\"orderId\":\"abc\",\"event\":\"shipped\",\"sellerId\":3,\"courier\":\"cj\"}",
	    &out), -1);
	ck_assert_int_eq(payload_notify_parse(a, "{\"orderId\":\"abc\",\"event\":\"delivered\","
	    "\"sellerId\":3,\"trackingNo\":\"1234567\"}", &out), -1);
	ck_assert_int_eq(payload_notify_parse(a,
	    "{\"orderId\":\"abc\",\"event\":\"paid\",\"sellerId\":3}", &out), -1);
	ck_assert_int_eq(payload_notify_parse(a,
	    "{\"orderId\":\"abc\",\"event\":\"delivered\",\"sellerId\":0}", &out), -1);
	arena_free(&a);
}
END_TEST

Suite *
delivery_suite(void)
{
	Suite *s = suite_create("delivery");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_a_good_address_is_tidied);
	tcase_add_test(tc, test_each_wrong_field_gets_its_own_message);
	tcase_add_test(tc, test_the_fee_rule);
	tcase_add_test(tc, test_a_quote_from_rules_read_with_the_prices);
	tcase_add_test(tc, test_couriers_and_tracking_numbers);
	tcase_add_test(tc, test_the_bulk_upload_is_read_row_by_row);
	tcase_add_test(tc, test_the_bulk_upload_has_a_row_limit);
	tcase_add_test(tc, test_parcel_notices_carry_the_seller_courier_and_number);
	suite_add_tcase(s, tc);
	return s;
}
