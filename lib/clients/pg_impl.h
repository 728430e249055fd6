/* pg_impl: what pg.c and the PG strategies (pg_toss.c, pg_kakaopay.c) share and nothing else
 * includes: the definition of struct pg, the HTTP and JSON helpers of pg.c, and each
 * strategy's answer parser (exposed so tests/unit/check_pg.c can feed it canned bodies). */
#ifndef JT_PG_IMPL_H
#define JT_PG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "infra/http.h"
#include "clients/pg.h"

#define PG_JSON_MAX (256 * 1024)  /* bytes of a PG answer we parse */
#define PG_JSON_DEPTH 8           /* a Toss Payment nests 3 deep (cancels[] of objects) */
#define PG_IDEMPOTENCY_KEY_MAX 300  /* Toss refuses longer keys (INVALID_IDEMPOTENCY_KEY) */

/* One client of one PG. Everything but conf is owned by the struct and freed by pg_free. */
struct pg {
	enum pg_id id;
	const struct pg_ops *ops;
	const struct conf *conf;   /* borrowed: must outlive the struct */
	struct http *http;         /* one handle per PG client: its connection is reused */
	char *base_url;            /* pg.<name>_api_url without a trailing '/' */
	char *auth_header;         /* the whole "Authorization: ..." line; wiped before free */
	char *cid;                 /* KakaoPay pg.kakaopay_cid; NULL for Toss */
	bool enabled;              /* a secret key is set: all the calls need (pg_enabled, for
	                            * offering the PG to shoppers, also wants Toss's window URL) */
};

/* The four calls, for the parsers (the same code can mean different things per call). */
enum pg_call { PG_CALL_READY, PG_CALL_CONFIRM, PG_CALL_CANCEL, PG_CALL_LOOKUP, PG_CALL__MAX };

/* What a success answer must agree with; a field left NULL / -1 is not checked. An answer
 * that parses but disagrees is PG_UNKNOWN with PG_CODE_MISMATCH: the PG did something, but
 * perhaps not what we asked (Toss replays the first answer for a reused Idempotency-Key even
 * when the body differs), so the caller must look the payment up. */
struct pg_expect {
	const char *payment_key;   /* the paymentKey / tid asked about */
	const char *order_id;      /* the orderId / partner_order_id asked about */
	int64_t total_amount;      /* confirm: the amount to approve */
	int64_t balance_amount;    /* cancel: cancelable - amount, what must remain */
};

/* A pg_expect that checks nothing. */
#define PG_EXPECT_NONE { NULL, NULL, -1, -1 }

/* One call made ready to send by a strategy (its *_prepare): pg.c sends it, alone or at once
 * with others (pg_confirm_many), and hands the answer to the strategy's parse. method and
 * path are static, idem is borrowed from the request, json is the strategy's pg_json_text
 * (NULL for GET) and pg.c frees it once sent. */
struct pg_call_spec {
	enum pg_call call;
	const char *method;
	const char *path;
	char *json;
	const char *idem;          /* Idempotency-Key, or NULL */
	struct pg_expect exp;      /* what the answer must agree with */
};

/* A strategy. confirm_prepare checks a confirm request and fills *spec (0), or fills *out
 * (PG_NOT_SENT, PG_CODE_BAD_ARGUMENT) and returns -1; parse is its answer classifier
 * (pg_toss_parse, pg_kakaopay_parse). The other calls are made whole by the strategy. */
struct pg_ops {
	const char *name;          /* "toss", "kakaopay": the config and database spelling */
	int (*ready)(struct pg *p, const struct pg_ready_req *req, struct pg_result *out);  /* may be NULL */
	int (*confirm_prepare)(struct pg *p, const struct pg_confirm_req *req,
	    struct pg_call_spec *spec, struct pg_result *out);
	int (*cancel)(struct pg *p, const struct pg_cancel_req *req, struct pg_result *out);
	int (*lookup)(struct pg *p, const struct pg_lookup_req *req, struct pg_result *out);
	enum pg_outcome (*parse)(enum pg_call call, const struct pg_expect *exp, long status,
	    const char *body, size_t len, struct pg_result *out);
};

/* Classifies one PG answer (HTTP status and body) to call, fills *out (zeroed first; sets
 * http_status, leaves elapsed_ms 0) and returns out->outcome. Never reads past body[len];
 * body may be NULL when len is 0. The tables are in the files' top comments. */
enum pg_outcome pg_toss_parse(enum pg_call call, const struct pg_expect *exp, long status,
    const char *body, size_t len, struct pg_result *out);
enum pg_outcome pg_kakaopay_parse(enum pg_call call, const struct pg_expect *exp, long status,
    const char *body, size_t len, struct pg_result *out);

/* Parses a Toss GET /v1/settlements answer (a JSON array of Settlement objects, at most
 * PG_SETTLEMENT_JSON_MAX bytes) into rows[0..*n), at most cap records; date, when not NULL,
 * must be every record's soldDate. Returns 0, or -1 (*n = 0) when the body or any record is
 * malformed or there are more than cap records. Unknown members are ignored. */
#define PG_SETTLEMENT_JSON_MAX (4 * 1024 * 1024)
int pg_toss_parse_settlements(const char *body, size_t len, const char *date,
    struct pg_settlement *rows, size_t cap, size_t *n);

/* Maps KakaoPay's payment status word to Toss's ("SUCCESS_PAYMENT" -> "DONE"); NULL for a
 * word we do not know (ISSUED_SID included: jangteo has no subscriptions). */
const char *pg_kakaopay_status(const char *kakao_status);

/* ---- helpers of pg.c for the strategies ---------------------------------------------- */

/* Sets outcome, code and message (each truncated to fit, at a UTF-8 boundary); returns the
 * outcome. code and message may be NULL (""). */
enum pg_outcome pg_set(struct pg_result *out, enum pg_outcome o, const char *code,
    const char *message);

/* Copies s into dst[cap], cut at a UTF-8 character boundary when it does not fit. */
void pg_copy(char *dst, size_t cap, const char *s);

/* The outcome of a call whose response never arrived: HTTP_ERR_CONNECT and HTTP_ERR_USAGE
 * mean nothing was sent (PG_NOT_SENT); a timeout, reset or oversized answer may have been
 * acted upon (PG_UNKNOWN). */
enum pg_outcome pg_transport_outcome(enum http_rc rc);

/* Parses body as a strict JSON object (size and depth caps, UTF-8, no duplicate keys).
 * Returns a new reference (json_object_put) or NULL when it is not one. */
struct json_object *pg_json_object(const char *body, size_t len);

/* Reads a string member into dst[cap]. Returns 0 when copied, 1 when absent or (when
 * nullable) null, -1 when of another type, longer than max bytes or holding a control
 * character; dst is "" unless 0 is returned. Longer-than-cap values within max are cut. */
int pg_json_str(struct json_object *o, const char *key, bool nullable, size_t max, char *dst,
    size_t cap);

/* An integer member within [min, max]: 0 stored, 1 absent, -1 wrong type or range. */
int pg_json_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out);

/* Sends the prepared call spec (see struct pg_call_spec) and classifies the answer with the
 * strategy's parse, the call's time kept; a request that got no answer is classified by
 * pg_transport_outcome. Frees spec->json. Returns out->outcome. */
int pg_send(struct pg *p, struct pg_call_spec *spec, struct pg_result *out);

/* Serialises o compactly (no "\/" escapes) into a new string the caller free()s. */
char *pg_json_text(struct json_object *o);

/* An identifier we put in a URL or body: 1..max bytes of printable ASCII, no space. */
bool pg_word_ok(const char *s, size_t max);

extern const struct pg_ops pg_toss_ops;
extern const struct pg_ops pg_kakaopay_ops;

#endif
