#!/usr/bin/env python3
"""flash_sale: 10,000 buyers race for 1,000 units of one product through the web server;
exactly 1,000 must be sold, none oversold, and every other buyer told "sold out" (409).

    bench/flash_sale.py [--buyers 10000] [--units 1000] [--clients 64]

Starts a private stack (script/stack, in a temporary run directory; build in $JT_BUILDDIR,
default _build), makes the buyers (one user and one session each, with points) and the
product, then sends one points checkout per buyer from --clients concurrent keep-alive
connections (bench/loadgen.py, asyncio), all released at once. Prints the wall time,
checkouts per second, the outcome counts, the CPU per checkout of the stack's processes by
program, of the fakes and of this load generator, and MariaDB's statements per checkout;
checks the database, and stops exactly the stack it started. Exit status 1 when anything was
oversold or lost. Standard library only."""
import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loadgen import Conn  # noqa: E402
from paid_pipeline import TICK, db_status, stack_pids, ticks  # noqa: E402


POINTS = 100000   # each buyer's points before the sale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--buyers", type=int, default=10000)
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--legacy-points", action="store_true",
                    help="write the buyers' points straight into users.points (balances from"
                         " before the ledger: each sale then opens its buyer's points account)"
                         " instead of charging them through the shop")
    args = ap.parse_args()

    run = tempfile.mkdtemp(prefix="jangteo-flash.")
    os.chmod(run, 0o755)
    # Each buyer pays exactly the price (the check below): no shipping fee in this shop.
    env = dict(os.environ, JT_RUN=run, JT_TEST_ROUTES="1", JANGTEO_SHIPPING_FEE="0",
               JT_HTTP_PORT=os.environ.get("JT_HTTP_PORT", "18310"),
               JT_BUILDDIR=os.environ.get("JT_BUILDDIR", os.path.join(REPO, "_build")))
    port = int(env["JT_HTTP_PORT"])
    stack = os.path.join(REPO, "script", "stack")
    with open(os.path.join(run, "stack.log"), "w") as log:
        if subprocess.run([stack, "start"], env=env, stdout=log, stderr=log).returncode != 0:
            print(open(os.path.join(run, "stack.log")).read(), file=sys.stderr)
            return 1
    try:
        return race(run, port, args)
    finally:
        subprocess.run([stack, "stop"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", run])


def sql(run, query):
    out = subprocess.run(["mariadb", "--socket=" + os.path.join(run, "mysql.sock"), "-ujangteo",
                          "-pjangteo", "jangteo", "-N", "-B", "-e", query],
                         check=True, stdout=subprocess.PIPE).stdout.decode("utf-8")
    return [line.split("\t") for line in out.splitlines()]


def race(run, port, args):
    n = args.buyers
    sql(run, "INSERT INTO sellers (name) VALUES ('flash-seller');"
             "INSERT INTO products (seller_id, name, description, price) VALUES"
             " (LAST_INSERT_ID(), '한정판 상품', '플래시 세일', 9900);"
             "INSERT INTO stock (product_id, available) VALUES (LAST_INSERT_ID(), %d);"
             "INSERT INTO users (email, name, status, points) SELECT"
             " CONCAT('flash', seq, '@jangteo.test'), CONCAT('구매자', seq), 'active', %d"
             " FROM seq_1_to_%d;" % (args.units, POINTS if args.legacy_points else 0, n))
    pid = int(sql(run, "SELECT id FROM products WHERE name = '한정판 상품'")[0][0])
    uids = [int(r[0]) for r in sql(run, "SELECT id FROM users WHERE email LIKE 'flash%' ORDER BY id")]

    # One session per buyer, written the way lib/shop/session.c reads it, in one redis-cli pipe.
    sessions = []
    lines = []
    for uid in uids:
        sid, csrf = secrets.token_hex(20), secrets.token_hex(20)
        sessions.append((sid, csrf))
        lines.append("HSET sess:%s user %d role shopper name flash csrf %s\nEXPIRE sess:%s 3600\n"
                     % (sid, uid, csrf, sid))
    subprocess.run(["redis-cli", "-s", os.path.join(run, "redis.sock")],
                   input="".join(lines).encode(), check=True, stdout=subprocess.DEVNULL)

    if not args.legacy_points:
        charged = asyncio.run(charge_all(port, uids, sessions, args.clients))
        if charged != n:
            print("charging the buyers' points: %d of %d answered 200" % (charged, n),
                  file=sys.stderr)
            return 1

    body = json.dumps({"products": [{"id": pid, "quantity": 1}],
                       "paymentMethod": "points"}).encode()
    results = [0] * n
    pids = stack_pids(run)
    cpu0, db0, me0 = ticks(pids), db_status(run), os.times()
    wall = asyncio.run(buy_all(port, sessions, body, results, args.clients))
    cpu1, db1, me1 = ticks(pids), db_status(run), os.times()

    sold = int(sql(run, "SELECT IFNULL(SUM(l.quantity), 0) FROM order_lines l JOIN orders o"
                        " ON o.id = l.order_id WHERE l.product_id = %d AND o.status = 'PAID'"
                        % pid)[0][0])
    left = int(sql(run, "SELECT available FROM stock WHERE product_id = %d" % pid)[0][0])
    spent = int(sql(run, "SELECT %d * %d - SUM(points) FROM users WHERE email LIKE 'flash%%'"
                         % (n, POINTS))[0][0])
    codes = {}
    for c in results:
        codes[c] = codes.get(c, 0) + 1
    print("flash sale: %d buyers, %d units, %d clients: %.2f s wall, %.0f checkouts/s"
          % (n, args.units, args.clients, wall, n / wall))
    print("buyers' points: %s" % ("written into users.points (legacy: each sale opens its"
                                   " buyer's ledger account)" if args.legacy_points else
                                   "charged through the shop before the sale"))
    print("answers: %s" % ", ".join("%d x %s" % (v, k) for k, v in sorted(codes.items())))
    print("sold %d, left %d, points spent %d won (= %d x 9,900)" % (sold, left, spent, sold))
    ok = (sold == args.units and left == 0 and codes.get(201, 0) == args.units and
          codes.get(409, 0) == n - args.units and spent == sold * 9900)
    print("CPU ms per checkout: %s" % cpu_line(cpu0, cpu1, n))
    print("  load generator (this script) %.3f; load average %.1f"
          % (((me1.user - me0.user) + (me1.system - me0.system)) * 1000.0 / n,
             os.getloadavg()[0]))
    print("MariaDB statements (Questions) per checkout: %.1f"
          % ((db1["Questions"] - db0["Questions"]) / float(n)))
    print("exactly %d sold, none oversold: %s" % (args.units, "yes" if ok else "NO"))
    return 0 if ok else 1


async def each_buyer(port, sessions, clients, path_of, body, extra=None):
    """One POST of body per buyer (to path_of(i), signed in as sessions[i], with the headers
    extra(i) adds) from clients keep-alive connections; each buyer's HTTP status, in order."""
    results = [0] * len(sessions)
    next_buyer = [0]

    async def client():
        conn = Conn("127.0.0.1", port)
        while next_buyer[0] < len(sessions):
            i = next_buyer[0]
            next_buyer[0] += 1
            sid, csrf = sessions[i]
            headers = {"Content-Type": "application/json", "Cookie": "jt_sid=" + sid,
                       "X-CSRF-Token": csrf}
            headers.update(extra(i) if extra else {})
            results[i], _, _ = await conn.request("POST", path_of(i), headers, body)
        conn.close()

    await asyncio.gather(*[client() for _ in range(clients)])
    return results


async def charge_all(port, uids, sessions, clients):
    """Each buyer charges POINTS through the shop (POST /api/v1/users/{id}/charge, as a buyer
    tops up before a sale: the points and their ledger account made together). The number
    answered 200."""
    body = json.dumps({"chargeAmount": POINTS}).encode()
    results = await each_buyer(port, sessions, clients,
                               lambda i: "/api/v1/users/%d/charge" % uids[i], body,
                               lambda i: {"Idempotency-Key": "flash-charge-%d" % uids[i]})
    return sum(1 for st in results if st == 200)


async def buy_all(port, sessions, body, results, clients):
    """One checkout per session from clients keep-alive connections, statuses into results;
    the wall seconds."""
    t0 = time.monotonic()
    results[:] = await each_buyer(port, sessions, clients, lambda i: "/api/v1/orders", body)
    return time.monotonic() - t0


def cpu_line(before, after, n):
    """"program ms ..., stack total" per checkout between two ticks() snapshots."""
    per = {}
    for lab, t in after.items():
        per[lab] = (t - before.get(lab, 0)) * 1000.0 / TICK / n
    stack = sum(v for k, v in per.items() if not k.startswith("fakes"))
    return "  ".join("%s %.3f" % (k, v) for k, v in sorted(per.items(), key=lambda kv: -kv[1])
                     if v > 0) + "; stack %.3f" % stack


if __name__ == "__main__":
    sys.exit(main())
