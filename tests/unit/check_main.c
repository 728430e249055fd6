/* check_main: the one Check runner. Pure suites always run; server suites run when
 * JT_TEST_CONF names the config of a running local stack (tests/run-stack-tests.sh sets it).
 * JT_SUITES=a,b runs only the named suites (CK_RUN_SUITE takes just one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "suites.h"

struct suite_entry {
	const char *name;
	Suite *(*make)(void);
};

static const struct suite_entry pure[] = {
	{ "arena", arena_suite }, { "buf", buf_suite }, { "money", money_suite },
	{ "ids", ids_suite }, { "valid", valid_suite }, { "jparse", jparse_suite },
	{ "form", form_suite }, { "multipart", multipart_suite }, { "esc", esc_suite }, { "tmpl", tmpl_suite }, { "assets", assets_suite },
	{ "conf", conf_suite }, { "log", log_suite }, { "bus", bus_suite },
	{ "http", http_suite }, { "metrics", metrics_suite }, { "daemon", daemon_suite },
	{ "oauth", oauth_suite }, { "password", password_suite }, { "mail", mail_suite },
	{ "breaker", breaker_suite }, { "pg", pg_suite }, { "pricecmp", pricecmp_suite },
	{ "reconcile", reconcile_suite }, { "accept", accept_suite },
	{ "alimtalk", alimtalk_suite }, { "text", text_suite },
	{ "labels", labels_suite }, { "catalog", catalog_suite }, { "delivery", delivery_suite },
	{ "hostport", hostport_suite }, { "migrate", migrate_suite },
};

static const struct suite_entry server[] = {
	{ "db", db_suite }, { "redis", redis_suite }, { "outbox", outbox_suite },
	{ "session", session_suite }, { "cart", cart_suite },
	{ "ledger", ledger_suite }, { "breaker_published", breaker_published_suite },
	{ "order_state", order_state_suite }, { "checkout", checkout_suite },
};

const char *
test_conf_path(void)
{
	const char *p = getenv("JT_TEST_CONF");

	if (p == NULL || *p == '\0') {
		fprintf(stderr, "JT_TEST_CONF is not set\n");
		abort();
	}
	return p;
}

/* True when JT_SUITES is unset, or names this suite in its comma-separated list. */
static int
wanted(const char *name)
{
	const char *list = getenv("JT_SUITES"), *p;
	size_t n = strlen(name);

	if (list == NULL || *list == '\0')
		return 1;
	for (p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

static void
add_suites(SRunner *sr, const struct suite_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (wanted(e[i].name))
			srunner_add_suite(sr, e[i].make());
}

int
main(void)
{
	const char *conf = getenv("JT_TEST_CONF");
	SRunner *sr = srunner_create(NULL);
	int failed;

	if (conf != NULL && *conf != '\0')
		add_suites(sr, server, sizeof(server) / sizeof(server[0]));
	else
		add_suites(sr, pure, sizeof(pure) / sizeof(pure[0]));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
