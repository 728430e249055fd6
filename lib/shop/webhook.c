/* webhook: strict readers of the PGs' webhook bodies (see webhook.h). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <json-c/json.h>

#include "base/jparse.h"
#include "base/valid.h"
#include "shop/webhook.h"

/* The Toss payment statuses a PAYMENT_STATUS_CHANGED may carry (pg-api-contracts.md 1.4). */
static const char *const toss_statuses[] = {
	"READY", "IN_PROGRESS", "WAITING_FOR_DEPOSIT", "DONE", "CANCELED", "PARTIAL_CANCELED",
	"ABORTED", "EXPIRED", NULL,
};

static bool
known_status(const char *s)
{
	size_t i;

	for (i = 0; toss_statuses[i] != NULL; i++)
		if (strcmp(toss_statuses[i], s) == 0)
			return true;
	return false;
}

int
webhook_toss_parse(struct json_object *body, struct webhook_toss_event *ev)
{
	static const char *const keys[] = { "eventType", "createdAt", "data", NULL };
	struct json_object *data;
	const char *created, *key;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (body == NULL || !json_object_is_type(body, json_type_object) ||
	    jparse_only_keys(body, keys) != 0 ||
	    jparse_string(body, "eventType", 64, &ev->type) != 0 || !valid_token(ev->type, 1, 64) ||
	    jparse_string(body, "createdAt", 40, &created) != 0 || created[0] == '\0' ||
	    !json_object_object_get_ex(body, "data", &data) ||
	    !json_object_is_type(data, json_type_object))
		return -1;
	if (strcmp(ev->type, "PAYMENT_STATUS_CHANGED") != 0)
		return 0;
	if (jparse_string(data, "orderId", 64, &ev->order_id) != 0 ||
	    !valid_token(ev->order_id, 6, 64) ||
	    jparse_string(data, "status", 32, &ev->status) != 0 || !known_status(ev->status))
		return -1;
	rc = jparse_string(data, "paymentKey", 200, &key);
	return rc < 0 ? -1 : 0;
}
