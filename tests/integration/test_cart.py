"""Cart: guests' and users' carts over HTTP (page, forms and /api/v1/cart), totals priced
from the database, the merge at sign-in, CSRF, unknown and inactive products, bad
quantities and bodies, the line limit, concurrent adds, one browser never reaching another's
cart, and Redis being down.

Products are inserted with SQL; users are made through the real sign-up (the code read from
the SMTP sink's mail), so the merge runs through the real sess_login."""
import email
import email.policy
import glob
import itertools
import os
import re
import subprocess
import threading
import time
import urllib.parse

from jt import RUN, envelope, eq, eventually, get, request, sql, stack

TAG = "%x" % int(time.time() * 1000)
MSG_NO_PRODUCT = "해당 상품이 존재하지 않습니다."
MSG_BAD_ID = "잘못된 상품 번호입니다."
MSG_QTY_MISSING = "수량이 누락되었습니다."
MSG_CSRF = "보안 토큰이 올바르지 않습니다. 페이지를 새로고침한 뒤 다시 시도해 주세요."
CSRF_CODE = "CSRF_TOKEN_INVALID"
PASSWORD = "secret-pass-1234"
EMPTY = {"lines": [], "total": 0, "totalQuantity": 0}

_seq = itertools.count(1)
ABSENT = object()


def conf_int(key, default):
    """A number of the stack's config (environment override, file, documented default)."""
    env = os.environ.get("JANGTEO_" + key.replace(".", "_").upper())
    if env is not None:
        return int(env)
    with open(os.path.join(RUN, "jangteo.conf")) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == key:
                return int(v.strip())
    return default


MAX_QTY = conf_int("cart.max_quantity", 99)
MAX_LINES = conf_int("cart.max_lines", 30)
MSG_QTY_ADD = "수량은 1~%d 사이의 정수여야 합니다." % MAX_QTY
MSG_QTY_SET = "수량은 0~%d 사이의 정수여야 합니다." % MAX_QTY
MSG_FULL = "장바구니에는 최대 %d종류의 상품을 담을 수 있습니다." % MAX_LINES


def redis(*args):
    return subprocess.run(["redis-cli", "-s", os.path.join(RUN, "redis.sock")] + list(args),
                          check=True, stdout=subprocess.PIPE).stdout.decode("utf-8").strip()


def q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def seller():
    name = "장바구니-판매자-" + TAG
    sql("INSERT INTO sellers (name) VALUES (%s) ON DUPLICATE KEY UPDATE name = name" % q(name))
    return int(sql("SELECT id FROM sellers WHERE name = %s" % q(name))[0][0])


def product(name=None, price=1000, stock=10, active=1):
    """Inserts a product with its stock row; returns its id."""
    if name is None:
        name = "장바구니-상품-%s-%d" % (TAG, next(_seq))
    sid = seller()
    sql("INSERT INTO products (seller_id, name, description, price, active) VALUES"
        " (%d, %s, '설명', %d, %d)" % (sid, q(name), price, active))
    pid = int(sql("SELECT id FROM products WHERE seller_id = %d AND name = %s"
                  % (sid, q(name)))[0][0])
    sql("INSERT INTO stock (product_id, available) VALUES (%d, %d)" % (pid, stock))
    return pid


def missing_id():
    return int(sql("SELECT COALESCE(MAX(id), 0) + 1000000 FROM products")[0][0])


def line(pid, name, price, qty, available, active=True):
    if not active:
        price = 0
    return {"productId": pid, "name": name, "unitPrice": price, "quantity": qty,
            "lineAmount": price * qty, "available": available, "active": active}


def cart_of(lines):
    live = [l for l in lines if l["active"]]
    return {"lines": lines, "total": sum(l["lineAmount"] for l in live),
            "totalQuantity": sum(l["quantity"] for l in live)}


class Browser:
    """A client that keeps the session cookie like a browser and knows its CSRF token."""

    COOKIE = "jt_sid"

    def __init__(self):
        self.sid = None

    def send(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.sid:
            h["Cookie"] = "%s=%s" % (self.COOKIE, self.sid)
        r = request(method, path, body=body, headers=h)
        sc = r.header("Set-Cookie")
        if sc:
            m = re.match(r"%s=([^;]*)" % self.COOKIE, sc)
            if m:
                self.sid = m.group(1) or None
        return r

    def get(self, path):
        return self.send("GET", path)

    def csrf(self):
        r = self.get("/api/v1/csrf")
        eq(r.status, 200, "csrf status")
        return r.json()["csrf_token"]

    def form_csrf(self, path="/cart"):
        r = self.get(path)
        eq(r.status, 200, "form page status")
        m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert m, r.text
        return m.group(1)

    def post_form(self, path, fields, csrf=True):
        fields = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if csrf is True:
            fields.append(("csrf_token", self.csrf()))
        elif csrf:
            fields.append(("csrf_token", csrf))
        return self.send("POST", path, body=urllib.parse.urlencode(fields),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})

    def json(self, method, path, obj=None, csrf=True, raw=None):
        h = {"Content-Type": "application/json"}
        if csrf is True:
            h["X-CSRF-Token"] = self.csrf()
        elif csrf:
            h["X-CSRF-Token"] = csrf
        body = raw if raw is not None else obj
        return self.send(method, path, body=body, headers=h)

    def post_json(self, path, obj, csrf=True):
        return self.json("POST", path, obj, csrf=csrf)

    # The cart API.
    def cart(self):
        r = self.get("/api/v1/cart")
        eq(r.status, 200, "cart status")
        return r.json()

    def add(self, pid, qty=ABSENT, **kw):
        body = {"productId": pid}
        if qty is not ABSENT:
            body["quantity"] = qty
        return self.json("POST", "/api/v1/cart/items", body, **kw)

    def put(self, pid, qty, **kw):
        return self.json("PUT", "/api/v1/cart/items/%s" % pid, {"quantity": qty}, **kw)

    def delete(self, pid, **kw):
        return self.json("DELETE", "/api/v1/cart/items/%s" % pid, {}, **kw)

    def clear(self, **kw):
        return self.json("DELETE", "/api/v1/cart", {}, **kw)


# ---- users through the real sign-up ----------------------------------------------------------

def new_email():
    return "cart-%d-%d@example.test" % (next(_seq), int(time.time() * 1000))


def last_code(addr):
    found = None
    files = glob.glob(os.path.join(RUN, "mail", "*.eml"))
    for f in sorted(files, key=lambda p: int(os.path.basename(p)[:-4])):
        with open(f, "rb") as fh:
            raw = fh.read()
        if raw.split(b"\r\n", 1)[0].decode("utf-8") == "X-Envelope-To: " + addr:
            found = email.message_from_bytes(raw, policy=email.policy.default)
    assert found is not None, "no mail to %s" % addr
    m = re.search(r"인증번호는 (\d{6}) 입니다", found.get_content())
    assert m, found.get_content()
    return m.group(1)


def sign_up(b, name="장바구니"):
    """Signs browser b up (and thereby in) as a new user; returns the e-mail."""
    addr = new_email()
    r = b.post_json("/api/v1/signup", {"email": addr, "name": name, "password": PASSWORD,
                                       "password_confirm": PASSWORD})
    eq(r.status, 202, "sign-up status")
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": last_code(addr)})
    eq(r.status, 200, "verify status")
    return addr


def log_in(b, addr):
    old = b.sid
    r = b.post_json("/api/v1/login", {"email": addr, "password": PASSWORD})
    eq(r.status, 200, "login status")
    assert b.sid and b.sid != old, "the session id changed at login"


def user_id(b):
    r = b.get("/api/v1/me")
    eq(r.status, 200, "me status")
    return r.json()["id"]


# ---- tests -----------------------------------------------------------------------------------

def test_guest_without_a_session_sees_an_empty_cart_and_gets_no_cookie():
    r = get("/api/v1/cart")
    eq(r.status, 200, "status")
    eq(r.json(), EMPTY, "empty cart")
    eq(r.header("Set-Cookie"), None, "no session made by reading")
    # A cookie naming no session reads as no session.
    r = get("/api/v1/cart", headers={"Cookie": "jt_sid=" + "a" * 40})
    eq(r.json(), EMPTY, "forged cookie")


def test_guest_json_add_set_remove_clear_with_exact_totals():
    apple = product(price=1500, stock=10)
    pear = product(price=3000, stock=2)
    na, np_ = (sql("SELECT name FROM products WHERE id = %d" % p)[0][0] for p in (apple, pear))
    b = Browser()
    r = b.add(apple, 2)
    eq(r.status, 200, "add status")
    eq(r.json(), cart_of([line(apple, na, 1500, 2, 10)]), "after the first add")
    eq(b.add(apple, 1).json()["lines"][0]["quantity"], 3, "an existing line grows")
    r = b.add(pear)                                      # quantity defaults to 1
    eq(r.json(), cart_of([line(apple, na, 1500, 3, 10), line(pear, np_, 3000, 1, 2)]),
       "two lines, sorted by product id")
    eq(r.json()["total"], 7500, "total")
    r = b.put(apple, 5)
    eq(r.status, 200, "put status")
    eq(r.json()["total"], 5 * 1500 + 3000, "total after set")
    # Prices come from the database on every read.
    sql("UPDATE products SET price = 1700 WHERE id = %d" % apple)
    eq(b.cart(), cart_of([line(apple, na, 1700, 5, 10), line(pear, np_, 3000, 1, 2)]),
       "new price")
    r = b.delete(pear)
    eq(r.status, 200, "delete status")
    eq(r.json(), cart_of([line(apple, na, 1700, 5, 10)]), "after delete")
    eq(b.delete(pear).status, 200, "deleting an absent line is fine")
    eq(b.put(apple, 0).json(), EMPTY, "quantity 0 removes")
    b.add(apple, 1)
    r = b.clear()
    eq(r.status, 200, "clear status")
    eq(r.json(), EMPTY, "cleared")
    eq(redis("EXISTS", "cart:s:" + b.sid), "0", "the hash is gone")
    b.add(apple, 1)
    ttl = int(redis("TTL", "cart:s:" + b.sid))
    assert conf_int("cart.ttl_seconds", 2592000) - 10 < ttl <= conf_int("cart.ttl_seconds",
                                                                          2592000), ttl


def test_adding_past_the_maximum_quantity_caps_the_line():
    pid = product(price=100, stock=500)
    b = Browser()
    b.add(pid, MAX_QTY - 1)
    r = b.add(pid, 5)
    eq(r.status, 200, "status")
    eq(r.json()["lines"][0]["quantity"], MAX_QTY, "capped")
    eq(r.json()["total"], 100 * MAX_QTY, "total")


def test_cart_page_forms_and_their_redirects():
    apple = product(name="사과 <b>&\"'" + TAG, price=1500, stock=10)
    low = product(price=2000, stock=1)
    out = product(price=500, stock=0)
    b = Browser()
    r = b.get("/cart")
    eq(r.status, 200, "page status")
    assert "장바구니가 비어 있습니다." in r.text
    assert 'href="/checkout"' not in r.text, "no checkout link for an empty cart"
    assert b.sid, "the page opened a guest session for its forms"

    r = b.post_form("/cart/add", {"product_id": apple, "quantity": "3"})
    eq(r.status, 303, "add redirects")
    eq(r.header("Location"), "/cart", "to the cart")
    r = b.post_form("/cart/add", {"product_id": low, "quantity": "2",
                                  "next": "/products/%d" % low})
    eq(r.header("Location"), "/products/%d" % low, "to a local next")
    for bad in ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x",
                "/a b", "/\r\nSet-Cookie: x=1", ""]:
        r = b.post_form("/cart/add", {"product_id": out, "next": bad})
        eq((r.status, r.header("Location")), (303, "/cart"), "next %r" % bad)
    doc = b.cart()
    eq([(l["productId"], l["quantity"]) for l in doc["lines"]],
       sorted([(apple, 3), (low, 2), (out, 7)]), "lines after the forms")

    page = b.get("/cart").text
    assert '">사과 &lt;b&gt;&amp;&quot;&#39;%s</a>' % TAG in page, page
    assert "<b>&" not in page, "the name is escaped"
    assert "1,500원" in page and "4,500원" in page, "unit price and line amount"
    total = 3 * 1500 + 2 * 2000 + 7 * 500
    assert '<strong id="total">%s</strong>원' % "{:,}".format(total) in page, page
    assert "재고가 1개 남았습니다." in page, "short stock warning"
    assert "품절된 상품입니다." in page, "sold-out warning"
    assert '<a class="btn btn-primary btn-lg btn-block" id="checkout" href="/checkout">주문하기</a>' \
        in page

    csrf = b.form_csrf()
    r = b.post_form("/cart/update", {"product_id": apple, "quantity": "1"}, csrf=csrf)
    eq((r.status, r.header("Location")), (303, "/cart"), "update")
    r = b.post_form("/cart/update", {"product_id": low, "quantity": "0"}, csrf=csrf)
    eq(r.status, 303, "update to 0")
    r = b.post_form("/cart/remove", {"product_id": out}, csrf=csrf)
    eq((r.status, r.header("Location")), (303, "/cart"), "remove")
    eq(b.cart()["lines"], [line(apple, "사과 <b>&\"'" + TAG, 1500, 1, 10)], "one line left")


def test_form_refusals_show_the_page_with_the_message():
    pid = product()
    inactive = product(active=0)
    b = Browser()
    cases = [
        ("/cart/add", {"product_id": missing_id()}, 404, MSG_NO_PRODUCT),
        ("/cart/add", {"product_id": inactive}, 404, MSG_NO_PRODUCT),
        ("/cart/add", {"product_id": "abc"}, 400, MSG_BAD_ID),
        ("/cart/add", {"product_id": "0"}, 400, MSG_BAD_ID),
        ("/cart/add", {}, 400, MSG_BAD_ID),
        ("/cart/add", [("product_id", pid), ("product_id", pid)], 400, MSG_BAD_ID),
        ("/cart/add", {"product_id": pid, "quantity": "0"}, 400, MSG_QTY_ADD),
        ("/cart/add", {"product_id": pid, "quantity": str(MAX_QTY + 1)}, 400, MSG_QTY_ADD),
        ("/cart/add", {"product_id": pid, "quantity": "1.5"}, 400, MSG_QTY_ADD),
        ("/cart/add", {"product_id": pid, "quantity": "99999999999999999999"}, 400, MSG_QTY_ADD),
        ("/cart/update", {"product_id": pid}, 400, MSG_QTY_MISSING),
        ("/cart/update", {"product_id": pid, "quantity": "-1"}, 400, MSG_QTY_SET),
        ("/cart/update", {"product_id": inactive, "quantity": "1"}, 404, MSG_NO_PRODUCT),
        ("/cart/remove", {"product_id": "-5"}, 400, MSG_BAD_ID),
    ]
    for path, fields, status, msg in cases:
        r = b.post_form(path, fields)
        eq(r.status, status, "status of %s %r" % (path, fields))
        assert msg in r.text, (path, fields, r.text)
        assert "<h1>장바구니</h1>" in r.text
    eq(b.cart(), EMPTY, "nothing was added")


def test_state_changes_need_the_csrf_token():
    pid = product()
    b = Browser()
    b.add(pid, 1)
    before = b.cart()
    other = Browser()
    other_token = other.csrf()
    for token in [False, "", "x" * 40, other_token]:
        eq(envelope(b.add(pid, 2, csrf=token), 403, CSRF_CODE), MSG_CSRF, "add %r" % token)
        eq(b.put(pid, 5, csrf=token).status, 403, "put")
        eq(b.delete(pid, csrf=token).status, 403, "delete")
        eq(b.clear(csrf=token).status, 403, "clear")
        for path in ["/cart/add", "/cart/update", "/cart/remove"]:
            r = b.post_form(path, {"product_id": pid, "quantity": "9"}, csrf=token)
            eq(r.status, 403, "form %s" % path)
    eq(b.cart(), before, "unchanged")
    # A guest without any session cannot change anything either.
    r = request("POST", "/api/v1/cart/items", body={"productId": pid},
                headers={"X-CSRF-Token": other_token})
    eq(r.status, 403, "no session")


def test_unknown_inactive_and_malformed_product_ids():
    pid = product(price=800, stock=4)
    inactive = product(active=0)
    b = Browser()
    for bad in [missing_id(), inactive, 2 ** 63 - 1]:
        eq(envelope(b.add(bad, 1), 404, "PRODUCT_NOT_FOUND"), MSG_NO_PRODUCT, "add %r" % bad)
        eq(envelope(b.put(bad, 1), 404, "PRODUCT_NOT_FOUND"), MSG_NO_PRODUCT, "put %r" % bad)
    for bad in [0, -1, "1", 1.5, None, True, [1], {"id": 1}, -2 ** 63]:
        eq(envelope(b.add(bad, 1), 400, "INVALID_PRODUCT_ID"), MSG_BAD_ID, "add %r" % (bad,))
    envelope(b.json("POST", "/api/v1/cart/items", {"quantity": 1}), 400, "INVALID_PRODUCT_ID")
    for seg in ["abc", "0", "-1", "1.0", "%20", "99999999999999999999", "1e3"]:
        envelope(b.put(seg, 1), 400, "INVALID_PRODUCT_ID")
        envelope(b.delete(seg), 400, "INVALID_PRODUCT_ID")
    eq(b.cart(), EMPTY, "nothing added")
    # A product deactivated after it was added stays in the cart, marked, outside the total.
    gone = product(price=5000, stock=3)
    b.add(pid, 2)
    b.add(gone, 1)
    sql("UPDATE products SET active = 0 WHERE id = %d" % gone)
    name_p = sql("SELECT name FROM products WHERE id = %d" % pid)[0][0]
    name_g = sql("SELECT name FROM products WHERE id = %d" % gone)[0][0]
    eq(b.cart(), {"lines": [line(pid, name_p, 800, 2, 4), line(gone, name_g, 5000, 1, 3, False)],
                  "total": 1600, "totalQuantity": 2}, "deactivated line")
    page = b.get("/cart").text
    assert "판매가 중지된 상품입니다." in page and name_g in page
    assert '<strong id="total">1,600</strong>' in page
    envelope(b.put(gone, 2), 404, "PRODUCT_NOT_FOUND")
    eq(b.delete(gone).json()["lines"], [line(pid, name_p, 800, 2, 4)], "removable")


def test_bad_quantities_and_bodies_are_400_and_change_nothing():
    pid = product()
    b = Browser()
    b.add(pid, 2)
    before = b.cart()
    for bad in [0, -1, MAX_QTY + 1, 2 ** 31, -2 ** 31 - 1, 2 ** 63 - 1, 1.5, 2.0, "2", None,
                True, [2], {}]:
        eq(envelope(b.add(pid, bad), 400, "INVALID_QUANTITY"), MSG_QTY_ADD, "add %r" % (bad,))
    for bad in [-1, MAX_QTY + 1, 1.0, "0", None]:
        eq(envelope(b.put(pid, bad), 400, "INVALID_QUANTITY"), MSG_QTY_SET, "put %r" % (bad,))
    eq(envelope(b.json("PUT", "/api/v1/cart/items/%d" % pid, {}), 400, "QUANTITY_REQUIRED"),
       MSG_QTY_MISSING, "put without quantity")
    # Strict bodies: unknown fields, non-objects, bad JSON, wrong media type, too large.
    envelope(b.json("POST", "/api/v1/cart/items", {"productId": pid, "quantity": 1, "price": 1}),
             400, "INVALID_FIELDS")
    envelope(b.json("PUT", "/api/v1/cart/items/%d" % pid, {"quantity": 1, "productId": pid}),
             400, "INVALID_FIELDS")
    envelope(b.json("DELETE", "/api/v1/cart/items/%d" % pid, {"x": 1}), 400, "INVALID_FIELDS")
    envelope(b.json("DELETE", "/api/v1/cart", {"all": True}), 400, "INVALID_FIELDS")
    for raw in ["[1]", "5", '"x"', "null"]:
        envelope(b.json("POST", "/api/v1/cart/items", raw=raw), 400, "INVALID_FIELDS")
    for raw in ["{", '{"productId": 1, "productId": 2}', '{"productId": 1e400}',
                '{"productId": %d, "quantity": 100000000000000000000}' % pid, "",
                '{"productId": 1} x']:
        eq(b.json("POST", "/api/v1/cart/items", raw=raw).status, 400, "raw %r" % raw)
    r = b.send("POST", "/api/v1/cart/items", body='{"productId": %d}' % pid,
               headers={"Content-Type": "text/plain", "X-CSRF-Token": b.csrf()})
    envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    big = '{"productId": %d, "quantity": 1, "x": "%s"}' % (pid, "a" * (1024 * 1024 + 10))
    envelope(b.json("POST", "/api/v1/cart/items", raw=big), 413, "PAYLOAD_TOO_LARGE")
    eq(b.cart(), before, "unchanged")
    # A DELETE names its target in the path: it may come with no body at all.
    eq(b.json("DELETE", "/api/v1/cart/items/%d" % pid, raw="").status, 200, "DELETE, no body")
    eq(b.cart()["lines"], [], "removed")


def test_the_line_limit_is_409():
    b = Browser()
    ids = [product(price=10, stock=1) for _ in range(MAX_LINES + 1)]
    token = b.csrf()
    for pid in ids[:MAX_LINES]:
        eq(b.add(pid, 1, csrf=token).status, 200, "add %d" % pid)
    eq(envelope(b.add(ids[-1], 1, csrf=token), 409, "CART_FULL"), MSG_FULL, "message")
    eq(envelope(b.put(ids[-1], 1, csrf=token), 409, "CART_FULL"), MSG_FULL, "put")
    r = b.post_form("/cart/add", {"product_id": ids[-1]})
    eq(r.status, 409, "form")
    assert MSG_FULL in r.text
    eq(b.add(ids[0], 1, csrf=token).status, 200, "an existing line still grows")
    doc = b.cart()
    eq(len(doc["lines"]), MAX_LINES, "lines")
    eq(doc["totalQuantity"], MAX_LINES + 1, "quantity")
    eq(doc["total"], 10 * (MAX_LINES + 1), "total")


def test_concurrent_adds_from_two_tabs_lose_nothing():
    pid = product(price=300, stock=1000)
    b = Browser()
    token = b.csrf()
    errors = []

    def tab():
        for _ in range(5):
            r = b.add(pid, 1, csrf=token)
            if r.status != 200:
                errors.append(r.status)

    threads = [threading.Thread(target=tab) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(errors, [], "every add answered 200")
    doc = b.cart()
    eq(doc["lines"][0]["quantity"], min(50, MAX_QTY), "every unit landed")
    eq(doc["total"], 300 * min(50, MAX_QTY), "total")


def test_sign_in_merges_the_guest_cart_summed_and_capped():
    apple = product(price=1000, stock=500)
    plum = product(price=250, stock=500)
    fig = product(price=4000, stock=500)
    # The user's own cart already holds apples and figs (added in another browser).
    first = Browser()
    addr = sign_up(first)
    uid = user_id(first)
    eq(first.add(apple, MAX_QTY - 10).status, 200, "user add")
    first.add(fig, 2)
    # A guest fills a cart, then signs in as that user.
    b = Browser()
    b.add(apple, 20)
    b.add(plum, 3)
    guest_sid = b.sid
    eq(redis("HLEN", "cart:s:" + guest_sid), "2", "guest cart in Redis")
    log_in(b, addr)
    doc = b.cart()
    eq([(l["productId"], l["quantity"]) for l in doc["lines"]],
       [(apple, MAX_QTY), (plum, 3), (fig, 2)], "summed, capped, sorted")
    eq(doc["total"], MAX_QTY * 1000 + 3 * 250 + 2 * 4000, "total")
    eq(redis("EXISTS", "cart:s:" + guest_sid), "0", "guest cart deleted")
    eq(first.cart(), doc, "the same cart in the user's other browser")
    eq(redis("HLEN", "cart:u:%d" % uid), "3", "kept under the user")
    # Logging out leaves the user's cart for next time; the browser becomes an empty guest.
    eq(b.post_json("/api/v1/logout", {}).status, 200, "logout")
    eq(b.cart(), EMPTY, "guest again")
    log_in(b, addr)
    eq(b.cart(), doc, "back after signing in again")


def test_a_cart_made_before_sign_up_follows_the_new_user():
    pid = product(price=1200, stock=5)
    b = Browser()
    b.add(pid, 2)
    sign_up(b)
    doc = b.cart()
    eq([(l["productId"], l["quantity"]) for l in doc["lines"]], [(pid, 2)], "kept")


def test_no_browser_reaches_another_cart():
    pid = product(price=100, stock=10)
    a, c = Browser(), Browser()
    a.add(pid, 3)
    eq(c.cart(), EMPTY, "another guest sees nothing")
    c.add(pid, 1)
    eq(a.cart()["lines"][0]["quantity"], 3, "a's cart untouched by c")
    # c's cookie with a's token, and a's token against c's session: refused.
    eq(c.add(pid, 1, csrf=a.csrf()).status, 403, "foreign token")
    eq(c.clear(csrf=a.csrf()).status, 403, "foreign token clears nothing")
    eq(a.cart()["lines"][0]["quantity"], 3, "still 3")
    # A signed-in user's cart is not a guest's, and not another user's.
    u1, u2 = Browser(), Browser()
    sign_up(u1)
    sign_up(u2)
    u1.add(pid, 4)
    eq(u2.cart(), EMPTY, "other user")
    eq(Browser().cart(), EMPTY, "a guest")
    eq(u1.cart()["lines"][0]["quantity"], 4, "own cart")


def test_redis_down_is_503_and_no_cart_is_invented():
    pid = product()
    b = Browser()
    b.add(pid, 1)
    stack("stop", "redis")
    try:
        envelope(b.get("/api/v1/cart"), 503, "SERVICE_UNAVAILABLE")
        envelope(get("/api/v1/cart"), 503, "SERVICE_UNAVAILABLE")
        eq(b.get("/cart").status, 503, "page")
        # Without Redis no session can be loaded, so every change fails its CSRF check.
        r = b.send("POST", "/api/v1/cart/items", body={"productId": pid},
                   headers={"X-CSRF-Token": "x" * 40})
        eq(r.status, 403, "add while down")
    finally:
        stack("start", "redis")
    eventually(lambda: all(get("/healthz").status == 200 for _ in range(8)),
               timeout=10, what="healthz 200 on every handler")
    eq(get("/api/v1/cart").status, 200, "back")
