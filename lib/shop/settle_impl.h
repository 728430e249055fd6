/* settle_impl: what the files of the settle module share and nothing else includes:
 * settle.c (one order or refund at a time) and settle_batch.c (a batch of sales in one
 * transaction). See settle.h for the module's contract. */
#ifndef JT_SETTLE_IMPL_H
#define JT_SETTLE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shop/ledger.h"

struct arena;

/* Sellers one posting can carry: one leg each plus the commission leg. */
#define SELLERS_PER_POSTING (LEDGER_LEGS_MAX - 1)

/* One seller's share of a sale or refund. */
struct settle_share {
	int64_t seller_id;
	int64_t gross;
	int64_t commission;
	int64_t net;
	int bp;
};

/* The legs of one posting for shares[0..n) (n <= SELLERS_PER_POSTING) into legs: each
 * seller's net between seller_payable:<id> and other, the commission between
 * commission_revenue and other; sale = true moves money from other to them. Account codes in
 * a. Returns the number of legs (0 when every amount is 0). */
size_t settle_share_legs(struct arena *a, const struct settle_share *shares, size_t n, bool sale,
    const char *other, struct ledger_leg *legs);

#endif
