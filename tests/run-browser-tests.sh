#!/usr/bin/env bash
# run-browser-tests: runs the browser journeys (tests/browser: shopper and admin, in Debian's
# headless Chromium driven by playwright-core) against a stack that is already running, and
# exits non-zero when any step failed. Every page the browser loads is checked with
# html-validate (tests/browser/htmlvalidate.json) and any console error or uncaught page error
# fails its step. A screenshot of each step is kept in the artifacts directory.
#
# Usage: tests/run-browser-tests.sh [--deps-only] [journey...]
#   --deps-only   only install the node dependencies (script/setup uses it), then exit
#   journey       shopper and/or admin [both]
#
# Environment:
#   JT_RUN, JT_HTTP_PORT  the running stack (script/stack's settings) [required]
#   JT_SRCDIR             the source tree [this script's ..]
#   JT_BUILDDIR           when set, the node dependencies go to $JT_BUILDDIR/browser-deps;
#                         otherwise to tests/browser/node_modules (gitignored)
#   JT_BROWSER_DEPS       the dependencies' directory, overriding both
#   JT_ARTIFACTS          where screenshots go [$JT_RUN/artifacts/browser]
#   JT_CHROMIUM           the Chromium binary [/usr/lib/chromium/chromium]
#   JT_NODE               the Node.js binary [/usr/bin/node, else node on PATH]
#   JT_BROWSER_TIMEOUT    seconds the whole run may take [600]
#
# The dependencies are installed with `npm ci` from tests/browser/package-lock.json (exact
# versions), again only when the lock file changed; playwright-core downloads no browser.
set -euo pipefail

src=${JT_SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)}
here=$src/tests/browser
if [[ -n ${JT_BROWSER_DEPS:-} ]]; then
	deps=$JT_BROWSER_DEPS
elif [[ -n ${JT_BUILDDIR:-} ]]; then
	deps=$JT_BUILDDIR/browser-deps
else
	deps=$here
fi

deps_only=0
if [[ ${1:-} == --deps-only ]]; then
	deps_only=1
	shift
fi

die() {
	echo "run-browser-tests: $*" >&2
	if (( ! deps_only )); then
		echo "browser: 0 passed, 1 failed"
	fi
	exit 1
}

# Node.js: $JT_NODE, else Debian's /usr/bin/node (package nodejs: 18.20 on Debian 12), else
# the first node on PATH; npm is the one beside it. html-validate 9 needs ^18.19 or >= 20.6;
# playwright-core 1.61 needs >= 18. Both run from this directory first on PATH, so npm's
# `#!/usr/bin/env node` is the same node.
node=${JT_NODE:-}
if [[ -z $node ]]; then
	if [[ -x /usr/bin/node ]]; then
		node=/usr/bin/node
	else
		node=$(command -v node || true)
	fi
fi
[[ -n $node && -x $node ]] ||
	die "node is not installed: install the Debian packages nodejs and npm (script/setup does)"
node_dir=$(dirname -- "$node")
npm=$node_dir/npm
[[ -x $npm ]] || npm=$(command -v npm || true)
[[ -n $npm ]] || die "npm is not installed: install the Debian package npm (script/setup does)"
export PATH=$node_dir:$PATH
"$node" -e 'const [a, b] = process.versions.node.split(".").map(Number);
	process.exit(a > 20 || (a === 20 && b >= 6) || (a === 18 && b >= 19) ? 0 : 1)' ||
	die "Node.js $("$node" --version) ($node) does not fit: 18.19 or later in 18, or 20.6" \
		"or later, is needed"

# Installs the dependencies into $deps unless the same lock file is installed there already.
install_deps() {
	local lock=$here/package-lock.json
	if [[ -f $deps/node_modules/.package-lock.json && -f $deps/package-lock.json ]] &&
		cmp -s "$lock" "$deps/package-lock.json"; then
		return 0
	fi
	mkdir -p "$deps"
	if [[ $deps != "$here" ]]; then
		cp "$here/package.json" "$lock" "$deps/"
	fi
	echo "run-browser-tests: npm ci in $deps" >&2
	(cd "$deps" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$npm" ci --no-audit --no-fund \
		--ignore-scripts --loglevel=error) >&2 || die "npm ci failed in $deps"
}

install_deps
if (( deps_only )); then
	exit 0
fi

[[ -n ${JT_RUN:-} && -n ${JT_HTTP_PORT:-} ]] ||
	die "JT_RUN and JT_HTTP_PORT must name a running stack (script/stack start)"
if [[ -z ${JT_CHROMIUM:-} ]]; then
	for c in /usr/lib/chromium/chromium /usr/bin/chromium; do
		if [[ -x $c ]]; then
			JT_CHROMIUM=$c
			break
		fi
	done
fi
[[ -n ${JT_CHROMIUM:-} && -x $JT_CHROMIUM ]] ||
	die "no Chromium: install the Debian package chromium (script/setup does)"
export JT_CHROMIUM JT_BROWSER_DEPS=$deps JT_SRCDIR=$src
export JT_ARTIFACTS=${JT_ARTIFACTS:-$JT_RUN/artifacts/browser}
mkdir -p "$JT_ARTIFACTS"

status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$JT_HTTP_PORT/healthz" ||
	true)
[[ $status == 200 ]] || die "the stack on port $JT_HTTP_PORT does not answer /healthz (got '$status')"

rc=0
timeout --kill-after=10 "${JT_BROWSER_TIMEOUT:-600}" "$node" "$here/run.mjs" "$@" || rc=$?
if (( rc == 124 || rc == 137 )); then
	echo "run-browser-tests: timed out after ${JT_BROWSER_TIMEOUT:-600}s" >&2
	echo "browser: 0 passed, 1 failed"
fi
echo "run-browser-tests: screenshots in $JT_ARTIFACTS" >&2
exit "$rc"
