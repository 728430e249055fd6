/* migrate: applies the numbered SQL files of sql/ once each, in order, recording each version
 * in schema_migrations. A second run changes nothing; two runs at once serialise on a lock. */
#ifndef JT_MIGRATE_H
#define JT_MIGRATE_H

struct db;

/* Applies every NNN_name.sql file in dir not yet recorded. Files hold statements that each end
 * with ';' at the end of a line; '--' lines are comments. Returns the number of migrations
 * applied (>= 0) or -1 (logged; the failing file and statement are named). */
int migrate_run(struct db *db, const char *dir);

#endif
