/* http: the outgoing HTTP client over libcurl, with failures classified by whether the request
 * can have reached the server. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/conf.h"
#include "infra/http.h"
#include "base/log.h"

#define HTTP_USER_AGENT "jangteo/1"
#define HTTP_KEEPIDLE_S 60L     /* TCP keepalive: first probe after this much idle time */
#define HTTP_KEEPINTVL_S 20L    /* and then every this often */
#define HTTP_LOG_URL_MAX 256    /* bytes of the URL written to the log */

struct http {
	CURL *curl;             /* reused for every http_do: keeps the connection cache */
	CURLM *multi;           /* http_do_many's, made on first use: its own connection cache,
	                         * kept between calls */
	CURL *many[HTTP_MANY_MAX];  /* http_do_many's easy handles, made on first use */
	long connect_ms;        /* http.connect_timeout_ms */
	long total_ms;          /* http.total_timeout_ms */
	size_t max_response;    /* http.max_response */
};

static const char *const http_rc_names[HTTP_RC__MAX] = {
	"ok",              /* HTTP_OK */
	"connect failed",  /* HTTP_ERR_CONNECT */
	"timeout",         /* HTTP_ERR_TIMEOUT */
	"response too big", /* HTTP_ERR_TOO_BIG */
	"i/o error",       /* HTTP_ERR_IO */
	"bad request",     /* HTTP_ERR_USAGE */
};

/* The methods http_do sends; anything else is HTTP_ERR_USAGE. */
enum http_method {
	HTTP_M_GET, HTTP_M_HEAD, HTTP_M_POST, HTTP_M_PUT, HTTP_M_PATCH, HTTP_M_DELETE, HTTP_M__MAX
};

static const struct {
	const char *name;
	bool body_always;   /* sends Content-Length even for an empty body */
	bool body_allowed;
} http_methods[HTTP_M__MAX] = {
	{ "GET", false, false },    /* HTTP_M_GET */
	{ "HEAD", false, false },   /* HTTP_M_HEAD */
	{ "POST", true, true },     /* HTTP_M_POST */
	{ "PUT", true, true },      /* HTTP_M_PUT */
	{ "PATCH", true, true },    /* HTTP_M_PATCH */
	{ "DELETE", false, true },  /* HTTP_M_DELETE */
};

/* Where the write callback puts the response body: at most max bytes. */
struct http_sink {
	struct buf *body;
	size_t max;
	bool too_big;
};

/* curl_global_init is not thread-safe and must run once per process: the processes here are
 * single-threaded, so a flag is guard enough. It survives fork. */
static bool http_global_done;

static void
http_global_init(void)
{
	if (http_global_done)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error(NULL, "http: curl_global_init failed");
		abort();
	}
	http_global_done = true;
}

/* For options that cannot fail except on a libcurl too old for us or out of memory. */
static void
http_must(CURLcode cc, const char *what)
{
	if (cc == CURLE_OK)
		return;
	log_error(NULL, "http: curl_easy_setopt %s: %s", what, curl_easy_strerror(cc));
	abort();
}

static int64_t
http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *sink = arg;
	size_t n = size * nmemb;   /* size is always 1 */

	if (n > sink->max - sink->body->len) {
		sink->too_big = true;
		return CURL_WRITEFUNC_ERROR;
	}
	buf_append(sink->body, data, n);
	return n;
}

/* A new easy handle with the options every request shares (the per-request ones are set by
 * http_prepare each time). */
static CURL *
http_easy_new(const struct http *h)
{
	CURL *cu = curl_easy_init();

	if (cu == NULL)
		abort();
	http_must(curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
	http_must(curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR");
	http_must(curl_easy_setopt(cu, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"),
	    "REDIR_PROTOCOLS_STR");
	http_must(curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L), "FOLLOWLOCATION");
	http_must(curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms),
	    "CONNECTTIMEOUT_MS");
	http_must(curl_easy_setopt(cu, CURLOPT_TCP_KEEPALIVE, 1L), "TCP_KEEPALIVE");
	http_must(curl_easy_setopt(cu, CURLOPT_TCP_KEEPIDLE, HTTP_KEEPIDLE_S), "TCP_KEEPIDLE");
	http_must(curl_easy_setopt(cu, CURLOPT_TCP_KEEPINTVL, HTTP_KEEPINTVL_S), "TCP_KEEPINTVL");
	http_must(curl_easy_setopt(cu, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_response),
	    "MAXFILESIZE_LARGE");
	http_must(curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, http_write_cb), "WRITEFUNCTION");
	http_must(curl_easy_setopt(cu, CURLOPT_USERAGENT, HTTP_USER_AGENT), "USERAGENT");
	return cu;
}

struct http *
http_new(const struct conf *c)
{
	struct http *h;

	http_global_init();
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		abort();
	h->connect_ms = (long)conf_int(c, CONF_HTTP_CONNECT_TIMEOUT_MS);
	h->total_ms = (long)conf_int(c, CONF_HTTP_TOTAL_TIMEOUT_MS);
	h->max_response = (size_t)conf_int(c, CONF_HTTP_MAX_RESPONSE);
	h->curl = http_easy_new(h);
	return h;
}

void
http_free(struct http **h)
{
	size_t i;

	if (*h == NULL)
		return;
	curl_easy_cleanup((*h)->curl);
	for (i = 0; i < HTTP_MANY_MAX; i++) {
		if ((*h)->many[i] != NULL)
			curl_easy_cleanup((*h)->many[i]);
	}
	if ((*h)->multi != NULL)
		curl_multi_cleanup((*h)->multi);
	free(*h);
	*h = NULL;
}

const char *
http_rc_name(enum http_rc rc)
{
	if ((unsigned)rc >= HTTP_RC__MAX)
		return "?";
	return http_rc_names[rc];
}

static int
http_method_parse(const char *s, enum http_method *out)
{
	size_t m;

	if (s == NULL)
		return -1;
	for (m = 0; m < HTTP_M__MAX; m++) {
		if (strcmp(http_methods[m].name, s) == 0) {
			*out = (enum http_method)m;
			return 0;
		}
	}
	return -1;
}

/* An absolute http:// or https:// URL without control characters or spaces. (libcurl checks
 * the rest and answers URL_MALFORMAT.) */
static bool
http_url_ok(const char *url)
{
	const unsigned char *p;

	if (url == NULL)
		return false;
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return false;
	for (p = (const unsigned char *)url; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

/* "Name: value" with a token name and no CR or LF anywhere (header injection). */
static bool
http_header_ok(const char *line)
{
	const char *colon = strchr(line, ':');
	const char *p;

	if (colon == NULL || colon == line)
		return false;
	for (p = line; p < colon; p++) {
		if (*p <= ' ' || *p == 0x7f)
			return false;
	}
	return strpbrk(line, "\r\n") == NULL;
}

/* Checks everything about req that libcurl would not. */
static bool
http_req_ok(const struct http_req *req, enum http_method *m)
{
	size_t i;

	if (http_method_parse(req->method, m) != 0 || !http_url_ok(req->url))
		return false;
	if (req->timeout_ms < 0 || (req->body == NULL && req->body_len > 0))
		return false;
	if (req->body_len > 0 && !http_methods[*m].body_allowed)
		return false;
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (!http_header_ok(req->headers[i]))
			return false;
	}
	return true;
}

/* The URL for the log: scheme, host, port and path; no user info, query or fragment. */
static void
http_log_url(const char *url, char *out, size_t cap)
{
	const char *auth = strstr(url, "://");
	const char *end;
	const char *at;
	size_t n;
	size_t k;

	if (auth == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (k = 0; auth + k < end; k++) {
		if (auth[k] == '@')
			at = auth + k;
	}
	end = end + strcspn(end, "?#");
	n = (size_t)(auth - url);
	if (at != NULL) {
		snprintf(out, cap, "%.*s%.*s", (int)n, url, (int)(end - at - 1), at + 1);
		return;
	}
	snprintf(out, cap, "%.*s", (int)(end - url), url);
}

/*
 * Whether any byte of the request may have left this host. libcurl stamps PRETRANSFER just
 * before it starts sending (for a reused connection too), and REQUEST_SIZE counts the bytes
 * it sent, across its own retries on a fresh connection. CONNECT_TIME is no use: it is 0 for
 * a reused connection although the request went out on it. Doubt counts as "may have".
 */
static bool
http_maybe_sent(CURL *cu)
{
	curl_off_t pretransfer = -1;
	long request_size = -1;

	if (curl_easy_getinfo(cu, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) != CURLE_OK ||
	    curl_easy_getinfo(cu, CURLINFO_REQUEST_SIZE, &request_size) != CURLE_OK)
		return true;
	return pretransfer != 0 || request_size != 0;
}

/*
 * The classification. CONNECT promises the request was not sent, so it is only given when
 * http_maybe_sent says nothing left: a timeout (libcurl reports a connect timeout and a total
 * timeout alike as OPERATION_TIMEDOUT) is CONNECT before the request started and TIMEOUT after;
 * a connect or resolve failure after something was sent (libcurl re-sends on a fresh connection
 * when a reused one dies without answering) is IO. USAGE likewise promises nothing was sent.
 */
static enum http_rc
http_classify(CURL *cu, CURLcode cc, const struct http_sink *sink)
{
	switch (cc) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return http_maybe_sent(cu) ? HTTP_ERR_IO : HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return http_maybe_sent(cu) ? HTTP_ERR_TIMEOUT : HTTP_ERR_CONNECT;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_ERR_TOO_BIG;
	case CURLE_WRITE_ERROR:
		return sink->too_big ? HTTP_ERR_TOO_BIG : HTTP_ERR_IO;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		/* Also what libcurl says of a reply with a strange HTTP version, by then too late. */
		return http_maybe_sent(cu) ? HTTP_ERR_IO : HTTP_ERR_USAGE;
	default:
		/* RECV_ERROR, SEND_ERROR, GOT_NOTHING, PARTIAL_FILE, TLS errors, ... */
		return HTTP_ERR_IO;
	}
}

/* Sets the method and body options; every one that a previous request may have changed is
 * set again, since the handle is never reset. */
static void
http_set_method(CURL *cu, enum http_method m, const struct http_req *req)
{
	bool with_body = req->body_len > 0 || http_methods[m].body_always;

	http_must(curl_easy_setopt(cu, CURLOPT_NOBODY, m == HTTP_M_HEAD ? 1L : 0L), "NOBODY");
	http_must(curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, NULL), "CUSTOMREQUEST");
	if (with_body) {
		http_must(curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len),
		    "POSTFIELDSIZE_LARGE");
		http_must(curl_easy_setopt(cu, CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : ""), "POSTFIELDS");
	} else if (m != HTTP_M_HEAD) {
		http_must(curl_easy_setopt(cu, CURLOPT_HTTPGET, 1L), "HTTPGET");
	}
	if (m != HTTP_M_GET && m != HTTP_M_POST && m != HTTP_M_HEAD)
		http_must(curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, http_methods[m].name),
		    "CUSTOMREQUEST");
}

/* Checks req and sets every per-request option of cu (the sink's buffer is resp->body, reset
 * here with resp's status and time). Returns HTTP_OK when cu is ready to perform, or
 * HTTP_ERR_USAGE (nothing set that could dangle). *headers is the caller's to hand to
 * http_finish. */
static enum http_rc
http_prepare(const struct http *h, CURL *cu, const struct http_req *req,
    struct http_resp *resp, struct http_sink *sink, struct curl_slist **headers)
{
	enum http_method m;
	size_t i;

	buf_reset(&resp->body);
	resp->status = 0;
	resp->elapsed_ms = 0;
	*sink = (struct http_sink){ &resp->body, h->max_response, false };
	*headers = NULL;
	if (!http_req_ok(req, &m))
		return HTTP_ERR_USAGE;
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		*headers = curl_slist_append(*headers, req->headers[i]);
		if (*headers == NULL)
			abort();
	}
	/* No "Expect: 100-continue" round trip before a large body. */
	*headers = curl_slist_append(*headers, "Expect:");
	if (*headers == NULL)
		abort();
	if (curl_easy_setopt(cu, CURLOPT_URL, req->url) != CURLE_OK)
		return HTTP_ERR_USAGE;
	http_set_method(cu, m, req);
	http_must(curl_easy_setopt(cu, CURLOPT_HTTPHEADER, *headers), "HTTPHEADER");
	http_must(curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS,
	    req->timeout_ms > 0 ? req->timeout_ms : h->total_ms), "TIMEOUT_MS");
	http_must(curl_easy_setopt(cu, CURLOPT_WRITEDATA, sink), "WRITEDATA");
	return HTTP_OK;
}

/* After cu performed req with result cc (or did not, when rc is already an error): fills
 * resp, clears what of the request could dangle in cu, frees headers, logs at debug level.
 * Returns the classification. */
static enum http_rc
http_finish(CURL *cu, enum http_rc rc, CURLcode cc, const struct http_req *req,
    struct http_resp *resp, const struct http_sink *sink, struct curl_slist *headers,
    int64_t t0)
{
	if (rc == HTTP_OK) {
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &resp->status);
		rc = http_classify(cu, cc, sink);
	}
	/* Nothing of this request may dangle in the handle: the next one sets its own. */
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(headers);
	resp->elapsed_ms = (long)(http_now_ms() - t0);
	if (rc != HTTP_OK)
		buf_reset(&resp->body);
	if (log_enabled(LOG_LVL_DEBUG)) {
		char url[HTTP_LOG_URL_MAX];

		http_log_url(req->url != NULL ? req->url : "", url, sizeof(url));
		log_debug(NULL, "http: %s %s -> %ld in %ld ms: %s%s%s",
		    req->method != NULL ? req->method : "-", url, resp->status, resp->elapsed_ms,
		    http_rc_name(rc), cc != CURLE_OK ? ", " : "",
		    cc != CURLE_OK ? curl_easy_strerror(cc) : "");
	}
	return rc;
}

enum http_rc
http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	struct http_sink sink;
	struct curl_slist *headers;
	int64_t t0 = http_now_ms();
	CURLcode cc = CURLE_OK;
	enum http_rc rc;

	rc = http_prepare(h, h->curl, req, resp, &sink, &headers);
	if (rc == HTTP_OK)
		cc = curl_easy_perform(h->curl);
	return http_finish(h->curl, rc, cc, req, resp, &sink, headers, t0);
}

void
http_do_many(struct http *h, const struct http_req *reqs, struct http_resp *resps,
    enum http_rc *rcs, size_t n)
{
	struct http_sink sinks[HTTP_MANY_MAX];
	struct curl_slist *headers[HTTP_MANY_MAX];
	bool added[HTTP_MANY_MAX];
	int64_t t0 = http_now_ms();
	size_t i, active = 0;
	int running = 0, left;
	CURLMcode mc = CURLM_OK;
	CURLMsg *msg;
	void *tag;

	if (n > HTTP_MANY_MAX) {
		http_do_many(h, reqs, resps, rcs, HTTP_MANY_MAX);
		http_do_many(h, reqs + HTTP_MANY_MAX, resps + HTTP_MANY_MAX, rcs + HTTP_MANY_MAX,
		    n - HTTP_MANY_MAX);
		return;
	}
	if (h->multi == NULL) {
		if ((h->multi = curl_multi_init()) == NULL)
			abort();
		/* Keep a whole batch's connections between batches: by default the cache holds
		 * 4 x the handles added at the time a connection is done, so the last answers of
		 * a batch of 32 closed all but 4 and the next batch connected again. */
		if (curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_MANY_MAX) !=
		    CURLM_OK)
			abort();
	}
	for (i = 0; i < n; i++) {
		added[i] = false;
		if (h->many[i] == NULL)
			h->many[i] = http_easy_new(h);
		rcs[i] = http_prepare(h, h->many[i], &reqs[i], &resps[i], &sinks[i], &headers[i]);
		if (rcs[i] != HTTP_OK) {
			rcs[i] = http_finish(h->many[i], rcs[i], CURLE_OK, &reqs[i], &resps[i],
			    &sinks[i], headers[i], t0);
			continue;
		}
		http_must(curl_easy_setopt(h->many[i], CURLOPT_PRIVATE, (void *)&rcs[i]), "PRIVATE");
		if (curl_multi_add_handle(h->multi, h->many[i]) != CURLM_OK)
			abort();
		added[i] = true;
		active++;
	}
	while (active > 0) {
		mc = curl_multi_perform(h->multi, &running);
		while (mc == CURLM_OK && (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &tag);
			i = (size_t)((enum http_rc *)tag - rcs);
			curl_multi_remove_handle(h->multi, h->many[i]);
			added[i] = false;
			active--;
			rcs[i] = http_finish(h->many[i], HTTP_OK, msg->data.result, &reqs[i], &resps[i],
			    &sinks[i], headers[i], t0);
		}
		if (mc != CURLM_OK)
			break;
		if (active > 0 && curl_multi_poll(h->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	/* The multi handle failed (out of memory, a bug): what it still held may have been
	 * sent, so it is an I/O error, never "not sent". */
	if (active > 0)
		log_error(NULL, "http: the multi handle failed with %zu requests out: %s", active,
		    curl_multi_strerror(mc));
	for (i = 0; i < n; i++) {
		if (!added[i])
			continue;
		curl_multi_remove_handle(h->multi, h->many[i]);
		rcs[i] = http_finish(h->many[i], HTTP_OK, CURLE_RECV_ERROR, &reqs[i], &resps[i],
		    &sinks[i], headers[i], t0);
	}
}
