/* oauth: the client side of social login (OAuth 2 authorization-code flow) with Naver and
 * Kakao: the provider table, the authorize URL, the code-for-token exchange and the profile
 * fetch over lib/infra/http, and strict parsers for the providers' answers. Knows nothing of
 * sessions, users or pages. Tokens and codes are never logged. */
#ifndef JT_OAUTH_H
#define JT_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

struct conf;
struct http;
struct log_ctx;

/* The providers. A new provider is one entry here and one row in oauth.c's table (plus its
 * config keys in conf.c). */
enum oauth_provider {
	OAUTH_NAVER,
	OAUTH_KAKAO,
	OAUTH_PROVIDER__MAX
};

/* What the exchange came to. */
enum oauth_rc {
	OAUTH_OK = 0,
	OAUTH_ERR_UNAVAILABLE,  /* not reached, timed out, or answered 5xx: try again later */
	OAUTH_ERR_REFUSED,      /* the provider refused the code (expired, reused, wrong
	                         * client...) with a well-formed OAuth error */
	OAUTH_ERR_BAD_RESPONSE, /* an answer not in the documented shape (bad JSON, no id ...) */
	OAUTH_ERR_USAGE,        /* bad configuration (a URL libcurl refuses): a bug to fix */
	OAUTH_RC__MAX
};

/* The longest accepted values (bytes, without the NUL). */
#define OAUTH_SUBJECT_MAX 64
#define OAUTH_TOKEN_MAX 2048

/* Who the provider says signed in. */
struct oauth_profile {
	char subject[OAUTH_SUBJECT_MAX + 1]; /* the provider's id for the user in this app:
	                                      * [A-Za-z0-9_-]; Kakao's integer id in decimal */
	char email[255];       /* "" when absent or not a valid address */
	bool email_verified;   /* the provider vouches that the person owns email (see
	                        * oauth_parse_profile for each provider's rule) */
	char name[101];        /* display name: valid text, cut at a character boundary to at
	                        * most 100 bytes (it must fit struct account and the session);
	                        * "" when absent or unusable */
};

/* "naver", "kakao": the name used in paths and in user_identities.provider. */
const char *oauth_provider_name(enum oauth_provider p);

/* "네이버", "카카오": the name shown to shoppers. */
const char *oauth_provider_label(enum oauth_provider p);

/* Parses a provider name as it appears in a path. 0 and *out set, or -1 when unknown. */
int oauth_provider_parse(const char *name, enum oauth_provider *out);

/* True when the provider is switched on: its client id in the config is not empty. */
bool oauth_enabled(const struct conf *c, enum oauth_provider p);

/* Appends the URL the browser is sent to: the configured authorize URL with response_type,
 * client_id, redirect_uri and state as query parameters, each escaped with esc_url_query.
 * Returns 0, or -1 (nothing appended) when the configured URL is not an absolute http(s) URL
 * of printable ASCII without spaces or a fragment (a configuration error). */
int oauth_authorize_url(const struct conf *c, enum oauth_provider p, const char *redirect_uri,
    const char *state, struct buf *out);

/* Exchanges code for an access token at the provider's token endpoint (a POST form, so the
 * client secret and the code never appear in a URL or a log line), then fetches the profile
 * with it. state is the value the authorize step sent (Naver wants it back); redirect_uri the
 * one it sent (Kakao checks it). Timeouts are lib/infra/http's configured ones. Logs one line per
 * failure at warn (provider, step, status, the provider's error code), never a token or code.
 * Returns an enum oauth_rc; *out is filled only on OAUTH_OK. */
enum oauth_rc oauth_fetch_profile(struct http *h, const struct conf *c, enum oauth_provider p,
    const char *code, const char *state, const char *redirect_uri, const struct log_ctx *log,
    struct oauth_profile *out);

/* Reads a token endpoint's answer (status and body). OAUTH_OK with the access token copied
 * into token (cap bytes); OAUTH_ERR_REFUSED for an OAuth error object ({"error": "..."}:
 * Naver sends it with 200, Kakao with 400 or 401), its error code copied into err (err_cap
 * bytes, may be 0); OAUTH_ERR_UNAVAILABLE for a 5xx; OAUTH_ERR_BAD_RESPONSE for anything else
 * (not strict JSON, no access_token string, a token_type other than bearer, a token of
 * characters outside 0x21..0x7e or longer than OAUTH_TOKEN_MAX). Pure: no I/O. */
enum oauth_rc oauth_parse_token(enum oauth_provider p, long status, const char *body,
    size_t len, char *token, size_t cap, char *err, size_t err_cap);

/* Reads a profile endpoint's answer. Naver: 200 with resultcode "00" and response.id (a
 * string); the e-mail counts as verified only when its domain is naver.com, the Naver
 * account's own mailbox (Naver does not say whether another address was confirmed); the name
 * is response.nickname, else response.name. Kakao: 200 with id (a positive integer); the
 * e-mail is kakao_account.email, verified when kakao_account.is_email_valid and
 * .is_email_verified are both true; the name is kakao_account.profile.nickname, else
 * properties.nickname. Unknown fields are ignored (providers add consent-dependent ones);
 * present fields of the wrong type are refused. An e-mail failing valid_email is dropped, a
 * name longer than 100 bytes is cut at a character boundary and then dropped unless it is
 * valid_text; neither refuses the profile. Returns OAUTH_OK,
 * OAUTH_ERR_UNAVAILABLE for a 5xx, or OAUTH_ERR_BAD_RESPONSE. Pure: no I/O. */
enum oauth_rc oauth_parse_profile(enum oauth_provider p, long status, const char *body,
    size_t len, struct oauth_profile *out);

#endif
