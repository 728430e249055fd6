/* reconcile_console: a reconciliation started from the admin console (see reconcile.h): the
 * pasted settlement file or the fetched day is run dry first; its input is kept in Redis for
 * an hour under the dry run's id, so "apply" runs exactly what the admin reviewed. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/conf.h"
#include "base/jparse.h"
#include "base/log.h"
#include "infra/redis.h"
#include "shop/reconcile.h"

#define KEEP_TTL "3600"   /* seconds a dry run's input is kept for its apply */

/* "recon:input:<runId>" into key. */
static void
input_key(char *key, size_t cap, int64_t run_id)
{
	snprintf(key, cap, "recon:input:%" PRId64, run_id);
}

/* Keeps in's input under run_id. Returns 0 or -1 (logged). */
static int
keep_input(struct redis *r, int64_t run_id, const struct recon_console *in)
{
	struct json_object *o = json_object_new_object();
	redisReply *rep;
	char key[48];
	bool ok;

	json_object_object_add(o, "pg", json_object_new_string(pg_name(in->pg)));
	json_object_object_add(o, "name", json_object_new_string(in->name != NULL ?
	    in->name : "-"));
	if (in->date != NULL)
		json_object_object_add(o, "date", json_object_new_string(in->date));
	else
		json_object_object_add(o, "text", json_object_new_string_len(in->text,
		    (int)in->len));
	input_key(key, sizeof(key), run_id);
	rep = redis_cmdl(r, "SET", key, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "EX", KEEP_TTL, NULL);
	json_object_put(o);
	ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	if (!ok)
		log_warn(NULL, "reconcile: the input of dry run %" PRId64 " is not kept: %s", run_id,
		    rep == NULL ? redis_error(r) : "unexpected reply");
	if (rep != NULL)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

int
reconcile_console_kept(struct redis *r, struct arena *a, int64_t run_id,
    struct recon_console *out)
{
	static const char *const keys[] = { "pg", "name", "date", "text", NULL };
	struct json_object *o = NULL;
	const char *pg, *name, *date = NULL, *text = NULL;
	redisReply *rep;
	char key[48];
	int rc = -1;

	input_key(key, sizeof(key), run_id);
	rep = redis_cmdl(r, "GET", key, NULL);
	if (rep == NULL || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL))
		goto out;
	if (rep->type == REDIS_REPLY_NIL) {
		rc = 0;
		goto out;
	}
	if (jparse(rep->str, rep->len, RECON_FILE_MAX * 2, 2, &o) != JPARSE_OK || o == NULL ||
	    jparse_only_keys(o, keys) != 0 || jparse_string(o, "pg", 16, &pg) != 0 ||
	    jparse_string(o, "name", 255, &name) != 0 ||
	    jparse_string(o, "date", 10, &date) < 0 ||
	    jparse_string(o, "text", RECON_FILE_MAX, &text) < 0 ||
	    (date == NULL) == (text == NULL) || pg_parse(pg, &out->pg) != 0) {
		log_error(NULL, "reconcile: the kept input of run %" PRId64 " is malformed", run_id);
		goto out;
	}
	out->name = arena_strdup(a, name);
	out->date = date != NULL ? arena_strdup(a, date) : NULL;
	out->text = text != NULL ? arena_strdup(a, text) : NULL;
	out->len = text != NULL ? strlen(text) : 0;
	rc = 1;
out:
	json_object_put(o);
	if (rep != NULL)
		freeReplyObject(rep);
	return rc;
}

void
reconcile_console_forget(struct redis *r, int64_t run_id)
{
	redisReply *rep;
	char key[48];

	input_key(key, sizeof(key), run_id);
	rep = redis_cmdl(r, "DEL", key, NULL);
	if (rep != NULL)
		freeReplyObject(rep);
}

enum recon_console_rc
reconcile_console_run(const struct recon_console *in, struct arena *a, struct recon_run *out,
    char *err, size_t err_len)
{
	enum recon_console_rc rc = RECON_CONSOLE_FAILED;
	struct recon_file file;
	struct recon_lock lock;
	struct recon_opts o;
	int lrc;

	memset(&file, 0, sizeof(file));
	memset(&lock, 0, sizeof(lock));
	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	/* A bad file is refused before anything else is touched. */
	if (in->date == NULL && reconcile_parse_csv(in->text, in->len, in->pg, a, &file, err,
	    err_len) != 0)
		return RECON_CONSOLE_BAD_INPUT;
	lrc = reconcile_lock(in->redis, &lock);
	if (lrc == 0)
		return RECON_CONSOLE_LOCKED;
	if (lrc < 0) {
		snprintf(err, err_len, "Redis failed: %s", redis_error(in->redis));
		return RECON_CONSOLE_FAILED;
	}
	/* The PG is asked with the lock held and no transaction open. */
	if (in->date != NULL && reconcile_fetch(in->conf, in->pg, in->date, a, &file, err,
	    err_len) != 0) {
		rc = RECON_CONSOLE_FETCH_FAILED;
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.db = in->db;
	o.redis = in->redis;
	o.lock = &lock;
	o.conf = in->conf;
	o.bus = in->dry_run ? NULL : in->bus;
	o.file = &file;
	o.source = in->date != NULL ? arena_printf(a, "api:%s", in->date) : in->name;
	o.dry_run = in->dry_run;
	o.repair_approved = conf_bool(in->conf, CONF_RECONCILE_REPAIR_APPROVED);
	o.confirming_stale_seconds = conf_int(in->conf, CONF_PAYMENTS_CONFIRMING_STALE_SECONDS);
	o.actor_id = in->actor_id;
	switch (reconcile_run(&o, a, out)) {
	case RECON_DONE:
	case RECON_FINDINGS:
		rc = RECON_CONSOLE_RAN;
		break;
	case RECON_BUSY:
		rc = RECON_CONSOLE_BUSY;
		break;
	default:
		rc = RECON_CONSOLE_FAILED;
		break;
	}
	if (rc == RECON_CONSOLE_RAN && in->dry_run && keep_input(in->redis, out->id, in) != 0)
		rc = RECON_CONSOLE_RAN_NOT_KEPT;
out:
	reconcile_unlock(in->redis, &lock);
	reconcile_file_free(&file);
	return rc;
}
