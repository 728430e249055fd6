/* jangteoctl: the operator's command line: migrate the schema, seed demo data. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmds.h"
#include "base/daemon.h"
#include "base/conf.h"
#include "infra/db.h"
#include "base/log.h"
#include "infra/migrate.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: jangteoctl [--config FILE] COMMAND\n"
	    "commands:\n"
	    "  migrate [--sql-dir DIR]   apply the numbered SQL migrations not yet applied\n"
	    "  seed-demo                 add demo sellers, products, a shopper and an admin\n"
	    "  ledger-check              check that the books balance; list each violation\n"
	    "  payout --seller ID [--amount WON] [--key KEY]\n"
	    "                            pay a seller's payable out to the bank\n"
	    "  reconcile --pg toss|kakaopay [--dry-run] FILE | --fetch YYYY-MM-DD\n"
	    "                            match a PG settlement file against our payments\n"
	    "  bus-keygen SECRET_FILE    make a CURVE key pair for the job bus; print the public key\n");
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

/* Commands that parse their own options (ctl/cmds.h). */
struct own_cmd {
	const char *name;
	int (*run)(const struct conf *, struct db *, int, char **);
};

static const struct own_cmd own_cmds[] = {
	{ "ledger-check", ctl_ledger_check },
	{ "payout", ctl_payout },
	{ "reconcile", ctl_reconcile },
};

/* Loads the config, opens the database and runs cmd with its own arguments. */
static int
run_own(const char *config, const struct own_cmd *cmd, int argc, char **argv)
{
	struct conf *c;
	struct db *db;
	int rc;

	c = daemon_config("jangteoctl", config, true);
	if (c == NULL)
		return 2;
	db = db_new(c);
	optind = 1;
	rc = cmd->run(c, db, argc, argv);
	db_free(&db);
	conf_free(&c);
	return rc;
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
	size_t i;

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
	if (strcmp(cmd, "bus-keygen") == 0)
		return ctl_bus_keygen(argc - optind + 1, argv + optind - 1);
	for (i = 0; i < sizeof(own_cmds) / sizeof(own_cmds[0]); i++)
		if (strcmp(cmd, own_cmds[i].name) == 0)
			return run_own(config, &own_cmds[i], argc - optind + 1, argv + optind - 1);
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
