/* assets: the static files the web server serves under /static/ (the pages' scripts), as the
 * pages name them. Each file's URL carries a version derived from its content,
 * "/static/order-status.js?v=<16 hex digits>", so the web server may let browsers keep a file
 * for a year (Cache-Control: immutable) and a changed file is still fetched at once: its URL
 * changed. The handlers never serve these files; they only read them once at start to name
 * them (the nginx and Apache site files map /static/ to the same directory).
 *
 * Names: every regular file directly under the directory whose name is 1..ASSETS_NAME_MAX
 * bytes of [a-z0-9._-] not starting with '.'. In the templates a file is
 * {{static.<key>}}, the key being its name with every byte outside [a-z0-9] turned into '_'
 * ("order-status.js" -> {{static.order_status_js}}). */
#ifndef JT_ASSETS_H
#define JT_ASSETS_H

#include <stddef.h>
#include <stdint.h>

struct assets;
struct json_object;

#define ASSETS_NAME_MAX 64              /* bytes of a file name */
#define ASSETS_FILE_MAX (1024 * 1024)   /* bytes of one file */
#define ASSETS_MAX 64                   /* files in the directory */

/* Reads every file of dir (see the top of the file) and computes its URL. Returns NULL, with
 * "dir/file: reason" in err, when dir cannot be read, holds no file, holds more than
 * ASSETS_MAX, or a file cannot be read or is larger than ASSETS_FILE_MAX; names it does not
 * take are skipped. Owned by the caller: assets_free. */
struct assets *assets_load(const char *dir, char *err, size_t err_len);

/* Frees a and sets *a to NULL. NULL-safe. */
void assets_free(struct assets **a);

/* Every file's URL under its template key: {"order_status_js": "/static/...", ...}. Owned by
 * a (take a reference with json_object_get to keep it past assets_free). */
struct json_object *assets_json(const struct assets *a);

/* The version of content p[0..n): 64-bit FNV-1a as 16 lower-case hex digits, into out
 * (17 bytes). */
void assets_version(const void *p, size_t n, char out[17]);

#endif
