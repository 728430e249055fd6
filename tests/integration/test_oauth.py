"""Social login with Naver and Kakao against the fake providers (tests/fakes/oauth.py): the
whole browser flow driven by hand (jangteo -> provider -> callback), cookies carried like a
browser, and the rule that finds, links or creates the user (lib/shop/identity.h)."""
import contextlib
import http.client
import json
import os
import random
import subprocess
import urllib.parse

from jt import PORT, RUN, envelope, eq, get, sql, stack

OAUTH_PORT = PORT + 1
SITE = "http://127.0.0.1:%d" % PORT
FAKES = os.path.join(RUN, "fakes")
CLIENT_IDS = {"naver": "jangteo-naver-local", "kakao": "jangteo-kakao-local"}
AUTHORIZE = {"naver": "/naver/oauth2.0/authorize", "kakao": "/kakao/oauth/authorize"}
LABEL = {"naver": "네이버", "kakao": "카카오"}


class Browser:
    """Cookies for the shop (the fakes set none), requests one at a time, no redirects
    followed: each test follows them itself."""

    def __init__(self):
        self.cookies = {}

    def get(self, url, headers=None):
        u = urllib.parse.urlsplit(url)
        host, port = (u.hostname, u.port) if u.scheme else ("127.0.0.1", PORT)
        path = u.path + ("?" + u.query if u.query else "")
        h = dict(headers or {})
        if port == PORT and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            conn.request("GET", path, headers=h)
            r = conn.getresponse()
            resp = Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        if port == PORT:
            for k, v in resp.headers:
                if k.lower() != "set-cookie":
                    continue
                name, _, rest = v.partition("=")
                value = rest.split(";")[0]
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        return resp

    def me(self):
        """The signed-in user from /api/v1/me, or None when signed out."""
        r = self.get("/api/v1/me")
        if r.status == 401:
            return None
        eq(r.status, 200, "/api/v1/me")
        return r.json()


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.text)


def new_id():
    """A subject no earlier run used (digits: valid for Kakao too)."""
    return str(random.randrange(10 ** 14, 10 ** 15))


def start(b, provider, next_path=None):
    """GET /login/{provider}: returns the provider URL jangteo redirects to."""
    path = "/login/%s" % provider
    if next_path is not None:
        path += "?next=" + urllib.parse.quote(next_path, safe="")
    r = b.get(path)
    eq(r.status, 303, "start status")
    loc = r.header("Location")
    assert loc.startswith("http://127.0.0.1:%d%s?" % (OAUTH_PORT, AUTHORIZE[provider])), loc
    return loc


def authorize(b, url, user=None):
    """The provider's authorize step (the fake answers at once): returns the callback URL."""
    if user is not None:
        url += "&login_hint=" + urllib.parse.quote(json.dumps(user, ensure_ascii=False))
    r = b.get(url)
    eq(r.status, 302, "authorize status")
    cb = r.header("Location")
    provider = "naver" if "/naver/" in url else "kakao"
    assert cb.startswith(SITE + "/login/%s/callback?" % provider), cb
    return cb


def login(b, provider, user, next_path=None):
    """The whole flow; returns the callback's response."""
    return b.get(authorize(b, start(b, provider, next_path), user))


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def with_query(url, **changes):
    """url with query parameters replaced (None removes one)."""
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    for k, v in changes.items():
        if v is None:
            q.pop(k, None)
        else:
            q[k] = v
    return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))


def counts():
    return sql("SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM user_identities)")[0]


def identity(provider, subject):
    """user_id of the identity, or None."""
    rows = sql("SELECT user_id FROM user_identities WHERE provider = '%s' AND subject = '%s'"
               % (provider, subject))
    return int(rows[0][0]) if rows else None


def add_user(email, status):
    """An e-mail user made directly in the database; returns its id."""
    sql("INSERT INTO users (email, password_hash, name, status) VALUES ('%s', 'x', '기존 회원', '%s')"
        % (email, status))
    return int(sql("SELECT id FROM users WHERE email = '%s'" % email)[0][0])


def fake_calls():
    try:
        with open(os.path.join(FAKES, "oauth-log")) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def error_page(r, status, code, message=None):
    eq(r.status, status, "status")
    eq(r.header("Content-Type"), "text/html; charset=utf-8", "content type")
    assert "오류 코드 %s" % code in r.text, r.text
    if message is not None:
        assert message in r.text, r.text


@contextlib.contextmanager
def fault(*rules):
    """Writes the fake's fault file for the duration of a block."""
    path = os.path.join(FAKES, "oauth-fail")
    with open(path, "w") as f:
        f.write("\n".join(rules) + "\n")
    try:
        yield
    finally:
        os.unlink(path)


@contextlib.contextmanager
def fcgi_env(**env):
    """Restarts the handlers with config overrides from the environment (JANGTEO_<KEY>), and
    restarts them as configured afterwards."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        stack("restart", "fcgi")
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        stack("restart", "fcgi")


def redis(*args):
    return subprocess.run(["redis-cli", "-s", os.path.join(RUN, "redis.sock")] + list(args),
                          check=True, stdout=subprocess.PIPE).stdout.decode("utf-8").strip()


# ---- the pages ---------------------------------------------------------------------------

def test_social_login_page_links_both_providers():
    r = get("/login/social")
    eq(r.status, 200, "status")
    assert '<a class="oauth oauth-naver" href="/login/naver">네이버로 로그인</a>' in r.text, r.text
    assert '<a class="oauth oauth-kakao" href="/login/kakao">카카오로 로그인</a>' in r.text, r.text
    r = get("/login/social?next=%2Fproducts%3Fpage%3D2")
    assert 'href="/login/naver?next=%2Fproducts%3Fpage%3D2"' in r.text, r.text
    r = get("/login/social?next=%2F%2Fevil.example")   # not a local path: dropped
    assert 'href="/login/naver"' in r.text, r.text
    r = get("/api/v1/login/social")
    eq(r.status, 200, "status")
    eq(r.json(), {"providers": [
        {"provider": "naver", "name": "네이버", "loginUrl": "/login/naver"},
        {"provider": "kakao", "name": "카카오", "loginUrl": "/login/kakao"}]}, "providers")


def test_start_sends_the_browser_to_the_provider_with_a_state_bound_to_its_session():
    for provider in ("naver", "kakao"):
        b = Browser()
        loc = start(b, provider)
        q = query(loc)
        eq(sorted(q), ["client_id", "redirect_uri", "response_type", "state"], "parameters")
        eq(q["response_type"], "code", "response_type")
        eq(q["client_id"], CLIENT_IDS[provider], "client_id")
        eq(q["redirect_uri"], SITE + "/login/%s/callback" % provider, "redirect_uri")
        assert len(q["state"]) == 32 and q["state"].isalnum(), q["state"]
        sid = b.cookies.get("jt_sid")
        assert sid, "a guest session was created"
        eq(redis("GET", "oauth:state:" + q["state"]), "%s\n%s\n/" % (provider, sid), "state")
        ttl = int(redis("TTL", "oauth:state:" + q["state"]))
        assert 590 <= ttl <= 600, ttl


def test_json_twin_gives_the_authorize_url_and_its_flow_completes():
    b = Browser()
    r = b.get("/api/v1/login/kakao?next=%2Fpoints")
    eq(r.status, 200, "status")
    eq(sorted(r.json()), ["authorizeUrl"], "keys")
    url = r.json()["authorizeUrl"]
    assert url.startswith("http://127.0.0.1:%d/kakao/oauth/authorize?" % OAUTH_PORT), url
    sub = new_id()
    r = b.get(authorize(b, url, {"id": sub, "name": "제이슨"}))
    eq(r.status, 303, "callback status")
    eq(r.header("Location"), "/points", "lands where it started")
    eq(b.me()["id"], identity("kakao", sub), "signed in")
    envelope(get("/api/v1/login/line"), 404, "NOT_FOUND")
    envelope(get("/api/v1/login/NAVER"), 404, "NOT_FOUND")


def test_unknown_provider_is_404():
    for path in ("/login/line", "/login/line/callback?state=x&code=y", "/login/Naver"):
        r = get(path)
        eq(r.status, 404, path)


# ---- who signs in --------------------------------------------------------------------------

def test_new_naver_user_is_created_and_signed_in():
    b = Browser()
    sub = "Nv-" + new_id() + "_aB"
    email = "n%s@naver.com" % sub[3:9]
    before = counts()
    loc = start(b, "naver")
    start_sid = b.cookies["jt_sid"]
    r = b.get(authorize(b, loc, {"id": sub, "email": email, "name": "네이버 사용자"}))
    eq(r.status, 303, "callback status")
    eq(r.header("Location"), "/", "home")
    assert b.cookies["jt_sid"] != start_sid, "the session id was rotated at login"
    me = b.me()
    eq(me["email"], email, "naver.com mail is verified and kept")
    eq(me["name"], "네이버 사용자", "name")
    eq(me["role"], "shopper", "role")
    eq(me["points"], 0, "points")
    eq(identity("naver", sub), me["id"], "identity linked")
    eq(sql("SELECT u.status, u.password_hash IS NULL, u.email FROM user_identities i JOIN users u"
           " ON u.id = i.user_id WHERE i.user_id = %d" % me["id"])[0],
       ["active", "1", email], "an active user without a password")
    after = counts()
    eq([int(after[0]) - int(before[0]), int(after[1]) - int(before[1])], [1, 1], "one of each")
    eq(Browser().get("/login/naver/callback?" + urllib.parse.urlsplit(loc).query).status, 400,
       "nothing to replay")


def test_same_identity_again_is_the_same_user():
    sub = new_id()
    user = {"id": sub, "email": "s%s@naver.com" % sub, "name": "재방문"}
    b1 = Browser()
    eq(login(b1, "naver", user).status, 303, "first")
    first = b1.me()["id"]
    before = counts()
    b2 = Browser()
    eq(login(b2, "naver", dict(user, name="이름 바뀜")).status, 303, "second")
    eq(b2.me()["id"], first, "same user")
    eq(counts(), before, "no new user or identity")
    # The same subject at the other provider is another person.
    b3 = Browser()
    eq(login(b3, "kakao", {"id": sub, "name": "카카오 쪽"}).status, 303, "kakao")
    assert b3.me()["id"] != first


def test_new_kakao_user_with_verified_email():
    sub = new_id()
    email = "k%s@example.com" % sub
    b = Browser()
    r = login(b, "kakao", {"id": sub, "email": email.upper(), "name": "카카오 사용자"},
              next_path="/products?page=2")
    eq(r.status, 303, "callback status")
    eq(r.header("Location"), "/products?page=2", "next")
    me = b.me()
    eq(me["email"], email, "verified e-mail, stored lower-case")
    eq(me["name"], "카카오 사용자", "name")
    eq(identity("kakao", sub), me["id"], "identity")


def test_kakao_user_without_email_or_name_gets_a_placeholder():
    sub = new_id()
    b = Browser()
    eq(login(b, "kakao", {"id": sub}).status, 303, "callback")
    me = b.me()
    eq(me["name"], "카카오 회원", "fallback name")
    assert me["email"].startswith("kakao-") and me["email"].endswith("@oauth.invalid"), me
    eq(sql("SELECT email IS NULL FROM user_identities WHERE subject = '%s'" % sub), [["1"]],
       "identity e-mail")


def test_verified_email_links_to_the_existing_active_user():
    sub = new_id()
    email = "linked%s@example.com" % sub
    uid = add_user(email, "active")
    b = Browser()
    eq(login(b, "kakao", {"id": sub, "email": "Linked%s@Example.com" % sub,
                          "name": "다른 이름"}).status, 303, "callback")
    me = b.me()
    eq(me["id"], uid, "the existing user")
    eq(me["name"], "기존 회원", "the account keeps its name")
    eq(identity("kakao", sub), uid, "identity linked")
    eq(sql("SELECT COUNT(*) FROM users WHERE email = '%s'" % email), [["1"]], "no duplicate")
    # Naver vouches for naver.com mailboxes.
    nsub = new_id()
    nmail = "linked%s@naver.com" % nsub
    nuid = add_user(nmail, "active")
    b = Browser()
    eq(login(b, "naver", {"id": nsub, "email": nmail}).status, 303, "naver callback")
    eq(b.me()["id"], nuid, "naver.com mail linked")


def test_unverified_email_is_never_linked():
    sub = new_id()
    email = "victim%s@example.com" % sub
    uid = add_user(email, "active")
    for provider, user in (
            ("kakao", {"id": sub, "email": email, "verified": False}),
            ("kakao", {"id": new_id(), "email": email, "valid": False}),
            ("naver", {"id": new_id(), "email": email})):   # not a naver.com mailbox
        b = Browser()
        eq(login(b, provider, user).status, 303, "callback")
        me = b.me()
        assert me["id"] != uid, (provider, user)
        assert me["email"].endswith("@oauth.invalid"), me
        eq(identity(provider, user["id"]), me["id"], "identity of the new user")
    eq(sql("SELECT COUNT(*) FROM user_identities WHERE user_id = %d" % uid), [["0"]],
       "nothing linked to the e-mail user")


def test_pending_signup_is_not_linked_nor_activated():
    sub = new_id()
    email = "pending%s@example.com" % sub
    uid = add_user(email, "pending")
    b = Browser()
    eq(login(b, "kakao", {"id": sub, "email": email}).status, 303, "callback")
    me = b.me()
    assert me["id"] != uid
    assert me["email"].endswith("@oauth.invalid"), me
    eq(sql("SELECT status FROM users WHERE id = %d" % uid), [["pending"]], "still pending")


def test_disabled_user_is_refused():
    sub = new_id()
    email = "banned%s@example.com" % sub
    uid = add_user(email, "disabled")
    before = counts()
    b = Browser()
    r = login(b, "kakao", {"id": sub, "email": email})
    error_page(r, 403, "ACCOUNT_DISABLED", "이용이 제한된 계정입니다.")
    eq(b.me(), None, "not signed in")
    eq(counts(), before, "nothing created")
    # A disabled user found through an identity is refused the same way.
    sub2 = new_id()
    b = Browser()
    eq(login(b, "naver", {"id": sub2}).status, 303, "first login")
    uid2 = b.me()["id"]
    sql("UPDATE users SET status = 'disabled' WHERE id = %d" % uid2)
    b = Browser()
    error_page(login(b, "naver", {"id": sub2}), 403, "ACCOUNT_DISABLED")
    eq(b.me(), None, "not signed in")
    assert uid != uid2


def test_markup_in_a_provider_name_is_rendered_escaped():
    b = Browser()
    eq(login(b, "naver", {"id": new_id(), "name": "<script>alert(1)</script>"}).status, 303,
       "callback")
    eq(b.me()["name"], "<script>alert(1)</script>", "stored as text")
    page = b.get("/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, page
    assert "<script>alert(1)" not in page


# ---- the state ---------------------------------------------------------------------------

def test_bad_state_is_refused_before_the_provider_is_called():
    b = Browser()
    cb = authorize(b, start(b, "naver"), {"id": new_id()})
    before, calls = counts(), len(fake_calls())
    hostile = [with_query(cb, state=None), with_query(cb, state=""),
               with_query(cb, state="<script>alert(1)</script>"),
               with_query(cb, state="a" * 33), with_query(cb, state="a" * 32),
               with_query(cb, state=query(cb)["state"].upper()),
               cb + "&state=" + query(cb)["state"]]          # the parameter twice
    for url in hostile:
        r = b.get(url)
        error_page(r, 400, "OAUTH_STATE_INVALID",
                   "로그인 요청이 만료되었거나 올바르지 않습니다. 처음부터 다시 시도해 주세요.")
        assert "<script>alert(1)" not in r.text
    eq(counts(), before, "nothing created")
    eq(len(fake_calls()), calls, "the provider was not called")
    eq(b.get(cb).status, 303, "the untouched state still works once")


def test_state_is_single_use():
    b = Browser()
    cb = authorize(b, start(b, "naver"), {"id": new_id()})
    before = counts()
    # The first callback that names the state uses it up, even when it fails later.
    r = b.get(with_query(cb, code="not-a-code"))
    error_page(r, 400, "OAUTH_CODE_INVALID", "네이버 로그인 인증 정보가 올바르지 않거나 만료되었습니다.")
    r = b.get(cb)
    error_page(r, 400, "OAUTH_STATE_INVALID")
    eq(counts(), before, "nothing created")
    eq(b.me(), None, "not signed in")
    # After a successful login the callback cannot be replayed either.
    b = Browser()
    cb = authorize(b, start(b, "kakao"), {"id": new_id()})
    eq(b.get(cb).status, 303, "login")
    before = counts()
    error_page(b.get(cb), 400, "OAUTH_STATE_INVALID")
    eq(counts(), before, "nothing created")


def test_state_from_another_browser_is_refused():
    victim, attacker = Browser(), Browser()
    # Login CSRF: the attacker starts a login and makes the victim's browser finish it.
    cb = authorize(attacker, start(attacker, "naver"), {"id": new_id()})
    before, calls = counts(), len(fake_calls())
    error_page(victim.get(cb), 400, "OAUTH_STATE_INVALID")
    eq(victim.me(), None, "the victim is not signed in as the attacker")
    eq(counts(), before, "nothing created")
    eq(len(fake_calls()), calls, "the provider was not called")
    # A browser with no session at all.
    b = Browser()
    cb = authorize(b, start(b, "kakao"), {"id": new_id()})
    error_page(Browser().get(cb), 400, "OAUTH_STATE_INVALID")
    eq(counts(), before, "nothing created")


def test_state_of_another_provider_is_refused():
    b = Browser()
    cb = authorize(b, start(b, "naver"), {"id": new_id()})
    before = counts()
    r = b.get("/login/kakao/callback?" + urllib.parse.urlsplit(cb).query)
    error_page(r, 400, "OAUTH_STATE_INVALID")
    eq(counts(), before, "nothing created")
    eq(b.me(), None, "not signed in")


def test_missing_code_is_refused():
    b = Browser()
    cb = authorize(b, start(b, "kakao"), {"id": new_id()})
    before = counts()
    error_page(b.get(with_query(cb, code=None)), 400, "OAUTH_CODE_INVALID",
               "카카오 로그인 인증 정보가 올바르지 않거나 만료되었습니다. 다시 시도해 주세요.")
    eq(counts(), before, "nothing created")


# ---- the provider fails ---------------------------------------------------------------------

def test_provider_denied_is_a_clear_page():
    for provider in ("naver", "kakao"):
        b = Browser()
        before = counts()
        with fault("authorize deny"):
            cb = authorize(b, start(b, provider))
        eq(query(cb)["error"], "access_denied", "the provider's answer")
        r = b.get(cb)
        error_page(r, 403, "OAUTH_DENIED", "%s 로그인을 취소하셨습니다. 다시 시도하시거나 다른 "
                   "방법으로 로그인해 주세요." % LABEL[provider])
        assert 'href="/login/%s"' % provider in r.text, "a way to try again"
        eq(counts(), before, "nothing created")
        eq(b.me(), None, "not signed in")
    b = Browser()
    with fault("naver authorize error"):
        cb = authorize(b, start(b, "naver"))
    error_page(b.get(cb), 502, "OAUTH_PROVIDER_ERROR",
               "네이버 로그인 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.")


def test_provider_failures_are_502_and_create_nothing():
    cases = ["token 500", "token badjson", "profile 500", "profile badjson", "profile 401",
             "profile noid"]
    for provider in ("naver", "kakao"):
        for rule in cases:
            b = Browser()
            sub = new_id()
            cb = authorize(b, start(b, provider), {"id": sub, "email": "f%s@naver.com" % sub})
            before = counts()
            with fault("%s %s" % (provider, rule)):
                r = b.get(cb)
            error_page(r, 502, "OAUTH_UNAVAILABLE", "%s 로그인 서버가 응답하지 않습니다. 잠시 후 "
                       "다시 시도해 주세요." % LABEL[provider])
            eq(counts(), before, "nothing created (%s %s)" % (provider, rule))
            eq(identity(provider, sub), None, "no identity")
            eq(b.me(), None, "not signed in")


def test_token_refused_by_the_provider_is_400():
    for provider in ("naver", "kakao"):
        b = Browser()
        cb = authorize(b, start(b, provider), {"id": new_id()})
        before = counts()
        with fault("token refuse"):
            r = b.get(cb)
        error_page(r, 400, "OAUTH_CODE_INVALID")
        eq(counts(), before, "nothing created")


def test_provider_timeouts_are_502_and_create_nothing():
    with open(os.path.join(FAKES, "oauth-timeout"), "w") as f:
        f.write("4\n")
    try:
        with fcgi_env(JANGTEO_HTTP_TOTAL_TIMEOUT_MS="1000"):
            for provider, rule in (("naver", "token timeout"), ("kakao", "profile timeout")):
                b = Browser()
                sub = new_id()
                cb = authorize(b, start(b, provider), {"id": sub})
                before = counts()
                with fault(rule):
                    r = b.get(cb)
                error_page(r, 502, "OAUTH_UNAVAILABLE", "잠시 후 다시 시도해 주세요.")
                eq(counts(), before, "nothing created (%s)" % rule)
                eq(identity(provider, sub), None, "no identity")
    finally:
        os.unlink(os.path.join(FAKES, "oauth-timeout"))


def test_provider_switched_off_is_404():
    with fcgi_env(JANGTEO_OAUTH_KAKAO_CLIENT_ID=""):
        eq(get("/login/kakao").status, 404, "start")
        eq(get("/login/kakao/callback?state=%s&code=x" % ("a" * 32)).status, 404, "callback")
        envelope(get("/api/v1/login/kakao"), 404, "NOT_FOUND")
        eq(get("/api/v1/login/social").json(), {"providers": [
            {"provider": "naver", "name": "네이버", "loginUrl": "/login/naver"}]}, "providers")
        r = get("/login/social")
        assert "카카오로 로그인" not in r.text and "네이버로 로그인" in r.text, r.text
        eq(get("/login/naver").status, 303, "the other provider still works")
