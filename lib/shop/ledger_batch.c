/* ledger_batch: many postings in one go, two statements whatever their number (see
 * ledger.h, ledger_post_batch); the single posting and the chart are ledger.c's. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/money.h"
#include "infra/db.h"
#include "shop/ledger.h"
#include "shop/ledger_impl.h"

/* A batch's balance changes in one statement (ledger_post_batch): a JSON array of [code,
 * debits, credits, debit_side] in code order, each account's row moved by the batch's sums
 * under its own guard, as ledger.c's one-account move. The row count is the
 * accounts moved: fewer means one is new or would pass its limit. */
static const char SQL_MOVE_MANY[] =
    "UPDATE ledger_accounts a JOIN JSON_TABLE(?, '$[*]' COLUMNS (n FOR ORDINALITY,"
    " code VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$[0]',"
    " d BIGINT PATH '$[1]', c BIGINT PATH '$[2]', debit_side INT PATH '$[3]')) AS j"
    " ON a.code = j.code SET a.debits_posted = a.debits_posted + j.d,"
    " a.credits_posted = a.credits_posted + j.c"
    " WHERE a.not_negative = 0 OR IF(j.debit_side = 1,"
    " a.debits_posted + j.d >= a.credits_posted + j.c,"
    " a.credits_posted + j.c >= a.debits_posted + j.d)";
/* Which of a JSON array of account codes exist. */
static const char SQL_ACCOUNTS_THERE[] =
    "SELECT a.code FROM ledger_accounts a JOIN JSON_TABLE(?, '$[*]' COLUMNS (code VARCHAR(64)"
    " CHARACTER SET ascii COLLATE ascii_bin PATH '$')) AS j ON a.code = j.code";
/* A batch's transfers in one statement: a JSON array of [posting_id, leg, debit account
 * code, credit account code, amount, code, ref_type, ref_id] rows (ledger_post_batch); the
 * accounts' ids are joined in by code. */
static const char SQL_INSERT_TRANSFERS[] =
    "INSERT INTO ledger_transfers (posting_id, leg, debit_account_id, credit_account_id, amount,"
    " code, ref_type, ref_id) SELECT j.p, j.l, d.id, c.id, j.a, j.k, j.rt, j.ri"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (n FOR ORDINALITY, p VARCHAR(100) PATH '$[0]',"
    " l INT PATH '$[1]', dc VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$[2]',"
    " cc VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PATH '$[3]', a BIGINT PATH '$[4]',"
    " k VARCHAR(24) PATH '$[5]', rt VARCHAR(16) PATH '$[6]', ri VARCHAR(100) PATH '$[7]')) AS j"
    " JOIN ledger_accounts d ON d.code = j.dc JOIN ledger_accounts c ON c.code = j.cc"
    " ORDER BY j.n";

/* The touch of code among w[0..*n) (capacity cap), added when missing. NULL when full. */
static struct touch *
batch_touch(struct touch *w, size_t *n, size_t cap, const struct touch *t)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(w[i].code, t->code) == 0)
			break;
	if (i == *n) {
		if (*n == cap)
			return NULL;
		w[i] = *t;
		w[i].debits = w[i].credits = 0;
		(*n)++;
	}
	return &w[i];
}

/* The batch's transfers as SQL_INSERT_TRANSFERS's JSON rows, in a. */
static const char *
batch_rows(struct arena *a, const struct ledger_posting *ps, size_t n, size_t *nrows)
{
	struct json_object *rows = json_object_new_array(), *row;
	const char *text;
	size_t i, j;

	*nrows = 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < ps[i].nlegs; j++) {
			row = json_object_new_array();
			json_object_array_add(row, json_object_new_string(ps[i].id));
			json_object_array_add(row, json_object_new_int64((int64_t)j));
			json_object_array_add(row, json_object_new_string(ps[i].legs[j].debit));
			json_object_array_add(row, json_object_new_string(ps[i].legs[j].credit));
			json_object_array_add(row, json_object_new_int64(ps[i].legs[j].amount));
			json_object_array_add(row, json_object_new_string(ledger_code_names[ps[i].code]));
			json_object_array_add(row, json_object_new_string(ledger_ref_or_empty(ps[i].ref_type)));
			json_object_array_add(row, json_object_new_string(ledger_ref_or_empty(ps[i].ref_id)));
			json_object_array_add(rows, row);
			(*nrows)++;
		}
	}
	text = arena_strdup(a, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN));
	json_object_put(rows);
	return text;
}

/* The JSON of SQL_MOVE_MANY for the batch's touches w[0..nw), in code order. */
static const char *
move_rows(struct arena *a, const struct touch *w, size_t nw)
{
	struct json_object *rows = json_object_new_array(), *row;
	const char *text;
	size_t i;

	for (i = 0; i < nw; i++) {
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_string(w[i].code));
		json_object_array_add(row, json_object_new_int64(w[i].debits));
		json_object_array_add(row, json_object_new_int64(w[i].credits));
		json_object_array_add(row, json_object_new_int(w[i].e.kind == LEDGER_ASSET ||
		    w[i].e.kind == LEDGER_EXPENSE));
		json_object_array_add(rows, row);
	}
	text = arena_strdup(a, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN));
	json_object_put(rows);
	return text;
}

/* After SQL_MOVE_MANY moved only moved of the batch's accounts w[0..nw): the ones that do
 * not exist yet (a seller's first settlement) are made and moved one by one (ledger_move_account);
 * an existing one that did not move would pass its limit: LEDGER_LIMIT, and the caller
 * rolls back. */
static enum ledger_rc
batch_new_accounts(struct db *db, struct arena *a, struct touch *w, size_t nw, int64_t moved)
{
	struct json_object *codes = json_object_new_array();
	struct db_res res;
	enum ledger_rc rc;
	int64_t n;
	size_t i, k;
	bool exists;

	for (i = 0; i < nw; i++)
		json_object_array_add(codes, json_object_new_string(w[i].code));
	n = db_query(db, a, &res, SQL_ACCOUNTS_THERE, "s",
	    arena_strdup(a, json_object_to_json_string_ext(codes, JSON_C_TO_STRING_PLAIN)));
	json_object_put(codes);
	if (n < 0)
		return LEDGER_DB_FAILED;
	if (n != moved) {
		log_info(NULL, "ledger: an account of a batch would pass its limit: posted one by"
		    " one");
		return LEDGER_LIMIT;
	}
	for (i = 0; i < nw; i++) {
		exists = false;
		for (k = 0; k < (size_t)n && !exists; k++)
			exists = strcmp(db_res_str(&res, k, 0), w[i].code) == 0;
		if (exists)
			continue;
		rc = ledger_move_account(db, a, &w[i]);  /* made with the batch's sums */
		if (rc != LEDGER_POSTED)
			return rc;
	}
	return LEDGER_POSTED;
}

enum ledger_rc
ledger_post_batch(struct db *db, struct arena *a, const struct ledger_posting *ps, size_t n)
{
	struct post_work one;
	struct touch *w, *t;
	size_t i, j, nw = 0, cap = 0, nrows;
	enum ledger_rc rc;
	int64_t got;

	for (i = 0; i < n; i++)
		cap += 2 * ps[i].nlegs;
	w = arena_alloc(a, (cap + 1) * sizeof(*w));
	for (i = 0; i < n; i++) {
		if (ledger_collect(&ps[i], &one) != 0) {
			log_error(NULL, "ledger: invalid posting %s in a batch", ps[i].id != NULL ?
			    ps[i].id : "-");
			return LEDGER_INVALID;
		}
		for (j = 0; j < one.ntouches; j++) {
			if (one.touches[j].e.owner_user != 0) {
				log_error(NULL, "ledger: posting %s touches a points account: not"
				    " batched", ps[i].id);
				return LEDGER_INVALID;
			}
			t = batch_touch(w, &nw, cap, &one.touches[j]);
			if (t == NULL || money_add(t->debits, one.touches[j].debits, &t->debits) != 0 ||
			    money_add(t->credits, one.touches[j].credits, &t->credits) != 0)
				return LEDGER_INVALID;
		}
	}
	/* Each account once, with the batch's sums, in code order (as every posting locks), by
	 * one statement. An account that is new (its first posting makes it) or would pass its
	 * limit moves nothing here: the caller rolls back and posts one by one, which says which. */
	qsort(w, nw, sizeof(*w), ledger_cmp_touch);
	got = db_exec(db, SQL_MOVE_MANY, "s", move_rows(a, w, nw));
	if (got < 0)
		return LEDGER_DB_FAILED;
	if (got != (int64_t)nw) {
		rc = batch_new_accounts(db, a, w, nw, got);
		if (rc != LEDGER_POSTED)
			return rc;
	}
	got = db_exec(db, SQL_INSERT_TRANSFERS, "s", batch_rows(a, ps, n, &nrows));
	if (got >= 0 && got != (int64_t)nrows)
		return LEDGER_DB_FAILED;  /* an account vanished meanwhile: cannot be, but never half */
	if (got < 0) {
		log_warn(NULL, "ledger: a batch of %zu postings failed (%s): posted one by one", n,
		    db_error(db));
		return LEDGER_DB_FAILED;  /* DB_DUP too: one of them was made before */
	}
	return LEDGER_POSTED;
}
