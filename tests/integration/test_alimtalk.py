"""KakaoTalk 알림톡 for order notices (issue 17), against the fake NHN Cloud Bizmessage API
(tests/fakes/alimtalk.py, JT_HTTP_PORT + 4): the shopper's mobile number and consent on the
account page and the API; a consenting shopper's paid and refunded orders each send exactly
one 알림톡 and no mail, also when the provider's answer is lost or the notify worker is
killed mid-send (one idempotency key per notice); a number without KakaoTalk gets the
provider's SMS/LMS; a definite refusal, or a provider that stays down (the "alimtalk"
breaker opens), sends the mail instead, once; no consent means mail only.

A parcel's shipped and delivered notices (the staff ship through /admin/fulfilment) each send
exactly one 알림톡, keyed per parcel ("shipped:<orderId>-<sellerId>"), also when the worker is
killed mid-send."""
import http.client
import json
import os
import re
import signal
import subprocess
import time

from jt import (RUN, SRC, Session, envelope, eq, eventually, get, make_product, make_user,
                pids, redis, request, sql)
from test_notify import email_of, job_done, job_row, mails_to, notify_jobs

FAKE_PORT = int(os.environ.get("JT_HTTP_PORT", "18080")) + 4
FAULTS = os.path.join(RUN, "fakes", "alimtalk-faults")
NO_KAKAO = os.path.join(RUN, "fakes", "alimtalk-nokakao")
BASE_URL = "http://127.0.0.1:%s" % os.environ.get("JT_HTTP_PORT", "8080")
_phone_seq = [int(time.time()) % 9000]


# ---- helpers ----------------------------------------------------------------------------------

def new_phone():
    """A mobile number no other test uses: (typed form, digits)."""
    _phone_seq[0] += 1
    n = "%04d%04d" % (os.getpid() % 10000, _phone_seq[0] % 10000)
    return "010-%s-%s" % (n[:4], n[4:]), "010" + n


def set_contact(s, phone, consent):
    r = request("PUT", "/api/v1/me/notifications", body={"phone": phone,
                                                           "alimtalkConsent": consent},
                headers=s.headers())
    eq(r.status, 200, "notice settings: %r" % r.body[:200])
    return r.json()


def consenting_shopper(points=100000, name="김알림"):
    """A shopper with a fresh number who consented to 알림톡: (session, digits)."""
    uid = make_user(name=name, points=points)
    s = Session(uid)
    typed, digits = new_phone()
    set_contact(s, typed, True)
    return s, digits


def messages(number):
    """What the fake provider took for number, oldest first."""
    c = http.client.HTTPConnection("127.0.0.1", FAKE_PORT, timeout=10)
    try:
        c.request("GET", "/fake/alimtalk/messages?recipientNo=" + number)
        r = c.getresponse()
        eq(r.status, 200, "fake records")
        return json.loads(r.read().decode("utf-8"))
    finally:
        c.close()


def faults(text):
    """Replaces the fake's fault rules (empty: none)."""
    with open(FAULTS + ".tmp", "w") as f:
        f.write(text)
    os.replace(FAULTS + ".tmp", FAULTS)


def no_kakao(numbers):
    with open(NO_KAKAO + ".tmp", "w") as f:
        f.write("".join(n + "\n" for n in numbers))
    os.replace(NO_KAKAO + ".tmp", NO_KAKAO)


def points_order(s, price=3000, qty=2, name=None):
    pid = make_product(price=price, stock=10, name=name)
    r = s.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": qty}]})
    eq(r.status, 201, "order: %r" % r.body[:200])
    return r.json()["orderId"], pid


def the_job(oid, event="paid"):
    """The id of order oid's notify job for event."""
    jobs = eventually(lambda: [j for j in notify_jobs(oid) if '"%s"' % event in j[3]],
                      what="the %s notify job of %s" % (event, oid))
    eq(len(jobs), 1, "one %s notify job" % event)
    return jobs[0][0]


def deliveries(key):
    return sql("SELECT channel, outcome, recipient, IFNULL(detail, '') FROM notify_deliveries"
               " WHERE event_key = '%s'" % key)


def log_text():
    with open(os.path.join(RUN, "log", "jangteo.log"), encoding="utf-8", errors="replace") as f:
        return f.read()


_worker_env = {}


def notify_workers(env):
    """Restarts the notify workers with the stack's environment plus env (JANGTEO_*)."""
    global _worker_env
    if env == _worker_env:
        return
    e = dict(os.environ)
    e.update(env)
    n = len(pids("notifyworker-*")) or 1   # the stack's pool, whatever its default
    for i in range(1, n + 1):
        subprocess.run([os.path.join(SRC, "script", "stack"), "restart-notifyworker", str(i)],
                       env=e, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _worker_env = dict(env)


# ---- the number and the consent ---------------------------------------------------------------

def test_the_api_stores_a_korean_mobile_number_and_the_consent_with_its_time():
    uid = make_user()
    s = Session(uid)
    eq(get("/api/v1/me/notifications", headers=s.headers()).json(),
       {"phone": None, "alimtalkConsent": False, "consentAt": None}, "nothing at first")
    typed, digits = new_phone()
    doc = set_contact(s, digits, True)
    eq((doc["phone"], doc["alimtalkConsent"]), (typed, True), "stored canonically")
    if not re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", doc["consentAt"] or ""):
        raise AssertionError("consent time: %r" % doc["consentAt"])
    time.sleep(1.1)
    eq(set_contact(s, typed.replace("-", " "), True)["consentAt"], doc["consentAt"],
       "the consent keeps the time it was given")
    eq(set_contact(s, typed, False), {"phone": typed, "alimtalkConsent": False,
                                      "consentAt": None}, "withdrawn")
    eq(set_contact(s, None, False), {"phone": None, "alimtalkConsent": False,
                                     "consentAt": None}, "number removed")
    for bad in ["011-1234-5678", "010-123-4567", "+82-10-1234-5678", "010-1234-567a",
                "010-1234 5678", "010" + "1" * 60]:
        eq(envelope(request("PUT", "/api/v1/me/notifications",
                            body={"phone": bad, "alimtalkConsent": True}, headers=s.headers()),
                    400, "INVALID_PHONE"), "휴대폰 번호는 010-1234-5678 형식으로 입력해 주세요.",
           "refused %r" % bad)
    envelope(request("PUT", "/api/v1/me/notifications", body={"phone": None,
                                                              "alimtalkConsent": True},
                     headers=s.headers()), 400, "PHONE_REQUIRED")
    for body in [{"phone": typed}, {"alimtalkConsent": True}, {"phone": 1, "alimtalkConsent": True},
                 {"phone": typed, "alimtalkConsent": "yes"},
                 {"phone": typed, "alimtalkConsent": True, "email": "x@y.z"}]:
        envelope(request("PUT", "/api/v1/me/notifications", body=body, headers=s.headers()),
                 400, "INVALID_FIELDS")
    envelope(request("PUT", "/api/v1/me/notifications", body={"phone": typed,
                                                              "alimtalkConsent": True}), 401,
             "UNAUTHORIZED")
    envelope(request("PUT", "/api/v1/me/notifications", body={"phone": typed,
                                                              "alimtalkConsent": True},
                     headers=s.headers(csrf=False)), 403, "CSRF_TOKEN_INVALID")
    eq(sql("SELECT IFNULL(phone, 'NULL'), IFNULL(alimtalk_consent_at, 'NULL') FROM users"
           " WHERE id = %d" % uid), [["NULL", "NULL"]], "nothing partial stored")


def test_the_account_page_shows_and_saves_the_number_and_consent():
    uid = make_user(name="김페이지")
    s = Session(uid)
    page = s.get("/account")
    eq(page.status, 200, "page")
    if 'name="phone" value=""' not in page.text or " checked" in page.text:
        raise AssertionError("an empty form: %s" % page.text)
    typed, digits = new_phone()
    r = s.post_form("/account/notifications", {"phone": digits, "alimtalk": "on"})
    eq((r.status, r.header("Location")), (303, "/account?saved=1"), "saved")
    page = s.get("/account?saved=1").text
    for want in ['id="saved"', 'name="phone" value="%s"' % typed, " checked>",
                 'id="consent-at"']:
        if want not in page:
            raise AssertionError("%r not on the page" % want)
    r = s.post_form("/account/notifications", {"phone": "02-123-4567", "alimtalk": "on"})
    eq(r.status, 400, "refused")
    if "휴대폰 번호는 010-1234-5678 형식으로 입력해 주세요." not in r.text or \
            'value="02-123-4567"' not in r.text:
        raise AssertionError("the reason and what was typed: %s" % r.text)
    r = s.post_form("/account/notifications", {"phone": "", "alimtalk": "on"})
    eq(r.status, 400, "consent without a number")
    eq(s.post_form("/account/notifications", {"phone": typed}, csrf=False).status, 403, "CSRF")
    eq(get("/api/v1/me/notifications", headers=s.headers()).json()["phone"], typed,
       "the refused forms changed nothing")
    eq(request("GET", "/account").status, 303, "signed out: to the login page")


# ---- one message per notice -------------------------------------------------------------------

def test_a_consenting_shoppers_paid_order_sends_one_alimtalk_and_no_mail():
    s, number = consenting_shopper(name="김장터")
    oid, pid = points_order(s, price=12500, qty=2, name="유기농 사과 1kg-%d" % time.time_ns())
    jid = the_job(oid)
    job_done(jid)
    msgs = messages(number)
    eq(len(msgs), 1, "exactly one 알림톡")
    m = msgs[0]
    name = sql("SELECT name FROM products WHERE id = %d" % pid)[0][0]
    eq((m["templateCode"], m["delivery"], m["idempotencyKey"], m["recipientGroupingKey"]),
       ("JT_ORDER_PAID", "kakao", "paid:" + oid, "paid:" + oid), "sent once, keyed by the notice")
    eq(m["templateParameter"], {"name": "김장터", "orderId": oid, "orderName": name,
                                "payMethod": "포인트", "amount": "25,000",
                                "url": "%s/orders/%s" % (BASE_URL, oid)}, "template variables")
    if "결제금액: 25,000원" not in m["content"]:
        raise AssertionError(m["content"])
    eq(deliveries("paid:" + oid), [["alimtalk", "sent", "010-%s-%s" % (number[3:7], number[7:]),
                                     ""]], "recorded")
    eq(job_row(jid)[:2], ("done", 1), "one attempt")
    time.sleep(0.5)
    eq(mails_to(email_of(s.user_id)), [], "no mail: 알림톡 took its place")
    eq(len(messages(number)), 1, "still one")


def test_a_refund_sends_one_alimtalk_with_the_refund():
    s, number = consenting_shopper()
    oid, pid = points_order(s, price=5000, qty=2)
    job_done(the_job(oid))
    r = s.post_json("/api/v1/orders/%s/refunds" % oid,
                    {"lines": [{"productId": pid, "quantity": 1}], "reason": "단순 변심"})
    eq(r.status, 200, "points refund done at once: %r" % r.body[:200])
    rid = r.json()["refundId"]
    jid = the_job(oid, "refunded")
    job_done(jid)
    msgs = messages(number)
    eq([m["templateCode"] for m in msgs], ["JT_ORDER_PAID", "JT_ORDER_REFUNDED"], "one each")
    name = sql("SELECT name FROM products WHERE id = %d" % pid)[0][0]
    eq(msgs[1]["templateParameter"], {"name": "김알림", "orderId": oid, "refundId": rid,
                                      "items": name, "amount": "5,000",
                                      "url": "%s/orders/%s" % (BASE_URL, oid)}, "variables")
    eq(msgs[1]["idempotencyKey"], "refunded:" + rid, "keyed by the refund")
    eq(job_row(jid)[:2], ("done", 1), "one attempt")
    eq(mails_to(email_of(s.user_id)), [], "no mail")


def test_a_lost_answer_is_retried_and_sends_nothing_twice():
    s, number = consenting_shopper()
    faults("send drop count=1 to=%s\n" % number)
    try:
        oid, _ = points_order(s)
        jid = the_job(oid)
        job_done(jid, timeout=30)
    finally:
        faults("")
    eq(len(messages(number)), 1, "the provider took it once")
    # libcurl resends once on a kept-alive connection that died, inside the same attempt; a
    # fresh connection's loss is retried by the outbox. Either way the resend meets the key.
    st, attempts, _ = job_row(jid)
    if st != "done" or attempts not in (1, 2):
        raise AssertionError("job: %r" % (job_row(jid),))
    if "notify: order %s: 알림톡 paid:%s had been sent by an earlier try" % (oid, oid) \
            not in log_text():
        raise AssertionError("the retry says why it sent nothing")
    eq(mails_to(email_of(s.user_id)), [], "no mail either")


def test_a_worker_killed_mid_send_leaves_one_message():
    s, number = consenting_shopper()
    faults("send latency_ms=3000 count=1 to=%s\n" % number)
    try:
        oid, _ = points_order(s)
        jid = the_job(oid)
        eventually(lambda: job_row(jid)[:2] == ("claimed", 1), timeout=20,
                   what="the job claimed")
        time.sleep(1.0)  # inside the 3 s the provider takes to answer
        victims = pids("notifyworker-*")
        assert victims, "no notify worker pids"
        for p in victims:
            os.kill(p, signal.SIGKILL)
        subprocess.run([os.path.join(SRC, "script", "stack"), "start", "notifyworkers"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        job_done(jid, timeout=40)
    finally:
        faults("")
    eq(len(messages(number)), 1, "exactly one message although the first try never finished")
    eq(job_row(jid)[:2], ("done", 2), "taken up again after the claim expired")
    eq(deliveries("paid:" + oid)[0][:2], ["alimtalk", "sent"], "recorded once")
    eq(mails_to(email_of(s.user_id)), [], "no mail")


def parcel_of(oid):
    """The seller of order oid's only product."""
    return int(sql("SELECT l.seller_id FROM order_lines l JOIN orders o ON o.id = l.order_id"
                   " WHERE o.public_id = '%s'" % oid)[0][0])


def staff_move(oid, seller, what):
    """Ships (what="ship") or delivers seller's parcel of oid through the admin console."""
    from test_admin import admin
    fields = {"order": oid, "seller": str(seller)}
    if what == "ship":
        fields.update(courier="cj", tracking_no="CJ-1234567890")
    r = admin().post_form("/admin/fulfilment/" + what, fields)
    eq(r.status, 303, "%s: %r" % (what, r.body[:300]))


def test_a_shipped_parcel_sends_one_alimtalk_with_the_courier_and_number_and_one_when_delivered():
    s, number = consenting_shopper(name="김택배")
    oid, pid = points_order(s, price=7000, qty=1, name="햅쌀 10kg-%d" % time.time_ns())
    job_done(the_job(oid))
    seller = parcel_of(oid)
    staff_move(oid, seller, "ship")
    jid = the_job(oid, "shipped")
    job_done(jid)
    msgs = messages(number)
    eq([m["templateCode"] for m in msgs], ["JT_ORDER_PAID", "JT_ORDER_SHIPPED"], "one each")
    key = "shipped:%s-%d" % (oid, seller)
    name = sql("SELECT name FROM products WHERE id = %d" % pid)[0][0]
    eq((msgs[1]["idempotencyKey"], msgs[1]["recipientGroupingKey"]), (key, key), "per parcel")
    eq(msgs[1]["templateParameter"], {"name": "김택배", "orderId": oid, "items": name,
                                      "courier": "CJ대한통운", "trackingNo": "CJ-1234567890",
                                      "url": "%s/orders/%s" % (BASE_URL, oid)}, "variables")
    if "운송장 번호: CJ-1234567890" not in msgs[1]["content"]:
        raise AssertionError(msgs[1]["content"])
    eq(deliveries(key)[0][:2], ["alimtalk", "sent"], "recorded")
    eq(job_row(jid)[:2], ("done", 1), "one attempt")
    staff_move(oid, seller, "deliver")
    job_done(the_job(oid, "delivered"))
    msgs = messages(number)
    eq([m["templateCode"] for m in msgs],
       ["JT_ORDER_PAID", "JT_ORDER_SHIPPED", "JT_ORDER_DELIVERED"], "one each")
    eq(msgs[2]["idempotencyKey"], "delivered:%s-%d" % (oid, seller), "keyed by the parcel")
    time.sleep(0.5)
    eq(len(messages(number)), 3, "still three")
    eq(mails_to(email_of(s.user_id)), [], "no mail: 알림톡 took its place")


def test_a_worker_killed_mid_send_of_a_shipped_notice_leaves_one_message():
    s, number = consenting_shopper()
    oid, _ = points_order(s)
    job_done(the_job(oid))
    seller = parcel_of(oid)
    faults("send latency_ms=3000 count=1 to=%s\n" % number)
    try:
        staff_move(oid, seller, "ship")
        jid = the_job(oid, "shipped")
        eventually(lambda: job_row(jid)[:2] == ("claimed", 1), timeout=20,
                   what="the job claimed")
        time.sleep(1.0)  # inside the 3 s the provider takes to answer
        victims = pids("notifyworker-*")
        assert victims, "no notify worker pids"
        for p in victims:
            os.kill(p, signal.SIGKILL)
        subprocess.run([os.path.join(SRC, "script", "stack"), "start", "notifyworkers"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        job_done(jid, timeout=40)
    finally:
        faults("")
    shipped = [m for m in messages(number) if m["templateCode"] == "JT_ORDER_SHIPPED"]
    eq(len(shipped), 1, "exactly one shipped message although the first try never finished")
    eq(job_row(jid)[:2], ("done", 2), "taken up again after the claim expired")
    eq(deliveries("shipped:%s-%d" % (oid, seller))[0][:2], ["alimtalk", "sent"], "recorded once")
    eq(mails_to(email_of(s.user_id)), [], "no mail")


def test_a_number_without_kakaotalk_gets_the_providers_text_message():
    s, number = consenting_shopper()
    no_kakao([number])
    try:
        oid, _ = points_order(s)
        job_done(the_job(oid))
    finally:
        no_kakao([])
    msgs = messages(number)
    eq([(m["delivery"], m["resendSendNo"]) for m in msgs], [("lms", "0212345678")],
       "one LMS from the registered sender number")
    eq(mails_to(email_of(s.user_id)), [], "no mail")


def test_a_definite_refusal_sends_the_mail_instead_once():
    s, number = consenting_shopper()
    faults("send error=-3003 count=1 to=%s\n" % number)
    try:
        oid, _ = points_order(s, price=3000, qty=1)
        jid = the_job(oid)
        job_done(jid)
    finally:
        faults("")
    eq(messages(number), [], "no 알림톡")
    eq(deliveries("paid:" + oid)[0][:2], ["alimtalk", "refused"], "the refusal is recorded")
    eq(deliveries("paid:" + oid)[0][3], "Template does not exist.", "and why")
    mails = eventually(lambda: mails_to(email_of(s.user_id)), what="the mail")
    eq(len(mails), 1, "one mail")
    if not str(mails[0]["Subject"]).endswith("3,000원 (주문번호 %s)" % oid):
        raise AssertionError(str(mails[0]["Subject"]))
    eq(job_row(jid)[:2], ("done", 1), "one attempt")


def test_no_consent_means_mail_only():
    uid = make_user(points=100000)
    s = Session(uid)
    typed, number = new_phone()
    set_contact(s, typed, False)
    oid, _ = points_order(s)
    job_done(the_job(oid))
    eq(len(eventually(lambda: mails_to(email_of(uid)), what="the mail")), 1, "one mail")
    eq(messages(number), [], "no 알림톡 without consent")
    eq(deliveries("paid:" + oid), [], "nothing recorded")


def test_a_provider_that_stays_down_opens_the_breaker_and_the_mail_takes_over():
    """Every send answers 503: the notify worker's "alimtalk" breaker opens (a window of 2),
    and at the third attempt of each job the mail goes instead: one notice per order."""
    notify_workers({"JANGTEO_BREAKER_WINDOW": "2", "JANGTEO_BREAKER_MIN_CALLS": "2",
                    "JANGTEO_BREAKER_FAILURE_RATE": "50", "JANGTEO_BREAKER_OPEN_SECONDS": "60",
                    "JANGTEO_ALIMTALK_MAIL_AFTER_ATTEMPTS": "3"})
    shoppers = [consenting_shopper() for _ in range(2)]
    faults("".join("send status=503 to=%s\n" % n for _, n in shoppers))
    try:
        orders = [points_order(s)[0] for s, _ in shoppers]
        jobs = [the_job(oid) for oid in orders]
        for j in jobs:
            job_done(j, timeout=60)
        metrics = get("/metrics").text
        live = set(pids("notifyworker-*"))
        states = re.findall(r'^jangteo_breaker_state\{breaker="alimtalk",pid="(\d+)",'
                            r'state="open"\} 1$', metrics, re.M)
        if not any(int(p) in live for p in states):
            raise AssertionError("the alimtalk breaker is open in /metrics:\n%s" % metrics)
        if "breaker alimtalk: closed -> open" not in log_text():
            raise AssertionError("the breaker opening is logged")
    finally:
        faults("")
        notify_workers({})
    for (s, number), oid, j in zip(shoppers, orders, jobs):
        eq(messages(number), [], "no 알림톡 went")
        eq(len(eventually(lambda: mails_to(email_of(s.user_id)), what="mail")), 1, "one mail")
        eq(job_row(j)[:2], ("done", 3), "mailed at the third attempt")
        eq(deliveries("paid:" + oid), [], "nothing recorded for 알림톡")


def test_zz_cleanup_leaves_no_breaker_report_behind():
    """The notify workers' "alimtalk" breaker reports (TTL 120 s) would show in /metrics for
    the tests that follow (test_deploy expects only the HTTP families on a quiet stack)."""
    redis("DEL", "breaker:alimtalk", "breaker:alimtalk:procs")
    faults("")
    no_kakao([])
    eq(redis("EXISTS", "breaker:alimtalk:procs"), "0", "gone")
