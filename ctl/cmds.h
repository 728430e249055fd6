/* cmds: the subcommands of jangteoctl, one file per family. */
#ifndef JT_CMDS_H
#define JT_CMDS_H

struct conf;
struct db;

/* seed-demo: sellers, products with stock and prices in won, a demo shopper and an admin.
 * Safe to run twice (existing rows are kept). Returns 0 or -1. */
int seed_demo(struct db *db);

/* Commands with options of their own get the arguments after their name (argv[0] is the
 * command's name; getopt from optind = 1) and return the process's exit status. */

/* ledger-check (ctl/ledger.c): runs ledger_check; prints each violation and a summary line;
 * 0 when the books balance, 1 when not, 2 on a usage or database error. */
int ctl_ledger_check(const struct conf *c, struct db *db, int argc, char **argv);

/* payout --seller ID [--amount WON] [--key KEY] (ctl/ledger.c): pays a seller's payable out
 * (all of it by default) with wallet_payout; prints the payout. */
int ctl_payout(const struct conf *c, struct db *db, int argc, char **argv);

/* reconcile --pg toss|kakaopay [--dry-run] FILE, or --pg P --fetch YYYY-MM-DD
 * (ctl/reconcile.c): reconciles a settlement file (or the PG's settlement API for that day)
 * against our payments; prints the run's counts; 0 done, 1 findings left for a person,
 * 2 usage or runtime error, 3 another run holds the lock. */
int ctl_reconcile(const struct conf *c, struct db *db, int argc, char **argv);

/* bus-keygen SECRET_FILE (ctl/buskey.c): makes a CURVE key pair for the job bus, writes the
 * secret key to SECRET_FILE (created, mode 0640, never overwritten) and prints the public
 * key. Needs no config. 0, 1 on failure, 2 on a usage error. */
int ctl_bus_keygen(int argc, char **argv);

#endif
