"""Order notifications (issue 5, seed 002's post-order notice): the notify worker mails the
shopper once per paid order and per completed refund, in Korean, through the SMTP sink
(tests/fakes/smtp_sink.py), with the order id, the items and the amount in won; a relay
failure is retried with the outbox back-off and the mail goes out once the relay is back;
a shopper without a deliverable address, an order that no longer exists or a refund that does
not exist completes the job without mail; hostile product names cannot touch the headers.

The notify job of a payment is queued by the paid effects every paying path shares
(lib/shop/order_state.c: a points checkout, a PG's confirm or check, a reconciliation repair,
whose test is in test_reconcile.py) and the one of a refund by lib/shop/refunds_done.c; each
carries exactly the payload lib/infra/payload.c builds. While fcgi/refunds.c is a
placeholder, the refund test records a DONE refund in the tables (as lib/shop/refunds_done.c
commits it) and queues its job; once the route is there it refunds through
POST /api/v1/orders/{id}/refunds."""
import os
import re
import time

from jt import (RUN, SRC, Session, count, eq, eventually, follow_pg, mails_to, make_product,
                make_seller, make_user, quote, sql, stack)
from jt import order_status as status

SUBJECT_PAID = "[장터] 결제 완료: "
SUBJECT_REFUND = "[장터] 환불 완료: "
BASE_URL = "http://127.0.0.1:%s" % os.environ.get("JT_HTTP_PORT", "8080")
FAIL_KNOB = os.path.join(RUN, "fakes", "smtp-fail")


# ---- helpers ----------------------------------------------------------------------------------

def route_landed(path):
    """False while the handler file at path is still its placeholder."""
    with open(os.path.join(SRC, path)) as f:
        return "placeholder" not in f.readline()


def email_of(uid):
    return sql("SELECT email FROM users WHERE id = %d" % uid)[0][0]


def notify_jobs(oid):
    """[(id, status, attempts, payload)] of the notify jobs naming order oid."""
    return [(int(r[0]), r[1], int(r[2]), r[3]) for r in sql(
        "SELECT id, status, attempts, payload FROM outbox WHERE kind = 'notify' AND payload"
        " LIKE '%%\"%s\"%%' ORDER BY id" % oid)]


def add_notify_job(payload):
    """Queues a notify job the way a path would (an outbox row); the janitor pushes it after
    janitor.grace_ms. Returns its id."""
    rows = sql("INSERT INTO outbox (kind, payload) VALUES ('notify', %s); SELECT LAST_INSERT_ID();"
               % quote(payload))
    return int(rows[-1][0])


def job_row(jid):
    r = sql("SELECT status, attempts, IFNULL(last_error, '') FROM outbox WHERE id = %d" % jid)[0]
    return r[0], int(r[1]), r[2]


def job_done(jid, timeout=20.0):
    return eventually(lambda: job_row(jid)[0] == "done", timeout=timeout,
                      what="notify job %d done (now %r)" % (jid, job_row(jid)))


def paid_job(oid):
    """The notify job of paid order oid: every paying path (lib/shop/order_state's paid
    effects) queues exactly one."""
    jobs = notify_jobs(oid)
    eq(len(jobs), 1, "the paying path queued one notify job")
    eq(jobs[0][3], '{"orderId":"%s","event":"paid"}' % oid, "its payload")
    return jobs[0][0]


def body_of(m):
    """The decoded text body with LF line ends."""
    return m.get_content().replace("\r\n", "\n")


def subject_of(m):
    """The decoded Subject (RFC 2047 words joined, as a mail program shows it)."""
    return str(m["Subject"])


def raw_headers(m):
    """The header block as sent, unfolded lines, without the sink's X-Envelope-To."""
    head = m.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    lines = re.sub(r"\r\n[ \t]", " ", head).split("\r\n")
    return lines[1:]


def one_mail(addr, timeout=20.0):
    mails = eventually(lambda: mails_to(addr), timeout=timeout, what="a mail to %s" % addr)
    eq(len(mails), 1, "exactly one mail to %s" % addr)
    return mails[0]


def assert_paid_mail(m, addr, oid, amount_text, lines):
    eq(m.envelope, addr, "the envelope names only the shopper")
    eq([h for h in raw_headers(m) if h.startswith("To:")], ["To: <%s>" % addr], "To")
    subj = subject_of(m)
    if not (subj.startswith(SUBJECT_PAID) and subj.endswith(" %s원 (주문번호 %s)"
                                                           % (amount_text, oid))):
        raise AssertionError("subject: %r" % subj)
    body = body_of(m)
    for want in ["주문하신 상품의 결제가 완료되었습니다.", "주문번호: %s" % oid,
                 "결제금액: %s원" % amount_text, "주문 상세 보기: %s/orders/%s" % (BASE_URL, oid)]:
        if want not in body:
            raise AssertionError("%r not in the body:\n%s" % (want, body))
    for line in lines:
        if "\n- %s\n" % line not in "\n" + body:
            raise AssertionError("line %r not in the body:\n%s" % (line, body))
    return subj, body


def new_order(sess, items, method):
    body = {"products": [{"id": p, "quantity": q} for p, q in items], "paymentMethod": method}
    r = sess.post_json("/api/v1/orders", body)
    eq(r.status, 201, "order created: %r" % r.body[:300])
    return r.json()


def smtp_fail(n):
    """The sink answers the next n DATA commands with 451 (0 clears the knob)."""
    if n == 0:
        if os.path.exists(FAIL_KNOB):
            os.unlink(FAIL_KNOB)
        return
    with open(FAIL_KNOB + ".tmp", "w") as f:
        f.write("%d\n" % n)
    os.replace(FAIL_KNOB + ".tmp", FAIL_KNOB)


# ---- tests ------------------------------------------------------------------------------------

def test_a_points_order_mails_the_shopper_once_with_the_amount_and_lines():
    p1 = make_product(price=12500, stock=10, name="유기농 사과 1kg-%d" % time.time_ns())
    p2 = make_product(price=990, stock=10)
    uid = make_user(name="김장터", points=100000)
    s = Session(uid)
    o = new_order(s, [(p1, 2), (p2, 3)], "points")
    oid = o["orderId"]
    eq(status(oid), "PAID", "points orders are paid at checkout")
    jid = paid_job(oid)
    job_done(jid)
    addr = email_of(uid)
    m = one_mail(addr)
    n1 = sql("SELECT name FROM products WHERE id = %d" % p1)[0][0]
    n2 = sql("SELECT name FROM products WHERE id = %d" % p2)[0][0]
    subj, body = assert_paid_mail(m, addr, oid, "27,970",
                                  ["%s x 2: 25,000원" % n1, "%s x 3: 2,970원" % n2])
    eq(subj, "[장터] 결제 완료: %s 외 1건 27,970원 (주문번호 %s)" % (n1, oid), "subject")
    if not body.startswith("김장터님, 안녕하세요.\n"):
        raise AssertionError("greeting: %r" % body[:80])
    if "결제수단: 포인트\n" not in body:
        raise AssertionError("method: %s" % body)
    eq((m.get_content_type(), m.get_content_charset()), ("text/plain", "utf-8"), "plain text")
    eq(job_row(jid)[:2], ("done", 1), "one attempt")
    # A replay of the finished job (the bus or the janitor delivering it again) sends nothing.
    time.sleep(0.3)
    eq(len(mails_to(addr)), 1, "still one mail")


def test_a_toss_order_paid_by_the_confirm_worker_mails_once():
    pid = make_product(price=4500, stock=5)
    uid = make_user()
    s = Session(uid)
    o = new_order(s, [(pid, 2)], "toss")
    oid = o["orderId"]
    back = follow_pg(o["payment"]["redirectUrl"], "outcome=success")
    eq(s.get(back).status, 200, "order received page")
    eventually(lambda: status(oid) == "PAID", timeout=20, what="PAID")
    jid = paid_job(oid)
    job_done(jid)
    addr = email_of(uid)
    m = one_mail(addr)
    name = sql("SELECT name FROM products WHERE id = %d" % pid)[0][0]
    subj, body = assert_paid_mail(m, addr, oid, "9,000", ["%s x 2: 9,000원" % name])
    eq(subj, "[장터] 결제 완료: %s 9,000원 (주문번호 %s)" % (name, oid), "subject")
    if "결제수단: 토스페이먼츠\n" not in body:
        raise AssertionError("method: %s" % body)


def test_a_relay_failure_is_retried_and_the_mail_goes_out_once_it_is_back():
    pid = make_product(price=3000, stock=5)
    uid = make_user(points=10000)
    smtp_fail(2)
    try:
        o = new_order(Session(uid), [(pid, 1)], "points")
        oid = o["orderId"]
        jid = paid_job(oid)
        # Two refused deliveries, each given back to the outbox with the back-off ...
        eventually(lambda: job_row(jid)[1] >= 2, timeout=20, what="a second attempt")
        eq(mails_to(email_of(uid)), [], "nothing delivered while the relay refuses")
        # ... then the relay takes it.
        job_done(jid, timeout=30)
    finally:
        smtp_fail(0)
    st, attempts, _ = job_row(jid)
    eq((st, attempts), ("done", 3), "done at the third attempt")
    m = one_mail(email_of(uid))
    assert_paid_mail(m, email_of(uid), oid, "3,000", [])
    log = open(os.path.join(RUN, "log", "jangteo.log"), encoding="utf-8",
               errors="replace").read()
    if "notify: order %s: paid mail not sent (" % oid not in log:
        raise AssertionError("the refusal is logged")


def test_a_hostile_product_name_cannot_touch_the_headers():
    hostile = "악성\r\nBcc: victim@evil.test\r\nSubject: 당첨 =?UTF-8?B?SGk=?= \x01\x7f끝"
    pid = make_product(price=1000, stock=5, name=hostile + str(time.time_ns()))
    uid = make_user(name="이름\r\nX-Injected: 1", points=10000)
    o = new_order(Session(uid), [(pid, 1)], "points")
    oid = o["orderId"]
    jid = paid_job(oid)
    job_done(jid)
    addr = email_of(uid)
    m = one_mail(addr)
    eq(m.envelope, addr, "no extra recipient")
    names = sorted(h.split(":", 1)[0] for h in raw_headers(m))
    eq(names, ["Content-Transfer-Encoding", "Content-Type", "Date", "From", "MIME-Version",
               "Message-ID", "Subject", "To"], "exactly the headers lib/infra/mail writes")
    raw_subject = [h for h in raw_headers(m) if h.startswith("Subject:")][0]
    if "=?UTF-8?B?" not in raw_subject:
        raise AssertionError("a Korean subject is encoded: %r" % raw_subject)
    subj = subject_of(m)
    if not subj.startswith(SUBJECT_PAID + "악성 Bcc: victim@evil.test Subject: 당첨"):
        raise AssertionError("control bytes became spaces in the subject: %r" % subj)
    if "\r" in subj or "\n" in subj or "\x01" in subj or "\x7f" in subj:
        raise AssertionError("control bytes in the subject: %r" % subj)
    body = body_of(m)
    if not body.startswith("이름 X-Injected: 1님, 안녕하세요.\n"):
        raise AssertionError("the name stays on the greeting line: %r" % body[:80])
    if "\n- 악성 Bcc: victim@evil.test Subject: 당첨 =?UTF-8?B?SGk=?= 끝" not in body:
        raise AssertionError("the line is one line: %s" % body)
    eq(mails_to("victim@evil.test"), [], "nothing to the injected address")


def test_no_mail_without_an_address_a_user_or_an_order_and_the_job_completes():
    pid = make_product(price=2000, stock=5)
    # A social login without an e-mail has a placeholder at the reserved .invalid domain.
    uid = make_user(points=10000)
    ghost = "kakao-%d@oauth.invalid" % time.time_ns()
    sql("UPDATE users SET email = %s WHERE id = %d" % (quote(ghost), uid))
    o = new_order(Session(uid), [(pid, 1)], "points")
    j1 = paid_job(o["orderId"])
    # An order that does not exist (or never will).
    j2 = add_notify_job('{"orderId":"NoSuchOrder0000000000000","event":"paid"}')
    # An order that was never paid.
    unpaid = new_order(Session(make_user()), [(pid, 1)], "toss")["orderId"]
    j3 = add_notify_job('{"orderId":"%s","event":"paid"}' % unpaid)
    for j in (j1, j2, j3):
        job_done(j)
        eq(job_row(j)[1], 1, "one attempt, no retry")
    eq(mails_to(ghost), [], "nothing sent to a placeholder address")
    log = open(os.path.join(RUN, "log", "jangteo.log"), encoding="utf-8",
               errors="replace").read()
    for want in ["has no deliverable e-mail address", "notify: no order NoSuchOrder",
                 "notify: order %s was never paid" % unpaid]:
        if want not in log:
            raise AssertionError("logged: %r" % want)


def test_a_batch_of_notices_mails_each_shopper_once_and_completes_together():
    # Eight notify jobs wait while no notify worker runs: six paid orders of five shoppers,
    # one of a shopper without an address, one naming no order. One worker then claims them
    # in growing batches (1, 2, 4), reads each batch's orders together and completes the
    # batch's jobs by one statement: every order gets exactly one mail, every job is done
    # after one attempt, nothing goes to the placeholder address.
    pid = make_product(price=3100, stock=20)
    stack("stop", "notifyworkers")
    try:
        users = [make_user(points=10000) for _ in range(5)]
        oids = [new_order(Session(u), [(pid, 1 + i % 2)], "points")["orderId"]
                for i, u in enumerate(users)]
        ghost_uid = make_user(points=10000)
        ghost = "naver-%d@oauth.invalid" % time.time_ns()
        sql("UPDATE users SET email = %s WHERE id = %d" % (quote(ghost), ghost_uid))
        ghost_oid = new_order(Session(ghost_uid), [(pid, 1)], "points")["orderId"]
        # The first shopper's second order: one shopper twice in a batch (their contact is
        # read once for the batch and serves both mails).
        again = new_order(Session(users[0]), [(pid, 1)], "points")["orderId"]
        jids = [paid_job(o) for o in oids + [ghost_oid, again]]
        jids.append(add_notify_job('{"orderId":"NoSuchOrder0000000000001","event":"paid"}'))
        before = open(os.path.join(RUN, "log", "jangteo.log"), encoding="utf-8",
                      errors="replace").read().count("completed together")
    finally:
        stack("restart-notifyworker", "1")
    for j in jids:
        job_done(j)
        eq(job_row(j)[:2], ("done", 1), "job %d done after one attempt" % j)
    for u, o, i in zip(users[1:], oids[1:], range(1, 5)):
        m = one_mail(email_of(u))
        assert_paid_mail(m, email_of(u), o, "{:,}".format(3100 * (1 + i % 2)), [])
    eq(len(mails_to(email_of(users[0]))), 2, "the shopper with two orders gets two mails")
    eq(mails_to(ghost), [], "nothing sent to a placeholder address")
    stack("start", "notifyworkers")
    log = open(os.path.join(RUN, "log", "jangteo.log"), encoding="utf-8",
               errors="replace").read()
    if log.count("completed together") - before < 2:
        raise AssertionError("no batch of notices was completed together")


def test_a_malformed_job_is_kept_for_a_person_not_completed():
    bad = ['{"orderId":"x","event":"shipped"}', '{"orderId":"x","event":"paid","to":"a@b.c"}',
           '{"orderId":"x","event":"refunded"}', 'not json']
    ids = [add_notify_job(p) for p in bad]
    for j in ids:
        eventually(lambda: job_row(j)[1] >= 1 and job_row(j)[0] == "pending", timeout=20,
                   what="job %d tried and given back" % j)
        eq(job_row(j)[2], "transient failure", "given back, not done")
    sql("UPDATE outbox SET status = 'dead' WHERE id IN (%s)" % ",".join(map(str, ids)))


def refund_by_hand(oid, pid, qty, amount):
    """Records a DONE refund of qty units of pid on order oid straight in the tables (what
    lib/shop/refunds.c commits) and queues its notify job as lib/shop/refunds.c does; returns the
    refund's public id and the job id. For while the refund route is not there yet."""
    rid = "R" + ("%023d" % time.time_ns())[-23:]
    sql("INSERT INTO refunds (public_id, order_id, amount, status, actor, done_at)"
        " SELECT %s, id, %d, 'DONE', 'shopper', NOW(3) FROM orders WHERE public_id = %s;"
        "INSERT INTO refund_lines (refund_id, product_id, quantity, amount)"
        " VALUES (LAST_INSERT_ID(), %d, %d, %d);"
        "UPDATE order_lines l JOIN orders o ON o.id = l.order_id"
        " SET l.canceled_quantity = l.canceled_quantity + %d"
        " WHERE o.public_id = %s AND l.product_id = %d;"
        "UPDATE orders SET refunded_amount = refunded_amount + %d,"
        " status = 'PARTIALLY_CANCELED' WHERE public_id = %s"
        % (quote(rid), amount, quote(oid), pid, qty, amount, qty, quote(oid), pid, amount,
           quote(oid)))
    jid = add_notify_job('{"orderId":"%s","event":"refunded","refundId":"%s"}' % (oid, rid))
    return rid, jid


def test_a_refunded_event_mails_the_refund_once():
    pid = make_product(price=5000, stock=5)
    uid = make_user(points=100000)
    s = Session(uid)
    o = new_order(s, [(pid, 2)], "points")
    oid = o["orderId"]
    job_done(paid_job(oid))
    addr = email_of(uid)
    eventually(lambda: len(mails_to(addr)) == 1, what="the paid mail")
    if route_landed("fcgi/refunds.c"):
        r = s.post_json("/api/v1/orders/%s/refunds" % oid,
                        {"lines": [{"productId": pid, "quantity": 1}], "reason": "단순 변심"})
        if r.status not in (200, 202):
            raise AssertionError("refund: %d %r" % (r.status, r.body[:300]))
        rid = r.json()["refundId"]
        jobs = [j for j in notify_jobs(oid) if '"refunded"' in j[3]]
        eq(len(jobs), 1, "the refund queued one notify job")
        eq(jobs[0][3], '{"orderId":"%s","event":"refunded","refundId":"%s"}' % (oid, rid),
           "payload")
        jid = jobs[0][0]
    else:
        rid, jid = refund_by_hand(oid, pid, 1, 5000)
    job_done(jid)
    mails = eventually(lambda: len(mails_to(addr)) == 2 and mails_to(addr), what="refund mail")
    m = mails[1]
    name = sql("SELECT name FROM products WHERE id = %d" % pid)[0][0]
    eq(subject_of(m), "[장터] 환불 완료: %s 5,000원 (주문번호 %s)" % (name, oid), "subject")
    body = body_of(m)
    for want in ["요청하신 환불이 완료되어 포인트로 돌려드렸습니다.", "주문번호: %s" % oid,
                 "환불번호: %s" % rid, "환불금액: 5,000원", "남은 결제금액: 5,000원",
                 "\n- %s x 1: 5,000원\n" % name,
                 "주문 상세 보기: %s/orders/%s" % (BASE_URL, oid)]:
        if want not in body:
            raise AssertionError("%r not in the body:\n%s" % (want, body))
    eq(job_row(jid)[:2], ("done", 1), "one attempt")
    time.sleep(0.3)
    eq(len(mails_to(addr)), 2, "one paid and one refund mail, nothing else")


def test_a_refund_that_does_not_exist_or_failed_sends_nothing():
    pid = make_product(price=5000, stock=5)
    uid = make_user(points=100000)
    o = new_order(Session(uid), [(pid, 2)], "points")
    oid = o["orderId"]
    job_done(paid_job(oid))
    addr = email_of(uid)
    eventually(lambda: len(mails_to(addr)) == 1, what="the paid mail")
    j1 = add_notify_job('{"orderId":"%s","event":"refunded","refundId":"NoSuchRefund00000000000"}'
                        % oid)
    rid = "F" + ("%023d" % time.time_ns())[-23:]
    sql("INSERT INTO refunds (public_id, order_id, amount, status, actor, fail_code)"
        " SELECT %s, id, 5000, 'FAILED', 'shopper', 'NOT_CANCELABLE_PAYMENT' FROM orders"
        " WHERE public_id = %s" % (quote(rid), quote(oid)))
    j2 = add_notify_job('{"orderId":"%s","event":"refunded","refundId":"%s"}' % (oid, rid))
    for j in (j1, j2):
        job_done(j)
        eq(job_row(j)[1], 1, "one attempt")
    eq(len(mails_to(addr)), 1, "only the paid mail")


# ---- parcels: shipped and delivered (issue 15) -------------------------------------------------

def staff_ship(oid, seller, courier="cj", tracking="123456789012"):
    """Ships seller's parcel of order oid through the admin console (a fresh admin)."""
    from test_admin import admin
    r = admin().post_form("/admin/fulfilment/ship", {"order": oid, "seller": str(seller),
                                                     "courier": courier, "tracking_no": tracking})
    eq((r.status, r.header("Location")), (303, "/admin/fulfilment?ok=parcel_shipped"), "shipped")


def staff_deliver(oid, seller):
    from test_admin import admin
    r = admin().post_form("/admin/fulfilment/deliver", {"order": oid, "seller": str(seller)})
    eq(r.status, 303, "delivered")


def parcel_job(oid, event):
    jobs = [j for j in notify_jobs(oid) if '"event":"%s"' % event in j[3]]
    eq(len(jobs), 1, "one %s notify job" % event)
    return jobs[0][0]


def test_a_shipped_parcel_mails_the_courier_and_number_once_and_its_delivery_once():
    seller = make_seller("notify-ship-%d" % time.time_ns())
    other = make_seller("notify-other-%d" % time.time_ns())
    p1 = make_product(price=5000, stock=10, name="제주 감귤 5kg-%d" % time.time_ns(),
                      seller_id=seller)
    p2 = make_product(price=1000, stock=10, seller_id=other)
    uid = make_user(name="김배송", points=100000)
    s = Session(uid)
    oid = new_order(s, [(p1, 2), (p2, 1)], "points")["orderId"]
    addr = email_of(uid)
    job_done(paid_job(oid))
    one_mail(addr)                                   # the paid mail
    staff_ship(oid, seller, courier="hanjin", tracking="HJ-5551234567")
    jid = parcel_job(oid, "shipped")
    job_done(jid)
    mails = eventually(lambda: mails_to(addr) if len(mails_to(addr)) >= 2 else None,
                       what="the shipped mail")
    eq(len(mails), 2, "paid + shipped")
    m = mails[1]
    name = sql("SELECT name FROM products WHERE id = %d" % p1)[0][0]
    eq(subject_of(m), "[장터] 배송 시작: %s (주문번호 %s)" % (name, oid), "subject")
    body = body_of(m)
    for want in ["김배송님, 안녕하세요.\n주문하신 상품이 발송되었습니다.", "주문번호: %s\n" % oid,
                 "택배사: 한진택배\n운송장 번호: HJ-5551234567\n", "\n- %s x 2\n" % name,
                 "주문 상세 보기: %s/orders/%s" % (BASE_URL, oid)]:
        if want not in body:
            raise AssertionError("%r not in the body:\n%s" % (want, body))
    if "x 1\n" in body:
        raise AssertionError("the other seller's goods are not in this parcel:\n" + body)
    eq(job_row(jid)[:2], ("done", 1), "one attempt")

    staff_deliver(oid, seller)
    jid = parcel_job(oid, "delivered")
    job_done(jid)
    mails = eventually(lambda: mails_to(addr) if len(mails_to(addr)) >= 3 else None,
                       what="the delivered mail")
    eq(subject_of(mails[2]), "[장터] 배송 완료: %s (주문번호 %s)" % (name, oid), "subject")
    if "배송이 완료되었습니다." not in body_of(mails[2]):
        raise AssertionError(body_of(mails[2]))
    time.sleep(0.5)
    eq(len(mails_to(addr)), 3, "one mail per notice")
    eq(len(notify_jobs(oid)), 3, "paid, shipped, delivered: one job each")
