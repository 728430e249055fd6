/* bus: the ZeroMQ job bus: the job envelope, producer and consumer sockets (each connected to
 * every endpoint of its list), CURVE keys and the broker with its ZAP allow-list. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <zmq.h>

#include "infra/bus.h"
#include "base/conf.h"
#include "base/log.h"

/* The largest envelope decode accepts, in bytes. A real one is under 64. */
#define BUS_MSG_MAX 256

/* The largest message a PULL socket takes at all; a peer sending more is disconnected by
 * ZeroMQ before the bytes are buffered (protects the broker on a tcp:// endpoint). */
#define BUS_WIRE_MAX 4096

/* How long a new producer waits for its connection to the broker, so the first push of a
 * freshly started process does not fail only because the connect is still under way. */
#define BUS_CONNECT_WAIT_MS 100

/* The broker checks *stop at least this often. */
#define BUS_BROKER_TICK_MS 200

/* The wire envelope's version. */
#define BUS_ENVELOPE_V 1

/* Bytes of one endpoint of a list, its NUL included. */
#define BUS_ENDPOINT_MAX 512

/* Where libzmq sends its authentication requests (RFC 27), and the largest allow-list. */
#define BUS_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define BUS_ALLOW_MAX 1024

/* A refused client retries every reconnect interval: log the first refusal and then one in
 * this many. */
#define BUS_ZAP_LOG_EVERY 100

/*
 * Job kinds and queues. To add a kind: a JOB_ value in bus.h, a row here naming it and its
 * queue. To add a queue: a BUS_Q_ value in bus.h, a CONF_BUS_OUT_<queue> key in conf, a row
 * in bus_queues. Kind names are lower-case ASCII identifiers with dots (the decoder accepts
 * no escapes in them).
 */
static const struct {
	const char *name;
	enum bus_queue queue;
} bus_kinds[JOB__MAX] = {
	{ "echo", BUS_Q_DEMO },                /* JOB_ECHO */
	{ "payment.confirm", BUS_Q_PAYMENT },   /* JOB_PAYMENT_CONFIRM */
	{ "settle", BUS_Q_SETTLE },             /* JOB_SETTLE */
	{ "refund.settle", BUS_Q_SETTLE },      /* JOB_REFUND_SETTLE */
	{ "notify", BUS_Q_NOTIFY },             /* JOB_NOTIFY */
	{ "payment.check", BUS_Q_PAYMENT },     /* JOB_PAYMENT_CHECK */
	{ "refund", BUS_Q_PAYMENT },            /* JOB_REFUND */
};

static const struct {
	const char *name;
	enum conf_key endpoint;  /* where the broker binds it and its workers connect */
} bus_queues[BUS_Q__MAX] = {
	{ "demo", CONF_BUS_OUT_DEMO },       /* BUS_Q_DEMO */
	{ "payment", CONF_BUS_OUT_PAYMENT }, /* BUS_Q_PAYMENT */
	{ "settle", CONF_BUS_OUT_SETTLE },   /* BUS_Q_SETTLE */
	{ "notify", CONF_BUS_OUT_NOTIFY },   /* BUS_Q_NOTIFY */
};

struct bus {
	void *sock;          /* NULL when it could not be set up: push and pull then fail */
	const char *role;    /* "producer" or the queue name, for logs; static */
};

/* This process's ZeroMQ context. A context does not survive fork (its I/O threads stay in the
 * parent), so a child that finds its parent's context makes its own. The parent's is never
 * terminated in the child (that would block on threads that do not exist); it stays
 * referenced from bus_ctx_inherited so leak checkers do not flag it. */
static void *bus_ctx_cur;
static pid_t bus_ctx_pid;
static void *bus_ctx_inherited;

static void *
bus_ctx(void)
{
	pid_t pid = getpid();

	if (bus_ctx_cur != NULL && bus_ctx_pid == pid)
		return bus_ctx_cur;
	if (bus_ctx_cur != NULL)
		bus_ctx_inherited = bus_ctx_cur;
	bus_ctx_cur = zmq_ctx_new();
	if (bus_ctx_cur == NULL) {
		log_error(NULL, "bus: zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
		abort();
	}
	bus_ctx_pid = pid;
	return bus_ctx_cur;
}

static void *
bus_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		abort();
	return p;
}

static int64_t
bus_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
bus_kind_name(enum job_kind k)
{
	assert((unsigned)k < JOB__MAX);
	if ((unsigned)k >= JOB__MAX)
		return "?";
	return bus_kinds[k].name;
}

/* Like bus_kind_parse, for s[0..n) that need not be NUL-terminated. */
static int
bus_kind_parse_n(const char *s, size_t n, enum job_kind *out)
{
	size_t k;

	for (k = 0; k < JOB__MAX; k++) {
		if (strlen(bus_kinds[k].name) == n && memcmp(bus_kinds[k].name, s, n) == 0) {
			*out = (enum job_kind)k;
			return 0;
		}
	}
	return -1;
}

int
bus_kind_parse(const char *s, enum job_kind *out)
{
	if (s == NULL)
		return -1;
	return bus_kind_parse_n(s, strlen(s), out);
}

enum bus_queue
bus_kind_queue(enum job_kind k)
{
	assert((unsigned)k < JOB__MAX);
	return bus_kinds[k].queue;
}

const char *
bus_queue_name(enum bus_queue q)
{
	assert((unsigned)q < BUS_Q__MAX);
	if ((unsigned)q >= BUS_Q__MAX)
		return "?";
	return bus_queues[q].name;
}

/* ---- the envelope ------------------------------------------------------------------------ */

/* Builds the envelope with json-c; refuses a job decode would refuse (id <= 0, bad kind), so
 * every message a producer sends is one the consumer accepts. */
int
bus_job_encode(const struct bus_job *j, char *out, size_t cap)
{
	struct json_object *obj;
	const char *text;
	size_t len;
	int rc = -1;

	if (j->outbox_id <= 0 || (unsigned)j->kind >= JOB__MAX)
		return -1;
	obj = json_object_new_object();
	if (obj == NULL)
		abort();
	if (json_object_object_add(obj, "v", json_object_new_int(BUS_ENVELOPE_V)) != 0 ||
	    json_object_object_add(obj, "id", json_object_new_int64(j->outbox_id)) != 0 ||
	    json_object_object_add(obj, "kind", json_object_new_string(bus_kinds[j->kind].name)) != 0)
		abort();
	text = json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		abort();
	len = strlen(text);
	if (len >= cap || len > BUS_MSG_MAX)
		goto out;
	memcpy(out, text, len + 1);
	rc = (int)len;
out:
	json_object_put(obj);
	return rc;
}

/*
 * The decoder is a small hand-written parser rather than json-c because json-c keeps the last
 * of duplicate keys silently. It accepts exactly one JSON object holding exactly the keys v,
 * id and kind (any order, JSON whitespace allowed), v the integer 1, id an integer 1 ..
 * INT64_MAX written without sign, fraction, exponent or leading zero, kind a known kind
 * name. Strings may not contain escapes, control characters or non-ASCII bytes: no key or
 * kind needs them.
 */
struct bus_cur {
	const char *p;
	const char *end;
};

static void
bus_skip_ws(struct bus_cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool
bus_expect(struct bus_cur *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/* A string without escapes: stores its contents in [*s, *s + *n). Returns 0 or -1. */
static int
bus_parse_string(struct bus_cur *c, const char **s, size_t *n)
{
	const char *start;

	if (!bus_expect(c, '"'))
		return -1;
	start = c->p;
	for (;;) {
		unsigned char ch;

		if (c->p >= c->end)
			return -1;
		ch = (unsigned char)*c->p;
		if (ch == '"')
			break;
		if (ch == '\\' || ch < 0x20 || ch >= 0x7f)
			return -1;
		c->p++;
	}
	*s = start;
	*n = (size_t)(c->p - start);
	c->p++;
	return 0;
}

/* A non-negative JSON integer: digits only, no leading zero, no overflow. Returns 0 or -1. */
static int
bus_parse_uint(struct bus_cur *c, int64_t *out)
{
	int64_t v = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		int d = *c->p - '0';

		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		c->p++;
	}
	if (c->p == start)
		return -1;
	if (*start == '0' && c->p - start > 1)
		return -1;
	*out = v;
	return 0;
}

enum bus_key { BUS_KEY_V, BUS_KEY_ID, BUS_KEY_KIND, BUS_KEY__MAX };

static const char *const bus_key_names[BUS_KEY__MAX] = {
	"v",    /* BUS_KEY_V */
	"id",   /* BUS_KEY_ID */
	"kind", /* BUS_KEY_KIND */
};

static int
bus_key_parse(const char *s, size_t n, enum bus_key *out)
{
	size_t k;

	for (k = 0; k < BUS_KEY__MAX; k++) {
		if (strlen(bus_key_names[k]) == n && memcmp(bus_key_names[k], s, n) == 0) {
			*out = (enum bus_key)k;
			return 0;
		}
	}
	return -1;
}

/* Parses the value of key at c into j. Returns 0 or -1. */
static int
bus_parse_value(struct bus_cur *c, enum bus_key key, struct bus_job *j)
{
	const char *s;
	size_t n;
	int64_t v;

	switch (key) {
	case BUS_KEY_V:
		if (bus_parse_uint(c, &v) != 0 || v != BUS_ENVELOPE_V)
			return -1;
		return 0;
	case BUS_KEY_ID:
		if (bus_parse_uint(c, &v) != 0 || v <= 0)
			return -1;
		j->outbox_id = v;
		return 0;
	case BUS_KEY_KIND:
		if (bus_parse_string(c, &s, &n) != 0)
			return -1;
		return bus_kind_parse_n(s, n, &j->kind);
	case BUS_KEY__MAX:
		break;
	}
	return -1;
}

int
bus_job_decode(const char *msg, size_t len, struct bus_job *out)
{
	struct bus_cur c = { msg, msg + len };
	struct bus_job j = { 0, JOB_ECHO };
	bool seen[BUS_KEY__MAX] = { false };
	size_t k;

	if (len == 0 || len > BUS_MSG_MAX || memchr(msg, '\0', len) != NULL)
		return -1;
	bus_skip_ws(&c);
	if (!bus_expect(&c, '{'))
		return -1;
	for (;;) {
		const char *s;
		size_t n;
		enum bus_key key;

		bus_skip_ws(&c);
		if (bus_parse_string(&c, &s, &n) != 0 || bus_key_parse(s, n, &key) != 0)
			return -1;
		if (seen[key])
			return -1;
		seen[key] = true;
		bus_skip_ws(&c);
		if (!bus_expect(&c, ':'))
			return -1;
		bus_skip_ws(&c);
		if (bus_parse_value(&c, key, &j) != 0)
			return -1;
		bus_skip_ws(&c);
		if (bus_expect(&c, '}'))
			break;
		if (!bus_expect(&c, ','))
			return -1;
	}
	bus_skip_ws(&c);
	if (c.p != c.end)
		return -1;
	for (k = 0; k < BUS_KEY__MAX; k++) {
		if (!seen[k])
			return -1;
	}
	*out = j;
	return 0;
}

/* ---- CURVE keys ------------------------------------------------------------------------- */

/* A Z85 key is 40 characters for 32 bytes. */
static bool
bus_z85_ok(const char *z, size_t n, uint8_t out[32])
{
	char tmp[BUS_KEY_Z85 + 1];

	if (n != BUS_KEY_Z85)
		return false;
	memcpy(tmp, z, n);
	tmp[n] = '\0';
	return zmq_z85_decode(out, tmp) != NULL;
}

/* Reads file path (at most 64 KiB) into buf (NUL-terminated). 0, or -1 with err set. */
static int
bus_read_small(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, cap - 1, f);
	if (ferror(f) || !feof(f)) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ? "cannot read" : "too large");
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		snprintf(err, errlen, "%s: holds a NUL byte", path);
		return -1;
	}
	return 0;
}

/* Calls fn(line, len, arg) for each line of text that is not blank or a '#' comment, the
 * line trimmed of blanks; stops at fn's first non-zero result and returns it. */
static int
bus_each_line(char *text, int (*fn)(const char *, size_t, void *), void *arg)
{
	char *line = text;

	while (*line != '\0') {
		char *nl = strchr(line, '\n');
		char *end = nl != NULL ? nl : line + strlen(line);
		char *b = line;
		int rc;

		while (b < end && (*b == ' ' || *b == '\t'))
			b++;
		while (end > b && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		if (b < end && *b != '#') {
			rc = fn(b, (size_t)(end - b), arg);
			if (rc != 0)
				return rc;
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return 0;
}

struct bus_key_one {
	char *out;
	int found;
};

static int
bus_key_line(const char *line, size_t len, void *arg)
{
	struct bus_key_one *k = arg;
	uint8_t bin[32];

	if (k->found++ > 0 || !bus_z85_ok(line, len, bin))
		return -1;
	memcpy(k->out, line, len);
	k->out[len] = '\0';
	return 0;
}

int
bus_key_load(const char *path, char out[BUS_KEY_Z85 + 1], char *err, size_t errlen)
{
	char text[4096];
	struct bus_key_one k = { out, 0 };

	if (bus_read_small(path, text, sizeof(text), err, errlen) != 0)
		return -1;
	if (bus_each_line(text, bus_key_line, &k) != 0 || k.found != 1) {
		explicit_bzero(text, sizeof(text));
		snprintf(err, errlen, "%s: must hold exactly one Z85 key (40 characters) on a line",
		    path);
		return -1;
	}
	explicit_bzero(text, sizeof(text));
	return 0;
}

/* The allow-list: binary public keys. */
struct bus_allow {
	uint8_t (*keys)[32];
	size_t n;
	int bad_line;            /* first malformed line's number among the keys, 0 if none */
};

static int
bus_allow_line(const char *line, size_t len, void *arg)
{
	struct bus_allow *al = arg;
	size_t keylen = 0;

	/* The key, then optionally blanks and a comment naming the host. */
	while (keylen < len && line[keylen] != ' ' && line[keylen] != '\t')
		keylen++;
	if (al->n == BUS_ALLOW_MAX || !bus_z85_ok(line, keylen, al->keys[al->n])) {
		al->bad_line = (int)al->n + 1;
		return -1;
	}
	al->n++;
	return 0;
}

int
bus_allow_load(const char *path, uint8_t (**keys)[32], size_t *n, char *err, size_t errlen)
{
	size_t cap = (BUS_ALLOW_MAX + 16) * 128;
	char *text = bus_xcalloc(cap, 1);
	struct bus_allow al = { NULL, 0, 0 };

	*keys = NULL;
	*n = 0;
	if (bus_read_small(path, text, cap, err, errlen) != 0) {
		free(text);
		return -1;
	}
	al.keys = bus_xcalloc(BUS_ALLOW_MAX, sizeof(*al.keys));
	if (bus_each_line(text, bus_allow_line, &al) != 0) {
		snprintf(err, errlen, "%s: key %d is not a Z85 public key (40 characters), or more "
		    "than %d keys", path, al.bad_line, BUS_ALLOW_MAX);
		free(al.keys);
		free(text);
		return -1;
	}
	free(text);
	*keys = al.keys;
	*n = al.n;
	return 0;
}

/* The CURVE keys a socket of this process needs; on is false when bus.curve_server_public is
 * empty. */
struct bus_curve {
	bool on;
	char server_public[BUS_KEY_Z85 + 1];
	char server_secret[BUS_KEY_Z85 + 1];  /* broker sockets only */
	char public[BUS_KEY_Z85 + 1];
	char secret[BUS_KEY_Z85 + 1];
};

/* Loads the keys from the files the config names (the server's secret only when server).
 * Returns 0, or -1 after logging. */
static int
bus_curve_load(const struct conf *c, bool server, struct bus_curve *k)
{
	char err[512];
	const char *path;

	memset(k, 0, sizeof(*k));
	if (conf_str(c, CONF_BUS_CURVE_SERVER_PUBLIC)[0] == '\0')
		return 0;
	k->on = true;
	if (!zmq_has("curve")) {
		log_error(NULL, "bus: bus.curve_server_public is set but libzmq has no CURVE");
		return -1;
	}
	path = conf_str(c, server ? CONF_BUS_CURVE_SERVER_SECRET : CONF_BUS_CURVE_SECRET);
	if (path[0] == '\0') {
		log_error(NULL, "bus: CURVE is on but %s is empty", conf_key_name(server ?
		    CONF_BUS_CURVE_SERVER_SECRET : CONF_BUS_CURVE_SECRET));
		return -1;
	}
	if (bus_key_load(conf_str(c, CONF_BUS_CURVE_SERVER_PUBLIC), k->server_public, err,
	    sizeof(err)) != 0 ||
	    bus_key_load(path, server ? k->server_secret : k->secret, err, sizeof(err)) != 0) {
		log_error(NULL, "bus: %s", err);
		explicit_bzero(k, sizeof(*k));
		return -1;
	}
	if (!server && zmq_curve_public(k->public, k->secret) != 0) {
		log_error(NULL, "bus: %s: not a CURVE secret key", path);
		explicit_bzero(k, sizeof(*k));
		return -1;
	}
	return 0;
}

/* ---- sockets ----------------------------------------------------------------------------- */

static void
bus_sock_close(void **sock)
{
	if (*sock == NULL)
		return;
	zmq_close(*sock);
	*sock = NULL;
}

/* Sets CURVE on sock: as the server (a broker's bound socket) or as a client of it. */
static int
bus_sock_curve(void *sock, const struct bus_curve *k, bool server)
{
	int one = 1;

	if (!k->on)
		return 0;
	if (server)
		return zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
		    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "jangteo", 7) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->server_secret,
		    sizeof(k->server_secret)) != 0 ? -1 : 0;
	return zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, k->server_public,
	    sizeof(k->server_public)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, k->public, sizeof(k->public)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, k->secret, sizeof(k->secret)) != 0 ? -1 : 0;
}

/* A socket of type with linger 0, both high-water marks from bus.hwm, heartbeats from
 * bus.heartbeat_ms and CURVE (as server when server) when configured; PULL sockets also get
 * the message size cap, producers (immediate) ZMQ_IMMEDIATE. Returns NULL after logging. */
static void *
bus_sock_new(const struct conf *c, int type, bool immediate, bool server)
{
	void *sock;
	struct bus_curve keys;
	int64_t hwm64 = conf_int(c, CONF_BUS_HWM);
	int hwm = hwm64 > 1000000 ? 1000000 : (int)hwm64;
	int hb = (int)conf_int(c, CONF_BUS_HEARTBEAT_MS);
	int hb_timeout = hb * 3;
	int linger = 0;
	int one = 1;
	int64_t maxmsg = BUS_WIRE_MAX;

	if (bus_curve_load(c, server, &keys) != 0)
		return NULL;
	sock = zmq_socket(bus_ctx(), type);
	if (sock == NULL) {
		log_error(NULL, "bus: zmq_socket: %s", zmq_strerror(zmq_errno()));
		explicit_bzero(&keys, sizeof(keys));
		return NULL;
	}
	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    (hb > 0 && (zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof(hb)) != 0 ||
	     zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof(hb_timeout)) != 0)) ||
	    (type == ZMQ_PULL &&
	     zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0) ||
	    (immediate && zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0) ||
	    bus_sock_curve(sock, &keys, server) != 0) {
		log_error(NULL, "bus: zmq_setsockopt: %s", zmq_strerror(zmq_errno()));
		bus_sock_close(&sock);
	}
	explicit_bzero(&keys, sizeof(keys));
	return sock;
}

/* Copies the endpoint at *cursor of a comma-separated list into out (blanks trimmed) and
 * advances *cursor. Returns 1, 0 at the end of the list, -1 for an empty or too long one. */
static int
bus_endpoint_next(const char **cursor, char *out, size_t cap)
{
	const char *s = *cursor, *comma, *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return 0;
	comma = strchr(s, ',');
	end = comma != NULL ? comma : s + strlen(s);
	*cursor = comma != NULL ? comma + 1 : end;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == s || (size_t)(end - s) >= cap)
		return -1;
	memcpy(out, s, (size_t)(end - s));
	out[end - s] = '\0';
	return 1;
}

/* True when endpoint is an ipc:// path another process is accepting on. ZeroMQ unlinks and
 * re-binds an existing ipc path without complaint, which would let a second broker silently
 * take the endpoint from a live one; a stale file left by a dead broker is fine to replace. */
static bool
bus_ipc_in_use(const char *endpoint)
{
	static const char prefix[] = "ipc://";
	struct sockaddr_un sa;
	const char *path;
	size_t n;
	int fd;
	bool live;

	if (strncmp(endpoint, prefix, sizeof(prefix) - 1) != 0)
		return false;
	path = endpoint + sizeof(prefix) - 1;
	n = strlen(path);
	if (n == 0 || path[0] == '@' || n >= sizeof(sa.sun_path))
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

/* Binds a new socket of type to the first endpoint of list (the broker's own; the others are
 * its peers'). Returns NULL after logging. */
static void *
bus_sock_bind(const struct conf *c, int type, const char *list)
{
	char endpoint[BUS_ENDPOINT_MAX];
	const char *cursor = list;
	void *sock;

	if (bus_endpoint_next(&cursor, endpoint, sizeof(endpoint)) != 1) {
		log_error(NULL, "bus: bad endpoint list \"%.64s\"", list);
		return NULL;
	}
	if (bus_ipc_in_use(endpoint)) {
		log_error(NULL, "bus: %s is in use by another process", endpoint);
		return NULL;
	}
	sock = bus_sock_new(c, type, false, true);
	if (sock == NULL)
		return NULL;
	if (zmq_bind(sock, endpoint) != 0) {
		log_error(NULL, "bus: bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
		bus_sock_close(&sock);
	}
	return sock;
}

/* A bus whose socket is connected to every endpoint of list, or whose socket is NULL
 * (logged) when that failed. */
static struct bus *
bus_connect(const struct conf *c, int type, bool immediate, const char *list,
    const char *role)
{
	struct bus *b = bus_xcalloc(1, sizeof(*b));
	char endpoint[BUS_ENDPOINT_MAX];
	const char *cursor = list;
	int rc;

	b->role = role;
	b->sock = bus_sock_new(c, type, immediate, false);
	while (b->sock != NULL &&
	    (rc = bus_endpoint_next(&cursor, endpoint, sizeof(endpoint))) != 0) {
		if (rc < 0 || zmq_connect(b->sock, endpoint) != 0) {
			log_error(NULL, "bus: %s: connect %s: %s", role, rc < 0 ? list : endpoint,
			    rc < 0 ? "bad endpoint list" : zmq_strerror(zmq_errno()));
			bus_sock_close(&b->sock);
		}
	}
	return b;
}

/*
 * Receives one message into msg, which the caller has initialised and closes. Returns 1 with a
 * single-part message, 0 when there was none (or a multipart message, logged and dropped: no
 * producer sends one), -1 on an error (logged).
 */
static int
bus_recv(void *sock, zmq_msg_t *msg, const char *role)
{
	int more;
	size_t more_len = sizeof(more);

	if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) < 0) {
		if (zmq_errno() == EAGAIN || zmq_errno() == EINTR)
			return 0;
		log_error(NULL, "bus: %s: receive: %s", role, zmq_strerror(zmq_errno()));
		return -1;
	}
	if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_len) != 0 || !more)
		return 1;
	while (more) {
		if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) < 0)
			break;
		more = zmq_msg_more(msg);
	}
	log_warn(NULL, "bus: %s: dropped a multipart message", role);
	return 0;
}

static void
bus_log_malformed(const char *role, zmq_msg_t *msg)
{
	size_t len = zmq_msg_size(msg);
	int show = len > 64 ? 64 : (int)len;

	log_warn(NULL, "bus: %s: dropped a malformed message (%zu bytes): %.*s", role, len, show,
	    (const char *)zmq_msg_data(msg));
}

/* ---- producers and consumers ------------------------------------------------------------ */

struct bus *
bus_producer_new(const struct conf *c)
{
	struct bus *b = bus_connect(c, ZMQ_PUSH, true, conf_str(c, CONF_BUS_IN), "producer");
	zmq_pollitem_t pi;

	if (b->sock == NULL)
		return b;
	/* With ZMQ_IMMEDIATE the socket is writable once the connection is up. */
	pi = (zmq_pollitem_t){ .socket = b->sock, .events = ZMQ_POLLOUT };
	if (zmq_poll(&pi, 1, BUS_CONNECT_WAIT_MS) == 0)
		log_debug(NULL, "bus: producer: %s not reachable yet", conf_str(c, CONF_BUS_IN));
	return b;
}

int
bus_push(struct bus *b, const struct bus_job *j)
{
	char msg[BUS_MSG_MAX + 1];
	int len;

	if (b->sock == NULL)
		return -1;
	len = bus_job_encode(j, msg, sizeof(msg));
	if (len < 0) {
		log_error(NULL, "bus: refusing to push job id=%lld kind=%d", (long long)j->outbox_id,
		    (int)j->kind);
		return -1;
	}
	if (zmq_send(b->sock, msg, (size_t)len, ZMQ_DONTWAIT) != len) {
		log_debug(NULL, "bus: push id=%lld kind=%s: %s", (long long)j->outbox_id,
		    bus_kind_name(j->kind), zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

struct bus *
bus_consumer_new(const struct conf *c, enum bus_queue q)
{
	assert((unsigned)q < BUS_Q__MAX);
	return bus_connect(c, ZMQ_PULL, false, conf_str(c, bus_queues[q].endpoint),
	    bus_queues[q].name);
}

int
bus_pull(struct bus *b, struct bus_job *out, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : bus_now_ms() + timeout_ms;

	if (b->sock == NULL)
		return -1;
	for (;;) {
		zmq_pollitem_t pi = { .socket = b->sock, .events = ZMQ_POLLIN };
		long wait = -1;
		zmq_msg_t msg;
		int rc;

		if (deadline >= 0) {
			int64_t left = deadline - bus_now_ms();

			wait = left > 0 ? (long)left : 0;
		}
		rc = zmq_poll(&pi, 1, wait);
		if (rc < 0) {
			if (zmq_errno() == EINTR)
				return 0;
			log_error(NULL, "bus: %s: poll: %s", b->role, zmq_strerror(zmq_errno()));
			return -1;
		}
		if (rc == 0)
			return 0;
		zmq_msg_init(&msg);
		rc = bus_recv(b->sock, &msg, b->role);
		if (rc == 1 && bus_job_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), out) == 0) {
			zmq_msg_close(&msg);
			return 1;
		}
		if (rc == 1)
			bus_log_malformed(b->role, &msg);
		zmq_msg_close(&msg);
		if (rc < 0)
			return -1;
		if (deadline >= 0 && bus_now_ms() >= deadline)
			return 0;
	}
}

void
bus_free(struct bus **b)
{
	if (*b == NULL)
		return;
	bus_sock_close(&(*b)->sock);
	free(*b);
	*b = NULL;
}

/* ---- the broker -------------------------------------------------------------------------- */

/* Forwards the message in msg (a received envelope) to its kind's queue, or drops it. */
static void
bus_route(void *const out[BUS_Q__MAX], zmq_msg_t *msg)
{
	struct bus_job j;
	enum bus_queue q;

	if (bus_job_decode(zmq_msg_data(msg), zmq_msg_size(msg), &j) != 0) {
		bus_log_malformed("broker", msg);
		return;
	}
	q = bus_kinds[j.kind].queue;
	if (zmq_msg_send(msg, out[q], ZMQ_DONTWAIT) < 0) {
		/* No worker connected, or all of them full: the janitor re-pushes it. */
		log_debug(NULL, "bus: broker: dropped id=%lld for %s: %s", (long long)j.outbox_id,
		    bus_queues[q].name, zmq_strerror(zmq_errno()));
	}
}

/* The broker's ZAP handler: the allow-list and the count of refusals (for the log). */
struct bus_zap {
	void *sock;              /* REP bound to BUS_ZAP_ENDPOINT; NULL without CURVE */
	uint8_t (*keys)[32];
	size_t nkeys;
	unsigned long refused;
};

/* Binds the ZAP handler and loads the allow-list, when CURVE is on. Returns 0 or -1. */
static int
bus_zap_open(const struct conf *c, struct bus_zap *z)
{
	const char *path = conf_str(c, CONF_BUS_CURVE_ALLOW);
	char err[512];
	int linger = 0;

	memset(z, 0, sizeof(*z));
	if (conf_str(c, CONF_BUS_CURVE_SERVER_PUBLIC)[0] == '\0')
		return 0;
	if (path[0] == '\0') {
		log_error(NULL, "bus: CURVE is on but bus.curve_allow is empty: no client could "
		    "connect");
		return -1;
	}
	if (bus_allow_load(path, &z->keys, &z->nkeys, err, sizeof(err)) != 0) {
		log_error(NULL, "bus: %s", err);
		return -1;
	}
	z->sock = zmq_socket(bus_ctx(), ZMQ_REP);
	if (z->sock == NULL ||
	    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_bind(z->sock, BUS_ZAP_ENDPOINT) != 0) {
		log_error(NULL, "bus: ZAP handler: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	log_info(NULL, "bus: CURVE on, %zu client keys allowed (%s)", z->nkeys, path);
	return 0;
}

static void
bus_zap_close(struct bus_zap *z)
{
	bus_sock_close(&z->sock);
	free(z->keys);
	z->keys = NULL;
}

/* Sends one frame of a ZAP reply; more when another follows. */
static void
bus_zap_send(void *sock, const void *data, size_t n, bool more)
{
	(void)zmq_send(sock, data, n, more ? ZMQ_SNDMORE : 0);
}

/* Answers one ZAP request (RFC 27): 200 for a CURVE client whose public key is on the
 * allow-list, 400 for anything else. */
static void
bus_zap_serve(struct bus_zap *z)
{
	enum { F_VERSION, F_ID, F_DOMAIN, F_ADDRESS, F_IDENTITY, F_MECH, F_KEY, F__MAX };
	zmq_msg_t f[F__MAX];
	size_t nf = 0, i;
	bool allowed = false;
	int more = 1;

	while (more) {
		zmq_msg_t extra;
		zmq_msg_t *m = nf < F__MAX ? &f[nf] : &extra;

		zmq_msg_init(m);
		if (zmq_msg_recv(m, z->sock, 0) < 0) {
			zmq_msg_close(m);
			break;
		}
		more = zmq_msg_more(m);
		if (nf < F__MAX)
			nf++;
		else
			zmq_msg_close(&extra);
	}
	if (nf == F__MAX && zmq_msg_size(&f[F_MECH]) == 5 &&
	    memcmp(zmq_msg_data(&f[F_MECH]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[F_KEY]) == 32) {
		for (i = 0; i < z->nkeys && !allowed; i++)
			allowed = memcmp(z->keys[i], zmq_msg_data(&f[F_KEY]), 32) == 0;
	}
	if (!allowed && z->refused++ % BUS_ZAP_LOG_EVERY == 0) {
		char key[BUS_KEY_Z85 + 1] = "?";
		int alen = nf > F_ADDRESS ? (int)zmq_msg_size(&f[F_ADDRESS]) : 0;

		if (nf == F__MAX && zmq_msg_size(&f[F_KEY]) == 32)
			zmq_z85_encode(key, zmq_msg_data(&f[F_KEY]), 32);
		log_warn(NULL, "bus: refused a client from %.*s with key %s (not in bus.curve_allow;"
		    " %lu refusals so far)", alen > 64 ? 64 : alen,
		    alen > 0 ? (const char *)zmq_msg_data(&f[F_ADDRESS]) : "", key, z->refused);
	}
	bus_zap_send(z->sock, "1.0", 3, true);
	if (nf > F_ID)
		bus_zap_send(z->sock, zmq_msg_data(&f[F_ID]), zmq_msg_size(&f[F_ID]), true);
	else
		bus_zap_send(z->sock, "", 0, true);
	bus_zap_send(z->sock, allowed ? "200" : "400", 3, true);
	bus_zap_send(z->sock, allowed ? "OK" : "not allowed", allowed ? 2 : 11, true);
	bus_zap_send(z->sock, "", 0, true);
	bus_zap_send(z->sock, "", 0, false);
	for (i = 0; i < nf; i++)
		zmq_msg_close(&f[i]);
}

int
bus_broker_run(const struct conf *c, volatile sig_atomic_t *stop)
{
	void *in = NULL;
	void *out[BUS_Q__MAX] = { NULL };
	struct bus_zap zap;
	size_t q;
	int rc = -1;

	/* The ZAP handler first: a CURVE server bound without one would admit every client. */
	if (bus_zap_open(c, &zap) != 0)
		goto out;
	in = bus_sock_bind(c, ZMQ_PULL, conf_str(c, CONF_BUS_IN));
	if (in == NULL)
		goto out;
	for (q = 0; q < BUS_Q__MAX; q++) {
		out[q] = bus_sock_bind(c, ZMQ_PUSH, conf_str(c, bus_queues[q].endpoint));
		if (out[q] == NULL)
			goto out;
	}
	log_info(NULL, "bus: broker: in=%s", conf_str(c, CONF_BUS_IN));
	rc = 0;
	while (!*stop) {
		zmq_pollitem_t pi[2] = {
			{ .socket = in, .events = ZMQ_POLLIN },
			{ .socket = zap.sock, .events = ZMQ_POLLIN },
		};
		zmq_msg_t msg;
		int got;

		got = zmq_poll(pi, zap.sock != NULL ? 2 : 1, BUS_BROKER_TICK_MS);
		if (got < 0 && zmq_errno() == EINTR)
			continue;
		if (got < 0) {
			log_error(NULL, "bus: broker: poll: %s", zmq_strerror(zmq_errno()));
			rc = -1;
			break;
		}
		if (zap.sock != NULL && (pi[1].revents & ZMQ_POLLIN))
			bus_zap_serve(&zap);
		if (!(pi[0].revents & ZMQ_POLLIN))
			continue;
		zmq_msg_init(&msg);
		got = bus_recv(in, &msg, "broker");
		if (got == 1)
			bus_route(out, &msg);
		zmq_msg_close(&msg);
		if (got < 0) {
			rc = -1;
			break;
		}
	}
	log_info(NULL, "bus: broker: stopped");
out:
	bus_sock_close(&in);
	for (q = 0; q < BUS_Q__MAX; q++)
		bus_sock_close(&out[q]);
	bus_zap_close(&zap);
	return rc;
}
