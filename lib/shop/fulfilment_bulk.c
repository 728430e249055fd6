/* fulfilment_bulk: the staff's bulk shipping upload: parsing the pasted CSV rows and shipping
 * each one through fulfilment_ship, row by row (see fulfilment.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <hiredis/hiredis.h>

#include "base/arena.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/valid.h"
#include "infra/redis.h"
#include "shop/fulfilment.h"
#include "shop/labels.h"

/* The console's words for each refused move (the shopper's are in fcgi/delivery.c). */
static const char *const rc_messages[FULFILMENT_RC__MAX] = {
	[FULFILMENT_NOT_FOUND] = "주문을 찾을 수 없거나 이 판매자의 상품이 없는 주문입니다.",
	[FULFILMENT_WRONG_STATE] = "결제 완료된 배송준비중 주문이 아닙니다. 취소되었거나 다른"
	    " 운송장으로 이미 발송되었습니다.",
	[FULFILMENT_TOO_LATE] = "반품 신청 기간이 지났습니다.",
	[FULFILMENT_BAD_INPUT] = "택배사나 운송장 번호가 올바르지 않습니다. 운송장 번호는 영문,"
	    " 숫자, '-' 6~30자입니다.",
	[FULFILMENT_FAILED] = "처리하지 못했습니다. 잠시 후 다시 시도해 주세요.",
};

const char *
fulfilment_rc_message(enum fulfilment_rc rc)
{
	return (unsigned)rc < FULFILMENT_RC__MAX ? rc_messages[rc] : rc_messages[FULFILMENT_FAILED];
}

/* The next field of a line: up to the next ',' or end, trimmed of spaces and tabs, copied into
 * a. *p moves past the comma. Returns NULL when it is longer than FULFILMENT_BULK_FIELD_MAX. */
static const char *
next_field(struct arena *a, const char **p, const char *end)
{
	const char *s = *p, *e = s;

	while (e < end && *e != ',')
		e++;
	*p = e < end ? e + 1 : e;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if ((size_t)(e - s) > FULFILMENT_BULK_FIELD_MAX)
		return NULL;
	return arena_strndup(a, s, (size_t)(e - s));
}

/* Fills row from one line [s, end) (no line end). */
static void
parse_line(struct arena *a, const char *s, const char *end, struct fulfilment_bulk_row *row)
{
	const char **fields[] = { &row->order, &row->seller, &row->courier, &row->tracking_no };
	const char *p = s;
	size_t i, commas = 0;

	row->order = row->seller = row->courier = row->tracking_no = "";
	for (i = 0; s + i < end; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			row->problem = "보이지 않는 제어 문자가 들어 있습니다.";
			return;
		}
		commas += c == ',';
	}
	if (commas != 3) {
		row->problem = "항목이 4개(주문번호, 판매자 번호, 택배사, 운송장 번호)가 아닙니다.";
		return;
	}
	for (i = 0; i < 4; i++) {
		const char *f = next_field(a, &p, end);

		if (f == NULL) {
			row->order = row->seller = row->courier = row->tracking_no = "";
			row->problem = "너무 긴 항목이 있습니다.";
			return;
		}
		*fields[i] = f;
	}
}

/* True for a header line: its first field is "주문번호" or "order..." (any case). */
static bool
is_header(const struct fulfilment_bulk_row *row)
{
	return row->problem == NULL && (strcmp(row->order, "주문번호") == 0 ||
	    strncasecmp(row->order, "order", 5) == 0);
}

int64_t
fulfilment_bulk_parse(struct arena *a, const char *text, size_t len,
    struct fulfilment_bulk_row **out, const char **err)
{
	const char *p = text, *end = text + len, *eol;
	struct fulfilment_bulk_row *rows;
	size_t n = 0, line = 0;

	*out = NULL;
	if (len > FULFILMENT_BULK_TEXT_MAX) {
		*err = "파일이 너무 큽니다. 256KB 이하로 나누어 올려 주세요.";
		return -1;
	}
	if (memchr(text, '\0', len) != NULL || !valid_utf8(text, len)) {
		*err = "UTF-8 텍스트(CSV)가 아닙니다. 엑셀에서는 'CSV UTF-8'로 저장해 주세요.";
		return -1;
	}
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	rows = arena_alloc(a, (FULFILMENT_BULK_ROWS_MAX + 1) * sizeof(*rows));
	while (p < end) {
		const char *stop;
		bool blank = true;

		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		stop = eol != NULL ? eol : end;
		if (stop > p && stop[-1] == '\r')
			stop--;
		for (const char *q = p; q < stop; q++)
			if (*q != ' ' && *q != '\t')
				blank = false;
		if (!blank) {
			if (n == FULFILMENT_BULK_ROWS_MAX) {
				*err = "한 번에 500행까지 올릴 수 있습니다. 나누어 올려 주세요.";
				return -1;
			}
			memset(&rows[n], 0, sizeof(rows[n]));
			rows[n].line = line;
			parse_line(a, p, stop, &rows[n]);
			if (!(n == 0 && is_header(&rows[n])))
				n++;
		}
		p = eol != NULL ? eol + 1 : end;
	}
	if (n == 0) {
		*err = "올린 내용에 배송 행이 없습니다.";
		return -1;
	}
	*out = rows;
	return (int64_t)n;
}

/* The courier code of what a row says: a code ("cj") or a Korean name ("CJ대한통운"). NULL
 * when it is neither. */
static const char *
courier_code(const char *s)
{
	const struct label *l;
	size_t i;

	if (labels_find(LABEL_COURIER, s) != NULL)
		return s;
	for (i = 0; labels_nth(LABEL_COURIER, i, &l); i++)
		if (strcmp(l->text, s) == 0)
			return l->code;
	return NULL;
}

static void
refuse(struct fulfilment_bulk_result *r, const char *message)
{
	r->outcome = FULFILMENT_BULK_REFUSED;
	r->message = message;
}

size_t
fulfilment_bulk_apply(struct db *db, struct bus *bus,
    const struct fulfilment_bulk_row *rows, size_t n, int64_t actor_id,
    struct fulfilment_bulk_result *results)
{
	size_t i, j, shipped = 0;

	for (i = 0; i < n; i++) {
		const struct fulfilment_bulk_row *row = &rows[i];
		struct fulfilment_bulk_result *res = &results[i];
		struct fulfilment_move m = { .order = row->order, .actor_id = actor_id };
		const char *courier;
		enum fulfilment_rc rc;
		bool twice = false;

		if (row->problem != NULL) {
			refuse(res, row->problem);
			continue;
		}
		if (!valid_token(row->order, 1, FULFILMENT_ORDER_MAX)) {
			refuse(res, "주문번호가 올바르지 않습니다.");
			continue;
		}
		if (valid_int64(row->seller, 1, INT64_MAX, &m.seller_id) != 0) {
			refuse(res, "판매자 번호는 1 이상의 정수입니다.");
			continue;
		}
		courier = courier_code(row->courier);
		if (courier == NULL) {
			refuse(res, "알 수 없는 택배사입니다.");
			continue;
		}
		if (!fulfilment_tracking_valid(row->tracking_no)) {
			refuse(res, "운송장 번호는 영문, 숫자, '-' 6~30자입니다.");
			continue;
		}
		for (j = 0; j < i && !twice; j++)
			twice = results[j].outcome != FULFILMENT_BULK_REFUSED &&
			    strcmp(rows[j].order, row->order) == 0 &&
			    strcmp(rows[j].seller, row->seller) == 0;
		if (twice) {
			refuse(res, "같은 주문과 판매자가 앞 행에 이미 있습니다.");
			continue;
		}
		rc = fulfilment_ship(db, bus, &m, courier, row->tracking_no);
		if (rc == FULFILMENT_DONE) {
			res->outcome = FULFILMENT_BULK_SHIPPED;
			res->message = "발송 처리했습니다.";
			shipped++;
		} else if (rc == FULFILMENT_ALREADY) {
			res->outcome = FULFILMENT_BULK_ALREADY;
			res->message = "이미 같은 운송장으로 발송 처리되어 있습니다.";
		} else {
			refuse(res, fulfilment_rc_message(rc));
		}
	}
	return shipped;
}

/* ---- the report, kept for the page the upload redirects to --------------------------- */

#define REPORT_TTL "3600"   /* seconds a report is kept */

int
fulfilment_bulk_report_save(struct redis *r, const char *json, char *token, size_t cap)
{
	char key[64];
	redisReply *rep;
	bool ok;

	if (cap < 25)
		return -1;
	ids_new(token, 25);
	snprintf(key, sizeof(key), "fulfil:report:%s", token);
	rep = redis_cmdl(r, "SET", key, json, "EX", REPORT_TTL, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	if (!ok)
		log_warn(NULL, "fulfilment: report not kept: %s", rep == NULL ? redis_error(r) :
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	if (rep != NULL)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

int
fulfilment_bulk_report_load(struct redis *r, struct arena *a, const char *token,
    const char **json)
{
	char key[64];
	redisReply *rep;
	int rc;

	if (!valid_token(token, 1, 24))
		return 0;
	snprintf(key, sizeof(key), "fulfil:report:%s", token);
	rep = redis_cmdl(r, "GET", key, NULL);
	if (rep == NULL || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
		if (rep != NULL)
			freeReplyObject(rep);
		return -1;
	}
	rc = rep->type == REDIS_REPLY_STRING;
	if (rc)
		*json = arena_strndup(a, rep->str, rep->len);
	freeReplyObject(rep);
	return rc;
}
