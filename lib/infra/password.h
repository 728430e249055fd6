/* password: password hashing (yescrypt through libcrypt), verification in constant time
 * whatever the account, and the shop's password policy. Never logs or keeps a password. */
#ifndef JT_PASSWORD_H
#define JT_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any hash password_hash writes (libcrypt's CRYPT_OUTPUT_SIZE), NUL included. */
#define PASSWORD_HASH_MAX 384

/* Bounds of the policy, in bytes (72: what bcrypt would read; kept so a hash can move). */
#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 72

/* Why a new password was refused; PASSWORD_OK when it is acceptable. */
enum password_policy {
	PASSWORD_OK,
	PASSWORD_TOO_SHORT,   /* fewer than PASSWORD_MIN_LEN bytes */
	PASSWORD_TOO_LONG,    /* more than PASSWORD_MAX_LEN bytes */
	PASSWORD_WEAK,        /* lacks an ASCII letter or an ASCII digit */
	PASSWORD_BAD_CHARS,   /* not UTF-8, or holds a control character */
	PASSWORD_POLICY__MAX
};

/* Checks a new password against the policy: PASSWORD_MIN_LEN..PASSWORD_MAX_LEN bytes of
 * UTF-8 without control characters, with at least one ASCII letter and one digit. */
enum password_policy password_check(const char *pw, size_t len);

/* The Korean message for a refusal (for shoppers), "" for PASSWORD_OK. Static storage. */
const char *password_policy_message(enum password_policy p);

/* Hashes pw with yescrypt and a fresh random salt into out (cap >= PASSWORD_HASH_MAX is
 * always enough). Returns 0, or -1 when libcrypt failed or out is too small (out is then
 * ""). */
int password_hash(const char *pw, char *out, size_t cap);

/* True when pw matches hash. A NULL or empty hash (unknown account, an account without a
 * password) is verified against a built-in dummy hash of the same cost and gives false, so
 * the answer takes the same time whether or not the account exists. The comparison of the
 * computed and stored hashes is constant-time. */
bool password_verify(const char *pw, const char *hash);

#endif
