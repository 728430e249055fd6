/* notices: which order notices reached the shopper, and by which channel
 * (notify_deliveries, sql/015). A notice is one event of an order ("paid:<orderId>",
 * "refunded:<refundId>"); each channel has at most one row per event, written once: sent, or
 * refused for good by the provider. The notify worker reads it before sending and writes it
 * with the job's completion, so a second job for the same event, or a retry after a refusal,
 * never sends on that channel again. Only the 알림톡 channel is recorded so far: mail stays
 * at least once (docs/ARCHITECTURE.md, Notify). Knows nothing of the providers. */
#ifndef JT_NOTICES_H
#define JT_NOTICES_H

#include <stddef.h>

struct db;

#define NOTICES_KEY_MAX 100   /* bytes of an event key (the provider's grouping key limit) */

enum notices_channel { NOTICES_ALIMTALK, NOTICES_CHANNEL__MAX };

enum notices_state {
	NOTICES_NONE,      /* nothing recorded: not tried, or tried with no answer yet */
	NOTICES_SENT,      /* the provider took it */
	NOTICES_REFUSED,   /* the provider refused it for good: use another channel */
	NOTICES_STATE__MAX
};

/* Writes the event key of a notice ("<event>:<id>", e.g. "paid:AbC..") into out[cap].
 * event and id are [A-Za-z0-9_-] (order and refund public ids). Returns 0, or -1 when they
 * are not or the key would pass NOTICES_KEY_MAX (out is then ""). */
int notices_event_key(char *out, size_t cap, const char *event, const char *id);

/* The recorded state of event_key on channel. Returns an enum notices_state (>= 0) or an
 * enum db_rc (< 0). */
int notices_state(struct db *db, const char *event_key, enum notices_channel ch);

/* Records that event_key was sent on channel to recipient (a number or address), with the
 * provider's reference (may be NULL). Call inside the transaction that completes the job.
 * Returns 0, or an enum db_rc (DB_DUP: a row is there already: another job recorded it). */
int notices_record_sent(struct db *db, const char *event_key, enum notices_channel ch,
    const char *recipient, const char *provider_ref);

/* Records that the provider refused event_key on channel for good (detail: its code and
 * message, cut to fit). Its own statement: the job goes on with another channel. Returns 0
 * or an enum db_rc (DB_DUP as above). */
int notices_record_refused(struct db *db, const char *event_key, enum notices_channel ch,
    const char *recipient, const char *detail);

#endif
