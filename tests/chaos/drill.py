#!/usr/bin/env python3
"""drill: the chaos drill (issue 16). Starts a private stack (script/stack, its own run
directory and port), drives shoppers against it through nginx (checkouts paid with points,
Toss and KakaoPay through the fake PG's windows, unpaid cancels and abandoned orders, point
top-ups with Idempotency-Keys replayed, shoppers' full and partial refunds racing each other
and an admin's), while a chaos thread injects the fake PG's faults (tests/fakes/pg.py knobs)
and kills with SIGKILL every kind of process: a FastCGI handler, the FastCGI master, payment,
settle and notify workers, the bus, the janitor, MariaDB, Redis and nginx (restarted with
`script/stack start <service>`, which starts only what is missing), restarts Redis (sessions
and idempotency keys gone) and nginx gracefully, pays sellers out while settlements run, and
runs `jangteoctl reconcile` on the fake PG's settlement file during the load.

Then it stops the load, clears the faults, makes sure every service runs, drains (no order
PENDING or CONFIRMING, no refund REQUESTED, no money job waiting) and checks, against the
fake PG's own records (/fake/records) and the database:
  - stock conserved: initial + admin adjustments = available + what live orders hold;
  - PG approvals = paid orders: one approval per paid PG order, of the order's amount; an
    order never paid has no approval left standing; nobody charged twice;
  - PG cancels = DONE refunds: per order, the same count and the same sum;
  - refunds <= paid: refunded_amount = sum of DONE refunds <= amount;
  - settlements: per seller and order, sales and refunds settled net of commission exactly as
    the rule says; each seller's wallet (seller_payable) = settled net - payouts;
  - points conserved: balances = initial + top-ups - points orders + points refunds, and
    every top-up key acknowledged made exactly one charge;
  - `jangteoctl ledger-check` clean;
  - every acknowledged order and refund exists; every order in a definite state;
  - no answer was a 500 (a server that is down is a 503; a killed handler, nginx's 502).
An UNKNOWN order is a violation too: once no confirm of ours can be in flight, the payment
check decides a payment the PG still reports IN_PROGRESS "not approved" (FAILED; issue 16
item 3, payments.unknown_margin_seconds), so none is left once the PG answers again.
--lenient-unknown counts those whose payment is IN_PROGRESS apart instead (the drill's check
before that bound). Prints the counts and every violation; exits 1 on any violation, 2 when
the drill itself could not run (the stack did not start, a service would not come back).

    tests/chaos/drill.py [--seconds 55] [--orders N] [--clients 5] [--port P] [--seed S]
                         [--lenient-unknown] [--keep] [--json FILE]

The short form (the test command's) runs the chaos sequence once, every kind of kill and
restart, spread over at least --seconds of load; --orders N is the long form: the load runs
until N orders were created, with chaos events drawn at random all along.
Environment: JT_BUILDDIR (default <repo>/_build); the port defaults to JT_CHAOS_HTTP_PORT,
else JT_TEST_HTTP_PORT + 100, else 18180 (the fakes take port + 1, + 2, + 3, + 25).
Standard library only; stops exactly the stack it started."""
import argparse
import base64
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK = os.path.join(REPO, "script", "stack")

# The stack's configuration for the drill: short claims, a busy janitor, PG calls that give
# up well inside a claim, quick payment checks, an unknown payment decided "not approved" 8 s
# after its order went UNKNOWN (3 s of PG timeout + a 5-s margin), unpaid orders expiring after
# a minute (the least orders.expire_seconds allows), breakers that judge a wide window (a
# fault burst should open them now and then, not on every blip).
CONFIG = {
    "JANGTEO_OUTBOX_CLAIM_SECONDS": "8",
    "JANGTEO_JANITOR_INTERVAL_MS": "200",
    "JANGTEO_JANITOR_GRACE_MS": "2000",
    "JANGTEO_HTTP_CONNECT_TIMEOUT_MS": "1000",
    "JANGTEO_HTTP_TOTAL_TIMEOUT_MS": "2500",
    "JANGTEO_PAYMENTS_CHECK_BASE_SECONDS": "1",
    "JANGTEO_PAYMENTS_CHECK_MAX": "8",
    "JANGTEO_PAYMENTS_CONFIRMING_STALE_SECONDS": "10",
    "JANGTEO_PAYMENTS_UNKNOWN_MARGIN_SECONDS": "5",
    "JANGTEO_ORDERS_EXPIRE_SECONDS": "60",
    "JANGTEO_BREAKER_WINDOW": "100",
    "JANGTEO_BREAKER_MIN_CALLS": "50",
    "JANGTEO_BREAKER_OPEN_SECONDS": "2",
    "JANGTEO_LOG_LEVEL": "warn",
    # The settlement check adds up the lines: no shop-wide shipping fee (as in the
    # integration tests; the drill's sellers have no rule of their own).
    "JANGTEO_SHIPPING_FEE": "0",
}
EXPIRE_SECONDS = 60
DEFINITE = ("PAID", "FAILED", "EXPIRED", "CANCELED", "PARTIALLY_CANCELED")
HOLDING = ("PENDING", "CONFIRMING", "UNKNOWN")   # hold their stock, not paid yet
SELLERS = [("chaos-a", None), ("chaos-b", 250), ("chaos-c", 0)]   # commission_bp (None: 1000)
DEFAULT_BP = 1000
PRICES = [1230, 9990, 33000, 4500, 777, 15000, 2990, 120000, 56780, 800, 6400, 21000]
USER_POINTS = 50_000_000
TOSS_SECRET = "test_sk_jangteo_local"
KAKAO_SECRET = "DEV_SECRET_jangteo_local"

# The chaos events, in the order the short form runs them (the long form draws from them):
# a SIGKILL of every kind of process, and graceful restarts. The admin's tools (reconcile,
# payout) run on a thread of their own, alongside.
KILLS = ["handler", "payworker", "settleworker", "fcgi-master", "bus", "janitor",
         "notifyworker", "mariadb", "redis", "nginx"]
RESTARTS = ["redis-restart", "nginx-restart"]
SHORT_ORDER = ["handler", "payworker", "settleworker", "fcgi-master", "bus", "janitor",
               "notifyworker", "mariadb", "redis", "nginx", "nginx-restart", "redis-restart"]
CALM_SECONDS = 8   # the short form's last seconds of load run without chaos
# PG fault bursts: rules for tests/fakes/pg.py's pg-faults file, cycled.
PG_BURSTS = [
    "toss confirm status=500 prob=0.4\nkakaopay approve reset prob=0.3\n",
    "toss confirm drop prob=0.3\ntoss cancel badjson prob=0.3\nkakaopay cancel drop prob=0.3\n",
    "toss confirm timeout=4 prob=0.2\nkakaopay approve latency_ms=800 prob=0.5\n"
    "toss lookup status=503 prob=0.5\n",
    "toss cancel status=500 prob=0.5\nkakaopay order reset prob=0.3\nkakaopay approve badjson prob=0.2\n",
    "* * latency_ms=300 prob=0.3\ntoss confirm reset prob=0.2\nkakaopay approve drop prob=0.2\n",
]


class DrillError(Exception):
    """The drill itself could not go on (not a finding about the shop)."""


def log(msg):
    sys.stdout.write("%s drill: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


# ---- the stack ----------------------------------------------------------------------------------

class Stack:
    def __init__(self, port, build):
        self.port = port
        self.pg_port = port + 2
        self.run = tempfile.mkdtemp(prefix="jt-chaos.", dir="/tmp")
        os.chmod(self.run, 0o755)
        self.env = dict(os.environ, JT_RUN=self.run, JT_HTTP_PORT=str(port), JT_BUILDDIR=build,
                        JT_PREFORK="4", JT_PAY_WORKERS="2", JT_SETTLE_WORKERS="2",
                        JT_NOTIFY_WORKERS="2", JT_WORKERS="1", JT_FCGI_MODE="prefork",
                        JT_WEB="nginx", JT_START_WAIT="60")
        self.env.pop("JT_TEST_ROUTES", None)
        self.env.update(CONFIG)
        self.build = build
        self.lock = threading.Lock()   # one script/stack at a time

    def script(self, *args, check=True):
        with self.lock, open(os.path.join(self.run, "drill-stack.log"), "a") as out:
            rc = subprocess.run([STACK] + list(args), env=self.env, stdout=out,
                                stderr=out).returncode
        if check and rc != 0:
            raise DrillError("script/stack %s exited %d (see %s/drill-stack.log)"
                             % (" ".join(args), rc, self.run))
        return rc

    def start(self, *services, tries=3):
        """script/stack start services, retried: a service killed a moment ago may still be
        going away."""
        for i in range(tries):
            if self.script("start", *services, check=i == tries - 1) == 0:
                return
            time.sleep(1 + i)

    def pids(self, name):
        out = []
        try:
            with open(os.path.join(self.run, "pids", name + ".pid")) as f:
                out = [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            pass
        return [p for p in out if alive(p)]

    def pidfiles(self, prefix):
        d = os.path.join(self.run, "pids")
        return sorted(f[:-4] for f in os.listdir(d) if f.startswith(prefix) and f.endswith(".pid"))

    def sql(self, query, db="jangteo"):
        p = subprocess.run(["mariadb", "--socket=" + os.path.join(self.run, "mysql.sock"),
                            "-ujangteo", "-pjangteo", db, "-N", "-B", "-e", query],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise DrillError("SQL failed: %s: %s" % (query[:80], p.stderr.decode()[:200]))
        return [line.split("\t") for line in p.stdout.decode("utf-8").splitlines()]

    def redis_pipe(self, commands):
        """Runs redis-cli with commands (lists of words) on stdin; True when it worked."""
        text = "".join(" ".join(redis_quote(w) for w in c) + "\n" for c in commands)
        p = subprocess.run(["redis-cli", "-s", os.path.join(self.run, "redis.sock")],
                           input=text.encode(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return p.returncode == 0

    def ctl(self, *args, timeout=120):
        p = subprocess.run([os.path.join(self.build, "ctl", "jangteoctl"), "--config",
                            os.path.join(self.run, "jangteo.conf")] + list(args),
                           env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def faults(self, text):
        path = os.path.join(self.run, "fakes", "pg-faults")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


def redis_quote(w):
    return '"' + str(w).replace("\\", "\\\\").replace('"', '\\"') + '"'


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        if int(st[st.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return out


def kill9(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_gone(pids, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


# ---- HTTP ---------------------------------------------------------------------------------------

def fetch(port, method, path, body=None, headers=None, timeout=15):
    """(status, {lower-case header: value}, body bytes); raises OSError on transport errors."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    except (http.client.HTTPException, ConnectionError, TimeoutError) as e:
        raise OSError(str(e)) from e
    finally:
        c.close()


class User:
    def __init__(self, uid, role="shopper"):
        self.id = uid
        self.role = role
        self.sid = secrets.token_hex(20)
        self.csrf = secrets.token_hex(20)

    def session_cmds(self):
        return [["HSET", "sess:" + self.sid, "user", self.id, "role", self.role, "name",
                 "chaos", "csrf", self.csrf], ["EXPIRE", "sess:" + self.sid, "7200"]]

    def headers(self, **extra):
        h = {"Cookie": "jt_sid=" + self.sid, "X-CSRF-Token": self.csrf}
        h.update(extra)
        return h


# ---- what the drill saw (the client's side, for the acknowledged-writes checks and counts) ----

class Seen:
    def __init__(self):
        self.lock = threading.Lock()
        self.orders = {}            # public id -> (user id, pay method, amount) acknowledged
        self.paid_candidates = []   # (public id, user) the shoppers believe paid or soon paid
        self.refunds = {}           # refund public id -> order public id (acknowledged 202/303)
        self.charges = {}           # (user id, key) -> amount acknowledged 200
        self.counts = {}
        self.errors = {}            # what went wrong on the client's side, by kind (chaos)
        self.events = []            # (t, chaos event, detail)

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def error(self, what):
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


# ---- the shoppers ---------------------------------------------------------------------------

class Load:
    def __init__(self, st, seen, users, admin, products, rnd_seed, target_orders, seconds):
        self.st = st
        self.seen = seen
        self.users = users
        self.admin = admin
        self.products = products          # [(id, price, seller_id)]
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.target = target_orders
        self.seconds = seconds
        self.created = 0
        self.lock = threading.Lock()
        self.seed = rnd_seed
        self.chaos_done_at = None   # load time when the chaos thread finished

    def elapsed(self):
        return time.monotonic() - self.t0

    def done(self):
        """The long form: N orders created. The short form: its seconds passed, the chaos
        sequence ran whole, and CALM_SECONDS of load without chaos followed it."""
        if self.target:
            return self.created >= self.target
        calm_since = self.chaos_done_at
        return (self.elapsed() >= self.seconds and calm_since is not None and
                self.elapsed() >= calm_since + CALM_SECONDS)

    def may_abandon(self):
        # Abandoned orders must expire inside the run: while a minute of load is left (the
        # short form: its first seconds, so they expire before its load ends).
        if self.target:
            return self.created < self.target * 0.8
        return self.elapsed() < max(4, self.seconds - EXPIRE_SECONDS - 5)

    def req(self, user, method, path, body=None, extra=None, timeout=15):
        """One request to the shop; every 5xx is counted by route (with ids as {id})."""
        h = user.headers(**(extra or {})) if user else dict(extra or {})
        s, hdrs, data = fetch(self.st.port, method, path, body, h, timeout)
        if s >= 500:
            route = "/".join("{id}" if len(x) == 24 or x.isdigit() else x
                             for x in path.split("?")[0].split("/"))
            self.seen.count("HTTP %d %s %s" % (s, method, route))
        return s, hdrs, data

    # One shopper thread: a loop of actions until the load is done.
    def shopper(self, i):
        rnd = random.Random(self.seed * 1000 + i)
        while not self.stop.is_set() and not self.done():
            user = self.users[rnd.randrange(len(self.users))]
            roll = rnd.random()
            try:
                if roll < 0.30:
                    self.order_points(rnd, user)
                elif roll < 0.60:
                    self.order_pg(rnd, user, "toss")
                elif roll < 0.85:
                    self.order_pg(rnd, user, "kakaopay")
                elif roll < 0.95:
                    self.charge(rnd, user)
                else:
                    self.refund_race(rnd)
            except OSError as e:
                self.seen.error("transport: " + type(e).__name__)
                time.sleep(0.2)
            except Exception:   # a bug in the drill must not hide as a hang
                traceback.print_exc()
                self.seen.error("drill exception")
                time.sleep(0.2)

    def lines(self, rnd):
        n = 1 if rnd.random() < 0.6 else rnd.randint(2, 3)
        picks = rnd.sample(self.products, n)
        return [(p[0], rnd.randint(1, 3)) for p in picks]

    def create(self, rnd, user, method):
        lines = self.lines(rnd)
        key = secrets.token_hex(12)
        body = {"products": [{"id": p, "quantity": q} for p, q in lines],
                "paymentMethod": method}
        for attempt in range(5):   # a replay with the same key is safe: the same order
            try:
                s, _, data = self.req(user, "POST", "/api/v1/orders", body,
                                      {"Idempotency-Key": key})
            except OSError:
                self.seen.error("checkout transport")
                time.sleep(0.3 * (attempt + 1))
                continue
            if s in (200, 201):
                o = json.loads(data)
                with self.lock:
                    if s == 201:
                        self.created += 1
                with self.seen.lock:
                    self.seen.orders[o["orderId"]] = (user.id, method, o.get("amount"))
                self.seen.count("orders created " + method)
                return o
            if s == 401:
                self.seen.error("checkout 401 (session lost)")
                return None
            if s == 409:
                self.seen.count("checkout refused 409 (sold out / points)")
                return None
            if s in (502, 503, 504, 500):
                self.seen.error("checkout %d" % s)
                time.sleep(0.3 * (attempt + 1))
                continue
            self.seen.error("checkout %d %s" % (s, data[:80]))
            return None
        return None

    def order_points(self, rnd, user):
        o = self.create(rnd, user, "points")
        if o is not None:
            with self.seen.lock:
                self.seen.paid_candidates.append((o["orderId"], user))

    def pg_get(self, url, extra):
        u = urllib.parse.urlsplit(url)
        path = u.path + "?" + (u.query + "&" if u.query else "") + extra
        s, h, _ = fetch(u.port, "GET", path, timeout=15)
        return s, h.get("location")

    def order_pg(self, rnd, user, method):
        o = self.create(rnd, user, method)
        if o is None:
            return
        oid = o["orderId"]
        if not o.get("payment"):
            self.seen.count("checkouts without a payment window (KakaoPay ready failed)")
            return
        roll = rnd.random()
        if roll < 0.05 and self.may_abandon():
            self.seen.count("abandoned (left to expire)")
            return
        if roll < 0.10:
            self.cancel_unpaid(user, oid)
            return
        outcome = "success" if method == "toss" else "approve"
        if roll < 0.14:
            outcome = "cancel"
        elif roll < 0.17:
            outcome = "fail"
        try:
            s, back = self.pg_get(o["payment"]["redirectUrl"], "outcome=" + outcome)
        except OSError:
            self.seen.error("pg window transport")
            self.cancel_unpaid(user, oid)
            return
        if s != 302 or not back:
            self.seen.error("pg window %d" % s)
            self.cancel_unpaid(user, oid)
            return
        b = urllib.parse.urlsplit(back)
        ret = b.path + "?" + b.query
        # The return is a GET the PG sends the browser to: replaying it is safe, so the
        # shopper retries it (a reload) until the shop answers.
        for attempt in range(8):
            try:
                s, _, _ = self.req(user, "GET", ret)
            except OSError:
                s = 0
            if s in (200, 303, 302):
                break
            if s == 401:
                self.seen.error("return 401 (session lost)")
            elif s in (400, 404, 409):
                break   # refused: the order says why (e.g. a fail return on a done order)
            time.sleep(min(4.0, 0.3 * 2 ** attempt))
        else:
            self.seen.error("return never answered")
            self.cancel_unpaid(user, oid)
            return
        self.seen.count("pg returns %s %s" % (method, outcome))
        if outcome in ("success", "approve"):
            with self.seen.lock:
                self.seen.paid_candidates.append((oid, user))

    def cancel_unpaid(self, user, oid):
        for attempt in range(6):
            try:
                s, _, _ = self.req(user, "POST", "/api/v1/orders/%s/cancel" % oid, {})
            except OSError:
                s = 0
            if s in (200, 202, 409, 404):
                self.seen.count("unpaid cancels answered %d" % s)
                return
            time.sleep(min(4.0, 0.3 * 2 ** attempt))
        self.seen.error("unpaid cancel never answered")

    def charge(self, rnd, user):
        key = secrets.token_hex(12)
        amount = rnd.choice([1000, 5000, 12345])
        first = None
        for attempt in range(4):
            try:
                s, _, data = self.req(user, "POST", "/api/v1/users/%d/charge" % user.id,
                                      {"chargeAmount": amount}, {"Idempotency-Key": key})
            except OSError:
                s, data = 0, b""
            if s == 200:
                if first is None:
                    first = data
                    with self.seen.lock:
                        self.seen.charges[(user.id, key)] = amount
                    self.seen.count("charges acknowledged")
                    if rnd.random() < 0.3:
                        continue   # replay the same key: the stored answer, no second charge
                elif data != first:
                    self.seen.error("charge replay answered differently")
                    with self.seen.lock:
                        self.seen.counts["VIOLATION charge replay differs"] = 1
                else:
                    self.seen.count("charge replays identical")
                return
            if s == 409:   # the same key in flight (a replay raced): try again
                time.sleep(0.2)
                continue
            time.sleep(0.3 * (attempt + 1))
        if first is None:
            with self.seen.lock:
                self.seen.charges.setdefault((user.id, key), -amount)   # outcome unknown

    def refund_race(self, rnd):
        """Two or three refunds of one paid order at once: the shopper's full and partial
        ones and, sometimes, the admin's."""
        with self.seen.lock:
            pool = [c for c in self.seen.paid_candidates[-400:]]
        if not pool:
            return
        oid, user = rnd.choice(pool)
        try:
            s, _, data = self.req(user, "GET", "/api/v1/orders/%s" % oid)
        except OSError:
            return
        if s != 200:
            return
        o = json.loads(data)
        if o.get("status") not in ("PAID", "PARTIALLY_CANCELED"):
            return
        items = o.get("lines") or []
        calls = [lambda: self.refund_shopper(user, oid, None)]
        partial = [{"productId": it.get("productId", it.get("id")), "quantity": 1}
                   for it in items[:1] if it.get("quantity", 0) - it.get("canceledQuantity", 0) >= 1]
        if partial and partial[0]["productId"] is not None:
            calls.append(lambda: self.refund_shopper(user, oid, partial))
        if rnd.random() < 0.5:
            calls.append(lambda: self.refund_admin(oid))
        gate = threading.Barrier(len(calls))
        out = []

        def run(fn):
            try:
                gate.wait(5)
                out.append(fn())
            except (OSError, threading.BrokenBarrierError):
                out.append(None)
        ts = [threading.Thread(target=run, args=(fn,)) for fn in calls]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.seen.count("refund races")

    def refund_shopper(self, user, oid, lines):
        key = secrets.token_hex(10)
        body = {} if lines is None else {"lines": lines}
        for attempt in range(3):
            s, _, data = self.req(user, "POST", "/api/v1/orders/%s/refunds" % oid, body,
                                  {"Idempotency-Key": key})
            if s in (200, 202):
                rid = json.loads(data)["refundId"]
                with self.seen.lock:
                    self.seen.refunds[rid] = oid
                self.seen.count("refunds accepted (shopper)")
                return s
            if s in (502, 503, 504):
                time.sleep(0.3)
                continue
            self.seen.count("refunds refused %d" % s)
            return s
        return None

    def refund_admin(self, oid):
        key = secrets.token_hex(10)
        form = urllib.parse.urlencode({"key": key, "full": "1", "reason": "chaos",
                                       "csrf_token": self.admin.csrf})
        s, h, _ = self.req(self.admin, "POST", "/admin/orders/%s/refund" % oid, form,
                           {"Content-Type": "application/x-www-form-urlencoded"})
        if s == 303:
            self.seen.count("refunds accepted (admin)")
        else:
            self.seen.count("admin refunds answered %d" % s)
        return s


# ---- chaos ----------------------------------------------------------------------------------

class Chaos:
    def __init__(self, st, seen, load, users, admin, sellers, rnd, short):
        self.st = st
        self.seen = seen
        self.load = load
        self.users = users
        self.admin = admin
        self.sellers = sellers
        self.rnd = rnd
        self.short = short
        self.kills = {}
        self.failure = None
        self.stop = threading.Event()

    def note(self, what, detail=""):
        with self.seen.lock:
            self.seen.events.append((round(self.load.elapsed(), 1), what, detail))
        log("chaos: %s %s" % (what, detail))

    def killed(self, kind):
        self.kills[kind] = self.kills.get(kind, 0) + 1

    def sessions(self):
        cmds = []
        for u in self.users + [self.admin]:
            cmds += u.session_cmds()
        return self.st.redis_pipe(cmds)

    def do(self, event):
        st = self.st
        if event == "handler":
            kids = [p for master in st.pids("fcgi") for p in children(master)]
            if kids:
                kill9([self.rnd.choice(kids)])
                self.killed(event)   # the master forks a new one
        elif event == "fcgi-master":
            masters = st.pids("fcgi")
            kids = [p for m in masters for p in children(m)]
            kill9(masters)
            self.killed(event)
            wait_gone(masters)
            st.start("fcgi")   # the old handlers finish their request and go (PDEATHSIG)
            self.seen.count("handlers orphaned by the master's kill", len(kids))
        elif event in ("payworker", "settleworker", "notifyworker"):
            names = st.pidfiles(event + "-")
            victims = st.pids(self.rnd.choice(names)) if names else []
            kill9(victims)
            self.killed(event)
            wait_gone(victims)
            time.sleep(0.3)
            st.start(event + "s")
        elif event in ("bus", "janitor"):
            victims = st.pids(event)
            kill9(victims)
            self.killed(event)
            wait_gone(victims)
            time.sleep(0.3)
            st.start(event)
        elif event == "mariadb":
            victims = st.pids("mariadb")
            kill9(victims)
            self.killed(event)
            wait_gone(victims)
            time.sleep(1.0)
            st.start("mariadb")
        elif event == "redis":
            victims = st.pids("redis")
            kill9(victims)
            self.killed(event)
            wait_gone(victims)
            time.sleep(0.5)
            st.start("redis")
            self.sessions()   # the shoppers sign in again
        elif event == "redis-restart":
            st.script("restart", "redis")
            self.sessions()
            self.killed(event)
        elif event == "nginx":
            masters = st.pids("nginx")
            victims = masters + [p for m in masters for p in children(m)]
            kill9(victims)
            self.killed(event)
            wait_gone(victims)
            time.sleep(0.3)
            st.start("nginx")
        elif event == "nginx-restart":
            st.script("restart", "nginx")
            self.killed(event)
        self.note(event)

    def reconcile(self):
        """Reconciles today's settlement file of a PG while the load runs."""
        pg = self.rnd.choice(["toss", "kakaopay"])
        day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
        try:
            s, h, _ = fetch(self.st.pg_port, "GET", "/fake/settlement-file?pg=%s&date=%s"
                           % (pg, day))
        except OSError:
            return
        if s != 200:
            return
        rc, out = self.st.ctl("reconcile", "--pg", pg, h["x-fake-file"])
        self.seen.count("reconcile runs exit %d" % rc)
        if rc not in (0, 1):
            log("reconcile exited %d: %s" % (rc, out[-300:]))

    def payout(self):
        sid = self.rnd.choice(self.sellers)
        rc, out = self.st.ctl("payout", "--seller", str(sid), "--key", secrets.token_hex(8))
        self.seen.count("payouts exit %d" % rc)

    def pg_faults(self):
        """Fault bursts at the fake PG: on for a few seconds, off for a few. The long form
        adds, every sixth burst, a 20-second outage of Toss's confirm: the orders returned
        in it use up their confirm attempts and go UNKNOWN with their payments IN_PROGRESS at
        the PG (what issue 16 item 3 is to bound)."""
        i = 0
        while not self.stop.is_set() and not self.calm():
            rules = PG_BURSTS[i % len(PG_BURSTS)]
            hold = self.rnd.uniform(3, 6)
            if not self.short and i % 6 == 5:
                rules, hold = "toss confirm status=500\n", 20
            i += 1
            self.st.faults(rules)
            self.note("pg faults on", rules.strip().replace("\n", "; "))
            if self.stop.wait(hold):
                break
            self.st.faults("")
            if self.stop.wait(self.rnd.uniform(2, 5)):
                break
        self.st.faults("")

    def calm(self):
        """True once the chaos sequence is over (the short form's last seconds of load)."""
        return self.load.chaos_done_at is not None

    def run(self):
        """The short form runs SHORT_ORDER, spread over its load; the long form draws events
        (kills of handlers and payment workers a little more often) until the load is done."""
        try:
            n = 0
            gap = 0.5
            if self.stop.wait(3):   # some paid orders first
                return
            while not self.stop.is_set():
                if self.short:
                    if n >= len(SHORT_ORDER):
                        break
                    ev = SHORT_ORDER[n]
                    # Spread over the load's seconds, never faster than the events go.
                    gap = max(0.3, (self.load.seconds - CALM_SECONDS - self.load.elapsed())
                              / max(1, len(SHORT_ORDER) - n) - 3.0)
                else:
                    ev = self.rnd.choice(KILLS + RESTARTS + ["handler", "payworker"])
                    gap = self.rnd.uniform(2.0, 5.0)
                n += 1
                self.do(ev)
                if self.stop.wait(gap):
                    break
        except Exception as e:   # a service that would not come back
            self.failure = e
            traceback.print_exc()
        finally:
            self.load.chaos_done_at = self.load.elapsed()

    def admin_tools(self):
        """The admin's tools during the load: reconciliation of today's settlement file and
        payouts of the sellers' wallets, racing the confirm and settle workers."""
        try:
            if self.stop.wait(5):
                return
            i = 0
            while not self.stop.is_set() and not self.calm():
                if i % 2 == 0:
                    self.reconcile()
                    self.note("reconcile")
                else:
                    self.payout()
                    self.note("payout")
                i += 1
                if self.stop.wait(self.rnd.uniform(1.0, 4.0)):
                    break
        except Exception:
            traceback.print_exc()
            self.seen.error("admin tools exception")


# ---- set-up ---------------------------------------------------------------------------------

def setup(st, n_users, stock):
    sellers = []
    for name, bp in SELLERS:
        st.sql("INSERT INTO sellers (name, commission_bp) VALUES ('%s', %s)"
               % (name, "NULL" if bp is None else bp))
        sellers.append(int(st.sql("SELECT id FROM sellers WHERE name = '%s'" % name)[0][0]))
    products = []
    for i, price in enumerate(PRICES):
        sid = sellers[i % len(sellers)]
        units = 30 if i == 0 else stock   # one scarce product: sold-out races
        rows = st.sql("INSERT INTO products (seller_id, name, description, price, active) VALUES"
                      " (%d, 'chaos-%d', 'chaos drill', %d, 1); SELECT LAST_INSERT_ID();"
                      % (sid, i, price))
        pid = int(rows[-1][0])
        st.sql("INSERT INTO stock (product_id, available) VALUES (%d, %d)" % (pid, units))
        products.append((pid, price, sid))
    values = ",".join("('chaos-%d-%s@jangteo.test', 'chaos', 'shopper', 'active', %d)"
                      % (i, secrets.token_hex(3), USER_POINTS) for i in range(n_users))
    st.sql("INSERT INTO users (email, name, role, status, points) VALUES " + values)
    ids = [int(r[0]) for r in st.sql("SELECT id FROM users WHERE email LIKE 'chaos-%%'"
                                     " ORDER BY id")]
    users = [User(u) for u in ids]
    st.sql("INSERT INTO users (email, name, role, status, points) VALUES"
           " ('chaos-admin@jangteo.test', 'chaos admin', 'admin', 'active', 0)")
    admin = User(int(st.sql("SELECT id FROM users WHERE email = 'chaos-admin@jangteo.test'")
                     [0][0]), role="admin")
    cmds = []
    for u in users + [admin]:
        cmds += u.session_cmds()
    if not st.redis_pipe(cmds):
        raise DrillError("could not write the sessions into Redis")
    return sellers, products, users, admin


# ---- drain ----------------------------------------------------------------------------------

def pending_work(st):
    """What is still moving: orders PENDING / CONFIRMING, refunds REQUESTED, outbox jobs
    waiting other than payment checks (those wait on their back-off by design)."""
    row = st.sql(
        "SELECT (SELECT COUNT(*) FROM orders WHERE status IN ('PENDING','CONFIRMING')),"
        " (SELECT COUNT(*) FROM refunds WHERE status = 'REQUESTED'),"
        " (SELECT COUNT(*) FROM outbox WHERE status IN ('pending','claimed')"
        "  AND kind <> 'payment.check'),"
        " (SELECT COUNT(*) FROM orders WHERE status = 'UNKNOWN')")[0]
    return [int(x) for x in row]


def cancel_stuck(st, load, users):
    """Cancels, as their shoppers would, the unpaid orders the load left PENDING (a return
    or a cancel that never got through the chaos); the rest expire."""
    owners = dict((u.id, u) for u in users)
    rows = st.sql("SELECT public_id, user_id FROM orders WHERE status = 'PENDING' AND"
                  " user_id IN (%s)" % ",".join(str(u) for u in owners))
    for oid, uid in rows:
        load.cancel_unpaid(owners[int(uid)], oid)
    return len(rows)


def drain(st, seconds):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            work = pending_work(st)
        except DrillError:
            time.sleep(1)
            continue
        if work != last:
            kinds = st.sql("SELECT kind, COUNT(*) FROM outbox WHERE status IN ('pending',"
                           "'claimed') AND kind <> 'payment.check' GROUP BY kind")
            log("drain: pending/confirming %d, refunds requested %d, jobs waiting %d (%s),"
                " unknown %d" % (work[0], work[1], work[2],
                                 ", ".join("%s %s" % (k, n) for k, n in kinds), work[3]))
            last = work
        if work[0] == 0 and work[1] == 0 and work[2] == 0:
            return True
        time.sleep(1)
    return False


def settle_unknowns(st, seconds, lenient):
    """Gives UNKNOWN orders the time their checks need (the PG answers now, and the bounded
    wait decides an IN_PROGRESS payment): returns when none is left, after seconds, or (when
    lenient) once none moved for a while."""
    deadline = time.monotonic() + seconds
    last, still = None, 0
    while time.monotonic() < deadline:
        n = pending_work(st)[3]
        if n == 0:
            return
        still = still + 1 if n == last else 0
        last = n
        if lenient and still >= 10:
            return
        time.sleep(1)


# ---- checks -----------------------------------------------------------------------------------

def pg_records(st):
    s, _, data = fetch(st.pg_port, "GET", "/fake/records", timeout=60)
    if s != 200:
        raise DrillError("fake PG records: %d" % s)
    return json.loads(data)


def pg_status(st, pay, key, oid):
    """The PG's status word for an order's payment (Toss by orderId, KakaoPay by tid)."""
    if pay == "toss":
        auth = "Basic " + base64.b64encode((TOSS_SECRET + ":").encode()).decode()
        s, _, data = fetch(st.pg_port, "GET", "/toss/v1/payments/orders/%s" % oid,
                          headers={"Authorization": auth})
        return json.loads(data).get("status") if s == 200 else "HTTP %d" % s
    if not key:
        return "no tid"
    s, _, data = fetch(st.pg_port, "POST", "/kakaopay/online/v1/payment/order",
                      {"cid": "TC0ONETIME", "tid": key},
                      {"Authorization": "SECRET_KEY " + KAKAO_SECRET})
    return json.loads(data).get("status") if s == 200 else "HTTP %d" % s


def check(st, seen, sellers, products, users, stock_initial, lenient_unknown):
    v = []          # violations
    c = {}          # counts
    uids = ",".join(str(u.id) for u in users)

    orders = {}
    for r in st.sql("SELECT o.id, o.public_id, o.user_id, o.status, o.pay_method, o.amount,"
                    " o.refunded_amount, IFNULL(o.payment_key, ''),"
                    " EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id AND"
                    " e.to_status = 'PAID') FROM orders o WHERE o.user_id IN (%s)" % uids):
        orders[r[1]] = dict(id=int(r[0]), user=int(r[2]), status=r[3], pay=r[4],
                            amount=int(r[5]), refunded=int(r[6]), key=r[7], paid=r[8] == "1")
    by_id = dict((o["id"], pid) for pid, o in orders.items())
    lines = {}
    for r in st.sql("SELECT l.order_id, l.product_id, l.seller_id, l.quantity,"
                    " l.canceled_quantity, l.amount FROM order_lines l JOIN orders o ON"
                    " o.id = l.order_id WHERE o.user_id IN (%s)" % uids):
        lines.setdefault(by_id[int(r[0])], []).append(dict(
            product=int(r[1]), seller=int(r[2]), qty=int(r[3]), canceled=int(r[4]),
            amount=int(r[5])))
    refunds = {}
    for r in st.sql("SELECT r.public_id, r.order_id, r.amount, r.status FROM refunds r JOIN"
                    " orders o ON o.id = r.order_id WHERE o.user_id IN (%s)" % uids):
        refunds[r[0]] = dict(order=by_id[int(r[1])], amount=int(r[2]), status=r[3])
    refund_lines = {}
    for r in st.sql("SELECT r.public_id, rl.product_id, rl.quantity, rl.amount FROM"
                    " refund_lines rl JOIN refunds r ON r.id = rl.refund_id JOIN orders o ON"
                    " o.id = r.order_id WHERE o.user_id IN (%s)" % uids):
        refund_lines.setdefault(r[0], []).append((int(r[1]), int(r[2]), int(r[3])))

    # counts
    for o in orders.values():
        k = "orders %s %s" % (o["pay"], o["status"])
        c[k] = c.get(k, 0) + 1
    c["orders"] = len(orders)
    for rf in refunds.values():
        k = "refunds %s" % rf["status"]
        c[k] = c.get(k, 0) + 1

    # acknowledged writes exist
    for pid in seen.orders:
        if pid not in orders:
            v.append("order %s was acknowledged (201) but is not in the database" % pid)
    for rid in seen.refunds:
        if rid not in refunds:
            v.append("refund %s was acknowledged (202) but is not in the database" % rid)

    # definite states
    unknown_open = []
    for pid, o in orders.items():
        if o["status"] in DEFINITE:
            continue
        if lenient_unknown and o["status"] == "UNKNOWN" and o["pay"] in ("toss", "kakaopay"):
            ps = pg_status(st, o["pay"], o["key"], pid)
            if ps in ("IN_PROGRESS", "READY", "AUTH_PASSWORD", "SEND_TMS"):
                unknown_open.append((pid, ps))
                continue
            v.append("order %s UNKNOWN while the PG says %s" % (pid, ps))
            continue
        v.append("order %s left %s" % (pid, o["status"]))
    if lenient_unknown:
        c["UNKNOWN orders, payment IN_PROGRESS at the PG (--lenient-unknown)"] = len(unknown_open)
    c["orders FAILED as not approved (the bounded wait)"] = int(st.sql(
        "SELECT COUNT(*) FROM orders WHERE fail_code = 'JT_NOT_APPROVED'"
        " AND user_id IN (%s)" % uids)[0][0])

    # refunds <= paid; refunded_amount = DONE refunds
    done_by_order = {}
    for rid, rf in refunds.items():
        if rf["status"] == "REQUESTED":
            v.append("refund %s still REQUESTED" % rid)
        if rf["status"] == "DONE":
            d = done_by_order.setdefault(rf["order"], [0, 0])
            d[0] += 1
            d[1] += rf["amount"]
    for pid, o in orders.items():
        done = done_by_order.get(pid, [0, 0])[1]
        if o["refunded"] != done:
            v.append("order %s refunded_amount %d but DONE refunds sum to %d"
                     % (pid, o["refunded"], done))
        if done > o["amount"] or o["refunded"] > o["amount"]:
            v.append("order %s refunded %d of %d" % (pid, done, o["amount"]))
        if done > 0 and not o["paid"]:
            v.append("order %s has DONE refunds but was never paid" % pid)

    # the PG's records against ours
    recs = pg_records(st)
    c["PG records"] = len(recs)
    pg = {}
    for x in recs:
        e = pg.setdefault(x["order_id"], {"approve": [], "cancel": []})
        e[x["kind"]].append(x)
    c["PG approvals"] = sum(len(e["approve"]) for e in pg.values())
    c["PG cancels"] = sum(len(e["cancel"]) for e in pg.values())
    for pid, o in orders.items():
        e = pg.get(pid, {"approve": [], "cancel": []})
        approved = sum(x["amount"] for x in e["approve"])
        cancelled = sum(x["amount"] for x in e["cancel"])
        if o["pay"] == "points":
            if e["approve"] or e["cancel"]:
                v.append("points order %s has PG records" % pid)
            continue
        if len(e["approve"]) > 1:
            v.append("order %s approved %d times at the PG (charged twice)"
                     % (pid, len(e["approve"])))
        if o["paid"]:
            if len(e["approve"]) != 1 or approved != o["amount"]:
                v.append("paid order %s of %d: PG approvals %r" % (pid, o["amount"],
                                                                  [x["amount"] for x in e["approve"]]))
            if e["approve"] and e["approve"][0]["payment_key"] != o["key"]:
                v.append("paid order %s: payment key %s, the PG approved %s"
                         % (pid, o["key"], e["approve"][0]["payment_key"]))
            n_done, sum_done = done_by_order.get(pid, [0, 0])
            if len(e["cancel"]) != n_done or cancelled != sum_done:
                v.append("order %s: PG cancels %d (%d won), DONE refunds %d (%d won)"
                         % (pid, len(e["cancel"]), cancelled, n_done, sum_done))
        elif approved != cancelled:
            v.append("order %s (%s, never paid here) has %d won approved and %d cancelled at"
                     " the PG" % (pid, o["status"], approved, cancelled))
    for oid in pg:
        if oid not in orders:   # the stack is the drill's alone: every order is a shopper's
            v.append("the PG has records of an order the shop does not know: %s" % oid)

    # stock conserved
    avail = dict((int(r[0]), int(r[1])) for r in st.sql(
        "SELECT product_id, available FROM stock WHERE product_id IN (%s)"
        % ",".join(str(p[0]) for p in products)))
    adjust = dict((int(r[0]), int(r[1])) for r in st.sql(
        "SELECT product_id, SUM(delta) FROM stock_adjustments WHERE product_id IN (%s)"
        " GROUP BY product_id" % ",".join(str(p[0]) for p in products)))
    held = dict((p[0], 0) for p in products)
    for pid, o in orders.items():
        for ln in lines.get(pid, []):
            if o["status"] in HOLDING:
                held[ln["product"]] += ln["qty"]
            elif o["paid"]:
                held[ln["product"]] += ln["qty"] - ln["canceled"]
    for p in products:
        want = stock_initial[p[0]] + adjust.get(p[0], 0)
        if avail[p[0]] + held[p[0]] != want:
            v.append("product %d: available %d + held %d != initial %d (+ adjustments)"
                     % (p[0], avail[p[0]], held[p[0]], want))
        if avail[p[0]] < 0:
            v.append("product %d oversold: available %d" % (p[0], avail[p[0]]))
    c["units sold (held by paid orders)"] = sum(held.values())

    # settlements and wallets
    bp_of = dict((int(r[0]), DEFAULT_BP if r[1] == "NULL" else int(r[1])) for r in st.sql(
        "SELECT id, IFNULL(commission_bp, 'NULL') FROM sellers WHERE id IN (%s)"
        % ",".join(map(str, sellers))))
    sett = {}
    for r in st.sql("SELECT s.kind, s.ref, o.public_id, s.seller_id, s.gross, s.commission,"
                    " s.net, s.commission_bp FROM settlements s JOIN orders o ON"
                    " o.id = s.order_id WHERE s.seller_id IN (%s)" % ",".join(map(str, sellers))):
        sett.setdefault((r[2], int(r[3])), []).append(dict(
            kind=r[0], ref=r[1], gross=int(r[4]), commission=int(r[5]), net=int(r[6]),
            bp=int(r[7])))
    expected_net = dict((s, 0) for s in sellers)
    for pid, o in orders.items():
        if not o["paid"]:
            for s in sellers:
                if (pid, s) in sett:
                    v.append("order %s was never paid but settled to seller %d" % (pid, s))
            continue
        sold = {}
        for ln in lines.get(pid, []):
            sold[ln["seller"]] = sold.get(ln["seller"], 0) + ln["amount"]
        refunded = {}
        for rid, rf in refunds.items():
            if rf["order"] != pid or rf["status"] != "DONE":
                continue
            rls = refund_lines.get(rid)
            if rls is None:
                # An amount-only refund (reconciliation): settle.c splits it; take its rows.
                for s in sellers:
                    for row in sett.get((pid, s), []):
                        if row["kind"] == "refund" and row["ref"] == rid:
                            refunded[s] = refunded.get(s, 0) + row["gross"]
                continue
            for product, qty, amount in rls:
                seller = next(p[2] for p in products if p[0] == product)
                refunded[seller] = refunded.get(seller, 0) + amount
        for s, gross in sold.items():
            rows = sett.get((pid, s), [])
            sales = [r for r in rows if r["kind"] == "sale"]
            if len(sales) != 1 or sales[0]["gross"] != gross:
                v.append("order %s seller %d: sale settled %r, sold %d"
                         % (pid, s, [r["gross"] for r in sales], gross))
                continue
            bp = sales[0]["bp"]
            if bp != bp_of[s]:
                v.append("order %s seller %d settled at %d bp, the seller's rate is %d"
                         % (pid, s, bp, bp_of[s]))
            ref = refunded.get(s, 0)
            ref_rows = [r for r in rows if r["kind"] == "refund"]
            if sum(r["gross"] for r in ref_rows) != ref:
                v.append("order %s seller %d: refunds settled %d, refunded %d"
                         % (pid, s, sum(r["gross"] for r in ref_rows), ref))
                continue
            commission = gross * bp // 10000 - ref * bp // 10000
            net = (gross - ref) - commission
            got = sales[0]["net"] - sum(r["net"] for r in ref_rows)
            if got != net:
                v.append("order %s seller %d: net settled %d, the rule says %d"
                         % (pid, s, got, net))
            expected_net[s] += got
    payouts = dict((int(r[0]), int(r[1])) for r in st.sql(
        "SELECT seller_id, SUM(amount) FROM payouts WHERE seller_id IN (%s) GROUP BY seller_id"
        % ",".join(map(str, sellers))))
    wallets = dict((int(r[0]), int(r[1])) for r in st.sql(
        "SELECT owner_seller_id, credits_posted - debits_posted FROM ledger_accounts"
        " WHERE code LIKE 'seller\\_payable:%%' AND owner_seller_id IN (%s)"
        % ",".join(map(str, sellers))))
    for s in sellers:
        want = expected_net[s] - payouts.get(s, 0)
        if wallets.get(s, 0) != want:
            v.append("seller %d wallet %d, settled net %d - payouts %d = %d"
                     % (s, wallets.get(s, 0), expected_net[s], payouts.get(s, 0), want))
    c["payouts"] = sum(payouts.values())
    c["settled net"] = sum(expected_net.values())

    # points conserved
    bal = dict((int(r[0]), int(r[1])) for r in st.sql(
        "SELECT id, points FROM users WHERE id IN (%s)" % uids))
    charged = {}
    keys = {}
    for r in st.sql("SELECT user_id, idempotency_key, amount FROM point_charges WHERE user_id"
                    " IN (%s)" % uids):
        charged[int(r[0])] = charged.get(int(r[0]), 0) + int(r[2])
        keys[(int(r[0]), r[1])] = keys.get((int(r[0]), r[1]), 0) + 1
    spent, back = {}, {}
    for pid, o in orders.items():
        if o["pay"] != "points" or not o["paid"]:
            continue
        spent[o["user"]] = spent.get(o["user"], 0) + o["amount"]
        back[o["user"]] = back.get(o["user"], 0) + done_by_order.get(pid, [0, 0])[1]
    for u in users:
        want = USER_POINTS + charged.get(u.id, 0) - spent.get(u.id, 0) + back.get(u.id, 0)
        if bal[u.id] != want:
            v.append("user %d points %d, expected %d" % (u.id, bal[u.id], want))
    for (uid, key), amount in seen.charges.items():
        n = keys.get((uid, key), 0)
        if amount > 0 and n != 1:
            v.append("charge %s of user %d acknowledged, %d rows" % (key, uid, n))
        if amount < 0 and n > 1:
            v.append("charge %s of user %d: %d rows" % (key, uid, n))
    c["point charges"] = sum(keys.values())
    if seen.counts.get("VIOLATION charge replay differs"):
        v.append("a charge replay answered differently from the first answer")

    # never a 500: a server that is down is a 503 (the web server's 502 when the handler
    # itself was killed); a 500 is a handler failing for a reason of its own
    for k, n in seen.counts.items():
        if k.startswith("HTTP 500 "):
            v.append("%d answer(s) %s" % (n, k))

    # the books
    rc, out = st.ctl("ledger-check")
    if rc != 0:
        v.append("jangteoctl ledger-check exited %d:\n%s" % (rc, out.strip()))
    dead = st.sql("SELECT kind, COUNT(*) FROM outbox WHERE status = 'dead' GROUP BY kind")
    for kind, n in dead:
        c["dead jobs " + kind] = int(n)
        if kind in ("settle", "refund.settle", "refund", "payment.confirm"):
            v.append("%s %s job(s) dead" % (n, kind))
    return v, c


# ---- main -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=55,
                    help="short form: at least this much load (longer if the chaos needs it)")
    ap.add_argument("--orders", type=int, default=0, help="long form: orders to create")
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--users", type=int, default=150)
    ap.add_argument("--port", type=int, default=int(os.environ.get(
        "JT_CHAOS_HTTP_PORT", int(os.environ.get("JT_TEST_HTTP_PORT", "18080")) + 100)))
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--drain-seconds", type=float, default=0)
    ap.add_argument("--lenient-unknown", action="store_true",
                    help="count UNKNOWN orders with an IN_PROGRESS payment apart, not as"
                    " violations")
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    ap.add_argument("--json", help="write the counts and violations to this file")
    args = ap.parse_args()
    build = os.environ.get("JT_BUILDDIR", os.path.join(REPO, "_build"))
    rnd = random.Random(args.seed)
    short = args.orders == 0
    stock = 2000 if short else max(2000, args.orders // 2)
    t_start = time.monotonic()
    log("seed %d, %s, port %d" % (args.seed, "short form, %ds of load" % args.seconds if short
                                  else "long form, %d orders" % args.orders, args.port))
    st = Stack(args.port, build)
    rc = 2
    try:
        st.start(tries=1)
        t_up = time.monotonic()
        sellers, products, users, admin = setup(st, args.users, stock)
        stock_initial = dict((p[0], 30 if i == 0 else stock) for i, p in enumerate(products))
        seen = Seen()
        load = Load(st, seen, users, admin, products, args.seed, args.orders, args.seconds)
        chaos = Chaos(st, seen, load, users, admin, sellers, rnd, short)
        threads = [threading.Thread(target=load.shopper, args=(i,), daemon=True)
                   for i in range(args.clients)]
        ct = threading.Thread(target=chaos.run, daemon=True)
        ft = threading.Thread(target=chaos.pg_faults, daemon=True)
        at = threading.Thread(target=chaos.admin_tools, daemon=True)
        log("stack up in %.0fs; load starts" % (t_up - t_start))
        for t in threads + [ct, ft, at]:
            t.start()
        last = 0
        while not load.done() and chaos.failure is None:
            time.sleep(1)
            if time.monotonic() - last > 15:
                last = time.monotonic()
                log("load: %d orders created, %.0fs" % (load.created, load.elapsed()))
        load.stop.set()
        for t in threads:
            t.join(60)
        chaos.stop.set()
        ct.join(120)
        ft.join(30)
        at.join(180)
        t_load = time.monotonic()
        if chaos.failure is not None:
            raise DrillError("chaos: %s" % chaos.failure)
        log("load done: %d orders in %.0fs; every service back, faults off" %
            (load.created, t_load - t_up))
        st.faults("")
        st.start()   # anything still missing
        chaos.sessions()
        seen.count("stuck unpaid orders cancelled at the drain", cancel_stuck(st, load, users))
        drained = drain(st, args.drain_seconds or (EXPIRE_SECONDS + 60 if short else 600))
        settle_unknowns(st, 30 if short else 120, args.lenient_unknown)
        t_drain = time.monotonic()
        violations, counts = check(st, seen, sellers, products, users, stock_initial,
                                   args.lenient_unknown)
        if not drained:
            violations.append("the stack did not drain: %r (pending/confirming, refunds"
                              " requested, jobs waiting, unknown)" % pending_work(st))
        t_end = time.monotonic()
        counts.update(dict(("client: " + k, n) for k, n in seen.counts.items()))
        counts.update(dict(("client error: " + k, n) for k, n in seen.errors.items()))
        counts.update(dict(("kill -9 / restart: " + k, n) for k, n in chaos.kills.items()))
        counts["chaos events"] = len(seen.events)
        times = {"stack start": round(t_up - t_start, 1), "load": round(t_load - t_up, 1),
                 "drain": round(t_drain - t_load, 1), "checks": round(t_end - t_drain, 1)}
        print("\n==== chaos drill: counts")
        for k in sorted(counts):
            print("  %-60s %s" % (k, counts[k]))
        print("  times (s): %s" % ", ".join("%s %s" % kv for kv in times.items()))
        print("==== chaos drill: %d violation(s)" % len(violations))
        for x in violations[:200]:
            print("  VIOLATION " + x)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"seed": args.seed, "counts": counts, "times": times,
                           "violations": violations, "events": seen.events}, f, indent=1)
        rc = 1 if violations else 0
    except DrillError as e:
        log("could not run: %s" % e)
        rc = 2
    finally:
        if args.keep:
            log("stack left running: JT_RUN=%s JT_HTTP_PORT=%d" % (st.run, st.port))
        else:
            if rc != 0:
                for name in ("jangteo.log", "fcgi.log", "payworker-1.log", "janitor.log"):
                    p = os.path.join(st.run, "log", name)
                    if os.path.exists(p):
                        print("---- tail of %s" % p)
                        with open(p, errors="replace") as f:
                            print("".join(f.readlines()[-25:]))
            st.script("stop", check=False)
            shutil.rmtree(st.run, ignore_errors=True)
    log("done in %.0fs, exit %d" % (time.monotonic() - t_start, rc))
    return rc


if __name__ == "__main__":
    sys.exit(main())
