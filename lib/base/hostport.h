/* hostport: "host[:port]" entries and comma-separated lists of them, as the config names
 * failover lists (db.host, redis.sentinels). Pure parsing, no name resolution. */
#ifndef JT_HOSTPORT_H
#define JT_HOSTPORT_H

#include <stddef.h>

#define HOSTPORT_HOST_MAX 256    /* bytes of a host, its NUL included */

/* Splits one entry of len bytes ("host", "host:port", "[v6addr]:port"; blanks around it
 * ignored) into host (at most cap bytes with its NUL) and *port (def when the entry has
 * none). Returns 0, or -1 for an empty entry, a port outside 1..65535 or a host that does
 * not fit. */
int hostport_parse(const char *entry, size_t len, unsigned def, char *host, size_t cap,
    unsigned *port);

/* Reads a decimal port of len bytes (digits only, 1..65535) into *port. 0 or -1. */
int hostport_port(const char *s, size_t len, unsigned *port);

/* Walks a comma-separated list: *cursor starts at the list and is advanced past the entry
 * returned. Returns 1 with host and *port set, 0 at the end of the list, -1 for a bad entry
 * (the walk should stop). */
int hostport_next(const char **cursor, unsigned def, char *host, size_t cap, unsigned *port);

#endif
