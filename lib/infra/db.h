/* db: the MariaDB/MySQL wrapper. Prepared statements only (cached per connection), a
 * transaction helper that reruns on deadlock / lock-wait timeout (a Galera certification
 * conflict at COMMIT included), and reconnection after the server restarts, to the first
 * node of the db.host failover list that is up (and Synced, for Galera). One struct db per
 * process, opened after fork. */
#ifndef JT_DB_H
#define JT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct conf;
struct db;

/* Negative results of every call below. Non-negative results are row counts. */
enum db_rc {
	DB_ERR   = -1,  /* any other error (logged with the statement's first words) */
	DB_RETRY = -2,  /* deadlock (1213) or lock wait timeout (1205): rerun the transaction */
	DB_DUP   = -3,  /* duplicate key (1062): the row exists already */
	DB_GONE  = -4,  /* connection lost inside a transaction: the transaction was lost */
};

/* Creates a handle; the connection is made on first use (so a process can start while the
 * server is down). Never NULL. Owned by the caller: db_free. */
struct db *db_new(const struct conf *c);
void db_free(struct db **db);

/* 0 when the server answers (connecting if needed), else -1. */
int db_ping(struct db *db);

/* Parameters are described by a type string, one letter per '?' (checked against the
 * statement's parameter count at prepare time):
 *   'i' int64_t     's' const char * (NULL binds SQL NULL)
 *   'b' const void *, size_t (blob; a NULL pointer binds SQL NULL)
 *   'n' nothing: binds SQL NULL
 * Pass 'i' values as int64_t (cast literals and ints). sql is the cache key by address, so it
 * should be a static string (a reused buffer is detected and re-prepared, never confused).
 * Outside a transaction a lost connection is re-established and the statement sent again once
 * (a statement whose answer was lost may thus run twice: unique keys and guarded updates make
 * that harmless).
 */

/* Runs a statement that returns no rows. Returns affected rows (>= 0) or an enum db_rc. For
 * an UPDATE that is the rows its WHERE matched, changed or not (CLIENT_FOUND_ROWS), so a
 * guarded update that matched returns 1 even when it set the values they had. */
int64_t db_exec(struct db *db, const char *sql, const char *types, ...);

/* Like db_exec for a statement text built at run time (migrations): prepared, executed and
 * closed at once, never cached. Same results. */
int64_t db_exec_once(struct db *db, const char *sql);

/* A result, fully fetched; every cell is text (NULL for SQL NULL) allocated in an arena. */
struct db_res {
	size_t nrows;
	size_t ncols;
	char **cells;    /* row-major: cells[row * ncols + col] */
	size_t *lens;    /* byte length of each cell */
};

/* Runs a SELECT, storing all rows in *res (memory from a). Returns nrows (>= 0) or an enum db_rc. */
int64_t db_query(struct db *db, struct arena *a, struct db_res *res, const char *sql,
    const char *types, ...);

/* Cell accessors; row/col out of range abort (a programming error). */
const char *db_res_str(const struct db_res *res, size_t row, size_t col); /* NULL if SQL NULL */
int64_t db_res_i64(const struct db_res *res, size_t row, size_t col);     /* 0 if SQL NULL */
bool db_res_null(const struct db_res *res, size_t row, size_t col);

/* AUTO_INCREMENT id of the last insert on this connection. */
int64_t db_last_insert_id(struct db *db);

/* Runs fn(db, arg) inside BEGIN .. COMMIT. fn returns 0 to commit or a negative value to roll
 * back. On DB_RETRY (from fn or COMMIT), or DB_GONE before COMMIT was sent, the transaction is
 * rolled back and rerun (after a short jittered pause) up to the configured number of times.
 * Returns 0 after a commit, else fn's negative value or an enum db_rc. fn must therefore be
 * safe to rerun: it may not have effects outside the database. */
typedef int (*db_tx_fn)(struct db *db, void *arg);
int db_tx(struct db *db, db_tx_fn fn, void *arg);

/* True while inside db_tx. */
bool db_in_tx(const struct db *db);

/* The last server or client error number and message (0 / "" when none). */
unsigned db_errno(const struct db *db);
const char *db_error(const struct db *db);

#endif
