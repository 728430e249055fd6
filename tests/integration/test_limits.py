"""Amounts past the domain's limit (issue 16 item 2): an order total above 10^15 won (the
MONEY_MAX that sql/'s CHECK constraints hold) used to reach the database and come back as a
500. Every such total, price, stock or payout is now refused before anything is written, with
a Korean message (the envelope on the API, the page on forms)."""
import re
import secrets

from jt import (Session, count, envelope, eq, make_product, make_seller, make_user, redis,
                stock)
from test_admin import admin, page, refused

MONEY_MAX = 10 ** 15
MSG_TOO_LARGE = "주문 금액이 너무 큽니다."


def orders_of(uid):
    return count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid)


def api_order(sess, lines, method):
    return sess.post_json("/api/v1/orders", {
        "products": [{"id": p, "quantity": q} for p, q in lines], "paymentMethod": method})


def test_an_api_order_above_the_limit_is_422_and_writes_nothing():
    top = make_product(price=MONEY_MAX, stock=10)
    big = make_product(price=6 * 10 ** 14, stock=10)
    half = make_product(price=5 * 10 ** 14, stock=10)
    uid = make_user(points=MONEY_MAX)
    s = Session(uid)
    outbox = count("SELECT COUNT(*) FROM outbox")
    for lines in ([(top, 2)], [(big, 1), (half, 1)], [(top, 1), (half, 1)], [(top, 99)]):
        for method in ("toss", "kakaopay", "points"):
            r = api_order(s, lines, method)
            eq(envelope(r, 422, "AMOUNT_TOO_LARGE"), MSG_TOO_LARGE, "%r %s" % (lines, method))
    r = s.post_json("/api/v1/orders", {"products": [{"id": top, "quantity": 2}],
                                       "paymentMethod": "toss", "paymentAmount": 2 * MONEY_MAX})
    envelope(r, 400, "PAYMENT_AMOUNT_INVALID")
    eq(orders_of(uid), 0, "no order")
    eq((stock(top), stock(big), stock(half)), (10, 10, 10), "nothing reserved")
    eq(count("SELECT points FROM users WHERE id = %d" % uid), MONEY_MAX, "no points spent")
    eq(count("SELECT COUNT(*) FROM outbox"), outbox, "no job")
    # Exactly the limit is an order like any other.
    r = api_order(s, [(half, 2)], "toss")
    eq(r.status, 201, "10^15 won: %r" % r.body[:200])
    eq(count("SELECT amount FROM orders WHERE user_id = %d" % uid), MONEY_MAX, "amount")


def test_a_checkout_form_above_the_limit_is_a_korean_422_page_and_writes_nothing():
    pid = make_product(price=MONEY_MAX, stock=10)
    uid = make_user(points=0)
    s = Session(uid)
    redis("HSET", "cart:u:%d" % uid, str(pid), "3")
    r = s.get("/checkout")
    eq(r.status, 200, "the checkout page renders")
    m = re.search(r'<p class="[^"]*" id="error"[^>]*>([^<]*)</p>', r.text)
    eq(m and m.group(1), MSG_TOO_LARGE, "said before the submit")
    for method in ("toss", "points"):
        r = s.post_form("/checkout", {"checkout_key": secrets.token_hex(8), "pay_method": method,
                                      "amount": str(3 * MONEY_MAX), "consent": "1",
                                      "recipient": "김장터", "phone": "010-1234-5678",
                                      "zipcode": "03925", "address1": "서울 마포구 월드컵북로 396"})
        eq(r.status, 422, "status")
        assert (r.header("Content-Type") or "").startswith("text/html"), r.headers
        m = re.search(r'<p class="[^"]*" id="error"[^>]*>([^<]*)</p>', r.text)
        eq(m and m.group(1), MSG_TOO_LARGE, "Korean reason")
    eq(orders_of(uid), 0, "no order")
    eq(stock(pid), 10, "nothing reserved")
    eq(redis("HGET", "cart:u:%d" % uid, str(pid)), "3", "the cart is kept")


def test_admin_price_and_stock_above_the_limits_are_refused_in_korean():
    a = admin()
    sid = make_seller("limits-" + secrets.token_hex(3))
    before = count("SELECT COUNT(*) FROM products")
    for price in (str(MONEY_MAX + 1), "9223372036854775807", "9223372036854775808",
                  "1" + "0" * 40):
        text = refused(a, a.post_form("/admin/products", {"seller_id": str(sid),
                                                          "name": "한도 상품", "price": price}),
                       400)
        m = re.search(r'<p class="[^"]*" id="error"[^>]*>([^<]*)</p>', text)
        eq(m and m.group(1), "가격은 1원 이상 1,000,000,000,000,000원 이하의 정수로 입력해 주세요.",
           "price %s" % price)
    text = refused(a, a.post_form("/admin/products", {"seller_id": str(sid), "name": "한도 상품",
                                                      "price": "1000", "stock": "1000000001"}),
                   400)
    assert "재고는 0 이상 1,000,000,000 이하" in text, text
    eq(count("SELECT COUNT(*) FROM products"), before, "nothing created")

    pid = make_product(price=1000, stock=999999999, seller_id=sid)
    path = "/admin/products/%d" % pid
    refused(a, a.post_form(path, {"seller_id": str(sid), "name": "한도 상품 2",
                                  "price": str(MONEY_MAX + 1)}), 400)
    eq(count("SELECT price FROM products WHERE id = %d" % pid), 1000, "the edit changed nothing")
    for delta in ("2", "1000000001", "99999999999999999999"):
        text = refused(a, a.post_form(path + "/stock", {"delta": delta, "reason": "한도"}), 400)
        assert "1,000,000,000" in text, text
    eq(stock(pid), 999999999, "the adjustments changed nothing")
    eq(count("SELECT COUNT(*) FROM stock_adjustments WHERE product_id = %d" % pid), 0,
       "no adjustment row")
