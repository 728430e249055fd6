/* account: the users table as the shop's domain sees it: sign-up (pending until the e-mailed
 * code is confirmed), activation, password checks, lookups. Knows nothing of HTTP. */
#ifndef JT_ACCOUNT_H
#define JT_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;

#define ACCOUNT_EMAIL_MAX 254   /* bytes, as valid_email allows */
#define ACCOUNT_NAME_CHARS 50   /* characters a sign-up name may have */

struct account {
	int64_t id;
	char email[255];
	char name[401];     /* users.name is VARCHAR(100) of utf8mb4: up to 400 bytes */
	char role[16];      /* "shopper" | "admin" */
	char status[16];    /* "pending" | "active" | "disabled" */
	int64_t points;     /* won */
};

/* Loads user id. Returns 1 found, 0 unknown, or an enum db_rc. */
int account_get(struct db *db, int64_t id, struct account *out);

/* Loads the user with this e-mail (compared case-insensitively). 1, 0 or an enum db_rc. */
int account_find_by_email(struct db *db, const char *email, struct account *out);

/* The canonical form of an e-mail address as the shop stores it: in must pass valid_email;
 * ASCII letters are lower-cased. Writes it into out (cap >= ACCOUNT_EMAIL_MAX + 1). Returns 0,
 * or -1 when in is not an acceptable address (out is then ""). */
int account_email_canonical(const char *in, char *out, size_t cap);

/* Records a sign-up for email (canonical) and name: a new user in status "pending" without a
 * password, or the existing pending user with the new name. The password is not stored until
 * the e-mailed code is confirmed (account_activate), so a stranger who starts a sign-up with
 * someone else's address never sets that account's password. Returns 0 when the user is (now)
 * pending, 1 when the address belongs to an active or disabled account (nothing changed), or
 * an enum db_rc. */
int account_signup_pending(struct db *db, const char *email, const char *name);

/* Activates the pending user email with name and password_hash (a password_hash result) in
 * one guarded UPDATE (... AND status = 'pending'), and loads it into out. Returns 1 when
 * activated, 0 when there is no pending user with that address (already active, or never
 * signed up), or an enum db_rc. */
int account_activate(struct db *db, const char *email, const char *name,
    const char *password_hash, struct account *out);

/* Looks up the account a login names: 1 when email (canonical) is an active account, with
 * out filled and its password hash copied into hash (cap >= PASSWORD_HASH_MAX; "" when the
 * account has no password, e.g. one made by social login); 0 when there is no such active
 * account (hash is then ""); or an enum db_rc. */
int account_login_lookup(struct db *db, const char *email, struct account *out, char *hash,
    size_t cap);

/* Records that user id signed in now (users.last_login_at). 0 or an enum db_rc. */
int account_note_login(struct db *db, int64_t id);

/* How a shopper wants order notices beyond mail: a mobile number and the consent to get
 * them as KakaoTalk 알림톡 (sql/015; the consent needs a number). */
struct account_contact {
	char phone[81];        /* users.phone as stored ("010-1234-5678"), "" when none */
	bool alimtalk;         /* consented to 알림톡 */
	char consent_at[24];   /* when the consent was given, "YYYY-MM-DD HH:MM:SS"; "" when none */
	char email[255];       /* where mail goes (users.email) */
	char name[401];        /* users.name, up to 100 characters */
};

/* Loads user id's contact (one read: the notify worker needs all of it). Returns 1 found,
 * 0 unknown, or an enum db_rc. */
int account_contact_get(struct db *db, int64_t id, struct account_contact *out);

/* account_contact_get for ids[0..n) in one read (the notify worker's batch): out[i] is user
 * ids[i]'s contact with found[i] 1, or zeroed with found[i] 0 when there is none (an id <= 0
 * has none). Returns 0, or an enum db_rc with every found[i] 0. */
int account_contact_get_many(struct db *db, const int64_t *ids, size_t n,
    struct account_contact *out, int *found);

enum account_contact_rc {
	ACCOUNT_CONTACT_SAVED,      /* stored (also when nothing changed) */
	ACCOUNT_CONTACT_BAD_PHONE,  /* not a mobile number valid_kr_mobile takes */
	ACCOUNT_CONTACT_NO_PHONE,   /* consent asked without a number */
	ACCOUNT_CONTACT_NO_USER,    /* no such user */
	ACCOUNT_CONTACT_FAILED,     /* the database failed; nothing changed */
	ACCOUNT_CONTACT__MAX
};

/* Stores user id's mobile number (phone as typed, checked and written canonically by
 * valid_kr_mobile; NULL or "" removes it) and 알림톡 consent in one UPDATE. The consent time
 * is kept when the consent stands, set to now when it is given, cleared when it is
 * withdrawn (or the number removed: consent needs a number). */
enum account_contact_rc account_contact_set(struct db *db, int64_t id, const char *phone,
    bool alimtalk);

#endif
