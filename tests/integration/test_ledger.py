"""Ledger, settlement, wallets and payouts (issue 6): a paid order (points or Toss) carries
its paid:<orderId> posting; the settle worker credits each seller with its lines minus
commission and the platform with the commission (settle:<orderId>); a replayed settle job
changes nothing; two refunds of one order settled at once give the commission back exactly;
an injected settlement failure (a TRIGGER that SIGNALs) leaves the order PAID and the job
retrying until the fault is gone; payouts move a seller's payable to cash_at_bank once per
key; the wallet page and API show a seller's wallet to its owner and admins only;
`jangteoctl ledger-check` names a tampered account."""
import os
import re
import secrets
import subprocess
import time

from jt import (RUN, SRC, Session, count, ctl, eq, eventually, follow_pg, make_product,
                make_user, quote, request, sql)
from jt import order_status as status

DEFAULT_BP = 1000   # settle.commission_bp in the stack's config (the default)


# ---- helpers ------------------------------------------------------------------------------------

def new_seller(bp=None, owner=None):
    """A fresh seller (its own accounts); bp None = the config's rate."""
    name = "ledger-%s" % secrets.token_hex(5)
    sql("INSERT INTO sellers (name, commission_bp, owner_user_id) VALUES (%s, %s, %s)"
        % (quote(name), "NULL" if bp is None else int(bp), "NULL" if owner is None else owner))
    return int(sql("SELECT id FROM sellers WHERE name = %s" % quote(name))[0][0])


def order(sess, lines, method):
    body = {"products": [{"id": p, "quantity": q} for p, q in lines], "paymentMethod": method}
    r = sess.post_json("/api/v1/orders", body)
    eq(r.status, 201, "order created: %r" % r.body[:300])
    return r.json()


def toss_paid(sess, lines):
    o = order(sess, lines, "toss")
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=success")
    eq(sess.get(back).status, 200, "order received page")
    eventually(lambda: status(o["orderId"]) == "PAID", timeout=30, what="PAID")
    return o


def balance(code):
    """The balance of an account on its normal side (0 when it does not exist)."""
    rows = sql("SELECT kind, debits_posted, credits_posted FROM ledger_accounts WHERE code = %s"
               % quote(code))
    if not rows:
        return 0
    kind, d, c = rows[0][0], int(rows[0][1]), int(rows[0][2])
    return d - c if kind in ("asset", "expense") else c - d


def posting(pid):
    """The legs of posting pid: [(debit, credit, amount, code)] in leg order."""
    return [(r[0], r[1], int(r[2]), r[3]) for r in sql(
        "SELECT d.code, c.code, t.amount, t.code FROM ledger_transfers t"
        " JOIN ledger_accounts d ON d.id = t.debit_account_id"
        " JOIN ledger_accounts c ON c.id = t.credit_account_id"
        " WHERE t.posting_id = %s ORDER BY t.leg" % quote(pid))]


def settlements(ref):
    """[(seller_id, gross, commission, net, bp)] of a sale or refund, by seller."""
    return [tuple(int(x) for x in r) for r in sql(
        "SELECT seller_id, gross, commission, net, commission_bp FROM settlements"
        " WHERE ref = %s ORDER BY seller_id" % quote(ref))]


def settle_job(oid):
    rows = sql("SELECT id, status, attempts FROM outbox WHERE kind = 'settle'"
               " AND payload LIKE '%%\"%s\"%%'" % oid)
    eq(len(rows), 1, "one settle job of %s" % oid)
    return int(rows[0][0]), rows[0][1], int(rows[0][2])


def settled(oid, timeout=30):
    eventually(lambda: settle_job(oid)[1] == "done", timeout=timeout, what="settle job done")


def books_balance():
    rc, out = ctl("ledger-check")
    eq(rc, 0, "ledger-check: %s" % out)
    eq(out, "ledger-check: the books balance\n", "ledger-check output")


def commission(gross, bp):
    return gross * bp // 10000


def two_seller_order():
    """Two fresh sellers (the config's rate, 2.5 %) and one product each."""
    s1, s2 = new_seller(), new_seller(250)
    p1 = make_product(price=3333, stock=20, seller_id=s1)
    p2 = make_product(price=1001, stock=20, seller_id=s2)
    return s1, s2, p1, p2


# ---- tests --------------------------------------------------------------------------------------

def test_paid_orders_have_postings_and_settle_minus_commission():
    s1, s2, p1, p2 = two_seller_order()
    shopper = make_user(points=50000)
    sess = Session(shopper)
    pts = order(sess, [(p1, 3), (p2, 2)], "points")   # 9999 + 2002
    eq(pts["status"], "PAID", "points pay at once")
    eq(posting("paid:" + pts["orderId"]),
       [("points:%d" % shopper, "sales_clearing", 12001, "paid.points")], "points posting")
    # the points the user held before the ledger knew them open the account
    eq(posting("open:points:%d" % shopper),
       [("cash_at_bank", "points:%d" % shopper, 50000, "points.charge")], "opening")
    eq(balance("points:%d" % shopper), 50000 - 12001, "points account = users.points")
    eq(count("SELECT points FROM users WHERE id = %d" % shopper), 50000 - 12001, "users.points")

    tsess = Session(make_user())
    toss = toss_paid(tsess, [(p1, 1), (p2, 1)])        # 3333 + 1001
    eq(posting("paid:" + toss["orderId"]),
       [("pg_receivable:toss", "sales_clearing", 4334, "paid.pg")], "toss posting")
    eq(count("SELECT COUNT(*) FROM outbox WHERE kind = 'notify' AND payload = %s"
             % quote('{"orderId":"%s","event":"paid"}' % toss["orderId"])), 1, "notify job")

    settled(pts["orderId"])
    settled(toss["orderId"])
    c1, c2 = commission(9999, DEFAULT_BP), commission(2002, 250)
    eq(settlements(pts["orderId"]), [(s1, 9999, c1, 9999 - c1, DEFAULT_BP),
                                      (s2, 2002, c2, 2002 - c2, 250)], "sale settlements")
    eq(posting("settle:" + pts["orderId"]),
       [("sales_clearing", "seller_payable:%d" % s1, 9999 - c1, "settle"),
        ("sales_clearing", "seller_payable:%d" % s2, 2002 - c2, "settle"),
        ("sales_clearing", "commission_revenue", c1 + c2, "settle")], "settle posting")
    t1, t2 = commission(3333, DEFAULT_BP), commission(1001, 250)
    eq(balance("seller_payable:%d" % s1), 9999 - c1 + 3333 - t1, "seller 1 payable")
    eq(balance("seller_payable:%d" % s2), 2002 - c2 + 1001 - t2, "seller 2 payable")
    eq(sum(r[2] for r in settlements(toss["orderId"])), t1 + t2, "toss commission")
    eq(status(pts["orderId"]), "PAID", "settling never touches the order")
    books_balance()


def test_a_replayed_settle_job_changes_nothing():
    s1, s2, p1, p2 = two_seller_order()
    o = order(Session(make_user(points=10000)), [(p1, 1), (p2, 1)], "points")
    settled(o["orderId"])
    job, _, attempts = settle_job(o["orderId"])
    before = (balance("seller_payable:%d" % s1), balance("seller_payable:%d" % s2),
              count("SELECT COUNT(*) FROM ledger_transfers"), settlements(o["orderId"]))
    # the job again: back to pending and due, so the janitor pushes it to a settle worker
    sql("UPDATE outbox SET status = 'pending', available_at = NOW(3) - INTERVAL 10 SECOND,"
        " done_at = NULL WHERE id = %d" % job)
    eventually(lambda: settle_job(o["orderId"])[1:] == ("done", attempts + 1), timeout=30,
               what="the replayed job done")
    after = (balance("seller_payable:%d" % s1), balance("seller_payable:%d" % s2),
             count("SELECT COUNT(*) FROM ledger_transfers"), settlements(o["orderId"]))
    eq(after, before, "nothing changed")
    eq(len(posting("settle:" + o["orderId"])), 3, "one settle posting")
    books_balance()


def test_a_failing_settlement_is_retried_and_never_touches_the_payment():
    seller = new_seller(500)
    pid = make_product(price=7000, stock=5, seller_id=seller)
    trigger = "tr_ledger_test_%s" % secrets.token_hex(4)
    sql("DELIMITER //\nCREATE TRIGGER %s BEFORE INSERT ON settlements FOR EACH ROW BEGIN"
        " IF NEW.seller_id = %d THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT ="
        " 'injected settlement failure'; END IF; END //\nDELIMITER ;" % (trigger, seller))
    try:
        sess = Session(make_user())
        o = toss_paid(sess, [(pid, 2)])
        oid = o["orderId"]
        eventually(lambda: settle_job(oid)[2] >= 2, timeout=30, what="two failed attempts")
        job, st, _ = settle_job(oid)
        if st == "done":
            raise AssertionError("the settle job cannot finish while the fault is in place")
        eq(sql("SELECT last_error FROM outbox WHERE id = %d" % job)[0][0], "transient failure",
           "the job was given back")
        eq(status(oid), "PAID", "the payment stays PAID")
        eq(sql("SELECT p.status FROM payments p JOIN orders o ON o.id = p.order_id WHERE"
               " o.public_id = '%s'" % oid), [["DONE"]], "the payments row stays")
        eq(settlements(oid), [], "nothing settled")
        eq(posting("settle:" + oid), [], "no settle posting")
        eq(balance("seller_payable:%d" % seller), 0, "nothing credited")
        eq(sess.get("/api/v1/orders/" + oid).json()["status"], "PAID", "the shopper sees PAID")
        books_balance()
    finally:
        sql("DROP TRIGGER IF EXISTS %s" % trigger)
    # the retry goes through once the fault is gone (hurried: due now)
    sql("UPDATE outbox SET available_at = NOW(3) - INTERVAL 10 SECOND WHERE id = %d AND"
        " status = 'pending'" % job)
    settled(oid, timeout=40)
    eq(settlements(oid), [(seller, 14000, 700, 13300, 500)], "settled on retry")
    eq(balance("seller_payable:%d" % seller), 13300, "credited once")
    books_balance()


def test_payouts_move_the_payable_to_the_bank_once_per_key():
    seller = new_seller(1000)
    pid = make_product(price=10000, stock=5, seller_id=seller)
    o = order(Session(make_user(points=20000)), [(pid, 2)], "points")
    settled(o["orderId"])
    payable = "seller_payable:%d" % seller
    eq(balance(payable), 18000, "payable")
    cash = balance("cash_at_bank")
    key = "payout-" + secrets.token_hex(6)

    rc, out = ctl("payout", "--seller", str(seller), "--amount", "18001", "--key", key)
    eq((rc, out), (1, "payout: refused: too_much\n"), "more than the payable")
    rc, out = ctl("payout", "--seller", str(seller), "--amount", "5000", "--key", key)
    eq(rc, 0, "payout: %s" % out)
    m = re.fullmatch(r"payout (\d+): seller %d paid 5000 won\n" % seller, out)
    if not m:
        raise AssertionError("payout output: %r" % out)
    pay_id = int(m.group(1))
    eq(posting("payout:%d" % pay_id), [(payable, "cash_at_bank", 5000, "payout")], "posting")
    eq(balance(payable), 13000, "payable after")
    eq(balance("cash_at_bank"), cash - 5000, "cash after")
    rc, out = ctl("payout", "--seller", str(seller), "--amount", "5000", "--key", key)
    eq((rc, out), (0, "payout %d: seller %d paid 5000 won (replayed: this key paid it before)\n"
                   % (pay_id, seller)), "same key: a replay")
    rc, out = ctl("payout", "--seller", str(seller), "--amount", "4000", "--key", key)
    eq((rc, out), (1, "payout: refused: key_reused\n"), "same key, another amount")
    for bad in (["--seller", "x"], ["--seller", str(seller), "--amount", "-5"],
                ["--seller", str(seller), "--amount", "1e3"],
                ["--seller", str(seller), "--key", "no spaces"], ["--amount", "5"], []):
        eq(ctl("payout", *bad)[0], 2, "usage: %r" % bad)
    eq(ctl("payout", "--seller", "999999999")[0:2], (1, "payout: refused: no_seller\n"),
       "unknown seller")
    eq(balance(payable), 13000, "refusals changed nothing")
    eq(count("SELECT COUNT(*) FROM payouts WHERE seller_id = %d" % seller), 1, "one payout")

    # the admin console's payout form (wallet_payout with the admin as actor): the rest
    admin = make_user(name="관리자", role="admin")
    asess = Session(admin, role="admin")
    akey = "admin-" + secrets.token_hex(6)
    r = asess.post_form("/admin/sellers/%d/payout" % seller, {"amount": "", "key": akey})
    if r.status not in (200, 303):
        raise AssertionError("admin payout: %d %r" % (r.status, r.body[:300]))
    eq(balance(payable), 0, "all paid out")
    eq(count("SELECT COUNT(*) FROM payouts WHERE seller_id = %d AND actor_user_id = %d"
             " AND amount = 13000" % (seller, admin)), 1, "recorded with its actor")
    asess.post_form("/admin/sellers/%d/payout" % seller, {"amount": "", "key": akey})
    eq(count("SELECT COUNT(*) FROM payouts WHERE seller_id = %d" % seller), 2, "replayed once")
    eq(ctl("payout", "--seller", str(seller))[0:2], (1, "payout: refused: nothing\n"),
       "nothing left")
    books_balance()


def test_the_wallet_is_shown_to_its_owner_and_admins_only():
    owner = make_user(name="판매자")
    seller = new_seller(300, owner=owner)
    pid = make_product(price=2500, stock=5, seller_id=seller)
    o = order(Session(make_user(points=5000)), [(pid, 2)], "points")
    settled(o["orderId"])
    want = {"sellerId": seller, "commissionBp": 300, "payable": 4850, "salesTotal": 5000,
            "commissionTotal": 150, "refundsTotal": 0, "paidOutTotal": 0}
    me = Session(owner)
    for path in ("/api/v1/sellers/%d/wallet" % seller, "/api/v1/seller/wallet"):
        r = me.get(path)
        eq(r.status, 200, path)
        doc = r.json()
        eq({k: doc[k] for k in want}, want, "wallet of %s" % path)
        eq([(e["kind"], e["ref"], e["gross"], e["commission"], e["net"]) for e in doc["entries"]],
           [("sale", o["orderId"], 5000, 150, 4850)], "entries")
    page = me.get("/seller/wallet")
    eq(page.status, 200, "page")
    for text in ('id="payable">4,850<', 'id="sales-total">5,000원', "판매 정산", o["orderId"]):
        if text not in page.text:
            raise AssertionError("wallet page lacks %r" % text)

    stranger = Session(make_user())
    for path in ("/api/v1/sellers/%d/wallet" % seller, "/api/v1/seller/wallet"):
        r = stranger.get(path)
        eq((r.status, r.json()["error"]["code"]), (404, "SELLER_NOT_FOUND"), path)
    eq(stranger.get("/seller/wallet").status, 404, "no seller: no page")
    other_owner = make_user()
    new_seller(owner=other_owner)
    r = Session(other_owner).get("/api/v1/sellers/%d/wallet" % seller)
    eq(r.status, 404, "another seller's owner")
    if b"4850" in r.body:
        raise AssertionError("leaked")
    for bad in ("0", "-1", "abc", "99999999999999999999", "1%27", str(seller) + ".0"):
        r = me.get("/api/v1/sellers/%s/wallet" % bad)
        eq(r.status, 404, "hostile id %r" % bad)
    eq(request("GET", "/api/v1/sellers/%d/wallet" % seller).status, 401, "signed out")

    admin = Session(make_user(role="admin"), role="admin")
    r = admin.get("/api/v1/sellers/%d/wallet" % seller)
    eq(r.status, 200, "admin")
    eq(r.json()["payable"], 4850, "admin sees it")
    eq(admin.get("/api/v1/sellers/999999999/wallet").status, 404, "admin, unknown seller")


def refund_settle_job(rid):
    rows = sql("SELECT status, attempts FROM outbox WHERE kind = 'refund.settle'"
               " AND payload LIKE '%%\"%s\"%%'" % rid)
    eq(len(rows), 1, "one refund.settle job of %s" % rid)
    return rows[0][0], int(rows[0][1])


def test_refunds_wait_for_their_sale_and_give_back_exactly_the_commission():
    s1, s2, p1, p2 = two_seller_order()
    shopper = make_user(points=30000)
    sess = Session(shopper)
    trigger = "tr_ledger_test_%s" % secrets.token_hex(4)
    # the sale cannot settle yet, so the first refund's settlement must wait for it
    sql("DELIMITER //\nCREATE TRIGGER %s BEFORE INSERT ON settlements FOR EACH ROW BEGIN"
        " IF NEW.seller_id = %d AND NEW.kind = 'sale' THEN SIGNAL SQLSTATE '45000'"
        " SET MESSAGE_TEXT = 'injected'; END IF; END //\nDELIMITER ;" % (trigger, s1))
    try:
        o = order(sess, [(p1, 3), (p2, 2)], "points")   # 9999 + 2002
        oid = o["orderId"]
        r = sess.post_json("/api/v1/orders/%s/refunds" % oid,
                           {"lines": [{"productId": p1, "quantity": 1}]})
        eq(r.status, 200, "points refund done at once: %r" % r.body[:300])
        first = r.json()["refundId"]
        eq(posting("refund:" + first), [("refunds", "points:%d" % shopper, 3333, "refund.points")],
           "refund posting")
        eventually(lambda: refund_settle_job(first)[1] >= 2, timeout=30,
                   what="the refund's settlement waits")
        eq(refund_settle_job(first)[0], "pending", "waiting, not done")
        eq(settlements(first), [], "nothing taken back before the sale")
    finally:
        sql("DROP TRIGGER IF EXISTS %s" % trigger)
    sql("UPDATE outbox SET available_at = NOW(3) - INTERVAL 10 SECOND WHERE status = 'pending'"
        " AND kind IN ('settle', 'refund.settle') AND payload LIKE '%%\"%s\"%%'" % oid)
    sql("UPDATE outbox SET available_at = NOW(3) - INTERVAL 10 SECOND WHERE status = 'pending'"
        " AND kind = 'refund.settle' AND payload LIKE '%%\"%s\"%%'" % first)
    settled(oid, timeout=40)
    eventually(lambda: refund_settle_job(first)[0] == "done", timeout=40,
               what="the refund settled")
    c1 = commission(9999, DEFAULT_BP)
    back1 = commission(3333, DEFAULT_BP)
    eq(settlements(first), [(s1, 3333, back1, 3333 - back1, DEFAULT_BP)], "refund settlement")
    eq(balance("seller_payable:%d" % s1), 9999 - c1 - (3333 - back1), "seller 1 after")

    # the rest: every seller back to zero, the commission returned to the last won
    r = sess.post_json("/api/v1/orders/%s/refunds" % oid, {})
    eq(r.status, 200, "the rest: %r" % r.body[:300])
    rest = r.json()["refundId"]
    eventually(lambda: refund_settle_job(rest)[0] == "done", timeout=40, what="rest settled")
    eq(balance("seller_payable:%d" % s1), 0, "seller 1 owed nothing")
    eq(balance("seller_payable:%d" % s2), 0, "seller 2 owed nothing")
    taken = sum(x[2] for x in settlements(oid))
    given = sum(x[2] for x in settlements(first) + settlements(rest))
    eq((taken, given), (c1 + commission(2002, 250), c1 + commission(2002, 250)),
       "commission back exactly")
    eq(balance("points:%d" % shopper), 30000, "points back")
    eq(status(oid), "CANCELED", "refunded in full")
    books_balance()


def test_ledger_check_names_a_tampered_account():
    seller = new_seller()
    pid = make_product(price=1000, stock=5, seller_id=seller)
    o = order(Session(make_user(points=1000)), [(pid, 1)], "points")
    settled(o["orderId"])
    code = "seller_payable:%d" % seller
    sql("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE code = '%s'" % code)
    try:
        rc, out = ctl("ledger-check")
        eq(rc, 1, "violations: %s" % out)
        if "account %s: posted debits 0 credits 901, its transfers debit 0 credit 900\n" % code \
                not in out:
            raise AssertionError("the account is not named: %r" % out)
        if not out.endswith("violations\n"):
            raise AssertionError("summary: %r" % out)
    finally:
        sql("UPDATE ledger_accounts SET credits_posted = credits_posted - 1 WHERE code = '%s'"
            % code)
    books_balance()


def settle_workers(n):
    """Runs n settle workers (script/stack starts the missing ones; stop stops them all)."""
    env = dict(os.environ, JT_SETTLE_WORKERS=str(n))
    script = os.path.join(SRC, "script", "stack")
    subprocess.run([script, "stop", "settleworkers"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([script, "start", "settleworkers"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_two_refunds_of_an_order_settled_at_once_give_back_exactly_the_commission():
    """Found by the chaos drill: two settle workers settling two refunds of one order at the
    same moment both read "nothing refunded before", so each gave back C(r) instead of
    C(prior + r) - C(prior), and floor(30 * 2.5 %) twice is 0 where floor(60 * 2.5 %) is 1:
    the seller lost a won. A transaction holding the sale's settlement and the seller's
    payable makes both refund settlements wait at the same point, then lets them go."""
    seller = new_seller(250)
    pid = make_product(price=30, stock=10, seller_id=seller)
    sess = Session(make_user(points=1000))
    oid = order(sess, [(pid, 2)], "points")["orderId"]
    settled(oid)
    eq(settlements(oid), [(seller, 60, 1, 59, 250)], "the sale: 2.5 % of 60 is 1")
    order_id = int(sql("SELECT id FROM orders WHERE public_id = '%s'" % oid)[0][0])
    settle_workers(2)
    try:
        hold = subprocess.Popen(
            ["mariadb", "--socket=" + os.path.join(RUN, "mysql.sock"), "-ujangteo",
             "-pjangteo", "jangteo", "-N", "-B", "-e",
             "BEGIN; SELECT id FROM settlements WHERE kind = 'sale' AND order_id = %d FOR UPDATE;"
             " SELECT id FROM ledger_accounts WHERE code = 'seller_payable:%d' FOR UPDATE;"
             " SELECT SLEEP(4); COMMIT;" % (order_id, seller)],
            stdout=subprocess.DEVNULL)
        time.sleep(0.5)   # the locks are taken
        refunds = []
        for _ in range(2):
            r = sess.post_json("/api/v1/orders/%s/refunds" % oid,
                               {"lines": [{"productId": pid, "quantity": 1}]})
            eq(r.status, 200, "points refund done at once: %r" % r.body[:300])
            refunds.append(r.json()["refundId"])
        eq(hold.wait(20), 0, "the holding transaction")
        for rid in refunds:
            eventually(lambda: refund_settle_job(rid)[0] == "done", timeout=40,
                       what="refund %s settled" % rid)
    finally:
        settle_workers(1)
    given = sum(settlements(rid)[0][2] for rid in refunds)
    eq(given, 1, "the commission given back, to the won")
    eq(balance("seller_payable:%d" % seller), 0, "the seller is owed nothing")
    books_balance()
