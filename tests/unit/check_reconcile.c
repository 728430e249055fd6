/* check_reconcile: the settlement-file parser (reconcile_parse_csv) and the Toss settlement
 * answer parser (pg_toss_parse_settlements) without a server: the fake PG's real shapes, and
 * every kind of malformed or hostile input refused with a reason naming the line. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/conf.h"
#include "base/money.h"
#include "clients/pg.h"
#include "clients/pg_impl.h"
#include "shop/reconcile.h"
#include "suites.h"

/* Declared in suites.h once the lead adds it there; repeated so the file stands alone. */
Suite *reconcile_suite(void);

#define HEADER "settlement_date,pg,type,payment_key,order_id,transaction_key,amount,fee,net," \
    "transaction_at\n"
#define ROW_A "2025-01-02,toss,approve,tfake_key1,order-0001,TX1,15000,495,14505," \
    "2025-01-02T10:00:00+09:00\n"
#define ROW_C "2025-01-02,toss,cancel,tfake_key1,order-0001,TX2,-5000,-165,-4835," \
    "2025-01-02T11:00:00+09:00\n"

/* Parses text as a toss file; returns 0 or -1 and leaves the reason in err. */
static int
parse(const char *text, size_t len, struct recon_file *f, char *err, size_t cap)
{
	struct arena *a = arena_new(4096);
	int rc = reconcile_parse_csv(text, len, PG_TOSS, a, f, err, cap);

	/* The rows' strings live in a: check what is needed before freeing it. */
	if (rc == 0 && f->nrows > 0)
		ck_assert_ptr_nonnull(f->rows[0].payment_key);
	reconcile_file_free(f);
	arena_free(&a);
	return rc;
}

/* Expects text to be refused with a reason containing want. */
static void
refused(const char *text, const char *want)
{
	struct recon_file f;
	char err[512];

	ck_assert_int_eq(parse(text, strlen(text), &f, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "want \"%s\" in \"%s\"", want, err);
	ck_assert_uint_eq(f.nrows, 0);
	ck_assert_ptr_null(f.rows);
}

START_TEST(test_good_file)
{
	static const char text[] = "\xef\xbb\xbf" HEADER ROW_A ROW_C;
	struct arena *a = arena_new(4096);
	struct recon_file f;
	char err[256];

	ck_assert_int_eq(reconcile_parse_csv(text, sizeof(text) - 1, PG_TOSS, a, &f, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(f.date, "2025-01-02");
	ck_assert_uint_eq(f.nrows, 2);
	ck_assert_uint_eq(f.rows[0].line, 2);
	ck_assert_int_eq(f.rows[0].type, RECON_APPROVE);
	ck_assert_str_eq(f.rows[0].payment_key, "tfake_key1");
	ck_assert_str_eq(f.rows[0].order_id, "order-0001");
	ck_assert_str_eq(f.rows[0].transaction_key, "TX1");
	ck_assert_int_eq(f.rows[0].amount, 15000);
	ck_assert_int_eq(f.rows[0].fee, 495);
	ck_assert_int_eq(f.rows[0].net, 14505);
	ck_assert_str_eq(f.rows[0].at, "2025-01-02T10:00:00+09:00");
	ck_assert_int_eq(f.rows[1].type, RECON_CANCEL);
	ck_assert_int_eq(f.rows[1].amount, -5000);
	ck_assert_int_eq(f.rows[1].net, -4835);
	reconcile_file_free(&f);
	arena_free(&a);
}
END_TEST

START_TEST(test_crlf_no_final_newline_and_header_only)
{
	static const char crlf[] = "settlement_date,pg,type,payment_key,order_id,transaction_key,"
	    "amount,fee,net,transaction_at\r\n2025-01-02,toss,approve,k,o,t,1,0,1,"
	    "2025-01-02T10:00:00\r\n2025-01-02,toss,approve,k2,o,t2,"
	    "1000000000000000,0,1000000000000000,2025-01-02T10:00:00";
	struct arena *a = arena_new(4096);
	struct recon_file f;
	char err[256];

	ck_assert_int_eq(reconcile_parse_csv(crlf, strlen(crlf), PG_TOSS, a, &f, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(f.nrows, 2);
	ck_assert_int_eq(f.rows[1].amount, MONEY_MAX);
	reconcile_file_free(&f);
	ck_assert_int_eq(reconcile_parse_csv(HEADER, strlen(HEADER), PG_KAKAOPAY, a, &f, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(f.nrows, 0);
	ck_assert_str_eq(f.date, "");
	reconcile_file_free(&f);
	arena_free(&a);
}
END_TEST

START_TEST(test_amounts_refused)
{
	refused(HEADER "2025-01-02,toss,approve,k,o,t,12.5,0,12,2025-01-02T10:00:00\n",
	    "line 2: amount \"12.5\" is not an integer");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,1e3,0,1000,2025-01-02T10:00:00\n",
	    "amount \"1e3\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,+5,0,5,2025-01-02T10:00:00\n",
	    "amount \"+5\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t, 5,0,5,2025-01-02T10:00:00\n",
	    "amount \" 5\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,05,0,5,2025-01-02T10:00:00\n",
	    "amount \"05\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,0x10,0,16,2025-01-02T10:00:00\n",
	    "amount \"0x10\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,,0,0,2025-01-02T10:00:00\n",
	    "amount \"\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,1000000000000001,0,1000000000000001,"
	    "2025-01-02T10:00:00\n", "amount \"1000000000000001\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,9223372036854775808,0,1,"
	    "2025-01-02T10:00:00\n", "is not an integer");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,5,x,5,2025-01-02T10:00:00\n",
	    "fee \"x\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,5,0,-,2025-01-02T10:00:00\n",
	    "net \"-\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,0,0,0,2025-01-02T10:00:00\n",
	    "approvals are positive");
	refused(HEADER "2025-01-02,toss,cancel,k,o,t,5,0,5,2025-01-02T10:00:00\n",
	    "cancels negative");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,100,3,98,2025-01-02T10:00:00\n",
	    "amount - fee = net does not hold");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,1000000000000000,-1000000000000000,"
	    "1000000000000000,2025-01-02T10:00:00\n", "amount - fee = net does not hold");
}
END_TEST

START_TEST(test_hostile_strings_refused)
{
	static const char nul[] = HEADER "2025-01-02,toss,approve,k\0x,o,t,1,0,1,"
	    "2025-01-02T10:00:00\n";
	char big[4096];
	struct recon_file f;
	char err[512];

	refused(HEADER "2025-01-02,toss,approve,k\x1b[2J,o,t,1,0,1,2025-01-02T10:00:00\n",
	    "line 2: byte 0x1b at column 26 is not printable ASCII");
	ck_assert_int_eq(parse(nul, sizeof(nul) - 1, &f, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "byte 0x00") != NULL, "%s", err);
	refused(HEADER "2025-01-02,toss,approve,k,\xec\xa3\xbc\xeb\xac\xb8,t,1,0,1,"
	    "2025-01-02T10:00:00\n", "byte 0xec");
	refused(HEADER "2025-01-02,toss,approve,k,o'; DROP TABLE orders; --,t,1,0,1,"
	    "2025-01-02T10:00:00\n", "order_id \"o'; DROP TABLE orders; --\"");
	refused(HEADER "2025-01-02,toss,approve,k,<script>,t,1,0,1,2025-01-02T10:00:00\n",
	    "order_id \"<script>\"");
	refused(HEADER "2025-01-02,toss,approve,a b,o,t,1,0,1,2025-01-02T10:00:00\n",
	    "payment_key \"a b\"");
	refused(HEADER "2025-01-02,toss,approve,\"k,1\",o,t,1,0,1,2025-01-02T10:00:00\n",
	    "quoted fields are not supported");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,1,0,1,2025-01-02T10:00:00,x\n",
	    "more than 10 fields");
	refused(HEADER "2025-01-02,toss\n", "2 fields, want 10");
	refused(HEADER "2025-01-02,toss,approve,k,o,,1,0,1,2025-01-02T10:00:00\n",
	    "transaction_key \"\"");
	refused(HEADER "2025-01-02,toss,approve,k,,t,1,0,1,2025-01-02T10:00:00\n",
	    "order_id \"\"");
	memset(big, 'k', sizeof(big));
	snprintf(big, sizeof(big), HEADER "2025-01-02,toss,approve,%0201d,o,t,1,0,1,"
	    "2025-01-02T10:00:00\n", 0);
	refused(big, "payment_key \"0000");
	memset(big, 0, sizeof(big));
	memcpy(big, HEADER, strlen(HEADER));
	memset(big + strlen(HEADER), 'x', 1025);
	refused(big, "line 2: longer than 1024 bytes");
}
END_TEST

START_TEST(test_structure_refused)
{
	refused("", "the file is empty");
	refused("settlement_date,pg\n", "line 1: not the settlement file header");
	refused(HEADER "\n" ROW_A, "line 2: empty line");
	refused(HEADER ROW_A "\n" ROW_C, "line 3: empty line");
	refused(HEADER ROW_A "2025-01-03,toss,approve,k,o,t9,1,0,1,2025-01-03T10:00:00\n",
	    "line 3: settlement_date 2025-01-03 differs from the file's 2025-01-02");
	refused(HEADER "2025-02-29,toss,approve,k,o,t,1,0,1,2025-02-29T10:00:00\n",
	    "settlement_date \"2025-02-29\"");
	refused(HEADER "2025-1-02,toss,approve,k,o,t,1,0,1,2025-01-02T10:00:00\n",
	    "settlement_date \"2025-1-02\"");
	refused(HEADER "2025-01-02,kakaopay,approve,k,o,t,1,0,1,2025-01-02T10:00:00\n",
	    "pg \"kakaopay\" in a toss settlement file");
	refused(HEADER "2025-01-02,toss,refund,k,o,t,1,0,1,2025-01-02T10:00:00\n",
	    "type \"refund\" is neither approve nor cancel");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,1,0,1,2025-01-02 10:00:00\n",
	    "transaction_at \"2025-01-02 10:00:00\"");
	refused(HEADER "2025-01-02,toss,approve,k,o,t,1,0,1,2025-01-32T10:00:00\n",
	    "transaction_at");
}
END_TEST

START_TEST(test_dates)
{
	ck_assert(reconcile_date_ok("2024-02-29"));
	ck_assert(reconcile_date_ok("2000-02-29"));
	ck_assert(!reconcile_date_ok("2100-02-29"));
	ck_assert(!reconcile_date_ok("2025-02-29"));
	ck_assert(!reconcile_date_ok("2025-04-31"));
	ck_assert(!reconcile_date_ok("2025-00-10"));
	ck_assert(!reconcile_date_ok("2025-12-00"));
	ck_assert(!reconcile_date_ok("1999-12-31"));
	ck_assert(!reconcile_date_ok("2025-01-02 "));
	ck_assert(!reconcile_date_ok("yesterday"));
	ck_assert(!reconcile_date_ok(""));
	ck_assert(!reconcile_date_ok(NULL));
}
END_TEST

/* The records tests/fakes/pg.py's /toss/v1/settlements answers. */
#define SETTLE_APPROVE \
	"{\"mId\":\"tjangteolocal\",\"paymentKey\":\"tfake_k1\",\"transactionKey\":\"TX1\"," \
	"\"orderId\":\"order-0001\",\"currency\":\"KRW\",\"method\":\"카드\",\"amount\":15000," \
	"\"interestFee\":0,\"fees\":[{\"type\":\"BASE\",\"fee\":495}],\"supplyAmount\":450," \
	"\"vat\":45,\"payOutAmount\":14505,\"approvedAt\":\"2025-01-02T10:00:00+09:00\"," \
	"\"soldDate\":\"2025-01-02\",\"paidOutDate\":\"2025-01-04\",\"card\":null," \
	"\"easyPay\":null,\"cancel\":null}"
#define SETTLE_CANCEL \
	"{\"paymentKey\":\"tfake_k1\",\"transactionKey\":\"TX2\",\"orderId\":\"order-0001\"," \
	"\"amount\":-5000,\"fees\":[{\"type\":\"BASE\",\"fee\":-165}],\"payOutAmount\":-4835," \
	"\"approvedAt\":\"2025-01-02T11:00:00+09:00\",\"soldDate\":\"2025-01-02\"," \
	"\"cancel\":{\"cancelAmount\":5000}}"

static int
settle(const char *body, const char *date, struct pg_settlement *rows, size_t cap, size_t *n)
{
	return pg_toss_parse_settlements(body, strlen(body), date, rows, cap, n);
}

START_TEST(test_toss_settlements)
{
	struct pg_settlement rows[3];
	size_t n = 99;

	ck_assert_int_eq(settle("[" SETTLE_APPROVE "," SETTLE_CANCEL "]", "2025-01-02", rows, 3,
	    &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[0].payment_key, "tfake_k1");
	ck_assert_str_eq(rows[0].transaction_key, "TX1");
	ck_assert_str_eq(rows[0].order_id, "order-0001");
	ck_assert(!rows[0].cancel);
	ck_assert_int_eq(rows[0].amount, 15000);
	ck_assert_int_eq(rows[0].fee, 495);
	ck_assert_int_eq(rows[0].pay_out, 14505);
	ck_assert_str_eq(rows[0].approved_at, "2025-01-02T10:00:00+09:00");
	ck_assert(rows[1].cancel);
	ck_assert_int_eq(rows[1].amount, -5000);
	ck_assert_int_eq(rows[1].fee, -165);
	ck_assert_int_eq(settle("[]", "2025-01-02", rows, 3, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* A cancel written with positive amounts is turned negative. */
	ck_assert_int_eq(settle("[{\"paymentKey\":\"k\",\"transactionKey\":\"t\","
	    "\"orderId\":\"order-0001\",\"amount\":100,\"payOutAmount\":97,\"soldDate\":"
	    "\"2025-01-02\",\"cancel\":{}}]", NULL, rows, 3, &n), 0);
	ck_assert(rows[0].cancel);
	ck_assert_int_eq(rows[0].amount, -100);
	ck_assert_int_eq(rows[0].pay_out, -97);
}
END_TEST

START_TEST(test_toss_settlements_hostile)
{
	static const char *const bad[] = {
		"", "null", "{}", "[1]", "[null]", "[" SETTLE_APPROVE "", "[" SETTLE_APPROVE "]x",
		"[{\"paymentKey\":\"k\"}]",
		"[{\"paymentKey\":\"k k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\"}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"o\","
		    "\"amount\":1,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\"}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1.5,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\"}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":\"1\",\"payOutAmount\":1,\"soldDate\":\"2025-01-02\"}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":0,\"payOutAmount\":0,\"soldDate\":\"2025-01-02\"}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1000000000000001,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\"}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1,\"payOutAmount\":1,\"soldDate\":\"2025-01-03\"}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\",\"fees\":{}}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\","
		    "\"fees\":[{\"fee\":1000000000000000},{\"fee\":1}]}]",
		"[{\"paymentKey\":\"k\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\",\"cancel\":1}]",
		"[{\"paymentKey\":\"k\\u001b\",\"transactionKey\":\"t\",\"orderId\":\"order-0001\","
		    "\"amount\":1,\"payOutAmount\":1,\"soldDate\":\"2025-01-02\"}]",
		"[{\"paymentKey\":\"k\",\"paymentKey\":\"j\",\"transactionKey\":\"t\","
		    "\"orderId\":\"order-0001\",\"amount\":1,\"payOutAmount\":1,"
		    "\"soldDate\":\"2025-01-02\"}]",
		"[" SETTLE_APPROVE "," SETTLE_APPROVE "," SETTLE_APPROVE "," SETTLE_APPROVE "]",
		NULL,
	};
	struct pg_settlement rows[3];
	size_t i, n;

	for (i = 0; bad[i] != NULL; i++) {
		n = 99;
		ck_assert_msg(settle(bad[i], "2025-01-02", rows, 3, &n) == -1, "accepted #%zu", i);
		ck_assert_uint_eq(n, 0);
	}
	n = 99;
	ck_assert_int_eq(pg_toss_parse_settlements(NULL, 0, NULL, rows, 3, &n), -1);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_settlements_argument_checks)
{
	struct pg_settlement rows[1];
	struct pg_result r;
	struct conf *c;
	struct pg *p;
	char err[64];
	size_t n = 5;

	c = conf_parse("pg.toss_secret_key = test_sk_x\npg.toss_api_url = http://127.0.0.1:1\n"
	    "pg.kakaopay_secret_key = DEV_x\n", err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	p = pg_new(c, PG_KAKAOPAY);
	ck_assert_int_eq(pg_toss_settlements(p, "2025-01-02", 1, 1, rows, &n, &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_BAD_ARGUMENT);
	ck_assert_uint_eq(n, 0);
	pg_free(&p);
	p = pg_new(c, PG_TOSS);
	ck_assert_int_eq(pg_toss_settlements(p, "2025-1-02", 1, 1, rows, &n, &r), PG_NOT_SENT);
	ck_assert_int_eq(pg_toss_settlements(p, "2025-01-02", 0, 1, rows, &n, &r), PG_NOT_SENT);
	ck_assert_int_eq(pg_toss_settlements(p, "2025-01-02", 1, PG_SETTLEMENT_PAGE_MAX + 1, rows,
	    &n, &r), PG_NOT_SENT);
	/* Port 1 refuses the connection: nothing was sent. */
	ck_assert_int_eq(pg_toss_settlements(p, "2025-01-02", 1, 1, rows, &n, &r), PG_NOT_SENT);
	ck_assert_str_eq(r.code, PG_CODE_TRANSPORT);
	pg_free(&p);
	conf_free(&c);
}
END_TEST

Suite *
reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_crlf_no_final_newline_and_header_only);
	tcase_add_test(tc, test_amounts_refused);
	tcase_add_test(tc, test_hostile_strings_refused);
	tcase_add_test(tc, test_structure_refused);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_toss_settlements);
	tcase_add_test(tc, test_toss_settlements_hostile);
	tcase_add_test(tc, test_settlements_argument_checks);
	suite_add_tcase(s, tc);
	return s;
}
