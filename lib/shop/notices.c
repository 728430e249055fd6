/* notices: the record of order notices delivered per channel (see notices.h). */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/valid.h"
#include "infra/db.h"
#include "shop/notices.h"

static const char SQL_STATE[] =
    "SELECT outcome FROM notify_deliveries WHERE event_key = ? AND channel = ?";
static const char SQL_INSERT[] =
    "INSERT INTO notify_deliveries (event_key, channel, outcome, recipient, provider_ref,"
    " detail) VALUES (?, ?, ?, ?, ?, ?)";

#define NOTICES_DETAIL_MAX 255   /* characters of notify_deliveries.detail */

static const char *const channel_names[NOTICES_CHANNEL__MAX] = { "alimtalk" };

int
notices_event_key(char *out, size_t cap, const char *event, const char *id)
{
	int n;

	if (cap > 0)
		out[0] = '\0';
	if (!valid_token(event, 1, 32) || !valid_token(id, 1, 64))
		return -1;
	n = snprintf(out, cap, "%s:%s", event, id);
	if (n < 0 || (size_t)n >= cap || n > NOTICES_KEY_MAX) {
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int
notices_state(struct db *db, const char *event_key, enum notices_channel ch)
{
	struct arena *a = arena_new(512);
	struct db_res res;
	const char *s;
	int64_t n;
	int rc = NOTICES_NONE;

	n = db_query(db, a, &res, SQL_STATE, "ss", event_key, channel_names[ch]);
	if (n < 0)
		rc = (int)n;
	else if (n > 0) {
		s = db_res_str(&res, 0, 0);
		rc = s != NULL && strcmp(s, "sent") == 0 ? NOTICES_SENT : NOTICES_REFUSED;
	}
	arena_free(&a);
	return rc;
}

/* Inserts one row. 0 or an enum db_rc. */
static int
record(struct db *db, const char *event_key, enum notices_channel ch, const char *outcome,
    const char *recipient, const char *ref, const char *detail)
{
	char cut[NOTICES_DETAIL_MAX + 1];
	int64_t n;

	if (detail != NULL) {
		/* detail is printable ASCII (the client's cleaned message): bytes are characters */
		snprintf(cut, sizeof(cut), "%s", detail);
		detail = cut;
	}
	n = db_exec(db, SQL_INSERT, "ssssss", event_key, channel_names[ch], outcome, recipient, ref,
	    detail);
	return n < 0 ? (int)n : 0;
}

int
notices_record_sent(struct db *db, const char *event_key, enum notices_channel ch,
    const char *recipient, const char *provider_ref)
{
	return record(db, event_key, ch, "sent", recipient, provider_ref, NULL);
}

int
notices_record_refused(struct db *db, const char *event_key, enum notices_channel ch,
    const char *recipient, const char *detail)
{
	return record(db, event_key, ch, "refused", recipient, NULL, detail);
}
