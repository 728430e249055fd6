"""The bounded wait for unknown payments (issue 16 item 3): after a burst of PG 500s, orders
whose payment the PG reports IN_PROGRESS (authenticated, never approved) do not stay UNKNOWN
until the PG expires them. Only the shop's own confirm can approve such a payment, so once no
confirm of ours can be in flight (no live confirm job, the order unchanged for the PG
client's timeout plus payments.unknown_margin_seconds) the payment check decides "not
approved": FAILED (code JT_NOT_APPROVED), stock back, the shopper told on the order page and
in the API. A stale CONFIRMING order whose confirm job died goes UNKNOWN first, then the same
way. An approval at the PG after that decision is a surprise: reconciliation cancels it at
the PG (even with reconcile.repair_approved on) and records it; the order stays FAILED.

The janitor and the payment workers run with short schedules (test_paychecks.SHORT), a PG
client timeout of TIMEOUT_MS and a margin of MARGIN seconds: a wait of 5 s, not the default
70 s (10 s + 60 s; the check is due at the wait's end, so that too is inside two minutes)."""
import time

from jt import Session, count, eq, eventually, make_product, make_user, pg_faults, sql, stock
from jt import order_events as events
from jt import order_jobs as jobs
from jt import order_status as status
from test_paychecks import (SHORT, approvals, new_order, pay, payments, pg_payment, restore,
                            schedules, settles, unknown_soon)
from test_reconcile import (FreshDay, findings, jangteoctl, last_run, lock_free, pg_records,
                            plant, settlement_file)

MARGIN = 2
TIMEOUT_MS = 3000   # the PG client's whole-request timeout (the fake PG answers in ms)
WAIT = dict(SHORT, JANGTEO_PAYMENTS_UNKNOWN_MARGIN_SECONDS=str(MARGIN),
            JANGTEO_HTTP_TOTAL_TIMEOUT_MS=str(TIMEOUT_MS))
NOT_APPROVED = "JT_NOT_APPROVED"
MESSAGE = "결제 승인이 확인되지 않아 주문이 취소되었습니다. 승인된 금액이 있다면 자동으로 취소됩니다."
TARGET = 120   # seconds from the last PG fault to a definite state, with any config


def quiet_seconds():
    """The wait the workers derive: ceil(http.total_timeout_ms / 1000) + the margin."""
    return (TIMEOUT_MS + 999) // 1000 + MARGIN


def event_times(oid):
    """{to_status: seconds since the epoch} of order oid's timeline (the last of each)."""
    return {r[0]: float(r[1]) for r in sql(
        "SELECT e.to_status, UNIX_TIMESTAMP(e.created_at) FROM order_events e JOIN orders o"
        " ON o.id = e.order_id WHERE o.public_id = '%s' ORDER BY e.id" % oid)}


def went_unknown(oid, timeout=60):
    """Waits until order oid's timeline holds UNKNOWN (its confirm job gave up). The current
    state may already be past it: the wait is a few seconds, and a loaded machine can let the
    check decide before this polls."""
    return eventually(lambda: "UNKNOWN" in events(oid), timeout=timeout, interval=0.2,
                      what="order %s went UNKNOWN (now %s)" % (oid, status(oid)))


def fail_row(oid):
    return tuple(sql("SELECT fail_code, fail_message FROM orders WHERE public_id = '%s'"
                     % oid)[0])


def counted_checks(oid):
    return count("SELECT checks FROM payment_checks c JOIN orders o ON o.id = c.order_id"
                 " WHERE o.public_id = '%s'" % oid)


def assert_not_approved(s, oid, pid, stock_before, pg="toss"):
    """Order oid ended FAILED by the bounded wait: stock back, no payment, shopper told."""
    eq(status(oid), "FAILED", "failed")
    eq(fail_row(oid), (NOT_APPROVED, MESSAGE), "the shop's own code and message")
    eq(stock(pid), stock_before, "stock back")
    eq(payments(oid), [], "no payments row")
    eq(approvals(oid), [], "no approval at the PG")
    eq((jobs(oid, "settle"), jobs(oid, "notify")), (0, 0), "no settle, no notice (as any"
       " failed payment)")
    api = s.get("/api/v1/orders/" + oid).json()
    eq((api["status"], api["failure"]["code"], api["failure"]["message"]),
       ("FAILED", NOT_APPROVED, MESSAGE), "the order API")
    page = s.get("/orders/" + oid)
    eq(page.status, 200, "order page")
    if MESSAGE not in page.text:
        raise AssertionError("the order page tells the shopper: %r" % page.text[:2000])
    t = event_times(oid)
    waited = t["FAILED"] - t["UNKNOWN"]
    if waited < quiet_seconds() - 0.5:
        raise AssertionError("%s failed %.1f s after UNKNOWN, before the %d-s wait"
                             % (oid, waited, quiet_seconds()))
    last = sql("SELECT c.last_result FROM payment_checks c JOIN orders o ON o.id = c.order_id"
               " WHERE o.public_id = '%s'" % oid)[0][0]
    if "not approved" not in last or pg not in last:
        raise AssertionError("the check's last result: %r" % last)


# ---- tests ------------------------------------------------------------------------------------

def test_after_a_burst_of_confirm_500s_every_order_is_definite_within_two_minutes():
    schedules(WAIT)
    pt, pk, pp = (make_product(price=4100, stock=6), make_product(price=2600, stock=6),
                  make_product(price=1900, stock=6))
    s = Session(make_user())
    ts = [new_order(s, pt, 2) for _ in range(3)]
    ks = [new_order(s, pk, 1, method="kakaopay") for _ in range(2)]
    late = new_order(s, pp, 1)   # three 500s, then its confirm's fourth attempt gets through
    tids, kids = [o["orderId"] for o in ts], [o["orderId"] for o in ks]
    eq((stock(pt), stock(pk), stock(pp)), (0, 4, 5), "reserved")
    # Every confirm / approve of these orders gets a 500 (nothing done at the PG): their
    # confirm jobs give up after five attempts and the orders go UNKNOWN, the payments still
    # IN_PROGRESS (Toss) / AUTH_PASSWORD (KakaoPay) at the PG. Lookups answer normally.
    pg_faults("".join("toss confirm status=500 order=%s\n" % i for i in tids)
              + "toss confirm status=500 count=3 order=%s\n" % late["orderId"]
              + "".join("kakaopay approve status=500 order=%s\n" % i for i in kids))
    try:
        for o in ts:
            pay(s, o)
        for o in ks:
            pay(s, o, "approve")
        pay(s, late)
        for oid in tids + kids:
            went_unknown(oid)
    finally:
        pg_faults("")
    t_last_fault = time.time()
    eq(pg_payment(tids[0])["status"], "IN_PROGRESS", "the PG's record")
    for oid in tids + kids + [late["orderId"]]:
        eventually(lambda: status(oid) not in ("UNKNOWN", "CONFIRMING", "PENDING"),
                   timeout=TARGET, interval=0.5, what="order %s definite (%s)" % (oid, status(oid)))
    took = time.time() - t_last_fault
    if took > TARGET:
        raise AssertionError("definite %.0f s after the last fault" % took)
    for oid in tids + kids:
        eq(events(oid), ["PENDING", "CONFIRMING", "UNKNOWN", "FAILED"], "timeline of " + oid)
    eq((stock(pt), stock(pk)), (6, 6), "every unit back")
    for oid in tids:
        assert_not_approved(s, oid, pt, 6)
    for oid in kids:
        assert_not_approved(s, oid, pk, 6, pg="kakaopay")
    eq([counted_checks(oid) for oid in tids + kids], [0] * 5,
       "an answer inside the wait is not an answerless check")
    eq(status(late["orderId"]), "PAID", "the late order paid by its own confirm")
    eq(stock(pp), 5, "its unit sold")
    # The PG expiring the payments later changes nothing here.
    eq([status(oid) for oid in tids + kids], ["FAILED"] * 5, "still FAILED")


def test_a_stale_confirming_order_whose_confirm_job_died_goes_unknown_then_fails():
    # One answerless check would list the order for an admin: the answers inside the wait
    # ("in progress") must not count, or the wait would never end.
    schedules(dict(WAIT, JANGTEO_PAYMENTS_CHECK_MAX="1"))
    pid = make_product(price=3100, stock=3)
    s = Session(make_user())
    o = new_order(s, pid, 1)
    oid = o["orderId"]
    like = "kind = 'payment.confirm' AND payload LIKE '%%\"%s\"%%'" % oid
    pg_faults("toss confirm status=500 order=%s\n" % oid)
    try:
        pay(s, o)
        eventually(lambda: count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
                                 " AND attempts >= 1 AND " + like) == 1, timeout=20,
                   what="the confirm job retrying")
        # The job dies (as after outbox.max_attempts) and the order is long stale.
        sql("UPDATE outbox SET status = 'dead', claim_token = NULL, claimed_until = NULL,"
            " last_error = 'killed by the test' WHERE " + like)
        sql("UPDATE orders SET updated_at = NOW(3) - INTERVAL 60 SECOND"
            " WHERE public_id = '%s'" % oid)
    finally:
        pg_faults("")
    settles(oid, "UNKNOWN", timeout=20)   # the check: in progress, nobody confirms it any more
    eq(stock(pid), 2, "still held while UNKNOWN")
    settles(oid, "FAILED", timeout=quiet_seconds() + 30)
    eq(events(oid), ["PENDING", "CONFIRMING", "UNKNOWN", "FAILED"], "timeline")
    assert_not_approved(s, oid, pid, 3)
    eq(counted_checks(oid), 0, "no answerless check")


def test_an_order_the_pg_never_answers_about_stays_unknown_past_the_wait():
    schedules(dict(WAIT, JANGTEO_PAYMENTS_CHECK_MAX="100"))
    pid = make_product(price=1700, stock=3)
    s = Session(make_user())
    o = new_order(s, pid, 1)
    oid = o["orderId"]
    pg_faults("toss confirm status=500 order=%s\ntoss lookup status=500 order=%s\n"
              % (oid, oid))
    try:
        pay(s, o)
        unknown_soon(oid)
        time.sleep(quiet_seconds() + 5)   # past the wait: still no answer, so no decision
        eq(status(oid), "UNKNOWN", "an unanswered lookup never fails an order")
        if counted_checks(oid) < 2:
            raise AssertionError("checks were made")
    finally:
        pg_faults("")
    settles(oid, "FAILED", timeout=quiet_seconds() + 60)   # the PG answers: in progress
    assert_not_approved(s, oid, pid, 3)


def test_a_surprise_approval_after_not_approved_is_cancelled_by_reconciliation():
    schedules(WAIT)
    pid = make_product(price=5200, stock=4)
    s = Session(make_user())
    o = new_order(s, pid, 1)
    oid = o["orderId"]
    pg_faults("toss confirm status=500 order=%s\n" % oid)
    try:
        pay(s, o)
        went_unknown(oid)
    finally:
        pg_faults("")
    settles(oid, "FAILED", timeout=quiet_seconds() + 60)
    assert_not_approved(s, oid, pid, 4)
    key = sql("SELECT payment_key FROM orders WHERE public_id = '%s'" % oid)[0][0]
    before = count("SELECT COUNT(*) FROM order_events e JOIN orders o ON o.id = e.order_id"
                   " WHERE o.public_id = '%s'" % oid)
    with FreshDay() as day:
        # The PG approves it anyway (a confirm of ours it processed very late): the stack's
        # reconcile.repair_approved is on, yet the order must not become a sale.
        plant(pg="toss", action="approve", payment_key=key, order_id=oid, amount=5200)
        eq(pg_payment(oid)["status"], "DONE", "approved at the PG")
        path, nrows = settlement_file("toss", day.date)
        eq(nrows, 1, "one approval that day")
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 0, "settled: %s" % out)
        run = last_run()
        eq((run["counts"], run["repaired"]), ([0, 0, 1, 0, 0], 1), "one repair")
        eq(findings(run["id"])[key], [("missing_here", "canceled_at_pg", oid, 0, -1)],
           "cancelled at the PG, recorded")
        note = sql("SELECT note FROM recon_findings WHERE run_id = %d" % run["id"])[0][0]
        if "not approved" not in note:
            raise AssertionError("the finding says why: %r" % note)
        eq(pg_records(key, "cancel"), [5200], "one cancel at the PG, the whole amount")
        eq(pg_payment(oid)["status"], "CANCELED", "the PG's record")
        eq((status(oid), fail_row(oid)[0], stock(pid), payments(oid)),
           ("FAILED", NOT_APPROVED, 4, []), "the order stays FAILED, stock untouched")
        eq(count("SELECT COUNT(*) FROM order_events e JOIN orders o ON o.id = e.order_id"
                 " WHERE o.public_id = '%s'" % oid), before, "no move")
        # A second run finds it settled and does nothing.
        path, nrows = settlement_file("toss", day.date)
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 0, "nothing to do: %s" % out)
        run = last_run()
        eq((run["counts"], run["repaired"]), ([1, 0, 0, 0, 0], 0), "second run")
        eq(pg_records(key, "cancel"), [5200], "still one cancel")
        rc, out = jangteoctl("ledger-check")
        eq(rc, 0, "the books balance: %s" % out)
    lock_free()


def test_zz_schedules_are_restored():
    restore()
