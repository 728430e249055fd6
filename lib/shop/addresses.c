/* addresses: a shopper's address book: checking what was typed, and one user's rows (see
 * addresses.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/valid.h"
#include "infra/db.h"
#include "shop/addresses.h"

/* The columns every read selects, in this order. */
enum address_col { AC_ID, AC_LABEL, AC_RECIPIENT, AC_PHONE, AC_ZIPCODE, AC_ADDRESS1,
	AC_ADDRESS2, AC_MEMO, AC_DEFAULT };
#define ADDRESS_COLUMNS \
    "SELECT id, label, recipient, phone, zipcode, address1, address2, memo, is_default IS NOT NULL" \
    " FROM addresses"
static const char SQL_LIST[] =
    ADDRESS_COLUMNS " WHERE user_id = ? ORDER BY is_default IS NULL, id DESC LIMIT ?";
static const char SQL_GET[] = ADDRESS_COLUMNS " WHERE user_id = ? AND id = ?";
static const char SQL_FIRST[] =
    ADDRESS_COLUMNS " WHERE user_id = ? ORDER BY is_default IS NULL, id DESC LIMIT 1";
/* The user's row, locked: every change to one user's book takes it first, so two tabs adding
 * the 21st address or moving the default at once take turns. */
static const char SQL_LOCK_USER[] = "SELECT id FROM users WHERE id = ? FOR UPDATE";
static const char SQL_COUNT[] = "SELECT COUNT(*) FROM addresses WHERE user_id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO addresses (user_id, label, recipient, phone, zipcode, address1, address2, memo)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_UPDATE[] =
    "UPDATE addresses SET label = ?, recipient = ?, phone = ?, zipcode = ?, address1 = ?,"
    " address2 = ?, memo = ? WHERE user_id = ? AND id = ?";
static const char SQL_EXISTS[] = "SELECT 1 FROM addresses WHERE user_id = ? AND id = ?";
static const char SQL_UNDEFAULT[] =
    "UPDATE addresses SET is_default = NULL WHERE user_id = ? AND is_default = 1";
static const char SQL_DEFAULT[] =
    "UPDATE addresses SET is_default = 1 WHERE user_id = ? AND id = ?";
static const char SQL_DELETE[] = "DELETE FROM addresses WHERE user_id = ? AND id = ?";
/* After a delete: the newest address left becomes the default when none is. */
static const char SQL_HAS_DEFAULT[] =
    "SELECT 1 FROM addresses WHERE user_id = ? AND is_default = 1";
static const char SQL_NEWEST[] = "SELECT MAX(id) FROM addresses WHERE user_id = ?";
/* Same columns as ADDRESS_COLUMNS (id 0, no label, never the default). */
static const char SQL_OF_ORDER[] =
    "SELECT 0, '', recipient, phone, zipcode, address1, address2, memo, 0"
    " FROM order_addresses WHERE order_id = ?";

static const struct {
	const char *name;
	size_t max_chars;      /* longest, in characters */
	bool required;
	const char *message;   /* what to show next to the field when it is wrong */
} fields[ADDRESS_FIELD__MAX] = {
	[ADDRESS_LABEL]     = { "label", 20, false, "배송지 이름은 20자까지 입력해 주세요." },
	[ADDRESS_RECIPIENT] = { "recipient", 20, true, "받는 분 이름을 1~20자로 입력해 주세요." },
	[ADDRESS_PHONE]     = { "phone", 20, true,
	                        "연락처를 010-1234-5678처럼 숫자로 입력해 주세요." },
	[ADDRESS_ZIPCODE]   = { "zipcode", 5, true, "우편번호 5자리 숫자를 입력해 주세요." },
	[ADDRESS_ADDRESS1]  = { "address1", 100, true, "주소를 입력해 주세요 (100자까지)." },
	[ADDRESS_ADDRESS2]  = { "address2", 100, false, "상세주소는 100자까지 입력해 주세요." },
	[ADDRESS_MEMO]      = { "memo", 50, false, "배송 메모는 50자까지 입력해 주세요." },
};

const char *
addresses_field_name(enum address_field f)
{
	return (unsigned)f < ADDRESS_FIELD__MAX ? fields[f].name : "?";
}

/* s without the spaces at either end, copied into a ("" for NULL). */
static const char *
trimmed(struct arena *a, const char *s)
{
	size_t n;

	if (s == NULL)
		return "";
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return arena_strndup(a, s, n);
}

/* A Korean telephone number as people write it: digits, with '-', ' ' or '.' between groups;
 * 9..11 digits starting with 0. Formats it into out (ADDRESSES_PHONE_MAX + 1 bytes):
 * 010-1234-5678, 02-123-4567 / 02-1234-5678, 031-123-4567 / 031-1234-5678. 0 or -1. */
static int
phone_format(const char *s, char *out, size_t cap)
{
	char d[12];
	size_t n = 0, area;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9') {
			if (n == 11)
				return -1;
			d[n++] = *s;
		} else if (*s != '-' && *s != ' ' && *s != '.') {
			return -1;
		}
	}
	if (n < 9 || d[0] != '0')
		return -1;
	d[n] = '\0';
	area = d[1] == '2' ? 2 : 3;            /* 02 is Seoul's; the rest have three digits */
	if (n - area < 7)
		return -1;
	snprintf(out, cap, "%.*s-%.*s-%s", (int)area, d, (int)(n - area - 4), d + area,
	    d + n - 4);
	return 0;
}

int
addresses_check(struct arena *a, const char *const in[ADDRESS_FIELD__MAX],
    struct address *out, const char *errors[ADDRESS_FIELD__MAX])
{
	char phone[ADDRESSES_PHONE_MAX + 8];
	int f, bad = 0;

	memset(out, 0, sizeof(*out));
	for (f = 0; f < ADDRESS_FIELD__MAX; f++) {
		const char *v = trimmed(a, in[f]);
		size_t len = strlen(v);
		bool ok;

		errors[f] = NULL;
		out->f[f] = v;
		if (len == 0)
			ok = !fields[f].required;
		else
			ok = valid_text(v, len, fields[f].max_chars, false);
		if (ok && len > 0 && f == ADDRESS_PHONE) {
			ok = phone_format(v, phone, sizeof(phone)) == 0;
			if (ok)
				out->f[f] = arena_strdup(a, phone);
		}
		if (ok && len > 0 && f == ADDRESS_ZIPCODE) {
			size_t i;

			for (i = 0; i < len; i++)
				ok = ok && isdigit((unsigned char)v[i]);
			ok = ok && len == 5;
		}
		if (!ok) {
			errors[f] = fields[f].message;
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* Fills *ad from row i. */
static void
from_row(const struct db_res *res, size_t i, struct address *ad)
{
	static const enum address_col cols[ADDRESS_FIELD__MAX] = {
		[ADDRESS_LABEL] = AC_LABEL, [ADDRESS_RECIPIENT] = AC_RECIPIENT,
		[ADDRESS_PHONE] = AC_PHONE, [ADDRESS_ZIPCODE] = AC_ZIPCODE,
		[ADDRESS_ADDRESS1] = AC_ADDRESS1, [ADDRESS_ADDRESS2] = AC_ADDRESS2,
		[ADDRESS_MEMO] = AC_MEMO,
	};
	int f;

	ad->id = db_res_i64(res, i, AC_ID);
	for (f = 0; f < ADDRESS_FIELD__MAX; f++) {
		const char *v = db_res_str(res, i, cols[f]);

		ad->f[f] = v != NULL ? v : "";
	}
	ad->is_default = db_res_i64(res, i, AC_DEFAULT) != 0;
}

int64_t
addresses_list(struct db *db, struct arena *a, int64_t user_id, struct address **out)
{
	struct db_res res;
	int64_t n, i;

	n = db_query(db, a, &res, SQL_LIST, "ii", user_id, (int64_t)ADDRESSES_MAX);
	if (n < 0)
		return -1;
	*out = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(**out));
	for (i = 0; i < n; i++)
		from_row(&res, (size_t)i, &(*out)[i]);
	return n;
}

int
addresses_get(struct db *db, struct arena *a, int64_t user_id, int64_t id, struct address *out)
{
	struct db_res res;
	int64_t n = db_query(db, a, &res, SQL_GET, "ii", user_id, id);

	if (n <= 0)
		return n < 0 ? -1 : 0;
	from_row(&res, 0, out);
	return 1;
}

int
addresses_default(struct db *db, struct arena *a, int64_t user_id, struct address *out)
{
	struct db_res res;
	int64_t n = db_query(db, a, &res, SQL_FIRST, "i", user_id);

	if (n <= 0)
		return n < 0 ? -1 : 0;
	from_row(&res, 0, out);
	return 1;
}

/* ---- changes: one short transaction each, the user's row locked first -------------------- */


struct book_tx {
	int64_t user_id;
	const struct address *ad;     /* save: what to store (id 0: a new one) */
	int64_t id;                   /* set_default, delete: which; save: the id stored (out) */
	bool make_default;
	enum addresses_rc rc;         /* out */
};

/* Locks the user's row; DB_ABORT (rc NOT_FOUND) when there is no such user. */
static int
lock_user(struct db *db, struct book_tx *t)
{
	struct arena *a = arena_new(256);
	struct db_res res;
	int64_t n = db_query(db, a, &res, SQL_LOCK_USER, "i", t->user_id);

	arena_free(&a);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		t->rc = ADDRESSES_NOT_FOUND;
		return DB_ABORT;
	}
	return 0;
}

/* 1 when the user has address id, 0 when not, or a db_rc. */
static int
owns(struct db *db, int64_t user_id, int64_t id)
{
	struct arena *a = arena_new(256);
	struct db_res res;
	int64_t n = db_query(db, a, &res, SQL_EXISTS, "ii", user_id, id);

	arena_free(&a);
	return n < 0 ? (int)n : n > 0;
}

/* Moves the default mark to the user's address id: off the old one, then onto this one. */
static int
move_default(struct db *db, int64_t user_id, int64_t id)
{
	int64_t n = db_exec(db, SQL_UNDEFAULT, "i", user_id);

	if (n < 0)
		return (int)n;
	n = db_exec(db, SQL_DEFAULT, "ii", user_id, id);
	return n < 0 ? (int)n : 0;
}

/* The single integer a one-row statement about user_id answers into *v. Returns 1, 0 when it
 * answered no row (or NULL), or an enum db_rc. */
static int
one_int(struct db *db, const char *sql, int64_t user_id, int64_t *v)
{
	struct arena *a = arena_new(256);
	struct db_res res;
	int64_t n = db_query(db, a, &res, sql, "i", user_id);
	int rc = n < 0 ? (int)n : 0;

	if (n == 1 && !db_res_null(&res, 0, 0)) {
		*v = db_res_i64(&res, 0, 0);
		rc = 1;
	}
	arena_free(&a);
	return rc;
}

static int
save_tx(struct db *db, void *arg)
{
	struct book_tx *t = arg;
	const struct address *ad = t->ad;
	int64_t count = 0, n;
	int rc = lock_user(db, t);

	if (rc != 0)
		return rc;
	rc = one_int(db, SQL_COUNT, t->user_id, &count);
	if (rc < 0)
		return rc;
	if (ad->id == 0) {
		if (count >= ADDRESSES_MAX) {
			t->rc = ADDRESSES_FULL;
			return DB_ABORT;
		}
		n = db_exec(db, SQL_INSERT, "isssssss", t->user_id, ad->f[ADDRESS_LABEL],
		    ad->f[ADDRESS_RECIPIENT], ad->f[ADDRESS_PHONE], ad->f[ADDRESS_ZIPCODE],
		    ad->f[ADDRESS_ADDRESS1], ad->f[ADDRESS_ADDRESS2], ad->f[ADDRESS_MEMO]);
		if (n < 0)
			return (int)n;
		t->id = db_last_insert_id(db);
	} else {
		rc = owns(db, t->user_id, ad->id);
		if (rc <= 0) {
			t->rc = ADDRESSES_NOT_FOUND;
			return rc < 0 ? rc : DB_ABORT;
		}
		n = db_exec(db, SQL_UPDATE, "sssssssii", ad->f[ADDRESS_LABEL],
		    ad->f[ADDRESS_RECIPIENT], ad->f[ADDRESS_PHONE], ad->f[ADDRESS_ZIPCODE],
		    ad->f[ADDRESS_ADDRESS1], ad->f[ADDRESS_ADDRESS2], ad->f[ADDRESS_MEMO],
		    t->user_id, ad->id);
		if (n < 0)
			return (int)n;
		t->id = ad->id;
	}
	if (t->make_default || count == 0) {
		rc = move_default(db, t->user_id, t->id);
		if (rc != 0)
			return rc;
	}
	t->rc = ADDRESSES_OK;
	return 0;
}

static int
default_tx(struct db *db, void *arg)
{
	struct book_tx *t = arg;
	int rc = lock_user(db, t);

	if (rc != 0)
		return rc;
	rc = owns(db, t->user_id, t->id);
	if (rc <= 0) {
		t->rc = ADDRESSES_NOT_FOUND;
		return rc < 0 ? rc : DB_ABORT;
	}
	rc = move_default(db, t->user_id, t->id);
	if (rc != 0)
		return rc;
	t->rc = ADDRESSES_OK;
	return 0;
}

static int
delete_tx(struct db *db, void *arg)
{
	struct book_tx *t = arg;
	int64_t n, newest = 0;
	int rc = lock_user(db, t);

	if (rc != 0)
		return rc;
	n = db_exec(db, SQL_DELETE, "ii", t->user_id, t->id);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		t->rc = ADDRESSES_NOT_FOUND;
		return DB_ABORT;
	}
	rc = one_int(db, SQL_HAS_DEFAULT, t->user_id, &n);
	if (rc < 0)
		return rc;
	if (rc == 0) {   /* the default went: the newest left takes its place */
		rc = one_int(db, SQL_NEWEST, t->user_id, &newest);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			rc = move_default(db, t->user_id, newest);
			if (rc != 0)
				return rc;
		}
	}
	t->rc = ADDRESSES_OK;
	return 0;
}

/* Runs fn in a transaction; its outcome. */
static enum addresses_rc
run(struct db *db, db_tx_fn fn, struct book_tx *t)
{
	int rc;

	t->rc = ADDRESSES_FAILED;
	rc = db_tx(db, fn, t);
	if (rc == 0 || rc == DB_ABORT)
		return t->rc;
	return ADDRESSES_FAILED;
}

enum addresses_rc
addresses_save(struct db *db, int64_t user_id, const struct address *ad, bool make_default,
    int64_t *id_out)
{
	struct book_tx t = { .user_id = user_id, .ad = ad, .make_default = make_default };
	enum addresses_rc rc = run(db, save_tx, &t);

	if (rc == ADDRESSES_OK && id_out != NULL)
		*id_out = t.id;
	return rc;
}

enum addresses_rc
addresses_set_default(struct db *db, int64_t user_id, int64_t id)
{
	struct book_tx t = { .user_id = user_id, .id = id };

	return run(db, default_tx, &t);
}

enum addresses_rc
addresses_delete(struct db *db, int64_t user_id, int64_t id)
{
	struct book_tx t = { .user_id = user_id, .id = id };

	return run(db, delete_tx, &t);
}

int
addresses_of_order(struct db *db, struct arena *a, int64_t order_id, struct address *out)
{
	struct db_res res;
	int64_t n = db_query(db, a, &res, SQL_OF_ORDER, "i", order_id);

	if (n <= 0)
		return n < 0 ? -1 : 0;
	from_row(&res, 0, out);
	return 1;
}
