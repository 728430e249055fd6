/* check_db: the MariaDB wrapper against the stack's server: binding and results, errors,
 * deadlock reruns, rollback, reconnection after KILL and after a server restart. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/conf.h"
#include "infra/db.h"
#include "suites.h"

#define BLOB_LEN (64 * 1024)

static struct conf *t_conf;
static struct db *t_db;
static struct arena *t_arena;

static const char sql_rt_drop[] = "DROP TABLE IF EXISTS t_db_rt";
static const char sql_rt_create[] =
    "CREATE TABLE t_db_rt (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, i BIGINT NULL,"
    " s VARCHAR(255) NULL, b MEDIUMBLOB NULL) ENGINE=InnoDB";
static const char sql_rt_insert[] = "INSERT INTO t_db_rt (i, s, b) VALUES (?, ?, ?)";
static const char sql_rt_select[] = "SELECT id, i, s, b FROM t_db_rt ORDER BY id";
static const char sql_rt_by_s[] = "SELECT id FROM t_db_rt WHERE s = ?";
static const char sql_rt_by_i[] = "SELECT id FROM t_db_rt WHERE i = ?";
static const char sql_rt_none[] = "SELECT id, i, s, b FROM t_db_rt WHERE id < 0";
static const char sql_rt_count[] = "SELECT COUNT(*) FROM t_db_rt";
static const char sql_rt_touch[] = "UPDATE t_db_rt SET i = i WHERE id = ?";

static const char sql_log_drop[] = "DROP TABLE IF EXISTS t_db_log";
static const char sql_log_create[] =
    "CREATE TABLE t_db_log (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " tag VARCHAR(32) NOT NULL UNIQUE) ENGINE=InnoDB";
static const char sql_log_insert[] = "INSERT INTO t_db_log (tag) VALUES (?)";
static const char sql_log_count[] = "SELECT COUNT(*) FROM t_db_log";
static const char sql_log_tags[] = "SELECT tag FROM t_db_log ORDER BY tag";

static const char sql_dl_drop[] = "DROP TABLE IF EXISTS t_db_dl";
static const char sql_dl_create[] =
    "CREATE TABLE t_db_dl (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB";
static const char sql_dl_seed[] = "INSERT INTO t_db_dl (id, v) VALUES (1, 0), (2, 0)";
static const char sql_dl_bump[] = "UPDATE t_db_dl SET v = v + 1 WHERE id = ?";
static const char sql_dl_values[] = "SELECT id, v FROM t_db_dl ORDER BY id";

static const char sql_conn_id[] = "SELECT CONNECTION_ID()";
static const char sql_kill[] = "KILL CONNECTION ?";
static const char sql_conn_alive[] =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?";
static const char sql_answer[] = "SELECT 40 + ?";

static struct conf *
tconf(void)
{
	char err[256];
	struct conf *c = conf_load(test_conf_path(), err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

static void
setup(void)
{
	t_conf = tconf();
	t_db = db_new(t_conf);
	t_arena = arena_new(4096);
	ck_assert_int_eq(db_ping(t_db), 0);
}

static void
teardown(void)
{
	db_free(&t_db);
	arena_free(&t_arena);
	conf_free(&t_conf);
}

/* The single integer a one-cell query returns. */
static int64_t
tscalar(struct db *db, const char *sql, const char *types, int64_t arg)
{
	struct db_res res;

	if (types[0] == '\0')
		ck_assert_int_eq(db_query(db, t_arena, &res, sql, ""), 1);
	else
		ck_assert_int_eq(db_query(db, t_arena, &res, sql, types, arg), 1);
	ck_assert_uint_eq(res.ncols, 1);
	return db_res_i64(&res, 0, 0);
}

static void
tlog_table(void)
{
	ck_assert_int_eq(db_exec(t_db, sql_log_drop, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_log_create, ""), 0);
}

START_TEST(test_roundtrip)
{
	static const char korean[] = "장터 — 한국어 텍스트 😀";
	static const char hostile[] = "'; DROP TABLE t_db_rt; -- \\ \" \t%s%n";
	unsigned char *blob = malloc(BLOB_LEN);
	struct db_res res;
	size_t i;

	ck_assert_ptr_nonnull(blob);
	for (i = 0; i < BLOB_LEN; i++)
		blob[i] = (unsigned char)(i * 7 + 3);     /* every byte value, NULs included */
	ck_assert_int_eq(db_exec(t_db, sql_rt_drop, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_rt_create, ""), 0);

	ck_assert_int_eq(db_exec(t_db, sql_rt_insert, "isb", INT64_MIN, korean,
	    (const void *)blob, (size_t)BLOB_LEN), 1);
	ck_assert_int_eq(db_last_insert_id(t_db), 1);
	ck_assert_int_eq(db_exec(t_db, sql_rt_insert, "isn", INT64_MAX, (const char *)NULL), 1);
	ck_assert_int_eq(db_last_insert_id(t_db), 2);
	ck_assert_int_eq(db_exec(t_db, sql_rt_insert, "isb", (int64_t)0, hostile,
	    (const void *)"", (size_t)0), 1);
	ck_assert_int_eq(db_last_insert_id(t_db), 3);
	ck_assert_int_eq(db_exec(t_db, sql_rt_insert, "nsb", "", (const void *)NULL, (size_t)5),
	    1);

	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_rt_select, ""), 4);
	ck_assert_uint_eq(res.nrows, 4);
	ck_assert_uint_eq(res.ncols, 4);

	ck_assert_int_eq(db_res_i64(&res, 0, 0), 1);
	ck_assert_int_eq(db_res_i64(&res, 0, 1), INT64_MIN);
	ck_assert_str_eq(db_res_str(&res, 0, 1), "-9223372036854775808");
	ck_assert_str_eq(db_res_str(&res, 0, 2), korean);
	ck_assert_uint_eq(res.lens[0 * 4 + 2], strlen(korean));
	ck_assert_uint_eq(res.lens[0 * 4 + 3], BLOB_LEN);
	ck_assert_int_eq(memcmp(db_res_str(&res, 0, 3), blob, BLOB_LEN), 0);

	ck_assert_int_eq(db_res_i64(&res, 1, 1), INT64_MAX);
	ck_assert(db_res_null(&res, 1, 2));
	ck_assert_ptr_null(db_res_str(&res, 1, 2));
	ck_assert_int_eq(db_res_i64(&res, 1, 2), 0);
	ck_assert(db_res_null(&res, 1, 3));

	ck_assert_int_eq(db_res_i64(&res, 2, 1), 0);
	ck_assert_str_eq(db_res_str(&res, 2, 2), hostile);
	ck_assert(!db_res_null(&res, 2, 3));
	ck_assert_str_eq(db_res_str(&res, 2, 3), "");
	ck_assert_uint_eq(res.lens[2 * 4 + 3], 0);

	ck_assert(db_res_null(&res, 3, 1));
	ck_assert_str_eq(db_res_str(&res, 3, 2), "");
	ck_assert(!db_res_null(&res, 3, 2));
	ck_assert(db_res_null(&res, 3, 3));

	/* Parameters compare as values, not as SQL. */
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_rt_by_s, "s", korean), 1);
	ck_assert_int_eq(db_res_i64(&res, 0, 0), 1);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_rt_by_s, "s", hostile), 1);
	ck_assert_int_eq(db_res_i64(&res, 0, 0), 3);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_rt_by_i, "i", INT64_MIN), 1);
	ck_assert_int_eq(db_res_i64(&res, 0, 0), 1);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_rt_by_s, "s", "장터"), 0);
	ck_assert_uint_eq(res.nrows, 0);

	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_rt_none, ""), 0);
	ck_assert_uint_eq(res.nrows, 0);
	ck_assert_uint_eq(res.ncols, 4);
	ck_assert_int_eq(tscalar(t_db, sql_rt_count, "", 0), 4);

	/* An UPDATE counts the rows its WHERE matched, even when nothing changed. */
	ck_assert_int_eq(db_exec(t_db, sql_rt_touch, "i", (int64_t)2), 1);
	ck_assert_int_eq(db_exec(t_db, sql_rt_touch, "i", (int64_t)999), 0);

	/* Rows a db_exec'd SELECT returns are counted and dropped; the connection stays usable. */
	ck_assert_int_eq(db_exec(t_db, sql_rt_select, ""), 4);
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 2), 42);
	free(blob);
}
END_TEST

/* A row read through a descriptor: by column name, whatever the SELECT's order, with enum
 * spellings and fixed arrays checked; a missing column or a value that does not fit fails. */
struct rt_row {
	int64_t id;
	int small;
	bool flag;
	const char *s;
	char word[8];
	int color;
};

static const char *const rt_colors[] = { "red", "green", "blue" };

static const struct db_field rt_fields[] = {
	DB_FIELD(struct rt_row, id, DB_F_I64, "id"),
	DB_FIELD(struct rt_row, small, DB_F_INT, "small"),
	DB_FIELD(struct rt_row, flag, DB_F_BOOL, "flag"),
	DB_FIELD(struct rt_row, s, DB_F_STR, "s"),
	DB_FIELD(struct rt_row, word, DB_F_CHARS, "word"),
	DB_ENUM(struct rt_row, color, "color", rt_colors, 3),
	DB_FIELDS_END,
};

static const char sql_map_ok[] =
    "SELECT 'blue' AS color, NULL AS s, 7 AS id, 'abc' AS word, 1 AS flag, -3 AS small";
static const char sql_map_enum[] =
    "SELECT 'pink' AS color, 's' AS s, 1 AS id, 'abc' AS word, 0 AS flag, 0 AS small";
static const char sql_map_long[] =
    "SELECT 'red' AS color, 's' AS s, 1 AS id, 'abcdefgh' AS word, 0 AS flag, 0 AS small";
static const char sql_map_big[] =
    "SELECT 'red' AS color, 's' AS s, 1 AS id, 'a' AS word, 0 AS flag, 4294967296 AS small";
static const char sql_map_missing[] =
    "SELECT 'red' AS color, 1 AS id, 'a' AS word, 0 AS flag, 0 AS small";

START_TEST(test_columns_by_name)
{
	struct rt_row row;
	struct db_res res;

	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_map_ok, ""), 1);
	ck_assert_uint_eq(db_res_col(&res, "id"), 2);
	ck_assert_int_eq(db_col_i64(&res, 0, "small"), -3);
	ck_assert_str_eq(db_col_str(&res, 0, "word"), "abc");
	ck_assert(db_col_null(&res, 0, "s"));
	memset(&row, 0x55, sizeof(row));
	ck_assert_int_eq(db_res_map(&res, 0, rt_fields, &row), 0);
	ck_assert_int_eq(row.id, 7);
	ck_assert_int_eq(row.small, -3);
	ck_assert(row.flag);
	ck_assert_ptr_null(row.s);
	ck_assert_str_eq(row.word, "abc");
	ck_assert_int_eq(row.color, 2);

	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_map_enum, ""), 1);
	ck_assert_int_eq(db_res_map(&res, 0, rt_fields, &row), DB_ERR);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_map_long, ""), 1);
	ck_assert_int_eq(db_res_map(&res, 0, rt_fields, &row), DB_ERR);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_map_big, ""), 1);
	ck_assert_int_eq(db_res_map(&res, 0, rt_fields, &row), DB_ERR);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_map_missing, ""), 1);
	ck_assert_int_eq(db_res_map(&res, 0, rt_fields, &row), DB_ERR);
}
END_TEST

START_TEST(test_programming_errors)
{
	struct db_res res;

	/* Parameter count and type string disagree: DB_ERR, nothing sent, no crash. */
	ck_assert_int_eq(db_exec(t_db, sql_answer, "ii", (int64_t)1, (int64_t)2), DB_ERR);
	ck_assert_int_eq(db_exec(t_db, sql_answer, ""), DB_ERR);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_answer, "", 0), DB_ERR);
	ck_assert_uint_eq(res.nrows, 0);
	ck_assert_int_eq(db_exec(t_db, sql_answer, "x", (int64_t)1), DB_ERR);
	/* SQL the server rejects. */
	ck_assert_int_eq(db_exec(t_db, "SELEC 1", ""), DB_ERR);
	ck_assert_uint_eq(db_errno(t_db), 1064);
	ck_assert_int_eq(db_exec(t_db, "SELECT * FROM t_db_no_such_table", ""), DB_ERR);
	ck_assert_uint_eq(db_errno(t_db), 1146);
	ck_assert_ptr_nonnull(strstr(db_error(t_db), "t_db_no_such_table"));
	/* Strict mode: out-of-range values are errors, not silent clamps. */
	ck_assert_int_eq(db_exec(t_db, sql_log_drop, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_log_create, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_log_insert, "s", "0123456789012345678901234567890123"),
	    DB_ERR);
	ck_assert_uint_eq(db_errno(t_db), 1406);
	/* The connection survived all of it. */
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 2), 42);
}
END_TEST

START_TEST(test_dup)
{
	tlog_table();
	ck_assert_int_eq(db_exec(t_db, sql_log_insert, "s", "order-1"), 1);
	ck_assert_int_eq(db_exec(t_db, sql_log_insert, "s", "order-1"), DB_DUP);
	ck_assert_uint_eq(db_errno(t_db), 1062);
	ck_assert_int_eq(db_exec(t_db, sql_log_insert, "s", "order-2"), 1);
	ck_assert_int_eq(tscalar(t_db, sql_log_count, "", 0), 2);
}
END_TEST

START_TEST(test_stmt_cache)
{
	static char bufs[300][16];
	char reused[16] = "SELECT 1";
	size_t i;

	/* More distinct statements than the cache holds: evictions must not break anything. */
	for (i = 0; i < 300; i++) {
		memcpy(bufs[i], "SELECT 40 + ?", sizeof("SELECT 40 + ?"));
		ck_assert_int_eq(tscalar(t_db, bufs[i], "i", (int64_t)i), 40 + (int64_t)i);
	}
	for (i = 0; i < 300; i += 37)
		ck_assert_int_eq(tscalar(t_db, bufs[i], "i", (int64_t)i), 40 + (int64_t)i);
	/* The same buffer holding another statement is a different statement. */
	ck_assert_int_eq(tscalar(t_db, reused, "", 0), 1);
	memcpy(reused, "SELECT 2", sizeof("SELECT 2"));
	ck_assert_int_eq(tscalar(t_db, reused, "", 0), 2);
	memcpy(reused, "SELEC 3", sizeof("SELEC 3"));
	ck_assert_int_eq(db_exec(t_db, reused, ""), DB_ERR);
	memcpy(reused, "SELECT 4", sizeof("SELECT 4"));
	ck_assert_int_eq(tscalar(t_db, reused, "", 0), 4);
}
END_TEST

START_TEST(test_exec_once)
{
	char sql[128];

	/* Texts built at run time, as the migration runner reads them from sql/. */
	memcpy(sql, "DROP TABLE IF EXISTS t_db_once", sizeof("DROP TABLE IF EXISTS t_db_once"));
	ck_assert_int_eq(db_exec_once(t_db, sql), 0);
	memcpy(sql, "CREATE TABLE t_db_once (id INT PRIMARY KEY)",
	    sizeof("CREATE TABLE t_db_once (id INT PRIMARY KEY)"));
	ck_assert_int_eq(db_exec_once(t_db, sql), 0);
	memcpy(sql, "INSERT INTO t_db_once VALUES (1), (2)",
	    sizeof("INSERT INTO t_db_once VALUES (1), (2)"));
	ck_assert_int_eq(db_exec_once(t_db, sql), 2);
	ck_assert_int_eq(db_exec_once(t_db, sql), DB_DUP);
	memcpy(sql, "SELECT id FROM t_db_once", sizeof("SELECT id FROM t_db_once"));
	ck_assert_int_eq(db_exec_once(t_db, sql), 2);
	memcpy(sql, "SELECT ?", sizeof("SELECT ?"));
	ck_assert_int_eq(db_exec_once(t_db, sql), DB_ERR);
	memcpy(sql, "CREATE TABLE t_db_once (id INT)", sizeof("CREATE TABLE t_db_once (id INT)"));
	ck_assert_int_eq(db_exec_once(t_db, sql), DB_ERR);
	ck_assert_uint_eq(db_errno(t_db), 1050);
	ck_assert_int_eq(db_exec_once(t_db, "DROP TABLE t_db_once"), 0);
}
END_TEST

/* ---- transactions ------------------------------------------------------------------------ */

struct tx_arg {
	int rc;          /* what fn returns after its inserts */
	int runs;
	struct db *killer; /* when set: kill fn's connection during its first run */
};

/* Kills victim's connection from killer and waits until the server has dropped it. */
static void
tkill(struct db *victim, struct db *killer)
{
	int64_t id = tscalar(victim, sql_conn_id, "", 0);
	int i;

	ck_assert_int_eq(db_exec(killer, sql_kill, "i", id), 0);
	for (i = 0; i < 300; i++) {
		if (tscalar(killer, sql_conn_alive, "i", id) == 0)
			return;
		usleep(10 * 1000);
	}
	ck_abort_msg("connection %lld still there after KILL", (long long)id);
}

static int
tx_insert_two(struct db *db, void *p)
{
	struct tx_arg *a = p;
	int64_t rc;

	a->runs++;
	rc = db_exec(db, sql_log_insert, "s", "tx-1");
	if (rc < 0)
		return (int)rc;
	if (a->killer != NULL && a->runs == 1)
		tkill(db, a->killer);
	rc = db_exec(db, sql_log_insert, "s", "tx-2");
	if (rc < 0)
		return (int)rc;
	return a->rc;
}

static int
tx_nested(struct db *db, void *p)
{
	return db_tx(db, tx_insert_two, p);
}

START_TEST(test_tx_commit_rollback)
{
	struct tx_arg arg = { .rc = -7 };
	struct db *other = db_new(t_conf);
	struct db_res res;

	tlog_table();
	ck_assert(!db_in_tx(t_db));
	/* fn fails after two inserts: nothing stays. */
	ck_assert_int_eq(db_tx(t_db, tx_insert_two, &arg), -7);
	ck_assert_int_eq(arg.runs, 1);
	ck_assert(!db_in_tx(t_db));
	ck_assert_int_eq(tscalar(other, sql_log_count, "", 0), 0);

	/* A duplicate inside: fn passes DB_DUP on, the first insert is rolled back too. */
	ck_assert_int_eq(db_exec(t_db, sql_log_insert, "s", "tx-2"), 1);
	arg.rc = 0;
	arg.runs = 0;
	ck_assert_int_eq(db_tx(t_db, tx_insert_two, &arg), DB_DUP);
	ck_assert_int_eq(arg.runs, 1);
	ck_assert_int_eq(db_query(other, t_arena, &res, sql_log_tags, ""), 1);
	ck_assert_str_eq(db_res_str(&res, 0, 0), "tx-2");
	ck_assert_int_eq(db_exec(t_db, sql_log_drop, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_log_create, ""), 0);

	/* A nested db_tx is refused; the outer one rolls back. */
	arg.runs = 0;
	ck_assert_int_eq(db_tx(t_db, tx_nested, &arg), DB_ERR);
	ck_assert_int_eq(arg.runs, 0);

	/* fn succeeds: both rows are visible to another connection. */
	ck_assert_int_eq(db_tx(t_db, tx_insert_two, &arg), 0);
	ck_assert_int_eq(arg.runs, 1);
	ck_assert_int_eq(db_query(other, t_arena, &res, sql_log_tags, ""), 2);
	ck_assert_str_eq(db_res_str(&res, 0, 0), "tx-1");
	ck_assert_str_eq(db_res_str(&res, 1, 0), "tx-2");
	db_free(&other);
	ck_assert_ptr_null(other);
}
END_TEST

/* Two processes update rows 1 and 2 in opposite orders; each tells the other once it holds its
 * first row and waits for the other's word, so their first runs are certain to deadlock. */
struct dl_arg {
	int64_t first;
	int64_t second;
	int tell;            /* write end: "I hold my first row" */
	int wait;            /* read end: the other holds its first row */
	int runs;
};

static int
dl_fn(struct db *db, void *p)
{
	struct dl_arg *a = p;
	struct pollfd pfd;
	char c = 'x';
	int64_t rc;

	a->runs++;
	rc = db_exec(db, sql_dl_bump, "i", a->first);
	if (rc != 1)
		return rc < 0 ? (int)rc : DB_ERR;
	if (a->runs == 1) {
		if (write(a->tell, &c, 1) != 1)
			return DB_ERR;
		pfd.fd = a->wait;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) != 1 || read(a->wait, &c, 1) != 1)
			return DB_ERR;
	}
	rc = db_exec(db, sql_dl_bump, "i", a->second);
	if (rc != 1)
		return rc < 0 ? (int)rc : DB_ERR;
	return 0;
}

/* Child process: its own connection (opened after fork), one db_tx; exits with the number of
 * runs it took, or 100 + the failure. */
static void
dl_child(int64_t first, int64_t second, int tell, int wait)
{
	struct dl_arg a = { first, second, tell, wait, 0 };
	struct conf *c = tconf();
	struct db *db = db_new(c);
	int rc = db_tx(db, dl_fn, &a);

	db_free(&db);
	conf_free(&c);
	_exit(rc == 0 ? a.runs : 100 - rc);
}

START_TEST(test_deadlock_reruns)
{
	int ab[2], ba[2], status[2];
	pid_t pid[2];
	struct db_res res;
	int i;

	ck_assert_int_eq(db_exec(t_db, sql_dl_drop, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_dl_create, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_dl_seed, ""), 2);
	ck_assert_int_eq(pipe(ab), 0);
	ck_assert_int_eq(pipe(ba), 0);
	pid[0] = fork();
	ck_assert_int_ge(pid[0], 0);
	if (pid[0] == 0)
		dl_child(1, 2, ab[1], ba[0]);
	pid[1] = fork();
	ck_assert_int_ge(pid[1], 0);
	if (pid[1] == 0)
		dl_child(2, 1, ba[1], ab[0]);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status[i], 0), pid[i]);
		ck_assert(WIFEXITED(status[i]));
		status[i] = WEXITSTATUS(status[i]);
		ck_assert_msg(status[i] < 100, "child %d failed: %d", i, status[i] - 100);
	}
	/* One was the deadlock victim and ran twice; both committed. */
	ck_assert_int_eq(status[0] + status[1], 3);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_dl_values, ""), 2);
	ck_assert_int_eq(db_res_i64(&res, 0, 1), 2);
	ck_assert_int_eq(db_res_i64(&res, 1, 1), 2);
	for (i = 0; i < 2; i++) {
		close(ab[i]);
		close(ba[i]);
	}
}
END_TEST

/* ---- stored procedures ----------------------------------------------------------------------- */

/* Writes a t_db_log row, then refuses before its result set (refuse 1), after it (2), or
 * answers the row (0); its own transaction when tx is 1, as jt_checkout's p_tx. */
static const char sql_proc_create[] =
    "CREATE OR REPLACE PROCEDURE t_db_proc(IN p_tx BOOL, IN p_tag VARCHAR(32), IN p_refuse INT)\n"
    "MODIFIES SQL DATA\n"
    "BEGIN\n"
    "  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN IF p_tx THEN ROLLBACK; END IF; RESIGNAL; END;\n"
    "  IF p_tx THEN START TRANSACTION; END IF;\n"
    "  INSERT INTO t_db_log (tag) VALUES (p_tag);\n"
    "  IF p_refuse = 1 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sold out'; END IF;\n"
    "  SELECT id, tag FROM t_db_log WHERE tag = p_tag;\n"
    "  IF p_refuse = 2 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'late refusal'; END IF;\n"
    "  IF p_tx THEN COMMIT; END IF;\n"
    "END";
static const char sql_proc_drop[] = "DROP PROCEDURE IF EXISTS t_db_proc";
static const char sql_proc_call[] = "CALL t_db_proc(?, ?, ?)";

/* A CALL that refuses inside db_tx: the transaction is rolled back, the refusal passed on. */
static int
tx_call_refused(struct db *db, void *p)
{
	int64_t rc;

	(void)p;
	rc = db_exec(db, sql_log_insert, "s", "tx-before");
	if (rc < 0)
		return (int)rc;
	rc = db_exec(db, sql_proc_call, "isi", (int64_t)0, "tx-in", (int64_t)1);
	return rc < 0 ? (int)rc : DB_ERR;
}

START_TEST(test_call)
{
	struct db_res res;

	tlog_table();
	ck_assert_int_eq(db_exec(t_db, sql_proc_create, ""), 0);

	/* A CALL answering a row; the connection takes the next statement. */
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_proc_call, "isi", (int64_t)1, "p-a",
	    (int64_t)0), 1);
	ck_assert_str_eq(db_col_str(&res, 0, "tag"), "p-a");
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 2), 42);
	/* db_exec of it: its rows counted and dropped. */
	ck_assert_int_eq(db_exec(t_db, sql_proc_call, "isi", (int64_t)1, "p-b", (int64_t)0), 1);
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 1), 41);

	/* A SIGNAL before the result set: DB_REFUSED with its text, nothing written. */
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_proc_call, "isi", (int64_t)1, "p-c",
	    (int64_t)1), DB_REFUSED);
	ck_assert_str_eq(db_error(t_db), "sold out");
	ck_assert_uint_eq(db_errno(t_db), 1644);
	ck_assert_uint_eq(res.nrows, 0);
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 0), 40);
	/* A SIGNAL after the result set: the rows already sent are not an answer. */
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_proc_call, "isi", (int64_t)1, "p-d",
	    (int64_t)2), DB_REFUSED);
	ck_assert_str_eq(db_error(t_db), "late refusal");
	ck_assert_uint_eq(res.nrows, 0);
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 0), 40);
	ck_assert_int_eq(tscalar(t_db, sql_log_count, "", 0), 2);

	/* db_tx1: one round trip, same answers; a duplicate is DB_DUP and rolled back. */
	ck_assert_int_eq(db_tx1(t_db, t_arena, &res, sql_proc_call, "isi", (int64_t)1, "p-e",
	    (int64_t)0), 1);
	ck_assert_str_eq(db_col_str(&res, 0, "tag"), "p-e");
	ck_assert_int_eq(db_tx1(t_db, NULL, NULL, sql_proc_call, "isi", (int64_t)1, "p-e",
	    (int64_t)0), DB_DUP);
	ck_assert_int_eq(db_tx1(t_db, t_arena, &res, sql_proc_call, "isi", (int64_t)1, "p-f",
	    (int64_t)1), DB_REFUSED);
	ck_assert(!db_in_tx(t_db));
	ck_assert_int_eq(tscalar(t_db, sql_log_count, "", 0), 3);

	/* Inside db_tx (p_tx 0): the refusal rolls back what the transaction wrote before. */
	ck_assert_int_eq(db_tx(t_db, tx_call_refused, NULL), DB_REFUSED);
	ck_assert_str_eq(db_error(t_db), "sold out");
	ck_assert_int_eq(tscalar(t_db, sql_log_count, "", 0), 3);
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_log_tags, ""), 3);
	ck_assert_str_eq(db_res_str(&res, 2, 0), "p-e");
	ck_assert_int_eq(db_exec(t_db, sql_proc_drop, ""), 0);
}
END_TEST

/* Bumps row p_first, waits, bumps p_second, in its own transaction: two CALLs in opposite
 * orders deadlock. */
static const char sql_dl_proc_create[] =
    "CREATE OR REPLACE PROCEDURE t_db_dl_proc(IN p_first BIGINT, IN p_second BIGINT)\n"
    "MODIFIES SQL DATA\n"
    "BEGIN\n"
    "  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;\n"
    "  START TRANSACTION;\n"
    "  UPDATE t_db_dl SET v = v + 1 WHERE id = p_first;\n"
    "  DO SLEEP(0.3);\n"
    "  UPDATE t_db_dl SET v = v + 1 WHERE id = p_second;\n"
    "  COMMIT;\n"
    "END";
static const char sql_dl_proc_call[] = "CALL t_db_dl_proc(?, ?)";

/* Child: waits for the start (the pipe closed), then one db_tx1 CALL; exits 0 or 100 + the
 * failure. */
static void
dl1_child(int64_t first, int64_t second, int start)
{
	struct conf *c = tconf();
	struct db *db = db_new(c);
	char ch;
	int64_t rc = db_ping(db) == 0 ? 0 : DB_ERR;

	if (rc == 0 && read(start, &ch, 1) != 0)
		rc = DB_ERR;
	if (rc == 0)
		rc = db_tx1(db, NULL, NULL, sql_dl_proc_call, "ii", first, second);
	db_free(&db);
	conf_free(&c);
	_exit(rc >= 0 ? 0 : (int)(100 - rc));
}

START_TEST(test_tx1_deadlock_reruns)
{
	struct db_res res;
	int start[2], status, i;
	pid_t pid[2];

	ck_assert_int_eq(db_exec(t_db, sql_dl_drop, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_dl_create, ""), 0);
	ck_assert_int_eq(db_exec(t_db, sql_dl_seed, ""), 2);
	ck_assert_int_eq(db_exec(t_db, sql_dl_proc_create, ""), 0);
	ck_assert_int_eq(pipe(start), 0);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			close(start[1]);
			dl1_child(i == 0 ? 1 : 2, i == 0 ? 2 : 1, start[0]);
		}
	}
	close(start[0]);
	close(start[1]);   /* both go */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) == 0, "child %d failed: %d", i,
		    WEXITSTATUS(status) - 100);
	}
	/* The deadlock's victim was rolled back whole and rerun: both CALLs counted once. */
	ck_assert_int_eq(db_query(t_db, t_arena, &res, sql_dl_values, ""), 2);
	ck_assert_int_eq(db_res_i64(&res, 0, 1), 2);
	ck_assert_int_eq(db_res_i64(&res, 1, 1), 2);
	ck_assert_int_eq(db_exec(t_db, "DROP PROCEDURE t_db_dl_proc", ""), 0);
}
END_TEST

/* ---- reconnection -------------------------------------------------------------------------- */

START_TEST(test_reconnect_after_kill)
{
	struct db *killer = db_new(t_conf);
	int64_t before, after;

	tlog_table();
	ck_assert_int_eq(db_exec(t_db, sql_log_insert, "s", "before"), 1);   /* now cached */
	before = tscalar(t_db, sql_conn_id, "", 0);
	tkill(t_db, killer);
	/* Outside a transaction: reconnected and sent once. */
	ck_assert_int_eq(db_exec(t_db, sql_log_insert, "s", "after"), 1);
	after = tscalar(t_db, sql_conn_id, "", 0);
	ck_assert_int_ne(before, after);
	ck_assert_int_eq(tscalar(killer, sql_log_count, "", 0), 2);
	db_free(&killer);
}
END_TEST

START_TEST(test_reconnect_inside_tx)
{
	struct tx_arg arg = { .rc = 0 };
	struct db_res res;

	tlog_table();
	arg.killer = db_new(t_conf);
	/* The first run loses its connection after one insert; the rerun commits both rows. */
	ck_assert_int_eq(db_tx(t_db, tx_insert_two, &arg), 0);
	ck_assert_int_eq(arg.runs, 2);
	ck_assert(!db_in_tx(t_db));
	ck_assert_int_eq(db_query(arg.killer, t_arena, &res, sql_log_tags, ""), 2);
	ck_assert_str_eq(db_res_str(&res, 0, 0), "tx-1");
	ck_assert_str_eq(db_res_str(&res, 1, 0), "tx-2");
	db_free(&arg.killer);
}
END_TEST

/* The run directory of the stack: $JT_RUN, else the directory of db.socket. */
static int
trun_dir(char *out, size_t len)
{
	const char *env = getenv("JT_RUN");
	const char *sock = conf_str(t_conf, CONF_DB_SOCKET);
	const char *slash = strrchr(sock, '/');

	if (env != NULL && env[0] == '/') {
		ck_assert_int_lt(snprintf(out, len, "%s", env), (int)len);
		return 0;
	}
	if (slash == NULL || slash == sock || (size_t)(slash - sock) >= len)
		return -1;
	memcpy(out, sock, (size_t)(slash - sock));
	out[slash - sock] = '\0';
	return 0;
}

/* Runs function fn of script/svc/<script> with JT_RUN set, as the stack would. 0 on success. */
static int
tsvc(const char *script, const char *fn)
{
	const char *srcdir = getenv("JT_SRCDIR");
	char run[512], path[1024];
	pid_t pid;
	int status;

#ifdef JT_SRCDIR
	if (srcdir == NULL)
		srcdir = JT_SRCDIR;
#endif
	if (srcdir == NULL || trun_dir(run, sizeof(run)) == -1)
		return -1;
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/script/svc/%s", srcdir, script),
	    (int)sizeof(path));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* The server outlives this child: it must hold none of the test's descriptors, and
		 * must leave the test's process group, which Check kills when the test ends. */
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		close_range(3, ~0U, 0);
		setsid();
		setenv("JT_RUN", run, 1);
		execl("/bin/bash", "bash", "-c", "set -euo pipefail; source \"$1\"; \"$2\"", "bash",
		    path, fn, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static double
tnow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_ping_after_restart)
{
	struct db *idle = db_new(t_conf);
	int stop_rc, start_rc, ping_down, exec_down;
	double t0, down_secs;
	char run[512];

	if (trun_dir(run, sizeof(run)) == -1) {
		fprintf(stderr, "check_db: no run directory (JT_RUN, db.socket): restart not tested\n");
		db_free(&idle);
		return;
	}
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 2), 42);     /* a cached statement */
	ck_assert_int_eq(tscalar(idle, sql_answer, "i", 1), 41);

	/* Record everything while the server is down, restart it, then assert. */
	stop_rc = tsvc("mariadb.sh", "mariadb_stop");
	t0 = tnow();
	ping_down = db_ping(t_db);
	exec_down = (int)db_exec(t_db, sql_answer, "i", (int64_t)0);
	down_secs = tnow() - t0;
	start_rc = tsvc("mariadb.sh", "mariadb_start");

	ck_assert_int_eq(stop_rc, 0);
	ck_assert_int_eq(start_rc, 0);
	ck_assert_int_eq(ping_down, -1);
	ck_assert_int_eq(exec_down, DB_ERR);
	ck_assert_msg(down_secs < 2.0, "calls against a stopped server took %.2f s", down_secs);
	ck_assert_int_eq(db_ping(t_db), 0);
	ck_assert_int_eq(tscalar(t_db, sql_answer, "i", 2), 42);
	/* A handle idle across the restart reconnects on its next statement. */
	ck_assert_int_eq(tscalar(idle, sql_answer, "i", 3), 43);
	db_free(&idle);
}
END_TEST

/* The MariaDB wrapper's suite (needs the stack's server; see JT_TEST_CONF). */
Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_columns_by_name);
	tcase_add_test(tc, test_programming_errors);
	tcase_add_test(tc, test_dup);
	tcase_add_test(tc, test_stmt_cache);
	tcase_add_test(tc, test_exec_once);
	tcase_add_test(tc, test_tx_commit_rollback);
	tcase_add_test(tc, test_deadlock_reruns);
	tcase_add_test(tc, test_call);
	tcase_add_test(tc, test_tx1_deadlock_reruns);
	tcase_add_test(tc, test_reconnect_after_kill);
	tcase_add_test(tc, test_reconnect_inside_tx);
	tcase_add_test(tc, test_ping_after_restart);
	suite_add_tcase(s, tc);
	return s;
}
