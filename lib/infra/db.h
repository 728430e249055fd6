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
	DB_ABORT = -5,  /* a db_tx function chose to roll back; its own result (an enum of its
	                 * module, kept in the function's context) says why. Never rerun. */
	DB_REFUSED = -6, /* a stored procedure refused (SIGNAL SQLSTATE '45000', error 1644);
	                 * its MESSAGE_TEXT, which says which refusal, is db_error(). Never
	                 * rerun; inside db_tx, return it to roll back. */
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

/* A CALL is a statement like any other through db_exec / db_query: db_query keeps the first
 * result set the procedure selects, the others and the CALL's own status are read and
 * dropped, so the connection is ready for the next statement. A SIGNAL is DB_REFUSED. */

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
	const char **names;  /* each column's name as the SELECT gives it (its alias) */
};

/* Runs a SELECT, storing all rows in *res (memory from a). Returns nrows (>= 0) or an enum db_rc. */
int64_t db_query(struct db *db, struct arena *a, struct db_res *res, const char *sql,
    const char *types, ...);

/* Cell accessors; row/col out of range abort (a programming error). */
const char *db_res_str(const struct db_res *res, size_t row, size_t col); /* NULL if SQL NULL */
int64_t db_res_i64(const struct db_res *res, size_t row, size_t col);     /* 0 if SQL NULL */
bool db_res_null(const struct db_res *res, size_t row, size_t col);

/* ---- columns by name ------------------------------------------------------------------
 * A reader of db_res_str(&res, i, 9) cannot check it. Rows are read by column name instead:
 * each SELECT names (aliases) its columns, and a descriptor kept beside the SQL text maps
 * them onto a struct's members. A name the result does not have is a programming error (the
 * SQL and its descriptor disagree): it is logged and the read fails, never a silent shift. */

/* The index of column name in res. Aborts when res has no such column (a programming
 * error, caught by any test that runs the query). */
size_t db_res_col(const struct db_res *res, const char *name);

/* The cell of column name in row: db_res_str / db_res_i64 / db_res_null by name. */
const char *db_col_str(const struct db_res *res, size_t row, const char *name);
int64_t db_col_i64(const struct db_res *res, size_t row, const char *name);
bool db_col_null(const struct db_res *res, size_t row, const char *name);

/* How a column is stored into a struct member. */
enum db_field_type {
	DB_F_I64,       /* int64_t (0 for SQL NULL) */
	DB_F_INT,       /* int (0 for SQL NULL; a value out of int's range is an error) */
	DB_F_BOOL,      /* bool: the integer is not 0 */
	DB_F_STR,       /* const char *, in the result's arena (NULL for SQL NULL) */
	DB_F_CHARS,     /* char[N]: copied and NUL-terminated; longer (or NULL) is an error */
	DB_F_ENUM,      /* an enum (int-sized): the index of the text in names[0..nnames) */
	DB_F__MAX
};

/* One member of a row descriptor. Build with the macros below; end with DB_FIELDS_END. */
struct db_field {
	const char *col;            /* the column's name in the SELECT */
	enum db_field_type type;
	size_t off;                 /* offsetof the member */
	size_t size;                /* sizeof the member: checked against the type */
	const char *const *names;   /* DB_F_ENUM: the spellings, indexed by value */
	int nnames;
};

#define DB_FIELD(st, member, type, col) \
	{ (col), (type), offsetof(st, member), sizeof(((st *)0)->member), NULL, 0 }
#define DB_ENUM(st, member, col, names, n) \
	{ (col), DB_F_ENUM, offsetof(st, member), sizeof(((st *)0)->member), (names), (n) }
#define DB_FIELDS_END { NULL, DB_F__MAX, 0, 0, NULL, 0 }

/* Fills the struct at out (members not in fields are left as they are) from row of res
 * through fields. Returns 0, or DB_ERR (logged) when a column is missing, an integer does
 * not fit, a text is no value of its enum or too long for its array; a descriptor whose
 * member size does not fit its type aborts (a programming error). */
int db_res_map(const struct db_res *res, size_t row, const struct db_field *fields, void *out);

/* Every row of res mapped through fields into a new array of res->nrows elements of size
 * bytes (zeroed first, one spare element at the end) from a, in *out. Returns the number of
 * rows, or DB_ERR as db_res_map. */
int64_t db_res_map_rows(const struct db_res *res, struct arena *a, const struct db_field *fields,
    size_t size, void **out);

/* AUTO_INCREMENT id of the last insert on this connection. */
int64_t db_last_insert_id(struct db *db);

/* Runs fn(db, arg) inside BEGIN .. COMMIT. fn returns 0 to commit or a negative value to roll
 * back. On DB_RETRY (from fn or COMMIT), or DB_GONE before COMMIT was sent, the transaction is
 * rolled back and rerun (after a short jittered pause) up to the configured number of times.
 * Returns 0 after a commit, else fn's negative value or an enum db_rc. fn must therefore be
 * safe to rerun: it may not have effects outside the database. */
typedef int (*db_tx_fn)(struct db *db, void *arg);
int db_tx(struct db *db, db_tx_fn fn, void *arg);

/* One statement as a transaction of its own, in one round trip: db_query (res not NULL,
 * cells in a) or db_exec (res and a NULL), rerun like db_tx after a deadlock or a lock wait
 * timeout. The statement must be atomic by itself: under autocommit a plain statement is; a
 * CALL is only if its procedure opens and ends its transaction itself (START TRANSACTION ..
 * COMMIT, with an exit handler that rolls back and RESIGNALs: jt_checkout with p_tx = 1,
 * sql/019_checkout.sql). The C side does not wrap it in BEGIN/COMMIT: that would cost two
 * more round trips. A connection broken while it runs is DB_GONE, never rerun (the outcome is
 * unknown, as for a COMMIT whose answer was lost). Called inside db_tx: DB_ERR. Returns rows as
 * db_query / db_exec, or an enum db_rc (DB_REFUSED for a SIGNAL). */
int64_t db_tx1(struct db *db, struct arena *a, struct db_res *res, const char *sql,
    const char *types, ...);

/* True while inside db_tx. */
bool db_in_tx(const struct db *db);

/* The last server or client error number and message (0 / "" when none). */
unsigned db_errno(const struct db *db);
const char *db_error(const struct db *db);

#endif
