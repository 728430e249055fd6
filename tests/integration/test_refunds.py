"""Refunds (issue 5, section Refunds): full and partial refunds of paid orders through nginx and
the FastCGI handlers, the refund job on the payment workers cancelling at the fake PG
(tests/fakes/pg.py) with Idempotency-Key "refund-<refundId>", and the completion: refund DONE,
order PARTIALLY_CANCELED / CANCELED, stock back exactly, ledger posting refund:<refundId>,
refund.settle and notify jobs. Reservations are guarded, so refunds that together pass what was
paid can never both be accepted (Hyperswitch #13182); a definite PG refusal releases the
reservation, an unknown answer is retried with the same key and never released.

Helpers kept here (the lead may fold them into jt.py): paid_order, refund, cancels,
refund_row, wait_refund, order_row, line_canceled."""
import http.client
import json
import os
import re
import urllib.parse

from jt import (Session, count, envelope, eq, eventually, follow_pg, make_product, make_user,
                parallel, pg_faults, sql, stock)
from jt import order_events as events
from jt import order_status as status

PG_PORT = int(os.environ.get("JT_HTTP_PORT", "8080")) + 2


# ---- helpers --------------------------------------------------------------------------------

def paid_order(sess, lines, method):
    """A PAID order of lines [(product_id, quantity)] paid with method (points, toss,
    kakaopay, the PG ones through the fake PG's window); returns the order's JSON."""
    body = {"products": [{"id": p, "quantity": q} for p, q in lines], "paymentMethod": method}
    r = sess.post_json("/api/v1/orders", body)
    eq(r.status, 201, "order created: %r" % r.body[:300])
    o = r.json()
    if method != "points":
        back = follow_pg(o["payment"]["redirectUrl"],
                         "outcome=" + ("success" if method == "toss" else "approve"))
        eq(sess.get(back).status, 200, "order received page")
        eventually(lambda: status(o["orderId"]) == "PAID", timeout=20,
                   what="PAID (now %s)" % status(o["orderId"]))
    eq(status(o["orderId"]), "PAID", "paid")
    return o


def refund(sess, oid, body=None, key=None, csrf=True):
    """POST /api/v1/orders/{oid}/refunds with body (default {}) and an optional key."""
    h = {}
    if key is not None:
        h["Idempotency-Key"] = key
    return sess.post_json("/api/v1/orders/%s/refunds" % oid, {} if body is None else body,
                          csrf=csrf, **h)


def cancels(oid):
    """The fake PG's own record of cancels for order oid: [(amount, balance)]."""
    c = http.client.HTTPConnection("127.0.0.1", PG_PORT, timeout=10)
    c.request("GET", "/fake/records?" + urllib.parse.urlencode({"order_id": oid,
                                                               "kind": "cancel"}))
    r = c.getresponse()
    body = r.read()
    eq(r.status, 200, "records")
    return [(x["amount"], x["balance"]) for x in json.loads(body)]


def refund_row(rid):
    """(status, amount, fail_code or '') of refund rid."""
    row = sql("SELECT status, amount, IFNULL(fail_code, '') FROM refunds WHERE public_id = '%s'"
              % rid)[0]
    return row[0], int(row[1]), row[2]


def wait_refund(rid, want, timeout=30):
    eventually(lambda: refund_row(rid)[0] == want, timeout=timeout,
               what="refund %s %s (now %s)" % (rid, want, refund_row(rid)[0]))


def order_row(oid):
    """(status, refunded_amount) of order oid."""
    row = sql("SELECT status, refunded_amount FROM orders WHERE public_id = '%s'" % oid)[0]
    return row[0], int(row[1])


def line_canceled(oid, pid):
    return count("SELECT l.canceled_quantity FROM order_lines l JOIN orders o ON o.id ="
                 " l.order_id WHERE o.public_id = '%s' AND l.product_id = %d" % (oid, pid))


def refunds_of(oid):
    return count("SELECT COUNT(*) FROM refunds r JOIN orders o ON o.id = r.order_id"
                 " WHERE o.public_id = '%s'" % oid)


def refund_jobs(rid, kind):
    return count("SELECT COUNT(*) FROM outbox WHERE kind = '%s' AND payload LIKE '%%\"%s\"%%'"
                 % (kind, rid))


def posting(rid):
    """The ledger's refund:<rid> transfers: [(debit, credit, amount)]."""
    return [(r[0], r[1], int(r[2])) for r in sql(
        "SELECT a.code, b.code, t.amount FROM ledger_transfers t"
        " JOIN ledger_accounts a ON a.id = t.debit_account_id"
        " JOIN ledger_accounts b ON b.id = t.credit_account_id"
        " WHERE t.posting_id = 'refund:%s'" % rid)]


def payment_status(oid):
    return sql("SELECT p.status FROM payments p JOIN orders o ON o.id = p.order_id"
               " WHERE o.public_id = '%s'" % oid)[0][0]


def assert_done_once(oid, rid, amount, pg):
    """Refund rid is DONE with its effects, once."""
    eq(refund_row(rid), ("DONE", amount, ""), "refund row")
    eq(refund_jobs(rid, "refund.settle"), 1, "one refund.settle job")
    eq(refund_jobs(rid, "notify"), 1, "one notify job")
    legs = posting(rid)
    eq(sum(x[2] for x in legs), amount, "ledger posting refund:%s" % rid)
    eq(legs[0][0], "refunds", "debit refunds")
    eq(legs[0][1], "pg_receivable:" + pg if pg != "points" else legs[0][1], "credit account")


# ---- full refunds ---------------------------------------------------------------------------

def test_full_refund_of_a_toss_order_cancels_at_the_pg_once_and_gives_stock_back():
    a, b = make_product(price=1500, stock=10), make_product(price=4000, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2), (b, 1)], "toss")
    oid = o["orderId"]
    eq((stock(a), stock(b)), (8, 4), "sold")
    r = refund(s, oid, {"reason": "단순 변심"})
    eq(r.status, 202, "accepted: %r" % r.body[:300])
    doc = r.json()
    eq((doc["orderId"], doc["amount"], doc["status"], doc["reason"]),
       (oid, 7000, "REQUESTED", "단순 변심"), "the refund")
    eq(sorted((x["productId"], x["quantity"], x["amount"]) for x in doc["lines"]),
       sorted([(a, 2, 3000), (b, 1, 4000)]), "every line")
    wait_refund(doc["refundId"], "DONE")
    eq(order_row(oid), ("CANCELED", 7000), "order")
    eq((stock(a), stock(b)), (10, 5), "stock back exactly")
    eq(cancels(oid), [(7000, 0)], "one cancel at the PG")
    eq(payment_status(oid), "CANCELED", "payments row")
    assert_done_once(oid, doc["refundId"], 7000, "toss")
    eq(events(oid)[-2:], ["PAID", "CANCELED"], "timeline")
    got = s.get("/api/v1/orders/%s/refunds" % oid).json()["refunds"]
    eq([(x["refundId"], x["status"], x["amount"]) for x in got],
       [(doc["refundId"], "DONE", 7000)], "listed")
    envelope(refund(s, oid), 409, "REFUND_NOT_ALLOWED")


def test_full_refund_of_a_kakaopay_order():
    a = make_product(price=3300, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2)], "kakaopay")
    oid = o["orderId"]
    r = refund(s, oid)
    eq(r.status, 202, "accepted: %r" % r.body[:300])
    rid = r.json()["refundId"]
    wait_refund(rid, "DONE")
    eq(order_row(oid), ("CANCELED", 6600), "order")
    eq(stock(a), 5, "stock back")
    eq(cancels(oid), [(6600, 0)], "one cancel at the PG")
    assert_done_once(oid, rid, 6600, "kakaopay")


def test_full_refund_of_a_points_order_is_done_at_once_with_the_points_back():
    a = make_product(price=2500, stock=10)
    uid = make_user(points=10000)
    s = Session(uid)
    o = paid_order(s, [(a, 3)], "points")
    oid = o["orderId"]
    eq(count("SELECT points FROM users WHERE id = %d" % uid), 2500, "spent")
    r = refund(s, oid)
    eq(r.status, 200, "done at once: %r" % r.body[:300])
    doc = r.json()
    eq((doc["status"], doc["amount"]), ("DONE", 7500), "refund")
    eq(count("SELECT points FROM users WHERE id = %d" % uid), 10000, "points back")
    eq(order_row(oid), ("CANCELED", 7500), "order")
    eq(stock(a), 10, "stock back")
    eq(refund_jobs(doc["refundId"], "refund"), 0, "no PG job")
    eq(cancels(oid), [], "nothing at any PG")
    legs = posting(doc["refundId"])
    eq(legs, [("refunds", "points:%d" % uid, 7500)], "ledger")
    eq(refund_jobs(doc["refundId"], "refund.settle"), 1, "refund.settle job")
    eq(refund_jobs(doc["refundId"], "notify"), 1, "notify job")


def test_order_cancel_of_a_paid_order_means_a_full_refund():
    a = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2)], "toss")
    oid = o["orderId"]
    r = s.post_json("/api/v1/orders/%s/cancel" % oid, {}, **{"Idempotency-Key": "cxl-1"})
    eq(r.status, 202, "refund queued: %r" % r.body[:300])
    doc = r.json()
    eq((doc["orderId"], doc["refund"]["amount"]), (oid, 2000), "order with its refund")
    again = s.post_json("/api/v1/orders/%s/cancel" % oid, {}, **{"Idempotency-Key": "cxl-1"})
    eq(again.status, 200, "replay")
    eq(again.json()["refund"]["refundId"], doc["refund"]["refundId"], "the same refund")
    wait_refund(doc["refund"]["refundId"], "DONE")
    eq(status(oid), "CANCELED", "cancelled")
    eq(stock(a), 5, "stock back")
    eq(cancels(oid), [(2000, 0)], "one cancel")
    # The replay after the refund is done (the order CANCELED) still answers with that refund,
    # not as the cancel of an unpaid order.
    late = s.post_json("/api/v1/orders/%s/cancel" % oid, {}, **{"Idempotency-Key": "cxl-1"})
    eq(late.status, 200, "late replay: %r" % late.body[:300])
    eq(late.json()["refund"]["refundId"], doc["refund"]["refundId"], "the same refund, late")
    eq(cancels(oid), [(2000, 0)], "still one cancel")


# ---- partial refunds -----------------------------------------------------------------------

def test_partial_refund_by_lines_then_the_rest_ends_canceled_with_exact_stock():
    a, b = make_product(price=1000, stock=10), make_product(price=2500, stock=10)
    s = Session(make_user())
    o = paid_order(s, [(a, 3), (b, 2)], "toss")
    oid = o["orderId"]
    r = refund(s, oid, {"lines": [{"productId": a, "quantity": 1},
                                  {"productId": b, "quantity": 1}]})
    eq(r.status, 202, "first: %r" % r.body[:300])
    first = r.json()
    eq(first["amount"], 3500, "amount from the lines")
    wait_refund(first["refundId"], "DONE")
    eq(order_row(oid), ("PARTIALLY_CANCELED", 3500), "partially")
    eq(payment_status(oid), "PARTIAL_CANCELED", "payments row")
    eq((stock(a), stock(b)), (8, 9), "one of each back")
    eq((line_canceled(oid, a), line_canceled(oid, b)), (1, 1), "lines")
    envelope(refund(s, oid, {"lines": [{"productId": b, "quantity": 2}]}), 409,
             "REFUND_EXCEEDS_BALANCE")
    r = refund(s, oid)
    eq(r.status, 202, "the rest: %r" % r.body[:300])
    rest = r.json()
    eq(rest["amount"], 4500, "what is left")
    eq(sorted((x["productId"], x["quantity"]) for x in rest["lines"]), sorted([(a, 2), (b, 1)]),
       "what is left, by line")
    wait_refund(rest["refundId"], "DONE")
    eq(order_row(oid), ("CANCELED", 8000), "cancelled")
    eq((stock(a), stock(b)), (10, 10), "all back, exactly")
    eq(cancels(oid), [(3500, 4500), (4500, 0)], "two cancels at the PG")
    eq(events(oid)[-3:], ["PAID", "PARTIALLY_CANCELED", "CANCELED"], "timeline")
    envelope(refund(s, oid), 409, "REFUND_NOT_ALLOWED")


def test_two_concurrent_partial_refunds_that_together_exceed_accept_exactly_one():
    a = make_product(price=1000, stock=10)
    s = Session(make_user())
    o = paid_order(s, [(a, 3)], "toss")
    oid = o["orderId"]
    body = {"lines": [{"productId": a, "quantity": 2}]}
    res = parallel(2, lambda i: refund(s, oid, body))
    codes = sorted(r.status for r in res)
    eq(codes, [202, 409], "one accepted, one refused")
    loser = [r for r in res if r.status == 409][0]
    envelope(loser, 409, "REFUND_EXCEEDS_BALANCE")
    rid = [r for r in res if r.status == 202][0].json()["refundId"]
    wait_refund(rid, "DONE")
    eq(refunds_of(oid), 1, "one refund row")
    eq(cancels(oid), [(2000, 1000)], "one cancel at the PG")
    eq(order_row(oid), ("PARTIALLY_CANCELED", 2000), "order")
    eq(stock(a), 9, "two back")


def test_twenty_identical_full_refunds_make_one_refund_and_one_pg_cancel():
    a = make_product(price=1200, stock=30)
    s = Session(make_user())
    o = paid_order(s, [(a, 5)], "toss")
    oid = o["orderId"]
    res = parallel(20, lambda i: refund(s, oid, key="same-key-20"))
    eq(sorted(r.status for r in res), [200] * 19 + [202], "one accepted, the rest replays")
    ids = {r.json()["refundId"] for r in res}
    eq(len(ids), 1, "one refund")
    # Without a key every request is new: the first takes everything, the rest find nothing.
    b = make_product(price=700, stock=30)
    o2 = paid_order(s, [(b, 4)], "toss")
    res2 = parallel(20, lambda i: refund(s, o2["orderId"]))
    eq(sorted(r.status for r in res2), [202] + [409] * 19, "one accepted")
    for r in res2:
        if r.status == 409:
            # Nothing left while the refund is in flight; once DONE the order is CANCELED.
            doc = r.json()
            if doc["error"]["code"] not in ("REFUND_EXCEEDS_BALANCE", "REFUND_NOT_ALLOWED"):
                raise AssertionError("refused as %r" % doc)
    rid2 = [r for r in res2 if r.status == 202][0].json()["refundId"]
    wait_refund(ids.pop(), "DONE")
    wait_refund(rid2, "DONE")
    eq((refunds_of(oid), refunds_of(o2["orderId"])), (1, 1), "one refund each")
    eq(cancels(oid), [(6000, 0)], "one PG cancel")
    eq(cancels(o2["orderId"]), [(2800, 0)], "one PG cancel")
    eq((stock(a), stock(b)), (30, 30), "stock back once")


# ---- the PG's answers ----------------------------------------------------------------------

def test_a_pg_refusal_fails_the_refund_and_the_amount_can_be_refunded_again():
    a = make_product(price=2000, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2)], "toss")
    oid = o["orderId"]
    pg_faults("toss cancel error=NOT_CANCELABLE_PAYMENT order=%s\n" % oid)
    try:
        r = refund(s, oid, {"lines": [{"productId": a, "quantity": 1}]})
        eq(r.status, 202, "accepted")
        rid = r.json()["refundId"]
        wait_refund(rid, "FAILED")
    finally:
        pg_faults("")
    eq(refund_row(rid), ("FAILED", 2000, "NOT_CANCELABLE_PAYMENT"), "the PG's code kept")
    eq(order_row(oid), ("PAID", 0), "reservation given back")
    eq(line_canceled(oid, a), 0, "line given back")
    eq(stock(a), 3, "no stock back")
    eq(cancels(oid), [], "no cancel at the PG")
    eq(refund_jobs(rid, "refund.settle"), 0, "no settle job")
    eq(posting(rid), [], "no posting")
    got = s.get("/api/v1/orders/%s/refunds" % oid).json()["refunds"]
    eq([(x["status"], x["failCode"]) for x in got], [("FAILED", "NOT_CANCELABLE_PAYMENT")],
       "the shopper sees why")
    r = refund(s, oid)
    eq(r.status, 202, "again, everything")
    rid2 = r.json()["refundId"]
    wait_refund(rid2, "DONE")
    eq(order_row(oid), ("CANCELED", 4000), "refunded")
    eq(cancels(oid), [(4000, 0)], "one cancel")
    eq(stock(a), 5, "stock back")


def test_a_pg_server_error_is_retried_with_the_same_key_and_cancels_once():
    a = make_product(price=3000, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 1)], "toss")
    oid = o["orderId"]
    pg_faults("toss cancel status=500 count=2 order=%s\n" % oid)
    try:
        r = refund(s, oid)
        eq(r.status, 202, "accepted")
        rid = r.json()["refundId"]
        wait_refund(rid, "DONE", timeout=40)
    finally:
        pg_faults("")
    eq(cancels(oid), [(3000, 0)], "one cancel at the PG")
    attempts = count("SELECT attempts FROM outbox WHERE kind = 'refund' AND payload LIKE"
                     " '%%\"%s\"%%'" % rid)
    if attempts < 3:
        raise AssertionError("retried: %d attempts" % attempts)
    eq(order_row(oid), ("CANCELED", 3000), "order")
    if "FAILED" in [refund_row(rid)[0]]:
        raise AssertionError("never FAILED")


def test_a_dropped_cancel_answer_is_done_once_not_twice_toss_and_kakaopay():
    for method in ("toss", "kakaopay"):
        a = make_product(price=1800, stock=5)
        s = Session(make_user())
        o = paid_order(s, [(a, 2)], method)
        oid = o["orderId"]
        pg_faults("%s cancel drop count=1 order=%s\n" % (method, oid))
        try:
            r = refund(s, oid, {"lines": [{"productId": a, "quantity": 1}]})
            eq(r.status, 202, "accepted")
            rid = r.json()["refundId"]
            wait_refund(rid, "DONE", timeout=40)
        finally:
            pg_faults("")
        eq(cancels(oid), [(1800, 1800)], "%s: one cancel at the PG" % method)
        eq(order_row(oid), ("PARTIALLY_CANCELED", 1800), "%s: order" % method)
        eq(stock(a), 4, "%s: one back" % method)


# ---- refusals ------------------------------------------------------------------------------

def snapshot(oid, pid):
    return (order_row(oid), line_canceled(oid, pid), stock(pid), refunds_of(oid))


def test_someone_elses_order_is_not_found_and_untouched():
    a = make_product(price=1000, stock=5)
    owner = Session(make_user())
    o = paid_order(owner, [(a, 2)], "toss")
    oid = o["orderId"]
    before = snapshot(oid, a)
    thief = Session(make_user())
    envelope(refund(thief, oid), 404, "ORDER_NOT_FOUND")
    envelope(refund(thief, oid, {"lines": [{"productId": a, "quantity": 1}]}), 404,
             "ORDER_NOT_FOUND")
    envelope(thief.get("/api/v1/orders/%s/refunds" % oid), 404, "ORDER_NOT_FOUND")
    envelope(thief.post_json("/api/v1/orders/%s/cancel" % oid, {}), 404, "ORDER_NOT_FOUND")
    eq(thief.post_form("/orders/%s/refund" % oid, {"qty_%d" % a: "1", "key": "k1"}).status, 404,
       "form")
    envelope(refund(thief, "x" * 24), 404, "ORDER_NOT_FOUND")
    envelope(refund(thief, "nope"), 404, "ORDER_NOT_FOUND")
    eq(snapshot(oid, a), before, "nothing changed")
    eq(status(oid), "PAID", "still paid")


def test_an_unpaid_order_cannot_be_refunded():
    a = make_product(price=1000, stock=5)
    s = Session(make_user())
    r = s.post_json("/api/v1/orders", {"products": [{"id": a, "quantity": 1}],
                                       "paymentMethod": "toss"})
    oid = r.json()["orderId"]
    before = snapshot(oid, a)
    envelope(refund(s, oid), 409, "REFUND_NOT_ALLOWED")
    envelope(refund(s, oid, {"lines": [{"productId": a, "quantity": 1}]}), 409,
             "REFUND_NOT_ALLOWED")
    eq(snapshot(oid, a), before, "nothing changed")
    eq(status(oid), "PENDING", "still pending")


def test_past_the_shoppers_window_is_refused():
    a = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2)], "toss")
    oid = o["orderId"]
    page = s.get("/orders/" + oid)
    if 'id="refund-link"' not in page.text:
        raise AssertionError("the refund link shows while the window is open")
    sql("UPDATE orders SET paid_at = NOW(3) - INTERVAL 8 DAY WHERE public_id = '%s'" % oid)
    before = snapshot(oid, a)
    envelope(refund(s, oid), 409, "REFUND_PERIOD_OVER")
    envelope(s.post_json("/api/v1/orders/%s/cancel" % oid, {}), 409, "REFUND_PERIOD_OVER")
    eq(snapshot(oid, a), before, "nothing changed")
    page = s.get("/orders/" + oid)
    eq(page.status, 200, "order page")
    if 'id="refund-link"' in page.text or 'id="cancel-link"' in page.text:
        raise AssertionError("no refund or cancel link past the window")
    eq(s.get("/orders/%s/refund" % oid).status, 409, "no refund form past the window")
    eq(s.get("/orders/%s/cancel" % oid).status, 409, "no cancel confirmation either")


def test_replays_with_the_same_key_return_the_first_refund():
    a, b = make_product(price=1000, stock=5), make_product(price=500, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2), (b, 2)], "toss")
    oid = o["orderId"]
    body = {"lines": [{"productId": a, "quantity": 1}]}
    first = refund(s, oid, body, key="rk-1")
    eq(first.status, 202, "accepted")
    rid = first.json()["refundId"]
    again = refund(s, oid, body, key="rk-1")
    eq(again.status, 200, "replayed")
    eq(again.json()["refundId"], rid, "same refund")
    envelope(refund(s, oid, {"lines": [{"productId": a, "quantity": 2}]}, key="rk-1"), 422,
             "IDEMPOTENCY_KEY_REUSED")
    envelope(refund(s, oid, {"lines": [{"productId": b, "quantity": 1}]}, key="rk-1"), 422,
             "IDEMPOTENCY_KEY_REUSED")
    envelope(refund(s, oid, key="rk-1"), 422, "IDEMPOTENCY_KEY_REUSED")
    wait_refund(rid, "DONE")
    late = refund(s, oid, body, key="rk-1")
    eq(late.status, 200, "replayed after DONE")
    eq((late.json()["refundId"], late.json()["status"]), (rid, "DONE"), "its state now")
    eq(refunds_of(oid), 1, "one refund")
    eq(cancels(oid), [(1000, 2000)], "one cancel")
    envelope(refund(s, oid, body, key="bad key!"), 400, "IDEMPOTENCY_KEY_INVALID")
    envelope(refund(s, oid, body, key="k" * 65), 400, "IDEMPOTENCY_KEY_INVALID")


def test_malformed_bodies_are_refused_and_change_nothing():
    a = make_product(price=1000, stock=5)
    other = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2)], "toss")
    oid = o["orderId"]
    before = snapshot(oid, a)
    line = lambda **kw: {"lines": [dict({"productId": a, "quantity": 1}, **kw)]}
    cases = [
        ([], "REFUND_BODY_INVALID"),
        ([{"lines": []}], "REFUND_BODY_INVALID"),
        ({"extra": 1}, "REFUND_BODY_INVALID"),
        ({"lines": "all"}, "REFUND_LINES_INVALID"),
        ({"lines": []}, "REFUND_LINES_INVALID"),
        ({"lines": None}, "REFUND_LINES_INVALID"),
        ({"lines": [a]}, "REFUND_LINES_INVALID"),
        (line(quantity=0), "REFUND_LINES_INVALID"),
        (line(quantity=-1), "REFUND_LINES_INVALID"),
        (line(quantity=10 ** 12), "REFUND_LINES_INVALID"),
        (line(quantity=2 ** 63 - 1), "REFUND_LINES_INVALID"),
        (line(quantity="1"), "REFUND_LINES_INVALID"),
        (line(quantity=1.0), "REFUND_LINES_INVALID"),
        (line(quantity=True), "REFUND_LINES_INVALID"),
        (line(productId="a"), "REFUND_LINES_INVALID"),
        (line(productId=0), "REFUND_LINES_INVALID"),
        (line(productId=-5), "REFUND_LINES_INVALID"),
        (line(extra=1), "REFUND_LINES_INVALID"),
        ({"lines": [{"productId": a}]}, "REFUND_LINES_INVALID"),
        ({"lines": [{"productId": a, "quantity": 1}, {"productId": a, "quantity": 1}]},
         "REFUND_LINES_INVALID"),
        ({"lines": [{"productId": a, "quantity": 1}] * 500}, "REFUND_LINES_INVALID"),
        ({"reason": 5}, "REFUND_REASON_INVALID"),
        ({"reason": None}, "REFUND_REASON_INVALID"),
        ({"reason": ""}, "REFUND_REASON_INVALID"),
        ({"reason": "   "}, "REFUND_REASON_INVALID"),
        ({"reason": "가" * 201}, "REFUND_REASON_INVALID"),
        ({"reason": "a\x01b"}, "REFUND_REASON_INVALID"),
    ]
    for body, code in cases:
        envelope(refund(s, oid, body), 400, code)
    # A product not in the order is a bad line (400), more than bought is too much (409).
    envelope(refund(s, oid, {"lines": [{"productId": other, "quantity": 1}]}), 400,
             "REFUND_LINES_INVALID")
    envelope(refund(s, oid, {"lines": [{"productId": a, "quantity": 3}]}), 409,
             "REFUND_EXCEEDS_BALANCE")
    r = s.post_json("/api/v1/orders/%s/refunds" % oid, {"lines": [{"productId": a,
                                                                     "quantity": 1}]},
                    csrf=False)
    eq(r.status, 403, "no CSRF token")
    raw = s.headers()
    raw["Content-Type"] = "application/json"
    from jt import request
    eq(request("POST", "/api/v1/orders/%s/refunds" % oid, body='{"lines": [', headers=raw).status,
       400, "broken JSON")
    for text in ('"text"', '42', 'null', '{"lines": [{"productId": %d, "productId": %d,'
                 ' "quantity": 1}]}' % (a, a)):
        if request("POST", "/api/v1/orders/%s/refunds" % oid, body=text,
                   headers=raw).status != 400:
            raise AssertionError("refused: %s" % text)
    big = request("POST", "/api/v1/orders/%s/refunds" % oid,
                  body='{"reason": "%s"}' % ("a" * 2000000), headers=raw)
    if big.status not in (400, 413):
        raise AssertionError("oversize body: %d" % big.status)
    eq(snapshot(oid, a), before, "nothing changed")
    eq(cancels(oid), [], "nothing at the PG")


# ---- the page ------------------------------------------------------------------------------

def test_the_order_page_refund_form_with_csrf_refunds_once():
    a, b = make_product(price=1000, stock=5), make_product(price=3000, stock=5)
    s = Session(make_user())
    o = paid_order(s, [(a, 2), (b, 1)], "toss")
    oid = o["orderId"]
    page = s.get("/orders/" + oid).text
    for want in ('id="refund-link" href="/orders/%s/refund"' % oid,
                 'id="cancel-link" href="/orders/%s/cancel"' % oid):
        if want not in page:
            raise AssertionError("order page lacks %s" % want)
    # The form is a GET to its confirm step: nothing changes before the confirmation.
    form = s.get("/orders/%s/refund" % oid)
    eq(form.status, 200, "refund form")
    for want in ('id="refund-choose"', 'name="qty_%d"' % a, 'name="qty_%d"' % b, "novalidate"):
        if want not in form.text:
            raise AssertionError("refund form lacks %s" % want)
    before = snapshot(oid, a)
    step = "/orders/%s/refund?step=confirm&" % oid
    bad = s.get(step + "qty_%d=3&qty_%d=0" % (a, b))
    eq(bad.status, 400, "more than is left")
    if ('<p class="field-error" id="qty-%d-error">0~2 사이의 수량을 입력해 주세요.</p>' % a
            not in bad.text or 'aria-invalid="true"' not in bad.text):
        raise AssertionError("the error sits next to its field: " + bad.text)
    none = s.get(step + "qty_%d=0" % a)
    eq(none.status, 400, "nothing chosen")
    if "환불할 상품의 수량을 하나 이상 입력해 주세요." not in none.text:
        raise AssertionError("says what to do")
    long_reason = s.get(step + "qty_%d=1&reason=%s" % (a, "%EA%B0%80" * 201))
    eq(long_reason.status, 400, "reason too long")
    if 'id="reason-error"' not in long_reason.text:
        raise AssertionError("reason error next to the reason")
    eq(snapshot(oid, a), before, "nothing changed by the form's steps")
    ok = s.get(step + "qty_%d=1&qty_%d=0&reason=%%3Cb%%3E%%ED%%8C%%8C%%EC%%86%%90%%3C%%2Fb%%3E"
               % (a, b))
    eq(ok.status, 200, "confirm step")
    if ('<strong id="refund-amount">1,000</strong>원' not in ok.text or
            'name="qty_%d" value="1"' % a not in ok.text or "<b>파손" in ok.text):
        raise AssertionError("the confirmation shows the amount and carries the choice: " + ok.text)
    key = re.search(r'id="refund-form".*?name="key" value="([A-Za-z0-9]+)"', ok.text, re.S).group(1)
    fields = {"qty_%d" % a: "1", "qty_%d" % b: "0", "reason": "<b>파손</b>", "key": key}
    eq(s.post_form("/orders/%s/refund" % oid, fields, csrf=False).status, 403, "no CSRF")
    bad = dict(fields, csrf_token="wrong")
    eq(s.post_form("/orders/%s/refund" % oid, bad, csrf=False).status, 403, "wrong CSRF")
    eq(snapshot(oid, a), before, "nothing changed")
    eq(s.post_form("/orders/%s/refund" % oid, {"qty_%d" % a: "0", "key": key}).status, 400,
       "nothing chosen")
    eq(s.post_form("/orders/%s/refund" % oid, {"qty_%d" % a: "-1", "key": key}).status, 400,
       "negative")
    eq(s.post_form("/orders/%s/refund" % oid, {"qty_x": "1", "key": key}).status, 400,
       "bad field")
    eq(snapshot(oid, a), before, "nothing changed")
    r = s.post_form("/orders/%s/refund" % oid, fields)
    eq(r.status, 303, "redirect")
    eq(r.header("Location"), "/orders/%s?done=refund_requested" % oid, "to the order, saying so")
    again = s.post_form("/orders/%s/refund" % oid, fields)
    eq(again.status, 303, "a double submit")
    eq(refunds_of(oid), 1, "refunded once")
    rid = sql("SELECT r.public_id FROM refunds r JOIN orders o ON o.id = r.order_id"
              " WHERE o.public_id = '%s'" % oid)[0][0]
    done = s.get(r.header("Location")).text
    if "환불을 요청했습니다." not in done:
        raise AssertionError("the result is shown after the redirect")
    wait_refund(rid, "DONE")
    page = s.get("/orders/" + oid).text
    if 'data-refund="%s"' % rid not in page or "<b>파손" in page or "환불완료" not in page:
        raise AssertionError("the refund is listed in Korean, escaped")
    confirm = s.get("/orders/%s/cancel" % oid)
    eq(confirm.status, 200, "cancel confirmation")
    if '<strong id="refund-amount">4,000</strong>원' not in confirm.text:
        raise AssertionError("the confirmation names what is left: " + confirm.text)
    all_key = re.search(r'id="cancel-form".*?name="key" value="([A-Za-z0-9]+)"', confirm.text,
                        re.S).group(1)
    r = s.post_form("/orders/%s/cancel" % oid, {"key": all_key})
    eq(r.status, 303, "full refund of the rest")
    rid2 = sql("SELECT r.public_id FROM refunds r JOIN orders o ON o.id = r.order_id"
               " WHERE o.public_id = '%s' ORDER BY r.id DESC LIMIT 1" % oid)[0][0]
    wait_refund(rid2, "DONE")
    eq(order_row(oid), ("CANCELED", 5000), "cancelled")
    eq((stock(a), stock(b)), (5, 5), "stock back")
    eq(cancels(oid), [(1000, 4000), (4000, 0)], "two cancels")
    page = s.get("/orders/" + oid).text
    if 'id="refund-link"' in page or 'id="cancel-link"' in page:
        raise AssertionError("no refund or cancel when nothing is left")
