/* daemon: what every long-running jangteo process does the same way: stop flags set by
 * SIGTERM/SIGINT (without SA_RESTART, so blocking calls return EINTR), SIGPIPE ignored. */
#ifndef JT_DAEMON_H
#define JT_DAEMON_H

#include <signal.h>
#include <stdbool.h>

struct conf;

/* Set to 1 by SIGTERM or SIGINT after daemon_signals(). */
extern volatile sig_atomic_t daemon_stop;

/* Installs the handlers. Call once per process (again in a child after fork if it should
 * start from a clean flag). */
void daemon_signals(void);

/* Loads the configuration at path and opens the log as prog (log.level, log.file; stderr
 * instead when log_to_stderr, for command-line tools). On failure prints the reason to stderr
 * prefixed with prog and returns NULL. Owned by the caller: conf_free. */
struct conf *daemon_config(const char *prog, const char *path, bool log_to_stderr);

/* Sleeps ms milliseconds, returning early when daemon_stop is set. */
void daemon_sleep_ms(long ms);

#endif
