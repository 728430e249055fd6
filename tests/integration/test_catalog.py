"""Catalog: cursor pages of active products (stable under inserts, strict cursor and limit) in
three orders (newest, cheapest, best selling: keysets on (key, id)), by category and by a piece
of the name; one product with its list price and image; the popular list from sales_daily;
seed 002's own paths (/products/{id} and /products/popular answer its JSON when the Accept
header asks for JSON, the pages otherwise); and the Redis cache of first pages (version key,
TTLs, invalidation, live stock, MariaDB fallback while Redis is down)."""
import base64
import os
import struct
import subprocess
import time
from urllib.parse import quote

from jt import RUN, envelope, eq, eventually, get, post_json, request, sql, stack

TAG = "%x" % int(time.time() * 1000)
MSG_BAD_LIMIT = "limit은 1~100 사이의 정수여야 합니다."
MSG_BAD_CURSOR = "잘못된 페이지 커서입니다."
MSG_BAD_ID = "잘못된 상품 번호입니다."
MSG_NOT_FOUND = "존재하지 않는 상품입니다."
NEXT_SERIAL = [0]
JSON = {"Accept": "application/json"}
CHROME = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                    "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"}


def q(s):
    """A MariaDB string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def redis_cli(*args):
    out = subprocess.run(["redis-cli", "-s", os.path.join(RUN, "redis.sock")] + list(args),
                         check=True, stdout=subprocess.PIPE).stdout.decode("utf-8")
    return out.strip()


def invalidate():
    """Bumps the catalog version as the admin code does after changing a product."""
    r = post_json("/api/v1/_test/catalog/invalidate", {})
    eq(r.status, 200, "invalidate status")
    return r.json()["version"]


def seller(label):
    name = "판매자-%s-%s" % (label, TAG)
    sql("INSERT INTO sellers (name) VALUES (%s) ON DUPLICATE KEY UPDATE name = name" % q(name))
    return int(sql("SELECT id FROM sellers WHERE name = %s" % q(name))[0][0]), name


def product(seller_id, name=None, price=1000, stock=10, active=1, description="설명",
            category=None, list_price=None):
    """Inserts a product with its stock row; returns its id."""
    NEXT_SERIAL[0] += 1
    if name is None:
        name = "상품-%s-%d" % (TAG, NEXT_SERIAL[0])
    sql("INSERT INTO products (seller_id, name, description, price, active, category_id,"
        " list_price) VALUES (%d, %s, %s, %d, %d, %s, %s)"
        % (seller_id, q(name), q(description), price, active,
           "NULL" if category is None else str(category),
           "NULL" if list_price is None else str(list_price)))
    pid = int(sql("SELECT id FROM products WHERE seller_id = %d AND name = %s"
                  % (seller_id, q(name)))[0][0])
    sql("INSERT INTO stock (product_id, available) VALUES (%d, %d)" % (pid, stock))
    return pid


def without_naver(doc):
    """The product JSON without its Naver price comparison (test_pricecmp checks that part)."""
    naver = doc.pop("naverLowestPrice", None)
    assert naver is None or naver["status"] in ("found", "none", "unavailable"), naver
    return doc


def active_ids():
    return [int(r[0]) for r in sql("SELECT id FROM products WHERE active = 1 ORDER BY id DESC")]


def walk(limit, cursor=None, pages=None, extra=""):
    """Follows nextCursor from cursor to the end; returns the ids seen, in order. extra: more
    of the query ("sort=price&category=fruit")."""
    ids = []
    while True:
        path = "/api/v1/products?limit=%d" % limit + ("&" + extra if extra else "")
        if cursor is not None:
            path += "&cursor=" + cursor
        r = get(path)
        eq(r.status, 200, "page status for " + path)
        doc = r.json()
        eq(sorted(doc.keys()), ["items", "nextCursor"], "page keys")
        page = [it["id"] for it in doc["items"]]
        if pages is not None:
            pages.append(page)
        ids += page
        cursor = doc["nextCursor"]
        if cursor is None:
            return ids
        assert len(page) == limit, "a page before the last is short: %r" % page


def fnv1a32(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def cursor_raw(version, id_bytes, checksum=None):
    """The cursor's layout: version byte, 8-byte id, FNV-1a of those 9 bytes, base64url."""
    head = bytes([version]) + id_bytes
    if checksum is None:
        checksum = fnv1a32(head)
    return base64.urlsafe_b64encode(head + struct.pack(">I", checksum)).rstrip(b"=").decode()


def cursor_of(pid):
    return cursor_raw(1, struct.pack(">Q", pid))


def test_paging_gives_every_active_product_once_newest_first():
    sid, _ = seller("paging")
    for i in range(23):
        product(sid, price=1000 + i)
    hidden = [product(sid, active=0), product(sid, active=0)]
    invalidate()
    expected = active_ids()
    pages = []
    got = walk(7, pages=pages)
    eq(got, expected, "ids over all pages")
    eq(len(got), len(set(got)), "no duplicates")
    for h in hidden:
        assert h not in got, "inactive product %d listed" % h
    assert all(len(p) == 7 for p in pages[:-1]), pages
    eq(walk(100), expected, "one big page")
    # The default page size is catalog.page_size (20).
    first = get("/api/v1/products").json()
    eq([it["id"] for it in first["items"]], expected[:20], "default page")
    eq(first["nextCursor"], cursor_of(expected[19]) if len(expected) > 20 else None,
       "next cursor of the default page")


def test_products_inserted_while_paging_do_not_shift_later_pages():
    sid, _ = seller("insert")
    for _ in range(12):
        product(sid)
    invalidate()
    expected = active_ids()
    r = get("/api/v1/products?limit=5").json()
    first = [it["id"] for it in r["items"]]
    eq(first, expected[:5], "first page")
    # New products arrive (and the admin code invalidates the cache) between two pages.
    new = [product(sid) for _ in range(3)]
    invalidate()
    rest = walk(5, cursor=r["nextCursor"])
    eq(first + rest, expected, "old products, each once, none skipped")
    for n in new:
        assert n not in rest, "new product %d showed up on a later page" % n
    # Starting over shows the new ones first.
    eq(walk(5)[:3], sorted(new, reverse=True), "new products on top of a fresh walk")


def test_limit_out_of_bounds_or_not_an_integer_is_400():
    for bad in ["0", "101", "abc", "-1", "", "1.5", "+5", "05", "1e2", "99999999999999999999",
                "%3Cscript%3E"]:
        m = envelope(get("/api/v1/products?limit=" + bad), 400, "INVALID_LIMIT")
        eq(m, MSG_BAD_LIMIT, "message for limit=%r" % bad)
    envelope(get("/api/v1/products?limit=5&limit=6"), 400, "INVALID_LIMIT")
    eq(len(get("/api/v1/products?limit=1").json()["items"]), 1, "limit=1")
    eq(get("/api/v1/products?limit=100").status, 200, "limit=100")
    page = get("/products?limit=0")
    eq(page.status, 400, "page status")
    assert MSG_BAD_LIMIT in page.text, page.text


def test_tampered_garbage_or_oversized_cursor_is_400():
    sid, _ = seller("cursor")
    for _ in range(3):
        product(sid)
    invalidate()
    good = get("/api/v1/products?limit=1").json()["nextCursor"]
    eq(get("/api/v1/products?limit=1&cursor=" + good).status, 200, "the real cursor works")
    eq(good, cursor_of(get("/api/v1/products?limit=1").json()["items"][0]["id"]), "layout")
    tampered = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(good[-1])
    stray = good[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]
    pid = struct.pack(">Q", 5)
    bad = [
        tampered, good[:-1], good[:-2], good + "A", good + "AA", good + "=", good + "%3D%3D",
        stray,                                                # same bytes, stray low bits
        good.replace("-", "+").replace("_", "/") if ("-" in good or "_" in good) else "+" + good[1:],
        "!" * 18, "%2F" * 18, "A" * 18, "A" * 5000,
        cursor_raw(2, pid),                                   # unknown version
        cursor_raw(0, pid),
        cursor_raw(1, pid, checksum=fnv1a32(bytes([1]) + pid) ^ 1),   # wrong checksum
        cursor_raw(1, struct.pack(">Q", 0)),                  # id 0
        cursor_raw(1, struct.pack(">Q", 2 ** 63)),            # above INT64_MAX
        cursor_raw(1, struct.pack(">Q", 2 ** 64 - 5)),        # "negative"
        base64.urlsafe_b64encode(b"c1:5").rstrip(b"=").decode(),
        "null", "%EA%B0%80" * 6, "%20" + good[1:],
    ]
    for c in bad:
        m = envelope(get("/api/v1/products?cursor=" + c), 400, "INVALID_CURSOR")
        eq(m, MSG_BAD_CURSOR, "message for cursor %r" % c)
    envelope(get("/api/v1/products?cursor=%s&cursor=%s" % (good, good)), 400, "INVALID_CURSOR")
    page = get("/products?cursor=" + tampered)
    eq(page.status, 400, "page status")
    assert MSG_BAD_CURSOR in page.text, page.text
    # An empty cursor is the first page.
    eq(get("/api/v1/products?cursor=&limit=1").json()["items"][0]["id"], active_ids()[0],
       "empty cursor")


def test_product_shapes_and_pages_show_exact_values():
    sid, sname = seller("shape")
    pid = product(sid, name="빽다방 아메리카노 " + TAG, price=12345678, stock=9,
                  description="시원한 아메리카노")
    sold_out = product(sid, name="품절 상품 " + TAG, price=2500, stock=0)
    invalidate()
    r = get("/api/v1/products/%d" % pid)
    eq(r.status, 200, "status")
    eq(without_naver(r.json()), {"id": pid, "name": "빽다방 아메리카노 " + TAG, "price": 12345678,
                                 "stock": 9, "seller": sname, "description": "시원한 아메리카노"},
       "product JSON")
    eq(get("/api/v1/products/%d" % sold_out).json()["stock"], 0, "sold-out stock")
    items = get("/api/v1/products?limit=2").json()["items"]
    eq(items, [
        {"id": sold_out, "name": "품절 상품 " + TAG, "price": 2500, "stock": 0, "seller": sname},
        {"id": pid, "name": "빽다방 아메리카노 " + TAG, "price": 12345678, "stock": 9,
         "seller": sname},
    ], "list items")
    page = get("/products/%d" % pid)
    eq(page.status, 200, "page status")
    assert page.header("Content-Type").startswith("text/html"), page.header("Content-Type")
    for want in ["<h1>빽다방 아메리카노 %s</h1>" % TAG, "<b>12,345,678</b>원", "재고 9개",
                 "판매자 " + sname, "시원한 아메리카노"]:
        assert want in page.text, "%r not on the product page" % want
    assert "품절" not in page.text
    assert '<span class="soldout">품절</span>' in get("/products/%d" % sold_out).text
    lst = get("/products?limit=2").text
    for want in ['<a class="cover" href="/products/%d">' % sold_out,
                 '<span class="name">품절 상품 %s</span>' % TAG, "<b>2,500</b>원",
                 '<span class="soldout-cover">품절</span>', "<b>12,345,678</b>원",
                 '<a class="btn" rel="next" href="/products?cursor=%s&amp;limit=2">상품 더 보기</a>'
                 % cursor_of(pid)]:
        assert want in lst, "%r not on the list page" % want


def test_unknown_id_is_404_and_malformed_id_is_400():
    top = int(sql("SELECT COALESCE(MAX(id), 0) FROM products")[0][0])
    for unknown in [top + 1000, 9223372036854775807]:
        m = envelope(get("/api/v1/products/%d" % unknown), 404, "PRODUCT_NOT_FOUND")
        eq(m, MSG_NOT_FOUND, "404 message")
    for bad in ["abc", "0", "-1", "1.5", "01", "+1", "9223372036854775808",
                "99999999999999999999", "%20", "1%00", "%3Cb%3E"]:
        r = get("/api/v1/products/" + bad)
        if bad == "1%00":
            # A NUL in the path is refused by the web server before any handler runs:
            # nginx answers 400, Apache 404. Never a product, never a 500.
            assert r.status in (400, 404), "status for 1%%00: %d" % r.status
            continue
        eq(envelope(r, 400, "INVALID_PRODUCT_ID"), MSG_BAD_ID, "message for %r" % bad)
    page = get("/products/abc")
    eq(page.status, 400, "malformed page status")
    assert MSG_BAD_ID in page.text
    page = get("/products/%d" % (top + 1000))
    eq(page.status, 404, "unknown page status")
    assert MSG_NOT_FOUND in page.text


def is_html(r):
    return (r.header("Content-Type") or "").startswith("text/html")


def test_the_seeds_product_path_is_json_when_asked_and_the_page_otherwise():
    sid, _ = seller("seedpath")
    pid = product(sid, name="빽다방 아메리카노 seed " + TAG, price=2500, stock=9)
    r = get("/products/%d" % pid, headers=JSON)
    eq(r.status, 200, "status")
    eq(r.json(), {"id": pid, "name": "빽다방 아메리카노 seed " + TAG, "price": 2500, "stock": 9},
       "seed 002's product, exactly its four keys")
    eq(r.header("Vary"), "Accept", "Vary on the JSON")
    eq(r.header("Content-Type"), "application/json; charset=utf-8", "type")
    # Clients that prefer JSON get it; browsers, wildcards and no header get the page.
    for accept, want_json in [("application/json, text/plain, */*", True),
                              ("application/*", True),
                              ("text/html;q=0.4, application/json", True),
                              (CHROME["Accept"], False), ("*/*", False),
                              ("application/json, text/html", False), (None, False),
                              ("application/json;q=0", False), ("image/png", False),
                              ("application/json;q=7", False)]:
        r = get("/products/%d" % pid, headers={"Accept": accept} if accept else {})
        eq(r.status, 200, "status for %r" % accept)
        eq(is_html(r), not want_json, "HTML for %r" % accept)
        eq(r.header("Vary"), "Accept", "Vary for %r" % accept)
        if want_json:
            eq(r.json()["stock"], 9, "JSON for %r" % accept)
        else:
            assert "<h1>빽다방 아메리카노 seed %s</h1>" % TAG in r.text, accept
    # Errors follow the representation: the envelope for JSON, the error page for browsers.
    for bad in ["abc", "0", "-1", "01", "9223372036854775808"]:
        eq(envelope(get("/products/" + bad, headers=JSON), 400, "INVALID_PRODUCT_ID"), MSG_BAD_ID,
           "JSON 400 for %r" % bad)
        r = get("/products/" + bad, headers=CHROME)
        eq((r.status, is_html(r)), (400, True), "page 400 for %r" % bad)
    top = int(sql("SELECT COALESCE(MAX(id), 0) FROM products")[0][0])
    eq(envelope(get("/products/%d" % (top + 1000), headers=JSON), 404, "PRODUCT_NOT_FOUND"),
       MSG_NOT_FOUND, "JSON 404")
    r = get("/products/%d" % (top + 1000), headers=CHROME)
    eq((r.status, is_html(r), r.header("Vary")), (404, True, "Accept"), "page 404")
    r = post_json("/products/%d" % pid, {}, headers=JSON)
    envelope(r, 405, "METHOD_NOT_ALLOWED")
    eq(r.header("Allow"), "GET, HEAD", "Allow")
    r = request("POST", "/products/%d" % pid, body=b"", headers=CHROME)
    eq((r.status, is_html(r)), (405, True), "405 page for a browser")
    # jangteo's own paths are unchanged.
    eq(get("/api/v1/products/%d" % pid).json()["seller"], "판매자-seedpath-" + TAG, "/api/v1")
    eq(get("/api/v1/products/%d" % pid).header("Vary"), None, "no Vary on a single route")


def test_inactive_product_is_hidden_everywhere():
    sid, _ = seller("inactive")
    pid = product(sid)
    invalidate()
    eq(get("/api/v1/products/%d" % pid).status, 200, "active first")
    sql("UPDATE products SET active = 0 WHERE id = %d" % pid)
    # Even before the cache is invalidated: a cached page drops a product gone inactive.
    assert pid not in [it["id"] for it in get("/api/v1/products?limit=100").json()["items"]]
    invalidate()
    envelope(get("/api/v1/products/%d" % pid), 404, "PRODUCT_NOT_FOUND")
    eq(get("/products/%d" % pid).status, 404, "page")
    assert pid not in walk(100)
    assert 'href="/products/%d"' % pid not in get("/products?limit=100").text


def test_markup_in_a_product_name_renders_escaped():
    sid, _ = seller("markup")
    evil = '<script>alert("x")</script>&\'' + TAG
    pid = product(sid, name=evil, description="<img src=x onerror=alert(1)>")
    invalidate()
    eq(get("/api/v1/products/%d" % pid).json()["name"], evil, "JSON keeps the text")
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;" + TAG
    for path in ["/products/%d" % pid, "/products?limit=1"]:
        text = get(path).text
        assert "<script>alert" not in text, "raw markup on " + path
        assert escaped in text, "escaped name missing on %s: %s" % (path, text)
    text = get("/products/%d" % pid).text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_popular_is_the_top5_of_the_last_3_days():
    sid, _ = seller("popular")
    ps = [product(sid, name="인기-%s-%d" % (TAG, i)) for i in range(9)]
    gone = product(sid, active=0)
    # Quantities far above anything other tests sell, so the top 5 is ours.
    big = 10 ** 12
    rows = [
        (ps[0], 0, 5 * big), (ps[0], 1, 1 * big),                     # 6
        (ps[1], 2, 7 * big),                                         # 7 (2 days ago counts)
        (ps[2], 0, 3 * big), (ps[2], 3, 50 * big),                   # 3 (3 days ago ignored)
        (ps[3], 1, 4 * big),                                         # 4, tie with ps[4]
        (ps[4], 0, 2 * big), (ps[4], 2, 2 * big),                    # 4
        (ps[5], 0, 2 * big), (ps[5], 10, 90 * big),                  # 2: not in the top 5
        (ps[6], 3, 99 * big), (ps[6], -1, 99 * big),                 # 0 in the window
        (gone, 0, 100 * big),                                        # inactive
        (ps[7], 0, 0),                                               # sold nothing
    ]
    try:
        for pid, ago, qty in rows:
            sql("INSERT INTO sales_daily (product_id, day, quantity) VALUES"
                " (%d, CURRENT_DATE() - INTERVAL %d DAY, %d)" % (pid, ago, qty))
        invalidate()
        r = get("/api/v1/products/popular")
        eq(r.status, 200, "status")
        name = lambda i: "인기-%s-%d" % (TAG, i)  # noqa: E731
        eq(r.json(), [
            {"id": ps[1], "name": name(1), "saleCount": 7 * big},
            {"id": ps[0], "name": name(0), "saleCount": 6 * big},
            {"id": ps[3], "name": name(3), "saleCount": 4 * big},
            {"id": ps[4], "name": name(4), "saleCount": 4 * big},
            {"id": ps[2], "name": name(2), "saleCount": 3 * big},
        ], "top 5")
        # Seed 002's path and key: the same five with "sale_count".
        r = get("/products/popular", headers=JSON)
        eq((r.status, r.header("Vary")), (200, "Accept"), "seed popular status")
        eq(r.json(), [{"id": ps[i], "name": name(i), "sale_count": n * big}
                      for i, n in ((1, 7), (0, 6), (3, 4), (4, 4), (2, 3))], "seed top 5")
        for path in ["/products/popular"]:
            text = get(path, headers=CHROME).text
            assert "인기 상품</h" in text, path
            at = [text.index('<a href="/products/%d">%s</a>' % (ps[i], name(i)))
                  for i in (1, 0, 3, 4, 2)]
            eq(at, sorted(at), "popular order on " + path)
            assert "최근 3일 7,000,000,000,000개 판매" in text, path
        # 인기순 counts 30 days (not tomorrow's planted row): 99, 92, 53, 7, 6, then the tie
        # at 4 by id descending, and the products that sold nothing after them.
        want = [ps[6], ps[5], ps[2], ps[1], ps[0], ps[4], ps[3]]
        eq([it["id"] for it in get("/api/v1/products?sort=popular&limit=7").json()["items"]],
           want, "인기순 first page")
        eq(walk(1, extra="sort=popular")[:7], want, "인기순 one product per page, across the tie")
        assert ps[7] in walk(3, extra="sort=popular"), "a product that sold nothing is listed too"
        text = get("/products?sort=popular&limit=7").text
        at = [text.index('<li class="card" id="product-%d">' % p) for p in want]
        eq(at, sorted(at), "인기순 order on the page")
        assert '<a href="/products?limit=7&amp;sort=popular" aria-current="page">인기순</a>' in text
    finally:
        sql("DELETE FROM sales_daily WHERE product_id IN (%s)"
            % ",".join(str(p) for p in ps + [gone]))
        invalidate()


def test_pages_are_cached_in_redis_and_invalidation_shows_changes():
    sid, _ = seller("cache")
    pid = product(sid, name="캐시-원래-" + TAG, stock=5)
    v = invalidate()
    eq(redis_cli("GET", "catalog:version"), str(v), "version key")
    key = "catalog:%d:list:new:0:3" % v
    eq(redis_cli("EXISTS", key), "0", "no entry before the first request")
    first = get("/api/v1/products?limit=3").json()
    eq(first["items"][0]["name"], "캐시-원래-" + TAG, "first request")
    eq(redis_cli("EXISTS", key), "1", "entry after the first request")
    ttl = int(redis_cli("TTL", key))
    assert 50 <= ttl <= 60, "TTL %d not within catalog.cache_seconds (60)" % ttl
    # Changed behind the cache's back: the name stays cached, the stock is read live.
    sql("UPDATE products SET name = %s WHERE id = %d" % (q("캐시-바뀜-" + TAG), pid))
    sql("UPDATE stock SET available = 0 WHERE product_id = %d" % pid)
    second = get("/api/v1/products?limit=3").json()["items"][0]
    eq((second["name"], second["stock"]), ("캐시-원래-" + TAG, 0), "served from Redis, live stock")
    assert '<span class="soldout-cover">품절</span>' in get("/products?limit=3").text
    # The product page is never cached.
    eq(get("/api/v1/products/%d" % pid).json()["name"], "캐시-바뀜-" + TAG, "product page")
    v2 = invalidate()
    eq(v2, v + 1, "version bumped")
    eq(get("/api/v1/products?limit=3").json()["items"][0]["name"], "캐시-바뀜-" + TAG,
       "after invalidation")
    eq(redis_cli("EXISTS", "catalog:%d:list:new:0:3" % v2), "1", "entry under the new version")
    get("/api/v1/products/popular")
    pttl = int(redis_cli("TTL", "catalog:%d:popular" % v2))
    assert 20 <= pttl <= 30, "popular TTL %d not within catalog.popular_seconds (30)" % pttl
    # Only first pages without a search are cached (one key per order, category and limit),
    # so clients cannot fill Redis with keys of their choosing; later pages, made-up cursors
    # and searches are read from MariaDB and still right.
    expected = active_ids()
    before = set(redis_cli("KEYS", "catalog:%d:*" % v2).split())
    r = get("/api/v1/products?limit=3&cursor=" + cursor_of(expected[0])).json()
    eq([it["id"] for it in r["items"]], expected[1:4], "page after a real cursor")
    for made_up in [expected[0] + 10 ** 9, 2 ** 63 - 1]:
        r = get("/api/v1/products?limit=3&cursor=" + cursor_of(made_up)).json()
        eq([it["id"] for it in r["items"]], expected[:3], "page after a made-up cursor")
        eq(r["nextCursor"], cursor_of(expected[2]), "its next cursor")
    get("/api/v1/products?limit=3&q=" + TAG)
    eq(set(redis_cli("KEYS", "catalog:%d:*" % v2).split()), before, "nothing new cached")
    get("/api/v1/products?limit=3&sort=price")
    eq(redis_cli("EXISTS", "catalog:%d:list:price:0:3" % v2), "1", "first cheapest page cached")


def test_a_corrupt_cache_entry_is_ignored():
    v = invalidate()
    key = "catalog:%d:list:new:0:2" % v
    redis_cli("SET", key, '{"items":[[1,"가짜",-5,0,1,"x",0,null,null]],"next":[0,0]}', "EX",
              "60")
    r = get("/api/v1/products?limit=2")
    eq(r.status, 200, "status")
    eq([it["id"] for it in r.json()["items"]], active_ids()[:2], "read from MariaDB")
    redis_cli("SET", "catalog:%d:popular" % v, "not json", "EX", "60")
    eq(get("/api/v1/products/popular").status, 200, "popular")


def test_catalog_answers_from_mariadb_while_redis_is_down():
    sid, sname = seller("noredis")
    pid = product(sid, name="레디스없이-" + TAG, price=4321, stock=3)
    invalidate()
    expected = active_ids()
    stack("stop", "redis")
    try:
        r = get("/api/v1/products?limit=2")
        eq(r.status, 200, "list status")
        eq([it["id"] for it in r.json()["items"]], expected[:2], "list")
        eq(walk(50), expected, "walk")
        eq(without_naver(get("/api/v1/products/%d" % pid).json()),
           {"id": pid, "name": "레디스없이-" + TAG, "price": 4321, "stock": 3, "seller": sname,
            "description": "설명"}, "product")
        eq(get("/api/v1/products/popular").status, 200, "popular")
        page = get("/products")
        eq(page.status, 200, "page")
        assert "레디스없이-" + TAG in page.text
        envelope(post_json("/api/v1/_test/catalog/invalidate", {}), 503, "SERVICE_UNAVAILABLE")
    finally:
        stack("start", "redis")
    eventually(lambda: all(get("/healthz").status == 200 for _ in range(8)),
               timeout=10, what="healthz 200 on every handler")


def category(slug, name):
    sql("INSERT INTO categories (slug, name) VALUES (%s, %s) ON DUPLICATE KEY UPDATE name = name"
        % (q(slug), q(name)))
    return int(sql("SELECT id FROM categories WHERE slug = %s" % q(slug))[0][0])


def test_cheapest_first_walks_every_product_once_across_equal_prices():
    sid, _ = seller("price")
    cat = category("t-price-" + TAG, "가격 " + TAG)
    # Equal prices across page boundaries: the id breaks the tie, ascending.
    prices = [5000, 1200, 5000, 5000, 300, 1200, 99999, 5000, 300]
    ids = [product(sid, price=p, category=cat) for p in prices]
    invalidate()
    want = [i for _, i in sorted(zip(prices, ids))]
    for limit in (1, 2, 4, 100):
        eq(walk(limit, extra="sort=price&category=t-price-" + TAG), want, "limit %d" % limit)
    # The whole shop, cheapest first: every active product once, in (price, id) order.
    every = [(int(p), int(i)) for i, p in sql("SELECT id, price FROM products WHERE active = 1")]
    eq(walk(7, extra="sort=price"), [i for _, i in sorted(every)], "whole shop")
    # A product inserted meanwhile below the cursor does not shift the next page.
    first = get("/api/v1/products?limit=3&sort=price&category=t-price-" + TAG).json()
    product(sid, price=1, category=cat)
    invalidate()
    rest = walk(3, cursor=first["nextCursor"], extra="sort=price&category=t-price-" + TAG)
    eq([it["id"] for it in first["items"]] + rest, want, "stable under an insert")


def test_category_search_and_list_price():
    sid, sname = seller("filter")
    fruit = category("t-fruit-" + TAG, "과일 " + TAG)
    other = category("t-other-" + TAG, "기타 " + TAG)
    a = product(sid, name="제주 감귤 100%_할인 " + TAG, price=29900, list_price=34900,
                category=fruit)
    b = product(sid, name="청송 사과 " + TAG, price=39900, category=fruit)
    c = product(sid, name="감귤 주스 " + TAG, price=5000, list_price=5000, category=other)
    sql("INSERT INTO product_images (product_id, position, url, alt) VALUES"
        " (%d, 0, '/static/products/gamgyul-1.svg', '감귤 상자')" % a)
    invalidate()
    eq(walk(1, extra="category=t-fruit-" + TAG), [b, a], "one category, newest first")
    eq(walk(5, extra="q=" + quote("사과 " + TAG)), [b], "a piece of the name, with a space")
    has = {int(r[0]) for r in sql("SELECT id FROM products WHERE name LIKE '%감귤%'")}
    eq(walk(5, extra="q=" + quote("감귤")), [x for x in active_ids() if x in has],
       "every product whose name has 감귤")
    # LIKE's wildcards are searched for literally.
    eq(walk(5, extra="q=100%25_" + "%20&category=t-fruit-" + TAG), [], "no '100%_ ' literally")
    eq(walk(5, extra="q=" + quote("100%_할인 " + TAG)), [a], "'100%_할인' literally")
    has = {int(r[0]) for r in sql("SELECT id FROM products WHERE INSTR(name, '_') > 0")}
    eq(walk(5, extra="q=_"), [x for x in active_ids() if x in has], "'_' literally")
    eq(walk(5, extra="category=t-other-" + TAG + "&q=" + TAG), [c], "category and search")
    items = {it["id"]: it for it in get("/api/v1/products?limit=5&category=t-fruit-" + TAG)
             .json()["items"]}
    eq(items[a], {"id": a, "name": "제주 감귤 100%_할인 " + TAG, "price": 29900, "stock": 10,
                  "seller": sname, "listPrice": 34900, "discountRate": 14,
                  "image": "/static/products/gamgyul-1.svg"}, "discounted item with an image")
    eq(items[b], {"id": b, "name": "청송 사과 " + TAG, "price": 39900, "stock": 10,
                  "seller": sname}, "plain item")
    # A list price not above the price shows no discount.
    eq(without_naver(get("/api/v1/products/%d" % c).json()).get("listPrice"), None, "no discount")
    page = get("/products?category=t-fruit-" + TAG).text
    for want in ["<h1>과일 %s</h1>" % TAG, '<span class="sr-only">할인율 </span>14%</span>',
                 '<del><span class="sr-only">정가 </span>34,900원</del>',
                 '<a href="/products?category=t-fruit-%s" aria-current="page">과일 %s</a>'
                 % (TAG, TAG)]:
        assert want in page, "%r not on the category page" % want
    found = get("/products?q=" + quote("사과 " + TAG)).text
    assert "<h1>‘사과 %s’ 검색 결과</h1>" % TAG in found, found
    assert 'value="사과 %s"' % TAG in found, "the search box keeps the words"
    none = get("/products?q=zzz-" + TAG)
    eq(none.status, 200, "no hits is still a page")
    assert "‘zzz-%s’에 맞는 상품이 없습니다." % TAG in none.text


def test_bad_sort_search_category_or_foreign_cursor_is_4xx():
    envelope(get("/api/v1/products?sort=cheap"), 400, "INVALID_SORT")
    envelope(get("/api/v1/products?sort=new&sort=price"), 400, "INVALID_SORT")
    envelope(get("/api/v1/products?q=" + quote("가" * 51)), 400, "INVALID_QUERY")
    eq(get("/api/v1/products?q=" + quote("가" * 50)).status, 200, "50 characters")
    envelope(get("/api/v1/products?q=%01"), 400, "INVALID_QUERY")
    envelope(get("/api/v1/products?category=no-such-" + TAG), 404, "CATEGORY_NOT_FOUND")
    envelope(get("/api/v1/products?category=%3Cx%3E"), 404, "CATEGORY_NOT_FOUND")
    price = get("/api/v1/products?sort=price&limit=1").json()["nextCursor"]
    newest = get("/api/v1/products?limit=1").json()["nextCursor"]
    eq(len(price), 30, "a sorted cursor's length")
    envelope(get("/api/v1/products?sort=popular&cursor=" + price), 400, "INVALID_CURSOR")
    envelope(get("/api/v1/products?cursor=" + price), 400, "INVALID_CURSOR")
    envelope(get("/api/v1/products?sort=price&cursor=" + newest), 400, "INVALID_CURSOR")
    page = get("/products?sort=cheap")
    eq(page.status, 400, "page status")
    assert "정렬 방식이 올바르지 않습니다." in page.text
