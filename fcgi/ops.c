/* ops: endpoints for operators: /healthz and /metrics. */
#include <json-c/json.h>

#include "app.h"
#include "infra/breaker.h"
#include "base/buf.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/metrics.h"
#include "infra/redis.h"
#include "req.h"
#include "resp.h"

/* GET /healthz: 200 {"status":"ok","mariadb":"up","redis":"up"} when both answer, else 503
 * with "status":"down" and the one that is down marked "down". */
int
ops_healthz(struct req *r)
{
	int db_up = db_ping(r->app->db) == 0;
	int redis_up = redis_ping(r->app->redis) == 0;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(db_up && redis_up ? "ok" : "down"));
	json_object_object_add(o, "mariadb", json_object_new_string(db_up ? "up" : "down"));
	json_object_object_add(o, "redis", json_object_new_string(redis_up ? "up" : "down"));
	if (!db_up)
		log_warn(&r->log, "healthz: MariaDB is down: %s", db_error(r->app->db));
	if (!redis_up)
		log_warn(&r->log, "healthz: Redis is down: %s", redis_error(r->app->redis));
	return resp_json(r, db_up && redis_up ? 200 : 503, o);
}

/* The circuit breakers /metrics shows: price comparison (pricecmp.c), the payment workers'
 * confirm/check gate (paychecks.c), their refund calls (workers/job_refund.c) and the notify
 * workers' 알림톡 (lib/clients/alimtalk.c). */
static const char *const metrics_breakers[] = {
	"naver", "pg-toss", "pg-kakaopay", "pg-toss-refund", "pg-kakaopay-refund", "alimtalk",
};

/* GET /metrics: Prometheus text for all handler processes together. */
int
ops_metrics(struct req *r)
{
	struct buf out = { 0 };

	if (r->app->metrics == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	metrics_render(r->app->metrics, &out);
	/* The circuit breakers' states as their processes last reported them to Redis (Redis
	 * down: the counters above are still served). */
	(void)breaker_render_metrics(r->app->redis, metrics_breakers,
	    sizeof(metrics_breakers) / sizeof(metrics_breakers[0]), &out);
	resp_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, out.data, out.len);
	buf_release(&out);
	return 0;
}
