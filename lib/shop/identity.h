/* identity: the accounts people sign in to through a social login provider: the table
 * user_identities (provider, subject) -> user, and the rule that finds, links or creates the
 * user for a provider's profile. Knows nothing of HTTP or OAuth wire formats.
 *
 * The rule, in order:
 *   1. (provider, subject) is known: that user.
 *   2. The provider vouches for the e-mail (email_verified) and a user has that e-mail
 *      (compared case-insensitively):
 *        active   -> the identity is linked to that user (the provider proved the person
 *                    owns the mailbox the account was confirmed with);
 *        disabled -> refused (IDENTITY_DISABLED): a social login is no way around a ban;
 *        pending  -> not linked: a pending sign-up proves nothing about who started it, and
 *                    activating it would hand its password to whoever chose it. A new user
 *                    is created as in 3, without that e-mail.
 *   3. Otherwise a new active shopper without a password is created with the identity. Its
 *      e-mail is the provider's when verified and free; else a placeholder
 *      "<provider>-<24 random [0-9a-z]>@oauth.invalid" (users.email is NOT NULL and UNIQUE,
 *      and compared without case while a provider's ids are case-sensitive; an unverified
 *      address must not block its real owner from signing up with it later).
 * E-mails are stored and compared in account_email_canonical form; one that is not an
 * acceptable address counts as none.
 * A user found through the identity who was disabled since is refused the same way. */
#ifndef JT_IDENTITY_H
#define JT_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "shop/account.h"

struct db;
struct log_ctx;

/* What the provider said, already validated (lib/clients/oauth.c does that). */
struct identity_claim {
	const char *provider;   /* "naver", "kakao": ASCII, 1..16 bytes */
	const char *subject;    /* the provider's user id: [A-Za-z0-9_-], 1..64 bytes */
	const char *email;      /* "" or NULL when none; a valid_email address otherwise */
	bool email_verified;
	const char *name;       /* display name, valid text of at most 100 bytes; "" or NULL
	                         * gives fallback_name */
	const char *fallback_name; /* used for a new user when name is empty ("네이버 회원") */
};

enum identity_rc {
	IDENTITY_OK,         /* *out is an active user */
	IDENTITY_DISABLED,   /* the user (found or matched by verified e-mail) is disabled */
	IDENTITY_ERR,        /* a database error or bad claim (logged) */
	IDENTITY_RC__MAX
};

/* How the user was found, for logs and tests. */
enum identity_how {
	IDENTITY_FOUND,      /* rule 1 */
	IDENTITY_LINKED,     /* rule 2: linked to an existing active user */
	IDENTITY_CREATED,    /* rule 3: a new user */
	IDENTITY_HOW__MAX
};

/* Applies the rule above. The lookups and inserts run in one short transaction (no network
 * call inside); a race with a concurrent sign-in of the same person (duplicate identity or
 * e-mail) is resolved by running the rule again. On IDENTITY_OK *out holds the user (loaded
 * with account_get) and *how (may be NULL) says which rule applied. Returns an enum
 * identity_rc. */
enum identity_rc identity_resolve(struct db *db, const struct identity_claim *claim,
    const struct log_ctx *log, struct account *out, enum identity_how *how);

/* English name of how, for logs. */
const char *identity_how_name(enum identity_how how);

#endif
