"""Paychecks (issue 5, outcomes we do not know): an order whose confirm ended UNKNOWN, or that
sits in CONFIRMING with its confirm job dead, is looked up at the fake PG (Toss by orderId,
KakaoPay by tid) by the janitor's payment.check jobs (lib/shop/paychecks.c, workers/job_check.c)
and ends PAID when the PG approved it (exactly one approval at the PG), FAILED with its stock
back when the PG reports it ABORTED or EXPIRED (or has never heard of it once the order's
window is over), and stays UNKNOWN, listed for an admin, when the PG never answers. The Toss
webhook (POST /api/v1/webhooks/toss) is a hint only: it queues a check, and duplicate or
out-of-order deliveries change nothing.

The janitor and the payment workers are restarted with short schedules (JANGTEO_* overrides,
see SHORT) and given back their normal ones by the last test (and at exit). Helpers here are
shared with test_pgfaults.py."""
import atexit
import base64
import http.client
import json
import os
import subprocess
import time
import urllib.parse

from jt import (PORT, RUN, SRC, Session, count, envelope, eq, eventually, follow_pg, get,
                make_product, make_user, pg_faults, post_json, request, sql, stock)
from jt import order_events as events
from jt import order_jobs as jobs
from jt import order_status as status

PG_PORT = PORT + 2
PAY_WORKERS = int(os.environ.get("JT_PAY_WORKERS", "2"))
TOSS_AUTH = "Basic " + base64.b64encode(b"test_sk_jangteo_local:").decode("ascii")

# Checks one second after an order turns UNKNOWN, then 2, 4, 8 ... seconds apart, six at
# most; a CONFIRMING order is stale after 10 s (the smallest the config allows); the janitor
# sweeps five times a second. The breakers judge only after 1,000 calls: these tests make
# the PG fail on purpose and are not about the breaker (test_pgfaults.py is).
SHORT = {
    "JANGTEO_PAYMENTS_CHECK_BASE_SECONDS": "1",
    "JANGTEO_PAYMENTS_CHECK_MAX": "6",
    "JANGTEO_PAYMENTS_CONFIRMING_STALE_SECONDS": "10",
    "JANGTEO_JANITOR_INTERVAL_MS": "200",
    "JANGTEO_JANITOR_GRACE_MS": "300",
    "JANGTEO_BREAKER_WINDOW": "1000",
    "JANGTEO_BREAKER_MIN_CALLS": "1000",
}

# ---- shared helpers (test_pgfaults.py imports them) -----------------------------------------

_env = {}   # the JANGTEO_* overrides the janitor and payment workers run with now


def schedules(env):
    """Restarts the janitor and every payment worker with the stack's environment plus env
    (JANGTEO_* overrides), unless they already run with exactly that."""
    global _env
    if env == _env:
        return
    e = dict(os.environ)
    e.update(env)
    script = os.path.join(SRC, "script", "stack")
    cmds = [["restart", "janitor"]] + [["restart-payworker", str(n)]
                                       for n in range(1, PAY_WORKERS + 1)]
    for c in cmds:
        subprocess.run([script] + c, env=e, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    _env = dict(env)


def restore():
    """The janitor and the payment workers back on the stack's own settings."""
    schedules({})


atexit.register(restore)


def fake(method, path, body=None, auth=False):
    """One request to the fake PG; returns (status, parsed JSON or None)."""
    c = http.client.HTTPConnection("127.0.0.1", PG_PORT, timeout=20)
    h = {}
    if body is not None:
        body = json.dumps(body).encode("utf-8")
        h["Content-Type"] = "application/json"
    if auth:
        h["Authorization"] = TOSS_AUTH
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        raw = r.read()
    finally:
        c.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, None


def approvals(oid=None):
    """The fake PG's own record of approvals (of order oid, or all)."""
    q = {"kind": "approve"}
    if oid is not None:
        q["order_id"] = oid
    st, recs = fake("GET", "/fake/records?" + urllib.parse.urlencode(q))
    eq(st, 200, "records")
    return recs


def pg_payment(oid):
    """Toss's Payment object for order oid, as the fake PG holds it."""
    st, p = fake("GET", "/toss/v1/payments/orders/" + oid, auth=True)
    eq(st, 200, "lookup at the fake PG")
    return p


def payments(oid):
    """The payments rows of order oid: [(pg, payment_key, amount, status)]."""
    return [tuple(r) for r in sql(
        "SELECT p.pg, p.payment_key, p.amount, p.status FROM payments p JOIN orders o ON"
        " o.id = p.order_id WHERE o.public_id = '%s'" % oid)]


def new_order(sess, pid, qty, method="toss"):
    body = {"products": [{"id": pid, "quantity": qty}], "paymentMethod": method}
    r = sess.post_json("/api/v1/orders", body)
    eq(r.status, 201, "order created: %r" % r.body[:300])
    return r.json()


def pay(sess, o, outcome="success"):
    """The shopper pays in the fake PG's window (KakaoPay: outcome "approve") and comes back
    to the shop."""
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=" + outcome)
    eq(sess.get(back).status, 200, "order received page")


def settles(oid, want, timeout=30.0):
    return eventually(lambda: status(oid) == want, timeout=timeout, interval=0.2,
                      what="order %s %s (now %s)" % (oid, want, status(oid)))


def check_row(oid):
    """(checks, needs_admin, next_at is NULL, last_result) of order oid's payment_checks row,
    or None."""
    rows = sql("SELECT c.checks, c.needs_admin, c.next_at IS NULL, IFNULL(c.last_result, '')"
               " FROM payment_checks c JOIN orders o ON o.id = c.order_id"
               " WHERE o.public_id = '%s'" % oid)
    if not rows:
        return None
    r = rows[0]
    return int(r[0]), r[1] == "1", r[2] == "1", r[3]


def assert_paid_once(oid, amount, pg="toss"):
    eq(status(oid), "PAID", "paid")
    rows = payments(oid)
    eq(len(rows), 1, "one payments row")
    eq((rows[0][0], rows[0][2], rows[0][3]), (pg, str(amount), "DONE"), "payments row")
    a = approvals(oid)
    eq(len(a), 1, "exactly one approval at the PG: %r" % a)
    eq((a[0]["amount"], a[0]["payment_key"]), (amount, rows[0][1]), "the PG's approval")
    eq(jobs(oid, "settle"), 1, "one settle job")
    eq(events(oid).count("PAID"), 1, "one PAID event")
    if "FAILED" in events(oid):
        raise AssertionError("never FAILED on the way: %r" % events(oid))


def webhook(body, content_type="application/json"):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False)
    return request("POST", "/api/v1/webhooks/toss", body=body,
                   headers={"Content-Type": content_type})


def status_changed(payment, created="2025-01-01T12:00:20.123456"):
    """A PAYMENT_STATUS_CHANGED event as Toss sends it, around a Payment object."""
    return {"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": created, "data": payment}


def unknown_soon(oid):
    """Waits until order oid is UNKNOWN (its confirm job gave up after five attempts)."""
    return settles(oid, "UNKNOWN", timeout=60)


# ---- tests ------------------------------------------------------------------------------------

def test_approvals_whose_answers_are_all_lost_go_unknown_and_the_check_finds_them_paid():
    schedules(SHORT)
    pt, pk = make_product(price=7000, stock=5), make_product(price=3300, stock=5)
    s = Session(make_user())
    t, k = new_order(s, pt, 2), new_order(s, pk, 1, method="kakaopay")
    tid, kid = t["orderId"], k["orderId"]
    # Every confirm attempt approves (the first) or replays (the rest) and loses the answer
    # (count 10, not 5: libcurl may send a request twice when a kept-alive connection died
    # under it); the lookup at the last attempt fails too, so the confirm job gives up.
    # The same for a KakaoPay approve and its order lookup (by tid).
    pg_faults("toss confirm drop count=10 order=%s\ntoss lookup status=500 count=1 order=%s\n"
              "kakaopay approve drop count=10 order=%s\n"
              "kakaopay order status=500 count=1 order=%s\n" % (tid, tid, kid, kid))
    try:
        pay(s, t)
        pay(s, k, "approve")
        settles(tid, "PAID", timeout=60)
        settles(kid, "PAID", timeout=30)
    finally:
        pg_faults("")
    assert_paid_once(tid, 14000)
    assert_paid_once(kid, 3300, pg="kakaopay")
    eq((stock(pt), stock(pk)), (3, 4), "sold units stay taken")
    for oid in (tid, kid):
        eq(events(oid), ["PENDING", "CONFIRMING", "UNKNOWN", "PAID"], "timeline of " + oid)
        eq(jobs(oid, "payment.check"), 1, "one check was enough")
        checks, admin, no_next, last = check_row(oid)
        eq((checks, admin, no_next), (0, False, True), "a decided check counts nothing")
        if "DONE" not in last or "PAID" not in last:
            raise AssertionError("last result: %r" % last)


def test_unknown_orders_the_pg_reports_aborted_or_expired_fail_with_the_stock_back():
    schedules(SHORT)
    pa, pb = make_product(price=3000, stock=5), make_product(price=4000, stock=4)
    s = Session(make_user())
    a, b = new_order(s, pa, 2), new_order(s, pb, 1)
    ida, idb = a["orderId"], b["orderId"]
    # The PG never answers a confirm or a lookup: both end UNKNOWN, the payments still
    # IN_PROGRESS (authenticated, never approved) at the PG.
    pg_faults("".join("toss confirm status=500 order=%s\ntoss lookup status=500 order=%s\n"
                      % (i, i) for i in (ida, idb)))
    try:
        pay(s, a)
        pay(s, b)
        unknown_soon(ida)
        # A: the issuer refuses it at the PG now (a confirm refused with a card code leaves
        # the payment ABORTED); its check finds it so.
        pg_faults("toss confirm error=REJECT_CARD_COMPANY count=1 order=%s\n"
                  "toss confirm status=500 order=%s\ntoss lookup status=500 order=%s\n"
                  % (ida, idb, idb))
        key = sql("SELECT payment_key FROM orders WHERE public_id = '%s'" % ida)[0][0]
        st, body = fake("POST", "/toss/v1/payments/confirm",
                        {"paymentKey": key, "orderId": ida, "amount": 6000}, auth=True)
        eq((st, body["code"]), (403, "REJECT_CARD_COMPANY"), "refused at the PG: %r" % body)
        eq(pg_payment(ida)["status"], "ABORTED", "the PG's record")
        settles(ida, "FAILED")
        # B: its ten minutes run out at the PG (the fake's clock moves on): EXPIRED.
        unknown_soon(idb)
        pg_faults("")
        st, _ = fake("POST", "/fake/clock", {"advance_seconds": 601})
        eq(st, 200, "clock moved")
        eq(pg_payment(idb)["status"], "EXPIRED", "the PG's record")
        settles(idb, "FAILED")
    finally:
        pg_faults("")
    eq((stock(pa), stock(pb)), (5, 4), "stock back")
    for oid in (ida, idb):
        eq(events(oid), ["PENDING", "CONFIRMING", "UNKNOWN", "FAILED"], "timeline of " + oid)
        eq(payments(oid), [], "no payments row")
        eq(approvals(oid), [], "no approval at the PG")
        eq(jobs(oid, "settle"), 0, "no settle job")
        if jobs(oid, "payment.check") < 1:
            raise AssertionError("decided by a check")
    rows = {r[0]: r[1:] for r in sql("SELECT public_id, fail_code, fail_message FROM orders"
                                    " WHERE public_id IN ('%s', '%s')" % (ida, idb))}
    eq(rows[ida][0], "REJECT_CARD_COMPANY", "A: the PG's failure code")
    eq(rows[idb][0], "EXPIRED_PAYMENT", "B: the PG's failure code")
    api = s.get("/api/v1/orders/" + idb).json()
    eq((api["status"], api["failure"]["code"]), ("FAILED", "EXPIRED_PAYMENT"), "shopper sees")


def test_a_stale_confirming_order_whose_confirm_job_died_is_repaired():
    schedules(SHORT)
    pid = make_product(price=2500, stock=3)
    s = Session(make_user())
    o = new_order(s, pid, 1)
    oid = o["orderId"]
    like = "kind = 'payment.confirm' AND payload LIKE '%%\"%s\"%%'" % oid
    pg_faults("toss confirm drop order=%s\n" % oid)   # approved at the PG, never answered
    try:
        pay(s, o)
        eventually(lambda: len(approvals(oid)) == 1, timeout=10, what="the PG approved")
        # The confirm job dies (as after outbox.max_attempts): nobody confirms any more.
        sql("UPDATE outbox SET status = 'dead', claim_token = NULL, claimed_until = NULL,"
            " last_error = 'killed by the test' WHERE " + like)
        eq(status(oid), "CONFIRMING", "still confirming")
        settles(oid, "PAID", timeout=40)
    finally:
        pg_faults("")
    assert_paid_once(oid, 2500)
    eq(events(oid), ["PENDING", "CONFIRMING", "PAID"], "timeline")
    eq(count("SELECT COUNT(*) FROM outbox WHERE status = 'dead' AND " + like), 1,
       "the confirm job stays dead")
    eq(jobs(oid, "payment.check"), 1, "one check")
    eq(stock(pid), 2, "sold unit stays taken")


def test_a_stale_confirming_order_whose_confirm_job_still_waits_gets_no_check():
    schedules(SHORT)
    pid = make_product(price=2700, stock=3)
    s = Session(make_user())
    o = new_order(s, pid, 1)
    oid = o["orderId"]
    like = "kind = 'payment.confirm' AND payload LIKE '%%\"%s\"%%'" % oid
    # Approved at the PG with the answer lost, then 500s: the confirm job keeps retrying.
    pg_faults("toss confirm drop count=1 order=%s\ntoss confirm status=500 order=%s\n"
              % (oid, oid))
    try:
        pay(s, o)
        eventually(lambda: count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
                                 " AND attempts >= 1 AND " + like) == 1, timeout=20,
                   what="the confirm job waiting on its back-off")
        # Its next attempt an hour away, the order long past confirming_stale_seconds: the
        # job is alive, so the janitor must leave the order to it.
        sql("UPDATE outbox SET available_at = NOW(3) + INTERVAL 1 HOUR WHERE " + like)
        sql("UPDATE orders SET updated_at = NOW(3) - INTERVAL 60 SECOND"
            " WHERE public_id = '%s'" % oid)
        time.sleep(3)   # many janitor sweeps
        eq((status(oid), jobs(oid, "payment.check")), ("CONFIRMING", 0), "no check")
        # Once the job is dead, the same sweep queues one.
        sql("UPDATE outbox SET status = 'dead' WHERE " + like)
        eventually(lambda: jobs(oid, "payment.check") == 1, timeout=20, what="a check")
    finally:
        pg_faults("")
    settles(oid, "PAID", timeout=40)
    assert_paid_once(oid, 2700)


def test_a_webhook_for_a_confirming_order_leads_to_paid_and_repeats_change_nothing():
    schedules(SHORT)
    pid = make_product(price=5500, stock=4)
    s = Session(make_user())
    o = new_order(s, pid, 1)
    oid = o["orderId"]
    # The first confirm is approved and its answer lost; every later attempt gets a 500,
    # so only the webhook's check can find out before the confirm job's last attempt.
    # Lookups are slow, so a second delivery arrives while the first check is running.
    pg_faults("toss confirm drop count=1 order=%s\ntoss confirm status=500 order=%s\n"
              "toss lookup latency_ms=1500 order=%s\n" % (oid, oid, oid))
    try:
        pay(s, o)
        eventually(lambda: len(approvals(oid)) == 1, timeout=10, what="the PG approved")
        eq(status(oid), "CONFIRMING", "not yet known to the shop")
        p = pg_payment(oid)
        eq(p["status"], "DONE", "the PG's record")
        event = status_changed(p)
        r = webhook(event)
        eq((r.status, r.json()), (200, {"received": True}), "acknowledged")
        eventually(lambda: count("SELECT COUNT(*) FROM outbox WHERE kind = 'payment.check'"
                                 " AND status = 'claimed' AND payload LIKE '%%\"%s\"%%'"
                                 % oid) == 1, timeout=10, what="the check is running")
        r = webhook(event)   # a duplicate while the check runs: no second job
        eq(r.status, 200, "duplicate acknowledged")
        settles(oid, "PAID", timeout=20)
    finally:
        pg_faults("")
    assert_paid_once(oid, 5500)
    eq(events(oid), ["PENDING", "CONFIRMING", "PAID"], "timeline")
    eq(jobs(oid, "payment.check"), 1, "one check for two deliveries")
    last = check_row(oid)[3]
    if "PAID" not in last:
        raise AssertionError("the webhook's check decided it: %r" % last)
    before = count("SELECT COUNT(*) FROM outbox")
    # Later deliveries: the same event again, an older status arriving late, an ABORTED
    # right after DONE (seen at Toss): all acknowledged, none changes anything.
    late = [event, status_changed(dict(p, status="IN_PROGRESS", approvedAt=None)),
            status_changed(dict(p, status="ABORTED"), created="2025-01-01T12:00:20.200000"),
            status_changed(dict(p, status="WAITING_FOR_DEPOSIT"))]
    for ev in late:
        r = webhook(ev)
        eq((r.status, r.json()), (200, {"received": True}), "acknowledged")
    eq(count("SELECT COUNT(*) FROM outbox"), before, "no job queued")
    assert_paid_once(oid, 5500)
    eq(stock(pid), 3, "stock unchanged")


def test_malformed_webhooks_are_refused_and_change_nothing():
    schedules(SHORT)
    pid = make_product(price=1200, stock=3)
    s = Session(make_user())
    o = new_order(s, pid, 1)
    oid = o["orderId"]
    pg_faults("toss confirm status=500 order=%s\n" % oid)   # stays CONFIRMING meanwhile
    try:
        pay(s, o)
        good = {"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2025-01-01T12:00:20.1",
                "data": {"orderId": oid, "status": "DONE", "paymentKey": "tfake_x"}}
        before = count("SELECT COUNT(*) FROM outbox WHERE kind = 'payment.check'")
        bad = [
            ("not JSON", "{\"eventType\": ", 400, "BAD_JSON"),
            ("trailing garbage", json.dumps(good) + "x", 400, "BAD_JSON"),
            ("duplicate key", '{"eventType":"A","eventType":"B","createdAt":"x","data":{}}',
             400, "BAD_JSON"),
            ("an array", [good], 400, "BAD_REQUEST"),
            ("a string", "\"PAYMENT_STATUS_CHANGED\"", 400, "BAD_REQUEST"),
            ("null", "null", 400, "BAD_REQUEST"),
            ("no data", {k: v for k, v in good.items() if k != "data"}, 400, "BAD_REQUEST"),
            ("no eventType", {k: v for k, v in good.items() if k != "eventType"}, 400,
             "BAD_REQUEST"),
            ("no createdAt", {k: v for k, v in good.items() if k != "createdAt"}, 400,
             "BAD_REQUEST"),
            ("unknown field", dict(good, extra=1), 400, "BAD_REQUEST"),
            ("data not an object", dict(good, data=[oid]), 400, "BAD_REQUEST"),
            ("data null", dict(good, data=None), 400, "BAD_REQUEST"),
            ("eventType a number", dict(good, eventType=7), 400, "BAD_REQUEST"),
            ("eventType hostile", dict(good, eventType="<script>"), 400, "BAD_REQUEST"),
            ("orderId a number", dict(good, data=dict(good["data"], orderId=12345678)), 400,
             "BAD_REQUEST"),
            ("orderId missing", dict(good, data={"status": "DONE"}), 400, "BAD_REQUEST"),
            ("orderId too short", dict(good, data=dict(good["data"], orderId="abc")), 400,
             "BAD_REQUEST"),
            ("orderId too long", dict(good, data=dict(good["data"], orderId="a" * 65)), 400,
             "BAD_REQUEST"),
            ("orderId hostile", dict(good, data=dict(good["data"], orderId=oid + "' OR 1=1")),
             400, "BAD_REQUEST"),
            ("orderId with a path", dict(good, data=dict(good["data"], orderId="../" + oid)),
             400, "BAD_REQUEST"),
            ("status unknown", dict(good, data=dict(good["data"], status="PAID")), 400,
             "BAD_REQUEST"),
            ("status missing", dict(good, data={"orderId": oid}), 400, "BAD_REQUEST"),
            ("status null", dict(good, data=dict(good["data"], status=None)), 400,
             "BAD_REQUEST"),
            ("paymentKey a number", dict(good, data=dict(good["data"], paymentKey=1)), 400,
             "BAD_REQUEST"),
        ]
        for what, body, st, code in bad:
            msg = envelope(webhook(body), st, code)
            if st == 400 and code == "BAD_REQUEST":
                eq(msg, "웹훅 본문이 올바르지 않습니다.", what)
        envelope(webhook(good, content_type="text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE")
        envelope(webhook(""), 400, "BAD_JSON")
        eq(request("GET", "/api/v1/webhooks/toss").status, 405, "only POST")
        eq(count("SELECT COUNT(*) FROM outbox WHERE kind = 'payment.check'"), before,
           "no check queued by a refused event")
        eq(status(oid), "CONFIRMING", "order untouched")
    finally:
        pg_faults("")
    settles(oid, "PAID", timeout=40)   # its own confirm job gets through in the end


def test_an_event_about_an_order_we_do_not_know_is_acknowledged_and_changes_nothing():
    schedules(SHORT)
    before = (count("SELECT COUNT(*) FROM outbox"), count("SELECT COUNT(*) FROM payment_checks"),
              count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'"))
    for body in [
            status_changed({"orderId": "no-such-order-000000000001", "status": "DONE",
                            "paymentKey": "tfake_nobody", "totalAmount": 1000}),
            status_changed({"orderId": "ABCDEF", "status": "ABORTED"}),
            # Other event types are acknowledged and ignored.
            {"eventType": "CANCEL_STATUS_CHANGED", "createdAt": "2025-01-01T12:00:20.1",
             "data": {"anything": [1, 2, 3]}},
            {"eventType": "DEPOSIT_CALLBACK", "createdAt": "2025-01-01T12:00:20.1",
             "data": {}}]:
        r = webhook(body)
        eq((r.status, r.json()), (200, {"received": True}), "acknowledged: %r" % body)
    after = (count("SELECT COUNT(*) FROM outbox"), count("SELECT COUNT(*) FROM payment_checks"),
             count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'"))
    eq(after, before, "nothing queued, nothing changed")
    # A points order (not a Toss payment) named by a Toss event: acknowledged, ignored.
    pid = make_product(price=100, stock=2)
    uid = make_user(points=1000)
    s = Session(uid)
    o = new_order(s, pid, 1, method="points")
    r = webhook(status_changed({"orderId": o["orderId"], "status": "CANCELED"}))
    eq(r.status, 200, "acknowledged")
    eq(status(o["orderId"]), "PAID", "points order untouched")
    eq(jobs(o["orderId"], "payment.check"), 0, "no check")


def test_a_payment_the_pg_has_never_heard_of_fails_only_after_the_orders_window():
    schedules(SHORT)
    pid = make_product(price=900, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 2)
    oid = o["orderId"]
    eq(stock(pid), 3, "reserved")
    # An order whose outcome is open but that the PG knows nothing about (the shopper never
    # reached its payment window: a state only a fault or a person makes).
    sql("UPDATE orders SET status = 'UNKNOWN', payment_key = 'tfake_never_seen' WHERE"
        " public_id = '%s'" % oid)
    # "Not found" is an answer: inside the bounded wait (test_paywait.py; here the stack's
    # 70 s) it is not counted as an answerless check, and decides nothing yet.
    eventually(lambda: "not found" in (check_row(oid) or (0, 0, 0, ""))[3], timeout=15,
               interval=0.2, what="first check (%r)" % (check_row(oid),))
    eq(check_row(oid)[0], 0, "not counted")
    eq(status(oid), "UNKNOWN", "within the order's window 'not found' decides nothing")
    # The order's time ran out long ago (plus the PG's ten minutes): now it fails.
    sql("UPDATE orders SET expires_at = NOW(3) - INTERVAL 601 SECOND WHERE public_id = '%s'"
        % oid)
    settles(oid, "FAILED", timeout=20)
    eq(sql("SELECT fail_code FROM orders WHERE public_id = '%s'" % oid)[0][0],
       "NOT_FOUND_PAYMENT", "the PG's code")
    eq(stock(pid), 5, "stock back")
    eq(events(oid)[-1], "FAILED", "timeline ends FAILED")


def test_a_payment_the_pg_never_answers_about_is_listed_for_an_admin_and_stays_unknown():
    schedules(dict(SHORT, JANGTEO_PAYMENTS_CHECK_MAX="3"))
    pid = make_product(price=8800, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 2)
    oid = o["orderId"]
    pg_faults("toss confirm status=500 order=%s\ntoss lookup status=500 order=%s\n"
              % (oid, oid))
    try:
        pay(s, o)
        unknown_soon(oid)
        eventually(lambda: (check_row(oid) or (0, False))[1], timeout=30, interval=0.2,
                   what="listed for an admin (%r)" % (check_row(oid),))
        checks, admin, no_next, last = check_row(oid)
        eq((checks, admin, no_next), (3, True, True), "three answerless checks, then none")
        if "500" not in last:
            raise AssertionError("last result names the PG's answer: %r" % last)
        eq(jobs(oid, "payment.check"), 3, "one job per check")
        # A webhook still makes the worker ask (it says nothing the PG did not).
        r = webhook(status_changed({"orderId": oid, "status": "DONE"}))
        eq(r.status, 200, "acknowledged")
        eventually(lambda: check_row(oid)[0] == 4, timeout=10, what="the webhook's check")
    finally:
        pg_faults("")
    eq(status(oid), "UNKNOWN", "never FAILED on an unknown")
    eq(events(oid), ["PENDING", "CONFIRMING", "UNKNOWN"], "timeline")
    eq(stock(pid), 3, "stock still reserved")
    eq(payments(oid), [], "no payments row")
    eq(check_row(oid)[1:3], (True, True), "still listed, no next check")
    # The admin console's list (paychecks_open) shows it among the payments to look at.
    admin = Session(make_user(role="admin"), role="admin")
    page = admin.get("/admin")
    eq(page.status, 200, "admin dashboard")
    row = '<tr class="paycheck needs-admin" data-order="%s">' % oid
    if row not in page.text:
        raise AssertionError("the admin dashboard lists %s as needing an admin" % oid)


def test_zz_schedules_are_restored():
    restore()
    eq(_env, {}, "janitor and payment workers on the stack's settings")
    eq(get("/healthz").status, 200, "stack healthy")
