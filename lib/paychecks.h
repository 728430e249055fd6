/* paychecks: the janitor's follow-up of payments whose outcome we do not know
 * (sql/012_paychecks.sql). An UNKNOWN order, or a CONFIRMING one whose confirm job is dead
 * or finished without moving it, gets a `payment.check` job on a back-off schedule
 * (payments.check_base_seconds, doubling); the payment worker looks the payment up at the
 * PG by orderId and marks the order PAID or FAILED when the PG answers. After
 * payments.check_max answerless checks the order is listed for an admin. */
#ifndef JT_PAYCHECKS_H
#define JT_PAYCHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;

struct paycheck {
	const char *order_public_id;
	const char *status;         /* the order's: "UNKNOWN" or "CONFIRMING" */
	const char *pg;
	int64_t amount;
	int checks;                 /* lookups made */
	const char *next_at;        /* when the next is due, or NULL */
	const char *last_result;    /* what the last lookup said, or NULL */
	bool needs_admin;           /* checks reached payments.check_max */
	const char *since;          /* when the order entered its status */
};

/* Orders whose payment outcome is open, those needing an admin first, at most limit.
 * Returns the count or an enum db_rc. */
int64_t paychecks_open(struct db *db, struct arena *a, size_t limit, struct paycheck **out);

#endif
