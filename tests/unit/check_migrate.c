/* check_migrate: migration files split into statements as the mariadb client reads them,
 * DELIMITER lines included (a stored procedure's body is one statement). No server. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "infra/migrate.h"
#include "suites.h"

#define MAX_STMTS 8

/* The statements migrate_split handed over, copied, with the lines they ended on. */
struct seen {
	char stmt[MAX_STMTS][512];
	int line[MAX_STMTS];
	int n;
	int stop_at;     /* stop (return 7) when handed this statement number; -1: never */
};

static int
collect(const char *stmt, int lineno, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, MAX_STMTS);
	snprintf(s->stmt[s->n], sizeof(s->stmt[0]), "%s", stmt);
	s->line[s->n] = lineno;
	return s->n++ == s->stop_at ? 7 : 0;
}

static int
split(const char *text, struct seen *s)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s", text);
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
	return migrate_split("t.sql", buf, collect, s);
}

START_TEST(test_plain_statements)
{
	struct seen s;

	ck_assert_int_eq(split("-- a comment\nCREATE TABLE a (\n  id INT\n);\n\n"
	    "  ALTER TABLE a ADD x INT;  \r\n", &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.stmt[0], "CREATE TABLE a (\nid INT\n)");
	ck_assert_int_eq(s.line[0], 4);
	ck_assert_str_eq(s.stmt[1], "ALTER TABLE a ADD x INT");
	ck_assert_int_eq(s.line[1], 6);
}
END_TEST

START_TEST(test_delimiter_procedure)
{
	struct seen s;

	ck_assert_int_eq(split("CREATE TABLE a (id INT);\n"
	    "DELIMITER $$\n"
	    "CREATE OR REPLACE PROCEDURE p(IN v INT)\n"
	    "BEGIN\n"
	    "  -- the body's own statements end with ';'\n"
	    "  INSERT INTO a VALUES (v);\n"
	    "  SELECT v;\n"
	    "END$$\n"
	    "delimiter ;\n"
	    "DROP TABLE b;\n", &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.stmt[0], "CREATE TABLE a (id INT)");
	ck_assert_str_eq(s.stmt[1], "CREATE OR REPLACE PROCEDURE p(IN v INT)\nBEGIN\n"
	    "INSERT INTO a VALUES (v);\nSELECT v;\nEND");
	ck_assert_int_eq(s.line[1], 8);
	ck_assert_str_eq(s.stmt[2], "DROP TABLE b");
}
END_TEST

START_TEST(test_refusals)
{
	struct seen s;

	/* The last statement lacks the delimiter in force ('$$' after the DELIMITER line). */
	ck_assert_int_eq(split("DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END;\n", &s), -1);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(split("SELECT 1;\nSELECT 2\n", &s), -1);
	ck_assert_int_eq(s.n, 1);
	/* A DELIMITER line without a delimiter, or with one too long. */
	ck_assert_int_eq(split("DELIMITER   \nSELECT 1;\n", &s), -1);
	ck_assert_int_eq(split("DELIMITER $$$$$$$$$\nSELECT 1$$$$$$$$$\n", &s), -1);
	ck_assert_int_eq(s.n, 0);
	/* "DELIMITER" inside a statement is text, not a command. */
	ck_assert_int_eq(split("SELECT\nDELIMITER $$\n;\n", &s), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.stmt[0], "SELECT\nDELIMITER $$\n");
	/* The callback's refusal stops the split and is returned. */
	memset(&s, 0, sizeof(s));
	{
		char text[] = "SELECT 1;\nSELECT 2;\nSELECT 3;\n";

		s.stop_at = 1;
		ck_assert_int_eq(migrate_split("t.sql", text, collect, &s), 7);
		ck_assert_int_eq(s.n, 2);
	}
}
END_TEST

Suite *
migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("split");

	tcase_add_test(tc, test_plain_statements);
	tcase_add_test(tc, test_delimiter_procedure);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return s;
}
