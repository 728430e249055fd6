/* db_res: reading a fully fetched result (see db.h): cells by position, columns by name,
 * and rows mapped onto structs through descriptors kept beside each SQL text. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "infra/db.h"

static const struct log_ctx db_log_ctx = { NULL, NULL };

static void
db_res_check(const struct db_res *res, size_t row, size_t col)
{
	if (row < res->nrows && col < res->ncols)
		return;
	log_error(&db_log_ctx, "db: cell (%zu, %zu) outside a %zu x %zu result", row, col,
	    res->nrows, res->ncols);
	abort();
}

/* The cell's text, NUL-terminated (a blob may hold more NULs: see res->lens), or NULL for SQL
 * NULL. Owned by the result's arena. Aborts when row/col is out of range. */
const char *
db_res_str(const struct db_res *res, size_t row, size_t col)
{
	db_res_check(res, row, col);
	return res->cells[row * res->ncols + col];
}

/* The cell as an integer, 0 for SQL NULL. A cell that is not a whole int64 in decimal is a
 * programming error (wrong column): it aborts, like an out-of-range row/col. */
int64_t
db_res_i64(const struct db_res *res, size_t row, size_t col)
{
	const char *s = db_res_str(res, row, col);
	size_t len = res->lens[row * res->ncols + col];
	char *end;
	long long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (len == 0 || end != s + len || errno != 0) {
		log_error(&db_log_ctx, "db: cell (%zu, %zu) is not an int64", row, col);
		abort();
	}
	return (int64_t)v;
}

/* True when the cell is SQL NULL. Aborts when row/col is out of range. */
bool
db_res_null(const struct db_res *res, size_t row, size_t col)
{
	return db_res_str(res, row, col) == NULL;
}

/* ---- columns by name ---------------------------------------------------------------- */

/* The index of name in res, or ncols when it has none. */
static size_t
db_res_find(const struct db_res *res, const char *name)
{
	size_t col;

	for (col = 0; col < res->ncols; col++)
		if (strcmp(res->names[col], name) == 0)
			break;
	return col;
}

size_t
db_res_col(const struct db_res *res, const char *name)
{
	size_t col = db_res_find(res, name);

	if (col == res->ncols) {
		log_error(&db_log_ctx, "db: no column \"%s\" in a result of %zu columns", name,
		    res->ncols);
		abort();
	}
	return col;
}

const char *
db_col_str(const struct db_res *res, size_t row, const char *name)
{
	return db_res_str(res, row, db_res_col(res, name));
}

int64_t
db_col_i64(const struct db_res *res, size_t row, const char *name)
{
	return db_res_i64(res, row, db_res_col(res, name));
}

bool
db_col_null(const struct db_res *res, size_t row, const char *name)
{
	return db_res_null(res, row, db_res_col(res, name));
}

/* The member size each field type needs (DB_F_CHARS: any; DB_F_ENUM: an int's). */
static bool
db_field_size_ok(const struct db_field *f)
{
	switch (f->type) {
	case DB_F_I64:
		return f->size == sizeof(int64_t);
	case DB_F_INT:
	case DB_F_ENUM:
		return f->size == sizeof(int);
	case DB_F_BOOL:
		return f->size == sizeof(bool);
	case DB_F_STR:
		return f->size == sizeof(const char *);
	case DB_F_CHARS:
		return f->size > 0;
	default:
		return false;
	}
}

/* Stores the cell s (NULL for SQL NULL) of res's row, column col into the member at p. */
static int
db_field_store(const struct db_res *res, size_t row, size_t col, const struct db_field *f,
    char *p)
{
	const char *s = db_res_str(res, row, col);
	int64_t v;
	int i;

	switch (f->type) {
	case DB_F_I64:
		v = db_res_i64(res, row, col);
		memcpy(p, &v, sizeof(v));
		return 0;
	case DB_F_INT:
		v = db_res_i64(res, row, col);
		if (v < INT_MIN || v > INT_MAX)
			return -1;
		i = (int)v;
		memcpy(p, &i, sizeof(i));
		return 0;
	case DB_F_BOOL:
		*(bool *)(void *)p = db_res_i64(res, row, col) != 0;
		return 0;
	case DB_F_STR:
		memcpy(p, &s, sizeof(s));
		return 0;
	case DB_F_CHARS:
		if (s == NULL || res->lens[row * res->ncols + col] >= f->size)
			return -1;
		memcpy(p, s, res->lens[row * res->ncols + col] + 1);
		return 0;
	case DB_F_ENUM:
		for (i = 0; s != NULL && i < f->nnames; i++) {
			if (f->names[i] != NULL && strcmp(s, f->names[i]) == 0) {
				memcpy(p, &i, sizeof(i));
				return 0;
			}
		}
		return -1;
	default:
		return -1;
	}
}

int
db_res_map(const struct db_res *res, size_t row, const struct db_field *fields, void *out)
{
	const struct db_field *f;
	size_t col;

	for (f = fields; f->col != NULL; f++) {
		if (!db_field_size_ok(f)) {
			log_error(&db_log_ctx, "db: the descriptor of column \"%s\" has a %zu-byte"
			    " member for its type", f->col, f->size);
			abort();
		}
		col = db_res_find(res, f->col);
		if (col == res->ncols) {
			log_error(&db_log_ctx, "db: no column \"%s\" in a result of %zu columns",
			    f->col, res->ncols);
			return DB_ERR;
		}
		if (db_field_store(res, row, col, f, (char *)out + f->off) != 0) {
			log_error(&db_log_ctx, "db: column \"%s\" of row %zu does not fit its member",
			    f->col, row);
			return DB_ERR;
		}
	}
	return 0;
}

int64_t
db_res_map_rows(const struct db_res *res, struct arena *a, const struct db_field *fields,
    size_t size, void **out)
{
	char *rows = arena_alloc(a, (res->nrows + 1) * size);
	size_t i;

	memset(rows, 0, (res->nrows + 1) * size);
	*out = rows;
	for (i = 0; i < res->nrows; i++)
		if (db_res_map(res, i, fields, rows + i * size) != 0)
			return DB_ERR;
	return (int64_t)res->nrows;
}

