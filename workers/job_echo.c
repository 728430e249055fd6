/* job_echo: the demo job that proves the outbox path end to end (exactly-once effect). */
#include <string.h>
#include <unistd.h>

#include "base/daemon.h"
#include "infra/db.h"
#include "jobs.h"
#include "base/jparse.h"

static const char SQL_EFFECT[] =
    "INSERT INTO job_echo_effects (outbox_id, message, worker_pid) VALUES (?, ?, ?)";

struct echo_tx {
	const struct outbox_claim *claim;
	const char *message;
	int lost;
};

static int
echo_tx(struct db *db, void *arg)
{
	struct echo_tx *t = arg;
	int64_t rc;

	t->lost = 0;
	rc = db_exec(db, SQL_EFFECT, "isi", t->claim->id, t->message, (int64_t)getpid());
	if (rc == DB_DUP) {
		t->lost = 1;  /* someone else's transaction recorded it */
		return -1;
	}
	if (rc < 0)
		return (int)rc;
	rc = outbox_complete(db, t->claim);
	if (rc < 0)
		return (int)rc;
	if (rc == 0) {
		t->lost = 1;
		return -1;
	}
	return 0;
}

enum job_result
job_echo_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct json_object *p = NULL;
	struct echo_tx t = { claim, NULL, 0 };
	int64_t sleep_ms = 0;
	enum job_result res;

	if (jparse(claim->payload, strlen(claim->payload), 4096, 4, &p) != JPARSE_OK ||
	    jparse_string(p, "message", 200, &t.message) != 0 ||
	    jparse_int64(p, "sleep_ms", 0, 60000, &sleep_ms) < 0) {
		log_error(&ctx->log, "echo: malformed payload");
		res = JOB_RETRY;
		goto out;
	}
	daemon_sleep_ms((long)sleep_ms);
	if (daemon_stop) {
		res = JOB_RETRY;  /* asked to stop mid-job: hand it back at once */
		goto out;
	}
	if (db_tx(ctx->db, echo_tx, &t) == 0) {
		log_info(&ctx->log, "echo done");
		res = JOB_DONE;
	} else {
		res = t.lost ? JOB_LOST : JOB_RETRY;
	}
out:
	json_object_put(p);
	return res;
}
