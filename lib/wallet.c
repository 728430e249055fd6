/* wallet: placeholder until its author lands it; every function fails. */
#include <stddef.h>
#include "db.h"
#include "wallet.h"

int64_t
wallet_list(struct db *db, struct arena *a, int default_bp, struct wallet **out)
{
	return DB_ERR;
}

int
wallet_get(struct db *db, struct arena *a, int64_t seller_id, int default_bp, struct wallet *out)
{
	return DB_ERR;
}

int64_t
wallet_entries(struct db *db, struct arena *a, int64_t seller_id, size_t limit, struct wallet_entry **out)
{
	return DB_ERR;
}

int
wallet_seller_of_user(struct db *db, int64_t user_id, int64_t *seller_id)
{
	return DB_ERR;
}

enum wallet_payout_rc
wallet_payout(struct db *db, int64_t seller_id, int64_t amount, int64_t actor_user_id, const char *key, int64_t *payout_id, int64_t *paid)
{
	return WALLET_PAYOUT_FAILED;
}
