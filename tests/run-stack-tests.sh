#!/usr/bin/env bash
# run-stack-tests: starts a private stack (MariaDB, Redis, bus, FastCGI pool, workers, janitor,
# nginx) in its own run directory, runs the server-backed Check suites, the integration tests
# and the browser journeys (tests/run-browser-tests.sh) against it, then the integration tests
# again on a fresh stack behind Apache, and stops exactly what it started. Run by `make check`.
#
# The suite drives the test-only routes, which only a build configured with
# --enable-test-routes has (script/setup's). A production build (make distcheck's, or any
# without the option) skips the stack (exit 77) after checking that it really has no test
# scaffolding: no test route in jangteo-fcgi, no test file among what `make install` lays out.
#
# JT_TESTS="test_orders test_refunds" runs only those integration modules, once, behind nginx
# (no unit suites, browser journeys or Apache pass): a developer's quick re-run. With
# JT_SUITES="db,checkout" as well, those server-backed Check suites run first.
set -euo pipefail
src=${JT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${JT_BUILDDIR:-$src/_build}
export JT_SRCDIR=$src JT_BUILDDIR=$build

if ! grep -q '^#define JT_TEST_ROUTES 1' "$build/config.h"; then
	if grep -aq '/_test/' "$build/fcgi/jangteo-fcgi"; then
		echo "run-stack-tests: a build without --enable-test-routes has test routes" >&2
		exit 1
	fi
	dest=$(mktemp -d /tmp/jt-prod-install.XXXXXX)
	trap 'rm -rf "$dest"' EXIT
	make -s -C "$build" install DESTDIR="$dest" >/dev/null
	found=$(find "$dest" \( -name '008_bench.sql' -o -name 'test_echo.html' \) -print)
	if [ -n "$found" ]; then
		echo "run-stack-tests: a production install holds test scaffolding: $found" >&2
		exit 1
	fi
	echo "run-stack-tests: $build was configured without --enable-test-routes (a production" \
		"build: no test route, no test file installed); the stack tests need them: skipped" >&2
	exit 77
fi

JT_RUN=$(mktemp -d /tmp/jt-test.XXXXXX)
# mktemp makes it 0700; the web servers' unprivileged workers (Apache's www-data) must reach
# the FastCGI socket inside it, as they do in a run/ directory.
chmod 0755 "$JT_RUN"
export JT_RUN
export JT_HTTP_PORT=${JT_TEST_HTTP_PORT:-18080}
export JT_TEST_ROUTES=1
export JT_PREFORK=${JT_PREFORK:-4}
export JT_WORKERS=${JT_WORKERS:-2}
# Short claims and a busy janitor, so crash-recovery tests finish in seconds.
export JANGTEO_OUTBOX_CLAIM_SECONDS=5
export JANGTEO_JANITOR_INTERVAL_MS=200
export JANGTEO_JANITOR_GRACE_MS=1000
export JANGTEO_LOG_LEVEL=info
# The money tests pay exact amounts for their goods: the shop's shipping fee is 0 here, and
# the tests of fees give their sellers a rule of their own (sellers.shipping_fee).
export JANGTEO_SHIPPING_FEE=0

stop_stack() {
	local rc=$?
	"$src/script/stack" stop || true
	if [ "$rc" -ne 0 ]; then
		for f in "$JT_RUN"/log/*.log; do
			[ -f "$f" ] || continue
			echo "---- tail of $f"
			tail -n 40 "$f"
		done
	fi
	rm -rf "$JT_RUN"
	exit "$rc"
}
trap stop_stack EXIT

"$src/script/stack" start

# Server-backed unit suites run against the test database of the same MariaDB.
sed -e 's/^db\.name *=.*/db.name = jangteo_test/' "$JT_RUN/jangteo.conf" >"$JT_RUN/test.conf"
grep -q '^db\.name = jangteo_test' "$JT_RUN/test.conf" || echo "db.name = jangteo_test" >>"$JT_RUN/test.conf"
if [ -x "$build/tests/unit/check_jangteo" ] && [[ -z ${JT_TESTS:-} || -n ${JT_SUITES:-} ]]; then
	JT_TEST_CONF=$JT_RUN/test.conf "$build/tests/unit/check_jangteo"
fi

if [[ -n ${JT_TESTS:-} ]]; then
	read -ra only <<<"$JT_TESTS"
	python3 "$src/tests/integration/run.py" "${only[@]}"
	exit 0
fi

python3 "$src/tests/integration/run.py"

# The browser journeys (headless Chromium) against the same stack behind nginx; their
# screenshots outlive the run directory, under the build directory.
if [ -f "$src/tests/run-browser-tests.sh" ]; then
	JT_ARTIFACTS=${JT_ARTIFACTS:-$build/artifacts/browser} bash "$src/tests/run-browser-tests.sh"
else
	echo "run-stack-tests: tests/run-browser-tests.sh is not in this tree: browser tests not run" >&2
fi

# The same FastCGI program under spawn-fcgi -F N (each process serves fd 0): the HTTP and
# operations tests again.
"$src/script/stack" stop fcgi
export JT_FCGI_MODE=spawn-fcgi
"$src/script/stack" start fcgi
python3 "$src/tests/integration/run.py" test_http test_ops

# The whole integration suite again behind Apache (mod_proxy_fcgi, script/svc/apache.sh), on a
# fresh stack (new database, config and logs), so it starts from the state it starts from
# behind nginx. JT_WEB stays exported: the final stop stops Apache.
"$src/script/stack" stop
find "$JT_RUN" -mindepth 1 -delete
export JT_WEB=apache JT_FCGI_MODE=prefork
"$src/script/stack" start
python3 "$src/tests/integration/run.py"
