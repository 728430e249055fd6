#!/usr/bin/env bash
# checkout.sh: checkout throughput and latency through the web server, next to the same
# machine's "FastCGI hello + one MariaDB commit" baseline, measured the same way in the same run.
#
#   bench/checkout.sh [seconds per run, default 15] [connections, default 64]
#
# Starts a private stack (script/stack, test routes on) in a temporary run directory, makes 64
# shoppers with plenty of points and 8 products with plenty of stock, then drives with wrk:
#   baseline  POST /api/v1/_test/commit: one autocommitted INSERT, no session
#   checkout  POST /api/v1/orders with a session cookie and CSRF token: a points checkout of
#             one product (order + line + event + stock reservation + points + sale count +
#             settle job, one transaction), the full path a shopper takes
# and prints requests/s, p50/p99 (wrk --latency) and CPU time per request of the stack's
# processes (MariaDB, Redis, FastCGI, nginx: /proc/<pid>/stat of every process whose command
# line names the run directory, so wrk's own CPU is not counted). Stops exactly what it started.
# Needs wrk (script/setup installs it) and a build in $JT_BUILDDIR (default _build) configured
# with --enable-test-routes (script/setup's is).
set -euo pipefail

SECONDS_PER_RUN=${1:-15}
CONNS=${2:-64}
THREADS=2
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export JT_REPO=$REPO
export JT_BUILDDIR=${JT_BUILDDIR:-$REPO/_build}
export JT_HTTP_PORT=${JT_HTTP_PORT:-18300}
export JT_TEST_ROUTES=1
JT_RUN=$(mktemp -d /tmp/jangteo-bench.XXXXXX)
chmod 755 "$JT_RUN"
export JT_RUN
WORK=$JT_RUN/bench
mkdir -p "$WORK"

command -v wrk >/dev/null || { echo "checkout.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[[ -x $JT_BUILDDIR/fcgi/jangteo-fcgi ]] || { echo "checkout.sh: no build in $JT_BUILDDIR" >&2; exit 1; }
# The baseline is a test-only route: the build must have them (script/setup's build does).
grep -q '^#define JT_TEST_ROUTES 1' "$JT_BUILDDIR/config.h" || {
	echo "checkout.sh: $JT_BUILDDIR was configured without --enable-test-routes" \
		"(the baseline needs POST /api/v1/_test/commit); run script/setup" >&2
	exit 1
}

cleanup() {
	"$REPO/script/stack" stop >/dev/null 2>&1 || true
	rm -rf "$JT_RUN"
}
trap cleanup EXIT

"$REPO/script/stack" start >"$WORK/stack.log" 2>&1 || { cat "$WORK/stack.log" >&2; exit 1; }

db() {
	mariadb --socket="$JT_RUN/mysql.sock" -ujangteo -pjangteo jangteo -N -B -e "$1"
}
rcli() {
	redis-cli -s "$JT_RUN/redis.sock" "$@"
}

# ---- data: 64 shoppers, 8 products ------------------------------------------------------------
NUSERS=64
db "INSERT INTO sellers (name) VALUES ('bench-seller');
    INSERT INTO users (email, name, status, points)
      SELECT CONCAT('bench', seq, '@jangteo.test'), CONCAT('벤치', seq), 'active', 1000000000000
      FROM seq_1_to_${NUSERS};
    INSERT INTO products (seller_id, name, description, price)
      SELECT (SELECT id FROM sellers WHERE name = 'bench-seller'), CONCAT('벤치 상품 ', seq),
             '벤치마크용', 1000 * seq FROM seq_1_to_8;
    INSERT INTO stock (product_id, available)
      SELECT id, 1000000000 FROM products WHERE name LIKE '벤치 상품 %';"
mapfile -t UIDS < <(db "SELECT id FROM users WHERE email LIKE 'bench%@jangteo.test' ORDER BY id")
mapfile -t PIDS < <(db "SELECT id FROM products WHERE name LIKE '벤치 상품 %' ORDER BY id")

# One session per shopper, written the way lib/shop/session.c reads it.
{
	echo "return {"
	for uid in "${UIDS[@]}"; do
		sid=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
		csrf=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
		rcli HSET "sess:$sid" user "$uid" role shopper name bench csrf "$csrf" >/dev/null
		rcli EXPIRE "sess:$sid" 86400 >/dev/null
		echo "  { sid = \"$sid\", csrf = \"$csrf\" },"
	done
	echo "}"
} >"$WORK/sessions.lua"

cat >"$WORK/checkout.lua" <<EOF
-- Each request: the next shopper's session, one unit of the next product, paid with points.
local sessions = dofile("$WORK/sessions.lua")
local products = { $(IFS=,; echo "${PIDS[*]}") }
local n = 0
local tid = 0
setup = function(thread)
  thread:set("tid", tid)
  tid = tid + 1
end
request = function()
  n = n + 1
  local s = sessions[((n * $THREADS + tid) % #sessions) + 1]
  local p = products[(n % #products) + 1]
  return wrk.format("POST", "/api/v1/orders", {
    ["Content-Type"] = "application/json",
    ["Cookie"] = "jt_sid=" .. s.sid,
    ["X-CSRF-Token"] = s.csrf,
  }, '{"products":[{"id":' .. p .. ',"quantity":1}],"paymentMethod":"points"}')
end
EOF

cat >"$WORK/baseline.lua" <<'EOF'
request = function()
  return wrk.format("POST", "/api/v1/_test/commit", { ["Content-Type"] = "application/json" }, "{}")
end
EOF

# ---- measuring ----------------------------------------------------------------------------------
# Clock ticks of user + system time of every process whose command line names the run
# directory, one "comm ticks" line per process.
stack_ticks() {
	local p stat rest comm
	for p in /proc/[0-9]*; do
		[[ -r $p/cmdline ]] || continue
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$JT_RUN"; then
			stat=$(cat "$p/stat" 2>/dev/null) || continue
			comm=${stat#*(}
			comm=${comm%%)*}
			rest=${stat##*) }
			read -r -a f <<<"$rest"
			echo "$comm $(( f[11] + f[12] ))"
		fi
	done
}

# Per program: CPU ms per request between two stack_ticks snapshots.
cpu_breakdown() {
	awk -v n="$3" -v t="$(getconf CLK_TCK)" '
		FNR == NR { before[$1] += $2; next }
		{ after[$1] += $2 }
		END {
			for (c in after) { d = after[c] - before[c]; total += d
				if (d > 0) printf "  %s %.3f", c, d * 1000 / t / n }
			printf "\n"
		}' "$1" "$2"
}

# The FastCGI children do not name the run directory themselves when forked by prefork: their
# parent's command line does, and fork copies it, so they are counted too.
run() {
	local name=$1 script=$2 url=$3 out t0 t1 reqs rps p50 p99 tick cpu_ms
	out=$WORK/$name.out
	wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency -s "$script" \
		"$url" >"$WORK/$name.warm" 2>&1 <<<"" || true   # warm-up run, discarded
	stack_ticks >"$WORK/$name.t0"
	wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency -s "$script" \
		"$url" >"$out" 2>&1
	stack_ticks >"$WORK/$name.t1"
	t0=$(awk '{s += $2} END {print s}' "$WORK/$name.t0")
	t1=$(awk '{s += $2} END {print s}' "$WORK/$name.t1")
	reqs=$(awk '/requests in/ {print $1}' "$out")
	rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
	p50=$(awk '$1 == "50%" {print $2}' "$out")
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	tick=$(getconf CLK_TCK)
	cpu_ms=$(awk -v d=$(( t1 - t0 )) -v n="$reqs" -v t="$tick" 'BEGIN {printf "%.3f", d * 1000 / t / n}')
	if grep -q "Non-2xx" "$out"; then
		echo "$name: $(grep 'Non-2xx' "$out")" >&2
	fi
	printf '%-9s %10s req/s   p50 %8s   p99 %8s   CPU %s ms/request   (%s requests)\n' \
		"$name" "$rps" "$p50" "$p99" "$cpu_ms" "$reqs"
	echo "          CPU ms/request by program:$(cpu_breakdown "$WORK/$name.t0" "$WORK/$name.t1" "$reqs")"
	echo "$rps" >"$WORK/$name.rps"
}

URL=http://127.0.0.1:$JT_HTTP_PORT
echo "jangteo checkout benchmark: $(nproc) cores, ${SECONDS_PER_RUN}s per run, $CONNS connections," \
	"$THREADS wrk threads, ${#UIDS[@]} shoppers, FastCGI prefork" \
	"$(awk -F' = ' '/^fcgi.prefork/ {print $2}' "$JT_RUN/jangteo.conf")," \
	"innodb_flush_log_at_trx_commit=${JT_DB_FLUSH:-2}"
run baseline "$WORK/baseline.lua" "$URL/api/v1/_test/commit"
run checkout "$WORK/checkout.lua" "$URL/api/v1/orders"
awk -v c="$(cat "$WORK/checkout.rps")" -v b="$(cat "$WORK/baseline.rps")" \
	'BEGIN {printf "checkout / baseline = %.2f (issue 13's target >= 0.3)\n", c / b}'
orders=$(db "SELECT COUNT(*) FROM orders WHERE status = 'PAID'")
negative=$(db "SELECT COUNT(*) FROM stock WHERE available < 0")
echo "paid orders in the database: $orders; products with negative stock: $negative"
