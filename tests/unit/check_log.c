/* check_log: the line format, escaping, level filtering, truncation, appends from processes. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "suites.h"

#define LINE_MAX_BYTES 8192

/* The log file of the running test; made fresh by setup, removed by teardown. */
static char log_path[64];

static void
setup(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "/tmp/check_log_XXXXXX");
	fd = mkstemp(log_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_init("check_log", LOG_LVL_DEBUG, log_path), 0);
}

static void
teardown(void)
{
	log_init("check_log", LOG_LVL_INFO, NULL);
	unlink(log_path);
}

/* The whole log file, NUL-terminated; *len gets its size. Caller frees. */
static char *
slurp(size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(log_path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static size_t
count_lines(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			n++;
	return n;
}

/* The text after "user=... " of the only line in the file, without its newline. */
static char *
only_message(void)
{
	size_t len;
	char *all = slurp(&len), *p, *msg;

	ck_assert_uint_eq(count_lines(all, len), 1);
	ck_assert_int_eq(all[len - 1], '\n');
	all[len - 1] = '\0';
	p = strstr(all, " user=");
	ck_assert_ptr_nonnull(p);
	p = strchr(p + 1, ' ');
	ck_assert_ptr_nonnull(p);
	msg = strdup(p + 1);
	free(all);
	return msg;
}

static void
truncate_log(void)
{
	ck_assert_int_eq(truncate(log_path, 0), 0);
}

START_TEST(test_format)
{
	struct log_ctx ctx = { "k3xQ9", "minji@example.com" };
	char pattern[512], *all;
	regex_t re;
	size_t len;
	struct tm tm;
	time_t t;

	log_info(&ctx, "order %d paid: %s", 42, "10000 won");
	all = slurp(&len);
	snprintf(pattern, sizeof(pattern),
	    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
	    "INFO check_log\\[%ld\\] req=k3xQ9 user=minji@example\\.com "
	    "order 42 paid: 10000 won\n$", (long)getpid());
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, all, 0, NULL, 0) == 0, "bad line: %s", all);
	regfree(&re);

	/* The time is UTC and now. */
	memset(&tm, 0, sizeof(tm));
	ck_assert_ptr_nonnull(strptime(all, "%Y-%m-%dT%H:%M:%S", &tm));
	t = timegm(&tm);
	ck_assert_int_le(labs((long)(t - time(NULL))), 5);
	free(all);

	/* Every level word; a NULL context and empty fields print "-". */
	truncate_log();
	log_debug(NULL, "d");
	log_warn(NULL, "w");
	ctx.req_id = "";
	ctx.user = NULL;
	log_error(&ctx, "e");
	all = slurp(&len);
	snprintf(pattern, sizeof(pattern),
	    "^[-0-9T:.]{23}Z DEBUG check_log\\[%ld\\] req=- user=- d\n"
	    "[-0-9T:.]{23}Z WARN check_log\\[%ld\\] req=- user=- w\n"
	    "[-0-9T:.]{23}Z ERROR check_log\\[%ld\\] req=- user=- e\n$",
	    (long)getpid(), (long)getpid(), (long)getpid());
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, all, 0, NULL, 0) == 0, "bad lines: %s", all);
	regfree(&re);
	free(all);
}
END_TEST

START_TEST(test_escape_injection)
{
	struct log_ctx ctx = { "r1\nERROR", "eve user=admin" };
	char *msg, *all;
	size_t len;

	log_info(NULL, "login failed for %s",
	    "bob\n2026-01-01T00:00:00.000Z ERROR jangteo-fcgi[1] req=- user=admin pwned");
	msg = only_message();
	ck_assert_str_eq(msg, "login failed for bob\\x0a2026-01-01T00:00:00.000Z ERROR "
	    "jangteo-fcgi[1] req=- user=admin pwned");
	free(msg);

	truncate_log();
	log_info(NULL, "%s", "a\rb\tc\x1b[31md\x7f" "e\\f\\x0ag");
	msg = only_message();
	ck_assert_str_eq(msg, "a\\x0db\\x09c\\x1b[31md\\x7fe\\\\f\\\\x0ag");
	free(msg);

	/* Context fields are escaped too, and their spaces as well, so fields stay apart. */
	truncate_log();
	log_warn(&ctx, "x");
	all = slurp(&len);
	ck_assert_uint_eq(count_lines(all, len), 1);
	ck_assert_ptr_nonnull(strstr(all, " req=r1\\x0aERROR user=eve\\x20user=admin x\n"));
	free(all);
}
END_TEST

static int side_effects;

static int
bump(void)
{
	return ++side_effects;
}

START_TEST(test_level_filter)
{
	char *all;
	size_t len;

	ck_assert_int_eq(log_init("check_log", LOG_LVL_WARN, log_path), 0);
	ck_assert(!log_enabled(LOG_LVL_DEBUG));
	ck_assert(!log_enabled(LOG_LVL_INFO));
	ck_assert(log_enabled(LOG_LVL_WARN));
	ck_assert(log_enabled(LOG_LVL_ERROR));
	ck_assert(!log_enabled(LOG_LVL__MAX));

	side_effects = 0;
	log_debug(NULL, "%d", bump());
	log_info(NULL, "%d", bump());
	ck_assert_int_eq(side_effects, 0);          /* arguments not even evaluated */
	log_write(NULL, LOG_LVL_INFO, "direct %d", 1);  /* log_write checks as well */
	log_write(NULL, LOG_LVL__MAX, "bogus level");
	all = slurp(&len);
	ck_assert_uint_eq(len, 0);
	free(all);

	log_warn(NULL, "%d", bump());
	log_error(NULL, "%d", bump());
	ck_assert_int_eq(side_effects, 2);
	all = slurp(&len);
	ck_assert_uint_eq(count_lines(all, len), 2);
	ck_assert_ptr_nonnull(strstr(all, " WARN check_log["));
	ck_assert_ptr_nonnull(strstr(all, " user=- 1\n"));
	ck_assert_ptr_nonnull(strstr(all, " ERROR check_log["));
	ck_assert_ptr_nonnull(strstr(all, " user=- 2\n"));
	free(all);
}
END_TEST

START_TEST(test_level_parse_and_init)
{
	enum log_level lvl = LOG_LVL_ERROR;
	char *msg;

	ck_assert_int_eq(log_level_parse("debug", &lvl), 0);
	ck_assert_int_eq(lvl, LOG_LVL_DEBUG);
	ck_assert_int_eq(log_level_parse("info", &lvl), 0);
	ck_assert_int_eq(lvl, LOG_LVL_INFO);
	ck_assert_int_eq(log_level_parse("warn", &lvl), 0);
	ck_assert_int_eq(lvl, LOG_LVL_WARN);
	ck_assert_int_eq(log_level_parse("error", &lvl), 0);
	ck_assert_int_eq(lvl, LOG_LVL_ERROR);
	ck_assert_int_eq(log_level_parse("ERROR", &lvl), -1);
	ck_assert_int_eq(log_level_parse("warning", &lvl), -1);
	ck_assert_int_eq(log_level_parse("", &lvl), -1);
	ck_assert_int_eq(log_level_parse(NULL, &lvl), -1);
	ck_assert_int_eq(lvl, LOG_LVL_ERROR);

	/* A file that cannot be opened fails and leaves the current output in place. */
	ck_assert_int_eq(log_init("other", LOG_LVL_DEBUG, "/nonexistent-dir/x.log"), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(log_init("other", LOG_LVL__MAX, log_path), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = EAGAIN;
	log_info(NULL, "still here");
	ck_assert_int_eq(errno, EAGAIN);            /* logging preserves errno */
	msg = only_message();
	ck_assert_str_eq(msg, "still here");
	free(msg);
}
END_TEST

START_TEST(test_utf8)
{
	char *msg;

	log_info(NULL, "주문 %s 결제 완료 (%d원)", "장터-123", 15000);
	msg = only_message();
	ck_assert_str_eq(msg, "주문 장터-123 결제 완료 (15000원)");
	free(msg);

	truncate_log();
	log_info(NULL, "%s", "ok \xf0\x9f\x98\x80 é");
	msg = only_message();
	ck_assert_str_eq(msg, "ok \xf0\x9f\x98\x80 é");
	free(msg);

	/* Broken sequences, overlong forms, surrogates and C1 controls come out as \xNN. */
	truncate_log();
	log_info(NULL, "%s",
	    "a\xea\xb0z \xc0\xaf \x80 \xed\xa0\x80 \xc2\x9b[2J \xf5\x80\x80\x80 \xea\xb0");
	msg = only_message();
	ck_assert_str_eq(msg, "a\\xea\\xb0z \\xc0\\xaf \\x80 \\xed\\xa0\\x80 \\xc2\\x9b[2J "
	    "\\xf5\\x80\\x80\\x80 \\xea\\xb0");
	free(msg);
}
END_TEST

START_TEST(test_truncation)
{
	char *big = malloc(20000), *all;
	size_t len, prefix, room, i;

	ck_assert_ptr_nonnull(big);
	/* The prefix length, from a one-byte message. */
	log_info(NULL, "x");
	all = slurp(&len);
	prefix = len - 2;
	free(all);
	room = LINE_MAX_BYTES - 4 - prefix;     /* message bytes that fit before "...\n" */

	/* Exactly at the limit: written whole. */
	truncate_log();
	memset(big, 'a', room);
	big[room] = '\0';
	log_info(NULL, "%s", big);
	all = slurp(&len);
	ck_assert_uint_eq(len, prefix + room + 1);
	ck_assert_int_eq(all[len - 2], 'a');
	free(all);

	/* One byte more: cut, ending in "...", 8 KiB with the newline. */
	truncate_log();
	memset(big, 'a', room + 1);
	big[room + 1] = '\0';
	log_info(NULL, "%s", big);
	all = slurp(&len);
	ck_assert_uint_eq(len, LINE_MAX_BYTES);
	ck_assert_uint_eq(count_lines(all, len), 1);
	ck_assert_str_eq(all + len - 5, "a...\n");
	free(all);

	/* Far longer than the format buffer. */
	truncate_log();
	memset(big, 'b', 19999);
	big[19999] = '\0';
	log_info(NULL, "%s%s", big, big);
	all = slurp(&len);
	ck_assert_uint_eq(len, LINE_MAX_BYTES);
	ck_assert_str_eq(all + len - 5, "b...\n");
	free(all);

	/* Never cut inside a character or an escape. */
	truncate_log();
	big[0] = '\0';
	for (i = 0; i < 3000; i++)
		memcpy(big + i * 3, "장", 4);
	log_info(NULL, "%s", big);
	all = slurp(&len);
	ck_assert_uint_le(len, LINE_MAX_BYTES);
	ck_assert_uint_eq((len - 4 - prefix) % 3, 0);
	ck_assert_str_eq(all + len - 7, "장...\n");
	free(all);

	truncate_log();
	memset(big, '\n', 5000);
	big[5000] = '\0';
	log_info(NULL, "%s", big);
	all = slurp(&len);
	ck_assert_uint_le(len, LINE_MAX_BYTES);
	ck_assert_uint_eq(count_lines(all, len), 1);
	ck_assert_uint_eq((len - 4 - prefix) % 4, 0);
	ck_assert_str_eq(all + len - 8, "\\x0a...\n");
	free(all);
	free(big);
}
END_TEST

#define FORK_LINES 2000
#define FORK_PAD 3000

/* Two processes append to one file at once; every line comes out whole. */
START_TEST(test_fork_append)
{
	static char pad[FORK_PAD + 1];
	int seen[2][FORK_LINES];
	pid_t kids[2];
	char *all, *line, *save = NULL;
	size_t len, n = 0;
	int w, i, status;

	memset(pad, 'p', FORK_PAD);
	memset(seen, 0, sizeof(seen));
	for (w = 0; w < 2; w++) {
		kids[w] = fork();
		ck_assert_int_ge(kids[w], 0);
		if (kids[w] == 0) {
			/* The second child reopens the file itself: both ways must hold. */
			if (w == 1 && log_init("check_log", LOG_LVL_DEBUG, log_path) == -1)
				_exit(2);
			for (i = 0; i < FORK_LINES; i++)
				log_info(NULL, "writer=%d line=%d %s", w, i, pad);
			_exit(0);
		}
	}
	for (w = 0; w < 2; w++) {
		ck_assert_int_eq(waitpid(kids[w], &status, 0), kids[w]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	all = slurp(&len);
	ck_assert_int_eq(all[len - 1], '\n');
	for (line = strtok_r(all, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const char *m = strstr(line, " user=- writer=");
		int wr, ln, off = 0;

		ck_assert_msg(m != NULL, "broken line: %.80s", line);
		ck_assert_int_eq(sscanf(m, " user=- writer=%d line=%d %n", &wr, &ln, &off), 2);
		ck_assert(wr == 0 || wr == 1);
		ck_assert(ln >= 0 && ln < FORK_LINES);
		ck_assert_uint_eq(strlen(m + off), FORK_PAD);
		ck_assert_str_eq(m + off, pad);
		ck_assert_int_eq(line[23], 'Z');
		seen[wr][ln]++;
		n++;
	}
	ck_assert_uint_eq(n, 2 * FORK_LINES);
	for (w = 0; w < 2; w++)
		for (i = 0; i < FORK_LINES; i++)
			ck_assert_int_eq(seen[w][i], 1);
	free(all);
}
END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_escape_injection);
	tcase_add_test(tc, test_level_filter);
	tcase_add_test(tc, test_level_parse_and_init);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_fork_append);
	suite_add_tcase(s, tc);
	return s;
}
