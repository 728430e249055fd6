/* jangteo-bus: the ZeroMQ broker: PULL from bus.in, PUSH each job on its kind's queue. */
#include <getopt.h>
#include <stdio.h>

#include "bus.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = JT_SYSCONFDIR "/jangteo.conf";
	enum log_level lvl;
	struct conf *c;
	char err[512];
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'h': printf("usage: jangteo-bus [--config FILE]\n"); return 0;
		default: fprintf(stderr, "usage: jangteo-bus [--config FILE]\n"); return 2;
		}
	}
	c = conf_load(config, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "jangteo-bus: %s\n", err);
		return 2;
	}
	if (log_level_parse(conf_str(c, CONF_LOG_LEVEL), &lvl) != 0 ||
	    log_init("jangteo-bus", lvl, conf_str(c, CONF_LOG_FILE)) != 0) {
		fprintf(stderr, "jangteo-bus: cannot open the log\n");
		return 2;
	}
	daemon_signals();
	log_info(NULL, "bus starting");
	rc = bus_broker_run(c, &daemon_stop);
	log_info(NULL, "bus stopped");
	conf_free(&c);
	return rc == 0 ? 0 : 1;
}
