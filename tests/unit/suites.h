/* suites: one Check suite per module; check_main.c runs them all. */
#ifndef JT_SUITES_H
#define JT_SUITES_H

#include <check.h>

/* Pure suites: no server needed. */
Suite *arena_suite(void);
Suite *buf_suite(void);
Suite *money_suite(void);
Suite *ids_suite(void);
Suite *valid_suite(void);
Suite *jparse_suite(void);
Suite *form_suite(void);
Suite *multipart_suite(void);
Suite *esc_suite(void);
Suite *tmpl_suite(void);
Suite *assets_suite(void);    /* files in a temporary directory */
Suite *conf_suite(void);
Suite *log_suite(void);
Suite *bus_suite(void);      /* ZeroMQ over ipc:// in a temp dir: no external server */
Suite *http_suite(void);     /* against a tiny HTTP server the suite forks on loopback */
Suite *metrics_suite(void);
Suite *daemon_suite(void);
Suite *password_suite(void);
Suite *mail_suite(void);
Suite *oauth_suite(void);    /* provider answers parsed strictly (no server) */
Suite *alimtalk_suite(void); /* 알림톡 bodies built and answers classified (no server) */
Suite *text_suite(void);     /* names cleaned into one line of plain text */
Suite *accept_suite(void);   /* Accept headers: JSON for clients that ask, HTML otherwise */
Suite *labels_suite(void);
Suite *catalog_suite(void);  /* cursors, sort names, discount rate (no server) */
Suite *delivery_suite(void); /* addresses typed, the fee rule, couriers (no server) */
Suite *hostport_suite(void); /* failover lists and the Sentinel answers (no server) */
Suite *migrate_suite(void);  /* migration files split into statements (no server) */

/* Server suites: need the private MariaDB and Redis of the local stack. They read the config
 * file named by JT_TEST_CONF (set by tests/run-stack-tests.sh). */
Suite *db_suite(void);
Suite *redis_suite(void);
Suite *outbox_suite(void);
Suite *session_suite(void);
Suite *breaker_suite(void);  /* injectable clock, no sleeps */
Suite *pg_suite(void);       /* PG answers classified (no server) */
Suite *pricecmp_suite(void); /* Naver answers parsed strictly (no server) */
Suite *reconcile_suite(void); /* settlement files and API answers parsed strictly (no server) */
Suite *cart_suite(void);     /* server: Redis and MariaDB of a running stack */
Suite *ledger_suite(void);   /* server: postings, replays, limits, the books check */
Suite *breaker_published_suite(void); /* server: breaker reports in Redis read back */
Suite *order_state_suite(void); /* server: every move of the order state machine */
Suite *checkout_suite(void);  /* server: orders_create, two statements per card checkout */

/* The config file for server suites (aborts the test if JT_TEST_CONF is unset). */
const char *test_conf_path(void);

#endif
