/* alimtalk: KakaoTalk 알림톡 (informational business messages) through NHN Cloud's KakaoTalk
 * Bizmessage API v2.3, "메시지 치환 발송 요청":
 *
 *   POST {alimtalk.url}/alimtalk/v2.3/appkeys/{alimtalk.appkey}/messages
 *   Content-Type: application/json;charset=UTF-8
 *   X-Secret-Key: {alimtalk.secret_key}
 *   X-NC-API-IDEMPOTENCY-KEY: {the message's key}
 *   {"senderKey", "templateCode", "recipientList": [{"recipientNo": "01012345678",
 *    "templateParameter": {"name": "김장터", ...}, "resendParameter": {"isResend": true,
 *    "resendSendNo": "{alimtalk.resend_send_no}"}, "recipientGroupingKey": "{the key}"}]}
 *
 *   -> {"header": {"resultCode", "resultMessage", "isSuccessful"}, "message": {"requestId",
 *       "senderGroupingKey", "sendResults": [{"recipientSeq", "recipientNo", "resultCode",
 *       "resultMessage", "recipientGroupingKey"}]}}
 *
 * One recipient per call. The provider fills the registered template with templateParameter
 * and hands it to Kakao; a recipient without KakaoTalk (or whom Kakao cannot reach) gets the
 * same text as SMS/LMS from the provider's SMS service when isResend is true (that needs
 * resendSendNo, a sender number registered there): that fallback is the provider's, after
 * this call has answered.
 *
 * Idempotency: the provider refuses a second request with the same X-NC-API-IDEMPOTENCY-KEY
 * within 10 minutes (header.resultCode -1005) and sends nothing for it. The caller gives
 * every try of one notice the same key, so a retry after a lost answer (a timeout, a worker
 * killed mid-call) cannot send the notice twice inside that window: -1005 means an earlier
 * try was taken (ALIMTALK_DUPLICATE).
 *
 * Outcomes (alimtalk_classify, one place):
 *   ALIMTALK_SENT       200, header.isSuccessful, resultCode 0, and the recipient's
 *                       sendResults resultCode 0 (requestId kept)
 *   ALIMTALK_DUPLICATE  header resultCode -1005
 *   ALIMTALK_REFUSED    a definite no, nothing sent: header resultCode 4 (validation) or
 *                       -1000..-3999 but -1005 (credentials, sender, template, parameters),
 *                       a recipient resultCode other than 0, or a 4xx other than 429
 *   ALIMTALK_UNKNOWN    no complete answer (connect, timeout, reset), 429, 5xx, another
 *                       status, a body not in the documented shape, or an unlisted code
 * Only ALIMTALK_UNKNOWN counts as a failure for the "alimtalk" circuit breaker (breaker.*
 * settings); an open breaker answers ALIMTALK_BREAKER_OPEN without calling. Transitions are
 * logged and published to Redis (admin console, /metrics).
 *
 * One struct alimtalk per process (not thread-safe), made on first use and kept: its libcurl
 * handle keeps the connection alive. The secret key never reaches a log. */
#ifndef JT_ALIMTALK_H
#define JT_ALIMTALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"

struct breaker;
struct conf;
struct log_ctx;
struct alimtalk;

#define ALIMTALK_PARAMS_MAX 12     /* template variables of one message */
#define ALIMTALK_KEY_MAX 100       /* bytes of a key: [A-Za-z0-9_:-] (recipientGroupingKey's
                                    * documented limit) */
#define ALIMTALK_VALUE_MAX 1000    /* bytes of one variable's value */
#define ALIMTALK_BODY_MAX (64 * 1024) /* bytes of an answer parsed */

enum alimtalk_outcome {
	ALIMTALK_SENT,
	ALIMTALK_DUPLICATE,
	ALIMTALK_REFUSED,
	ALIMTALK_UNKNOWN,
	ALIMTALK_BREAKER_OPEN,
	ALIMTALK_OFF,              /* alimtalk.appkey is empty: not called */
	ALIMTALK_OUTCOME__MAX
};

/* One variable of a template: #{key} in the registered text becomes value. */
struct alimtalk_param {
	const char *key;
	const char *value;         /* valid UTF-8, at most ALIMTALK_VALUE_MAX bytes */
};

struct alimtalk_msg {
	const char *template_code; /* as registered at the provider (at most 20 characters) */
	const char *recipient;     /* "010-1234-5678" (valid_kr_mobile's form): sent as digits */
	const struct alimtalk_param *params;
	size_t nparams;            /* at most ALIMTALK_PARAMS_MAX */
	const char *key;           /* the notice's idempotency key, the same on every try; also
	                            * sent as recipientGroupingKey (found again at the provider) */
};

struct alimtalk_result {
	enum alimtalk_outcome outcome;
	long http_status;          /* 0 when no answer */
	int result_code;           /* header.resultCode, or the recipient's resultCode when the
	                            * header succeeded but the recipient was refused; 0 otherwise */
	char message[160];         /* resultMessage (printable ASCII kept, for logs) */
	char request_id[64];       /* the provider's requestId when SENT */
	long elapsed_ms;
};

/* True when 알림톡 is configured (alimtalk.appkey is not empty). */
bool alimtalk_enabled(const struct conf *c);

/* A client for c's settings, with its own "alimtalk" breaker and a Redis connection for
 * publishing it. Never NULL. Owned by the caller: alimtalk_free. */
struct alimtalk *alimtalk_new(const struct conf *c);

/* Frees *at and sets it to NULL. NULL-safe. */
void alimtalk_free(struct alimtalk **at);

/* The client's breaker (tests, the admin console's name "alimtalk"). */
struct breaker *alimtalk_breaker(struct alimtalk *at);

/* Sends m (see the top of the file) and fills *out. log may be NULL. A message this module
 * would not send (bad recipient, key, template code or parameters) is ALIMTALK_REFUSED with
 * result_code 0 and nothing sent. */
void alimtalk_send(struct alimtalk *at, const struct alimtalk_msg *m,
    const struct log_ctx *log, struct alimtalk_result *out);

/* The request body for m under c's settings, appended to out. Returns 0, or -1 when m is
 * not sendable (recipient not a mobile number, key not [A-Za-z0-9_:-]{1,100}, no template
 * code, too many parameters, a key or value too long or not UTF-8). Pure. */
int alimtalk_request_body(const struct conf *c, const struct alimtalk_msg *m, struct buf *out);

/* Classifies an answer (http_status and body; body may be NULL) into out's outcome,
 * result_code, message and request_id (see the top of the file). Pure. */
void alimtalk_classify(long http_status, const char *body, size_t len,
    struct alimtalk_result *out);

/* "sent", "duplicate", "refused", "unknown", "breaker open", "off"; "?" out of range. */
const char *alimtalk_outcome_name(enum alimtalk_outcome o);

#endif
