#!/bin/sh
# check-layers: fails when an include crosses the layers the wrong way. lib/ has one folder per
# layer, lowest first: base < infra < clients < shop; the programs (fcgi/, workers/, ctl/) sit
# above them all. A file may include headers of its own layer and of lower ones only, and
# fcgi/ may not include lib/clients/ at all: the handlers reach outside services (PGs, OAuth
# providers, Naver) through the shop's domain, behind its breakers. Every include of a lib/
# header names its layer ("infra/db.h"), so the check can see it. Run by `make check`.
set -u
# Known crossings being folded into lib/shop; this list only ever shrinks.
known_crossings="fcgi/orders.c:clients/pg.h"
src=${JT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$src" || exit 1
fail=0

# Prints the rank of layer $1, or nothing for an unknown one.
rank() {
	case $1 in
	base) echo 1 ;;
	infra) echo 2 ;;
	clients) echo 3 ;;
	shop) echo 4 ;;
	fcgi | workers | ctl) echo 5 ;;
	esac
}

for f in $(find lib fcgi workers ctl -name '*.[ch]' | sort); do
	case $f in
	lib/*) layer=${f#lib/}; layer=${layer%%/*} ;;
	*) layer=${f%%/*} ;;
	esac
	mine=$(rank "$layer")
	if [ -z "$mine" ]; then
		echo "layers: $f is in no known layer (lib/base, lib/infra, lib/clients, lib/shop)"
		fail=1
		continue
	fi
	dir=${f%/*}
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1 \2/' >"${TMPDIR:-/tmp}/jt-layers.$$"
	while read -r line inc; do
		case $inc in
		*/*)
			to=${inc%%/*}
			theirs=$(rank "$to")
			if [ -z "$theirs" ] || [ ! -f "lib/$inc" ]; then
				echo "layers: $f:$line includes \"$inc\", which is no lib/ header"
				fail=1
			elif [ "$theirs" -gt "$mine" ]; then
				echo "layers: $f:$line: $layer includes the higher layer $to (\"$inc\")"
				fail=1
			elif [ "$layer" = fcgi ] && [ "$to" = clients ] &&
				! echo " $known_crossings " | grep -q " $f:$inc "; then
				echo "layers: $f:$line: fcgi/ calls an outside-service client directly (\"$inc\");" \
					"go through lib/shop"
				fail=1
			fi
			;;
		*)
			# A header of the file's own folder (fcgi/req.h, workers/jobs.h) or of lib/ without
			# its layer, which the check could not place.
			if [ ! -f "$dir/$inc" ]; then
				echo "layers: $f:$line includes \"$inc\" without its layer folder"
				fail=1
			fi
			;;
		esac
	done <"${TMPDIR:-/tmp}/jt-layers.$$"
	rm -f "${TMPDIR:-/tmp}/jt-layers.$$"
done

if [ "$fail" -ne 0 ]; then
	echo "check-layers: FAIL"
	exit 1
fi
echo "check-layers: every include goes down the layers"
