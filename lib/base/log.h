/* log: the one logging call family. One line per event:
 *   2026-11-21T14:41:58.123Z INFO jangteo-fcgi[1234] req=k3x... user=- message
 * The level is checked before anything is formatted; non-printable bytes in the message are
 * written as \xNN so a hostile value cannot forge lines. Never pass passwords or tokens. */
#ifndef JT_LOG_H
#define JT_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR, LOG_LVL__MAX };

/* Who a line is about: the request id and the user (NULL prints "-"). */
struct log_ctx {
	const char *req_id;
	const char *user;
};

/* Sets the program name, minimum level and output. path NULL or "-" means stderr; otherwise
 * the file is opened for append (O_APPEND, so processes may share it). Returns 0 or -1. */
int log_init(const char *progname, enum log_level min, const char *path);

/* Parses "debug", "info", "warn", "error". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);

bool log_enabled(enum log_level lvl);

/* Formats and writes one line (use the macros below, which check the level first). */
void log_write(const struct log_ctx *ctx, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT(ctx, lvl, ...) \
	do { if (log_enabled(lvl)) log_write((ctx), (lvl), __VA_ARGS__); } while (0)
#define log_debug(ctx, ...) LOG_AT(ctx, LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(ctx, ...)  LOG_AT(ctx, LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(ctx, ...)  LOG_AT(ctx, LOG_LVL_WARN, __VA_ARGS__)
#define log_error(ctx, ...) LOG_AT(ctx, LOG_LVL_ERROR, __VA_ARGS__)

#endif
