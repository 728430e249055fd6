/* migrate: applies the numbered SQL files of sql/ once each, in order, recording each version
 * in schema_migrations. A second run changes nothing; two runs at once serialise on a lock. */
#ifndef JT_MIGRATE_H
#define JT_MIGRATE_H

struct db;

/* Applies every NNN_name.sql file in dir not yet recorded. Files hold statements split as
 * migrate_split says. Returns the number of migrations
 * applied (>= 0) or -1 (logged; the failing file and statement are named). */
int migrate_run(struct db *db, const char *dir);

/* Called with each statement of a file (without its delimiter) and the line it ends on.
 * Returns 0 to go on, anything else to stop there. */
typedef int (*migrate_stmt_fn)(const char *stmt, int lineno, void *arg);

/* Splits text (modified in place) into statements, as the mariadb client reads a file: a
 * statement ends where a line ends with the current delimiter (';' at first); a line
 * "DELIMITER x" (between statements) makes x the delimiter, so that a stored procedure's body,
 * whose statements end with ';', is one statement ending with, say, '$$'. Lines that start
 * with '--' are comments and dropped. Calls fn for each statement in order. Returns 0, fn's
 * nonzero result, or -1 (logged, naming file) for a bad DELIMITER line or a last statement
 * without its delimiter. */
int migrate_split(const char *file, char *text, migrate_stmt_fn fn, void *arg);

#endif
