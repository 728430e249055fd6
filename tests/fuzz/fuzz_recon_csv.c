/* fuzz_recon_csv: a PG's settlement file through reconcile_parse_csv (lib/shop/reconcile.c),
 * as jangteoctl reconcile reads it, for each PG. It is all or nothing: an accepted file keeps
 * every promise of reconcile.h for every row; a refused one is empty, and its reason is one
 * line of printable ASCII that never repeats the file's bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/money.h"
#include "clients/pg.h"
#include "fuzz.h"
#include "shop/reconcile.h"

/* s is 1..max bytes of printable ASCII. */
static void
check_word(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL)
		abort();
	n = strlen(s);
	if (n == 0 || n > max)
		abort();
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			abort();
}

static void
run(const char *text, size_t len, enum pg_id pg)
{
	struct arena *a = arena_new(4096);
	struct recon_file f;
	char err[256];
	size_t i;

	memset(err, 'x', sizeof(err));
	if (reconcile_parse_csv(text, len, pg, a, &f, err, sizeof(err)) != 0) {
		fuzz_terminated(err, sizeof(err));
		if (err[0] == '\0' || f.nrows != 0)
			abort();
		for (i = 0; err[i] != '\0'; i++)
			if (err[i] < 0x20 || err[i] > 0x7e)
				abort();
		reconcile_file_free(&f);
		arena_free(&a);
		return;
	}
	if (f.pg != pg || f.nrows > RECON_ROWS_MAX || (f.nrows > 0 && !reconcile_date_ok(f.date)))
		abort();
	for (i = 0; i < f.nrows; i++) {
		const struct recon_row *r = &f.rows[i];
		int64_t net;

		check_word(r->payment_key, RECON_KEY_MAX);
		check_word(r->order_id, RECON_ORDER_MAX);
		check_word(r->transaction_key, RECON_TX_MAX);
		check_word(r->at, 255);
		if ((unsigned)r->type >= RECON_TYPE__MAX ||
		    (r->type == RECON_APPROVE ? r->amount <= 0 : r->amount >= 0) ||
		    r->amount > MONEY_MAX || r->amount < -MONEY_MAX ||
		    money_sub(r->amount, r->fee, &net) != 0 || net != r->net || r->line < 2)
			abort();
	}
	reconcile_file_free(&f);
	arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);   /* exact size: ASan sees a read past the end */

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	run(copy, size, PG_TOSS);
	run(copy, size, PG_KAKAOPAY);
	free(copy);
	return 0;
}
