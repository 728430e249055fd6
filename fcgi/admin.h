/* admin: what the admin page families (admin.c, admin_money.c, admin_ops.c) share: the page
 * context every console page starts from (title, CSRF token, the flash message of a finished
 * POST), the "could not be read" marker a section shows when a module call fails, the
 * redirect after a successful POST, query parameter readers, and the audit record of an
 * action whose transaction belongs to another module. The dispatcher has already checked the
 * admin role and the CSRF token (ROUTE_ADMIN, ROUTE_CSRF) before any of this runs. */
#ifndef JT_ADMIN_H
#define JT_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;
struct req;

/* What a section shows when the module behind it failed (the page still renders). */
#define ADMIN_UNAVAILABLE "조회할 수 없습니다."

/* Rows on one page of a console list. */
#define ADMIN_PAGE_ROWS 50

/* A JSON string of s, or NULL (JSON null: prints nothing) when s is NULL. New reference. */
struct json_object *admin_jstr(const char *s);

/* A new page context: {"title", "csrf", "flash"?}. flash is the fixed Korean message of the
 * query's ok=<code> (admin_done), absent for an unknown code. Owned by the caller (pass it to
 * admin_page). */
struct json_object *admin_ctx(struct req *r, const char *title);

/* Renders page inside the layout with status (ctx ownership taken). Returns resp_page's
 * result. */
int admin_page(struct req *r, int status, const char *page, struct json_object *ctx);

/* Marks section key of ctx as unavailable (ctx[key] = ADMIN_UNAVAILABLE) and logs what
 * failed. */
void admin_unavailable(struct req *r, struct json_object *ctx, const char *key, const char *what);

/* The answer to a POST that succeeded: 303 to path (a local path, no query) with ?ok=code;
 * code must be one of the flash codes in admin.c. Returns 0. */
int admin_done(struct req *r, const char *path, const char *code);

/* Query parameter name as a positive id. Returns 1 with *out set, 0 when absent or empty,
 * -1 when malformed or repeated. */
int admin_query_id(struct req *r, const char *name, int64_t *out);

/* Query parameter name as text of 1..max_chars characters (trimmed of nothing). Returns 1
 * with *out set, 0 when absent or empty, -1 when malformed, too long or repeated. */
int admin_query_text(struct req *r, const char *name, size_t max_chars, const char **out);

/* Form field name of the POST body, like admin_query_text. */
int admin_form_text(struct req *r, const char *name, size_t max_chars, const char **out);

/* admin_ops.c: the breakers published to Redis (breaker_publish), by name: [{"name", "state", "since",
 * "failureRate", "slowRate", "windowCalls", "calls", "failures", "slow", "rejected",
 * "opened", "pid", "updated", "procs": [...] when with_procs}]. NULL when Redis did not
 * answer. New reference. */
struct json_object *admin_ops_breakers_json(struct req *r, bool with_procs);

#endif
