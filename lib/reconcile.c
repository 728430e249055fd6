/* reconcile: placeholder until its author lands it; every function fails. */
#include <stddef.h>
#include "db.h"
#include "reconcile.h"

const char *
reconcile_class_name(enum recon_class c)
{
	return "?";
}

int64_t
reconcile_runs(struct db *db, struct arena *a, size_t limit, struct recon_run **out)
{
	return DB_ERR;
}

int
reconcile_run_get(struct db *db, struct arena *a, int64_t id, struct recon_run *out)
{
	return DB_ERR;
}

int64_t
reconcile_findings(struct db *db, struct arena *a, int64_t run_id, bool with_matches, struct recon_finding **out)
{
	return DB_ERR;
}
