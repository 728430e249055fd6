"""Reconciliation (issue 6, seed 001's batch): real orders paid through checkout and the fake
PG (tests/fakes/pg.py), then discrepancies of every class planted at the fake (/fake/plant)
or, for an order whose answer was lost, in our database; `jangteoctl reconcile` over the
fake's settlement file (or Toss's settlement API) must classify every payment exactly, change
nothing on a dry run, repair exactly what is safe, find nothing to repair the second time,
refuse a second concurrent run (exit 3) and a stale one (the fencing guard), and refuse bad
usage and malformed files (exit 2) without touching anything.

Each test moves the fake PG's clock to a day of its own (10:00 Korean time, two days after
the fake's date) so the settlement records of that day are this test's only, and puts the
clock back afterwards."""
import datetime
import http.client
import json
import os
import subprocess
import time
import urllib.parse

from jt import (RUN, SRC, Session, count, eq, eventually, follow_pg, mails_to, make_product,
                make_user, pg_faults, redis, sql, stock)
from jt import order_events as events
from jt import order_jobs as jobs
from jt import order_status as status

PG_PORT = int(os.environ.get("JT_HTTP_PORT", "8080")) + 2
KST = datetime.timezone(datetime.timedelta(hours=9))
REPAIRS = ("marked_paid", "canceled_at_pg", "refund_recorded")


# ---- helpers ---------------------------------------------------------------------------------

def fake(method, path, body=None):
    """One request to the fake PG's admin side; returns (status, parsed JSON or text, headers)."""
    c = http.client.HTTPConnection("127.0.0.1", PG_PORT, timeout=30)
    data = json.dumps(body).encode("utf-8") if body is not None else None
    c.request(method, path, body=data,
              headers={"Content-Type": "application/json"} if data else {})
    r = c.getresponse()
    raw = r.read().decode("utf-8")
    ctype = r.getheader("Content-Type") or ""
    return r.status, json.loads(raw) if ctype.startswith("application/json") else raw, r


def plant(**kw):
    st, body, _ = fake("POST", "/fake/plant", kw)
    eq(st, 200, "plant %r: %r" % (kw, body))
    return body


class FreshDay:
    """Moves the fake PG's clock to 10:00 KST of the first day, two or more days after its
    current date, on which neither the fake PG nor our payments have any transaction (an
    earlier test, or an earlier run on the same stack, may have used the nearer ones); puts
    the clock back afterwards."""

    def __enter__(self):
        _, clock, _ = fake("GET", "/fake/clock")
        self.offset = clock["offset_seconds"]
        now = datetime.datetime.fromisoformat(clock["now"])
        used = {r["time"][:10] for r in fake("GET", "/fake/records")[1]}
        used |= {r[0] for r in sql("SELECT DISTINCT LEFT(approved_at, 10) FROM payments"
                                   " WHERE approved_at IS NOT NULL")}
        day = now.date() + datetime.timedelta(days=2)
        while day.isoformat() in used:
            day += datetime.timedelta(days=1)
        target = datetime.datetime(day.year, day.month, day.day, 10, 0, tzinfo=KST)
        st, _, _ = fake("POST", "/fake/clock",
                        {"advance_seconds": int((target - now).total_seconds())})
        eq(st, 200, "clock moved")
        self.date = day.isoformat()
        return self

    def __exit__(self, *exc):
        fake("POST", "/fake/clock", {"offset_seconds": self.offset})
        return False


def settlement_file(pg, date):
    """The fake's settlement file of that day; returns (path, number of rows)."""
    st, text, r = fake("GET", "/fake/settlement-file?" + urllib.parse.urlencode(
        {"pg": pg, "date": date}))
    eq(st, 200, "settlement file")
    return r.getheader("X-Fake-File"), len(text.splitlines()) - 1


def jangteoctl(*args, config=None):
    """Runs jangteoctl; returns (exit status, stdout + stderr)."""
    build = os.environ.get("JT_BUILDDIR", os.path.join(SRC, "_build"))
    p = subprocess.run([os.path.join(build, "ctl", "jangteoctl"), "--config",
                        config or os.path.join(RUN, "jangteo.conf")] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def start_ctl(*args, config=None):
    build = os.environ.get("JT_BUILDDIR", os.path.join(SRC, "_build"))
    return subprocess.Popen([os.path.join(build, "ctl", "jangteoctl"), "--config",
                             config or os.path.join(RUN, "jangteo.conf")] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def config_with(line):
    """A copy of the stack's config with one more line; returns its path."""
    path = os.path.join(RUN, "reconcile-test.conf")
    with open(os.path.join(RUN, "jangteo.conf")) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text + "\n" + line + "\n")
    os.chmod(path, 0o600)
    return path


def last_run():
    rows = sql("SELECT id, status, dry_run, rows_read, n_match, n_amount_mismatch,"
               " n_missing_here, n_missing_pg, n_duplicate, repaired FROM recon_runs"
               " ORDER BY id DESC LIMIT 1")
    r = rows[0]
    return {"id": int(r[0]), "status": r[1], "dry_run": r[2] == "1", "rows": int(r[3]),
            "counts": [int(x) for x in r[4:9]], "repaired": int(r[9])}


def findings(run_id):
    """{pg_key: [(class, action, order_id, pg_amount, our_amount)]} of a run."""
    out = {}
    for r in sql("SELECT pg_key, cls, action, IFNULL(order_id, '-'), pg_amount, our_amount"
                 " FROM recon_findings WHERE run_id = %d ORDER BY seq" % run_id):
        out.setdefault(r[0], []).append((r[1], r[2], r[3], int(r[4]), int(r[5])))
    return out


def new_order(sess, pid, qty, method):
    r = sess.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": qty}],
                                          "paymentMethod": method})
    eq(r.status, 201, "order created: %r" % r.body[:300])
    return r.json()


def payment_key(oid):
    return sql("SELECT p.payment_key FROM payments p JOIN orders o ON o.id = p.order_id"
               " WHERE o.public_id = '%s'" % oid)[0][0]


def paid_order(price, qty=1, method="toss"):
    """A product, a shopper and an order paid through the fake PG; returns (oid, key, pid)."""
    pid = make_product(price=price, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, qty, method)
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=" +
                     ("success" if method == "toss" else "approve"))
    eq(s.get(back).status, 200, "order received page")
    eventually(lambda: status(o["orderId"]) == "PAID", timeout=30, what="paid")
    return o["orderId"], payment_key(o["orderId"]), pid


def failed_order(price, qty=1, method="toss", stock_left=5):
    """An order the shopper's PG return failed (stock given back); returns (oid, pid)."""
    pid = make_product(price=price, stock=stock_left)
    s = Session(make_user())
    o = new_order(s, pid, qty, method)
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=" +
                     ("fail" if method == "toss" else "cancel"))
    s.get(back)
    eventually(lambda: status(o["orderId"]) == "FAILED", what="failed")
    return o["orderId"], pid


def unknown_order(price, method="toss"):
    """The shopper authorised the payment, the PG approved it, and our side lost the answer:
    the order is UNKNOWN with its stock held. Returns (oid, key, pid)."""
    pid = make_product(price=price, stock=5)
    s = Session(make_user())
    o = new_order(s, pid, 1, method)
    u = urllib.parse.urlsplit(o["payment"]["redirectUrl"])
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + "?" + (u.query + "&" if u.query else "") + "outcome=" +
              ("success" if method == "toss" else "approve"))
    r = c.getresponse()
    r.read()
    eq(r.status, 302, "the PG sends the browser back (not followed)")
    if method == "toss":
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.getheader("Location")).query))
        key = q["paymentKey"]
    else:
        key = sql("SELECT payment_key FROM orders WHERE public_id = '%s'" % o["orderId"])[0][0]
    plant(pg=method, action="approve", payment_key=key, order_id=o["orderId"], amount=price)
    sql("UPDATE orders SET status = 'UNKNOWN', payment_key = '%s' WHERE public_id = '%s'"
        " AND status = 'PENDING'; INSERT INTO order_events (order_id, from_status, to_status,"
        " actor, note) SELECT id, 'PENDING', 'UNKNOWN', 'test', 'answer lost' FROM orders"
        " WHERE public_id = '%s'" % (key, o["orderId"], o["orderId"]))
    eq(status(o["orderId"]), "UNKNOWN", "unknown")
    return o["orderId"], key, pid


def snapshot(oids, pids):
    """What a dry run must not change, about these orders (background work on them, their
    settle jobs, is waited for first, so only the run under test can change anything)."""
    mine = " OR ".join("payload LIKE '%%\"%s\"%%'" % o for o in oids)
    eventually(lambda: count("SELECT COUNT(*) FROM outbox WHERE status IN ('pending','claimed')"
                             " AND (%s)" % mine) == 0, timeout=30, what="the orders' jobs done")
    ids = ",".join("'%s'" % o for o in oids)
    return {
        "orders": [tuple(r) for r in sql(
            "SELECT public_id, status, refunded_amount, IFNULL(payment_key, ''), paid_at IS NULL"
            " FROM orders WHERE public_id IN (%s) ORDER BY public_id" % ids)],
        "stock": [stock(p) for p in pids],
        "payments": count("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id"
                          " WHERE o.public_id IN (%s)" % ids),
        "refunds": count("SELECT COUNT(*) FROM refunds r JOIN orders o ON o.id = r.order_id"
                         " WHERE o.public_id IN (%s)" % ids),
        "transfers": count("SELECT COUNT(*) FROM ledger_transfers WHERE ref_id IN (%s)" % ids),
        "outbox": count("SELECT COUNT(*) FROM outbox WHERE %s" % mine),
        "events": count("SELECT COUNT(*) FROM order_events e JOIN orders o ON o.id = e.order_id"
                        " WHERE o.public_id IN (%s)" % ids),
        "pg": len(fake("GET", "/fake/records")[1]),
    }


def refunds_of(oid):
    return [tuple(r) for r in sql(
        "SELECT r.amount, r.status, r.actor FROM refunds r JOIN orders o ON o.id = r.order_id"
        " WHERE o.public_id = '%s' ORDER BY r.id" % oid)]


def pg_records(key, kind):
    return [r["amount"] for r in fake("GET", "/fake/records?kind=" + kind)[1]
            if r["payment_key"] == key]


def posting(oid):
    return count("SELECT COUNT(*) FROM ledger_transfers WHERE posting_id = 'paid:%s'" % oid)


def lock_free():
    eq(redis("EXISTS", "recon:lock"), "0", "the lock is released")


# ---- tests -----------------------------------------------------------------------------------

def test_every_class_classified_dry_run_changes_nothing_repairs_exact_then_nothing_to_do():
    with FreshDay() as day:
        a, a_key, a_pid = paid_order(1000)                       # match
        d, d_key, d_pid = paid_order(1300)                       # cancelled at the PG
        e, e_key, e_pid = paid_order(1400, qty=2)                # one unit cancelled there
        f, f_key, f_pid = paid_order(1500)                       # the PG shows another amount
        g, g_key, g_pid = paid_order(1600)                       # listed twice
        h, h_key, h_pid = paid_order(1700)                       # missing at the PG
        b, b_pid = failed_order(1100, qty=2)                     # approved there, FAILED here
        j, j_pid = failed_order(1900, stock_left=1)              # same, and its stock is gone
        plant(pg="toss", action="cancel", payment_key=d_key)
        plant(pg="toss", action="cancel", payment_key=e_key, amount=1400)
        plant(pg="toss", action="alter", payment_key=f_key, amount=1600)
        plant(pg="toss", action="duplicate", payment_key=g_key)
        plant(pg="toss", action="hide", payment_key=h_key)
        b_key = plant(pg="toss", action="approve", order_id=b, amount=2200)["payment_key"]
        j_key = plant(pg="toss", action="approve", order_id=j, amount=1900)["payment_key"]
        sql("UPDATE stock SET available = 0 WHERE product_id = %d" % j_pid)
        ghost = "ghost-" + os.urandom(6).hex()
        i_key = plant(pg="toss", action="approve", order_id=ghost, amount=1800)["payment_key"]
        c, c_key, c_pid = unknown_order(1200)                    # approved there, UNKNOWN here
        path, nrows = settlement_file("toss", day.date)
        eq(nrows, 12, "rows: 9 approvals (the ghost's too), 1 repeated, 2 cancels")

        oids = [a, b, c, d, e, f, g, h, j]
        pids = [a_pid, b_pid, c_pid, d_pid, e_pid, f_pid, g_pid, h_pid, j_pid]
        before = snapshot(oids, pids)
        rc, out = jangteoctl("reconcile", "--pg", "toss", "--dry-run", path)
        eq(rc, 1, "a dry run that would repair: %s" % out)
        run = last_run()
        eq((run["dry_run"], run["status"], run["rows"]), (True, "done", 12), "dry run row")
        eq(run["counts"], [2, 3, 4, 1, 1], "match, mismatch, missing here, missing pg, dup")
        eq(run["repaired"], 0, "nothing repaired")
        fs = findings(run["id"])
        eq(fs[a_key], [("match", "none", a, 1000, 1000)], "a")
        eq(fs[b_key], [("missing_here", "would_mark_paid", b, 2200, -1)], "b")
        eq(fs[c_key], [("missing_here", "would_mark_paid", c, 1200, -1)], "c")
        eq(fs[d_key], [("amount_mismatch", "would_record_refund", d, 0, 1300)], "d")
        eq(fs[e_key], [("amount_mismatch", "would_record_refund", e, 1400, 2800)], "e")
        eq(fs[f_key], [("amount_mismatch", "report", f, 1600, 1500)], "f")
        eq(fs[g_key], [("match", "none", g, 1600, 1600), ("duplicate", "report", "-", 1600, -1)],
           "g: the payment, then its repeated row (file order)")
        eq(fs[h_key], [("missing_pg", "report", h, -1, 1700)], "h")
        eq(fs[i_key], [("missing_here", "report", "-", 1800, -1)], "ghost")
        eq(fs[j_key], [("missing_here", "would_cancel_at_pg", j, 1900, -1)], "j")
        eq(len(fs), 10, "nothing else")
        eq(snapshot(oids, pids), before, "a dry run changes nothing")
        lock_free()

        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 1, "findings left for a person: %s" % out)
        run = last_run()
        eq((run["dry_run"], run["status"]), (False, "done"), "run row")
        eq(run["counts"], [2, 3, 4, 1, 1], "same classes")
        eq(run["repaired"], 5, "b, c, d, e, j repaired")
        fs = findings(run["id"])
        eq([x[:2] for x in fs[b_key]], [("missing_here", "marked_paid")], "b")
        eq([x[:2] for x in fs[c_key]], [("missing_here", "marked_paid")], "c")
        eq(fs[d_key], [("amount_mismatch", "refund_recorded", d, 0, 0)], "d")
        eq(fs[e_key], [("amount_mismatch", "refund_recorded", e, 1400, 1400)], "e")
        eq(fs[j_key], [("missing_here", "canceled_at_pg", j, 0, -1)], "j")
        for k in (a_key, f_key, g_key, h_key, i_key):
            eq(len(fs[k]), len(findings(run["id"] - 1)[k]), "same finding for %s" % k)

        # b: PAID with its payment, its stock taken again, its posting and settle job.
        eq(status(b), "PAID", "b paid")
        eq(payment_key(b), b_key, "b's payment is the PG's")
        eq(stock(b_pid), 3, "b's two units taken again")
        eq(events(b)[-2:], ["FAILED", "PAID"], "b's timeline")
        eq(sql("SELECT actor FROM order_events e JOIN orders o ON o.id = e.order_id WHERE"
               " o.public_id = '%s' ORDER BY e.id DESC LIMIT 1" % b)[0][0], "reconcile", "actor")
        eq(jobs(b, "settle"), 1, "b's settle job")
        eq(posting(b), 1, "b's paid posting")
        # c: PAID; its stock was held all along.
        eq((status(c), payment_key(c), stock(c_pid), jobs(c, "settle"), posting(c)),
           ("PAID", c_key, 4, 1, 1), "c")
        # d, e: the PG's cancels recorded as refunds.
        eq(refunds_of(d), [("1300", "DONE", "reconcile")], "d refunded")
        eq((status(d), count("SELECT refunded_amount FROM orders WHERE public_id = '%s'" % d)),
           ("CANCELED", 1300), "d cancelled")
        eq(refunds_of(e), [("1400", "DONE", "reconcile")], "e refunded in part")
        eq((status(e), count("SELECT refunded_amount FROM orders WHERE public_id = '%s'" % e)),
           ("PARTIALLY_CANCELED", 1400), "e partly cancelled")
        # j: never oversold: cancelled at the PG, still FAILED, no stock taken.
        eq((status(j), stock(j_pid), posting(j)), ("FAILED", 0, 0), "j")
        eq(pg_records(j_key, "cancel"), [1900], "j's approval cancelled at the PG")
        # The others untouched.
        eq([status(x) for x in (a, f, g, h)], ["PAID"] * 4, "a, f, g, h as they were")
        eq(refunds_of(a) + refunds_of(f) + refunds_of(g) + refunds_of(h), [], "no refunds")
        lock_free()
        rc, out = jangteoctl("ledger-check")
        eq(rc, 0, "the books balance: %s" % out)

        # Again, from the PG's settlement API (it now shows j's cancel): nothing to repair.
        rc, out = jangteoctl("reconcile", "--pg", "toss", "--fetch", day.date)
        eq(rc, 1, "the reports stay: %s" % out)
        run = last_run()
        eq((run["rows"], run["repaired"]), (13, 0), "nothing repaired the second time")
        fs = findings(run["id"])
        for k in (b_key, c_key, d_key, e_key, j_key):
            eq(fs[k][0][:2], ("match", "none"), "settled: %s" % k)
        # And from the old file again (a resumed or repeated run): still nothing.
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        run = last_run()
        eq(run["repaired"], 0, "the old file repairs nothing twice: %s" % out)
        eq([x for v in findings(run["id"]).values() for x in v if x[1] in REPAIRS], [],
           "no repair actions")
        eq(refunds_of(d) + refunds_of(e), [("1300", "DONE", "reconcile"),
                                           ("1400", "DONE", "reconcile")], "refunds once")
        eq(pg_records(j_key, "cancel"), [1900], "cancelled once")
        lock_free()


def test_an_order_repaired_by_reconciliation_gets_its_mail_once():
    """Marked PAID by a repair, an order has every paid order's effects, the shopper's mail
    included (an earlier copy of "becomes PAID" in lib/shop/reconcile.c forgot it)."""
    def shopper_of(oid):
        return sql("SELECT u.email FROM users u JOIN orders o ON o.user_id = u.id"
                   " WHERE o.public_id = '%s'" % oid)[0][0]

    with FreshDay() as day:
        b, b_pid = failed_order(2100)                     # approved there, FAILED here
        b_key = plant(pg="toss", action="approve", order_id=b, amount=2100)["payment_key"]
        c, c_key, c_pid = unknown_order(2300)             # approved there, UNKNOWN here
        path, _ = settlement_file("toss", day.date)
        eq((mails_to(shopper_of(b)), mails_to(shopper_of(c))), ([], []), "no mail before")
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 0, "both repaired, nothing left: %s" % out)
        for oid, key, amount in ((b, b_key, 2100), (c, c_key, 2300)):
            eq((status(oid), payment_key(oid), posting(oid)), ("PAID", key, 1), "%s paid" % oid)
            eq(jobs(oid, "notify"), 1, "one notify job for %s" % oid)
            addr = shopper_of(oid)
            eventually(lambda: len(mails_to(addr)) == 1, timeout=30,
                       what="the paid mail of %s" % oid)
            subject = mails_to(addr)[0]["Subject"]
            if not (subject.startswith("[장터] 결제 완료: ") and oid in subject and
                    "{:,}원".format(amount) in subject):
                raise AssertionError("the paid mail of %s: %r" % (oid, subject))
        lock_free()
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 0, "again: nothing to do: %s" % out)
        time.sleep(2)  # janitor.grace_ms: a second job would have been pushed by now
        eq([len(mails_to(shopper_of(x))) for x in (b, c)], [1, 1], "one mail each, once")
        lock_free()


def test_kakaopay_with_repair_approved_off_cancels_approvals_at_the_pg():
    conf = config_with("reconcile.repair_approved = false")
    with FreshDay() as day:
        a, a_key, _ = paid_order(2100, method="kakaopay")
        b, b_pid = failed_order(2200, method="kakaopay")
        b_key = plant(pg="kakaopay", action="approve", order_id=b, amount=2200)["payment_key"]
        c, c_key, c_pid = unknown_order(2300, method="kakaopay")
        eq(stock(c_pid), 4, "c's stock held")
        path, nrows = settlement_file("kakaopay", day.date)
        eq(nrows, 3, "three approvals")
        rc, out = jangteoctl("reconcile", "--pg", "kakaopay", path, config=conf)
        eq(rc, 0, "everything settled: %s" % out)
        run = last_run()
        eq((run["counts"], run["repaired"]), ([1, 0, 2, 0, 0], 2), "counts")
        fs = findings(run["id"])
        eq(fs[a_key], [("match", "none", a, 2100, 2100)], "a")
        eq(fs[b_key], [("missing_here", "canceled_at_pg", b, 0, -1)], "b")
        eq(fs[c_key], [("missing_here", "canceled_at_pg", c, 0, -1)], "c")
        eq((status(b), stock(b_pid), posting(b)), ("FAILED", 5, 0), "b stays FAILED")
        eq((status(c), stock(c_pid), posting(c)), ("FAILED", 5, 0), "c FAILED, stock back")
        eq(events(c)[-1], "FAILED", "c's timeline")
        eq(pg_records(b_key, "cancel"), [2200], "b cancelled at the PG")
        eq(pg_records(c_key, "cancel"), [2300], "c cancelled at the PG")
        path, nrows = settlement_file("kakaopay", day.date)
        rc, out = jangteoctl("reconcile", "--pg", "kakaopay", path, config=conf)
        eq(rc, 0, "nothing to do: %s" % out)
        run = last_run()
        eq((run["rows"], run["counts"], run["repaired"]), (5, [3, 0, 0, 0, 0], 0), "second run")
        rc, out = jangteoctl("ledger-check")
        eq(rc, 0, "the books balance: %s" % out)
    lock_free()


def test_two_concurrent_runs_one_exits_3_and_a_held_lock_refuses():
    before = count("SELECT COUNT(*) FROM recon_runs")
    pg_faults("toss settlements latency_ms=2500\n")
    try:
        procs = [start_ctl("reconcile", "--pg", "toss", "--fetch", "2021-03-04")
                 for _ in range(2)]
        outs = [p.communicate(timeout=60)[0].decode("utf-8", "replace") for p in procs]
    finally:
        pg_faults("")
    eq(sorted(p.returncode for p in procs), [0, 3], "one ran, one refused: %r" % outs)
    if "another reconciliation holds the lock" not in "".join(outs):
        raise AssertionError("the refusal says why: %r" % outs)
    eq(count("SELECT COUNT(*) FROM recon_runs"), before + 1, "one run recorded")
    lock_free()
    redis("SET", "recon:lock", "someone-else", "PX", "60000")
    try:
        rc, out = jangteoctl("reconcile", "--pg", "toss", "--fetch", "2021-03-04")
        eq(rc, 3, "held lock: %s" % out)
        eq(redis("GET", "recon:lock"), "someone-else", "another's lock is never released")
    finally:
        redis("DEL", "recon:lock")
    eq(count("SELECT COUNT(*) FROM recon_runs"), before + 1, "nothing recorded")


def test_a_stale_run_is_fenced_off_and_the_refund_recorded_once():
    with FreshDay() as day:
        a, a_key, _ = paid_order(3100, qty=2)
        plant(pg="toss", action="cancel", payment_key=a_key, amount=3100)
        path, _ = settlement_file("toss", day.date)
        # The first run sits in its lookup while its lock expires (deleted here) and a second
        # run takes over; the first may then write nothing.
        pg_faults("toss lookup latency_ms=3000 count=1 order=%s\n" % a)
        try:
            first = start_ctl("reconcile", "--pg", "toss", path)
            eventually(lambda: count("SELECT COUNT(*) FROM recon_runs WHERE status = 'running'")
                       == 1, timeout=10, what="the first run started")
            time.sleep(0.5)
            redis("DEL", "recon:lock")
            rc, out = jangteoctl("reconcile", "--pg", "toss", path)
            eq(rc, 0, "the second run repairs: %s" % out)
            out1 = first.communicate(timeout=30)[0].decode("utf-8", "replace")
        finally:
            pg_faults("")
        eq(first.returncode, 3, "the stale run stops: %s" % out1)
        rows = sql("SELECT status, IFNULL(note, '') FROM recon_runs ORDER BY id DESC LIMIT 2")
        eq(rows[0], ["done", ""], "the newer run")
        eq(rows[1], ["failed", "stopped: a newer run took over"], "the stale run")
        eq(refunds_of(a), [("3100", "DONE", "reconcile")], "recorded once")
        eq(count("SELECT COUNT(*) FROM recon_findings f JOIN recon_runs r ON r.id = f.run_id"
                 " WHERE r.status = 'failed' AND f.pg_key = '%s'" % a_key), 0,
           "the stale run wrote no finding")
    lock_free()


def test_bad_usage_and_malformed_files_exit_2_and_change_nothing():
    header = ("settlement_date,pg,type,payment_key,order_id,transaction_key,amount,fee,net,"
              "transaction_at\n")
    good = "2025-01-02,toss,approve,tkey1,order-0001,tx1,1000,33,967,2025-01-02T10:00:00+09:00"

    def row(**kw):
        cols = dict(zip(header.strip().split(","), good.split(",")))
        cols.update(kw)
        return ",".join(cols[c] for c in header.strip().split(","))

    bad_files = {
        "not an integer": (header + row(amount="12.5", net="-20.5"), "line 2: amount \"12.5\""),
        "exponent": (header + row(amount="1e3"), "amount \"1e3\" is not an integer"),
        "plus sign": (header + row(fee="+33"), "fee \"+33\" is not an integer"),
        "overflow": (header + row(amount="99999999999999999999"), "is not an integer"),
        "negative approval": (header + row(amount="-1000", net="-1033"),
                              "approvals are positive"),
        "sum": (header + row(net="968"), "amount - fee = net does not hold"),
        "escape": (header + row(order_id="ord\x1b[31mer"), "byte 0x1b at column"),
        "nul": (header + row(payment_key="k\x00ey"), "byte 0x00 at column"),
        "utf8": (header + row(order_id="주문"), "is not printable ASCII"),
        "sql": (header + row(order_id="x';DROP TABLE orders;--"), "order_id \"x';DROP"),
        "quoted": (header + row(payment_key='"a,b"'), "quoted fields are not supported"),
        "fields": (header + good + ",extra", "more than 10 fields"),
        "short": (header + "2025-01-02,toss,approve", "3 fields, want 10"),
        "long key": (header + row(payment_key="k" * 201), "payment_key \"kkkk"),
        "other pg": (header + row(pg="kakaopay"), "pg \"kakaopay\" in a toss settlement file"),
        "two dates": (header + good + "\n" + row(settlement_date="2025-01-03",
                                                 transaction_key="tx2"), "differs from"),
        "bad date": (header + row(settlement_date="2025-02-30"), "not a YYYY-MM-DD date"),
        "type": (header + row(type="refund"), "neither approve nor cancel"),
        "header": ("date,pg\n" + good, "line 1: not the settlement file header"),
        "empty": ("", "the file is empty"),
        "blank line": (header + good + "\n\n" + good, "line 3: empty line"),
        "time": (header + row(transaction_at="yesterday"), "transaction_at \"yesterday\""),
        "long line": (header + row(transaction_at="2025-01-02T10:00:00+09:00" + "x" * 1100),
                      "longer than 1024 bytes"),
    }
    runs = count("SELECT COUNT(*) FROM recon_runs")
    path = os.path.join(RUN, "reconcile-bad.csv")
    for name, (text, want) in bad_files.items():
        with open(path, "wb") as f:
            f.write(text.encode("utf-8"))
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 2, "%s: %s" % (name, out))
        if want not in out:
            raise AssertionError("%s: want %r in %r" % (name, want, out))
        if "\x1b" in out or "\x00" in out:
            raise AssertionError("%s: raw control bytes echoed: %r" % (name, out))
    for args, want in (
            ((), "--pg toss|kakaopay is required"),
            (("--pg", "paypal", path), "unknown PG \"paypal\""),
            (("--pg", "to\x1bss", path), "unknown PG \"to?ss\""),
            (("--pg", "toss"), "give exactly one of FILE and --fetch DATE"),
            (("--pg", "toss", path, path), "give exactly one of FILE and --fetch DATE"),
            (("--pg", "toss", "--fetch", "2025-01-01", path), "give exactly one"),
            (("--pg", "toss", "--fetch", "yesterday"), "is not a YYYY-MM-DD date"),
            (("--pg", "toss", "/nonexistent/settlement.csv"), "cannot read it"),
            (("--pg", "toss", RUN), "not a regular file"),
            (("--pg", "toss", "--bogus", path), "usage:"),
            (("--pg", "kakaopay", "--fetch", "2025-01-01"), "offers no settlement endpoint")):
        rc, out = jangteoctl("reconcile", *args)
        eq(rc, 2, "%r: %s" % (args, out))
        if want not in out:
            raise AssertionError("%r: want %r in %r" % (args, want, out))
    eq(count("SELECT COUNT(*) FROM recon_runs"), runs, "no run recorded")
    lock_free()
    # A well-formed file with CRLF line ends and a byte-order mark is accepted.
    with open(path, "wb") as f:
        f.write(("\ufeff" + header + row(settlement_date="2020-01-02") + "\n").replace(
            "\n", "\r\n").encode("utf-8"))
    rc, out = jangteoctl("reconcile", "--pg", "toss", "--dry-run", path)
    eq(rc, 1, "the unknown payment is reported: %s" % out)
    run = last_run()
    eq((run["rows"], run["counts"]), (1, [0, 0, 1, 0, 0]), "read")


def test_a_run_killed_mid_way_is_resumed_by_the_next_and_repairs_once():
    with FreshDay() as day:
        b, b_pid = failed_order(3400)
        b_key = plant(pg="toss", action="approve", order_id=b, amount=3400)["payment_key"]
        a, a_key, _ = paid_order(3300, qty=3)
        plant(pg="toss", action="cancel", payment_key=a_key, amount=3300)
        path, _ = settlement_file("toss", day.date)
        # b comes first in the file: it is repaired, then the run is killed in a's lookup.
        pg_faults("toss lookup latency_ms=4000 count=1 order=%s\n" % a)
        try:
            victim = start_ctl("reconcile", "--pg", "toss", path)
            eventually(lambda: status(b) == "PAID", timeout=15, what="b repaired first")
            time.sleep(0.3)
            victim.kill()
            victim.wait(timeout=10)
        finally:
            pg_faults("")
        eq(refunds_of(a), [], "killed before a's refund")
        eq(redis("EXISTS", "recon:lock"), "1", "a dead run's lock stays until it expires")
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 3, "the lock refuses until then: %s" % out)
        redis("DEL", "recon:lock")   # what its expiry (RECON_LOCK_TTL_MS) would do
        rc, out = jangteoctl("reconcile", "--pg", "toss", path)
        eq(rc, 0, "the next run finishes the work: %s" % out)
        run = last_run()
        eq((run["counts"], run["repaired"]), ([1, 1, 0, 0, 0], 1), "b matches, a repaired")
        eq(refunds_of(a), [("3300", "DONE", "reconcile")], "a refunded once")
        eq((status(b), payment_key(b), stock(b_pid), posting(b), jobs(b, "settle")),
           ("PAID", b_key, 4, 1, 1),
           "b paid once")
        eq(sql("SELECT status, note FROM recon_runs WHERE id = %d" % (run["id"] - 1))[0],
           ["failed", "stopped: a newer run took over"], "the dead run's row closed")
        rc, out = jangteoctl("ledger-check")
        eq(rc, 0, "the books balance: %s" % out)
    lock_free()
