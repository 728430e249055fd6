/* pg_return: the PGs' return URLs: Toss's successUrl/failUrl and KakaoPay's approval,
 * cancel and fail URLs. A success return moves the order to CONFIRMING and queues the
 * confirm (lib/shop/orders: the PG's own answer decides, in a worker); a fail or cancel
 * return ends an unpaid order (FAILED, stock back) and keeps the cart for 다시 결제하기. The
 * shopper lands on the order pages of fcgi/orders.c. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <json-c/json.h>

#include "app.h"
#include "base/arena.h"
#include "base/form.h"
#include "base/log.h"
#include "base/money.h"
#include "base/valid.h"
#include "infra/bus.h"
#include "shop/orders.h"
#include "orders.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"

static const char MSG_NO_ORDER[] = "주문을 찾을 수 없습니다.";
static const char MSG_BAD_RETURN[] = "결제 정보가 올바르지 않습니다.";
static const char MSG_TAMPERED[] = "결제 정보가 주문과 일치하지 않습니다. 결제가 진행되지 않았습니다.";
static const char MSG_WRONG_STATE[] = "이미 처리되었거나 만료된 주문입니다.";

/* Answers a PG success return that did not move the order. */
static int
answer_return(struct req *r, enum orders_move_rc rc, const struct order *o, const char *what)
{
	struct order full;

	switch (rc) {
	case ORDERS_MOVED:
	case ORDERS_ALREADY:
		return orders_page_render(r, 200, o, true, NULL, false);
	case ORDERS_NOT_FOUND:
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	case ORDERS_TAMPERED:
		log_warn(&r->log, "orders: %s return for %s does not match the order (amount %"
		    PRId64 "): refused", what, o->public_id, o->amount);
		return resp_error(r, 400, "PAYMENT_MISMATCH", MSG_TAMPERED);
	case ORDERS_WRONG_STATE:
		/* The whole order page, timeline included (the return read the row and lines). */
		switch (orders_get(r->app->db, r->a, o->public_id, true, &full)) {
		case 1:
			return orders_page_render(r, 409, &full, false, MSG_WRONG_STATE, true);
		case 0:
			return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
		default:
			return -1;
		}
	default:
		return -1;
	}
}

/* Runs a success return and answers it. */
static int
pg_success(struct req *r, const struct orders_pg_return *ret, const char *what)
{
	struct order o;
	enum orders_move_rc rc;

	memset(&o, 0, sizeof(o));
	rc = orders_pg_returned(r->app->db, r->a, ret, &o);
	if (rc == ORDERS_MOVED) {
		bus_push_batch(r->app->bus, &o.jobs);
		log_info(&r->log, "orders: %s confirming via %s", o.public_id, what);
		checkout_forget_bought(r, &o);
	}
	return answer_return(r, rc, &o, what);
}

/* GET /checkout/toss/success?paymentKey=&orderId=&amount= (Toss's successUrl) */
static int
page_toss_success(struct req *r)
{
	struct orders_pg_return ret = { 0 };
	const char *key, *id, *amount_s;
	int64_t amount;

	if (form_get(&r->query, "paymentKey", &key, NULL) != 0 || !valid_token(key, 1, 200) ||
	    form_get(&r->query, "orderId", &id, NULL) != 0 ||
	    form_get(&r->query, "amount", &amount_s, NULL) != 0 ||
	    money_parse(amount_s, &amount) != 0 || amount < 1)
		return resp_error(r, 400, "PAYMENT_RETURN_INVALID", MSG_BAD_RETURN);
	ret.public_id = id;
	ret.user_id = sess_user(r);
	ret.pay = ORDER_PAY_TOSS;
	ret.payment_key = key;
	ret.amount = amount;
	return pg_success(r, &ret, "toss");
}

/* GET /checkout/kakaopay/approve?orderId=&pg_token= (KakaoPay's approval_url) */
static int
page_kakaopay_approve(struct req *r)
{
	struct orders_pg_return ret = { 0 };
	const char *id, *token;

	if (form_get(&r->query, "orderId", &id, NULL) != 0 ||
	    form_get(&r->query, "pg_token", &token, NULL) != 0 || !valid_token(token, 1, 100))
		return resp_error(r, 400, "PAYMENT_RETURN_INVALID", MSG_BAD_RETURN);
	ret.public_id = id;
	ret.user_id = sess_user(r);
	ret.pay = ORDER_PAY_KAKAOPAY;
	ret.pg_token = token;
	ret.amount = -1;
	return pg_success(r, &ret, "kakaopay");
}

/* Why a PG sent the shopper back without a payment, as the shop words it. */
enum pg_back {
	PG_BACK_CANCELED,   /* the shopper closed the window or pressed cancel */
	PG_BACK_FAILED,     /* the PG could not authorise the payment */
};

/* Ends the order of a fail / cancel return: FAILED with the PG's code and message, stock back.
 * The cart was left as it was at checkout, so the page offers 다시 결제하기 with everything
 * still in it. A replay shows the same page. */
static int
pg_failed(struct req *r, enum order_pay pay, enum pg_back why, const char *default_code)
{
	struct order o;
	enum orders_move_rc rc;
	const char *id, *code = default_code, *v, *message, *notice;

	message = why == PG_BACK_CANCELED ? "결제를 취소하셨습니다." :
	    "결제사에서 결제가 승인되지 않았습니다.";
	if (form_get(&r->query, "orderId", &id, NULL) != 0)
		return resp_error(r, 400, "PAYMENT_RETURN_INVALID", MSG_BAD_RETURN);
	/* The PG's code and message are kept (for 고객센터 and the page) only when they are plain
	 * and short; Toss names a shopper's cancel PAY_PROCESS_CANCELED. */
	if (form_get(&r->query, "code", &v, NULL) == 0 && valid_token(v, 1, 64))
		code = v;
	if (why == PG_BACK_FAILED && form_get(&r->query, "message", &v, NULL) == 0 &&
	    valid_text(v, strlen(v), 200, false))
		message = v;
	if (orders_pg_back_canceled(pay, code))
		why = PG_BACK_CANCELED;
	memset(&o, 0, sizeof(o));
	rc = orders_get(r->app->db, r->a, id, false, &o);
	if (rc < 0)
		return -1;
	if (rc == 0 || o.user_id != sess_user(r))
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	if (o.pay != pay)
		return resp_error(r, 400, "PAYMENT_RETURN_INVALID", MSG_BAD_RETURN);
	rc = orders_abandon(r->app->db, r->a, id, sess_user(r), ORDER_FAILED, ORDER_BY_PG, code,
	    message, &o);
	notice = why == PG_BACK_CANCELED ?
	    "결제를 취소하셨습니다. 장바구니는 그대로 있으니 다시 결제하실 수 있습니다." :
	    arena_printf(r->a, "%s 장바구니는 그대로 있으니 다른 결제 수단으로 다시 결제해 보세요.",
	    o.fail_message != NULL ? o.fail_message : message);
	switch (rc) {
	case ORDERS_MOVED:
	case ORDERS_ALREADY:
		return orders_page_render(r, 200, &o, false, notice, why == PG_BACK_FAILED);
	case ORDERS_NOT_FOUND:
		return resp_error(r, 404, "ORDER_NOT_FOUND", MSG_NO_ORDER);
	case ORDERS_WRONG_STATE:
		return orders_page_render(r, 409, &o, false, MSG_WRONG_STATE, true);
	default:
		return -1;
	}
}

/* GET /checkout/toss/fail?code=&message=&orderId= (Toss's failUrl: a cancel or a refusal,
 * which the code tells apart) */
static int
page_toss_fail(struct req *r)
{
	return pg_failed(r, ORDER_PAY_TOSS, PG_BACK_FAILED, "PAY_PROCESS_ABORTED");
}

/* GET /checkout/kakaopay/cancel?orderId= (the shopper closed KakaoPay's window) */
static int
page_kakaopay_cancel(struct req *r)
{
	return pg_failed(r, ORDER_PAY_KAKAOPAY, PG_BACK_CANCELED, "PAY_PROCESS_CANCELED");
}

/* GET /checkout/kakaopay/fail?orderId= (KakaoPay could not authorise: a failure, not a
 * cancel) */
static int
page_kakaopay_fail(struct req *r)
{
	return pg_failed(r, ORDER_PAY_KAKAOPAY, PG_BACK_FAILED, "PAY_PROCESS_ABORTED");
}

const struct route pg_return_routes[] = {
	{ METHOD_GET,  "/checkout/toss/success",      page_toss_success,     ROUTE_HTML | ROUTE_LOGIN, "toss_success" },
	{ METHOD_GET,  "/checkout/toss/fail",         page_toss_fail,        ROUTE_HTML | ROUTE_LOGIN, "toss_fail" },
	{ METHOD_GET,  "/checkout/kakaopay/approve",  page_kakaopay_approve, ROUTE_HTML | ROUTE_LOGIN, "kakaopay_approve" },
	{ METHOD_GET,  "/checkout/kakaopay/cancel",   page_kakaopay_cancel,  ROUTE_HTML | ROUTE_LOGIN, "kakaopay_cancel" },
	{ METHOD_GET,  "/checkout/kakaopay/fail",     page_kakaopay_fail,    ROUTE_HTML | ROUTE_LOGIN, "kakaopay_fail" },
	{ 0, NULL, NULL, 0, NULL },
};
