/* migrate: apply the numbered SQL files once each, in order, under a server-side lock. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/buf.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/migrate.h"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_FILE_BYTES (1024 * 1024)

static const char SQL_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL,"
    " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
static const char SQL_LOCK[] = "SELECT GET_LOCK('jangteo.migrate', 60)";
static const char SQL_UNLOCK[] = "SELECT RELEASE_LOCK('jangteo.migrate')";
static const char SQL_APPLIED[] = "SELECT 1 FROM schema_migrations WHERE version = ?";
static const char SQL_RECORD[] = "INSERT INTO schema_migrations (version, name) VALUES (?, ?)";

/* True for "NNN_something.sql"; stores NNN. */
static int
migration_version(const char *name, int *version)
{
	size_t len = strlen(name);
	int i;

	if (len < 9 || strcmp(name + len - 4, ".sql") != 0 || name[3] != '_')
		return 0;
	*version = 0;
	for (i = 0; i < 3; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		*version = *version * 10 + (name[i] - '0');
	}
	return *version > 0;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads path into out; -1 on error or when it is too big. */
static int
read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "re");
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf_append(out, chunk, n);
		if (out->len > MIGRATE_MAX_FILE_BYTES) {
			fclose(f);
			return -1;
		}
	}
	n = (size_t)ferror(f);
	fclose(f);
	return n == 0 ? 0 : -1;
}

#define MIGRATE_DELIM_MAX 8   /* bytes of a DELIMITER, as "$$" or "//" */

/* True when line (trimmed) is "DELIMITER x" in any case; stores x in delim. -1 when it is one
 * but x is empty, too long or holds a space. */
static int
delimiter_line(const char *line, char *delim)
{
	size_t n;

	if (strncasecmp(line, "DELIMITER", 9) != 0 ||
	    (line[9] != ' ' && line[9] != '\t' && line[9] != '\0'))
		return 0;
	line += 9;
	while (*line == ' ' || *line == '\t')
		line++;
	n = strlen(line);
	if (n == 0 || n > MIGRATE_DELIM_MAX || strpbrk(line, " \t") != NULL)
		return -1;
	memcpy(delim, line, n + 1);
	return 1;
}

int
migrate_split(const char *file, char *text, migrate_stmt_fn fn, void *arg)
{
	struct buf stmt = { 0 };
	char delim[MIGRATE_DELIM_MAX + 1] = ";";
	char *line, *next, *end;
	size_t dlen;
	int lineno = 0, rc = 0, d;

	for (line = text; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (*line == '\0' || strncmp(line, "--", 2) == 0)
			continue;
		if (stmt.len == 0 && (d = delimiter_line(line, delim)) != 0) {
			if (d < 0) {
				log_error(NULL, "migrate: %s: bad DELIMITER line %d", file, lineno);
				rc = -1;
				break;
			}
			continue;
		}
		dlen = strlen(delim);
		if ((size_t)(end - line) >= dlen && memcmp(end - dlen, delim, dlen) == 0) {
			end[-(ptrdiff_t)dlen] = '\0';
			buf_puts(&stmt, line);
			rc = fn(buf_cstr(&stmt), lineno, arg);
			if (rc != 0)
				break;
			buf_reset(&stmt);
		} else {
			buf_puts(&stmt, line);
			buf_putc(&stmt, '\n');
		}
	}
	if (rc == 0 && stmt.len > 0) {
		log_error(NULL, "migrate: %s: last statement has no '%s'", file, delim);
		rc = -1;
	}
	buf_release(&stmt);
	return rc;
}

/* What run_one needs: the connection and the file's name for the log. */
struct run_ctx {
	struct db *db;
	const char *file;
};

/* Runs one statement of a migration (migrate_stmt_fn). 0 or -1 (logged). */
static int
run_one(const char *stmt, int lineno, void *arg)
{
	struct run_ctx *c = arg;

	if (db_exec_once(c->db, stmt) >= 0)
		return 0;
	log_error(NULL, "migrate: %s: statement ending near line %d failed: %s", c->file, lineno,
	    db_error(c->db));
	return -1;
}

/* Runs each statement of text (migrate_split). 0 or -1. */
static int
run_statements(struct db *db, const char *file, char *text)
{
	struct run_ctx c = { db, file };

	return migrate_split(file, text, run_one, &c) == 0 ? 0 : -1;
}

int
migrate_run(struct db *db, const char *dir)
{
	struct arena *a = arena_new(4096);
	struct db_res res;
	char *names[MIGRATE_MAX_FILES];
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;
	int applied = 0, version, locked = 0;

	d = opendir(dir);
	if (d == NULL) {
		log_error(NULL, "migrate: cannot open %s: %s", dir, strerror(errno));
		applied = -1;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migration_version(de->d_name, &version))
			continue;
		if (n == MIGRATE_MAX_FILES) {
			log_error(NULL, "migrate: more than %d files in %s", MIGRATE_MAX_FILES, dir);
			closedir(d);
			applied = -1;
			goto out;
		}
		names[n++] = arena_strdup(a, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), compare_names);

	if (db_exec(db, SQL_TABLE, "") < 0 || db_query(db, a, &res, SQL_LOCK, "") != 1 ||
	    db_res_i64(&res, 0, 0) != 1) {
		log_error(NULL, "migrate: cannot prepare: %s", db_error(db));
		applied = -1;
		goto out;
	}
	locked = 1;
	for (i = 0; i < n; i++) {
		struct buf text = { 0 };
		char path[4096];
		int64_t rc;

		migration_version(names[i], &version);
		if (i > 0 && strncmp(names[i], names[i - 1], 3) == 0) {
			log_error(NULL, "migrate: two files numbered %.3s", names[i]);
			applied = -1;
			goto out;
		}
		rc = db_query(db, a, &res, SQL_APPLIED, "i", (int64_t)version);
		if (rc < 0) {
			applied = -1;
			goto out;
		}
		if (rc == 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_file(path, &text) != 0) {
			log_error(NULL, "migrate: cannot read %s", path);
			buf_release(&text);
			applied = -1;
			goto out;
		}
		/* DDL commits implicitly in MariaDB, so a migration cannot be atomic: its statements
		 * are written to be rerunnable (IF NOT EXISTS) and the version is recorded last. */
		rc = run_statements(db, names[i], text.data != NULL ? text.data : (char *)"");
		buf_release(&text);
		if (rc != 0 || db_exec(db, SQL_RECORD, "is", (int64_t)version, names[i]) < 0) {
			applied = -1;
			goto out;
		}
		log_info(NULL, "migrate: applied %s", names[i]);
		applied++;
	}
out:
	if (locked)
		db_query(db, a, &res, SQL_UNLOCK, "");
	arena_free(&a);
	return applied;
}
