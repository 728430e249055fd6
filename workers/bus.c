/* jangteo-bus: the ZeroMQ broker: PULL from bus.in, PUSH each job on its kind's queue. */
#include <getopt.h>
#include <stdio.h>

#include "infra/bus.h"
#include "base/conf.h"
#include "base/daemon.h"
#include "base/log.h"

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = JT_SYSCONFDIR "/jangteo.conf";
	struct conf *c;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'h': printf("usage: jangteo-bus [--config FILE]\n"); return 0;
		default: fprintf(stderr, "usage: jangteo-bus [--config FILE]\n"); return 2;
		}
	}
	c = daemon_config("jangteo-bus", config, false);
	if (c == NULL)
		return 2;
	daemon_signals();
	log_info(NULL, "bus starting");
	rc = bus_broker_run(c, &daemon_stop);
	log_info(NULL, "bus stopped");
	conf_free(&c);
	return rc == 0 ? 0 : 1;
}
