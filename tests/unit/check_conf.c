/* check_conf: the config table, the parser's errors, environment overrides, etc/jangteo.conf. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/conf.h"
#include "shop/paychecks.h"
#include "suites.h"

#ifndef JT_SRCDIR
#define JT_SRCDIR "."
#endif
#ifndef JT_DATADIR
#define JT_DATADIR "/usr/local/share/jangteo"
#endif

static const char *const expected_names[CONF__MAX] = {
	"fcgi.socket", "fcgi.prefork", "fcgi.max_body", "fcgi.json_max_depth",
	"fcgi.test_routes", "site.base_url", "site.secure_cookies", "templates.dir",
	"static.dir",
	"log.level", "log.file", "metrics.file", "db.host", "db.port", "db.socket", "db.user",
	"db.password", "db.name", "db.connect_timeout", "db.rw_timeout", "db.tx_retries",
	"redis.host", "redis.port", "redis.socket", "redis.password", "redis.timeout_ms",
	"bus.in", "bus.out_demo", "bus.hwm", "outbox.claim_seconds", "outbox.max_attempts",
	"outbox.linger_ms",
	"janitor.interval_ms", "janitor.grace_ms", "http.connect_timeout_ms",
	"http.total_timeout_ms", "http.max_response",
	"session.ttl_seconds",
	"session.cookie",
	"auth.window_seconds",
	"auth.max_per_account",
	"auth.max_per_address",
	"signup.code_ttl_seconds",
	"signup.code_max_attempts",
	"smtp.url",
	"smtp.from",
	"smtp.user",
	"smtp.password",
	"oauth.naver_client_id",
	"oauth.naver_client_secret",
	"oauth.naver_authorize_url",
	"oauth.naver_token_url",
	"oauth.naver_profile_url",
	"oauth.kakao_client_id",
	"oauth.kakao_client_secret",
	"oauth.kakao_authorize_url",
	"oauth.kakao_token_url",
	"oauth.kakao_profile_url",
	"catalog.page_size",
	"catalog.cache_seconds",
	"catalog.popular_seconds",
	"points.charge_min",
	"points.charge_max",
	"points.idempotency_seconds",
	"bus.out_payment",
	"bus.out_settle",
	"bus.out_notify",
	"cart.max_lines",
	"cart.max_quantity",
	"cart.ttl_seconds",
	"orders.max_lines",
	"orders.expire_seconds",
	"orders.page_size",
	"pg.toss_api_url",
	"pg.toss_checkout_url",
	"pg.toss_client_key",
	"pg.toss_secret_key",
	"pg.kakaopay_api_url",
	"pg.kakaopay_cid",
	"pg.kakaopay_secret_key",
	"breaker.window",
	"breaker.min_calls",
	"breaker.failure_rate",
	"breaker.slow_call_ms",
	"breaker.slow_rate",
	"breaker.open_seconds",
	"breaker.half_open_calls",
	"naver.shop_url",
	"naver.client_id",
	"naver.client_secret",
	"naver.timeout_ms",
	"naver.cache_seconds",
	"payments.check_base_seconds",
	"payments.check_max",
	"payments.confirming_stale_seconds",
	"payments.unknown_margin_seconds",
	"refunds.shopper_days",
	"settle.commission_bp",
	"reconcile.repair_approved",
	"alimtalk.url",
	"alimtalk.appkey",
	"alimtalk.secret_key",
	"alimtalk.sender_key",
	"alimtalk.template_paid",
	"alimtalk.template_refunded", "alimtalk.template_shipped",
	"alimtalk.template_delivered",
	"alimtalk.resend_send_no",
	"alimtalk.timeout_ms",
	"alimtalk.mail_after_attempts",
	"db.sync_wait", "redis.sentinels", "redis.master_name", "bus.curve_server_public",
	"bus.curve_server_secret", "bus.curve_secret", "bus.curve_allow", "bus.heartbeat_ms",
	"fcgi.allowed_addrs", "db.failback_seconds",
	"shop.name", "shop.company", "shop.ceo", "shop.business_no", "shop.mail_order_no",
	"shop.address", "shop.cs_phone", "shop.cs_email", "shop.cs_hours",
	"shipping.fee", "shipping.free_over", "shipping.return_days", "pg.kakaopay_window_origin",
};

/* JANGTEO_<KEY> for key k into buf. */
static void
env_name(enum conf_key k, char *buf, size_t len)
{
	const char *name = conf_key_name(k);
	size_t i, n = (size_t)snprintf(buf, len, "JANGTEO_%s", name);

	ck_assert_uint_lt(n, len);
	for (i = strlen("JANGTEO_"); i < n; i++) {
		if (buf[i] == '.')
			buf[i] = '_';
		else if (buf[i] >= 'a' && buf[i] <= 'z')
			buf[i] = (char)(buf[i] - 'a' + 'A');
	}
}

/* Each test starts without overrides from the environment that runs the suite. */
static void
clear_env(void)
{
	char var[96];
	int k;

	for (k = 0; k < CONF__MAX; k++) {
		env_name((enum conf_key)k, var, sizeof(var));
		unsetenv(var);
	}
}

/* Parses text, expects failure with exactly the message want. */
static void
expect_error(const char *text, const char *want)
{
	char err[256];
	struct conf *c = conf_parse(text, err, sizeof(err));

	ck_assert_msg(c == NULL, "parsed, expected error: %s", want);
	ck_assert_str_eq(err, want);
}

START_TEST(test_key_names)
{
	int k;

	for (k = 0; k < CONF__MAX; k++) {
		ck_assert_str_eq(conf_key_name((enum conf_key)k), expected_names[k]);
		ck_assert_ptr_nonnull(conf_key_doc((enum conf_key)k));
		ck_assert_uint_gt(strlen(conf_key_doc((enum conf_key)k)), 10);
	}
	ck_assert_int_eq(conf_key_type(CONF_FCGI_SOCKET), CONF_T_STR);
	ck_assert_int_eq(conf_key_type(CONF_DB_PORT), CONF_T_INT);
	ck_assert_int_eq(conf_key_type(CONF_FCGI_TEST_ROUTES), CONF_T_BOOL);
	ck_assert_int_eq(conf_key_type(CONF_SITE_SECURE_COOKIES), CONF_T_BOOL);
}
END_TEST

START_TEST(test_defaults)
{
	char err[256] = "junk";
	struct conf *c = conf_parse("", err, sizeof(err));

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(conf_str(c, CONF_FCGI_SOCKET), "/run/jangteo/fcgi.sock");
	ck_assert_int_eq(conf_int(c, CONF_FCGI_PREFORK), 4);
	ck_assert_int_eq(conf_int(c, CONF_FCGI_MAX_BODY), 1048576);
	ck_assert_int_eq(conf_int(c, CONF_FCGI_JSON_MAX_DEPTH), 32);
	ck_assert(!conf_bool(c, CONF_FCGI_TEST_ROUTES));
	ck_assert_str_eq(conf_str(c, CONF_SITE_BASE_URL), "http://127.0.0.1:8080");
	ck_assert(!conf_bool(c, CONF_SITE_SECURE_COOKIES));
	ck_assert_str_eq(conf_str(c, CONF_TEMPLATES_DIR), JT_DATADIR "/templates");
	ck_assert_str_eq(conf_str(c, CONF_STATIC_DIR), JT_DATADIR "/static");
	ck_assert_str_eq(conf_str(c, CONF_LOG_LEVEL), "info");
	ck_assert_str_eq(conf_str(c, CONF_LOG_FILE), "-");
	ck_assert_str_eq(conf_str(c, CONF_METRICS_FILE), "/run/jangteo/metrics");
	ck_assert_str_eq(conf_str(c, CONF_DB_HOST), "127.0.0.1");
	ck_assert_int_eq(conf_int(c, CONF_DB_PORT), 3306);
	ck_assert_str_eq(conf_str(c, CONF_DB_SOCKET), "");
	ck_assert_str_eq(conf_str(c, CONF_DB_USER), "jangteo");
	ck_assert_str_eq(conf_str(c, CONF_DB_PASSWORD), "");
	ck_assert_str_eq(conf_str(c, CONF_DB_NAME), "jangteo");
	ck_assert_int_eq(conf_int(c, CONF_DB_CONNECT_TIMEOUT), 3);
	ck_assert_int_eq(conf_int(c, CONF_DB_RW_TIMEOUT), 10);
	ck_assert_int_eq(conf_int(c, CONF_DB_TX_RETRIES), 5);
	ck_assert_str_eq(conf_str(c, CONF_REDIS_HOST), "127.0.0.1");
	ck_assert_int_eq(conf_int(c, CONF_REDIS_PORT), 6379);
	ck_assert_str_eq(conf_str(c, CONF_REDIS_SOCKET), "");
	ck_assert_str_eq(conf_str(c, CONF_REDIS_PASSWORD), "");
	ck_assert_int_eq(conf_int(c, CONF_REDIS_TIMEOUT_MS), 500);
	ck_assert_str_eq(conf_str(c, CONF_BUS_IN), "ipc:///run/jangteo/bus-in");
	ck_assert_str_eq(conf_str(c, CONF_BUS_OUT_DEMO), "ipc:///run/jangteo/bus-demo");
	ck_assert_int_eq(conf_int(c, CONF_BUS_HWM), 10000);
	ck_assert_int_eq(conf_int(c, CONF_OUTBOX_CLAIM_SECONDS), 30);
	ck_assert_int_eq(conf_int(c, CONF_OUTBOX_MAX_ATTEMPTS), 20);
	ck_assert_int_eq(conf_int(c, CONF_JANITOR_INTERVAL_MS), 1000);
	ck_assert_int_eq(conf_int(c, CONF_JANITOR_GRACE_MS), 2000);
	ck_assert_int_eq(conf_int(c, CONF_HTTP_CONNECT_TIMEOUT_MS), 2000);
	ck_assert_int_eq(conf_int(c, CONF_HTTP_TOTAL_TIMEOUT_MS), 10000);
	ck_assert_int_eq(conf_int(c, CONF_HTTP_MAX_RESPONSE), 1048576);
	conf_free(&c);
	ck_assert_ptr_null(c);
	conf_free(&c);          /* freeing twice through the nulled pointer is harmless */

	c = conf_load(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(conf_int(c, CONF_DB_PORT), 3306);
	conf_free(&c);
}
END_TEST

START_TEST(test_syntax)
{
	char err[256];
	struct conf *c = conf_parse(
	    "# a comment\n"
	    "   # an indented comment\n"
	    "\n"
	    "  \t \n"
	    "db.host=db.example\n"
	    "  db.port   =   3307  \n"
	    "db.user\t=\tshop\r\n"
	    "db.password = \"  p#ss \"word  \"\n"
	    "site.base_url = http://example.com/#top\n"
	    "db.socket =\n"
	    "redis.socket = \"\"\n"
	    "fcgi.test_routes = YES\n"
	    "site.secure_cookies = on\n"
	    "db.tx_retries = 0\n"
	    "janitor.grace_ms = 3600000\n"
	    "log.level = warn\n"
	    "redis.host = a\"b\n"
	    "bus.in = ipc://x\"\n"
	    "db.name = 장터",          /* no final newline */
	    err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(conf_str(c, CONF_DB_HOST), "db.example");
	ck_assert_int_eq(conf_int(c, CONF_DB_PORT), 3307);
	ck_assert_str_eq(conf_str(c, CONF_DB_USER), "shop");
	ck_assert_str_eq(conf_str(c, CONF_DB_PASSWORD), "  p#ss \"word  ");
	ck_assert_str_eq(conf_str(c, CONF_SITE_BASE_URL), "http://example.com/#top");
	ck_assert_str_eq(conf_str(c, CONF_DB_SOCKET), "");
	ck_assert_str_eq(conf_str(c, CONF_REDIS_SOCKET), "");
	ck_assert(conf_bool(c, CONF_FCGI_TEST_ROUTES));
	ck_assert(conf_bool(c, CONF_SITE_SECURE_COOKIES));
	ck_assert_int_eq(conf_int(c, CONF_DB_TX_RETRIES), 0);
	ck_assert_int_eq(conf_int(c, CONF_JANITOR_GRACE_MS), 3600000);
	ck_assert_str_eq(conf_str(c, CONF_LOG_LEVEL), "warn");
	ck_assert_str_eq(conf_str(c, CONF_DB_NAME), "장터");
	/* Quotes only count when they open the value and close it. */
	ck_assert_str_eq(conf_str(c, CONF_REDIS_HOST), "a\"b");
	ck_assert_str_eq(conf_str(c, CONF_BUS_IN), "ipc://x\"");
	/* Keys not in the text keep their defaults. */
	ck_assert_int_eq(conf_int(c, CONF_FCGI_PREFORK), 4);
	conf_free(&c);
}
END_TEST

START_TEST(test_bools)
{
	static const struct {
		const char *text;
		bool want;
	} cases[] = {
		{ "fcgi.test_routes = true", true }, { "fcgi.test_routes = false", false },
		{ "fcgi.test_routes = yes", true }, { "fcgi.test_routes = no", false },
		{ "fcgi.test_routes = on", true }, { "fcgi.test_routes = off", false },
		{ "fcgi.test_routes = 1", true }, { "fcgi.test_routes = 0", false },
		{ "fcgi.test_routes = True", true }, { "fcgi.test_routes = OFF", false },
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c = conf_parse(cases[i].text, err, sizeof(err));

		ck_assert_msg(c != NULL, "%s: %s", cases[i].text, err);
		ck_assert_msg(conf_bool(c, CONF_FCGI_TEST_ROUTES) == cases[i].want, "%s",
		    cases[i].text);
		conf_free(&c);
	}
	expect_error("fcgi.test_routes = tru",
	    "<string>:1: fcgi.test_routes: not a boolean (true/false, yes/no, on/off, 1/0)");
	expect_error("fcgi.test_routes = 2",
	    "<string>:1: fcgi.test_routes: not a boolean (true/false, yes/no, on/off, 1/0)");
	expect_error("fcgi.test_routes =",
	    "<string>:1: fcgi.test_routes: not a boolean (true/false, yes/no, on/off, 1/0)");
	expect_error("fcgi.test_routes = truex",
	    "<string>:1: fcgi.test_routes: not a boolean (true/false, yes/no, on/off, 1/0)");
}
END_TEST

START_TEST(test_ints)
{
	char err[256];
	struct conf *c;

	c = conf_parse("fcgi.prefork = 1\ndb.port = 65535\nfcgi.max_body = 0067108864\n",
	    err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(conf_int(c, CONF_FCGI_PREFORK), 1);
	ck_assert_int_eq(conf_int(c, CONF_DB_PORT), 65535);
	ck_assert_int_eq(conf_int(c, CONF_FCGI_MAX_BODY), 67108864);
	conf_free(&c);

	expect_error("fcgi.prefork = 0", "<string>:1: fcgi.prefork: out of range (1..256)");
	expect_error("fcgi.prefork = 257", "<string>:1: fcgi.prefork: out of range (1..256)");
	expect_error("fcgi.prefork = -1", "<string>:1: fcgi.prefork: out of range (1..256)");
	expect_error("db.port = 65536", "<string>:1: db.port: out of range (1..65535)");
	expect_error("db.tx_retries = -0\ndb.port = 99999999999999999999999",
	    "<string>:2: db.port: out of range (1..65535)");
	expect_error("db.port = 9223372036854775808",
	    "<string>:1: db.port: out of range (1..65535)");
	expect_error("db.port = 12a", "<string>:1: db.port: not a decimal integer");
	expect_error("db.port = +12", "<string>:1: db.port: not a decimal integer");
	expect_error("db.port = 0x10", "<string>:1: db.port: not a decimal integer");
	expect_error("db.port = 1 2", "<string>:1: db.port: not a decimal integer");
	expect_error("db.port = 3306.0", "<string>:1: db.port: not a decimal integer");
	expect_error("db.port = -", "<string>:1: db.port: not a decimal integer");
	expect_error("db.port =", "<string>:1: db.port: not a decimal integer");
	expect_error("db.port = \"3306\"x", "<string>:1: db.port: unterminated quoted value");
	expect_error("db.port = \" 3306\"", "<string>:1: db.port: not a decimal integer");
}
END_TEST

START_TEST(test_errors)
{
	char line[5000], text[5200];

	expect_error("db.host = a\nfoo.bar = 1", "<string>:2: unknown key 'foo.bar'");
	expect_error("DB.HOST = a", "<string>:1: unknown key 'DB.HOST'");
	expect_error("db.host.x = a", "<string>:1: unknown key 'db.host.x'");
	/* A hostile key is not echoed. */
	expect_error("db\x1b[2Jhost = a", "<string>:1: unknown key");
	expect_error("\n\ndb.host = a\n# x\ndb.host = b\n",
	    "<string>:5: duplicate key db.host (first set on line 3)");
	expect_error("db.host a", "<string>:1: expected \"key = value\"");
	expect_error("db.host\n", "<string>:1: expected \"key = value\"");
	expect_error(" = a", "<string>:1: missing key before '='");
	expect_error("db.user = \"abc", "<string>:1: db.user: unterminated quoted value");
	expect_error("db.user = \"", "<string>:1: db.user: unterminated quoted value");
	expect_error("db.user = \"a\"b", "<string>:1: db.user: unterminated quoted value");
	expect_error("db.user =", "<string>:1: db.user: must not be empty");
	expect_error("db.user = \"\"", "<string>:1: db.user: must not be empty");
	expect_error("db.user = a\x01" "b", "<string>:1: db.user: control character in value");
	expect_error("db.user = a\x7f" "b", "<string>:1: db.user: control character in value");
	expect_error("db.user = \"a\tb\"", "<string>:1: db.user: control character in value");
	expect_error("db.user = a\rb", "<string>:1: db.user: control character in value");
	expect_error("db.user = a\xff", "<string>:1: db.user: invalid UTF-8 in value");
	expect_error("db.user = \xc0\xaf", "<string>:1: db.user: invalid UTF-8 in value");
	expect_error("db.user = \xed\xa0\x80", "<string>:1: db.user: invalid UTF-8 in value");
	expect_error("db.user = \xea\xb0", "<string>:1: db.user: invalid UTF-8 in value");
	expect_error("log.level = verbose",
	    "<string>:1: log.level: must be one of debug|info|warn|error");
	expect_error("log.level = INFO",
	    "<string>:1: log.level: must be one of debug|info|warn|error");

	/* String length: at the cap is fine, one byte over is an error. */
	memset(line, 'a', 128);
	snprintf(text, sizeof(text), "db.user = %.128s", line);
	{
		char err[256];
		struct conf *c = conf_parse(text, err, sizeof(err));

		ck_assert_msg(c != NULL, "%s", err);
		ck_assert_uint_eq(strlen(conf_str(c, CONF_DB_USER)), 128);
		conf_free(&c);
	}
	snprintf(text, sizeof(text), "db.user = %.128sb", line);
	expect_error(text, "<string>:1: db.user: too long (at most 128 bytes)");
	memset(line, 'a', 1025);
	snprintf(text, sizeof(text), "site.base_url = %.1025s", line);
	expect_error(text, "<string>:1: site.base_url: too long (at most 1024 bytes)");

	/* Line length: 4096 bytes is fine (a comment), 4097 is not, even in a comment. */
	memset(line, 'x', sizeof(line));
	line[0] = '#';
	snprintf(text, sizeof(text), "%.4096s\n", line);
	{
		char err[256];
		struct conf *c = conf_parse(text, err, sizeof(err));

		ck_assert_msg(c != NULL, "%s", err);
		conf_free(&c);
	}
	snprintf(text, sizeof(text), "db.host = a\n%.4097s\n", line);
	expect_error(text, "<string>:2: line longer than 4096 bytes");
}
END_TEST

START_TEST(test_secret_not_leaked)
{
	static const char *const texts[] = {
		"db.password = sekr\x01tvalue",
		"db.password = sekr\xfftvalue",
		"db.password = \"sekretvalue",
		"redis.password = sekr\x1btvalue",
	};
	char big[1100], text[1200], err[512];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ck_assert_ptr_null(conf_parse(texts[i], err, sizeof(err)));
		ck_assert_msg(strstr(err, "sekr") == NULL, "leaked: %s", err);
	}
	memset(big, 'S', sizeof(big));
	snprintf(text, sizeof(text), "db.password = %.1025s", big);
	ck_assert_ptr_null(conf_parse(text, err, sizeof(err)));
	ck_assert_str_eq(err, "<string>:1: db.password: too long (at most 1024 bytes)");

	setenv("JANGTEO_DB_PASSWORD", "sekr\ntvalue", 1);
	ck_assert_ptr_null(conf_parse("", err, sizeof(err)));
	ck_assert_str_eq(err, "environment JANGTEO_DB_PASSWORD: control character in value");
	unsetenv("JANGTEO_DB_PASSWORD");
}
END_TEST

START_TEST(test_env_override)
{
	char err[256];
	struct conf *c;

	setenv("JANGTEO_DB_PORT", "3307", 1);
	setenv("JANGTEO_DB_PASSWORD", "s3cret pass", 1);
	setenv("JANGTEO_FCGI_TEST_ROUTES", "yes", 1);
	setenv("JANGTEO_HTTP_MAX_RESPONSE", "2048", 1);
	setenv("JANGTEO_DB_SOCKET", "", 1);
	c = conf_parse("db.port = 3308\ndb.socket = /tmp/x.sock\n", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(conf_int(c, CONF_DB_PORT), 3307);        /* env beats the file */
	ck_assert_str_eq(conf_str(c, CONF_DB_PASSWORD), "s3cret pass");
	ck_assert(conf_bool(c, CONF_FCGI_TEST_ROUTES));
	ck_assert_int_eq(conf_int(c, CONF_HTTP_MAX_RESPONSE), 2048);
	ck_assert_str_eq(conf_str(c, CONF_DB_SOCKET), "");        /* set and empty counts */
	conf_free(&c);

	c = conf_load(NULL, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(conf_int(c, CONF_DB_PORT), 3307);
	conf_free(&c);

	setenv("JANGTEO_DB_PORT", "0", 1);
	ck_assert_ptr_null(conf_parse("", err, sizeof(err)));
	ck_assert_str_eq(err, "environment JANGTEO_DB_PORT: out of range (1..65535)");
	setenv("JANGTEO_DB_PORT", " 3306", 1);          /* the environment is not trimmed */
	ck_assert_ptr_null(conf_parse("", err, sizeof(err)));
	ck_assert_str_eq(err, "environment JANGTEO_DB_PORT: not a decimal integer");
	unsetenv("JANGTEO_DB_PORT");
	setenv("JANGTEO_LOG_LEVEL", "loud", 1);
	ck_assert_ptr_null(conf_parse("", err, sizeof(err)));
	ck_assert_str_eq(err,
	    "environment JANGTEO_LOG_LEVEL: must be one of debug|info|warn|error");
	clear_env();
}
END_TEST

START_TEST(test_small_err_buffer)
{
	char err[8];

	memset(err, 'Z', sizeof(err));
	ck_assert_ptr_null(conf_parse("nope = 1", err, sizeof(err)));
	ck_assert_str_eq(err, "<string");
	ck_assert_ptr_null(conf_parse("nope = 1", NULL, 0));
}
END_TEST

START_TEST(test_load_file)
{
	char path[] = "/tmp/check_conf_XXXXXX", err[512], want[600];
	static const char body[] = "db.host = h\n\ndb.port = x\n";
	struct conf *c;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, body, sizeof(body) - 1), (ssize_t)(sizeof(body) - 1));
	close(fd);
	ck_assert_ptr_null(conf_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:3: db.port: not a decimal integer", path);
	ck_assert_str_eq(err, want);

	/* A NUL byte read from a file is a control character, not the end of the value. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "db.user = a\0b\n", 14), 14);
	close(fd);
	ck_assert_ptr_null(conf_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:1: db.user: control character in value", path);
	ck_assert_str_eq(err, want);

	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "db.user = shop\n", 15), 15);
	close(fd);
	c = conf_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(conf_str(c, CONF_DB_USER), "shop");
	conf_free(&c);
	unlink(path);

	ck_assert_ptr_null(conf_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(conf_load("/tmp", err, sizeof(err)));
	ck_assert_str_eq(err, "/tmp: cannot read: Is a directory");
}
END_TEST

/* Every key of the table is documented in etc/jangteo.conf, and the file loads. */
START_TEST(test_sample_config)
{
	const char *path = JT_SRCDIR "/etc/jangteo.conf";
	char line[4200], err[512];
	bool seen[CONF__MAX] = { false };
	struct conf *c;
	FILE *f = fopen(path, "r");
	int k;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line;

		if (strncmp(p, "# ", 2) == 0)
			p += 2;
		for (k = 0; k < CONF__MAX; k++) {
			const char *name = conf_key_name((enum conf_key)k);
			size_t n = strlen(name);

			if (strncmp(p, name, n) == 0 && strncmp(p + n, " =", 2) == 0)
				seen[k] = true;
		}
	}
	fclose(f);
	for (k = 0; k < CONF__MAX; k++)
		ck_assert_msg(seen[k], "%s is missing from %s", conf_key_name((enum conf_key)k),
		    path);

	c = conf_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(conf_str(c, CONF_LOG_LEVEL), "info");
	ck_assert(!conf_bool(c, CONF_FCGI_TEST_ROUTES));
	conf_free(&c);
}
END_TEST

START_TEST(test_wrong_type_aborts_str)
{
	struct conf *c = conf_parse("", NULL, 0);

	conf_str(c, CONF_DB_PORT);
}
END_TEST

START_TEST(test_wrong_type_aborts_int)
{
	struct conf *c = conf_parse("", NULL, 0);

	conf_int(c, CONF_FCGI_TEST_ROUTES);
}
END_TEST

START_TEST(test_wrong_type_aborts_bool)
{
	struct conf *c = conf_parse("", NULL, 0);

	conf_bool(c, CONF_DB_HOST);
}
END_TEST

/* The bounded wait for unknown payments is the PG client's timeout, rounded up to whole
 * seconds, plus the margin: both from the config, nothing else. */
START_TEST(test_paychecks_quiet_seconds)
{
	char err[256];
	struct conf *c;

	c = conf_parse("", err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(paychecks_quiet_seconds(c), 10 + 60);
	conf_free(&c);
	c = conf_parse("http.total_timeout_ms = 2500\npayments.unknown_margin_seconds = 5\n", err,
	    sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(paychecks_quiet_seconds(c), 3 + 5);
	conf_free(&c);
	c = conf_parse("http.total_timeout_ms = 3000\npayments.unknown_margin_seconds = 0\n", err,
	    sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(paychecks_quiet_seconds(c), 3);
	conf_free(&c);
	ck_assert_ptr_null(conf_parse("payments.unknown_margin_seconds = 3601\n", err,
	    sizeof(err)));
	ck_assert_ptr_null(conf_parse("payments.unknown_margin_seconds = -1\n", err,
	    sizeof(err)));
}
END_TEST

Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, clear_env, NULL);
	tcase_add_test(tc, test_key_names);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_bools);
	tcase_add_test(tc, test_ints);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_secret_not_leaked);
	tcase_add_test(tc, test_env_override);
	tcase_add_test(tc, test_small_err_buffer);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_sample_config);
	tcase_add_test(tc, test_paychecks_quiet_seconds);
	tcase_add_test_raise_signal(tc, test_wrong_type_aborts_str, SIGABRT);
	tcase_add_test_raise_signal(tc, test_wrong_type_aborts_int, SIGABRT);
	tcase_add_test_raise_signal(tc, test_wrong_type_aborts_bool, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
