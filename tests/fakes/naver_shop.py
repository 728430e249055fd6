"""naver_shop: a fake Naver Shopping search API for the tests, on loopback, speaking the real
wire format (see ../shared/reference/pg-api-contracts.md section 3). Standard library only.

Endpoints:
  GET /v1/search/shop.json           the classic Open API: headers X-Naver-Client-Id and
                                     X-Naver-Client-Secret
  GET /search/v1/shop[.json]         the NAVER API HUB gateway: headers X-NCP-APIGW-API-KEY-ID
                                     and X-NCP-APIGW-API-KEY (same credentials here)
      query (required, UTF-8), display 1..100 [10], start 1..1000 [1],
      sort sim|date|asc|dsc [sim], filter (naverpay), exclude (used:rental:cbshop words)
      -> 200 {"lastBuildDate", "total", "start", "display", "items": [...]}, lprice etc. as
         STRINGS, titles with <b>..</b> around the query and HTML entities, as Naver sends.
      Errors in Naver's shape {"errorMessage": "...", "errorCode": "..."}: 401 "024" for
      missing or wrong credentials, 400 SE01 (no query, a repeated parameter), SE02 (display),
      SE03 (start), SE04 (sort), SE06 (query not UTF-8), 404 SE05 for any other path.
  GET /fake/stats                    {"search": N, "by_query": {query: N}, "faults": N}:
                                     search requests received (whatever they were answered),
                                     so tests can prove caching and fail-fast.
  POST /fake/reset                   zeroes the counters.

Credentials are checked exactly as script/stack writes them (CLIENT below).

Items: <fakes_dir>/naver-prices.json, read at every request, may fix a query's answer:
  {"<query>": 12345}          one item at that lowest price ("네이버" mall);
  {"<query>": []}             no items (total 0);
  {"<query>": [{"lprice": "100", "mallName": "m", "title": "t", "link": "https://..."}, ...]}
                              exactly these items (any JSON, passed through untouched).
Any other query gets three items whose prices derive from the query text alone:
lowest_price(query) (1,000..99,990 won, a multiple of 10), + 500 and + 1,200 won; sort=asc
lists them cheapest first, dsc dearest first, sim/date in a fixed mixed order.

Fault knobs: <fakes_dir>/naver-faults, read at every request, one rule per line:
  FAULT [latency_ms=N] [count=N | prob=P]
FAULT is one of
  slow      sleep latency_ms (default 2000) before answering normally (combines with others)
  500       HTTP 500 {"errorMessage": "System error", "errorCode": "SE99"}
  429       HTTP 429 {"errorMessage": "Rate limit exceeded. (속도 제한을 초과했습니다.)",
            "errorCode": "012"}
  badjson   HTTP 200 with a body that is not JSON
count=N applies a rule to the next N search requests only (counted from when the file last
changed); prob=P (0..1) to each request with that probability; neither: to every request.
The first answering rule wins (slow never answers by itself). '#' starts a comment."""
import hashlib
import html
import json
import os
import random
import threading
import time
import urllib.parse

import httpfake

CLIENT = ("jangteo-naver-shop-local", "naver-shop-local-secret")
PATHS = {
    "/v1/search/shop.json": ("X-Naver-Client-Id", "X-Naver-Client-Secret"),
    "/search/v1/shop": ("X-NCP-APIGW-API-KEY-ID", "X-NCP-APIGW-API-KEY"),
    "/search/v1/shop.json": ("X-NCP-APIGW-API-KEY-ID", "X-NCP-APIGW-API-KEY"),
}
MALLS = ("네이버", "장터몰", "김치마켓")
EXTRA = (0, 500, 1200)
AUTH_FAILED = {"errorMessage": "NID AUTH Result Invalid (1000) : Authentication failed. "
               "(인증에 실패했습니다.)", "errorCode": "024"}


def lowest_price(query):
    """The lowest price the fake quotes for query when naver-prices.json does not fix it."""
    h = int.from_bytes(hashlib.sha256(query.encode("utf-8")).digest()[:8], "big")
    return 1000 + (h % 9900) * 10


def default_items(query):
    """The three items of a query (unsorted: sim order)."""
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()
    low = lowest_price(query)
    items = []
    for i, extra in enumerate(EXTRA):
        pid = str(int(digest[i * 8:i * 8 + 8], 16))
        items.append({
            "title": "<b>%s</b> 상품 %d" % (html.escape(query), i + 1),
            "link": "https://search.shopping.naver.com/catalog/%s" % pid,
            "image": "https://shopping-phinf.pstatic.net/main_%s/%s.jpg" % (pid[:7], pid),
            "lprice": str(low + extra), "hprice": "", "mallName": MALLS[i],
            "productId": pid, "productType": "1" if i == 0 else "2", "brand": "", "maker": "",
            "category1": "식품", "category2": "김치", "category3": "", "category4": "",
        })
    return [items[1], items[0], items[2]]


class _State:
    """Counters and fault bookkeeping, shared by the handler threads."""

    def __init__(self, fakes_dir):
        self.fakes_dir = fakes_dir
        self.lock = threading.Lock()
        self.search = 0
        self.faults_applied = 0
        self.by_query = {}
        self.rules_sig = None
        self.used = {}   # rule index -> times applied since the file last changed

    def _read(self, name):
        try:
            with open(os.path.join(self.fakes_dir, name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def rules(self):
        """The parsed fault rules: [(index, fault, latency_ms, count, prob)]."""
        raw = self._read("naver-faults") or b""
        out = []
        for i, line in enumerate(raw.decode("utf-8", "replace").splitlines()):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            latency, count, prob = 2000, None, None
            for w in words[1:]:
                k, _, v = w.partition("=")
                try:
                    if k == "latency_ms":
                        latency = int(v)
                    elif k == "count":
                        count = int(v)
                    elif k == "prob":
                        prob = float(v)
                except ValueError:
                    pass
            out.append((i, words[0], latency, count, prob))
        with self.lock:
            if raw != self.rules_sig:
                self.rules_sig = raw
                self.used = {}
        return out

    def take(self, rule):
        """True when rule applies to this request (and counts it)."""
        i, _, _, count, prob = rule
        with self.lock:
            if count is not None:
                if self.used.get(i, 0) >= count:
                    return False
                self.used[i] = self.used.get(i, 0) + 1
                return True
        if prob is not None:
            return random.random() < prob
        return True

    def prices(self):
        raw = self._read("naver-prices.json")
        if raw is None:
            return {}
        try:
            doc = json.loads(raw.decode("utf-8"))
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}


class _Handler(httpfake.Handler):
    server_version = "fake-naver-shop/1"

    def _send(self, status, body, ctype="application/json;charset=UTF-8"):
        self._write(status, body, ctype)  # a client that gave up is a timeout test

    def _err(self, status, code, message):
        self._send(status, {"errorMessage": message, "errorCode": code})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/fake/stats":
            with self.st.lock:
                doc = {"search": self.st.search, "faults": self.st.faults_applied,
                       "by_query": dict(self.st.by_query)}
            return self._send(200, doc)
        headers = PATHS.get(url.path)
        if headers is None:
            return self._err(404, "SE05", "Invalid search api (존재하지 않는 검색 api 입니다.)")
        self._search(url.query, headers)

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path == "/fake/reset":
            with self.st.lock:
                self.st.search = 0
                self.st.faults_applied = 0
                self.st.by_query = {}
            return self._send(200, {"reset": True})
        self._err(404, "SE05", "Invalid search api (존재하지 않는 검색 api 입니다.)")

    def _params(self, raw):
        """The query parameters, or None when one is repeated or not UTF-8."""
        out = {}
        try:
            pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return None
        for k, v in pairs:
            if k in out:
                return None
            out[k] = v
        return out

    def _search(self, raw_query, headers):
        p = self._params(raw_query)
        query = p.get("query") if p else None
        with self.st.lock:
            self.st.search += 1
            if query is not None:
                self.st.by_query[query] = self.st.by_query.get(query, 0) + 1
        for rule in self.st.rules():
            fault, latency = rule[1], rule[2]
            if not self.st.take(rule):
                continue
            with self.st.lock:
                self.st.faults_applied += 1
            if fault == "slow":
                time.sleep(latency / 1000.0)
                continue
            if fault == "500":
                return self._err(500, "SE99", "System error")
            if fault == "429":
                return self._err(429, "012", "Rate limit exceeded. (속도 제한을 초과했습니다.)")
            if fault == "badjson":
                return self._send(200, '{"lastBuildDate": "x", "items": [{"lprice": ')
        if (self.headers.get(headers[0]) != CLIENT[0] or
                self.headers.get(headers[1]) != CLIENT[1]):
            return self._err(401, "024", AUTH_FAILED["errorMessage"])
        if p is None:
            return self._err(400, "SE06", "Malformed encoding (검색어 인코딩 오류입니다.)")
        if not query:
            return self._err(400, "SE01", "Incorrect query request (잘못된 쿼리요청입니다.)")
        try:
            display = int(p.get("display", "10"))
            start = int(p.get("start", "1"))
        except ValueError:
            return self._err(400, "SE01", "Incorrect query request (잘못된 쿼리요청입니다.)")
        if not 1 <= display <= 100:
            return self._err(400, "SE02", "Invalid display value (부적절한 display 값입니다.)")
        if not 1 <= start <= 1000:
            return self._err(400, "SE03", "Invalid start value (부적절한 start 값입니다.)")
        sort = p.get("sort", "sim")
        if sort not in ("sim", "date", "asc", "dsc"):
            return self._err(400, "SE04", "Invalid sort value (부적절한 sort 값입니다.)")
        exclude = p.get("exclude")
        if exclude is not None and not set(exclude.split(":")) <= {"used", "rental", "cbshop"}:
            return self._err(400, "SE01", "Incorrect query request (잘못된 쿼리요청입니다.)")

        fixed = self.st.prices().get(query)
        if isinstance(fixed, list):
            items = fixed
        elif isinstance(fixed, int) and not isinstance(fixed, bool):
            items = [dict(default_items(query)[1], lprice=str(fixed))]
        else:
            items = default_items(query)
            if sort == "asc":
                items.sort(key=lambda it: int(it["lprice"]))
            elif sort == "dsc":
                items.sort(key=lambda it: -int(it["lprice"]))
        page = items[start - 1:start - 1 + display]
        self._send(200, {
            "lastBuildDate": time.strftime("%a, %d %b %Y %H:%M:%S +0900"),
            "total": len(items), "start": start, "display": len(page), "items": page,
        })


def serve(host, port, fakes_dir):
    return httpfake.serve(_Handler, _State(fakes_dir), host, port, "fake-naver-shop")
