/* pricecmp: the lowest price of a product on Naver Shopping (see pricecmp.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <json-c/json.h>

#include "infra/breaker.h"
#include "base/conf.h"
#include "base/esc.h"
#include "infra/http.h"
#include "base/jparse.h"
#include "base/log.h"
#include "clients/pricecmp.h"
#include "infra/redis.h"
#include "base/valid.h"

#define PRICECMP_JSON_DEPTH 4        /* {"items": [{"title": "..."}]} is depth 2 */
#define PRICECMP_CACHE_MAX 8192      /* bytes of one cache entry */
#define PRICECMP_KEY_MAX 64          /* bytes of a cache key */

struct pricecmp {
	const struct conf *conf;
	struct redis *redis;           /* may be NULL */
	struct http *http;
	struct breaker *breaker;
	const struct log_ctx *log;     /* the current lookup's, for the breaker hook */
	int64_t published_ms;          /* breaker clock time of the last report, 0 = never */
};

static const char *const pricecmp_status_names[PRICECMP_STATUS__MAX] = {
	[PRICECMP_OFF] = "off",
	[PRICECMP_FOUND] = "found",
	[PRICECMP_NONE] = "none",
	[PRICECMP_UNAVAILABLE] = "unavailable",
};

static const char *const pricecmp_rc_names[PRICECMP_RC__MAX] = {
	[PRICECMP_OK] = "ok",
	[PRICECMP_ERR_TRANSPORT] = "no answer",
	[PRICECMP_ERR_SERVER] = "server error",
	[PRICECMP_ERR_RATE_LIMITED] = "rate limited",
	[PRICECMP_ERR_AUTH] = "credentials refused",
	[PRICECMP_ERR_BAD_RESPONSE] = "bad response",
	[PRICECMP_ERR_BREAKER_OPEN] = "breaker open",
	[PRICECMP_ERR_USAGE] = "unusable request",
};

const char *
pricecmp_status_name(enum pricecmp_status s)
{
	if ((unsigned)s >= PRICECMP_STATUS__MAX)
		return "?";
	return pricecmp_status_names[s];
}

const char *
pricecmp_rc_name(enum pricecmp_rc rc)
{
	if ((unsigned)rc >= PRICECMP_RC__MAX)
		return "?";
	return pricecmp_rc_names[rc];
}

/* ---- parsing -------------------------------------------------------------------------------- */

/* The length of the longest prefix of s[0..len) that is at most max bytes and ends on a
 * UTF-8 character boundary (s is valid UTF-8). */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* An lprice: 1..PRICECMP_PRICE_DIGITS digits, no leading zero, 1..PRICECMP_PRICE_MAX. */
static int
parse_price(const char *s, int64_t *out)
{
	size_t n = strlen(s);

	if (n == 0 || n > PRICECMP_PRICE_DIGITS || strspn(s, "0123456789") != n || s[0] == '0')
		return -1;
	return valid_int64(s, 1, PRICECMP_PRICE_MAX, out);
}

/* True when s is an http(s) URL of printable ASCII without spaces, with something after the
 * scheme, at most PRICECMP_LINK_MAX bytes. */
static bool
link_ok(const char *s)
{
	size_t i, n = strlen(s), scheme;

	if (strncmp(s, "https://", 8) == 0)
		scheme = 8;
	else if (strncmp(s, "http://", 7) == 0)
		scheme = 7;
	else
		return false;
	if (n == scheme || n > PRICECMP_LINK_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
			return false;
	return true;
}

static void
copy_cut(char *out, size_t cap, const char *s)
{
	size_t n = utf8_cut(s, strlen(s), cap - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

/* Appends code point cp as UTF-8. */
static void
put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	buf_append(b, u, n);
}

/* A numeric character reference at s ("&#60;", "&#x3C;"): returns its length and stores the
 * code point, or returns 0 when s is not one or names a control character, a surrogate, or
 * nothing valid. */
static size_t
numeric_ref(const char *s, uint32_t *cp)
{
	uint32_t v = 0;
	size_t i, start;
	bool hex;

	if (s[0] != '&' || s[1] != '#')
		return 0;
	hex = s[2] == 'x' || s[2] == 'X';
	i = start = hex ? 3 : 2;
	for (; i - start < 7; i++) {
		char ch = s[i];
		uint32_t d;

		if (ch >= '0' && ch <= '9')
			d = (uint32_t)(ch - '0');
		else if (hex && ch >= 'a' && ch <= 'f')
			d = (uint32_t)(ch - 'a' + 10);
		else if (hex && ch >= 'A' && ch <= 'F')
			d = (uint32_t)(ch - 'A' + 10);
		else
			break;
		v = v * (hex ? 16 : 10) + d;
	}
	if (i == start || s[i] != ';')
		return 0;
	if (v < 0x20 || (v >= 0x7F && v < 0xA0) || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
		return 0;
	*cp = v;
	return i + 1;
}

void
pricecmp_strip_title(const char *in, char *out, size_t cap)
{
	static const struct { const char *from; const char *to; } ents[] = {
		{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
		{ "&apos;", "'" },
	};
	struct buf b = { 0 };
	size_t i, k;

	for (i = 0; in[i] != '\0';) {
		if (strncasecmp(in + i, "<b>", 3) == 0) {
			i += 3;
			continue;
		}
		if (strncasecmp(in + i, "</b>", 4) == 0) {
			i += 4;
			continue;
		}
		if (in[i] == '&') {
			uint32_t cp;
			size_t n = numeric_ref(in + i, &cp);

			if (n > 0) {
				put_utf8(&b, cp);
				i += n;
				continue;
			}
			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
				if (strncmp(in + i, ents[k].from, strlen(ents[k].from)) == 0)
					break;
			if (k < sizeof(ents) / sizeof(ents[0])) {
				buf_puts(&b, ents[k].to);
				i += strlen(ents[k].from);
				continue;
			}
		}
		buf_putc(&b, in[i]);
		i++;
	}
	copy_cut(out, cap, buf_cstr(&b));
	buf_release(&b);
}

/* Reads one item into *out. Returns 0, or -1 when it breaks a rule of pricecmp_parse. */
static int
parse_item(struct json_object *it, struct pricecmp_offer *out)
{
	const char *title, *link, *mall, *lprice;

	if (!json_object_is_type(it, json_type_object))
		return -1;
	if (jparse_string(it, "lprice", PRICECMP_PRICE_DIGITS + 1, &lprice) != 0 ||
	    parse_price(lprice, &out->price) != 0)
		return -1;
	if (jparse_string(it, "link", PRICECMP_LINK_MAX, &link) != 0 || !link_ok(link))
		return -1;
	if (jparse_string(it, "mallName", PRICECMP_MALL_MAX, &mall) != 0)
		return -1;
	if (jparse_string(it, "title", PRICECMP_BODY_MAX, &title) != 0)
		return -1;
	memcpy(out->link, link, strlen(link) + 1);
	memcpy(out->mall, mall, strlen(mall) + 1);
	pricecmp_strip_title(title, out->title, sizeof(out->title));
	return 0;
}

enum pricecmp_rc
pricecmp_parse(long status, const char *body, size_t len, struct pricecmp_result *out)
{
	struct pricecmp_offer best, cur;
	struct json_object *o = NULL, *items, *code;
	enum pricecmp_rc rc = PRICECMP_ERR_BAD_RESPONSE;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	out->status = PRICECMP_UNAVAILABLE;
	if (status == 429)
		return out->rc = PRICECMP_ERR_RATE_LIMITED;
	if (status == 401 || status == 403)
		return out->rc = PRICECMP_ERR_AUTH;
	if (status >= 500 && status <= 599)
		return out->rc = PRICECMP_ERR_SERVER;
	if (status != 200)
		return out->rc = PRICECMP_ERR_BAD_RESPONSE;
	if (jparse(body != NULL ? body : "", len, PRICECMP_BODY_MAX, PRICECMP_JSON_DEPTH, &o) !=
	    JPARSE_OK || !json_object_is_type(o, json_type_object))
		goto out;
	if (json_object_object_get_ex(o, "errorCode", &code)) {
		const char *c = json_object_get_string(code);

		if (json_object_is_type(code, json_type_string) &&
		    (strcmp(c, "010") == 0 || strcmp(c, "012") == 0))
			rc = PRICECMP_ERR_RATE_LIMITED;
		goto out;
	}
	if (!json_object_object_get_ex(o, "items", &items) ||
	    !json_object_is_type(items, json_type_array))
		goto out;
	n = json_object_array_length(items);
	if (n > PRICECMP_ITEMS_MAX)
		goto out;
	memset(&best, 0, sizeof(best));
	for (i = 0; i < n; i++) {
		memset(&cur, 0, sizeof(cur));
		if (parse_item(json_object_array_get_idx(items, i), &cur) != 0)
			goto out;
		if (i == 0 || cur.price < best.price)
			best = cur;
	}
	rc = PRICECMP_OK;
	out->status = n > 0 ? PRICECMP_FOUND : PRICECMP_NONE;
	out->offer = best;
out:
	json_object_put(o);
	if (rc != PRICECMP_OK) {
		memset(out, 0, sizeof(*out));
		out->status = PRICECMP_UNAVAILABLE;
	}
	out->rc = rc;
	return rc;
}

enum pricecmp_api
pricecmp_api_for_url(const char *url)
{
	static const char *const hub[] = { "/search/v1/shop", "/search/v1/shop.json" };
	const char *p = strstr(url, "://");
	size_t i, n;

	if (p == NULL)
		return PRICECMP_API_OPENAPI;
	p = strchr(p + 3, '/');
	if (p == NULL)
		return PRICECMP_API_OPENAPI;
	n = strcspn(p, "?#");
	for (i = 0; i < sizeof(hub) / sizeof(hub[0]); i++) {
		size_t h = strlen(hub[i]);

		if (n >= h && memcmp(p + n - h, hub[i], h) == 0)
			return PRICECMP_API_HUB;
	}
	return PRICECMP_API_OPENAPI;
}

int
pricecmp_request_url(const char *base_url, const char *name, struct buf *out)
{
	size_t len, start, n;
	char *q;

	if (name == NULL || !valid_utf8(name, strlen(name)))
		return -1;
	len = strlen(name);
	start = strspn(name, " \t");
	while (len > start && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	if (len == start)
		return -1;
	n = utf8_cut(name + start, len - start, PRICECMP_QUERY_MAX);
	q = strndup(name + start, n);
	if (q == NULL)
		abort();
	buf_puts(out, base_url);
	buf_putc(out, strchr(base_url, '?') != NULL ? '&' : '?');
	buf_puts(out, "query=");
	esc_url_query(out, q);
	buf_puts(out, "&display=10&start=1&sort=asc&exclude=used:rental:cbshop");
	free(q);
	return 0;
}

/* ---- the cache ---------------------------------------------------------------------------- */

int
pricecmp_cache_encode(const struct pricecmp_result *r, const char *query, struct buf *out)
{
	struct json_object *o;

	if (r->status != PRICECMP_FOUND && r->status != PRICECMP_NONE)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "q", json_object_new_string(query));
	json_object_object_add(o, "s", json_object_new_string(pricecmp_status_name(r->status)));
	json_object_object_add(o, "at", json_object_new_int64(r->fetched_at));
	if (r->status == PRICECMP_FOUND) {
		json_object_object_add(o, "p", json_object_new_int64(r->offer.price));
		json_object_object_add(o, "m", json_object_new_string(r->offer.mall));
		json_object_object_add(o, "l", json_object_new_string(r->offer.link));
		json_object_object_add(o, "t", json_object_new_string(r->offer.title));
	}
	buf_puts(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return 0;
}

int
pricecmp_cache_decode(const char *text, size_t len, const char *query,
    struct pricecmp_result *out)
{
	static const char *const found_keys[] = { "q", "s", "at", "p", "m", "l", "t", NULL };
	static const char *const none_keys[] = { "q", "s", "at", NULL };
	struct pricecmp_result r;
	struct json_object *o = NULL;
	const char *q, *s, *m, *l, *t;
	int rc = -1;

	if (text == NULL || jparse(text, len, PRICECMP_CACHE_MAX, 1, &o) != JPARSE_OK)
		return -1;
	memset(&r, 0, sizeof(r));
	if (jparse_string(o, "q", PRICECMP_CACHE_MAX, &q) != 0 || strcmp(q, query) != 0)
		goto out;
	if (jparse_string(o, "s", 16, &s) != 0 ||
	    jparse_int64(o, "at", 1, INT64_MAX, &r.fetched_at) != 0)
		goto out;
	if (strcmp(s, "none") == 0) {
		if (jparse_only_keys(o, none_keys) != 0)
			goto out;
		r.status = PRICECMP_NONE;
	} else if (strcmp(s, "found") == 0) {
		if (jparse_only_keys(o, found_keys) != 0 ||
		    jparse_int64(o, "p", 1, PRICECMP_PRICE_MAX, &r.offer.price) != 0 ||
		    jparse_string(o, "m", PRICECMP_MALL_MAX, &m) != 0 ||
		    jparse_string(o, "l", PRICECMP_LINK_MAX, &l) != 0 || !link_ok(l) ||
		    jparse_string(o, "t", PRICECMP_TITLE_MAX, &t) != 0)
			goto out;
		memcpy(r.offer.mall, m, strlen(m) + 1);
		memcpy(r.offer.link, l, strlen(l) + 1);
		memcpy(r.offer.title, t, strlen(t) + 1);
		r.status = PRICECMP_FOUND;
	} else {
		goto out;
	}
	r.cached = true;
	r.rc = PRICECMP_OK;
	*out = r;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* Reads the entry under key for query. Returns 0 and fills *out, or -1 (none, unreadable,
 * Redis down). */
static int
cache_get(struct redis *redis, const char *key, const char *query, struct pricecmp_result *out)
{
	redisReply *rep;
	int rc = -1;

	if (redis == NULL)
		return -1;
	rep = redis_cmdl(redis, "GET", key, NULL);
	if (rep != NULL && rep->type == REDIS_REPLY_STRING)
		rc = pricecmp_cache_decode(rep->str, rep->len, query, out);
	if (rep != NULL)
		freeReplyObject(rep);
	return rc;
}

/* Stores r under key for ttl seconds (best effort). */
static void
cache_put(struct pricecmp *pc, const char *key, const struct pricecmp_result *r,
    const char *query, int64_t ttl)
{
	struct buf b = { 0 };
	char ttl_s[24];
	redisReply *rep;

	if (pc->redis == NULL || ttl <= 0 || pricecmp_cache_encode(r, query, &b) != 0)
		goto out;
	snprintf(ttl_s, sizeof(ttl_s), "%" PRId64, ttl);
	rep = redis_cmdl(pc->redis, "SET", key, buf_cstr(&b), "EX", ttl_s, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
		log_warn(pc->log, "pricecmp: caching %s failed: %s", key,
		    rep != NULL ? rep->str : redis_error(pc->redis));
	if (rep != NULL)
		freeReplyObject(rep);
out:
	buf_release(&b);
}

/* ---- the lookup --------------------------------------------------------------------------- */

bool
pricecmp_enabled(const struct conf *c)
{
	return conf_str(c, CONF_NAVER_CLIENT_ID)[0] != '\0';
}

/* The breaker hook: log the change and report it to Redis. */
static void
on_transition(struct breaker *b, enum breaker_state from, enum breaker_state to, void *arg)
{
	struct pricecmp *pc = arg;
	struct breaker_snapshot s;

	breaker_snapshot(b, &s);
	log_warn(pc->log, "breaker %s: %s -> %s (calls %" PRIu64 ", failed %" PRIu64 ", slow %"
	    PRIu64 ", rejected %" PRIu64 ")", breaker_name(b), breaker_state_name(from),
	    breaker_state_name(to), s.counters.calls, s.counters.failures, s.counters.slow,
	    s.counters.rejected);
	if (pc->redis != NULL && breaker_publish(b, pc->redis, PRICECMP_PUBLISH_TTL) == 0)
		pc->published_ms = s.now_ms;
}

struct pricecmp *
pricecmp_new(const struct conf *c, struct redis *redis)
{
	struct breaker_settings s;
	struct breaker_hook h;
	struct pricecmp *pc = calloc(1, sizeof(*pc));

	if (pc == NULL)
		abort();
	pc->conf = c;
	pc->redis = redis;
	pc->http = http_new(c);
	breaker_settings_from_conf(c, &s);
	pc->breaker = breaker_new("naver", &s, NULL);
	if (pc->breaker == NULL)
		abort();  /* conf's bounds make the settings valid */
	h.fn = on_transition;
	h.arg = pc;
	breaker_set_hook(pc->breaker, &h);
	return pc;
}

void
pricecmp_free(struct pricecmp **pc)
{
	if (pc == NULL || *pc == NULL)
		return;
	http_free(&(*pc)->http);
	breaker_free(&(*pc)->breaker);
	free(*pc);
	*pc = NULL;
}

/* Wipes and releases a buffer that held a secret. */
static void
release_secret(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_release(b);
}

/* Maps a transport failure. */
static enum pricecmp_rc
transport_rc(enum http_rc hrc)
{
	return hrc == HTTP_ERR_USAGE ? PRICECMP_ERR_USAGE : PRICECMP_ERR_TRANSPORT;
}

/* One call to Naver for name (the breaker already allowed it). Records the outcome in the
 * breaker and fills *out (fetched_at set on success). */
static enum pricecmp_rc
fetch(struct pricecmp *pc, const char *name, struct pricecmp_result *out)
{
	const struct conf *c = pc->conf;
	enum pricecmp_api api = pricecmp_api_for_url(conf_str(c, CONF_NAVER_SHOP_URL));
	struct buf url = { 0 }, id = { 0 }, secret = { 0 };
	struct http_resp resp = { 0 };
	struct http_req req;
	const char *headers[4];
	enum pricecmp_rc rc;
	enum http_rc hrc;

	memset(out, 0, sizeof(*out));
	out->status = PRICECMP_UNAVAILABLE;
	if (pricecmp_request_url(conf_str(c, CONF_NAVER_SHOP_URL), name, &url) != 0) {
		breaker_release(pc->breaker);
		rc = out->rc = PRICECMP_ERR_USAGE;
		goto out;
	}
	buf_puts(&id, api == PRICECMP_API_HUB ? "X-NCP-APIGW-API-KEY-ID: " : "X-Naver-Client-Id: ");
	buf_puts(&id, conf_str(c, CONF_NAVER_CLIENT_ID));
	buf_puts(&secret, api == PRICECMP_API_HUB ? "X-NCP-APIGW-API-KEY: " :
	    "X-Naver-Client-Secret: ");
	buf_puts(&secret, conf_str(c, CONF_NAVER_CLIENT_SECRET));
	headers[0] = buf_cstr(&id);
	headers[1] = buf_cstr(&secret);
	headers[2] = "Accept: application/json";
	headers[3] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = buf_cstr(&url);
	req.headers = headers;
	req.timeout_ms = (long)conf_int(c, CONF_NAVER_TIMEOUT_MS);
	hrc = http_do(pc->http, &req, &resp);
	if (hrc != HTTP_OK) {
		rc = out->rc = transport_rc(hrc);
		if (rc == PRICECMP_ERR_USAGE)
			breaker_release(pc->breaker);
		else
			breaker_record(pc->breaker, false, resp.elapsed_ms);
		log_warn(pc->log, "pricecmp: Naver: %s after %ld ms", http_rc_name(hrc),
		    resp.elapsed_ms);
		goto out;
	}
	rc = pricecmp_parse(resp.status, resp.body.data, resp.body.len, out);
	breaker_record(pc->breaker, rc == PRICECMP_OK, resp.elapsed_ms);
	if (rc != PRICECMP_OK) {
		log_warn(pc->log, "pricecmp: Naver: %s (HTTP %ld, %ld ms)", pricecmp_rc_name(rc),
		    resp.status, resp.elapsed_ms);
		goto out;
	}
	out->fetched_at = (int64_t)time(NULL);
out:
	buf_release(&url);
	release_secret(&id);
	release_secret(&secret);
	buf_release(&resp.body);
	return rc;
}

/* Reports the breaker to Redis when the last report is older than PRICECMP_PUBLISH_MS. */
static void
maybe_publish(struct pricecmp *pc)
{
	struct breaker_snapshot s;

	if (pc->redis == NULL)
		return;
	breaker_snapshot(pc->breaker, &s);
	if (pc->published_ms != 0 && s.now_ms - pc->published_ms < PRICECMP_PUBLISH_MS)
		return;
	if (breaker_publish(pc->breaker, pc->redis, PRICECMP_PUBLISH_TTL) == 0)
		pc->published_ms = s.now_ms;
}

void
pricecmp_lookup(struct pricecmp *pc, int64_t id, const char *name,
    const struct log_ctx *log, struct pricecmp_result *out)
{
	char key[PRICECMP_KEY_MAX], last_key[PRICECMP_KEY_MAX];
	struct pricecmp_result fresh;
	enum pricecmp_rc rc;

	memset(out, 0, sizeof(*out));
	out->status = PRICECMP_OFF;
	if (!pricecmp_enabled(pc->conf))
		return;
	pc->log = log;
	snprintf(key, sizeof(key), "pricecmp:%" PRId64, id);
	snprintf(last_key, sizeof(last_key), "pricecmp:%" PRId64 ":last", id);
	if (conf_int(pc->conf, CONF_NAVER_CACHE_SECONDS) > 0 &&
	    cache_get(pc->redis, key, name, out) == 0)
		goto out;

	if (!breaker_allow(pc->breaker)) {
		rc = PRICECMP_ERR_BREAKER_OPEN;
	} else {
		rc = fetch(pc, name, &fresh);
		maybe_publish(pc);
	}
	if (rc == PRICECMP_OK) {
		cache_put(pc, key, &fresh, name, conf_int(pc->conf, CONF_NAVER_CACHE_SECONDS));
		cache_put(pc, last_key, &fresh, name, PRICECMP_LAST_KNOWN_SECONDS);
		*out = fresh;
		goto out;
	}
	if (cache_get(pc->redis, last_key, name, out) == 0) {
		out->stale = true;
		out->rc = rc;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->status = PRICECMP_UNAVAILABLE;
	out->rc = rc;
out:
	pc->log = NULL;
}
