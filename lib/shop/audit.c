/* audit: write admin action records inside the action's transaction, and list them. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "shop/audit.h"
#include "base/buf.h"
#include "infra/db.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/valid.h"

/* Room for any sane before/after picture. */
#define AUDIT_JSON_MAX (1024 * 1024)

static const char SQL_INSERT[] =
    "INSERT INTO audit_log (actor_id, action, target, before_json, after_json)"
    " VALUES (?, ?, ?, ?, ?)";
/* One statement for every filter: a NULL (or 0) parameter switches its condition off. */
/* The columns of a record (fill_entry reads them by these positions). */
#define SQL_ENTRY_COLUMNS \
    "SELECT l.id, l.actor_id, u.email, u.name, l.action, l.target, l.before_json," \
    " l.after_json, DATE_FORMAT(l.created_at, '%Y-%m-%d %H:%i:%s')" \
    " FROM audit_log l JOIN users u ON u.id = l.actor_id"
enum {
	ENTRY_ID, ENTRY_ACTOR_ID, ENTRY_ACTOR_EMAIL, ENTRY_ACTOR_NAME, ENTRY_ACTION, ENTRY_TARGET,
	ENTRY_BEFORE, ENTRY_AFTER, ENTRY_AT
};

static const char SQL_GET[] = SQL_ENTRY_COLUMNS " WHERE l.id = ?";

static const char SQL_LIST[] =
    SQL_ENTRY_COLUMNS
    " WHERE (? = 0 OR l.actor_id = ?)"
    " AND (? IS NULL OR l.action = ?)"
    " AND (? IS NULL OR l.target = ?)"
    " AND (? IS NULL OR l.target LIKE ?)"
    " AND (? IS NULL OR l.created_at >= ?)"
    " AND (? IS NULL OR l.created_at < DATE_ADD(?, INTERVAL 1 DAY))"
    " AND (? = 0 OR l.id < ?)"
    " ORDER BY l.id DESC LIMIT ?";

static bool
action_ok(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > AUDIT_ACTION_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return false;
	}
	return true;
}

static bool
target_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	return n > 0 && n <= AUDIT_TARGET_MAX && valid_utf8(s, n);
}

/* A JSON text or NULL: one strict JSON value of valid UTF-8 (jparse), at most 1 MiB. */
static bool
json_text_ok(const char *s)
{
	struct json_object *o = NULL;
	enum jparse_err e;

	if (s == NULL)
		return true;
	e = jparse(s, strlen(s), AUDIT_JSON_MAX, 64, &o);
	json_object_put(o);
	return e == JPARSE_OK;
}

int
audit_record(struct db *db, int64_t actor_id, const char *action, const char *target,
    const char *before_json, const char *after_json)
{
	int64_t rc;

	if (!db_in_tx(db)) {
		log_error(NULL, "audit: %s outside a transaction refused", action != NULL ? action :
		    "(null)");
		return DB_ERR;
	}
	if (actor_id <= 0 || !action_ok(action) || !target_ok(target) ||
	    !json_text_ok(before_json) || !json_text_ok(after_json)) {
		log_error(NULL, "audit: malformed record refused (actor %" PRId64 ")", actor_id);
		return DB_ERR;
	}
	rc = db_exec(db, SQL_INSERT, "issss", actor_id, action, target, before_json, after_json);
	if (rc < 0)
		return (int)rc;
	return rc == 1 ? 0 : DB_ERR;
}

int
audit_record_json(struct db *db, int64_t actor_id, const char *action, const char *target,
    struct json_object *before, struct json_object *after)
{
	const char *b = NULL, *af = NULL;

	if (before != NULL)
		b = json_object_to_json_string_ext(before, JSON_C_TO_STRING_PLAIN);
	if (after != NULL)
		af = json_object_to_json_string_ext(after, JSON_C_TO_STRING_PLAIN);
	return audit_record(db, actor_id, action, target, b, af);
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
audit_day_ok(const char *s)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, i;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !leap(y))
		return 0;
	return 1;
}

/* "product:" -> "product:%" with LIKE's specials escaped; NULL when t is not a prefix. */
static const char *
like_prefix(struct arena *a, const char *t)
{
	struct buf b;
	const char *out;
	size_t n = t != NULL ? strlen(t) : 0;

	if (n == 0 || t[n - 1] != ':')
		return NULL;
	buf_init(&b);
	for (; *t != '\0'; t++) {
		if (*t == '%' || *t == '_' || *t == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, *t);
	}
	buf_putc(&b, '%');
	out = arena_strdup(a, buf_cstr(&b));
	buf_release(&b);
	return out;
}

/* Row i of a query of SQL_ENTRY_COLUMNS into *e (strings stay in the result's arena). */
static void
fill_entry(const struct db_res *res, size_t i, struct audit_entry *e)
{
	e->id = db_res_i64(res, i, ENTRY_ID);
	e->actor_id = db_res_i64(res, i, ENTRY_ACTOR_ID);
	e->actor_email = db_res_str(res, i, ENTRY_ACTOR_EMAIL);
	e->actor_name = db_res_str(res, i, ENTRY_ACTOR_NAME);
	e->action = db_res_str(res, i, ENTRY_ACTION);
	e->target = db_res_str(res, i, ENTRY_TARGET);
	e->before_json = db_res_str(res, i, ENTRY_BEFORE);
	e->after_json = db_res_str(res, i, ENTRY_AFTER);
	e->at = db_res_str(res, i, ENTRY_AT);
}

int64_t
audit_list(struct db *db, struct arena *a, const struct audit_filter *f, size_t limit,
    struct audit_entry **out)
{
	static const struct audit_filter none;
	const char *exact = NULL, *prefix = NULL;
	struct audit_entry *e;
	struct db_res res;
	int64_t rc;
	size_t i;

	*out = NULL;
	if (f == NULL)
		f = &none;
	if (limit < 1 || limit > AUDIT_LIST_MAX || f->actor_id < 0 || f->before_id < 0)
		return DB_ERR;
	if ((f->from_day != NULL && !audit_day_ok(f->from_day)) ||
	    (f->to_day != NULL && !audit_day_ok(f->to_day)))
		return DB_ERR;
	if (f->target != NULL) {
		prefix = like_prefix(a, f->target);
		if (prefix == NULL)
			exact = f->target;
	}
	rc = db_query(db, a, &res, SQL_LIST, "iissssssssssiii",
	    f->actor_id, f->actor_id, f->action, f->action, exact, exact, prefix, prefix,
	    f->from_day, f->from_day, f->to_day, f->to_day, f->before_id, f->before_id,
	    (int64_t)limit);
	if (rc < 0)
		return rc;
	e = arena_alloc(a, sizeof(*e) * (res.nrows + 1));
	for (i = 0; i < res.nrows; i++)
		fill_entry(&res, i, &e[i]);
	*out = e;
	return (int64_t)res.nrows;
}

int
audit_get(struct db *db, struct arena *a, int64_t id, struct audit_entry *out)
{
	struct db_res res;
	int64_t rc;

	memset(out, 0, sizeof(*out));
	rc = db_query(db, a, &res, SQL_GET, "i", id);
	if (rc <= 0)
		return (int)rc;
	fill_entry(&res, 0, out);
	return 1;
}
