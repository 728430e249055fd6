/* log: formats, escapes and writes log lines, one write(2) per line. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/valid.h"

#define LOG_LINE_MAX 8192      /* bytes in a line, newline included */
#define LOG_ELLIPSIS "..."

/* Process-wide settings, written by log_init only: the program name, the lowest level
 * written and the descriptor (2 until log_init opens a file; owned when log_fd_owned). */
static char log_progname[64] = "jangteo";
static enum log_level log_min = LOG_LVL_INFO;
static int log_fd = STDERR_FILENO;
static bool log_fd_owned;

static const char *const log_level_names[LOG_LVL__MAX] = {
	"debug", /* LOG_LVL_DEBUG */
	"info",  /* LOG_LVL_INFO */
	"warn",  /* LOG_LVL_WARN */
	"error", /* LOG_LVL_ERROR */
};

static const char *const log_level_words[LOG_LVL__MAX] = {
	"DEBUG", /* LOG_LVL_DEBUG */
	"INFO",  /* LOG_LVL_INFO */
	"WARN",  /* LOG_LVL_WARN */
	"ERROR", /* LOG_LVL_ERROR */
};

/* A line being built in a fixed buffer; room for the ellipsis and newline is kept back. */
struct log_line {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool truncated;
};

/* Bytes a line may hold before the "..." and the newline. */
#define LOG_ROOM (LOG_LINE_MAX - (sizeof(LOG_ELLIPSIS) - 1) - 1)

/* Appends s[0..n) whole, or marks the line truncated and appends nothing. */
static bool
log_put(struct log_line *l, const char *s, size_t n)
{
	if (l->truncated || n > LOG_ROOM - l->len) {
		l->truncated = true;
		return false;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return true;
}

static bool
log_put_hex(struct log_line *l, unsigned char b)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4] = { '\\', 'x', hex[b >> 4], hex[b & 0x0f] };

	return log_put(l, esc, sizeof(esc));
}

/* Length of the well-formed UTF-8 sequence at s[0..n) that starts with a byte >= 0x80, or 0
 * when it is malformed or is a C1 control character (U+0080..U+009F, which some terminals
 * obey). */
static size_t
log_utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t seq = valid_utf8_next(s, n, &cp);

	return cp >= 0x80 && cp <= 0x9f ? 0 : seq;
}

/* Appends s[0..n) escaped: bytes below 0x20, 0x7f, bytes outside well-formed UTF-8 and
 * (when esc_space) the space as \xNN, the backslash as \\. Stops, marking the line
 * truncated, before the first unit that does not fit; a unit is never split. */
static void
log_put_escaped(struct log_line *l, const char *s, size_t n, bool esc_space)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char b = u[i];
		size_t seq;
		bool ok;

		if (b == '\\') {
			ok = log_put(l, "\\\\", 2);
			seq = 1;
		} else if (b < 0x20 || b == 0x7f || (esc_space && b == ' ')) {
			ok = log_put_hex(l, b);
			seq = 1;
		} else if (b < 0x80) {
			ok = log_put(l, s + i, 1);
			seq = 1;
		} else {
			seq = log_utf8_seq(u + i, n - i);
			if (seq == 0) {
				ok = log_put_hex(l, b);
				seq = 1;
			} else {
				ok = log_put(l, s + i, seq);
			}
		}
		if (!ok)
			return;
		i += seq;
	}
}

/* A context field: NULL or empty prints "-"; spaces are escaped so fields stay separable. */
static void
log_put_field(struct log_line *l, const char *name, const char *value)
{
	log_put(l, name, strlen(name));
	if (value == NULL || *value == '\0')
		log_put(l, "-", 1);
	else
		log_put_escaped(l, value, strlen(value), true);
}

/* Sets the program name, minimum level and output. path NULL or "-" means stderr; otherwise
 * the file is opened for append (O_APPEND, so processes may share it) and created 0640 if
 * missing. May be called again (after fork, on reopen); the previous file is closed. The
 * settings are left unchanged when the file cannot be opened. Returns 0, or -1 with errno
 * set (EINVAL for a bad level). */
int
log_init(const char *progname, enum log_level min, const char *path)
{
	int fd = STDERR_FILENO;

	if ((int)min < 0 || min >= LOG_LVL__MAX) {
		errno = EINVAL;
		return -1;
	}
	if (path != NULL && strcmp(path, "-") != 0) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd == -1)
			return -1;
	}
	if (log_fd_owned)
		close(log_fd);
	log_fd = fd;
	log_fd_owned = fd != STDERR_FILENO;
	log_min = min;
	if (progname != NULL && *progname != '\0')
		snprintf(log_progname, sizeof(log_progname), "%s", progname);
	return 0;
}

/* Parses "debug", "info", "warn", "error" (exactly, lower case) into *out. Returns 0, or -1
 * leaving *out untouched. */
int
log_level_parse(const char *s, enum log_level *out)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < LOG_LVL__MAX; i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* True when a line at lvl would be written. */
bool
log_enabled(enum log_level lvl)
{
	return (int)lvl >= 0 && lvl < LOG_LVL__MAX && lvl >= log_min;
}

/* Formats and writes one line "TIME LEVEL prog[pid] req=R user=U message\n" in a single
 * write(2). The message is escaped as described at log_put_escaped; a line longer than
 * 8 KiB is cut at a character boundary and ends in "...". ctx may be NULL. Write errors
 * are ignored and errno is preserved. */
void
log_write(const struct log_ctx *ctx, enum log_level lvl, const char *fmt, ...)
{
	struct log_line l;
	char msg[LOG_LINE_MAX];
	char head[160];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int saved_errno = errno, n;
	size_t off;

	if (!log_enabled(lvl))
		return;
	l.len = 0;
	l.truncated = false;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1;
	snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%ld] ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000, log_level_words[lvl], log_progname, (long)getpid());
	log_put(&l, head, strlen(head));
	log_put_field(&l, "req=", ctx != NULL ? ctx->req_id : NULL);
	log_put(&l, " ", 1);
	log_put_field(&l, "user=", ctx != NULL ? ctx->user : NULL);
	log_put(&l, " ", 1);
	log_put_escaped(&l, msg, (size_t)n, false);
	if (l.truncated) {
		memcpy(l.buf + l.len, LOG_ELLIPSIS, sizeof(LOG_ELLIPSIS) - 1);
		l.len += sizeof(LOG_ELLIPSIS) - 1;
	}
	l.buf[l.len++] = '\n';

	for (off = 0; off < l.len;) {
		ssize_t w = write(log_fd, l.buf + off, l.len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved_errno;
}
