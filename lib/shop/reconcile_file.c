/* reconcile_file: a PG's settlement records of one day, read strictly from a settlement file
 * (CSV, as the fake PG writes it) or fetched from Toss's settlement API through the breaker
 * gate (see reconcile.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/money.h"
#include "base/valid.h"
#include "clients/pg.h"
#include "clients/pggate.h"
#include "shop/reconcile.h"

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

#define RECON_AT_MAX 40
#define RECON_FETCH_PAGE 100      /* settlement records asked for per page */

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		abort();
	return p;
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

/* Splits line at its commas into col[COL__MAX] (in place). 0, or -1 with err set. */
static int
csv_split(char *line, size_t lineno, char *col[COL__MAX], char *err, size_t err_len)
{
	char *p;
	size_t n = 0;

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
	return 0;
}

/* Checks the text fields of a row: one settlement date, this file's PG, a known type and
 * well-formed keys. 0, or -1 with err set. */
static int
csv_words(char *const col[COL__MAX], size_t lineno, struct recon_file *f, char *err,
    size_t err_len)
{
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
	if (!at_ok(col[COL_AT])) {
		set_err(err, err_len, "line %zu: transaction_at \"%.40s\" is not an ISO 8601 time",
		    lineno, col[COL_AT]);
		return -1;
	}
	return 0;
}

/* Reads the amounts of a row into won[0..3) (amount, fee, net) and checks their signs and
 * amount - fee = net. 0, or -1 with err set. */
static int
csv_amounts(char *const col[COL__MAX], size_t lineno, int64_t won[3], char *err,
    size_t err_len)
{
	int64_t diff;
	int i;

	for (i = COL_AMOUNT; i <= COL_NET; i++) {
		if (money_parse(col[i], &won[i - COL_AMOUNT]) != 0) {
			set_err(err, err_len, "line %zu: %s \"%.40s\" is not an integer number of won",
			    lineno, csv_col_names[i], col[i]);
			return -1;
		}
	}
	if (col[COL_TYPE][0] == 'a' ? won[0] <= 0 : won[0] >= 0) {
		set_err(err, err_len, "line %zu: an %s of %" PRId64 " won (approvals are positive,"
		    " cancels negative)", lineno, col[COL_TYPE], won[0]);
		return -1;
	}
	if (money_sub(won[0], won[1], &diff) != 0 || diff != won[2]) {
		set_err(err, err_len, "line %zu: amount - fee = net does not hold (%" PRId64 " - %"
		    PRId64 " != %" PRId64 ")", lineno, won[0], won[1], won[2]);
		return -1;
	}
	return 0;
}

/* Checks one data line (printable ASCII, NUL-terminated in line) and appends its row. */
static int
csv_row(char *line, size_t lineno, struct recon_file *f, struct arena *a, char *err,
    size_t err_len)
{
	char *col[COL__MAX];
	struct recon_row *r;
	int64_t won[3];

	if (csv_split(line, lineno, col, err, err_len) != 0 ||
	    csv_words(col, lineno, f, err, err_len) != 0 ||
	    csv_amounts(col, lineno, won, err, err_len) != 0)
		return -1;
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
	r->amount = won[0];
	r->fee = won[1];
	r->net = won[2];
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
reconcile_fetch(const struct conf *c, enum pg_id pg, const char *date, struct arena *a,
    struct recon_file *out, char *err, size_t err_len)
{
	struct pg_settlement *recs;
	struct pg_result res;
	struct pggate *g;
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
	g = pggate_get(c, PG_TOSS, PGGATE_PAY);
	recs = calloc(RECON_FETCH_PAGE, sizeof(*recs));
	if (recs == NULL)
		abort();
	for (page = 1;; page++) {
		if (!pggate_toss_settlements(g, date, page, RECON_FETCH_PAGE, recs, &n, &res) ||
		    res.outcome != PG_OK) {
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

