/* redis: the Redis wrapper. argv-style commands only (never a command string built by
 * formatting), connect and command timeouts, reconnection after a failure. One per process. */
#ifndef JT_REDIS_H
#define JT_REDIS_H

#include <stddef.h>
#include <hiredis/hiredis.h>

struct conf;
struct redis;

/* Creates a handle; connects on first use. Never NULL. Owned by the caller: redis_free. */
struct redis *redis_new(const struct conf *c);
void redis_free(struct redis **r);

/* Sends one command given as argc arguments (lens NULL means each argv[i] is a C string).
 * Returns the reply (caller frees with freeReplyObject), or NULL when the server could not
 * be reached or the connection broke (the next call reconnects). A Redis error reply is
 * returned as a reply of type REDIS_REPLY_ERROR, not NULL. */
redisReply *redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens);

/* Same, with the arguments as a NULL-terminated list of C strings. */
redisReply *redis_cmdl(struct redis *r, const char *arg0, ...) __attribute__((sentinel));

/* 0 when PING answers PONG, else -1. */
int redis_ping(struct redis *r);

/* The last connection or protocol error, for logs ("" when none). */
const char *redis_error(const struct redis *r);

#endif
