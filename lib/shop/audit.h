/* audit: the record of every admin action (sql/014_admin.sql audit_log): who did what to
 * which target, when, and the target before and after as JSON. A record is written INSIDE the
 * transaction of the action it records, so there is never an action without its record nor a
 * record of an action that rolled back. Rows are never changed. Knows nothing of HTTP. */
#ifndef JT_AUDIT_H
#define JT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;
struct json_object;

#define AUDIT_ACTION_MAX 64     /* bytes of an action name: [a-z0-9._-] */
#define AUDIT_TARGET_MAX 128    /* bytes of a target ("product:12", "order:<publicId>") */
#define AUDIT_LIST_MAX 200      /* most rows audit_list returns at once */

/* Writes one record: actor_id (the admin's user id, > 0) did action ("product.create",
 * "stock.adjust", "refund.request", ...: 1..AUDIT_ACTION_MAX of [a-z0-9._-]) to target
 * (1..AUDIT_TARGET_MAX bytes); before_json and after_json are JSON texts or NULL. Must be
 * called inside db_tx (the action's transaction): outside one it writes nothing and returns
 * DB_ERR (a programming error, logged). Returns 0, or an enum db_rc (roll back). A bad
 * action, target or JSON text is refused with DB_ERR (logged). */
int audit_record(struct db *db, int64_t actor_id, const char *action, const char *target,
    const char *before_json, const char *after_json);

/* audit_record with json-c values (NULL for none), serialized compactly. Borrows both. */
int audit_record_json(struct db *db, int64_t actor_id, const char *action, const char *target,
    struct json_object *before, struct json_object *after);

/* What audit_list selects; zero / NULL fields do not filter. */
struct audit_filter {
	int64_t actor_id;       /* one admin */
	const char *action;     /* exact action name */
	const char *target;     /* exact target, or a prefix when it ends with ':' ("product:") */
	const char *from_day;   /* "YYYY-MM-DD": created on or after that day */
	const char *to_day;     /* "YYYY-MM-DD": created on or before that day */
	int64_t before_id;      /* paging: only ids below this (0: from the newest) */
};

/* One record; strings live in the arena given to audit_list. */
struct audit_entry {
	int64_t id;
	int64_t actor_id;
	const char *actor_email;
	const char *actor_name;
	const char *action;
	const char *target;
	const char *before_json;    /* or NULL */
	const char *after_json;     /* or NULL */
	const char *at;             /* "YYYY-MM-DD HH:MM:SS" */
};

/* The newest records matching f (NULL: all), id descending, at most limit (1..AUDIT_LIST_MAX),
 * into an array from a. Returns the count or an enum db_rc; DB_ERR for a malformed day or a
 * limit out of range. */
int64_t audit_list(struct db *db, struct arena *a, const struct audit_filter *f, size_t limit,
    struct audit_entry **out);

/* Record id into *out (strings in a). Returns 1, 0 when there is none, or an enum db_rc. */
int audit_get(struct db *db, struct arena *a, int64_t id, struct audit_entry *out);

/* True when s is "YYYY-MM-DD" with a month 01..12 and a day 01..31 (the database checks the
 * calendar: a day that does not exist matches nothing). */
int audit_day_ok(const char *s);

#endif
