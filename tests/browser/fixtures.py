"""fixtures: the people, products and the paid order the browser journeys start from, made in
the stack's stores with the integration helpers (tests/integration/jt.py), and printed as one
JSON object on stdout.

Users get the demo accounts' password hashes (jangteoctl seed-demo, idempotent), so they sign
in with a known password without a sign-up mail; each run makes new ones, so a run never sees
an earlier run's cart or orders. The admin journey's order is paid through the HTTP API and the
fake PG (as tests/integration/test_payments.py does), so that journey does not depend on the
shopper journey. Needs JT_RUN, JT_HTTP_PORT, JT_BUILDDIR (for jangteoctl) in the environment."""
import http.client
import json
import os
import secrets
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))

from jt import (Session, ctl, eq, eventually, make_product, make_seller, order_status,  # noqa: E402
                quote, redis, sql)

DEMO_SHOPPER = ("demo@jangteo.test", "demo-pass-1234")
DEMO_ADMIN = ("admin@jangteo.test", "admin-pass-1234")


def user_like(demo_email, role, name):
    """A new active user whose password is the demo account's; returns (id, email)."""
    email = "browser-%s-%s@jangteo.test" % (role, secrets.token_hex(5))
    rows = sql("INSERT INTO users (email, password_hash, name, role, status, points)"
               " SELECT %s, password_hash, %s, '%s', 'active', 0 FROM users WHERE email = %s;"
               " SELECT id FROM users WHERE email = %s"
               % (quote(email), quote(name), role, quote(demo_email), quote(email)))
    if not rows:
        raise SystemExit("fixtures: no demo account %s after seed-demo" % demo_email)
    return int(rows[-1][0]), email


def pay_toss(user_id, pid, qty):
    """An order of qty units of pid paid with Toss at the fake PG; returns its public id."""
    s = Session(user_id)
    r = s.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": qty}],
                                       "paymentMethod": "toss"})
    eq(r.status, 201, "order created: %r" % r.body[:300])
    o = r.json()
    u = urllib.parse.urlsplit(o["payment"]["redirectUrl"])
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + "?" + u.query + "&outcome=success")
    back = c.getresponse()
    back.read()
    eq(back.status, 302, "the fake PG sends the browser back")
    ret = urllib.parse.urlsplit(back.getheader("Location"))
    eq(s.get(ret.path + "?" + ret.query).status, 200, "the shop's return page")
    oid = o["orderId"]
    eventually(lambda: order_status(oid) == "PAID", timeout=30.0,
               what="order %s PAID (now %s)" % (oid, order_status(oid)))
    return oid


def main():
    rc, out = ctl("seed-demo")
    if rc != 0:
        raise SystemExit("fixtures: jangteoctl seed-demo failed: %s" % out)
    tag = secrets.token_hex(3)
    seller = make_seller("브라우저판매자")
    # The shopper's product comes from a seller with its own shipping rule (the test stack's
    # shop rule is free shipping): 3,000 won a parcel, free from 30,000 won. The admin
    # journey's seller keeps the shop's, so its refunds are the goods alone.
    farm = make_seller("브라우저농원")
    sql("UPDATE sellers SET shipping_fee = 3000, free_shipping_over = 30000 WHERE id = %d"
        % farm)
    shopper_id, shopper_email = user_like(DEMO_SHOPPER[0], "shopper", "김브라우저")
    phone_id, phone_email = user_like(DEMO_SHOPPER[0], "shopper", "최모바일")
    admin_id, admin_email = user_like(DEMO_ADMIN[0], "admin", "박관리")
    buy = make_product(price=12300, stock=10, name="브라우저 테스트 감귤 " + tag, seller_id=farm)
    sql("UPDATE products SET list_price = 15000 WHERE id = %d" % buy)
    sql("INSERT INTO product_images (product_id, position, url, alt) VALUES"
        " (%d, 0, '/static/products/gamgyul-1.svg', '나무 상자에 담긴 감귤'),"
        " (%d, 1, '/static/products/gamgyul-2.svg', '감귤 한 알')" % (buy, buy))
    adjust = make_product(price=7700, stock=5, name="브라우저 테스트 재고 " + tag, seller_id=seller)
    refund = make_product(price=4500, stock=10, name="브라우저 테스트 환불 " + tag,
                          seller_id=seller)
    # The admin journey runs at two widths: each has its own product to adjust and order to
    # refund, so the second run starts from the same state as the first.
    adjust_phone = make_product(price=7700, stock=5, name="브라우저 테스트 재고(폰) " + tag,
                                seller_id=seller)
    refund_phone = make_product(price=4500, stock=10, name="브라우저 테스트 환불(폰) " + tag,
                                seller_id=seller)
    # New products behind the catalog cache's back: invalidate it as the admin code does
    # (catalog_invalidate), so the product list shows them.
    redis("INCR", "catalog:version")
    buyer_id, _ = user_like(DEMO_SHOPPER[0], "shopper", "이환불")
    refund_order = pay_toss(buyer_id, refund, 3)
    refund_order_phone = pay_toss(buyer_id, refund_phone, 3)
    # The admin journey ships these orders' parcels on /admin/fulfilment (one per width) and
    # marks them delivered.
    ship = make_product(price=3300, stock=10, name="브라우저 테스트 배송 " + tag, seller_id=seller)
    ship_order = pay_toss(buyer_id, ship, 1)
    ship_order_phone = pay_toss(buyer_id, ship, 1)
    json.dump({
        "shopper": {"id": shopper_id, "email": shopper_email, "password": DEMO_SHOPPER[1]},
        "shopperPhone": {"id": phone_id, "email": phone_email, "password": DEMO_SHOPPER[1]},
        "admin": {"id": admin_id, "email": admin_email, "password": DEMO_ADMIN[1]},
        "product": {"id": buy, "name": "브라우저 테스트 감귤 " + tag, "price": 12300, "stock": 10,
                    "listPrice": 15000, "freeOver": 30000},
        "adjust": {"id": adjust, "name": "브라우저 테스트 재고 " + tag, "stock": 5},
        "refund": {"orderId": refund_order, "productId": refund, "unitPrice": 4500,
                   "quantity": 3, "pg": "toss"},
        "adjustPhone": {"id": adjust_phone, "name": "브라우저 테스트 재고(폰) " + tag, "stock": 5},
        "refundPhone": {"orderId": refund_order_phone, "productId": refund_phone,
                        "unitPrice": 4500, "quantity": 3, "pg": "toss"},
        "ship": {"orderId": ship_order, "sellerId": seller},
        "shipPhone": {"orderId": ship_order_phone, "sellerId": seller},
    }, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
