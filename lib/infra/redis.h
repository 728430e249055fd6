/* redis: the Redis wrapper. argv-style commands only (never a command string built by
 * formatting), connect and command timeouts, reconnection after a failure, and the primary
 * found through Redis Sentinel when redis.sentinels is set. One per process. */
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
 * be reached or the connection broke mid-command (never resent: it may have run; the next
 * call reconnects). A connection the server closed while idle (a Redis restart) is noticed
 * before sending and replaced, so a restart costs no command. A Redis error reply is
 * returned as a reply of type REDIS_REPLY_ERROR, not NULL; behind Sentinels, a READONLY
 * error (our primary was demoted, nothing was written) is answered by asking the Sentinels
 * again and sending the command once more. */
redisReply *redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens);

/* Same, with the arguments as a NULL-terminated list of C strings. */
redisReply *redis_cmdl(struct redis *r, const char *arg0, ...) __attribute__((sentinel));

/* 0 when PING answers PONG, else -1. */
int redis_ping(struct redis *r);

/* Parsers of the two Sentinel-related answers, exposed for the unit tests.
 * redis_sentinel_parse_addr: the answer to SENTINEL get-master-addr-by-name (two strings,
 * host and port) into host (at most cap bytes) and *port; 0, or -1 for anything else.
 * redis_role_is_primary: 1 when an answer to ROLE says "master", else 0. */
int redis_sentinel_parse_addr(const redisReply *reply, char *host, size_t cap, int *port);
int redis_role_is_primary(const redisReply *reply);

/* The last connection or protocol error, for logs ("" when none). */
const char *redis_error(const struct redis *r);

#endif
