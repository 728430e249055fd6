/* check_delivery: what a shopper types into an address (each field judged on its own, the
 * phone formatted), the shipping fee rule, and the fulfilment inputs (couriers, tracking
 * numbers). Pure: no server. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
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
	suite_add_tcase(s, tc);
	return s;
}
