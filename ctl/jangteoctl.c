/* jangteoctl: the operator's command line: migrate the schema, seed demo data. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmds.h"
#include "daemon.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "migrate.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: jangteoctl [--config FILE] COMMAND\n"
	    "commands:\n"
	    "  migrate [--sql-dir DIR]   apply the numbered SQL migrations not yet applied\n"
	    "  seed-demo                 add demo sellers, products, a shopper and an admin\n");
}

/* The installed migrations, or the source tree's when running from a build directory. */
static const char *
default_sql_dir(void)
{
	struct stat st;

	if (stat(JT_DATADIR "/sql", &st) == 0 && S_ISDIR(st.st_mode))
		return JT_DATADIR "/sql";
	return JT_SRC_SQLDIR;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "sql-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = JT_SYSCONFDIR "/jangteo.conf", *sql_dir = NULL, *cmd;
	struct conf *c;
	struct db *db;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 's': sql_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	/* Options may also follow the command: jangteoctl migrate --sql-dir DIR */
	while ((ch = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 's': sql_dir = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Operators read errors on the terminal: log to stderr whatever the config says. */
	c = daemon_config("jangteoctl", config, true);
	if (c == NULL)
		return 2;
	db = db_new(c);
	if (strcmp(cmd, "migrate") == 0) {
		rc = migrate_run(db, sql_dir != NULL ? sql_dir : default_sql_dir());
		if (rc >= 0)
			printf("migrate: %d applied\n", rc);
		rc = rc >= 0 ? 0 : 1;
	} else if (strcmp(cmd, "seed-demo") == 0) {
		rc = seed_demo(db) == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "jangteoctl: unknown command %s\n", cmd);
		usage(stderr);
		rc = 2;
	}
	db_free(&db);
	conf_free(&c);
	return rc;
}
