#!/usr/bin/env bash
# artillery-setup: installs Artillery (npm, the version pinned in bench/artillery/package.json)
# into bench/artillery/node_modules for bench/artillery.sh. Run by hand, once: script/setup
# and the test command never install it (it is a load tool, ~600 MB with its plugins).
# Artillery 2.0.21 is the last release that runs on Node 18-20 (later ones want Node 22).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/artillery"
command -v npm >/dev/null || { echo "artillery-setup: npm is missing (apt-get install npm)" >&2; exit 1; }
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --omit=dev
./node_modules/.bin/artillery --version
