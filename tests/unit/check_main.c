/* check_main: the one Check runner. Pure suites always run; server suites run when
 * JT_TEST_CONF names the config of a running local stack (tests/run-stack-tests.sh sets it). */
#include <stdio.h>
#include <stdlib.h>
#include "suites.h"

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

int
main(void)
{
	Suite *(*const pure[])(void) = {
		arena_suite, buf_suite, money_suite, ids_suite, valid_suite, jparse_suite,
		form_suite, esc_suite, tmpl_suite, conf_suite, log_suite, bus_suite,
		http_suite, metrics_suite, daemon_suite,
	};
	Suite *(*const server[])(void) = { db_suite, redis_suite, outbox_suite };
	const char *conf = getenv("JT_TEST_CONF");
	SRunner *sr = srunner_create(NULL);
	int failed;
	size_t i;

	if (conf != NULL && *conf != '\0') {
		/* With a stack: the server suites only (the pure ones ran in make check already). */
		for (i = 0; i < sizeof(server) / sizeof(server[0]); i++)
			srunner_add_suite(sr, server[i]());
	} else {
		for (i = 0; i < sizeof(pure) / sizeof(pure[0]); i++)
			srunner_add_suite(sr, pure[i]());
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
