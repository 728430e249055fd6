#!/bin/sh
# check-api-doc: docs/API.md lists exactly the JSON routes jangteo-fcgi has. Every route whose
# flags include json (test-only routes aside) must have one "### METHOD PATH" heading there,
# followed by a line holding its flags in backquotes ("`json+login+csrf`"), and every such
# heading must name a JSON route. The route table comes from `jangteo-fcgi --routes`, so the
# page cannot drift from the code. Run by `make check`.
set -u
src=${JT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${JT_BUILDDIR:-$src/_build}
bin=$build/fcgi/jangteo-fcgi
doc=$src/docs/API.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-api-doc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$bin" ]; then
	echo "check-api-doc: $bin is not built" >&2
	exit 1
fi
if ! "$bin" --routes >"$tmp/all"; then
	echo "check-api-doc: $bin --routes failed" >&2
	exit 1
fi
# "METHOD PATH FLAGS" of each JSON route that is not test-only.
awk '{ n = split($3, f, "+"); json = 0; test = 0
       for (i = 1; i <= n; i++) { if (f[i] == "json") json = 1; if (f[i] == "test") test = 1 }
       if (json && !test) print $1 " " $2 " " $3 }' "$tmp/all" | sort >"$tmp/routes"
# "METHOD PATH FLAGS" of each heading of the page (FLAGS "?" when its flags line is missing).
awk 'function flush() { if (h != "") print h " " (fl == "" ? "?" : fl); h = ""; fl = "" }
     /^### / { flush(); h = substr($0, 5); next }
     h != "" && fl == "" && /^`[a-z+]+`$/ { fl = substr($0, 2, length($0) - 2); next }
     h != "" && fl == "" && NF > 0 { flush() }
     END { flush() }' "$doc" | sort >"$tmp/doc"

fail=0
dups=$(cut -d' ' -f1,2 "$tmp/doc" | uniq -d)
if [ -n "$dups" ]; then
	echo "check-api-doc: documented twice in docs/API.md:" >&2
	echo "$dups" | sed 's/^/  /' >&2
	fail=1
fi
missing=$(comm -23 "$tmp/routes" "$tmp/doc")
extra=$(comm -13 "$tmp/routes" "$tmp/doc")
if [ -n "$missing" ]; then
	echo "check-api-doc: JSON routes missing from docs/API.md (or documented with other flags):" >&2
	echo "$missing" | sed 's/^/  /' >&2
	fail=1
fi
if [ -n "$extra" ]; then
	echo "check-api-doc: docs/API.md documents routes that do not exist (or with other flags):" >&2
	echo "$extra" | sed 's/^/  /' >&2
	fail=1
fi
if [ "$fail" -eq 0 ]; then
	echo "check-api-doc: $(wc -l <"$tmp/routes") JSON routes, all documented"
fi
exit "$fail"
