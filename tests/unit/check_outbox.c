/* check_outbox: migrations apply once; outbox claims are exclusive, expire, complete once. */
#include <check.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/conf.h"
#include "infra/db.h"
#include "infra/migrate.h"
#include "infra/outbox.h"
#include "suites.h"

#ifndef JT_SRCDIR
#define JT_SRCDIR "."
#endif

static struct conf *conf;
static struct db *db;
static struct arena *arena;

static void
setup(void)
{
	char err[256];

	conf = conf_load(test_conf_path(), err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s", err);
	db = db_new(conf);
	arena = arena_new(4096);
	ck_assert_int_ge(migrate_run(db, JT_SRCDIR "/sql"), 0);
	ck_assert_int_ge(db_exec(db, "DELETE FROM job_echo_effects", ""), 0);
	ck_assert_int_ge(db_exec(db, "DELETE FROM outbox", ""), 0);
}

static void
teardown(void)
{
	arena_free(&arena);
	db_free(&db);
	conf_free(&conf);
}

START_TEST(test_migrate_is_idempotent)
{
	struct db_res res;

	ck_assert_int_eq(migrate_run(db, JT_SRCDIR "/sql"), 0);
	ck_assert_int_eq(db_query(db, arena, &res,
	    "SELECT COUNT(*) FROM schema_migrations WHERE version IN (1, 2)", ""), 1);
	ck_assert_int_eq(db_res_i64(&res, 0, 0), 2);
	ck_assert_int_eq(migrate_run(db, "/nonexistent"), -1);
}
END_TEST

START_TEST(test_claim_is_exclusive_and_completes_once)
{
	struct outbox_claim a, b;
	int64_t id = outbox_add(db, JOB_ECHO, "{\"message\":\"x\",\"sleep_ms\":0}");

	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 5, &a), OUTBOX_CLAIMED);
	ck_assert_int_eq(a.id, id);
	ck_assert_int_eq(a.kind, JOB_ECHO);
	ck_assert_str_eq(a.payload, "{\"message\":\"x\",\"sleep_ms\":0}");
	ck_assert_int_eq(a.attempts, 1);
	ck_assert_int_eq(strlen(a.token), 24);
	/* held by a: nobody else gets it */
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 5, &b), OUTBOX_NOT_MINE);
	ck_assert_int_eq(outbox_complete(db, &a), 1);
	ck_assert_int_eq(outbox_complete(db, &a), 0);
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 5, &b), OUTBOX_NOT_MINE);
	ck_assert_int_eq(outbox_claim(db, arena, 999999999, 30, 5, &b), OUTBOX_NOT_MINE);
}
END_TEST

START_TEST(test_expired_claim_is_taken_over)
{
	struct outbox_claim a, b;
	struct bus_job due[10];
	int64_t id = outbox_add(db, JOB_ECHO, "{}");

	ck_assert_int_eq(outbox_claim(db, arena, id, 1, 5, &a), OUTBOX_CLAIMED);
	ck_assert_int_eq(outbox_due(db, arena, 0, 10, due), 0);
	usleep(1200000);
	ck_assert_int_eq(outbox_due(db, arena, 0, 10, due), 1);
	ck_assert_int_eq(due[0].outbox_id, id);
	ck_assert_int_eq(due[0].kind, JOB_ECHO);
	/* The janitor requeues it: pending again, not due again within the grace period. */
	ck_assert_int_eq(outbox_requeue(db, id), 1);
	ck_assert_int_eq(outbox_requeue(db, id), 1);  /* still due with no grace: idempotent */
	ck_assert_int_eq(outbox_due(db, arena, 60000, 10, due), 0);
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 5, &b), OUTBOX_CLAIMED);
	ck_assert_int_eq(b.attempts, 2);
	ck_assert_str_ne(a.token, b.token);
	ck_assert_int_eq(outbox_requeue(db, id), 0);  /* held by b: not due */
	/* the first holder's late completion is refused; the second one's counts */
	ck_assert_int_eq(outbox_complete(db, &a), 0);
	ck_assert_int_eq(outbox_complete(db, &b), 1);
}
END_TEST

START_TEST(test_release_retry_and_dead)
{
	struct outbox_claim a;
	struct bus_job due[10];
	int64_t id = outbox_add(db, JOB_ECHO, "{}");

	ck_assert_int_eq(outbox_due(db, arena, 0, 10, due), 1);
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 2, &a), OUTBOX_CLAIMED);
	/* released with a delay: not due, not claimable yet */
	ck_assert_int_eq(outbox_release(db, &a, 60000, "boom"), 1);
	ck_assert_int_eq(outbox_due(db, arena, 0, 10, due), 0);
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 2, &a), OUTBOX_NOT_MINE);
	ck_assert_int_eq(db_exec(db, "UPDATE outbox SET available_at = NOW(3) WHERE id = ?", "i",
	    id), 1);
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 2, &a), OUTBOX_CLAIMED);
	ck_assert_int_eq(a.attempts, 2);
	ck_assert_int_eq(outbox_release(db, &a, 0, "boom again"), 1);
	/* two attempts used: the third claim buries it */
	ck_assert_int_eq(outbox_claim(db, arena, id, 30, 2, &a), OUTBOX_DEAD);
	ck_assert_int_eq(outbox_due(db, arena, 0, 10, due), 0);
}
END_TEST

Suite *
outbox_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("db");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_migrate_is_idempotent);
	tcase_add_test(tc, test_claim_is_exclusive_and_completes_once);
	tcase_add_test(tc, test_expired_claim_is_taken_over);
	tcase_add_test(tc, test_release_retry_and_dead);
	suite_add_tcase(s, tc);
	return s;
}
