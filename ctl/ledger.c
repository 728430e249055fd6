/* ledger: the ledger-check and payout commands of jangteoctl (see cmds.h). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "cmds.h"
#include "infra/db.h"
#include "shop/ledger.h"
#include "base/money.h"
#include "base/valid.h"
#include "shop/wallet.h"

int
ctl_ledger_check(const struct conf *c, struct db *db, int argc, char **argv)
{
	struct arena *a;
	struct buf report;
	int64_t n;

	(void)c;
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: jangteoctl ledger-check\n");
		return 2;
	}
	a = arena_new(8192);
	buf_init(&report);
	n = ledger_check(db, a, &report);
	if (n < 0) {
		fprintf(stderr, "ledger-check: the database failed: %s\n", db_error(db));
	} else {
		fputs(buf_cstr(&report), stdout);
		if (n == 0)
			printf("ledger-check: the books balance\n");
		else
			printf("ledger-check: %" PRId64 " violation%s\n", n, n == 1 ? "" : "s");
	}
	buf_release(&report);
	arena_free(&a);
	if (n < 0)
		return 2;
	return n == 0 ? 0 : 1;
}

static void
payout_usage(void)
{
	fprintf(stderr, "usage: jangteoctl payout --seller ID [--amount WON] [--key KEY]\n");
}

int
ctl_payout(const struct conf *c, struct db *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seller", required_argument, NULL, 's' },
		{ "amount", required_argument, NULL, 'a' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t seller = 0, amount = -1, payout_id, paid;
	const char *key = NULL;
	enum wallet_payout_rc rc;
	int ch;

	(void)c;
	while ((ch = getopt_long(argc, argv, "s:a:k:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (valid_int64(optarg, 1, INT64_MAX, &seller) != 0) {
				fprintf(stderr, "payout: --seller must be a seller id\n");
				return 2;
			}
			break;
		case 'a':
			if (money_parse(optarg, &amount) != 0 || amount <= 0) {
				fprintf(stderr, "payout: --amount must be a positive number of won\n");
				return 2;
			}
			break;
		case 'k':
			if (!valid_token(optarg, 1, 64)) {
				fprintf(stderr, "payout: --key must be 1-64 of A-Z a-z 0-9 _ -\n");
				return 2;
			}
			key = optarg;
			break;
		default:
			payout_usage();
			return 2;
		}
	}
	if (seller == 0 || optind != argc) {
		payout_usage();
		return 2;
	}
	rc = wallet_payout(db, seller, amount, 0, key, &payout_id, &paid);
	switch (rc) {
	case WALLET_PAID_OUT:
	case WALLET_REPLAYED:
		printf("payout %" PRId64 ": seller %" PRId64 " paid %" PRId64 " won%s\n", payout_id,
		    seller, paid, rc == WALLET_REPLAYED ? " (replayed: this key paid it before)" : "");
		return 0;
	case WALLET_PAYOUT_FAILED:
		fprintf(stderr, "payout: the database failed\n");
		return 2;
	default:
		fprintf(stderr, "payout: refused: %s\n", wallet_payout_rc_name(rc));
		return 1;
	}
}
