/* check_outbox: migrations apply once; outbox claims (in batches) are exclusive, expire, are
 * given back unspent, complete once; spent jobs are buried. */
#include <check.h>
#include <stdbool.h>
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

/* The status of job id, in the arena. */
static const char *
status_of(int64_t id)
{
	struct db_res res;

	ck_assert_int_eq(db_query(db, arena, &res, "SELECT status FROM outbox WHERE id = ?", "i",
	    id), 1);
	return db_res_str(&res, 0, 0);
}

START_TEST(test_claim_is_exclusive_and_completes_once)
{
	struct outbox_claim a[4], b[4];
	int64_t id = outbox_add(db, JOB_ECHO, "{\"message\":\"x\",\"sleep_ms\":0}");
	int i;

	ck_assert_int_gt(id, 0);
	/* another kind's claim does not see it */
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_NOTIFY, 4, 30, 5, a), 0);
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 4, 30, 5, a), 1);
	ck_assert_int_eq(a[0].id, id);
	ck_assert_int_eq(a[0].kind, JOB_ECHO);
	ck_assert_int_eq(a[0].attempts, 1);
	ck_assert_str_eq(a[0].payload, "{\"message\":\"x\",\"sleep_ms\":0}");
	/* held: no second claim, and claims that find nothing spend no attempt (a worker woken
	 * many times for one job) */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 4, 30, 5, b), 0);
	ck_assert_int_eq(outbox_reap(db), 0);   /* not expired */
	ck_assert_int_eq(outbox_bury(db, 1), 0);  /* held, not pending */
	ck_assert_int_eq(outbox_complete(db, &a[0]), 1);
	ck_assert_int_eq(outbox_complete(db, &a[0]), 0);
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 4, 30, 5, b), 0);
	ck_assert_str_eq(status_of(id), "done");
}
END_TEST

START_TEST(test_expired_claim_is_taken_over)
{
	struct outbox_claim a, b;
	int64_t id = outbox_add(db, JOB_ECHO, "{}");

	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 1, 1, 5, &a), 1);
	ck_assert_int_eq(outbox_reap(db), 0);
	usleep(1200000);
	/* The janitor reaps it: pending and due again, the next claim takes it */
	ck_assert_int_eq(outbox_reap(db), 1);
	ck_assert_int_eq(outbox_reap(db), 0);
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 1, 30, 5, &b), 1);
	ck_assert_int_eq(b.id, id);
	ck_assert_int_eq(b.attempts, 2);
	ck_assert_str_ne(a.token, b.token);
	ck_assert_int_eq(outbox_reap(db), 0);  /* held by b */
	/* the first holder's late completion is refused; the second one's counts */
	ck_assert_int_eq(outbox_complete(db, &a), 0);
	ck_assert_int_eq(outbox_complete(db, &b), 1);
}
END_TEST

START_TEST(test_release_retry_and_dead)
{
	struct outbox_claim a;
	struct db_res res;
	int64_t id = outbox_add(db, JOB_ECHO, "{}");

	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 1, 30, 2, &a), 1);
	/* released with a delay: not claimable yet */
	ck_assert_int_eq(outbox_release(db, &a, 60000, "boom"), 1);
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 1, 30, 2, &a), 0);
	ck_assert_int_eq(db_exec(db, "UPDATE outbox SET available_at = NOW(3) WHERE id = ?", "i",
	    id), 1);
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 1, 30, 2, &a), 1);
	ck_assert_int_eq(a.attempts, 2);
	ck_assert_int_eq(outbox_release(db, &a, 0, "boom again"), 1);
	/* two attempts used: no claim takes it, the janitor buries it, keeping the last error */
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 1, 30, 2, &a), 0);
	ck_assert_int_eq(outbox_bury(db, 3), 0);
	ck_assert_int_eq(outbox_bury(db, 2), 1);
	ck_assert_int_eq(db_query(db, arena, &res,
	    "SELECT status, last_error FROM outbox WHERE id = ?", "i", id), 1);
	ck_assert_str_eq(db_res_str(&res, 0, 0), "dead");
	ck_assert_str_eq(db_res_str(&res, 0, 1), "too many attempts; last: boom again");
}
END_TEST

START_TEST(test_batch_oldest_first_and_unclaim)
{
	struct outbox_claim a[OUTBOX_BATCH_MAX], b[OUTBOX_BATCH_MAX];
	int64_t ids[5];
	int i;

	for (i = 0; i < 5; i++)
		ids[i] = outbox_add(db, JOB_ECHO, "{}");
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, 3, 30, 5, a), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(a[i].id, ids[i]);
		ck_assert_str_eq(a[i].token, a[0].token);
	}
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, OUTBOX_BATCH_MAX, 30, 5, b), 2);
	ck_assert_int_eq(b[0].id, ids[3]);
	ck_assert_int_eq(b[1].id, ids[4]);
	ck_assert_str_ne(a[0].token, b[0].token);
	/* the first batch ran one job; the two it did not run go back unspent */
	ck_assert_int_eq(outbox_complete(db, &a[0]), 1);
	ck_assert_int_eq(outbox_unclaim(db, a[0].token), 2);
	ck_assert_int_eq(outbox_unclaim(db, a[0].token), 0);
	ck_assert_int_eq(outbox_complete(db, &a[1]), 0);  /* given back: no longer ours */
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_ECHO, OUTBOX_BATCH_MAX, 30, 5, a), 2);
	ck_assert_int_eq(a[0].id, ids[1]);
	ck_assert_int_eq(a[0].attempts, 1);
	ck_assert_int_eq(a[1].id, ids[2]);
	ck_assert_str_eq(status_of(ids[0]), "done");
}
END_TEST

/* outbox_finish_some of some[0..2) as a db_tx function. */
struct finish_arg {
	const struct outbox_claim **some;
	bool lost;
};

static int
finish_tx(struct db *d, void *arg)
{
	struct finish_arg *f = arg;

	return outbox_finish_some(d, arena, f->some, 2, &f->lost);
}

START_TEST(test_batch_completions)
{
	struct outbox_claim a[OUTBOX_BATCH_MAX];
	const struct outbox_claim *some[2];
	struct finish_arg f = { NULL, false };
	int64_t ids[4];
	bool lost;
	int i;

	for (i = 0; i < 4; i++)
		ids[i] = outbox_add(db, JOB_SETTLE, "{}");
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_SETTLE, 4, 30, 5, a), 4);
	/* the first one given back unspent, the second released for a retry */
	ck_assert_int_eq(outbox_unclaim_one(db, &a[0]), 1);
	ck_assert_int_eq(outbox_unclaim_one(db, &a[0]), 0);
	ck_assert_int_eq(outbox_release(db, &a[1], 60000, "later"), 1);
	/* two of the batch completed by id in one statement; a lost one refuses the lot */
	some[0] = &a[2];
	some[1] = &a[1];
	f.some = some;
	ck_assert_int_eq(db_tx(db, finish_tx, &f), DB_ABORT);
	ck_assert(f.lost);
	ck_assert_str_eq(status_of(ids[2]), "claimed");  /* rolled back */
	some[1] = &a[3];
	ck_assert_int_eq(db_tx(db, finish_tx, &f), 0);
	ck_assert(!f.lost);
	ck_assert_str_eq(status_of(ids[0]), "pending");
	ck_assert_str_eq(status_of(ids[1]), "pending");
	ck_assert_str_eq(status_of(ids[2]), "done");
	ck_assert_str_eq(status_of(ids[3]), "done");
	/* a whole batch by its token: exactly n or nothing */
	ck_assert_int_eq(outbox_claim_batch(db, arena, JOB_SETTLE, 4, 30, 5, a), 1);
	ck_assert_int_eq(a[0].id, ids[0]);
	ck_assert_int_eq(a[0].attempts, 1);  /* the unspent claim took its attempt back */
	ck_assert_int_eq(outbox_finish_batch(db, &a[0], 2, &lost), DB_ABORT);
	ck_assert(lost);
	ck_assert_str_eq(status_of(ids[0]), "done");  /* the caller rolls back; no transaction here */
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
	tcase_add_test(tc, test_batch_oldest_first_and_unclaim);
	tcase_add_test(tc, test_batch_completions);
	suite_add_tcase(s, tc);
	return s;
}
