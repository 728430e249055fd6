"""Price comparison: the product page and its JSON twin show the lowest price on Naver
Shopping (the fake, tests/fakes/naver_shop.py), cached in Redis; when Naver fails (5xx, 429,
bad JSON, slower than naver.timeout_ms) the page still answers with the last known price or
"unavailable"; the "naver" circuit breaker opens, fails fast, half-opens and closes; the
comparison is off without a client id. The last two restart the handlers with JANGTEO_*
overrides (one handler process, tiny breaker settings) and restore them afterwards."""
import json
import os
import subprocess
import sys
import time

from jt import RUN, SRC, envelope, eq, eventually, get, sql

sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
import naver_shop  # noqa: E402  (the fake's price rule, to know what to expect)

TAG = "%x" % int(time.time() * 1000)
NAVER_PORT = int(os.environ.get("JT_HTTP_PORT", "18080")) + 3
FAKES = os.path.join(RUN, "fakes")
FAULTS = os.path.join(FAKES, "naver-faults")
PRICES = os.path.join(FAKES, "naver-prices.json")
SERIAL = [0]

MSG_NONE = "네이버 쇼핑에서 같은 상품을 찾지 못했습니다."
MSG_UNAVAILABLE = "지금은 네이버 쇼핑 가격을 불러올 수 없습니다."
MSG_STALE = "네이버 쇼핑이 응답하지 않아 마지막으로 확인한 정보입니다"


def q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def redis_cli(*args):
    out = subprocess.run(["redis-cli", "-s", os.path.join(RUN, "redis.sock")] + list(args),
                         check=True, stdout=subprocess.PIPE).stdout.decode("utf-8")
    return out.strip()


def product(name=None, price=5000):
    """A new active product with stock; returns (id, name)."""
    SERIAL[0] += 1
    if name is None:
        name = "비교-%s-%d" % (TAG, SERIAL[0])
    seller = "가격비교판매자-" + TAG
    sql("INSERT INTO sellers (name) VALUES (%s) ON DUPLICATE KEY UPDATE name = name" % q(seller))
    sid = int(sql("SELECT id FROM sellers WHERE name = %s" % q(seller))[0][0])
    sql("INSERT INTO products (seller_id, name, description, price, active) VALUES"
        " (%d, %s, '설명', %d, 1)" % (sid, q(name), price))
    pid = int(sql("SELECT MAX(id) FROM products WHERE seller_id = %d AND name = %s"
                  % (sid, q(name)))[0][0])
    sql("INSERT INTO stock (product_id, available) VALUES (%d, 3)" % pid)
    return pid, name


def naver_calls(query):
    """Search requests the fake received for query so far."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", NAVER_PORT, timeout=5)
    try:
        conn.request("GET", "/fake/stats")
        doc = json.loads(conn.getresponse().read().decode("utf-8"))
    finally:
        conn.close()
    return doc["by_query"].get(query, 0)


def set_faults(text):
    with open(FAULTS + ".tmp", "w") as f:
        f.write(text)
    os.replace(FAULTS + ".tmp", FAULTS)


def clear_faults():
    if os.path.exists(FAULTS):
        os.remove(FAULTS)


def set_prices(doc):
    with open(PRICES + ".tmp", "w") as f:
        json.dump(doc, f, ensure_ascii=False)
    os.replace(PRICES + ".tmp", PRICES)


def clear_prices():
    if os.path.exists(PRICES):
        os.remove(PRICES)


def api(pid):
    r = get("/api/v1/products/%d" % pid)
    eq(r.status, 200, "product JSON status")
    return r.json()["naverLowestPrice"]


def page(pid):
    r = get("/products/%d" % pid)
    eq(r.status, 200, "product page status")
    return r.text


def won(n):
    return "{:,}".format(n)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def shows_found(text, price, mall, link):
    """True when the product page text shows a found price: mall and price on one line, and
    the link to Naver, which opens a new tab (a comparison, not a way out of the shop)."""
    return ('<span class="naver-mall">%s</span> <strong class="naver-price">%s원</strong>'
            % (mall, won(price)) in text and
            '<p class="meta naver-link"><a href="%s" target="_blank"'
            ' rel="noopener noreferrer nofollow">네이버 쇼핑에서 보기' % link in text)


def restart_fcgi(**env):
    """Restarts the handlers with extra environment (JT_PREFORK, JANGTEO_*); with none, just
    gives every handler process a fresh "naver" breaker. Tests that make Naver fail on
    purpose start with one, so failures of earlier tests cannot have opened a breaker (each
    test then stays below breaker.min_calls = 20 calls in any process)."""
    e = dict(os.environ)
    e.update(env)
    subprocess.run([os.path.join(SRC, "script", "stack"), "restart", "fcgi"], check=True,
                   env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    eventually(lambda: get("/healthz").status == 200, timeout=20, what="handlers back")


def forget_fresh(pid):
    """Drops the fresh cache entry, as if naver.cache_seconds had passed."""
    redis_cli("DEL", "pricecmp:%d" % pid)


def test_price_is_shown_and_cached():
    pid, name = product()
    low = naver_shop.lowest_price(name)
    items = sorted(naver_shop.default_items(name), key=lambda it: int(it["lprice"]))
    eq(naver_calls(name), 0, "no call before the first view")
    text = page(pid)
    assert '네이버 쇼핑 최저가 비교</h2>' in text, text
    assert shows_found(text, low, "네이버", items[0]["link"]), text
    assert '<p class="meta naver-title">%s 상품 1</p>' % name in text, "title without <b> tags"
    assert '<p class="meta naver-age">방금 전 기준</p>' in text, text
    eq(naver_calls(name), 1, "one call for the first view")
    t_after = int(time.time())

    doc = api(pid)
    eq(naver_calls(name), 1, "the JSON twin reads the cache")
    fetched = doc.pop("fetchedAt")
    eq(doc, {"status": "found", "price": low, "mall": "네이버", "link": items[0]["link"],
             "title": "%s 상품 1" % name, "cached": True, "stale": False}, "naverLowestPrice")
    assert fetched in (rfc3339(t_after), rfc3339(t_after - 1), rfc3339(t_after - 2)), fetched
    for _ in range(6):   # every handler process reads the same Redis cache
        assert shows_found(page(pid), low, "네이버", items[0]["link"])
    eq(naver_calls(name), 1, "later views make no Naver call")

    ttl = int(redis_cli("TTL", "pricecmp:%d" % pid))
    assert 590 <= ttl <= 600, "fresh entry TTL %d (naver.cache_seconds 600)" % ttl
    ttl = int(redis_cli("TTL", "pricecmp:%d:last" % pid))
    assert 7 * 86400 - 10 <= ttl <= 7 * 86400, "last-known TTL %d" % ttl
    # After the fresh entry expires, Naver is asked again.
    forget_fresh(pid)
    eq(api(pid)["cached"], False, "asked again")
    eq(naver_calls(name), 2, "second call after expiry")


def test_none_and_fixed_prices_from_naver():
    pid_none, name_none = product()
    pid_fixed, name_fixed = product()
    pid_many, name_many = product()
    set_prices({
        name_none: [],
        name_fixed: 1234567,
        name_many: [
            {"title": "<b>비싼</b> 것", "link": "https://a.test/1", "lprice": "30000",
             "hprice": "", "mallName": "가"},
            {"title": "Tom &amp; <b>Jerry</b> &lt;싼 것&gt;", "link": "https://b.test/2?x=1&y=2",
             "lprice": "2990", "hprice": "", "mallName": "나"},
            {"title": "중간", "link": "https://c.test/3", "lprice": "15000", "mallName": "다"},
        ],
    })
    try:
        doc = api(pid_none)
        fetched = doc.pop("fetchedAt")
        assert fetched, "a none answer has its time"
        eq(doc, {"status": "none", "price": None, "mall": None, "link": None, "title": None,
                 "cached": False, "stale": False}, "none")
        text = page(pid_none)
        assert MSG_NONE in text and "naver-found" not in text, text
        eq(naver_calls(name_none), 1, "a none answer is cached too")

        eq(api(pid_fixed)["price"], 1234567, "fixed price")
        assert '<strong class="naver-price">1,234,567원</strong>' in page(pid_fixed)

        doc = api(pid_many)
        eq((doc["price"], doc["mall"], doc["link"], doc["title"]),
           (2990, "나", "https://b.test/2?x=1&y=2", "Tom & Jerry <싼 것>"),
           "the cheapest item, whatever the order")
        text = page(pid_many)
        assert shows_found(text, 2990, "나", "https://b.test/2?x=1&amp;y=2"), text
        assert '<p class="meta naver-title">Tom &amp; Jerry &lt;싼 것&gt;</p>' in text, text
    finally:
        clear_prices()


def test_hostile_answers_are_unavailable_not_shown():
    cases = [
        [{"title": "t", "link": "javascript:alert(1)", "lprice": "100", "mallName": "m"}],
        [{"title": "t", "link": "https://a.test/", "lprice": 100, "mallName": "m"}],
        [{"title": "t", "link": "https://a.test/", "lprice": "-100", "mallName": "m"}],
        [{"title": "t", "link": "https://a.test/", "lprice": "999999999999999", "mallName": "m"}],
        [{"title": "t", "link": "https://a.test/", "mallName": "m"}],
        [{"title": "t", "link": "https://a.test/", "lprice": "1,000", "mallName": "m"}],
        [{"title": "t", "link": "https://a.test/", "lprice": "100", "mallName": "m" * 201}],
    ]
    restart_fcgi()
    prods = [product() for _ in cases]
    set_prices({name: items for (_, name), items in zip(prods, cases)})
    try:
        for (pid, name), items in zip(prods, cases):
            doc = api(pid)
            eq(doc, {"status": "unavailable", "price": None, "mall": None, "link": None,
                     "title": None, "fetchedAt": None, "cached": False, "stale": False},
               "answer %r" % items)
            text = page(pid)
            assert MSG_UNAVAILABLE in text and "javascript:" not in text, text
            eq(redis_cli("EXISTS", "pricecmp:%d" % pid, "pricecmp:%d:last" % pid), "0",
               "nothing cached")
    finally:
        clear_prices()


def test_markup_in_names_and_titles_is_escaped():
    pid, name = product(name='<script>alert("n")</script>&\'' + TAG)
    text = page(pid)
    assert "<script>alert" not in text, text
    esc = "&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;&amp;&#39;" + TAG
    assert '<p class="meta naver-title">%s 상품 1</p>' % esc in text, text
    eq(api(pid)["title"], name + " 상품 1", "JSON keeps the text")


def test_renamed_product_is_looked_up_again():
    pid, name = product()
    api(pid)
    eq(naver_calls(name), 1, "first name")
    new = name + "-새이름"
    sql("UPDATE products SET name = %s WHERE id = %d" % (q(new), pid))
    doc = api(pid)
    eq((doc["price"], doc["cached"]), (naver_shop.lowest_price(new), False), "new name asked")
    eq(naver_calls(new), 1, "one call for the new name")


def check_fault(fault):
    """With a last known price: the page shows it, marked stale; without: unavailable."""
    restart_fcgi()
    known, known_name = product()
    fresh, fresh_name = product()
    low = naver_shop.lowest_price(known_name)
    eq(api(known)["price"], low, "known price")
    forget_fresh(known)
    try:
        set_faults("%s count=3\n" % fault)
        text = page(known)
        assert shows_found(text, low, "네이버", naver_shop.default_items(known_name)[1]["link"])
        assert MSG_STALE in text, text
        doc = api(fresh)
        eq((doc["status"], doc["cached"], doc["stale"]), ("unavailable", False, False),
           "no known price")
        assert MSG_UNAVAILABLE in page(fresh), "page without a known price"
        eq(naver_calls(known_name), 2, "asked once more for the known product")
        eq(naver_calls(fresh_name), 2, "asked for the new product (JSON and page)")
        doc = api(known)
        eq((doc["status"], doc["price"], doc["cached"], doc["stale"]),
           ("found", low, False, False), "fresh again once the fault is over")
    finally:
        clear_faults()


def test_server_error_shows_the_last_known_price():
    check_fault("500")


def test_rate_limit_shows_the_last_known_price():
    check_fault("429")


def test_bad_json_shows_the_last_known_price():
    check_fault("badjson")


def test_slow_naver_is_cut_off_at_the_timeout():
    # naver.timeout_ms is 800: a 3 s answer is abandoned and the page answers without it.
    check_fault("slow latency_ms=3000")


def test_stale_price_shows_its_age():
    restart_fcgi()
    pid, name = product()
    at = int(time.time()) - 2 * 3600 - 5
    redis_cli("SET", "pricecmp:%d:last" % pid, json.dumps(
        {"q": name, "s": "found", "at": at, "p": 77000, "m": "옛몰", "l": "https://old.test/x",
         "t": "예전 <상품>"}, ensure_ascii=False), "EX", "600")
    set_faults("500\n")
    try:
        doc = api(pid)
        eq(doc, {"status": "found", "price": 77000, "mall": "옛몰", "link": "https://old.test/x",
                 "title": "예전 <상품>", "fetchedAt": rfc3339(at), "cached": True,
                 "stale": True}, "last known answer")
        text = page(pid)
        assert shows_found(text, 77000, "옛몰", "https://old.test/x"), text
        assert '<p class="meta naver-age">2시간 전 기준 · %s</p>' % MSG_STALE in text, text
        assert '<p class="meta naver-title">예전 &lt;상품&gt;</p>' in text
        # A last-known entry for the product's old name is not shown.
        redis_cli("SET", "pricecmp:%d:last" % pid, json.dumps(
            {"q": name + "x", "s": "found", "at": at, "p": 1, "m": "m", "l": "https://o.test/",
             "t": "t"}), "EX", "600")
        eq(api(pid)["status"], "unavailable", "other query")
        # A corrupt entry is ignored.
        redis_cli("SET", "pricecmp:%d:last" % pid, '{"q": 1}', "EX", "600")
        eq(api(pid)["status"], "unavailable", "corrupt entry")
    finally:
        clear_faults()


def test_unknown_product_makes_no_naver_call():
    top = int(sql("SELECT COALESCE(MAX(id), 0) FROM products")[0][0])
    envelope(get("/api/v1/products/%d" % (top + 1000)), 404, "PRODUCT_NOT_FOUND")
    eq(get("/products/abc").status, 400, "malformed id")
    eq(naver_calls(""), 0, "no empty query")


def breaker_hash():
    out = redis_cli("HGETALL", "breaker:naver").splitlines()
    return dict(zip(out[0::2], out[1::2]))


def test_breaker_opens_fails_fast_half_opens_and_closes():
    # One handler process, so one breaker sees every call: window 4, minimum 2, 50 %,
    # open 2 s, one trial call.
    restart_fcgi(JT_PREFORK="1", JANGTEO_BREAKER_WINDOW="4", JANGTEO_BREAKER_MIN_CALLS="2",
                 JANGTEO_BREAKER_FAILURE_RATE="50", JANGTEO_BREAKER_OPEN_SECONDS="2",
                 JANGTEO_BREAKER_HALF_OPEN_CALLS="1")
    redis_cli("DEL", "breaker:naver", "breaker:naver:procs")
    try:
        pid, name = product()
        set_faults("500\n")
        eq(api(pid)["status"], "unavailable", "first failure")
        eq(api(pid)["status"], "unavailable", "second failure")
        eq(naver_calls(name), 2, "both were calls")
        eq(breaker_hash().get("state"), "open", "published as open")
        h = breaker_hash()
        eq((h["failures"], h["calls"]), ("2", "2"), "counters")
        assert h["pid"].isdigit() and int(h["updated_ms"]) > 0, h
        procs = redis_cli("HGETALL", "breaker:naver:procs").splitlines()
        eq(procs[0], h["pid"], "per-process report")
        eq(json.loads(procs[1])["state"], "open", "per-process state")

        # Open: fail fast, no call, the page still answers.
        for _ in range(5):
            eq(api(pid)["status"], "unavailable", "while open")
            assert MSG_UNAVAILABLE in page(pid)
        eq(naver_calls(name), 2, "no call while open")

        # After open_seconds: one trial; it fails -> open again.
        time.sleep(2.1)
        eq(api(pid)["status"], "unavailable", "failed trial")
        eq(naver_calls(name), 3, "the trial call")
        eq(breaker_hash().get("state"), "open", "reopened")
        eq(api(pid)["status"], "unavailable", "open again")
        eq(naver_calls(name), 3, "no call after the failed trial")

        # Naver recovers: the next trial succeeds and closes the breaker.
        clear_faults()
        time.sleep(2.1)
        doc = api(pid)
        eq((doc["status"], doc["price"]), ("found", naver_shop.lowest_price(name)), "trial ok")
        eq(naver_calls(name), 4, "the successful trial")
        eq(breaker_hash().get("state"), "closed", "closed again")
        eq(breaker_hash().get("transitions"), "5", "closed->open->half->open->half->closed")
    finally:
        clear_faults()
        restart_fcgi()


def test_naver_off_without_client_id():
    restart_fcgi(JANGTEO_NAVER_CLIENT_ID="")
    try:
        pid, name = product()
        doc = get("/api/v1/products/%d" % pid).json()
        assert "naverLowestPrice" not in doc, doc
        text = page(pid)
        assert "naver-price" not in text and "네이버 쇼핑 최저가" not in text, text
        eq(naver_calls(name), 0, "no call when off")
    finally:
        restart_fcgi()
