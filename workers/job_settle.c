/* job_settle: the settle and refund.settle jobs: settle a paid order, or a refund, with its
 * sellers through lib/shop/settle (one transaction with the outbox completion). */
#include <string.h>
#include <json-c/json.h>

#include "base/conf.h"
#include "jobs.h"
#include "base/jparse.h"
#include "shop/settle.h"

/* Longest id a payload may carry (public ids are 24 characters). */
#define SETTLE_ID_MAX 64

/* The one string field key of a strict payload {key: "..."}, owned by *obj; NULL when the
 * payload is malformed. */
static const char *
payload_id(const char *payload, const char *key, struct json_object **obj)
{
	const char *const keys[] = { key, NULL };
	const char *id;

	*obj = NULL;
	if (payload == NULL || jparse(payload, strlen(payload), 4096, 1, obj) != JPARSE_OK ||
	    *obj == NULL || jparse_only_keys(*obj, keys) != 0 ||
	    jparse_string(*obj, key, SETTLE_ID_MAX, &id) != 0 || id[0] == '\0')
		return NULL;
	return id;
}

/* The job's result for rc. */
static enum job_result
result(struct job_ctx *ctx, const char *what, const char *id, enum settle_rc rc)
{
	if (rc == SETTLE_WAIT || rc == SETTLE_FAILED)
		log_warn(&ctx->log, "%s %s: %s; retrying later", what, id, settle_rc_name(rc));
	else
		log_info(&ctx->log, "%s %s: %s", what, id, settle_rc_name(rc));
	switch (rc) {
	case SETTLE_DONE:
	case SETTLE_REPLAYED:
	case SETTLE_SKIPPED:
		return JOB_DONE;
	case SETTLE_LOST:
		return JOB_LOST;
	default:
		return JOB_RETRY;
	}
}

/* A payload that can never be run: completed so it stops coming back. */
static enum job_result
malformed(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	log_error(&ctx->log, "%s: malformed payload; dropped", bus_kind_name(claim->kind));
	return result(ctx, bus_kind_name(claim->kind), "-", settle_skip(ctx->db, claim));
}

enum job_result
job_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct json_object *obj;
	const char *id = payload_id(claim->payload, "orderId", &obj);
	enum job_result res;

	if (id == NULL)
		res = malformed(ctx, claim);
	else
		res = result(ctx, "settle order", id, settle_order(ctx->db, ctx->a, claim, id,
		    (int)conf_int(ctx->conf, CONF_SETTLE_COMMISSION_BP)));
	json_object_put(obj);
	return res;
}

enum job_result
job_refund_settle_run(struct job_ctx *ctx, const struct outbox_claim *claim)
{
	struct json_object *obj;
	const char *id = payload_id(claim->payload, "refundId", &obj);
	enum job_result res;

	if (id == NULL)
		res = malformed(ctx, claim);
	else
		res = result(ctx, "settle refund", id, settle_refund(ctx->db, ctx->a, claim, id));
	json_object_put(obj);
	return res;
}
