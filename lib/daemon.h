/* daemon: what every long-running jangteo process does the same way: stop flags set by
 * SIGTERM/SIGINT (without SA_RESTART, so blocking calls return EINTR), SIGPIPE ignored. */
#ifndef JT_DAEMON_H
#define JT_DAEMON_H

#include <signal.h>

/* Set to 1 by SIGTERM or SIGINT after daemon_signals(). */
extern volatile sig_atomic_t daemon_stop;

/* Installs the handlers. Call once per process (again in a child after fork if it should
 * start from a clean flag). */
void daemon_signals(void);

/* Sleeps ms milliseconds, returning early when daemon_stop is set. */
void daemon_sleep_ms(long ms);

#endif
