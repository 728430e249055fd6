/* cmds: the subcommands of jangteoctl, one file per family. */
#ifndef JT_CMDS_H
#define JT_CMDS_H

struct db;

/* seed-demo: sellers, products with stock and prices in won, a demo shopper and an admin.
 * Safe to run twice (existing rows are kept). Returns 0 or -1. */
int seed_demo(struct db *db);

#endif
