/* check_session: sessions live in Redis, slide, rotate, and refuse forged ids and tokens. */
#include <check.h>
#include <string.h>

#include "base/conf.h"
#include "infra/redis.h"
#include "shop/session.h"
#include "suites.h"

static struct conf *conf;
static struct redis *redis;

static void
setup(void)
{
	char err[256];

	conf = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	redis = redis_new(conf);
}

static void
teardown(void)
{
	redis_free(&redis);
	conf_free(&conf);
}

static long long
ttl_of(const char *id)
{
	char key[64];
	redisReply *rep;
	long long t;

	snprintf(key, sizeof(key), "sess:%s", id);
	rep = redis_cmdl(redis, "TTL", key, NULL);
	ck_assert_ptr_nonnull(rep);
	t = rep->integer;
	freeReplyObject(rep);
	return t;
}

START_TEST(test_create_load_destroy)
{
	struct session s, l;

	ck_assert_int_eq(session_create(redis, 42, "shopper", "김장터 <b>", 600, &s), 0);
	ck_assert_int_eq(strlen(s.id), SESSION_ID_LEN);
	ck_assert_int_eq(strlen(s.csrf), SESSION_ID_LEN);
	ck_assert_str_ne(s.id, s.csrf);
	ck_assert_int_eq(session_load(redis, s.id, 900, &l), 1);
	ck_assert_int_eq(l.user_id, 42);
	ck_assert_str_eq(l.role, "shopper");
	ck_assert_str_eq(l.name, "김장터 <b>");
	ck_assert_str_eq(l.csrf, s.csrf);
	/* loading slid the expiry to the new TTL */
	ck_assert_int_gt(ttl_of(s.id), 600);
	ck_assert_int_eq(session_destroy(redis, s.id), 0);
	ck_assert_int_eq(session_load(redis, s.id, 900, &l), 0);
	ck_assert_int_eq(l.user_id, 0);
}
END_TEST

START_TEST(test_guest_and_forged)
{
	struct session s, l;

	ck_assert_int_eq(session_create(redis, 0, "", "", 600, &s), 0);
	ck_assert_int_eq(session_load(redis, s.id, 600, &l), 1);
	ck_assert_int_eq(l.user_id, 0);
	ck_assert_int_eq(session_load(redis, "short", 600, &l), 0);
	ck_assert_int_eq(session_load(redis, "*:*", 600, &l), 0);
	ck_assert_int_eq(session_load(redis, NULL, 600, &l), 0);
	ck_assert_int_eq(session_load(redis, "0123456789012345678901234567890123456789", 600, &l), 0);
	session_destroy(redis, s.id);
}
END_TEST

START_TEST(test_csrf_compare)
{
	struct session s;
	char wrong[SESSION_ID_LEN + 1];

	ck_assert_int_eq(session_create(redis, 7, "admin", "관리자", 600, &s), 0);
	ck_assert(session_csrf_ok(&s, s.csrf));
	memcpy(wrong, s.csrf, sizeof(wrong));
	wrong[SESSION_ID_LEN - 1] = wrong[SESSION_ID_LEN - 1] == 'a' ? 'b' : 'a';
	ck_assert(!session_csrf_ok(&s, wrong));
	ck_assert(!session_csrf_ok(&s, ""));
	ck_assert(!session_csrf_ok(&s, NULL));
	ck_assert(!session_csrf_ok(&s, s.id));
	session_destroy(redis, s.id);
}
END_TEST

Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("redis");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_load_destroy);
	tcase_add_test(tc, test_guest_and_forged);
	tcase_add_test(tc, test_csrf_compare);
	suite_add_tcase(s, tc);
	return s;
}
