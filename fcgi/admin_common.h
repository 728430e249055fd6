/* admin_common: what every admin page family (admin_dashboard.c, admin_products.c,
 * admin_orders.c, admin_money.c, admin_ops.c, admin_audit.c) shares: the page context every
 * console page starts from (title, CSRF token, the flash message of a finished POST), the
 * rendering inside the console's layout (templates/admin_layout.html, its side navigation's
 * current item from the path), the "could not be read" marker a section shows when a module
 * call fails, the redirects after a successful and after a refused POST (the refusal table),
 * query and form readers, URL builders, the Korean labels of order statuses, and the sections
 * two pages show (queue depths, circuit breakers). The page families include this header
 * and nothing of each other. The dispatcher has already checked the admin role and the CSRF
 * token (ROUTE_ADMIN, ROUTE_CSRF) before any of this runs. */
#ifndef JT_ADMIN_COMMON_H
#define JT_ADMIN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/bus.h"
#include "shop/orders.h"

struct json_object;
struct req;

/* What a section shows when the module behind it failed (the page still renders). */
#define ADMIN_COMMON_UNAVAILABLE "조회할 수 없습니다."

/* Rows on one page of a console list. */
#define ADMIN_COMMON_PAGE_ROWS 50

/* A JSON string of s, or NULL (JSON null: prints nothing) when s is NULL. New reference. */
struct json_object *admin_common_jstr(const char *s);

/* A new page context: {"title", "csrf", "flash"?}. flash is the fixed Korean message of the
 * query's ok=<code> (admin_common_done), absent for an unknown code. Owned by the caller
 * (pass it to admin_common_page). */
struct json_object *admin_common_ctx(struct req *r, const char *title);

/* Renders page inside templates/admin_layout.html with status (ctx ownership taken): sets
 * ctx["nav"][<key>] from the request's path (nav_items in admin_common.c) unless ctx has a
 * "nav". Returns resp_page_in's result. */
int admin_common_page(struct req *r, int status, const char *page, struct json_object *ctx);

/* Marks section key of ctx as unavailable (ctx[key] = ADMIN_COMMON_UNAVAILABLE) and logs
 * what failed. */
void admin_common_unavailable(struct req *r, struct json_object *ctx, const char *key,
    const char *what);

/* The status of a page answering that the database failed: 503 while MariaDB is out of reach
 * (the admin may retry; never a 500 for a server that is down), else 500. */
int admin_common_db_failed_status(struct req *r);

/* The answer to a POST that succeeded: 303 to path (a local path, no query) with ?ok=code;
 * code must be one of the flash codes in admin_common.c. Returns 0. */
int admin_common_done(struct req *r, const char *path, const char *code);

/* Longest typed value a refusal carries back in its redirect (bytes); a longer one (a long
 * product description) is left out rather than making a URL the web server refuses. */
#define ADMIN_COMMON_KEEP_MAX 600

/* The answer to a POST that was refused (POST-then-redirect: a reload never re-submits):
 * 303 to path?err=code, then &names[i]=vals[i] (URL-escaped) for each of the n typed values
 * that is not NULL, empty or longer than ADMIN_COMMON_KEEP_MAX, then #anchor when not NULL.
 * code must be in the refusal table of admin_common.c (an unknown code is logged). The GET
 * page shows the message with admin_common_refusal and the values with admin_common_kept.
 * Returns 0. */
int admin_common_refused(struct req *r, const char *path, const char *code, const char *anchor,
    const char *const *names, const char *const *vals, size_t n);

/* The refusal ?err=<code> names: its fixed Korean message, with *status set to the 4xx the
 * page answers (the refused POST's status); NULL (*status untouched) when there is none or
 * the code is unknown. */
const char *admin_common_refusal(struct req *r, int *status);

/* admin_common_refusal, then " (<reason>)" when the refusal carried a "reason" value (a
 * parser's one-line reason, passed as the last of admin_common_refused's values): shown
 * escaped, never acted on. In r's arena, or NULL. */
const char *admin_common_refusal_text(struct req *r, int *status);

/* A typed value a refusal carried back in the query (name), or NULL. Not validated: show it
 * escaped, never act on it. */
const char *admin_common_kept(struct req *r, const char *name);

/* What came of a console form's CSV: a file input (name "file") or, as a second way, the
 * text pasted into a textarea (name "csv"). */
enum admin_common_csv {
	ADMIN_CSV_OK,
	ADMIN_CSV_NONE,      /* no file chosen (or an empty one) and nothing pasted */
	ADMIN_CSV_NOT_CSV,   /* a file neither named *.csv nor sent as text/csv, or one that is not
	                      * UTF-8 text (a NUL byte, an image renamed) */
	ADMIN_CSV_TOO_BIG,   /* more than max bytes */
	ADMIN_CSV_REPEATED,  /* two file inputs or two pastes of that name */
	ADMIN_CSV__MAX
};

/* The CSV of a console upload form (a ROUTE_UPLOAD route): the file part "file" when one was
 * chosen (it wins over a paste), else the pasted field "csv". Returns ADMIN_CSV_OK with *text,
 * *len and *filename (the file's name as sent, NULL for a paste) set; the text lives in r's
 * arena. The caller answers the refusals. */
enum admin_common_csv admin_common_csv_upload(struct req *r, size_t max, const char **text,
    size_t *len, const char **filename);

/* Query parameter name as a positive id. Returns 1 with *out set, 0 when absent or empty,
 * -1 when malformed or repeated. */
int admin_common_query_id(struct req *r, const char *name, int64_t *out);

/* Query parameter name as text of 1..max_chars characters (trimmed of nothing). Returns 1
 * with *out set, 0 when absent or empty, -1 when malformed, too long or repeated. */
int admin_common_query_text(struct req *r, const char *name, size_t max_chars,
    const char **out);

/* Form field name of the POST body, like admin_common_query_text. */
int admin_common_form_text(struct req *r, const char *name, size_t max_chars,
    const char **out);

/* The link to a list's next page: path?before=<before_id>, then &names[i]=vals[i] (the value
 * URL-escaped) for each of the n filters whose value is not NULL. In r's arena. */
const char *admin_common_next_url(struct req *r, const char *path, int64_t before_id,
    const char *const *names, const char *const *vals, size_t n);

/* path, then ?names[i]=vals[i]&... (values URL-escaped) for each of the n values that is not
 * NULL. In r's arena. */
const char *admin_common_url(struct req *r, const char *path, const char *const *names,
    const char *const *vals, size_t n);

/* base (a path ending in '/') then segment URL-path-escaped: "/admin/orders/" + an id. In
 * r's arena. */
const char *admin_common_url_path(struct req *r, const char *base, const char *segment);

/* The Korean name of an order status ("결제완료": lib/shop/labels.c's word). */
const char *admin_common_status_label(enum order_status s);

/* Adds ctx["queues"]: the outbox's depth per job kind [{"kind", "pending", "claimed",
 * "dead"}], or marks ctx["queues_error"] unavailable when the database failed. */
void admin_common_add_queues(struct req *r, struct json_object *ctx);

/* Adds ctx["breakers"]: every circuit breaker processes published to Redis
 * (breaker_published), by name: [{"name", "state", "stateLabel", "since", "updated",
 * "failure_rate", "slow_rate", "window_calls", "calls", "failures", "slow", "rejected",
 * "transitions", "opened", "pid", "procs": [...] when with_procs}], or marks
 * ctx["breakers_error"] unavailable when Redis did not answer. */
void admin_common_add_breakers(struct req *r, struct json_object *ctx, bool with_procs);

#endif
