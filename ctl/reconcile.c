/* reconcile: `jangteoctl reconcile --pg toss|kakaopay [--dry-run] FILE` and `--pg P --fetch
 * YYYY-MM-DD`: reads (or fetches) a PG's settlement records of a day, runs reconcile_run
 * under the one-run lock, and prints the run's counts and every finding that is not a match. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "infra/bus.h"
#include "cmds.h"
#include "base/conf.h"
#include "clients/pg.h"
#include "shop/reconcile.h"
#include "infra/redis.h"

#define CTL_ERR_MAX 512
#define CTL_SHOW_MAX 64    /* bytes of a hostile argument echoed back */

static void
reconcile_usage(FILE *f)
{
	fprintf(f,
	    "usage: jangteoctl reconcile --pg toss|kakaopay [--dry-run] FILE\n"
	    "       jangteoctl reconcile --pg toss [--dry-run] --fetch YYYY-MM-DD\n"
	    "  FILE is the PG's settlement file of one day (CSV: settlement_date,pg,type,\n"
	    "  payment_key,order_id,transaction_key,amount,fee,net,transaction_at).\n"
	    "  --fetch asks the PG's settlement API for that day (Toss only: KakaoPay has none).\n"
	    "  --dry-run classifies and records what it would repair, changing nothing.\n"
	    "exit status: 0 nothing left to do, 1 findings left for a person (or a dry run\n"
	    "that would repair), 2 usage or runtime error, 3 another run holds the lock\n");
}

/* An argument as it may be printed: printable ASCII, cut, others as '?'. */
static const char *
shown(const char *s, char out[CTL_SHOW_MAX + 1])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < CTL_SHOW_MAX; i++)
		out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x7e ? s[i] : '?';
	out[i] = '\0';
	return out;
}

/* Reads a whole regular file of at most RECON_FILE_MAX bytes. Returns a malloc'd buffer (with
 * a NUL after *len bytes) or NULL with err set. */
static char *
read_file(const char *path, size_t *len, char *err, size_t err_len)
{
	struct stat st;
	char *data = NULL;
	FILE *f;
	size_t n;

	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, err_len, "cannot read it: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "not a regular file");
		goto out;
	}
	if (st.st_size > RECON_FILE_MAX) {
		snprintf(err, err_len, "larger than %d bytes", RECON_FILE_MAX);
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL)
		abort();
	n = fread(data, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size || ferror(f)) {
		snprintf(err, err_len, "cannot read it: short read");
		free(data);
		data = NULL;
		goto out;
	}
	data[n] = '\0';
	*len = n;
out:
	fclose(f);
	return data;
}

/* Prints the run and its findings other than matches. */
static void
print_run(struct db *db, struct arena *a, const struct recon_run *run)
{
	struct recon_finding *fs;
	int64_t n, i;

	printf("reconcile: run %" PRId64 " %s%s %s (%s): %s; %" PRId64 " rows; match %" PRId64
	    ", amount_mismatch %" PRId64 ", missing_here %" PRId64 ", missing_pg %" PRId64
	    ", duplicate %" PRId64 "; repaired %" PRId64 "\n", run->id, run->pg,
	    run->dry_run ? " (dry run)" : "", run->source, run->period != NULL ? run->period : "-",
	    run->status, run->rows, run->counts[RECON_MATCH], run->counts[RECON_AMOUNT_MISMATCH],
	    run->counts[RECON_MISSING_HERE], run->counts[RECON_MISSING_PG],
	    run->counts[RECON_DUPLICATE], run->repaired);
	if (run->note != NULL)
		printf("  note: %s\n", run->note);
	if (run->id == 0)
		return;
	n = reconcile_findings(db, a, run->id, false, &fs);
	for (i = 0; i < n; i++) {
		printf("  %s %s order %s pg %" PRId64 " ours %" PRId64 ": %s%s%s\n",
		    reconcile_class_name(fs[i].cls), fs[i].pg_key != NULL ? fs[i].pg_key : "-",
		    fs[i].order_id != NULL ? fs[i].order_id : "-", fs[i].pg_amount,
		    fs[i].our_amount, fs[i].action, fs[i].note != NULL ? " - " : "",
		    fs[i].note != NULL ? fs[i].note : "");
	}
}

struct ctl_args {
	const char *pg_arg;
	const char *fetch;
	const char *file;
	bool dry_run;
	enum pg_id pg;
};

/* Parses argv. 0, or -1 after printing why (exit 2). */
static int
parse_args(int argc, char **argv, struct ctl_args *args)
{
	static const struct option opts[] = {
		{ "pg", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "fetch", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char show[CTL_SHOW_MAX + 1];
	int ch;

	memset(args, 0, sizeof(*args));
	while ((ch = getopt_long(argc, argv, "p:nf:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': args->pg_arg = optarg; break;
		case 'n': args->dry_run = true; break;
		case 'f': args->fetch = optarg; break;
		case 'h': reconcile_usage(stdout); return -1;
		default: reconcile_usage(stderr); return -1;
		}
	}
	if (args->pg_arg == NULL) {
		fprintf(stderr, "jangteoctl reconcile: --pg toss|kakaopay is required\n");
		reconcile_usage(stderr);
		return -1;
	}
	if (pg_parse(args->pg_arg, &args->pg) != 0) {
		fprintf(stderr, "jangteoctl reconcile: unknown PG \"%s\" (toss or kakaopay)\n",
		    shown(args->pg_arg, show));
		return -1;
	}
	if (args->fetch != NULL ? optind != argc : optind + 1 != argc) {
		fprintf(stderr, "jangteoctl reconcile: give exactly one of FILE and --fetch DATE\n");
		reconcile_usage(stderr);
		return -1;
	}
	if (args->fetch != NULL && !reconcile_date_ok(args->fetch)) {
		fprintf(stderr, "jangteoctl reconcile: --fetch \"%s\" is not a YYYY-MM-DD date\n",
		    shown(args->fetch, show));
		return -1;
	}
	if (args->fetch == NULL)
		args->file = argv[optind];
	return 0;
}

/* Runs the reconciliation o describes and prints it. Returns the exit status: 0 nothing left,
 * 1 findings, 2 failed, 3 a newer run took over. */
static int
run_and_print(const struct recon_opts *o, struct arena *a)
{
	struct recon_run run;
	int rc;

	switch (reconcile_run(o, a, &run)) {
	case RECON_DONE:
		rc = 0;
		break;
	case RECON_FINDINGS:
		rc = 1;
		break;
	case RECON_BUSY:
		fprintf(stderr, "jangteoctl reconcile: a newer reconciliation took over\n");
		rc = 3;
		break;
	default:
		rc = 2;
		break;
	}
	print_run(o->db, a, &run);
	if (rc == 2)
		fprintf(stderr, "jangteoctl reconcile: the run failed (see the log)\n");
	return rc;
}

int
ctl_reconcile(const struct conf *c, struct db *db, int argc, char **argv)
{
	char err[CTL_ERR_MAX] = "", show[CTL_SHOW_MAX + 1];
	struct ctl_args args;
	struct recon_file file;
	struct recon_lock lock;
	struct recon_opts o;
	struct arena *a = NULL;
	struct redis *redis = NULL;
	struct bus *bus = NULL;
	char *data = NULL;
	size_t len = 0;
	int rc = 2, lrc;

	memset(&file, 0, sizeof(file));
	memset(&lock, 0, sizeof(lock));
	if (parse_args(argc, argv, &args) != 0)
		return 2;
	if (args.fetch != NULL && args.pg == PG_KAKAOPAY) {
		fprintf(stderr, "jangteoctl reconcile: KakaoPay's online payment API"
		    " (pg-api-contracts.md section 2) offers no settlement endpoint; reconcile its"
		    " settlement file: jangteoctl reconcile --pg kakaopay FILE\n");
		return 2;
	}
	a = arena_new(65536);
	/* A bad file is refused before anything else is touched. */
	if (args.file != NULL) {
		data = read_file(args.file, &len, err, sizeof(err));
		if (data == NULL || reconcile_parse_csv(data, len, args.pg, a, &file, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "jangteoctl reconcile: %s: %s\n", shown(args.file, show), err);
			goto out;
		}
	}
	redis = redis_new(c);
	lrc = reconcile_lock(redis, &lock);
	if (lrc == 0) {
		fprintf(stderr, "jangteoctl reconcile: another reconciliation holds the lock\n");
		rc = 3;
		goto out;
	}
	if (lrc < 0) {
		fprintf(stderr, "jangteoctl reconcile: Redis failed: %s\n", redis_error(redis));
		goto out;
	}
	if (args.fetch != NULL && reconcile_fetch(c, args.pg, args.fetch, a, &file, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "jangteoctl reconcile: --fetch %s: %s\n", shown(args.fetch, show),
		    err);
		goto out;
	}
	if (!args.dry_run)
		bus = bus_producer_new(c);
	memset(&o, 0, sizeof(o));
	o.db = db;
	o.redis = redis;
	o.lock = &lock;
	o.conf = c;
	o.bus = bus;
	o.file = &file;
	o.source = args.file != NULL ? args.file : arena_printf(a, "api:%s", args.fetch);
	o.dry_run = args.dry_run;
	o.repair_approved = conf_bool(c, CONF_RECONCILE_REPAIR_APPROVED);
	o.confirming_stale_seconds = conf_int(c, CONF_PAYMENTS_CONFIRMING_STALE_SECONDS);
	rc = run_and_print(&o, a);
out:
	reconcile_unlock(redis, &lock);
	bus_free(&bus);
	redis_free(&redis);
	reconcile_file_free(&file);
	free(data);
	arena_free(&a);
	return rc;
}
