/* redis: the Redis wrapper: one hiredis connection made on first use, argv-style commands with
 * a timeout, AUTH when configured, and a fresh connection after any I/O error. */
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/conf.h"
#include "base/log.h"
#include "infra/redis.h"

#define REDIS_CMDL_MAX 64        /* arguments redis_cmdl accepts, the command name included */

static const struct log_ctx redis_log_ctx = { NULL, NULL };

struct redis {
	/* Copied from the configuration (the conf may be freed before the handle). */
	char *host;
	char *socket;
	char *password;
	int port;
	int timeout_ms;

	redisContext *ctx;       /* NULL while disconnected; owned */
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

/* Connects, sets the command timeout and authenticates. Returns 0 or -1 (error recorded). */
static int
redis_connect(struct redis *r)
{
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	bool sock = r->socket[0] != '\0';
	const char *auth[2] = { "AUTH", r->password };
	redisReply *reply;

	r->ctx = sock ? redisConnectUnixWithTimeout(r->socket, tv) :
	    redisConnectWithTimeout(r->host, r->port, tv);
	if (r->ctx == NULL) {
		fputs("redis: out of memory\n", stderr);
		abort();
	}
	if (r->ctx->err != 0) {
		redis_set_err(r, r->ctx->errstr);
		log_warn(&redis_log_ctx, "redis: cannot connect to %s: %s",
		    sock ? r->socket : r->host, r->err);
		redis_disconnect(r);
		return -1;
	}
	if (redisSetTimeout(r->ctx, tv) != REDIS_OK) {
		redis_set_err(r, "cannot set the socket timeout");
		redis_disconnect(r);
		return -1;
	}
	if (r->password[0] == '\0')
		return 0;

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
	return 0;
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
	explicit_bzero(p->password, strlen(p->password));
	free(p->password);
	free(p);
	*r = NULL;
}

/* Sends argv[0..argc) and reads the reply (caller frees it with freeReplyObject). NULL when
 * the server cannot be reached, the timeout passed or the connection broke; the connection
 * is then dropped and the next call makes a new one. An error reply is a reply. */
redisReply *
redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply;

	if (argc <= 0 || argv == NULL) {
		redis_set_err(r, "empty command");
		log_error(&redis_log_ctx, "redis: empty command");
		return NULL;
	}
	if (r->ctx == NULL && redis_connect(r) == -1)
		return NULL;
	reply = redis_exchange(r->ctx, argc, argv, lens);
	if (reply == NULL) {
		/* hiredis leaves the context unusable after an I/O or protocol error. */
		redis_set_err(r, r->ctx->errstr);
		log_warn(&redis_log_ctx, "redis: %s failed: %s", argv[0], r->err);
		redis_disconnect(r);
		return NULL;
	}
	return reply;
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
