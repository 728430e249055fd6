/* oauth: social login with Naver and Kakao: provider table, authorize URL, token exchange,
 * profile fetch and the strict parsers for their answers (see oauth.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "infra/http.h"
#include "base/jparse.h"
#include "base/log.h"
#include "clients/oauth.h"
#include "base/valid.h"

#define OAUTH_JSON_MAX (64 * 1024)  /* bytes of a provider answer we parse */
#define OAUTH_JSON_DEPTH 8          /* Kakao's profile nests 3 deep */
#define OAUTH_NAME_MAX 100          /* bytes of a display name (struct account, session) */

struct oauth_info {
	const char *name;               /* in paths and user_identities.provider */
	const char *label;              /* shown to shoppers */
	enum conf_key client_id;
	enum conf_key client_secret;    /* sent only when not empty (optional at Kakao) */
	enum conf_key authorize_url;
	enum conf_key token_url;
	enum conf_key profile_url;
	bool token_sends_state;         /* Naver's token call takes the state back */
	enum oauth_rc (*profile)(struct json_object *o, struct oauth_profile *out);
};

static enum oauth_rc naver_profile(struct json_object *o, struct oauth_profile *out);
static enum oauth_rc kakao_profile(struct json_object *o, struct oauth_profile *out);

static const struct oauth_info oauth_providers[OAUTH_PROVIDER__MAX] = {
	{ "naver", "네이버", CONF_OAUTH_NAVER_CLIENT_ID, CONF_OAUTH_NAVER_CLIENT_SECRET,
	  CONF_OAUTH_NAVER_AUTHORIZE_URL, CONF_OAUTH_NAVER_TOKEN_URL, CONF_OAUTH_NAVER_PROFILE_URL,
	  true, naver_profile },                                        /* OAUTH_NAVER */
	{ "kakao", "카카오", CONF_OAUTH_KAKAO_CLIENT_ID, CONF_OAUTH_KAKAO_CLIENT_SECRET,
	  CONF_OAUTH_KAKAO_AUTHORIZE_URL, CONF_OAUTH_KAKAO_TOKEN_URL, CONF_OAUTH_KAKAO_PROFILE_URL,
	  false, kakao_profile },                                       /* OAUTH_KAKAO */
};

static const char *const oauth_rc_names[OAUTH_RC__MAX] = {
	"ok",                   /* OAUTH_OK */
	"provider unavailable", /* OAUTH_ERR_UNAVAILABLE */
	"refused",              /* OAUTH_ERR_REFUSED */
	"bad response",         /* OAUTH_ERR_BAD_RESPONSE */
	"configuration error",  /* OAUTH_ERR_USAGE */
};

const char *
oauth_provider_name(enum oauth_provider p)
{
	return oauth_providers[p].name;
}

const char *
oauth_provider_label(enum oauth_provider p)
{
	return oauth_providers[p].label;
}

int
oauth_provider_parse(const char *name, enum oauth_provider *out)
{
	int p;

	if (name == NULL)
		return -1;
	for (p = 0; p < OAUTH_PROVIDER__MAX; p++) {
		if (strcmp(name, oauth_providers[p].name) == 0) {
			*out = (enum oauth_provider)p;
			return 0;
		}
	}
	return -1;
}

bool
oauth_enabled(const struct conf *c, enum oauth_provider p)
{
	return conf_str(c, oauth_providers[p].client_id)[0] != '\0';
}

/* English name of rc, for logs. */
static const char *
oauth_rc_name(enum oauth_rc rc)
{
	return rc >= 0 && rc < OAUTH_RC__MAX ? oauth_rc_names[rc] : "?";
}

/* True when s is 1..max bytes of printable ASCII without spaces (0x21..0x7e). */
static bool
printable_word(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max || (unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	}
	return i > 0;
}

/* Appends "&key=value" (no '&' first when the buffer is empty), both escaped. */
static void
add_param(struct buf *b, char sep, const char *key, const char *val)
{
	if (sep != '\0')
		buf_putc(b, sep);
	esc_url_query(b, key);
	buf_putc(b, '=');
	esc_url_query(b, val);
}

int
oauth_authorize_url(const struct conf *c, enum oauth_provider p, const char *redirect_uri,
    const char *state, struct buf *out)
{
	const struct oauth_info *pi = &oauth_providers[p];
	const char *base = conf_str(c, pi->authorize_url);

	if ((strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0) ||
	    !printable_word(base, 2048) || strchr(base, '#') != NULL)
		return -1;
	buf_puts(out, base);
	add_param(out, strchr(base, '?') != NULL ? '&' : '?', "response_type", "code");
	add_param(out, '&', "client_id", conf_str(c, pi->client_id));
	add_param(out, '&', "redirect_uri", redirect_uri);
	add_param(out, '&', "state", state);
	return 0;
}

/* Copies s into out (cap bytes) when it fits; else leaves out as "". */
static void
copy_str(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	out[0] = '\0';
	if (n < cap) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
}

/* Parses body as a strict JSON object; NULL when it is not one. */
static struct json_object *
parse_object(const char *body, size_t len)
{
	struct json_object *o = NULL;

	if (jparse(body != NULL ? body : "", len, OAUTH_JSON_MAX, OAUTH_JSON_DEPTH, &o) != JPARSE_OK)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

enum oauth_rc
oauth_parse_token(enum oauth_provider p, long status, const char *body, size_t len,
    char *token, size_t cap, char *err, size_t err_cap)
{
	enum oauth_rc rc = OAUTH_ERR_BAD_RESPONSE;
	struct json_object *o;
	const char *s, *type;
	int has;

	(void)p;  /* both providers answer the same shape; Naver's errors come with 200 */
	if (cap > 0)
		token[0] = '\0';
	if (err_cap > 0)
		err[0] = '\0';
	if (status >= 500 && status <= 599)
		return OAUTH_ERR_UNAVAILABLE;
	if (status != 200 && status != 400 && status != 401)
		return OAUTH_ERR_BAD_RESPONSE;
	o = parse_object(body, len);
	if (o == NULL)
		return OAUTH_ERR_BAD_RESPONSE;
	has = jparse_string(o, "error", 256, &s);
	if (has == 0) {
		if (err_cap > 0)
			snprintf(err, err_cap, "%s", s);
		rc = OAUTH_ERR_REFUSED;
		goto out;
	}
	if (has < 0 || status != 200)
		goto out;
	if (jparse_string(o, "access_token", OAUTH_TOKEN_MAX, &s) != 0 ||
	    !printable_word(s, OAUTH_TOKEN_MAX) || strlen(s) >= cap)
		goto out;
	has = jparse_string(o, "token_type", 32, &type);
	if (has < 0 || (has == 0 && strcasecmp(type, "bearer") != 0))
		goto out;
	memcpy(token, s, strlen(s) + 1);
	rc = OAUTH_OK;
out:
	json_object_put(o);
	return rc;
}

/* Stores a display name: cut to OAUTH_NAME_MAX bytes at a character boundary, kept only when
 * it is then valid text. */
static void
set_name(struct oauth_profile *out, const char *s)
{
	size_t n = strlen(s);

	if (n > OAUTH_NAME_MAX) {
		n = OAUTH_NAME_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n == 0 || !valid_text(s, n, OAUTH_NAME_MAX, false))
		return;
	memcpy(out->name, s, n);
	out->name[n] = '\0';
}

/* An optional object member: 0 stored in *v, 1 absent, -1 present but not an object.
 * (Optional strings are jparse_string with a cap of the whole answer: 1 when absent.) */
static int
opt_object(struct json_object *o, const char *key, struct json_object **v)
{
	if (!json_object_object_get_ex(o, key, v))
		return 1;
	return json_object_is_type(*v, json_type_object) ? 0 : -1;
}

/* Naver: {"resultcode":"00","message":"success","response":{"id":"...","email":...}}. */
static enum oauth_rc
naver_profile(struct json_object *o, struct oauth_profile *out)
{
	struct json_object *resp;
	const char *s, *at, *nick, *name;
	int rc_nick, rc_name;

	if (jparse_string(o, "resultcode", 16, &s) != 0 || strcmp(s, "00") != 0 ||
	    opt_object(o, "response", &resp) != 0)
		return OAUTH_ERR_BAD_RESPONSE;
	if (jparse_string(resp, "id", OAUTH_SUBJECT_MAX, &s) != 0 ||
	    !valid_token(s, 1, OAUTH_SUBJECT_MAX))
		return OAUTH_ERR_BAD_RESPONSE;
	copy_str(out->subject, sizeof(out->subject), s);
	switch (jparse_string(resp, "email", OAUTH_JSON_MAX, &s)) {
	case -1:
		return OAUTH_ERR_BAD_RESPONSE;
	case 0:
		if (!valid_email(s))
			break;
		copy_str(out->email, sizeof(out->email), s);
		at = strrchr(out->email, '@');
		out->email_verified = at != NULL && strcasecmp(at + 1, "naver.com") == 0;
		break;
	}
	rc_nick = jparse_string(resp, "nickname", OAUTH_JSON_MAX, &nick);
	rc_name = jparse_string(resp, "name", OAUTH_JSON_MAX, &name);
	if (rc_nick < 0 || rc_name < 0)
		return OAUTH_ERR_BAD_RESPONSE;
	if (rc_nick == 0)
		set_name(out, nick);
	if (out->name[0] == '\0' && rc_name == 0)
		set_name(out, name);
	return OAUTH_OK;
}

/* Kakao: {"id":123,"kakao_account":{"email":...,"is_email_valid":true,"is_email_verified":
 * true,"profile":{"nickname":...}},"properties":{"nickname":...}}. */
static enum oauth_rc
kakao_profile(struct json_object *o, struct oauth_profile *out)
{
	struct json_object *acct = NULL, *prof = NULL, *props = NULL;
	int64_t id;
	int valid = 0, verified = 0, rc_acct, rc_prof = 1, rc_props;
	const char *s;

	if (jparse_int64(o, "id", 1, INT64_MAX, &id) != 0)
		return OAUTH_ERR_BAD_RESPONSE;
	snprintf(out->subject, sizeof(out->subject), "%" PRId64, id);
	rc_acct = opt_object(o, "kakao_account", &acct);
	rc_props = opt_object(o, "properties", &props);
	if (rc_acct < 0 || rc_props < 0)
		return OAUTH_ERR_BAD_RESPONSE;
	if (rc_acct == 0) {
		rc_prof = opt_object(acct, "profile", &prof);
		if (rc_prof < 0 || jparse_bool(acct, "is_email_valid", &valid) < 0 ||
		    jparse_bool(acct, "is_email_verified", &verified) < 0)
			return OAUTH_ERR_BAD_RESPONSE;
		switch (jparse_string(acct, "email", OAUTH_JSON_MAX, &s)) {
		case -1:
			return OAUTH_ERR_BAD_RESPONSE;
		case 0:
			if (!valid_email(s))
				break;
			copy_str(out->email, sizeof(out->email), s);
			out->email_verified = valid && verified;
			break;
		}
	}
	if (rc_prof == 0) {
		switch (jparse_string(prof, "nickname", OAUTH_JSON_MAX, &s)) {
		case -1:
			return OAUTH_ERR_BAD_RESPONSE;
		case 0:
			set_name(out, s);
			break;
		}
	}
	if (rc_props == 0) {
		switch (jparse_string(props, "nickname", OAUTH_JSON_MAX, &s)) {
		case -1:
			return OAUTH_ERR_BAD_RESPONSE;
		case 0:
			if (out->name[0] == '\0')
				set_name(out, s);
			break;
		}
	}
	return OAUTH_OK;
}

enum oauth_rc
oauth_parse_profile(enum oauth_provider p, long status, const char *body, size_t len,
    struct oauth_profile *out)
{
	struct oauth_profile prof;
	struct json_object *o;
	enum oauth_rc rc;

	memset(out, 0, sizeof(*out));
	if (status >= 500 && status <= 599)
		return OAUTH_ERR_UNAVAILABLE;
	if (status != 200)
		return OAUTH_ERR_BAD_RESPONSE;
	o = parse_object(body, len);
	if (o == NULL)
		return OAUTH_ERR_BAD_RESPONSE;
	memset(&prof, 0, sizeof(prof));
	rc = oauth_providers[p].profile(o, &prof);
	json_object_put(o);
	if (rc == OAUTH_OK)
		*out = prof;
	return rc;
}

/* Maps a transport failure: a URL libcurl refuses is our configuration; anything else means
 * the provider could not be reached or did not answer in time. */
static enum oauth_rc
transport_rc(enum http_rc hrc)
{
	return hrc == HTTP_ERR_USAGE ? OAUTH_ERR_USAGE : OAUTH_ERR_UNAVAILABLE;
}

/* Wipes a buffer that held a secret, then releases it. */
static void
release_secret(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_release(b);
}

enum oauth_rc
oauth_fetch_profile(struct http *h, const struct conf *c, enum oauth_provider p,
    const char *code, const char *state, const char *redirect_uri, const struct log_ctx *log,
    struct oauth_profile *out)
{
	static const char *const token_headers[] = {
		"Content-Type: application/x-www-form-urlencoded;charset=utf-8",
		"Accept: application/json",
		NULL,
	};
	const struct oauth_info *pi = &oauth_providers[p];
	const char *secret = conf_str(c, pi->client_secret);
	const char *profile_headers[3];
	struct buf form = { 0 }, auth = { 0 };
	struct http_resp resp = { 0 };
	struct http_req req;
	char token[OAUTH_TOKEN_MAX + 1], err[64];
	enum http_rc hrc;
	enum oauth_rc rc;

	memset(out, 0, sizeof(*out));
	add_param(&form, '\0', "grant_type", "authorization_code");
	add_param(&form, '&', "client_id", conf_str(c, pi->client_id));
	if (secret[0] != '\0')
		add_param(&form, '&', "client_secret", secret);
	add_param(&form, '&', "code", code);
	add_param(&form, '&', "redirect_uri", redirect_uri);
	if (pi->token_sends_state)
		add_param(&form, '&', "state", state);

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = conf_str(c, pi->token_url);
	req.headers = token_headers;
	req.body = form.data;
	req.body_len = form.len;
	hrc = http_do(h, &req, &resp);
	if (hrc != HTTP_OK) {
		rc = transport_rc(hrc);
		log_warn(log, "oauth %s token: %s", pi->name, http_rc_name(hrc));
		goto out;
	}
	rc = oauth_parse_token(p, resp.status, resp.body.data, resp.body.len, token, sizeof(token),
	    err, sizeof(err));
	if (rc != OAUTH_OK) {
		log_warn(log, "oauth %s token: %s (HTTP %ld%s%s)", pi->name, oauth_rc_name(rc),
		    resp.status, err[0] != '\0' ? ", error " : "", err);
		goto out;
	}
	release_secret(&resp.body);

	buf_puts(&auth, "Authorization: Bearer ");
	buf_puts(&auth, token);
	profile_headers[0] = buf_cstr(&auth);
	profile_headers[1] = "Accept: application/json";
	profile_headers[2] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = conf_str(c, pi->profile_url);
	req.headers = profile_headers;
	hrc = http_do(h, &req, &resp);
	if (hrc != HTTP_OK) {
		rc = transport_rc(hrc);
		log_warn(log, "oauth %s profile: %s", pi->name, http_rc_name(hrc));
		goto out;
	}
	rc = oauth_parse_profile(p, resp.status, resp.body.data, resp.body.len, out);
	if (rc != OAUTH_OK)
		log_warn(log, "oauth %s profile: %s (HTTP %ld)", pi->name, oauth_rc_name(rc),
		    resp.status);
out:
	explicit_bzero(token, sizeof(token));
	release_secret(&form);
	release_secret(&auth);
	release_secret(&resp.body);
	return rc;
}
