/* daemon: stop flags and signal set-up shared by the long-running programs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/conf.h"
#include "base/daemon.h"
#include "base/log.h"

volatile sig_atomic_t daemon_stop;

static void
on_stop_signal(int sig)
{
	(void)sig;
	daemon_stop = 1;
}

void
daemon_signals(void)
{
	struct sigaction sa;

	daemon_stop = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: accept(), zmq_poll() and sleeps return EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

void
daemon_sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (!daemon_stop && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

struct conf *
daemon_config(const char *prog, const char *path, bool log_to_stderr)
{
	enum log_level lvl;
	struct conf *c;
	const char *log_file;
	char err[512];

	c = conf_load(path, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return NULL;
	}
	log_file = log_to_stderr ? "-" : conf_str(c, CONF_LOG_FILE);
	if (log_level_parse(conf_str(c, CONF_LOG_LEVEL), &lvl) != 0 ||
	    log_init(prog, lvl, log_file) != 0) {
		fprintf(stderr, "%s: cannot open the log %s: %s\n", prog, log_file, strerror(errno));
		conf_free(&c);
		return NULL;
	}
	return c;
}
