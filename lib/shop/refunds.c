/* refunds: reserving, completing and releasing refunds of paid orders (see refunds.h).
 *
 * Every refund of an order starts by locking the order row (SELECT ... FOR UPDATE), so the
 * refunds of one order are decided one after another: the idempotency key is looked up, the
 * lines are chosen and the guarded UPDATEs run under that lock. The guarded UPDATEs would
 * refuse an over-refund even without it (refunded_amount + amount <= amount, canceled_quantity
 * + quantity <= quantity); the lock makes the answer precise (a replayed key finds its first
 * refund instead of "nothing left") and keeps the lock order fixed: order, lines, stock,
 * users, ledger accounts.
 *
 * refunds_record_pg_cancel chooses its lines greedily from the order's last line (highest
 * product id) to its first, taking as many whole remaining units of each as still fit in the
 * amount. When that lands exactly on the amount the refund cancels those units (and their
 * stock comes back); otherwise it is an amount-only refund with no lines and no stock back
 * (a PG cancel that is not a sum of unit prices cannot be tied to goods). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "infra/bus.h"
#include "infra/db.h"
#include "base/ids.h"
#include "shop/ledger.h"
#include "base/log.h"
#include "base/money.h"
#include "shop/orders.h"
#include "infra/outbox.h"
#include "shop/refunds.h"
#include "shop/fulfilment.h"
#include "base/valid.h"

/* ---- statements -------------------------------------------------------------------------- */

static const char SQL_LOCK_ORDER[] =
    "SELECT status, pay_method, amount, refunded_amount, user_id, public_id,"
    " paid_at IS NOT NULL AND paid_at >= NOW(3) - INTERVAL ? DAY"
    " FROM orders WHERE id = ? FOR UPDATE";
static const char SQL_BY_KEY[] =
    "SELECT id, whole, public_id FROM refunds WHERE order_id = ? AND idem_key = ?";
static const char SQL_KEY_LINES[] =
    "SELECT product_id, quantity FROM refund_lines WHERE refund_id = ?";
static const char SQL_LOCK_LINES[] =
    "SELECT product_id, unit_price, quantity, canceled_quantity FROM order_lines"
    " WHERE order_id = ? ORDER BY product_id FOR UPDATE";
static const char SQL_RESERVE_ORDER[] =
    "UPDATE orders SET refunded_amount = refunded_amount + ?"
    " WHERE id = ? AND status IN ('PAID','PARTIALLY_CANCELED') AND refunded_amount + ? <= amount";
static const char SQL_RESERVE_LINE[] =
    "UPDATE order_lines SET canceled_quantity = canceled_quantity + ?"
    " WHERE order_id = ? AND product_id = ? AND canceled_quantity + ? <= quantity";
static const char SQL_INSERT_REFUND[] =
    "INSERT INTO refunds (public_id, order_id, amount, status, reason, actor, idem_key, whole,"
    " done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, IF(? = 'DONE', NOW(3), NULL))";
static const char SQL_INSERT_LINE[] =
    "INSERT INTO refund_lines (refund_id, product_id, quantity, amount) VALUES (?, ?, ?, ?)";

static const char SQL_HEAD[] =
    "SELECT r.id, r.order_id, r.amount, r.status, o.public_id, o.user_id, o.pay_method"
    " FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.public_id = ?";
static const char SQL_LOCK_STATUS[] =
    "SELECT status, amount FROM orders WHERE id = ? FOR UPDATE";
static const char SQL_TO_DONE[] =
    "UPDATE refunds SET status = 'DONE', done_at = NOW(3) WHERE id = ? AND status = 'REQUESTED'";
static const char SQL_TO_FAILED[] =
    "UPDATE refunds SET status = 'FAILED', fail_code = ?, fail_message = ?"
    " WHERE id = ? AND status = 'REQUESTED'";
static const char SQL_DONE_SUM[] =
    "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE order_id = ? AND status = 'DONE'";
static const char SQL_ORDER_TO[] =
    "UPDATE orders SET status = ? WHERE id = ? AND status IN ('PAID','PARTIALLY_CANCELED')";
static const char SQL_PAYMENT_TO[] =
    "UPDATE payments SET status = ? WHERE order_id = ?";
static const char SQL_INSERT_EVENT[] =
    "INSERT INTO order_events (order_id, from_status, to_status, actor, note)"
    " VALUES (?, ?, ?, ?, ?)";
static const char SQL_REFUND_LINES[] =
    "SELECT product_id, quantity FROM refund_lines WHERE refund_id = ? ORDER BY product_id";
static const char SQL_STOCK_BACK[] =
    "UPDATE stock SET available = available + ? WHERE product_id = ?";
static const char SQL_POINTS_BACK[] =
    "UPDATE users SET points = points + ? WHERE id = ?";
static const char SQL_UNRESERVE_ORDER[] =
    "UPDATE orders SET refunded_amount = refunded_amount - ? WHERE id = ? AND refunded_amount >= ?";
static const char SQL_UNRESERVE_LINE[] =
    "UPDATE order_lines SET canceled_quantity = canceled_quantity - ?"
    " WHERE order_id = ? AND product_id = ? AND canceled_quantity >= ?";

#define REFUND_COLUMNS \
    "SELECT r.id, r.public_id, o.public_id, r.amount, r.status, r.reason, r.actor, r.fail_code," \
    " DATE_FORMAT(r.created_at, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT(r.done_at, '%Y-%m-%d %H:%i:%s')," \
    " r.order_id FROM refunds r JOIN orders o ON o.id = r.order_id"
static const char SQL_OF_ORDER[] = REFUND_COLUMNS " WHERE r.order_id = ? ORDER BY r.id";
static const char SQL_BY_PUBLIC[] = REFUND_COLUMNS " WHERE r.public_id = ?";
static const char SQL_LINES_OF_ORDER[] =
    "SELECT rl.refund_id, rl.product_id, ol.name, rl.quantity, rl.amount FROM refund_lines rl"
    " JOIN refunds r ON r.id = rl.refund_id"
    " JOIN order_lines ol ON ol.order_id = r.order_id AND ol.product_id = rl.product_id"
    " WHERE r.order_id = ? ORDER BY rl.refund_id, rl.product_id";
/* Not once a parcel left: the shopper's way back is then a return (lib/shop/fulfilment.c). */
static const char SQL_SHOPPER_MAY[] =
    "SELECT 1 FROM orders o WHERE o.id = ? AND o.status IN ('PAID','PARTIALLY_CANCELED')"
    " AND o.refunded_amount < o.amount AND o.paid_at >= NOW(3) - INTERVAL ? DAY"
    " AND NOT EXISTS (SELECT 1 FROM order_deliveries d WHERE d.order_id = o.id"
    " AND d.status <> 'PREPARING')";
static const char SQL_TASK[] =
    "SELECT r.id, r.public_id, o.public_id, r.status, o.pay_method,"
    " COALESCE(p.payment_key, o.payment_key), r.amount, o.amount, r.reason,"
    " (SELECT COALESCE(SUM(d.amount), 0) FROM refunds d"
    "   WHERE d.order_id = r.order_id AND d.status = 'DONE'),"
    " (SELECT COUNT(*) FROM refunds w"
    "   WHERE w.order_id = r.order_id AND w.status = 'REQUESTED' AND w.id < r.id)"
    " FROM refunds r JOIN orders o ON o.id = r.order_id"
    " LEFT JOIN payments p ON p.order_id = o.id WHERE r.public_id = ?";

/* ---- names --------------------------------------------------------------------------------- */

static const char *const status_names[REFUND_STATUS__MAX] = { "REQUESTED", "DONE", "FAILED" };

static const char *const rc_names[REFUNDS_RC__MAX] = {
	"accepted", "done", "replayed", "key_reused", "not_found", "wrong_state", "too_late",
	"shipped", "exceeds", "bad_line", "failed",
};

static const char *const job_rc_names[REFUNDS_JOB__MAX] = { "done", "skipped", "lost", "db_failed" };

/* How each outcome is answered (refunds_rc_answer). */
static const struct {
	int status;
	const char *code;
	const char *message;
} answers[REFUNDS_RC__MAX] = {
	[REFUNDS_ACCEPTED]    = { 202, NULL, NULL },
	[REFUNDS_DONE]        = { 200, NULL, NULL },
	[REFUNDS_REPLAYED]    = { 200, NULL, NULL },
	[REFUNDS_KEY_REUSED]  = { 422, "IDEMPOTENCY_KEY_REUSED", "이미 다른 환불 요청에 사용된 멱등성 키입니다." },
	[REFUNDS_NOT_FOUND]   = { 404, "ORDER_NOT_FOUND", "주문을 찾을 수 없습니다." },
	[REFUNDS_WRONG_STATE] = { 409, "REFUND_NOT_ALLOWED", "결제가 완료된 주문만 환불할 수 있습니다." },
	[REFUNDS_TOO_LATE]    = { 409, "REFUND_PERIOD_OVER",
	                          "환불 가능 기간이 지났습니다. 고객센터에 문의해 주세요." },
	[REFUNDS_SHIPPED]     = { 409, "ALREADY_SHIPPED",
	                          "이미 배송이 시작된 주문입니다. 받으신 뒤 반품을 신청해 주세요." },
	[REFUNDS_EXCEEDS]     = { 409, "REFUND_EXCEEDS_BALANCE",
	                          "환불할 수 있는 수량이나 금액을 넘었습니다." },
	[REFUNDS_BAD_LINE]    = { 400, "REFUND_LINES_INVALID",
	                          "환불할 상품이 주문에 없거나 수량이 올바르지 않습니다." },
	[REFUNDS_FAILED]      = { 500, "REFUND_FAILED",
	                          "환불을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요." },
};

/* Widths of the columns written from PG text, in bytes. */
#define FAIL_CODE_MAX 64
#define FAIL_MESSAGE_MAX 512
/* Most lines one request may name (the handlers allow far fewer). */
#define LINES_MAX 1000
/* Longest idempotency key (the column). */
#define KEY_MAX 64

/* Results of the transaction functions besides 0 and the enum db_rc values. */
enum refunds_tx_rc {
	TX_REPLAY = -400,        /* the key made a refund with the same lines */
	TX_KEY_REUSED = -401,    /* the key made a different refund */
	TX_WRONG_STATE = -402,
	TX_TOO_LATE = -403,
	TX_EXCEEDS = -404,
	TX_BAD_LINE = -405,
	TX_NOT_MOVED = -406,     /* a guarded UPDATE matched nothing where it must have */
	TX_LOST = -407,          /* outbox_complete found the claim gone */
	TX_SHIPPED = -408,       /* a shopper's refund of an order whose parcel left */
};

const char *
refunds_status_name(enum refund_status s)
{
	return (unsigned)s < REFUND_STATUS__MAX ? status_names[s] : "?";
}

const char *
refunds_rc_name(enum refunds_rc rc)
{
	return (unsigned)rc < REFUNDS_RC__MAX ? rc_names[rc] : "?";
}

const char *
refunds_job_rc_name(enum refunds_job_rc rc)
{
	return (unsigned)rc < REFUNDS_JOB__MAX ? job_rc_names[rc] : "?";
}

void
refunds_rc_answer(enum refunds_rc rc, int *status, const char **code, const char **message)
{
	if ((unsigned)rc >= REFUNDS_RC__MAX)
		rc = REFUNDS_FAILED;
	*status = answers[rc].status;
	*code = answers[rc].code;
	*message = answers[rc].message;
}

static int
status_parse(const char *s, enum refund_status *out)
{
	int i;

	for (i = 0; s != NULL && i < REFUND_STATUS__MAX; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum refund_status)i;
			return 0;
		}
	}
	return -1;
}

/* s cut to at most max bytes without splitting a UTF-8 sequence (copy in a when cut). */
static const char *
cut_bytes(struct arena *a, const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n <= max)
		return s;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return arena_strndup(a, s, n);
}

/* The first max_chars characters of s (a copy in a), or NULL when s is NULL, empty or not
 * valid UTF-8. */
static const char *
cut_chars(struct arena *a, const char *s, size_t max_chars)
{
	size_t len, off = 0, chars = 0, n;
	uint32_t cp;

	if (s == NULL || *s == '\0' || !valid_utf8(s, strlen(s)))
		return NULL;
	len = strlen(s);
	while (off < len && chars < max_chars) {
		n = valid_utf8_next((const unsigned char *)s + off, len - off, &cp);
		if (n == 0)
			break;
		off += n;
		chars++;
	}
	return arena_strndup(a, s, off);
}

/* {"refundId": id} and friends, as JSON text in a. */
static const char *
payload(struct arena *a, const char *refund_id, const char *order_id)
{
	struct json_object *p = json_object_new_object();
	const char *out;

	if (order_id != NULL) {
		json_object_object_add(p, "orderId", json_object_new_string(order_id));
		json_object_object_add(p, "event", json_object_new_string("refunded"));
	}
	json_object_object_add(p, "refundId", json_object_new_string(refund_id));
	out = arena_strdup(a, json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(p);
	return out;
}

/* ---- the effects of a DONE refund --------------------------------------------------------- */

/* A refund that has just become DONE (its row says so already), inside the transaction that
 * locked its order. */
struct effects {
	struct arena *a;
	int64_t order_id;
	const char *order_public_id;
	int64_t order_amount;
	const char *from;            /* the order's status, read under the lock */
	enum order_pay pay;
	int64_t user_id;
	int64_t refund_id;
	const char *refund_public_id;
	int64_t amount;
	const char *actor;           /* order_events actor */
	bool notify;
	int64_t settle_job;          /* out */
	int64_t notify_job;          /* out */
};

/* Order status, event, payment status, stock, points, ledger and jobs of a DONE refund.
 * Returns 0 or a negative value (roll back). */
static int
done_effects(struct db *db, struct effects *e)
{
	struct db_res res;
	char won[MONEY_FMT_MAX];
	const char *to, *pg;
	enum ledger_rc lrc;
	int64_t rc, done;
	size_t i;

	e->settle_job = 0;
	e->notify_job = 0;
	rc = db_query(db, e->a, &res, SQL_DONE_SUM, "i", e->order_id);
	if (rc < 0)
		return (int)rc;
	done = db_res_i64(&res, 0, 0);
	to = done >= e->order_amount ? "CANCELED" : "PARTIALLY_CANCELED";
	rc = db_exec(db, SQL_ORDER_TO, "si", to, e->order_id);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return TX_NOT_MOVED;
	rc = db_exec(db, SQL_INSERT_EVENT, "issss", e->order_id, e->from, to, e->actor,
	    arena_printf(e->a, "환불 %s %s원", e->refund_public_id, money_format(e->amount, won)));
	if (rc < 0)
		return (int)rc;
	if (e->pay != ORDER_PAY_POINTS) {
		rc = db_exec(db, SQL_PAYMENT_TO, "si",
		    strcmp(to, "CANCELED") == 0 ? "CANCELED" : "PARTIAL_CANCELED", e->order_id);
		if (rc < 0)
			return (int)rc;
	}

	/* The stock of the cancelled units, in product-id order as checkouts take it. */
	rc = db_query(db, e->a, &res, SQL_REFUND_LINES, "i", e->refund_id);
	if (rc < 0)
		return (int)rc;
	for (i = 0; i < res.nrows; i++) {
		int64_t src = db_exec(db, SQL_STOCK_BACK, "ii", db_res_i64(&res, i, 1),
		    db_res_i64(&res, i, 0));

		if (src < 0)
			return (int)src;
	}
	if (e->pay == ORDER_PAY_POINTS) {
		rc = db_exec(db, SQL_POINTS_BACK, "ii", e->amount, e->user_id);
		if (rc < 0)
			return (int)rc;
		if (rc == 0)
			return TX_NOT_MOVED;
	}

	pg = orders_pay_name(e->pay);
	lrc = ledger_post_refund(db, e->refund_public_id, e->order_public_id, pg, e->user_id,
	    e->amount);
	if (lrc != LEDGER_POSTED && lrc != LEDGER_REPLAYED) {
		log_error(NULL, "refund %s: ledger posting refused (%s)", e->refund_public_id,
		    ledger_rc_name(lrc));
		return ledger_tx_rc(db, lrc);  /* DB_RETRY after a deadlock: db_tx reruns */
	}

	e->settle_job = outbox_add(db, JOB_REFUND_SETTLE, payload(e->a, e->refund_public_id, NULL));
	if (e->settle_job < 0)
		return (int)e->settle_job;
	if (e->notify) {
		e->notify_job = outbox_add(db, JOB_NOTIFY,
		    payload(e->a, e->refund_public_id, e->order_public_id));
		if (e->notify_job < 0)
			return (int)e->notify_job;
	}
	return 0;
}

/* ---- reserving ------------------------------------------------------------------------------ */

/* One line a refund cancels. */
struct chosen {
	int64_t product_id;
	int64_t quantity;
	int64_t amount;
};

/* A line of the order, read under the lock. */
struct locked_line {
	int64_t product_id;
	int64_t unit_price;
	int64_t quantity;
	int64_t canceled;
};

struct request_tx {
	const struct refunds_req *req;
	struct arena *a;
	int64_t order_id;
	bool points;                 /* the order was paid with points: DONE at once */
	const char *reason;
	const char *actor;
	const char *event_actor;
	/* out */
	char public_id[REFUNDS_ID_LEN + 1];
	int64_t replay_id;           /* TX_REPLAY / TX_KEY_REUSED: the key's refund */
	char replay_public_id[REFUNDS_ID_LEN + 1];
	int64_t job;
	int64_t settle_job;
	int64_t notify_job;
};

/* The key was used on this order before: TX_REPLAY when its refund asked for the same lines,
 * TX_KEY_REUSED otherwise; 0 when the key is new; or an enum db_rc. */
static int
check_key(struct db *db, struct request_tx *t)
{
	const struct refunds_req *req = t->req;
	struct db_res res;
	int64_t n;
	bool whole;
	size_t i, j;

	n = db_query(db, t->a, &res, SQL_BY_KEY, "is", t->order_id, req->key);
	if (n <= 0)
		return (int)n;
	t->replay_id = db_res_i64(&res, 0, 0);
	snprintf(t->replay_public_id, sizeof(t->replay_public_id), "%s", db_res_str(&res, 0, 2));
	whole = db_res_i64(&res, 0, 1) == 1;
	if (whole || req->nlines == 0)
		return whole && req->nlines == 0 ? TX_REPLAY : TX_KEY_REUSED;
	n = db_query(db, t->a, &res, SQL_KEY_LINES, "i", t->replay_id);
	if (n < 0)
		return (int)n;
	if ((size_t)n != req->nlines)
		return TX_KEY_REUSED;
	for (i = 0; i < req->nlines; i++) {
		for (j = 0; j < (size_t)n; j++)
			if (db_res_i64(&res, j, 0) == req->lines[i].product_id)
				break;
		if (j == (size_t)n || db_res_i64(&res, j, 1) != req->lines[i].quantity)
			return TX_KEY_REUSED;
	}
	return TX_REPLAY;
}

/* Reads the order's lines under the lock. Returns the count or an enum db_rc. */
static int64_t
lock_lines(struct db *db, struct arena *a, int64_t order_id, struct locked_line **out)
{
	struct db_res res;
	int64_t n;
	size_t i;

	n = db_query(db, a, &res, SQL_LOCK_LINES, "i", order_id);
	if (n < 0)
		return n;
	*out = arena_alloc(a, ((size_t)n + 1) * sizeof(**out));
	for (i = 0; i < (size_t)n; i++) {
		(*out)[i].product_id = db_res_i64(&res, i, 0);
		(*out)[i].unit_price = db_res_i64(&res, i, 1);
		(*out)[i].quantity = db_res_i64(&res, i, 2);
		(*out)[i].canceled = db_res_i64(&res, i, 3);
	}
	return n;
}

/* Chooses what req cancels from the locked lines: its own lines, or everything left (whole).
 * Stores them in *out (*nout) with their sum in *sum. Returns 0, TX_BAD_LINE or TX_EXCEEDS. */
static int
choose_lines(struct arena *a, const struct refunds_req *req, const struct locked_line *lines,
    size_t nlines, struct chosen **out, size_t *nout, int64_t *sum)
{
	struct chosen *c = arena_alloc(a, (nlines + req->nlines + 1) * sizeof(*c));
	size_t i, j, n = 0;

	*sum = 0;
	if (req->nlines == 0) {
		for (i = 0; i < nlines; i++) {
			int64_t left = lines[i].quantity - lines[i].canceled;

			if (left <= 0)
				continue;
			c[n].product_id = lines[i].product_id;
			c[n].quantity = left;
			if (money_mul(lines[i].unit_price, left, &c[n].amount) != 0 ||
			    money_add(*sum, c[n].amount, sum) != 0)
				return TX_EXCEEDS;
			n++;
		}
	} else {
		for (i = 0; i < req->nlines; i++) {
			const struct refunds_line_req *l = &req->lines[i];

			for (j = 0; j < nlines; j++)
				if (lines[j].product_id == l->product_id)
					break;
			if (j == nlines)
				return TX_BAD_LINE;
			if (l->quantity > lines[j].quantity - lines[j].canceled)
				return TX_EXCEEDS;
			c[n].product_id = l->product_id;
			c[n].quantity = l->quantity;
			if (money_mul(lines[j].unit_price, l->quantity, &c[n].amount) != 0 ||
			    money_add(*sum, c[n].amount, sum) != 0)
				return TX_EXCEEDS;
			n++;
		}
	}
	*out = c;
	*nout = n;
	return 0;
}

static int
cmp_chosen(const void *x, const void *y)
{
	const struct chosen *a = x, *b = y;

	return (a->product_id > b->product_id) - (a->product_id < b->product_id);
}

/* The guarded UPDATEs that reserve amount and the chosen lines, then the refund row and its
 * lines. Returns the refund's id (> 0) or a negative value. */
static int64_t
reserve(struct db *db, int64_t order_id, int64_t amount, struct chosen *c, size_t n,
    const char *public_id, const char *status, const char *reason, const char *actor,
    const char *key, bool whole)
{
	int64_t rc, id;
	size_t i;

	rc = db_exec(db, SQL_RESERVE_ORDER, "iii", amount, order_id, amount);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return TX_EXCEEDS;
	qsort(c, n, sizeof(*c), cmp_chosen);
	for (i = 0; i < n; i++) {
		rc = db_exec(db, SQL_RESERVE_LINE, "iiii", c[i].quantity, order_id, c[i].product_id,
		    c[i].quantity);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return TX_EXCEEDS;
	}
	rc = db_exec(db, SQL_INSERT_REFUND, "siissssis", public_id, order_id, amount, status,
	    reason, actor, key, (int64_t)(whole ? 1 : 0), status);
	if (rc < 0)
		return rc;
	id = db_last_insert_id(db);
	for (i = 0; i < n; i++) {
		rc = db_exec(db, SQL_INSERT_LINE, "iiii", id, c[i].product_id, c[i].quantity,
		    c[i].amount);
		if (rc < 0)
			return rc;
	}
	return id;
}

static int
request_tx_fn(struct db *db, void *arg)
{
	struct request_tx *t = arg;
	const struct refunds_req *req = t->req;
	struct locked_line *lines;
	struct chosen *c;
	struct db_res res;
	struct effects e;
	const char *status;
	int64_t n, amount, refunded, balance, sum, id;
	size_t nc;
	int rc;

	t->replay_id = 0;
	t->job = 0;
	t->settle_job = 0;
	t->notify_job = 0;
	n = db_query(db, t->a, &res, SQL_LOCK_ORDER, "ii",
	    (int64_t)(req->shopper_days > 0 ? req->shopper_days : 0), t->order_id);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return TX_WRONG_STATE;
	status = db_res_str(&res, 0, 0);
	amount = db_res_i64(&res, 0, 2);
	refunded = db_res_i64(&res, 0, 3);

	if (req->key != NULL) {
		rc = check_key(db, t);
		if (rc != 0)
			return rc;
	}
	if (strcmp(status, "PAID") != 0 && strcmp(status, "PARTIALLY_CANCELED") != 0)
		return TX_WRONG_STATE;
	if (req->user_id > 0 && (req->shopper_days <= 0 || db_res_i64(&res, 0, 6) != 1))
		return TX_TOO_LATE;
	if (req->user_id > 0) {
		/* Read under the order's lock: a ship waits for it, so none slips in between. */
		rc = fulfilment_started(db, t->order_id);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return TX_SHIPPED;
	}

	n = lock_lines(db, t->a, t->order_id, &lines);
	if (n < 0)
		return (int)n;
	rc = choose_lines(t->a, req, lines, (size_t)n, &c, &nc, &sum);
	if (rc != 0)
		return rc;
	balance = amount - refunded;
	if (req->nlines == 0)
		sum = balance;  /* everything left, amount-only refunds before included */
	if (sum <= 0 || sum > balance)
		return TX_EXCEEDS;

	ids_new(t->public_id, sizeof(t->public_id));
	id = reserve(db, t->order_id, sum, c, nc, t->public_id, t->points ? "DONE" : "REQUESTED",
	    t->reason, t->actor, req->key, req->nlines == 0);
	if (id < 0)
		return (int)id;
	if (!t->points) {
		t->job = outbox_add(db, JOB_REFUND, payload(t->a, t->public_id, NULL));
		return t->job < 0 ? (int)t->job : 0;
	}

	memset(&e, 0, sizeof(e));
	e.a = t->a;
	e.order_id = t->order_id;
	e.order_public_id = db_res_str(&res, 0, 5);
	e.order_amount = amount;
	e.from = status;
	e.pay = ORDER_PAY_POINTS;
	e.user_id = db_res_i64(&res, 0, 4);
	e.refund_id = id;
	e.refund_public_id = t->public_id;
	e.amount = sum;
	e.actor = t->event_actor;
	e.notify = true;
	rc = done_effects(db, &e);
	if (rc != 0)
		return rc;
	t->settle_job = e.settle_job;
	t->notify_job = e.notify_job;
	return 0;
}

/* True when req's lines are well formed: at most LINES_MAX, ids and quantities positive, no
 * product twice. */
static bool
lines_ok(const struct refunds_req *req)
{
	size_t i, j;

	if (req->nlines > LINES_MAX || (req->nlines > 0 && req->lines == NULL))
		return false;
	for (i = 0; i < req->nlines; i++) {
		if (req->lines[i].product_id < 1 || req->lines[i].quantity < 1)
			return false;
		for (j = 0; j < i; j++)
			if (req->lines[j].product_id == req->lines[i].product_id)
				return false;
	}
	return true;
}

/* Loads the refund a transaction wrote (or found) into *out and answers ok, or
 * REFUNDS_FAILED when it cannot be read back. */
static enum refunds_rc
load_written(struct db *db, struct arena *a, const char *public_id, enum refunds_rc ok,
    struct refund *out)
{
	if (refunds_get(db, a, public_id, out) != 1)
		return REFUNDS_FAILED;
	return ok;
}

enum refunds_rc
refunds_request(struct db *db, struct arena *a, const struct refunds_req *req,
    struct refund *out)
{
	struct request_tx t;
	struct order o;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!lines_ok(req))
		return REFUNDS_BAD_LINE;
	if (req->key != NULL && !valid_token(req->key, 1, KEY_MAX))
		return REFUNDS_BAD_LINE;
	if (req->user_id <= 0 && req->admin_id <= 0)
		return REFUNDS_NOT_FOUND;  /* nobody asked: refuse rather than guess */
	rc = orders_get(db, a, req->order_public_id, false, &o);
	if (rc < 0)
		return REFUNDS_FAILED;
	if (rc == 0 || (req->user_id > 0 && o.user_id != req->user_id))
		return REFUNDS_NOT_FOUND;

	memset(&t, 0, sizeof(t));
	t.req = req;
	t.a = a;
	t.order_id = o.id;
	t.points = o.pay == ORDER_PAY_POINTS;
	t.reason = cut_chars(a, req->reason, REFUNDS_REASON_MAX);
	t.actor = req->user_id > 0 ? "shopper" : arena_printf(a, "admin:%" PRId64, req->admin_id);
	t.event_actor = req->user_id > 0 ? "shopper" : "admin";
	rc = db_tx(db, request_tx_fn, &t);
	switch (rc) {
	case 0:
		break;
	case TX_REPLAY:
	case TX_KEY_REUSED:
		/* The key's refund, as it is now. */
		return load_written(db, a, t.replay_public_id,
		    rc == TX_REPLAY ? REFUNDS_REPLAYED : REFUNDS_KEY_REUSED, out);
	case TX_WRONG_STATE:
		return REFUNDS_WRONG_STATE;
	case TX_TOO_LATE:
		return REFUNDS_TOO_LATE;
	case TX_SHIPPED:
		return REFUNDS_SHIPPED;
	case TX_EXCEEDS:
		return REFUNDS_EXCEEDS;
	case TX_BAD_LINE:
		return REFUNDS_BAD_LINE;
	default:
		log_error(NULL, "refund of order %s failed (%d)", o.public_id, rc);
		return REFUNDS_FAILED;
	}
	rc = load_written(db, a, t.public_id, t.points ? REFUNDS_DONE : REFUNDS_ACCEPTED, out);
	/* The jobs are pushed by the caller even when reloading failed: they are committed. */
	out->job = t.job;
	out->settle_job = t.settle_job;
	out->notify_job = t.notify_job;
	if (rc == REFUNDS_FAILED)
		log_error(NULL, "refund %s committed but not reloaded", t.public_id);
	log_info(NULL, "refund %s of order %s: %s", t.public_id, o.public_id,
	    refunds_rc_name((enum refunds_rc)rc));
	return (enum refunds_rc)rc;
}

/* ---- the PG's answer ------------------------------------------------------------------------- */

/* What a refund job's transaction works on. */
struct job_tx {
	struct arena *a;
	const struct outbox_claim *claim;
	const char *refund_public_id;
	bool done;                   /* complete (true) or release (false) */
	const char *code;
	const char *message;
	bool moved;                  /* out */
	int64_t settle_job;          /* out */
	int64_t notify_job;          /* out */
};

/* Gives back what refund id reserved on its order. Returns 0 or a negative value. */
static int
unreserve(struct db *db, struct arena *a, int64_t refund_id, int64_t order_id, int64_t amount)
{
	struct db_res res;
	int64_t rc;
	size_t i;

	rc = db_exec(db, SQL_UNRESERVE_ORDER, "iii", amount, order_id, amount);
	if (rc < 0)
		return (int)rc;
	if (rc == 0)
		return TX_NOT_MOVED;
	rc = db_query(db, a, &res, SQL_REFUND_LINES, "i", refund_id);
	if (rc < 0)
		return (int)rc;
	for (i = 0; i < res.nrows; i++) {
		int64_t q = db_res_i64(&res, i, 1);

		rc = db_exec(db, SQL_UNRESERVE_LINE, "iiii", q, order_id, db_res_i64(&res, i, 0), q);
		if (rc < 0)
			return (int)rc;
		if (rc == 0)
			return TX_NOT_MOVED;
	}
	return 0;
}

static int
job_tx_fn(struct db *db, void *arg)
{
	struct job_tx *t = arg;
	struct db_res head, st;
	struct effects e;
	enum order_pay pay = ORDER_PAY_POINTS;
	int64_t rc, refund_id = 0, order_id = 0, amount = 0;

	t->moved = false;
	t->settle_job = 0;
	t->notify_job = 0;
	if (t->refund_public_id != NULL) {
		rc = db_query(db, t->a, &head, SQL_HEAD, "s", t->refund_public_id);
		if (rc < 0)
			return (int)rc;
		if (rc == 1 && orders_pay_parse(db_res_str(&head, 0, 6), &pay) == 0) {
			refund_id = db_res_i64(&head, 0, 0);
			order_id = db_res_i64(&head, 0, 1);
			amount = db_res_i64(&head, 0, 2);
			/* The order first, as every refund transaction locks it. */
			rc = db_query(db, t->a, &st, SQL_LOCK_STATUS, "i", order_id);
			if (rc < 0)
				return (int)rc;
			if (t->done)
				rc = db_exec(db, SQL_TO_DONE, "i", refund_id);
			else
				rc = db_exec(db, SQL_TO_FAILED, "ssi", t->code, t->message, refund_id);
			if (rc < 0)
				return (int)rc;
			t->moved = rc == 1 && st.nrows == 1;
		}
		if (t->moved && t->done) {
			memset(&e, 0, sizeof(e));
			e.a = t->a;
			e.order_id = order_id;
			e.order_public_id = db_res_str(&head, 0, 4);
			e.order_amount = db_res_i64(&st, 0, 1);
			e.from = db_res_str(&st, 0, 0);
			e.pay = pay;
			e.user_id = db_res_i64(&head, 0, 5);
			e.refund_id = refund_id;
			e.refund_public_id = t->refund_public_id;
			e.amount = amount;
			e.actor = "worker";
			e.notify = true;
			rc = done_effects(db, &e);
			if (rc != 0)
				return (int)rc;
			t->settle_job = e.settle_job;
			t->notify_job = e.notify_job;
		} else if (t->moved) {
			rc = unreserve(db, t->a, refund_id, order_id, amount);
			if (rc != 0)
				return (int)rc;
		}
	}
	rc = outbox_complete(db, t->claim);
	if (rc < 0)
		return (int)rc;
	return rc == 0 ? TX_LOST : 0;
}

static enum refunds_job_rc
job_run(struct db *db, struct job_tx *t)
{
	int rc = db_tx(db, job_tx_fn, t);

	if (rc == TX_LOST)
		return REFUNDS_JOB_LOST;
	if (rc != 0) {
		log_error(NULL, "refund %s: transaction failed (%d)",
		    t->refund_public_id != NULL ? t->refund_public_id : "-", rc);
		return REFUNDS_JOB_DB_FAILED;
	}
	return t->moved ? REFUNDS_JOB_DONE : REFUNDS_JOB_SKIPPED;
}

enum refunds_job_rc
refunds_complete(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *refund_public_id, int64_t *settle_job, int64_t *notify_job)
{
	struct job_tx t;
	enum refunds_job_rc rc;

	memset(&t, 0, sizeof(t));
	t.a = a;
	t.claim = claim;
	t.refund_public_id = refund_public_id;
	t.done = true;
	rc = job_run(db, &t);
	*settle_job = rc == REFUNDS_JOB_DONE ? t.settle_job : 0;
	*notify_job = rc == REFUNDS_JOB_DONE ? t.notify_job : 0;
	return rc;
}

enum refunds_job_rc
refunds_release(struct db *db, struct arena *a, const struct outbox_claim *claim,
    const char *refund_public_id, const char *code, const char *message)
{
	struct job_tx t;

	memset(&t, 0, sizeof(t));
	t.a = a;
	t.claim = claim;
	t.refund_public_id = refund_public_id;
	t.done = false;
	t.code = cut_bytes(a, code, FAIL_CODE_MAX);
	t.message = cut_bytes(a, message, FAIL_MESSAGE_MAX);
	return job_run(db, &t);
}

enum refunds_job_rc
refunds_skip(struct db *db, const struct outbox_claim *claim)
{
	struct job_tx t;

	memset(&t, 0, sizeof(t));
	t.claim = claim;
	return job_run(db, &t);
}

/* ---- reconciliation ------------------------------------------------------------------------ */

struct record_tx {
	struct arena *a;
	int64_t order_id;
	int64_t amount;
	char public_id[REFUNDS_ID_LEN + 1];   /* out */
	int64_t settle_job;                   /* out */
};

/* The greedy choice of the top comment: whole units from the last line backwards. Returns the
 * number of lines chosen when they add up to exactly amount, else 0 (amount-only). */
static size_t
choose_for_amount(const struct locked_line *lines, size_t nlines, int64_t amount,
    struct chosen *c)
{
	int64_t left = amount;
	size_t i, n = 0;

	for (i = nlines; i-- > 0 && left > 0;) {
		int64_t units = lines[i].quantity - lines[i].canceled;

		if (units <= 0 || lines[i].unit_price <= 0)
			continue;
		if (units > left / lines[i].unit_price)
			units = left / lines[i].unit_price;
		if (units == 0)
			continue;
		c[n].product_id = lines[i].product_id;
		c[n].quantity = units;
		c[n].amount = units * lines[i].unit_price;  /* <= left: cannot overflow */
		left -= c[n].amount;
		n++;
	}
	return left == 0 ? n : 0;
}

static int
record_tx_fn(struct db *db, void *arg)
{
	struct record_tx *t = arg;
	struct locked_line *lines;
	struct chosen *c;
	struct db_res res;
	struct effects e;
	enum order_pay pay;
	const char *status;
	int64_t n, id;
	size_t nc;

	t->settle_job = 0;
	n = db_query(db, t->a, &res, SQL_LOCK_ORDER, "ii", (int64_t)0, t->order_id);
	if (n < 0)
		return (int)n;
	if (n == 0 || orders_pay_parse(db_res_str(&res, 0, 1), &pay) != 0)
		return TX_WRONG_STATE;
	status = db_res_str(&res, 0, 0);
	if (pay == ORDER_PAY_POINTS ||
	    (strcmp(status, "PAID") != 0 && strcmp(status, "PARTIALLY_CANCELED") != 0))
		return TX_WRONG_STATE;
	if (t->amount > db_res_i64(&res, 0, 2) - db_res_i64(&res, 0, 3))
		return TX_EXCEEDS;
	n = lock_lines(db, t->a, t->order_id, &lines);
	if (n < 0)
		return (int)n;
	c = arena_alloc(t->a, ((size_t)n + 1) * sizeof(*c));
	nc = choose_for_amount(lines, (size_t)n, t->amount, c);

	ids_new(t->public_id, sizeof(t->public_id));
	id = reserve(db, t->order_id, t->amount, c, nc, t->public_id, "DONE",
	    "PG에서 확인된 취소 (정산 대사)", "reconcile", NULL, false);
	if (id < 0)
		return (int)id;
	memset(&e, 0, sizeof(e));
	e.a = t->a;
	e.order_id = t->order_id;
	e.order_public_id = db_res_str(&res, 0, 5);
	e.order_amount = db_res_i64(&res, 0, 2);
	e.from = status;
	e.pay = pay;
	e.user_id = db_res_i64(&res, 0, 4);
	e.refund_id = id;
	e.refund_public_id = t->public_id;
	e.amount = t->amount;
	e.actor = "reconcile";
	e.notify = false;
	n = done_effects(db, &e);
	if (n != 0)
		return (int)n;
	t->settle_job = e.settle_job;
	return 0;
}

enum refunds_rc
refunds_record_pg_cancel(struct db *db, struct arena *a, const char *order_public_id,
    int64_t amount, struct refund *out)
{
	struct record_tx t;
	struct order o;
	int rc;

	memset(out, 0, sizeof(*out));
	if (amount < 1 || amount > MONEY_MAX)
		return REFUNDS_EXCEEDS;
	rc = orders_get(db, a, order_public_id, false, &o);
	if (rc < 0)
		return REFUNDS_FAILED;
	if (rc == 0)
		return REFUNDS_NOT_FOUND;
	memset(&t, 0, sizeof(t));
	t.a = a;
	t.order_id = o.id;
	t.amount = amount;
	rc = db_tx(db, record_tx_fn, &t);
	if (rc == TX_WRONG_STATE)
		return REFUNDS_WRONG_STATE;
	if (rc == TX_EXCEEDS)
		return REFUNDS_EXCEEDS;
	if (rc != 0) {
		log_error(NULL, "recording a PG cancel of order %s failed (%d)", o.public_id, rc);
		return REFUNDS_FAILED;
	}
	log_info(NULL, "refund %s of order %s recorded from the PG (%" PRId64 " won)", t.public_id,
	    o.public_id, amount);
	rc = load_written(db, a, t.public_id, REFUNDS_DONE, out);
	out->settle_job = t.settle_job;
	return (enum refunds_rc)rc;
}

/* ---- loading ------------------------------------------------------------------------------- */

/* Fills *r from row i of a REFUND_COLUMNS result (lines attached later). 0, or -1 for a status
 * this program does not know. */
static int
refund_from_row(const struct db_res *res, size_t i, struct refund *r)
{
	memset(r, 0, sizeof(*r));
	r->id = db_res_i64(res, i, 0);
	snprintf(r->public_id, sizeof(r->public_id), "%s", db_res_str(res, i, 1));
	r->order_public_id = db_res_str(res, i, 2);
	r->amount = db_res_i64(res, i, 3);
	if (status_parse(db_res_str(res, i, 4), &r->status) != 0)
		return -1;
	r->reason = db_res_str(res, i, 5);
	r->actor = db_res_str(res, i, 6);
	r->fail_code = db_res_str(res, i, 7);
	r->created_at = db_res_str(res, i, 8);
	r->done_at = db_res_str(res, i, 9);
	return 0;
}

/* Attaches the lines of order order_id's refunds to the n refunds in rs. 0 or an enum db_rc. */
static int
attach_lines(struct db *db, struct arena *a, int64_t order_id, struct refund *rs, size_t n)
{
	struct db_res res;
	int64_t m;
	size_t i, j, k;

	m = db_query(db, a, &res, SQL_LINES_OF_ORDER, "i", order_id);
	if (m < 0)
		return (int)m;
	for (i = 0; i < n; i++) {
		size_t count = 0;

		for (j = 0; j < (size_t)m; j++)
			if (db_res_i64(&res, j, 0) == rs[i].id)
				count++;
		rs[i].lines = arena_alloc(a, (count + 1) * sizeof(*rs[i].lines));
		for (j = 0, k = 0; j < (size_t)m; j++) {
			struct refund_line *l;

			if (db_res_i64(&res, j, 0) != rs[i].id)
				continue;
			l = &rs[i].lines[k++];
			l->product_id = db_res_i64(&res, j, 1);
			l->name = db_res_str(&res, j, 2);
			l->quantity = (int)db_res_i64(&res, j, 3);
			l->amount = db_res_i64(&res, j, 4);
		}
		rs[i].nlines = count;
	}
	return 0;
}

int64_t
refunds_of_order(struct db *db, struct arena *a, int64_t order_id, struct refund **out)
{
	struct db_res res;
	int64_t n;
	size_t i;
	int rc;

	n = db_query(db, a, &res, SQL_OF_ORDER, "i", order_id);
	if (n < 0)
		return n;
	*out = arena_alloc(a, ((size_t)n + 1) * sizeof(**out));
	for (i = 0; i < (size_t)n; i++)
		if (refund_from_row(&res, i, &(*out)[i]) != 0)
			return DB_ERR;
	if (n == 0)
		return 0;
	rc = attach_lines(db, a, order_id, *out, (size_t)n);
	return rc < 0 ? rc : n;
}

int
refunds_get(struct db *db, struct arena *a, const char *refund_public_id, struct refund *out)
{
	struct db_res res;
	int64_t n;
	int rc;

	if (refund_public_id == NULL || strlen(refund_public_id) != REFUNDS_ID_LEN ||
	    !valid_token(refund_public_id, REFUNDS_ID_LEN, REFUNDS_ID_LEN))
		return 0;
	n = db_query(db, a, &res, SQL_BY_PUBLIC, "s", refund_public_id);
	if (n <= 0)
		return (int)n;
	if (refund_from_row(&res, 0, out) != 0)
		return DB_ERR;
	rc = attach_lines(db, a, db_res_i64(&res, 0, 10), out, 1);
	return rc < 0 ? rc : 1;
}

int
refunds_shopper_may(struct db *db, struct arena *a, int64_t order_id, int shopper_days)
{
	struct db_res res;
	int64_t n;

	if (shopper_days <= 0)
		return 0;
	n = db_query(db, a, &res, SQL_SHOPPER_MAY, "ii", order_id, (int64_t)shopper_days);
	return n < 0 ? (int)n : n > 0;
}

int
refunds_task_get(struct db *db, struct arena *a, const char *refund_public_id,
    struct refunds_task *out)
{
	struct db_res res;
	int64_t n, done;

	memset(out, 0, sizeof(*out));
	if (refund_public_id == NULL || strlen(refund_public_id) != REFUNDS_ID_LEN ||
	    !valid_token(refund_public_id, REFUNDS_ID_LEN, REFUNDS_ID_LEN))
		return 0;
	n = db_query(db, a, &res, SQL_TASK, "s", refund_public_id);
	if (n <= 0)
		return (int)n;
	out->refund_id = db_res_i64(&res, 0, 0);
	snprintf(out->public_id, sizeof(out->public_id), "%s", db_res_str(&res, 0, 1));
	snprintf(out->order_public_id, sizeof(out->order_public_id), "%s", db_res_str(&res, 0, 2));
	if (status_parse(db_res_str(&res, 0, 3), &out->status) != 0)
		return DB_ERR;
	out->pg = db_res_str(&res, 0, 4);
	out->payment_key = db_res_str(&res, 0, 5);
	out->amount = db_res_i64(&res, 0, 6);
	out->reason = db_res_str(&res, 0, 8);
	done = db_res_i64(&res, 0, 9);
	out->cancelable = db_res_i64(&res, 0, 7) - done;
	out->older_requested = db_res_i64(&res, 0, 10);
	return 1;
}

/* ---- output ----------------------------------------------------------------------------------- */

static struct json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
refunds_json(const struct refund *r)
{
	struct json_object *j = json_object_new_object();
	struct json_object *lines = json_object_new_array();
	size_t i;

	json_object_object_add(j, "refundId", json_object_new_string(r->public_id));
	json_object_object_add(j, "orderId", str_or_null(r->order_public_id));
	json_object_object_add(j, "amount", json_object_new_int64(r->amount));
	json_object_object_add(j, "status", json_object_new_string(refunds_status_name(r->status)));
	json_object_object_add(j, "reason", str_or_null(r->reason));
	json_object_object_add(j, "actor", str_or_null(r->actor));
	json_object_object_add(j, "failCode", str_or_null(r->fail_code));
	json_object_object_add(j, "createdAt", str_or_null(r->created_at));
	json_object_object_add(j, "doneAt", str_or_null(r->done_at));
	for (i = 0; i < r->nlines; i++) {
		const struct refund_line *l = &r->lines[i];
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "productId", json_object_new_int64(l->product_id));
		json_object_object_add(x, "name", str_or_null(l->name));
		json_object_object_add(x, "quantity", json_object_new_int(l->quantity));
		json_object_object_add(x, "amount", json_object_new_int64(l->amount));
		json_object_array_add(lines, x);
	}
	json_object_object_add(j, "lines", lines);
	return j;
}

void
refunds_push_jobs(struct bus *b, const struct refund *r)
{
	const struct bus_job jobs[] = {
		{ r->job, JOB_REFUND }, { r->settle_job, JOB_REFUND_SETTLE }, { r->notify_job, JOB_NOTIFY },
	};
	size_t i;

	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		if (jobs[i].outbox_id <= 0)
			continue;
		if (bus_push(b, &jobs[i]) != 0)
			log_warn(NULL, "refund %s: push of job %" PRId64 " failed; the janitor will resend it",
			    r->public_id, jobs[i].outbox_id);
	}
}
