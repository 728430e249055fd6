/* conf: the configuration file. "key = value" lines, '#' comments, every key typed with
 * bounds and documented in etc/jangteo.conf; an unknown key, a duplicate key, a bad type or
 * an out-of-bounds value is a start-up error. Any key can be overridden from the
 * environment as JANGTEO_<KEY> with '.' as '_' and upper case (db.password ->
 * JANGTEO_DB_PASSWORD): the way to keep secrets out of the file. */
#ifndef JT_CONF_H
#define JT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every key, in the order of the table in conf.c. */
enum conf_key {
	CONF_FCGI_SOCKET,          /* str  unix socket path or host:port for --listen */
	CONF_FCGI_PREFORK,         /* int  1..256 handler processes in --prefork mode */
	CONF_FCGI_MAX_BODY,        /* int  request body cap in bytes */
	CONF_FCGI_JSON_MAX_DEPTH,  /* int  JSON nesting cap */
	CONF_FCGI_TEST_ROUTES,     /* bool routes that exist only for the test suite */
	CONF_SITE_BASE_URL,        /* str  public URL of the shop, e.g. http://127.0.0.1:8080 */
	CONF_SITE_SECURE_COOKIES,  /* bool set Secure on cookies (behind https) */
	CONF_TEMPLATES_DIR,        /* str  directory of *.html templates */
	CONF_STATIC_DIR,           /* str  directory of the files served under /static/ */
	CONF_LOG_LEVEL,            /* str  debug|info|warn|error */
	CONF_LOG_FILE,             /* str  path, or - for stderr */
	CONF_METRICS_FILE,         /* str  shared-memory file for counters across processes */
	CONF_DB_HOST,              /* str  one host, or a comma-separated failover list */
	CONF_DB_PORT,              /* int */
	CONF_DB_SOCKET,            /* str  unix socket; empty = use host:port */
	CONF_DB_USER,              /* str */
	CONF_DB_PASSWORD,          /* str  secret */
	CONF_DB_NAME,              /* str */
	CONF_DB_CONNECT_TIMEOUT,   /* int  seconds */
	CONF_DB_RW_TIMEOUT,        /* int  seconds, read and write */
	CONF_DB_TX_RETRIES,        /* int  reruns of a transaction after deadlock/lock wait */
	CONF_REDIS_HOST,           /* str */
	CONF_REDIS_PORT,           /* int */
	CONF_REDIS_SOCKET,         /* str  unix socket; empty = use host:port */
	CONF_REDIS_PASSWORD,       /* str  secret; empty = no AUTH */
	CONF_REDIS_TIMEOUT_MS,     /* int  connect and command timeout */
	CONF_BUS_IN,               /* str  endpoint(s) producers PUSH to (the bus binds the first) */
	CONF_BUS_OUT_DEMO,         /* str  endpoint demo workers PULL from (the bus binds it) */
	CONF_BUS_HWM,              /* int  send/receive high-water mark, messages */
	CONF_OUTBOX_CLAIM_SECONDS, /* int  how long a worker's claim on a job lasts */
	CONF_OUTBOX_MAX_ATTEMPTS,  /* int  claims before a job is marked dead */
	CONF_OUTBOX_LINGER_MS,     /* int  a busy worker's pause between claims of a kind */
	CONF_JANITOR_INTERVAL_MS,  /* int  pause between janitor sweeps */
	CONF_JANITOR_GRACE_MS,     /* int  age before an unclaimed pending job is re-pushed */
	CONF_HTTP_CONNECT_TIMEOUT_MS, /* int */
	CONF_HTTP_TOTAL_TIMEOUT_MS,   /* int */
	CONF_HTTP_MAX_RESPONSE,       /* int  bytes */
	CONF_SESSION_TTL_SECONDS,      /* idle time after which a session expires (sliding), in second */
	CONF_SESSION_COOKIE,           /* name of the session cookie */
	CONF_AUTH_WINDOW_SECONDS,      /* window over which login attempts are counted, in seconds */
	CONF_AUTH_MAX_PER_ACCOUNT,     /* failed logins allowed per account in one window */
	CONF_AUTH_MAX_PER_ADDRESS,     /* failed logins allowed per client address in one window */
	CONF_SIGNUP_CODE_TTL_SECONDS,  /* how long an e-mailed sign-up code stays valid, in seconds */
	CONF_SIGNUP_CODE_MAX_ATTEMPTS, /* wrong codes allowed before the code is void */
	CONF_SMTP_URL,                 /* SMTP relay for outgoing mail (smtp:// or smtps://) */
	CONF_SMTP_FROM,                /* sender address of outgoing mail */
	CONF_SMTP_USER,                /* SMTP user name; empty = no authentication */
	CONF_SMTP_PASSWORD,            /* secret SMTP password */
	CONF_OAUTH_NAVER_CLIENT_ID,    /* Naver login client id; empty = Naver login off */
	CONF_OAUTH_NAVER_CLIENT_SECRET, /* secret Naver login client secret */
	CONF_OAUTH_NAVER_AUTHORIZE_URL, /* Naver authorization endpoint (the browser is sent here) */
	CONF_OAUTH_NAVER_TOKEN_URL,    /* Naver token endpoint */
	CONF_OAUTH_NAVER_PROFILE_URL,  /* Naver profile endpoint */
	CONF_OAUTH_KAKAO_CLIENT_ID,    /* Kakao login REST API key; empty = Kakao login off */
	CONF_OAUTH_KAKAO_CLIENT_SECRET, /* secret Kakao login client secret (empty when not enabled in the Kak */
	CONF_OAUTH_KAKAO_AUTHORIZE_URL, /* Kakao authorization endpoint (the browser is sent here) */
	CONF_OAUTH_KAKAO_TOKEN_URL,    /* Kakao token endpoint */
	CONF_OAUTH_KAKAO_PROFILE_URL,  /* Kakao profile endpoint */
	CONF_CATALOG_PAGE_SIZE,        /* products per catalog page */
	CONF_CATALOG_CACHE_SECONDS,    /* how long a catalog page stays cached in Redis, in seconds (0 */
	CONF_CATALOG_POPULAR_SECONDS,  /* how long the popular-products list stays cached, in seconds */
	CONF_POINTS_CHARGE_MIN,        /* smallest points charge, in won */
	CONF_POINTS_CHARGE_MAX,        /* largest points charge, in won */
	CONF_POINTS_IDEMPOTENCY_SECONDS, /* how long a charge's Idempotency-Key is remembered in Redis,  */
	CONF_BUS_OUT_PAYMENT,          /* ZeroMQ endpoint payment workers (payment.confirm) PULL jobs ... */
	CONF_BUS_OUT_SETTLE,           /* ZeroMQ endpoint settle workers (settle, refund.settle) PULL ... */
	CONF_BUS_OUT_NOTIFY,           /* ZeroMQ endpoint notify workers (order mail) PULL jobs from; ... */
	CONF_CART_MAX_LINES,           /* different products a cart may hold */
	CONF_CART_MAX_QUANTITY,        /* largest quantity of one product in a cart or an order line */
	CONF_CART_TTL_SECONDS,         /* how long an untouched cart is kept in Redis, in seconds */
	CONF_ORDERS_MAX_LINES,         /* different products one order may hold */
	CONF_ORDERS_EXPIRE_SECONDS,    /* how long an unpaid order holds its stock before the janitor ... */
	CONF_ORDERS_PAGE_SIZE,         /* orders per page of My orders */
	CONF_PG_TOSS_API_URL,          /* Toss Payments API base URL, without a trailing slash */
	CONF_PG_TOSS_CHECKOUT_URL,     /* Toss payment window the shopper is sent to (orderId, amount, ... */
	CONF_PG_TOSS_CLIENT_KEY,       /* Toss client key handed to the payment window */
	CONF_PG_TOSS_SECRET_KEY,       /* Toss secret key (Basic auth user) */
	CONF_PG_KAKAOPAY_API_URL,      /* KakaoPay API base URL, without a trailing slash */
	CONF_PG_KAKAOPAY_CID,          /* KakaoPay merchant id (cid) */
	CONF_PG_KAKAOPAY_SECRET_KEY,   /* KakaoPay secret key; empty = KakaoPay off */
	CONF_BREAKER_WINDOW,           /* calls in each circuit breaker's count-based sliding window */
	CONF_BREAKER_MIN_CALLS,        /* calls recorded before a circuit breaker may open */
	CONF_BREAKER_FAILURE_RATE,     /* failed calls in the window, in percent, that open a circuit ... */
	CONF_BREAKER_SLOW_CALL_MS,     /* a call slower than this many milliseconds counts as slow */
	CONF_BREAKER_SLOW_RATE,        /* slow calls in the window, in percent, that open a circuit ... */
	CONF_BREAKER_OPEN_SECONDS,     /* how long an open circuit breaker fails fast before it ... */
	CONF_BREAKER_HALF_OPEN_CALLS,  /* trial calls a half-open circuit breaker lets through */
	CONF_NAVER_SHOP_URL,           /* Naver Shopping search endpoint */
	CONF_NAVER_CLIENT_ID,          /* Naver Open API client id; empty = price comparison off */
	CONF_NAVER_CLIENT_SECRET,      /* Naver Open API client secret */
	CONF_NAVER_TIMEOUT_MS,         /* whole-request timeout of a Naver Shopping call, in ... */
	CONF_NAVER_CACHE_SECONDS,      /* how long a product's lowest Naver price stays cached in ... */
	CONF_PAYMENTS_CHECK_BASE_SECONDS, /* first wait before the janitor asks the PG about an UNKNOWN o... */
	CONF_PAYMENTS_CHECK_MAX, /* answerless checks of an UNKNOWN order before it is listed fo... */
	CONF_PAYMENTS_CONFIRMING_STALE_SECONDS, /* age of a CONFIRMING order whose confirm job is dead or done ... */
	CONF_PAYMENTS_UNKNOWN_MARGIN_SECONDS, /* margin past http.total_timeout_ms before an unapproved UNKNOWN ... */
	CONF_REFUNDS_SHOPPER_DAYS, /* days after payment a shopper may still refund their own orde... */
	CONF_SETTLE_COMMISSION_BP, /* platform commission in basis points for sellers without a ra... */
	CONF_RECONCILE_REPAIR_APPROVED, /* a payment the PG approved but we hold as FAILED or UNKNOWN: ... */
	CONF_ALIMTALK_URL, /* base URL of the KakaoTalk Bizmessage (NHN Cloud) API; ... */
	CONF_ALIMTALK_APPKEY, /* KakaoTalk Bizmessage app key; empty = 알림톡 off */
	CONF_ALIMTALK_SECRET_KEY, /* KakaoTalk Bizmessage secret key (X-Secret-Key) */
	CONF_ALIMTALK_SENDER_KEY, /* the KakaoTalk channel's sender key (senderKey) */
	CONF_ALIMTALK_TEMPLATE_PAID, /* template code registered for the paid notice */
	CONF_ALIMTALK_TEMPLATE_REFUNDED, /* template code registered for the refunded notice */
	CONF_ALIMTALK_TEMPLATE_SHIPPED, /* template code registered for the shipped notice */
	CONF_ALIMTALK_TEMPLATE_DELIVERED, /* template code registered for the delivered notice */
	CONF_ALIMTALK_RESEND_SEND_NO, /* SMS sender number for the provider's SMS fallback; empty = none */
	CONF_ALIMTALK_TIMEOUT_MS, /* whole-request timeout of a 알림톡 send, in milliseconds */
	CONF_ALIMTALK_MAIL_AFTER_ATTEMPTS, /* attempt of a notice job at which an unknown 알림톡 outcome falls back to mail */
	CONF_DB_SYNC_WAIT,             /* int  wsrep_sync_wait of every session (Galera); 0 = off */
	CONF_REDIS_SENTINELS,          /* str  host:port,... of Redis Sentinels; empty = redis.host */
	CONF_REDIS_MASTER_NAME,        /* str  the primary's name at the Sentinels */
	CONF_BUS_CURVE_SERVER_PUBLIC,  /* str  file: the brokers' CURVE public key; empty = no CURVE */
	CONF_BUS_CURVE_SERVER_SECRET,  /* str  file: the brokers' CURVE secret key (broker hosts) */
	CONF_BUS_CURVE_SECRET,         /* str  file: this host's CURVE secret key (clients) */
	CONF_BUS_CURVE_ALLOW,          /* str  file: client public keys a broker admits (ZAP) */
	CONF_BUS_HEARTBEAT_MS,         /* int  ZMTP heartbeat interval; a peer silent 3x is dropped */
	CONF_FCGI_ALLOWED_ADDRS,       /* str  web server addresses a TCP listener accepts */
	CONF_DB_FAILBACK_SECONDS,      /* int  return to db.host's first node after this long; 0 = never */
	CONF_SHOP_NAME,                /* the shop's name in the header, titles and mail */
	CONF_SHOP_COMPANY,             /* 상호: the business's registered name (footer) */
	CONF_SHOP_CEO,                 /* 대표: the representative's name (footer) */
	CONF_SHOP_BUSINESS_NO,         /* 사업자등록번호 (footer) */
	CONF_SHOP_MAIL_ORDER_NO,       /* 통신판매업 신고번호 (footer) */
	CONF_SHOP_ADDRESS,             /* the business address (footer) */
	CONF_SHOP_CS_PHONE,            /* 고객센터 telephone number (footer) */
	CONF_SHOP_CS_EMAIL,            /* 고객센터 e-mail address (footer) */
	CONF_SHOP_CS_HOURS,            /* 고객센터 opening hours (footer) */
	CONF_SHIPPING_FEE,             /* shipping fee per seller per order, won (sellers may differ) */
	CONF_SHIPPING_FREE_OVER,       /* a seller's goods in one order from this amount ship free */
	CONF_SHIPPING_RETURN_DAYS,     /* days after delivery a shopper may ask to return an order */
	CONF_PG_KAKAOPAY_WINDOW_ORIGIN, /* origin of KakaoPay's payment window (checkout's form-action) */
	CONF__MAX
};

enum conf_type { CONF_T_STR, CONF_T_INT, CONF_T_BOOL };

struct conf;

/* Reads path (NULL = defaults only), then applies the environment. Returns NULL and writes
 * "path:line: reason" into err on any error. Owned by the caller: conf_free. */
struct conf *conf_load(const char *path, char *err, size_t err_len);

/* Like conf_load, from a string (for tests). */
struct conf *conf_parse(const char *text, char *err, size_t err_len);

/* Like conf_load, from text[0..len) taken as a file's bytes, NULs included (for the fuzz
 * target tests/fuzz/fuzz_conf.c). */
struct conf *conf_parse_len(const char *text, size_t len, char *err, size_t err_len);

void conf_free(struct conf **c);

/* Typed getters; asking for a key with a different type aborts (a programming error). The
 * string is owned by c. */
const char *conf_str(const struct conf *c, enum conf_key k);
int64_t conf_int(const struct conf *c, enum conf_key k);
bool conf_bool(const struct conf *c, enum conf_key k);

/* The key's name ("db.host"), its type and its documentation line, for etc/ and tests. */
const char *conf_key_name(enum conf_key k);
enum conf_type conf_key_type(enum conf_key k);
const char *conf_key_doc(enum conf_key k);

#endif
