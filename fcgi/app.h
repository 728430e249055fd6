/* app: what one handler process holds for its whole life (opened after fork), and the
 * handlers every page family file exports to the route table. */
#ifndef JT_APP_H
#define JT_APP_H

struct conf;
struct db;
struct redis;
struct bus;
struct tmpl_set;
struct metrics;
struct req;

struct app {
	const struct conf *conf;   /* owned by main */
	struct db *db;
	struct redis *redis;
	struct bus *bus;
	struct tmpl_set *tmpl;
	struct metrics *metrics;   /* NULL when the metrics file could not be mapped */
};

/* Handlers: each answers the request itself and returns 0, or returns -1 on an internal
 * failure before answering (the dispatcher then answers 500). */

/* ops.c: operations endpoints */
int ops_healthz(struct req *r);
int ops_metrics(struct req *r);

/* catalog.c: the front page (the rest of the storefront is catalog.c's route table) */
int home_index(struct req *r);

/* testing.c: routes that exist only with fcgi.test_routes = true */
int testing_fail(struct req *r);
int testing_echo(struct req *r);
int testing_whoami(struct req *r);
int testing_job_create(struct req *r);
int testing_job_get(struct req *r);
int testing_commit(struct req *r);

#endif
