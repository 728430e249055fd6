/* reconcile_report: the names of findings and run results, and the admin console's reads of
 * runs and their findings (see reconcile.h). */
#include <stdbool.h>
#include <string.h>

#include "base/arena.h"
#include "infra/db.h"
#include "shop/reconcile.h"
#include "shop/reconcile_impl.h"

#define RUN_COLUMNS \
    "SELECT id, pg, source, status, dry_run, fencing_token, rows_read, n_match," \
    " n_amount_mismatch, n_missing_here, n_missing_pg, n_duplicate, repaired," \
    " DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s') AS started_at," \
    " DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:%s') AS finished_at," \
    " period, note FROM recon_runs"
static const char SQL_RUNS[] = RUN_COLUMNS " ORDER BY id DESC LIMIT ?";
static const char SQL_RUN_GET[] = RUN_COLUMNS " WHERE id = ?";
static const char SQL_FINDINGS[] =
    "SELECT id, cls, pg_key, order_id, pg_amount, our_amount, action, note FROM recon_findings"
    " WHERE run_id = ? AND (? = 1 OR cls <> 'match') ORDER BY seq";

const char *const reconcile_class_names[RECON_CLASS__MAX] = {
	"match",            /* RECON_MATCH */
	"amount_mismatch",  /* RECON_AMOUNT_MISMATCH */
	"missing_here",     /* RECON_MISSING_HERE */
	"missing_pg",       /* RECON_MISSING_PG */
	"duplicate",        /* RECON_DUPLICATE */
};

static const struct db_field run_fields[] = {
	DB_FIELD(struct recon_run, id, DB_F_I64, "id"),
	DB_FIELD(struct recon_run, pg, DB_F_STR, "pg"),
	DB_FIELD(struct recon_run, source, DB_F_STR, "source"),
	DB_FIELD(struct recon_run, status, DB_F_STR, "status"),
	DB_FIELD(struct recon_run, dry_run, DB_F_BOOL, "dry_run"),
	DB_FIELD(struct recon_run, fencing_token, DB_F_I64, "fencing_token"),
	DB_FIELD(struct recon_run, rows, DB_F_I64, "rows_read"),
	DB_FIELD(struct recon_run, counts[RECON_MATCH], DB_F_I64, "n_match"),
	DB_FIELD(struct recon_run, counts[RECON_AMOUNT_MISMATCH], DB_F_I64, "n_amount_mismatch"),
	DB_FIELD(struct recon_run, counts[RECON_MISSING_HERE], DB_F_I64, "n_missing_here"),
	DB_FIELD(struct recon_run, counts[RECON_MISSING_PG], DB_F_I64, "n_missing_pg"),
	DB_FIELD(struct recon_run, counts[RECON_DUPLICATE], DB_F_I64, "n_duplicate"),
	DB_FIELD(struct recon_run, repaired, DB_F_I64, "repaired"),
	DB_FIELD(struct recon_run, started_at, DB_F_STR, "started_at"),
	DB_FIELD(struct recon_run, finished_at, DB_F_STR, "finished_at"),
	DB_FIELD(struct recon_run, period, DB_F_STR, "period"),
	DB_FIELD(struct recon_run, note, DB_F_STR, "note"),
	DB_FIELDS_END,
};

static const struct db_field finding_fields[] = {
	DB_FIELD(struct recon_finding, id, DB_F_I64, "id"),
	DB_ENUM(struct recon_finding, cls, "cls", reconcile_class_names, RECON_CLASS__MAX),
	DB_FIELD(struct recon_finding, pg_key, DB_F_STR, "pg_key"),
	DB_FIELD(struct recon_finding, order_id, DB_F_STR, "order_id"),
	DB_FIELD(struct recon_finding, pg_amount, DB_F_I64, "pg_amount"),
	DB_FIELD(struct recon_finding, our_amount, DB_F_I64, "our_amount"),
	DB_FIELD(struct recon_finding, action, DB_F_STR, "action"),
	DB_FIELD(struct recon_finding, note, DB_F_STR, "note"),
	DB_FIELDS_END,
};

const char *
reconcile_class_name(enum recon_class c)
{
	return (unsigned)c < RECON_CLASS__MAX ? reconcile_class_names[c] : "?";
}

int64_t
reconcile_runs(struct db *db, struct arena *a, size_t limit, struct recon_run **out)
{
	struct db_res res;
	int64_t n;

	*out = NULL;
	n = db_query(db, a, &res, SQL_RUNS, "i", (int64_t)limit);
	if (n <= 0)
		return n;
	return db_res_map_rows(&res, a, run_fields, sizeof(**out), (void **)out);
}

int
reconcile_run_get(struct db *db, struct arena *a, int64_t id, struct recon_run *out)
{
	struct db_res res;
	int64_t n;

	memset(out, 0, sizeof(*out));
	n = db_query(db, a, &res, SQL_RUN_GET, "i", id);
	if (n <= 0)
		return (int)n;
	return db_res_map(&res, 0, run_fields, out) == 0 ? 1 : DB_ERR;
}

int64_t
reconcile_findings(struct db *db, struct arena *a, int64_t run_id, bool with_matches,
    struct recon_finding **out)
{
	struct db_res res;
	int64_t n;

	*out = NULL;
	n = db_query(db, a, &res, SQL_FINDINGS, "ii", run_id, (int64_t)with_matches);
	if (n <= 0)
		return n;
	return db_res_map_rows(&res, a, finding_fields, sizeof(**out), (void **)out);
}
