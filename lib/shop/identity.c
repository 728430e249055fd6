/* identity: finds, links or creates the user behind a social login (the rule is in
 * identity.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shop/account.h"
#include "base/arena.h"
#include "infra/db.h"
#include "shop/identity.h"
#include "base/ids.h"
#include "base/log.h"

static const char SQL_FIND_IDENTITY[] =
    "SELECT i.user_id, u.status FROM user_identities i JOIN users u ON u.id = i.user_id"
    " WHERE i.provider = ? AND i.subject = ?";
static const char SQL_FIND_EMAIL[] =
    "SELECT id, status FROM users WHERE email = ? FOR UPDATE";
static const char SQL_INSERT_USER[] =
    "INSERT INTO users (email, password_hash, name, role, status)"
    " VALUES (?, NULL, ?, 'shopper', 'active')";
static const char SQL_INSERT_IDENTITY[] =
    "INSERT INTO user_identities (provider, subject, user_id, email) VALUES (?, ?, ?, ?)";

static const char *const identity_how_names[IDENTITY_HOW__MAX] = {
	"found",    /* IDENTITY_FOUND */
	"linked",   /* IDENTITY_LINKED */
	"created",  /* IDENTITY_CREATED */
};

/* One run of the rule, inside a transaction. */
struct resolve {
	const struct identity_claim *claim;
	char email[ACCOUNT_EMAIL_MAX + 1];  /* the claim's e-mail, canonical; "" when none */
	struct arena *a;
	int64_t user_id;
	enum identity_how how;
	bool disabled;
};

const char *
identity_how_name(enum identity_how how)
{
	return how >= 0 && how < IDENTITY_HOW__MAX ? identity_how_names[how] : "?";
}

static bool
has_text(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static int
insert_identity(struct db *db, const struct resolve *rs)
{
	const struct identity_claim *cl = rs->claim;
	int64_t n = db_exec(db, SQL_INSERT_IDENTITY, "ssis", cl->provider, cl->subject,
	    rs->user_id, rs->email[0] != '\0' ? rs->email : NULL);

	return n < 0 ? (int)n : 0;
}

/* The rule of identity.h. Returns 0 to commit (rs filled) or a negative enum db_rc. */
static int
resolve_tx(struct db *db, void *arg)
{
	struct resolve *rs = arg;
	const struct identity_claim *cl = rs->claim;
	char tag[25];
	const char *email;
	struct db_res res;
	int64_t n;

	rs->disabled = false;
	rs->user_id = 0;
	n = db_query(db, rs->a, &res, SQL_FIND_IDENTITY, "ss", cl->provider, cl->subject);
	if (n < 0)
		return (int)n;
	if (n == 1) {
		rs->user_id = db_res_i64(&res, 0, 0);
		rs->how = IDENTITY_FOUND;
		rs->disabled = strcmp(db_res_str(&res, 0, 1), "active") != 0;
		return 0;
	}

	ids_new(tag, sizeof(tag));
	email = arena_printf(rs->a, "%s-%s@oauth.invalid", cl->provider, tag);
	if (rs->email[0] != '\0' && cl->email_verified) {
		n = db_query(db, rs->a, &res, SQL_FIND_EMAIL, "s", rs->email);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			email = rs->email;
		} else if (strcmp(db_res_str(&res, 0, 1), "active") == 0) {
			rs->user_id = db_res_i64(&res, 0, 0);
			rs->how = IDENTITY_LINKED;
			return insert_identity(db, rs);
		} else if (strcmp(db_res_str(&res, 0, 1), "disabled") == 0) {
			rs->user_id = db_res_i64(&res, 0, 0);
			rs->disabled = true;
			return 0;
		}
		/* pending: not linked, and the address stays with that sign-up */
	}

	n = db_exec(db, SQL_INSERT_USER, "ss", email,
	    has_text(cl->name) ? cl->name : cl->fallback_name);
	if (n < 0)
		return (int)n;
	rs->user_id = db_last_insert_id(db);
	rs->how = IDENTITY_CREATED;
	return insert_identity(db, rs);
}

enum identity_rc
identity_resolve(struct db *db, const struct identity_claim *claim, const struct log_ctx *log,
    struct account *out, enum identity_how *how)
{
	struct resolve rs;
	enum identity_rc rc = IDENTITY_ERR;
	int attempt, tx = DB_ERR, found;

	memset(&rs, 0, sizeof(rs));
	rs.claim = claim;
	rs.a = arena_new(2048);
	if (has_text(claim->email) &&
	    account_email_canonical(claim->email, rs.email, sizeof(rs.email)) != 0)
		rs.email[0] = '\0';  /* not an address the shop accepts: as if none was given */
	if (!has_text(claim->provider) || !has_text(claim->subject) ||
	    !has_text(claim->fallback_name)) {
		log_error(log, "identity: incomplete claim");
		goto out;
	}
	/* A duplicate key means a concurrent sign-in of the same person (or of the same e-mail)
	 * committed first: the second run finds what it created. */
	for (attempt = 0; attempt < 2; attempt++) {
		tx = db_tx(db, resolve_tx, &rs);
		if (tx != DB_DUP)
			break;
		arena_reset(rs.a);
	}
	if (tx != 0) {
		log_error(log, "identity: %s sign-in not resolved (db rc %d)", claim->provider, tx);
		goto out;
	}
	if (rs.disabled) {
		log_warn(log, "identity: %s sign-in refused: user %" PRId64 " is not active",
		    claim->provider, rs.user_id);
		rc = IDENTITY_DISABLED;
		goto out;
	}
	found = account_get(db, rs.user_id, out);
	if (found != 1) {
		log_error(log, "identity: user %" PRId64 " not loaded (rc %d)", rs.user_id, found);
		goto out;
	}
	log_info(log, "identity: %s sign-in %s user %" PRId64, claim->provider,
	    identity_how_name(rs.how), rs.user_id);
	if (how != NULL)
		*how = rs.how;
	rc = IDENTITY_OK;
out:
	arena_free(&rs.a);
	return rc;
}
