/* mail: composing and sending one plain-text message over SMTP with libcurl (see mail.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "base/conf.h"
#include "base/ids.h"
#include "base/log.h"
#include "infra/mail.h"
#include "base/valid.h"

#define MAIL_SUBJECT_MAX 200     /* bytes */
#define MAIL_LINE_MAX 998        /* bytes per line, RFC 5322 section 2.1.1 */
#define MAIL_WORD_CHUNK 45       /* bytes per encoded-word: 60 base64 chars + 12 = 72 <= 75 */

static const char *const mail_rc_names[MAIL_RC__MAX] = {
	"ok", "usage", "connect", "refused", "timeout", "io",
};

/* The display name of the sender, "장터", as an RFC 2047 encoded-word. */
static const char mail_from_name[] = "=?UTF-8?B?7J6l7YSw?=";

static const char mail_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *
mail_rc_name(enum mail_rc rc)
{
	if ((unsigned)rc >= MAIL_RC__MAX)
		return "?";
	return mail_rc_names[rc];
}

static void
mail_base64(struct buf *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		buf_putc(out, mail_b64[p[i] >> 2]);
		buf_putc(out, mail_b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		buf_putc(out, mail_b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]);
		buf_putc(out, mail_b64[p[i + 2] & 63]);
	}
	if (n - i == 1) {
		buf_putc(out, mail_b64[p[i] >> 2]);
		buf_putc(out, mail_b64[(p[i] & 3) << 4]);
		buf_puts(out, "==");
	} else if (n - i == 2) {
		buf_putc(out, mail_b64[p[i] >> 2]);
		buf_putc(out, mail_b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		buf_putc(out, mail_b64[(p[i + 1] & 15) << 2]);
		buf_putc(out, '=');
	}
}

/* True when s[0..len) is UTF-8 without control bytes (tab allowed when allow_tab). */
static bool
mail_clean_text(const char *s, size_t len, bool allow_tab)
{
	size_t i;

	if (!valid_utf8(s, len))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f)
			return false;
	}
	return true;
}

/* Writes the Subject header: as is when printable ASCII, else as encoded-words of at most
 * MAIL_WORD_CHUNK bytes each, cut at character boundaries, one per folded line. */
static void
mail_subject(struct buf *out, const char *s, size_t len)
{
	size_t i, start, cp_len;
	bool ascii = true;
	uint32_t cp;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	/* "=?" in plain text would read as an encoded-word: encode that too. */
	if (ascii && strstr(s, "=?") == NULL) {
		buf_puts(out, "Subject: ");
		buf_append(out, s, len);
		buf_puts(out, "\r\n");
		return;
	}
	buf_puts(out, "Subject:");
	start = 0;
	i = 0;
	while (i < len) {
		cp_len = valid_utf8_next((const unsigned char *)s + i, len - i, &cp);
		if (i + cp_len - start > MAIL_WORD_CHUNK) {
			buf_puts(out, " =?UTF-8?B?");
			mail_base64(out, (const unsigned char *)s + start, i - start);
			buf_puts(out, "?=\r\n");
			start = i;
		}
		i += cp_len;
	}
	buf_puts(out, " =?UTF-8?B?");
	mail_base64(out, (const unsigned char *)s + start, len - start);
	buf_puts(out, "?=\r\n");
}

/* Appends body with every line end as CRLF. -1 when a line is longer than MAIL_LINE_MAX. */
static int
mail_body(struct buf *out, const char *s)
{
	size_t line = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			buf_puts(out, "\r\n");
			line = 0;
			continue;
		}
		if (++line > MAIL_LINE_MAX)
			return -1;
		buf_putc(out, *s);
	}
	if (line > 0)
		buf_puts(out, "\r\n");
	return 0;
}

int
mail_compose(struct buf *out, const char *from, const char *to, const char *subject,
    const char *body, time_t now)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	size_t subject_len, body_len, mark = out->len;
	char msgid[25];
	struct tm tm;

	if (from == NULL || to == NULL || subject == NULL || body == NULL ||
	    !valid_email(from) || !valid_email(to))
		return -1;
	subject_len = strlen(subject);
	body_len = strlen(body);
	if (subject_len == 0 || subject_len > MAIL_SUBJECT_MAX ||
	    !mail_clean_text(subject, subject_len, false))
		return -1;
	if (!valid_utf8(body, body_len))
		return -1;
	for (const char *p = body; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return -1;
	}
	if (gmtime_r(&now, &tm) == NULL)
		return -1;
	ids_new(msgid, sizeof(msgid));

	buf_printf(out, "From: %s <%s>\r\n", mail_from_name, from);
	buf_printf(out, "To: <%s>\r\n", to);
	mail_subject(out, subject, subject_len);
	buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	buf_printf(out, "Message-ID: <%s@%s>\r\n", msgid, strchr(from, '@') + 1);
	buf_puts(out, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n");
	if (mail_body(out, body) != 0) {
		buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

/* The message being uploaded by libcurl's read callback. */
struct mail_upload {
	const char *data;
	size_t len;
	size_t off;
};

static size_t
mail_read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct mail_upload *up = arg;
	size_t room = size * nmemb, n = up->len - up->off;

	if (n > room)
		n = room;
	memcpy(dst, up->data + up->off, n);
	up->off += n;
	return n;
}

static enum mail_rc
mail_classify(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return MAIL_OK;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_LOGIN_DENIED:
		return MAIL_ERR_USAGE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return MAIL_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return MAIL_ERR_TIMEOUT;
	case CURLE_SEND_ERROR:          /* SMTP: MAIL, RCPT or DATA refused */
	case CURLE_WEIRD_SERVER_REPLY:  /* SMTP: the data refused after the final dot */
	case CURLE_RECV_ERROR:
		return MAIL_ERR_REFUSED;
	default:
		return MAIL_ERR_IO;
	}
}

/* Sets an option that only fails on an unusable libcurl or out of memory. */
#define MAIL_SETOPT(h, opt, val) \
	do { if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) goto out; } while (0)

enum mail_rc
mail_send(const struct conf *c, const struct log_ctx *log, const char *to, const char *subject,
    const char *body)
{
	static bool global_done;
	static CURL *kept;  /* this process's handle, with its open connection to the relay */
	const char *url = conf_str(c, CONF_SMTP_URL), *from = conf_str(c, CONF_SMTP_FROM);
	const char *user = conf_str(c, CONF_SMTP_USER);
	char errbuf[CURL_ERROR_SIZE] = "";
	char env_from[300], env_to[300];
	struct curl_slist *rcpt = NULL;
	struct mail_upload up = { 0 };
	struct buf msg = { 0 };
	enum mail_rc rc = MAIL_ERR_IO;
	long smtp_code = 0;
	CURLcode cc;
	CURL *h = NULL;

	if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0) {
		log_error(log, "mail: smtp.url must start with smtp:// or smtps://");
		return MAIL_ERR_USAGE;
	}
	if (mail_compose(&msg, from, to, subject, body, time(NULL)) != 0) {
		log_error(log, "mail: refused to compose a message (bad address, subject or body)");
		return MAIL_ERR_USAGE;
	}
	/* The process is single-threaded, so a flag is guard enough; libcurl counts calls. */
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_error(log, "mail: curl_global_init failed");
			goto out;
		}
		global_done = true;
	}
	snprintf(env_from, sizeof(env_from), "<%s>", from);
	snprintf(env_to, sizeof(env_to), "<%s>", to);
	rcpt = curl_slist_append(NULL, env_to);
	/* One handle kept between mails: libcurl keeps its connection to the relay open, so the
	 * next mail is MAIL, RCPT and DATA on it, not a connect, greeting and EHLO each time
	 * (a relay that closed it meanwhile is noticed and reconnected to). */
	if (kept != NULL)
		curl_easy_reset(kept);
	else
		kept = curl_easy_init();
	h = kept;
	if (rcpt == NULL || h == NULL)
		goto out;
	up.data = msg.data;
	up.len = msg.len;
	MAIL_SETOPT(h, CURLOPT_URL, url);
	MAIL_SETOPT(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	MAIL_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	MAIL_SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	MAIL_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long)conf_int(c, CONF_HTTP_CONNECT_TIMEOUT_MS));
	MAIL_SETOPT(h, CURLOPT_TIMEOUT_MS, (long)conf_int(c, CONF_HTTP_TOTAL_TIMEOUT_MS));
	MAIL_SETOPT(h, CURLOPT_MAIL_FROM, env_from);
	MAIL_SETOPT(h, CURLOPT_MAIL_RCPT, rcpt);
	MAIL_SETOPT(h, CURLOPT_UPLOAD, 1L);
	MAIL_SETOPT(h, CURLOPT_READFUNCTION, mail_read_cb);
	MAIL_SETOPT(h, CURLOPT_READDATA, &up);
	MAIL_SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
	if (user[0] != '\0') {
		/* Never send a password in clear: plain smtp:// must upgrade with STARTTLS. */
		MAIL_SETOPT(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		MAIL_SETOPT(h, CURLOPT_USERNAME, user);
		MAIL_SETOPT(h, CURLOPT_PASSWORD, conf_str(c, CONF_SMTP_PASSWORD));
	}
	cc = curl_easy_perform(h);
	rc = mail_classify(cc);
	if (rc != MAIL_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &smtp_code);
		log_warn(log, "mail: not sent (%s): %s, last SMTP reply %ld", mail_rc_name(rc),
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc), smtp_code);
	}
out:
	if (rc != MAIL_OK && kept != NULL) {  /* a failed conversation: a new connection next */
		curl_easy_cleanup(kept);
		kept = NULL;
	}
	curl_slist_free_all(rcpt);
	buf_release(&msg);
	return rc;
}
