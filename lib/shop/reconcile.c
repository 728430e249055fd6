/* reconcile: matches a PG's settlement records of one day (a file, or Toss's settlement API)
 * against our payments, classifies every payment of the file and every PAID payment of ours
 * approved that day, repairs what is safe, and stores the run and its findings for the admin
 * console (see reconcile.h and sql/013_reconcile.sql).
 *
 * The rows of one paymentKey / tid are aggregated (approvals minus cancels, partial cancels
 * summed); a repeated transaction key is a duplicate row, two approvals of one payment a
 * duplicate payment. Where the file alone cannot settle a payment (its cancels span days, or
 * a repair is due) the PG is asked for the payment's current balance (pg_lookup), so a refund
 * we made today does not look like a discrepancy in yesterday's file.
 *
 * Repairs, each recorded with its finding:
 *   the PG approved, we hold the order FAILED, EXPIRED, UNKNOWN or CONFIRMING past
 *   payments.confirming_stale_seconds, the PG's balance is the order's amount:
 *     reconcile.repair_approved -> PAID in one guarded transaction (stock re-reserved for a
 *     FAILED / EXPIRED order, payments row, event, sales, ledger_post_paid, settle job);
 *     no stock left, or repair_approved off -> cancel at the PG (Idempotency-Key
 *     "recon-<paymentKey>"), and an UNKNOWN / CONFIRMING order becomes FAILED, stock back;
 *     an order the shopper CANCELED before paying -> cancel at the PG.
 *   PAID here, the PG's balance is lower than ours -> refunds_record_pg_cancel(difference).
 * Everything else (amounts that differ, missing at the PG, duplicates, unknown payments) is
 * reported ("report") for a person.
 *
 * Every write of a run runs in a transaction that first reads recon_guard FOR SHARE and rolls
 * back when a newer run's fencing token is there. refunds_record_pg_cancel runs its own
 * transaction, so for it the guard is checked in a transaction just before the call: a run
 * stalled between that check and the call, while a newer run records the same cancel, could
 * still record it twice (an idempotency key on refunds_record_pg_cancel would close this).
 * Findings are numbered by the file row they start at (our missing payments after the last
 * row), so the console lists them in file order. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "base/arena.h"
#include "infra/bus.h"
#include "shop/catalog.h"
#include "infra/db.h"
#include "base/ids.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "base/money.h"
#include "shop/orders.h"
#include "infra/outbox.h"
#include "clients/pg.h"
#include "shop/reconcile.h"
#include "infra/redis.h"
#include "shop/refunds.h"
#include "base/valid.h"

/* ---- statements ------------------------------------------------------------------------ */

static const char SQL_GUARD_RAISE[] =
    "UPDATE recon_guard SET fencing_token = ? WHERE id = 1 AND fencing_token < ?";
static const char SQL_GUARD_READ[] =
    "SELECT fencing_token FROM recon_guard WHERE id = 1";
static const char SQL_GUARD_CHECK[] =
    "SELECT fencing_token FROM recon_guard WHERE id = 1 LOCK IN SHARE MODE";
static const char SQL_GUARD_RUN[] =
    "UPDATE recon_guard SET run_id = ? WHERE id = 1";
static const char SQL_SUPERSEDE[] =
    "UPDATE recon_runs SET status = 'failed', finished_at = NOW(3),"
    " note = 'stopped: a newer run took over' WHERE status = 'running' AND fencing_token < ?";
static const char SQL_RUN_INSERT[] =
    "INSERT INTO recon_runs (pg, source, period, dry_run, fencing_token, rows_read)"
    " VALUES (?, ?, NULLIF(?, ''), ?, ?, ?)";
static const char SQL_RUN_FINISH[] =
    "UPDATE recon_runs SET status = ?, n_match = ?, n_amount_mismatch = ?, n_missing_here = ?,"
    " n_missing_pg = ?, n_duplicate = ?, repaired = ?, note = ?, finished_at = NOW(3)"
    " WHERE id = ? AND status = 'running'";
static const char SQL_FINDING_INSERT[] =
    "INSERT INTO recon_findings (run_id, seq, cls, pg_key, order_id, pg_amount, our_amount,"
    " action, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ORDER_BY_PAYMENT[] =
    "SELECT o.public_id FROM payments p JOIN orders o ON o.id = p.order_id"
    " WHERE p.pg = ? AND p.payment_key = ? ORDER BY p.id LIMIT 1";
static const char SQL_ORDER_EXTRA[] =
    "SELECT TIMESTAMPDIFF(SECOND, o.updated_at, NOW(3)), p.payment_key FROM orders o"
    " LEFT JOIN payments p ON p.order_id = o.id WHERE o.id = ?";
static const char SQL_OURS_OF_DAY[] =
    "SELECT o.public_id, p.payment_key, o.amount, o.refunded_amount FROM payments p"
    " JOIN orders o ON o.id = p.order_id WHERE p.pg = ? AND p.approved_at LIKE ? ORDER BY p.id";
static const char SQL_LOCK_ORDER[] =
    "SELECT status FROM orders WHERE id = ? FOR UPDATE";
static const char SQL_RESERVE[] =
    "UPDATE stock SET available = available - ? WHERE product_id = ? AND available >= ?";
static const char SQL_STOCK[] =
    "SELECT available FROM stock WHERE product_id = ?";
static const char SQL_RELEASE[] =
    "UPDATE stock SET available = available + ? WHERE product_id = ?";
static const char SQL_TO_PAID[] =
    "UPDATE orders SET status = 'PAID', paid_at = NOW(3), payment_key = ?, fail_code = NULL,"
    " fail_message = NULL WHERE id = ? AND status = ? AND amount = ?";
static const char SQL_INSERT_PAYMENT[] =
    "INSERT INTO payments (order_id, pg, payment_key, amount, status, approved_at, method)"
    " VALUES (?, ?, ?, ?, 'DONE', NULLIF(?, ''), NULL)";
static const char SQL_TO_FAILED[] =
    "UPDATE orders SET status = 'FAILED', fail_code = 'RECON_CANCELED', fail_message = ?"
    " WHERE id = ? AND status = ?";
static const char SQL_INSERT_EVENT[] =
    "INSERT INTO order_events (order_id, from_status, to_status, actor, note)"
    " VALUES (?, ?, ?, 'reconcile', ?)";

#define RUN_COLUMNS \
    "SELECT id, pg, source, status, dry_run, fencing_token, rows_read, n_match," \
    " n_amount_mismatch, n_missing_here, n_missing_pg, n_duplicate, repaired," \
    " DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s')," \
    " period, note FROM recon_runs"
static const char SQL_RUNS[] = RUN_COLUMNS " ORDER BY id DESC LIMIT ?";
static const char SQL_RUN_GET[] = RUN_COLUMNS " WHERE id = ?";
static const char SQL_FINDINGS[] =
    "SELECT id, cls, pg_key, order_id, pg_amount, our_amount, action, note FROM recon_findings"
    " WHERE run_id = ? AND (? = 1 OR cls <> 'match') ORDER BY seq";

/* ---- names ------------------------------------------------------------------------------ */

static const char *const class_names[RECON_CLASS__MAX] = {
	"match",            /* RECON_MATCH */
	"amount_mismatch",  /* RECON_AMOUNT_MISMATCH */
	"missing_here",     /* RECON_MISSING_HERE */
	"missing_pg",       /* RECON_MISSING_PG */
	"duplicate",        /* RECON_DUPLICATE */
};

static const char *const rc_names[RECON_RC__MAX] = {
	"done", "findings", "busy", "failed",
};

/* refunds.h names no rc; these are for our notes. */
static const char *const refunds_rc_names[REFUNDS_RC__MAX] = {
	"accepted", "done", "replayed", "key reused", "not found", "wrong state", "too late",
	"exceeds what is left", "bad line", "database failed",
};

static const char csv_header[] =
    "settlement_date,pg,type,payment_key,order_id,transaction_key,amount,fee,net,transaction_at";

enum csv_col {
	COL_DATE, COL_PG, COL_TYPE, COL_KEY, COL_ORDER, COL_TX, COL_AMOUNT, COL_FEE, COL_NET, COL_AT,
	COL__MAX
};

static const char *const csv_col_names[COL__MAX] = {
	"settlement_date", "pg", "type", "payment_key", "order_id", "transaction_key", "amount",
	"fee", "net", "transaction_at",
};

#define RECON_NOTE_MAX 255        /* recon_findings.note, order_events.note (ASCII notes) */
#define RECON_SOURCE_MAX 255
#define RECON_AT_MAX 40
#define RECON_FETCH_PAGE 100      /* settlement records asked for per page */
#define RECON_RENEW_MS 10000      /* renew the lock when it is older than this */

/* Transaction results besides 0 and the enum db_rc values. */
enum recon_tx_rc {
	TX_FENCED = -400,     /* a newer run's token is in the guard */
	TX_STOCK_GONE = -401, /* an order's stock could not be reserved again */
	TX_CHANGED = -402,    /* the order's status is not the one classified */
	TX_LEDGER = -403,     /* ledger_post_paid refused */
};

const char *
reconcile_class_name(enum recon_class c)
{
	return (unsigned)c < RECON_CLASS__MAX ? class_names[c] : "?";
}

const char *
reconcile_rc_name(enum recon_rc rc)
{
	return (unsigned)rc < RECON_RC__MAX ? rc_names[rc] : "?";
}

static int
class_parse(const char *s, enum recon_class *out)
{
	int i;

	for (i = 0; s != NULL && i < RECON_CLASS__MAX; i++) {
		if (strcmp(s, class_names[i]) == 0) {
			*out = (enum recon_class)i;
			return 0;
		}
	}
	return -1;
}

/* ---- small helpers ------------------------------------------------------------------- */

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		abort();
	return p;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* A note in a, at most RECON_NOTE_MAX bytes; non-printable bytes become '?' (notes hold PG
 * codes and keys we checked, but never trust a byte into a log or a page unchecked). */
static const char *
note_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
note_printf(struct arena *a, const char *fmt, ...)
{
	char buf[RECON_NOTE_MAX + 1];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (i = 0; buf[i] != '\0'; i++) {
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			buf[i] = '?';
	}
	return arena_strdup(a, buf);
}

/* 1..max bytes of printable ASCII without spaces. */
static bool
word_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max || (unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	}
	return i > 0;
}

static bool
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYY-MM-DD, a real calendar date. */
static bool
date_ok(const char *s)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int i, y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 2000 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= days[m - 1] + (m == 2 && leap_year(y) ? 1 : 0);
}

bool
reconcile_date_ok(const char *s)
{
	return s != NULL && date_ok(s);
}

/* An ISO 8601 time as the PGs write it: YYYY-MM-DDTHH:MM:SS, then at most an offset or
 * fraction of printable characters, RECON_AT_MAX bytes in all. */
static bool
at_ok(const char *s)
{
	char day[11];
	size_t n = strlen(s), i;

	if (n < 19 || n > RECON_AT_MAX || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return false;
	memcpy(day, s, 10);
	day[10] = '\0';
	if (!date_ok(day))
		return false;
	for (i = 11; i < 19; i++) {
		if (i != 13 && i != 16 && (s[i] < '0' || s[i] > '9'))
			return false;
	}
	return word_ok(s, RECON_AT_MAX);
}

/* ---- settlement files -------------------------------------------------------------- */

void
reconcile_file_free(struct recon_file *f)
{
	free(f->rows);
	f->rows = NULL;
	f->nrows = 0;
	f->cap = 0;
}

static struct recon_row *
file_add(struct recon_file *f)
{
	struct recon_row *r;

	if (f->nrows == f->cap) {
		f->cap = f->cap == 0 ? 64 : f->cap * 2;
		f->rows = xrealloc(f->rows, f->cap * sizeof(*f->rows));
	}
	r = &f->rows[f->nrows++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* Checks one data line (printable ASCII, NUL-terminated in line) and appends its row. */
static int
csv_row(char *line, size_t lineno, struct recon_file *f, struct arena *a, char *err,
    size_t err_len)
{
	char *col[COL__MAX], *p;
	struct recon_row *r;
	int64_t won[3], amount, fee, net, diff;
	size_t n = 0;
	int i;

	if (strchr(line, '"') != NULL) {
		set_err(err, err_len, "line %zu: quoted fields are not supported", lineno);
		return -1;
	}
	col[n++] = line;
	for (p = line; *p != '\0'; p++) {
		if (*p != ',')
			continue;
		if (n == COL__MAX) {
			set_err(err, err_len, "line %zu: more than %d fields", lineno, COL__MAX);
			return -1;
		}
		*p = '\0';
		col[n++] = p + 1;
	}
	if (n != COL__MAX) {
		set_err(err, err_len, "line %zu: %zu fields, want %d", lineno, n, COL__MAX);
		return -1;
	}
	if (!date_ok(col[COL_DATE])) {
		set_err(err, err_len, "line %zu: settlement_date \"%.40s\" is not a YYYY-MM-DD date",
		    lineno, col[COL_DATE]);
		return -1;
	}
	if (f->date[0] == '\0') {
		memcpy(f->date, col[COL_DATE], sizeof(f->date));
	} else if (strcmp(f->date, col[COL_DATE]) != 0) {
		set_err(err, err_len, "line %zu: settlement_date %s differs from the file's %s",
		    lineno, col[COL_DATE], f->date);
		return -1;
	}
	if (strcmp(col[COL_PG], pg_name(f->pg)) != 0) {
		set_err(err, err_len, "line %zu: pg \"%.40s\" in a %s settlement file", lineno,
		    col[COL_PG], pg_name(f->pg));
		return -1;
	}
	if (strcmp(col[COL_TYPE], "approve") != 0 && strcmp(col[COL_TYPE], "cancel") != 0) {
		set_err(err, err_len, "line %zu: type \"%.40s\" is neither approve nor cancel",
		    lineno, col[COL_TYPE]);
		return -1;
	}
	if (!word_ok(col[COL_KEY], RECON_KEY_MAX)) {
		set_err(err, err_len, "line %zu: payment_key \"%.40s\" is not 1..%d printable"
		    " characters", lineno, col[COL_KEY], RECON_KEY_MAX);
		return -1;
	}
	if (!valid_token(col[COL_ORDER], 1, RECON_ORDER_MAX)) {
		set_err(err, err_len, "line %zu: order_id \"%.40s\" is not 1..%d of [A-Za-z0-9_-]",
		    lineno, col[COL_ORDER], RECON_ORDER_MAX);
		return -1;
	}
	if (!word_ok(col[COL_TX], RECON_TX_MAX)) {
		set_err(err, err_len, "line %zu: transaction_key \"%.40s\" is not 1..%d printable"
		    " characters", lineno, col[COL_TX], RECON_TX_MAX);
		return -1;
	}
	for (i = COL_AMOUNT; i <= COL_NET; i++) {
		if (money_parse(col[i], &won[i - COL_AMOUNT]) != 0) {
			set_err(err, err_len, "line %zu: %s \"%.40s\" is not an integer number of won",
			    lineno, csv_col_names[i], col[i]);
			return -1;
		}
	}
	amount = won[0];
	fee = won[1];
	net = won[2];
	if (col[COL_TYPE][0] == 'a' ? amount <= 0 : amount >= 0) {
		set_err(err, err_len, "line %zu: an %s of %" PRId64 " won (approvals are positive,"
		    " cancels negative)", lineno, col[COL_TYPE], amount);
		return -1;
	}
	if (money_sub(amount, fee, &diff) != 0 || diff != net) {
		set_err(err, err_len, "line %zu: amount - fee = net does not hold (%" PRId64 " - %"
		    PRId64 " != %" PRId64 ")", lineno, amount, fee, net);
		return -1;
	}
	if (!at_ok(col[COL_AT])) {
		set_err(err, err_len, "line %zu: transaction_at \"%.40s\" is not an ISO 8601 time",
		    lineno, col[COL_AT]);
		return -1;
	}
	if (f->nrows >= RECON_ROWS_MAX) {
		set_err(err, err_len, "line %zu: more than %d rows", lineno, RECON_ROWS_MAX);
		return -1;
	}
	r = file_add(f);
	r->line = lineno;
	r->type = col[COL_TYPE][0] == 'a' ? RECON_APPROVE : RECON_CANCEL;
	r->payment_key = arena_strdup(a, col[COL_KEY]);
	r->order_id = arena_strdup(a, col[COL_ORDER]);
	r->transaction_key = arena_strdup(a, col[COL_TX]);
	r->amount = amount;
	r->fee = fee;
	r->net = net;
	r->at = arena_strdup(a, col[COL_AT]);
	return 0;
}

int
reconcile_parse_csv(const char *text, size_t len, enum pg_id pg, struct arena *a,
    struct recon_file *out, char *err, size_t err_len)
{
	char line[RECON_LINE_MAX + 1];
	size_t pos = 0, lineno = 0, end, n, i;

	memset(out, 0, sizeof(*out));
	out->pg = pg;
	if (err_len > 0)
		err[0] = '\0';
	if ((unsigned)pg >= PG__MAX) {
		set_err(err, err_len, "unknown PG");
		return -1;
	}
	if (len > RECON_FILE_MAX) {
		set_err(err, err_len, "the file is larger than %d bytes", RECON_FILE_MAX);
		return -1;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		lineno++;
		for (end = pos; end < len && text[end] != '\n'; end++)
			;
		n = end - pos;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (n > RECON_LINE_MAX) {
			set_err(err, err_len, "line %zu: longer than %d bytes", lineno, RECON_LINE_MAX);
			goto fail;
		}
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)text[pos + i];

			if (ch < 0x20 || ch > 0x7e) {
				set_err(err, err_len, "line %zu: byte 0x%02x at column %zu is not"
				    " printable ASCII", lineno, ch, i + 1);
				goto fail;
			}
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (lineno == 1) {
			if (strcmp(line, csv_header) != 0) {
				set_err(err, err_len, "line 1: not the settlement file header (%s)",
				    csv_header);
				goto fail;
			}
		} else if (n == 0) {
			set_err(err, err_len, "line %zu: empty line", lineno);
			goto fail;
		} else if (csv_row(line, lineno, out, a, err, err_len) != 0) {
			goto fail;
		}
		pos = end + 1;
	}
	if (lineno == 0) {
		set_err(err, err_len, "the file is empty (no header line)");
		goto fail;
	}
	return 0;
fail:
	reconcile_file_free(out);
	out->date[0] = '\0';
	return -1;
}

int
reconcile_fetch(struct pg *p, enum pg_id pg, const char *date, struct arena *a,
    struct recon_file *out, char *err, size_t err_len)
{
	struct pg_settlement *recs;
	struct pg_result res;
	struct recon_row *r;
	size_t n, i;
	int page, rc = -1;

	memset(out, 0, sizeof(*out));
	out->pg = pg;
	if (pg == PG_KAKAOPAY) {
		set_err(err, err_len, "KakaoPay's online payment API (pg-api-contracts.md section 2)"
		    " offers no settlement endpoint: reconcile its settlement file instead");
		return -1;
	}
	if (pg != PG_TOSS || date == NULL || !date_ok(date)) {
		set_err(err, err_len, "want --pg toss and a YYYY-MM-DD date");
		return -1;
	}
	recs = calloc(RECON_FETCH_PAGE, sizeof(*recs));
	if (recs == NULL)
		abort();
	for (page = 1;; page++) {
		if (pg_toss_settlements(p, date, page, RECON_FETCH_PAGE, recs, &n, &res) != PG_OK) {
			set_err(err, err_len, "the PG's settlement API failed on page %d: %s (HTTP %ld%s%s)",
			    page, pg_outcome_name(res.outcome), res.http_status,
			    res.code[0] != '\0' ? ", " : "", res.code);
			goto out;
		}
		if (out->nrows + n > RECON_ROWS_MAX) {
			set_err(err, err_len, "more than %d settlement records", RECON_ROWS_MAX);
			goto out;
		}
		for (i = 0; i < n; i++) {
			r = file_add(out);
			r->type = recs[i].cancel ? RECON_CANCEL : RECON_APPROVE;
			r->payment_key = arena_strdup(a, recs[i].payment_key);
			r->order_id = arena_strdup(a, recs[i].order_id);
			r->transaction_key = arena_strdup(a, recs[i].transaction_key);
			r->amount = recs[i].amount;
			r->fee = recs[i].fee;
			r->net = recs[i].pay_out;
			r->at = arena_strdup(a, recs[i].approved_at);
		}
		if (n < RECON_FETCH_PAGE)
			break;
	}
	memcpy(out->date, date, sizeof(out->date));
	rc = 0;
out:
	free(recs);
	if (rc != 0)
		reconcile_file_free(out);
	return rc;
}

/* ---- the lock -------------------------------------------------------------------------- */

static const char lock_key[] = "recon:lock";
static const char fence_key[] = "recon:fence";

static const char lua_renew[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then"
    " return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
static const char lua_release[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then"
    " return redis.call('del', KEYS[1]) else return 0 end";
/* Raises the fencing counter to at least ARGV[1] and takes the next token: for a Redis that
 * lost its counter while the database guard kept the highest token. */
static const char lua_fence_floor[] =
    "local v = tonumber(redis.call('get', KEYS[1]) or '0')"
    " if v < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) end"
    " return redis.call('incr', KEYS[1])";

int
reconcile_lock(struct redis *r, struct recon_lock *l)
{
	char ttl[24];
	redisReply *rep;
	int rc;

	memset(l, 0, sizeof(*l));
	ids_new(l->token, sizeof(l->token));
	snprintf(ttl, sizeof(ttl), "%d", RECON_LOCK_TTL_MS);
	rep = redis_cmdl(r, "SET", lock_key, l->token, "NX", "PX", ttl, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		freeReplyObject(rep);
		return -1;
	}
	rc = rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0;
	freeReplyObject(rep);
	if (!rc)
		return 0;
	l->held = true;
	l->renewed_ms = now_ms();
	rep = redis_cmdl(r, "INCR", fence_key, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer <= 0) {
		freeReplyObject(rep);
		reconcile_unlock(r, l);
		return -1;
	}
	l->fencing_token = rep->integer;
	freeReplyObject(rep);
	return 1;
}

int
reconcile_lock_renew(struct redis *r, struct recon_lock *l)
{
	char ttl[24];
	redisReply *rep;
	int rc;

	if (!l->held)
		return 0;
	snprintf(ttl, sizeof(ttl), "%d", RECON_LOCK_TTL_MS);
	rep = redis_cmdl(r, "EVAL", lua_renew, "1", lock_key, l->token, ttl, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -1;
	}
	rc = rep->integer == 1;
	freeReplyObject(rep);
	if (rc)
		l->renewed_ms = now_ms();
	else
		l->held = false;
	return rc;
}

void
reconcile_unlock(struct redis *r, struct recon_lock *l)
{
	if (!l->held)
		return;
	freeReplyObject(redis_cmdl(r, "EVAL", lua_release, "1", lock_key, l->token, NULL));
	l->held = false;
}

/* A fencing token above floor (Redis's counter was behind the guard). 0 or -1. */
static int
fence_above(struct redis *r, int64_t floor, int64_t *token)
{
	char arg[24];
	redisReply *rep;

	snprintf(arg, sizeof(arg), "%" PRId64, floor);
	rep = redis_cmdl(r, "EVAL", lua_fence_floor, "1", fence_key, arg, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER || rep->integer <= floor) {
		freeReplyObject(rep);
		return -1;
	}
	*token = rep->integer;
	freeReplyObject(rep);
	return 0;
}

/* ---- grouping the file by payment ------------------------------------------------------ */

/* The rows of one payment. */
struct group {
	const char *key;
	const char *order_id;       /* of its first row */
	size_t first;               /* index of its first row: findings keep the file's order */
	int napprove;               /* distinct approvals */
	int64_t approved;           /* won approved */
	int64_t cancelled;          /* won cancelled (positive) */
	const char *approved_at;    /* the approval's time, or NULL */
	bool order_conflict;        /* rows name different orders */
};

/* An open-addressing string set/map: slots hold index + 1 (0 = empty). */
struct strmap {
	size_t *slots;
	size_t mask;
};

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
strmap_init(struct strmap *m, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (m->slots == NULL)
		abort();
	m->mask = cap - 1;
}

/* The slot for key: holding its index + 1, or 0 where it would go. names[i] is the key of
 * index i. */
static size_t *
strmap_slot(struct strmap *m, const char *key, const char *(*name)(const void *, size_t),
    const void *ctx)
{
	size_t i = (size_t)str_hash(key) & m->mask;

	while (m->slots[i] != 0 && strcmp(name(ctx, m->slots[i] - 1), key) != 0)
		i = (i + 1) & m->mask;
	return &m->slots[i];
}

static void
strmap_free(struct strmap *m)
{
	free(m->slots);
	m->slots = NULL;
}

static const char *
group_name(const void *ctx, size_t i)
{
	return ((const struct group *)ctx)[i].key;
}

static const char *
row_tx_name(const void *ctx, size_t i)
{
	return ((const struct recon_row *)ctx)[i].transaction_key;
}

/* ---- one run ---------------------------------------------------------------------------- */

/* What a finding says; strings in the run's scratch arena. */
struct finding {
	int64_t seq;                /* the index of its (first) file row; past the rows for ours */
	enum recon_class cls;
	const char *pg_key;
	const char *order_id;
	int64_t pg_amount;
	int64_t our_amount;
	const char *action;
	const char *note;
};

/* Our side of a payment. */
struct ours {
	struct order o;             /* with lines */
	int64_t age_seconds;        /* since the order last changed */
	const char *paid_key;       /* its payments row's key, or NULL when unpaid */
};

struct run_ctx {
	const struct recon_opts *o;
	struct arena *a;            /* the caller's: the run's strings */
	struct arena *scratch;      /* per payment */
	struct recon_run *run;
	struct group *groups;
	size_t ngroups;
	struct strmap gmap;
	int64_t nreport;            /* findings left for a person */
	int64_t nwould;             /* repairs a dry run would make */
	int64_t *jobs;              /* settle jobs to push after the run */
	size_t njobs;
};

enum repair { REPAIR_NONE, REPAIR_MARK_PAID, REPAIR_FAIL_ORDER, REPAIR__MAX };

/* One finding's transaction: the guard, the repair, the finding row. */
struct write_tx {
	struct run_ctx *c;
	const struct finding *f;
	enum repair repair;
	const struct ours *ours;
	const struct group *g;
	enum ledger_rc ledger;      /* out: REPAIR_MARK_PAID */
	int64_t settle_job;         /* out: REPAIR_MARK_PAID */
};

/* Rolls back with TX_FENCED unless the guard still holds this run's token. Call first in
 * every transaction of a run (the shared lock makes a newer run's guard UPDATE wait). */
static int
fence_check(struct db *db, struct run_ctx *c)
{
	struct db_res res;
	int64_t rc;

	rc = db_query(db, c->scratch, &res, SQL_GUARD_CHECK, "");
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return DB_ERR;
	if (db_res_i64(&res, 0, 0) != c->o->lock->fencing_token)
		return TX_FENCED;
	return 0;
}

static int
fence_tx_fn(struct db *db, void *arg)
{
	return fence_check(db, arg);
}

/* The repair's status guard: locks the order and checks it is still in the status the
 * finding was made for. */
static int
lock_status(struct db *db, struct write_tx *t)
{
	struct db_res res;
	int64_t rc;

	rc = db_query(db, t->c->scratch, &res, SQL_LOCK_ORDER, "i", t->ours->o.id);
	if (rc < 0)
		return (int)rc;
	if (rc != 1 || strcmp(db_res_str(&res, 0, 0), orders_status_name(t->ours->o.status)) != 0)
		return TX_CHANGED;
	return 0;
}

/* FAILED / EXPIRED gave the stock back: take it again, guarded, in product-id order. */
static int
reserve_again(struct db *db, const struct order *o)
{
	int64_t rc, q;
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		q = o->lines[i].quantity - o->lines[i].canceled_quantity;
		if (q <= 0)
			continue;
		rc = db_exec(db, SQL_RESERVE, "iii", q, o->lines[i].product_id, q);
		if (rc < 0)
			return (int)rc;
		if (rc == 0)
			return TX_STOCK_GONE;
	}
	return 0;
}

static int
mark_paid(struct db *db, struct write_tx *t)
{
	const struct order *o = &t->ours->o;
	const char *from = orders_status_name(o->status), *pg = pg_name(t->c->o->file->pg);
	int64_t rc;
	size_t i;

	rc = lock_status(db, t);
	if (rc != 0)
		return (int)rc;
	if (o->status == ORDER_FAILED || o->status == ORDER_EXPIRED) {
		rc = reserve_again(db, o);
		if (rc != 0)
			return (int)rc;
	}
	rc = db_exec(db, SQL_TO_PAID, "sisi", t->g->key, o->id, from, o->amount);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return TX_CHANGED;
	rc = db_exec(db, SQL_INSERT_PAYMENT, "issis", o->id, pg, t->g->key, o->amount,
	    t->g->approved_at != NULL ? t->g->approved_at : "");
	if (rc < 0)
		return (int)rc;
	rc = db_exec(db, SQL_INSERT_EVENT, "isss", o->id, from, "PAID",
	    note_printf(t->c->scratch, "reconcile run %" PRId64 ": %s %s approved", t->c->run->id,
	    pg, t->g->key));
	if (rc < 0)
		return (int)rc;
	for (i = 0; i < o->nlines; i++) {
		rc = catalog_sale_add(db, o->lines[i].product_id, o->lines[i].quantity);
		if (rc < 0)
			return (int)rc;
	}
	t->ledger = ledger_post_paid(db, o->public_id, pg, o->user_id, o->amount);
	if (t->ledger != LEDGER_POSTED && t->ledger != LEDGER_REPLAYED)
		return t->ledger == LEDGER_DB_FAILED ? DB_ERR : TX_LEDGER;
	t->settle_job = outbox_add(db, JOB_SETTLE,
	    arena_printf(t->c->scratch, "{\"orderId\":\"%s\"}", o->public_id));
	return t->settle_job < 0 ? (int)t->settle_job : 0;
}

/* The PG's approval was cancelled there: an UNKNOWN / CONFIRMING order fails, stock back. */
static int
fail_order(struct db *db, struct write_tx *t)
{
	const struct order *o = &t->ours->o;
	const char *from = orders_status_name(o->status);
	int64_t rc;
	size_t i;

	rc = lock_status(db, t);
	if (rc != 0)
		return (int)rc;
	rc = db_exec(db, SQL_TO_FAILED, "sis", "대사에서 PG 승인을 취소했습니다.", o->id, from);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return TX_CHANGED;
	rc = db_exec(db, SQL_INSERT_EVENT, "isss", o->id, from, "FAILED",
	    note_printf(t->c->scratch, "reconcile run %" PRId64 ": approval %s cancelled at the PG",
	    t->c->run->id, t->g->key));
	if (rc < 0)
		return (int)rc;
	for (i = 0; i < o->nlines; i++) {
		int64_t q = o->lines[i].quantity - o->lines[i].canceled_quantity;

		if (q <= 0)
			continue;
		rc = db_exec(db, SQL_RELEASE, "ii", q, o->lines[i].product_id);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}

static int
write_tx_fn(struct db *db, void *arg)
{
	struct write_tx *t = arg;
	const struct finding *f = t->f;
	int64_t rc;

	t->ledger = LEDGER_POSTED;
	t->settle_job = 0;
	rc = fence_check(db, t->c);
	if (rc != 0)
		return (int)rc;
	if (t->repair == REPAIR_MARK_PAID)
		rc = mark_paid(db, t);
	else if (t->repair == REPAIR_FAIL_ORDER)
		rc = fail_order(db, t);
	if (rc != 0)
		return (int)rc;
	rc = db_exec(db, SQL_FINDING_INSERT, "iisssiiss", t->c->run->id, f->seq,
	    class_names[f->cls], f->pg_key, f->order_id, f->pg_amount, f->our_amount, f->action,
	    f->note);
	return rc < 0 ? (int)rc : 0;
}

/* Counts a written finding. */
static void
counted(struct run_ctx *c, const struct finding *f)
{
	c->run->counts[f->cls]++;
	if (strcmp(f->action, "report") == 0)
		c->nreport++;
	else if (strncmp(f->action, "would_", 6) == 0)
		c->nwould++;
	log_info(NULL, "reconcile run %" PRId64 ": %s %s order %s pg %" PRId64 " ours %" PRId64
	    ": %s%s%s", c->run->id, class_names[f->cls], f->pg_key != NULL ? f->pg_key : "-",
	    f->order_id != NULL ? f->order_id : "-", f->pg_amount, f->our_amount, f->action,
	    f->note != NULL ? " - " : "", f->note != NULL ? f->note : "");
}

/* Writes a finding with no repair. 0, or a negative result that ends the run. */
static int
record(struct run_ctx *c, const struct finding *f)
{
	struct write_tx t = { c, f, REPAIR_NONE, NULL, NULL, LEDGER_POSTED, 0 };
	int rc = db_tx(c->o->db, write_tx_fn, &t);

	if (rc != 0)
		return rc;
	counted(c, f);
	return 0;
}

/* Writes a finding with its repair. A repair that cannot be made (the order moved on, the
 * ledger refused) is recorded instead as the note says; TX_STOCK_GONE is returned to the
 * caller untouched (nothing written). */
static int
record_repair(struct run_ctx *c, struct finding *f, enum repair rep, const struct ours *ours,
    const struct group *g)
{
	struct write_tx t = { c, f, rep, ours, g, LEDGER_POSTED, 0 };
	int rc = db_tx(c->o->db, write_tx_fn, &t);

	if (rc == 0) {
		counted(c, f);
		c->run->repaired++;
		if (t.settle_job > 0) {
			c->jobs = xrealloc(c->jobs, (c->njobs + 1) * sizeof(*c->jobs));
			c->jobs[c->njobs++] = t.settle_job;
		}
		return 0;
	}
	if (rc == TX_CHANGED && rep == REPAIR_MARK_PAID) {
		f->action = "none";
		f->our_amount = -1;
		f->note = "the order changed during the run: the next run looks again";
		return record(c, f);
	}
	if (rc == TX_CHANGED) {
		/* The PG's cancel is done; only the order's own move was overtaken. */
		f->note = note_printf(c->scratch, "%s; the order changed meanwhile, left as it is",
		    f->note);
		rc = record(c, f);
		if (rc == 0)
			c->run->repaired++;
		return rc;
	}
	if (rc == TX_LEDGER) {
		f->action = "report";
		f->note = note_printf(c->scratch, "not marked paid: the ledger refused (%s)",
		    ledger_rc_name(t.ledger));
		return record(c, f);
	}
	return rc;
}

/* Asks the PG about the payment now. */
static enum pg_outcome
look_up(struct run_ctx *c, const struct group *g, struct pg_result *r)
{
	struct pg_lookup_req q;

	q.payment_key = g->key;
	/* The order id makes the PG's answer prove it is about our order (Toss wants 6..64). */
	q.order_id = valid_token(g->order_id, 6, 64) ? g->order_id : NULL;
	return pg_lookup(c->o->pg, &q, r);
}

static const char *
lookup_failed(struct run_ctx *c, const struct pg_result *r)
{
	return note_printf(c->scratch, "the PG's lookup failed: %s (HTTP %ld%s%s)",
	    pg_outcome_name(r->outcome), r->http_status, r->code[0] != '\0' ? ", " : "", r->code);
}

/* The PG approved a payment we do not hold paid: cancel it there (amount: its balance). */
static int
cancel_at_pg(struct run_ctx *c, struct finding *f, const struct ours *ours,
    const struct group *g, int64_t balance, const char *why)
{
	struct pg_cancel_req req;
	struct pg_result r;
	char idem[8 + RECON_KEY_MAX];
	bool pending = ours->o.status == ORDER_UNKNOWN || ours->o.status == ORDER_CONFIRMING;

	if (c->o->dry_run) {
		f->action = "would_cancel_at_pg";
		f->note = why;
		return record(c, f);
	}
	snprintf(idem, sizeof(idem), "recon-%s", g->key);
	memset(&req, 0, sizeof(req));
	req.payment_key = g->key;
	req.amount = balance;
	req.cancelable = balance;
	req.reason = "정산 대사: 결제되지 않은 주문의 승인 취소";
	req.idempotency_key = idem;
	if (pg_cancel(c->o->pg, &req, &r) != PG_OK) {
		f->action = "report";
		f->note = note_printf(c->scratch, "%s; the cancel at the PG failed: %s (HTTP %ld%s%s)",
		    why, pg_outcome_name(r.outcome), r.http_status, r.code[0] != '\0' ? ", " : "",
		    r.code);
		return record(c, f);
	}
	f->action = "canceled_at_pg";
	f->note = why;
	f->pg_amount = r.balance_amount;
	return record_repair(c, f, pending ? REPAIR_FAIL_ORDER : REPAIR_NONE, ours, g);
}

/* A dry run's look at the stock a FAILED / EXPIRED order would take again: 1 when a line's
 * stock is short, 0 when all fit, or an enum db_rc. */
static int
stock_short(struct run_ctx *c, const struct order *o)
{
	struct db_res res;
	int64_t rc, q;
	size_t i;

	for (i = 0; i < o->nlines; i++) {
		q = o->lines[i].quantity - o->lines[i].canceled_quantity;
		if (q <= 0)
			continue;
		rc = db_query(c->o->db, c->scratch, &res, SQL_STOCK, "i", o->lines[i].product_id);
		if (rc < 0)
			return (int)rc;
		if (rc != 1 || db_res_i64(&res, 0, 0) < q)
			return 1;
	}
	return 0;
}

/* The PG approved the order's exact amount and still holds it; we hold it unpaid. */
static int
repair_approved(struct run_ctx *c, struct finding *f, const struct ours *ours,
    const struct group *g, int64_t balance)
{
	int rc;

	if (ours->o.status == ORDER_CANCELED)
		return cancel_at_pg(c, f, ours, g, balance,
		    "the shopper cancelled the order before it was paid");
	if (!c->o->repair_approved)
		return cancel_at_pg(c, f, ours, g, balance, note_printf(c->scratch,
		    "approved at the PG, %s here (reconcile.repair_approved is off)",
		    orders_status_name(ours->o.status)));
	if (c->o->dry_run && (ours->o.status == ORDER_FAILED || ours->o.status == ORDER_EXPIRED)) {
		rc = stock_short(c, &ours->o);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return cancel_at_pg(c, f, ours, g, balance, note_printf(c->scratch,
			    "approved at the PG, %s here, and its stock is gone: not oversold",
			    orders_status_name(ours->o.status)));
	}
	if (c->o->dry_run) {
		f->action = "would_mark_paid";
		f->note = note_printf(c->scratch, "approved at the PG, %s here",
		    orders_status_name(ours->o.status));
		return record(c, f);
	}
	f->action = "marked_paid";
	f->note = note_printf(c->scratch, "approved at the PG, was %s here",
	    orders_status_name(ours->o.status));
	f->our_amount = ours->o.amount;
	rc = record_repair(c, f, REPAIR_MARK_PAID, ours, g);
	if (rc != TX_STOCK_GONE)
		return rc;
	f->our_amount = -1;
	return cancel_at_pg(c, f, ours, g, balance, note_printf(c->scratch,
	    "approved at the PG, %s here, and its stock is gone: not oversold",
	    orders_status_name(ours->o.status)));
}

/* We hold the order unpaid (no payments row). */
static int
unpaid_here(struct run_ctx *c, struct finding *f, const struct ours *ours,
    const struct group *g)
{
	const struct order *o = &ours->o;
	struct pg_result r;
	bool stale;

	f->cls = RECON_MISSING_HERE;
	f->action = "report";
	stale = o->status == ORDER_CONFIRMING &&
	    ours->age_seconds >= c->o->confirming_stale_seconds;
	if (o->status == ORDER_PENDING || (o->status == ORDER_CONFIRMING && !stale)) {
		f->action = "none";
		f->note = note_printf(c->scratch, "the payment is in progress here (%s): the confirm"
		    " decides", orders_status_name(o->status));
		return record(c, f);
	}
	if (o->status != ORDER_FAILED && o->status != ORDER_EXPIRED &&
	    o->status != ORDER_UNKNOWN && o->status != ORDER_CONFIRMING &&
	    o->status != ORDER_CANCELED) {
		f->note = note_printf(c->scratch, "the order is %s here without a payment",
		    orders_status_name(o->status));
		return record(c, f);
	}
	if (g->napprove == 0) {
		f->note = "cancels of an approval this shop never recorded";
		return record(c, f);
	}
	if (g->approved != o->amount) {
		f->note = note_printf(c->scratch, "the PG approved %" PRId64 " won for a %" PRId64
		    " won order", g->approved, o->amount);
		return record(c, f);
	}
	if (look_up(c, g, &r) != PG_OK) {
		f->note = lookup_failed(c, &r);
		return record(c, f);
	}
	f->pg_amount = r.balance_amount;
	if (r.total_amount != o->amount) {
		f->note = note_printf(c->scratch, "the PG holds %" PRId64 " won for a %" PRId64
		    " won order", r.total_amount, o->amount);
		return record(c, f);
	}
	if (strcmp(r.status, "CANCELED") == 0 || r.balance_amount == 0) {
		f->cls = RECON_MATCH;
		f->action = "none";
		f->note = note_printf(c->scratch, "approved and cancelled at the PG, %s here",
		    orders_status_name(o->status));
		return record(c, f);
	}
	if (strcmp(r.status, "DONE") != 0 || r.balance_amount != o->amount) {
		f->note = note_printf(c->scratch, "%s at the PG with %" PRId64 " won left, %s here",
		    r.status, r.balance_amount, orders_status_name(o->status));
		return record(c, f);
	}
	return repair_approved(c, f, ours, g, r.balance_amount);
}

/* We hold the order paid (a payments row exists). */
static int
paid_here(struct run_ctx *c, struct finding *f, const struct ours *ours, const struct group *g)
{
	const struct order *o = &ours->o;
	struct pg_result r;
	struct refund ref;
	enum refunds_rc rrc;
	int64_t our_net = o->amount - o->refunded_amount, pg_net = g->approved - g->cancelled;
	int rc;

	f->our_amount = our_net;
	f->cls = RECON_AMOUNT_MISMATCH;
	f->action = "report";
	if (strcmp(ours->paid_key, g->key) != 0) {
		f->cls = RECON_MISSING_HERE;
		f->note = note_printf(c->scratch, "the order is paid here by another payment (%s)",
		    ours->paid_key);
		return record(c, f);
	}
	if (g->napprove == 1 && g->approved != o->amount) {
		f->note = note_printf(c->scratch, "the PG approved %" PRId64 " won, the order is %"
		    PRId64 " won", g->approved, o->amount);
		return record(c, f);
	}
	if (g->napprove == 1 && pg_net == our_net) {
		f->cls = RECON_MATCH;
		f->action = "none";
		return record(c, f);
	}
	/* The file alone does not settle it: its cancels are of another day, or they differ
	 * from our refunds. The PG's balance now does. */
	if (look_up(c, g, &r) != PG_OK) {
		f->note = lookup_failed(c, &r);
		return record(c, f);
	}
	f->pg_amount = r.balance_amount;
	if (r.total_amount != o->amount) {
		f->note = note_printf(c->scratch, "the PG holds %" PRId64 " won, the order is %"
		    PRId64 " won", r.total_amount, o->amount);
		return record(c, f);
	}
	if (r.balance_amount == our_net) {
		f->cls = RECON_MATCH;
		f->action = "none";
		f->note = "the PG's balance now agrees (cancels of another day)";
		return record(c, f);
	}
	if (r.balance_amount > our_net) {
		f->note = note_printf(c->scratch, "we refunded %" PRId64 " won the PG has not"
		    " cancelled (a refund in flight?)", r.balance_amount - our_net);
		return record(c, f);
	}
	if (c->o->dry_run) {
		f->action = "would_record_refund";
		f->note = note_printf(c->scratch, "the PG cancelled %" PRId64 " won we did not"
		    " refund", our_net - r.balance_amount);
		return record(c, f);
	}
	rc = db_tx(c->o->db, fence_tx_fn, c);
	if (rc != 0)
		return rc;
	rrc = refunds_record_pg_cancel(c->o->db, c->scratch, o->public_id,
	    our_net - r.balance_amount, &ref);
	if (rrc != REFUNDS_DONE) {
		f->note = note_printf(c->scratch, "the PG cancelled %" PRId64 " won we did not refund;"
		    " recording it failed (%s)", our_net - r.balance_amount,
		    (unsigned)rrc < REFUNDS_RC__MAX ? refunds_rc_names[rrc] : "?");
		return record(c, f);
	}
	if (c->o->bus != NULL)
		refunds_push_jobs(c->o->bus, &ref);
	f->action = "refund_recorded";
	f->note = note_printf(c->scratch, "refund %s of %" PRId64 " won recorded", ref.public_id,
	    our_net - r.balance_amount);
	f->our_amount = r.balance_amount;
	rc = record(c, f);
	if (rc == 0)
		c->run->repaired++;
	return rc;
}

/* Finds our order for a payment of the file: by its payments row, else by the order id the
 * PG holds (our public id). 1 found (*ours filled), 0 none, or an enum db_rc. */
static int
find_ours(struct run_ctx *c, const struct group *g, struct ours *ours)
{
	const char *pg = pg_name(c->o->file->pg), *public_id = g->order_id;
	struct db_res res;
	int64_t rc;

	memset(ours, 0, sizeof(*ours));
	rc = db_query(c->o->db, c->scratch, &res, SQL_ORDER_BY_PAYMENT, "ss", pg, g->key);
	if (rc < 0)
		return (int)rc;
	if (rc == 1)
		public_id = db_res_str(&res, 0, 0);
	rc = orders_get(c->o->db, c->scratch, public_id, true, &ours->o);
	if (rc <= 0)
		return (int)rc;
	rc = db_query(c->o->db, c->scratch, &res, SQL_ORDER_EXTRA, "i", ours->o.id);
	if (rc < 0)
		return (int)rc;
	if (rc != 1)
		return 0;
	ours->age_seconds = db_res_i64(&res, 0, 0);
	ours->paid_key = db_res_str(&res, 0, 1);
	return 1;
}

static int
do_group(struct run_ctx *c, const struct group *g)
{
	struct finding f;
	struct ours ours;
	int rc;

	memset(&f, 0, sizeof(f));
	f.seq = (int64_t)g->first;
	f.pg_key = g->key;
	f.pg_amount = g->approved - g->cancelled;
	f.our_amount = -1;
	f.action = "report";
	rc = find_ours(c, g, &ours);
	if (rc < 0)
		return rc;
	if (rc == 1)
		f.order_id = ours.o.public_id;
	if (g->napprove > 1 || g->order_conflict) {
		f.cls = RECON_DUPLICATE;
		f.note = g->order_conflict ? "rows of this payment name different orders" :
		    note_printf(c->scratch, "%d approvals of one payment in the file", g->napprove);
		return record(c, &f);
	}
	f.cls = RECON_MISSING_HERE;
	if (rc == 0) {
		f.note = note_printf(c->scratch, "no order %s here", g->order_id);
		return record(c, &f);
	}
	if (orders_pay_name(ours.o.pay) == NULL ||
	    strcmp(orders_pay_name(ours.o.pay), pg_name(c->o->file->pg)) != 0) {
		f.note = note_printf(c->scratch, "the order is paid by %s here",
		    orders_pay_name(ours.o.pay));
		return record(c, &f);
	}
	if (strcmp(g->order_id, ours.o.public_id) != 0) {
		f.note = note_printf(c->scratch, "the PG names order %s", g->order_id);
		return record(c, &f);
	}
	if (ours.paid_key != NULL)
		return paid_here(c, &f, &ours, g);
	return unpaid_here(c, &f, &ours, g);
}

/* One finding per repeated row (its transaction key seen before), and the groups. */
static int
build_groups(struct run_ctx *c)
{
	const struct recon_file *file = c->o->file;
	struct strmap txs;
	size_t i, *slot;
	struct group *g;
	int rc = 0;

	c->groups = calloc(file->nrows > 0 ? file->nrows : 1, sizeof(*c->groups));
	if (c->groups == NULL)
		abort();
	strmap_init(&c->gmap, file->nrows);
	strmap_init(&txs, file->nrows);
	for (i = 0; i < file->nrows; i++) {
		const struct recon_row *r = &file->rows[i];

		slot = strmap_slot(&txs, r->transaction_key, row_tx_name, file->rows);
		if (*slot != 0) {
			struct finding f;

			memset(&f, 0, sizeof(f));
			f.seq = (int64_t)i;
			f.cls = RECON_DUPLICATE;
			f.pg_key = r->payment_key;
			f.pg_amount = r->amount;
			f.our_amount = -1;
			f.action = "report";
			f.note = note_printf(c->scratch, "line %zu repeats transaction %s of line %zu",
			    r->line, r->transaction_key, file->rows[*slot - 1].line);
			rc = record(c, &f);
			arena_reset(c->scratch);
			if (rc != 0)
				break;
			continue;
		}
		*slot = i + 1;
		slot = strmap_slot(&c->gmap, r->payment_key, group_name, c->groups);
		if (*slot == 0) {
			g = &c->groups[c->ngroups];
			g->key = r->payment_key;
			g->order_id = r->order_id;
			g->first = i;
			*slot = ++c->ngroups;
		}
		g = &c->groups[*slot - 1];
		if (strcmp(g->order_id, r->order_id) != 0)
			g->order_conflict = true;
		if (r->type == RECON_APPROVE) {
			g->napprove++;
			g->approved_at = r->at;
			if (money_add(g->approved, r->amount, &g->approved) != 0)
				rc = DB_ERR;
		} else if (money_add(g->cancelled, -r->amount, &g->cancelled) != 0) {
			rc = DB_ERR;
		}
		if (rc != 0) {
			log_error(NULL, "reconcile: the amounts of payment %s overflow", r->payment_key);
			break;
		}
	}
	strmap_free(&txs);
	return rc;
}

/* Our PAID payments of the file's day that the file does not have. */
static int
missing_at_pg(struct run_ctx *c)
{
	struct db_res res;
	struct finding f;
	int64_t n;
	size_t i, *slot;
	int rc;

	if (c->o->file->date[0] == '\0')
		return 0;
	n = db_query(c->o->db, c->scratch, &res, SQL_OURS_OF_DAY, "ss", pg_name(c->o->file->pg),
	    arena_printf(c->scratch, "%s%%", c->o->file->date));
	if (n < 0)
		return (int)n;
	for (i = 0; i < res.nrows; i++) {
		slot = strmap_slot(&c->gmap, db_res_str(&res, i, 1), group_name, c->groups);
		if (*slot != 0)
			continue;
		memset(&f, 0, sizeof(f));
		f.seq = (int64_t)(c->o->file->nrows + i);
		f.cls = RECON_MISSING_PG;
		f.order_id = db_res_str(&res, i, 0);
		f.pg_key = db_res_str(&res, i, 1);
		f.pg_amount = -1;
		f.our_amount = db_res_i64(&res, i, 2) - db_res_i64(&res, i, 3);
		f.action = "report";
		f.note = note_printf(c->scratch, "approved here on %s; not in the PG's records",
		    c->o->file->date);
		rc = record(c, &f);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the run's own rows ----------------------------------------------------------------- */

struct start_tx {
	struct run_ctx *c;
	const char *source;
};

static int
start_tx_fn(struct db *db, void *arg)
{
	struct start_tx *t = arg;
	const struct recon_opts *o = t->c->o;
	int64_t token = o->lock->fencing_token, rc;

	rc = db_exec(db, SQL_GUARD_RAISE, "ii", token, token);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return TX_FENCED;
	rc = db_exec(db, SQL_SUPERSEDE, "i", token);
	if (rc < 0)
		return (int)rc;
	rc = db_exec(db, SQL_RUN_INSERT, "sssiii", pg_name(o->file->pg), t->source, o->file->date,
	    (int64_t)o->dry_run, token, (int64_t)o->file->nrows);
	if (rc < 0)
		return (int)rc;
	t->c->run->id = db_last_insert_id(db);
	rc = db_exec(db, SQL_GUARD_RUN, "i", t->c->run->id);
	return rc < 0 ? (int)rc : 0;
}

/* The source as stored: printable ASCII (others become '?'), at most RECON_SOURCE_MAX. */
static const char *
clean_source(struct arena *a, const char *s)
{
	char *d = arena_strndup(a, s != NULL ? s : "-", RECON_SOURCE_MAX);
	size_t i;

	for (i = 0; d[i] != '\0'; i++) {
		if ((unsigned char)d[i] < 0x20 || (unsigned char)d[i] > 0x7e)
			d[i] = '?';
	}
	return d;
}

/* Raises the guard to our token and records the run. 0, TX_FENCED, or an enum db_rc. */
static int
start_run(struct run_ctx *c)
{
	struct start_tx t = { c, clean_source(c->a, c->o->source) };
	struct db_res res;
	int64_t guard;
	int rc;

	rc = db_tx(c->o->db, start_tx_fn, &t);
	if (rc != TX_FENCED)
		return rc;
	/* A newer token is in the guard. If the lock is still ours no other run is live, so
	 * Redis lost its counter: move it past the guard and try once more. */
	if (db_query(c->o->db, c->scratch, &res, SQL_GUARD_READ, "") != 1 ||
	    reconcile_lock_renew(c->o->redis, c->o->lock) != 1)
		return TX_FENCED;
	guard = db_res_i64(&res, 0, 0);
	if (fence_above(c->o->redis, guard, &c->o->lock->fencing_token) != 0)
		return TX_FENCED;
	log_warn(NULL, "reconcile: the fencing counter was behind the guard (%" PRId64 "): now %"
	    PRId64, guard, c->o->lock->fencing_token);
	c->run->fencing_token = c->o->lock->fencing_token;
	return db_tx(c->o->db, start_tx_fn, &t);
}

struct finish_tx {
	struct run_ctx *c;
	const char *status;
	const char *note;
};

static int
finish_tx_fn(struct db *db, void *arg)
{
	struct finish_tx *t = arg;
	const struct recon_run *run = t->c->run;
	int64_t rc;

	rc = fence_check(db, t->c);
	if (rc != 0)
		return (int)rc;
	rc = db_exec(db, SQL_RUN_FINISH, "siiiiiisi", t->status, run->counts[RECON_MATCH],
	    run->counts[RECON_AMOUNT_MISMATCH], run->counts[RECON_MISSING_HERE],
	    run->counts[RECON_MISSING_PG], run->counts[RECON_DUPLICATE], run->repaired, t->note,
	    run->id);
	return rc < 0 ? (int)rc : 0;
}

static int
finish_run(struct run_ctx *c, const char *status, const char *note)
{
	struct finish_tx t = { c, status, note };

	c->run->status = status;
	c->run->note = note;
	return db_tx(c->o->db, finish_tx_fn, &t);
}

enum recon_rc
reconcile_run(const struct recon_opts *o, struct arena *a, struct recon_run *out)
{
	struct run_ctx c;
	enum recon_rc ret = RECON_FAILED;
	const char *why = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.a = a;
	c.run = out;
	c.scratch = arena_new(16384);
	out->pg = pg_name(o->file->pg);
	out->source = clean_source(a, o->source);
	out->status = "running";
	out->dry_run = o->dry_run;
	out->fencing_token = o->lock->fencing_token;
	out->rows = (int64_t)o->file->nrows;
	out->period = o->file->date[0] != '\0' ? arena_strdup(a, o->file->date) : NULL;

	rc = start_run(&c);
	if (rc == TX_FENCED) {
		log_warn(NULL, "reconcile: a newer run holds the guard: nothing done");
		ret = RECON_BUSY;
		goto out;
	}
	if (rc != 0) {
		log_error(NULL, "reconcile: could not record the run (database)");
		goto out;
	}
	rc = build_groups(&c);
	for (i = 0; rc == 0 && i < c.ngroups; i++) {
		if (now_ms() - o->lock->renewed_ms > RECON_RENEW_MS &&
		    reconcile_lock_renew(o->redis, o->lock) == 0) {
			rc = TX_FENCED;
			break;
		}
		rc = do_group(&c, &c.groups[i]);
		arena_reset(c.scratch);
	}
	if (rc == 0)
		rc = missing_at_pg(&c);
	arena_reset(c.scratch);
	if (rc == TX_FENCED) {
		log_warn(NULL, "reconcile run %" PRId64 ": a newer run took over: stopped", out->id);
		ret = RECON_BUSY;
		goto out;
	}
	if (rc != 0) {
		why = "stopped: the database failed (the next run resumes)";
		if (finish_run(&c, "failed", why) != 0)
			log_error(NULL, "reconcile run %" PRId64 ": could not mark it failed", out->id);
		goto out;
	}
	rc = finish_run(&c, "done", c.o->file->date[0] == '\0' ?
	    "the file has no rows: the day's payments were not checked" : NULL);
	if (rc == TX_FENCED) {
		ret = RECON_BUSY;
		goto out;
	}
	if (rc != 0)
		goto out;
	ret = c.nreport > 0 || c.nwould > 0 ? RECON_FINDINGS : RECON_DONE;
out:
	for (i = 0; o->bus != NULL && i < c.njobs; i++) {
		struct bus_job j = { c.jobs[i], JOB_SETTLE };

		bus_push(o->bus, &j);
	}
	if (out->note != NULL)
		out->note = arena_strdup(a, out->note);
	if (ret == RECON_FAILED && strcmp(out->status, "running") == 0)
		out->status = "failed";
	free(c.jobs);
	free(c.groups);
	strmap_free(&c.gmap);
	arena_free(&c.scratch);
	return ret;
}

/* ---- reports for the admin console ---------------------------------------------------- */

static void
run_from_row(const struct db_res *res, size_t i, struct recon_run *r)
{
	memset(r, 0, sizeof(*r));
	r->id = db_res_i64(res, i, 0);
	r->pg = db_res_str(res, i, 1);
	r->source = db_res_str(res, i, 2);
	r->status = db_res_str(res, i, 3);
	r->dry_run = db_res_i64(res, i, 4) != 0;
	r->fencing_token = db_res_i64(res, i, 5);
	r->rows = db_res_i64(res, i, 6);
	r->counts[RECON_MATCH] = db_res_i64(res, i, 7);
	r->counts[RECON_AMOUNT_MISMATCH] = db_res_i64(res, i, 8);
	r->counts[RECON_MISSING_HERE] = db_res_i64(res, i, 9);
	r->counts[RECON_MISSING_PG] = db_res_i64(res, i, 10);
	r->counts[RECON_DUPLICATE] = db_res_i64(res, i, 11);
	r->repaired = db_res_i64(res, i, 12);
	r->started_at = db_res_str(res, i, 13);
	r->finished_at = db_res_str(res, i, 14);
	r->period = db_res_str(res, i, 15);
	r->note = db_res_str(res, i, 16);
}

int64_t
reconcile_runs(struct db *db, struct arena *a, size_t limit, struct recon_run **out)
{
	struct db_res res;
	int64_t n;
	size_t i;

	*out = NULL;
	n = db_query(db, a, &res, SQL_RUNS, "i", (int64_t)limit);
	if (n <= 0)
		return n;
	*out = arena_alloc(a, res.nrows * sizeof(**out));
	for (i = 0; i < res.nrows; i++)
		run_from_row(&res, i, &(*out)[i]);
	return n;
}

int
reconcile_run_get(struct db *db, struct arena *a, int64_t id, struct recon_run *out)
{
	struct db_res res;
	int64_t n;

	memset(out, 0, sizeof(*out));
	n = db_query(db, a, &res, SQL_RUN_GET, "i", id);
	if (n <= 0)
		return (int)n;
	run_from_row(&res, 0, out);
	return 1;
}

int64_t
reconcile_findings(struct db *db, struct arena *a, int64_t run_id, bool with_matches,
    struct recon_finding **out)
{
	struct db_res res;
	struct recon_finding *f;
	int64_t n;
	size_t i;

	*out = NULL;
	n = db_query(db, a, &res, SQL_FINDINGS, "ii", run_id, (int64_t)with_matches);
	if (n <= 0)
		return n;
	*out = arena_alloc(a, res.nrows * sizeof(**out));
	for (i = 0; i < res.nrows; i++) {
		f = &(*out)[i];
		memset(f, 0, sizeof(*f));
		f->id = db_res_i64(&res, i, 0);
		if (class_parse(db_res_str(&res, i, 1), &f->cls) != 0)
			return DB_ERR;
		f->pg_key = db_res_str(&res, i, 2);
		f->order_id = db_res_str(&res, i, 3);
		f->pg_amount = db_res_i64(&res, i, 4);
		f->our_amount = db_res_i64(&res, i, 5);
		f->action = db_res_str(&res, i, 6);
		f->note = db_res_str(&res, i, 7);
	}
	return n;
}
