/* social: signing in with a social login provider (Naver, Kakao), from the shop's side: which
 * providers are switched on, the start of a login (a single-use state in Redis bound to the
 * browser's session and the provider, and the authorize URL the browser is sent to) and its
 * finish (the state taken back, the code exchanged and the profile fetched through
 * lib/clients/oauth with no transaction open, then the user found, linked or created by
 * lib/shop/identity in one short transaction). The handlers (fcgi/oauth.c) validate what the
 * browser sent, call these and render the outcome; they never reach the provider themselves.
 *
 * Redis: oauth:state:{state} = "provider\nsession id\nnext path", EX SOCIAL_STATE_TTL, set
 * with NX and taken with GETDEL, so a state works once. Tokens and codes are never logged.
 *
 * One struct social per process (it holds the HTTP client and so libcurl's connection cache);
 * the database and Redis connections are the caller's and are passed to each call. */
#ifndef JT_SOCIAL_H
#define JT_SOCIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "clients/oauth.h"   /* enum oauth_provider: the providers the shop knows */
#include "shop/account.h"

struct arena;
struct conf;
struct db;
struct log_ctx;
struct redis;
struct social;

#define SOCIAL_STATE_LEN 32     /* characters of [0-9a-z] of a state: ~165 bits */
#define SOCIAL_STATE_TTL 600    /* seconds a started login may take */
#define SOCIAL_NEXT_MAX 512     /* bytes of the local path to return to */
#define SOCIAL_CODE_MAX 1024    /* bytes of an authorization code */

/* How a start, a state check or a finish came out. */
enum social_rc {
	SOCIAL_OK,
	SOCIAL_STATE_INVALID,  /* the state is unknown, used, expired, of another provider or of
	                        * another browser session */
	SOCIAL_CODE_REFUSED,   /* the provider refused the code (expired, reused...) */
	SOCIAL_PROVIDER_DOWN,  /* the provider did not answer, or not in its documented shape */
	SOCIAL_DISABLED,       /* the account signing in is disabled */
	SOCIAL_UNAVAILABLE,    /* Redis did not answer */
	SOCIAL_FAILED,         /* a configuration or database error (logged) */
	SOCIAL_RC__MAX
};

/* A started login, as its state gives it back. Strings live in the arena given. */
struct social_state {
	enum oauth_provider provider;
	const char *next;      /* the local path to land on afterwards, as the start stored it */
};

/* The process's social login (its HTTP client). c must outlive it. Never NULL. Owned by the
 * caller: social_free. */
struct social *social_new(const struct conf *c);

/* Frees s and sets *s to NULL. NULL-safe. */
void social_free(struct social **s);

/* The provider named name (as in paths: "naver", "kakao") when it is known and switched on
 * (its client id is set). Returns 0 with *out set, or -1. */
int social_provider_parse(const struct conf *c, const char *name, enum oauth_provider *out);

/* True when provider p is switched on. */
bool social_enabled(const struct conf *c, enum oauth_provider p);

/* "naver", "kakao": the provider's name in paths. */
const char *social_provider_name(enum oauth_provider p);

/* "네이버", "카카오": the provider's name shown to shoppers. */
const char *social_provider_label(enum oauth_provider p);

/* Starts a login with provider p for the browser session sess_id: stores a fresh state with
 * next (a local path the caller checked, at most SOCIAL_NEXT_MAX bytes) and appends the
 * provider's authorize URL, carrying redirect_uri and the state, to url. Returns SOCIAL_OK,
 * SOCIAL_UNAVAILABLE (nothing stored) or SOCIAL_FAILED (the configured authorize URL is not
 * an absolute http(s) URL; logged). */
enum social_rc social_start(struct social *s, struct redis *redis, enum oauth_provider p,
    const char *sess_id, const char *next, const char *redirect_uri, const struct log_ctx *log,
    struct buf *url);

/* Takes the login started under state (SOCIAL_STATE_LEN characters of [0-9a-z], checked by
 * the caller) back: read and deleted in one step, then checked to belong to provider p and
 * to the browser session sess_id (NULL: the browser has none). Returns SOCIAL_OK with *out
 * filled (strings from a), SOCIAL_STATE_INVALID (logged) or SOCIAL_UNAVAILABLE. */
enum social_rc social_take_state(struct redis *redis, struct arena *a, enum oauth_provider p,
    const char *state, const char *sess_id, const struct log_ctx *log,
    struct social_state *out);

/* Finishes a login whose state was taken: exchanges code at the provider (state and
 * redirect_uri as the start sent them), fetches the profile, and finds, links or creates the
 * user (lib/shop/identity's rule; a new user without a name is called fallback_name). No
 * transaction is open during the provider calls. Returns SOCIAL_OK with *out the active user
 * signing in, SOCIAL_CODE_REFUSED, SOCIAL_PROVIDER_DOWN, SOCIAL_DISABLED or SOCIAL_FAILED. */
enum social_rc social_finish(struct social *s, struct db *db, enum oauth_provider p,
    const char *code, const char *state, const char *redirect_uri, const char *fallback_name,
    const struct log_ctx *log, struct account *out);

#endif
