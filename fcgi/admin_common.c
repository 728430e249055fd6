/* admin_common: the helpers and shared sections of the admin console's page families (see
 * admin_common.h). Pages live in admin_dashboard.c, admin_products.c, admin_orders.c,
 * admin_money.c and admin_ops.c; none of them includes another. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/log.h"
#include "base/valid.h"
#include "infra/breaker.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "infra/outbox.h"
#include "req.h"
#include "resp.h"
#include "sess.h"
#include "shop/audit.h"
#include "shop/labels.h"

/* What a finished POST says on the page it redirects to (?ok=<code>). */
static const struct {
	const char *code;
	const char *message;
} flashes[] = {
	{ "product_created", "상품을 등록했습니다." },
	{ "product_updated", "상품 정보를 저장했습니다." },
	{ "product_unchanged", "바뀐 내용이 없습니다." },
	{ "product_deactivated", "상품 판매를 중지했습니다." },
	{ "product_activated", "상품 판매를 다시 시작했습니다." },
	{ "stock_adjusted", "재고를 조정했습니다." },
	{ "refund_accepted", "환불을 접수했습니다. PG 승인 후 완료됩니다." },
	{ "refund_done", "환불을 완료했습니다." },
	{ "refund_replayed", "이미 접수된 환불 요청입니다." },
	{ "payout_done", "지급을 완료했습니다." },
	{ "payout_replayed", "이미 처리된 지급 요청입니다." },
	{ "job_retried", "작업을 다시 대기열에 넣었습니다." },
	{ "parcel_shipped", "발송 처리했습니다. 고객에게 배송 시작 알림을 보냅니다." },
	{ "parcel_already", "이미 같은 운송장으로 발송 처리된 배송입니다." },
	{ "parcel_delivered", "배송완료로 바꿨습니다." },
	{ "recon_dry_run", "모의 대사를 마쳤습니다. 결과를 확인한 뒤 적용하세요. 아직 아무것도 바꾸지 않았습니다." },
	{ "recon_not_kept", "모의 대사를 마쳤지만 적용할 입력을 보관하지 못했습니다. 적용하려면 다시 실행해 주세요." },
	{ "recon_applied", "대사를 적용했습니다." },
	{ "recon_failed", "대사가 실패했습니다. 로그를 확인한 뒤 다시 실행해 주세요." },
};

/* What a refused POST says on the page it redirects to (?err=<code>), with the status that
 * page answers: the refusal's own 4xx, so a client sees the same status after the redirect. */
static const struct {
	const char *code;
	int status;
	const char *message;
} refusals[] = {
	{ "product_seller", 400, "판매자를 선택해 주세요." },
	{ "product_name", 400, "상품명은 1~200자로 입력해 주세요. 제어 문자는 쓸 수 없습니다." },
	{ "product_desc", 400, "상품 설명은 5000자 이하로 입력해 주세요. 제어 문자는 쓸 수 없습니다." },
	{ "product_price", 400, "가격은 1원 이상 1,000,000,000,000,000원 이하의 정수로 입력해 주세요." },
	{ "product_stock", 400, "재고는 0 이상 1,000,000,000 이하의 정수로 입력해 주세요." },
	{ "product_no_seller", 400, "없는 판매자입니다." },
	{ "product_dup_name", 409, "이 판매자에게 같은 이름의 상품이 이미 있습니다." },
	{ "product_invalid", 400, "입력값이 올바르지 않습니다." },
	{ "stock_delta", 400, "조정 수량은 -1,000,000,000 이상 1,000,000,000 이하의 0이 아닌 정수로 입력해 주세요. (예: 5, -3)" },
	{ "stock_reason", 400, "조정 사유를 1~200자로 입력해 주세요." },
	{ "stock_negative", 400, "재고는 0개 미만이 될 수 없습니다." },
	{ "stock_too_much", 400, "재고는 1,000,000,000개를 넘을 수 없습니다." },
	{ "refund_bad", 400, "요청이 올바르지 않습니다." },
	{ "refund_reason", 400, "환불 사유는 200자 이하로 입력해 주세요." },
	{ "refund_key", 400, "요청이 올바르지 않습니다. 페이지를 새로 고쳐 주세요." },
	{ "refund_qty", 400, "환불 수량은 0 이상, 주문 수량 이하의 정수로 입력해 주세요." },
	{ "refund_none", 400, "환불할 수량을 입력해 주세요." },
	{ "refund_key_reused", 422, "이미 다른 환불에 사용된 요청입니다. 페이지를 새로 고친 뒤 다시 시도해 주세요." },
	{ "refund_wrong_state", 409, "결제 완료 또는 부분 취소 상태의 주문만 환불할 수 있습니다." },
	{ "refund_too_late", 409, "환불 가능 기간이 지났습니다." },
	{ "refund_exceeds", 409, "남은 결제 금액이나 수량보다 많이 환불할 수 없습니다." },
	{ "refund_bad_line", 400, "환불할 상품이나 수량이 올바르지 않습니다." },
	{ "payout_bad", 400, "요청이 올바르지 않습니다." },
	{ "payout_amount", 400, "지급 금액은 1원 이상의 정수로 입력해 주세요. 비워 두면 전액을 지급합니다." },
	{ "payout_key", 400, "요청이 올바르지 않습니다. 페이지를 새로 고쳐 주세요." },
	{ "payout_nothing", 409, "지급할 금액이 없습니다." },
	{ "payout_too_much", 409, "지급 가능 금액보다 많이 지급할 수 없습니다." },
	{ "job_not_retryable", 409, "다시 시도할 수 없는 작업입니다. 이미 끝났거나 처리 중입니다." },
	/* fulfilment (admin_fulfilment.c); the refused moves' words are lib/shop's
	 * (fulfilment_rc_message), repeated here as this table holds fixed texts */
	{ "parcel_order", 400, "주문번호를 확인해 주세요." },
	{ "parcel_seller", 400, "판매자 번호를 확인해 주세요." },
	{ "parcel_courier", 400, "택배사를 선택해 주세요." },
	{ "parcel_tracking", 400, "운송장 번호는 영문, 숫자, '-' 6~30자로 입력해 주세요." },
	{ "parcel_not_found", 404, "주문을 찾을 수 없거나 이 판매자의 상품이 없는 주문입니다." },
	{ "parcel_wrong_state", 409, "결제 완료된 배송준비중 주문이 아닙니다. 취소되었거나 다른 운송장으로 이미 발송되었습니다." },
	{ "parcel_not_shipped", 409, "배송중인 주문만 배송완료로 바꿀 수 있습니다." },
	{ "parcel_too_late", 409, "반품 신청 기간이 지났습니다." },
	{ "parcel_bad_input", 400, "택배사나 운송장 번호가 올바르지 않습니다. 운송장 번호는 영문, 숫자, '-' 6~30자입니다." },
	{ "bulk_no_file", 400, "운송장 CSV 파일을 선택해 주세요." },
	{ "bulk_not_csv", 400, "CSV 파일(.csv, UTF-8)만 올릴 수 있습니다. 엑셀에서는 'CSV UTF-8'로 저장해 주세요." },
	{ "bulk_too_big", 400, "파일이 너무 큽니다. 256KB 이하로 나누어 올려 주세요." },
	{ "bulk_bad_form", 400, "요청이 올바르지 않습니다. 페이지를 새로 고쳐 주세요." },
	{ "bulk_unreadable", 400, "CSV 파일을 읽을 수 없습니다." },  /* + the parser's reason */
	/* reconciliation (admin_reconcile.c) */
	{ "recon_no_file", 400, "정산 파일(CSV)을 선택해 주세요." },
	{ "recon_not_csv", 400, "CSV 파일(.csv, UTF-8)만 올릴 수 있습니다." },
	{ "recon_bad_form", 400, "요청이 올바르지 않습니다. 페이지를 새로 고쳐 주세요." },
	{ "recon_pg", 400, "PG를 선택해 주세요." },
	{ "recon_name", 400, "파일 이름은 100자 이하로 적어 주세요." },
	{ "recon_no_fetch", 400, "카카오페이는 정산 조회 API가 없습니다. 정산 파일을 올려 주세요." },
	{ "recon_date", 400, "정산일을 2026-12-06처럼 입력해 주세요." },
	{ "recon_bad_file", 400, "정산 파일을 읽을 수 없습니다." },   /* + the parser's reason */
	{ "recon_fetch_failed", 502, "PG에서 정산 내역을 받아 오지 못했습니다. 잠시 후 다시 시도해 주세요." },
	{ "recon_locked", 409, "다른 대사가 진행 중입니다. 끝난 뒤 다시 시도해 주세요." },
	{ "recon_busy", 409, "더 새로 시작된 대사가 있어 이 대사는 중단되었습니다." },
};

/* Breakers every deployment has; shown even before any process published them. */
static const char *const known_breakers[] = { "alimtalk", "naver", "pg-kakaopay", "pg-toss" };

struct json_object *
admin_common_jstr(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
admin_common_ctx(struct req *r, const char *title)
{
	struct json_object *ctx = json_object_new_object();
	const char *csrf = sess_csrf(r);
	const char *ok;
	size_t i;

	json_object_object_add(ctx, "title", json_object_new_string(title));
	if (csrf != NULL)
		json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	if (form_get(&r->query, "ok", &ok, NULL) == 0) {
		for (i = 0; i < sizeof(flashes) / sizeof(flashes[0]); i++) {
			if (strcmp(ok, flashes[i].code) == 0) {
				json_object_object_add(ctx, "flash",
				    json_object_new_string(flashes[i].message));
				break;
			}
		}
	}
	return ctx;
}

/* The side navigation's items by the paths under them (templates/admin_layout.html marks
 * nav.<key> as the current page). "/admin" itself is the dashboard. */
static const struct {
	const char *prefix;
	const char *key;
} nav_items[] = {
	{ "/admin/orders", "orders" },
	{ "/admin/fulfilment", "fulfilment" },
	{ "/admin/products", "products" },
	{ "/admin/sellers", "money" },
	{ "/admin/ledger", "ledger" },
	{ "/admin/reconcile", "reconcile" },
	{ "/admin/audit", "audit" },
	{ "/admin/outbox", "ops" },
	{ "/admin/breakers", "ops" },
};

/* The navigation key of path, or NULL. */
static const char *
nav_key(const char *path)
{
	size_t i, n;

	if (path == NULL)
		return NULL;
	if (strcmp(path, "/admin") == 0 || strcmp(path, "/admin/") == 0)
		return "dashboard";
	for (i = 0; i < sizeof(nav_items) / sizeof(nav_items[0]); i++) {
		n = strlen(nav_items[i].prefix);
		if (strncmp(path, nav_items[i].prefix, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return nav_items[i].key;
	}
	return NULL;
}

int
admin_common_page(struct req *r, int status, const char *page, struct json_object *ctx)
{
	const char *key = nav_key(r->path);

	if (key != NULL && json_object_is_type(ctx, json_type_object) &&
	    !json_object_object_get_ex(ctx, "nav", NULL)) {
		struct json_object *nav = json_object_new_object();

		json_object_object_add(nav, key, json_object_new_boolean(1));
		json_object_object_add(ctx, "nav", nav);
	}
	/* The console shows no cart badge: skip the cart's Redis read (resp.c keeps a set value). */
	if (json_object_is_type(ctx, json_type_object))
		json_object_object_add(ctx, "cart_count", json_object_new_int(0));
	return resp_page_in(r, status, "admin_layout", page, ctx);
}

void
admin_common_unavailable(struct req *r, struct json_object *ctx, const char *key,
    const char *what)
{
	log_warn(&r->log, "admin: %s failed; the page says it could not be read", what);
	json_object_object_add(ctx, key, json_object_new_string(ADMIN_COMMON_UNAVAILABLE));
}

int
admin_common_db_failed_status(struct req *r)
{
	return db_ping(r->app->db) != 0 ? 503 : 500;
}

int
admin_common_done(struct req *r, const char *path, const char *code)
{
	return resp_redirect(r, arena_printf(r->a, "%s?ok=%s", path, code));
}

/* The refusal table's row of code, or -1. */
static int
refusal_index(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		if (strcmp(code, refusals[i].code) == 0)
			return (int)i;
	}
	return -1;
}

int
admin_common_refused(struct req *r, const char *path, const char *code, const char *anchor,
    const char *const *names, const char *const *vals, size_t n)
{
	struct buf u = { 0 };
	const char *url;
	size_t i;

	if (refusal_index(code) < 0)
		log_error(&r->log, "admin: refusal code %s is not in the table", code);
	buf_printf(&u, "%s?err=%s", path, code);
	for (i = 0; i < n; i++) {
		/* Escaped, a value takes at most three times its bytes: leave out what would
		 * not fit (the message still shows; the admin types it again). */
		if (vals[i] == NULL || vals[i][0] == '\0' ||
		    strlen(vals[i]) > ADMIN_COMMON_KEEP_MAX ||
		    u.len + strlen(names[i]) + 2 + 3 * strlen(vals[i]) + 64 > RESP_BUILT_URL_MAX)
			continue;
		buf_printf(&u, "&%s=", names[i]);
		esc_url_query(&u, vals[i]);
	}
	if (anchor != NULL)
		buf_printf(&u, "#%s", anchor);
	url = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return resp_redirect_built(r, url);  /* our path, the typed values escaped */
}

const char *
admin_common_refusal(struct req *r, int *status)
{
	const char *code;
	int i;

	if (form_get(&r->query, "err", &code, NULL) != 0)
		return NULL;
	i = refusal_index(code);
	if (i < 0)
		return NULL;
	*status = refusals[i].status;
	return refusals[i].message;
}

const char *
admin_common_refusal_text(struct req *r, int *status)
{
	const char *msg = admin_common_refusal(r, status);
	const char *reason;

	if (msg == NULL)
		return NULL;
	reason = admin_common_kept(r, "reason");
	if (reason == NULL || reason[0] == '\0')
		return msg;
	return arena_printf(r->a, "%s (%s)", msg, reason);
}

const char *
admin_common_kept(struct req *r, const char *name)
{
	const char *v;

	if (form_get(&r->query, name, &v, NULL) != 0)
		return NULL;
	return v;
}

/* A query or form value: 1 present, 0 absent or empty, -1 repeated. */
static int
field(const struct form *f, const char *name, const char **out, size_t *len)
{
	int rc = form_get(f, name, out, len);

	if (rc < 0)
		return -1;
	if (rc > 0 || *len == 0)
		return 0;
	return 1;
}

/* True when s ends with suffix, ASCII case-insensitively. */
static bool
ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum admin_common_csv
admin_common_csv_upload(struct req *r, size_t max, const char **text, size_t *len,
    const char **filename)
{
	const struct multipart_part *f;
	const char *ct;
	int rc = req_file(r, "file", &f);

	*text = NULL;
	*len = 0;
	*filename = NULL;
	if (rc < 0)
		return ADMIN_CSV_REPEATED;
	if (rc == 0 && f->filename[0] != '\0' && f->len > 0) {
		ct = f->content_type;
		if (!ends_with_ci(f->filename, ".csv") && (ct == NULL ||
		    strncasecmp(ct, "text/csv", 8) != 0 || (ct[8] != '\0' && ct[8] != ';')))
			return ADMIN_CSV_NOT_CSV;
		if (f->len > max)
			return ADMIN_CSV_TOO_BIG;
		if (memchr(f->data, '\0', f->len) != NULL || !valid_utf8(f->data, f->len))
			return ADMIN_CSV_NOT_CSV;
		*text = f->data;
		*len = f->len;
		*filename = f->filename;
		return ADMIN_CSV_OK;
	}
	rc = form_get(&r->form, "csv", text, len);
	if (rc < 0)
		return ADMIN_CSV_REPEATED;
	if (rc == 1 || *len == 0) {
		*text = NULL;
		*len = 0;
		return ADMIN_CSV_NONE;
	}
	return *len > max ? ADMIN_CSV_TOO_BIG : ADMIN_CSV_OK;
}

int
admin_common_query_id(struct req *r, const char *name, int64_t *out)
{
	const char *v;
	size_t len;
	int rc = field(&r->query, name, &v, &len);

	if (rc <= 0)
		return rc;
	return valid_int64(v, 1, INT64_MAX, out) == 0 ? 1 : -1;
}

static int
text_field(const struct form *f, const char *name, size_t max_chars, const char **out)
{
	const char *v;
	size_t len;
	int rc = field(f, name, &v, &len);

	if (rc <= 0)
		return rc;
	if (!valid_text(v, len, max_chars, false))
		return -1;
	*out = v;
	return 1;
}

int
admin_common_query_text(struct req *r, const char *name, size_t max_chars, const char **out)
{
	return text_field(&r->query, name, max_chars, out);
}

int
admin_common_form_text(struct req *r, const char *name, size_t max_chars, const char **out)
{
	return text_field(&r->form, name, max_chars, out);
}

const char *
admin_common_next_url(struct req *r, const char *path, int64_t before_id,
    const char *const *names, const char *const *vals, size_t n)
{
	struct buf u = { 0 };
	const char *url;
	size_t i;

	buf_printf(&u, "%s?before=%" PRId64, path, before_id);
	for (i = 0; i < n; i++) {
		if (vals[i] == NULL)
			continue;
		buf_printf(&u, "&%s=", names[i]);
		esc_url_query(&u, vals[i]);
	}
	url = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return url;
}

const char *
admin_common_url(struct req *r, const char *path, const char *const *names,
    const char *const *vals, size_t n)
{
	struct buf u = { 0 };
	const char *url;
	size_t i;
	char sep = '?';

	buf_puts(&u, path);
	for (i = 0; i < n; i++) {
		if (vals[i] == NULL)
			continue;
		buf_printf(&u, "%c%s=", sep, names[i]);
		esc_url_query(&u, vals[i]);
		sep = '&';
	}
	url = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return url;
}

const char *
admin_common_url_path(struct req *r, const char *base, const char *segment)
{
	struct buf u = { 0 };
	const char *url;

	buf_puts(&u, base);
	esc_url_path(&u, segment);
	url = arena_strdup(r->a, buf_cstr(&u));
	buf_release(&u);
	return url;
}

const char *
admin_common_status_label(enum order_status s)
{
	return labels_text(LABEL_ORDER, (unsigned)s < ORDER_STATUS__MAX ? orders_status_name(s) :
	    NULL);
}

void
admin_common_add_queues(struct req *r, struct json_object *ctx)
{
	struct outbox_depth *d;
	struct json_object *rows;
	int64_t n, i;

	n = outbox_depths(r->app->db, r->a, &d);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "queues_error", "outbox_depths");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "kind", admin_common_jstr(d[i].kind));
		json_object_object_add(o, "pending", json_object_new_int64(d[i].pending));
		json_object_object_add(o, "claimed", json_object_new_int64(d[i].claimed));
		json_object_object_add(o, "dead", json_object_new_int64(d[i].dead));
		json_object_array_add(rows, o);
	}
	json_object_object_add(ctx, "queues", rows);
}

/* ---- breakers --------------------------------------------------------------------------- */

/* Unix milliseconds as local "YYYY-MM-DD HH:MM:SS", or NULL. */
static const char *
ms_time(struct req *r, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return NULL;
	return arena_strdup(r->a, s);
}

static const char *
state_label(const char *state)
{
	if (state == NULL)
		return "기록 없음";
	if (strcmp(state, "closed") == 0)
		return "정상 (closed)";
	if (strcmp(state, "open") == 0)
		return "차단 (open)";
	if (strcmp(state, "half_open") == 0)
		return "시험 중 (half-open)";
	return "알 수 없음";
}

/* Fills o with a report: "state", "stateLabel", "pid", "since", "updated" and the numbers
 * under their Redis names ("failure_rate", "calls", ...). */
static void
report_fields(struct req *r, struct json_object *o, const struct breaker_report *rep)
{
	const char *state = breaker_state_name(rep->state);
	int f;

	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "stateLabel", json_object_new_string(state_label(state)));
	json_object_object_add(o, "pid", json_object_new_string(rep->pid));
	json_object_object_add(o, "since", admin_common_jstr(ms_time(r,
	    rep->v[BREAKER_FIELD_SINCE_MS])));
	json_object_object_add(o, "updated", admin_common_jstr(ms_time(r,
	    rep->v[BREAKER_FIELD_UPDATED_MS])));
	for (f = 0; f < BREAKER_FIELD__MAX; f++) {
		if (f == BREAKER_FIELD_SINCE_MS || f == BREAKER_FIELD_UPDATED_MS)
			continue;
		json_object_object_add(o, breaker_report_field_name(f),
		    json_object_new_int64(rep->v[f]));
	}
}

void
admin_common_add_breakers(struct req *r, struct json_object *ctx, bool with_procs)
{
	struct breaker_published *list;
	struct json_object *rows;
	size_t i, k;
	int n;

	n = breaker_read_published(r->app->redis, known_breakers,
	    sizeof(known_breakers) / sizeof(known_breakers[0]), with_procs, &list);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "breakers_error", "breakers from Redis");
		return;
	}
	rows = json_object_new_array();
	for (i = 0; i < (size_t)n; i++) {
		struct json_object *o = json_object_new_object();
		struct json_object *procs = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(list[i].name));
		if (list[i].reported)
			report_fields(r, o, &list[i].summary);
		else
			json_object_object_add(o, "stateLabel",
			    json_object_new_string(state_label(NULL)));
		for (k = 0; k < list[i].nprocs; k++) {
			struct json_object *p = json_object_new_object();

			report_fields(r, p, &list[i].procs[k]);
			json_object_array_add(procs, p);
		}
		if (with_procs)
			json_object_object_add(o, "procs", procs);
		else
			json_object_put(procs);
		json_object_array_add(rows, o);
	}
	breaker_published_free(&list, (size_t)n);
	json_object_object_add(ctx, "breakers", rows);
}
