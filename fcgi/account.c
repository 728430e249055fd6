/* account: sign-up by e-mailed code, login, logout and the signed-in user, as pages and as
 * their JSON twins under /api/v1 (same session cookie, same rules, same messages). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "shop/account.h"
#include "app.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/esc.h"
#include "base/form.h"
#include "base/ids.h"
#include "base/jparse.h"
#include "base/log.h"
#include "infra/mail.h"
#include "infra/password.h"
#include "infra/ratelimit.h"
#include "infra/redis.h"
#include "req.h"
#include "resp.h"
#include "route.h"
#include "sess.h"
#include "infra/tmpl.h"
#include "base/valid.h"

#define ACCT_FIELD_MAX 4096     /* bytes of any one input field */
#define ACCT_CODE_LEN 6         /* digits of an e-mailed sign-up code */
#define ACCT_CODE_SPACE 1000000UL

/* The sign-up in progress for an e-mail address: a hash in Redis with the code's TTL,
 * {code, tries, sess, name, hash}. sess binds it to the browser session that asked for it,
 * so a code mailed to one browser's request is useless in another; hash is the password
 * hash, written to the account only when the code is confirmed. */
#define ACCT_SIGNUP_PREFIX "signup:"

/* Counts one code attempt, only for the session that started the sign-up: -1 when there is
 * no sign-up for this session (none, expired, or started elsewhere), else the attempts so
 * far including this one. Run as one script so the count can never be skipped or orphaned. */
static const char ACCT_LUA_TRY[] =
    "if redis.call('HGET', KEYS[1], 'sess') ~= ARGV[1] then return -1 end\n"
    "return redis.call('HINCRBY', KEYS[1], 'tries', 1)\n";

/* The answers of this family with a fixed status and code. */
enum acct_err {
	ACCT_BAD_INPUT,
	ACCT_INVALID_EMAIL,
	ACCT_INVALID_NAME,
	ACCT_INVALID_PASSWORD,     /* message from password_policy_message */
	ACCT_PASSWORD_MISMATCH,
	ACCT_EMAIL_TAKEN,
	ACCT_SIGNUP_LIMITED,
	ACCT_MAIL_FAILED,
	ACCT_INVALID_CODE,
	ACCT_CODE_MISMATCH,        /* message carries the attempts left */
	ACCT_CODE_EXHAUSTED,
	ACCT_CODE_EXPIRED,
	ACCT_LOGIN_MISSING,
	ACCT_LOGIN_FAILED,
	ACCT_LOGIN_LIMITED,        /* message carries the wait */
	ACCT_UNAVAILABLE,
	ACCT_ERR__MAX
};

struct acct_err_info {
	int status;
	const char *code;
	const char *message;   /* Korean, for shoppers */
	const char *field;     /* the form field the message is shown next to, or NULL for the form */
};

static const struct acct_err_info acct_errs[ACCT_ERR__MAX] = {
	{ 400, "BAD_REQUEST", "잘못된 요청입니다.", NULL },                          /* ACCT_BAD_INPUT */
	{ 400, "INVALID_EMAIL", "올바른 이메일 주소를 입력해 주세요.", "email" },     /* ACCT_INVALID_EMAIL */
	{ 400, "INVALID_NAME", "이름은 1~50자로 입력해 주세요.", "name" },           /* ACCT_INVALID_NAME */
	{ 400, "INVALID_PASSWORD", "사용할 수 없는 비밀번호입니다.", "password" },   /* ACCT_INVALID_PASSWORD */
	{ 400, "PASSWORD_MISMATCH", "비밀번호 확인이 일치하지 않습니다.",
	  "password_confirm" },                                                       /* ACCT_PASSWORD_MISMATCH */
	{ 409, "EMAIL_TAKEN", "이미 가입된 이메일입니다. 로그인해 주세요.", "email" }, /* ACCT_EMAIL_TAKEN */
	{ 429, "TOO_MANY_CODE_REQUESTS",
	  "인증번호 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.", NULL },      /* ACCT_SIGNUP_LIMITED */
	{ 502, "MAIL_SEND_FAILED",
	  "인증 메일을 보내지 못했습니다. 잠시 후 다시 시도해 주세요.", NULL },      /* ACCT_MAIL_FAILED */
	{ 400, "INVALID_CODE", "인증번호 6자리 숫자를 입력해 주세요.", "code" },     /* ACCT_INVALID_CODE */
	{ 400, "CODE_MISMATCH", "인증번호가 일치하지 않습니다.", "code" },           /* ACCT_CODE_MISMATCH */
	{ 400, "CODE_ATTEMPTS_EXCEEDED",
	  "인증번호 입력 횟수를 초과했습니다. 인증번호를 다시 요청해 주세요.", NULL }, /* ACCT_CODE_EXHAUSTED */
	{ 400, "CODE_EXPIRED",
	  "인증번호가 만료되었거나 유효하지 않습니다. 인증번호를 다시 요청해 주세요.", NULL }, /* ACCT_CODE_EXPIRED */
	{ 400, "LOGIN_REQUIRED_FIELDS", "이메일과 비밀번호를 입력해 주세요.", NULL }, /* ACCT_LOGIN_MISSING */
	{ 401, "LOGIN_FAILED", "이메일 또는 비밀번호가 올바르지 않습니다.", NULL },  /* ACCT_LOGIN_FAILED */
	{ 429, "TOO_MANY_LOGIN_ATTEMPTS",
	  "로그인 시도가 너무 많습니다. 잠시 후 다시 시도해 주세요.", NULL },        /* ACCT_LOGIN_LIMITED */
	{ 503, "SERVICE_UNAVAILABLE",
	  "서비스를 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.", NULL },   /* ACCT_UNAVAILABLE */
};

/* The form pages of this family. */
enum acct_page { PAGE_SIGNUP, PAGE_VERIFY, PAGE_LOGIN, PAGE__MAX };

static const struct {
	const char *tmpl;
	const char *title;
} acct_pages[PAGE__MAX] = {
	{ "signup", "회원가입" },             /* PAGE_SIGNUP */
	{ "signup_verify", "이메일 인증" },   /* PAGE_VERIFY */
	{ "login", "로그인" },                /* PAGE_LOGIN */
};

/* What a form page shows besides its CSRF token: values the shopper typed (never the
 * password), the error, and for the verify page whether a code was just sent. */
struct acct_form {
	enum acct_page page;
	const char *email;
	const char *name;
	const char *next;
	bool sent;
};

static bool
acct_json(const struct req *r)
{
	return (r->route->flags & ROUTE_JSON) != 0;
}

/* "10분" or "45초": how long ttl seconds is, for messages (in the request's arena). */
static const char *
acct_duration(struct req *r, int64_t secs)
{
	if (secs >= 60)
		return arena_printf(r->a, "%" PRId64 "분", (secs + 59) / 60);
	return arena_printf(r->a, "%" PRId64 "초", secs < 1 ? 1 : secs);
}

/* Renders a form page with status; error (or NULL) is shown next to field, or above the form
 * when field is NULL. Extra headers (Retry-After) need the page rendered here,
 * since resp_page takes none; such pages are only shown to guests, so they lack "me". */
static int
acct_show(struct req *r, const struct acct_form *f, int status, const char *error,
    const char *field, const char *extra_headers)
{
	struct json_object *ctx;
	const char *csrf = sess_csrf(r);
	struct buf out = { 0 };
	int rc;

	if (csrf == NULL)
		return resp_error(r, 503, acct_errs[ACCT_UNAVAILABLE].code,
		    acct_errs[ACCT_UNAVAILABLE].message);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "title", json_object_new_string(acct_pages[f->page].title));
	json_object_object_add(ctx, "csrf", json_object_new_string(csrf));
	if (error != NULL && field != NULL) {
		struct json_object *errors = json_object_new_object();

		json_object_object_add(errors, field, json_object_new_string(error));
		json_object_object_add(ctx, "errors", errors);
	} else if (error != NULL) {
		json_object_object_add(ctx, "error", json_object_new_string(error));
	}
	if (f->email != NULL)
		json_object_object_add(ctx, "email", json_object_new_string(f->email));
	if (f->name != NULL)
		json_object_object_add(ctx, "name", json_object_new_string(f->name));
	if (f->next != NULL)
		json_object_object_add(ctx, "next", json_object_new_string(f->next));
	if (f->page == PAGE_VERIFY) {
		struct buf href = { 0 };

		buf_puts(&href, "/signup");
		if (f->email != NULL && f->email[0] != '\0') {
			buf_puts(&href, "?email=");
			esc_url_query(&href, f->email);
		}
		json_object_object_add(ctx, "resend_href", json_object_new_string(href.data));
		buf_release(&href);
		json_object_object_add(ctx, "sent", json_object_new_boolean(f->sent));
		json_object_object_add(ctx, "ttl", json_object_new_string(acct_duration(r,
		    conf_int(r->app->conf, CONF_SIGNUP_CODE_TTL_SECONDS))));
	}
	if (extra_headers == NULL)
		return resp_page(r, status, acct_pages[f->page].tmpl, ctx);
	rc = tmpl_render_layout(r->app->tmpl, "layout", acct_pages[f->page].tmpl, ctx, &out);
	if (rc == 0)
		resp_send(r, status, "text/html; charset=utf-8", extra_headers, out.data, out.len);
	else
		log_error(&r->log, "template %s failed to render", acct_pages[f->page].tmpl);
	buf_release(&out);
	json_object_put(ctx);
	return rc;
}

/* Answers error e: the envelope on JSON routes, the form page f again (with what the shopper
 * typed, without the password) on pages. message NULL: e's own. Returns 0 or -1. */
static int
acct_fail(struct req *r, const struct acct_form *f, enum acct_err e, const char *message,
    const char *extra_headers)
{
	const struct acct_err_info *info = &acct_errs[e];
	struct json_object *o, *err;
	const char *s;
	size_t len;

	if (message == NULL)
		message = info->message;
	if (!acct_json(r))
		return acct_show(r, f, info->status, message, info->field, extra_headers);
	if (extra_headers == NULL)
		return resp_error(r, info->status, info->code, message);
	o = json_object_new_object();
	err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(info->code));
	json_object_object_add(err, "message", json_object_new_string(message));
	json_object_object_add(o, "error", err);
	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	resp_send(r, info->status, "application/json; charset=utf-8", extra_headers, s, len);
	json_object_put(o);
	return 0;
}

/* 429 with Retry-After and a message saying how long to wait. */
static int
acct_limited(struct req *r, const struct acct_form *f, enum acct_err e, int64_t retry_after)
{
	const char *msg, *hdr;

	if (retry_after < 1)
		retry_after = 1;
	msg = arena_printf(r->a, "%s %s 후에 다시 시도해 주세요.",
	    e == ACCT_LOGIN_LIMITED ? "로그인 시도가 너무 많습니다." : "인증번호 요청이 너무 많습니다.",
	    acct_duration(r, retry_after));
	hdr = arena_printf(r->a, "Retry-After: %" PRId64 "\r\n", retry_after);
	return acct_fail(r, f, e, msg, hdr);
}

/* Reads the named string fields (NULL-terminated keys) into vals, "" for an absent one: from
 * the JSON body on JSON routes (any other key, a non-object or a non-string value is refused),
 * from the form otherwise (a field sent twice is refused; other fields are ignored). Returns 0
 * or -1 for a malformed request. */
static int
acct_fields(struct req *r, const char *const *keys, const char **vals)
{
	size_t i;
	int rc;

	if (acct_json(r) && jparse_only_keys(r->json, keys) != 0)
		return -1;
	for (i = 0; keys[i] != NULL; i++) {
		vals[i] = "";
		if (acct_json(r))
			rc = jparse_string(r->json, keys[i], ACCT_FIELD_MAX, &vals[i]);
		else
			rc = form_get(&r->form, keys[i], &vals[i], NULL);
		if (rc < 0 || strlen(vals[i]) > ACCT_FIELD_MAX)
			return -1;
		if (rc == 1)
			vals[i] = "";
	}
	return 0;
}

/* next is a path on this site a redirect may return to (valid_next_path); NULL is not. */
static bool
acct_local_path(const char *next)
{
	return next != NULL && valid_next_path(next, strlen(next));
}

/* The user as the API shows it: {"id", "email", "name", "role", "points"}. */
static struct json_object *
acct_user_json(const struct account *a)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(a->id));
	json_object_object_add(o, "email", json_object_new_string(a->email));
	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "role", json_object_new_string(a->role));
	json_object_object_add(o, "points", json_object_new_int64(a->points));
	return o;
}

/* Signs a in (a fresh session id and CSRF token: whatever id the browser had is dead) and
 * answers: the user on JSON routes, a redirect to next (a local path) or home on pages. The
 * session keeps the display name cut at a character boundary to what it holds. */
static int
acct_sign_in(struct req *r, const struct account *a, const char *next)
{
	char name[sizeof(r->sess.name)];
	size_t total = strlen(a->name), len = 0, n;
	uint32_t cp;

	while (len < total) {
		n = valid_utf8_next((const unsigned char *)a->name + len, total - len, &cp);
		if (n == 0 || len + n >= sizeof(name))
			break;
		len += n;
	}
	memcpy(name, a->name, len);
	name[len] = '\0';
	if (sess_login(r, a->id, a->role, name) != 0) {
		log_warn(&r->log, "sign-in of user %" PRId64 " failed: Redis did not answer", a->id);
		return resp_error(r, 503, acct_errs[ACCT_UNAVAILABLE].code,
		    acct_errs[ACCT_UNAVAILABLE].message);
	}
	if (acct_json(r))
		return resp_json(r, 200, acct_user_json(a));
	return resp_redirect(r, acct_local_path(next) ? next : "/");
}

/* ---- sign-up ---------------------------------------------------------------------------- */

static const char *
acct_signup_key(struct req *r, const char *email)
{
	return arena_printf(r->a, ACCT_SIGNUP_PREFIX "%s", email);
}

/* Stores the sign-up for email: {code, tries 0, sess, name, hash} with the code's TTL.
 * 0, or -1 when Redis did not answer. */
static int
acct_signup_store(struct req *r, const char *key, const char *code, const char *name,
    const char *hash)
{
	char ttl[24];
	redisReply *rep;
	int ok;

	snprintf(ttl, sizeof(ttl), "%" PRId64, conf_int(r->app->conf, CONF_SIGNUP_CODE_TTL_SECONDS));
	rep = redis_cmdl(r->app->redis, "DEL", key, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;
	freeReplyObject(rep);
	if (!ok)
		return -1;
	rep = redis_cmdl(r->app->redis, "HSET", key, "code", code, "tries", "0", "sess",
	    r->sess.id, "name", name, "hash", hash, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER;
	freeReplyObject(rep);
	if (!ok)
		return -1;
	rep = redis_cmdl(r->app->redis, "EXPIRE", key, ttl, NULL);
	ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!ok) {
		freeReplyObject(redis_cmdl(r->app->redis, "DEL", key, NULL));
		return -1;
	}
	return 0;
}

/* Mails code to email. Returns the mail_send result. */
static enum mail_rc
acct_signup_mail(struct req *r, const char *email, const char *code)
{
	const char *body = arena_printf(r->a,
	    "안녕하세요. 장터입니다.\n"
	    "\n"
	    "회원가입 인증번호는 %s 입니다.\n"
	    "인증 화면에 이 번호를 입력해 주세요. 인증번호는 %s 동안 유효합니다.\n"
	    "\n"
	    "본인이 요청하지 않았다면 이 메일을 무시해 주세요.\n",
	    code, acct_duration(r, conf_int(r->app->conf, CONF_SIGNUP_CODE_TTL_SECONDS)));

	return mail_send(r->app->conf, &r->log, email, "[장터] 회원가입 인증번호 안내", body);
}

/* Shows form page prefilled with ?email= when it is a valid address; a signed-in user is
 * sent home instead. */
static int
acct_show_prefilled(struct req *r, enum acct_page page)
{
	struct acct_form f = { .page = page };
	const char *email;
	char canon[ACCOUNT_EMAIL_MAX + 1];

	if (sess_user(r) != 0)
		return resp_redirect(r, "/");
	if (form_get(&r->query, "email", &email, NULL) == 0 &&
	    account_email_canonical(email, canon, sizeof(canon)) == 0)
		f.email = arena_strdup(r->a, canon);
	return acct_show(r, &f, 200, NULL, NULL, NULL);
}

/* GET /signup[?email=]: the sign-up form (home for a signed-in user). */
static int
account_signup_form(struct req *r)
{
	return acct_show_prefilled(r, PAGE_SIGNUP);
}

/* POST /signup and /api/v1/signup {email, name, password, password_confirm}: validates,
 * records a pending user, stores a 6-digit code in Redis and mails it. Page: the verify
 * form; JSON: 202 {"email", "expires_in"}. 400 INVALID_EMAIL | INVALID_NAME |
 * INVALID_PASSWORD | PASSWORD_MISMATCH | BAD_REQUEST, 409 EMAIL_TAKEN, 429
 * TOO_MANY_CODE_REQUESTS (Retry-After), 502 MAIL_SEND_FAILED, 503 when Redis is down. */
static int
account_signup(struct req *r)
{
	static const char *const keys[] = { "email", "name", "password", "password_confirm", NULL };
	const struct conf *c = r->app->conf;
	struct acct_form f = { .page = PAGE_SIGNUP };
	char email[ACCOUNT_EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX], code[ACCT_CODE_LEN + 1];
	const char *v[4], *key;
	enum password_policy pp;
	enum ratelimit_rc rl;
	enum mail_rc mr;
	int64_t retry = 0;
	int rc;

	if (acct_fields(r, keys, v) != 0)
		return acct_fail(r, &f, ACCT_BAD_INPUT, NULL, NULL);
	f.email = v[0];
	f.name = v[1];
	if (account_email_canonical(v[0], email, sizeof(email)) != 0)
		return acct_fail(r, &f, ACCT_INVALID_EMAIL, NULL, NULL);
	f.email = email;
	if (!valid_text(v[1], strlen(v[1]), ACCOUNT_NAME_CHARS, false))
		return acct_fail(r, &f, ACCT_INVALID_NAME, NULL, NULL);
	pp = password_check(v[2], strlen(v[2]));
	if (pp != PASSWORD_OK)
		return acct_fail(r, &f, ACCT_INVALID_PASSWORD, password_policy_message(pp), NULL);
	if (strcmp(v[2], v[3]) != 0)
		return acct_fail(r, &f, ACCT_PASSWORD_MISMATCH, NULL, NULL);

	/* Codes mailed per address are limited like failed logins per account: a sign-up form
	 * must not become a way to flood someone's mailbox. */
	rl = ratelimit_hit(r->app->redis, arena_printf(r->a, "signup:mail:%s", email),
	    conf_int(c, CONF_AUTH_MAX_PER_ACCOUNT), conf_int(c, CONF_AUTH_WINDOW_SECONDS), &retry);
	if (rl == RATELIMIT_UNAVAILABLE)
		return acct_fail(r, &f, ACCT_UNAVAILABLE, NULL, NULL);
	if (rl == RATELIMIT_LIMITED)
		return acct_limited(r, &f, ACCT_SIGNUP_LIMITED, retry);

	rc = account_signup_pending(r->app->db, email, v[1]);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return acct_fail(r, &f, ACCT_EMAIL_TAKEN, NULL, NULL);
	if (password_hash(v[2], hash, sizeof(hash)) != 0)
		return -1;
	snprintf(code, sizeof(code), "%06lu", ids_uniform(ACCT_CODE_SPACE));
	key = acct_signup_key(r, email);
	if (acct_signup_store(r, key, code, v[1], hash) != 0)
		return acct_fail(r, &f, ACCT_UNAVAILABLE, NULL, NULL);
	mr = acct_signup_mail(r, email, code);
	if (mr != MAIL_OK) {
		/* No mail, no code: the shopper asks again later. The user stays pending. */
		freeReplyObject(redis_cmdl(r->app->redis, "DEL", key, NULL));
		log_warn(&r->log, "sign-up code not mailed: %s", mail_rc_name(mr));
		return acct_fail(r, &f, ACCT_MAIL_FAILED, NULL, NULL);
	}
	log_info(&r->log, "sign-up code mailed");
	if (acct_json(r)) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "email", json_object_new_string(email));
		json_object_object_add(o, "expires_in",
		    json_object_new_int64(conf_int(c, CONF_SIGNUP_CODE_TTL_SECONDS)));
		return resp_json(r, 202, o);
	}
	f.page = PAGE_VERIFY;
	f.sent = true;
	return acct_show(r, &f, 200, NULL, NULL, NULL);
}

/* GET /signup/verify[?email=]: the code form. */
static int
account_verify_form(struct req *r)
{
	return acct_show_prefilled(r, PAGE_VERIFY);
}

/* True when s is exactly ACCT_CODE_LEN ASCII digits. */
static bool
acct_code_shape(const char *s)
{
	size_t i;

	for (i = 0; i < ACCT_CODE_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[ACCT_CODE_LEN] == '\0';
}

/* Constant-time comparison of two codes of ACCT_CODE_LEN characters. */
static bool
acct_code_equal(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i;

	if (strlen(a) != ACCT_CODE_LEN || strlen(b) != ACCT_CODE_LEN)
		return false;
	for (i = 0; i < ACCT_CODE_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Copies a HMGET element into the arena; NULL when absent. */
static const char *
acct_reply_str(struct req *r, const redisReply *e)
{
	if (e == NULL || e->type != REDIS_REPLY_STRING)
		return NULL;
	return arena_strndup(r->a, e->str, e->len);
}

/* POST /signup/verify and /api/v1/signup/verify {email, code}: the right code (from the same
 * session that asked for it) activates the account and signs it in (page: redirect home;
 * JSON: 200 the user). 400 INVALID_EMAIL | INVALID_CODE | CODE_MISMATCH (attempts left) |
 * CODE_ATTEMPTS_EXCEEDED | CODE_EXPIRED | BAD_REQUEST, 409 EMAIL_TAKEN, 503. Every attempt
 * is counted before the code is compared, so parallel guesses get no more tries. */
static int
account_verify(struct req *r)
{
	static const char *const keys[] = { "email", "code", NULL };
	int64_t max = conf_int(r->app->conf, CONF_SIGNUP_CODE_MAX_ATTEMPTS), tries;
	struct acct_form f = { .page = PAGE_VERIFY };
	char email[ACCOUNT_EMAIL_MAX + 1];
	const char *v[2], *key, *code, *name, *hash;
	struct account acct;
	redisReply *rep;
	int rc;

	if (acct_fields(r, keys, v) != 0)
		return acct_fail(r, &f, ACCT_BAD_INPUT, NULL, NULL);
	f.email = v[0];
	if (account_email_canonical(v[0], email, sizeof(email)) != 0)
		return acct_fail(r, &f, ACCT_INVALID_EMAIL, NULL, NULL);
	f.email = email;
	if (!acct_code_shape(v[1]))
		return acct_fail(r, &f, ACCT_INVALID_CODE, NULL, NULL);
	key = acct_signup_key(r, email);

	rep = redis_cmdl(r->app->redis, "EVAL", ACCT_LUA_TRY, "1", key, r->sess.id, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		if (rep != NULL)
			log_error(&r->log, "sign-up code check: unexpected Redis reply type %d", rep->type);
		freeReplyObject(rep);
		return acct_fail(r, &f, ACCT_UNAVAILABLE, NULL, NULL);
	}
	tries = rep->integer;
	freeReplyObject(rep);
	if (tries < 0)
		return acct_fail(r, &f, ACCT_CODE_EXPIRED, NULL, NULL);
	if (tries > max) {
		freeReplyObject(redis_cmdl(r->app->redis, "DEL", key, NULL));
		return acct_fail(r, &f, ACCT_CODE_EXHAUSTED, NULL, NULL);
	}

	rep = redis_cmdl(r->app->redis, "HMGET", key, "code", "name", "hash", NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
		freeReplyObject(rep);
		return acct_fail(r, &f, ACCT_UNAVAILABLE, NULL, NULL);
	}
	code = acct_reply_str(r, rep->element[0]);
	name = acct_reply_str(r, rep->element[1]);
	hash = acct_reply_str(r, rep->element[2]);
	freeReplyObject(rep);
	if (code == NULL || name == NULL || hash == NULL)
		return acct_fail(r, &f, ACCT_CODE_EXPIRED, NULL, NULL);  /* expired meanwhile */

	if (!acct_code_equal(code, v[1])) {
		if (tries >= max) {
			freeReplyObject(redis_cmdl(r->app->redis, "DEL", key, NULL));
			return acct_fail(r, &f, ACCT_CODE_EXHAUSTED, NULL, NULL);
		}
		return acct_fail(r, &f, ACCT_CODE_MISMATCH, arena_printf(r->a,
		    "인증번호가 일치하지 않습니다. (남은 입력 횟수: %" PRId64 "회)", max - tries), NULL);
	}
	/* The code is used once: whoever deletes the key activates. */
	rep = redis_cmdl(r->app->redis, "DEL", key, NULL);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return acct_fail(r, &f, ACCT_UNAVAILABLE, NULL, NULL);
	}
	rc = (int)rep->integer;
	freeReplyObject(rep);
	if (rc != 1)
		return acct_fail(r, &f, ACCT_CODE_EXPIRED, NULL, NULL);

	rc = account_activate(r->app->db, email, name, hash, &acct);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return acct_fail(r, &f, ACCT_EMAIL_TAKEN, NULL, NULL);
	log_info(&r->log, "user %" PRId64 " confirmed the sign-up code and is active", acct.id);
	return acct_sign_in(r, &acct, "/");
}

/* ---- login and logout ------------------------------------------------------------------- */

/* GET /login[?next=/path]: the login form (a signed-in user goes on to next or home). */
static int
account_login_form(struct req *r)
{
	struct acct_form f = { .page = PAGE_LOGIN };
	const char *next;

	if (form_get(&r->query, "next", &next, NULL) == 0 && acct_local_path(next))
		f.next = next;
	if (sess_user(r) != 0)
		return resp_redirect(r, f.next != NULL ? f.next : "/");
	return acct_show(r, &f, 200, NULL, NULL, NULL);
}

/* POST /login {email, password, next} and /api/v1/login {email, password}. Page: 303 to next
 * (a local path) or home; JSON: 200 the user. The session id changes. 400
 * LOGIN_REQUIRED_FIELDS | BAD_REQUEST, 401 LOGIN_FAILED (an unknown e-mail, a wrong password,
 * an account that is not active: one message, one cost: a missing hash is verified against a
 * dummy), 429 TOO_MANY_LOGIN_ATTEMPTS with Retry-After, 503 when Redis is down.
 *
 * Limits: failed logins per account (auth.max_per_account; every attempt is counted before
 * the password is checked, so parallel guesses get no more, and a success clears the count)
 * and failed logins per client address (auth.max_per_address; checked before, counted after
 * a failure, so a busy shared address is not locked out by its successful logins). When
 * Redis does not answer, login fails closed (503): the limits cannot be checked, and a
 * session could not be stored anyway. */
static int
account_login(struct req *r)
{
	static const char *const keys_json[] = { "email", "password", NULL };
	static const char *const keys_form[] = { "email", "password", "next", NULL };
	const struct conf *c = r->app->conf;
	int64_t window = conf_int(c, CONF_AUTH_WINDOW_SECONDS), retry = 0;
	struct acct_form f = { .page = PAGE_LOGIN };
	char email[ACCOUNT_EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
	const char *v[3] = { "", "", "" }, *addr_key, *acct_key;
	struct account acct;
	enum ratelimit_rc rl;
	bool ok;
	int found;

	if (acct_fields(r, acct_json(r) ? keys_json : keys_form, v) != 0)
		return acct_fail(r, &f, ACCT_BAD_INPUT, NULL, NULL);
	f.email = v[0];
	if (acct_local_path(v[2]))
		f.next = v[2];
	if (v[0][0] == '\0' || v[1][0] == '\0')
		return acct_fail(r, &f, ACCT_LOGIN_MISSING, NULL, NULL);

	addr_key = arena_printf(r->a, "login:addr:%s", r->remote_addr != NULL ? r->remote_addr : "-");
	rl = ratelimit_peek(r->app->redis, addr_key, conf_int(c, CONF_AUTH_MAX_PER_ADDRESS), window,
	    &retry);
	if (rl == RATELIMIT_UNAVAILABLE)
		return acct_fail(r, &f, ACCT_UNAVAILABLE, NULL, NULL);
	if (rl == RATELIMIT_LIMITED) {
		log_warn(&r->log, "login refused: too many failures from this address");
		return acct_limited(r, &f, ACCT_LOGIN_LIMITED, retry);
	}

	/* A malformed address is an unknown account: same answer, same counters, same cost. */
	if (account_email_canonical(v[0], email, sizeof(email)) != 0)
		snprintf(email, sizeof(email), "%s", "-invalid-");
	acct_key = arena_printf(r->a, "login:acct:%s", email);
	rl = ratelimit_hit(r->app->redis, acct_key, conf_int(c, CONF_AUTH_MAX_PER_ACCOUNT), window,
	    &retry);
	if (rl == RATELIMIT_UNAVAILABLE)
		return acct_fail(r, &f, ACCT_UNAVAILABLE, NULL, NULL);
	if (rl == RATELIMIT_LIMITED) {
		log_warn(&r->log, "login refused: too many failures for this account");
		return acct_limited(r, &f, ACCT_LOGIN_LIMITED, retry);
	}

	found = account_login_lookup(r->app->db, email, &acct, hash, sizeof(hash));
	if (found < 0)
		return -1;
	ok = password_verify(v[1], found == 1 ? hash : NULL) && found == 1;
	if (!ok) {
		(void)ratelimit_hit(r->app->redis, addr_key, conf_int(c, CONF_AUTH_MAX_PER_ADDRESS),
		    window, NULL);
		if (found == 1)
			log_info(&r->log, "login failed for user %" PRId64 ": wrong password", acct.id);
		else
			log_info(&r->log, "login failed: no active account with that e-mail");
		return acct_fail(r, &f, ACCT_LOGIN_FAILED, NULL, NULL);
	}
	(void)ratelimit_reset(r->app->redis, acct_key);
	if (account_note_login(r->app->db, acct.id) != 0)
		log_warn(&r->log, "could not record the login time of user %" PRId64, acct.id);
	log_info(&r->log, "user %" PRId64 " signed in", acct.id);
	return acct_sign_in(r, &acct, f.next);
}

/* POST /logout and /api/v1/logout: ends the session and expires the cookie. Page: 303 home;
 * JSON: 200 {"signed_out": true}. 503 when Redis did not answer (the cookie is expired
 * anyway). */
static int
account_logout(struct req *r)
{
	struct json_object *o;

	if (sess_logout(r) != 0)
		return resp_error(r, 503, acct_errs[ACCT_UNAVAILABLE].code,
		    acct_errs[ACCT_UNAVAILABLE].message);
	if (!acct_json(r))
		return resp_redirect(r, "/");
	o = json_object_new_object();
	json_object_object_add(o, "signed_out", json_object_new_boolean(1));
	return resp_json(r, 200, o);
}

/* GET /api/v1/me: the signed-in user {"id", "email", "name", "role", "points"}; 401 when the
 * account is gone or no longer active (the session is ended too). */
static int
account_me(struct req *r)
{
	struct account acct;
	int rc = account_get(r->app->db, sess_user(r), &acct);

	if (rc < 0)
		return -1;
	if (rc == 0 || strcmp(acct.status, "active") != 0) {
		(void)sess_logout(r);
		return resp_fail(r, RESP_UNAUTHORIZED);
	}
	return resp_json(r, 200, acct_user_json(&acct));
}

/* GET /api/v1/csrf: {"csrf_token": "..."} for scripts, creating a guest session (and its
 * cookie) when there is none. 503 when Redis is down. */
static int
account_csrf(struct req *r)
{
	const char *csrf = sess_csrf(r);
	struct json_object *o;

	if (csrf == NULL)
		return resp_fail(r, RESP_UNAVAILABLE);
	o = json_object_new_object();
	json_object_object_add(o, "csrf_token", json_object_new_string(csrf));
	return resp_json(r, 200, o);
}

const struct route account_routes[] = {
	{ METHOD_GET,  "/signup",               account_signup_form, ROUTE_HTML, "signup_form" },
	{ METHOD_POST, "/signup",               account_signup,      ROUTE_HTML | ROUTE_CSRF, "signup" },
	{ METHOD_GET,  "/signup/verify",        account_verify_form, ROUTE_HTML, "signup_verify_form" },
	{ METHOD_POST, "/signup/verify",        account_verify,      ROUTE_HTML | ROUTE_CSRF, "signup_verify" },
	{ METHOD_GET,  "/login",                account_login_form,  ROUTE_HTML, "login_form" },
	{ METHOD_POST, "/login",                account_login,       ROUTE_HTML | ROUTE_CSRF, "login" },
	{ METHOD_POST, "/logout",               account_logout,      ROUTE_HTML | ROUTE_CSRF, "logout" },
	{ METHOD_POST, "/api/v1/signup",        account_signup,      ROUTE_JSON | ROUTE_CSRF, "api_signup" },
	{ METHOD_POST, "/api/v1/signup/verify", account_verify,      ROUTE_JSON | ROUTE_CSRF, "api_signup_verify" },
	{ METHOD_POST, "/api/v1/login",         account_login,       ROUTE_JSON | ROUTE_CSRF, "api_login" },
	{ METHOD_POST, "/api/v1/logout",        account_logout,      ROUTE_JSON | ROUTE_CSRF, "api_logout" },
	{ METHOD_GET,  "/api/v1/me",            account_me,          ROUTE_JSON | ROUTE_LOGIN, "api_me" },
	{ METHOD_GET,  "/api/v1/csrf",          account_csrf,        ROUTE_JSON, "api_csrf" },
	{ 0, NULL, NULL, 0, NULL },
};
