/* catalog: the catalog pages and API (being written). */
#include "app.h"
#include "req.h"
#include "route.h"

const struct route catalog_routes[] = {
	{ 0, NULL, NULL, 0, NULL },
};
