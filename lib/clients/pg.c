/* pg: the PG client behind the strategy interface of pg.h: the strategy table, the client's
 * life cycle, the dispatching calls (argument checks, logging) and the HTTP and JSON helpers
 * the strategies share (pg_impl.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/buf.h"
#include "base/conf.h"
#include "infra/http.h"
#include "base/jparse.h"
#include "base/log.h"
#include "clients/pg.h"
#include "clients/pg_impl.h"

/* One row per PG: a new PG is one more strategy file and one more row. */
static const struct pg_ops *const pg_table[PG__MAX] = {
	&pg_toss_ops,       /* PG_TOSS */
	&pg_kakaopay_ops,   /* PG_KAKAOPAY */
};

/* The config keys of each PG (an empty secret turns the PG off). */
static const struct {
	enum conf_key api_url;
	enum conf_key secret_key;
} pg_keys[PG__MAX] = {
	{ CONF_PG_TOSS_API_URL, CONF_PG_TOSS_SECRET_KEY },          /* PG_TOSS */
	{ CONF_PG_KAKAOPAY_API_URL, CONF_PG_KAKAOPAY_SECRET_KEY },  /* PG_KAKAOPAY */
};

static const char *const pg_outcome_names[PG_OUTCOME__MAX] = {
	"ok",           /* PG_OK */
	"refused",      /* PG_REFUSED */
	"unknown",      /* PG_UNKNOWN */
	"in progress",  /* PG_IN_PROGRESS */
	"not found",    /* PG_NOT_FOUND */
	"not sent",     /* PG_NOT_SENT */
	"duplicate",    /* PG_DUPLICATE */
};

static const char *const pg_state_names[PG_STATE__MAX] = {
	"none", "open", "approved", "aborted", "expired", "canceled", "partially canceled",
};

static char *
pg_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

/* Wipes and frees a string that held a secret. */
static void
pg_free_secret(char **s)
{
	if (*s == NULL)
		return;
	explicit_bzero(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

/* Appends the standard base64 encoding (with padding) of src[0..len). */
static void
pg_base64(struct buf *b, const unsigned char *src, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];

		buf_putc(b, alphabet[v >> 18 & 63]);
		buf_putc(b, alphabet[v >> 12 & 63]);
		buf_putc(b, alphabet[v >> 6 & 63]);
		buf_putc(b, alphabet[v & 63]);
	}
	if (i + 1 == len) {
		uint32_t v = (uint32_t)src[i] << 16;

		buf_putc(b, alphabet[v >> 18 & 63]);
		buf_putc(b, alphabet[v >> 12 & 63]);
		buf_puts(b, "==");
	} else if (i + 2 == len) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;

		buf_putc(b, alphabet[v >> 18 & 63]);
		buf_putc(b, alphabet[v >> 12 & 63]);
		buf_putc(b, alphabet[v >> 6 & 63]);
		buf_putc(b, '=');
	}
}

/* The Authorization line: Toss is HTTP Basic with the secret key as the user and an empty
 * password ("secret:"); KakaoPay is "SECRET_KEY <secret>". */
static char *
pg_auth_header(enum pg_id id, const char *secret)
{
	struct buf b = { 0 }, cred = { 0 };

	buf_puts(&b, "Authorization: ");
	if (id == PG_TOSS) {
		buf_puts(&cred, secret);
		buf_putc(&cred, ':');
		buf_puts(&b, "Basic ");
		pg_base64(&b, (const unsigned char *)cred.data, cred.len);
		explicit_bzero(cred.data, cred.cap);
		buf_release(&cred);
	} else {
		buf_puts(&b, "SECRET_KEY ");
		buf_puts(&b, secret);
	}
	return buf_steal(&b);
}

struct pg *
pg_new(const struct conf *c, enum pg_id id)
{
	struct pg *p;
	size_t n;

	if ((unsigned)id >= PG__MAX)
		abort();
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		abort();
	p->id = id;
	p->ops = pg_table[id];
	p->conf = c;
	p->http = http_new(c);
	p->base_url = pg_strdup(conf_str(c, pg_keys[id].api_url));
	n = strlen(p->base_url);
	while (n > 0 && p->base_url[n - 1] == '/')
		p->base_url[--n] = '\0';
	p->auth_header = pg_auth_header(id, conf_str(c, pg_keys[id].secret_key));
	if (id == PG_KAKAOPAY)
		p->cid = pg_strdup(conf_str(c, CONF_PG_KAKAOPAY_CID));
	p->enabled = conf_str(c, pg_keys[id].secret_key)[0] != '\0';
	return p;
}

void
pg_free(struct pg **p)
{
	if (*p == NULL)
		return;
	http_free(&(*p)->http);
	free((*p)->base_url);
	pg_free_secret(&(*p)->auth_header);
	free((*p)->cid);
	free(*p);
	*p = NULL;
}

bool
pg_enabled(const struct conf *c, enum pg_id id)
{
	if ((unsigned)id >= PG__MAX || conf_str(c, pg_keys[id].secret_key)[0] == '\0')
		return false;
	return id != PG_TOSS || conf_str(c, CONF_PG_TOSS_CHECKOUT_URL)[0] != '\0';
}

const char *
pg_name(enum pg_id id)
{
	return (unsigned)id < PG__MAX ? pg_table[id]->name : "?";
}

int
pg_parse(const char *name, enum pg_id *out)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < PG__MAX; i++) {
		if (strcmp(name, pg_table[i]->name) == 0) {
			*out = (enum pg_id)i;
			return 0;
		}
	}
	return -1;
}

const char *
pg_outcome_name(enum pg_outcome o)
{
	return (unsigned)o < PG_OUTCOME__MAX ? pg_outcome_names[o] : "?";
}

const char *
pg_state_name(enum pg_state s)
{
	return (unsigned)s < PG_STATE__MAX ? pg_state_names[s] : "?";
}

/* ---- helpers for the strategies ------------------------------------------------------ */

void
pg_copy(char *dst, size_t cap, const char *s)
{
	size_t n;

	if (cap == 0)
		return;
	n = s != NULL ? strlen(s) : 0;
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

enum pg_outcome
pg_set(struct pg_result *out, enum pg_outcome o, const char *code, const char *message)
{
	out->outcome = o;
	pg_copy(out->code, sizeof(out->code), code);
	pg_copy(out->message, sizeof(out->message), message);
	return o;
}

enum pg_outcome
pg_transport_outcome(enum http_rc rc)
{
	switch (rc) {
	case HTTP_ERR_CONNECT:
	case HTTP_ERR_USAGE:
		return PG_NOT_SENT;
	case HTTP_OK:  /* not a transport failure: the caller parses the answer */
	case HTTP_ERR_TIMEOUT:
	case HTTP_ERR_TOO_BIG:
	case HTTP_ERR_IO:
	default:
		return PG_UNKNOWN;
	}
}

struct json_object *
pg_json_object(const char *body, size_t len)
{
	struct json_object *o = NULL;

	if (jparse(body != NULL ? body : "", body != NULL ? len : 0, PG_JSON_MAX, PG_JSON_DEPTH,
	    &o) != JPARSE_OK)
		return NULL;
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int
pg_json_str(struct json_object *o, const char *key, bool nullable, size_t max, char *dst,
    size_t cap)
{
	struct json_object *v;
	const char *s;
	size_t n, i;

	if (cap > 0)
		dst[0] = '\0';
	if (!json_object_is_type(o, json_type_object))
		return -1;
	if (!json_object_object_get_ex(o, key, &v))
		return 1;
	if (v == NULL)
		return nullable ? 1 : -1;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n > max)
		return -1;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	}
	pg_copy(dst, cap, s);
	return 0;
}

int
pg_json_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	return jparse_int64(o, key, min, max, out);
}

char *
pg_json_text(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return pg_strdup(s != NULL ? s : "null");
}

bool
pg_word_ok(const char *s, size_t max)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max || (unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	}
	return i > 0;
}

/* One request to the PG as lib/infra/http takes it, with the buffers it points into. */
struct pg_msg {
	struct http_req req;
	const char *headers[5];
	struct buf url;
	struct buf idem;
};

/* Builds m for pg_http's arguments (see pg_impl.h); pg_msg_release frees it. */
static void
pg_msg_build(struct pg *p, const char *method, const char *path_and_query, const char *json,
    const char *idempotency_key, struct pg_msg *m)
{
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	buf_puts(&m->url, p->base_url);
	buf_puts(&m->url, path_and_query);
	m->headers[n++] = p->auth_header;
	m->headers[n++] = "Accept: application/json";
	if (json != NULL)
		m->headers[n++] = "Content-Type: application/json";
	if (idempotency_key != NULL) {
		buf_puts(&m->idem, "Idempotency-Key: ");
		buf_puts(&m->idem, idempotency_key);
		m->headers[n++] = buf_cstr(&m->idem);
	}
	m->headers[n] = NULL;
	m->req.method = method;
	m->req.url = buf_cstr(&m->url);
	m->req.headers = m->headers;
	m->req.body = json;
	m->req.body_len = json != NULL ? strlen(json) : 0;
}

static void
pg_msg_release(struct pg_msg *m)
{
	buf_release(&m->url);
	buf_release(&m->idem);
}

/* pg_http's ending once http answered rc: 0 with out's status and time set, or -1 with out
 * filled by pg_transport_outcome. */
static int
pg_http_result(enum http_rc rc, const struct http_resp *resp, struct pg_result *out)
{
	out->http_status = rc == HTTP_OK ? resp->status : 0;
	out->elapsed_ms = resp->elapsed_ms;
	if (rc == HTTP_OK)
		return 0;
	pg_set(out, pg_transport_outcome(rc), PG_CODE_TRANSPORT, http_rc_name(rc));
	return -1;
}

/* Sends one request to base_url + path_and_query (already escaped) with the auth header,
 * JSON content headers and, when idempotency_key is set, Idempotency-Key. json may be NULL
 * (GET). On a response: returns 0, *resp holds it and out->http_status / elapsed_ms are set.
 * Otherwise: returns -1 with *out filled by pg_transport_outcome. resp->body is the caller's
 * to buf_release either way. */
static int
pg_http(struct pg *p, const char *method, const char *path_and_query, const char *json,
    const char *idempotency_key, struct http_resp *resp, struct pg_result *out)
{
	struct pg_msg m;
	int rc;

	pg_msg_build(p, method, path_and_query, json, idempotency_key, &m);
	rc = pg_http_result(http_do(p->http, &m.req, resp), resp, out);
	pg_msg_release(&m);
	return rc;
}

/* The answer to a prepared call: classified by the strategy, the call's time kept. */
static void
pg_spec_parse(struct pg *p, const struct pg_call_spec *spec, const struct http_resp *resp,
    struct pg_result *out)
{
	long elapsed = out->elapsed_ms;

	p->ops->parse(spec->call, &spec->exp, resp->status, resp->body.data, resp->body.len, out);
	out->elapsed_ms = elapsed;
}

int
pg_send(struct pg *p, struct pg_call_spec *spec, struct pg_result *out)
{
	struct http_resp resp = { 0 };

	if (pg_http(p, spec->method, spec->path, spec->json, spec->idem, &resp, out) == 0)
		pg_spec_parse(p, spec, &resp, out);
	free(spec->json);
	spec->json = NULL;
	buf_release(&resp.body);
	return (int)out->outcome;
}

/* ---- the calls --------------------------------------------------------------------- */

/* One log line per call: never the secret, never the PG's free-text message. */
static void
pg_log(const struct pg *p, const char *call, const char *ref, const struct pg_result *r)
{
	enum log_level lvl;

	switch (r->outcome) {
	case PG_OK:
		lvl = LOG_LVL_DEBUG;
		break;
	case PG_REFUSED:
	case PG_NOT_FOUND:
		lvl = LOG_LVL_INFO;
		break;
	default:
		lvl = LOG_LVL_WARN;
		break;
	}
	LOG_AT(NULL, lvl, "pg %s %s %s: %s (HTTP %ld%s%s) in %ld ms", pg_name(p->id), call,
	    ref != NULL ? ref : "-", pg_outcome_name(r->outcome), r->http_status,
	    r->code[0] != '\0' ? ", " : "", r->code, r->elapsed_ms);
}

/* The common guard of every call: a configured PG and request. */
static bool
pg_can_call(const struct pg *p, const void *req, struct pg_result *out)
{
	memset(out, 0, sizeof(*out));
	if (req == NULL) {
		pg_set(out, PG_NOT_SENT, PG_CODE_BAD_ARGUMENT, "no request");
		return false;
	}
	if (!p->enabled) {
		pg_set(out, PG_NOT_SENT, PG_CODE_NOT_CONFIGURED, "the PG has no secret key");
		return false;
	}
	return true;
}

enum pg_outcome
pg_ready(struct pg *p, const struct pg_ready_req *req, struct pg_result *out)
{
	if (!pg_can_call(p, req, out))
		return out->outcome;
	if (p->ops->ready == NULL) {
		pg_set(out, PG_NOT_SENT, PG_CODE_NOT_SUPPORTED, "this PG has no server-side ready");
		return out->outcome;
	}
	p->ops->ready(p, req, out);
	pg_log(p, "ready", req->order_id, out);
	return out->outcome;
}

enum pg_outcome
pg_confirm(struct pg *p, const struct pg_confirm_req *req, struct pg_result *out)
{
	if (!pg_can_call(p, req, out))
		return out->outcome;
	pg_confirm_many(p, req, 1, out);
	return out->outcome;
}

void
pg_confirm_many(struct pg *p, const struct pg_confirm_req *reqs, size_t n,
    struct pg_result *outs)
{
	struct pg_call_spec *spec = calloc(n > 0 ? n : 1, sizeof(*spec));
	struct pg_msg *msg = calloc(n > 0 ? n : 1, sizeof(*msg));
	struct http_req *hreq = calloc(n > 0 ? n : 1, sizeof(*hreq));
	struct http_resp *resp = calloc(n > 0 ? n : 1, sizeof(*resp));
	enum http_rc *rc = calloc(n > 0 ? n : 1, sizeof(*rc));
	size_t *at = calloc(n > 0 ? n : 1, sizeof(*at));
	bool *asked = calloc(n > 0 ? n : 1, sizeof(*asked));
	size_t i, k, m = 0;

	if (spec == NULL || msg == NULL || hreq == NULL || resp == NULL || rc == NULL ||
	    at == NULL || asked == NULL)
		abort();
	/* Checked and built, each; the ones fit to send go out together. */
	for (i = 0; i < n; i++) {
		asked[i] = pg_can_call(p, &reqs[i], &outs[i]);
		if (!asked[i] || p->ops->confirm_prepare(p, &reqs[i], &spec[i], &outs[i]) != 0)
			continue;
		pg_msg_build(p, spec[i].method, spec[i].path, spec[i].json, spec[i].idem, &msg[i]);
		hreq[m] = msg[i].req;
		at[m++] = i;
	}
	if (m == 1)
		rc[0] = http_do(p->http, &hreq[0], &resp[0]);
	else if (m > 1)
		http_do_many(p->http, hreq, resp, rc, m);
	for (k = 0; k < m; k++) {
		i = at[k];
		if (pg_http_result(rc[k], &resp[k], &outs[i]) == 0)
			pg_spec_parse(p, &spec[i], &resp[k], &outs[i]);
		free(spec[i].json);
		pg_msg_release(&msg[i]);
		buf_release(&resp[k].body);
	}
	for (i = 0; i < n; i++) {
		if (asked[i])
			pg_log(p, "confirm", reqs[i].order_id, &outs[i]);
	}
	free(asked);
	free(spec);
	free(msg);
	free(hreq);
	free(resp);
	free(rc);
	free(at);
}

enum pg_outcome
pg_cancel(struct pg *p, const struct pg_cancel_req *req, struct pg_result *out)
{
	if (!pg_can_call(p, req, out))
		return out->outcome;
	p->ops->cancel(p, req, out);
	pg_log(p, "cancel", req->payment_key, out);
	return out->outcome;
}

enum pg_outcome
pg_lookup(struct pg *p, const struct pg_lookup_req *req, struct pg_result *out)
{
	if (!pg_can_call(p, req, out))
		return out->outcome;
	p->ops->lookup(p, req, out);
	pg_log(p, "lookup", req->order_id != NULL ? req->order_id : req->payment_key, out);
	return out->outcome;
}
