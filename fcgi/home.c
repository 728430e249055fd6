/* home: the shop's front page. */
#include <json-c/json.h>

#include "app.h"
#include "req.h"
#include "resp.h"

/* GET /: the welcome page (the catalog arrives with the shoppers' work). */
int
home_index(struct req *r)
{
	struct json_object *ctx = json_object_new_object();

	json_object_object_add(ctx, "title", json_object_new_string("홈"));
	return resp_page(r, 200, "home", ctx);
}
