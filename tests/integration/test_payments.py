"""Payments (issue 5, the confirm core): a shopper's PG return through nginx and the FastCGI
handlers queues payment.confirm; the payment workers (script/stack payworkers) confirm it at
the fake PG (tests/fakes/pg.py) and record the outcome: approved -> PAID with one payments row,
one approval at the PG and a settle job; refused -> FAILED with the stock back; unknown ->
retried with the same Idempotency-Key, then UNKNOWN (never FAILED, the stock still held).
Faults are injected per order with the fake's pg-faults rules ("... order=<orderId>")."""
import http.client
import json
import os
import signal
import time
import urllib.parse

from jt import (RUN, Session, count, ctl, eq, eventually, follow_pg, make_product, make_user,
                pg_faults, pids, redis, sql, stack, stock)
from jt import order_events as events
from jt import order_jobs as jobs
from jt import order_status as status

PG_PORT = int(os.environ.get("JT_HTTP_PORT", "8080")) + 2


# ---- helpers (after tests/integration/test_orders.py) ----------------------------------------


def payments(oid):
    """The payments rows of order oid: [(pg, payment_key, amount, status)]."""
    return [tuple(r) for r in sql(
        "SELECT p.pg, p.payment_key, p.amount, p.status FROM payments p JOIN orders o ON"
        " o.id = p.order_id WHERE o.public_id = '%s'" % oid)]


def approvals(oid):
    """The fake PG's own record of approvals for order oid."""
    c = http.client.HTTPConnection("127.0.0.1", PG_PORT, timeout=10)
    c.request("GET", "/fake/records?" + urllib.parse.urlencode({"order_id": oid,
                                                               "kind": "approve"}))
    r = c.getresponse()
    body = r.read()
    eq(r.status, 200, "records")
    return json.loads(body)


def new_order(sess, pid, qty, method):
    body = {"products": [{"id": pid, "quantity": qty}], "paymentMethod": method}
    r = sess.post_json("/api/v1/orders", body)
    eq(r.status, 201, "order created: %r" % r.body[:300])
    return r.json()


def pay(sess, o, outcome):
    """The shopper pays in the fake PG's window and comes back to the shop."""
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=" + outcome)
    eq(sess.get(back).status, 200, "order received page")


def settles(oid, want, timeout=20.0, what="final"):
    return eventually(lambda: status(oid) == want, timeout=timeout,
                      what="%s %s (now %s)" % (what, want, status(oid)))


def assert_paid_once(oid, pg, amount):
    eq(status(oid), "PAID", "paid")
    rows = payments(oid)
    eq(len(rows), 1, "one payments row")
    eq((rows[0][0], rows[0][2], rows[0][3]), (pg, str(amount), "DONE"), "payments row")
    a = approvals(oid)
    eq(len(a), 1, "exactly one approval at the PG: %r" % a)
    eq((a[0]["pg"], a[0]["amount"], a[0]["payment_key"]), (pg, amount, rows[0][1]),
       "the PG's approval is the recorded one")
    eq(jobs(oid, "settle"), 1, "one settle job")
    eq(events(oid).count("PAID"), 1, "one PAID event")
    if "FAILED" in events(oid):
        raise AssertionError("never FAILED on the way: %r" % events(oid))


# ---- tests ----------------------------------------------------------------------------------

def test_toss_success_return_is_confirmed_paid_once_with_a_settle_job():
    pid = make_product(price=4500, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 2, "toss")
    pay(s, o, "success")
    settles(o["orderId"], "PAID")
    assert_paid_once(o["orderId"], "toss", 9000)
    eq(stock(pid), 3, "sold units stay taken")
    eq(events(o["orderId"]), ["PENDING", "CONFIRMING", "PAID"], "timeline")
    row = sql("SELECT paid_at IS NOT NULL FROM orders WHERE public_id = '%s'" % o["orderId"])
    eq(row[0][0], "1", "paid_at set")
    eq(count("SELECT COUNT(*) FROM outbox WHERE kind = 'payment.confirm' AND status = 'done'"
             " AND payload LIKE '%%\"%s\"%%'" % o["orderId"]), 1, "confirm job done")
    if redis("HGET", "breaker:pg-toss", "state") != "closed":
        raise AssertionError("the worker publishes its breaker")
    api = s.get("/api/v1/orders/" + o["orderId"])
    eq(api.status, 200, "order api")
    eq(api.json()["status"], "PAID", "shopper sees PAID")


def test_kakaopay_ready_approve_return_is_confirmed_paid_once():
    pid = make_product(price=3300, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 2, "kakaopay")
    pay(s, o, "approve")
    settles(o["orderId"], "PAID")
    assert_paid_once(o["orderId"], "kakaopay", 6600)
    eq(stock(pid), 3, "sold units stay taken")


def test_a_card_refusal_fails_the_order_and_gives_the_stock_back():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 3, "toss")
    eq(stock(pid), 2, "reserved")
    pg_faults("toss confirm error=REJECT_CARD_COMPANY order=%s\n" % o["orderId"])
    try:
        pay(s, o, "success")
        settles(o["orderId"], "FAILED")
    finally:
        pg_faults("")
    eq(stock(pid), 5, "stock back")
    row = sql("SELECT fail_code FROM orders WHERE public_id = '%s'" % o["orderId"])[0]
    eq(row[0], "REJECT_CARD_COMPANY", "the PG's code kept")
    eq(payments(o["orderId"]), [], "no payments row")
    eq(approvals(o["orderId"]), [], "no approval at the PG")
    eq(jobs(o["orderId"], "settle"), 0, "no settle job")
    eq(events(o["orderId"]), ["PENDING", "CONFIRMING", "FAILED"], "timeline")


def test_two_server_errors_are_retried_and_paid_exactly_once():
    pid = make_product(price=2000, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 1, "toss")
    pg_faults("toss confirm status=500 count=2 order=%s\n" % o["orderId"])
    try:
        pay(s, o, "success")
        settles(o["orderId"], "PAID", timeout=30)
    finally:
        pg_faults("")
    assert_paid_once(o["orderId"], "toss", 2000)
    attempts = int(sql("SELECT attempts FROM outbox WHERE kind = 'payment.confirm' AND payload"
                       " LIKE '%%\"%s\"%%'" % o["orderId"])[0][0])
    if attempts < 3:
        raise AssertionError("retried: %d attempts" % attempts)


def test_an_approval_whose_answer_was_dropped_is_paid_once():
    pid = make_product(price=7000, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 1, "toss")
    pg_faults("toss confirm drop count=1 order=%s\n" % o["orderId"])
    try:
        pay(s, o, "success")
        settles(o["orderId"], "PAID", timeout=30)
    finally:
        pg_faults("")
    assert_paid_once(o["orderId"], "toss", 7000)


def test_kakaopay_approval_dropped_is_found_by_lookup_and_paid_once():
    pid = make_product(price=5000, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 1, "kakaopay")
    pg_faults("kakaopay approve drop count=1 order=%s\n" % o["orderId"])
    try:
        pay(s, o, "approve")
        settles(o["orderId"], "PAID", timeout=30)
    finally:
        pg_faults("")
    assert_paid_once(o["orderId"], "kakaopay", 5000)


def test_a_payment_worker_killed_mid_confirm_is_recovered_and_paid_once():
    pid = make_product(price=12000, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 1, "toss")
    pg_faults("toss confirm latency_ms=3000 count=1 order=%s\n" % o["orderId"])
    try:
        pay(s, o, "success")
        # The job is claimed and its confirm sits at the PG: kill the payment workers.
        eventually(lambda: count("SELECT COUNT(*) FROM outbox WHERE kind = 'payment.confirm'"
                                 " AND status = 'claimed' AND payload LIKE '%%\"%s\"%%'"
                                 % o["orderId"]) == 1, timeout=5, what="claimed")
        time.sleep(0.5)
        victims = pids("payworker-*")
        if not victims:
            raise AssertionError("no payment workers recorded")
        for p in victims:
            os.kill(p, signal.SIGKILL)
        eq(status(o["orderId"]), "CONFIRMING", "nothing decided by the dead worker")
        for n in range(1, len(victims) + 1):
            stack("restart-payworker", str(n))
        settles(o["orderId"], "PAID", timeout=30)
    finally:
        pg_faults("")
    assert_paid_once(o["orderId"], "toss", 12000)


def test_a_payment_worker_killed_mid_batch_ends_every_confirm_of_the_batch_once():
    # Five orders return from the PG while no payment worker runs; one worker then claims
    # them in growing batches (1, then 2: the second and third orders under one token). The
    # second order's confirm sits at the PG for 3 s: the worker is killed there, with the third
    # claimed and not yet run. Every order ends PAID once, approvals = PAID orders.
    pid = make_product(price=2100, stock=10)
    s = Session(make_user())
    orders = [new_order(s, pid, 1, "toss") for _ in range(5)]
    stack("stop", "payworkers")
    try:
        for o in orders:
            pay(s, o, "success")
        pg_faults("toss confirm latency_ms=3000 count=1 order=%s\n" % orders[1]["orderId"])
    finally:
        stack("restart-payworker", "1")
    try:
        like = " OR ".join("payload LIKE '%%\"%s\"%%'" % o["orderId"] for o in orders[1:3])
        eventually(lambda: sql("SELECT COUNT(*), COUNT(DISTINCT claim_token) FROM outbox"
                               " WHERE kind = 'payment.confirm' AND status = 'claimed' AND (%s)"
                               % like) == [["2", "1"]], timeout=10, interval=0.05,
                   what="orders 2 and 3 claimed in one batch")
        time.sleep(0.5)
        victims = pids("payworker-*")
        for p in victims:
            os.kill(p, signal.SIGKILL)
        eq([status(o["orderId"]) for o in orders[1:]], ["CONFIRMING"] * 4,
           "nothing decided after the first order")
        for n in range(1, 3):
            stack("restart-payworker", str(n))
        for o in orders:
            settles(o["orderId"], "PAID", timeout=30)
    finally:
        pg_faults("")
    for o in orders:
        assert_paid_once(o["orderId"], "toss", 2100)
    eq(stock(pid), 5, "five sold")


def sold(pid):
    return count("SELECT IFNULL(SUM(quantity), 0) FROM sales_daily WHERE product_id = %d" % pid)


def batch_lines():
    """The stack's log lines of approvals recorded as a batch (log.file: every program)."""
    with open(os.path.join(RUN, "log", "jangteo.log"), errors="replace") as f:
        return [l for l in f.read().splitlines() if "paid -> done (batch of" in l]


def test_approvals_recorded_as_a_batch_are_each_paid_once_with_every_effect():
    # Seven orders return from the PG while no payment worker runs (two of them of two
    # products, two units of one product in several orders); one worker then claims them in
    # growing batches (1, 2, 4) and records each batch's approvals by statement for the whole
    # batch. One order already has its payments row (an approval recorded before, say by a
    # crash after the insert): its batch rolls back and is recorded one by one. Each order
    # ends PAID once with its event, its payments row, its sales, one settle and one notify
    # job; the books balance.
    pa, pb = make_product(price=1300, stock=20), make_product(price=2700, stock=20)
    s = Session(make_user())
    orders = []
    for i in range(7):
        items = [{"id": pa, "quantity": 1 + i % 2}] + ([{"id": pb, "quantity": 1}] if i % 3 == 0
                                                       else [])
        r = s.post_json("/api/v1/orders", {"products": items, "paymentMethod": "toss"})
        eq(r.status, 201, "order created: %r" % r.body[:300])
        orders.append(r.json())
    units_a = sum(1 + i % 2 for i in range(7))
    units_b = sum(1 for i in range(7) if i % 3 == 0)
    before = len(batch_lines())
    stack("stop", "payworkers")
    try:
        for o in orders:
            pay(s, o, "success")
        planted = orders[5]["orderId"]
        key = sql("SELECT payment_key FROM orders WHERE public_id = '%s'" % planted)[0][0]
        sql("INSERT INTO payments (order_id, pg, payment_key, amount, status) SELECT id,"
            " 'toss', payment_key, amount, 'DONE' FROM orders WHERE public_id = '%s'" % planted)
    finally:
        stack("restart-payworker", "1")
    for o in orders:
        settles(o["orderId"], "PAID", timeout=30)
    stack("restart-payworker", "2")
    for o in orders:
        oid = o["orderId"]
        eq(status(oid), "PAID", "paid")
        eq(events(oid), ["PENDING", "CONFIRMING", "PAID"], "timeline of " + oid)
        rows = payments(oid)
        eq(len(rows), 1, "one payments row of " + oid)
        eq((rows[0][0], rows[0][2], rows[0][3]), ("toss", str(o["amount"]), "DONE"),
           "payments row")
        eq(len(approvals(oid)), 1, "one approval at the PG")
        eq((jobs(oid, "settle"), jobs(oid, "notify")), (1, 1), "one settle, one notify job")
    eq(payments(planted)[0][1], key, "the planted row stands")
    eq((sold(pa), sold(pb)), (units_a, units_b), "every unit counted once")
    if len(batch_lines()) - before < 2:
        raise AssertionError("no approvals were recorded as a batch: %r" % batch_lines())
    for o in orders:
        settles(o["orderId"], "PAID")
    eventually(lambda: all(count("SELECT COUNT(*) FROM settlements st JOIN orders o ON"
                                 " o.id = st.order_id WHERE o.public_id = '%s'"
                                 % o["orderId"]) >= 1 for o in orders),
               timeout=30, what="every order settled")
    rc, out = ctl("ledger-check")
    eq(rc, 0, "the books balance: %s" % out)


def test_persistent_server_errors_end_unknown_never_failed_and_keep_the_stock():
    pid = make_product(price=1500, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 2, "toss")
    pg_faults("toss confirm status=500 order=%s\ntoss lookup status=500 order=%s\n"
              % (o["orderId"], o["orderId"]))
    try:
        pay(s, o, "success")
        settles(o["orderId"], "UNKNOWN", timeout=60)
    finally:
        pg_faults("")
    eq(stock(pid), 3, "stock still reserved")
    eq(events(o["orderId"]), ["PENDING", "CONFIRMING", "UNKNOWN"], "timeline: never FAILED")
    eq(payments(o["orderId"]), [], "no payments row")
    eq(approvals(o["orderId"]), [], "no approval at the PG")
    eq(jobs(o["orderId"], "settle"), 0, "no settle job")
    eq(count("SELECT COUNT(*) FROM outbox WHERE kind = 'payment.confirm' AND status = 'done'"
             " AND payload LIKE '%%\"%s\"%%'" % o["orderId"]), 1, "confirm job completed")
