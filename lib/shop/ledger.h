/* ledger: double-entry bookkeeping in MariaDB (sql/010_ledger.sql), in TigerBeetle's model.
 * An account carries debits_posted and credits_posted; a transfer moves amount > 0 won from
 * a debit account to a credit account and is never edited or deleted (a correction is a new,
 * reversing posting). Every money movement of the shop is one posting: one or more transfers
 * sharing a posting id ("paid:<orderId>"), written together with the account balances in
 * the CALLER's transaction, so the movement and the state change that causes it commit or
 * roll back together. Posting the same id twice with the same body is a no-op; the same id
 * with a different body is refused. Accounts are created on first use from the chart below.
 *
 * Chart of accounts (code, kind; "normal" balance side in brackets):
 *   pg_receivable:<pg>     asset [debit]      what a PG owes us for approved payments (toss, kakaopay)
 *   cash_at_bank           asset [debit]      money in the shop's bank: points top-ups in, payouts out
 *   points:<userId>        liability [credit] a customer's points; may not go below zero
 *   sales_clearing         liability [credit] paid orders not yet settled with their sellers
 *   seller_payable:<id>    liability [credit] what the shop owes a seller (their wallet)
 *   refunds                expense [debit]    refunds given, not yet taken back from sellers
 *   commission_revenue     revenue [credit]   the platform's commission
 *   pg_fees                expense [debit]    fees the PGs withheld (reconciliation)
 *
 * Postings (posting id: legs):
 *   paid by PG      paid:<orderId>            pg_receivable:<pg> -> sales_clearing (amount)
 *   paid by points  paid:<orderId>            points:<user> -> sales_clearing
 *   settlement      settle:<orderId>          sales_clearing -> seller_payable:<s> (net), and
 *                                             sales_clearing -> commission_revenue (commission)
 *   refund, PG      refund:<refundId>         refunds -> pg_receivable:<pg>
 *   refund, points  refund:<refundId>         refunds -> points:<user>
 *   refund settled  refund.settle:<refundId>  seller_payable:<s> -> refunds (net), and
 *                                             commission_revenue -> refunds (commission)
 *   points top-up   charge:<chargeId>         cash_at_bank -> points:<user>
 *   payout          payout:<payoutId>         seller_payable:<s> -> cash_at_bank
 *   PG fee          fee:<pg>:<ref>            pg_fees -> pg_receivable:<pg>
 *   points opening  open:points:<userId>      cash_at_bank -> points:<user> (code points.charge)
 * ("a -> b" = debit a, credit b.)
 *
 * Points opening: a points:<user> account is made by the first posting that names it, and
 * it opens with the points the user held before (users.points set outside the ledger, as
 * seed data and tests do): the posting adds open:points:<userId> for users.points minus this
 * posting's own change to the account. So a caller that moves points changes users.points
 * FIRST (its guarded UPDATE locks the user row) and posts after, in the same transaction.
 * A settlement posting of an order with more than 15 sellers continues in settle:<orderId>/2,
 * /3 ... (LEDGER_LEGS_MAX legs per posting). */
#ifndef JT_LEDGER_H
#define JT_LEDGER_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct buf;
struct db;

enum ledger_kind { LEDGER_ASSET, LEDGER_LIABILITY, LEDGER_REVENUE, LEDGER_EXPENSE, LEDGER_KIND__MAX };

/* Why money moved; stored by name ("paid.pg"). */
enum ledger_code {
	LEDGER_PAID_PG,
	LEDGER_PAID_POINTS,
	LEDGER_SETTLE,
	LEDGER_REFUND_PG,
	LEDGER_REFUND_POINTS,
	LEDGER_REFUND_SETTLE,
	LEDGER_POINTS_CHARGE,
	LEDGER_PAYOUT,
	LEDGER_PG_FEE,
	LEDGER_CODE__MAX
};

#define LEDGER_ID_MAX 100        /* posting ids: printable ASCII, no spaces */
#define LEDGER_ACCOUNT_MAX 64    /* account codes */
#define LEDGER_LEGS_MAX 16

struct ledger_leg {
	const char *debit;    /* account code from the chart */
	const char *credit;   /* another account code */
	int64_t amount;       /* > 0 won */
};

struct ledger_posting {
	const char *id;                 /* posting id, unique for ever */
	enum ledger_code code;
	const char *ref_type;           /* "order", "refund", "charge", "payout", "recon" */
	const char *ref_id;             /* the public id of what it refers to */
	const struct ledger_leg *legs;
	size_t nlegs;                   /* 1..LEDGER_LEGS_MAX */
};

enum ledger_rc {
	LEDGER_POSTED,      /* written now */
	LEDGER_REPLAYED,    /* this posting was written before with the same body: nothing changed */
	LEDGER_CONFLICT,    /* the id was used for a different posting: nothing written, logged */
	LEDGER_INVALID,     /* a bad leg (amount <= 0, debit = credit, a code not in the chart) */
	LEDGER_LIMIT,       /* an account would pass its limit (points below zero) */
	LEDGER_DB_FAILED,   /* the database failed: the caller rolls back */
	LEDGER_RC__MAX
};

/* Writes posting p inside the caller's transaction: one ledger_transfers row per leg and
 * the balances of the accounts it names, updated in account-code order (so concurrent
 * postings lock accounts in one order). On anything but LEDGER_POSTED/LEDGER_REPLAYED the
 * caller must roll back (a partial posting may have been written). */
enum ledger_rc ledger_post(struct db *db, const struct ledger_posting *p);

/* Posts ps[0..n) together inside the caller's transaction: every account they touch is
 * updated once, by the batch's sum, in code order, all of them by one statement, and all
 * their transfers are inserted by one more, so a batch of orders costs two statements
 * whatever its size. For postings on accounts without an opening (no points:<user>
 * account). Returns LEDGER_POSTED; anything else leaves the transaction half done and the
 * caller must roll it back and post them one by one with ledger_post, which says what
 * happened to each: LEDGER_LIMIT when an account would pass its limit, LEDGER_DB_FAILED
 * also when one of the ids was posted before (ledger_post answers replays). An account
 * that does not exist yet is made and moved on its own (a seller's first settlement costs
 * two statements more). Scratch memory from a. */
enum ledger_rc ledger_post_batch(struct db *db, struct arena *a, const struct ledger_posting *ps,
    size_t n);

/* The shop's postings, built from the chart above and passed to ledger_post. pg is "toss"
 * or "kakaopay" for a PG, or "points" (then user_id names the customer's points account). */
enum ledger_rc ledger_post_paid(struct db *db, const char *order_public_id, const char *pg,
    int64_t user_id, int64_t amount);

/* The posting ledger_post_paid writes for a PG-paid order (paid:<orderId>, the PG's
 * receivable to sales_clearing), built into *p with its one leg in *leg (strings in a), for
 * ledger_post_batch. Returns 0, or -1 for points or an unknown pg. */
int ledger_paid_posting(struct arena *a, const char *order_public_id, const char *pg,
    int64_t amount, struct ledger_posting *p, struct ledger_leg *leg);
enum ledger_rc ledger_post_refund(struct db *db, const char *refund_public_id,
    const char *order_public_id, const char *pg, int64_t user_id, int64_t amount);
enum ledger_rc ledger_post_points_charge(struct db *db, int64_t charge_id, int64_t user_id,
    int64_t amount);
enum ledger_rc ledger_post_payout(struct db *db, int64_t payout_id, int64_t seller_id,
    int64_t amount);

/* What a db_tx transaction function returns after a posting answered rc (anything but
 * LEDGER_POSTED / LEDGER_REPLAYED): DB_RETRY when rc is LEDGER_DB_FAILED after a deadlock or
 * lock wait timeout (db_tx then reruns the transaction), else DB_ERR. */
int ledger_tx_rc(struct db *db, enum ledger_rc rc);

/* Names for logs and pages. */
const char *ledger_rc_name(enum ledger_rc rc);

/* The codes' and kinds' database spellings, indexed by value (for row descriptors). */
extern const char *const ledger_code_names[LEDGER_CODE__MAX];
extern const char *const ledger_kind_names[LEDGER_KIND__MAX];
const char *ledger_code_name(enum ledger_code c);
const char *ledger_kind_name(enum ledger_kind k);

struct ledger_account {
	const char *code;
	enum ledger_kind kind;
	int64_t debits_posted;
	int64_t credits_posted;
	int64_t balance;          /* on its normal side: debits - credits for assets and expenses,
	                           * credits - debits otherwise */
};

struct ledger_transfer {
	int64_t id;
	const char *posting_id;
	const char *debit;
	const char *credit;
	int64_t amount;
	enum ledger_code code;
	const char *ref_type;
	const char *ref_id;
	const char *created_at;   /* "YYYY-MM-DD HH:MM:SS" */
};

/* Every account, ordered by code, into an array from a. Returns the count or an enum db_rc. */
int64_t ledger_accounts(struct db *db, struct arena *a, struct ledger_account **out);

/* One account by code. Returns 1, 0 unknown, or an enum db_rc. */
int ledger_account_get(struct db *db, struct arena *a, const char *code,
    struct ledger_account *out);

/* Transfers touching account (NULL: all), newest first, ids below before_id (0: from the
 * newest), at most limit. Returns the count or an enum db_rc. */
int64_t ledger_transfers(struct db *db, struct arena *a, const char *account, int64_t before_id,
    size_t limit, struct ledger_transfer **out);

/* Checks the books: sum of debits = sum of credits; each account's posted columns equal the
 * sums of its transfers; no account past its limit; every order that was ever paid
 * (paid_at set) has its paid:<orderId> posting with its amount; every DONE refund its
 * refund:<refundId> posting. Appends one line per violation to report (English).
 * Returns the number of violations (0: the books balance), or an enum db_rc. */
int64_t ledger_check(struct db *db, struct arena *a, struct buf *report);

#endif
