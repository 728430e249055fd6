/* pricewatch: a catalog product's lowest price on Naver Shopping (see pricewatch.h). */
#include <stdlib.h>
#include <string.h>

#include "shop/pricewatch.h"

struct pricewatch {
	struct pricecmp *pc;   /* NULL while the comparison is switched off */
};

struct pricewatch *
pricewatch_new(const struct conf *c, struct redis *redis)
{
	struct pricewatch *pw = calloc(1, sizeof(*pw));

	if (pw == NULL)
		abort();
	if (pricecmp_enabled(c))
		pw->pc = pricecmp_new(c, redis);
	return pw;
}

void
pricewatch_free(struct pricewatch **pw)
{
	if (*pw == NULL)
		return;
	pricecmp_free(&(*pw)->pc);
	free(*pw);
	*pw = NULL;
}

void
pricewatch_lowest(struct pricewatch *pw, const struct catalog_item *it,
    const struct log_ctx *log, struct pricecmp_result *out)
{
	if (pw->pc == NULL) {
		memset(out, 0, sizeof(*out));
		out->status = PRICECMP_OFF;
		return;
	}
	pricecmp_lookup(pw->pc, it->id, it->name, log, out);
}

const char *
pricewatch_status_name(enum pricecmp_status s)
{
	return pricecmp_status_name(s);
}
