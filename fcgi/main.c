/* jangteo-fcgi: the FastCGI program. Under spawn-fcgi it serves the socket on fd 0; with
 * --listen it opens the socket itself and supervises --prefork N children, respawning any
 * that die (for systemd, since spawn-fcgi's -F does not combine with -n). */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fastcgi.h>
#include <fcgiapp.h>

#include "app.h"
#include "base/arena.h"
#include "infra/assets.h"
#include "infra/bus.h"
#include "base/conf.h"
#include "base/daemon.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/metrics.h"
#include "infra/redis.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "infra/tmpl.h"
#include "shop/pricewatch.h"
#include "shop/social.h"

#define MAX_PREFORK 256

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: jangteo-fcgi [--config FILE] [--listen SOCKET [--prefork N] [--socket-mode MODE]]\n"
	    "       jangteo-fcgi --routes\n"
	    "  Without --listen, serves the FastCGI socket on fd 0 (spawn-fcgi).\n"
	    "  --routes            print the route table (METHOD PATTERN FLAGS NAME) and exit\n"
	    "  --config FILE       configuration (default %s/jangteo.conf)\n"
	    "  --listen SOCKET     unix socket path or host:port to open (default: fcgi.socket);\n"
	    "                      over TCP only fcgi.allowed_addrs may connect, when set\n"
	    "  --prefork N         handler processes to keep running (default: fcgi.prefork)\n"
	    "  --socket-mode MODE  octal permissions of a unix socket (default 0660)\n",
	    JT_SYSCONFDIR);
}

/* Opens what one handler process keeps for its life. Exits on a configuration error. */
static void
app_open(struct app *app, const struct conf *c)
{
	char err[512];

	memset(app, 0, sizeof(*app));
	app->conf = c;
	app->db = db_new(c);
	app->redis = redis_new(c);
	app->bus = bus_producer_new(c);
	app->tmpl = tmpl_set_load(conf_str(c, CONF_TEMPLATES_DIR), err, sizeof(err));
	if (app->tmpl == NULL) {
		log_error(NULL, "templates: %s", err);
		exit(1);
	}
	app->assets = assets_load(conf_str(c, CONF_STATIC_DIR), err, sizeof(err));
	if (app->assets == NULL) {
		log_error(NULL, "static files: %s", err);
		exit(1);
	}
	app->metrics = metrics_open(conf_str(c, CONF_METRICS_FILE), route_names(), route_count());
	app->pricewatch = pricewatch_new(c, app->redis);
	app->social = social_new(c);
}

static void
app_close(struct app *app)
{
	social_free(&app->social);
	pricewatch_free(&app->pricewatch);
	db_free(&app->db);
	redis_free(&app->redis);
	bus_free(&app->bus);
	tmpl_set_free(&app->tmpl);
	assets_free(&app->assets);
	metrics_close(&app->metrics);
}

/* The request loop of one handler process. Returns when asked to stop. */
static int
serve(const struct conf *c, int listen_fd)
{
	struct app app;
	struct arena *a;
	FCGX_Request fx;
	struct req r;

	if (FCGX_Init() != 0) {
		log_error(NULL, "FCGX_Init failed");
		return 1;
	}
	daemon_signals();  /* after FCGX_Init, which installs its own SIGPIPE/SIGUSR1 handlers */
	app_open(&app, c);
	a = arena_new(16384);
	/* FAIL_ACCEPT_ON_INTR: a SIGTERM while idle in accept() ends the loop. */
	FCGX_InitRequest(&fx, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	log_info(NULL, "handler ready");
	while (!daemon_stop) {
		if (FCGX_Accept_r(&fx) < 0) {
			if (daemon_stop)
				break;
			if (errno != EINTR)
				log_warn(NULL, "accept failed: %s", strerror(errno));
			daemon_sleep_ms(errno == EINTR ? 0 : 100);
			continue;
		}
		if (req_begin(&r, &fx, &app, a) != REQ_OK)
			resp_fail(&r, RESP_BAD_REQUEST);
		else
			route_dispatch(&r);
		req_end(&r);
		FCGX_Finish_r(&fx);
		arena_reset(a);
	}
	FCGX_Free(&fx, 0);
	arena_free(&a);
	app_close(&app);
	log_info(NULL, "handler stopped");
	return 0;
}

static pid_t
spawn_child(const struct conf *c, int fd)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		/* If the supervisor is killed outright, its children must not linger. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		_exit(serve(c, fd));
	}
	if (pid < 0)
		log_error(NULL, "fork failed: %s", strerror(errno));
	return pid;
}

/* Keeps n children serving fd; on SIGTERM/SIGINT stops them and returns. */
static int
supervise(const struct conf *c, int fd, int n)
{
	pid_t kids[MAX_PREFORK];
	time_t born[MAX_PREFORK];
	int i, status, alive;
	pid_t pid;

	daemon_signals();
	for (i = 0; i < n; i++) {
		kids[i] = spawn_child(c, fd);
		born[i] = time(NULL);
	}
	log_info(NULL, "supervising %d handler processes", n);
	while (!daemon_stop) {
		pid = waitpid(-1, &status, 0);
		if (pid <= 0) {
			if (errno == ECHILD)
				daemon_sleep_ms(1000);
			continue;
		}
		for (i = 0; i < n && kids[i] != pid; i++)
			;
		if (i == n)
			continue;
		if (WIFSIGNALED(status))
			log_error(NULL, "handler %d died of signal %d; respawning", (int)pid,
			    WTERMSIG(status));
		else
			log_warn(NULL, "handler %d exited with %d; respawning", (int)pid,
			    WEXITSTATUS(status));
		if (daemon_stop)
			break;
		if (time(NULL) - born[i] < 1)
			daemon_sleep_ms(1000);  /* a child that dies at once: do not spin */
		kids[i] = spawn_child(c, fd);
		born[i] = time(NULL);
	}
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (alive = n, i = 0; alive > 0 && i < 100; i++) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			alive--;
		if (pid < 0 && errno == ECHILD)
			break;
		usleep(100000);
	}
	for (i = 0; i < n; i++)
		if (kids[i] > 0 && kill(kids[i], 0) == 0)
			kill(kids[i], SIGKILL);
	while (waitpid(-1, &status, 0) > 0)
		;
	log_info(NULL, "supervisor stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "prefork", required_argument, NULL, 'n' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "routes", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = JT_SYSCONFDIR "/jangteo.conf", *listen_on = NULL;
	long prefork = 0, mode = 0660;
	bool dump_routes = false;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct conf *c;
	char *end;
	int ch, fd, rc;

	while ((ch = getopt_long(argc, argv, "c:l:n:m:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': dump_routes = true; break;
		case 'c': config = optarg; break;
		case 'l': listen_on = optarg; break;
		case 'n':
			prefork = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || prefork < 1 || prefork > MAX_PREFORK) {
				fprintf(stderr, "jangteo-fcgi: --prefork must be 1..%d\n", MAX_PREFORK);
				return 2;
			}
			break;
		case 'm':
			mode = strtol(optarg, &end, 8);
			if (*optarg == '\0' || *end != '\0' || mode < 0 || mode > 0777) {
				fprintf(stderr, "jangteo-fcgi: --socket-mode must be octal, e.g. 0660\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (dump_routes) {
		route_init();
		route_dump(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	c = daemon_config("jangteo-fcgi", config, false);
	if (c == NULL)
		return 2;
	/* libfcgi reads its peer allow-list for TCP listeners from the environment in
	 * FCGX_Init; the config is where an operator sets it. */
	if (conf_str(c, CONF_FCGI_ALLOWED_ADDRS)[0] != '\0' &&
	    setenv("FCGI_WEB_SERVER_ADDRS", conf_str(c, CONF_FCGI_ALLOWED_ADDRS), 1) != 0) {
		fprintf(stderr, "jangteo-fcgi: setenv: %s\n", strerror(errno));
		conf_free(&c);
		return 1;
	}
	route_init();
	if (listen_on == NULL && prefork == 0) {
		/* spawn-fcgi mode: the socket is fd 0. */
		if (getsockname(FCGI_LISTENSOCK_FILENO, (struct sockaddr *)&ss, &sslen) != 0) {
			fprintf(stderr, "jangteo-fcgi: fd 0 is not a socket: start me with spawn-fcgi, "
			    "or use --listen SOCKET --prefork N\n");
			conf_free(&c);
			return 2;
		}
		rc = serve(c, FCGI_LISTENSOCK_FILENO);
		conf_free(&c);
		return rc;
	}
	if (listen_on == NULL)
		listen_on = conf_str(c, CONF_FCGI_SOCKET);
	if (prefork == 0)
		prefork = conf_int(c, CONF_FCGI_PREFORK);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "jangteo-fcgi: FCGX_Init failed\n");
		return 1;
	}
	fd = FCGX_OpenSocket(listen_on, 1024);
	if (fd < 0) {
		log_error(NULL, "cannot listen on %s: %s", listen_on, strerror(errno));
		fprintf(stderr, "jangteo-fcgi: cannot listen on %s\n", listen_on);
		conf_free(&c);
		return 1;
	}
	if (listen_on[0] == '/' && chmod(listen_on, (mode_t)mode) != 0)
		log_warn(NULL, "chmod %s: %s", listen_on, strerror(errno));
	log_info(NULL, "listening on %s", listen_on);
	rc = supervise(c, fd, (int)prefork);
	close(fd);
	if (listen_on[0] == '/')
		unlink(listen_on);
	conf_free(&c);
	return rc;
}
