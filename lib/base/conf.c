/* conf: the configuration table, the "key = value" parser and the JANGTEO_* overrides. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/conf.h"
#include "base/valid.h"

#ifndef JT_DATADIR
#define JT_DATADIR "/usr/local/share/jangteo"
#endif

#define CONF_LINE_MAX 4096            /* bytes per line, without the newline */
#define CONF_FILE_MAX (1024 * 1024)   /* a config file is small; refuse anything bigger */
#define CONF_STR_MAX 1024             /* default cap on a string value, bytes */
#define CONF_ENV_PREFIX "JANGTEO_"

/* One key: how it is typed, bounded and documented. For CONF_T_INT min/max bound the
 * value; for CONF_T_STR they bound the length in bytes. choices, when set, is the
 * '|'-separated list of the only values a string may take. */
struct conf_def {
	const char *name;
	enum conf_type type;
	const char *def;
	int64_t min;
	int64_t max;
	bool secret;
	const char *choices;
	const char *doc;
};

#define STR(n, d, lo, hi, doc) { n, CONF_T_STR, d, lo, hi, false, NULL, doc }
#define SECRET(n, d, hi, doc)  { n, CONF_T_STR, d, 0, hi, true, NULL, doc }
#define INT(n, d, lo, hi, doc) { n, CONF_T_INT, d, lo, hi, false, NULL, doc }
#define BOOL(n, d, doc)        { n, CONF_T_BOOL, d, 0, 1, false, NULL, doc }

static const struct conf_def conf_defs[CONF__MAX] = {
	STR("fcgi.socket", "/run/jangteo/fcgi.sock", 1, 107,
	    "FastCGI listen socket: a unix socket path or host:port"), /* CONF_FCGI_SOCKET */
	INT("fcgi.prefork", "4", 1, 256,
	    "handler processes started in --prefork mode"), /* CONF_FCGI_PREFORK */
	INT("fcgi.max_body", "1048576", 1024, 67108864,
	    "largest request body accepted, in bytes"), /* CONF_FCGI_MAX_BODY */
	INT("fcgi.json_max_depth", "32", 1, 256,
	    "deepest JSON nesting accepted in a request body"), /* CONF_FCGI_JSON_MAX_DEPTH */
	BOOL("fcgi.test_routes", "false",
	    "enable routes that exist only for the test suite; never in production"),
	    /* CONF_FCGI_TEST_ROUTES */
	STR("site.base_url", "http://127.0.0.1:8080", 1, CONF_STR_MAX,
	    "public URL of the shop, without a trailing slash"), /* CONF_SITE_BASE_URL */
	BOOL("site.secure_cookies", "false",
	    "mark cookies Secure; turn on when the site is served over https"),
	    /* CONF_SITE_SECURE_COOKIES */
	STR("templates.dir", JT_DATADIR "/templates", 1, CONF_STR_MAX,
	    "directory holding the *.html templates"), /* CONF_TEMPLATES_DIR */
	STR("static.dir", JT_DATADIR "/static", 1, CONF_STR_MAX,
	    "directory of the static files the web server serves under /static/"),
	    /* CONF_STATIC_DIR */
	{ "log.level", CONF_T_STR, "info", 1, 5, false, "debug|info|warn|error",
	  "lowest level written: debug, info, warn or error" }, /* CONF_LOG_LEVEL */
	STR("log.file", "-", 1, CONF_STR_MAX,
	    "log file opened for append, or - for standard error"), /* CONF_LOG_FILE */
	STR("metrics.file", "/run/jangteo/metrics", 1, CONF_STR_MAX,
	    "shared-memory file holding the counters of all processes"), /* CONF_METRICS_FILE */
	STR("db.host", "127.0.0.1", 1, 255,
	    "MariaDB host name or address, or a comma-separated list tried in order (Galera); "
	    "ignored when db.socket is set"), /* CONF_DB_HOST */
	INT("db.port", "3306", 1, 65535,
	    "MariaDB TCP port (ignored when db.socket is set)"), /* CONF_DB_PORT */
	STR("db.socket", "", 0, 107,
	    "MariaDB unix socket path; empty means connect to db.host:db.port"),
	    /* CONF_DB_SOCKET */
	STR("db.user", "jangteo", 1, 128,
	    "MariaDB user name"), /* CONF_DB_USER */
	SECRET("db.password", "", 1024,
	    "MariaDB password; prefer the JANGTEO_DB_PASSWORD environment variable"),
	    /* CONF_DB_PASSWORD */
	STR("db.name", "jangteo", 1, 64,
	    "MariaDB database name"), /* CONF_DB_NAME */
	INT("db.connect_timeout", "3", 1, 60,
	    "MariaDB connect timeout, in seconds"), /* CONF_DB_CONNECT_TIMEOUT */
	INT("db.rw_timeout", "10", 1, 600,
	    "MariaDB read and write timeout, in seconds"), /* CONF_DB_RW_TIMEOUT */
	INT("db.tx_retries", "5", 0, 50,
	    "reruns of a transaction after a deadlock or lock wait timeout"),
	    /* CONF_DB_TX_RETRIES */
	STR("redis.host", "127.0.0.1", 1, 255,
	    "Redis host name or address (ignored when redis.socket is set)"),
	    /* CONF_REDIS_HOST */
	INT("redis.port", "6379", 1, 65535,
	    "Redis TCP port (ignored when redis.socket is set)"), /* CONF_REDIS_PORT */
	STR("redis.socket", "", 0, 107,
	    "Redis unix socket path; empty means connect to redis.host:redis.port"),
	    /* CONF_REDIS_SOCKET */
	SECRET("redis.password", "", 1024,
	    "Redis AUTH password, empty for none; prefer JANGTEO_REDIS_PASSWORD"),
	    /* CONF_REDIS_PASSWORD */
	INT("redis.timeout_ms", "500", 10, 60000,
	    "Redis connect and command timeout, in milliseconds"), /* CONF_REDIS_TIMEOUT_MS */
	STR("bus.in", "ipc:///run/jangteo/bus-in", 1, CONF_STR_MAX,
	    "ZeroMQ endpoint producers PUSH jobs to, or a comma-separated list (producers connect "
	    "to each); the bus binds the first"), /* CONF_BUS_IN */
	STR("bus.out_demo", "ipc:///run/jangteo/bus-demo", 1, CONF_STR_MAX,
	    "ZeroMQ endpoint demo workers PULL jobs from; the bus binds it"),
	    /* CONF_BUS_OUT_DEMO */
	INT("bus.hwm", "10000", 1, 1000000,
	    "ZeroMQ send and receive high-water mark, in messages"), /* CONF_BUS_HWM */
	INT("outbox.claim_seconds", "30", 1, 3600,
	    "how long a worker's claim on an outbox job lasts, in seconds"),
	    /* CONF_OUTBOX_CLAIM_SECONDS */
	INT("outbox.max_attempts", "20", 1, 1000,
	    "claims of an outbox job before it is marked dead"), /* CONF_OUTBOX_MAX_ATTEMPTS */
	INT("outbox.linger_ms", "50", 0, 1000,
	    "while jobs of a kind keep coming, a worker claims them at most this often, in"
	    " milliseconds, so each claim takes a batch; 0 claims at every wake-up"),
	    /* CONF_OUTBOX_LINGER_MS */
	INT("janitor.interval_ms", "1000", 50, 600000,
	    "pause between janitor sweeps, in milliseconds"), /* CONF_JANITOR_INTERVAL_MS */
	INT("janitor.grace_ms", "2000", 0, 3600000,
	    "unused since workers claim due jobs themselves (kept so older files load)"),
	    /* CONF_JANITOR_GRACE_MS */
	INT("http.connect_timeout_ms", "2000", 10, 60000,
	    "outgoing HTTP connect timeout, in milliseconds"), /* CONF_HTTP_CONNECT_TIMEOUT_MS */
	INT("http.total_timeout_ms", "10000", 10, 600000,
	    "outgoing HTTP whole-request timeout, in milliseconds"),
	    /* CONF_HTTP_TOTAL_TIMEOUT_MS */
	INT("http.max_response", "1048576", 1024, 67108864,
	    "largest outgoing HTTP response body accepted, in bytes"),
	    /* CONF_HTTP_MAX_RESPONSE */
	INT("session.ttl_seconds", "604800", 300, 31536000,
	    "idle time after which a session expires (sliding), in seconds"), /* CONF_SESSION_TTL_SECONDS */
	STR("session.cookie", "jt_sid", 1, 64,
	    "name of the session cookie"), /* CONF_SESSION_COOKIE */
	INT("auth.window_seconds", "900", 10, 86400,
	    "window over which login attempts are counted, in seconds"), /* CONF_AUTH_WINDOW_SECONDS */
	INT("auth.max_per_account", "5", 1, 1000,
	    "failed logins allowed per account in one window"), /* CONF_AUTH_MAX_PER_ACCOUNT */
	INT("auth.max_per_address", "20", 1, 100000,
	    "failed logins allowed per client address in one window"), /* CONF_AUTH_MAX_PER_ADDRESS */
	INT("signup.code_ttl_seconds", "600", 30, 86400,
	    "how long an e-mailed sign-up code stays valid, in seconds"), /* CONF_SIGNUP_CODE_TTL_SECONDS */
	INT("signup.code_max_attempts", "5", 1, 100,
	    "wrong codes allowed before the code is void"), /* CONF_SIGNUP_CODE_MAX_ATTEMPTS */
	STR("smtp.url", "smtp://127.0.0.1:25", 1, 1024,
	    "SMTP relay for outgoing mail (smtp:// or smtps://)"), /* CONF_SMTP_URL */
	STR("smtp.from", "no-reply@jangteo.test", 3, 254,
	    "sender address of outgoing mail"), /* CONF_SMTP_FROM */
	STR("smtp.user", "", 0, 256,
	    "SMTP user name; empty = no authentication"), /* CONF_SMTP_USER */
	SECRET("smtp.password", "", 256,
	    "SMTP password"), /* CONF_SMTP_PASSWORD */
	STR("oauth.naver_client_id", "", 0, 256,
	    "Naver login client id; empty = Naver login off"), /* CONF_OAUTH_NAVER_CLIENT_ID */
	SECRET("oauth.naver_client_secret", "", 256,
	    "Naver login client secret"), /* CONF_OAUTH_NAVER_CLIENT_SECRET */
	STR("oauth.naver_authorize_url", "https://nid.naver.com/oauth2.0/authorize", 1, 1024,
	    "Naver authorization endpoint (the browser is sent here)"), /* CONF_OAUTH_NAVER_AUTHORIZE_URL */
	STR("oauth.naver_token_url", "https://nid.naver.com/oauth2.0/token", 1, 1024,
	    "Naver token endpoint"), /* CONF_OAUTH_NAVER_TOKEN_URL */
	STR("oauth.naver_profile_url", "https://openapi.naver.com/v1/nid/me", 1, 1024,
	    "Naver profile endpoint"), /* CONF_OAUTH_NAVER_PROFILE_URL */
	STR("oauth.kakao_client_id", "", 0, 256,
	    "Kakao login REST API key; empty = Kakao login off"), /* CONF_OAUTH_KAKAO_CLIENT_ID */
	SECRET("oauth.kakao_client_secret", "", 256,
	    "Kakao login client secret (empty when not enabled in the Kakao console)"), /* CONF_OAUTH_KAKAO_CLIENT_SECRET */
	STR("oauth.kakao_authorize_url", "https://kauth.kakao.com/oauth/authorize", 1, 1024,
	    "Kakao authorization endpoint (the browser is sent here)"), /* CONF_OAUTH_KAKAO_AUTHORIZE_URL */
	STR("oauth.kakao_token_url", "https://kauth.kakao.com/oauth/token", 1, 1024,
	    "Kakao token endpoint"), /* CONF_OAUTH_KAKAO_TOKEN_URL */
	STR("oauth.kakao_profile_url", "https://kapi.kakao.com/v2/user/me", 1, 1024,
	    "Kakao profile endpoint"), /* CONF_OAUTH_KAKAO_PROFILE_URL */
	INT("catalog.page_size", "20", 1, 100,
	    "products per catalog page"), /* CONF_CATALOG_PAGE_SIZE */
	INT("catalog.cache_seconds", "60", 0, 86400,
	    "how long a catalog page stays cached in Redis, in seconds (0 = no cache)"), /* CONF_CATALOG_CACHE_SECONDS */
	INT("catalog.popular_seconds", "30", 0, 3600,
	    "how long the popular-products list stays cached, in seconds"), /* CONF_CATALOG_POPULAR_SECONDS */
	INT("points.charge_min", "1000", 1, 1000000000,
	    "smallest points charge, in won"), /* CONF_POINTS_CHARGE_MIN */
	INT("points.charge_max", "1000000", 1, 1000000000,
	    "largest points charge, in won"), /* CONF_POINTS_CHARGE_MAX */
	INT("points.idempotency_seconds", "86400", 60, 2592000,
	    "how long a charge's Idempotency-Key is remembered in Redis, in seconds"), /* CONF_POINTS_IDEMPOTENCY_SECONDS */
	STR("bus.out_payment", "ipc:///run/jangteo/bus-payment", 1, CONF_STR_MAX,
	    "ZeroMQ endpoint payment workers (payment.confirm) PULL jobs from; the bus binds it"), /* CONF_BUS_OUT_PAYMENT */
	STR("bus.out_settle", "ipc:///run/jangteo/bus-settle", 1, CONF_STR_MAX,
	    "ZeroMQ endpoint settle workers (settle, refund.settle) PULL jobs from; the bus binds it"), /* CONF_BUS_OUT_SETTLE */
	STR("bus.out_notify", "ipc:///run/jangteo/bus-notify", 1, CONF_STR_MAX,
	    "ZeroMQ endpoint notify workers (order mail) PULL jobs from; the bus binds it"), /* CONF_BUS_OUT_NOTIFY */
	INT("cart.max_lines", "30", 1, 100,
	    "different products a cart may hold"), /* CONF_CART_MAX_LINES */
	INT("cart.max_quantity", "99", 1, 9999,
	    "largest quantity of one product in a cart or an order line"), /* CONF_CART_MAX_QUANTITY */
	INT("cart.ttl_seconds", "2592000", 3600, 31536000,
	    "how long an untouched cart is kept in Redis, in seconds"), /* CONF_CART_TTL_SECONDS */
	INT("orders.max_lines", "30", 1, 100,
	    "different products one order may hold"), /* CONF_ORDERS_MAX_LINES */
	INT("orders.expire_seconds", "1800", 60, 604800,
	    "how long an unpaid order holds its stock before the janitor expires it, in seconds"), /* CONF_ORDERS_EXPIRE_SECONDS */
	INT("orders.page_size", "20", 1, 100,
	    "orders per page of My orders"), /* CONF_ORDERS_PAGE_SIZE */
	STR("pg.toss_api_url", "https://api.tosspayments.com", 1, 1024,
	    "Toss Payments API base URL, without a trailing slash"), /* CONF_PG_TOSS_API_URL */
	STR("pg.toss_checkout_url", "", 0, 1024,
	    "Toss payment window the shopper is sent to (orderId, amount, orderName, successUrl, failUrl in the query); empty = Toss off"), /* CONF_PG_TOSS_CHECKOUT_URL */
	STR("pg.toss_client_key", "", 0, 256,
	    "Toss client key handed to the payment window"), /* CONF_PG_TOSS_CLIENT_KEY */
	SECRET("pg.toss_secret_key", "", 256,
	    "Toss secret key (Basic auth user)"), /* CONF_PG_TOSS_SECRET_KEY */
	STR("pg.kakaopay_api_url", "https://open-api.kakaopay.com", 1, 1024,
	    "KakaoPay API base URL, without a trailing slash"), /* CONF_PG_KAKAOPAY_API_URL */
	STR("pg.kakaopay_cid", "TC0ONETIME", 1, 64,
	    "KakaoPay merchant id (cid)"), /* CONF_PG_KAKAOPAY_CID */
	SECRET("pg.kakaopay_secret_key", "", 256,
	    "KakaoPay secret key; empty = KakaoPay off"), /* CONF_PG_KAKAOPAY_SECRET_KEY */
	INT("breaker.window", "30", 1, 1000,
	    "calls in each circuit breaker's count-based sliding window"), /* CONF_BREAKER_WINDOW */
	INT("breaker.min_calls", "20", 1, 1000,
	    "calls recorded before a circuit breaker may open"), /* CONF_BREAKER_MIN_CALLS */
	INT("breaker.failure_rate", "40", 1, 100,
	    "failed calls in the window, in percent, that open a circuit breaker"), /* CONF_BREAKER_FAILURE_RATE */
	INT("breaker.slow_call_ms", "1000", 1, 600000,
	    "a call slower than this many milliseconds counts as slow"), /* CONF_BREAKER_SLOW_CALL_MS */
	INT("breaker.slow_rate", "50", 1, 100,
	    "slow calls in the window, in percent, that open a circuit breaker"), /* CONF_BREAKER_SLOW_RATE */
	INT("breaker.open_seconds", "30", 1, 86400,
	    "how long an open circuit breaker fails fast before it half-opens, in seconds"), /* CONF_BREAKER_OPEN_SECONDS */
	INT("breaker.half_open_calls", "5", 1, 1000,
	    "trial calls a half-open circuit breaker lets through"), /* CONF_BREAKER_HALF_OPEN_CALLS */
	STR("naver.shop_url", "https://openapi.naver.com/v1/search/shop.json", 1, 1024,
	    "Naver Shopping search endpoint"), /* CONF_NAVER_SHOP_URL */
	STR("naver.client_id", "", 0, 256,
	    "Naver Open API client id; empty = price comparison off"), /* CONF_NAVER_CLIENT_ID */
	SECRET("naver.client_secret", "", 256,
	    "Naver Open API client secret"), /* CONF_NAVER_CLIENT_SECRET */
	INT("naver.timeout_ms", "800", 10, 60000,
	    "whole-request timeout of a Naver Shopping call, in milliseconds"), /* CONF_NAVER_TIMEOUT_MS */
	INT("naver.cache_seconds", "600", 0, 86400,
	    "how long a product's lowest Naver price stays cached in Redis, in seconds"), /* CONF_NAVER_CACHE_SECONDS */
	INT("payments.check_base_seconds", "30", 1, 86400,
	    "first wait before the janitor asks the PG about an UNKNOWN order, in seconds; doubles after each answerless check"), /* CONF_PAYMENTS_CHECK_BASE_SECONDS */
	INT("payments.check_max", "8", 1, 100,
	    "answerless checks of an UNKNOWN order before it is listed for an admin"), /* CONF_PAYMENTS_CHECK_MAX */
	INT("payments.confirming_stale_seconds", "300", 10, 86400,
	    "age of a CONFIRMING order whose confirm job is dead or done before the janitor asks the PG, in seconds"), /* CONF_PAYMENTS_CONFIRMING_STALE_SECONDS */
	INT("payments.unknown_margin_seconds", "60", 0, 3600,
	    "margin past the PG client's whole-request timeout (http.total_timeout_ms) after which no confirm of ours can still be in flight: an UNKNOWN order whose payment the PG then reports in progress or does not know is FAILED (not approved), in seconds"), /* CONF_PAYMENTS_UNKNOWN_MARGIN_SECONDS */
	INT("refunds.shopper_days", "7", 0, 365,
	    "days after payment a shopper may still refund their own order (0 = only admins refund)"), /* CONF_REFUNDS_SHOPPER_DAYS */
	INT("settle.commission_bp", "1000", 0, 10000,
	    "platform commission in basis points for sellers without a rate of their own"), /* CONF_SETTLE_COMMISSION_BP */
	BOOL("reconcile.repair_approved", "true",
	    "a payment the PG approved but we hold as FAILED or UNKNOWN: true = mark it PAID, false = cancel it at the PG"), /* CONF_RECONCILE_REPAIR_APPROVED */	STR("alimtalk.url", "https://api-alimtalk.cloud.toast.com", 1, 1024,
	    "base URL of the KakaoTalk Bizmessage (NHN Cloud) API; the 알림톡 send is POST <url>/alimtalk/v2.3/appkeys/<appkey>/messages"), /* CONF_ALIMTALK_URL */
	STR("alimtalk.appkey", "", 0, 128,
	    "KakaoTalk Bizmessage app key; empty = 알림톡 off (order notices go by mail only)"), /* CONF_ALIMTALK_APPKEY */
	SECRET("alimtalk.secret_key", "", 256,
	    "KakaoTalk Bizmessage secret key (the X-Secret-Key header)"), /* CONF_ALIMTALK_SECRET_KEY */
	STR("alimtalk.sender_key", "", 0, 64,
	    "the KakaoTalk channel's sender key (senderKey, 40 characters at the provider)"), /* CONF_ALIMTALK_SENDER_KEY */
	STR("alimtalk.template_paid", "JT_ORDER_PAID", 1, 20,
	    "template code registered for the paid notice (variables: see docs/ARCHITECTURE.md, Notify)"), /* CONF_ALIMTALK_TEMPLATE_PAID */
	STR("alimtalk.template_refunded", "JT_ORDER_REFUNDED", 1, 20,
	    "template code registered for the refunded notice (variables: see docs/ARCHITECTURE.md, Notify)"), /* CONF_ALIMTALK_TEMPLATE_REFUNDED */
	STR("alimtalk.template_shipped", "JT_ORDER_SHIPPED", 1, 20,
	    "template code registered for the shipped notice of a parcel (variables: see docs/ARCHITECTURE.md, Notify)"), /* CONF_ALIMTALK_TEMPLATE_SHIPPED */
	STR("alimtalk.template_delivered", "JT_ORDER_DELIVERED", 1, 20,
	    "template code registered for the delivered notice of a parcel (variables: see docs/ARCHITECTURE.md, Notify)"), /* CONF_ALIMTALK_TEMPLATE_DELIVERED */
	STR("alimtalk.resend_send_no", "", 0, 24,
	    "SMS sender number registered with the provider; set: a recipient without KakaoTalk gets the notice as SMS/LMS from the provider (resendParameter); empty: no SMS fallback"), /* CONF_ALIMTALK_RESEND_SEND_NO */
	INT("alimtalk.timeout_ms", "3000", 100, 20000,
	    "whole-request timeout of a 알림톡 send, in milliseconds (below outbox.claim_seconds)"), /* CONF_ALIMTALK_TIMEOUT_MS */
	INT("alimtalk.mail_after_attempts", "5", 1, 1000,
	    "a notice whose 알림톡 outcome is still unknown (provider down, breaker open) at this attempt of its job goes by mail instead"), /* CONF_ALIMTALK_MAIL_AFTER_ATTEMPTS */
	INT("db.sync_wait", "0", 0, 15,
	    "wsrep_sync_wait set on every MariaDB session (Galera): 1 makes reads wait until the "
	    "node has applied every write committed anywhere before them; 0 = off"), /* CONF_DB_SYNC_WAIT */
	STR("redis.sentinels", "", 0, CONF_STR_MAX,
	    "comma-separated host:port of Redis Sentinels asked for the primary; empty = connect "
	    "to redis.host:redis.port"), /* CONF_REDIS_SENTINELS */
	STR("redis.master_name", "jangteo", 1, 64,
	    "name of the primary the Sentinels watch"), /* CONF_REDIS_MASTER_NAME */
	STR("bus.curve_server_public", "", 0, CONF_STR_MAX,
	    "file holding the brokers' CURVE public key (Z85); empty = no CURVE (ipc:// or loopback "
	    "only)"), /* CONF_BUS_CURVE_SERVER_PUBLIC */
	STR("bus.curve_server_secret", "", 0, CONF_STR_MAX,
	    "file holding the brokers' CURVE secret key (Z85); needed where jangteo-bus runs"),
	    /* CONF_BUS_CURVE_SERVER_SECRET */
	STR("bus.curve_secret", "", 0, CONF_STR_MAX,
	    "file holding this host's CURVE secret key (Z85); its public key must be in the "
	    "brokers' bus.curve_allow"), /* CONF_BUS_CURVE_SECRET */
	STR("bus.curve_allow", "", 0, CONF_STR_MAX,
	    "file listing the CURVE public keys (Z85, one per line) a broker admits; needed where "
	    "jangteo-bus runs with CURVE"), /* CONF_BUS_CURVE_ALLOW */
	INT("bus.heartbeat_ms", "1000", 0, 600000,
	    "ZeroMQ heartbeat interval in milliseconds; a peer silent for three intervals is "
	    "dropped (0 = off)"), /* CONF_BUS_HEARTBEAT_MS */
	STR("fcgi.allowed_addrs", "", 0, CONF_STR_MAX,
	    "comma-separated IPv4 addresses of the web servers a TCP fcgi.socket accepts; empty "
	    "= any (bind to a private address then)"), /* CONF_FCGI_ALLOWED_ADDRS */
	INT("db.failback_seconds", "30", 0, 86400,
	    "a connection to a node other than the first of db.host is renewed, between "
	    "transactions, after this many seconds, so writes return to the first node once it "
	    "is back (0 = stay)"), /* CONF_DB_FAILBACK_SECONDS */
	STR("shop.name", "장터", 1, 60,
	    "the shop's name in the header, page titles and mail"), /* CONF_SHOP_NAME */
	STR("shop.company", "주식회사 장터 (데모)", 1, 100,
	    "상호: the business's registered name, shown in every page's footer"), /* CONF_SHOP_COMPANY */
	STR("shop.ceo", "김장터", 1, 60,
	    "대표: the representative's name, shown in the footer"), /* CONF_SHOP_CEO */
	STR("shop.business_no", "000-00-00000", 1, 20,
	    "사업자등록번호: the business registration number, shown in the footer"), /* CONF_SHOP_BUSINESS_NO */
	STR("shop.mail_order_no", "제2026-서울마포-0000호", 1, 60,
	    "통신판매업 신고번호: the mail-order business report number, shown in the footer"), /* CONF_SHOP_MAIL_ORDER_NO */
	STR("shop.address", "서울특별시 마포구 월드컵북로 000, 0층", 1, 200,
	    "the business address, shown in the footer"), /* CONF_SHOP_ADDRESS */
	STR("shop.cs_phone", "1588-0000", 1, 30,
	    "고객센터 telephone number, shown in the footer"), /* CONF_SHOP_CS_PHONE */
	STR("shop.cs_email", "help@jangteo.test", 1, 254,
	    "고객센터 e-mail address, shown in the footer"), /* CONF_SHOP_CS_EMAIL */
	STR("shop.cs_hours", "평일 10:00-18:00 (점심 12:00-13:00, 주말·공휴일 휴무)", 1, 200,
	    "고객센터 opening hours, shown in the footer"), /* CONF_SHOP_CS_HOURS */
	INT("shipping.fee", "3000", 0, 1000000,
	    "shipping fee a seller charges per order, in won, unless the seller has its own (0 = free)"), /* CONF_SHIPPING_FEE */
	INT("shipping.free_over", "30000", 0, 1000000000,
	    "a seller's goods in one order worth at least this many won ship free, unless the seller has its own threshold (0 = no threshold: the fee is always charged)"), /* CONF_SHIPPING_FREE_OVER */
	INT("shipping.return_days", "7", 0, 365,
	    "days after delivery a shopper may still ask to return an order (0 = only through 고객센터)"), /* CONF_SHIPPING_RETURN_DAYS */
	STR("pg.kakaopay_window_origin", "https://online-pay.kakao.com", 1, 200,
	    "origin (scheme://host[:port]) of KakaoPay's payment window: checkout sends the shopper there straight from its form, so the checkout page's CSP form-action names it"), /* CONF_PG_KAKAOPAY_WINDOW_ORIGIN */
};

#undef STR
#undef SECRET
#undef INT
#undef BOOL

/* Parsed values. str[k] is set for string keys (owned), num[k] for int and bool keys;
 * line[k] is the file line that set the key, 0 while it holds its default. */
struct conf {
	char *str[CONF__MAX];
	int64_t num[CONF__MAX];
	unsigned line[CONF__MAX];
};

static void *
conf_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		abort();
	return p;
}

static char *
conf_xstrndup(const char *s, size_t n)
{
	char *p = conf_xcalloc(1, n + 1);

	memcpy(p, s, n);
	return p;
}

/* snprintf into err when the caller gave room for it. */
static void
conf_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* True when s[0..n) equals one of the '|'-separated words of choices. */
static bool
conf_in_choices(const char *choices, const char *s, size_t n)
{
	const char *p = choices;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t wlen = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (wlen == n && memcmp(p, s, n) == 0)
			return true;
		if (bar == NULL)
			return false;
		p = bar + 1;
	}
}

static int
conf_set_str(struct conf *c, enum conf_key k, const char *s, size_t n,
    char *why, size_t why_len)
{
	const struct conf_def *d = &conf_defs[k];
	size_t i, seq;

	if (d->choices != NULL && !conf_in_choices(d->choices, s, n)) {
		conf_err(why, why_len, "must be one of %s", d->choices);
		return -1;
	}
	if ((int64_t)n > d->max) {
		conf_err(why, why_len, "too long (at most %lld bytes)", (long long)d->max);
		return -1;
	}
	if ((int64_t)n < d->min) {
		conf_err(why, why_len, "must not be empty");
		return -1;
	}
	for (i = 0; i < n; i += seq) {
		unsigned char b = (unsigned char)s[i];
		uint32_t cp;

		if (b < 0x20 || b == 0x7f) {
			conf_err(why, why_len, "control character in value");
			return -1;
		}
		seq = valid_utf8_next((const unsigned char *)s + i, n - i, &cp);
		if (seq == 0) {
			conf_err(why, why_len, "invalid UTF-8 in value");
			return -1;
		}
	}
	free(c->str[k]);
	c->str[k] = conf_xstrndup(s, n);
	return 0;
}

static int
conf_set_int(struct conf *c, enum conf_key k, const char *s, size_t n,
    char *why, size_t why_len)
{
	const struct conf_def *d = &conf_defs[k];
	char tmp[32];
	char *end;
	size_t i;
	long long v;

	i = (n > 0 && s[0] == '-') ? 1 : 0;
	if (i == n)
		goto bad;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			goto bad;
	if (n >= sizeof(tmp))
		goto range;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0')
		goto range;
	if (v < d->min || v > d->max)
		goto range;
	c->num[k] = v;
	return 0;
bad:
	conf_err(why, why_len, "not a decimal integer");
	return -1;
range:
	conf_err(why, why_len, "out of range (%lld..%lld)", (long long)d->min,
	    (long long)d->max);
	return -1;
}

static int
conf_set_bool(struct conf *c, enum conf_key k, const char *s, size_t n,
    char *why, size_t why_len)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strlen(yes[i]) == n && strncasecmp(yes[i], s, n) == 0) {
			c->num[k] = 1;
			return 0;
		}
		if (strlen(no[i]) == n && strncasecmp(no[i], s, n) == 0) {
			c->num[k] = 0;
			return 0;
		}
	}
	conf_err(why, why_len, "not a boolean (true/false, yes/no, on/off, 1/0)");
	return -1;
}

/* Validates s[0..n) for key k and stores it. On error writes the reason (never the value)
 * into why and returns -1. */
static int
conf_set(struct conf *c, enum conf_key k, const char *s, size_t n, char *why, size_t why_len)
{
	switch (conf_defs[k].type) {
	case CONF_T_STR:
		return conf_set_str(c, k, s, n, why, why_len);
	case CONF_T_INT:
		return conf_set_int(c, k, s, n, why, why_len);
	case CONF_T_BOOL:
		return conf_set_bool(c, k, s, n, why, why_len);
	}
	abort();
}

static bool
conf_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Returns the key named s[0..n), or CONF__MAX. */
static enum conf_key
conf_lookup(const char *s, size_t n)
{
	int k;

	for (k = 0; k < CONF__MAX; k++)
		if (strlen(conf_defs[k].name) == n && memcmp(conf_defs[k].name, s, n) == 0)
			return (enum conf_key)k;
	return CONF__MAX;
}

/* True when s[0..n) looks like a key name and is safe to repeat in a message. */
static bool
conf_printable_key(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* One line without its newline. */
static int
conf_parse_line(struct conf *c, const char *line, size_t n, unsigned lineno,
    const char *src, char *err, size_t err_len)
{
	const char *p = line, *end = line + n, *eq, *kend, *v, *vend;
	enum conf_key k;
	char why[128];

	while (p < end && conf_is_space(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	eq = memchr(p, '=', (size_t)(end - p));
	if (eq == NULL) {
		conf_err(err, err_len, "%s:%u: expected \"key = value\"", src, lineno);
		return -1;
	}
	kend = eq;
	while (kend > p && conf_is_space(kend[-1]))
		kend--;
	if (kend == p) {
		conf_err(err, err_len, "%s:%u: missing key before '='", src, lineno);
		return -1;
	}
	k = conf_lookup(p, (size_t)(kend - p));
	if (k == CONF__MAX) {
		if (conf_printable_key(p, (size_t)(kend - p)))
			conf_err(err, err_len, "%s:%u: unknown key '%.*s'", src, lineno,
			    (int)(kend - p), p);
		else
			conf_err(err, err_len, "%s:%u: unknown key", src, lineno);
		return -1;
	}
	if (c->line[k] != 0) {
		conf_err(err, err_len, "%s:%u: duplicate key %s (first set on line %u)", src,
		    lineno, conf_defs[k].name, c->line[k]);
		return -1;
	}
	v = eq + 1;
	vend = end;
	while (v < vend && conf_is_space(*v))
		v++;
	while (vend > v && conf_is_space(vend[-1]))
		vend--;
	if (v < vend && *v == '"') {
		if (vend - v < 2 || vend[-1] != '"') {
			conf_err(err, err_len, "%s:%u: %s: unterminated quoted value", src,
			    lineno, conf_defs[k].name);
			return -1;
		}
		v++;
		vend--;
	}
	if (conf_set(c, k, v, (size_t)(vend - v), why, sizeof(why)) == -1) {
		conf_err(err, err_len, "%s:%u: %s: %s", src, lineno, conf_defs[k].name, why);
		return -1;
	}
	c->line[k] = lineno;
	return 0;
}

static int
conf_parse_text(struct conf *c, const char *text, size_t len, const char *src,
    char *err, size_t err_len)
{
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

		lineno++;
		pos += n + (nl != NULL ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			n--;            /* CRLF files */
		if (n > CONF_LINE_MAX) {
			conf_err(err, err_len, "%s:%u: line longer than %d bytes", src, lineno,
			    CONF_LINE_MAX);
			return -1;
		}
		if (conf_parse_line(c, line, n, lineno, src, err, err_len) == -1)
			return -1;
	}
	return 0;
}

/* Applies JANGTEO_<KEY> for every key that has one set. */
static int
conf_apply_env(struct conf *c, char *err, size_t err_len)
{
	int k;

	for (k = 0; k < CONF__MAX; k++) {
		char var[80], why[128];
		const char *name = conf_defs[k].name, *val;
		size_t plen = strlen(CONF_ENV_PREFIX), i;

		memcpy(var, CONF_ENV_PREFIX, plen);
		for (i = 0; name[i] != '\0' && plen + i < sizeof(var) - 1; i++) {
			char ch = name[i];

			if (ch == '.')
				ch = '_';
			else if (ch >= 'a' && ch <= 'z')
				ch = (char)(ch - 'a' + 'A');
			var[plen + i] = ch;
		}
		var[plen + i] = '\0';
		val = getenv(var);
		if (val == NULL)
			continue;
		if (conf_set(c, (enum conf_key)k, val, strlen(val), why, sizeof(why)) == -1) {
			conf_err(err, err_len, "environment %s: %s", var, why);
			return -1;
		}
	}
	return 0;
}

/* Defaults, then text (if any), then the environment. */
static struct conf *
conf_build(const char *text, size_t len, const char *src, char *err, size_t err_len)
{
	struct conf *c = conf_xcalloc(1, sizeof(*c));
	char why[128];
	int k;

	conf_err(err, err_len, "%s", "");
	for (k = 0; k < CONF__MAX; k++) {
		const char *d = conf_defs[k].def;

		if (conf_set(c, (enum conf_key)k, d, strlen(d), why, sizeof(why)) == -1) {
			/* A bad default is a bug in the table above. */
			fprintf(stderr, "conf: default of %s: %s\n", conf_defs[k].name, why);
			abort();
		}
	}
	if (text != NULL && conf_parse_text(c, text, len, src, err, err_len) == -1)
		goto fail;
	if (conf_apply_env(c, err, err_len) == -1)
		goto fail;
	return c;
fail:
	conf_free(&c);
	return NULL;
}

/* Reads path whole into a NUL-terminated heap buffer; *len gets its size. */
static char *
conf_read_file(const char *path, size_t *len, char *err, size_t err_len)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t n;

	if (f == NULL) {
		conf_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	text = conf_xcalloc(1, CONF_FILE_MAX + 1);
	n = fread(text, 1, CONF_FILE_MAX + 1, f);
	if (ferror(f)) {
		conf_err(err, err_len, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (n > CONF_FILE_MAX) {
		conf_err(err, err_len, "%s: larger than %d bytes", path, CONF_FILE_MAX);
		goto fail;
	}
	fclose(f);
	*len = n;
	return text;
fail:
	fclose(f);
	free(text);
	return NULL;
}

/* Reads path (NULL = defaults only), then applies the environment. Returns NULL and writes
 * the reason into err: "path:line: reason" for a bad line, "path: reason" when the file
 * cannot be read, "environment JANGTEO_X: reason" for a bad override. No message ever
 * contains a value. Owned by the caller: conf_free. */
struct conf *
conf_load(const char *path, char *err, size_t err_len)
{
	struct conf *c;
	char *text;
	size_t len = 0;

	if (path == NULL)
		return conf_build(NULL, 0, NULL, err, err_len);
	text = conf_read_file(path, &len, err, err_len);
	if (text == NULL)
		return NULL;
	c = conf_build(text, len, path, err, err_len);
	free(text);
	return c;
}

/* Like conf_load, from a NUL-terminated string; errors name the source "<string>". */
struct conf *
conf_parse(const char *text, char *err, size_t err_len)
{
	return conf_parse_len(text, strlen(text), err, err_len);
}

/* Like conf_load, from text[0..len) read as a file's bytes (NULs and all); errors name the
 * source "<string>". */
struct conf *
conf_parse_len(const char *text, size_t len, char *err, size_t err_len)
{
	if (len > CONF_FILE_MAX) {
		conf_err(err, err_len, "<string>: larger than %d bytes", CONF_FILE_MAX);
		return NULL;
	}
	return conf_build(text, len, "<string>", err, err_len);
}

/* Frees *c and sets it to NULL; c or *c NULL is fine. */
void
conf_free(struct conf **c)
{
	int k;

	if (c == NULL || *c == NULL)
		return;
	for (k = 0; k < CONF__MAX; k++)
		free((*c)->str[k]);
	free(*c);
	*c = NULL;
}

/* Aborts unless k is a key of type t: asking for the wrong type is a programming error. */
static void
conf_check_type(const struct conf *c, enum conf_key k, enum conf_type t)
{
	if ((int)k < 0 || k >= CONF__MAX) {
		fprintf(stderr, "conf: no key %d\n", (int)k);
		abort();
	}
	if (conf_defs[k].type != t) {
		fprintf(stderr, "conf: %s read with the wrong type\n", conf_defs[k].name);
		abort();
	}
	if (c == NULL)
		abort();
}

/* The string value of k; owned by c. Aborts if k is not a string key. */
const char *
conf_str(const struct conf *c, enum conf_key k)
{
	conf_check_type(c, k, CONF_T_STR);
	return c->str[k];
}

/* The integer value of k, within its bounds. Aborts if k is not an integer key. */
int64_t
conf_int(const struct conf *c, enum conf_key k)
{
	conf_check_type(c, k, CONF_T_INT);
	return c->num[k];
}

/* The boolean value of k. Aborts if k is not a boolean key. */
bool
conf_bool(const struct conf *c, enum conf_key k)
{
	conf_check_type(c, k, CONF_T_BOOL);
	return c->num[k] != 0;
}

/* The key's name ("db.host"); static storage. Aborts on an out-of-range k. */
const char *
conf_key_name(enum conf_key k)
{
	if ((int)k < 0 || k >= CONF__MAX)
		abort();
	return conf_defs[k].name;
}

/* The key's type. Aborts on an out-of-range k. */
enum conf_type
conf_key_type(enum conf_key k)
{
	if ((int)k < 0 || k >= CONF__MAX)
		abort();
	return conf_defs[k].type;
}

/* The key's one-line documentation; static storage. Aborts on an out-of-range k. */
const char *
conf_key_doc(enum conf_key k)
{
	if ((int)k < 0 || k >= CONF__MAX)
		abort();
	return conf_defs[k].doc;
}
