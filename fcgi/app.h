/* app: what one handler process holds for its whole life (opened after fork), and the
 * handlers every page family file exports to the route table. */
#ifndef JT_APP_H
#define JT_APP_H

struct assets;
struct conf;
struct db;
struct redis;
struct bus;
struct tmpl_set;
struct metrics;
struct pricewatch;
struct req;
struct social;

struct app {
	const struct conf *conf;   /* owned by main */
	struct db *db;
	struct redis *redis;
	struct bus *bus;
	struct tmpl_set *tmpl;
	struct assets *assets;     /* the URLs of the files under /static/ */
	struct metrics *metrics;   /* NULL when the metrics file could not be mapped */
	struct pricewatch *pricewatch; /* the product page's Naver lowest price */
	struct social *social;     /* social login: the providers' HTTP client */
};

/* Handlers: each answers the request itself and returns 0, or returns -1 on an internal
 * failure before answering (the dispatcher then answers 500). */

/* ops.c: operations endpoints */
int ops_healthz(struct req *r);
int ops_metrics(struct req *r);

/* catalog.c: the front page (the rest of the storefront is catalog.c's route table) */
int home_index(struct req *r);

/* delivery.c: answers a refused fulfilment move (rc: an enum fulfilment_rc other than DONE
 * and ALREADY) with its status, code and Korean message */
int delivery_refused(struct req *r, int rc);

#endif
