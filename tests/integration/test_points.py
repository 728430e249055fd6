"""Points (seed 002's balance API): the balance, idempotent charges (Redis first, MariaDB's
unique key when Redis forgot), who may read and charge whose balance, the points page.

Users are made with SQL and signed in by writing their session straight into Redis
(sess:<id> = {user, role, name, csrf}, the shape lib/shop/session.c reads), so these tests do not
depend on the login pages."""
import re
import secrets
import urllib.parse

from jt import Session, envelope, eq, get, parallel, quote, redis, request, sql

CHARGE_MIN_MSG = "최소 충전 금액은 1,000원 입니다."
CHARGE_MAX_MSG = "최대 충전 금액은 1,000,000원 입니다."
KEY_MISSING_MSG = "멱등성 키가 누락되었습니다."
NO_USER_MSG = "존재하지 않는 유저입니다."
IN_FLIGHT_MSG = "이미 처리중인 요청입니다."


def make_user(name="김테스트", points=0, role="shopper", phone=None):
    """A new active user; returns its id."""
    email = "points-%s@jangteo.test" % secrets.token_hex(6)
    rows = sql("INSERT INTO users (email, name, role, status, points, phone) VALUES "
               "(%s, %s, '%s', 'active', %d, %s); SELECT LAST_INSERT_ID();"
               % (quote(email), quote(name), role, points,
                  quote(phone) if phone is not None else "NULL"))
    return int(rows[-1][0])


def balance(user_id):
    return int(sql("SELECT points FROM users WHERE id = %d" % user_id)[0][0])


def charge_rows(user_id):
    return int(sql("SELECT COUNT(*) FROM point_charges WHERE user_id = %d" % user_id)[0][0])


def charge(sess, user_id, body, key, csrf=True, raw=None):
    """POST /api/v1/users/{id}/charge; key None sends no Idempotency-Key header."""
    h = sess.headers(csrf=csrf)
    if key is not None:
        h["Idempotency-Key"] = key
    if raw is not None:
        h["Content-Type"] = "application/json"
        return request("POST", "/api/v1/users/%d/charge" % user_id, body=raw, headers=h)
    return request("POST", "/api/v1/users/%d/charge" % user_id, body=body, headers=h)


def new_key():
    return "key_" + secrets.token_hex(8)


def expected(user_id, amount, name="김테스트", phone=None):
    """The balance as GET /api/v1/users/{id} answers it: seed 002's userId, name, hpNo and
    amount (a number here; its text form is amountText), and our phone (the same as hpNo)."""
    return {"userId": user_id, "name": name, "phone": phone, "hpNo": phone, "amount": amount,
            "amountText": "{:,}".format(amount)}


# ---- balance --------------------------------------------------------------------------------

def test_balance_is_a_number_with_its_formatted_text():
    uid = make_user(points=100000, phone="010-1234-4112")
    s = Session(uid)
    r = get("/api/v1/users/%d" % uid, headers=s.headers())
    eq(r.status, 200, "status")
    eq(r.json(), expected(uid, 100000, phone="010-1234-4112"), "balance")
    # No phone number: null, never "" or a missing key.
    uid2 = make_user(name="번호없음")
    r = get("/api/v1/users/%d" % uid2, headers=Session(uid2).headers())
    eq(r.json(), expected(uid2, 0, name="번호없음"), "balance without phone")


def test_balance_needs_a_session():
    uid = make_user()
    envelope(get("/api/v1/users/%d" % uid), 401, "UNAUTHORIZED")
    envelope(request("POST", "/api/v1/users/%d/charge" % uid, body={"chargeAmount": 5000},
                     headers={"Idempotency-Key": new_key()}), 401, "UNAUTHORIZED")
    eq(balance(uid), 0, "nothing charged")


def test_someone_elses_balance_is_the_seeds_404_like_an_unknown_user():
    me, other = make_user(), make_user(name="남의계정", points=7000)
    s = Session(me)
    # Another user's id and an id nobody has answer alike (seed 002's 404), so a shopper
    # cannot probe which accounts exist.
    for uid in (other, 999999999):
        eq(envelope(get("/api/v1/users/%d" % uid, headers=s.headers()), 404,
                    "USER_NOT_FOUND"), NO_USER_MSG, "message for %d" % uid)
        envelope(get("/api/v1/users/%d/charges" % uid, headers=s.headers()), 404,
                 "USER_NOT_FOUND")
        envelope(charge(s, uid, {"chargeAmount": 5000}, key=new_key()), 404, "USER_NOT_FOUND")
    a = get("/api/v1/users/%d" % other, headers=s.headers())
    b = get("/api/v1/users/999999999", headers=s.headers())
    eq(a.body, b.body, "the same body for an existing and a missing user")
    eq(balance(other), 7000, "other's balance")
    eq(charge_rows(other), 0, "no charge row")


def test_admin_reads_any_balance_but_charges_only_their_own():
    admin, other = make_user(name="관리자", role="admin"), make_user(points=3000)
    s = Session(admin, role="admin")
    r = get("/api/v1/users/%d" % other, headers=s.headers())
    eq(r.status, 200, "status")
    eq(r.json(), expected(other, 3000), "other's balance")
    eq(get("/api/v1/users/%d/charges" % other, headers=s.headers()).json(),
       {"userId": other, "charges": []}, "other's history")
    # A top-up is the owner's act: even an admin may not charge someone else's balance.
    envelope(charge(s, other, {"chargeAmount": 5000}, key=new_key()), 403, "FORBIDDEN")
    eq(balance(other), 3000, "unchanged")
    for path in ["/api/v1/users/999999999", "/api/v1/users/999999999/charges",
                 "/api/v1/users/abc", "/api/v1/users/0", "/api/v1/users/-1",
                 "/api/v1/users/99999999999999999999"]:
        eq(envelope(get(path, headers=s.headers()), 404, "USER_NOT_FOUND"), NO_USER_MSG, path)


# ---- charging -------------------------------------------------------------------------------

def test_charge_adds_exactly_and_a_replay_returns_the_same_bytes():
    uid = make_user(points=100000, phone="010-1234-4112")
    s = Session(uid)
    key = new_key()
    r = charge(s, uid, {"chargeAmount": 50000}, key=key)
    eq(r.status, 200, "status")
    eq(r.json(), expected(uid, 150000, phone="010-1234-4112"), "balance after")
    eq(r.header("Idempotent-Replayed"), None, "first answer is not a replay")
    eq(balance(uid), 150000, "stored balance")
    eq(sql("SELECT amount, balance_after, request_hash, response FROM point_charges "
           "WHERE user_id = %d AND idempotency_key = '%s'" % (uid, key)),
       [["50000", "150000", "chargeAmount=50000", r.body.decode("utf-8")]], "charge row")

    again = charge(s, uid, {"chargeAmount": 50000}, key=key)
    eq(again.status, 200, "replay status")
    eq(again.body, r.body, "replayed body, byte for byte")
    eq(again.header("Idempotent-Replayed"), "true", "replay header")
    eq(again.header("Content-Type"), "application/json; charset=utf-8", "content type")
    eq(balance(uid), 150000, "charged once")
    eq(charge_rows(uid), 1, "one charge row")
    # Keys are case-sensitive: another case is another key.
    eq(charge(s, uid, {"chargeAmount": 1000}, key=key.upper()).status, 200, "other key")
    eq(balance(uid), 151000, "second key charged")


def test_amount_limits_use_seed_002_messages_and_burn_no_key():
    uid = make_user()
    s = Session(uid)
    key = new_key()
    for amount in [999, 0, -1, -5000, -(2 ** 63)]:
        eq(envelope(charge(s, uid, {"chargeAmount": amount}, key=key), 400,
                    "CHARGE_AMOUNT_TOO_SMALL"), CHARGE_MIN_MSG, "amount %d" % amount)
    for amount in [1000001, 10 ** 15, 2 ** 63 - 1]:
        eq(envelope(charge(s, uid, {"chargeAmount": amount}, key=key), 400,
                    "CHARGE_AMOUNT_TOO_LARGE"), CHARGE_MAX_MSG, "amount %d" % amount)
    eq(balance(uid), 0, "nothing charged")
    eq(redis("EXISTS", "idem:charge:%d:%s" % (uid, key)), "0", "refusals leave no key")
    # The same key still works for a valid amount; the bounds themselves are accepted.
    eq(charge(s, uid, {"chargeAmount": 1000}, key=key).json()["amount"], 1000, "minimum")
    eq(charge(s, uid, {"chargeAmount": 1000000}, key=new_key()).json()["amount"], 1001000,
       "maximum")
    eq(balance(uid), 1001000, "exact balance")


def test_idempotency_key_missing_or_malformed_is_400():
    uid = make_user()
    s = Session(uid)
    eq(envelope(charge(s, uid, {"chargeAmount": 5000}, key=None), 400,
                "IDEMPOTENCY_KEY_MISSING"), KEY_MISSING_MSG, "no header")
    eq(envelope(charge(s, uid, {"chargeAmount": 5000}, key=""), 400,
                "IDEMPOTENCY_KEY_MISSING"), KEY_MISSING_MSG, "empty header")
    for bad in ["a b", "x" * 65, "abc/def", "a.b", "a,b", "<script>", "\xff".encode("latin-1"),
                "키".encode("utf-8"), "%41"]:
        envelope(charge(s, uid, {"chargeAmount": 5000}, key=bad), 400, "IDEMPOTENCY_KEY_INVALID")
    eq(charge(s, uid, {"chargeAmount": 5000}, key="x" * 64).status, 200, "64 characters is fine")
    eq(charge(s, uid, {"chargeAmount": 5000}, key="A-z_0").status, 200, "all the allowed kinds")
    eq(balance(uid), 10000, "only the good keys charged")


def test_wrong_types_missing_and_extra_fields_are_400_and_charge_nothing():
    uid = make_user(points=500)
    s = Session(uid)
    for body in [{"chargeAmount": "5000"}, {"chargeAmount": 5000.0}, {"chargeAmount": 5e3},
                 {"chargeAmount": None}, {"chargeAmount": True}, {"chargeAmount": [5000]},
                 {"chargeAmount": {"won": 5000}}, {"chargeAmount": "5,000"}]:
        eq(envelope(charge(s, uid, body, key=new_key()), 400, "CHARGE_AMOUNT_INVALID"),
           "충전 금액은 정수여야 합니다.", repr(body))
    eq(envelope(charge(s, uid, {}, key=new_key()), 400, "CHARGE_AMOUNT_MISSING"),
       "충전 금액이 누락되었습니다.", "missing field")
    for body in [{"chargeAmount": 5000, "userId": 1}, {"amount": 5000}, [], [5000]]:
        envelope(charge(s, uid, body, key=new_key()), 400, "INVALID_FIELDS")
    for raw in [b"5000", b"\"x\"", b"null", b"true"]:
        envelope(charge(s, uid, None, key=new_key(), raw=raw), 400, "INVALID_FIELDS")
    # Beyond int64, or not JSON at all: the parser refuses it before the handler runs.
    for raw in [b"{\"chargeAmount\": 100000000000000000000}", b"{\"chargeAmount\": 5000",
                b"{\"chargeAmount\": 5000, \"chargeAmount\": 6000}", b"", b"chargeAmount=5000"]:
        envelope(charge(s, uid, None, key=new_key(), raw=raw), 400, "BAD_JSON")
    envelope(charge(s, uid, {"chargeAmount": 10 ** 20}, key=new_key()), 400, "BAD_JSON")
    eq(balance(uid), 500, "nothing charged")
    eq(charge_rows(uid), 0, "no charge row")


def test_same_key_with_another_amount_is_422():
    uid = make_user()
    s = Session(uid)
    key = new_key()
    first = charge(s, uid, {"chargeAmount": 5000}, key=key)
    eq(first.status, 200, "first")
    eq(envelope(charge(s, uid, {"chargeAmount": 6000}, key=key), 422, "IDEMPOTENCY_KEY_REUSED"),
       "이미 다른 요청에 사용된 멱등성 키입니다.", "message")
    eq(charge(s, uid, {"chargeAmount": 5000}, key=key).body, first.body, "the original replays")
    eq(balance(uid), 5000, "charged once")


def test_a_key_in_flight_is_409_and_charges_nothing():
    uid = make_user()
    s = Session(uid)
    key = new_key()
    redis("SET", "idem:charge:%d:%s" % (uid, key), "inflight", "EX", "60")
    eq(envelope(charge(s, uid, {"chargeAmount": 5000}, key=key), 409, "REQUEST_IN_PROGRESS"),
       IN_FLIGHT_MSG, "message")
    eq(balance(uid), 0, "nothing charged")
    # Once the first request is over (here: its claim deleted), the key works.
    redis("DEL", "idem:charge:%d:%s" % (uid, key))
    eq(charge(s, uid, {"chargeAmount": 5000}, key=key).status, 200, "after release")


def test_a_failed_charge_releases_its_key_for_a_retry():
    top = 10 ** 15                      # MONEY_MAX: no balance goes past it
    uid = make_user(points=top - 1000)
    s = Session(uid)
    key = new_key()
    eq(envelope(charge(s, uid, {"chargeAmount": 1001}, key=key), 409, "POINTS_LIMIT_EXCEEDED"),
       "보유할 수 있는 최대 포인트를 초과합니다.", "over the limit")
    eq(balance(uid), top - 1000, "unchanged")
    eq(charge_rows(uid), 0, "no row")
    eq(redis("EXISTS", "idem:charge:%d:%s" % (uid, key)), "0", "key released")
    r = charge(s, uid, {"chargeAmount": 1000}, key=new_key())
    eq(r.json(), expected(uid, top), "exactly up to the limit")
    sql("UPDATE users SET points = 0 WHERE id = %d" % uid)
    eq(charge(s, uid, {"chargeAmount": 1001}, key=key).json()["amount"], 1001, "retried key")


def test_unknown_user_is_404_and_releases_the_key():
    ghost = 900000000 + secrets.randbelow(1000000)   # a session whose user is gone
    s = Session(ghost)
    key = new_key()
    eq(envelope(get("/api/v1/users/%d" % ghost, headers=s.headers()), 404, "USER_NOT_FOUND"),
       NO_USER_MSG, "balance")
    envelope(get("/api/v1/users/%d/charges" % ghost, headers=s.headers()), 404, "USER_NOT_FOUND")
    eq(envelope(charge(s, ghost, {"chargeAmount": 5000}, key=key), 404, "USER_NOT_FOUND"),
       NO_USER_MSG, "charge")
    eq(redis("EXISTS", "idem:charge:%d:%s" % (ghost, key)), "0", "key released")
    eq(charge_rows(ghost), 0, "no row")


def test_a_finished_key_is_remembered_for_the_configured_time():
    uid = make_user()
    s = Session(uid)
    key = new_key()
    eq(charge(s, uid, {"chargeAmount": 5000}, key=key).status, 200, "charge")
    ttl = int(redis("TTL", "idem:charge:%d:%s" % (uid, key)))
    assert 86000 < ttl <= 86400, ttl   # points.idempotency_seconds


def test_a_corrupt_redis_record_neither_blocks_nor_double_charges():
    uid = make_user()
    s = Session(uid)
    key = new_key()
    redis("SET", "idem:charge:%d:%s" % (uid, key), "{not a record")
    first = charge(s, uid, {"chargeAmount": 5000}, key=key)
    eq(first.status, 200, "charged: MariaDB decided")
    redis("SET", "idem:charge:%d:%s" % (uid, key), "{\"fp\": 1}")
    again = charge(s, uid, {"chargeAmount": 5000}, key=key)
    eq((again.status, again.body, again.header("Idempotent-Replayed")),
       (200, first.body, "true"), "replayed from MariaDB")
    eq(balance(uid), 5000, "charged once")


def test_csrf_missing_or_wrong_is_403_and_charges_nothing():
    uid = make_user()
    s = Session(uid)
    key = new_key()
    envelope(charge(s, uid, {"chargeAmount": 5000}, key=key, csrf=False), 403,
             "CSRF_TOKEN_INVALID")
    h = s.headers(**{"X-CSRF-Token": secrets.token_hex(20), "Idempotency-Key": key})
    envelope(request("POST", "/api/v1/users/%d/charge" % uid, body={"chargeAmount": 5000},
                     headers=h), 403, "CSRF_TOKEN_INVALID")
    eq(balance(uid), 0, "nothing charged")
    eq(charge(s, uid, {"chargeAmount": 5000}, key=key).status, 200, "the key was not used")


def test_100_parallel_charges_with_one_key_charge_once():
    uid = make_user(points=1000)
    s = Session(uid)
    key = new_key()
    results = parallel(100, lambda i: charge(s, uid, {"chargeAmount": 10000}, key=key))
    statuses = sorted(set(r.status for r in results))
    assert set(statuses) <= {200, 409}, statuses
    ok = [r for r in results if r.status == 200]
    assert ok, "at least the first charge answered 200"
    eq(len(set(r.body for r in ok)), 1, "every 200 is the same answer")
    eq(ok[0].json(), expected(uid, 11000), "balance in the answer")
    eq(len([r for r in ok if r.header("Idempotent-Replayed") is None]), 1, "one fresh answer")
    for r in results:
        if r.status == 409:
            eq(envelope(r, 409, "REQUEST_IN_PROGRESS"), IN_FLIGHT_MSG, "409 message")
    eq(balance(uid), 11000, "charged exactly once")
    eq(charge_rows(uid), 1, "one charge row")


def test_100_parallel_charges_with_distinct_keys_add_up_exactly():
    uid = make_user(points=0)
    s = Session(uid)
    keys = [new_key() for _ in range(100)]
    results = parallel(100, lambda i: charge(s, uid, {"chargeAmount": 1000 + i}, key=keys[i]))
    eq([r.status for r in results], [200] * 100, "statuses")
    total = sum(1000 + i for i in range(100))
    eq(balance(uid), total, "exact sum")
    eq(charge_rows(uid), 100, "one row per key")
    eq(sorted(r.json()["amount"] for r in results)[-1], total, "the last answer saw the sum")
    # The history (JSON twin of the page): the newest 20, newest first, consistent balances.
    h = get("/api/v1/users/%d/charges" % uid, headers=s.headers()).json()
    eq(h["userId"], uid, "userId")
    charges = h["charges"]
    eq(len(charges), 20, "newest 20")
    eq(charges[0]["balanceAfter"], total, "newest first")
    ids = [c["id"] for c in charges]
    eq(ids, sorted(ids, reverse=True), "ordered by id, newest first")
    for newer, older in zip(charges, charges[1:]):
        eq(newer["balanceAfter"] - newer["amount"], older["balanceAfter"], "running balance")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", charges[0]["createdAt"]), charges[0]


def test_after_redis_flushall_mariadb_still_charges_once():
    uid = make_user(points=0)
    s = Session(uid)
    key, other_key = new_key(), new_key()
    first = charge(s, uid, {"chargeAmount": 20000}, key=key)
    eq(first.status, 200, "first")
    eq(charge(s, uid, {"chargeAmount": 3000}, key=other_key).status, 200, "second key")

    redis("FLUSHALL")                   # forgets the keys, and every session
    envelope(charge(s, uid, {"chargeAmount": 20000}, key=key), 401, "UNAUTHORIZED")
    s = Session(uid)
    replay = charge(s, uid, {"chargeAmount": 20000}, key=key)
    eq(replay.status, 200, "replay status")
    eq(replay.body, first.body, "the stored answer, byte for byte, from MariaDB")
    eq(replay.header("Idempotent-Replayed"), "true", "replay header")
    eq(balance(uid), 23000, "charged once")
    # MariaDB's answer is put back in Redis, so the next replay is served from there.
    record = redis("GET", "idem:charge:%d:%s" % (uid, key))
    assert "chargeAmount=20000" in record, record
    eq(charge(s, uid, {"chargeAmount": 20000}, key=key).body, first.body, "replay via Redis")

    # A different amount under a used key: 422 after a flush as well.
    redis("FLUSHALL")
    s = Session(uid)
    envelope(charge(s, uid, {"chargeAmount": 4000}, key=other_key), 422,
             "IDEMPOTENCY_KEY_REUSED")
    envelope(charge(s, uid, {"chargeAmount": 4000}, key=other_key), 422,
             "IDEMPOTENCY_KEY_REUSED")   # now from Redis
    eq(balance(uid), 23000, "nothing more charged")
    eq(charge_rows(uid), 2, "two charges")

    # Parallel replays right after a flush: the unique key alone keeps it at one charge.
    redis("FLUSHALL")
    s = Session(uid)
    results = parallel(30, lambda i: charge(s, uid, {"chargeAmount": 20000}, key=key))
    for r in results:
        if r.status == 200:
            eq(r.body, first.body, "replayed body")
        else:
            envelope(r, 409, "REQUEST_IN_PROGRESS")
    eq(balance(uid), 23000, "still charged once")


# ---- the points page ------------------------------------------------------------------------

def form_post(sess, fields, csrf=True):
    data = dict(fields)
    if csrf:
        data.setdefault("csrf_token", sess.csrf)
    return request("POST", "/points/charge", body=urllib.parse.urlencode(data),
                   headers={"Cookie": "jt_sid=" + sess.sid,
                            "Content-Type": "application/x-www-form-urlencoded"})


def esc(s):
    """The template engine's HTML escaping (lib/base/esc.c)."""
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def page_key(text):
    m = re.search(r'name="idempotency_key" value="([A-Za-z0-9_-]+)"', text)
    assert m, text
    return m.group(1)


def test_points_page_shows_balance_history_and_a_form():
    uid = make_user(points=0)
    s = Session(uid, name="<script>alert(1)</script>")
    for amount, key in [(1000, "p1"), (250000, "p2"), (30000, "p3")]:
        eq(charge(s, uid, {"chargeAmount": amount}, key=key).status, 200, "setup charge")
    r = get("/points", headers={"Cookie": "jt_sid=" + s.sid})
    eq(r.status, 200, "status")
    eq(r.header("Content-Type"), "text/html; charset=utf-8", "content type")
    assert '<b id="balance">281,000</b>원' in r.text, r.text
    rows = re.findall(r'<tr class="charge"><td>[^<]+</td><td class="num">([0-9,]+)원</td>'
                      r'<td class="num">([0-9,]+)원</td>', r.text)
    eq(rows, [("30,000", "281,000"), ("250,000", "251,000"), ("1,000", "1,000")],
       "history, newest first")
    assert 'name="csrf_token" value="%s"' % s.csrf in r.text
    assert len(page_key(r.text)) == 32
    eq(page_key(get("/points", headers={"Cookie": "jt_sid=" + s.sid}).text) != page_key(r.text),
       True, "a new key per rendered form")
    assert "1,000원부터 1,000,000원까지" in r.text
    # The name a user chose is shown escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script>alert" not in r.text
    # Without a session the page sends the browser to log in.
    r = get("/points")
    eq(r.status, 303, "status")
    eq(r.header("Location"), "/login?next=%2Fpoints", "Location")


def test_the_charge_form_charges_once_when_submitted_twice():
    uid = make_user(points=0)
    s = Session(uid)
    key = page_key(get("/points", headers={"Cookie": "jt_sid=" + s.sid}).text)
    for _ in range(2):
        r = form_post(s, {"amount": "50000", "idempotency_key": key})
        eq(r.status, 303, "status")
        eq(r.header("Location"), "/points?charged=50000", "Location")
    eq(balance(uid), 50000, "charged once")
    # Both clicks at the same moment: one charge; the other sees it in flight or done.
    key = page_key(get("/points", headers={"Cookie": "jt_sid=" + s.sid}).text)
    results = parallel(2, lambda i: form_post(s, {"amount": "7000", "idempotency_key": key}))
    for r in results:
        assert r.status in (303, 409), r.status
        if r.status == 409:
            assert IN_FLIGHT_MSG in r.text
    eq(balance(uid), 57000, "charged once")
    eq(charge_rows(uid), 2, "two charges")
    r = get("/points?charged=50000", headers={"Cookie": "jt_sid=" + s.sid})
    assert ('<p class="alert alert-ok" id="charged" role="status">50,000원이 충전되었습니다.</p>'
            in r.text), r.text
    # Anything but an amount in the query is not announced, and never echoed raw.
    for q in ["%3Cscript%3Ealert(1)%3C%2Fscript%3E", "-5", "1e3", "abc", ""]:
        r = get("/points?charged=" + q, headers={"Cookie": "jt_sid=" + s.sid})
        eq(r.status, 200, "status for %r" % q)
        assert 'id="charged"' not in r.text and "<script>alert" not in r.text, q


def test_charge_form_refusals_render_the_page_with_the_reason():
    uid = make_user(points=2000)
    s = Session(uid)
    key = page_key(get("/points", headers={"Cookie": "jt_sid=" + s.sid}).text)
    cases = [
        ({"amount": "999", "idempotency_key": key}, 400, CHARGE_MIN_MSG),
        ({"amount": "1000001", "idempotency_key": key}, 400, CHARGE_MAX_MSG),
        ({"amount": "-1000", "idempotency_key": key}, 400, CHARGE_MIN_MSG),
        ({"amount": "abc", "idempotency_key": key}, 400, "충전 금액을 숫자로만 입력해 주세요."),
        ({"amount": "5,000", "idempotency_key": key}, 400, "충전 금액을 숫자로만 입력해 주세요."),
        ({"amount": "99999999999999999999", "idempotency_key": key}, 400,
         "충전 금액을 숫자로만 입력해 주세요."),
        ({"idempotency_key": key}, 400, "충전 금액을 숫자로만 입력해 주세요."),
        ({"amount": "5000"}, 400, KEY_MISSING_MSG),
        ({"amount": "5000", "idempotency_key": ""}, 400, KEY_MISSING_MSG),
        ({"amount": "5000", "idempotency_key": "bad key!"}, 400,
         "멱등성 키는 영문, 숫자, '-', '_'로 이루어진 1~64자여야 합니다."),
    ]
    for fields, status, message in cases:
        r = form_post(s, fields)
        eq(r.status, status, "status for %r" % fields)
        # A message about the amount is shown next to it, the others above the form.
        at_amount = "idempotency_key" in fields and fields["idempotency_key"] == key
        want = ('<p class="field-error" id="charge-error">%s</p>' if at_amount else
                '<p class="alert alert-error" id="error" role="alert">%s</p>') % esc(message)
        assert want in r.text, (fields, r.text)
        assert '<b id="balance">2,000</b>' in r.text
    r = form_post(s, {"amount": "999", "idempotency_key": key})
    assert 'value="999" aria-describedby="charge-hint charge-error" aria-invalid="true"' in r.text, \
        "what was typed stays, marked invalid"
    r = form_post(s, {"amount": "5000", "idempotency_key": key}, csrf=False)
    eq(r.status, 403, "no CSRF token")
    eq(balance(uid), 2000, "nothing charged")
    eq(form_post(s, {"amount": "5000", "idempotency_key": key}).status, 303, "then it works")
    eq(balance(uid), 7000, "charged")
