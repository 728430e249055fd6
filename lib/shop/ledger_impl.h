/* ledger_impl: what the files of the ledger module share and nothing else includes:
 * ledger.c (the chart, one posting, the shop's postings) and ledger_batch.c (many postings
 * in two statements). See ledger.h for the module's contract. */
#ifndef JT_LEDGER_IMPL_H
#define JT_LEDGER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shop/ledger.h"

struct arena;
struct db;

/* An account code understood. */
struct chart_entry {
	enum ledger_kind kind;
	bool not_negative;
	int64_t owner_user;     /* points:<id>, else 0 */
	int64_t owner_seller;   /* seller_payable:<id>, else 0 */
	const char *pg;         /* pg_receivable:<pg>, else NULL (points into code) */
};

/* An account a posting touches, with what the posting adds to each side. */
struct touch {
	const char *code;
	struct chart_entry e;
	int64_t id;             /* ledger_accounts.id, once moved */
	int64_t debits;
	int64_t credits;
	int64_t opening;        /* points opened with this posting (credited from cash_at_bank) */
};

/* One posting's work: up to two accounts per leg. */
struct post_work {
	const struct ledger_posting *p;
	struct touch touches[2 * LEDGER_LEGS_MAX + 1];
	size_t ntouches;
};

/* Checks p and sums its legs per account into w. Returns 0 or -1 (invalid; logged). */
int ledger_collect(const struct ledger_posting *p, struct post_work *w);

/* qsort order of touches: by account code, the order every posting locks accounts in. */
int ledger_cmp_touch(const void *a, const void *b);

/* Adds t's debits and credits to its account with the limit guard, creating the account on
 * first use (a points account with its opening). Sets t->id. */
enum ledger_rc ledger_move_account(struct db *db, struct arena *a, struct touch *t);

/* s, or "" for NULL (the ref columns are NOT NULL). */
const char *ledger_ref_or_empty(const char *s);

#endif
