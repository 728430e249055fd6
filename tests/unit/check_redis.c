/* check_redis: the Redis wrapper against the stack's server: binary-safe values, error replies,
 * reconnection after CLIENT KILL, timeouts against a stopped server, a server restart. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/conf.h"
#include "infra/redis.h"
#include "suites.h"

static struct conf *t_conf;
static struct redis *t_r;

static struct conf *
tconf(void)
{
	char err[256];
	struct conf *c = conf_load(test_conf_path(), err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

static void
setup(void)
{
	t_conf = tconf();
	t_r = redis_new(t_conf);
	ck_assert_int_eq(redis_ping(t_r), 0);
}

static void
teardown(void)
{
	redis_free(&t_r);
	conf_free(&t_conf);
}

static double
tnow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Asserts reply is a status, string or error reply with exactly text s; frees it. */
static void
treply_text(redisReply *reply, int type, const char *s)
{
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, type);
	ck_assert_str_eq(reply->str, s);
	freeReplyObject(reply);
}

static void
treply_int(redisReply *reply, long long v)
{
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(reply->integer, v);
	freeReplyObject(reply);
}

START_TEST(test_binary_safe)
{
	/* NULs and CRLFs in key and value are data; the value even looks like a command. */
	static const char key[] = "jt:test:redis:bin\0\r\nkey";
	static const char val[] = "a\0b\r\n*1\r\n$4\r\nPING\r\n\xff\xfe";
	const char *set[3] = { "SET", key, val };
	size_t set_lens[3] = { 3, sizeof(key) - 1, sizeof(val) - 1 };
	const char *get[2] = { "GET", key };
	size_t get_lens[2] = { 3, sizeof(key) - 1 };
	const char *del[2] = { "DEL", key };
	redisReply *reply;

	treply_text(redis_cmd(t_r, 3, set, set_lens), REDIS_REPLY_STATUS, "OK");
	reply = redis_cmd(t_r, 2, get, get_lens);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
	ck_assert_uint_eq(reply->len, sizeof(val) - 1);
	ck_assert_int_eq(memcmp(reply->str, val, sizeof(val) - 1), 0);
	freeReplyObject(reply);
	/* The key without its tail after the NUL is another key. */
	treply_int(redis_cmdl(t_r, "EXISTS", "jt:test:redis:bin", (const char *)NULL), 0);
	treply_int(redis_cmd(t_r, 2, del, get_lens), 1);
	reply = redis_cmd(t_r, 2, get, get_lens);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_NIL);
	freeReplyObject(reply);

	/* C-string arguments, UTF-8 intact. */
	treply_text(redis_cmdl(t_r, "SET", "jt:test:redis:ko", "장터 값", (const char *)NULL),
	    REDIS_REPLY_STATUS, "OK");
	treply_text(redis_cmdl(t_r, "GET", "jt:test:redis:ko", (const char *)NULL),
	    REDIS_REPLY_STRING, "장터 값");
	treply_int(redis_cmdl(t_r, "DEL", "jt:test:redis:ko", (const char *)NULL), 1);
}
END_TEST

START_TEST(test_error_reply)
{
	redisReply *reply;

	treply_text(redis_cmdl(t_r, "SET", "jt:test:redis:str", "abc", (const char *)NULL),
	    REDIS_REPLY_STATUS, "OK");
	treply_text(redis_cmdl(t_r, "INCR", "jt:test:redis:str", (const char *)NULL),
	    REDIS_REPLY_ERROR, "ERR value is not an integer or out of range");
	reply = redis_cmdl(t_r, "NOSUCHCMD", "x", (const char *)NULL);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_ERROR);
	ck_assert_int_eq(strncmp(reply->str, "ERR unknown command", 19), 0);
	freeReplyObject(reply);
	/* An error reply leaves the connection usable. */
	ck_assert_int_eq(redis_ping(t_r), 0);
	treply_int(redis_cmdl(t_r, "DEL", "jt:test:redis:str", (const char *)NULL), 1);
	/* No command at all is refused before anything is sent. */
	ck_assert_ptr_null(redis_cmd(t_r, 0, NULL, NULL));
	ck_assert_str_eq(redis_error(t_r), "empty command");
	ck_assert_int_eq(redis_ping(t_r), 0);
}
END_TEST

#define KK "jt:test:redis:k"
#define K8 KK, KK, KK, KK, KK, KK, KK, KK

START_TEST(test_cmdl_bounds)
{
	/* DEL and 63 keys: 64 arguments, the most redis_cmdl takes. */
	treply_int(redis_cmdl(t_r, "DEL", K8, K8, K8, K8, K8, K8, K8, KK, KK, KK, KK, KK,
	    KK, KK, (const char *)NULL), 0);
	ck_assert_ptr_null(redis_cmdl(t_r, "DEL", K8, K8, K8, K8, K8, K8, K8, K8,
	    (const char *)NULL));
	ck_assert_str_eq(redis_error(t_r), "too many arguments");
	ck_assert_int_eq(redis_ping(t_r), 0);
}
END_TEST

START_TEST(test_reconnect_after_client_kill)
{
	struct redis *killer = redis_new(t_conf);
	redisReply *reply;
	long long id, id2;
	char idbuf[32];

	reply = redis_cmdl(t_r, "CLIENT", "ID", (const char *)NULL);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
	id = reply->integer;
	freeReplyObject(reply);
	ck_assert_int_lt(snprintf(idbuf, sizeof(idbuf), "%lld", id), (int)sizeof(idbuf));
	treply_int(redis_cmdl(killer, "CLIENT", "KILL", "ID", idbuf, (const char *)NULL), 1);

	/* The server closed the idle connection: noticed before sending, so the call is made on
	 * a new connection and answers (nothing was sent on the dead one). */
	reply = redis_cmdl(t_r, "CLIENT", "ID", (const char *)NULL);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
	id2 = reply->integer;
	freeReplyObject(reply);
	ck_assert_int_ne(id, id2);
	redis_free(&killer);
	ck_assert_ptr_null(killer);
}
END_TEST

/* The run directory of the stack: $JT_RUN, else the directory of redis.socket. */
static int
trun_dir(char *out, size_t len)
{
	const char *env = getenv("JT_RUN");
	const char *sock = conf_str(t_conf, CONF_REDIS_SOCKET);
	const char *slash = strrchr(sock, '/');

	if (env != NULL && env[0] == '/') {
		ck_assert_int_lt(snprintf(out, len, "%s", env), (int)len);
		return 0;
	}
	if (slash == NULL || slash == sock || (size_t)(slash - sock) >= len)
		return -1;
	memcpy(out, sock, (size_t)(slash - sock));
	out[slash - sock] = '\0';
	return 0;
}

/* The pid in $JT_RUN/pids/redis.pid, or -1. */
static pid_t
tredis_pid(void)
{
	char run[512], path[600], buf[32];
	ssize_t n;
	long v;
	char *end;
	int fd;

	if (trun_dir(run, sizeof(run)) == -1)
		return -1;
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/pids/redis.pid", run),
	    (int)sizeof(path));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || v <= 1)
		return -1;
	return (pid_t)v;
}

/* Runs function fn of script/svc/<script> with JT_RUN set, as the stack would. 0 on success. */
static int
tsvc(const char *script, const char *fn)
{
	const char *srcdir = getenv("JT_SRCDIR");
	char run[512], path[1024];
	pid_t pid;
	int status;

#ifdef JT_SRCDIR
	if (srcdir == NULL)
		srcdir = JT_SRCDIR;
#endif
	if (srcdir == NULL || trun_dir(run, sizeof(run)) == -1)
		return -1;
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/script/svc/%s", srcdir, script),
	    (int)sizeof(path));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* The server outlives this child: it must hold none of the test's descriptors, and
		 * must leave the test's process group, which Check kills when the test ends. */
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		close_range(3, ~0U, 0);
		setsid();
		setenv("JT_RUN", run, 1);
		execl("/bin/bash", "bash", "-c", "set -euo pipefail; source \"$1\"; \"$2\"", "bash",
		    path, fn, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

START_TEST(test_timeout_when_server_stopped)
{
	struct redis *fresh = redis_new(t_conf);
	double timeout = (double)conf_int(t_conf, CONF_REDIS_TIMEOUT_MS) / 1000.0;
	pid_t pid = tredis_pid();
	double t0, held_secs, fresh_secs;
	int held_rc, fresh_rc;

	if (pid == -1) {
		fprintf(stderr, "check_redis: no redis pid file: SIGSTOP timeout not tested\n");
		redis_free(&fresh);
		return;
	}
	/* A frozen server: connections are accepted by the kernel, nothing answers. Record,
	 * thaw, then assert (a failed assertion must not leave the server frozen). */
	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	t0 = tnow();
	held_rc = redis_ping(t_r);
	held_secs = tnow() - t0;
	t0 = tnow();
	fresh_rc = redis_ping(fresh);
	fresh_secs = tnow() - t0;
	ck_assert_int_eq(kill(pid, SIGCONT), 0);

	ck_assert_int_eq(held_rc, -1);
	ck_assert_int_eq(fresh_rc, -1);
	ck_assert_msg(held_secs >= timeout * 0.9 && held_secs < timeout + 0.5,
	    "PING on a frozen server took %.3f s (timeout %.3f s)", held_secs, timeout);
	ck_assert_msg(fresh_secs < 2 * timeout + 0.5, "connect + PING took %.3f s", fresh_secs);
	ck_assert_int_eq(redis_ping(t_r), 0);
	ck_assert_int_eq(redis_ping(fresh), 0);
	redis_free(&fresh);
}
END_TEST

START_TEST(test_restart)
{
	int stop_rc, start_rc, ping_broken, ping_down, ping_up, idle_up;
	struct redis *idle;
	char run[512];
	double t0, down_secs;

	if (trun_dir(run, sizeof(run)) == -1) {
		fprintf(stderr, "check_redis: no run directory: restart not tested\n");
		return;
	}
	/* A connection made before the restart and not used while the server is down: its first
	 * command afterwards must find the new server (a handler's session write, for one). */
	idle = redis_new(t_conf);
	ck_assert_int_eq(redis_ping(idle), 0);
	stop_rc = tsvc("redis.sh", "redis_stop");
	t0 = tnow();
	ping_broken = redis_ping(t_r);      /* the old connection is closed */
	ping_down = redis_ping(t_r);        /* nothing to connect to */
	down_secs = tnow() - t0;
	start_rc = tsvc("redis.sh", "redis_start");
	ping_up = redis_ping(t_r);
	idle_up = redis_ping(idle);
	redis_free(&idle);

	ck_assert_int_eq(stop_rc, 0);
	ck_assert_int_eq(start_rc, 0);
	ck_assert_int_eq(ping_broken, -1);
	ck_assert_int_eq(ping_down, -1);
	ck_assert_msg(down_secs < 0.5, "PING against a stopped server took %.3f s", down_secs);
	ck_assert_int_eq(ping_up, 0);
	ck_assert_int_eq(idle_up, 0);
	treply_text(redis_cmdl(t_r, "SET", "jt:test:redis:after", "1", (const char *)NULL),
	    REDIS_REPLY_STATUS, "OK");
	treply_int(redis_cmdl(t_r, "DEL", "jt:test:redis:after", (const char *)NULL), 1);
}
END_TEST

/* The Redis wrapper's suite (needs the stack's server; see JT_TEST_CONF). */
Suite *
redis_suite(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_binary_safe);
	tcase_add_test(tc, test_error_reply);
	tcase_add_test(tc, test_cmdl_bounds);
	tcase_add_test(tc, test_reconnect_after_client_kill);
	tcase_add_test(tc, test_timeout_when_server_stopped);
	tcase_add_test(tc, test_restart);
	suite_add_tcase(s, tc);
	return s;
}
