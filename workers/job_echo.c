/* job_echo: the demo job that proves the outbox path end to end (exactly-once effect). */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "base/daemon.h"
#include "infra/db.h"
#include "jobs.h"
#include "infra/payload.h"

static const char SQL_EFFECT[] =
    "INSERT INTO job_echo_effects (outbox_id, message, worker_pid) VALUES (?, ?, ?)";

struct echo_tx {
	const struct outbox_claim *claim;
	const char *message;
	bool lost;
};

static int
echo_tx(struct db *db, void *arg)
{
	struct echo_tx *t = arg;
	int64_t rc;

	t->lost = false;
	rc = db_exec(db, SQL_EFFECT, "isi", t->claim->id, t->message, (int64_t)getpid());
	if (rc == DB_DUP) {
		t->lost = true;  /* someone else's transaction recorded it */
		return DB_ABORT;
	}
	if (rc < 0)
		return (int)rc;
	return outbox_finish(db, t->claim, &t->lost);
}

enum job_result
job_echo_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct echo_tx t = { claim, NULL, false };
	struct payload_echo p;

	if (payload_echo_parse(ctx->a, claim->payload, &p) != 0) {
		log_error(&ctx->log, "echo: malformed payload");
		return JOB_RETRY;
	}
	t.message = p.message;
	daemon_sleep_ms((long)p.sleep_ms);
	if (daemon_stop)
		return JOB_RETRY;  /* asked to stop mid-job: hand it back at once */
	if (db_tx(ctx->db, echo_tx, &t) == 0) {
		log_info(&ctx->log, "echo done");
		return JOB_DONE;
	}
	return t.lost ? JOB_LOST : JOB_RETRY;
}
