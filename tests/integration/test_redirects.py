"""Open redirects (issue 16): every redirect whose target comes from input (the login page's
and the login form's next, social login's next kept in the OAuth state, the cart form's next)
is fed a list of hostile targets, and every Location header that comes back is resolved by a
WHATWG URL parser (node's URL, as a browser would) to prove the host never changes. Hostile
targets land on the sink's fallback; harmless ones arrive unchanged."""
import json
import subprocess
import urllib.parse

import test_account as acct
import test_oauth as oauth
from jt import PORT, eq, make_product

SITE = "http://127.0.0.1:%d" % PORT

HOSTILE = [
    "//evil.test/", "///evil.test/", "/\\evil.test/", "\\\\evil.test/", "/\\/evil.test/",
    '/"@evil.test/',            # issue 16: became /\"@evil.test/ after the header escape
    '/\\"@evil.test/', "/%22@evil.test/", "/'\"@evil.test/",
    "/%2F/evil.test/", "/%2f%2fevil.test/", "/%5Cevil.test/", "/%5C%5Cevil.test/",
    "/%252F%252Fevil.test/", "/%25%32%46/evil.test/", "/%09/evil.test/", "/%0d%0a/evil.test/",
    "/%C0%AF/evil.test/", "/%E0%80%AF/evil.test/",
    "/\t/evil.test/", "/\n/evil.test/", "/\r\nLocation: http://evil.test/", "/ /evil.test/",
    "/\x0b/evil.test/", "/\x7f/evil.test/", "/\u3000/evil.test/",
    "/\uff0f\uff0fevil.test/", "/\u2215\u2215evil.test/", "/\u3002evil.test/",
    "https://evil.test/", "http:evil.test", "http:/\\evil.test/", "HTTPS://evil.test",
    "javascript:alert(1)", "data:text/html,x", "evil.test", "@evil.test", ".//evil.test/",
    "/.//evil.test/", "/x/..//evil.test/", "/a?u=//evil.test/", "/#//evil.test/",
    "/<script>alert(1)</script>", "/" + "a" * 600, "",
]
HARMLESS = ["/", "/products?page=2", "/orders", "/search?q=%EC%9E%A5%ED%84%B0&x=1#top",
            "/cart"]


def whatwg(locations, base):
    """Resolves each Location against base with node's WHATWG URL parser; returns
    [[protocol, host, pathname+search+hash], ...] (["ERR", message, ""] when it throws)."""
    script = (
        "const base = process.argv[1];"
        "const locs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(locs.map(l => { try { const u = new URL(l, base);"
        " return [u.protocol, u.host, u.pathname + u.search + u.hash]; }"
        " catch (e) { return ['ERR', String(e), '']; } })));")
    p = subprocess.run(["node", "-e", script, base], input=json.dumps(locations).encode(),
                       stdout=subprocess.PIPE, check=True)
    return json.loads(p.stdout)


def check_sink(name, results, fallback, base):
    """results: [(target, status, Location)]. Every answer is a 303; a hostile target lands
    on fallback, a harmless one on itself; node resolves every Location to this site."""
    locs = [loc for _, _, loc in results]
    for (target, status, loc), (proto, host, _) in zip(results, whatwg(locs, base)):
        what = "%s next=%r" % (name, target)
        eq(status, 303, what + " status")
        eq((proto, host), ("http:", "127.0.0.1:%d" % PORT), what + ": WHATWG host of %r" % loc)
        eq(loc, target if target in HARMLESS else fallback, what + " Location")


def test_login_page_next_when_signed_in():
    b, _ = acct.make_user()
    out = []
    for t in HOSTILE + HARMLESS:
        r = b.get("/login?next=" + urllib.parse.quote(t, safe=""))
        out.append((t, r.status, r.header("Location")))
    check_sink("GET /login", out, "/", SITE + "/login")


def test_login_form_next():
    _, addr = acct.make_user()
    out = []
    for t in HOSTILE + HARMLESS:
        b = acct.Browser()
        r = b.post_form("/login", {"email": addr, "password": acct.PASSWORD, "next": t})
        out.append((t, r.status, r.header("Location")))
    check_sink("POST /login", out, "/", SITE + "/login")


def test_login_form_drops_a_hostile_next_from_the_page():
    b = acct.Browser()
    r = b.get("/login?next=" + urllib.parse.quote('/"@evil.test/', safe=""))
    eq(r.status, 200, "login page")
    assert "evil.test" not in r.text, r.text


def test_social_login_next():
    out = []
    for i, t in enumerate(HOSTILE + HARMLESS):
        provider = "naver" if i % 2 == 0 else "kakao"
        b = oauth.Browser()
        r = oauth.login(b, provider, {"id": oauth.new_id(), "name": "리다이렉트"}, next_path=t)
        out.append((t, r.status, r.header("Location")))
    check_sink("social login", out, "/", SITE + "/login/naver/callback")


def test_social_login_links_carry_only_a_safe_next():
    r = oauth.Browser().get("/login/social?next=" + urllib.parse.quote('/"@evil.test/', safe=""))
    eq(r.status, 200, "social page")
    assert "evil.test" not in r.text, r.text


def test_cart_add_next():
    pid = make_product(price=1000, stock=1000)
    b = acct.Browser()
    out = []
    for t in HOSTILE + HARMLESS:
        r = b.post_form("/cart/add", {"product_id": str(pid), "next": t})
        out.append((t, r.status, r.header("Location")))
    check_sink("POST /cart/add", out, "/cart", SITE + "/products/%d" % pid)
