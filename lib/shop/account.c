/* account: users as the shop sees them: sign-up, activation, login lookup (see account.h). */
#include <inttypes.h>
#include <string.h>

#include "shop/account.h"
#include "base/arena.h"
#include "base/buf.h"
#include "infra/db.h"
#include "base/valid.h"

static const char SQL_GET[] =
    "SELECT id, email, name, role, status, points, password_hash FROM users WHERE id = ?";
static const char SQL_BY_EMAIL[] =
    "SELECT id, email, name, role, status, points, password_hash FROM users WHERE email = ?";
/* A new pending user, or a pending one renamed; an active or disabled row is left alone. */
static const char SQL_PENDING[] =
    "INSERT INTO users (email, password_hash, name, status) VALUES (?, NULL, ?, 'pending')"
    " ON DUPLICATE KEY UPDATE name = IF(status = 'pending', VALUES(name), name)";
static const char SQL_ACTIVATE[] =
    "UPDATE users SET status = 'active', name = ?, password_hash = ?, verified_at = NOW(3)"
    " WHERE email = ? AND status = 'pending'";
static const char SQL_NOTE_LOGIN[] = "UPDATE users SET last_login_at = NOW(3) WHERE id = ?";
static const char SQL_CONTACT[] =
    "SELECT phone, DATE_FORMAT(alimtalk_consent_at, '%Y-%m-%d %H:%i:%s'), email, name"
    " FROM users WHERE id = ?";
/* SQL_CONTACT's columns for a JSON array of user ids, each row led by its id. */
static const char SQL_CONTACTS[] =
    "SELECT u.id, u.phone, DATE_FORMAT(u.alimtalk_consent_at, '%Y-%m-%d %H:%i:%s'), u.email,"
    " u.name FROM users u JOIN (SELECT DISTINCT j.id FROM JSON_TABLE(?, '$[*]' COLUMNS"
    " (id BIGINT UNSIGNED PATH '$')) AS j) AS k ON u.id = k.id";
/* The consent keeps its first time while it stands (the record of when it was given). */
static const char SQL_SET_CONTACT[] =
    "UPDATE users SET phone = ?, alimtalk_consent_at ="
    " IF(?, COALESCE(alimtalk_consent_at, NOW(3)), NULL) WHERE id = ?";

/* Column order of SQL_GET and SQL_BY_EMAIL. */
enum account_col { COL_ID, COL_EMAIL, COL_NAME, COL_ROLE, COL_STATUS, COL_POINTS, COL_HASH,
	COL__MAX };

/* Copies a cell into out[cap]; -1 when it is NULL or does not fit. */
static int
account_copy_at(const struct db_res *res, size_t row, size_t col, char *out, size_t cap)
{
	const char *s = db_res_str(res, row, col);
	size_t len;

	if (s == NULL)
		return -1;
	len = res->lens[row * res->ncols + col];
	if (len >= cap)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* account_copy_at of the first row. */
static int
account_copy(const struct db_res *res, size_t col, char *out, size_t cap)
{
	return account_copy_at(res, 0, col, out, cap);
}

/* Runs sql (SQL_GET or SQL_BY_EMAIL) with one parameter and fills out and, when hash is not
 * NULL, the password hash. 1, 0 or an enum db_rc. */
static int
account_load(struct db *db, const char *sql, const char *types, int64_t id, const char *email,
    struct account *out, char *hash, size_t hash_cap)
{
	struct arena *a = arena_new(2048);
	struct db_res res;
	int64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (hash != NULL && hash_cap > 0)
		hash[0] = '\0';
	if (types[0] == 'i')
		n = db_query(db, a, &res, sql, types, id);
	else
		n = db_query(db, a, &res, sql, types, email);
	if (n <= 0) {
		rc = (int)n;
		goto out;
	}
	if (res.ncols != COL__MAX ||
	    account_copy(&res, COL_EMAIL, out->email, sizeof(out->email)) != 0 ||
	    account_copy(&res, COL_NAME, out->name, sizeof(out->name)) != 0 ||
	    account_copy(&res, COL_ROLE, out->role, sizeof(out->role)) != 0 ||
	    account_copy(&res, COL_STATUS, out->status, sizeof(out->status)) != 0) {
		memset(out, 0, sizeof(*out));
		rc = DB_ERR;
		goto out;
	}
	out->id = db_res_i64(&res, 0, COL_ID);
	out->points = db_res_i64(&res, 0, COL_POINTS);
	if (hash != NULL && !db_res_null(&res, 0, COL_HASH) &&
	    account_copy(&res, COL_HASH, hash, hash_cap) != 0)
		hash[0] = '\0';  /* too long to be ours: no password matches it */
	rc = 1;
out:
	arena_free(&a);
	return rc;
}

int
account_get(struct db *db, int64_t id, struct account *out)
{
	return account_load(db, SQL_GET, "i", id, NULL, out, NULL, 0);
}

int
account_find_by_email(struct db *db, const char *email, struct account *out)
{
	return account_load(db, SQL_BY_EMAIL, "s", 0, email, out, NULL, 0);
}

int
account_email_canonical(const char *in, char *out, size_t cap)
{
	size_t i, len;

	if (cap > 0)
		out[0] = '\0';
	if (in == NULL || !valid_email(in))
		return -1;
	len = strlen(in);
	if (len + 1 > cap)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] - 'A' + 'a') : in[i];
	out[len] = '\0';
	return 0;
}

int
account_signup_pending(struct db *db, const char *email, const char *name)
{
	struct account acct;
	int64_t n;
	int rc;

	n = db_exec(db, SQL_PENDING, "ss", email, name);
	if (n < 0)
		return (int)n;
	rc = account_find_by_email(db, email, &acct);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return DB_ERR;  /* inserted a moment ago: someone deleted it */
	return strcmp(acct.status, "pending") == 0 ? 0 : 1;
}

int
account_activate(struct db *db, const char *email, const char *name,
    const char *password_hash, struct account *out)
{
	int64_t n;

	memset(out, 0, sizeof(*out));
	n = db_exec(db, SQL_ACTIVATE, "sss", name, password_hash, email);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return 0;
	n = account_find_by_email(db, email, out);
	return n == 1 ? 1 : n < 0 ? (int)n : DB_ERR;
}

int
account_login_lookup(struct db *db, const char *email, struct account *out, char *hash,
    size_t cap)
{
	int rc = account_load(db, SQL_BY_EMAIL, "s", 0, email, out, hash, cap);

	if (rc == 1 && strcmp(out->status, "active") != 0) {
		memset(out, 0, sizeof(*out));
		if (cap > 0)
			hash[0] = '\0';
		return 0;
	}
	return rc;
}

int
account_note_login(struct db *db, int64_t id)
{
	int64_t n = db_exec(db, SQL_NOTE_LOGIN, "i", id);

	return n < 0 ? (int)n : 0;
}

/* The contact in row of res, its columns from col on (phone, consent time, email, name).
 * Returns 0, or -1 (zeroed) when a value does not fit. */
static int
contact_of_row(const struct db_res *res, size_t row, size_t col, struct account_contact *out)
{
	memset(out, 0, sizeof(*out));
	if ((!db_res_null(res, row, col) &&
	    account_copy_at(res, row, col, out->phone, sizeof(out->phone)) != 0) ||
	    (!db_res_null(res, row, col + 1) &&
	    account_copy_at(res, row, col + 1, out->consent_at, sizeof(out->consent_at)) != 0) ||
	    account_copy_at(res, row, col + 2, out->email, sizeof(out->email)) != 0 ||
	    account_copy_at(res, row, col + 3, out->name, sizeof(out->name)) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->alimtalk = out->consent_at[0] != '\0';
	return 0;
}

int
account_contact_get(struct db *db, int64_t id, struct account_contact *out)
{
	struct arena *a = arena_new(1024);
	struct db_res res;
	int64_t n;
	int rc = 1;

	memset(out, 0, sizeof(*out));
	n = db_query(db, a, &res, SQL_CONTACT, "i", id);
	if (n <= 0)
		rc = (int)n;
	else if (contact_of_row(&res, 0, 0, out) != 0)
		rc = DB_ERR;
	arena_free(&a);
	return rc;
}

int
account_contact_get_many(struct db *db, const int64_t *ids, size_t n,
    struct account_contact *out, int *found)
{
	struct arena *a = arena_new(4096);
	struct db_res res;
	struct buf json = { 0 };
	size_t i, row;
	int64_t got;
	int rc = 0;

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		found[i] = 0;
	}
	if (n == 0)
		goto out;
	buf_puts(&json, "[");
	for (i = 0; i < n; i++)
		buf_printf(&json, "%s%" PRId64, i > 0 ? "," : "", ids[i] > 0 ? ids[i] : 0);
	buf_puts(&json, "]");
	got = db_query(db, a, &res, SQL_CONTACTS, "s", buf_cstr(&json));
	if (got < 0) {
		rc = (int)got;
		goto out;
	}
	for (row = 0; row < res.nrows; row++) {
		int64_t id = db_res_i64(&res, row, 0);

		for (i = 0; i < n; i++) {
			if (ids[i] != id)
				continue;
			if (contact_of_row(&res, row, 1, &out[i]) != 0) {
				rc = DB_ERR;
				goto out;
			}
			found[i] = 1;
		}
	}
out:
	if (rc < 0)
		for (i = 0; i < n; i++) {
			memset(&out[i], 0, sizeof(out[i]));
			found[i] = 0;
		}
	buf_release(&json);
	arena_free(&a);
	return rc;
}

enum account_contact_rc
account_contact_set(struct db *db, int64_t id, const char *phone, bool alimtalk)
{
	char canon[VALID_KR_MOBILE_LEN + 1];
	bool has_phone = phone != NULL && phone[0] != '\0';
	int64_t n;

	if (has_phone && valid_kr_mobile(phone, canon, sizeof(canon)) != 0)
		return ACCOUNT_CONTACT_BAD_PHONE;
	if (alimtalk && !has_phone)
		return ACCOUNT_CONTACT_NO_PHONE;
	n = db_exec(db, SQL_SET_CONTACT, "sii", has_phone ? canon : NULL, (int64_t)alimtalk, id);
	if (n < 0)
		return ACCOUNT_CONTACT_FAILED;
	return n == 0 ? ACCOUNT_CONTACT_NO_USER : ACCOUNT_CONTACT_SAVED;
}
