/* db: the MariaDB wrapper: one connection, its prepared-statement cache, parameter binding,
 * fully fetched text results, transactions rerun on deadlock, and reconnection (to the first
 * node of a failover list that is up and, for Galera, Synced). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "base/arena.h"
#include "base/conf.h"
#include "base/hostport.h"
#include "infra/db.h"
#include "base/ids.h"
#include "base/log.h"

#define DB_STMT_CACHE 256        /* prepared statements kept per connection */
#define DB_MAX_PARAMS 65535      /* the protocol's limit on '?' per statement */
#define DB_SQL_LOGGED 40         /* bytes of a statement's text a log line shows */
#define DB_FETCH_MIN 64          /* smallest per-column fetch buffer */
#define DB_WSREP_SYNCED "4"      /* wsrep_local_state of a node that may take queries */

/* Internal result: the connection broke (the caller reconnects, or reports DB_GONE). */
#define DB_LOST (-100)

/* Connect-time session setup: the only SQL sent as text, and constant. Keep the sql_mode equal
 * to MARIADB_SQL_MODE in script/svc/mariadb.sh, so an external server behaves like ours. */
static const char db_sql_session[] =
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'";
/* Guarded updates need no gap locks; see script/svc/mariadb.sh. */
static const char db_sql_isolation[] = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
/* A Galera node takes queries only when Synced; a server without wsrep answers 0 and NULL. */
static const char db_sql_wsrep_state[] =
    "SELECT @@global.wsrep_on, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
    " WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE')";
static const char db_sql_sync_wait[] = "SET SESSION wsrep_sync_wait = ?";

static const char db_sql_begin[] = "START TRANSACTION";
static const char db_sql_commit[] = "COMMIT";
static const char db_sql_rollback[] = "ROLLBACK";

static const struct log_ctx db_log_ctx = { NULL, NULL };

/* One cached statement. The key is the caller's pointer (statement texts are static); text is
 * our copy, compared on a hit so a reused buffer holding another statement is not confused. */
struct db_stmt {
	const char *sql;
	char *text;
	MYSQL_STMT *st;
	uint64_t used;           /* db->clock at the last use; the smallest is evicted */
};

/* Parameters collected from a call's va_list once, so a resend can bind them again. */
struct db_args {
	size_t n;
	MYSQL_BIND *bind;
	int64_t *ints;
	unsigned long *lens;
};

struct db {
	/* Copied from the configuration (the conf may be freed before the db). */
	char *host;              /* one host or a comma-separated failover list */
	char *socket;
	char *user;
	char *password;
	char *name;
	unsigned port;
	unsigned connect_timeout;
	unsigned rw_timeout;
	int tx_retries;
	int sync_wait;           /* wsrep_sync_wait for every session; 0 = leave it */
	int failback_seconds;    /* return to the list's first node after this long; 0 = never */

	MYSQL *my;               /* NULL while disconnected; owned */
	char node[HOSTPORT_HOST_MAX + 8]; /* the host:port my is connected to, for logs */
	int node_rank;           /* its place in db.host (1 = the first) */
	time_t connected_at;     /* CLOCK_MONOTONIC seconds when my was connected */
	struct db_stmt cache[DB_STMT_CACHE];
	size_t ncache;
	uint64_t clock;

	bool in_tx;
	bool tx_lost;            /* the connection broke inside the current transaction */
	bool tx_doomed;          /* deadlock / lock wait timeout inside it: it must be rerun */

	unsigned err;
	char errmsg[256];
	int64_t last_id;
};

static void *
db_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL) {
		fputs("db: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *
db_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = db_xcalloc(n, 1);

	memcpy(p, s, n);
	return p;
}

static void
db_set_err(struct db *db, unsigned e, const char *msg)
{
	db->err = e;
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg != NULL ? msg : "");
}

/* Server errors whose message quotes the offending value (which may be a customer's data):
 * their message is kept for db_error() but not written to the log. */
static bool
db_err_quotes_value(unsigned e)
{
	switch (e) {
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
	case ER_TRUNCATED_WRONG_VALUE:                 /* 1292 */
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:       /* 1366 */
	case ER_INVALID_CHARACTER_STRING:              /* 1300 */
	case ER_WRONG_VALUE_FOR_TYPE:                  /* 1411 */
	case ER_DATA_OUT_OF_RANGE:                     /* 1690 */
		return true;
	default:
		return false;
	}
}

/* True for errors after which the connection is unusable. */
static bool
db_err_is_lost(unsigned e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_UNKNOWN_COM_ERROR:  /* 1047: "WSREP has not yet prepared node": it lost quorum */
		return true;
	default:
		return false;
	}
}

/* Records error e for sql and maps it to a result. */
static int
db_fail(struct db *db, const char *sql, unsigned e, const char *msg)
{
	db_set_err(db, e, msg);
	if (db_err_is_lost(e))
		return DB_LOST;
	switch (e) {
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		/* InnoDB rolled back the transaction (deadlock) or the statement (timeout); either
		 * way what follows must not run as if nothing happened. */
		if (db->in_tx)
			db->tx_doomed = true;
		log_debug(&db_log_ctx, "db: %u %s in \"%.*s\"", e, msg, DB_SQL_LOGGED, sql);
		return DB_RETRY;
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
		return DB_DUP;
	case ER_SIGNAL_EXCEPTION:
		/* A procedure's SIGNAL SQLSTATE '45000': a refusal it chose, its MESSAGE_TEXT in
		 * db_error(). Not an error of ours: the caller answers it. */
		log_debug(&db_log_ctx, "db: refused: %s in \"%.*s\"", msg, DB_SQL_LOGGED, sql);
		return DB_REFUSED;
	default:
		log_error(&db_log_ctx, "db: error %u: %s in \"%.*s\"", e,
		    db_err_quotes_value(e) ? "(message withheld: it quotes a value)" : msg,
		    DB_SQL_LOGGED, sql);
		return DB_ERR;
	}
}

static int
db_stmt_fail(struct db *db, MYSQL_STMT *st, const char *sql)
{
	return db_fail(db, sql, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static void
db_cache_drop(struct db_stmt *s)
{
	mysql_stmt_close(s->st);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

/* Closes the connection and every statement prepared on it. */
static void
db_disconnect(struct db *db)
{
	size_t i;

	for (i = 0; i < db->ncache; i++)
		db_cache_drop(&db->cache[i]);
	db->ncache = 0;
	if (db->my != NULL)
		mysql_close(db->my);
	db->my = NULL;
}

/* True when my is a server that may take queries: not Galera, or a Galera node that is
 * Synced (a joiner, a donor or a node without quorum refuses them or answers stale). */
static bool
db_node_ready(struct db *db, MYSQL *my)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool ready = false;

	if (mysql_real_query(my, db_sql_wsrep_state, sizeof(db_sql_wsrep_state) - 1) != 0) {
		db_set_err(db, mysql_errno(my), mysql_error(my));
		return false;
	}
	res = mysql_store_result(my);
	if (res == NULL) {
		db_set_err(db, mysql_errno(my), mysql_error(my));
		return false;
	}
	row = mysql_fetch_row(res);
	if (row != NULL && (row[0] == NULL || strcmp(row[0], "1") != 0))
		ready = true;                              /* wsrep off: a plain server */
	else if (row != NULL && row[1] != NULL && strcmp(row[1], DB_WSREP_SYNCED) == 0)
		ready = true;
	else
		db_set_err(db, ER_UNKNOWN_COM_ERROR, "Galera node is not Synced");
	mysql_free_result(res);
	return ready;
}

/* Sets wsrep_sync_wait on my's session (a bound parameter, as every value). 0 or -1. */
static int
db_set_sync_wait(struct db *db, MYSQL *my)
{
	MYSQL_STMT *st = mysql_stmt_init(my);
	MYSQL_BIND b;
	long long v = db->sync_wait;
	int rc = -1;

	if (st == NULL) {
		fputs("db: out of memory\n", stderr);
		abort();
	}
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_LONGLONG;
	b.buffer = &v;
	if (mysql_stmt_prepare(st, db_sql_sync_wait, sizeof(db_sql_sync_wait) - 1) == 0 &&
	    mysql_stmt_bind_param(st, &b) == 0 && mysql_stmt_execute(st) == 0)
		rc = 0;
	else
		db_set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
	mysql_stmt_close(st);
	return rc;
}

/* Connects to one server (a socket path, or host and port) and sets the session up.
 * Returns the connection, or NULL (logged, error recorded). */
static MYSQL *
db_connect_one(struct db *db, const char *host, unsigned port, bool sock)
{
	MYSQL *my = mysql_init(NULL);
	unsigned int ct = db->connect_timeout;
	unsigned int rw = db->rw_timeout;
	unsigned int proto = sock ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	unsigned int local_infile = 0;
	my_bool reconnect = 0;

	if (my == NULL) {
		fputs("db: out of memory\n", stderr);
		abort();
	}
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(my, MYSQL_OPT_RECONNECT, &reconnect);   /* we reconnect ourselves */
	mysql_options(my, MYSQL_OPT_PROTOCOL, &proto);        /* "localhost" must not mean a socket */
	mysql_options(my, MYSQL_OPT_LOCAL_INFILE, &local_infile);
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");

	if (mysql_real_connect(my, sock ? NULL : host, db->user, db->password, db->name,
	    sock ? 0 : port, sock ? host : NULL, CLIENT_FOUND_ROWS) == NULL) {
		db_set_err(db, mysql_errno(my), mysql_error(my));
		log_warn(&db_log_ctx, "db: cannot connect to %s: %u %s", host, db->err,
		    db->errmsg);
		mysql_close(my);
		return NULL;
	}
	if (mysql_real_query(my, db_sql_session, sizeof(db_sql_session) - 1) != 0 ||
	    mysql_real_query(my, db_sql_isolation, sizeof(db_sql_isolation) - 1) != 0) {
		db_set_err(db, mysql_errno(my), mysql_error(my));
		log_error(&db_log_ctx, "db: session setup failed: %u %s", db->err, db->errmsg);
		mysql_close(my);
		return NULL;
	}
	if (!db_node_ready(db, my)) {
		log_warn(&db_log_ctx, "db: %s is not ready for queries: %u %s", host, db->err,
		    db->errmsg);
		mysql_close(my);
		return NULL;
	}
	if (db->sync_wait > 0 && db_set_sync_wait(db, my) != 0) {
		log_error(&db_log_ctx, "db: setting wsrep_sync_wait on %s failed: %u %s", host,
		    db->err, db->errmsg);
		mysql_close(my);
		return NULL;
	}
	return my;
}

static time_t
db_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Connects to db.socket, or to the first node of the db.host list that is up and ready (the
 * list is walked from its start at every connect, so writes return to the first node once it
 * is back and a connection is renewed). Returns 0 or -1 (logged, error recorded). */
static int
db_connect(struct db *db)
{
	const char *cursor = db->host;
	char host[HOSTPORT_HOST_MAX];
	unsigned port;
	int n, rc;

	if (db->socket[0] != '\0') {
		db->my = db_connect_one(db, db->socket, 0, true);
		snprintf(db->node, sizeof(db->node), "%s", db->socket);
		return db->my != NULL ? 0 : -1;
	}
	for (n = 1; (rc = hostport_next(&cursor, db->port, host, sizeof(host), &port)) == 1; n++) {
		db->my = db_connect_one(db, host, port, false);
		if (db->my == NULL)
			continue;
		snprintf(db->node, sizeof(db->node), "%s:%u", host, port);
		db->node_rank = n;
		db->connected_at = db_now_s();
		if (n > 1)
			log_info(&db_log_ctx, "db: connected to %s (entry %d of db.host)", db->node, n);
		return 0;
	}
	if (rc < 0) {
		db_set_err(db, 0, "bad entry in db.host");
		log_error(&db_log_ctx, "db: bad entry %d in db.host", n);
	}
	return -1;
}

/* Prepares sql, checking that it has nparams parameters. Returns 0 with *out set (owned by
 * the caller), DB_LOST or another db_rc. */
static int
db_stmt_prepare(struct db *db, const char *sql, size_t nparams, MYSQL_STMT **out)
{
	MYSQL_STMT *st = mysql_stmt_init(db->my);
	my_bool on = 1;
	int rc;

	if (st == NULL) {
		fputs("db: out of memory\n", stderr);
		abort();
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		rc = db_stmt_fail(db, st, sql);
		mysql_stmt_close(st);
		return rc;
	}
	if (mysql_stmt_param_count(st) != nparams) {
		db_set_err(db, 0, "parameter count mismatch");
		log_error(&db_log_ctx, "db: \"%.*s\" has %lu parameters but %zu types were given",
		    DB_SQL_LOGGED, sql, mysql_stmt_param_count(st), nparams);
		mysql_stmt_close(st);
		return DB_ERR;
	}
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	*out = st;
	return 0;
}

/* Finds sql's prepared statement or prepares (and caches) it. Returns 0 with *out set (owned
 * by the cache), DB_LOST or another db_rc. */
static int
db_stmt_get(struct db *db, const char *sql, size_t nparams, MYSQL_STMT **out)
{
	struct db_stmt *slot = NULL;
	MYSQL_STMT *st;
	size_t i;
	int rc;

	for (i = 0; i < db->ncache; i++) {
		if (db->cache[i].sql != sql)
			continue;
		if (strcmp(db->cache[i].text, sql) == 0) {
			db->cache[i].used = ++db->clock;
			*out = db->cache[i].st;
			return 0;
		}
		slot = &db->cache[i];        /* same pointer, other text: replace it */
		db_cache_drop(slot);
		break;
	}
	rc = db_stmt_prepare(db, sql, nparams, &st);
	if (rc != 0) {
		if (slot != NULL) {          /* fill the hole with the last entry */
			*slot = db->cache[--db->ncache];
			memset(&db->cache[db->ncache], 0, sizeof(db->cache[0]));
		}
		return rc;
	}

	if (slot == NULL && db->ncache < DB_STMT_CACHE)
		slot = &db->cache[db->ncache++];
	if (slot == NULL) {
		slot = &db->cache[0];
		for (i = 1; i < db->ncache; i++)
			if (db->cache[i].used < slot->used)
				slot = &db->cache[i];
		db_cache_drop(slot);
	}
	slot->sql = sql;
	slot->text = db_xstrdup(sql);
	slot->st = st;
	slot->used = ++db->clock;
	*out = st;
	return 0;
}

static void
db_args_free(struct db_args *args)
{
	free(args->bind);
	free(args->ints);
	free(args->lens);
	memset(args, 0, sizeof(*args));
}

/* Reads the parameters types describes from ap. Returns 0, or -1 on a bad type string (a
 * programming error, logged). */
static int
db_args_collect(struct db_args *args, const char *sql, const char *types, va_list ap)
{
	size_t n = types != NULL ? strlen(types) : 0;
	size_t i;

	memset(args, 0, sizeof(*args));
	if (n > DB_MAX_PARAMS) {
		log_error(&db_log_ctx, "db: %zu parameters for \"%.*s\"", n, DB_SQL_LOGGED, sql);
		return -1;
	}
	args->n = n;
	args->bind = db_xcalloc(n, sizeof(*args->bind));
	args->ints = db_xcalloc(n, sizeof(*args->ints));
	args->lens = db_xcalloc(n, sizeof(*args->lens));
	for (i = 0; i < n; i++) {
		MYSQL_BIND *b = &args->bind[i];
		const char *s;
		const void *p;
		size_t len;

		switch (types[i]) {
		case 'i':
			args->ints[i] = va_arg(ap, int64_t);
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &args->ints[i];
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (s == NULL) {
				b->buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = (void *)s;
			args->lens[i] = strlen(s);
			b->buffer_length = args->lens[i];
			b->length = &args->lens[i];
			break;
		case 'b':
			p = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			if (p == NULL) {
				b->buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			b->buffer_type = MYSQL_TYPE_BLOB;
			b->buffer = (void *)p;
			args->lens[i] = len;
			b->buffer_length = args->lens[i];
			b->length = &args->lens[i];
			break;
		case 'n':
			b->buffer_type = MYSQL_TYPE_NULL;
			break;
		default:
			log_error(&db_log_ctx, "db: bad type letter 0x%02x in \"%s\" for \"%.*s\"",
			    (unsigned char)types[i], types, DB_SQL_LOGGED, sql);
			db_args_free(args);
			return -1;
		}
	}
	return 0;
}

/* Fetches column col of the current row into the arena when it did not fit its buffer: longer
 * than max_length promised, or a number whose text was cut (the connector then reports the
 * cut length, not the full one, so the buffer grows until nothing is cut). Returns 0 with *out
 * NUL-terminated and *len set, or -1 (the statement's error is set). */
static int
db_fetch_big(struct arena *a, MYSQL_STMT *st, unsigned col, unsigned long size, char **out,
    unsigned long *len)
{
	MYSQL_BIND big;
	my_bool cut;

	if (size < 256)
		size = 256;
	for (;;) {
		memset(&big, 0, sizeof(big));
		big.buffer_type = MYSQL_TYPE_STRING;
		big.buffer = arena_alloc(a, size);
		big.buffer_length = size;
		big.length = len;
		big.error = &cut;
		cut = 0;
		if (mysql_stmt_fetch_column(st, &big, col, 0) != 0)
			return -1;
		if (!cut && *len < size)
			break;
		if (size > (1UL << 30))
			return -1;
		size = *len >= size ? *len + 1 : size * 2;
	}
	*out = big.buffer;
	(*out)[*len] = '\0';
	return 0;
}

/* The per-column fetch buffers of one result, bound to its statement. */
struct db_fetch_bufs {
	size_t ncols;
	MYSQL_BIND *bind;
	char **bufs;
	unsigned long *caps, *lens;
	my_bool *nulls, *errs;
};

/* Buffers for the ncols fields: each as large as the column's longest value (at least
 * DB_FETCH_MIN bytes). Out of memory aborts. */
static void
db_fetch_bufs_init(struct db_fetch_bufs *b, const MYSQL_FIELD *fields, size_t ncols)
{
	size_t col;

	b->ncols = ncols;
	b->bind = db_xcalloc(ncols, sizeof(*b->bind));
	b->bufs = db_xcalloc(ncols, sizeof(*b->bufs));
	b->caps = db_xcalloc(ncols, sizeof(*b->caps));
	b->lens = db_xcalloc(ncols, sizeof(*b->lens));
	b->nulls = db_xcalloc(ncols, sizeof(*b->nulls));
	b->errs = db_xcalloc(ncols, sizeof(*b->errs));
	for (col = 0; col < ncols; col++) {
		b->caps[col] = fields[col].max_length < DB_FETCH_MIN ? DB_FETCH_MIN :
		    fields[col].max_length;
		b->bufs[col] = db_xcalloc(b->caps[col] + 1, 1);
		b->bind[col].buffer_type = MYSQL_TYPE_STRING;
		b->bind[col].buffer = b->bufs[col];
		b->bind[col].buffer_length = b->caps[col] + 1;
		b->bind[col].length = &b->lens[col];
		b->bind[col].is_null = &b->nulls[col];
		b->bind[col].error = &b->errs[col];
	}
}

static void
db_fetch_bufs_free(struct db_fetch_bufs *b)
{
	size_t col;

	for (col = 0; b->bufs != NULL && col < b->ncols; col++)
		free(b->bufs[col]);
	free(b->bufs);
	free(b->bind);
	free(b->caps);
	free(b->lens);
	free(b->nulls);
	free(b->errs);
	memset(b, 0, sizeof(*b));
}

/* Copies the row just fetched into row of res (cells in a). 0, or -1 when a long value
 * could not be read. */
static int
db_fetch_copy(struct arena *a, MYSQL_STMT *st, struct db_fetch_bufs *b, struct db_res *res,
    size_t row)
{
	size_t col, cell;
	char *p;

	for (col = 0; col < b->ncols; col++) {
		cell = row * b->ncols + col;
		if (b->nulls[col])
			continue;           /* cells[] and lens[] are zeroed: NULL, 0 */
		if (!b->errs[col] && b->lens[col] <= b->caps[col]) {
			p = arena_alloc(a, (size_t)b->lens[col] + 1);
			memcpy(p, b->bufs[col], b->lens[col]);
		} else if (db_fetch_big(a, st, (unsigned)col, b->lens[col] + 1, &p,
		    &b->lens[col]) != 0) {
			return -1;
		}
		res->cells[cell] = p;
		res->lens[cell] = b->lens[col];
	}
	return 0;
}

/* Copies every row of st's stored result into res, cells and column names in a. Returns
 * nrows or a db_rc. */
static int64_t
db_fetch(struct db *db, struct arena *a, struct db_res *res, MYSQL_STMT *st, const char *sql)
{
	struct db_fetch_bufs b;
	MYSQL_RES *meta = NULL;
	MYSQL_FIELD *fields;
	size_t nrows, ncols, row, col;
	int64_t rc;
	int frc;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	if (mysql_stmt_store_result(st) != 0)
		return db_stmt_fail(db, st, sql);
	meta = mysql_stmt_result_metadata(st);
	if (meta == NULL) {
		rc = db_stmt_fail(db, st, sql);
		goto out;
	}
	ncols = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	nrows = (size_t)mysql_stmt_num_rows(st);
	if (ncols == 0 || nrows > SIZE_MAX / sizeof(char *) / ncols) {
		log_error(&db_log_ctx, "db: result of %zu x %zu cells for \"%.*s\"", nrows, ncols,
		    DB_SQL_LOGGED, sql);
		rc = DB_ERR;
		goto out;
	}
	db_fetch_bufs_init(&b, fields, ncols);
	if (mysql_stmt_bind_result(st, b.bind) != 0) {
		rc = db_stmt_fail(db, st, sql);
		goto out;
	}
	res->ncols = ncols;
	res->names = arena_alloc(a, ncols * sizeof(*res->names));
	for (col = 0; col < ncols; col++)
		res->names[col] = arena_strdup(a, fields[col].name != NULL ? fields[col].name : "");
	res->cells = arena_alloc(a, nrows * ncols * sizeof(*res->cells));
	res->lens = arena_alloc(a, nrows * ncols * sizeof(*res->lens));
	for (row = 0; row < nrows; row++) {
		frc = mysql_stmt_fetch(st);
		if (frc == MYSQL_NO_DATA)
			break;
		if (frc == 1 || db_fetch_copy(a, st, &b, res, row) != 0) {
			rc = db_stmt_fail(db, st, sql);
			goto out;
		}
	}
	res->nrows = row;
	rc = (int64_t)row;
out:
	if (rc < 0)
		memset(res, 0, sizeof(*res));
	if (meta != NULL)
		mysql_free_result(meta);
	mysql_stmt_free_result(st);
	db_fetch_bufs_free(&b);
	return rc;
}

/* Reads and drops the results that follow st's first one (a CALL answers with each result
 * set its procedure selected, then a status of its own), so that the connection takes the
 * next statement. Nothing to read for any other statement (no round trip). Returns 0, or the
 * error the server sent after the first result (a SIGNAL past a SELECT): DB_LOST or another
 * db_rc. */
static int
db_drain(struct db *db, MYSQL_STMT *st, const char *sql)
{
	int r;

	while ((r = mysql_stmt_next_result(st)) == 0) {
		if (mysql_stmt_field_count(st) == 0)
			continue;
		if (mysql_stmt_store_result(st) != 0)
			return db_stmt_fail(db, st, sql);
		mysql_stmt_free_result(st);
	}
	return r > 0 ? db_stmt_fail(db, st, sql) : 0;
}

/* Binds and runs st; res NULL means no rows are wanted. Only the first result (a CALL's
 * first result set) is kept; the rest are drained. Returns affected rows / nrows, DB_LOST or
 * another db_rc. */
static int64_t
db_run_stmt(struct db *db, struct arena *a, struct db_res *res, const char *sql,
    struct db_args *args, MYSQL_STMT *st)
{
	my_ulonglong affected;
	int64_t id, rc;
	int drc;

	if (args->n > 0 && mysql_stmt_bind_param(st, args->bind) != 0)
		return db_stmt_fail(db, st, sql);
	if (mysql_stmt_execute(st) != 0)
		return db_stmt_fail(db, st, sql);

	id = (int64_t)mysql_stmt_insert_id(st);
	if (id != 0)
		db->last_id = id;
	if (mysql_stmt_field_count(st) == 0) {
		affected = mysql_stmt_affected_rows(st);
		if (res != NULL)
			memset(res, 0, sizeof(*res));
		rc = affected == (my_ulonglong)-1 ? 0 : (int64_t)affected;
	} else if (res != NULL) {
		rc = db_fetch(db, a, res, st, sql);
	} else if (mysql_stmt_store_result(st) != 0) {
		return db_stmt_fail(db, st, sql);
	} else {
		/* db_exec of a statement that returns rows: discard them. */
		rc = (int64_t)mysql_stmt_num_rows(st);
		mysql_stmt_free_result(st);
	}
	if (rc == DB_LOST)
		return rc;
	drc = db_drain(db, st, sql);
	if (drc < 0 && res != NULL)
		memset(res, 0, sizeof(*res));
	return drc < 0 ? drc : rc;
}

/* Connects if needed, prepares sql (from the cache, or just for this call when once) and runs
 * it. Returns affected rows / nrows, DB_LOST or another db_rc. */
static int64_t
db_run_once(struct db *db, struct arena *a, struct db_res *res, const char *sql,
    struct db_args *args, bool once)
{
	MYSQL_STMT *st;
	int64_t rc;

	if (db->my == NULL && db_connect(db) == -1)
		return DB_ERR;
	if (!once)
		rc = db_stmt_get(db, sql, args->n, &st);
	else
		rc = db_stmt_prepare(db, sql, args->n, &st);
	if (rc != 0)
		return rc;
	rc = db_run_stmt(db, a, res, sql, args, st);
	if (once)
		mysql_stmt_close(st);
	return rc;
}

/* db_run_once, reconnecting and sending again once when the connection broke outside a
 * transaction. Inside one, a broken connection loses the transaction: DB_GONE. */
static int64_t
db_run(struct db *db, struct arena *a, struct db_res *res, const char *sql, struct db_args *args,
    bool once)
{
	int64_t rc = DB_ERR;
	int attempt;

	if (db->in_tx && db->tx_lost)
		return DB_GONE;
	if (db->in_tx && db->tx_doomed)
		return DB_RETRY;
	for (attempt = 0; attempt < 2; attempt++) {
		rc = db_run_once(db, a, res, sql, args, once);
		if (rc != DB_LOST)
			return rc;
		db_disconnect(db);
		if (db->in_tx) {
			db->tx_lost = true;
			log_warn(&db_log_ctx, "db: connection lost inside a transaction: %u %s",
			    db->err, db->errmsg);
			return DB_GONE;
		}
		log_warn(&db_log_ctx, "db: connection lost (%u %s), reconnecting for \"%.*s\"",
		    db->err, db->errmsg, DB_SQL_LOGGED, sql);
	}
	return DB_ERR;
}

/* Creates a handle from c's db.* keys; connects on first use. Never NULL; the caller owns it
 * and releases it with db_free. */
struct db *
db_new(const struct conf *c)
{
	struct db *db = db_xcalloc(1, sizeof(*db));

	db->host = db_xstrdup(conf_str(c, CONF_DB_HOST));
	db->socket = db_xstrdup(conf_str(c, CONF_DB_SOCKET));
	db->user = db_xstrdup(conf_str(c, CONF_DB_USER));
	db->password = db_xstrdup(conf_str(c, CONF_DB_PASSWORD));
	db->name = db_xstrdup(conf_str(c, CONF_DB_NAME));
	db->port = (unsigned)conf_int(c, CONF_DB_PORT);
	db->connect_timeout = (unsigned)conf_int(c, CONF_DB_CONNECT_TIMEOUT);
	db->rw_timeout = (unsigned)conf_int(c, CONF_DB_RW_TIMEOUT);
	db->tx_retries = (int)conf_int(c, CONF_DB_TX_RETRIES);
	db->sync_wait = (int)conf_int(c, CONF_DB_SYNC_WAIT);
	db->failback_seconds = (int)conf_int(c, CONF_DB_FAILBACK_SECONDS);
	return db;
}

/* Closes the connection (an open transaction is rolled back by the server), frees *db and
 * sets it to NULL. NULL-safe. */
void
db_free(struct db **db)
{
	struct db *d;

	if (db == NULL || *db == NULL)
		return;
	d = *db;
	db_disconnect(d);
	free(d->host);
	free(d->socket);
	free(d->user);
	explicit_bzero(d->password, strlen(d->password));
	free(d->password);
	free(d->name);
	free(d);
	*db = NULL;
}

/* 0 when the server answers, reconnecting if the connection is down or broken; else -1.
 * Inside a transaction a broken connection is not replaced (the transaction is lost). */
int
db_ping(struct db *db)
{
	if (db->my != NULL) {
		if (mysql_ping(db->my) == 0)
			return 0;
		db_set_err(db, mysql_errno(db->my), mysql_error(db->my));
		db_disconnect(db);
		if (db->in_tx)
			db->tx_lost = true;
	}
	if (db->in_tx)
		return -1;
	return db_connect(db);
}

/* Runs a statement that returns no rows (rows, if any, are discarded and counted). Returns
 * affected rows (for an UPDATE the rows its WHERE matched: CLIENT_FOUND_ROWS) or a db_rc. */
int64_t
db_exec(struct db *db, const char *sql, const char *types, ...)
{
	struct db_args args;
	va_list ap;
	int64_t rc;

	va_start(ap, types);
	rc = db_args_collect(&args, sql, types, ap);
	va_end(ap);
	if (rc != 0)
		return DB_ERR;
	rc = db_run(db, NULL, NULL, sql, &args, false);
	db_args_free(&args);
	return rc;
}

/* Runs a statement without parameters whose text is built at run time (migrations): prepared,
 * run and closed, never cached. Returns what db_exec returns. */
int64_t
db_exec_once(struct db *db, const char *sql)
{
	struct db_args args;

	memset(&args, 0, sizeof(args));
	return db_run(db, NULL, NULL, sql, &args, true);
}

/* Runs a SELECT into *res (cells allocated in a). Returns nrows or an enum db_rc; on error
 * *res is empty. */
int64_t
db_query(struct db *db, struct arena *a, struct db_res *res, const char *sql,
    const char *types, ...)
{
	struct db_args args;
	va_list ap;
	int64_t rc;

	memset(res, 0, sizeof(*res));
	va_start(ap, types);
	rc = db_args_collect(&args, sql, types, ap);
	va_end(ap);
	if (rc != 0)
		return DB_ERR;
	rc = db_run(db, a, res, sql, &args, false);
	db_args_free(&args);
	return rc;
}

/* The AUTO_INCREMENT id generated by the last INSERT that generated one on this handle, or 0. */
int64_t
db_last_insert_id(struct db *db)
{
	return db->last_id;
}

/* Sleeps before rerun number attempt (1, 2, ...): 2 ms up to 2, 4, 8, 16, 20, 20... ms. */
static void
db_backoff(int attempt)
{
	unsigned long high_us = 20000;
	unsigned long us;
	struct timespec ts;

	if (attempt < 4)
		high_us = 2000UL << attempt;
	us = 2000 + ids_uniform(high_us - 2000 + 1);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)us * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Ends the current transaction with ROLLBACK, unless its connection is gone already (the
 * server rolled it back then). A failed ROLLBACK closes the connection, which has the same
 * effect. */
static void
db_tx_abort(struct db *db)
{
	bool lost = db->tx_lost;

	db->in_tx = false;
	db->tx_lost = false;
	db->tx_doomed = false;
	if (lost || db->my == NULL)
		return;
	if (db_exec(db, db_sql_rollback, "") < 0)
		db_disconnect(db);
}

/* One attempt of db_tx. Returns 0 after COMMIT, DB_LOST when the connection broke before
 * COMMIT was sent, or another negative result. */
static int
db_tx_once(struct db *db, db_tx_fn fn, void *arg)
{
	int64_t rc;
	int frc;

	rc = db_exec(db, db_sql_begin, "");
	if (rc < 0)
		return (int)rc;
	db->in_tx = true;
	db->tx_lost = false;
	db->tx_doomed = false;

	frc = fn(db, arg);
	if (frc > 0) {
		log_error(&db_log_ctx, "db: transaction function returned %d (> 0)", frc);
		frc = DB_ERR;
	}
	if (frc == 0 && !db->tx_lost && !db->tx_doomed) {
		rc = db_exec(db, db_sql_commit, "");
		if (rc >= 0) {
			db->in_tx = false;
			return 0;
		}
		if (rc == DB_GONE) {
			/* COMMIT was sent and its answer lost: it may have happened. Never rerun. */
			db->in_tx = false;
			db->tx_lost = false;
			log_error(&db_log_ctx, "db: connection lost during COMMIT: outcome unknown");
			return DB_GONE;
		}
		frc = (int)rc;
	}
	if (db->tx_lost) {
		db_tx_abort(db);
		return DB_LOST;
	}
	if (db->tx_doomed)
		frc = DB_RETRY;
	db_tx_abort(db);
	return frc;
}

/* Between transactions: a connection to a node other than db.host's first, older than
 * db.failback_seconds, is closed, so the next statement walks the list from the first node
 * again. After a failover and the first node's return, processes would otherwise stay split
 * between two nodes, and hot rows written on both conflict at certification. */
static void
db_failback(struct db *db)
{
	if (db->my == NULL || db->node_rank <= 1 || db->failback_seconds == 0 ||
	    db_now_s() - db->connected_at < db->failback_seconds)
		return;
	log_info(&db_log_ctx, "db: leaving %s (entry %d of db.host) to try the first node again",
	    db->node, db->node_rank);
	db_disconnect(db);
}

/* Runs fn(db, arg) in a transaction, rerunning it after a deadlock, a lock wait timeout or a
 * connection lost before COMMIT, at most db.tx_retries times. Returns 0 after a commit, fn's
 * negative value, or an enum db_rc (DB_GONE also when COMMIT's outcome is unknown). A nested
 * call is a programming error: DB_ERR. */
int
db_tx(struct db *db, db_tx_fn fn, void *arg)
{
	int attempt;
	int rc;

	if (db->in_tx) {
		log_error(&db_log_ctx, "db: db_tx called inside a transaction");
		return DB_ERR;
	}
	db_failback(db);
	for (attempt = 0;; attempt++) {
		if (attempt > 0)
			db_backoff(attempt);
		rc = db_tx_once(db, fn, arg);
		if (rc == 0)
			return 0;
		if (rc != DB_RETRY && rc != DB_LOST)
			return rc;
		if (attempt >= db->tx_retries) {
			log_warn(&db_log_ctx, "db: transaction given up after %d runs: %u %s",
			    attempt + 1, db->err, db->errmsg);
			return rc == DB_LOST ? DB_GONE : DB_RETRY;
		}
		log_info(&db_log_ctx, "db: rerunning transaction (%s, run %d)",
		    rc == DB_LOST ? "connection lost" : "deadlock or lock wait", attempt + 2);
	}
}

/* Runs one statement as a transaction of its own (see db.h), rerun after a deadlock or a
 * lock wait timeout at most db.tx_retries times. Returns what db_query / db_exec return, with
 * DB_GONE when the connection broke while it ran (outcome unknown: never rerun). */
int64_t
db_tx1(struct db *db, struct arena *a, struct db_res *res, const char *sql, const char *types,
    ...)
{
	struct db_args args;
	va_list ap;
	int64_t rc;
	int attempt;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (db->in_tx) {
		log_error(&db_log_ctx, "db: db_tx1 called inside a transaction");
		return DB_ERR;
	}
	va_start(ap, types);
	rc = db_args_collect(&args, sql, types, ap);
	va_end(ap);
	if (rc != 0)
		return DB_ERR;
	db_failback(db);
	for (attempt = 0;; attempt++) {
		if (attempt > 0)
			db_backoff(attempt);
		/* Marked as a transaction: a broken connection is DB_GONE, never a resend. */
		db->in_tx = true;
		db->tx_lost = false;
		db->tx_doomed = false;
		rc = db_run(db, a, res, sql, &args, false);
		db->in_tx = false;
		db->tx_lost = false;
		db->tx_doomed = false;
		if (rc != DB_RETRY)
			break;
		if (attempt >= db->tx_retries) {
			log_warn(&db_log_ctx, "db: statement given up after %d runs: %u %s",
			    attempt + 1, db->err, db->errmsg);
			break;
		}
		log_info(&db_log_ctx, "db: rerunning \"%.*s\" (deadlock or lock wait, run %d)",
		    DB_SQL_LOGGED, sql, attempt + 2);
	}
	db_args_free(&args);
	return rc;
}

/* True while inside db_tx. */
bool
db_in_tx(const struct db *db)
{
	return db->in_tx;
}

/* The last server or client error number (0 when none). */
unsigned
db_errno(const struct db *db)
{
	return db->err;
}

/* The last error message ("" when none); owned by db, valid until its next call. */
const char *
db_error(const struct db *db)
{
	return db->errmsg;
}
