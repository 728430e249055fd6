/* redis: the Redis wrapper: one hiredis connection made on first use, argv-style commands with
 * a timeout, AUTH when configured, and a fresh connection after any I/O error; with
 * redis.sentinels, the primary is looked up at the Sentinels at every connect and again
 * after a failover. */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/conf.h"
#include "base/hostport.h"
#include "base/log.h"
#include "infra/redis.h"

#define REDIS_CMDL_MAX 64        /* arguments redis_cmdl accepts, the command name included */

static const struct log_ctx redis_log_ctx = { NULL, NULL };

struct redis {
	/* Copied from the configuration (the conf may be freed before the handle). */
	char *host;
	char *socket;
	char *password;
	char *sentinels;         /* comma-separated host:port; "" = connect to host:port */
	char *master_name;
	int port;
	int timeout_ms;

	redisContext *ctx;       /* NULL while disconnected; owned */
	char primary[HOSTPORT_HOST_MAX + 8]; /* host:port the Sentinels named last, for logs */
	char err[128];
};

static char *
redis_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p == NULL) {
		fputs("redis: out of memory\n", stderr);
		abort();
	}
	memcpy(p, s, n);
	return p;
}

static void
redis_set_err(struct redis *r, const char *msg)
{
	snprintf(r->err, sizeof(r->err), "%s", msg);
}

/* hiredis writes with write(2), so a server that closed the connection raises SIGPIPE, which
 * kills a process that does not ignore it. Every exchange runs with SIGPIPE blocked, and one
 * that the exchange raised is discarded before the mask is restored. */
struct redis_sigpipe {
	sigset_t old;
	bool pending_before;
};

static void
redis_sigpipe_block(struct redis_sigpipe *sp)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	sp->pending_before = sigismember(&pending, SIGPIPE) == 1;
	sigprocmask(SIG_BLOCK, &pipe_set, &sp->old);
}

static void
redis_sigpipe_restore(const struct redis_sigpipe *sp)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	if (!sp->pending_before && sigismember(&pending, SIGPIPE) == 1)
		sigtimedwait(&pipe_set, NULL, &zero);
	sigprocmask(SIG_SETMASK, &sp->old, NULL);
}

/* redisCommandArgv with SIGPIPE held off (see above). */
static redisReply *
redis_exchange(redisContext *ctx, int argc, const char **argv, const size_t *lens)
{
	struct redis_sigpipe sp;
	redisReply *reply;

	redis_sigpipe_block(&sp);
	reply = redisCommandArgv(ctx, argc, argv, lens);
	redis_sigpipe_restore(&sp);
	return reply;
}

static void
redis_disconnect(struct redis *r)
{
	if (r->ctx != NULL)
		redisFree(r->ctx);
	r->ctx = NULL;
}

/* Reads the answer to SENTINEL get-master-addr-by-name: an array of two strings, the host and
 * the port. Returns 0 with host (at most cap bytes) and *port set, or -1 (a nil reply: the
 * Sentinel does not know the name). */
int
redis_sentinel_parse_addr(const redisReply *reply, char *host, size_t cap, int *port)
{
	const redisReply *h, *p;
	unsigned up;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
		return -1;
	h = reply->element[0];
	p = reply->element[1];
	if (h == NULL || p == NULL || h->type != REDIS_REPLY_STRING ||
	    p->type != REDIS_REPLY_STRING || h->len == 0 || h->len >= cap ||
	    memchr(h->str, ':', h->len) != NULL || memchr(h->str, ',', h->len) != NULL)
		return -1;
	if (hostport_port(p->str, p->len, &up) != 0)
		return -1;
	memcpy(host, h->str, h->len);
	host[h->len] = '\0';
	*port = (int)up;
	return 0;
}

/* True when reply (to ROLE) says the server is a primary: an array whose first element is
 * "master". */
int
redis_role_is_primary(const redisReply *reply)
{
	const redisReply *e;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
		return 0;
	e = reply->element[0];
	return e != NULL && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
	    e->len == 6 && memcmp(e->str, "master", 6) == 0;
}

/* Asks the Sentinels, in list order, for the primary's address; the first that answers
 * decides. Returns 0 with host and *port set, or -1 (error recorded). */
static int
redis_sentinel_lookup(struct redis *r, struct timeval tv, char *host, size_t cap, int *port)
{
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", r->master_name };
	const char *cursor = r->sentinels;
	char sh[HOSTPORT_HOST_MAX];
	unsigned sp;
	int rc;

	redis_set_err(r, "no Sentinel answered");
	while ((rc = hostport_next(&cursor, 26379, sh, sizeof(sh), &sp)) == 1) {
		redisContext *sc = redisConnectWithTimeout(sh, (int)sp, tv);
		redisReply *reply;
		int ok;

		if (sc == NULL) {
			fputs("redis: out of memory\n", stderr);
			abort();
		}
		if (sc->err != 0 || redisSetTimeout(sc, tv) != REDIS_OK) {
			log_warn(&redis_log_ctx, "redis: Sentinel %s:%u: %s", sh, sp, sc->errstr);
			redisFree(sc);
			continue;
		}
		reply = redis_exchange(sc, 3, argv, NULL);
		ok = redis_sentinel_parse_addr(reply, host, cap, port) == 0;
		if (!ok)
			log_warn(&redis_log_ctx, "redis: Sentinel %s:%u does not name primary %s: %s",
			    sh, sp, r->master_name, reply == NULL ? sc->errstr :
			    reply->type == REDIS_REPLY_ERROR ? reply->str : "no address");
		if (reply != NULL)
			freeReplyObject(reply);
		redisFree(sc);
		if (ok)
			return 0;
	}
	if (rc < 0) {
		redis_set_err(r, "bad entry in redis.sentinels");
		log_error(&redis_log_ctx, "redis: bad entry in redis.sentinels");
	}
	return -1;
}

/* Sends ROLE on the fresh connection: 0 when the server is a primary, else -1 (a Sentinel
 * that has not noticed a failover yet may still name a demoted one). */
static int
redis_check_primary(struct redis *r)
{
	const char *argv[1] = { "ROLE" };
	redisReply *reply = redis_exchange(r->ctx, 1, argv, NULL);
	int ok = redis_role_is_primary(reply);

	if (!ok) {
		redis_set_err(r, reply == NULL ? r->ctx->errstr : "not a primary (ROLE)");
		log_warn(&redis_log_ctx, "redis: %s named by the Sentinels is not a primary: %s",
		    r->primary, r->err);
	}
	if (reply != NULL)
		freeReplyObject(reply);
	return ok ? 0 : -1;
}

/* Connects (to the primary the Sentinels name, when configured), sets the command timeout,
 * authenticates and, behind Sentinels, checks the role. Returns 0 or -1 (error recorded). */
static int
redis_connect(struct redis *r)
{
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	bool sock = r->socket[0] != '\0';
	bool sentinel = r->sentinels[0] != '\0';
	const char *auth[2] = { "AUTH", r->password };
	char host[HOSTPORT_HOST_MAX];
	int port = r->port;
	redisReply *reply;

	snprintf(host, sizeof(host), "%s", r->host);
	if (sentinel) {
		if (redis_sentinel_lookup(r, tv, host, sizeof(host), &port) != 0)
			return -1;
		sock = false;
		snprintf(r->primary, sizeof(r->primary), "%s:%d", host, port);
	}
	r->ctx = sock ? redisConnectUnixWithTimeout(r->socket, tv) :
	    redisConnectWithTimeout(host, port, tv);
	if (r->ctx == NULL) {
		fputs("redis: out of memory\n", stderr);
		abort();
	}
	if (r->ctx->err != 0) {
		redis_set_err(r, r->ctx->errstr);
		log_warn(&redis_log_ctx, "redis: cannot connect to %s: %s",
		    sock ? r->socket : host, r->err);
		redis_disconnect(r);
		return -1;
	}
	if (redisSetTimeout(r->ctx, tv) != REDIS_OK) {
		redis_set_err(r, "cannot set the socket timeout");
		redis_disconnect(r);
		return -1;
	}
	if (r->password[0] != '\0') {
		reply = redis_exchange(r->ctx, 2, auth, NULL);
		if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
			/* The reply text names no secret ("WRONGPASS invalid username-password pair"). */
			redis_set_err(r, reply == NULL ? r->ctx->errstr : reply->str);
			log_error(&redis_log_ctx, "redis: AUTH failed: %s", r->err);
			if (reply != NULL)
				freeReplyObject(reply);
			redis_disconnect(r);
			return -1;
		}
		freeReplyObject(reply);
	}
	if (sentinel && redis_check_primary(r) != 0) {
		redis_disconnect(r);
		return -1;
	}
	return 0;
}

/* True when reply is the error a demoted primary answers a write with. */
static bool
redis_is_readonly(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ERROR && reply->len >= 8 &&
	    memcmp(reply->str, "READONLY", 8) == 0;
}

/* Creates a handle from c's redis.* keys; connects on first use. Never NULL; the caller owns
 * it and releases it with redis_free. */
struct redis *
redis_new(const struct conf *c)
{
	struct redis *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		fputs("redis: out of memory\n", stderr);
		abort();
	}
	r->host = redis_xstrdup(conf_str(c, CONF_REDIS_HOST));
	r->socket = redis_xstrdup(conf_str(c, CONF_REDIS_SOCKET));
	r->password = redis_xstrdup(conf_str(c, CONF_REDIS_PASSWORD));
	r->sentinels = redis_xstrdup(conf_str(c, CONF_REDIS_SENTINELS));
	r->master_name = redis_xstrdup(conf_str(c, CONF_REDIS_MASTER_NAME));
	r->port = (int)conf_int(c, CONF_REDIS_PORT);
	r->timeout_ms = (int)conf_int(c, CONF_REDIS_TIMEOUT_MS);
	return r;
}

/* Closes the connection, frees *r and sets it to NULL. NULL-safe. */
void
redis_free(struct redis **r)
{
	struct redis *p;

	if (r == NULL || *r == NULL)
		return;
	p = *r;
	redis_disconnect(p);
	free(p->host);
	free(p->socket);
	free(p->sentinels);
	free(p->master_name);
	explicit_bzero(p->password, strlen(p->password));
	free(p->password);
	free(p);
	*r = NULL;
}

/* True when the server has closed the idle connection c (a restart, a failover, a timeout
 * of its own): between commands nothing may be readable, so a readable or hung-up socket is
 * one whose next command would fail. Checked before sending, it costs one poll(2) and lets a
 * restart cost no command: nothing was sent, so nothing can have run twice. */
static bool
redis_conn_closed(const redisContext *c)
{
	struct pollfd p = { c->fd, POLLIN | POLLRDHUP, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

/* Sends argv[0..argc) and reads the reply (caller frees it with freeReplyObject). NULL when
 * the server cannot be reached, the timeout passed or the connection broke; the connection
 * is then dropped and the next call makes a new one. An error reply is a reply. */
redisReply *
redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply;
	int attempt;

	if (argc <= 0 || argv == NULL) {
		redis_set_err(r, "empty command");
		log_error(&redis_log_ctx, "redis: empty command");
		return NULL;
	}
	for (attempt = 0;; attempt++) {
		if (r->ctx != NULL && redis_conn_closed(r->ctx)) {
			log_info(&redis_log_ctx, "redis: the server closed the connection: reconnecting");
			redis_disconnect(r);
		}
		if (r->ctx == NULL && redis_connect(r) == -1)
			return NULL;
		reply = redis_exchange(r->ctx, argc, argv, lens);
		if (reply == NULL) {
			/* hiredis leaves the context unusable after an I/O or protocol error. The
			 * command may have run: it is never sent again here. */
			redis_set_err(r, r->ctx->errstr);
			log_warn(&redis_log_ctx, "redis: %s failed: %s", argv[0], r->err);
			redis_disconnect(r);
			return NULL;
		}
		if (attempt > 0 || r->sentinels[0] == '\0' || !redis_is_readonly(reply))
			return reply;
		/* A failover demoted our primary: nothing was written. Ask the Sentinels again and
		 * send the command once more to the new primary. */
		log_warn(&redis_log_ctx, "redis: %s is read-only now: asking the Sentinels again",
		    r->primary);
		freeReplyObject(reply);
		redis_disconnect(r);
	}
}

/* redis_cmd with the arguments as C strings, ending with NULL; at most REDIS_CMDL_MAX of them
 * (more is a programming error: NULL, nothing sent). */
redisReply *
redis_cmdl(struct redis *r, const char *arg0, ...)
{
	const char *argv[REDIS_CMDL_MAX];
	const char *a;
	va_list ap;
	int argc = 0;

	va_start(ap, arg0);
	for (a = arg0; a != NULL; a = va_arg(ap, const char *)) {
		if (argc == REDIS_CMDL_MAX) {
			va_end(ap);
			redis_set_err(r, "too many arguments");
			log_error(&redis_log_ctx, "redis: %s: more than %d arguments", arg0,
			    REDIS_CMDL_MAX);
			return NULL;
		}
		argv[argc++] = a;
	}
	va_end(ap);
	return redis_cmd(r, argc, argv, NULL);
}

/* 0 when PING answers PONG (connecting if needed), else -1. */
int
redis_ping(struct redis *r)
{
	redisReply *reply = redis_cmdl(r, "PING", (const char *)NULL);
	int rc = -1;

	if (reply == NULL)
		return -1;
	if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0)
		rc = 0;
	else
		redis_set_err(r, reply->type == REDIS_REPLY_ERROR ? reply->str : "PING: no PONG");
	freeReplyObject(reply);
	return rc;
}

/* The last connection, protocol or PING error ("" when none); owned by r. */
const char *
redis_error(const struct redis *r)
{
	return r->err;
}
