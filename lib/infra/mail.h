/* mail: sends one plain-text UTF-8 message through the SMTP relay of the config (libcurl's
 * SMTP), with connect and total timeouts. Headers are built here from checked values: a
 * header value holding CR or LF (or any control byte) is refused, never sent. */
#ifndef JT_MAIL_H
#define JT_MAIL_H

#include <time.h>
#include "base/buf.h"

struct conf;
struct log_ctx;

/* What happened to a message. */
enum mail_rc {
	MAIL_OK = 0,        /* the relay accepted the message (250 after the data) */
	MAIL_ERR_USAGE,     /* a bad address, subject or body, or a bad relay URL: nothing sent */
	MAIL_ERR_CONNECT,   /* the relay could not be reached: nothing sent */
	MAIL_ERR_REFUSED,   /* the relay answered with an error (4xx/5xx) */
	MAIL_ERR_TIMEOUT,   /* the relay did not finish in time: it may or may not deliver */
	MAIL_ERR_IO,        /* the connection broke, TLS failed, ... */
	MAIL_RC__MAX
};

/* Writes the whole message (headers, blank line, body) into out, lines ended by CRLF:
 * From ("장터" <from>), To, Subject (RFC 2047 UTF-8 "B" encoded-words, folded, when it is not
 * plain ASCII), Date (of now, UTC), Message-ID (random, at from's domain), MIME-Version,
 * Content-Type text/plain; charset=UTF-8, Content-Transfer-Encoding 8bit. from and to must
 * pass valid_email; subject must be 1..200 bytes of UTF-8 without control bytes (so no CR or
 * LF); body must be UTF-8 without NUL or control bytes other than tab, CR and LF, its line
 * ends (LF, CR or CRLF) become CRLF, and no line may exceed 998 bytes. Returns 0, or -1 on
 * any refused value (out is then left as it was). */
int mail_compose(struct buf *out, const char *from, const char *to, const char *subject,
    const char *body, time_t now);

/* Sends one message to to from smtp.from through smtp.url (smtp:// or smtps://; with
 * smtp.user set, plain smtp:// must upgrade with STARTTLS), bounded by
 * http.connect_timeout_ms and http.total_timeout_ms. The connection to the relay is kept
 * open for the next call (one per process; closed after a failure, and when the relay closes
 * it). Failures are logged under log (may be NULL); the body is never logged. Returns an
 * enum mail_rc. */
enum mail_rc mail_send(const struct conf *c, const struct log_ctx *log, const char *to,
    const char *subject, const char *body);

/* English name of rc, for logs. */
const char *mail_rc_name(enum mail_rc rc);

#endif
