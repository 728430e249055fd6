/* alimtalk: KakaoTalk 알림톡 through NHN Cloud's Bizmessage API (see alimtalk.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/conf.h"
#include "base/esc.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/valid.h"
#include "clients/alimtalk.h"
#include "infra/breaker.h"
#include "infra/http.h"
#include "infra/redis.h"

#define ALIMTALK_JSON_DEPTH 8
#define ALIMTALK_PUBLISH_MS 10000   /* breaker report refreshed at most this often */
#define ALIMTALK_PUBLISH_TTL 120    /* life of a report in Redis */
#define ALIMTALK_DUPLICATE_CODE (-1005)

struct alimtalk {
	const struct conf *conf;
	struct http *http;
	struct redis *redis;          /* for breaker reports only */
	struct breaker *breaker;
	int64_t published_ms;         /* breaker clock time of the last report */
};

static const char *const outcome_names[ALIMTALK_OUTCOME__MAX] = {
	"sent", "duplicate", "refused", "unknown", "breaker open", "off",
};

const char *
alimtalk_outcome_name(enum alimtalk_outcome o)
{
	return (unsigned)o < ALIMTALK_OUTCOME__MAX ? outcome_names[o] : "?";
}

bool
alimtalk_enabled(const struct conf *c)
{
	return conf_str(c, CONF_ALIMTALK_APPKEY)[0] != '\0';
}

/* The breaker hook: log the change and report it to Redis. */
static void
on_transition(struct breaker *b, enum breaker_state from, enum breaker_state to, void *arg)
{
	struct alimtalk *at = arg;
	struct breaker_snapshot s;

	breaker_snapshot(b, &s);
	log_warn(NULL, "breaker %s: %s -> %s (since start: %" PRIu64 " calls, %" PRIu64
	    " failed, %" PRIu64 " slow, %" PRIu64 " refused)", breaker_name(b),
	    breaker_state_name(from), breaker_state_name(to), s.counters.calls,
	    s.counters.failures, s.counters.slow, s.counters.rejected);
	if (at->redis != NULL && breaker_publish(b, at->redis, ALIMTALK_PUBLISH_TTL) == 0)
		at->published_ms = s.now_ms;
}

struct alimtalk *
alimtalk_new(const struct conf *c)
{
	struct alimtalk *at = calloc(1, sizeof(*at));
	struct breaker_settings s;
	struct breaker_hook h;

	if (at == NULL)
		abort();
	at->conf = c;
	at->http = http_new(c);
	at->redis = redis_new(c);
	breaker_settings_from_conf(c, &s);
	at->breaker = breaker_new("alimtalk", &s, NULL);
	if (at->breaker == NULL)
		abort();  /* the config's bounds make the settings valid */
	h.fn = on_transition;
	h.arg = at;
	breaker_set_hook(at->breaker, &h);
	return at;
}

void
alimtalk_free(struct alimtalk **at)
{
	if (at == NULL || *at == NULL)
		return;
	http_free(&(*at)->http);
	redis_free(&(*at)->redis);
	breaker_free(&(*at)->breaker);
	free(*at);
	*at = NULL;
}

struct breaker *
alimtalk_breaker(struct alimtalk *at)
{
	return at->breaker;
}

/* True for a key the provider and our logs can carry as is: [A-Za-z0-9_:-]{1,100}. */
static bool
key_ok(const char *k)
{
	size_t i;

	if (k == NULL || k[0] == '\0')
		return false;
	for (i = 0; k[i] != '\0'; i++) {
		char ch = k[i];

		if (i >= ALIMTALK_KEY_MAX || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == ':' || ch == '-'))
			return false;
	}
	return true;
}

int
alimtalk_request_body(const struct conf *c, const struct alimtalk_msg *m, struct buf *out)
{
	struct json_object *o, *list, *rcpt, *params, *resend;
	char mobile[VALID_KR_MOBILE_LEN + 1], digits[12];
	const char *send_no = conf_str(c, CONF_ALIMTALK_RESEND_SEND_NO), *s;
	size_t i, len;

	if (m->template_code == NULL || m->template_code[0] == '\0' || !key_ok(m->key) ||
	    m->nparams > ALIMTALK_PARAMS_MAX ||
	    valid_kr_mobile(m->recipient, mobile, sizeof(mobile)) != 0)
		return -1;
	for (i = 0; i < m->nparams; i++) {
		const struct alimtalk_param *p = &m->params[i];

		if (!key_ok(p->key) || p->value == NULL || strlen(p->value) > ALIMTALK_VALUE_MAX ||
		    !valid_utf8(p->value, strlen(p->value)))
			return -1;
	}
	/* "010-1234-5678" -> "01012345678" */
	memcpy(digits, mobile, 3);
	memcpy(digits + 3, mobile + 4, 4);
	memcpy(digits + 7, mobile + 9, 4);
	digits[11] = '\0';

	params = json_object_new_object();
	for (i = 0; i < m->nparams; i++)
		json_object_object_add(params, m->params[i].key,
		    json_object_new_string(m->params[i].value));
	resend = json_object_new_object();
	json_object_object_add(resend, "isResend", json_object_new_boolean(send_no[0] != '\0'));
	if (send_no[0] != '\0')
		json_object_object_add(resend, "resendSendNo", json_object_new_string(send_no));
	rcpt = json_object_new_object();
	json_object_object_add(rcpt, "recipientNo", json_object_new_string(digits));
	json_object_object_add(rcpt, "templateParameter", params);
	json_object_object_add(rcpt, "resendParameter", resend);
	json_object_object_add(rcpt, "recipientGroupingKey", json_object_new_string(m->key));
	list = json_object_new_array();
	json_object_array_add(list, rcpt);
	o = json_object_new_object();
	json_object_object_add(o, "senderKey",
	    json_object_new_string(conf_str(c, CONF_ALIMTALK_SENDER_KEY)));
	json_object_object_add(o, "templateCode", json_object_new_string(m->template_code));
	json_object_object_add(o, "recipientList", list);
	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	buf_append(out, s, len);
	json_object_put(o);
	return 0;
}

/* Copies the printable ASCII of s into out[cap] (anything else becomes '?'), for logs. */
static void
copy_printable(char *out, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < cap; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[cap > 0 ? i : 0] = '\0';
}

/* True for a header result code that is a definite refusal: nothing was or will be sent. */
static bool
definite_refusal(int64_t code)
{
	return code == 4 || (code <= -1000 && code > -4000 && code != ALIMTALK_DUPLICATE_CODE);
}

/* Reads an integer member key of obj. 0 or -1. */
static int
int_member(struct json_object *obj, const char *key, int64_t *out)
{
	return jparse_int64(obj, key, INT32_MIN, INT32_MAX, out) == 0 ? 0 : -1;
}

void
alimtalk_classify(long http_status, const char *body, size_t len, struct alimtalk_result *out)
{
	struct json_object *o = NULL, *header, *message, *results, *first, *ok;
	const char *msg = NULL, *req_id = NULL;
	int64_t code, rcode;

	out->http_status = http_status;
	out->result_code = 0;
	out->message[0] = '\0';
	out->request_id[0] = '\0';
	out->outcome = ALIMTALK_UNKNOWN;
	if (http_status == 429 || http_status >= 500 || http_status < 200 ||
	    (http_status >= 300 && http_status < 400))
		return;
	if (jparse(body != NULL ? body : "", body != NULL ? len : 0, ALIMTALK_BODY_MAX,
	    ALIMTALK_JSON_DEPTH, &o) != JPARSE_OK || o == NULL ||
	    !json_object_object_get_ex(o, "header", &header) ||
	    !json_object_is_type(header, json_type_object) || int_member(header, "resultCode",
	    &code) != 0 || !json_object_object_get_ex(header, "isSuccessful", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		if (http_status >= 400)
			out->outcome = ALIMTALK_REFUSED;  /* a 4xx without the envelope: refused */
		goto out;
	}
	out->result_code = (int)code;
	if (jparse_string(header, "resultMessage", 4096, &msg) == 0)
		copy_printable(out->message, sizeof(out->message), msg);
	if (!json_object_get_boolean(ok) || code != 0) {
		if (code == ALIMTALK_DUPLICATE_CODE)
			out->outcome = ALIMTALK_DUPLICATE;
		else if (definite_refusal(code) || http_status >= 400)
			out->outcome = ALIMTALK_REFUSED;
		goto out;
	}
	if (http_status != 200)
		goto out;  /* success in a 2xx that is not 200: not the documented answer */
	if (!json_object_object_get_ex(o, "message", &message) ||
	    !json_object_is_type(message, json_type_object) ||
	    !json_object_object_get_ex(message, "sendResults", &results) ||
	    !json_object_is_type(results, json_type_array) ||
	    json_object_array_length(results) != 1)
		goto out;
	first = json_object_array_get_idx(results, 0);
	if (!json_object_is_type(first, json_type_object) ||
	    int_member(first, "resultCode", &rcode) != 0)
		goto out;
	if (rcode != 0) {
		out->result_code = (int)rcode;
		if (jparse_string(first, "resultMessage", 4096, &msg) == 0)
			copy_printable(out->message, sizeof(out->message), msg);
		out->outcome = ALIMTALK_REFUSED;
		goto out;
	}
	if (jparse_string(message, "requestId", 200, &req_id) == 0)
		copy_printable(out->request_id, sizeof(out->request_id), req_id);
	out->outcome = ALIMTALK_SENT;
out:
	json_object_put(o);
}

/* Reports the breaker to Redis when the last report is older than ALIMTALK_PUBLISH_MS. */
static void
maybe_publish(struct alimtalk *at)
{
	int64_t now = breaker_clock_ms();

	if (at->published_ms != 0 && now - at->published_ms < ALIMTALK_PUBLISH_MS)
		return;
	if (breaker_publish(at->breaker, at->redis, ALIMTALK_PUBLISH_TTL) == 0)
		at->published_ms = now;
}

/* Wipes a header line that held the secret before it is released. */
static void
release_secret(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_release(b);
}

void
alimtalk_send(struct alimtalk *at, const struct alimtalk_msg *m, const struct log_ctx *log,
    struct alimtalk_result *out)
{
	const struct conf *c = at->conf;
	struct buf url = { 0 }, body = { 0 }, secret = { 0 }, idem = { 0 };
	struct http_resp resp = { 0 };
	struct http_req req;
	const char *headers[4];
	enum http_rc hrc;

	memset(out, 0, sizeof(*out));
	out->outcome = ALIMTALK_OFF;
	if (!alimtalk_enabled(c))
		return;
	out->outcome = ALIMTALK_REFUSED;
	if (alimtalk_request_body(c, m, &body) != 0) {
		log_error(log, "alimtalk: message %s not sendable (recipient, key or parameters)",
		    key_ok(m->key) ? m->key : "?");
		goto out;
	}
	if (!breaker_allow(at->breaker)) {
		out->outcome = ALIMTALK_BREAKER_OPEN;
		goto out;
	}
	buf_puts(&url, conf_str(c, CONF_ALIMTALK_URL));
	buf_puts(&url, "/alimtalk/v2.3/appkeys/");
	esc_url_path(&url, conf_str(c, CONF_ALIMTALK_APPKEY));
	buf_puts(&url, "/messages");
	buf_puts(&secret, "X-Secret-Key: ");
	buf_puts(&secret, conf_str(c, CONF_ALIMTALK_SECRET_KEY));
	buf_printf(&idem, "X-NC-API-IDEMPOTENCY-KEY: %s", m->key);
	headers[0] = "Content-Type: application/json;charset=UTF-8";
	headers[1] = buf_cstr(&secret);
	headers[2] = buf_cstr(&idem);
	headers[3] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = buf_cstr(&url);
	req.headers = headers;
	req.body = body.data;
	req.body_len = body.len;
	req.timeout_ms = (long)conf_int(c, CONF_ALIMTALK_TIMEOUT_MS);
	hrc = http_do(at->http, &req, &resp);
	out->elapsed_ms = resp.elapsed_ms;
	if (hrc != HTTP_OK) {
		out->outcome = ALIMTALK_UNKNOWN;
		breaker_record(at->breaker, false, resp.elapsed_ms);
		log_warn(log, "alimtalk: %s: %s after %ld ms", m->key, http_rc_name(hrc),
		    resp.elapsed_ms);
		goto published;
	}
	alimtalk_classify(resp.status, resp.body.data, resp.body.len, out);
	out->elapsed_ms = resp.elapsed_ms;
	breaker_record(at->breaker, out->outcome != ALIMTALK_UNKNOWN, resp.elapsed_ms);
	if (out->outcome != ALIMTALK_SENT)
		log_warn(log, "alimtalk: %s: %s (HTTP %ld, code %d: %s, %ld ms)", m->key,
		    alimtalk_outcome_name(out->outcome), resp.status, out->result_code,
		    out->message, resp.elapsed_ms);
published:
	maybe_publish(at);
out:
	buf_release(&url);
	buf_release(&body);
	buf_release(&idem);
	release_secret(&secret);
	buf_release(&resp.body);
}
