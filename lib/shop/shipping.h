/* shipping: what an order pays for delivery. Every seller ships their own goods, so the rule
 * is applied per seller: a seller's goods in one order pay that seller's fee, unless they are
 * worth at least that seller's free-shipping threshold. A seller's own rule (sellers.
 * shipping_fee, sellers.free_shipping_over) wins over the shop's (shipping.fee,
 * shipping.free_over). The cart, the checkout page and orders_create all quote through here,
 * so the fee the shopper is shown is the fee charged.
 *
 * Where the money goes: the fee is part of the order's amount (the PG charges it, the paid
 * posting carries it to sales_clearing) and belongs to the seller who ships: settlement adds
 * it to that seller's gross (lib/shop/settle.c), commission included, like the goods. A full
 * cancel refunds it with everything else; a refund of chosen lines does not (the parcel of
 * the rest still travels). */
#ifndef JT_SHIPPING_H
#define JT_SHIPPING_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct conf;
struct db;

/* A rule: fee won per parcel; free_over > 0: goods worth at least this ship free (0: no
 * threshold, the fee is always charged). fee 0 ships everything free. */
struct shipping_rule {
	int64_t fee;
	int64_t free_over;
};

/* The shop's rule from the config (shipping.fee, shipping.free_over). */
void shipping_rule_from_conf(const struct conf *c, struct shipping_rule *out);

/* The fee for goods worth goods won under rule. Pure. */
int64_t shipping_fee(int64_t goods, const struct shipping_rule *rule);

/* One seller's parcel in a quote. */
struct shipping_parcel {
	int64_t seller_id;
	int64_t goods;                /* won of this seller's lines */
	int64_t fee;                  /* won for the parcel */
	struct shipping_rule rule;    /* the rule applied (for "n원 더 담으면 무료배송") */
};

/* What a basket pays: its parcels by seller id, the goods, the fees and their total. */
struct shipping_quote {
	struct shipping_parcel *parcels;   /* n, by seller id, in the arena */
	size_t n;
	int64_t goods;
	int64_t fees;
	int64_t total;                     /* goods + fees */
};

/* Quotes the n lines (seller_ids[i] sold amounts[i] won; seller 0 = a line that is no longer
 * sold, left out) under each seller's rule, the shop's (shop) where the seller has none: one
 * query for the sellers' rules. Returns 0, -1 on a database error, -2 when a sum passes
 * MONEY_MAX. */
int shipping_quote(struct db *db, struct arena *a, const struct shipping_rule *shop,
    const int64_t *seller_ids, const int64_t *amounts, size_t n, struct shipping_quote *out);

/* A seller's rule: the shop's (shop) with the seller's own columns over it, each given as
 * read from sellers.shipping_fee / free_shipping_over or -1 for SQL NULL (the shop's). */
void shipping_rule_seller(const struct shipping_rule *shop, int64_t fee, int64_t free_over,
    struct shipping_rule *out);

/* shipping_quote without its query, for a caller that read the sellers' rules with its own
 * rows (the checkout's price query): rules[i] is line i's seller's rule
 * (shipping_rule_seller). Pure. Returns 0 or -2 when a sum passes MONEY_MAX. */
int shipping_quote_rules(struct arena *a, const int64_t *seller_ids, const int64_t *amounts,
    const struct shipping_rule *rules, size_t n, struct shipping_quote *out);

#endif
