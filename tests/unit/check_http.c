/* check_http: the outgoing HTTP client against a tiny HTTP/1.1 server this file forks on
 * 127.0.0.1 (behaviour chosen by path), covering every classification of http_rc. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "infra/http.h"
#include "base/log.h"
#include "suites.h"

#define MAX_RESPONSE 4096          /* http.max_response in the test config */
#define BIG_BODY (3 * MAX_RESPONSE)
#define OK_BODY "hello\n"
#define JSON_503 "{\"error\":\"unavailable\"}"

/* ---- the server -------------------------------------------------------------------------- */

/* A server process group: the accept loop forks one child per connection, so a slow answer
 * never holds up the next test request. connections is shared memory the loop counts in. */
struct srv {
	pid_t pid;
	int port;
	volatile int *connections;
	volatile int *together;     /* requests waiting at /together/K (shared too) */
};

/* The shared counter of /together, set by srv_start for the connection children. */
static volatile int *srv_together;

static void
srv_write(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w <= 0)
			_exit(0);   /* the client went away: this connection is over */
		c += w;
		n -= (size_t)w;
	}
}

/* Whether the request being answered is a HEAD (its response has no body). */
static int srv_head;

static void
srv_respond(int fd, const char *status, const char *extra, const void *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n",
	    status, len, extra);

	srv_write(fd, head, (size_t)n);
	if (!srv_head)
		srv_write(fd, body, len);
}

/* Reads one request into req (head and body). Returns its total length, or 0 at EOF. */
static size_t
srv_read_request(int fd, char *req, size_t cap, size_t *have)
{
	char *end;
	size_t head_len;
	size_t body_len = 0;
	const char *cl;

	for (;;) {
		ssize_t r;

		end = memmem(req, *have, "\r\n\r\n", 4);
		if (end != NULL)
			break;
		if (*have == cap)
			_exit(1);
		r = recv(fd, req + *have, cap - *have, 0);
		if (r <= 0)
			return 0;
		*have += (size_t)r;
	}
	head_len = (size_t)(end - req) + 4;
	cl = memmem(req, head_len, "\r\nContent-Length: ", 18);
	if (cl != NULL)
		body_len = strtoul(cl + 18, NULL, 10);
	while (*have < head_len + body_len) {
		ssize_t r;

		if (*have == cap)
			_exit(1);
		r = recv(fd, req + *have, cap - *have, 0);
		if (r <= 0)
			return 0;
		*have += (size_t)r;
	}
	return head_len + body_len;
}

/* Serves one connection until the client closes it. */
static void
srv_connection(int fd, int port)
{
	char req[65536];
	size_t have = 0;

	for (;;) {
		size_t len = srv_read_request(fd, req, sizeof(req), &have);
		char method[16] = "";
		char path[128] = "";
		char big[BIG_BODY];

		if (len == 0)
			_exit(0);
		sscanf(req, "%15s %127s", method, path);
		path[strcspn(path, "?")] = '\0';
		srv_head = strcmp(method, "HEAD") == 0;
		if (strcmp(path, "/ok") == 0) {
			srv_respond(fd, "200 OK", "", OK_BODY, strlen(OK_BODY));
		} else if (strcmp(path, "/echo") == 0) {
			srv_respond(fd, "200 OK", "Content-Type: application/octet-stream\r\n", req, len);
		} else if (strcmp(path, "/big") == 0) {
			memset(big, 'b', sizeof(big));
			srv_respond(fd, "200 OK", "", big, sizeof(big));
		} else if (strcmp(path, "/bigstream") == 0) {
			/* No Content-Length: the size is known only as the bytes arrive. */
			static const char head[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";

			memset(big, 'b', sizeof(big));
			srv_write(fd, head, sizeof(head) - 1);
			srv_write(fd, big, sizeof(big));
			_exit(0);
		} else if (strcmp(path, "/slow") == 0) {
			/* Answers after 3 s, or stops when the client gives up first. */
			struct pollfd pfd = { fd, POLLIN, 0 };

			if (poll(&pfd, 1, 3000) != 0)
				_exit(0);
			srv_respond(fd, "200 OK", "", OK_BODY, strlen(OK_BODY));
		} else if (strcmp(path, "/reset") == 0) {
			struct linger lg = { 1, 0 };

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			_exit(0);
		} else if (strcmp(path, "/http09") == 0) {
			srv_write(fd, "hello\r\n", 7);
			_exit(0);
		} else if (strcmp(path, "/badversion") == 0) {
			static const char resp[] = "HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\n";

			srv_write(fd, resp, sizeof(resp) - 1);
		} else if (strcmp(path, "/hangup") == 0) {
			close(fd);
			_exit(0);
		} else if (strncmp(path, "/together/", 10) == 0) {
			/* 200 only when K requests are here at once (within 1 s of this one), else 504:
			 * tells requests sent together from requests sent one after another. */
			int k = (int)strtol(path + 10, NULL, 10), waited;

			__sync_fetch_and_add(srv_together, 1);
			for (waited = 0; *srv_together < k && waited < 1000; waited += 5)
				poll(NULL, 0, 5);
			if (*srv_together >= k)
				srv_respond(fd, "200 OK", "", OK_BODY, strlen(OK_BODY));
			else
				srv_respond(fd, "504 Gateway Timeout", "", "alone", 5);
		} else if (strncmp(path, "/after/", 7) == 0) {
			/* Answers after the milliseconds it names. */
			poll(NULL, 0, (int)strtol(path + 7, NULL, 10));
			srv_respond(fd, "200 OK", "", OK_BODY, strlen(OK_BODY));
		} else if (strcmp(path, "/status/503") == 0) {
			srv_respond(fd, "503 Service Unavailable", "Content-Type: application/json\r\n",
			    JSON_503, strlen(JSON_503));
		} else if (strcmp(path, "/redirect") == 0) {
			char loc[128];

			snprintf(loc, sizeof(loc), "Location: http://127.0.0.1:%d/ok\r\n", port);
			srv_respond(fd, "302 Found", loc, "moved", 5);
		} else {
			srv_respond(fd, "404 Not Found", "", "no", 2);
		}
		memmove(req, req + len, have - len);
		have -= len;
	}
}

static void
srv_start(struct srv *s)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	void *shared;
	int lfd;
	int one = 1;

	/* The tests talk to loopback only; a proxy from the environment must not interfere. */
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	unsetenv("HTTPS_PROXY");

	shared = mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	ck_assert_ptr_ne(shared, MAP_FAILED);
	s->connections = shared;
	*s->connections = 0;
	s->together = (volatile int *)shared + 1;
	*s->together = 0;
	srv_together = s->together;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 128), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);

	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		/* Dies with the test, even one that failed before srv_stop. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);   /* connection children reap themselves */
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			(*s->connections)++;
			if (fork() == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				close(lfd);
				srv_connection(fd, s->port);
				_exit(0);
			}
			close(fd);
		}
	}
	setpgid(s->pid, s->pid);
	close(lfd);
}

static void
srv_stop(struct srv *s)
{
	kill(-s->pid, SIGKILL);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	munmap((void *)s->connections, 2 * sizeof(int));
}

/* ---- helpers ----------------------------------------------------------------------------- */

static struct conf *
test_conf(void)
{
	char text[512];
	char err[256] = "";
	struct conf *c;

	snprintf(text, sizeof(text), "%s = 200\n%s = 300\n%s = %d\n",
	    conf_key_name(CONF_HTTP_CONNECT_TIMEOUT_MS), conf_key_name(CONF_HTTP_TOTAL_TIMEOUT_MS),
	    conf_key_name(CONF_HTTP_MAX_RESPONSE), MAX_RESPONSE);
	c = conf_parse(text, err, sizeof(err));
	ck_assert_msg(c != NULL, "conf_parse: %s", err);
	return c;
}

/* A client and a server for one test. */
struct fix {
	struct srv srv;
	struct conf *conf;
	struct http *http;
	struct http_resp resp;
	char url[256];
};

static void
fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	srv_start(&f->srv);
	f->conf = test_conf();
	f->http = http_new(f->conf);
	ck_assert_ptr_nonnull(f->http);
}

static void
fix_free(struct fix *f)
{
	http_free(&f->http);
	ck_assert_ptr_null(f->http);
	buf_release(&f->resp.body);
	conf_free(&f->conf);
	srv_stop(&f->srv);
}

/* Sends method to path on the test server (url built in f->url). */
static enum http_rc
fix_do(struct fix *f, const char *method, const char *path, const char *const *headers,
    const char *body, size_t body_len)
{
	struct http_req req = { method, f->url, headers, body, body_len, 0 };

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s", f->srv.port, path);
	return http_do(f->http, &req, &f->resp);
}

static void
assert_body(struct fix *f, const char *expect, size_t len)
{
	ck_assert_uint_eq(f->resp.body.len, len);
	if (len > 0)
		ck_assert_int_eq(memcmp(f->resp.body.data, expect, len), 0);
}

/* The response body, which must not be empty. */
static const char *
body_of(struct fix *f, size_t *n)
{
	ck_assert_ptr_nonnull(f->resp.body.data);
	ck_assert_uint_gt(f->resp.body.len, 0);
	*n = f->resp.body.len;
	return f->resp.body.data;
}

/* ---- tests ------------------------------------------------------------------------------- */

START_TEST(test_rc_names)
{
	ck_assert_str_eq(http_rc_name(HTTP_OK), "ok");
	ck_assert_str_eq(http_rc_name(HTTP_ERR_CONNECT), "connect failed");
	ck_assert_str_eq(http_rc_name(HTTP_ERR_TIMEOUT), "timeout");
	ck_assert_str_eq(http_rc_name(HTTP_ERR_TOO_BIG), "response too big");
	ck_assert_str_eq(http_rc_name(HTTP_ERR_IO), "i/o error");
	ck_assert_str_eq(http_rc_name(HTTP_ERR_USAGE), "bad request");
	ck_assert_str_eq(http_rc_name(HTTP_RC__MAX), "?");
	ck_assert_str_eq(http_rc_name((enum http_rc)-1), "?");
}
END_TEST

/* /ok twice and /status/503 travel over one kept-alive connection. */
START_TEST(test_ok_and_reuse)
{
	struct fix f;

	fix_init(&f);
	ck_assert_int_eq(fix_do(&f, "GET", "/ok", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(f.resp.status, 200);
	assert_body(&f, OK_BODY, strlen(OK_BODY));
	ck_assert_int_ge(f.resp.elapsed_ms, 0);
	ck_assert_int_lt(f.resp.elapsed_ms, 2000);

	ck_assert_int_eq(fix_do(&f, "GET", "/ok?q=secret", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(f.resp.status, 200);
	assert_body(&f, OK_BODY, strlen(OK_BODY));

	ck_assert_int_eq(fix_do(&f, "GET", "/status/503", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(f.resp.status, 503);
	assert_body(&f, JSON_503, strlen(JSON_503));

	ck_assert_int_eq(fix_do(&f, "GET", "/nowhere", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(f.resp.status, 404);
	assert_body(&f, "no", 2);
	ck_assert_int_eq(*f.srv.connections, 1);
	fix_free(&f);
}
END_TEST

/* The body (with a NUL and a high byte) and the headers arrive exactly; methods switch
 * cleanly on the reused handle. */
START_TEST(test_echo_methods)
{
	static const char body[] = "{\"a\":1}\0tail\xff";
	static const char *const headers[] = {
		"Content-Type: application/json",
		"Idempotency-Key: order-42",
		"Authorization: Basic dGVzdDo=",
		NULL,
	};
	const size_t blen = sizeof(body) - 1;
	struct fix f;
	const char *d;
	size_t n;

	fix_init(&f);
	ck_assert_int_eq(fix_do(&f, "POST", "/echo", headers, body, blen), HTTP_OK);
	ck_assert_int_eq(f.resp.status, 200);
	d = body_of(&f, &n);
	ck_assert_uint_gt(n, blen + 4);
	ck_assert_int_eq(strncmp(d, "POST /echo HTTP/1.1\r\n", 21), 0);
	ck_assert_ptr_nonnull(memmem(d, n, "\r\nContent-Type: application/json\r\n", 34));
	ck_assert_ptr_nonnull(memmem(d, n, "\r\nIdempotency-Key: order-42\r\n", 29));
	ck_assert_ptr_nonnull(memmem(d, n, "\r\nAuthorization: Basic dGVzdDo=\r\n", 33));
	ck_assert_ptr_nonnull(memmem(d, n, "\r\nContent-Length: 13\r\n", 22));
	ck_assert_ptr_null(memmem(d, n, "Expect", 6));
	ck_assert_int_eq(memcmp(d + n - blen - 4, "\r\n\r\n", 4), 0);
	ck_assert_int_eq(memcmp(d + n - blen, body, blen), 0);

	/* GET after POST: no body, no Content-Length, none of the POST's headers. */
	ck_assert_int_eq(fix_do(&f, "GET", "/echo", NULL, NULL, 0), HTTP_OK);
	d = body_of(&f, &n);
	ck_assert_int_eq(strncmp(d, "GET /echo HTTP/1.1\r\n", 20), 0);
	ck_assert_ptr_null(memmem(d, n, "Content-Length", 14));
	ck_assert_ptr_null(memmem(d, n, "Idempotency-Key", 15));
	ck_assert_int_eq(memcmp(d + n - 4, "\r\n\r\n", 4), 0);

	ck_assert_int_eq(fix_do(&f, "PUT", "/echo", NULL, "x=1", 3), HTTP_OK);
	d = body_of(&f, &n);
	ck_assert_int_eq(strncmp(d, "PUT /echo HTTP/1.1\r\n", 20), 0);
	ck_assert_ptr_nonnull(memmem(d, n, "\r\nContent-Length: 3\r\n", 21));
	ck_assert_int_eq(memcmp(d + n - 7, "\r\n\r\nx=1", 7), 0);

	/* POST with no body still says Content-Length: 0. */
	ck_assert_int_eq(fix_do(&f, "POST", "/echo", NULL, NULL, 0), HTTP_OK);
	d = body_of(&f, &n);
	ck_assert_int_eq(strncmp(d, "POST /echo HTTP/1.1\r\n", 21), 0);
	ck_assert_ptr_nonnull(memmem(d, n, "\r\nContent-Length: 0\r\n", 21));

	ck_assert_int_eq(fix_do(&f, "DELETE", "/echo", NULL, NULL, 0), HTTP_OK);
	d = body_of(&f, &n);
	ck_assert_int_eq(strncmp(d, "DELETE /echo HTTP/1.1\r\n", 23), 0);
	ck_assert_ptr_null(memmem(d, n, "Content-Length", 14));

	/* HEAD: the status, no body, and no wait for one. */
	ck_assert_int_eq(fix_do(&f, "HEAD", "/ok", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(f.resp.status, 200);
	ck_assert_uint_eq(f.resp.body.len, 0);

	ck_assert_int_eq(fix_do(&f, "GET", "/ok", NULL, NULL, 0), HTTP_OK);
	assert_body(&f, OK_BODY, strlen(OK_BODY));
	ck_assert_int_eq(*f.srv.connections, 1);
	fix_free(&f);
}
END_TEST

START_TEST(test_too_big)
{
	struct fix f;

	fix_init(&f);
	ck_assert_int_eq(fix_do(&f, "GET", "/big", NULL, NULL, 0), HTTP_ERR_TOO_BIG);
	ck_assert_uint_eq(f.resp.body.len, 0);
	ck_assert_int_eq(fix_do(&f, "GET", "/bigstream", NULL, NULL, 0), HTTP_ERR_TOO_BIG);
	ck_assert_uint_eq(f.resp.body.len, 0);
	/* The handle is fine afterwards. */
	ck_assert_int_eq(fix_do(&f, "GET", "/ok", NULL, NULL, 0), HTTP_OK);
	assert_body(&f, OK_BODY, strlen(OK_BODY));
	fix_free(&f);
}
END_TEST

/* A timeout after the request went out is TIMEOUT, on a fresh and on a reused connection
 * (where libcurl's connect time reads 0). */
START_TEST(test_timeout)
{
	struct fix f;
	struct http_req req;

	fix_init(&f);
	ck_assert_int_eq(fix_do(&f, "POST", "/slow", NULL, "a", 1), HTTP_ERR_TIMEOUT);
	ck_assert_int_eq(f.resp.status, 0);
	ck_assert_int_ge(f.resp.elapsed_ms, 250);
	ck_assert_int_lt(f.resp.elapsed_ms, 2000);

	ck_assert_int_eq(fix_do(&f, "GET", "/ok", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(fix_do(&f, "POST", "/slow", NULL, "a", 1), HTTP_ERR_TIMEOUT);
	ck_assert_int_eq(*f.srv.connections, 2);

	/* The request's own timeout overrides the configured one. */
	snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/slow", f.srv.port);
	req = (struct http_req){ "GET", f.url, NULL, NULL, 0, 100 };
	ck_assert_int_eq(http_do(f.http, &req, &f.resp), HTTP_ERR_TIMEOUT);
	ck_assert_int_lt(f.resp.elapsed_ms, 250);
	fix_free(&f);
}
END_TEST

START_TEST(test_reset)
{
	struct fix f;

	fix_init(&f);
	ck_assert_int_eq(fix_do(&f, "POST", "/reset", NULL, "a", 1), HTTP_ERR_IO);
	ck_assert_int_eq(f.resp.status, 0);
	ck_assert_int_eq(fix_do(&f, "GET", "/hangup", NULL, NULL, 0), HTTP_ERR_IO);
	ck_assert_int_eq(f.resp.status, 0);
	/* Replies libcurl calls "unsupported protocol": the request was sent, so IO, not USAGE. */
	ck_assert_int_eq(fix_do(&f, "POST", "/http09", NULL, "a", 1), HTTP_ERR_IO);
	ck_assert_int_eq(fix_do(&f, "POST", "/badversion", NULL, "a", 1), HTTP_ERR_IO);
	/* A reused connection the server drops: libcurl retries once, then gives up: IO. */
	ck_assert_int_eq(fix_do(&f, "GET", "/ok", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(fix_do(&f, "GET", "/hangup", NULL, NULL, 0), HTTP_ERR_IO);
	fix_free(&f);
}
END_TEST

/* Each call is logged at debug level without query string, user info, headers or body. */
START_TEST(test_log_line)
{
	static const char *const headers[] = { "Authorization: Bearer tok-SECRET", NULL };
	char dir[] = "/tmp/jt-http-XXXXXX";
	char path[64];
	char text[4096];
	char expect[128];
	struct fix f;
	struct http_req req;
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	ck_assert_int_eq(log_init("check_http", LOG_LVL_DEBUG, path), 0);
	fix_init(&f);
	ck_assert_int_eq(fix_do(&f, "POST", "/echo?card=SECRET#frag", headers, "pw=SECRET", 9),
	    HTTP_OK);
	snprintf(f.url, sizeof(f.url), "http://user:SECRET@127.0.0.1:%d/ok?x=SECRET", f.srv.port);
	req = (struct http_req){ "GET", f.url, NULL, NULL, 0, 0 };
	ck_assert_int_eq(http_do(f.http, &req, &f.resp), HTTP_OK);
	fix_free(&f);
	ck_assert_int_eq(log_init("check_http", LOG_LVL_ERROR, NULL), 0);

	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	snprintf(expect, sizeof(expect), "http: POST http://127.0.0.1:%d/echo -> 200 in ",
	    f.srv.port);
	ck_assert_msg(strstr(text, expect) != NULL, "no line %s in %s", expect, text);
	snprintf(expect, sizeof(expect), "http: GET http://127.0.0.1:%d/ok -> 200 in ", f.srv.port);
	ck_assert_msg(strstr(text, expect) != NULL, "no line %s in %s", expect, text);
	ck_assert_ptr_null(strstr(text, "SECRET"));
	ck_assert_ptr_null(strstr(text, "frag"));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_redirect_not_followed)
{
	struct fix f;

	fix_init(&f);
	ck_assert_int_eq(fix_do(&f, "GET", "/redirect", NULL, NULL, 0), HTTP_OK);
	ck_assert_int_eq(f.resp.status, 302);
	assert_body(&f, "moved", 5);
	fix_free(&f);
}
END_TEST

/* A closed port: refused, certainly not sent. */
START_TEST(test_connect_refused)
{
	struct conf *c = test_conf();
	struct http *h = http_new(c);
	struct http_resp resp = { 0 };
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[64];
	struct http_req req = { "POST", url, NULL, "a", 1, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", ntohs(sa.sin_port));
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_CONNECT);
	ck_assert_int_eq(resp.status, 0);
	ck_assert_uint_eq(resp.body.len, 0);
	http_free(&h);
	buf_release(&resp.body);
	conf_free(&c);
}
END_TEST

/* A listener whose accept queue is full drops SYNs, so the connect times out: the request
 * was not sent, so CONNECT and not TIMEOUT. */
START_TEST(test_connect_timeout)
{
	struct conf *c = test_conf();
	struct http *h = http_new(c);
	struct http_resp resp = { 0 };
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char url[64];
	struct http_req req = { "POST", url, NULL, "a", 1, 0 };
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int fill[4];
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	for (i = 0; i < sizeof(fill) / sizeof(fill[0]); i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	usleep(50 * 1000);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", ntohs(sa.sin_port));
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_CONNECT);
	ck_assert_int_eq(resp.status, 0);
	ck_assert_int_ge(resp.elapsed_ms, 150);
	ck_assert_int_lt(resp.elapsed_ms, 2000);
	for (i = 0; i < sizeof(fill) / sizeof(fill[0]); i++)
		close(fill[i]);
	close(lfd);
	http_free(&h);
	buf_release(&resp.body);
	conf_free(&c);
}
END_TEST

/* Requests that must be refused before anything is sent. */
START_TEST(test_usage)
{
	static const char *const bad_urls[] = {
		"ftp://127.0.0.1/x",
		"file:///etc/passwd",
		"FILE:///etc/passwd",
		"gopher://127.0.0.1/",
		"dict://127.0.0.1:11211/stat",
		"127.0.0.1/ok",
		"//127.0.0.1/ok",
		"",
		"http://127.0.0.1/a b",
		"http://127.0.0.1/\r\nX-Injected: 1",
		"http://127.0.0.1/\x7f",
		"http://",
		"http://[::1/",
	};
	static const char *const crlf_header[] = { "X-A: b\r\nX-Injected: 1", NULL };
	static const char *const no_colon[] = { "X-A b", NULL };
	static const char *const empty_name[] = { ": b", NULL };
	static const char *const space_name[] = { "X A: b", NULL };
	struct conf *c = test_conf();
	struct http *h = http_new(c);
	struct http_resp resp = { 0 };
	struct http_req req;
	size_t i;

	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		req = (struct http_req){ "GET", bad_urls[i], NULL, NULL, 0, 0 };
		ck_assert_msg(http_do(h, &req, &resp) == HTTP_ERR_USAGE, "accepted %s", bad_urls[i]);
		ck_assert_int_eq(resp.status, 0);
	}
	req = (struct http_req){ "GET", NULL, NULL, NULL, 0, 0 };
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);

	req = (struct http_req){ "TRACE", "http://127.0.0.1:1/", NULL, NULL, 0, 0 };
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req.method = "get";
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req.method = "GET\r\nX: y";
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req.method = NULL;
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);

	req = (struct http_req){ "GET", "http://127.0.0.1:1/", NULL, "x", 1, 0 };
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req = (struct http_req){ "POST", "http://127.0.0.1:1/", NULL, NULL, 5, 0 };
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req = (struct http_req){ "POST", "http://127.0.0.1:1/", NULL, "x", 1, -1 };
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);

	req = (struct http_req){ "POST", "http://127.0.0.1:1/", crlf_header, "x", 1, 0 };
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req.headers = no_colon;
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req.headers = empty_name;
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);
	req.headers = space_name;
	ck_assert_int_eq(http_do(h, &req, &resp), HTTP_ERR_USAGE);

	http_free(&h);
	http_free(&h);
	buf_release(&resp.body);
	conf_free(&c);
}
END_TEST

/* http_do_many sends its requests at once: /together/5 answers 200 only when all five are
 * there together (one after another, the first would wait alone and get 504); each request
 * is classified as http_do would (an /ok, a bad URL, a refused connection, a 503 in the same
 * call), and the next call reuses the kept-alive connections. */
START_TEST(test_many_at_once)
{
	struct fix f;
	struct http_req reqs[8];
	struct http_resp resps[8];
	enum http_rc rcs[8];
	char urls[8][128];
	size_t i;
	int port;

	fix_init(&f);
	port = f.srv.port;
	memset(resps, 0, sizeof(resps));
	for (i = 0; i < 5; i++)
		snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%d/together/5", port);
	snprintf(urls[5], sizeof(urls[5]), "ftp://127.0.0.1:%d/ok", port);
	snprintf(urls[6], sizeof(urls[6]), "http://127.0.0.1:1/ok");
	snprintf(urls[7], sizeof(urls[7]), "http://127.0.0.1:%d/status/503", port);
	for (i = 0; i < 8; i++)
		reqs[i] = (struct http_req){ i == 7 ? "POST" : "GET", urls[i], NULL,
		    i == 7 ? "{}" : NULL, i == 7 ? 2 : 0, 3000 };
	http_do_many(f.http, reqs, resps, rcs, 8);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(rcs[i], HTTP_OK);
		ck_assert_int_eq(resps[i].status, 200);
		ck_assert_uint_eq(resps[i].body.len, strlen(OK_BODY));
	}
	ck_assert_int_eq(rcs[5], HTTP_ERR_USAGE);
	ck_assert_int_eq(resps[5].status, 0);
	ck_assert_int_eq(rcs[6], HTTP_ERR_CONNECT);
	ck_assert_int_eq(rcs[7], HTTP_OK);
	ck_assert_int_eq(resps[7].status, 503);
	ck_assert_uint_eq(resps[7].body.len, strlen(JSON_503));
	ck_assert_int_eq(*f.srv.connections, 6);

	/* Again: the same six connections carry the next round, none is opened. */
	*f.srv.together = 0;
	http_do_many(f.http, reqs, resps, rcs, 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(resps[i].status, 200);
	ck_assert_int_eq(*f.srv.connections, 6);

	/* One alone at /together/2 waits for a partner that never comes. */
	*f.srv.together = 0;
	snprintf(urls[0], sizeof(urls[0]), "http://127.0.0.1:%d/together/2", port);
	http_do_many(f.http, reqs, resps, rcs, 1);
	ck_assert_int_eq(rcs[0], HTTP_OK);
	ck_assert_int_eq(resps[0].status, 504);
	for (i = 0; i < 8; i++)
		buf_release(&resps[i].body);
	fix_free(&f);
}
END_TEST

/* A batch whose answers come one by one keeps every connection for the next batch: libcurl's
 * default cache (4 x the handles still added when a connection is done) kept only the last
 * few, so each batch of PG calls connected again. */
START_TEST(test_many_keeps_connections)
{
	enum { N = 12 };
	struct fix f;
	struct http_req reqs[N];
	struct http_resp resps[N];
	enum http_rc rcs[N];
	char urls[N][128];
	size_t i;

	fix_init(&f);
	memset(resps, 0, sizeof(resps));
	for (i = 0; i < N; i++) {
		snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%d/after/%zu", f.srv.port,
		    i * 25);
		reqs[i] = (struct http_req){ "GET", urls[i], NULL, NULL, 0, 3000 };
	}
	http_do_many(f.http, reqs, resps, rcs, N);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(resps[i].status, 200);
	ck_assert_int_eq(*f.srv.connections, N);
	http_do_many(f.http, reqs, resps, rcs, N);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(resps[i].status, 200);
		buf_release(&resps[i].body);
	}
	ck_assert_int_eq(*f.srv.connections, N);
	fix_free(&f);
}
END_TEST

/* More than HTTP_MANY_MAX requests go in rounds, every one answered. */
START_TEST(test_many_in_rounds)
{
	enum { N = HTTP_MANY_MAX + 3 };
	struct fix f;
	struct http_req reqs[N];
	struct http_resp resps[N];
	enum http_rc rcs[N];
	size_t i;

	fix_init(&f);
	snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/ok", f.srv.port);
	memset(resps, 0, sizeof(resps));
	for (i = 0; i < N; i++)
		reqs[i] = (struct http_req){ "GET", f.url, NULL, NULL, 0, 3000 };
	http_do_many(f.http, reqs, resps, rcs, N);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(rcs[i], HTTP_OK);
		ck_assert_int_eq(resps[i].status, 200);
		buf_release(&resps[i].body);
	}
	fix_free(&f);
}
END_TEST

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("client");

	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_rc_names);
	tcase_add_test(tc, test_ok_and_reuse);
	tcase_add_test(tc, test_echo_methods);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_log_line);
	tcase_add_test(tc, test_redirect_not_followed);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_connect_timeout);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_many_at_once);
	tcase_add_test(tc, test_many_keeps_connections);
	tcase_add_test(tc, test_many_in_rounds);
	suite_add_tcase(s, tc);
	return s;
}
