/* tmpl: HTML templates, parsed once per process, rendered against a json-c value.
 *
 * Syntax (all tags are {{ ... }}; whitespace inside a tag is ignored):
 *   {{path}}              the value at path, HTML-escaped. path is "." (the current value),
 *                         "name", or "a.b.c" (object members). Lookup starts at the current
 *                         value and walks outwards through enclosing #each items, then the
 *                         root. Strings print as-is, integers in decimal, true/false, null
 *                         and missing print nothing. Objects and arrays are a render error.
 *   {{won path}}          an integer amount of won with thousands separators: 12,000
 *   {{raw path}}          the value WITHOUT escaping. Only for HTML the program built itself
 *                         (the layout's page body); never for anything a user typed.
 *   {{#if path}} .. {{else}} .. {{/if}}
 *                         truthy: present, not null, not false, not 0, not "", not [] or {}
 *   {{#unless path}} .. {{/unless}}
 *   {{#each path}} .. {{else}} .. {{/each}}
 *                         once per array element (the element becomes "."), {{@index}} is the
 *                         0-based position; the else part renders for an empty/missing array
 *   {{> name}}            includes template "name" with the current value
 *   {{! comment }}        nothing (the comment ends at the first "}}")
 * A layout is an ordinary template containing {{yield}} where the page body goes.
 *
 * Names and paths: template names and path segments are letters, digits, '_' and '-'.
 * "else", "yield", "raw" and "won" are reserved. A "}}" outside a tag is plain text.
 * Load errors: a "{{" without "}}", an empty or unknown tag, a bad path, an unclosed or
 * mismatched block, a second {{else}}, an include of a missing template, an include cycle.
 * Limits (refused at load): files over 512 KiB, a NUL byte, blocks nested deeper than 1024,
 * include chains longer than 16. Render errors: a double anywhere (money and counts are
 * integers), an object or array printed, {{won}} of a non-integer, #each over a non-array,
 * {{@index}} outside #each, {{yield}} outside a layout, more than 2^24 steps or 16 MiB of
 * output in one render. Render walks the parsed nodes with a loop, never recursion.
 */
#ifndef JT_TMPL_H
#define JT_TMPL_H

#include <stddef.h>
#include <json-c/json.h>
#include "base/buf.h"

struct tmpl_set;

/* Loads and parses every "*.html" file directly under dir; a template's name is its file
 * name without ".html" (names starting with '.' are skipped, other files ignored). Returns
 * NULL on any read or syntax error (unclosed or mismatched block, unknown tag, include of a
 * missing template, include cycle), or when dir holds no template, and writes
 * "dir/file.html:line: reason" into err. Owned by the caller: tmpl_set_free. */
struct tmpl_set *tmpl_set_load(const char *dir, char *err, size_t err_len);

/* Parses templates given in memory (names[i] -> texts[i]), for tests. Same errors. */
struct tmpl_set *tmpl_set_from_strings(const char *const *names, const char *const *texts,
    size_t n, char *err, size_t err_len);

/* Frees the set and sets *set to NULL. NULL-safe. */
void tmpl_set_free(struct tmpl_set **set);

/* True when the set has a template called name. */
int tmpl_exists(const struct tmpl_set *set, const char *name);

/* Renders template name with ctx as the root value, appending to out. Returns 0, or -1 on an
 * unknown name or a render error (out may then hold a partial page: discard it). */
int tmpl_render(const struct tmpl_set *set, const char *name, struct json_object *ctx,
    struct buf *out);

/* Renders page, then layout with the page's output at {{yield}}. Same result as tmpl_render. */
int tmpl_render_layout(const struct tmpl_set *set, const char *layout, const char *page,
    struct json_object *ctx, struct buf *out);

/* tmpl_render_layout (or tmpl_render when layout is NULL) that also says why it failed: on -1,
 * err holds "file:line: {{tag}}: reason" (e.g. "cart.html:12: {{won total}}: not an integer
 * amount") or "no template \"name\"". err may be NULL. Callers log err and answer 500. */
int tmpl_render_err(const struct tmpl_set *set, const char *layout, const char *page,
    struct json_object *ctx, struct buf *out, char *err, size_t err_len);

#endif
