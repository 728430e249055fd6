"""drill: the failover drill of script/cluster (issue 14). Runs on the machine's root
namespace; its load threads enter the client namespace (setns is per thread), so every HTTP
request goes over the drill's bridge to the lb host.

Load: shoppers (each a user with a session in Redis) buy through lb: POST /api/v1/orders with
an Idempotency-Key (retried with the same key until answered), the fake Toss window (pg host),
the return to the shop (GET /checkout/toss/success via lb, retried until 200). A hot product
has less stock than the load wants, so sold-out answers are part of the run.

Faults while the load runs (script/cluster fault/heal): web1 cut off the network; kill -9 of
the Galera node taking writes; kill -9 of the Redis primary (Sentinel promotes the replica);
kill -9 of work2's bus and workers. Each is healed some seconds later.

Then it drains (no CONFIRMING or UNKNOWN order, no pending or claimed outbox row) and checks,
on every Galera node: every order acknowledged to a shopper exists; no oversell; the fake PG's
approvals are exactly the PAID orders, one each, same amount; one payment row and one
settlement per PAID order; `jangteoctl ledger-check` passes; the nodes' table checksums agree;
an unknown CURVE key cannot take jobs from a broker; errors happened only inside the fault
windows. Prints a one-screen summary; exit status 0 when every check passed.
"""
import argparse
import collections
import ctypes
import http.client
import json
import os
import random
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
SHOPPERS = 6
# A fault's window: from the fault until its heal plus this settling time.
WINDOW_GRACE = 12.0
# (offset from the start of the load in seconds, fault, seconds until it is healed)
SCHEDULE = [(6, "web1", 10), (20, "dbwriter", 10), (34, "redis", 10), (48, "work2", 10)]
HOT_STOCK = 60
DRILL_PRODUCTS = None  # filled from the database: [(id, price, initial stock, hot)]


def enter_ns(name):
    """Moves the calling thread into network namespace name."""
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if LIBC.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


class Drill:
    def __init__(self, args):
        self.a = args
        self.ns = lambda h: "%s-%s" % (args.prefix, h)
        self.ip = {h: "%s.%d" % (args.net, o) for h, o in
                   {"lb": 2, "web1": 11, "web2": 12, "work1": 21, "work2": 22, "db1": 31,
                    "db2": 32, "db3": 33, "rds1": 41, "rds2": 42, "rds3": 43, "pg": 50,
                    "client": 60}.items()}
        self.cluster = os.path.join(args.repo, "script", "cluster")
        self.lock = threading.Lock()
        self.errors = []            # (t, stage, detail)
        self.acked = {}             # orderId -> amount
        self.returned = set()       # orderIds whose PG return the shop answered 200
        self.counts = collections.Counter()
        self.faults = []            # (name, start, heal, detail)
        self.t0 = None
        self.stop = threading.Event()
        self.failures = []

    # ---- helpers ----------------------------------------------------------------------------

    def now(self):
        return time.monotonic() - self.t0

    def sql(self, node, query):
        sock = os.path.join(self.a.run, "hosts", node, "mysql.sock")
        out = subprocess.run(
            ["mariadb", "--no-defaults", "--protocol=socket", "--socket=" + sock, "--user=root",
             "--batch", "--skip-column-names", "-e", query, "jangteo"],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("%s: %s" % (node, out.stderr.strip()))
        return [line.split("\t") for line in out.stdout.splitlines()]

    def redis(self, host, port, *args):
        """One command over RESP; returns the decoded answer."""
        s = socket.create_connection((host, port), timeout=2)
        try:
            s.sendall(b"*%d\r\n" % len(args) + b"".join(
                b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args))
            f = s.makefile("rb")
            return self._resp(f)
        finally:
            s.close()

    def _resp(self, f):
        line = f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else f.read(n + 2)[:-2].decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._resp(f) for _ in range(n)]
        raise RuntimeError("bad RESP line %r" % line)

    def redis_primary_cmd(self, *args):
        """Sends a command to the primary the Sentinels name, retrying through a failover."""
        deadline = time.monotonic() + 20
        while True:
            try:
                host, port = self.redis(self.ip["rds3"], 26379, "SENTINEL",
                                        "get-master-addr-by-name", "jangteo")
                return self.redis(host, int(port), *args)
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def record_error(self, stage, detail):
        with self.lock:
            self.errors.append((self.now(), stage, detail))

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] += n

    # ---- shoppers ---------------------------------------------------------------------------

    def new_session(self, uid):
        sid, csrf = secrets.token_hex(20), secrets.token_hex(20)
        self.redis_primary_cmd("HSET", "sess:" + sid, "user", str(uid), "role", "shopper",
                               "name", "drill", "csrf", csrf)
        self.redis_primary_cmd("EXPIRE", "sess:" + sid, "3600")
        return sid, csrf

    def http(self, host, method, path, body=None, headers=None, timeout=15):
        c = http.client.HTTPConnection(host, 80 if host == self.ip["lb"] else 8090,
                                       timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            h = dict(headers or {})
            if data is not None:
                h["Content-Type"] = "application/json"
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return r.status, r.getheader("Location"), r.read()
        finally:
            c.close()

    def shopper(self, uid):
        enter_ns(self.ns("client"))
        rnd = random.Random(uid)
        sess = self.new_session(uid)
        while not self.stop.is_set():
            pid, price, _, hot = rnd.choice(DRILL_PRODUCTS)
            qty = rnd.randint(1, 2)
            key = secrets.token_hex(16)
            order, sess = self.create_order(uid, sess, pid, qty, key)
            if order is None:
                continue
            self.pay(order, sess)
            time.sleep(0.02)

    def headers(self, sess, **extra):
        h = {"Cookie": "jt_sid=" + sess[0], "X-CSRF-Token": sess[1]}
        h.update(extra)
        return h

    def create_order(self, uid, sess, pid, qty, key):
        """POST /api/v1/orders until answered; returns (order or None, session)."""
        body = {"products": [{"id": pid, "quantity": qty}], "paymentMethod": "toss"}
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                st, _, data = self.http(self.ip["lb"], "POST", "/api/v1/orders", body,
                                        self.headers(sess, **{"Idempotency-Key": key}))
            except (OSError, http.client.HTTPException) as e:
                self.record_error("order", type(e).__name__)
                time.sleep(0.3)
                continue
            if st in (200, 201):
                o = json.loads(data)
                with self.lock:
                    self.acked[o["orderId"]] = o.get("amount")
                    self.counts["acked"] += 1
                return o, sess
            if st == 409 and b"SOLD_OUT" in data:
                self.count("sold_out")
                return None, sess
            if st == 401:
                # The session was lost with an unreplicated Redis write: sign in again.
                self.count("relogin")
                sess = self.new_session(uid)
                continue
            self.record_error("order", "HTTP %d %s" % (st, data[:80].decode("utf-8", "replace")))
            time.sleep(0.3)
        self.count("order_given_up")
        return None, sess

    def pay(self, order, sess):
        """The fake Toss window, then the return to the shop through lb until it answers 200."""
        u = urllib.parse.urlsplit(order["payment"]["redirectUrl"])
        try:
            st, loc, _ = self.http(u.hostname, "GET", u.path + "?" + u.query + "&outcome=success")
        except (OSError, http.client.HTTPException) as e:
            self.record_error("pg", type(e).__name__)
            return
        if st != 302:
            self.record_error("pg", "HTTP %d" % st)
            return
        back = urllib.parse.urlsplit(loc)
        path = back.path + "?" + back.query
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                st, _, _ = self.http(self.ip["lb"], "GET", path,
                                     headers={"Cookie": "jt_sid=" + sess[0]})
            except (OSError, http.client.HTTPException) as e:
                self.record_error("return", type(e).__name__)
                time.sleep(0.3)
                continue
            if st == 200:
                with self.lock:
                    self.returned.add(order["orderId"])
                return
            self.record_error("return", "HTTP %d" % st)
            time.sleep(0.3)
        self.count("return_given_up")

    # ---- faults -----------------------------------------------------------------------------

    def cluster_cmd(self, *args):
        out = subprocess.run([self.cluster] + list(args), capture_output=True, text=True,
                             timeout=150, env=dict(os.environ, JT_CLUSTER_RUN=self.a.run,
                                                   JT_CLUSTER_PREFIX=self.a.prefix,
                                                   JT_CLUSTER_NET=self.a.net))
        if out.returncode != 0:
            raise RuntimeError("script/cluster %s: %s" % (" ".join(args), out.stderr[-500:]))
        return out.stdout.strip()

    def run_faults(self):
        """Injects each fault at its time and heals it some seconds later. A heal runs in a
        thread of its own (a Galera node's rejoin takes a while), so the schedule holds; all
        heals are waited for before the load stops."""
        healers = []
        pending = []   # (heal at, name, start, detail)
        for at, name, lasts in SCHEDULE:
            while self.now() < at:
                self.heal_due(pending, healers)
                time.sleep(0.1)
            start = self.now()
            detail = self.cluster_cmd("fault", name)
            print("  %6.1fs fault %-8s %s" % (start, name, detail), flush=True)
            pending.append((at + lasts, name, start, detail))
        while pending:
            self.heal_due(pending, healers)
            time.sleep(0.1)
        for t in healers:
            t.join(timeout=240)

    def heal_due(self, pending, healers):
        for item in [p for p in pending if p[0] <= self.now()]:
            pending.remove(item)
            t = threading.Thread(target=self.heal, args=item[1:], daemon=True)
            t.start()
            healers.append(t)

    def heal(self, name, start, detail):
        begun = self.now()
        try:
            self.cluster_cmd("heal", name)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print("  heal %s FAILED: %s" % (name, e), flush=True)
            with self.lock:
                self.failures.append("heal " + name)
        done = self.now()
        print("  %6.1fs healed %-8s (heal took %.1fs)" % (done, name, done - begun), flush=True)
        with self.lock:
            self.faults.append((name, start, done, detail))

    # ---- checks -----------------------------------------------------------------------------

    def check(self, ok, what):
        print("  [%s] %s" % ("ok" if ok else "FAIL", what))
        if not ok:
            self.failures.append(what)

    def drain(self, timeout=120):
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            rows = self.sql("db3", "SELECT (SELECT COUNT(*) FROM orders WHERE status IN"
                            " ('CONFIRMING','UNKNOWN')), (SELECT COUNT(*) FROM outbox WHERE"
                            " status IN ('pending','claimed'))")
            if rows[0] == ["0", "0"]:
                return time.monotonic() - t
            time.sleep(1)
        return None

    def checks(self):
        nodes = ["db1", "db2", "db3"]
        acked = sorted(self.acked)
        # Every acknowledged order exists, on every node.
        for n in nodes:
            have = set()
            for i in range(0, len(acked), 500):
                part = acked[i:i + 500]
                have |= {r[0] for r in self.sql(n, "SELECT public_id FROM orders WHERE public_id"
                                                   " IN (%s)" % ",".join("'%s'" % o for o in part))}
            self.check(have == set(acked), "%s holds all %d acknowledged orders (missing %d)"
                       % (n, len(acked), len(set(acked) - have)))
        # No oversell: stock + what live orders hold = the initial stock, never below zero.
        for pid, _, initial, hot in DRILL_PRODUCTS:
            avail, held, paid = [int(x or 0) for x in self.sql("db1", (
                "SELECT s.available, (SELECT COALESCE(SUM(l.quantity - l.canceled_quantity), 0)"
                " FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.product_id = %d"
                " AND o.status IN ('PENDING','CONFIRMING','PAID','UNKNOWN')),"
                " (SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o ON"
                " o.id = l.order_id WHERE l.product_id = %d AND o.status = 'PAID')"
                " FROM stock s WHERE s.product_id = %d") % (pid, pid, pid))[0]]
            self.check(avail >= 0 and avail + held == initial and paid <= initial,
                       "product %d%s: %d in stock + %d held = %d initial, %d sold"
                       % (pid, " (hot)" if hot else "", avail, held, initial, paid))
        # The PG's approvals are exactly the PAID orders: one each, the order's amount.
        approvals = collections.defaultdict(list)
        with open(os.path.join(self.a.run, "hosts", "pg", "fakes", "pg-ledger.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                if r["kind"] == "approve":
                    approvals[r["order_id"]].append(r["amount"])
        paid = {r[0]: int(r[1]) for r in self.sql(
            "db1", "SELECT public_id, amount FROM orders WHERE status = 'PAID'")}
        doubles = [o for o, a in approvals.items() if len(a) > 1]
        self.check(not doubles, "no double charge (%d orders approved twice)" % len(doubles))
        self.check(set(approvals) == set(paid),
                   "PG approvals (%d) = PAID orders (%d); approved not paid %d, paid not approved %d"
                   % (len(approvals), len(paid), len(set(approvals) - set(paid)),
                      len(set(paid) - set(approvals))))
        wrong = [o for o in paid if approvals.get(o, [None])[0] != paid[o]]
        self.check(not wrong, "approved amount = order amount (%d differ)" % len(wrong))
        # One payments row and one settlement per PAID order (two janitors, two buses).
        rows = self.sql("db1", "SELECT (SELECT COUNT(*) FROM payments p JOIN orders o ON"
                        " o.id = p.order_id WHERE o.status = 'PAID'), (SELECT COUNT(DISTINCT"
                        " order_id) FROM payments), (SELECT COUNT(*) FROM settlements WHERE"
                        " kind = 'sale'), (SELECT COUNT(*) FROM outbox WHERE attempts > 1),"
                        " (SELECT COUNT(*) FROM outbox WHERE status = 'dead')")[0]
        npay, npay_orders, nsettle, retried, dead = map(int, rows)
        self.check(npay == len(paid) == npay_orders,
                   "one payments row per PAID order (%d rows, %d orders)" % (npay, len(paid)))
        self.check(nsettle == len(paid), "one settlement per PAID order (%d)" % nsettle)
        self.check(dead == 0, "no dead outbox job (%d; %d jobs were claimed more than once)"
                   % (dead, retried))
        self.counts["jobs_reclaimed"] = retried
        # The books balance on every node, and the nodes agree.
        ctl = os.path.join(self.cluster_cmd("root", "work1"), "usr", "bin", "jangteoctl")
        conf = self.cluster_cmd("conf", "work1")
        for n in nodes:
            env = dict(os.environ, JANGTEO_DB_SOCKET=os.path.join(self.a.run, "hosts", n,
                                                                  "mysql.sock"),
                       JANGTEO_LOG_FILE="-")
            out = subprocess.run([ctl, "--config", conf, "ledger-check"], capture_output=True,
                                 text=True, env=env, timeout=60)
            last = (out.stdout.strip().splitlines() or ["(no output)"])[-1]
            self.check(out.returncode == 0, "ledger-check on %s: %s" % (n, last))
        tables = "orders, order_lines, order_events, payments, stock, outbox, ledger_accounts," \
                 " ledger_transfers, settlements"
        sums = {n: self.sql(n, "CHECKSUM TABLE " + tables) for n in nodes}
        self.check(sums["db1"] == sums["db2"] == sums["db3"],
                   "the three nodes agree (CHECKSUM TABLE of %d tables)" % len(sums["db1"]))
        self.intruder_check()
        self.fcgi_peer_check()
        self.window_checks()

    def intruder_check(self):
        """A worker started on the client host with a key no broker lists gets no job; the
        broker logs the refusal."""
        root = self.cluster_cmd("root", "work1")
        conf = os.path.join(self.a.run, "intruder.conf")
        src = self.cluster_cmd("conf", "work1")
        with open(src) as f, open(conf, "w") as out:
            for line in f:
                if line.startswith("bus.curve_secret ="):
                    line = "bus.curve_secret = %s\n" % os.path.join(self.a.run, "keys",
                                                                   "intruder.key")
                if line.startswith("log.file ="):
                    line = "log.file = %s\n" % os.path.join(self.a.run, "intruder.log")
                out.write(line)
        logs = [os.path.join(self.a.run, "hosts", h, "log", "jangteo.log")
                for h in ("work1", "work2")]
        before = sum(open(p, errors="replace").read().count("refused a client") for p in logs)
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("client"),
                              os.path.join(root, "usr", "sbin", "jangteo-worker"), "--config",
                              conf, "--queue", "payment"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(2)
        p.terminate()
        p.wait(timeout=10)
        after = sum(open(p2, errors="replace").read().count("refused a client") for p2 in logs)
        self.check(after > before, "a worker with an unknown CURVE key is refused by the brokers"
                   " (%d refusals logged)" % (after - before))

    def fcgi_peer_check(self):
        """web1's FastCGI port serves lb only (fcgi.allowed_addrs): a request from the client
        host is closed unanswered, the same request from lb is answered."""
        def record(kind, content):
            return struct.pack("!BBHHBB", 1, kind, 1, len(content), 0, 0) + content

        params = b"".join(bytes([len(k), len(v)]) + k + v for k, v in (
            (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/healthz"),
            (b"SCRIPT_NAME", b"/healthz"), (b"QUERY_STRING", b""),
            (b"SERVER_PROTOCOL", b"HTTP/1.1")))
        req = (record(1, struct.pack("!HB5x", 1, 0)) + record(4, params) + record(4, b"") +
               record(5, b""))
        got = {}

        def ask(host):
            enter_ns(self.ns(host))
            try:
                c = socket.create_connection((self.ip["web1"], 9000), timeout=10)
                c.sendall(req)
                data = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                c.close()
                got[host] = data
            except OSError as e:
                got[host] = b"error: " + str(e).encode()
        for host in ("client", "lb"):
            t = threading.Thread(target=ask, args=(host,))
            t.start()
            t.join(timeout=20)
        refused = got.get("client") == b"" or b"reset by peer" in got.get("client", b"")
        self.check(refused and b"Status: 200" in got.get("lb", b""),
                   "web1 answers FastCGI from lb only (client: %s; lb: %d bytes)"
                   % ("closed unanswered" if refused else got.get("client"),
                      len(got.get("lb", b""))))

    def window_checks(self):
        outside = []
        per = {f[0]: [] for f in self.faults}
        for t, stage, detail in self.errors:
            owner = None
            for name, start, heal, _ in self.faults:
                if start <= t <= heal + WINDOW_GRACE:
                    owner = name
            if owner is None:
                outside.append((t, stage, detail))
            else:
                per[owner].append(t)
        self.windows = {}
        for name, start, heal, _ in self.faults:
            ts = per[name]
            self.windows[name] = (len(ts), (max(ts) - start) if ts else 0.0, heal - start)
        self.check(not outside, "errors only inside fault windows (%d outside%s)"
                   % (len(outside), (": first at %.1fs %s %s" % outside[0]) if outside else ""))

    # ---- the run ----------------------------------------------------------------------------

    def setup(self):
        global DRILL_PRODUCTS
        rows = self.sql("db1", "SELECT p.id, p.price, s.available FROM products p JOIN stock s"
                        " ON s.product_id = p.id WHERE p.description = 'drill' ORDER BY p.id")
        DRILL_PRODUCTS = [(int(r[0]), int(r[1]), int(r[2]), int(r[2]) == HOT_STOCK) for r in rows]
        self.sql("db1", "INSERT INTO users (email, name, role, status) VALUES " + ",".join(
            "('drill-%d@jangteo.test', '훈련 %d', 'shopper', 'active')" % (i, i)
            for i in range(SHOPPERS)))
        self.uids = [int(r[0]) for r in self.sql(
            "db1", "SELECT id FROM users WHERE email LIKE 'drill-%@jangteo.test' ORDER BY id")]

    def main(self):
        print("cluster drill: %d shoppers for %ds through lb %s; faults %s" % (
            SHOPPERS, self.a.seconds, self.ip["lb"], ", ".join(
                "%s@%ds" % (n, at) for at, n, _ in SCHEDULE)), flush=True)
        self.setup()
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.shopper, args=(u,), daemon=True)
                   for u in self.uids]
        for t in threads:
            t.start()
        try:
            self.run_faults()
            self.faults.sort(key=lambda f: f[1])
        finally:
            while self.now() < self.a.seconds:
                time.sleep(0.2)
            self.stop.set()
            for t in threads:
                t.join(timeout=60)
        load_seconds = self.now()
        drained = self.drain()
        print("checks:", flush=True)
        self.check(drained is not None, "drained (no CONFIRMING/UNKNOWN order, no pending job)"
                   " in %.1fs" % (drained or -1))
        self.checks()
        self.summary(load_seconds, drained)
        return 0 if not self.failures else 1

    def summary(self, load_seconds, drained):
        c = self.counts
        paid = int(self.sql("db1", "SELECT COUNT(*) FROM orders WHERE status = 'PAID'")[0][0])
        print("\n==== cluster drill summary ====")
        print("topology: lb, web1-2, work1-2, db1-3 (Galera), rds1-3 (Redis + Sentinel), pg,"
              " client; up in %ss" % self.a.up_seconds)
        print("load: %.0fs, %d orders acknowledged (%.1f/s), %d paid, %d returns answered,"
              " %d sold out, %d re-logins, %d given up" % (
                  load_seconds, c["acked"], c["acked"] / load_seconds, paid, len(self.returned),
                  c["sold_out"], c["relogin"], c["order_given_up"] + c["return_given_up"]))
        print("drain: %s; outbox jobs claimed more than once: %d" % (
            "%.1fs" % drained if drained is not None else "NOT DRAINED", c["jobs_reclaimed"]))
        print("%-9s %-6s %7s %7s %13s" % ("fault", "where", "lasted", "errors", "error window"))
        for name, start, heal, detail in self.faults:
            n, w, lasted = self.windows.get(name, (0, 0.0, heal - start))
            print("%-9s %-6s %6.1fs %7d %12.1fs" % (name, detail or name, lasted, n, w))
        reruns = collections.Counter()
        for h in ("web1", "web2", "work1", "work2"):
            with open(os.path.join(self.a.run, "hosts", h, "log", "jangteo.log"),
                      errors="replace") as f:
                for line in f:
                    if "db: rerunning transaction (" in line:
                        reruns[line.split("(", 1)[1].split(",")[0]] += 1
                    elif "connection lost during COMMIT" in line:
                        reruns["COMMIT answer lost (not rerun)"] += 1
        galera = collections.Counter()
        for n in ("db1", "db2", "db3"):
            for name, value in self.sql(n, "SHOW GLOBAL STATUS WHERE Variable_name IN"
                                           " ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')"):
                galera[name] += int(value)
        print("galera: %d certification failures, %d brute-force aborts (since each node's"
              " last start)" % (galera["wsrep_local_cert_failures"],
                                galera["wsrep_local_bf_aborts"]))
        print("transactions rerun: %s" % (", ".join("%d %s" % (n, why) for why, n in
                                                    sorted(reruns.items())) or "none"))
        print("errors outside windows: %d; checks failed: %d" % (
            sum(1 for e in self.errors) - sum(v[0] for v in self.windows.values()),
            len(self.failures)))
        print("RESULT: %s" % ("PASS" if not self.failures else "FAIL: " + "; ".join(self.failures)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--net", required=True)
    ap.add_argument("--seconds", type=int, default=70)
    ap.add_argument("--up-seconds", default="?")
    return Drill(ap.parse_args()).main()


if __name__ == "__main__":
    sys.exit(main())
