"""Operations: /healthz follows MariaDB and Redis; a request that needs MariaDB while it is
down is a 503, never a 500; /metrics counts across processes."""
import re
import threading

from jt import Session, envelope, eq, eventually, get, make_product, make_user, sql, stack


def test_healthz_ok():
    r = get("/healthz")
    eq(r.status, 200, "status")
    eq(r.json(), {"status": "ok", "mariadb": "up", "redis": "up"}, "body")


def test_healthz_503_while_redis_is_down_and_200_once_back():
    stack("stop", "redis")
    try:
        r = get("/healthz")
        eq(r.status, 503, "status")
        eq(r.json(), {"status": "down", "mariadb": "up", "redis": "down"}, "body")
    finally:
        stack("start", "redis")
    # No restart of jangteo: the handlers reconnect on their own.
    eventually(lambda: all(get("/healthz").status == 200 for _ in range(8)),
               timeout=10, what="healthz 200 on every handler")


def test_requests_that_need_mariadb_while_it_is_down_are_503_not_500():
    pid = make_product(price=1000, stock=5)
    s = Session(make_user(points=10000))
    admin = Session(make_user(role="admin"), role="admin")
    seller = sql("SELECT seller_id FROM products WHERE id = %d" % pid)[0][0]
    stack("stop", "mariadb")
    try:
        # an admin form whose module reports the database failure itself
        r = admin.post_form("/admin/products", {"seller_id": seller, "name": "중단 중 상품",
                                                "price": "1000"})
        eq(r.status, 503, "admin product form")
        assert "저장하지 못했습니다" in r.text, r.text
        for _ in range(8):   # every handler process, whatever its connection's state
            envelope(s.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": 1}],
                                                    "paymentMethod": "points"}),
                     503, "SERVICE_UNAVAILABLE")
            envelope(s.get("/api/v1/orders"), 503, "SERVICE_UNAVAILABLE")
            r = s.get("/orders")
            eq(r.status, 503, "the orders page")
            assert r.header("Content-Type").startswith("text/html"), r.headers
    finally:
        stack("start", "mariadb")
    eventually(lambda: all(get("/healthz").status == 200 for _ in range(8)),
               timeout=20, what="healthz 200 on every handler")
    eq(s.post_json("/api/v1/orders", {"products": [{"id": pid, "quantity": 1}],
                                      "paymentMethod": "points"}).status, 201, "back")


def metric(text, route, status):
    m = re.search(r'^jangteo_http_requests_total\{route="%s",status="%s"\} (\d+)$'
                  % (re.escape(route), status), text, re.M)
    return int(m.group(1)) if m else 0


def test_metrics_add_up_across_processes():
    before = metric(get("/metrics").text, "api_test_whoami", 200)
    seen = set()
    lock = threading.Lock()

    def hit():
        for _ in range(20):
            pid = get("/api/v1/_test/whoami").json()["pid"]
            with lock:
                seen.add(pid)
    threads = [threading.Thread(target=hit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) >= 2, "only one handler process answered: %r" % seen
    text = get("/metrics").text
    eq(metric(text, "api_test_whoami", 200), before + 120, "whoami count")
    assert re.search(r'^jangteo_http_request_duration_seconds_count\{route="api_test_whoami"\} \d+$',
                     text, re.M)
    eq(get("/metrics").header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "ct")
