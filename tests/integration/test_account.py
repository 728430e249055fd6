"""Accounts and sessions: sign-up by e-mailed code (through the SMTP sink), login, logout,
/api/v1/me, rate limits, session fixation, CSRF, cookie flags, and the sink's fault knob.

Every test makes its own users (unique e-mails) through the real sign-up, reading the code
from the mail the sink saved, so nothing depends on other tests' data."""
import email
import email.policy
import glob
import itertools
import os
import re
import subprocess
import time
import urllib.parse

from jt import RUN, ctl, envelope, eq, mails_to, request, sql

MSG_LOGIN_FAILED = "이메일 또는 비밀번호가 올바르지 않습니다."
MSG_EMAIL = "올바른 이메일 주소를 입력해 주세요."
MSG_NAME = "이름은 1~50자로 입력해 주세요."
MSG_PW_SHORT = "비밀번호는 8자 이상이어야 합니다."
MSG_PW_LONG = "비밀번호는 72바이트(영문 72자)를 넘을 수 없습니다."
MSG_PW_WEAK = "비밀번호에는 영문자와 숫자가 모두 포함되어야 합니다."
MSG_PW_CHARS = "비밀번호에 사용할 수 없는 문자가 포함되어 있습니다."
MSG_PW_MISMATCH = "비밀번호 확인이 일치하지 않습니다."
MSG_TAKEN = "이미 가입된 이메일입니다. 로그인해 주세요."
MSG_EXPIRED = "인증번호가 만료되었거나 유효하지 않습니다. 인증번호를 다시 요청해 주세요."
MSG_EXHAUSTED = "인증번호 입력 횟수를 초과했습니다. 인증번호를 다시 요청해 주세요."
MSG_MAIL_FAILED = "인증 메일을 보내지 못했습니다. 잠시 후 다시 시도해 주세요."
MSG_CSRF = "보안 토큰이 올바르지 않습니다. 페이지를 새로고침한 뒤 다시 시도해 주세요."
SUBJECT = "[장터] 회원가입 인증번호 안내"
PASSWORD = "secret-pass-1234"

_seq = itertools.count(1)


def conf_int(key, default):
    """A number of the stack's config: JANGTEO_<KEY> in the environment (as the programs read
    it), else the config file, else the documented default."""
    env = os.environ.get("JANGTEO_" + key.replace(".", "_").upper())
    if env is not None:
        return int(env)
    with open(os.path.join(RUN, "jangteo.conf")) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == key:
                return int(v.strip())
    return default


MAX_PER_ACCOUNT = conf_int("auth.max_per_account", 5)
MAX_PER_ADDRESS = conf_int("auth.max_per_address", 20)
WINDOW = conf_int("auth.window_seconds", 900)
MAX_CODE_TRIES = conf_int("signup.code_max_attempts", 5)
CODE_TTL = conf_int("signup.code_ttl_seconds", 600)


def redis(*args):
    """Runs redis-cli against the stack's Redis; returns its output without the newline."""
    return subprocess.run(["redis-cli", "-s", os.path.join(RUN, "redis.sock")] + list(args),
                          check=True, stdout=subprocess.PIPE).stdout.decode("utf-8").strip()


def forget_address_failures():
    """Clears the per-address login counter of 127.0.0.1 (every test shares that address)."""
    redis("DEL", "rl:login:addr:127.0.0.1")


def new_email(tag="user"):
    return "acct-%s-%d-%d@example.test" % (tag, os.getpid(), next(_seq) + int(time.time() * 1000))


def q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def user_row(addr):
    """(status, name, password_hash or 'NULL') of the user with this e-mail, or None."""
    rows = sql("SELECT status, name, IFNULL(password_hash, 'NULL') FROM users WHERE email = %s"
               % q(addr))
    return tuple(rows[0]) if rows else None


class Browser:
    """A client that keeps the session cookie like a browser and knows its CSRF token."""

    COOKIE = "jt_sid"

    def __init__(self):
        self.sid = None
        self.last_set_cookie = None

    def send(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.sid:
            h["Cookie"] = "%s=%s" % (self.COOKIE, self.sid)
        r = request(method, path, body=body, headers=h)
        sc = r.header("Set-Cookie")
        if sc:
            self.last_set_cookie = sc
            m = re.match(r"%s=([^;]*)" % self.COOKIE, sc)
            if m:
                self.sid = m.group(1) or None
        return r

    def get(self, path):
        return self.send("GET", path)

    def csrf(self):
        r = self.get("/api/v1/csrf")
        eq(r.status, 200, "csrf status")
        return r.json()["csrf_token"]

    def form_csrf(self, path):
        """The csrf_token hidden field of the form page at path."""
        r = self.get(path)
        eq(r.status, 200, "form page status")
        m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert m, r.text
        return m.group(1)

    def post_form(self, path, fields, csrf=True):
        fields = dict(fields)
        if csrf is True:
            fields["csrf_token"] = self.csrf()
        elif csrf:
            fields["csrf_token"] = csrf
        body = urllib.parse.urlencode(fields)
        return self.send("POST", path, body=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})

    def post_json(self, path, obj, csrf=True):
        h = {}
        if csrf is True:
            h["X-CSRF-Token"] = self.csrf()
        elif csrf:
            h["X-CSRF-Token"] = csrf
        return self.send("POST", path, body=obj, headers=h)


def code_in(msg):
    m = re.search(r"인증번호는 (\d{6}) 입니다", msg.get_content())
    assert m, msg.get_content()
    return m.group(1)


def last_code(addr):
    mails = mails_to(addr)
    assert mails, "no mail to %s" % addr
    return code_in(mails[-1])


def signup_json(b, addr, name="김장터", password=PASSWORD, confirm=None):
    return b.post_json("/api/v1/signup", {"email": addr, "name": name, "password": password,
                                          "password_confirm": password if confirm is None
                                          else confirm})


def make_user(name="김장터", password=PASSWORD):
    """A new active user made through the JSON sign-up; returns (browser signed in, e-mail)."""
    b = Browser()
    addr = new_email()
    eq(signup_json(b, addr, name, password).status, 202, "sign-up status")
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": last_code(addr)})
    eq(r.status, 200, "verify status")
    return b, addr


def login_json(b, addr, password):
    return b.post_json("/api/v1/login", {"email": addr, "password": password})


# ---- sign-up --------------------------------------------------------------------------------

def test_signup_by_form_mails_a_code_and_the_code_signs_in():
    b = Browser()
    addr = new_email("form")
    r = b.get("/signup")
    eq(r.status, 200, "form status")
    assert 'name="password_confirm"' in r.text
    guest = b.sid
    assert guest, "the form page opened a guest session for its CSRF token"
    r = b.post_form("/signup", {"email": addr.upper(), "name": "김장터", "password": PASSWORD,
                                "password_confirm": PASSWORD})
    eq(r.status, 200, "verify page status")
    assert "이메일 인증" in r.text and addr in r.text, r.text
    assert "%s 주소로 6자리 인증번호를 보냈습니다." % addr in r.text
    assert PASSWORD not in r.text, "the password is never echoed"
    eq(user_row(addr), ("pending", "김장터", "NULL"), "pending user, no password yet")

    mails = mails_to(addr)
    eq(len(mails), 1, "one mail")
    m = mails[0]
    eq(str(m["Subject"]), SUBJECT, "subject decodes from RFC 2047")
    raw = m.raw_subject
    assert raw.startswith("Subject: =?UTF-8?B?") and raw.endswith("?="), raw
    eq(m["To"].addresses[0].addr_spec, addr, "To")
    eq(m["From"].addresses[0].addr_spec, "no-reply@jangteo.test", "From")
    eq(m["From"].addresses[0].display_name, "장터", "From display name")
    eq(m["Content-Type"].content_type, "text/plain", "content type")
    eq(m["Content-Type"].params.get("charset", "").upper(), "UTF-8", "charset")
    eq(m["Content-Transfer-Encoding"], "8bit", "transfer encoding")
    eq(m["MIME-Version"], "1.0", "MIME-Version")
    assert re.fullmatch(r"<[0-9a-z]{24}@jangteo\.test>", m["Message-ID"]), m["Message-ID"]
    assert m["Date"].datetime is not None
    code = code_in(m)
    assert "10분 동안 유효합니다" in m.get_content() or CODE_TTL != 600

    r = b.post_form("/signup/verify", {"email": addr, "code": code})
    eq(r.status, 303, "redirect after verify (%s)" % re.findall(r"role=\"alert\">([^<]*)<", r.text))
    eq(r.header("Location"), "/", "home")
    assert b.sid and b.sid != guest, "the session id changed at sign-in"
    status, name, pw_hash = user_row(addr)
    eq((status, name), ("active", "김장터"), "active")
    assert pw_hash.startswith("$y$"), "yescrypt hash stored"
    assert PASSWORD not in pw_hash
    eq(sql("SELECT verified_at IS NOT NULL FROM users WHERE email = %s" % q(addr)), [["1"]],
       "verified_at set")
    me = b.get("/api/v1/me")
    eq(me.status, 200, "me")
    doc = me.json()
    eq(sorted(doc.keys()), ["email", "id", "name", "points", "role"], "me keys")
    eq((doc["email"], doc["name"], doc["role"], doc["points"]), (addr, "김장터", "shopper", 0),
       "me values")
    home = b.get("/")
    assert "김장터님" in home.text, "the layout greets the signed-in user"
    # The code is single-use.
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": code})
    eq(envelope(r, 400, "CODE_EXPIRED"), MSG_EXPIRED, "message")


def test_signup_json_twin_and_verify_return_the_user():
    b = Browser()
    addr = new_email("json")
    r = signup_json(b, addr, "이몽룡")
    eq(r.status, 202, "status")
    eq(r.json(), {"email": addr, "expires_in": CODE_TTL}, "body")
    before = b.sid
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": last_code(addr)})
    eq(r.status, 200, "status")
    doc = r.json()
    eq((doc["email"], doc["name"], doc["role"], doc["points"]), (addr, "이몽룡", "shopper", 0),
       "user")
    assert isinstance(doc["id"], int) and doc["id"] > 0
    assert b.sid != before
    eq(b.get("/api/v1/me").json(), doc, "me is the same user")


def test_wrong_code_counts_down_then_the_code_is_void():
    b = Browser()
    addr = new_email("wrong")
    eq(signup_json(b, addr).status, 202, "sign-up")
    code = last_code(addr)
    wrong = "%06d" % ((int(code) + 1) % 1000000)
    for i in range(1, MAX_CODE_TRIES):
        r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": wrong})
        eq(envelope(r, 400, "CODE_MISMATCH"),
           "인증번호가 일치하지 않습니다. (남은 입력 횟수: %d회)" % (MAX_CODE_TRIES - i), "message")
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": wrong})
    eq(envelope(r, 400, "CODE_ATTEMPTS_EXCEEDED"), MSG_EXHAUSTED, "last wrong code")
    # Even the right code is now refused: a new one must be requested.
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": code})
    eq(envelope(r, 400, "CODE_EXPIRED"), MSG_EXPIRED, "void code")
    eq(user_row(addr)[0], "pending", "still pending")
    # A malformed code is refused without counting.
    for bad in ["12345", "1234567", "abcdef", "12 456", "１２３４５６", ""]:
        r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": bad})
        envelope(r, 400, "INVALID_CODE")
    # Requesting a new code starts over.
    eq(signup_json(b, addr).status, 202, "new code")
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": last_code(addr)})
    eq(r.status, 200, "new code works")


def test_wrong_code_on_the_page_shows_attempts_left_and_keeps_the_email():
    b = Browser()
    addr = new_email("page")
    eq(signup_json(b, addr).status, 202, "sign-up")
    code = last_code(addr)
    wrong = "%06d" % ((int(code) + 7) % 1000000)
    r = b.post_form("/signup/verify", {"email": addr, "code": wrong})
    eq(r.status, 400, "status")
    assert "인증번호가 일치하지 않습니다. (남은 입력 횟수: %d회)" % (MAX_CODE_TRIES - 1) in r.text
    assert 'value="%s"' % addr in r.text
    assert 'href="/signup?email=%s"' % urllib.parse.quote(addr, safe="") in r.text, r.text


def test_expired_code_must_be_requested_again():
    b = Browser()
    addr = new_email("expired")
    eq(signup_json(b, addr).status, 202, "sign-up")
    old = last_code(addr)
    ttl = int(redis("TTL", "signup:" + addr))
    assert 0 < ttl <= CODE_TTL, ttl
    redis("PEXPIRE", "signup:" + addr, "1")
    time.sleep(0.05)
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": old})
    eq(envelope(r, 400, "CODE_EXPIRED"), MSG_EXPIRED, "expired")
    eq(redis("EXISTS", "signup:" + addr), "0", "no stray key left by the attempt")
    eq(signup_json(b, addr).status, 202, "request a new code")
    new = last_code(addr)
    eq(len(mails_to(addr)), 2, "a second mail")
    if new != old:
        r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": old})
        envelope(r, 400, "CODE_MISMATCH")
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": new})
    eq(r.status, 200, "the new code works")


def test_code_is_bound_to_the_session_that_asked_for_it():
    victim, attacker = Browser(), Browser()
    addr = new_email("bound")
    eq(signup_json(victim, addr, password="victim-pass-1").status, 202, "victim sign-up")
    code = last_code(addr)
    # Another browser cannot use it, and its tries do not count against the victim's.
    for _ in range(MAX_CODE_TRIES + 1):
        r = attacker.post_json("/api/v1/signup/verify", {"email": addr, "code": code})
        eq(envelope(r, 400, "CODE_EXPIRED"), MSG_EXPIRED, "other session")
    # A stranger restarting the sign-up with the victim's address sets no password: the
    # code mailed for it is bound to the stranger's session, and the victim's old one is void.
    eq(signup_json(attacker, addr, password="attacker-pass-1").status, 202, "stranger")
    eq(user_row(addr)[2], "NULL", "no password stored while pending")
    r = victim.post_json("/api/v1/signup/verify", {"email": addr, "code": last_code(addr)})
    eq(envelope(r, 400, "CODE_EXPIRED"), MSG_EXPIRED, "stranger's code is useless to the victim")
    eq(signup_json(victim, addr, password="victim-pass-1").status, 202, "victim again")
    r = victim.post_json("/api/v1/signup/verify", {"email": addr, "code": last_code(addr)})
    eq(r.status, 200, "victim activates")
    forget_address_failures()
    eq(login_json(Browser(), addr, "attacker-pass-1").status, 401, "stranger's password")
    eq(login_json(Browser(), addr, "victim-pass-1").status, 200, "victim's password")


def test_active_email_cannot_sign_up_again():
    b, addr = make_user("원래이름")
    for variant in [addr, addr.upper()]:
        r = signup_json(Browser(), variant, "새이름", "other-pass-999")
        eq(envelope(r, 409, "EMAIL_TAKEN"), MSG_TAKEN, "message")
    eq(user_row(addr)[:2], ("active", "원래이름"), "unchanged")
    eq(len(mails_to(addr)), 1, "no new mail")
    r = Browser().post_form("/signup", {"email": addr, "name": "새이름",
                                        "password": "other-pass-999",
                                        "password_confirm": "other-pass-999"})
    eq(r.status, 409, "page status")
    assert MSG_TAKEN in r.text
    assert "other-pass-999" not in r.text


def test_invalid_signup_input_each_has_its_message_and_creates_nothing():
    b = Browser()
    addr = new_email("invalid")
    ok = {"email": addr, "name": "김장터", "password": PASSWORD, "password_confirm": PASSWORD}
    cases = [
        ({"email": "no-at-sign"}, "INVALID_EMAIL", MSG_EMAIL),
        ({"email": ""}, "INVALID_EMAIL", MSG_EMAIL),
        ({"email": "a@b"}, "INVALID_EMAIL", MSG_EMAIL),
        ({"email": "a b@example.test"}, "INVALID_EMAIL", MSG_EMAIL),
        ({"email": "a@example.test\r\nBcc: x@evil.test"}, "INVALID_EMAIL", MSG_EMAIL),
        ({"email": "<a@example.test>"}, "INVALID_EMAIL", MSG_EMAIL),
        ({"email": "김@example.test"}, "INVALID_EMAIL", MSG_EMAIL),
        ({"email": "a" * 250 + "@example.test"}, "INVALID_EMAIL", MSG_EMAIL),
        ({"name": ""}, "INVALID_NAME", MSG_NAME),
        ({"name": "   "}, "INVALID_NAME", MSG_NAME),
        ({"name": "가" * 51}, "INVALID_NAME", MSG_NAME),
        ({"name": "김\n장터"}, "INVALID_NAME", MSG_NAME),
        ({"name": "김\x07장터"}, "INVALID_NAME", MSG_NAME),
        ({"password": "abc1234", "password_confirm": "abc1234"}, "INVALID_PASSWORD", MSG_PW_SHORT),
        ({"password": "a1" * 37, "password_confirm": "a1" * 37}, "INVALID_PASSWORD", MSG_PW_LONG),
        ({"password": "abcdefghij", "password_confirm": "abcdefghij"}, "INVALID_PASSWORD",
         MSG_PW_WEAK),
        ({"password": "1234567890", "password_confirm": "1234567890"}, "INVALID_PASSWORD",
         MSG_PW_WEAK),
        ({"password": "abcd\t1234", "password_confirm": "abcd\t1234"}, "INVALID_PASSWORD",
         MSG_PW_CHARS),
        ({"password_confirm": PASSWORD + "x"}, "PASSWORD_MISMATCH", MSG_PW_MISMATCH),
    ]
    for change, code, msg in cases:
        body = dict(ok)
        body.update(change)
        r = b.post_json("/api/v1/signup", body)
        eq(envelope(r, 400, code), msg, "message for %r" % change)
    # Exactly 50 characters and 72 bytes are fine limits, checked by a later sign-up below.
    for body in [dict(ok, extra=1), dict(ok, name=5), dict(ok, password=None),
                 dict(ok, email=["a"]), [ok], dict(ok, email="x" * 5000)]:
        envelope(b.post_json("/api/v1/signup", body), 400, "BAD_REQUEST")
    # A missing field reads as empty.
    envelope(b.post_json("/api/v1/signup", {"email": addr}), 400, "INVALID_NAME")
    eq(user_row(addr), None, "no user")
    eq(mails_to(addr), [], "no mail")
    # The page shows the same messages, keeps what was typed, never the password.
    r = b.post_form("/signup", dict(ok, password="abcdefghij", password_confirm="abcdefghij"))
    eq(r.status, 400, "page status")
    assert MSG_PW_WEAK in r.text and 'value="%s"' % addr in r.text and "abcdefghij" not in r.text
    r = b.post_form("/signup", dict(ok, name="a", password_confirm="zzzz9999zz"))
    assert MSG_PW_MISMATCH in r.text and PASSWORD not in r.text
    # A field sent twice is refused.
    body = urllib.parse.urlencode(list(ok.items()) + [("email", "x@example.test"),
                                                      ("csrf_token", b.csrf())])
    r = b.send("POST", "/signup", body=body,
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(r.status, 400, "duplicate field")
    # The limits themselves are accepted.
    r = signup_json(b, addr, "가" * 50, "a1" * 36)
    eq(r.status, 202, "50 characters, 72 bytes")


def test_hostile_name_renders_escaped_everywhere():
    hostile = "<script>alert(1)</script>\"'&"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"
    b = Browser()
    addr = new_email("xss")
    r = b.post_form("/signup", {"email": addr, "name": hostile, "password": PASSWORD,
                                "password_confirm": "mismatch-123"})
    eq(r.status, 400, "re-rendered form")
    assert 'value="%s"' % escaped in r.text, r.text
    assert "<script>alert" not in r.text
    r = b.post_form("/signup", {"email": addr, "name": hostile, "password": PASSWORD,
                                "password_confirm": PASSWORD})
    eq(r.status, 200, "verify page")
    r = b.post_form("/signup/verify", {"email": addr, "code": last_code(addr)})
    eq(r.status, 303, "signed in")
    eq(user_row(addr)[1], hostile, "stored as typed")
    home = b.get("/")
    assert escaped + "님" in home.text, home.text
    assert "<script>alert" not in home.text
    eq(b.get("/api/v1/me").json()["name"], hostile, "JSON carries it as data")


def test_longest_korean_name_is_kept_whole_everywhere():
    name = "가나다라마바사아자차" * 5                  # 50 characters, 150 bytes of UTF-8
    b, addr = make_user(name)
    eq(b.get("/api/v1/me").json()["name"], name, "whole name from the database")
    home = b.get("/").text                            # the session holds 255 bytes
    assert name + "님" in home, home
    eq(user_row(addr)[1], name, "stored whole")


def test_mail_failure_is_a_clear_error_and_no_account_is_active():
    knob = os.path.join(RUN, "fakes", "smtp-fail")
    b = Browser()
    addr = new_email("mailfail")
    with open(knob, "w") as f:
        f.write("2\n")
    try:
        r = signup_json(b, addr)
        eq(envelope(r, 502, "MAIL_SEND_FAILED"), MSG_MAIL_FAILED, "JSON")
        r = b.post_form("/signup", {"email": addr, "name": "김장터", "password": PASSWORD,
                                    "password_confirm": PASSWORD})
        eq(r.status, 502, "page status")
        assert MSG_MAIL_FAILED in r.text and PASSWORD not in r.text
    finally:
        if os.path.exists(knob):
            os.unlink(knob)
    eq(mails_to(addr), [], "no mail")
    eq(user_row(addr)[0], "pending", "not active")
    eq(redis("EXISTS", "signup:" + addr), "0", "no code kept")
    r = b.post_json("/api/v1/signup/verify", {"email": addr, "code": "000000"})
    envelope(r, 400, "CODE_EXPIRED")
    eq(signup_json(b, addr).status, 202, "works once the relay is back")


def test_code_requests_per_address_are_limited():
    b = Browser()
    addr = new_email("flood")
    for _ in range(MAX_PER_ACCOUNT):
        eq(signup_json(b, addr).status, 202, "within the limit")
    r = signup_json(b, addr)
    eq(envelope(r, 429, "TOO_MANY_CODE_REQUESTS")[:len("인증번호 요청이 너무 많습니다.")],
       "인증번호 요청이 너무 많습니다.", "message")
    retry = int(r.header("Retry-After"))
    assert 0 < retry <= WINDOW, retry
    eq(len(mails_to(addr)), MAX_PER_ACCOUNT, "no more mail")


# ---- login, logout, me ----------------------------------------------------------------------

def test_login_ok_wrong_and_unknown_give_one_message():
    forget_address_failures()
    _, addr = make_user("박로그인")
    b = Browser()
    guest = b.csrf() and b.sid
    r = login_json(b, addr.upper(), PASSWORD)
    eq(r.status, 200, "login")
    eq((r.json()["email"], r.json()["name"]), (addr, "박로그인"), "user")
    assert b.sid != guest
    wrong = login_json(Browser(), addr, PASSWORD + "x")
    unknown = login_json(Browser(), new_email("nobody"), PASSWORD)
    malformed = login_json(Browser(), "not-an-email", PASSWORD)
    for r in (wrong, unknown, malformed):
        eq(envelope(r, 401, "LOGIN_FAILED"), MSG_LOGIN_FAILED, "same message")
    envelope(login_json(Browser(), "", PASSWORD), 400, "LOGIN_REQUIRED_FIELDS")
    envelope(login_json(Browser(), addr, ""), 400, "LOGIN_REQUIRED_FIELDS")
    envelope(Browser().post_json("/api/v1/login", {"email": addr}), 400, "LOGIN_REQUIRED_FIELDS")
    for body in [{"email": addr, "password": 1}, {"email": addr, "password": PASSWORD,
                 "next": "/"}, ["x"], {"email": None, "password": PASSWORD}]:
        envelope(Browser().post_json("/api/v1/login", body), 400, "BAD_REQUEST")
    forget_address_failures()


def test_unknown_email_costs_as_much_as_a_wrong_password():
    forget_address_failures()
    _, addr = make_user()

    def median(fn):
        times = []
        for _ in range(3):
            t0 = time.monotonic()
            eq(fn().status, 401, "failed login")
            times.append(time.monotonic() - t0)
        return sorted(times)[1]
    ok_t = median(lambda: Browser().post_json("/api/v1/login", {"email": addr,
                                                                 "password": "wrong-pass-1"}))
    redis("DEL", "rl:login:acct:" + addr)
    unknown_t = median(lambda: login_json(Browser(), new_email("ghost"), "wrong-pass-1"))
    forget_address_failures()
    # Both run one yescrypt; allow scheduling noise but not a missing hash computation.
    assert unknown_t > ok_t * 0.5 and ok_t > unknown_t * 0.5, (ok_t, unknown_t)


def test_pending_account_cannot_log_in():
    forget_address_failures()
    b = Browser()
    addr = new_email("pending")
    eq(signup_json(b, addr).status, 202, "sign-up")
    eq(envelope(login_json(Browser(), addr, PASSWORD), 401, "LOGIN_FAILED"), MSG_LOGIN_FAILED,
       "pending")
    forget_address_failures()


def test_login_page_redirects_only_to_local_next():
    forget_address_failures()
    _, addr = make_user()
    cases = [("/products?page=2", "/products?page=2"), ("//evil.test/x", "/"),
             ("https://evil.test/", "/"), ("/\\evil.test", "/"), ("", "/"),
             ("/a b", "/"), ('/a"b', "/"), ("/<x>", "/"), ("/points#top", "/points#top")]
    for nxt, want in cases:
        b = Browser()
        tok = b.form_csrf("/login?next=" + urllib.parse.quote(nxt, safe=""))
        r = b.post_form("/login", {"email": addr, "password": PASSWORD, "next": nxt}, csrf=tok)
        eq(r.status, 303, "status for %r" % nxt)
        eq(r.header("Location"), want, "Location for %r" % nxt)
    # A signed-in visitor of /login goes straight on.
    r = b.get("/login?next=%2Fpoints")
    eq((r.status, r.header("Location")), (303, "/points"), "already signed in")
    # A wrong password re-renders the page: the e-mail kept, the password gone, next kept.
    b = Browser()
    r = b.post_form("/login", {"email": addr, "password": "wrong-pass-77", "next": "/points"})
    eq(r.status, 401, "status")
    assert MSG_LOGIN_FAILED in r.text and 'value="%s"' % addr in r.text
    assert "wrong-pass-77" not in r.text and 'name="next" value="/points"' in r.text
    forget_address_failures()


def test_session_fixation_is_defeated_and_cookie_flags_are_set():
    forget_address_failures()
    _, addr = make_user()
    b = Browser()
    tok = b.form_csrf("/login")
    planted = b.sid
    assert "HttpOnly" in b.last_set_cookie and "SameSite=Lax" in b.last_set_cookie
    assert "Path=/" in b.last_set_cookie
    r = b.post_form("/login", {"email": addr, "password": PASSWORD}, csrf=tok)
    eq(r.status, 303, "login")
    sc = r.header("Set-Cookie")
    assert sc and "HttpOnly" in sc and "SameSite=Lax" in sc, sc
    assert b.sid != planted, "new id at login"
    eq(redis("EXISTS", "sess:" + planted), "0", "the planted session is gone")
    old = Browser()
    old.sid = planted
    envelope(old.get("/api/v1/me"), 401, "UNAUTHORIZED")
    eq(b.get("/api/v1/me").status, 200, "the new id works")
    # The old CSRF token is dead too.
    r = b.post_json("/api/v1/logout", {}, csrf=tok)
    eq(envelope(r, 403, "CSRF_TOKEN_INVALID"), MSG_CSRF, "old token")


def test_posts_without_csrf_token_are_refused_and_change_nothing():
    forget_address_failures()
    b, addr = make_user()
    addr2 = new_email("nocsrf")
    r = b.post_json("/api/v1/signup", {"email": addr2, "name": "x", "password": PASSWORD,
                                       "password_confirm": PASSWORD}, csrf=False)
    envelope(r, 403, "CSRF_TOKEN_INVALID")
    r = Browser().post_form("/signup", {"email": addr2, "name": "x", "password": PASSWORD,
                                        "password_confirm": PASSWORD}, csrf=False)
    eq(r.status, 403, "form")
    r = b.post_form("/signup", {"email": addr2, "name": "x", "password": PASSWORD,
                                "password_confirm": PASSWORD}, csrf="x" * 40)
    eq(r.status, 403, "forged token")
    eq(user_row(addr2), None, "no user")
    eq(mails_to(addr2), [], "no mail")
    fresh = Browser()
    r = fresh.post_json("/api/v1/login", {"email": addr, "password": PASSWORD}, csrf=False)
    envelope(r, 403, "CSRF_TOKEN_INVALID")
    eq(fresh.sid, None, "no session made")
    r = b.post_json("/api/v1/logout", {}, csrf=False)
    envelope(r, 403, "CSRF_TOKEN_INVALID")
    eq(b.get("/api/v1/me").status, 200, "still signed in")
    r = b.post_form("/logout", {}, csrf=False)
    eq(r.status, 403, "logout form without token")
    eq(b.get("/api/v1/me").status, 200, "still signed in")


def test_logout_ends_the_session():
    forget_address_failures()
    b, _ = make_user()
    sid = b.sid
    r = b.post_json("/api/v1/logout", {})
    eq(r.status, 200, "status")
    eq(r.json(), {"signed_out": True}, "body")
    assert "Max-Age=0" in r.header("Set-Cookie")
    eq(redis("EXISTS", "sess:" + sid), "0", "session deleted")
    old = Browser()
    old.sid = sid
    envelope(old.get("/api/v1/me"), 401, "UNAUTHORIZED")
    # The page twin.
    b, _ = make_user()
    sid = b.sid
    tok = b.csrf()
    r = b.post_form("/logout", {}, csrf=tok)
    eq((r.status, r.header("Location")), (303, "/"), "redirect")
    eq(redis("EXISTS", "sess:" + sid), "0", "session deleted")
    envelope(b.get("/api/v1/me"), 401, "UNAUTHORIZED")


def test_me_needs_a_session():
    envelope(Browser().get("/api/v1/me"), 401, "UNAUTHORIZED")
    b = Browser()
    b.csrf()
    envelope(b.get("/api/v1/me"), 401, "UNAUTHORIZED")


def test_failed_logins_per_account_are_limited_with_retry_after():
    forget_address_failures()
    _, addr = make_user()
    for _ in range(MAX_PER_ACCOUNT - 1):
        envelope(login_json(Browser(), addr, "wrong-pass-1"), 401, "LOGIN_FAILED")
    # A success clears the account's count.
    eq(login_json(Browser(), addr, PASSWORD).status, 200, "success resets")
    for _ in range(MAX_PER_ACCOUNT):
        envelope(login_json(Browser(), addr, "wrong-pass-1"), 401, "LOGIN_FAILED")
    # Now even the right password is refused until the window ends.
    r = login_json(Browser(), addr, PASSWORD)
    msg = envelope(r, 429, "TOO_MANY_LOGIN_ATTEMPTS")
    assert msg.startswith("로그인 시도가 너무 많습니다.") and msg.endswith("후에 다시 시도해 주세요."), msg
    retry = int(r.header("Retry-After"))
    assert 0 < retry <= WINDOW, retry
    b = Browser()
    r = b.post_form("/login", {"email": addr, "password": PASSWORD})
    eq(r.status, 429, "page")
    assert "로그인 시도가 너무 많습니다." in r.text and r.header("Retry-After")
    eq(b.get("/api/v1/me").status, 401, "not signed in")
    # Other accounts are not affected.
    _, other = make_user()
    eq(login_json(Browser(), other, PASSWORD).status, 200, "other account")
    redis("DEL", "rl:login:acct:" + addr)
    eq(login_json(Browser(), addr, PASSWORD).status, 200, "after the window")
    forget_address_failures()


def test_failed_logins_per_address_are_limited():
    forget_address_failures()
    _, addr = make_user()
    for i in range(MAX_PER_ADDRESS):
        r = login_json(Browser(), new_email("spray%d" % i), "wrong-pass-1")
        envelope(r, 401, "LOGIN_FAILED")
    r = login_json(Browser(), addr, PASSWORD)
    envelope(r, 429, "TOO_MANY_LOGIN_ATTEMPTS")
    retry = int(r.header("Retry-After"))
    assert 0 < retry <= WINDOW, retry
    forget_address_failures()
    eq(login_json(Browser(), addr, PASSWORD).status, 200, "after the window")


def test_successful_logins_do_not_count_against_the_address():
    forget_address_failures()
    _, addr = make_user()
    for _ in range(MAX_PER_ADDRESS + 2):
        eq(login_json(Browser(), addr, PASSWORD).status, 200, "login")


def test_seed_demo_users_log_in_with_their_printed_passwords():
    forget_address_failures()
    rc, out = ctl("seed-demo")
    eq(rc, 0, "seed-demo: " + out)
    r = login_json(Browser(), "demo@jangteo.test", "demo-pass-1234")
    eq(r.status, 200, "demo login")
    eq((r.json()["role"], r.json()["points"]), ("shopper", 50000), "demo user")
    r = login_json(Browser(), "admin@jangteo.test", "admin-pass-1234")
    eq(r.json()["role"], "admin", "admin")
    forget_address_failures()


def test_passwords_and_codes_never_reach_the_log():
    with open(os.path.join(RUN, "log", "jangteo.log"), "rb") as f:
        text = f.read()
    for secret in [PASSWORD, "wrong-pass-1", "victim-pass-1", "attacker-pass-1"]:
        assert secret.encode() not in text, secret
    codes = set()
    for f in glob.glob(os.path.join(RUN, "mail", "*.eml")):
        with open(f, "rb") as fh:
            m = email.message_from_bytes(fh.read(), policy=email.policy.default)
        found = re.search(r"인증번호는 (\d{6}) 입니다", m.get_content())
        if found:
            codes.add(found.group(1))
    assert codes, "the sign-up tests mailed codes"
    for code in codes:
        assert not re.search(rb"\b" + code.encode() + rb"\b", text), code


def test_zz_cleanup_leaves_only_what_others_expect():
    """Runs last: removes the users and counters these tests made, so later test files (and
    test_ctl's look at the users table) see the database as they would without them."""
    sql("DELETE FROM users WHERE email LIKE 'acct-%@example.test'")
    eq(sql("SELECT COUNT(*) FROM users WHERE email LIKE 'acct-%@example.test'"), [["0"]], "gone")
    for key in redis("--scan", "--pattern", "rl:*").split():
        redis("DEL", key)
    for key in redis("--scan", "--pattern", "signup:acct-*").split():
        redis("DEL", key)
