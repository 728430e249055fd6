/* refunds: placeholder until its author lands it; every function fails. */
#include <stddef.h>
#include "db.h"
#include "refunds.h"

enum refunds_rc
refunds_request(struct db *db, struct arena *a, const struct refunds_req *req, struct refund *out)
{
	return REFUNDS_FAILED;
}

int64_t
refunds_of_order(struct db *db, struct arena *a, int64_t order_id, struct refund **out)
{
	return DB_ERR;
}

enum refunds_rc
refunds_record_pg_cancel(struct db *db, struct arena *a, const char *order_public_id, int64_t amount, struct refund *out)
{
	return REFUNDS_FAILED;
}

struct json_object *
refunds_json(const struct refund *r)
{
	return NULL;
}

const char *
refunds_status_name(enum refund_status s)
{
	return "?";
}
