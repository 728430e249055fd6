#!/usr/bin/env python3
"""paid_pipeline: the paid-order pipeline end to end (issue 5's benchmark): Toss checkout
through the web server -> the shopper in the fake PG's payment window -> the PG's return to
the shop (success URL: CONFIRMING, payment.confirm job) -> a payment worker confirms at the
fake PG (no added latency) -> PAID (+ settle and notify jobs) -> settle.

    bench/paid_pipeline.py [--seconds 20] [--warmup 5] [--clients 48] [--users 512]
                           [--rate R] [--pg-nodelay] [--statements] [--keep]
                           [--port N]

Starts a private stack (script/stack, in a temporary run directory; build in $JT_BUILDDIR,
default _build; pools from JT_PREFORK, JT_PAY_WORKERS, JT_SETTLE_WORKERS, JT_NOTIFY_WORKERS,
and any JANGTEO_<KEY> config override, all passed through), makes --users shoppers (one
session each) and 8 products with plenty of stock, then runs --clients closed-loop shoppers
(asyncio, keep-alive connections to nginx and to the fake PG) for --warmup + --seconds. Each
shopper: POST /api/v1/orders (toss) -> GET the PG window with outcome=success (302) -> GET the
shop's success URL (200). Only the --seconds after the warm-up are measured.

Reports
  - returns/s: PG returns the shop accepted (CONFIRMING committed) in the window;
  - paid/s: orders whose PAID event committed in the window (the sustained rate only when it
    keeps up with the returns: the CONFIRMING backlog at the end says whether it did);
  - return -> PAID: p50/p99 from the moment the client sent the success URL to the PAID
    event's commit time (order_events.created_at), for the returns sent in the window;
  - PAID -> settled: from the PAID event to the settle job's completion (outbox.done_at),
    when the settle worker is real (else says it is a placeholder);
  - the outbox's jobs by kind and status after the drain, and how many are dead (a job given
    up is an effect lost: this must be 0);
  - CPU ms per paid order by program (utime + stime from /proc of every process the stack
    recorded in $JT_RUN/pids and their descendants, so nginx and FastCGI children count),
    the fake PG + SMTP sink process separately (Python, sharing the 2 cores), and this
    script's own CPU (the load generator); plus how busy the machine's cores were.
Stops exactly the stack it started. Standard library only."""
import argparse
import asyncio
import glob
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loadgen import Conn  # noqa: E402  (the benchmarks' one HTTP client)


# ---- the stack ---------------------------------------------------------------------------------

def sql(run, query):
    out = subprocess.run(["mariadb", "--socket=" + os.path.join(run, "mysql.sock"), "-ujangteo",
                          "-pjangteo", "jangteo", "-N", "-B", "-e", query],
                         check=True, stdout=subprocess.PIPE).stdout.decode("utf-8")
    return [line.split("\t") for line in out.splitlines()]


def stack_pids(run):
    """{pid: label} of every process the stack recorded and their descendants."""
    roots = set()
    for f in glob.glob(os.path.join(run, "pids", "*.pid")):
        with open(f) as fh:
            roots.update(int(x) for x in fh.read().split() if x.isdigit())
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as fh:
                    st = fh.read()
            except OSError:
                continue
            parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
    out = {}
    for pid in parent:
        p, hops = pid, 0
        while p > 1 and p not in roots and hops < 50:
            p, hops = parent.get(p, 0), hops + 1
        if p in roots:
            out[pid] = label(pid)
    return out


def label(pid):
    """A program name for the CPU table: the comm, the worker's queue, "fakes" for Python."""
    try:
        with open("/proc/%d/comm" % pid) as fh:
            comm = fh.read().strip()
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return "?"
    if comm == "jangteo-worker":
        for i, a in enumerate(argv):
            if a in (b"--queue", b"-q") and i + 1 < len(argv):
                return "worker:" + argv[i + 1].decode()
            if a.startswith(b"--queue="):
                return "worker:" + a[8:].decode()
    if comm.startswith("python"):
        return "fakes (python)"
    return comm


def ticks(pids):
    """{label: utime + stime ticks} over pids (a pid that is gone counts 0)."""
    out = {}
    for pid, lab in pids.items():
        try:
            with open("/proc/%d/stat" % pid) as fh:
                st = fh.read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        out[lab] = out.get(lab, 0) + int(f[11]) + int(f[12])
    return out


def machine_ticks():
    """(busy, total) jiffies of all cores from /proc/stat."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


DB_COUNTERS = ("Questions", "Com_select", "Com_insert", "Com_update", "Com_delete", "Com_commit",
               "Com_rollback", "Innodb_rows_read", "Innodb_rows_inserted", "Innodb_rows_updated",
               "Handler_read_rnd_next", "Handler_read_next", "Handler_read_key",
               "Innodb_log_writes", "Innodb_data_fsyncs")


def db_status(run):
    """The MariaDB server's counters named in DB_COUNTERS."""
    rows = sql(run, "SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
               % ",".join("'%s'" % k for k in DB_COUNTERS))
    return dict((r[0], int(r[1])) for r in rows)


def general_log(run, on):
    """Turns MariaDB's general query log (to $JT_RUN/general.log) on or off."""
    root = ["mariadb", "--socket=" + os.path.join(run, "mysql.sock"), "-uroot", "-e"]
    if on:
        subprocess.run(root + ["SET GLOBAL general_log_file = '%s'; SET GLOBAL log_output ="
                               " 'FILE'; SET GLOBAL general_log = 1"
                               % os.path.join(run, "general.log")], check=True)
    else:
        subprocess.run(root + ["SET GLOBAL general_log = 0"], check=True)


def statement_table(run, n):
    """Lines "count/order  statement" of the general log, most frequent first."""
    import re
    counts = {}
    try:
        fh = open(os.path.join(run, "general.log"), encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    with fh:
        for line in fh:
            m = re.match(r"^(?:\d{6} [\d:]+)?\s+\d+ (Execute|Query)\t(.*)", line)
            if not m:
                continue
            text = re.sub(r"\s+", " ", m.group(2)).strip()
            if text.startswith("SET GLOBAL"):
                continue
            key = text[:90]
            counts[key] = counts.get(key, 0) + 1
    return ["%6.2f  %s" % (c / float(n), k) for k, c in
            sorted(counts.items(), key=lambda kv: -kv[1])]


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


# ---- the shoppers ------------------------------------------------------------------------------

async def shopper(i, port, pg_port, sessions, products, stop, log, pace):
    shop = Conn("127.0.0.1", port)
    pg = Conn("127.0.0.1", pg_port)
    n = i
    while not stop.is_set():
        if pace["interval"] > 0:
            # Open loop: starts are spaced 1/rate apart across all shoppers.
            now = time.monotonic()
            slot = max(now, pace["next"])
            pace["next"] = slot + pace["interval"]
            if slot > now:
                await asyncio.sleep(slot - now)
            if stop.is_set():
                break
        sid, csrf = sessions[n % len(sessions)]
        pid = products[n % len(products)]
        n += 7919
        body = json.dumps({"products": [{"id": pid, "quantity": 1}],
                           "paymentMethod": "toss"}).encode()
        t0 = time.time()
        st, _, data = await shop.request("POST", "/api/v1/orders", {
            "Content-Type": "application/json", "Cookie": "jt_sid=" + sid,
            "X-CSRF-Token": csrf}, body)
        if st != 201:
            log["errors"].append("checkout %d %r" % (st, data[:200]))
            await asyncio.sleep(0.05)
            continue
        o = json.loads(data)
        u = urllib.parse.urlsplit(o["payment"]["redirectUrl"])
        st, hdrs, data = await pg.request("GET", u.path + "?" + u.query + "&outcome=success")
        if st != 302:
            log["errors"].append("pg window %d %r" % (st, data[:200]))
            continue
        back = urllib.parse.urlsplit(hdrs["location"])
        t_ret = time.time()
        st, _, data = await shop.request("GET", back.path + "?" + back.query,
                                         {"Cookie": "jt_sid=" + sid})
        t_end = time.time()
        if st != 200:
            log["errors"].append("return %d %r" % (st, data[:200]))
            continue
        log["orders"].append((o["orderId"], t0, t_ret, t_end))


async def drive(args, port, pg_port, sessions, products, on_window):
    stop = asyncio.Event()
    log = {"orders": [], "errors": []}
    pace = {"interval": 1.0 / args.rate if args.rate > 0 else 0.0, "next": time.monotonic()}
    tasks = [asyncio.create_task(shopper(i, port, pg_port, sessions, products, stop, log, pace))
             for i in range(args.clients)]
    await asyncio.sleep(args.warmup)
    w0 = on_window("start")
    await asyncio.sleep(args.seconds)
    w1 = on_window("end")
    stop.set()
    done, pending = await asyncio.wait(tasks, timeout=30)
    for t in pending:
        t.cancel()
    for t in done:
        if t.exception() is not None:
            log["errors"].append("shopper died: %r" % t.exception())
    return log, w0, w1


# ---- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--clients", type=int, default=48)
    ap.add_argument("--users", type=int, default=512)
    ap.add_argument("--rate", type=float, default=0,
                    help="orders started per second (open loop); 0: as fast as the clients go")
    ap.add_argument("--port", type=int, default=int(os.environ.get("JT_HTTP_PORT", "18340")))
    ap.add_argument("--keep", action="store_true", help="leave the stack running (prints it)")
    ap.add_argument("--statements", action="store_true",
                    help="log MariaDB's statements during the window and print them per order")
    ap.add_argument("--pg-nodelay", action="store_true",
                    help="run the fakes through bench/fakes_nodelay.py (TCP_NODELAY)")
    args = ap.parse_args()

    run = tempfile.mkdtemp(prefix="jt-paid.", dir="/tmp")
    os.chmod(run, 0o755)
    env = dict(os.environ, JT_RUN=run, JT_HTTP_PORT=str(args.port),
               JT_BUILDDIR=os.environ.get("JT_BUILDDIR", os.path.join(REPO, "_build")))
    env.pop("JT_TEST_ROUTES", None)
    stack = os.path.join(REPO, "script", "stack")
    with open(os.path.join(run, "stack.log"), "w") as log:
        if subprocess.run([stack, "start"], env=env, stdout=log, stderr=log).returncode != 0:
            print(open(os.path.join(run, "stack.log")).read(), file=sys.stderr)
            subprocess.run([stack, "stop"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            return 1
    try:
        if args.pg_nodelay:
            nodelay_fakes(run, env, stack)
        return bench(run, env, args)
    finally:
        if args.keep:
            print("stack left running: JT_RUN=%s JT_HTTP_PORT=%d (stop it with script/stack"
                  " stop%s)" % (run, args.port, ", and kill the pid in pids/benchfakes.pid"
                                if args.pg_nodelay else ""))
        else:
            stop_own_fakes(run)
            subprocess.run([stack, "stop"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            subprocess.run(["rm", "-rf", run])


def nodelay_fakes(run, env, stack):
    """Replaces the stack's fakes by bench/fakes_nodelay.py on the same ports; its pid goes
    to $JT_RUN/pids/benchfakes.pid (counted in the CPU table, stopped by stop_own_fakes)."""
    subprocess.run([stack, "stop", "fakes"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    port = int(env["JT_HTTP_PORT"])
    ready = os.path.join(run, "fakes", "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    log = open(os.path.join(run, "log", "benchfakes.log"), "a")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "bench", "fakes_nodelay.py"),
                          "--run", run, "--smtp-port", str(port + 25), "--oauth-port",
                          str(port + 1), "--pg-port", str(port + 2), "--naver-port",
                          str(port + 3), "--alimtalk-port", str(port + 4)],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    with open(os.path.join(run, "pids", "benchfakes.pid"), "w") as fh:
        fh.write("%d\n" % p.pid)
    deadline = time.time() + 20
    while not os.path.exists(ready):
        if p.poll() is not None or time.time() > deadline:
            raise RuntimeError("bench/fakes_nodelay.py did not start (see %s)" % log.name)
        time.sleep(0.1)


def stop_own_fakes(run):
    """Stops the fakes nodelay_fakes started (by its recorded pid), if any."""
    f = os.path.join(run, "pids", "benchfakes.pid")
    try:
        with open(f) as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 15)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    os.unlink(f)


def bench(run, env, args):
    port = args.port
    pg_port = int(env.get("JT_PG_PORT", port + 2))
    sql(run, "INSERT INTO sellers (name) VALUES ('paid-bench-seller');"
             "INSERT INTO products (seller_id, name, description, price)"
             " SELECT LAST_INSERT_ID(), CONCAT('파이프라인 상품 ', seq), '벤치마크용', 1000 * seq"
             " FROM seq_1_to_8;"
             "INSERT INTO stock (product_id, available) SELECT id, 1000000000 FROM products"
             " WHERE name LIKE '파이프라인 상품 %%';"
             "INSERT INTO users (email, name, status) SELECT CONCAT('paid', seq,"
             " '@jangteo.test'), CONCAT('구매자', seq), 'active' FROM seq_1_to_%d;" % args.users)
    products = [int(r[0]) for r in sql(run, "SELECT id FROM products WHERE name LIKE"
                                            " '파이프라인 상품 %' ORDER BY id")]
    uids = [int(r[0]) for r in sql(run, "SELECT id FROM users WHERE email LIKE 'paid%'"
                                        " ORDER BY id")]
    sessions, lines = [], []
    for uid in uids:
        sid, csrf = secrets.token_hex(20), secrets.token_hex(20)
        sessions.append((sid, csrf))
        lines.append("HSET sess:%s user %d role shopper name bench csrf %s\nEXPIRE sess:%s 86400\n"
                     % (sid, uid, csrf, sid))
    subprocess.run(["redis-cli", "-s", os.path.join(run, "redis.sock")],
                   input="".join(lines).encode(), check=True, stdout=subprocess.DEVNULL)
    settle_real = "placeholder" not in open(os.path.join(REPO, "workers",
                                                         "job_settle.c")).readline()

    marks = {}

    def on_window(which):
        if args.statements:
            general_log(run, which == "start")
        pids = stack_pids(run)
        marks[which] = (time.time(), ticks(pids), machine_ticks(), os.times(), db_status(run),
                        os.getloadavg()[0])
        return marks[which]

    log, w0, w1 = asyncio.run(drive(args, port, pg_port, sessions, products, on_window))
    t_w0, t_w1 = w0[0], w1[0]
    window = t_w1 - t_w0

    backlog_end = int(sql(run, "SELECT COUNT(*) FROM orders WHERE status = 'CONFIRMING'")[0][0])
    t_drain0 = time.time()
    deadline = t_drain0 + 120
    while time.time() < deadline:
        left = int(sql(run, "SELECT COUNT(*) FROM orders WHERE status = 'CONFIRMING'")[0][0])
        if left == 0:
            break
        time.sleep(0.5)
    drained = time.time() - t_drain0

    # PAID commit times of the orders returned in the window (and the counts in the window).
    paid_at = {}
    for oid, ts in sql(run, "SELECT o.public_id, UNIX_TIMESTAMP(e.created_at) FROM order_events"
                            " e JOIN orders o ON o.id = e.order_id WHERE e.to_status = 'PAID'"):
        paid_at[oid] = float(ts)
    paid_in_window = sum(1 for t in paid_at.values() if t_w0 <= t < t_w1)
    returned = [(oid, t0, tr, te) for oid, t0, tr, te in log["orders"] if t_w0 <= te < t_w1]
    lat = [(paid_at[oid] - tr) * 1000 for oid, _, tr, _ in returned if oid in paid_at]
    never = sum(1 for oid, _, _, _ in returned if oid not in paid_at)
    loop = [(te - t0) * 1000 for _, t0, _, te in returned]
    ret_ms = [(te - tr) * 1000 for _, _, tr, te in returned]
    statuses = dict((r[0], int(r[1])) for r in sql(
        run, "SELECT status, COUNT(*) FROM orders GROUP BY status"))
    jobs = dict(("%s %s" % (r[0], r[1]), int(r[2])) for r in sql(
        run, "SELECT kind, status, COUNT(*) FROM outbox GROUP BY kind, status"))
    approvals = 0
    try:
        with open(os.path.join(run, "fakes", "pg-ledger.jsonl")) as fh:
            approvals = sum(1 for line in fh if '"approve"' in line)
    except FileNotFoundError:
        pass

    settle_line = "settle: workers/job_settle.c is a placeholder; measured to PAID only"
    if settle_real:
        rows = sql(run, "SELECT UNIX_TIMESTAMP(x.done_at) - UNIX_TIMESTAMP(e.created_at)"
                        " FROM outbox x JOIN orders o ON x.kind = 'settle' AND x.status = 'done'"
                        " AND x.payload = CONCAT('{\"orderId\":\"', o.public_id, '\"}')"
                        " JOIN order_events e ON e.order_id = o.id AND e.to_status = 'PAID'"
                        " WHERE o.pay_method = 'toss'")
        st = [float(r[0]) * 1000 for r in rows]
        settle_line = ("PAID -> settled: %d settled, p50 %.0f ms, p99 %.0f ms"
                       % (len(st), pct(st, 50), pct(st, 99)))

    cpu = {k: w1[1].get(k, 0) - w0[1].get(k, 0) for k in set(w0[1]) | set(w1[1])}
    client_s = (w1[3].user + w1[3].system) - (w0[3].user + w0[3].system)
    busy = (w1[2][0] - w0[2][0]) / float(w1[2][1] - w0[2][1]) if w1[2][1] > w0[2][1] else 0
    n = max(paid_in_window, 1)
    per = {k: v * 1000.0 / TICK / n for k, v in cpu.items() if v > 0}
    stack_ms = sum(v for k, v in per.items() if k != "fakes (python)")

    if args.pg_nodelay:
        print("fake PG and SMTP sink with TCP_NODELAY (bench/fakes_nodelay.py)")
    print("paid-order pipeline: %d cores, %.0f s measured after %.0f s warm-up, %d clients,"
          " %d shoppers; prefork %s, pay workers %s, settle workers %s, notify workers %s"
          % (os.cpu_count(), window, args.warmup, args.clients, len(uids),
             env.get("JT_PREFORK", "4"), env.get("JT_PAY_WORKERS", "2"),
             env.get("JT_SETTLE_WORKERS", "1"), env.get("JT_NOTIFY_WORKERS", "2")))
    overrides = sorted(k for k in env if k.startswith("JANGTEO_"))
    if overrides:
        print("config overrides: %s" % ", ".join("%s=%s" % (k, env[k]) for k in overrides))
    if args.rate > 0:
        print("offered: %.0f checkouts/s (open loop)" % args.rate)
    print("returns accepted: %.0f/s   paid: %.0f/s   (window: %d returns, %d PAID)"
          % (len(returned) / window, paid_in_window / window, len(returned), paid_in_window))
    print("CONFIRMING backlog at the end of the window: %d, drained in %.1f s"
          % (backlog_end, drained))
    print("return -> PAID: p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%d orders; %d not PAID)"
          % (pct(lat, 50), pct(lat, 99), max(lat) if lat else float("nan"), len(lat), never))
    print("shopper loop (checkout + PG window + return): p50 %.1f ms  p99 %.1f ms;"
          " the return alone: p50 %.1f ms  p99 %.1f ms"
          % (pct(loop, 50), pct(loop, 99), pct(ret_ms, 50), pct(ret_ms, 99)))
    print(settle_line)
    print("CPU ms per paid order: stack %.2f, fake PG + SMTP sink (python) %.2f, load generator"
          " %.2f; the 2 cores were %.0f%% busy"
          % (stack_ms, per.get("fakes (python)", 0), client_s * 1000 / n, busy * 100))
    print("  by program:" + "".join("  %s %.3f" % (k, v) for k, v in
                                    sorted(per.items(), key=lambda kv: -kv[1])))
    print("MariaDB per paid order: " + ", ".join(
        "%s %.1f" % (k, (w1[4][k] - w0[4][k]) / float(n)) for k in DB_COUNTERS if k in w1[4]))
    print("load average (1 min) at the start and end of the window: %.1f, %.1f (other"
          " processes on the machine compete for the same cores)" % (w0[5], w1[5]))
    print("orders by status: %s; approvals at the PG: %d"
          % (", ".join("%s %d" % kv for kv in sorted(statuses.items())), approvals))
    print("outbox jobs by kind and status after the drain: %s; dead jobs: %d"
          % (", ".join("%s %d" % kv for kv in sorted(jobs.items())),
             sum(v for k, v in jobs.items() if k.endswith(" dead"))))
    if args.statements:
        print("statements per paid order (MariaDB general log, window only):")
        for line in statement_table(run, n):
            print("  " + line)
    if log["errors"]:
        print("errors: %d, first: %s" % (len(log["errors"]), log["errors"][0]))
    return 0 if statuses.get("PAID", 0) == approvals and not never else 1


if __name__ == "__main__":
    sys.exit(main())
