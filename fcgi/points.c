/* points: the points pages and API (being written). */
#include "app.h"
#include "req.h"
#include "route.h"

const struct route points_routes[] = {
	{ 0, NULL, NULL, 0, NULL },
};
