/* shipping: per-seller shipping fees under the sellers' and the shop's rules (see
 * shipping.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/arena.h"
#include "base/conf.h"
#include "base/money.h"
#include "infra/db.h"
#include "shop/shipping.h"

/* The sellers' own rules; NULL columns fall back to the shop's. */
enum rule_col { RC_ID, RC_FEE, RC_FREE_OVER };
static const char SQL_RULES[] =
    "SELECT s.id, s.shipping_fee, s.free_shipping_over"
    " FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j"
    " JOIN sellers s ON s.id = j.id";

void
shipping_rule_from_conf(const struct conf *c, struct shipping_rule *out)
{
	out->fee = conf_int(c, CONF_SHIPPING_FEE);
	out->free_over = conf_int(c, CONF_SHIPPING_FREE_OVER);
}

int64_t
shipping_fee(int64_t goods, const struct shipping_rule *rule)
{
	if (rule->fee <= 0 || goods <= 0)
		return 0;
	if (rule->free_over > 0 && goods >= rule->free_over)
		return 0;
	return rule->fee;
}

static int
by_seller(const void *pa, const void *pb)
{
	const struct shipping_parcel *a = pa, *b = pb;

	return (a->seller_id > b->seller_id) - (a->seller_id < b->seller_id);
}

/* The parcel of seller_id in q (parcels[0..q->n)), or NULL. */
static struct shipping_parcel *
parcel_of(struct shipping_quote *q, int64_t seller_id)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->parcels[i].seller_id == seller_id)
			return &q->parcels[i];
	return NULL;
}

/* Applies the sellers' own rules over the shop's: one query for all. 0 or -1. */
static int
read_rules(struct db *db, struct arena *a, struct shipping_quote *q)
{
	struct json_object *ids = json_object_new_array();
	struct db_res res;
	int64_t n, i;

	for (i = 0; i < (int64_t)q->n; i++)
		json_object_array_add(ids, json_object_new_int64(q->parcels[i].seller_id));
	n = db_query(db, a, &res, SQL_RULES, "s",
	    json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN));
	json_object_put(ids);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct shipping_parcel *p = parcel_of(q, db_res_i64(&res, (size_t)i, RC_ID));

		if (p == NULL)
			continue;
		if (!db_res_null(&res, (size_t)i, RC_FEE))
			p->rule.fee = db_res_i64(&res, (size_t)i, RC_FEE);
		if (!db_res_null(&res, (size_t)i, RC_FREE_OVER))
			p->rule.free_over = db_res_i64(&res, (size_t)i, RC_FREE_OVER);
	}
	return 0;
}

/* Groups the n lines into out's parcels by seller, each parcel under rules[i] of its first
 * line, or shop's when rules is NULL. Returns 0 or -2 (a sum passes MONEY_MAX). */
static int
group_parcels(struct arena *a, const struct shipping_rule *shop, const int64_t *seller_ids,
    const int64_t *amounts, const struct shipping_rule *rules, size_t n,
    struct shipping_quote *out)
{
	struct shipping_parcel *p;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->parcels = arena_alloc(a, (n > 0 ? n : 1) * sizeof(*out->parcels));
	for (i = 0; i < n; i++) {
		if (seller_ids[i] <= 0)
			continue;
		p = parcel_of(out, seller_ids[i]);
		if (p == NULL) {
			p = &out->parcels[out->n++];
			p->seller_id = seller_ids[i];
			p->rule = rules != NULL ? rules[i] : *shop;
		}
		if (money_add(p->goods, amounts[i], &p->goods) != 0)
			return -2;
	}
	qsort(out->parcels, out->n, sizeof(*out->parcels), by_seller);
	return 0;
}

/* Each parcel's fee under its rule, and the quote's sums. Returns 0 or -2. */
static int
sum_fees(struct shipping_quote *out)
{
	struct shipping_parcel *p;
	size_t i;

	for (i = 0; i < out->n; i++) {
		p = &out->parcels[i];
		p->fee = shipping_fee(p->goods, &p->rule);
		if (money_add(out->goods, p->goods, &out->goods) != 0 ||
		    money_add(out->fees, p->fee, &out->fees) != 0)
			return -2;
	}
	if (money_add(out->goods, out->fees, &out->total) != 0)
		return -2;
	return 0;
}

int
shipping_quote(struct db *db, struct arena *a, const struct shipping_rule *shop,
    const int64_t *seller_ids, const int64_t *amounts, size_t n, struct shipping_quote *out)
{
	if (group_parcels(a, shop, seller_ids, amounts, NULL, n, out) != 0)
		return -2;
	if (out->n > 0 && read_rules(db, a, out) != 0)
		return -1;
	return sum_fees(out);
}

void
shipping_rule_seller(const struct shipping_rule *shop, int64_t fee, int64_t free_over,
    struct shipping_rule *out)
{
	*out = *shop;
	if (fee >= 0)
		out->fee = fee;
	if (free_over >= 0)
		out->free_over = free_over;
}

int
shipping_quote_rules(struct arena *a, const int64_t *seller_ids, const int64_t *amounts,
    const struct shipping_rule *rules, size_t n, struct shipping_quote *out)
{
	if (group_parcels(a, NULL, seller_ids, amounts, rules, n, out) != 0)
		return -2;
	return sum_fees(out);
}
