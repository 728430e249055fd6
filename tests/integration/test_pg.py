"""The fake PGs themselves (tests/fakes/pg.py) over HTTP, as jangteo and a browser meet them:
Toss's payment window, confirm, lookups, cancels, Idempotency-Key replay and in-flight 409,
TossPayments-Test-Code, transactions and settlements; KakaoPay's ready, pay page, approve,
cancel and order; the fault knobs (latency, status, error, reset, timeout, drop, badjson,
count, prob, order); the record of approvals and cancels and the settlement file. Every
test uses its own order ids, so the tests share the stack's fake without seeing each other."""
import base64
import contextlib
import datetime
import http.client
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse

from jt import PORT, RUN, SRC, eq

sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
import pg as fake  # noqa: E402  (the tables the fake answers from)

PG_PORT = PORT + 2
FAKES = os.path.join(RUN, "fakes")
TOSS_AUTH = "Basic " + base64.b64encode(b"test_sk_jangteo_local:").decode()
KAKAO_AUTH = "SECRET_KEY DEV_SECRET_jangteo_local"
SHOP = "http://127.0.0.1:%d" % PORT


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8")


def call(method, path, body=None, headers=None, auth=None, timeout=10):
    """One request to the fake PG on a fresh connection; no redirects followed."""
    h = dict(headers or {})
    if auth == "toss":
        h["Authorization"] = TOSS_AUTH
    elif auth == "kakao":
        h["Authorization"] = KAKAO_AUTH
    if isinstance(body, (dict, list)):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        h.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection("127.0.0.1", PG_PORT, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return Resp(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def toss_post(path, body, key=None, **kw):
    h = dict(kw.pop("headers", {}))
    if key is not None:
        h["Idempotency-Key"] = key
    return call("POST", "/toss" + path, body, headers=h, auth="toss", **kw)


def kakao_post(name, body, **kw):
    b = dict(body)
    b.setdefault("cid", "TC0ONETIME")
    return call("POST", "/kakaopay/online/v1/payment/" + name, b, auth="kakao", **kw)


def toss_err(resp, status, code):
    eq(resp.status, status, "status of %s" % code)
    doc = resp.json()
    eq(doc, {"code": code, "message": fake.TOSS_ERRORS[code][1]}, "error body")


def kakao_err(resp, code, status=400):
    eq(resp.status, status, "status of %d" % code)
    doc = resp.json()
    eq(doc["error_code"], code, "error_code")
    if not doc["error_message"]:
        raise AssertionError("empty error_message")
    return doc


def uid(prefix="pgt"):
    return "%s-%s" % (prefix, secrets.token_hex(6))


def records(**filters):
    q = urllib.parse.urlencode(filters)
    r = call("GET", "/fake/records" + ("?" + q if q else ""))
    eq(r.status, 200, "records")
    return r.json()


def now():
    return datetime.datetime.fromisoformat(call("GET", "/fake/clock").json()["now"])


@contextlib.contextmanager
def faults(text):
    path = os.path.join(FAKES, "pg-faults")
    with open(path, "w") as f:
        f.write(text + "\n")
    try:
        yield
    finally:
        os.unlink(path)


def checkout_query(order, total, **extra):
    q = {"orderId": order, "amount": str(total), "orderName": "테스트 상품 외 1건",
         "successUrl": SHOP + "/checkout/toss/success", "failUrl": SHOP + "/checkout/toss/fail",
         "clientKey": "test_ck_jangteo_local"}
    q.update(extra)
    return "/toss/fake/checkout?" + urllib.parse.urlencode(q)


def toss_authenticate(order_id, amount):
    """The shopper pays in Toss's window; returns the paymentKey from the success URL."""
    r = call("GET", checkout_query(order_id, amount, outcome="success"))
    eq(r.status, 302, "checkout success")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))
    eq(q["orderId"], order_id)
    eq(q["amount"], str(amount))
    return q["paymentKey"]


def toss_paid(order_id, amount, key=None):
    pk = toss_authenticate(order_id, amount)
    r = toss_post("/v1/payments/confirm", {"paymentKey": pk, "orderId": order_id,
                                           "amount": amount}, key=key)
    eq(r.status, 200, "confirm")
    return pk, r.json()


def kakao_ready(order_id, amount, user="user-1"):
    r = kakao_post("ready", {
        "partner_order_id": order_id, "partner_user_id": user, "item_name": "초코파이",
        "quantity": 1, "total_amount": amount, "tax_free_amount": 0,
        "approval_url": SHOP + "/checkout/kakaopay/approve?order=" + order_id,
        "cancel_url": SHOP + "/checkout/kakaopay/cancel?order=" + order_id,
        "fail_url": SHOP + "/checkout/kakaopay/fail?order=" + order_id})
    eq(r.status, 200, "ready")
    return r.json()


def kakao_authenticate(tid):
    r = call("GET", "/kakaopay/fake/pay/%s?outcome=approve" % tid)
    eq(r.status, 302, "pay page approve")
    loc = urllib.parse.urlsplit(r.headers["location"])
    return dict(urllib.parse.parse_qsl(loc.query))["pg_token"]


def kakao_paid(order_id, amount, user="user-1"):
    tid = kakao_ready(order_id, amount, user)["tid"]
    token = kakao_authenticate(tid)
    r = kakao_post("approve", {"tid": tid, "partner_order_id": order_id,
                               "partner_user_id": user, "pg_token": token,
                               "total_amount": amount})
    eq(r.status, 200, "approve")
    return tid, r.json()


def no_answer(fn):
    """fn() must end without an HTTP answer; returns the exception."""
    try:
        r = fn()
    except (ConnectionError, http.client.HTTPException, socket.timeout, OSError) as e:
        return e
    raise AssertionError("expected no answer, got HTTP %d" % r.status)


# ---- Toss: the payment window ------------------------------------------------------------

def test_toss_checkout_page_and_redirects():
    oid = uid()
    r = call("GET", checkout_query(oid, 15000))
    eq(r.status, 200, "page")
    page = r.text
    for word in ("결제하기", "취소", oid, "15,000원"):
        if word not in page:
            raise AssertionError("page lacks %r" % word)
    links = dict(re.findall(r'<a id="(\w+)" href="([^"]+)"', page))
    eq(sorted(links), ["cancel", "fail", "pay"], "links")
    pay = links["pay"].replace("&amp;", "&")
    r = call("GET", pay)
    eq(r.status, 302, "pay link")
    loc = urllib.parse.urlsplit(r.headers["location"])
    eq(loc.scheme + "://" + loc.netloc + loc.path, SHOP + "/checkout/toss/success")
    q = dict(urllib.parse.parse_qsl(loc.query))
    eq(sorted(q), ["amount", "orderId", "paymentKey", "paymentType"])
    eq((q["paymentType"], q["orderId"], q["amount"]), ("NORMAL", oid, "15000"))
    if not re.match(r"^tfake_[0-9]{14}[A-Za-z0-9]{16}$", q["paymentKey"]):
        raise AssertionError("paymentKey %r" % q["paymentKey"])
    # The authenticated payment is IN_PROGRESS until confirmed.
    r = call("GET", "/toss/v1/payments/" + q["paymentKey"], auth="toss")
    eq(r.status, 200)
    doc = r.json()
    eq((doc["status"], doc["orderId"], doc["totalAmount"], doc["approvedAt"], doc["card"]),
       ("IN_PROGRESS", oid, 15000, None, None))

    r = call("GET", links["cancel"].replace("&amp;", "&"))
    eq(r.status, 302, "cancel link")
    loc = urllib.parse.urlsplit(r.headers["location"])
    eq(loc.path, "/checkout/toss/fail")
    eq(dict(urllib.parse.parse_qsl(loc.query)),
       {"code": "PAY_PROCESS_CANCELED", "message": "사용자에 의해 결제가 취소되었습니다.",
        "orderId": oid})
    r = call("GET", checkout_query(oid, 15000, outcome="fail"))
    eq(r.status, 302)
    eq(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["location"]).query))["code"],
       "REJECT_CARD_COMPANY")
    # A success URL with a query of its own keeps it.
    r = call("GET", checkout_query(oid, 1000, outcome="success",
                                   successUrl=SHOP + "/pay?x=1"))
    if not r.headers["location"].startswith(SHOP + "/pay?x=1&paymentType=NORMAL&"):
        raise AssertionError(r.headers["location"])


def test_toss_checkout_refuses_bad_requests():
    oid = uid()
    for bad in ({"clientKey": "test_ck_other"}, {"clientKey": ""}, {"orderId": "short"},
                {"orderId": "has space 1"}, {"orderId": "x" * 65}, {"amount": "0"},
                {"amount": "-100"}, {"amount": "1e3"}, {"amount": "abc"}, {"orderName": ""},
                {"successUrl": "javascript:alert(1)"}, {"failUrl": "ftp://x/y"},
                {"outcome": "maybe"}):
        r = call("GET", checkout_query(oid, 1000, **bad))
        eq(r.status, 400, "checkout with %r" % bad)
        if not r.headers["content-type"].startswith("text/html"):
            raise AssertionError("not a page")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(checkout_query(oid, 1000)).query))
    del q["successUrl"]
    eq(call("GET", "/toss/fake/checkout?" + urllib.parse.urlencode(q)).status, 400)
    eq(records(order_id=oid), [], "nothing recorded")


# ---- Toss: API ---------------------------------------------------------------------------

def test_toss_auth():
    path = "/toss/v1/payments/tfake_nonexistent"
    for h in ({}, {"Authorization": "Bearer test_sk_jangteo_local"},
              {"Authorization": "Basic " + base64.b64encode(b"test_sk_other:").decode()},
              {"Authorization": "Basic !!!notbase64"}):
        toss_err(call("GET", path, headers=h), 401, "UNAUTHORIZED_KEY")
    toss_err(call("GET", path, headers={
        "Authorization": "Basic " + base64.b64encode(b"test_sk_jangteo_local").decode()}),
        403, "INCORRECT_BASIC_AUTH_FORMAT")
    # Unpadded base64 is accepted (some clients send it): the lookup gets as far as 404.
    unpadded = TOSS_AUTH.rstrip("=")
    toss_err(call("GET", path, headers={"Authorization": unpadded}), 404, "NOT_FOUND_PAYMENT")
    toss_err(call("POST", "/toss/v1/payments/confirm", {}, headers={}), 401, "UNAUTHORIZED_KEY")


def test_toss_confirm_and_lookup():
    oid = uid()
    pk = toss_authenticate(oid, 15000)
    r = toss_post("/v1/payments/confirm", {"paymentKey": pk, "orderId": oid, "amount": 15000})
    eq(r.status, 200)
    doc = r.json()
    eq((doc["paymentKey"], doc["orderId"], doc["status"], doc["totalAmount"],
        doc["balanceAmount"], doc["vat"], doc["suppliedAmount"], doc["method"],
        doc["currency"], doc["cancels"], doc["failure"], doc["version"]),
       (pk, oid, "DONE", 15000, 15000, 1364, 13636, "카드", "KRW", None, None, "2022-11-16"))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$", doc["approvedAt"]):
        raise AssertionError("approvedAt %r" % doc["approvedAt"])
    eq(doc["card"]["number"], "12345678****000*", "masked card number")
    eq(len(doc["lastTransactionKey"]), 32)
    by_key = call("GET", "/toss/v1/payments/" + pk, auth="toss")
    by_order = call("GET", "/toss/v1/payments/orders/" + oid, auth="toss")
    eq((by_key.status, by_order.status), (200, 200))
    eq(by_key.json(), doc, "lookup by key")
    eq(by_order.json(), doc, "lookup by order")
    recs = records(order_id=oid)
    eq(len(recs), 1)
    eq({k: recs[0][k] for k in ("pg", "kind", "payment_key", "order_id", "amount", "balance",
                                "transaction_key", "time")},
       {"pg": "toss", "kind": "approve", "payment_key": pk, "order_id": oid, "amount": 15000,
        "balance": 15000, "transaction_key": doc["lastTransactionKey"],
        "time": doc["approvedAt"]})
    # Confirmed again without a key, or under another key: already processed, nothing new.
    body = {"paymentKey": pk, "orderId": oid, "amount": 15000}
    toss_err(toss_post("/v1/payments/confirm", body), 400, "ALREADY_PROCESSED_PAYMENT")
    toss_err(toss_post("/v1/payments/confirm", body, key=uid("k")), 400,
             "ALREADY_PROCESSED_PAYMENT")
    toss_err(call("GET", "/toss/v1/payments/orders/" + uid(), auth="toss"), 404,
             "NOT_FOUND_PAYMENT")
    eq(len(records(order_id=oid)), 1, "one approval")


def test_toss_confirm_refusals_change_nothing():
    oid = uid()
    pk = toss_authenticate(oid, 5000)
    confirm = "/v1/payments/confirm"
    toss_err(toss_post(confirm, {"paymentKey": "tfake_unknown", "orderId": oid, "amount": 5000}),
             404, "NOT_FOUND_PAYMENT")
    for body in ({"paymentKey": pk, "orderId": oid, "amount": 5001},
                 {"paymentKey": pk, "orderId": oid, "amount": 4999},
                 {"paymentKey": pk, "orderId": uid(), "amount": 5000},
                 {"paymentKey": pk, "orderId": oid, "amount": "5000"},
                 {"paymentKey": pk, "orderId": oid, "amount": True},
                 {"paymentKey": pk, "orderId": oid, "amount": 5000.0},
                 {"paymentKey": pk, "orderId": oid, "amount": 0},
                 {"paymentKey": pk, "orderId": oid, "amount": -5000},
                 {"paymentKey": pk, "orderId": oid, "amount": 10 ** 30},
                 {"paymentKey": pk, "orderId": oid},
                 {"orderId": oid, "amount": 5000},
                 {"paymentKey": [pk], "orderId": oid, "amount": 5000},
                 [pk, oid, 5000], "not json", ""):
        r = toss_post(confirm, body)
        eq(r.status, 400, "confirm %r" % (body,))
        eq(r.json()["code"], "INVALID_REQUEST")
    eq(records(order_id=oid), [], "nothing approved")
    eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").json()["status"], "IN_PROGRESS")
    r = toss_post(confirm, {"paymentKey": pk, "orderId": oid, "amount": 5000})
    eq((r.status, r.json()["status"]), (200, "DONE"), "the right amount still confirms")


def test_toss_confirm_after_the_window_expires():
    oid = uid()
    pk = toss_authenticate(oid, 3000)
    r = call("POST", "/fake/clock", {"advance_seconds": fake.CONFIRM_WINDOW + 1})
    eq(r.status, 200)
    toss_err(toss_post("/v1/payments/confirm", {"paymentKey": pk, "orderId": oid,
                                                 "amount": 3000}), 404,
             "NOT_FOUND_PAYMENT_SESSION")
    doc = call("GET", "/toss/v1/payments/orders/" + oid, auth="toss").json()
    eq((doc["status"], doc["failure"]["code"]), ("EXPIRED", "EXPIRED_PAYMENT"))
    eq(records(order_id=oid), [])
    eq(call("POST", "/fake/clock", {"advance_seconds": -1}).status, 400, "clock never goes back")


def test_toss_duplicated_order_id():
    oid = uid()
    first = toss_authenticate(oid, 2000)
    second = toss_authenticate(oid, 2000)
    eq(toss_post("/v1/payments/confirm", {"paymentKey": second, "orderId": oid,
                                          "amount": 2000}).status, 200)
    toss_err(toss_post("/v1/payments/confirm", {"paymentKey": first, "orderId": oid,
                                                 "amount": 2000}), 400, "DUPLICATED_ORDER_ID")
    doc = call("GET", "/toss/v1/payments/orders/" + oid, auth="toss").json()
    eq((doc["paymentKey"], doc["status"]), (second, "DONE"), "the order answers its approval")
    eq(len(records(order_id=oid)), 1)


def test_toss_idempotency_replays_the_first_answer():
    oid, other = uid(), uid()
    pk = toss_authenticate(oid, 7000)
    pk2 = toss_authenticate(other, 8000)
    key = uid("idem")
    body = {"paymentKey": pk, "orderId": oid, "amount": 7000}
    first = toss_post("/v1/payments/confirm", body, key=key)
    eq(first.status, 200)
    again = toss_post("/v1/payments/confirm", body, key=key)
    eq((again.status, again.body), (200, first.body), "replayed byte for byte")
    # Toss does not compare bodies: the same key on another payment replays the first.
    odd = toss_post("/v1/payments/confirm", {"paymentKey": pk2, "orderId": other,
                                              "amount": 8000}, key=key)
    eq((odd.status, odd.body), (200, first.body))
    eq(call("GET", "/toss/v1/payments/" + pk2, auth="toss").json()["status"], "IN_PROGRESS")
    eq(len(records(order_id=oid)), 1)
    eq(records(order_id=other), [])
    # Errors are replayed too; a key is scoped to its path.
    bad = toss_post("/v1/payments/confirm", {"paymentKey": pk2, "orderId": other,
                                              "amount": 1}, key=key + "-b")
    eq(bad.status, 400)
    eq(toss_post("/v1/payments/confirm", {"paymentKey": pk2, "orderId": other, "amount": 8000},
                 key=key + "-b").body, bad.body)
    r = toss_post("/v1/payments/%s/cancel" % pk, {"cancelReason": "테스트", "cancelAmount": 1000},
                  key=key)
    eq((r.status, r.json()["balanceAmount"]), (200, 6000), "same key, other path: new request")
    again = toss_post("/v1/payments/%s/cancel" % pk, {"cancelReason": "테스트",
                                                      "cancelAmount": 1000}, key=key)
    eq((again.status, again.body), (200, r.body), "a replayed cancel refunds once")
    eq([x["kind"] for x in records(order_id=oid)], ["approve", "cancel"])
    toss_err(toss_post("/v1/payments/confirm", body, key="k" * 301), 400,
             "INVALID_IDEMPOTENCY_KEY")
    toss_err(toss_post("/v1/payments/confirm", body, key=""), 400, "INVALID_IDEMPOTENCY_KEY")
    eq(toss_post("/v1/payments/confirm", body, key="k" * 300).json()["code"],
       "ALREADY_PROCESSED_PAYMENT", "300 characters are fine")


def test_toss_idempotency_in_flight_is_409():
    oid = uid()
    pk = toss_authenticate(oid, 9000)
    key = uid("idem")
    body = {"paymentKey": pk, "orderId": oid, "amount": 9000}
    out = {}
    with faults("toss confirm latency_ms=1500 order=%s" % oid):
        t = threading.Thread(target=lambda: out.update(
            r=toss_post("/v1/payments/confirm", body, key=key)))
        t.start()
        time.sleep(0.4)
        toss_err(toss_post("/v1/payments/confirm", body, key=key), 409,
                 "IDEMPOTENT_REQUEST_PROCESSING")
        t.join()
    eq(out["r"].status, 200)
    again = toss_post("/v1/payments/confirm", body, key=key)
    eq((again.status, again.body), (200, out["r"].body))
    eq(len(records(order_id=oid)), 1)


def test_toss_test_codes_force_documented_errors():
    oid = uid()
    pk = toss_authenticate(oid, 4000)
    body = {"paymentKey": pk, "orderId": oid, "amount": 4000}
    for code, status in (("REJECT_CARD_COMPANY", 403), ("REJECT_CARD_PAYMENT", 403),
                         ("PROVIDER_ERROR", 400), ("INVALID_CARD_EXPIRATION", 400),
                         ("NOT_FOUND_PAYMENT_SESSION", 404), ("UNAUTHORIZED_KEY", 401),
                         ("IDEMPOTENT_REQUEST_PROCESSING", 409),
                         ("FAILED_INTERNAL_SYSTEM_PROCESSING", 500),
                         ("FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING", 500),
                         ("UNKNOWN_PAYMENT_ERROR", 500)):
        toss_err(toss_post("/v1/payments/confirm", body,
                           headers={"TossPayments-Test-Code": code}), status, code)
    # Works before the paymentKey is even looked at, on every API.
    toss_err(toss_post("/v1/payments/tfake_none/cancel", {"cancelReason": "x"},
                       headers={"TossPayments-Test-Code": "NOT_CANCELABLE_AMOUNT"}),
             403, "NOT_CANCELABLE_AMOUNT")
    toss_err(call("GET", "/toss/v1/payments/orders/" + oid, auth="toss",
                  headers={"TossPayments-Test-Code": "FORBIDDEN_CONSECUTIVE_REQUEST"}),
             403, "FORBIDDEN_CONSECUTIVE_REQUEST")
    r = toss_post("/v1/payments/confirm", body, headers={"TossPayments-Test-Code": "NO_SUCH"})
    eq((r.status, r.json()["code"]), (400, "INVALID_REQUEST"))
    # None of that touched the payment.
    eq(records(order_id=oid), [])
    eq(toss_post("/v1/payments/confirm", body).status, 200)


def test_toss_cancel_partial_full_and_guards():
    oid = uid()
    pk, _ = toss_paid(oid, 15000)
    cancel = "/v1/payments/%s/cancel" % pk
    for body in ({}, {"cancelReason": ""}, {"cancelReason": "x" * 201},
                 {"cancelReason": 5}, {"cancelReason": "x", "cancelAmount": "5000"},
                 {"cancelReason": "x", "cancelAmount": 0},
                 {"cancelReason": "x", "cancelAmount": -1},
                 {"cancelReason": "x", "cancelAmount": 1.5},
                 {"cancelReason": "x", "refundableAmount": -1}, [], "nope"):
        toss_err(toss_post(cancel, body), 400, "INVALID_REQUEST")
    r = toss_post(cancel, {"cancelReason": "고객 변심", "cancelAmount": 5000,
                           "refundableAmount": 15000})
    eq(r.status, 200)
    doc = r.json()
    eq((doc["status"], doc["totalAmount"], doc["balanceAmount"], doc["vat"],
        doc["suppliedAmount"]), ("PARTIAL_CANCELED", 15000, 10000, 909, 9091))
    c = doc["cancels"][0]
    eq((c["cancelAmount"], c["cancelReason"], c["refundableAmount"], c["cancelStatus"],
        c["transactionKey"]), (5000, "고객 변심", 10000, "DONE", doc["lastTransactionKey"]))
    # A stale refundableAmount, or more than is left: refused, nothing changes.
    toss_err(toss_post(cancel, {"cancelReason": "x", "cancelAmount": 1000,
                                "refundableAmount": 15000}), 400,
             "NOT_MATCHES_REFUNDABLE_AMOUNT")
    toss_err(toss_post(cancel, {"cancelReason": "x", "cancelAmount": 10001}), 403,
             "NOT_CANCELABLE_AMOUNT")
    eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").json()["balanceAmount"], 10000)
    r = toss_post(cancel, {"cancelReason": "전액 취소"})
    eq(r.status, 200)
    doc = r.json()
    eq((doc["status"], doc["balanceAmount"], len(doc["cancels"]), doc["cancels"][1]["cancelAmount"],
        doc["card"]["acquireStatus"]), ("CANCELED", 0, 2, 10000, "CANCELED"))
    toss_err(toss_post(cancel, {"cancelReason": "x"}), 400, "ALREADY_CANCELED_PAYMENT")
    toss_err(toss_post("/v1/payments/tfake_none/cancel", {"cancelReason": "x"}), 404,
             "NOT_FOUND_PAYMENT")
    unpaid = toss_authenticate(uid(), 1000)
    toss_err(toss_post("/v1/payments/%s/cancel" % unpaid, {"cancelReason": "x"}), 403,
             "NOT_CANCELABLE_PAYMENT")
    eq([(x["kind"], x["amount"], x["balance"]) for x in records(order_id=oid)],
       [("approve", 15000, 15000), ("cancel", 5000, 10000), ("cancel", 10000, 0)])


def test_toss_racing_cancels_cannot_exceed_the_balance():
    oid = uid()
    pk, _ = toss_paid(oid, 10000)
    out = []
    with faults("toss cancel latency_ms=300 order=%s" % oid):
        ts = [threading.Thread(target=lambda: out.append(toss_post(
            "/v1/payments/%s/cancel" % pk, {"cancelReason": "동시 환불", "cancelAmount": 6000,
                                            "refundableAmount": 10000}, key=uid("k"))))
              for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    eq(sorted(r.status for r in out), [200, 400])
    eq([r.json()["code"] for r in out if r.status == 400], ["NOT_MATCHES_REFUNDABLE_AMOUNT"])
    eq([x["amount"] for x in records(order_id=oid, kind="cancel")], [6000])


def test_toss_transactions_and_settlements():
    oid = uid()
    pk, doc = toss_paid(oid, 20000)
    toss_post("/v1/payments/%s/cancel" % pk, {"cancelReason": "부분", "cancelAmount": 2000})
    today = now()
    start = (today - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    end = (today + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    r = call("GET", "/toss/v1/transactions?startDate=%s&endDate=%s&limit=5000" % (start, end),
             auth="toss")
    eq(r.status, 200)
    mine = [t for t in r.json() if t["orderId"] == oid]
    eq([(t["status"], t["amount"], t["paymentKey"]) for t in mine],
       [("DONE", 20000, pk), ("CANCELED", 2000, pk)])
    eq(mine[0]["transactionKey"], doc["lastTransactionKey"])
    after = call("GET", "/toss/v1/transactions?startDate=%s&endDate=%s&limit=5000&startingAfter=%s"
                 % (start, end, mine[0]["transactionKey"]), auth="toss").json()
    eq([t["status"] for t in after if t["orderId"] == oid], ["CANCELED"], "startingAfter")
    eq(len(call("GET", "/toss/v1/transactions?startDate=%s&endDate=%s&limit=1" % (start, end),
                auth="toss").json()), 1, "limit")
    for q in ("startDate=%s" % start, "startDate=2025-01-01&endDate=2025-01-02",
              "startDate=%s&endDate=%s&limit=0" % (start, end)):
        toss_err(call("GET", "/toss/v1/transactions?" + q, auth="toss"), 400, "INVALID_REQUEST")

    day = today.date().isoformat()
    r = call("GET", "/toss/v1/settlements?startDate=%s&endDate=%s&size=5000" % (day, day),
             auth="toss")
    eq(r.status, 200)
    mine = [s for s in r.json() if s["orderId"] == oid]
    eq([(s["amount"], s["fees"], s["payOutAmount"], s["soldDate"]) for s in mine],
       [(20000, [{"type": "BASE", "fee": 660}], 19340, day),
        (-2000, [{"type": "BASE", "fee": -66}], -1934, day)])
    eq((mine[0]["supplyAmount"], mine[0]["vat"]), (600, 60))
    for q in ("startDate=%s" % day, "startDate=%s&endDate=%s&page=0" % (day, day),
              "startDate=%s&endDate=%s&dateType=other" % (day, day),
              "startDate=%sT00:00:00&endDate=%s" % (day, day)):
        toss_err(call("GET", "/toss/v1/settlements?" + q, auth="toss"), 400, "INVALID_REQUEST")
    toss_err(call("GET", "/toss/v1/settlements?startDate=%s&endDate=%s" % (day, day)), 401,
             "UNAUTHORIZED_KEY")


def test_toss_wrong_method_and_path():
    eq(call("GET", "/toss/v1/payments/confirm", auth="toss").status, 405)
    eq(call("POST", "/toss/v1/payments/orders/x", {}, auth="toss").status, 405)
    eq(call("GET", "/toss/v2/payments/x", auth="toss").status, 404)
    eq(call("GET", "/nowhere").status, 404)


# ---- KakaoPay ----------------------------------------------------------------------------

def test_kakao_ready_pay_approve_order():
    oid = uid()
    doc = kakao_ready(oid, 2200)
    tid = doc["tid"]
    if not re.match(r"^T\d{19}$", tid):
        raise AssertionError("tid %r" % tid)
    eq(doc["next_redirect_pc_url"], "http://127.0.0.1:%d/kakaopay/fake/pay/%s" % (PG_PORT, tid))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", doc["created_at"]):
        raise AssertionError("created_at %r" % doc["created_at"])
    page = call("GET", "/kakaopay/fake/pay/" + tid)
    eq(page.status, 200)
    links = dict(re.findall(r'<a id="(\w+)" href="([^"]+)"', page.text))
    eq(links, {"pay": "/kakaopay/fake/pay/%s?outcome=approve" % tid,
               "cancel": "/kakaopay/fake/pay/%s?outcome=cancel" % tid,
               "fail": "/kakaopay/fake/pay/%s?outcome=fail" % tid})
    r = kakao_post("order", {"tid": tid})
    eq((r.status, r.json()["status"]), (200, "READY"))
    r = call("GET", links["pay"])
    eq(r.status, 302)
    loc = r.headers["location"]
    prefix = SHOP + "/checkout/kakaopay/approve?order=%s&pg_token=" % oid
    if not loc.startswith(prefix):
        raise AssertionError(loc)
    token = loc[len(prefix):]
    r = kakao_post("approve", {"tid": tid, "partner_order_id": oid,
                               "partner_user_id": "user-1", "pg_token": token,
                               "total_amount": 2200})
    eq(r.status, 200)
    a = r.json()
    eq((a["tid"], a["cid"], a["partner_order_id"], a["partner_user_id"], a["amount"],
        a["payment_method_type"], a["item_name"], a["quantity"]),
       (tid, "TC0ONETIME", oid, "user-1",
        {"total": 2200, "tax_free": 0, "vat": 200, "point": 0, "discount": 0,
         "green_deposit": 0}, "MONEY", "초코파이", 1))
    eq(len(a["aid"]), 20)
    o = kakao_post("order", {"tid": tid}).json()
    eq((o["status"], o["cancel_available_amount"]["total"], o["canceled_amount"]["total"],
        [d["payment_action_type"] for d in o["payment_action_details"]]),
       ("SUCCESS_PAYMENT", 2200, 0, ["PAYMENT"]))
    # tid and pg_token approve once.
    kakao_err(kakao_post("approve", {"tid": tid, "partner_order_id": oid,
                                     "partner_user_id": "user-1", "pg_token": token}), -702)
    eq(call("GET", links["pay"]).status, 400, "the pay page is used up")
    recs = records(order_id=oid)
    eq([(x["pg"], x["kind"], x["payment_key"], x["amount"], x["transaction_key"])
        for x in recs], [("kakaopay", "approve", tid, 2200, a["aid"])])


def test_kakao_pay_page_cancel_and_fail():
    oid = uid()
    tid = kakao_ready(oid, 1000)["tid"]
    r = call("GET", "/kakaopay/fake/pay/%s?outcome=cancel" % tid)
    eq((r.status, r.headers["location"]), (302, SHOP + "/checkout/kakaopay/cancel?order=" + oid))
    eq(kakao_post("order", {"tid": tid}).json()["status"], "QUIT_PAYMENT")
    tid = kakao_ready(oid, 1000)["tid"]
    r = call("GET", "/kakaopay/fake/pay/%s?outcome=fail" % tid)
    eq((r.status, r.headers["location"]), (302, SHOP + "/checkout/kakaopay/fail?order=" + oid))
    eq(kakao_post("order", {"tid": tid}).json()["status"], "FAIL_AUTH_PASSWORD")
    eq(call("GET", "/kakaopay/fake/pay/%s?outcome=approve" % tid).status, 400)
    eq(call("GET", "/kakaopay/fake/pay/T0000000000000000000").status, 404)
    tid = kakao_ready(oid, 1000)["tid"]
    eq(call("GET", "/kakaopay/fake/pay/%s?outcome=later" % tid).status, 400)
    eq(records(order_id=oid), [])


def test_kakao_errors():
    oid = uid()
    good = {"partner_order_id": oid, "partner_user_id": "user-1", "item_name": "상품",
            "quantity": 1, "total_amount": 1000, "tax_free_amount": 0,
            "approval_url": SHOP + "/a", "cancel_url": SHOP + "/c", "fail_url": SHOP + "/f"}
    r = call("POST", "/kakaopay/online/v1/payment/ready", dict(good, cid="TC0ONETIME"),
             headers={"Authorization": "SECRET_KEY wrong"})
    kakao_err(r, -401, 401)
    r = call("POST", "/kakaopay/online/v1/payment/ready", dict(good, cid="TC0ONETIME"),
             headers={"Authorization": "KakaoAK " + "DEV_SECRET_jangteo_local"})
    kakao_err(r, -401, 401)
    kakao_err(kakao_post("ready", dict(good, cid="TCOTHER")), -2)
    for k, v in (("quantity", "1"), ("quantity", 0), ("total_amount", 0),
                 ("total_amount", 1000.0), ("total_amount", True), ("tax_free_amount", 2000),
                 ("approval_url", "javascript:alert(1)"), ("item_name", ""),
                 ("partner_user_id", None), ("fail_url", "x" * 300)):
        kakao_err(kakao_post("ready", dict(good, **{k: v})), -2)
    kakao_err(kakao_post("ready", {k: v for k, v in good.items() if k != "cancel_url"}), -2)
    r = call("POST", "/kakaopay/online/v1/payment/ready", "not json", auth="kakao")
    kakao_err(r, -2)
    kakao_err(kakao_post("ready", dict(good, total_amount=fake.KAKAO_MAX_AMOUNT + 1)), -797)

    tid = kakao_ready(oid, 1000)["tid"]
    approve = {"tid": tid, "partner_order_id": oid, "partner_user_id": "user-1",
               "pg_token": "0" * 20}
    kakao_err(kakao_post("approve", approve), -701)          # the shopper has not paid yet
    token = kakao_authenticate(tid)
    kakao_err(kakao_post("approve", approve), -701)          # a wrong pg_token
    kakao_err(kakao_post("approve", dict(approve, pg_token=token, partner_user_id="user-2")),
              -705)
    kakao_err(kakao_post("approve", dict(approve, pg_token=token, partner_order_id=uid())),
              -705)
    kakao_err(kakao_post("approve", dict(approve, pg_token=token, total_amount=999)), -705)
    kakao_err(kakao_post("approve", dict(approve, pg_token=token, total_amount="1000")), -2)
    kakao_err(kakao_post("approve", dict(approve, tid="T0000000000000000000", pg_token=token)),
              -721)
    kakao_err(kakao_post("order", {"tid": "T0000000000000000000"}), -721)
    kakao_err(kakao_post("order", {"tid": 5}), -2)
    eq(records(order_id=oid), [])
    eq(kakao_post("approve", dict(approve, pg_token=token)).status, 200, "still approvable")


def test_kakao_ready_expires():
    oid = uid()
    tid = kakao_ready(oid, 1000)["tid"]
    token = kakao_authenticate(tid)
    eq(call("POST", "/fake/clock", {"advance_seconds": fake.KAKAO_READY_TTL + 1}).status, 200)
    kakao_err(kakao_post("approve", {"tid": tid, "partner_order_id": oid,
                                     "partner_user_id": "user-1", "pg_token": token}), -723)
    eq(kakao_post("order", {"tid": tid}).json()["status"], "QUIT_PAYMENT")
    tid2 = kakao_ready(oid, 1000)["tid"]
    call("POST", "/fake/clock", {"advance_seconds": fake.KAKAO_READY_TTL + 1})
    eq(call("GET", "/kakaopay/fake/pay/" + tid2).status, 400, "expired pay page")


def test_kakao_cancel_partial_full_and_guards():
    oid = uid()
    tid, _ = kakao_paid(oid, 5000)
    for body in ({"tid": tid}, {"tid": tid, "cancel_amount": 1000},
                 {"tid": tid, "cancel_amount": "1000", "cancel_tax_free_amount": 0},
                 {"tid": tid, "cancel_amount": 0, "cancel_tax_free_amount": 0},
                 {"tid": tid, "cancel_amount": 1000, "cancel_tax_free_amount": 2000},
                 {"tid": tid, "cancel_amount": 1000, "cancel_tax_free_amount": 0,
                  "payload": "x" * 201}):
        kakao_err(kakao_post("cancel", body), -2)
    r = kakao_post("cancel", {"tid": tid, "cancel_amount": 2000, "cancel_tax_free_amount": 0,
                              "cancel_available_amount": 5000, "payload": "고객 변심"})
    eq(r.status, 200)
    c = r.json()
    eq((c["status"], c["approved_cancel_amount"]["total"], c["canceled_amount"]["total"],
        c["cancel_available_amount"]["total"], c["amount"]["total"], c["payload"]),
       ("PART_CANCEL_PAYMENT", 2000, 2000, 3000, 5000, "고객 변심"))
    kakao_err(kakao_post("cancel", {"tid": tid, "cancel_amount": 1000,
                                    "cancel_tax_free_amount": 0,
                                    "cancel_available_amount": 5000}), -798)
    kakao_err(kakao_post("cancel", {"tid": tid, "cancel_amount": 3001,
                                    "cancel_tax_free_amount": 0}), -798)
    r = kakao_post("cancel", {"tid": tid, "cancel_amount": 3000, "cancel_tax_free_amount": 0,
                              "cancel_available_amount": 3000})
    eq((r.status, r.json()["status"], r.json()["cancel_available_amount"]["total"]),
       (200, "CANCEL_PAYMENT", 0))
    kakao_err(kakao_post("cancel", {"tid": tid, "cancel_amount": 1,
                                    "cancel_tax_free_amount": 0}), -799)
    unpaid = kakao_ready(uid(), 1000)["tid"]
    kakao_err(kakao_post("cancel", {"tid": unpaid, "cancel_amount": 1,
                                    "cancel_tax_free_amount": 0}), -799)
    kakao_err(kakao_post("cancel", {"tid": "T0000000000000000000", "cancel_amount": 1,
                                    "cancel_tax_free_amount": 0}), -721)
    o = kakao_post("order", {"tid": tid}).json()
    eq([(d["payment_action_type"], d["amount"]) for d in o["payment_action_details"]],
       [("PAYMENT", 5000), ("CANCEL", 2000), ("CANCEL", 3000)])
    eq([(x["kind"], x["amount"], x["balance"]) for x in records(order_id=oid)],
       [("approve", 5000, 5000), ("cancel", 2000, 3000), ("cancel", 3000, 0)])


def test_kakao_second_approve_while_first_runs_is_user_locked():
    oid = uid()
    tid = kakao_ready(oid, 3000)["tid"]
    token = kakao_authenticate(tid)
    body = {"tid": tid, "partner_order_id": oid, "partner_user_id": "user-1", "pg_token": token}
    out = {}
    with faults("kakaopay approve latency_ms=1500 order=%s" % oid):
        t = threading.Thread(target=lambda: out.update(r=kakao_post("approve", body)))
        t.start()
        time.sleep(0.4)
        doc = kakao_err(kakao_post("approve", body), -780)
        eq(doc["extras"]["method_result_code"], "USER_LOCKED")
        t.join()
    eq(out["r"].status, 200)
    eq(len(records(order_id=oid)), 1)


# ---- fault knobs -------------------------------------------------------------------------

def test_fault_status_with_count():
    oid = uid()
    pk = toss_authenticate(oid, 6000)
    key = uid("idem")
    body = {"paymentKey": pk, "orderId": oid, "amount": 6000}
    with faults("toss confirm status=500 count=2 order=%s" % oid):
        for _ in range(2):
            toss_err(toss_post("/v1/payments/confirm", body, key=key), 500,
                     "FAILED_INTERNAL_SYSTEM_PROCESSING")
        eq(records(order_id=oid), [], "a faulted request does nothing")
        r = toss_post("/v1/payments/confirm", body, key=key)
        eq((r.status, r.json()["status"]), (200, "DONE"), "the same key works afterwards")
    with faults("kakaopay ready status=503 count=1"):
        r = kakao_post("ready", {"partner_order_id": uid()})
        eq((r.status, r.json()["error_code"]), (503, -9798))


def test_fault_latency():
    oid = uid()
    pk = toss_authenticate(oid, 1000)
    t0 = time.monotonic()
    eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").status, 200)
    fast = time.monotonic() - t0
    with faults("toss lookup latency_ms=300 order=%s\ntoss lookup latency_ms=200 order=%s"
                % (oid, oid)):
        t0 = time.monotonic()
        eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").status, 200)
        slow = time.monotonic() - t0
        t0 = time.monotonic()
        eq(call("GET", "/toss/v1/payments/orders/" + uid(), auth="toss").status, 404)
        other = time.monotonic() - t0
    if not (slow >= 0.5 and fast < 0.25 and other < 0.25):
        raise AssertionError("latency: fast %.3f slow %.3f other %.3f" % (fast, slow, other))


def test_fault_reset_does_nothing():
    oid = uid()
    pk = toss_authenticate(oid, 2500)
    body = {"paymentKey": pk, "orderId": oid, "amount": 2500}
    with faults("toss confirm reset order=%s" % oid):
        no_answer(lambda: toss_post("/v1/payments/confirm", body))
    eq(records(order_id=oid), [])
    eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").json()["status"], "IN_PROGRESS")
    oid2 = uid()
    tid = kakao_ready(oid2, 1000)["tid"]
    token = kakao_authenticate(tid)
    with faults("kakaopay approve reset prob=1"):
        no_answer(lambda: kakao_post("approve", {"tid": tid, "partner_order_id": oid2,
                                                 "partner_user_id": "user-1",
                                                 "pg_token": token}))
    eq(kakao_post("order", {"tid": tid}).json()["status"], "AUTH_PASSWORD")


def test_fault_drop_approves_then_closes():
    oid = uid()
    pk = toss_authenticate(oid, 3500)
    key = uid("idem")
    body = {"paymentKey": pk, "orderId": oid, "amount": 3500}
    with faults("toss confirm drop count=1 order=%s" % oid):
        no_answer(lambda: toss_post("/v1/payments/confirm", body, key=key))
        eq([x["kind"] for x in records(order_id=oid)], ["approve"], "the PG approved")
        doc = call("GET", "/toss/v1/payments/orders/" + oid, auth="toss").json()
        eq(doc["status"], "DONE")
        r = toss_post("/v1/payments/confirm", body, key=key)
        eq((r.status, r.json()["approvedAt"]), (200, doc["approvedAt"]),
           "a retry with the same key gets the approval")
    eq(len(records(order_id=oid)), 1, "approved once")
    oid2 = uid()
    tid = kakao_ready(oid2, 1000)["tid"]
    token = kakao_authenticate(tid)
    approve = {"tid": tid, "partner_order_id": oid2, "partner_user_id": "user-1",
               "pg_token": token}
    with faults("kakaopay approve drop order=%s" % oid2):
        no_answer(lambda: kakao_post("approve", approve))
    eq(kakao_post("order", {"tid": tid}).json()["status"], "SUCCESS_PAYMENT")
    kakao_err(kakao_post("approve", approve), -702)
    eq(len(records(order_id=oid2)), 1)


def test_fault_timeout_holds_then_closes():
    oid = uid()
    pk = toss_authenticate(oid, 1200)
    with faults("toss confirm timeout=1.5 order=%s" % oid):
        t0 = time.monotonic()
        e = no_answer(lambda: toss_post("/v1/payments/confirm", {
            "paymentKey": pk, "orderId": oid, "amount": 1200}, timeout=0.5))
        if not isinstance(e, socket.timeout) or time.monotonic() - t0 > 1.4:
            raise AssertionError("expected a client timeout, got %r" % e)
        # A patient client sees the connection closed without an answer.
        e = no_answer(lambda: toss_post("/v1/payments/confirm", {
            "paymentKey": pk, "orderId": oid, "amount": 1200}, timeout=5))
        if isinstance(e, socket.timeout):
            raise AssertionError("held longer than the rule says")
    eq(records(order_id=oid), [])
    eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").json()["status"], "IN_PROGRESS")


def test_fault_error_refuses_and_aborts():
    oid = uid()
    pk = toss_authenticate(oid, 8000)
    body = {"paymentKey": pk, "orderId": oid, "amount": 8000}
    with faults("toss confirm error=REJECT_CARD_COMPANY count=1 order=%s" % oid):
        toss_err(toss_post("/v1/payments/confirm", body), 403, "REJECT_CARD_COMPANY")
    doc = call("GET", "/toss/v1/payments/" + pk, auth="toss").json()
    eq((doc["status"], doc["failure"]["code"]), ("ABORTED", "REJECT_CARD_COMPANY"))
    r = toss_post("/v1/payments/confirm", body)
    eq((r.status, r.json()["code"]), (400, "NOT_AVAILABLE_PAYMENT"))
    # A code that does not say no leaves the payment confirmable.
    oid2 = uid()
    pk2 = toss_authenticate(oid2, 8000)
    body2 = {"paymentKey": pk2, "orderId": oid2, "amount": 8000}
    with faults("toss confirm error=PROVIDER_ERROR count=1 order=%s" % oid2):
        toss_err(toss_post("/v1/payments/confirm", body2), 400, "PROVIDER_ERROR")
    eq(toss_post("/v1/payments/confirm", body2).status, 200)
    # KakaoPay: -780 fails the payment.
    oid3 = uid()
    tid = kakao_ready(oid3, 1000)["tid"]
    token = kakao_authenticate(tid)
    with faults("kakaopay approve error=-780 order=%s" % oid3):
        doc = kakao_err(kakao_post("approve", {"tid": tid, "partner_order_id": oid3,
                                               "partner_user_id": "user-1",
                                               "pg_token": token}), -780)
        eq(doc["extras"]["method_result_code"], "CARD_REJECTED")
    eq(kakao_post("order", {"tid": tid}).json()["status"], "FAIL_PAYMENT")
    eq(records(order_id=oid) + records(order_id=oid3), [])


def test_fault_badjson_and_prob_and_wildcards():
    oid = uid()
    pk = toss_authenticate(oid, 4400)
    with faults("toss confirm badjson order=%s" % oid):
        r = toss_post("/v1/payments/confirm", {"paymentKey": pk, "orderId": oid, "amount": 4400})
        eq(r.status, 200)
        try:
            r.json()
        except ValueError:
            pass
        else:
            raise AssertionError("the body parsed")
    eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").json()["status"], "DONE")
    with faults("toss lookup status=502 prob=0 order=%s" % oid):
        for _ in range(5):
            eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").status, 200)
    with faults("toss lookup status=502 prob=1 order=%s" % oid):
        for _ in range(3):
            eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").status, 502)
    tid = kakao_ready(oid, 1000)["tid"]
    with faults("# a comment\nnot a rule\ntoss nothing status=500\ntoss lookup status=abc\n"
                "toss lookup prob=7 status=500\n* * status=504 order=%s   # both PGs" % oid):
        eq(call("GET", "/toss/v1/payments/" + pk, auth="toss").status, 504)
        eq(kakao_post("order", {"tid": tid}).status, 504)
        eq(call("GET", "/toss/v1/payments/orders/" + uid(), auth="toss").status, 404,
           "other orders untouched; bad lines ignored")


def test_fault_on_hosted_pages():
    oid = uid()
    with faults("toss checkout status=500 count=1 order=%s" % oid):
        r = call("GET", checkout_query(oid, 1000))
        eq(r.status, 500)
        if not r.headers["content-type"].startswith("text/html"):
            raise AssertionError("a browser page gets HTML")
        eq(call("GET", checkout_query(oid, 1000)).status, 200)
    tid = kakao_ready(uid(), 1000)["tid"]
    with faults("kakaopay checkout latency_ms=300 order=%s" % tid):
        t0 = time.monotonic()
        eq(call("GET", "/kakaopay/fake/pay/" + tid).status, 200)
        if time.monotonic() - t0 < 0.3:
            raise AssertionError("no latency")


# ---- records and settlement files --------------------------------------------------------

def test_records_filters():
    oid = uid()
    pk, _ = toss_paid(oid, 1000)
    toss_post("/v1/payments/%s/cancel" % pk, {"cancelReason": "x"})
    eq([x["kind"] for x in records(order_id=oid)], ["approve", "cancel"])
    eq([x["kind"] for x in records(order_id=oid, kind="cancel")], ["cancel"])
    eq(records(order_id=oid, pg="kakaopay"), [])
    eq(call("POST", "/fake/records", {}).status, 405)
    eq(call("GET", "/fake/nothing").status, 404)
    with open(os.path.join(FAKES, "pg-ledger.jsonl"), encoding="utf-8") as f:
        mine = [json.loads(line) for line in f if oid in line]
    eq(mine, records(order_id=oid), "GET /fake/records reads the ledger file")


def test_settlement_file():
    toid, koid = uid(), uid()
    pk, doc = toss_paid(toid, 12345)
    toss_post("/v1/payments/%s/cancel" % pk, {"cancelReason": "x", "cancelAmount": 345})
    tid, a = kakao_paid(koid, 10000)
    day = now().date().isoformat()
    r = call("GET", "/fake/settlement-file?pg=toss&date=" + day)
    eq(r.status, 200)
    if not r.headers["content-type"].startswith("text/csv"):
        raise AssertionError(r.headers["content-type"])
    lines = r.text.splitlines()
    eq(lines[0], "settlement_date,pg,type,payment_key,order_id,transaction_key,amount,fee,net,"
                 "transaction_at")
    mine = [ln.split(",") for ln in lines[1:] if toid in ln]
    cancel_tx = records(order_id=toid, kind="cancel")[0]
    eq(mine, [[day, "toss", "approve", pk, toid, doc["lastTransactionKey"], "12345", "407",
               "11938", doc["approvedAt"]],
              [day, "toss", "cancel", pk, toid, cancel_tx["transaction_key"], "-345", "-11",
               "-334", cancel_tx["time"]]])
    if any(koid in ln for ln in lines):
        raise AssertionError("a KakaoPay row in Toss's file")
    with open(r.headers["x-fake-file"], encoding="utf-8") as f:
        eq(f.read(), r.text, "the file written")
    eq(os.path.basename(r.headers["x-fake-file"]), "settlement-toss-%s.csv" % day)
    r = call("GET", "/fake/settlement-file?pg=kakaopay&date=" + day)
    mine = [ln.split(",") for ln in r.text.splitlines() if koid in ln]
    eq(mine, [[day, "kakaopay", "approve", tid, koid, a["aid"], "10000", "300", "9700",
               records(order_id=koid)[0]["time"]]])
    r = call("GET", "/fake/settlement-file?pg=toss&date=1999-01-01")
    eq(r.text, lines[0] + "\n", "a day without transactions")
    for q in ("pg=naver&date=" + day, "pg=toss", "pg=toss&date=2025-13-01",
              "pg=toss&date=20250101", "date=" + day):
        eq(call("GET", "/fake/settlement-file?" + q).status, 400, q)
