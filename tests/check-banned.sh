#!/bin/sh
# check-banned: fails when the C sources use a form STYLE.md bans: unbounded string calls,
# atoi, shell-outs, SQL sent as text outside lib/infra/db.c, Redis commands built as format
# strings, fcgi_stdio.h. Run by `make check`.
set -u
src=${JT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$src" || exit 1
# tests/routes: the test-only routes compiled into jangteo-fcgi by --enable-test-routes.
files=$(find lib fcgi workers ctl tests/routes -name '*.[ch]' | sort)
fail=0

report() {
	# $1 = what, $2 = grep -E pattern, $3 = files
	# shellcheck disable=SC2086
	hits=$(grep -n -E "$2" $3 /dev/null | grep -v -E '^[^:]+:[0-9]+:\s*(/\*|\*)')
	if [ -n "$hits" ]; then
		printf 'banned: %s\n%s\n' "$1" "$hits"
		fail=1
	fi
}

report "unbounded or unchecked C library calls" \
	'\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atoll|strtok)\s*\(' "$files"
report "shell-outs" '\b(system|popen)\s*\(' "$files"
report "SQL sent as text outside lib/infra/db.c (use prepared statements)" \
	'\bmysql_(real_)?query\s*\(' "$(echo "$files" | grep -v '^lib/infra/db\.c$')"
report "Redis commands built from a format string (use redis_cmd / redis_cmdl)" \
	'\bredis(Append)?Command\s*\(' "$files"
report "fcgi_stdio.h (use fcgiapp.h)" '#include\s*[<"]fcgi_stdio\.h' "$files"

if [ "$fail" -ne 0 ]; then
	echo "check-banned: FAIL"
	exit 1
fi
echo "check-banned: $(echo "$files" | wc -l) files clean"
