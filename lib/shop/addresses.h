/* addresses: a shopper's address book (sql/017_delivery.sql): who receives the parcel, their
 * phone, 우편번호 and address, a memo for the courier, and at most one default address (a
 * unique key holds that). Checking what a shopper typed is pure (addresses_check) and says,
 * field by field, in Korean, what is wrong; the rest reads and writes one user's rows, every
 * statement scoped by that user, so nobody reaches another's address by its id. Knows nothing
 * of HTTP. */
#ifndef JT_ADDRESSES_H
#define JT_ADDRESSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;

#define ADDRESSES_MAX 20          /* addresses one user may keep */
#define ADDRESSES_PHONE_MAX 13    /* "010-1234-5678" */

/* The fields of an address, in form order; the parallel names are the form's field names. */
enum address_field {
	ADDRESS_LABEL,       /* 배송지 이름 ("집", "회사"), optional, at most 20 characters */
	ADDRESS_RECIPIENT,   /* 받는 분, 1..20 characters */
	ADDRESS_PHONE,       /* 연락처: a Korean number, 9..11 digits starting with 0, hyphens allowed */
	ADDRESS_ZIPCODE,     /* 우편번호: five digits */
	ADDRESS_ADDRESS1,    /* 주소 (도로명 or 지번), 1..100 characters */
	ADDRESS_ADDRESS2,    /* 상세주소, optional, at most 100 characters */
	ADDRESS_MEMO,        /* 배송 메모, optional, at most 50 characters */
	ADDRESS_FIELD__MAX
};

/* "label", "recipient", "phone", "zipcode", "address1", "address2", "memo". */
const char *addresses_field_name(enum address_field f);

/* One address; strings live in the arena it was read into (or the caller's, when built by
 * addresses_check). */
struct address {
	int64_t id;                        /* 0 for one not stored yet */
	const char *f[ADDRESS_FIELD__MAX]; /* never NULL; "" for an empty optional field */
	bool is_default;
};

/* Checks and tidies what a shopper typed (in[f] may be NULL for an absent field): trims
 * spaces, formats the phone ("01012345678" and "010 1234 5678" become "010-1234-5678").
 * Fills out->f (copies in a) and, for every field that is wrong, errors[f] with a Korean
 * message to show next to it (NULL for a good field). Returns 0 when every field is good,
 * else -1. Pure. */
int addresses_check(struct arena *a, const char *const in[ADDRESS_FIELD__MAX],
    struct address *out, const char *errors[ADDRESS_FIELD__MAX]);

/* user_id's addresses, the default first, then newest first, into an array from a. Returns
 * the count, or -1 on a database error. */
int64_t addresses_list(struct db *db, struct arena *a, int64_t user_id, struct address **out);

/* user_id's address id into *out. Returns 1, 0 when user_id has no such address, -1 on a
 * database error. */
int addresses_get(struct db *db, struct arena *a, int64_t user_id, int64_t id,
    struct address *out);

/* user_id's default address (or, without one, the newest) into *out. Returns 1, 0 when the
 * book is empty, -1 on a database error. */
int addresses_default(struct db *db, struct arena *a, int64_t user_id, struct address *out);

enum addresses_rc {
	ADDRESSES_OK,
	ADDRESSES_NOT_FOUND,   /* no such address of this user */
	ADDRESSES_FULL,        /* ADDRESSES_MAX already kept */
	ADDRESSES_FAILED,      /* the database failed: nothing changed */
	ADDRESSES_RC__MAX
};

/* Stores a checked address for user_id: a new one when ad->id is 0 (its id into *id_out),
 * else replaces that one. make_default (or a first address) makes it the default, in the same
 * transaction that takes the mark off the old one. */
enum addresses_rc addresses_save(struct db *db, int64_t user_id, const struct address *ad,
    bool make_default, int64_t *id_out);

/* Makes user_id's address id the default. */
enum addresses_rc addresses_set_default(struct db *db, int64_t user_id, int64_t id);

/* Deletes user_id's address id (orders keep their own copy: order_addresses). */
enum addresses_rc addresses_delete(struct db *db, int64_t user_id, int64_t id);

/* A checked address is copied as the address an order ships to by jt_checkout
 * (sql/019_checkout.sql, from lib/shop/orders_create.c), in the checkout's transaction. */

/* The address order order_id ships to into *out (id 0). Returns 1, 0 when the order has none
 * (checked out through the API), -1 on a database error. */
int addresses_of_order(struct db *db, struct arena *a, int64_t order_id, struct address *out);

#endif
