/* ledger: placeholder until its author lands it; every function fails. */
#include <stddef.h>
#include "db.h"
#include "ledger.h"

enum ledger_rc
ledger_post(struct db *db, const struct ledger_posting *p)
{
	return LEDGER_DB_FAILED;
}

enum ledger_rc
ledger_post_paid(struct db *db, const char *order_public_id, const char *pg, int64_t user_id, int64_t amount)
{
	return LEDGER_DB_FAILED;
}

enum ledger_rc
ledger_post_refund(struct db *db, const char *refund_public_id, const char *order_public_id, const char *pg, int64_t user_id, int64_t amount)
{
	return LEDGER_DB_FAILED;
}

enum ledger_rc
ledger_post_points_charge(struct db *db, int64_t charge_id, int64_t user_id, int64_t amount)
{
	return LEDGER_DB_FAILED;
}

enum ledger_rc
ledger_post_payout(struct db *db, int64_t payout_id, int64_t seller_id, int64_t amount)
{
	return LEDGER_DB_FAILED;
}

const char *
ledger_rc_name(enum ledger_rc rc)
{
	return "?";
}

const char *
ledger_code_name(enum ledger_code c)
{
	return "?";
}

int
ledger_code_parse(const char *s, enum ledger_code *out)
{
	return DB_ERR;
}

const char *
ledger_kind_name(enum ledger_kind k)
{
	return "?";
}

int64_t
ledger_accounts(struct db *db, struct arena *a, struct ledger_account **out)
{
	return DB_ERR;
}

int
ledger_account_get(struct db *db, struct arena *a, const char *code, struct ledger_account *out)
{
	return DB_ERR;
}

int64_t
ledger_transfers(struct db *db, struct arena *a, const char *account, int64_t before_id, size_t limit, struct ledger_transfer **out)
{
	return DB_ERR;
}

int64_t
ledger_check(struct db *db, struct arena *a, struct buf *report)
{
	return DB_ERR;
}
