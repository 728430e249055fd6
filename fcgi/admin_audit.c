/* admin_audit: the admin console's audit log: every admin action as a readable row (who,
 * when, what in Korean, the target linked to its page, what changed as "재고 10 → 15"), with
 * filters and paging, and one record's page with every field before and after and the stored
 * JSON for support. Reads lib/shop/audit; the records are written by the modules that act. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "admin_common.h"
#include "app.h"
#include "base/arena.h"
#include "base/jparse.h"
#include "base/money.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "shop/audit.h"
#include "shop/labels.h"

/* How many changed fields a list row shows before "외 N개". */
#define AUDIT_ROW_CHANGES 3

/* The largest record text parsed for display (the columns hold what the modules wrote). */
#define AUDIT_JSON_MAX (256 * 1024)

static const char MSG_NO_ENTRY[] = "감사 기록을 찾을 수 없습니다.";

/* Fields whose integers are amounts of won. */
static const char *const money_fields[] = { "price", "listPrice", "amount", "refundedAmount",
	"payable", "paid" };

/* What a target's prefix links to and is called. */
static const struct {
	const char *prefix;     /* "product:" */
	const char *href;       /* the page, the id appended; NULL: list */
	const char *list;       /* the page when href is NULL */
	const char *word;
} targets[] = {
	{ "product:", "/admin/products/", NULL, "상품" },
	{ "order:", "/admin/orders/", NULL, "주문" },
	{ "seller:", "/admin/sellers/", NULL, "판매자" },
	{ "outbox:", NULL, "/admin/outbox", "작업" },
	{ "reconcile:", "/admin/reconcile/", NULL, "대사" },
};

/* Reads the audit log's filter. Returns NULL or the Korean reason it was refused. */
static const char *
read_audit_filter(struct req *r, struct audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	if (admin_common_query_id(r, "actor", &f->actor_id) < 0)
		return "관리자 번호가 올바르지 않습니다.";
	if (admin_common_query_text(r, "action", AUDIT_ACTION_MAX, &f->action) < 0)
		return "작업 종류가 올바르지 않습니다.";
	if (admin_common_query_text(r, "target", AUDIT_TARGET_MAX, &f->target) < 0)
		return "대상이 올바르지 않습니다.";
	if (admin_common_query_text(r, "from", 10, &f->from_day) < 0 ||
	    (f->from_day != NULL && !audit_day_ok(f->from_day)) ||
	    admin_common_query_text(r, "to", 10, &f->to_day) < 0 ||
	    (f->to_day != NULL && !audit_day_ok(f->to_day)))
		return "날짜는 YYYY-MM-DD 형식으로 입력해 주세요.";
	if (admin_common_query_id(r, "before", &f->before_id) < 0)
		return "페이지 정보가 올바르지 않습니다.";
	return NULL;
}

/* Adds the filter form's values: ctx["filter"] and the action choices ctx["actions"]. */
static void
add_audit_filter(struct json_object *ctx, const struct audit_filter *f)
{
	struct json_object *filter = json_object_new_object();
	struct json_object *actions = json_object_new_array();
	const struct label *l;
	size_t k;

	if (f->actor_id > 0)
		json_object_object_add(filter, "actor", json_object_new_int64(f->actor_id));
	json_object_object_add(filter, "action", admin_common_jstr(f->action));
	json_object_object_add(filter, "target", admin_common_jstr(f->target));
	json_object_object_add(filter, "from", admin_common_jstr(f->from_day));
	json_object_object_add(filter, "to", admin_common_jstr(f->to_day));
	json_object_object_add(ctx, "filter", filter);
	for (k = 0; labels_nth(LABEL_AUDIT, k, &l); k++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "value", json_object_new_string(l->code));
		json_object_object_add(o, "label", json_object_new_string(l->text));
		json_object_object_add(o, "selected", json_object_new_boolean(
		    f->action != NULL && strcmp(f->action, l->code) == 0));
		json_object_array_add(actions, o);
	}
	json_object_object_add(ctx, "actions", actions);
}

static bool
is_money(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(money_fields) / sizeof(money_fields[0]); i++)
		if (strcmp(key, money_fields[i]) == 0)
			return true;
	return false;
}

/* A value of field key as staff read it: amounts as 12,000원, the product's state, order and
 * refund statuses in Korean, refund lines as "상품 12 × 1", anything else as its JSON. NULL
 * (absent) reads "-". In r's arena. */
static const char *
value_text(struct req *r, const char *key, struct json_object *v)
{
	char won[MONEY_FMT_MAX];
	const char *s;
	size_t i, n;

	if (v == NULL)
		return "-";
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		if (strcmp(key, "active") == 0)
			return json_object_get_boolean(v) ? "판매 중" : "판매 중지";
		return json_object_get_boolean(v) ? "예" : "아니요";
	case json_type_int:
		if (is_money(key))
			return arena_printf(r->a, "%s원", money_format(json_object_get_int64(v), won));
		return arena_printf(r->a, "%" PRId64, json_object_get_int64(v));
	case json_type_string:
		s = json_object_get_string(v);
		if (strcmp(key, "status") == 0 && labels_find(LABEL_ORDER, s) != NULL)
			return labels_text(LABEL_ORDER, s);
		if (strcmp(key, "status") == 0 && labels_find(LABEL_REFUND, s) != NULL)
			return labels_text(LABEL_REFUND, s);
		return s;
	case json_type_array:
		if (strcmp(key, "lines") != 0)
			break;
		n = json_object_array_length(v);
		s = "";
		for (i = 0; i < n; i++) {
			struct json_object *x = json_object_array_get_idx(v, i), *p, *q;

			if (!json_object_object_get_ex(x, "productId", &p) ||
			    !json_object_object_get_ex(x, "quantity", &q))
				return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
			s = arena_printf(r->a, "%s%s상품 %" PRId64 " × %" PRId64, s, i > 0 ? ", " : "",
			    json_object_get_int64(p), json_object_get_int64(q));
		}
		return s[0] != '\0' ? s : "-";
	default:
		break;
	}
	return arena_strdup(r->a, json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A record's JSON column parsed (NULL for none or unreadable: logged). New reference. */
static struct json_object *
parse_side(struct req *r, const struct audit_entry *e, const char *text)
{
	struct json_object *o = NULL;

	if (text == NULL)
		return NULL;
	if (jparse(text, strlen(text), AUDIT_JSON_MAX, 16, &o) != JPARSE_OK ||
	    !json_object_is_type(o, json_type_object)) {
		log_warn(&r->log, "admin: audit record %" PRId64 " holds JSON that is not an object",
		    e->id);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Adds {"field", "label", "was", "now", "changed"} for key to rows. */
static void
add_change(struct req *r, struct json_object *rows, const char *key, struct json_object *was,
    struct json_object *now)
{
	struct json_object *o = json_object_new_object();
	const struct label *l = labels_find(LABEL_FIELD, key);
	const char *a = value_text(r, key, was), *b = value_text(r, key, now);

	json_object_object_add(o, "field", json_object_new_string(key));
	json_object_object_add(o, "label", json_object_new_string(l != NULL ? l->text : key));
	json_object_object_add(o, "was", json_object_new_string(a));
	json_object_object_add(o, "now", json_object_new_string(b));
	json_object_object_add(o, "changed", json_object_new_boolean(strcmp(a, b) != 0));
	json_object_array_add(rows, o);
}

/* Every field of before and after, after's order first: [{"field", "label", "was", "now",
 * "changed"}]. A record of a creation has no before, a refusal none at all. */
static struct json_object *
changes_json(struct req *r, const struct audit_entry *e)
{
	struct json_object *before = parse_side(r, e, e->before_json);
	struct json_object *after = parse_side(r, e, e->after_json);
	struct json_object *rows = json_object_new_array(), *v;

	if (after != NULL) {
		json_object_object_foreach(after, key, val) {
			if (before == NULL || !json_object_object_get_ex(before, key, &v))
				v = NULL;
			add_change(r, rows, key, v, val);
		}
	}
	if (before != NULL) {
		json_object_object_foreach(before, key, val) {
			if (after != NULL && json_object_object_get_ex(after, key, NULL))
				continue;
			add_change(r, rows, key, val, NULL);
		}
	}
	json_object_put(before);
	json_object_put(after);
	return rows;
}

/* The list row's summary: the changed fields ("재고 10 → 15", or "사유: 입고" for a field
 * that is new), at most AUDIT_ROW_CHANGES, then how many more. */
static void
add_summary(struct req *r, struct json_object *o, struct json_object *changes)
{
	struct json_object *rows = json_object_new_array();
	size_t i, n = json_object_array_length(changes), shown = 0, more = 0;

	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(changes, i), *x;
		const char *label, *was, *now;

		json_object_object_get_ex(c, "changed", &x);
		if (!json_object_get_boolean(x))
			continue;
		if (shown == AUDIT_ROW_CHANGES) {
			more++;
			continue;
		}
		json_object_object_get_ex(c, "label", &x);
		label = json_object_get_string(x);
		json_object_object_get_ex(c, "was", &x);
		was = json_object_get_string(x);
		json_object_object_get_ex(c, "now", &x);
		now = json_object_get_string(x);
		json_object_array_add(rows, json_object_new_string(strcmp(was, "-") == 0 ?
		    arena_printf(r->a, "%s: %s", label, now) :
		    arena_printf(r->a, "%s %s → %s", label, was, now)));
		shown++;
	}
	json_object_object_add(o, "summary", rows);
	if (more > 0)
		json_object_object_add(o, "more", json_object_new_int64((int64_t)more));
}

/* The target's words and page: "상품 12" and /admin/products/12. */
static void
add_target(struct req *r, struct json_object *o, const char *target)
{
	size_t i, n;

	if (target == NULL)
		return;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		n = strlen(targets[i].prefix);
		if (strncmp(target, targets[i].prefix, n) != 0 || target[n] == '\0')
			continue;
		json_object_object_add(o, "targetLabel", json_object_new_string(arena_printf(r->a,
		    "%s %s", targets[i].word, target + n)));
		json_object_object_add(o, "targetHref", json_object_new_string(targets[i].href != NULL ?
		    admin_common_url_path(r, targets[i].href, target + n) : targets[i].list));
		return;
	}
	json_object_object_add(o, "targetLabel", json_object_new_string(target));
}

static struct json_object *
entry_json(struct req *r, const struct audit_entry *e, struct json_object **changes_out)
{
	struct json_object *o = json_object_new_object();
	struct json_object *changes = changes_json(r, e);

	json_object_object_add(o, "id", json_object_new_int64(e->id));
	json_object_object_add(o, "actorId", json_object_new_int64(e->actor_id));
	json_object_object_add(o, "actorEmail", admin_common_jstr(e->actor_email));
	json_object_object_add(o, "actorName", admin_common_jstr(e->actor_name));
	json_object_object_add(o, "action", admin_common_jstr(e->action));
	json_object_object_add(o, "actionLabel", json_object_new_string(
	    labels_find(LABEL_AUDIT, e->action) != NULL ? labels_text(LABEL_AUDIT, e->action) :
	    e->action));
	json_object_object_add(o, "actionTone", json_object_new_string(
	    labels_tone(LABEL_AUDIT, e->action)));
	json_object_object_add(o, "target", admin_common_jstr(e->target));
	add_target(r, o, e->target);
	json_object_object_add(o, "at", admin_common_jstr(e->at));
	add_summary(r, o, changes);
	if (changes_out != NULL)
		*changes_out = changes;
	else
		json_object_put(changes);
	return o;
}

/* GET /admin/audit?actor=&action=&target=&from=&to=&before= */
static int
page_audit(struct req *r)
{
	struct json_object *ctx = admin_common_ctx(r, "감사 로그");
	struct json_object *rows;
	struct audit_filter f;
	struct audit_entry *e;
	const char *err = read_audit_filter(r, &f);
	int64_t n, i;

	add_audit_filter(ctx, &f);
	if (err != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(err));
		return admin_common_page(r, 400, "admin_audit", ctx);
	}
	n = audit_list(r->app->db, r->a, &f, ADMIN_COMMON_PAGE_ROWS, &e);
	if (n < 0) {
		admin_common_unavailable(r, ctx, "audit_error", "audit_list");
		return admin_common_page(r, 200, "admin_audit", ctx);
	}
	rows = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(rows, entry_json(r, &e[i], NULL));
	json_object_object_add(ctx, "entries", rows);
	if (n == ADMIN_COMMON_PAGE_ROWS) {
		const char *names[] = { "actor", "action", "target", "from", "to" };
		const char *vals[] = { f.actor_id > 0 ? arena_printf(r->a, "%" PRId64, f.actor_id) :
		    NULL, f.action, f.target, f.from_day, f.to_day };

		json_object_object_add(ctx, "next", json_object_new_string(admin_common_next_url(r,
		    "/admin/audit", e[n - 1].id, names, vals, sizeof(names) / sizeof(names[0]))));
	}
	return admin_common_page(r, 200, "admin_audit", ctx);
}

/* The stored JSON of one side, indented for reading, or NULL. In r's arena. */
static const char *
pretty(struct req *r, const struct audit_entry *e, const char *text)
{
	struct json_object *o = parse_side(r, e, text);
	const char *s;

	if (o == NULL)
		return text;
	s = arena_strdup(r->a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* GET /admin/audit/{id}: one record: who, when, what, the target, every field before and
 * after (changed ones marked), and the stored JSON. 404 for an unknown id. */
static int
page_audit_entry(struct req *r)
{
	struct json_object *ctx, *changes = NULL;
	struct audit_entry e;
	int64_t id;
	int rc;

	if (req_path_id(r, 0, &id) != 0)
		return resp_error(r, 404, "AUDIT_NOT_FOUND", MSG_NO_ENTRY);
	rc = audit_get(r->app->db, r->a, id, &e);
	if (rc == 0)
		return resp_error(r, 404, "AUDIT_NOT_FOUND", MSG_NO_ENTRY);
	ctx = admin_common_ctx(r, "감사 기록");
	if (rc < 0) {
		admin_common_unavailable(r, ctx, "entry_error", "audit_get");
		return admin_common_page(r, admin_common_db_failed_status(r), "admin_audit_entry",
		    ctx);
	}
	json_object_object_add(ctx, "entry", entry_json(r, &e, &changes));
	json_object_object_add(ctx, "changes", changes);
	json_object_object_add(ctx, "beforeJson", admin_common_jstr(pretty(r, &e, e.before_json)));
	json_object_object_add(ctx, "afterJson", admin_common_jstr(pretty(r, &e, e.after_json)));
	return admin_common_page(r, 200, "admin_audit_entry", ctx);
}

const struct route admin_audit_routes[] = {
	{ METHOD_GET,  "/admin/audit",      page_audit,       ROUTE_HTML | ROUTE_ADMIN, "admin_audit" },
	{ METHOD_GET,  "/admin/audit/{id}", page_audit_entry, ROUTE_HTML | ROUTE_ADMIN, "admin_audit_entry" },
	{ 0, NULL, NULL, 0, NULL },
};
