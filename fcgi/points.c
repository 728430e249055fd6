/* points: the points page (balance, history, charge form) and its JSON twins: a balance
 * (GET /api/v1/users/{id}), its history, and an idempotent charge (POST .../charge with an
 * Idempotency-Key header). A shopper reads and charges only their own balance; an admin may
 * read anyone's but charges only their own (a top-up is the owner's act, never staff's). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/conf.h"
#include "base/form.h"
#include "base/ids.h"
#include "base/jparse.h"
#include "base/money.h"
#include "shop/points.h"
#include "base/valid.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"

#define JSON_TYPE "application/json; charset=utf-8"

static const char MSG_NO_USER[] = "존재하지 않는 유저입니다.";
static const char MSG_KEY_MISSING[] = "멱등성 키가 누락되었습니다.";
static const char MSG_KEY_INVALID[] =
    "멱등성 키는 영문, 숫자, '-', '_'로 이루어진 1~64자여야 합니다.";

/* How each refused outcome of points_charge is answered (CHARGED, REPLAYED and FAILED are
 * answered elsewhere). */
struct outcome_answer {
	int status;
	const char *code;
	const char *message;
};

static const struct outcome_answer outcome_answers[POINTS__MAX] = {
	[POINTS_IN_FLIGHT]  = { 409, "REQUEST_IN_PROGRESS", "이미 처리중인 요청입니다." },
	[POINTS_KEY_REUSED] = { 422, "IDEMPOTENCY_KEY_REUSED",
	                        "이미 다른 요청에 사용된 멱등성 키입니다." },
	[POINTS_NO_USER]    = { 404, "USER_NOT_FOUND", MSG_NO_USER },
	[POINTS_LIMIT]      = { 409, "POINTS_LIMIT_EXCEEDED",
	                        "보유할 수 있는 최대 포인트를 초과합니다." },
};

/* The user {id} of the path when the signed-in user may see it (read) or charge it (!read):
 * their own; for an admin reading, anyone's. Returns 0, or -1 after answering 404
 * USER_NOT_FOUND (seed 002's "존재하지 않는 유저입니다.") for a segment that is not an id and
 * for a shopper naming any user but themselves, so the answer never tells whether another
 * user exists; an admin charging someone else gets 403 (a top-up is the owner's act). */
static int
path_user_or_404(struct req *r, bool read, int64_t *out)
{
	int64_t id;

	if (req_path_id(r, 0, &id) != 0) {
		resp_error(r, 404, "USER_NOT_FOUND", MSG_NO_USER);
		return -1;
	}
	if (id != sess_user(r) && !sess_is_admin(r)) {
		resp_error(r, 404, "USER_NOT_FOUND", MSG_NO_USER);
		return -1;
	}
	if (id != sess_user(r) && !read) {
		resp_fail(r, RESP_FORBIDDEN);
		return -1;
	}
	*out = id;
	return 0;
}

/* When amount is outside points.charge_min..charge_max: the message (built from the config,
 * in r's arena) and *code. NULL when it is within. */
static const char *
amount_problem(struct req *r, int64_t amount, const char **code)
{
	int64_t min = conf_int(r->app->conf, CONF_POINTS_CHARGE_MIN);
	int64_t max = conf_int(r->app->conf, CONF_POINTS_CHARGE_MAX);
	char won[MONEY_FMT_MAX];

	if (amount < min) {
		*code = "CHARGE_AMOUNT_TOO_SMALL";
		return arena_printf(r->a, "최소 충전 금액은 %s원 입니다.", money_format(min, won));
	}
	if (amount > max) {
		*code = "CHARGE_AMOUNT_TOO_LARGE";
		return arena_printf(r->a, "최대 충전 금액은 %s원 입니다.", money_format(max, won));
	}
	return NULL;
}

/* Runs the charge for the signed-in user. */
static enum points_outcome
charge(struct req *r, int64_t user_id, const char *key, int64_t amount,
    struct points_charge_res *res)
{
	struct points_charge_req cr = {
		.user_id = user_id,
		.key = key,
		.amount = amount,
		.key_ttl = conf_int(r->app->conf, CONF_POINTS_IDEMPOTENCY_SECONDS),
		.log = &r->log,
	};

	return points_charge(r->app->db, r->app->redis, r->a, &cr, res);
}

/* GET /api/v1/users/{id}: the balance (points_user_json, seed 002's shape plus ours).
 * 200, 404. */
static int
api_user_get(struct req *r)
{
	struct points_user u;
	int64_t id;
	int rc;

	if (path_user_or_404(r, true, &id) != 0)
		return 0;
	rc = points_get(r->app->db, r->a, id, &u);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "USER_NOT_FOUND", MSG_NO_USER);
	return resp_json(r, 200, points_user_json(&u));
}

/* GET /api/v1/users/{id}/charges: {"userId", "charges": [{"id", "amount", "balanceAfter",
 * "createdAt"}]}, the newest POINTS_HISTORY_MAX, newest first. 200, 404. */
static int
api_user_charges(struct req *r)
{
	struct points_charge_row *rows;
	struct points_user u;
	struct json_object *o, *list;
	int64_t id, n, i;
	int rc;

	if (path_user_or_404(r, true, &id) != 0)
		return 0;
	rc = points_get(r->app->db, r->a, id, &u);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "USER_NOT_FOUND", MSG_NO_USER);
	n = points_history(r->app->db, r->a, id, POINTS_HISTORY_MAX, &rows);
	if (n < 0)
		return -1;
	list = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "id", json_object_new_int64(rows[i].id));
		json_object_object_add(c, "amount", json_object_new_int64(rows[i].amount));
		json_object_object_add(c, "balanceAfter", json_object_new_int64(rows[i].balance_after));
		json_object_object_add(c, "createdAt", json_object_new_string(rows[i].created_at));
		json_object_array_add(list, c);
	}
	o = json_object_new_object();
	json_object_object_add(o, "userId", json_object_new_int64(id));
	json_object_object_add(o, "charges", list);
	return resp_json(r, 200, o);
}

/* POST /api/v1/users/{id}/charge {"chargeAmount": N} with Idempotency-Key: the balance after
 * the charge (200), or the first answer again with Idempotent-Replayed: true. 400 (key
 * missing or malformed, body fields, amount out of range), 403 (an admin charging someone
 * else), 404 (anyone else, for a shopper), 409 (key in flight,
 * balance limit), 422 (key used for another amount). */
static int
api_user_charge(struct req *r)
{
	static const char *const fields[] = { "chargeAmount", NULL };
	struct points_charge_res res;
	enum points_outcome o;
	const char *key, *code, *msg;
	int64_t id, amount;

	if (path_user_or_404(r, false, &id) != 0)
		return 0;
	key = req_param(r, "HTTP_IDEMPOTENCY_KEY");
	if (key == NULL || *key == '\0')
		return resp_error(r, 400, "IDEMPOTENCY_KEY_MISSING", MSG_KEY_MISSING);
	if (!points_key_valid(key))
		return resp_error(r, 400, "IDEMPOTENCY_KEY_INVALID", MSG_KEY_INVALID);
	if (jparse_only_keys(r->json, fields) != 0)
		return resp_error(r, 400, "INVALID_FIELDS",
		    "요청 본문은 chargeAmount 하나만 담은 객체여야 합니다.");
	switch (jparse_int64(r->json, "chargeAmount", INT64_MIN, INT64_MAX, &amount)) {
	case 0:
		break;
	case 1:
		return resp_error(r, 400, "CHARGE_AMOUNT_MISSING", "충전 금액이 누락되었습니다.");
	default:
		return resp_error(r, 400, "CHARGE_AMOUNT_INVALID", "충전 금액은 정수여야 합니다.");
	}
	msg = amount_problem(r, amount, &code);
	if (msg != NULL)
		return resp_error(r, 400, code, msg);

	o = charge(r, id, key, amount, &res);
	switch (o) {
	case POINTS_CHARGED:
		resp_send(r, res.status, JSON_TYPE, NULL, res.body, res.body_len);
		return 0;
	case POINTS_REPLAYED:
		resp_send(r, res.status, JSON_TYPE, "Idempotent-Replayed: true\r\n", res.body,
		    res.body_len);
		return 0;
	case POINTS_FAILED:
		return -1;
	default:
		return resp_error(r, outcome_answers[o].status, outcome_answers[o].code,
		    outcome_answers[o].message);
	}
}

/* Where a message about the last form is shown. */
enum points_msg_at { AT_FORM, AT_AMOUNT };

/* Renders the points page for the signed-in user with status; charged (> 0) is the amount a
 * redirect announced, error a message about the last form, shown above it (AT_FORM) or next to
 * the amount field (AT_AMOUNT, which then keeps what was typed: typed). */
static int
render_points(struct req *r, int status, int64_t charged, const char *error,
    enum points_msg_at at, const char *typed)
{
	struct points_charge_row *rows;
	struct points_user u;
	struct json_object *ctx, *list;
	char key[33];
	const char *csrf;
	int64_t n, i;
	int rc;

	rc = points_get(r->app->db, r->a, sess_user(r), &u);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return resp_error(r, 404, "USER_NOT_FOUND", MSG_NO_USER);
	n = points_history(r->app->db, r->a, u.id, POINTS_HISTORY_MAX, &rows);
	if (n < 0)
		return -1;
	csrf = sess_csrf(r);
	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	ids_new(key, sizeof(key));  /* one key per rendered form: a double submit charges once */

	list = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "amount", json_object_new_int64(rows[i].amount));
		json_object_object_add(c, "balance_after", json_object_new_int64(rows[i].balance_after));
		json_object_object_add(c, "created_at", json_object_new_string(rows[i].created_at));
		json_object_array_add(list, c);
	}
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string("포인트"));
	json_object_object_add(ctx, "amount", json_object_new_int64(u.amount));
	json_object_object_add(ctx, "charges", list);
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	json_object_object_add(ctx, "idempotency_key", json_object_new_string(key));
	json_object_object_add(ctx, "min", json_object_new_int64(
	    conf_int(r->app->conf, CONF_POINTS_CHARGE_MIN)));
	json_object_object_add(ctx, "max", json_object_new_int64(
	    conf_int(r->app->conf, CONF_POINTS_CHARGE_MAX)));
	if (charged > 0)
		json_object_object_add(ctx, "charged", json_object_new_int64(charged));
	if (error != NULL)
		json_object_object_add(ctx, at == AT_AMOUNT ? "amount_error" : "error",
		    json_object_new_string(error));
	if (typed != NULL)
		json_object_object_add(ctx, "typed", json_object_new_string(typed));
	return resp_page(r, status, "points", ctx);
}

/* GET /points[?charged=N]: balance, history and the charge form. */
static int
page_points(struct req *r)
{
	const char *s;
	int64_t charged = 0;

	/* Only a well-formed amount is announced; anything else in the query is ignored. */
	if (form_get(&r->query, "charged", &s, NULL) == 0 && money_parse(s, &charged) != 0)
		charged = 0;
	return render_points(r, 200, charged, NULL, AT_FORM, NULL);
}

/* POST /points/charge (csrf_token, amount, idempotency_key): charges, then 303 to
 * /points?charged=N; a double submit of the same form finds its key done and redirects the
 * same way. Refusals re-render the page with the message and status. */
static int
page_points_charge(struct req *r)
{
	struct points_charge_res res;
	enum points_outcome o;
	const char *key, *amount_s, *code, *msg;
	int64_t amount;

	if (form_get(&r->form, "idempotency_key", &key, NULL) != 0 || *key == '\0')
		return render_points(r, 400, 0, MSG_KEY_MISSING, AT_FORM, NULL);
	if (!points_key_valid(key))
		return render_points(r, 400, 0, MSG_KEY_INVALID, AT_FORM, NULL);
	if (form_get(&r->form, "amount", &amount_s, NULL) != 0)
		amount_s = NULL;
	if (amount_s == NULL || money_parse(amount_s, &amount) != 0)
		return render_points(r, 400, 0, "충전 금액을 숫자로만 입력해 주세요.", AT_AMOUNT,
		    amount_s != NULL && valid_text(amount_s, strlen(amount_s), 20, false) ?
		    amount_s : NULL);
	msg = amount_problem(r, amount, &code);
	if (msg != NULL)
		return render_points(r, 400, 0, msg, AT_AMOUNT, amount_s);

	o = charge(r, sess_user(r), key, amount, &res);
	switch (o) {
	case POINTS_CHARGED:
	case POINTS_REPLAYED:
		return resp_redirect(r, arena_printf(r->a, "/points?charged=%" PRId64, amount));
	case POINTS_FAILED:
		return -1;
	default:
		return render_points(r, outcome_answers[o].status, 0, outcome_answers[o].message,
		    AT_FORM, NULL);
	}
}

const struct route points_routes[] = {
	{ METHOD_GET,  "/points",                    page_points,        ROUTE_HTML | ROUTE_LOGIN, "points" },
	{ METHOD_POST, "/points/charge",             page_points_charge, ROUTE_HTML | ROUTE_LOGIN | ROUTE_CSRF, "points_charge" },
	{ METHOD_GET,  "/api/v1/users/{id}",         api_user_get,       ROUTE_JSON | ROUTE_LOGIN, "api_user_points" },
	{ METHOD_GET,  "/api/v1/users/{id}/charges", api_user_charges,   ROUTE_JSON | ROUTE_LOGIN, "api_user_charges" },
	{ METHOD_POST, "/api/v1/users/{id}/charge",  api_user_charge,    ROUTE_JSON | ROUTE_LOGIN | ROUTE_CSRF, "api_user_charge" },
	{ 0, NULL, NULL, 0, NULL },
};
