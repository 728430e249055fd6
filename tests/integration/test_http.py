"""The FastCGI core through nginx: routing, error pages and envelope, parsing, headers."""
import re
import threading

from jt import envelope, eq, get, post_json, request, static_version

SECURITY_HEADERS = ["Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                    "Referrer-Policy", "Cache-Control", "X-Request-Id"]


def test_home_page_renders_in_korean_with_security_headers():
    r = get("/")
    eq(r.status, 200, "status")
    eq(r.header("Content-Type"), "text/html; charset=utf-8", "content type")
    assert "좋은 상품을 장터에서</h1>" in r.text, r.text
    # The layout's stylesheet and icon carry their content's version; the footer the business
    # information Korean law asks for.
    for link in ['<link rel="stylesheet" href="/static/jangteo.css?v=%s">',
                 '<link rel="icon" href="/static/favicon.svg?v=%s" type="image/svg+xml">']:
        name = re.search(r"/static/([^?]+)", link).group(1)
        assert link % static_version(name) in r.text, "versioned " + name
    for want in ["대표", "사업자등록번호", "통신판매업 신고번호", "주소"]:
        assert "<dt>%s</dt>" % want in r.text, want
    assert '<p class="cs">고객센터 <strong>1588-0000</strong>' in r.text, "고객센터"
    for h in SECURITY_HEADERS:
        assert r.header(h), "missing header %s" % h
    eq(r.header("X-Content-Type-Options"), "nosniff", "nosniff")
    assert "frame-ancestors 'none'" in r.header("Content-Security-Policy")
    assert r.header("Access-Control-Allow-Origin") is None


def test_head_has_headers_and_no_body():
    r = request("HEAD", "/")
    eq(r.status, 200, "status")
    eq(r.body, b"", "body")


def test_unknown_page_is_a_404_page():
    r = get("/no/such/page")
    eq(r.status, 404, "status")
    eq(r.header("Content-Type"), "text/html; charset=utf-8", "content type")
    assert "요청한 페이지를 찾을 수 없습니다." in r.text
    assert r.header("X-Request-Id") in r.text, "the page names the request id"


def test_unknown_api_path_is_the_json_envelope():
    r = get("/api/v1/no-such-thing")
    eq(envelope(r, 404, "NOT_FOUND"), "요청한 페이지를 찾을 수 없습니다.", "message")


def test_wrong_method_is_405_with_allow():
    r = request("DELETE", "/healthz")
    envelope(r, 405, "METHOD_NOT_ALLOWED")
    eq(r.header("Allow"), "GET, HEAD", "Allow")
    r = request("PUT", "/")
    eq(r.status, 405, "status")
    eq(r.header("Allow"), "GET, HEAD", "Allow")


def test_malformed_json_is_400_with_the_envelope():
    bodies = [
        b"{bad", b"", b"[1,2", b"{\"message\":\"a\"} trailing", b"{'message':'a'}",
        b"{\"message\":\"a\",\"message\":\"b\"}",          # duplicate key
        b"[" * 100 + b"]" * 100,                           # too deep
        b"{\"message\":\"\xff\xfe\"}",                     # invalid UTF-8
        b"{\"message\":NaN}",
    ]
    for b in bodies:
        r = request("POST", "/api/v1/_test/jobs", body=b,
                    headers={"Content-Type": "application/json"})
        envelope(r, 400, "BAD_JSON")


def test_json_with_wrong_content_type_is_415():
    r = request("POST", "/api/v1/_test/jobs", body=b"{\"message\":\"x\"}",
                headers={"Content-Type": "text/plain"})
    envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_wrong_field_types_are_400_and_create_nothing():
    first = post_json("/api/v1/_test/jobs", {"message": "before"}).json()["id"]
    for body in [{"message": 5}, {"message": ""}, {"message": "a", "sleep_ms": "5"},
                 {"message": "a", "sleep_ms": -1}, {"message": "a", "sleep_ms": 1.5},
                 {"message": "a", "extra": 1}, [], {"message": "x" * 201},
                 {"message": None}, {"message": ["a"]}]:
        r = post_json("/api/v1/_test/jobs", body)
        envelope(r, 400, "INVALID_JOB")
    # An integer beyond int64 is refused by the parser itself, not silently clamped.
    envelope(post_json("/api/v1/_test/jobs", {"message": "a", "sleep_ms": 10 ** 20}), 400,
             "BAD_JSON")
    # Consecutive ids: no bad request inserted (or even tried to insert) a row in between.
    last = post_json("/api/v1/_test/jobs", {"message": "after"}).json()["id"]
    eq(last, first + 1, "no row written by a refused request")


def test_oversized_body_is_413():
    body = b"{\"message\":\"" + b"a" * (1024 * 1024 + 10) + b"\"}"
    r = request("POST", "/api/v1/_test/jobs", body=body,
                headers={"Content-Type": "application/json"})
    envelope(r, 413, "PAYLOAD_TOO_LARGE")


def test_bad_query_encoding_is_400():
    for q in ["%zz", "%4", "%", "%00", "%ff", "a%C0%80"]:
        r = get("/_test/echo?name=" + q)
        eq(r.status, 400, "status for %s" % q)
        assert "잘못된 요청입니다." in r.text
    r = get("/_test/echo?name=a&name=b")          # a field sent twice
    eq(r.status, 400, "duplicate field")


def test_markup_in_input_renders_escaped():
    r = get("/_test/echo?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%27%26")
    eq(r.status, 200, "status")
    assert '<p id="name">&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</p>' in r.text, r.text
    assert "<script>alert" not in r.text


def test_handler_failure_is_a_500_page_and_the_pool_keeps_serving():
    r = get("/_test/fail")
    eq(r.status, 500, "status")
    eq(r.header("Content-Type"), "text/html; charset=utf-8", "content type")
    assert "일시적인 오류가 발생했습니다" in r.text
    envelope(get("/api/v1/_test/fail"), 500, "INTERNAL_ERROR")
    errors = []

    def hit():
        for _ in range(10):
            if get("/api/v1/_test/fail").status != 500 or get("/healthz").status != 200:
                errors.append(1)
    threads = [threading.Thread(target=hit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eq(errors, [], "every request answered normally")


def test_request_id_is_nginx_s_and_not_the_client_s():
    seen = set()
    for forged in ["abcdef0123456789", "bad id\" with spaces", None]:
        r = get("/healthz", headers={"X-Request-Id": forged} if forged else {})
        rid = r.header("X-Request-Id")
        assert re.fullmatch(r"[0-9a-f]{32}", rid), rid   # nginx's $request_id
        seen.add(rid)
    eq(len(seen), 3, "a new id per request")


def test_route_flags_are_enforced_by_the_dispatcher():
    # Needs a signed-in user: JSON answers 401, a page sends the browser to the login page.
    envelope(get("/api/v1/_test/private"), 401, "UNAUTHORIZED")
    envelope(get("/api/v1/_test/admin"), 401, "UNAUTHORIZED")
    r = get("/_test/private")
    eq(r.status, 303, "status")
    eq(r.header("Location"), "/login?next=%2F_test%2Fprivate", "Location: back here after")
    r = get("/_test/private?a=1&b=%EA%B0%80")
    eq(r.header("Location"), "/login?next=%2F_test%2Fprivate%3Fa%3D1%26b%3D%25EA%25B0%2580",
       "the query comes back too")
    # A state change without the session's CSRF token is refused before the handler runs.
    envelope(post_json("/api/v1/_test/csrf", {}), 403, "CSRF_TOKEN_INVALID")
