"""Orders (issue 4): checkout over HTTP through the web server against the real MariaDB,
Redis and janitor: stock is reserved exactly, never oversold under concurrency, prices come
only from the database, the PG's returns are checked against the order, replays change
nothing, unpaid orders are cancelled or expire with their stock given back.

Users, products and sessions are made directly in the stores (jt.make_user, make_product,
Session); the PG's browser side is the fake PG's hosted page (tests/fakes/pg.py)."""
import json
import random
import secrets
import time
import urllib.parse

from jt import (Session, check_static_file, count, envelope, eq, eventually, follow_pg, get,
                make_product, make_user, parallel, pg_faults, redis, request, sql,
                static_version, stock)
from jt import order_events as events
from jt import order_jobs as jobs

SOLD_OUT_MSG = "품절된 상품이 존재합니다."
NO_PRODUCT_MSG = "해당 상품이 존재하지 않습니다."
NO_POINTS_MSG = "결제 금액이 부족합니다."


def points(uid):
    return int(sql("SELECT points FROM users WHERE id = %d" % uid)[0][0])


def order_row(oid):
    rows = sql("SELECT status, amount, IFNULL(payment_key, ''), pay_method FROM orders"
               " WHERE public_id = '%s'" % oid)
    return rows[0] if rows else None


def status(oid):
    return order_row(oid)[0]


def page_error(resp, status):
    """resp is the HTML error page with status (pages answer pages, never the envelope)."""
    eq(resp.status, status, "status: %r" % resp.body[:120])
    if not resp.header("Content-Type").startswith("text/html"):
        raise AssertionError("expected an HTML page, got " + resp.header("Content-Type"))
    return resp.text


def after_return(oid):
    """Checks that a PG's success return got through: CONFIRMING, or already decided by the
    payment workers."""
    st = status(oid)
    if st not in ("CONFIRMING", "PAID", "FAILED", "UNKNOWN"):
        raise AssertionError("after the return: " + st)
    if "CONFIRMING" not in events(oid):
        raise AssertionError("never reached CONFIRMING: %r" % events(oid))


def order(sess, lines, method="points", amount=None, key=None, extra=None):
    """POST /api/v1/orders; lines is [(product_id, quantity)]."""
    body = {"products": [{"id": p, "quantity": q} for p, q in lines], "paymentMethod": method}
    if amount is not None:
        body["paymentAmount"] = amount
    if extra:
        body.update(extra)
    h = {}
    if key is not None:
        h["Idempotency-Key"] = key
    return sess.post_json("/api/v1/orders", body, **h)


def toss_order(sess, pid, qty=1):
    r = order(sess, [(pid, qty)], method="toss")
    eq(r.status, 201, "toss order created: %r" % r.body[:300])
    return r.json()


def success_path(oid, amount, key=None):
    return "/checkout/toss/success?" + urllib.parse.urlencode(
        {"paymentKey": key or ("tpk_" + secrets.token_hex(10)), "orderId": oid, "amount": amount})


# ---- points checkout (seed 002) --------------------------------------------------------------

def test_points_order_is_paid_at_once_with_exact_stock_points_and_a_settle_job():
    pid = make_product(price=2500, stock=10)
    pid2 = make_product(price=1200, stock=5)
    uid = make_user(points=100000)
    s = Session(uid)
    r = order(s, [(pid, 2), (pid2, 3)], amount=8600)
    eq(r.status, 201, "created")
    o = r.json()
    eq(o["status"], "PAID", "points settle inside the checkout")
    eq(o["amount"], 8600, "amount from the database's prices")
    eq(o["final"], True, "final")
    eq(len(o["orderId"]), 24, "unguessable id")
    eq(o["payment"], None, "nothing to pay at a PG")
    eq(sorted((l["productId"], l["quantity"], l["amount"]) for l in o["lines"]),
       sorted([(pid, 2, 5000), (pid2, 3, 3600)]), "lines")
    eq(stock(pid), 8, "stock reserved")
    eq(stock(pid2), 2, "stock reserved")
    eq(points(uid), 91400, "points spent exactly")
    eq(jobs(o["orderId"], "settle"), 1, "one settle job")
    eq(count("SELECT IFNULL(SUM(quantity), 0) FROM sales_daily WHERE product_id = %d" % pid), 2,
       "sale counted for the popular list")
    eq(events(o["orderId"]), ["PAID"], "timeline")
    got = s.get("/api/v1/orders/" + o["orderId"]).json()
    eq(got["status"], "PAID", "readable")
    eq(got["lines"], o["lines"], "same lines")


def test_points_short_is_409_and_changes_nothing():
    pid = make_product(price=5000, stock=3)
    uid = make_user(points=4999)
    s = Session(uid)
    before = count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid)
    eq(envelope(order(s, [(pid, 1)]), 409, "INSUFFICIENT_POINTS"), NO_POINTS_MSG, "seed message")
    eq(stock(pid), 3, "nothing reserved")
    eq(points(uid), 4999, "nothing spent")
    eq(count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid), before, "no order")


def test_a_client_amount_that_disagrees_is_409_and_changes_nothing():
    pid = make_product(price=3000, stock=3)
    uid = make_user(points=100000)
    s = Session(uid)
    envelope(order(s, [(pid, 2)], amount=5000), 409, "AMOUNT_MISMATCH")
    eq(stock(pid), 3, "nothing reserved")
    eq(points(uid), 100000, "nothing spent")
    eq(order(s, [(pid, 2)], amount=6000).status, 201, "the right amount passes")


def test_sold_out_line_reserves_nothing_on_any_line():
    a = make_product(price=100, stock=5)
    b = make_product(price=100, stock=1)
    uid = make_user(points=100000)
    s = Session(uid)
    eq(envelope(order(s, [(a, 2), (b, 2)]), 409, "SOLD_OUT"), SOLD_OUT_MSG, "seed message")
    eq((stock(a), stock(b)), (5, 1), "all or nothing")
    eq(points(uid), 100000, "nothing spent")


def test_unknown_or_inactive_product_is_404():
    gone = make_product(active=0)
    uid = make_user(points=100000)
    s = Session(uid)
    eq(envelope(order(s, [(gone, 1)]), 404, "PRODUCT_NOT_FOUND"), NO_PRODUCT_MSG, "inactive")
    envelope(order(s, [(9223372036854775807, 1)]), 404, "PRODUCT_NOT_FOUND")
    eq(points(uid), 100000, "nothing spent")


def test_bad_bodies_are_400_and_change_nothing():
    pid = make_product(price=100, stock=5)
    uid = make_user(points=100000)
    s = Session(uid)
    bad = [
        ({}, "PRODUCTS_INVALID"),
        ({"products": []}, "PRODUCTS_INVALID"),
        ({"products": {"id": pid}}, "PRODUCTS_INVALID"),
        ({"products": [{"id": pid}]}, "QUANTITY_INVALID"),
        ({"products": [{"id": pid, "quantity": 0}]}, "QUANTITY_INVALID"),
        ({"products": [{"id": pid, "quantity": -1}]}, "QUANTITY_INVALID"),
        ({"products": [{"id": pid, "quantity": 1.5}]}, "QUANTITY_INVALID"),
        ({"products": [{"id": pid, "quantity": "1"}]}, "QUANTITY_INVALID"),
        ({"products": [{"id": pid, "quantity": 10 ** 6}]}, "QUANTITY_INVALID"),
        ({"products": [{"id": str(pid), "quantity": 1}]}, "PRODUCTS_INVALID"),
        ({"products": [{"id": 0, "quantity": 1}]}, "PRODUCTS_INVALID"),
        ({"products": [{"id": pid, "quantity": 1, "price": 1}]}, "PRODUCTS_INVALID"),
        ({"products": [{"id": pid, "quantity": 1}, {"id": pid, "quantity": 1}]},
         "DUPLICATE_PRODUCT"),
        ({"products": [{"id": pid, "quantity": 1}], "paymentMethod": "cash"},
         "PAYMENT_METHOD_INVALID"),
        ({"products": [{"id": pid, "quantity": 1}], "paymentMethod": 1},
         "PAYMENT_METHOD_INVALID"),
        ({"products": [{"id": pid, "quantity": 1}], "paymentAmount": -1},
         "PAYMENT_AMOUNT_INVALID"),
        ({"products": [{"id": pid, "quantity": 1}], "paymentAmount": "100"},
         "PAYMENT_AMOUNT_INVALID"),
        ({"products": [{"id": pid, "quantity": 1}], "amount": 1}, "INVALID_FIELDS"),
        ({"products": [{"id": pid, "quantity": 1}], "user_id": "x"}, "USER_ID_INVALID"),
        ({"products": [{"id": i + 1, "quantity": 1} for i in range(31)]}, "PRODUCTS_INVALID"),
    ]
    for body, code in bad:
        envelope(s.post_json("/api/v1/orders", body), 400, code)
    envelope(s.post_json("/api/v1/orders", [1, 2]), 400, "INVALID_FIELDS")
    h = s.headers()
    h["Content-Type"] = "application/json"
    envelope(request("POST", "/api/v1/orders", body=b'{"products": [', headers=h), 400,
             "BAD_JSON")
    envelope(request("POST", "/api/v1/orders", body=b"{" + b'"a":1,' * 250000 + b'"b":2}',
                     headers=h), 413, "PAYLOAD_TOO_LARGE")
    eq(stock(pid), 5, "nothing reserved")
    eq(points(uid), 100000, "nothing spent")
    eq(count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid), 0, "no order")


def test_someone_elses_user_id_is_403_and_no_session_is_401():
    pid = make_product(price=100, stock=5)
    uid = make_user(points=1000)
    other = make_user(points=1000)
    s = Session(uid)
    envelope(order(s, [(pid, 1)], extra={"user_id": other}), 403, "FORBIDDEN")
    eq(order(s, [(pid, 1)], extra={"user_id": uid}).status, 201, "own id is seed 002's shape")
    envelope(request("POST", "/api/v1/orders", body={"products": [{"id": pid, "quantity": 1}]}),
             401, "UNAUTHORIZED")
    envelope(s.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": 1}]},
                         csrf=False), 403, "CSRF_TOKEN_INVALID")
    eq(stock(pid), 4, "only the one good order")


def product_name(pid):
    return sql("SELECT name FROM products WHERE id = %d" % pid)[0][0]


def test_a_name_that_is_not_the_products_is_409_and_prices_come_from_the_database():
    pid = make_product(price=700, stock=5)
    uid = make_user(points=10000)
    s = Session(uid)
    changed = "상품 정보가 변경되었습니다. 상품명과 가격을 다시 확인한 뒤 주문해 주세요."
    for name in ["<script>alert(1)</script>", product_name(pid) + " ", "",
                 product_name(pid).upper() + "x"]:
        r = s.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": 2,
                                                         "name": name}],
                                           "paymentMethod": "points"})
        eq(envelope(r, 409, "PRODUCT_CHANGED"), changed, "name %r" % name)
    eq(stock(pid), 5, "nothing reserved")
    eq(points(uid), 10000, "nothing spent")
    r = s.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": 2,
                                                     "name": product_name(pid)}],
                                       "paymentMethod": "points"})
    eq(r.status, 201, "the shop's own name passes")
    eq(r.json()["amount"], 1400, "database price")


def test_a_renamed_product_or_a_new_price_refuses_the_seeds_order():
    """Seed 002's body: the client sends what it showed; a change since then is a 409 with
    nothing written, and the same body with the new name and amount goes through."""
    pid = make_product(price=2500, stock=9, name="빽다방 아메리카노-" + secrets.token_hex(3))
    other = make_product(price=1000, stock=9)
    uid = make_user(points=100000)
    s = Session(uid)
    old_name = product_name(pid)

    def seed_body(name, amount):
        return {"id": 1, "user_id": uid, "paymentAmount": amount,
                "products": [{"id": pid, "name": name, "quantity": 2},
                             {"id": other, "name": product_name(other), "quantity": 1}]}

    sql("UPDATE products SET name = CONCAT(name, ' (리뉴얼)') WHERE id = %d" % pid)
    envelope(s.post_json("/api/v1/orders", seed_body(old_name, 6000)), 409, "PRODUCT_CHANGED")
    sql("UPDATE products SET price = 2700 WHERE id = %d" % pid)
    msg = envelope(s.post_json("/api/v1/orders", seed_body(product_name(pid), 6000)), 409,
                   "AMOUNT_MISMATCH")
    if not msg.startswith("상품 정보가 변경되어"):
        raise AssertionError("the message says the product changed: %r" % msg)
    eq((stock(pid), stock(other), points(uid)), (9, 9, 100000), "nothing written")
    eq(count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid), 0, "no order")
    r = s.post_json("/api/v1/orders", seed_body(product_name(pid), 6400))
    eq(r.status, 201, "the current name and amount: %r" % r.body[:200])
    eq((r.json()["amount"], stock(pid), points(uid)), (6400, 7, 93600), "paid with points")


def test_the_seeds_order_number_is_accepted_and_not_used():
    pid = make_product(price=100, stock=5)
    uid = make_user(points=1000)
    s = Session(uid)
    a = order(s, [(pid, 1)], extra={"id": 1})
    b = order(s, [(pid, 1)], extra={"id": 1})
    eq((a.status, b.status), (201, 201), "two orders: the client's number is not a key")
    if a.json()["orderId"] == b.json()["orderId"] or a.json()["orderId"] == "1":
        raise AssertionError("the shop numbers its orders: %r %r" % (a.json()["orderId"],
                                                                     b.json()["orderId"]))
    for bad in [-1, "1", 1.5, None]:
        envelope(order(s, [(pid, 1)], extra={"id": bad}), 400, "ORDER_ID_INVALID")
    msg = envelope(order(s, [(pid, 1)], extra={"orderNo": 1}), 400, "INVALID_FIELDS")
    for field in ["products", "paymentMethod", "paymentAmount", "user_id", "id"]:
        if field not in msg:
            raise AssertionError("the message names %s: %r" % (field, msg))
    eq(stock(pid), 3, "only the two good orders")


def test_idempotency_key_replays_the_order_and_refuses_another_body():
    pid = make_product(price=1000, stock=10)
    uid = make_user(points=100000)
    s = Session(uid)
    key = "ck_" + secrets.token_hex(8)
    first = order(s, [(pid, 2)], key=key)
    eq(first.status, 201, "created")
    again = order(s, [(pid, 2)], key=key)
    eq(again.status, 200, "replayed")
    eq(again.json()["orderId"], first.json()["orderId"], "same order")
    envelope(order(s, [(pid, 3)], key=key), 422, "IDEMPOTENCY_KEY_REUSED")
    envelope(order(s, [(pid, 1)], key="bad key!"), 400, "IDEMPOTENCY_KEY_INVALID")
    eq(stock(pid), 8, "reserved once")
    eq(points(uid), 98000, "charged once")


def test_a_replay_outranks_the_refusals_checked_before_the_transaction():
    # The key's first checkout took the last units: the price query now sees the product sold
    # out (and a new price), but the same checkout sent again is the order it made.
    pid = make_product(price=2500, stock=2)
    uid = make_user(points=100000)
    s = Session(uid)
    key = "replay-" + secrets.token_hex(6)
    first = order(s, [(pid, 2)], key=key)
    eq(first.status, 201, "the last two units")
    eq(stock(pid), 0, "sold out now")
    sql("UPDATE products SET price = 3000 WHERE id = %d" % pid)
    again = order(s, [(pid, 2)], key=key)
    eq(again.status, 200, "replayed, not SOLD_OUT")
    eq(again.json()["orderId"], first.json()["orderId"], "the same order")
    envelope(order(s, [(pid, 2)]), 409, "SOLD_OUT")
    eq(count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid), 1, "no second order")
    eq(points(uid), 95000, "charged once")


def test_a_sold_out_product_sells_again_once_stock_comes_back():
    # A sold-out checkout is turned away before any transaction (the price query saw no
    # stock; each FastCGI process then remembers it for 0.5 s): stock given back is for sale
    # again after that, and the refusals wrote nothing.
    pid = make_product(price=1000, stock=0)
    uid = make_user(points=100000)
    s = Session(uid)
    for _ in range(8):   # every FastCGI child of the pool sees it sold out
        envelope(order(s, [(pid, 1)]), 409, "SOLD_OUT")
    eq(count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid), 0, "no order written")
    sql("UPDATE stock SET available = 1 WHERE product_id = %d" % pid)
    time.sleep(0.6)
    eq(order(s, [(pid, 1)]).status, 201, "restocked: sold")
    eq(stock(pid), 0, "the unit taken")
    envelope(order(s, [(pid, 1)]), 409, "SOLD_OUT")
    eq(points(uid), 99000, "one unit paid")


def test_a_replay_of_a_checkout_that_spent_every_point_is_the_order_not_a_refusal():
    # The balance is taken first in the transaction: the replay's guard refuses (no points
    # left) before the key's duplicate shows, and the key still answers with the order.
    pid = make_product(price=5000, stock=5)
    uid = make_user(points=5000)
    s = Session(uid)
    key = "all-" + secrets.token_hex(6)
    first = order(s, [(pid, 1)], key=key)
    eq(first.status, 201, "every point spent")
    again = order(s, [(pid, 1)], key=key)
    eq(again.status, 200, "replayed, not INSUFFICIENT_POINTS")
    eq(again.json()["orderId"], first.json()["orderId"], "the same order")
    envelope(order(s, [(pid, 1)]), 409, "INSUFFICIENT_POINTS")
    eq((points(uid), stock(pid)), (0, 4), "charged and reserved once")


def test_one_shoppers_parallel_points_checkouts_all_go_through():
    # Many tabs of one shopper at once: the user's row is locked before the order's foreign
    # key looks at it, so they queue instead of deadlocking (no 500, no lost checkout).
    pid = make_product(price=100, stock=100)
    uid = make_user(points=100000)
    s = Session(uid)
    res = parallel(24, lambda i: order(s, [(pid, 1)]))
    eq(sorted(r.status for r in res), [201] * 24, "every checkout created")
    eq((points(uid), stock(pid)), (100000 - 2400, 76), "24 paid, 24 reserved")


def test_parallel_checkouts_with_one_key_make_one_order():
    pid = make_product(price=1000, stock=100)
    uid = make_user(points=1000000)
    s = Session(uid)
    key = "ck_" + secrets.token_hex(8)
    res = parallel(20, lambda i: order(s, [(pid, 1)], key=key))
    eq(sorted(set(r.status for r in res)) in ([200, 201], [201]), True, "created or replayed")
    eq(len(set(r.json()["orderId"] for r in res)), 1, "one order")
    eq(stock(pid), 99, "reserved once")
    eq(points(uid), 999000, "charged once")


# ---- concurrency: never oversell ---------------------------------------------------------------

def test_100_clients_buy_the_last_100_units():
    pid = make_product(price=1000, stock=100)
    sessions = [Session(make_user(points=10000)) for _ in range(100)]
    res = parallel(100, lambda i: order(sessions[i], [(pid, 1)]))
    eq([r.status for r in res], [201] * 100, "every order succeeds")
    eq(stock(pid), 0, "0 left")
    eq(count("SELECT COUNT(*) FROM order_lines WHERE product_id = %d" % pid), 100, "100 orders")
    eq(count("SELECT COUNT(*) FROM orders o JOIN order_lines l ON l.order_id = o.id"
             " WHERE l.product_id = %d AND o.status = 'PAID'" % pid), 100, "all paid")


def test_1000_concurrent_orders_for_100_units_sell_exactly_100():
    pid = make_product(price=1000, stock=100)
    sessions = [Session(make_user()) for _ in range(50)]
    res = parallel(1000, lambda i: order(sessions[i % 50], [(pid, 1)], method="toss"))
    codes = [r.status for r in res]
    eq(codes.count(201), 100, "exactly 100 succeed")
    eq(codes.count(409), 900, "the rest are sold out: %r" % sorted(set(codes)))
    for r in res:
        if r.status == 409:
            envelope(r, 409, "SOLD_OUT")
    eq(stock(pid), 0, "stock is 0, never negative")
    eq(count("SELECT COUNT(*) FROM order_lines WHERE product_id = %d" % pid), 100, "100 lines")


def test_multi_product_orders_racing_on_overlapping_products_never_oversell_or_deadlock():
    pids = [make_product(price=100, stock=40) for _ in range(4)]
    sessions = [Session(make_user()) for _ in range(20)]
    rng = random.Random(4)
    plans = []
    for i in range(200):
        chosen = rng.sample(pids, rng.randint(2, 4))   # in random order: the server sorts
        plans.append([(p, rng.randint(1, 2)) for p in chosen])
    res = parallel(200, lambda i: order(sessions[i % 20], plans[i], method="toss"))
    for r in res:
        if r.status not in (201, 409):
            raise AssertionError("unexpected %d: %r" % (r.status, r.body[:200]))
        if r.status == 409:
            envelope(r, 409, "SOLD_OUT")
    for p in pids:
        sold = count("SELECT IFNULL(SUM(quantity), 0) FROM order_lines WHERE product_id = %d" % p)
        left = stock(p)
        if left < 0:
            raise AssertionError("negative stock")
        eq(sold + left, 40, "product %d: sold + left = initial" % p)
    ok = [plans[i] for i, r in enumerate(res) if r.status == 201]
    eq(len(ok), count("SELECT COUNT(DISTINCT o.id) FROM orders o JOIN order_lines l ON"
                      " l.order_id = o.id WHERE l.product_id IN (%s)"
                      % ",".join(map(str, pids))), "every 201 is one order")


# ---- the PG's returns (Toss) ------------------------------------------------------------------

def test_toss_order_hands_the_payment_window_what_it_needs():
    pid = make_product(price=15000, stock=5)
    s = Session(make_user())
    o = toss_order(s, pid, 2)
    eq(o["status"], "PENDING", "waits for payment")
    eq(stock(pid), 3, "stock held while pending")
    p = o["payment"]
    eq(p["pg"], "toss", "pg")
    eq((p["orderId"], p["amount"]), (o["orderId"], 30000), "orderId and amount")
    eq(p["orderName"], o["orderName"], "orderName")
    if not p["successUrl"].endswith("/checkout/toss/success"):
        raise AssertionError(p["successUrl"])
    if not p["failUrl"].endswith("/checkout/toss/fail"):
        raise AssertionError(p["failUrl"])
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(p["redirectUrl"]).query)
    eq(q["orderId"], [o["orderId"]], "window gets orderId")
    eq(q["amount"], ["30000"], "window gets amount")
    eq(q["successUrl"], [p["successUrl"]], "window gets successUrl")


def test_success_return_moves_to_confirming_once_and_a_replay_shows_the_same_page():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = toss_order(s, pid)
    path = success_path(o["orderId"], 1000)
    r = s.get(path)
    eq(r.status, 200, "order received page")
    if o["orderId"] not in r.text:
        raise AssertionError("the received page names the order")
    # The poller's URL carries the version of the file's content.
    script = '<script src="/static/order-status.js?v=%s"></script>' % static_version(
        "order-status.js")
    if script not in r.text:
        raise AssertionError("the received page loads the current poller: " + r.text[-400:])
    # The payment workers take it from CONFIRMING at once (this made-up paymentKey is
    # refused by the fake PG: FAILED); the return's own work is the CONFIRMING step.
    after_return(o["orderId"])
    eq(jobs(o["orderId"], "payment.confirm"), 1, "one confirm job")
    r2 = s.get(path)
    eq(r2.status, 200, "replay shows the page again")
    eq(jobs(o["orderId"], "payment.confirm"), 1, "still one job")
    eq(events(o["orderId"])[:2], ["PENDING", "CONFIRMING"], "one transition to CONFIRMING")
    eq(events(o["orderId"]).count("CONFIRMING"), 1, "only one")
    api = s.get("/api/v1/orders/" + o["orderId"]).json()
    eq(api["status"], status(o["orderId"]), "the poll sees it")
    eq(api["final"], api["status"] in ("PAID", "FAILED"), "final once decided")
    js = get("/static/order-status.js?v=" + static_version("order-status.js"))
    check_static_file(js, "order-status.js")
    if "/api/v1/orders/" not in js.text:
        raise AssertionError("poller polls the API")
    eq(get("/static/no-such-file.js").header("X-Request-Id"), None, "not passed to jangteo")


def test_tampered_amount_is_refused_and_leaves_the_order_untouched():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = toss_order(s, pid)
    for amount in (1, 999, 1001, 0):
        page_error(s.get(success_path(o["orderId"], amount)), 400)
    eq(order_row(o["orderId"])[:3], ["PENDING", "1000", ""], "untouched")
    eq(jobs(o["orderId"], "payment.confirm"), 0, "no job")


def test_someone_elses_or_unknown_order_on_the_success_url_is_404():
    pid = make_product(price=1000, stock=5)
    owner = Session(make_user())
    thief = Session(make_user())
    o = toss_order(owner, pid)
    page_error(thief.get(success_path(o["orderId"], 1000)), 404)
    envelope(thief.get("/api/v1/orders/" + o["orderId"]), 404, "ORDER_NOT_FOUND")
    envelope(thief.post_json("/api/v1/orders/%s/cancel" % o["orderId"], {}), 404,
             "ORDER_NOT_FOUND")
    page_error(owner.get(success_path("a" * 24, 1000)), 404)
    page_error(owner.get(success_path("../../etc/passwd", 1000)), 404)
    eq(status(o["orderId"]), "PENDING", "untouched")


def test_malformed_success_urls_are_400():
    s = Session(make_user())
    for q in ("", "?orderId=x", "?paymentKey=k&orderId=x", "?paymentKey=k&orderId=x&amount=-5",
              "?paymentKey=k&orderId=x&amount=1e3", "?paymentKey=%00&orderId=x&amount=1",
              "?paymentKey=" + "k" * 201 + "&orderId=x&amount=1"):
        page_error(s.get("/checkout/toss/success" + q), 400)


def test_an_expired_or_paid_order_is_not_confirmed_again():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = toss_order(s, pid)
    sql("UPDATE orders SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE public_id = '%s'"
        % o["orderId"])
    r = s.get(success_path(o["orderId"], 1000))
    eq(r.status, 409, "past its time")
    if "주문서를 접수했습니다" not in r.text or "이미 처리되었거나 만료된 주문입니다" not in r.text:
        raise AssertionError("the refusal shows the order with its timeline: %r" % r.text[:2000])
    eq(jobs(o["orderId"], "payment.confirm"), 0, "no job")
    eventually(lambda: status(o["orderId"]) == "EXPIRED", what="the janitor expires it")
    eq(stock(pid), 5, "stock back")
    eq(s.get(success_path(o["orderId"], 1000)).status, 409, "still refused")

    paid = toss_order(s, pid)
    key = "tpk_" + secrets.token_hex(8)
    eq(s.get(success_path(paid["orderId"], 1000, key)).status, 200, "confirming")
    sql("UPDATE orders SET status = 'PAID' WHERE public_id = '%s'" % paid["orderId"])
    eq(s.get(success_path(paid["orderId"], 1000, key)).status, 200, "same return: same page")
    eq(s.get(success_path(paid["orderId"], 1000)).status, 409, "another key: refused")
    eq(status(paid["orderId"]), "PAID", "still paid")
    eq(jobs(paid["orderId"], "payment.confirm"), 1, "one job")


def test_fail_return_gives_stock_back_once():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = toss_order(s, pid, 3)
    eq(stock(pid), 2, "held")
    path = "/checkout/toss/fail?" + urllib.parse.urlencode(
        {"code": "PAY_PROCESS_CANCELED", "message": "사용자에 의해 결제가 취소되었습니다",
         "orderId": o["orderId"]})
    r = s.get(path)
    eq(r.status, 200, "page")
    eq(status(o["orderId"]), "FAILED", "failed")
    eq(stock(pid), 5, "stock back")
    eq(s.get(path).status, 200, "replay shows the same page")
    eq(stock(pid), 5, "given back once")
    eq(s.get(success_path(o["orderId"], 3000)).status, 409, "no success after failure")
    hostile = "/checkout/toss/fail?" + urllib.parse.urlencode(
        {"code": "<b>x</b>", "message": "<script>x</script>", "orderId": o["orderId"]})
    if "<script>x" in s.get(hostile).text:
        raise AssertionError("PG message echoed unescaped")


def test_shopper_cancels_an_unpaid_order_and_a_paid_one_is_refunded():
    pid = make_product(price=1000, stock=5)
    uid = make_user(points=10000)
    s = Session(uid)
    o = toss_order(s, pid, 2)
    r = s.post_json("/api/v1/orders/%s/cancel" % o["orderId"], {})
    eq(r.status, 200, "cancelled")
    eq(r.json()["status"], "CANCELED", "status")
    eq(stock(pid), 5, "stock back")
    eq(s.post_json("/api/v1/orders/%s/cancel" % o["orderId"], {}).status, 200, "replay ok")
    eq(stock(pid), 5, "once")
    # A paid (points) order's cancel is a full refund, done at once: points and stock back.
    paid = order(s, [(pid, 1)]).json()
    eq(stock(pid), 4, "sold")
    r = s.post_json("/api/v1/orders/%s/cancel" % paid["orderId"], {})
    eq(r.status, 200, "refunded")
    eq(r.json()["status"], "CANCELED", "status")
    eq(r.json()["refund"]["status"], "DONE", "refund done")
    eq(status(paid["orderId"]), "CANCELED", "stored")
    eq(stock(pid), 5, "stock back")


def test_unpaid_orders_expire_and_give_stock_back():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = toss_order(s, pid, 4)
    keep = toss_order(s, pid, 1)
    eq(stock(pid), 0, "all held")
    sql("UPDATE orders SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE public_id = '%s'"
        % o["orderId"])
    eventually(lambda: status(o["orderId"]) == "EXPIRED", what="expired by the janitor")
    eq(stock(pid), 4, "its stock back, the other's still held")
    eq(status(keep["orderId"]), "PENDING", "an order within its time stays")
    eq(events(o["orderId"]), ["PENDING", "EXPIRED"], "timeline")


# ---- pages ------------------------------------------------------------------------------------

# What the checkout form needs besides the key, method and amount: the consent and, with an
# empty address book, the address (test_shipping checks each of them and their messages).
SHIP = {"consent": "1", "recipient": "김장터", "phone": "010-1234-5678", "zipcode": "03925",
        "address1": "서울 마포구 월드컵북로 396"}

def test_checkout_page_orders_the_cart_once_even_when_submitted_twice():
    pid = make_product(price=2000, stock=10)
    uid = make_user(points=50000)
    s = Session(uid)
    redis("HSET", "cart:u:%d" % uid, str(pid), "3")
    page = s.get("/checkout")
    eq(page.status, 200, "checkout page")
    text = page.text
    if "6,000" not in text:
        raise AssertionError("total shown")
    key = text.split('name="checkout_key" value="')[1].split('"')[0]
    form = dict(SHIP, checkout_key=key, pay_method="points", amount="6000")
    r = s.post_form("/checkout", form)
    eq(r.status, 303, "redirect to the order")
    loc = r.header("Location")
    r2 = s.post_form("/checkout", form)
    eq((r2.status, r2.header("Location")), (303, loc), "double submit: the same order")
    eq(stock(pid), 7, "reserved once")
    eq(points(uid), 44000, "charged once")
    eq(redis("HLEN", "cart:u:%d" % uid), "0", "cart emptied")
    detail = s.get(loc)
    eq(detail.status, 200, "order page")
    if ('data-status="PAID"' not in detail.text or "결제완료" not in detail.text or
            'id="timeline"' not in detail.text):
        raise AssertionError("order page shows status (in Korean) and timeline")


def test_checkout_form_refusals_rerender_with_the_reason():
    pid = make_product(price=2000, stock=1)
    uid = make_user(points=1000)
    s = Session(uid)
    redis("HSET", "cart:u:%d" % uid, str(pid), "1")
    key = secrets.token_hex(8)
    r = s.post_form("/checkout", dict(SHIP, checkout_key=key, pay_method="points", amount="2000"))
    eq(r.status, 409, "points short")
    if NO_POINTS_MSG not in r.text:
        raise AssertionError("reason shown")
    r = s.post_form("/checkout", dict(SHIP, checkout_key=key, pay_method="points", amount="1500"))
    eq(r.status, 409, "the price changed under the shopper")
    r = s.post_form("/checkout", dict(SHIP, checkout_key=key, pay_method="bitcoin", amount="2000"))
    eq(r.status, 400, "unknown method")
    if '<p class="field-error" id="pay-error">결제 수단을 선택해 주세요.</p>' not in r.text:
        raise AssertionError("said next to the methods")
    r = s.post_form("/checkout", dict(SHIP, checkout_key=key, pay_method="points", amount="2000"),
                    csrf=False)
    eq(r.status, 403, "CSRF")
    eq(stock(pid), 1, "nothing reserved")
    redis("DEL", "cart:u:%d" % uid)
    r = s.post_form("/checkout", dict(SHIP, checkout_key=secrets.token_hex(8), pay_method="points",
                                      amount="0"))
    eq(r.status, 409, "empty cart")


def test_toss_checkout_through_the_fake_payment_window_is_paid():
    pid = make_product(price=4500, stock=5)
    uid = make_user()
    s = Session(uid)
    redis("HSET", "cart:u:%d" % uid, str(pid), "2")
    r = s.post_form("/checkout", dict(SHIP, checkout_key=secrets.token_hex(8), pay_method="toss",
                                      amount="9000"))
    eq(r.status, 303, "straight to the PG's window")
    url = r.header("Location")
    assert "/toss/fake/checkout?" in url, url
    oid = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["orderId"][0]
    # The order's pay page (for coming back to an unpaid order) links to the same window.
    pay = s.get("/orders/%s/pay" % oid)
    eq(pay.status, 200, "pay page")
    eq(pay.text.split('id="pay-link" href="')[1].split('"')[0].replace("&amp;", "&"), url,
       "the pay page's link")
    # The browser opens the PG's window and the shopper approves (outcome=success skips the
    # window's button): the PG sends the browser back to the shop's success URL.
    back = follow_pg(url, "outcome=success")
    done = s.get(back)
    eq(done.status, 200, "order received")
    oid = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["orderId"][0]
    after_return(oid)
    eq(jobs(oid, "payment.confirm"), 1, "confirm job queued")
    eventually(lambda: status(oid) == "PAID", what="the payment workers confirm it")


def test_my_orders_pages_with_a_cursor_and_refuses_a_forged_one():
    pid = make_product(price=100, stock=100)
    uid = make_user(points=100000)
    s = Session(uid)
    made = [order(s, [(pid, 1)]).json()["orderId"] for _ in range(25)]
    first = s.get("/api/v1/orders").json()
    eq(len(first["orders"]), 20, "page size")
    second = s.get("/api/v1/orders?cursor=" + first["nextCursor"]).json()
    eq(second["nextCursor"], None, "last page")
    seen = [o["orderId"] for o in first["orders"] + second["orders"]]
    eq(seen, list(reversed(made)), "every order once, newest first")
    envelope(s.get("/api/v1/orders?cursor=forged"), 400, "CURSOR_INVALID")
    other = Session(make_user())
    eq(other.get("/api/v1/orders").json()["orders"], [], "only one's own orders")
    page = s.get("/orders")
    eq(page.status, 200, "page")
    if 'id="next"' not in page.text:
        raise AssertionError("next link")


# ---- KakaoPay: the ready call at checkout, the approval return ----------------------------------


def test_kakaopay_checkout_readies_then_the_approval_return_is_paid():
    pid = make_product(price=3300, stock=5)
    s = Session(make_user())
    r = order(s, [(pid, 2)], method="kakaopay")
    eq(r.status, 201, "created: %r" % r.body[:200])
    o = r.json()
    eq(o["status"], "PENDING", "waits for payment")
    tid = order_row(o["orderId"])[2]
    if not tid:
        raise AssertionError("the tid from ready is stored")
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=approve")
    if not back.startswith("/checkout/kakaopay/approve?"):
        raise AssertionError(back)
    eq(s.get(back).status, 200, "order received")
    after_return(o["orderId"])
    payload = sql("SELECT payload FROM outbox WHERE kind = 'payment.confirm' AND payload LIKE"
                  " '%%%s%%'" % o["orderId"])[0][0]
    job = json.loads(payload)
    eq((job["pg"], job["paymentKey"], job["amount"]), ("kakaopay", tid, 6600), "job payload")
    if not job.get("pgToken"):
        raise AssertionError("pg_token handed to the confirm worker")
    eq(s.get(back).status, 200, "replay: same page")
    eq(jobs(o["orderId"], "payment.confirm"), 1, "one job")
    eventually(lambda: status(o["orderId"]) == "PAID", what="the payment workers confirm it")


def test_kakaopay_cancel_return_fails_the_order_and_gives_stock_back():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = order(s, [(pid, 3)], method="kakaopay").json()
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=cancel")
    eq(s.get(back).status, 200, "page")
    eq(status(o["orderId"]), "FAILED", "failed")
    eq(stock(pid), 5, "stock back")
    approve = "/checkout/kakaopay/approve?" + urllib.parse.urlencode(
        {"orderId": o["orderId"], "pg_token": "forged"})
    eq(s.get(approve).status, 409, "no approval after a cancel")
    eq(jobs(o["orderId"], "payment.confirm"), 0, "no job")


def test_kakaopay_ready_failure_is_502_and_gives_stock_back():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    try:
        # libcurl resends a request once when a kept-alive connection dies before answering,
        # so the reset rule covers both tries.
        for rule in ("kakaopay ready status=500 count=1", "kakaopay ready reset count=2",
                     "kakaopay ready badjson count=1"):
            pg_faults(rule + "\n")
            envelope(order(s, [(pid, 2)], method="kakaopay"), 502, "PG_READY_FAILED")
            eq(stock(pid), 5, "stock back after " + rule)
            pg_faults("")
    finally:
        pg_faults("")
    eq(count("SELECT COUNT(*) FROM orders WHERE user_id = %d AND status = 'FAILED'"
             % s.user_id), 3, "each attempt ended FAILED")
    eq(order(s, [(pid, 2)], method="kakaopay").status, 201, "works again")
