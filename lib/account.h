/* account: the users table as the shop's domain sees it: sign-up (pending until the e-mailed
 * code is confirmed), activation, password checks, lookups. Knows nothing of HTTP. */
#ifndef JT_ACCOUNT_H
#define JT_ACCOUNT_H

#include <stdint.h>

struct arena;
struct db;

struct account {
	int64_t id;
	char email[255];
	char name[101];
	char role[16];      /* "shopper" | "admin" */
	char status[16];    /* "pending" | "active" | "disabled" */
	int64_t points;     /* won */
};

/* Loads user id. Returns 1 found, 0 unknown, or an enum db_rc. */
int account_get(struct db *db, int64_t id, struct account *out);

/* Loads the user with this e-mail (compared case-insensitively). 1, 0 or an enum db_rc. */
int account_find_by_email(struct db *db, const char *email, struct account *out);

#endif
