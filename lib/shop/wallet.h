/* wallet: a seller's money at the shop, read from the ledger (seller_payable:<id>) and the
 * settlements, and payouts that move a seller's payable to the bank (sql/010_ledger.sql).
 * A payout is one transaction: a guarded payouts row and its ledger posting. */
#ifndef JT_WALLET_H
#define JT_WALLET_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;
struct json_object;

struct wallet {
	int64_t seller_id;
	const char *seller_name;
	int commission_bp;          /* the seller's rate, or the config default when it has none */
	int64_t payable;            /* balance of seller_payable:<id>: what we owe them now */
	int64_t sales_total;        /* gross of settled sales */
	int64_t commission_total;   /* commission kept on them (net of refunds) */
	int64_t refunds_total;      /* gross of settled refunds */
	int64_t paid_out_total;     /* sum of payouts */
};

/* One line of a wallet's history: a settlement, a refund's settlement or a payout. */
struct wallet_entry {
	const char *kind;           /* "sale", "refund", "payout" */
	const char *ref;            /* order id, refund id or payout id */
	int64_t gross;              /* sale or refund amount; payout amount */
	int64_t commission;         /* 0 for payouts */
	int64_t net;                /* the change to payable (negative for refunds and payouts) */
	const char *at;             /* "YYYY-MM-DD HH:MM:SS" */
};

/* Every seller's wallet, by seller id, into an array from a. default_bp is the config's
 * settle.commission_bp. Returns the count or an enum db_rc. */
int64_t wallet_list(struct db *db, struct arena *a, int default_bp, struct wallet **out);

/* One seller's wallet. Returns 1, 0 unknown seller, or an enum db_rc. */
int wallet_get(struct db *db, struct arena *a, int64_t seller_id, int default_bp,
    struct wallet *out);

/* The newest entries of a seller's wallet, at most limit. Returns the count or an enum db_rc. */
int64_t wallet_entries(struct db *db, struct arena *a, int64_t seller_id, size_t limit,
    struct wallet_entry **out);

/* The seller a user manages (sellers.owner_user_id), or 0 when none. Returns 1, 0 or an
 * enum db_rc. */
int wallet_seller_of_user(struct db *db, int64_t user_id, int64_t *seller_id);

enum wallet_payout_rc {
	WALLET_PAID_OUT,       /* *payout_id and *paid set */
	WALLET_REPLAYED,       /* key was used for this payout before: same *payout_id, *paid */
	WALLET_NOTHING,        /* the payable is zero */
	WALLET_TOO_MUCH,       /* amount passes the payable: nothing written */
	WALLET_NO_SELLER,
	WALLET_PAYOUT_FAILED,  /* the database failed: nothing written */
	WALLET_KEY_REUSED,     /* key was used for another seller's payout, or another amount */
	WALLET_BAD_REQUEST,    /* amount neither -1 nor 1..MONEY_MAX, or a malformed key */
	WALLET_PAYOUT__MAX
};

/* Pays amount (-1: the whole payable) of seller_id's payable out to the bank, recorded with
 * actor_user_id (the admin; 0 for jangteoctl) and key (an idempotency key, 1..64 of
 * [A-Za-z0-9_-], or NULL). One transaction: the seller's payable account row is locked,
 * checked, the payouts row and ledger posting payout:<id> written and, for an admin, the
 * audit record "wallet.payout" (before {"payable"}, after {"payoutId","paid","payable"}). A
 * replay writes nothing, audit included. */
enum wallet_payout_rc wallet_payout(struct db *db, int64_t seller_id, int64_t amount,
    int64_t actor_user_id, const char *key, int64_t *payout_id, int64_t *paid);

/* English name of rc, for logs and jangteoctl. */
const char *wallet_payout_rc_name(enum wallet_payout_rc rc);

/* {"sellerId","sellerName","commissionBp","payable","salesTotal","commissionTotal",
 *  "refundsTotal","paidOutTotal","entries":[{"kind","ref","gross","commission","net","at"}]}
 * (entries may be NULL with n 0). The caller owns the object. */
struct json_object *wallet_json(const struct wallet *w, const struct wallet_entry *entries,
    size_t n);

#endif
