/* check_bus: the job envelope (exact bytes, every rejection) and the bus end to end over
 * ipc:// in a temporary directory: broker in a forked child, producer, consumer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "infra/bus.h"
#include "base/conf.h"
#include "suites.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A temporary directory for the ipc:// sockets and a config naming them. */
struct bus_env {
	char dir[64];
	char in[128];       /* "ipc://<dir>/in" */
	char demo[128];     /* "ipc://<dir>/demo" */
	struct conf *conf;
	pid_t broker;       /* 0 when none is running */
};

/* The other queues are bound next to demo: "<demo>-payment", "<demo>-settle", ...; extra
 * lines (or "") are appended. */
static struct conf *
conf_for_extra(const char *in, const char *demo, const char *extra)
{
	char text[5 * PATH_MAX];
	char err[256] = "";
	struct conf *c;
	int n;

	n = snprintf(text, sizeof(text),
	    "%s = %s\n%s = %s\n%s = %s-payment\n%s = %s-settle\n%s = %s-notify\n%s = 1000\n%s",
	    conf_key_name(CONF_BUS_IN), in, conf_key_name(CONF_BUS_OUT_DEMO), demo,
	    conf_key_name(CONF_BUS_OUT_PAYMENT), demo, conf_key_name(CONF_BUS_OUT_SETTLE), demo,
	    conf_key_name(CONF_BUS_OUT_NOTIFY), demo, conf_key_name(CONF_BUS_HWM), extra);
	ck_assert_int_lt(n, (int)sizeof(text));
	c = conf_parse(text, err, sizeof(err));
	ck_assert_msg(c != NULL, "conf_parse: %s", err);
	return c;
}

static struct conf *
conf_for(const char *in, const char *demo)
{
	return conf_for_extra(in, demo, "");
}

static void
env_init(struct bus_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/jt-bus-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(e->dir));
	snprintf(e->in, sizeof(e->in), "ipc://%s/in", e->dir);
	snprintf(e->demo, sizeof(e->demo), "ipc://%s/demo", e->dir);
	e->conf = conf_for(e->in, e->demo);
}

static volatile sig_atomic_t broker_stop;

static void
on_term(int sig)
{
	(void)sig;
	broker_stop = 1;
}

/* Runs bus_broker_run in a child; its exit status is 0 on a clean stop, 1 otherwise. */
static pid_t
broker_start(const struct conf *c)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		_exit(bus_broker_run(c, &broker_stop) == 0 ? 0 : 1);
	}
	return pid;
}

/* Stops the broker with SIGTERM and returns its exit status (-1 if it had to be killed). */
static int
broker_stop_wait(pid_t pid)
{
	int64_t deadline = now_ms() + 3000;
	int status;

	kill(pid, SIGTERM);
	while (now_ms() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void
env_free(struct bus_env *e)
{
	DIR *d;
	struct dirent *de;

	if (e->broker > 0)
		broker_stop_wait(e->broker);
	conf_free(&e->conf);
	d = opendir(e->dir);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char path[PATH_MAX];

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", e->dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	ck_assert_int_eq(rmdir(e->dir), 0);
}

/* Decodes s (its strlen) and returns the result. */
static int
decode_str(const char *s, struct bus_job *j)
{
	return bus_job_decode(s, strlen(s), j);
}

/* ---- names and tables -------------------------------------------------------------------- */

START_TEST(test_kind_tables)
{
	enum job_kind k;
	int i;

	ck_assert_str_eq(bus_kind_name(JOB_ECHO), "echo");
	ck_assert_int_eq(bus_kind_queue(JOB_ECHO), BUS_Q_DEMO);
	ck_assert_str_eq(bus_queue_name(BUS_Q_DEMO), "demo");
	for (i = 0; i < JOB__MAX; i++) {
		const char *name = bus_kind_name((enum job_kind)i);

		ck_assert_ptr_nonnull(name);
		ck_assert_int_eq(bus_kind_parse(name, &k), 0);
		ck_assert_int_eq(k, i);
		ck_assert_int_lt(bus_kind_queue((enum job_kind)i), BUS_Q__MAX);
	}
	for (i = 0; i < BUS_Q__MAX; i++)
		ck_assert_ptr_nonnull(bus_queue_name((enum bus_queue)i));
	ck_assert_int_eq(bus_kind_parse("ECHO", &k), -1);
	ck_assert_int_eq(bus_kind_parse("echo ", &k), -1);
	ck_assert_int_eq(bus_kind_parse("ech", &k), -1);
	ck_assert_int_eq(bus_kind_parse("", &k), -1);
	ck_assert_int_eq(bus_kind_parse(NULL, &k), -1);
}
END_TEST

/* ---- the envelope ------------------------------------------------------------------------ */

START_TEST(test_encode_exact)
{
	struct bus_job j = { 123, JOB_ECHO };
	char out[128];
	char small[29];

	ck_assert_int_eq(bus_job_encode(&j, out, sizeof(out)), 30);
	ck_assert_str_eq(out, "{\"v\":1,\"id\":123,\"kind\":\"echo\"}");

	j.outbox_id = INT64_MAX;
	ck_assert_int_eq(bus_job_encode(&j, out, sizeof(out)), 46);
	ck_assert_str_eq(out, "{\"v\":1,\"id\":9223372036854775807,\"kind\":\"echo\"}");

	/* {"v":1,"id":1,"kind":"echo"} is 28 bytes: it needs 29 with the NUL. */
	j.outbox_id = 1;
	ck_assert_int_eq(bus_job_encode(&j, small, sizeof(small)), 28);
	ck_assert_str_eq(small, "{\"v\":1,\"id\":1,\"kind\":\"echo\"}");
	ck_assert_int_eq(bus_job_encode(&j, small, 28), -1);
	ck_assert_int_eq(bus_job_encode(&j, small, 0), -1);

	/* What decode would refuse is never encoded. */
	j.outbox_id = 0;
	ck_assert_int_eq(bus_job_encode(&j, out, sizeof(out)), -1);
	j.outbox_id = -7;
	ck_assert_int_eq(bus_job_encode(&j, out, sizeof(out)), -1);
	j.outbox_id = 1;
	j.kind = JOB__MAX;
	ck_assert_int_eq(bus_job_encode(&j, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_round_trip)
{
	static const int64_t ids[] = { 1, 9, 10, 42, 1000000007, INT64_MAX - 1, INT64_MAX };
	size_t i;
	int k;

	for (k = 0; k < JOB__MAX; k++) {
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			struct bus_job j = { ids[i], (enum job_kind)k };
			struct bus_job back = { 0, JOB__MAX };
			char out[128];
			int n = bus_job_encode(&j, out, sizeof(out));

			ck_assert_int_gt(n, 0);
			ck_assert_int_eq(bus_job_decode(out, (size_t)n, &back), 0);
			ck_assert_int_eq(back.outbox_id, ids[i]);
			ck_assert_int_eq(back.kind, k);
		}
	}
}
END_TEST

START_TEST(test_decode_accepts)
{
	static const char *const ok[] = {
		"{\"v\":1,\"id\":77,\"kind\":\"echo\"}",
		"{\"kind\":\"echo\",\"id\":77,\"v\":1}",
		" { \"v\" : 1 ,\n\t\"id\" :77,\r\n\"kind\":\"echo\" } \n",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct bus_job j = { 0, JOB__MAX };

		ck_assert_msg(decode_str(ok[i], &j) == 0, "rejected: %s", ok[i]);
		ck_assert_int_eq(j.outbox_id, 77);
		ck_assert_int_eq(j.kind, JOB_ECHO);
	}
}
END_TEST

START_TEST(test_decode_rejects)
{
	static const char *const bad[] = {
		"",
		" ",
		"{}",
		"[]",
		"null",
		"1",
		"\"echo\"",
		"[{\"v\":1,\"id\":1,\"kind\":\"echo\"}]",
		/* missing keys */
		"{\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":1,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":1}",
		/* extra and duplicate keys */
		"{\"v\":1,\"id\":1,\"kind\":\"echo\",\"x\":1}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\",\"id\":2}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\",\"kind\":\"echo\"}",
		"{\"v\":1,\"v\":1,\"id\":1,\"kind\":\"echo\"}",
		"{\"V\":1,\"id\":1,\"kind\":\"echo\"}",
		"{\"\":1,\"v\":1,\"id\":1,\"kind\":\"echo\"}",
		/* id */
		"{\"v\":1,\"id\":0,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":-1,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":-0,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":1.0,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":1.5,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":1e3,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":1E3,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":01,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":+1,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":\"1\",\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":true,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":null,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":[1],\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":{},\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":9223372036854775808,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":99999999999999999999999,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":0x10,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":,\"kind\":\"echo\"}",
		/* v */
		"{\"v\":2,\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":0,\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":\"1\",\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":1.0,\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":01,\"id\":1,\"kind\":\"echo\"}",
		/* kind */
		"{\"v\":1,\"id\":1,\"kind\":\"ECHO\"}",
		"{\"v\":1,\"id\":1,\"kind\":\"nope\"}",
		"{\"v\":1,\"id\":1,\"kind\":\"\"}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo \"}",
		"{\"v\":1,\"id\":1,\"kind\":\"\\u0065cho\"}",
		"{\"v\":1,\"id\":1,\"kind\":\"ech\\o\"}",
		"{\"v\":1,\"id\":1,\"kind\":1}",
		"{\"v\":1,\"id\":1,\"kind\":null}",
		"{\"v\":1,\"id\":1,\"kind\":\"\xc3\xa9\"}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\t\"}",
		/* syntax */
		"{\"v\":1,\"id\":1,\"kind\":\"echo\"",
		"{\"v\":1,\"id\":1,\"kind\":\"echo}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\",}",
		"{,\"v\":1,\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":1,,\"id\":1,\"kind\":\"echo\"}",
		"{\"v\" 1,\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":1;\"id\":1,\"kind\":\"echo\"}",
		"{'v':1,'id':1,'kind':'echo'}",
		"{v:1,id:1,kind:\"echo\"}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\"}x",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\"}{}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\"}}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\"} // c",
		"/* c */{\"v\":1,\"id\":1,\"kind\":\"echo\"}",
		"\xef\xbb\xbf{\"v\":1,\"id\":1,\"kind\":\"echo\"}",
		"\f{\"v\":1,\"id\":1,\"kind\":\"echo\"}",
		"{\"v\":1,\"id\":1,\"kind\":\"echo\",\"n\":{\"a\":[1,2]}}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bus_job j = { 0, JOB__MAX };

		ck_assert_msg(decode_str(bad[i], &j) == -1, "accepted: %s", bad[i]);
	}
}
END_TEST

START_TEST(test_decode_nul_and_size)
{
	static const char good[] = "{\"v\":1,\"id\":5,\"kind\":\"echo\"}";
	static const char nul_in[] = "{\"v\":1,\"id\":5,\"kind\":\"ec\0ho\"}";
	static const char nul_after[] = "{\"v\":1,\"id\":5,\"kind\":\"echo\"}\0";
	char big[300];
	struct bus_job j;
	size_t n = sizeof(good) - 1;

	ck_assert_int_eq(bus_job_decode(good, n, &j), 0);
	ck_assert_int_eq(bus_job_decode(nul_in, sizeof(nul_in) - 1, &j), -1);
	ck_assert_int_eq(bus_job_decode(nul_after, sizeof(nul_after) - 1, &j), -1);
	/* A length shorter than the text cuts it: invalid. */
	ck_assert_int_eq(bus_job_decode(good, n - 1, &j), -1);
	ck_assert_int_eq(bus_job_decode(good, 0, &j), -1);

	/* Padded with spaces to exactly 256 bytes it is still valid; 257 is too big. */
	memset(big, ' ', sizeof(big));
	memcpy(big, good, n);
	ck_assert_int_eq(bus_job_decode(big, 256, &j), 0);
	ck_assert_int_eq(j.outbox_id, 5);
	ck_assert_int_eq(bus_job_decode(big, 257, &j), -1);
	ck_assert_int_eq(bus_job_decode(big, sizeof(big), &j), -1);
}
END_TEST

/* ---- sockets ----------------------------------------------------------------------------- */

/* Pushes probe jobs until one comes back through the broker: the pipeline is connected. */
static void
wait_pipeline(struct bus *prod, struct bus *cons)
{
	/* Generous: under ASan on a loaded 2-core machine the forked broker can be slow to bind. */
	int64_t deadline = now_ms() + 15000;
	int64_t probe = 1000000;

	while (now_ms() < deadline) {
		struct bus_job j = { probe++, JOB_ECHO };
		struct bus_job got;

		bus_push(prod, &j);
		if (bus_pull(cons, &got, 50) == 1) {
			ck_assert_int_ge(got.outbox_id, 1000000);
			return;
		}
	}
	ck_abort_msg("the bus pipeline did not come up within 15 s");
}

/* Sends raw frames (flags as for zmq_send) to the endpoint a raw PUSH connects to. */
static void
raw_send(void *sock, const void *data, size_t len, int flags)
{
	ck_assert_int_eq(zmq_send(sock, data, len, flags), (int)len);
}

START_TEST(test_end_to_end)
{
	struct bus_env e;
	struct bus *cons;
	struct bus *prod;
	struct bus_job got;
	char stale[PATH_MAX];
	int seen[101] = { 0 };
	int64_t deadline;
	int received = 0;
	int fd;
	int i;
	void *raw_ctx;
	void *raw;
	int zero = 0;

	env_init(&e);
	/* A stale socket file left by a dead broker must not stop a new one. */
	snprintf(stale, sizeof(stale), "%s/in", e.dir);
	fd = open(stale, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	/* Fork first, then open sockets, as every jangteo program does: forking a process whose
	 * zmq context already runs I/O threads can leave the child stuck on a lock one of those
	 * threads held (seen here under ASan, one run in three). */
	e.broker = broker_start(e.conf);
	cons = bus_consumer_new(e.conf, BUS_Q_DEMO);
	prod = bus_producer_new(e.conf);
	wait_pipeline(prod, cons);

	/* Garbage sent straight to bus.in is dropped by the broker; the flow goes on. */
	raw_ctx = zmq_ctx_new();
	raw = zmq_socket(raw_ctx, ZMQ_PUSH);
	zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof(zero));
	ck_assert_int_eq(zmq_connect(raw, e.in), 0);
	raw_send(raw, "not json", 8, 0);
	raw_send(raw, "{\"v\":1,\"id\":1,\"kind\":\"nope\"}", 28, 0);
	raw_send(raw, "{\"v\":1,\"id\":1,", 14, ZMQ_SNDMORE);
	raw_send(raw, "\"kind\":\"echo\"}", 14, 0);

	for (i = 1; i <= 100; i++) {
		struct bus_job j = { i, JOB_ECHO };

		ck_assert_int_eq(bus_push(prod, &j), 0);
	}
	deadline = now_ms() + 5000;
	while (received < 100 && now_ms() < deadline) {
		int rc = bus_pull(cons, &got, 100);

		ck_assert_int_ge(rc, 0);
		if (rc == 0 || got.outbox_id >= 1000000)
			continue;   /* a late probe */
		ck_assert_int_ge(got.outbox_id, 1);
		ck_assert_int_le(got.outbox_id, 100);
		ck_assert_int_eq(got.kind, JOB_ECHO);
		ck_assert_int_eq(seen[got.outbox_id], 0);
		seen[got.outbox_id] = 1;
		received++;
	}
	ck_assert_int_eq(received, 100);
	/* Nothing else arrives: no duplicate, and none of the garbage got through. */
	while (bus_pull(cons, &got, 200) == 1)
		ck_assert_int_ge(got.outbox_id, 1000000);

	zmq_close(raw);
	zmq_ctx_term(raw_ctx);
	bus_free(&prod);
	bus_free(&cons);
	ck_assert_ptr_null(prod);
	ck_assert_int_eq(broker_stop_wait(e.broker), 0);
	e.broker = 0;
	env_free(&e);
}
END_TEST

START_TEST(test_pull_timeout)
{
	struct bus_env e;
	struct bus *cons;
	struct bus_job got;
	int64_t t0;
	int64_t took;

	env_init(&e);
	e.broker = broker_start(e.conf);
	cons = bus_consumer_new(e.conf, BUS_Q_DEMO);
	t0 = now_ms();
	ck_assert_int_eq(bus_pull(cons, &got, 300), 0);
	took = now_ms() - t0;
	ck_assert_int_ge(took, 250);
	ck_assert_int_lt(took, 2000);
	ck_assert_int_eq(bus_pull(cons, &got, 0), 0);
	bus_free(&cons);
	env_free(&e);
}
END_TEST

static void
on_alarm(int sig)
{
	(void)sig;
}

/* A signal ends a wait, even an endless one, so a worker's loop can check its stop flag. */
START_TEST(test_pull_signal)
{
	struct bus_env e;
	struct bus *cons;
	struct bus_job got;
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { 0, 100 * 1000 } };
	int64_t t0;

	env_init(&e);
	cons = bus_consumer_new(e.conf, BUS_Q_DEMO);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	t0 = now_ms();
	ck_assert_int_eq(bus_pull(cons, &got, -1), 0);
	ck_assert_int_lt(now_ms() - t0, 3000);
	bus_free(&cons);
	env_free(&e);
}
END_TEST

/* With the broker down, bus_push returns -1 at once (ZMQ_IMMEDIATE: nothing is queued). */
START_TEST(test_push_broker_down)
{
	struct bus_env e;
	struct bus *prod;
	struct bus_job j = { 1, JOB_ECHO };
	int64_t t0;
	int i;

	env_init(&e);
	prod = bus_producer_new(e.conf);
	t0 = now_ms();
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(bus_push(prod, &j), -1);
	ck_assert_int_lt(now_ms() - t0, 1000);
	/* An invalid job is refused before any socket is involved. */
	j.outbox_id = 0;
	ck_assert_int_eq(bus_push(prod, &j), -1);
	bus_free(&prod);
	bus_free(&prod);
	env_free(&e);
}
END_TEST

/* bus_pull skips malformed messages and returns the next good one. */
START_TEST(test_pull_skips_malformed)
{
	struct bus_env e;
	struct bus *cons;
	struct bus_job got = { 0, JOB__MAX };
	static const char good[] = "{\"v\":1,\"id\":31,\"kind\":\"echo\"}";
	char big[300];
	void *ctx;
	void *raw;
	int zero = 0;
	int64_t deadline;

	env_init(&e);
	ctx = zmq_ctx_new();
	raw = zmq_socket(ctx, ZMQ_PUSH);
	zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof(zero));
	ck_assert_int_eq(zmq_bind(raw, e.demo), 0);
	cons = bus_consumer_new(e.conf, BUS_Q_DEMO);
	/* Wait for the consumer's connection: sends block-free only once it is there. */
	deadline = now_ms() + 3000;
	while (zmq_send(raw, "x", 1, ZMQ_DONTWAIT) != 1 && now_ms() < deadline)
		usleep(10 * 1000);
	memset(big, ' ', sizeof(big));
	memcpy(big, good, sizeof(good) - 1);
	raw_send(raw, big, sizeof(big), 0);
	raw_send(raw, "{\"v\":1,\"id\":1,\"kind\":\"echo\",\"id\":2}", 35, 0);
	raw_send(raw, "{\"v\":1,\"id\":2,", 14, ZMQ_SNDMORE);
	raw_send(raw, "\"kind\":\"echo\"}", 14, 0);
	raw_send(raw, good, sizeof(good) - 1, 0);
	ck_assert_int_eq(bus_pull(cons, &got, 2000), 1);
	ck_assert_int_eq(got.outbox_id, 31);
	ck_assert_int_eq(got.kind, JOB_ECHO);
	ck_assert_int_eq(bus_pull(cons, &got, 100), 0);
	bus_free(&cons);
	zmq_close(raw);
	zmq_ctx_term(ctx);
	env_free(&e);
}
END_TEST

/* Each bus_broker_run here has its stop flag set already, so it returns -1 when it could not
 * bind and 0 (at once) when it could. */
START_TEST(test_broker_bind_failures)
{
	struct bus_env e;
	struct bus_env e2;
	struct conf *c;
	volatile sig_atomic_t stop = 1;
	int64_t t0;

	/* A second broker while the first is live: refused, the first keeps its endpoints. */
	env_init(&e);
	e.broker = broker_start(e.conf);
	t0 = now_ms();
	while (access(e.demo + strlen("ipc://"), F_OK) != 0 && now_ms() - t0 < 3000)
		usleep(10 * 1000);
	ck_assert_int_eq(access(e.demo + strlen("ipc://"), F_OK), 0);
	ck_assert_int_eq(bus_broker_run(e.conf, &stop), -1);
	ck_assert_int_eq(broker_stop_wait(e.broker), 0);
	e.broker = 0;
	/* Once it is gone, its endpoints are free again (stale files and all). */
	ck_assert_int_eq(bus_broker_run(e.conf, &stop), 0);
	env_free(&e);

	/* A directory that does not exist. */
	c = conf_for("ipc:///nonexistent-jt-dir/in", "ipc:///nonexistent-jt-dir/demo");
	t0 = now_ms();
	ck_assert_int_eq(bus_broker_run(c, &stop), -1);
	ck_assert_int_lt(now_ms() - t0, 1000);
	conf_free(&c);

	/* Not an endpoint at all. */
	c = conf_for("nonsense", "ipc:///tmp/x");
	ck_assert_int_eq(bus_broker_run(c, &stop), -1);
	conf_free(&c);

	/* The same endpoint for two sockets. */
	env_init(&e2);
	c = conf_for(e2.in, e2.in);
	ck_assert_int_eq(bus_broker_run(c, &stop), -1);
	conf_free(&c);
	env_free(&e2);
}
END_TEST

/* A stop flag already set makes the broker return 0 within one tick. */
START_TEST(test_broker_stops)
{
	struct bus_env e;
	volatile sig_atomic_t stop = 1;
	int64_t t0;

	env_init(&e);
	t0 = now_ms();
	ck_assert_int_eq(bus_broker_run(e.conf, &stop), 0);
	ck_assert_int_lt(now_ms() - t0, 1000);
	env_free(&e);
}
END_TEST

/* A consumer or producer whose endpoint is unusable still exists and fails cleanly. */
START_TEST(test_bad_endpoint)
{
	struct conf *c = conf_for("nonsense://x", "nonsense://y");
	struct bus *prod = bus_producer_new(c);
	struct bus *cons = bus_consumer_new(c, BUS_Q_DEMO);
	struct bus_job j = { 1, JOB_ECHO };

	ck_assert_ptr_nonnull(prod);
	ck_assert_ptr_nonnull(cons);
	ck_assert_int_eq(bus_push(prod, &j), -1);
	ck_assert_int_eq(bus_pull(cons, &j, 10), -1);
	bus_free(&prod);
	bus_free(&cons);
	conf_free(&c);
}
END_TEST


/* ---- CURVE keys and the allow-list -------------------------------------------------------- */

/* Writes text to dir/name; the path goes to out. */
static void
write_file(const char *dir, const char *name, const char *text, char *out, size_t cap)
{
	FILE *f;

	snprintf(out, cap, "%s/%s", dir, name);
	f = fopen(out, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_key_files)
{
	struct bus_env e;
	const char *dir;
	char pub[BUS_KEY_Z85 + 1], sec[BUS_KEY_Z85 + 1], pub2[BUS_KEY_Z85 + 1], sec2[41];
	char text[512], path[PATH_MAX], got[BUS_KEY_Z85 + 1], err[512];
	uint8_t (*keys)[32];
	uint8_t bin[32];
	size_t n;

	env_init(&e);
	dir = e.dir;
	ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
	ck_assert_int_eq(zmq_curve_keypair(pub2, sec2), 0);

	/* One key, with comments, blanks and CRLF around it. */
	snprintf(text, sizeof(text), "# the brokers' key\n\n  %s \r\n# end\n", sec);
	write_file(dir, "good", text, path, sizeof(path));
	ck_assert_int_eq(bus_key_load(path, got, err, sizeof(err)), 0);
	ck_assert_str_eq(got, sec);
	/* Without a final newline. */
	write_file(dir, "bare", pub, path, sizeof(path));
	ck_assert_int_eq(bus_key_load(path, got, err, sizeof(err)), 0);
	ck_assert_str_eq(got, pub);

	/* Refused: two keys, a short key, a key with a character outside Z85, an empty file,
	 * a missing file. */
	snprintf(text, sizeof(text), "%s\n%s\n", sec, pub);
	write_file(dir, "two", text, path, sizeof(path));
	ck_assert_int_eq(bus_key_load(path, got, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "exactly one Z85 key"));
	snprintf(text, sizeof(text), "%.39s\n", sec);
	write_file(dir, "short", text, path, sizeof(path));
	ck_assert_int_eq(bus_key_load(path, got, err, sizeof(err)), -1);
	snprintf(text, sizeof(text), "%.39s~\n", sec);
	write_file(dir, "tilde", text, path, sizeof(path));
	ck_assert_int_eq(bus_key_load(path, got, err, sizeof(err)), -1);
	write_file(dir, "empty", "# nothing\n", path, sizeof(path));
	ck_assert_int_eq(bus_key_load(path, got, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(bus_key_load(path, got, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));

	/* The allow-list: keys with host names after them, in file order, as 32 bytes. */
	snprintf(text, sizeof(text), "# hosts\n%s web1\n\n%s\twork1 # the worker\n", pub, pub2);
	write_file(dir, "allow", text, path, sizeof(path));
	ck_assert_int_eq(bus_allow_load(path, &keys, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(zmq_z85_decode(bin, pub));
	ck_assert_int_eq(memcmp(keys[0], bin, 32), 0);
	ck_assert_ptr_nonnull(zmq_z85_decode(bin, pub2));
	ck_assert_int_eq(memcmp(keys[1], bin, 32), 0);
	free(keys);
	snprintf(text, sizeof(text), "%s\nnot-a-key\n", pub);
	write_file(dir, "allow-bad", text, path, sizeof(path));
	ck_assert_int_eq(bus_allow_load(path, &keys, &n, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "key 2 is not"));
	ck_assert_ptr_null(keys);

	env_free(&e);
}
END_TEST

/* Makes a key pair; the secret goes to dir/name (its path to path), the public key to pub. */
static void
key_pair_file(const char *dir, const char *name, char *pub, char *path, size_t cap)
{
	char sec[BUS_KEY_Z85 + 1];
	char text[64];

	ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
	snprintf(text, sizeof(text), "%s\n", sec);
	write_file(dir, name, text, path, cap);
}

/* CURVE end to end: a producer and a worker whose keys are on the broker's allow-list
 * exchange jobs; a producer with a key not on it injects nothing. The producer's bus.in
 * lists a second broker that does not exist: jobs still flow through the first. */
START_TEST(test_curve_allow_list)
{
	struct bus_env e;
	char srv_pub[41], cli_pub[41], bad_pub[41], pubfile[PATH_MAX], srv_sec[PATH_MAX];
	char cli_sec[PATH_MAX], bad_sec[PATH_MAX], allow[PATH_MAX], text[4096], list[300];
	char extra[4 * PATH_MAX];
	struct conf *broker_conf, *cli_conf, *bad_conf;
	struct bus *cons, *prod, *intruder;
	struct bus_job j, got;
	int64_t deadline;
	int rc, seen7 = 0;

	env_init(&e);
	key_pair_file(e.dir, "srv.key", srv_pub, srv_sec, sizeof(srv_sec));
	snprintf(text, sizeof(text), "%s\n", srv_pub);
	write_file(e.dir, "srv.pub", text, pubfile, sizeof(pubfile));
	key_pair_file(e.dir, "cli.key", cli_pub, cli_sec, sizeof(cli_sec));
	key_pair_file(e.dir, "bad.key", bad_pub, bad_sec, sizeof(bad_sec));
	snprintf(text, sizeof(text), "%s the allowed host\n", cli_pub);
	write_file(e.dir, "allow", text, allow, sizeof(allow));

	snprintf(extra, sizeof(extra), "bus.curve_server_public = %s\nbus.curve_server_secret = %s\n"
	    "bus.curve_allow = %s\nbus.heartbeat_ms = 200\n", pubfile, srv_sec, allow);
	broker_conf = conf_for_extra(e.in, e.demo, extra);
	snprintf(list, sizeof(list), "%s, ipc://%s/nobody", e.in, e.dir);
	snprintf(extra, sizeof(extra), "bus.curve_server_public = %s\nbus.curve_secret = %s\n",
	    pubfile, cli_sec);
	cli_conf = conf_for_extra(list, e.demo, extra);
	snprintf(extra, sizeof(extra), "bus.curve_server_public = %s\nbus.curve_secret = %s\n",
	    pubfile, bad_sec);
	bad_conf = conf_for_extra(e.in, e.demo, extra);

	e.broker = broker_start(broker_conf);
	cons = bus_consumer_new(cli_conf, BUS_Q_DEMO);
	prod = bus_producer_new(cli_conf);
	intruder = bus_producer_new(bad_conf);
	wait_pipeline(prod, cons);

	/* The intruder's pushes are refused at the handshake: nothing it sends arrives. */
	for (j.outbox_id = 500; j.outbox_id < 520; j.outbox_id++) {
		j.kind = JOB_ECHO;
		(void)bus_push(intruder, &j);
	}
	j.outbox_id = 7;
	ck_assert_int_eq(bus_push(prod, &j), 0);
	deadline = now_ms() + 3000;
	for (;;) {
		rc = bus_pull(cons, &got, 100);
		ck_assert_int_ge(rc, 0);
		if (rc == 1 && got.outbox_id >= 1000000)
			continue;    /* a late probe */
		ck_assert_msg(rc == 0 || got.outbox_id == 7, "job %lld got through",
		    (long long)got.outbox_id);
		seen7 += rc;
		if (now_ms() >= deadline)
			break;
	}
	ck_assert_int_eq(seen7, 1);
	bus_free(&intruder);
	bus_free(&prod);
	bus_free(&cons);
	conf_free(&broker_conf);
	conf_free(&cli_conf);
	conf_free(&bad_conf);
	env_free(&e);
}
END_TEST

Suite *
bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *pure = tcase_create("envelope");
	TCase *sock = tcase_create("sockets");

	tcase_add_test(pure, test_kind_tables);
	tcase_add_test(pure, test_encode_exact);
	tcase_add_test(pure, test_round_trip);
	tcase_add_test(pure, test_decode_accepts);
	tcase_add_test(pure, test_decode_rejects);
	tcase_add_test(pure, test_decode_nul_and_size);
	tcase_add_test(pure, test_key_files);
	suite_add_tcase(s, pure);

	tcase_set_timeout(sock, 20);
	tcase_add_test(sock, test_end_to_end);
	tcase_add_test(sock, test_pull_timeout);
	tcase_add_test(sock, test_pull_signal);
	tcase_add_test(sock, test_push_broker_down);
	tcase_add_test(sock, test_pull_skips_malformed);
	tcase_add_test(sock, test_broker_bind_failures);
	tcase_add_test(sock, test_broker_stops);
	tcase_add_test(sock, test_bad_endpoint);
	tcase_add_test(sock, test_curve_allow_list);
	suite_add_tcase(s, sock);
	return s;
}
