/* check_assets: the static files' versioned URLs: versions from content (64-bit FNV-1a), the
 * names taken and skipped, and the refusals (no file, too many, too big, no directory). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "infra/assets.h"
#include "suites.h"

static char dir[64];

static void
put(const char *name, const char *text, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, n, f), n);
	fclose(f);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/jt-check-assets.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The URL under key of a's JSON, or NULL. */
static const char *
url(const struct assets *a, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(assets_json(a), key, &v))
		return NULL;
	return json_object_get_string(v);
}

START_TEST(version_is_fnv1a_64)
{
	char v[17];

	assets_version("", 0, v);
	ck_assert_str_eq(v, "cbf29ce484222325");
	assets_version("a", 1, v);
	ck_assert_str_eq(v, "af63dc4c8601ec8c");
	assets_version("foobar", 6, v);
	ck_assert_str_eq(v, "85944171f73967e8");
}
END_TEST

START_TEST(urls_carry_the_content_version)
{
	char err[256], sub[128], v[17];
	struct assets *a;

	put("order-status.js", "a", 1);
	put("site.css", "foobar", 6);
	put(".hidden.js", "x", 1);
	put("Upper.js", "x", 1);
	snprintf(sub, sizeof(sub), "%s/sub.js", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	a = assets_load(dir, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_str_eq(url(a, "order_status_js"), "/static/order-status.js?v=af63dc4c8601ec8c");
	ck_assert_str_eq(url(a, "site_css"), "/static/site.css?v=85944171f73967e8");
	ck_assert_int_eq(json_object_object_length(assets_json(a)), 2);
	assets_free(&a);
	ck_assert_ptr_null(a);
	assets_free(&a);

	/* A changed file gets another URL. */
	put("order-status.js", "ab", 2);
	assets_version("ab", 2, v);
	a = assets_load(dir, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(strstr(url(a, "order_status_js"), v));
	ck_assert_str_ne(v, "af63dc4c8601ec8c");
	assets_free(&a);
}
END_TEST

START_TEST(refusals)
{
	char err[256], name[128], *big;
	struct assets *a;
	int i;

	a = assets_load("/nonexistent/jt-static", err, sizeof(err));
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/jt-static: "));

	a = assets_load(dir, err, sizeof(err));
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(err, "no static file"));

	big = calloc(1, ASSETS_FILE_MAX + 1);
	ck_assert_ptr_nonnull(big);
	put("big.js", big, ASSETS_FILE_MAX + 1);
	free(big);
	a = assets_load(dir, err, sizeof(err));
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(err, "big.js: larger than"));
	snprintf(name, sizeof(name), "%s/big.js", dir);
	ck_assert_int_eq(unlink(name), 0);

	for (i = 0; i <= ASSETS_MAX; i++) {
		snprintf(name, sizeof(name), "f%d.js", i);
		put(name, "x", 1);
	}
	a = assets_load(dir, err, sizeof(err));
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
}
END_TEST

Suite *
assets_suite(void)
{
	Suite *s = suite_create("assets");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, version_is_fnv1a_64);
	tcase_add_test(tc, urls_carry_the_content_version);
	tcase_add_test(tc, refusals);
	suite_add_tcase(s, tc);
	return s;
}
