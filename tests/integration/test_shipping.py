"""Shipping fees (issue 15), the money path end to end: each seller's parcel pays that seller's
fee unless its goods reach the free-shipping threshold; the fee is in the order's amount (the
PG or the points are charged it, the paid posting carries it), it belongs to the seller who
ships (settlement adds it to their gross, commission included), a full cancel gives it back and
takes it back from the seller, a refund of chosen lines does not. The checkout page quotes the
same fees it charges, asks for an address, a payment method and the consent, and sends a PG
order straight into the PG's window. ledger-check runs after this file (run.py)."""
import re
import secrets
import urllib.parse

from jt import (Session, count, ctl, envelope, eq, eventually, follow_pg, make_product,
                make_user, quote, request, sql)
from jt import order_status as status

DEFAULT_BP = 1000


def seller(fee=None, free_over=None, bp=None):
    """A fresh seller with its own shipping rule (None: the shop's, which is 0 in tests)."""
    name = "ship-%s" % secrets.token_hex(5)
    sql("INSERT INTO sellers (name, commission_bp, shipping_fee, free_shipping_over) VALUES"
        " (%s, %s, %s, %s)" % (quote(name), "NULL" if bp is None else bp,
                               "NULL" if fee is None else fee,
                               "NULL" if free_over is None else free_over))
    return int(sql("SELECT id FROM sellers WHERE name = %s" % quote(name))[0][0])


def balance(code):
    rows = sql("SELECT kind, debits_posted, credits_posted FROM ledger_accounts WHERE code = %s"
               % quote(code))
    if not rows:
        return 0
    kind, d, c = rows[0][0], int(rows[0][1]), int(rows[0][2])
    return d - c if kind in ("asset", "expense") else c - d


def settlements(ref):
    return [tuple(int(x) for x in r) for r in sql(
        "SELECT seller_id, gross, commission, net FROM settlements WHERE ref = %s"
        " ORDER BY seller_id" % quote(ref))]


def fees_of(oid):
    return {int(r[0]): int(r[1]) for r in sql(
        "SELECT d.seller_id, d.shipping_fee FROM order_deliveries d JOIN orders o ON"
        " o.id = d.order_id WHERE o.public_id = %s" % quote(oid))}


def order_row(oid):
    r = sql("SELECT status, amount, refunded_amount FROM orders WHERE public_id = %s"
            % quote(oid))[0]
    return r[0], int(r[1]), int(r[2])


def commission(gross, bp=DEFAULT_BP):
    return gross * bp // 10000


def test_each_sellers_parcel_pays_its_fee_and_the_seller_gets_it():
    a = seller(fee=3000, free_over=30000)        # over the threshold: free
    b = seller(fee=2500, free_over=30000, bp=500)  # under it: pays
    c = seller()                                  # the shop's rule (0 in tests): free
    pa = make_product(price=35000, stock=10, seller_id=a)
    pb = make_product(price=5000, stock=10, seller_id=b)
    pc = make_product(price=1200, stock=10, seller_id=c)
    # The product page states the fee of one under its seller's rule.
    for pid, want in [(pa, "<dd>무료배송</dd>"),
                      (pb, '<dd>2,500원 <span class="muted">(30,000원 이상 구매 시 무료)</span>'),
                      (pc, "<dd>무료배송</dd>")]:
        assert "<dt>배송비</dt>" + want in request("GET", "/products/%d" % pid).text, (pid, want)
    d = seller(fee=3500)                          # its fee, the shop's threshold
    pd = make_product(price=20000, stock=1, seller_id=d)
    assert "<dt>배송비</dt><dd>3,500원 <span" in request("GET", "/products/%d" % pd).text
    uid = make_user(points=200000)
    s = Session(uid)
    lines = [{"id": pa, "quantity": 1}, {"id": pb, "quantity": 1}, {"id": pc, "quantity": 1}]
    # The API quotes the same rule: the goods alone are not the amount any more.
    envelope(s.post_json("/api/v1/orders", {"products": lines, "paymentMethod": "points",
                                            "paymentAmount": 41200}), 409, "AMOUNT_MISMATCH")
    r = s.post_json("/api/v1/orders", {"products": lines, "paymentMethod": "points",
                                       "paymentAmount": 43700})
    eq(r.status, 201, "ordered: %r" % r.body[:200])
    oid = r.json()["orderId"]
    eq(order_row(oid), ("PAID", 43700, 0), "goods 41,200 + b's fee 2,500")
    eq(fees_of(oid), {a: 0, b: 2500, c: 0}, "one parcel per seller, its fee")
    eq(int(sql("SELECT points FROM users WHERE id = %d" % uid)[0][0]), 200000 - 43700, "charged")
    legs = sql("SELECT t.amount FROM ledger_transfers t WHERE t.posting_id = %s"
               % quote("paid:" + oid))
    eq([int(x[0]) for x in legs], [43700], "the paid posting carries the fee")
    eventually(lambda: len(settlements(oid)) == 3, timeout=30, what="settled")
    eq(settlements(oid), [(a, 35000, commission(35000), 35000 - commission(35000)),
                          (b, 7500, commission(7500, 500), 7500 - commission(7500, 500)),
                          (c, 1200, commission(1200), 1200 - commission(1200))],
       "b's gross is its goods and its fee")
    eq(balance("seller_payable:%d" % b), 7500 - commission(7500, 500), "b's wallet")

    # A refund of chosen lines keeps the fee (b's parcel... is the line itself here, but the
    # shopper asked for lines, not for everything).
    r = s.post_json("/api/v1/orders/%s/refunds" % oid, {"lines": [{"productId": pb, "quantity": 1}]})
    eq(r.status, 200, "points refund done at once: %r" % r.body[:200])
    eq(r.json()["amount"], 5000, "the goods only")
    eq(order_row(oid), ("PARTIALLY_CANCELED", 43700, 5000), "fee kept")
    # The full cancel of the rest gives back everything left, b's fee included.
    r = s.post_json("/api/v1/orders/%s/cancel" % oid, {})
    eq(r.status, 200, "cancelled: %r" % r.body[:200])
    eq(r.json()["refund"]["amount"], 38700, "35,000 + 1,200 + b's fee 2,500")
    eq(order_row(oid), ("CANCELED", 43700, 43700), "all back")
    eq(int(sql("SELECT points FROM users WHERE id = %d" % uid)[0][0]), 200000, "points back")
    # Settlement takes back from each seller exactly what was refunded for their parcel, and
    # every wallet returns to 0 (the commission of the fee reversed with it).
    rids = [x[0] for x in sql("SELECT r.public_id FROM refunds r JOIN orders o ON"
                              " o.id = r.order_id WHERE o.public_id = %s ORDER BY r.id"
                              % quote(oid))]
    eventually(lambda: all(settlements(x) for x in rids), timeout=30, what="refunds settled")
    eq([g for _, g, _, _ in settlements(rids[0])], [5000], "first refund: b's line")
    eq(sorted((sid, g) for sid, g, _, _ in settlements(rids[1])),
       sorted([(a, 35000), (b, 2500), (c, 1200)]), "second: a's and c's goods, b's fee")
    for sid in (a, b, c):
        eq(balance("seller_payable:%d" % sid), 0, "seller %d's wallet back to 0" % sid)
    rc, out = ctl("ledger-check")
    eq(rc, 0, "ledger-check: " + out)


def test_the_checkout_page_quotes_asks_and_goes_straight_to_the_pg():
    a = seller(fee=3000, free_over=30000)
    p = make_product(price=12000, stock=10, seller_id=a)
    uid = make_user(points=0)
    s = Session(uid)
    from jt import redis
    redis("HSET", "cart:u:%d" % uid, str(p), "2")
    page = s.get("/checkout")
    eq(page.status, 200, "checkout")
    text = page.text
    for want in ['<span id="goods">24,000</span>원', '<span id="fees">3,000</span>원',
                 '<strong id="total">27,000</strong>원', 'name="amount" value="27000"',
                 "6,000원어치 더 담으면 무료배송", "novalidate"]:
        assert want in text, (want, text)
    # Nothing is chosen for the shopper: no method checked, no consent ticked.
    assert not re.search(r'name="pay_method" value="[a-z]+" checked', text), "no method chosen"
    assert 'id="consent" checked' not in text
    csp = page.header("Content-Security-Policy")
    assert "form-action 'self' http://127.0.0.1:" in csp, csp
    key = text.split('name="checkout_key" value="')[1].split('"')[0]
    base = {"checkout_key": key, "amount": "27000"}
    r = s.post_form("/checkout", base)
    eq(r.status, 400, "nothing chosen")
    for field, msg in [("pay", "결제 수단을 선택해 주세요."),
                       ("consent", "주문 내용을 확인하고 결제 진행에 동의해 주세요."),
                       ("recipient", "받는 분 이름을 1~20자로 입력해 주세요."),
                       ("zipcode", "우편번호 5자리 숫자를 입력해 주세요.")]:
        assert '<p class="field-error" id="%s-error">%s</p>' % (field, msg) in r.text, \
            (field, r.text)
    eq(count("SELECT COUNT(*) FROM orders WHERE user_id = %d" % uid), 0, "no order")
    full = dict(base, pay_method="toss", consent="1", recipient="김장터", phone="010 1234 5678",
                zipcode="03925", address1="서울 마포구 월드컵북로 396", address2="10층",
                memo="<b>문 앞</b>")
    r = s.post_form("/checkout", dict(full, amount="24000"))
    eq(r.status, 409, "the shopper saw another amount")
    assert 'value="김장터"' in r.text and 'value="toss" checked' in r.text, "choices kept"
    r = s.post_form("/checkout", full)
    eq(r.status, 303, "to the PG")
    loc = r.header("Location")
    assert loc.startswith("http://127.0.0.1:") and "/toss/fake/checkout?" in loc, loc
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    eq(q["amount"], ["27000"], "the PG is asked for the goods and the fee")
    oid = q["orderId"][0]
    eq(order_row(oid)[1], 27000, "order amount")
    eq(sql("SELECT recipient, phone, zipcode, memo FROM order_addresses a JOIN orders o ON"
           " o.id = a.order_id WHERE o.public_id = %s" % quote(oid)),
       [["김장터", "010-1234-5678", "03925", "<b>문 앞</b>"]], "the address it ships to")
    eq(count("SELECT COUNT(*) FROM addresses WHERE user_id = %d AND is_default = 1" % uid), 1,
       "kept in the book as the default")
    eq(redis("HLEN", "cart:u:%d" % uid), "1", "the cart stays until the PG says yes")
    back = follow_pg(loc, "outcome=success")
    eq(s.get(back).status, 200, "received")
    eq(redis("HLEN", "cart:u:%d" % uid), "0", "bought: out of the cart")
    eventually(lambda: status(oid) == "PAID", timeout=30, what="PAID")
    eventually(lambda: len(settlements(oid)) == 1, timeout=30, what="settled")
    eq(settlements(oid)[0][1], 27000, "the seller's gross includes the fee")
    page = s.get("/orders/" + oid).text
    for want in ['<dd id="fees">3,000원</dd>', '<dd id="goods">24,000원</dd>',
                 "[03925] 서울 마포구 월드컵북로 396 10층", "&lt;b&gt;문 앞&lt;/b&gt;"]:
        assert want in page, (want, page)
    # Now the book has an address: the page offers it, checked.
    redis("HSET", "cart:u:%d" % uid, str(p), "3")
    text = s.get("/checkout").text
    assert re.search(r'name="address_id" value="\d+" checked', text), text
    assert "무료배송" in text and '<strong id="total">36,000</strong>원' in text, "free over 30,000"
