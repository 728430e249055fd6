#!/usr/bin/env bash
# artillery.sh: seed 004's Artillery load test (bench/artillery/seed004.yml) against a private
# jangteo stack: checkout (Toss) -> the fake Toss window -> the PG's return -> poll until PAID,
# at a constant arrival rate.
#
#   bench/artillery-setup.sh                    # once: installs Artillery (npm)
#   bench/artillery.sh [rate/s, default 50] [seconds, default 30]
#
# Starts the stack (script/stack, as shipped: default pools, in a temporary run directory;
# build in $JT_BUILDDIR, default _build; port $JT_HTTP_PORT, default 18320), makes 512 shoppers
# (one session each, written where lib/shop/session.c reads them) and 8 products with plenty
# of stock, writes their sessions to a CSV payload, runs Artillery (a 5 s warm-up at 10/s,
# then rate/s for the given seconds), prints Artillery's summary (response times, codes,
# return_to_paid: PG return -> PAID as the shopper's poll saw it), then the database's view:
# orders by status, PAID orders without a payments row, outbox jobs not done. Stops exactly
# what it started.
set -euo pipefail

RATE=${1:-50}
SECONDS_RUN=${2:-30}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ART=$REPO/bench/artillery/node_modules/.bin/artillery
[[ -x $ART ]] || { echo "artillery.sh: run bench/artillery-setup.sh first" >&2; exit 1; }
export JT_REPO=$REPO
export JT_BUILDDIR=${JT_BUILDDIR:-$REPO/_build}
export JT_HTTP_PORT=${JT_HTTP_PORT:-18320}
unset JT_TEST_ROUTES
JT_RUN=$(mktemp -d /tmp/jangteo-artillery.XXXXXX)
chmod 755 "$JT_RUN"
export JT_RUN
WORK=$JT_RUN/bench
mkdir -p "$WORK"

cleanup() {
	"$REPO/script/stack" stop >/dev/null 2>&1 || true
	rm -rf "$JT_RUN"
}
trap cleanup EXIT

"$REPO/script/stack" start >"$WORK/stack.log" 2>&1 || { cat "$WORK/stack.log" >&2; exit 1; }

db() {
	mariadb --socket="$JT_RUN/mysql.sock" -ujangteo -pjangteo jangteo -N -B -e "$1"
}

NUSERS=512
db "INSERT INTO sellers (name) VALUES ('artillery-seller');
    INSERT INTO users (email, name, status, points)
      SELECT CONCAT('art', seq, '@jangteo.test'), CONCAT('부하', seq), 'active', 0
      FROM seq_1_to_${NUSERS};
    INSERT INTO products (seller_id, name, description, price)
      SELECT (SELECT id FROM sellers WHERE name = 'artillery-seller'), CONCAT('김치 ', seq),
             '부하 테스트', 1000 * seq FROM seq_1_to_8;
    INSERT INTO stock (product_id, available)
      SELECT id, 1000000000 FROM products WHERE name LIKE '김치 %';"
mapfile -t UIDS < <(db "SELECT id FROM users WHERE email LIKE 'art%@jangteo.test' ORDER BY id")
mapfile -t PIDS < <(db "SELECT id FROM products WHERE name LIKE '김치 %' ORDER BY id")

# One session per shopper, in one redis-cli pipe; the CSV payload names it and a product.
: >"$WORK/redis.txt"
: >"$WORK/sessions.csv"
i=0
for uid in "${UIDS[@]}"; do
	sid=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
	csrf=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf 'HSET sess:%s user %s role shopper name artillery csrf %s\nEXPIRE sess:%s 86400\n' \
		"$sid" "$uid" "$csrf" "$sid" >>"$WORK/redis.txt"
	echo "$sid,$csrf,${PIDS[$((i % ${#PIDS[@]}))]}" >>"$WORK/sessions.csv"
	i=$((i + 1))
done
redis-cli -s "$JT_RUN/redis.sock" <"$WORK/redis.txt" >/dev/null

echo "artillery.sh: $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)," \
	"warm-up 5 s at 10/s, then ${SECONDS_RUN} s at ${RATE}/s"
JT_TARGET=http://127.0.0.1:$JT_HTTP_PORT JT_RATE=$RATE JT_SECONDS=$SECONDS_RUN \
	JT_SESSIONS=$(realpath --relative-to="$REPO/bench/artillery" "$WORK/sessions.csv") ARTILLERY_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 \
	"$ART" run --output "$WORK/report.json" "$REPO/bench/artillery/seed004.yml" \
	>"$WORK/artillery.out" 2>&1 || { tail -50 "$WORK/artillery.out" >&2; exit 1; }
# Artillery's final summary (everything after its last "Summary report").
awk '/Summary report/ {buf = ""} !/^Log file:/ {buf = buf $0 "\n"} END {printf "%s", buf}' "$WORK/artillery.out"
sleep 2
echo "database: orders by status: $(db "SELECT GROUP_CONCAT(CONCAT(status, ' ', n) SEPARATOR ', ')
	FROM (SELECT status, COUNT(*) AS n FROM orders GROUP BY status) s")"
echo "database: PAID without a payments row: $(db "SELECT COUNT(*) FROM orders o WHERE o.status =
	'PAID' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id)");" \
	"outbox jobs not done: $(db "SELECT COUNT(*) FROM outbox WHERE status <> 'done'")"
