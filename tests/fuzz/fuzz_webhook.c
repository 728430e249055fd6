/* fuzz_webhook: a webhook body as the dispatcher parses it (jparse with the handlers' caps)
 * and lib/clients/pg_toss.c reads it (pg_toss_event_parse): any event it accepts names what
 * the handler needs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jparse.h"
#include "base/valid.h"
#include "clients/pg.h"
#include "fuzz.h"

#define FUZZ_MAX_LEN (1024 * 1024)   /* fcgi.max_body's default */
#define FUZZ_MAX_DEPTH 32            /* fcgi.json_max_depth's default */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_toss_event ev;
	struct json_object *o = NULL;

	if (jparse((const char *)data, size, FUZZ_MAX_LEN, FUZZ_MAX_DEPTH, &o) != JPARSE_OK)
		return 0;
	if (pg_toss_event_parse(o, &ev) == 0) {
		if (!valid_token(ev.type, 1, 64))
			abort();
		if (strcmp(ev.type, "PAYMENT_STATUS_CHANGED") == 0) {
			if (!valid_token(ev.order_id, 6, 64) || ev.status[0] == '\0')
				abort();
		} else if (ev.order_id[0] != '\0') {
			abort();
		}
	}
	json_object_put(o);
	return 0;
}
