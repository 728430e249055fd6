/* check_hostport: host[:port] entries and lists (db.host, redis.sentinels), and the parsers of
 * the Sentinel answers in lib/infra/redis.c. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "base/hostport.h"
#include "infra/redis.h"
#include "suites.h"

static void
parse_ok(const char *entry, const char *want_host, unsigned want_port)
{
	char host[HOSTPORT_HOST_MAX];
	unsigned port = 0;

	ck_assert_msg(hostport_parse(entry, strlen(entry), 3306, host, sizeof(host), &port) == 0,
	    "refused: \"%s\"", entry);
	ck_assert_str_eq(host, want_host);
	ck_assert_uint_eq(port, want_port);
}

START_TEST(test_parse)
{
	static const char *const bad[] = {
		"", " ", ":3306", "db1:", "db1:0", "db1:65536", "db1:99999", "db1:-1", "db1:3x06",
		"db1:+1", "db1:123456", "[::1", "[::1]x", "[::1]:", "[]:1", "db1: 3306x",
	};
	char host[8];
	unsigned port;
	size_t i;

	parse_ok("db1", "db1", 3306);
	parse_ok(" db1 ", "db1", 3306);
	parse_ok("10.0.0.31:3307", "10.0.0.31", 3307);
	parse_ok("db1:1", "db1", 1);
	parse_ok("db1:65535", "db1", 65535);
	parse_ok("[fd00::1]:3308", "fd00::1", 3308);
	parse_ok("[fd00::1]", "fd00::1", 3306);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(hostport_parse(bad[i], strlen(bad[i]), 3306, host, sizeof(host),
		    &port) == -1, "accepted: \"%s\"", bad[i]);
	/* A host longer than the buffer is refused, not cut. */
	ck_assert_int_eq(hostport_parse("abcdefgh", 8, 1, host, sizeof(host), &port), -1);
	ck_assert_int_eq(hostport_parse("abcdefg", 7, 1, host, sizeof(host), &port), 0);
	/* len bounds the entry: the rest of the string is not read. */
	ck_assert_int_eq(hostport_parse("db1:3307,db2", 8, 1, host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "db1");
	ck_assert_uint_eq(port, 3307);
}
END_TEST

START_TEST(test_list)
{
	const char *cursor = " db1 , 10.0.0.32:3307,[fd00::3]:3308";
	char host[HOSTPORT_HOST_MAX];
	unsigned port;

	ck_assert_int_eq(hostport_next(&cursor, 3306, host, sizeof(host), &port), 1);
	ck_assert_str_eq(host, "db1");
	ck_assert_uint_eq(port, 3306);
	ck_assert_int_eq(hostport_next(&cursor, 3306, host, sizeof(host), &port), 1);
	ck_assert_str_eq(host, "10.0.0.32");
	ck_assert_uint_eq(port, 3307);
	ck_assert_int_eq(hostport_next(&cursor, 3306, host, sizeof(host), &port), 1);
	ck_assert_str_eq(host, "fd00::3");
	ck_assert_uint_eq(port, 3308);
	ck_assert_int_eq(hostport_next(&cursor, 3306, host, sizeof(host), &port), 0);
	ck_assert_int_eq(hostport_next(&cursor, 3306, host, sizeof(host), &port), 0);

	cursor = "db1,,db2";
	ck_assert_int_eq(hostport_next(&cursor, 1, host, sizeof(host), &port), 1);
	ck_assert_int_eq(hostport_next(&cursor, 1, host, sizeof(host), &port), -1);
	cursor = "";
	ck_assert_int_eq(hostport_next(&cursor, 1, host, sizeof(host), &port), 0);
	cursor = "db1:x";
	ck_assert_int_eq(hostport_next(&cursor, 1, host, sizeof(host), &port), -1);
}
END_TEST

/* ---- Sentinel answers -------------------------------------------------------------------- */

static redisReply *
str_reply(int type, const char *s)
{
	redisReply *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	r->type = type;
	r->str = strdup(s);
	r->len = strlen(s);
	return r;
}

/* An array reply of n elements (owned by it). */
static redisReply *
array_reply(size_t n, redisReply **elements)
{
	redisReply *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = calloc(n == 0 ? 1 : n, sizeof(*r->element));
	if (n > 0)
		memcpy(r->element, elements, n * sizeof(*elements));
	return r;
}

/* The answer to SENTINEL get-master-addr-by-name with these two strings. */
static redisReply *
addr_reply(const char *host, const char *port)
{
	redisReply *e[2] = { str_reply(REDIS_REPLY_STRING, host),
	    str_reply(REDIS_REPLY_STRING, port) };

	return array_reply(2, e);
}

START_TEST(test_sentinel_addr)
{
	static const char *const bad[][2] = {
		{ "", "6379" }, { "10.0.0.41", "" }, { "10.0.0.41", "0" }, { "10.0.0.41", "65536" },
		{ "10.0.0.41", "63x9" }, { "10.0.0.41:1", "6379" }, { "a,b", "6379" },
		{ "10.0.0.41", "-1" },
	};
	char host[HOSTPORT_HOST_MAX], small[6];
	redisReply *r, *e[3];
	int port = 0;
	size_t i;

	r = addr_reply("10.0.0.42", "6379");
	ck_assert_int_eq(redis_sentinel_parse_addr(r, host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "10.0.0.42");
	ck_assert_int_eq(port, 6379);
	/* A host that does not fit is refused, not cut. */
	ck_assert_int_eq(redis_sentinel_parse_addr(r, small, sizeof(small), &port), -1);
	freeReplyObject(r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = addr_reply(bad[i][0], bad[i][1]);
		ck_assert_msg(redis_sentinel_parse_addr(r, host, sizeof(host), &port) == -1,
		    "accepted %s %s", bad[i][0], bad[i][1]);
		freeReplyObject(r);
	}
	/* The Sentinel does not know the name: a nil reply. An error, one string, three. */
	r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_NIL;
	ck_assert_int_eq(redis_sentinel_parse_addr(r, host, sizeof(host), &port), -1);
	freeReplyObject(r);
	r = str_reply(REDIS_REPLY_ERROR, "ERR unknown command");
	ck_assert_int_eq(redis_sentinel_parse_addr(r, host, sizeof(host), &port), -1);
	freeReplyObject(r);
	e[0] = str_reply(REDIS_REPLY_STRING, "10.0.0.42");
	r = array_reply(1, e);
	ck_assert_int_eq(redis_sentinel_parse_addr(r, host, sizeof(host), &port), -1);
	freeReplyObject(r);
	e[0] = str_reply(REDIS_REPLY_STRING, "10.0.0.42");
	e[1] = str_reply(REDIS_REPLY_STRING, "6379");
	e[2] = str_reply(REDIS_REPLY_STRING, "x");
	r = array_reply(3, e);
	ck_assert_int_eq(redis_sentinel_parse_addr(r, host, sizeof(host), &port), -1);
	freeReplyObject(r);
	ck_assert_int_eq(redis_sentinel_parse_addr(NULL, host, sizeof(host), &port), -1);
}
END_TEST

START_TEST(test_role)
{
	redisReply *e[3], *r;

	e[0] = str_reply(REDIS_REPLY_STRING, "master");
	e[1] = calloc(1, sizeof(redisReply));
	e[1]->type = REDIS_REPLY_INTEGER;
	e[2] = array_reply(0, NULL);
	r = array_reply(3, e);
	ck_assert_int_eq(redis_role_is_primary(r), 1);
	freeReplyObject(r);

	e[0] = str_reply(REDIS_REPLY_STRING, "slave");
	e[1] = str_reply(REDIS_REPLY_STRING, "10.0.0.41");
	r = array_reply(2, e);
	ck_assert_int_eq(redis_role_is_primary(r), 0);
	freeReplyObject(r);
	e[0] = str_reply(REDIS_REPLY_STRING, "sentinel");
	r = array_reply(1, e);
	ck_assert_int_eq(redis_role_is_primary(r), 0);
	freeReplyObject(r);
	e[0] = str_reply(REDIS_REPLY_STRING, "masterx");
	r = array_reply(1, e);
	ck_assert_int_eq(redis_role_is_primary(r), 0);
	freeReplyObject(r);
	r = str_reply(REDIS_REPLY_ERROR, "ERR");
	ck_assert_int_eq(redis_role_is_primary(r), 0);
	freeReplyObject(r);
	ck_assert_int_eq(redis_role_is_primary(NULL), 0);
}
END_TEST

Suite *
hostport_suite(void)
{
	Suite *s = suite_create("hostport");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_sentinel_addr);
	tcase_add_test(tc, test_role);
	suite_add_tcase(s, tc);
	return s;
}
