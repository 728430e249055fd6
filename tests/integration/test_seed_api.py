"""Seed 002's client, driven exactly as the seed's README documents its API (paths, bodies,
keys, Korean messages), against the running stack: balance, idempotent charge, product,
order with the client's names and amount, popular products.

What a seed client must do beyond the README, and why (docs/API.md lists it too): sign in
first (the seed had no accounts; here every user's data is private) and send the session's
CSRF token with a state change; ask for JSON with Accept: application/json on the two paths
that also serve pages (/products/{id}, /products/popular). Bodies are single objects: the
README shows each inside [ ] as a documentation habit, and the seed's controllers read one
object."""
import email
import email.policy
import itertools
import os
import re
import secrets
import time

from jt import RUN, envelope, eq, make_product, post_json, request, sql

SEED_JSON = {"Accept": "application/json"}
PASSWORD = "seed-pass-1234"
_seq = itertools.count(1)


class SeedClient:
    """A seed 002 client: JSON in and out, with the one cookie and CSRF token a signed-in
    session needs."""

    def __init__(self):
        self.sid = None

    def send(self, method, path, body=None, headers=None, csrf=False):
        h = dict(SEED_JSON)
        h.update(headers or {})
        if csrf:
            h["X-CSRF-Token"] = self.csrf()  # may open the session: before the cookie
        if self.sid:
            h["Cookie"] = "jt_sid=" + self.sid
        r = request(method, path, body=body, headers=h)
        m = re.match(r"jt_sid=([^;]*)", r.header("Set-Cookie") or "")
        if m:
            self.sid = m.group(1) or None
        return r

    def csrf(self):
        r = self.send("GET", "/api/v1/csrf")
        eq(r.status, 200, "csrf")
        return r.json()["csrf_token"]

    def get(self, path):
        return self.send("GET", path)

    def post(self, path, body, **headers):
        return self.send("POST", path, body=body, headers=headers, csrf=True)


def mail_code(addr):
    """The sign-up code the SMTP sink received for addr."""
    for _ in range(100):
        for name in sorted(os.listdir(os.path.join(RUN, "mail")), key=lambda n: int(n[:-4])):
            with open(os.path.join(RUN, "mail", name), "rb") as f:
                raw = f.read()
            if raw.startswith(("X-Envelope-To: %s\r\n" % addr).encode()):
                m = email.message_from_bytes(raw, policy=email.policy.default)
                code = re.search(r"인증번호는 (\d{6}) 입니다", m.get_content())
                if code:
                    return code.group(1)
        time.sleep(0.1)
    raise AssertionError("no sign-up mail to %s" % addr)


def signed_up(name="김테스트"):
    """A new shopper signed up and signed in through the API; returns (client, user id)."""
    c = SeedClient()
    addr = "seed-%d-%d-%d@example.test" % (os.getpid(), next(_seq), time.time_ns() % 10 ** 9)
    r = c.post("/api/v1/signup", {"email": addr, "name": name, "password": PASSWORD,
                                  "password_confirm": PASSWORD})
    eq(r.status, 202, "sign-up: %r" % r.body[:200])
    eq(c.post("/api/v1/signup/verify", {"email": addr, "code": mail_code(addr)}).status, 200,
       "verify")
    me = c.get("/api/v1/me")
    eq(me.status, 200, "me")
    return c, int(me.json()["id"])


def test_the_seeds_client_works_unchanged_from_balance_to_popular():
    c, uid = signed_up()
    sql("UPDATE users SET phone = '010-1234-4112' WHERE id = %d" % uid)
    tag = secrets.token_hex(3)
    salad = [make_product(price=price, stock=10, name="%s 샐러드 %s" % (kind, tag))
             for kind, price in (("양배추", 2000), ("단호박", 2500), ("버섯", 3000))]

    # GET /api/v1/users/{userId}: userId, name, hpNo, amount (ours a number; its text is
    # amountText).
    r = c.get("/api/v1/users/%d" % uid)
    eq(r.status, 200, "balance")
    doc = r.json()
    eq({k: doc[k] for k in ("userId", "name", "hpNo", "amount", "amountText")},
       {"userId": uid, "name": "김테스트", "hpNo": "010-1234-4112", "amount": 0,
        "amountText": "0"}, "seed keys")
    eq(envelope(c.get("/api/v1/users/%d" % (uid + 1)), 404, "USER_NOT_FOUND"),
       "존재하지 않는 유저입니다.", "anyone else is the seed's 404")

    # POST /api/v1/users/{userId}/charge with Idempotency-Key and {"chargeAmount"}.
    key = "seed-" + tag
    r = c.post("/api/v1/users/%d/charge" % uid, {"chargeAmount": 50000}, **{"Idempotency-Key": key})
    eq((r.status, r.json()["amount"], r.json()["amountText"]), (200, 50000, "50,000"), "charged")
    again = c.post("/api/v1/users/%d/charge" % uid, {"chargeAmount": 50000},
                   **{"Idempotency-Key": key})
    eq((again.status, again.body), (200, r.body), "the same key replays the same answer")
    for body, headers, msg in [
            ({"chargeAmount": 999}, {"Idempotency-Key": key + "a"}, "최소 충전 금액은 1,000원 입니다."),
            ({"chargeAmount": 1000001}, {"Idempotency-Key": key + "b"},
             "최대 충전 금액은 1,000,000원 입니다."),
            ({"chargeAmount": 5000}, {}, "멱등성 키가 누락되었습니다.")]:
        r = c.post("/api/v1/users/%d/charge" % uid, body, **headers)
        eq((r.status, r.json()["error"]["message"]), (400, msg), "seed error %r" % msg)

    # GET /products/{productId}: {"id", "name", "price", "stock"}; 400 for a bad number.
    r = c.get("/products/%d" % salad[0])
    eq(r.json(), {"id": salad[0], "name": "양배추 샐러드 " + tag, "price": 2000, "stock": 10},
       "seed product")
    eq(envelope(c.get("/products/abc"), 400, "INVALID_PRODUCT_ID"), "잘못된 상품 번호입니다.",
       "seed 400")

    # POST /api/v1/orders in the seed's body.
    def body(amount, names=None):
        names = names or ["양배추 샐러드 " + tag, "단호박 샐러드 " + tag, "버섯 샐러드 " + tag]
        return {"id": 1, "user_id": uid, "paymentAmount": amount,
                "products": [{"id": salad[0], "name": names[0], "quantity": 2},
                             {"id": salad[1], "name": names[1], "quantity": 2},
                             {"id": salad[2], "name": names[2], "quantity": 1}]}

    r = c.post("/api/v1/orders", body(12000))
    eq(r.status, 201, "ordered: %r" % r.body[:300])
    order_id = r.json()["orderId"]
    if not isinstance(order_id, str) or not order_id:
        raise AssertionError("orderId is a string, as the seed's: %r" % order_id)
    eq((r.json()["status"], r.json()["amount"]), ("PAID", 12000), "paid with points")
    eq(c.get("/api/v1/users/%d" % uid).json()["amount"], 38000, "points spent")
    # The seed's refusals, with its messages; the shop's checks of what the client showed.
    eq(envelope(c.post("/api/v1/orders", body(12000, ["양배추 샐러드", "단호박 샐러드 " + tag,
                                                      "버섯 샐러드 " + tag])), 409,
                "PRODUCT_CHANGED")[:14], "상품 정보가 변경되었습니다", "a name that changed")
    envelope(c.post("/api/v1/orders", body(10000)), 409, "AMOUNT_MISMATCH")
    big = dict(body(12000 * 4))
    big["products"] = [dict(p, quantity=p["quantity"] * 4) for p in big["products"]]
    eq(envelope(c.post("/api/v1/orders", big), 409, "INSUFFICIENT_POINTS"), "결제 금액이 부족합니다.",
       "seed 409 points")
    gone = dict(body(12000))
    gone["products"] = [{"id": 9223372036854775807, "name": "없는 상품", "quantity": 1}]
    eq(envelope(c.post("/api/v1/orders", gone), 404, "PRODUCT_NOT_FOUND"),
       "해당 상품이 존재하지 않습니다.", "seed 404 product")
    c.post("/api/v1/users/%d/charge" % uid, {"chargeAmount": 100000},
           **{"Idempotency-Key": key + "c"})
    sql("UPDATE stock SET available = 0 WHERE product_id = %d" % salad[2])
    eq(envelope(c.post("/api/v1/orders", body(12000)), 409, "SOLD_OUT"),
       "품절된 상품이 존재합니다.", "seed 409 sold out")
    sql("UPDATE stock SET available = 9 WHERE product_id = %d" % salad[2])
    other = dict(body(12000))
    other["user_id"] = uid + 1
    envelope(c.post("/api/v1/orders", other), 403, "FORBIDDEN")

    # GET /products/popular: [{"id", "name", "sale_count"}], the top 5 of the last 3 days.
    # Far more sales than any other test makes put these salads in the top 5.
    try:
        for pid, qty in zip(salad, (10 ** 13, 9 * 10 ** 12, 8 * 10 ** 12)):
            sql("INSERT INTO sales_daily (product_id, day, quantity) VALUES"
                " (%d, CURRENT_DATE() - INTERVAL 1 DAY, %d)" % (pid, qty))
        eq(post_json("/api/v1/_test/catalog/invalidate", {}).status, 200, "invalidate")
        top = c.get("/products/popular").json()
        eq(top[:3], [{"id": salad[0], "name": "양배추 샐러드 " + tag, "sale_count": 10 ** 13 + 2},
                     {"id": salad[1], "name": "단호박 샐러드 " + tag, "sale_count": 9 * 10 ** 12 + 2},
                     {"id": salad[2], "name": "버섯 샐러드 " + tag, "sale_count": 8 * 10 ** 12 + 1}],
           "the order's units count")
        eq(len(top) <= 5, True, "at most five")
    finally:
        sql("DELETE FROM sales_daily WHERE product_id IN (%s) AND day < CURRENT_DATE()"
            % ",".join(map(str, salad)))
        post_json("/api/v1/_test/catalog/invalidate", {})
