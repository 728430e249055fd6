"""jt: helpers for the integration tests: HTTP through nginx, the stack script, assertions.

The tests talk to a stack started by tests/run-stack-tests.sh; its location comes from the
environment (JT_RUN, JT_HTTP_PORT, JT_SRCDIR). Standard library only."""
import email
import email.policy
import glob
import http.client
import json
import os
import re
import subprocess
import time

RUN = os.environ.get("JT_RUN", "")
SRC = os.environ.get("JT_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PORT = int(os.environ.get("JT_HTTP_PORT", "18080"))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def request(method, path, body=None, headers=None, timeout=30):
    """One HTTP request to nginx on loopback, on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def get(path, **kw):
    return request("GET", path, **kw)


def post_json(path, obj, **kw):
    return request("POST", path, body=obj, **kw)


def stack(*args):
    """Runs script/stack with the test stack's environment."""
    subprocess.run([os.path.join(SRC, "script", "stack")] + list(args), check=True,
                   stdout=subprocess.DEVNULL)


def pids(name_glob):
    """The pids recorded in $JT_RUN/pids/<glob>.pid files (one or more per file)."""
    import glob
    out = []
    for f in sorted(glob.glob(os.path.join(RUN, "pids", name_glob + ".pid"))):
        with open(f) as fh:
            out += [int(x) for x in fh.read().split()]
    return out


def eventually(fn, timeout=15.0, interval=0.1, what="condition"):
    """Calls fn until it returns a truthy value; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what or "value", expected, actual))


def envelope(resp, status, code):
    """Asserts resp is the JSON error envelope with this status and code; returns message."""
    eq(resp.status, status, "status")
    ct = resp.header("Content-Type") or ""
    if not ct.startswith("application/json"):
        raise AssertionError("expected JSON, got %s: %r" % (ct, resp.body[:200]))
    doc = resp.json()
    eq(sorted(doc.keys()), ["error"], "envelope keys")
    eq(sorted(doc["error"].keys()), ["code", "message"], "error keys")
    eq(doc["error"]["code"], code, "error code")
    if not doc["error"]["message"]:
        raise AssertionError("empty error message")
    return doc["error"]["message"]


def sql(query):
    """Runs query on the stack's database with the mariadb client; returns rows of strings."""
    out = subprocess.run(
        ["mariadb", "--socket=" + os.path.join(RUN, "mysql.sock"), "-ujangteo", "-pjangteo",
         "jangteo", "-N", "-B", "-e", query],
        check=True, stdout=subprocess.PIPE).stdout.decode("utf-8")
    return [line.split("\t") for line in out.splitlines()]


def ctl(*args):
    """Runs jangteoctl against the stack's config; returns (exit status, output)."""
    build = os.environ.get("JT_BUILDDIR", os.path.join(SRC, "_build"))
    p = subprocess.run([os.path.join(build, "ctl", "jangteoctl"), "--config",
                        os.path.join(RUN, "jangteo.conf")] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode, p.stdout.decode("utf-8")


# ---- people, products and sessions made directly in the stores ------------------------------
# Tests that are not about sign-up make their users with SQL and sign them in by writing the
# session straight into Redis (sess:<id> = {user, role, name, csrf}, the shape lib/shop/session.c
# reads), so they do not depend on the login pages.

def redis(*args):
    """Runs redis-cli against the stack's Redis; returns its output without the newline."""
    return subprocess.run(["redis-cli", "-s", os.path.join(RUN, "redis.sock")] + list(args),
                          check=True, stdout=subprocess.PIPE).stdout.decode("utf-8").strip()


def quote(s):
    """s as a SQL string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def make_user(name="김테스트", points=0, role="shopper"):
    """A new active user; returns its id."""
    import secrets
    email = "u-%s@jangteo.test" % secrets.token_hex(6)
    rows = sql("INSERT INTO users (email, name, role, status, points) VALUES "
               "(%s, %s, '%s', 'active', %d); SELECT LAST_INSERT_ID();"
               % (quote(email), quote(name), role, points))
    return int(rows[-1][0])


class Session:
    """A signed-in browser: a session written into Redis, its cookie and CSRF token."""

    def __init__(self, user_id, role="shopper", name="tester"):
        import secrets
        self.user_id = user_id
        self.sid = secrets.token_hex(20)
        self.csrf = secrets.token_hex(20)
        redis("HSET", "sess:" + self.sid, "user", str(user_id), "role", role, "name", name,
              "csrf", self.csrf)
        redis("EXPIRE", "sess:" + self.sid, "3600")

    def headers(self, csrf=True, **extra):
        h = {"Cookie": "jt_sid=" + self.sid}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        h.update(extra)
        return h

    def get(self, path, **extra):
        return request("GET", path, headers=self.headers(csrf=False, **extra))

    def post_json(self, path, obj, csrf=True, **extra):
        return request("POST", path, body=obj, headers=self.headers(csrf=csrf, **extra))

    def post_form(self, path, fields, csrf=True):
        import urllib.parse
        f = dict(fields)
        if csrf:
            f["csrf_token"] = self.csrf
        h = self.headers(csrf=False)
        h["Content-Type"] = "application/x-www-form-urlencoded"
        return request("POST", path, body=urllib.parse.urlencode(f).encode("utf-8"), headers=h)

    def post_multipart(self, path, fields, files=None, csrf=True, raw=None):
        """POSTs multipart/form-data as a browser's file form does: fields (name -> text),
        files (name -> (filename, bytes, content type)); the CSRF token as a field. raw, when
        given, is sent as the body instead (with the same boundary) to try malformed ones."""
        import secrets
        boundary = "----JtFormBoundary" + secrets.token_hex(8)
        f = dict(fields)
        if csrf:
            f["csrf_token"] = self.csrf
        out = b""
        for k, v in f.items():
            out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" %
                    (boundary, k)).encode("utf-8") + v.encode("utf-8") + b"\r\n"
        for k, (fname, data, ctype) in (files or {}).items():
            out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\""
                    "\r\nContent-Type: %s\r\n\r\n" % (boundary, k, fname, ctype)).encode("utf-8")
            out += (data if isinstance(data, bytes) else data.encode("utf-8")) + b"\r\n"
        out += ("--%s--\r\n" % boundary).encode("ascii")
        if raw is not None:
            out = raw.replace(b"{B}", boundary.encode("ascii"))
        h = self.headers(csrf=False)
        h["Content-Type"] = "multipart/form-data; boundary=" + boundary
        return request("POST", path, body=out, headers=h)


def static_version(name):
    """The version lib/infra/assets puts in the URL of static/<name>: 64-bit FNV-1a of the
    file's bytes as 16 hex digits."""
    h = 0xcbf29ce484222325
    with open(os.path.join(SRC, "static", name), "rb") as fh:
        for b in fh.read():
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


def check_static_file(resp, name):
    """resp is the web server's answer for /static/<name>: the file itself, as a script, with
    nosniff and a year's cache, and not from the handlers (they set X-Request-Id)."""
    eq(resp.status, 200, "/static/" + name)
    with open(os.path.join(SRC, "static", name), "rb") as fh:
        eq(resp.body, fh.read(), "the file's bytes")
    eq(resp.header("Content-Type"), "text/javascript; charset=utf-8", "script type")
    eq(resp.header("X-Content-Type-Options"), "nosniff", "nosniff")
    eq(resp.header("Cache-Control"), "public, max-age=31536000, immutable", "kept a year")
    eq(resp.header("X-Request-Id"), None, "served by the web server, not the handlers")


def make_seller(label="seller"):
    """A seller (made once per name); returns its id."""
    name = "%s-%s" % (label, os.getpid())
    sql("INSERT INTO sellers (name) VALUES (%s) ON DUPLICATE KEY UPDATE name = name" % quote(name))
    return int(sql("SELECT id FROM sellers WHERE name = %s" % quote(name))[0][0])


def make_product(price=1000, stock=10, active=1, name=None, seller_id=None):
    """A new product with its stock row; returns its id."""
    import secrets
    sid = seller_id if seller_id is not None else make_seller()
    name = name if name is not None else "상품-" + secrets.token_hex(4)
    rows = sql("INSERT INTO products (seller_id, name, description, price, active) VALUES"
               " (%d, %s, '설명', %d, %d); SELECT LAST_INSERT_ID();"
               % (sid, quote(name), price, active))
    pid = int(rows[-1][0])
    sql("INSERT INTO stock (product_id, available) VALUES (%d, %d)" % (pid, stock))
    return pid


def parallel(n, fn):
    """Runs fn(i) in n threads released together; returns the results in order."""
    import threading
    out = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        gate.wait()
        out[i] = fn(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


# ---- orders and the fake PG -------------------------------------------------------------------

def count(query):
    """The single integer query answers."""
    return int(sql(query)[0][0])


def stock(pid):
    return count("SELECT available FROM stock WHERE product_id = %d" % pid)


def order_status(oid):
    """The status of the order with public id oid."""
    return sql("SELECT status FROM orders WHERE public_id = '%s'" % oid)[0][0]


def order_jobs(oid, kind):
    """Outbox jobs of kind whose payload names order oid."""
    return count("SELECT COUNT(*) FROM outbox WHERE kind = '%s' AND payload LIKE '%%\"%s\"%%'"
                 % (kind, oid))


def order_events(oid):
    """The statuses of order oid's timeline, oldest first."""
    return [r[0] for r in sql("SELECT e.to_status FROM order_events e JOIN orders o ON"
                              " o.id = e.order_id WHERE o.public_id = '%s' ORDER BY e.id" % oid)]


def pg_faults(text):
    """Writes the fake PG's fault rules (tests/fakes/pg.py); "" clears them."""
    with open(os.path.join(RUN, "fakes", "pg-faults"), "w") as f:
        f.write(text)


def follow_pg(url, query_extra):
    """GETs a page of the fake PG (not through the shop) and returns the shop path it
    redirects the browser to."""
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + "?" + (u.query + "&" if u.query else "") + query_extra)
    r = c.getresponse()
    r.read()
    eq(r.status, 302, "the PG sends the browser back")
    back = urllib.parse.urlsplit(r.getheader("Location"))
    return back.path + "?" + back.query


def mails_to(addr):
    """Every message the SMTP sink saved for envelope recipient addr, oldest first, parsed;
    each has .raw (bytes), .envelope (the X-Envelope-To value) and .raw_subject (the Subject
    header as sent, folded lines included)."""
    out = []
    files = glob.glob(os.path.join(RUN, "mail", "*.eml"))
    for f in sorted(files, key=lambda p: int(os.path.basename(p)[:-4])):
        with open(f, "rb") as fh:
            raw = fh.read()
        first = raw.split(b"\r\n", 1)[0].decode("utf-8")
        if first == "X-Envelope-To: " + addr:
            m = email.message_from_bytes(raw, policy=email.policy.default)
            m.raw = raw
            m.envelope = first[len("X-Envelope-To: "):]
            subject = re.search(rb"^Subject:.*?(?=\r\n(?! ))", raw, re.M | re.S)
            m.raw_subject = subject.group(0).decode("ascii") if subject else ""
            out.append(m)
    return out
