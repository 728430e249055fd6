/* labels: the one table of the Korean words shoppers (and later shop staff) read for our codes:
 * order statuses, payment methods, refund statuses, delivery statuses, couriers and the
 * timeline's events, each with the tone its badge is drawn in; and the short order number.
 * Pages, the order API's statusLabel and mail take their words from here and nowhere else, so
 * a raw code ("PAID", "toss") never reaches a shopper. Codes are the database spellings
 * (orders_status_name, orders_pay_name, refunds_status_name, fulfilment_status_name, ...).
 * Pure: no I/O. */
#ifndef JT_LABELS_H
#define JT_LABELS_H

#include <stddef.h>
#include <stdint.h>

enum label_kind {
	LABEL_ORDER,        /* orders.status: PAID → 결제완료 */
	LABEL_PAY,          /* orders.pay_method: toss → 토스페이먼츠 */
	LABEL_REFUND,       /* refunds.status: DONE → 환불완료 */
	LABEL_DELIVERY,     /* order_deliveries.status: SHIPPED → 배송중 */
	LABEL_COURIER,      /* order_deliveries.courier: cj → CJ대한통운 */
	LABEL_EVENT,        /* order_events.to_status, as a sentence for the timeline */
	LABEL_ACCOUNT,      /* a ledger account's code before any ':': pg_receivable → PG 미수금 */
	LABEL_ACCOUNT_KIND, /* ledger_kind_name: asset → 자산 */
	LABEL_POSTING,      /* ledger_code_name, why money moved: paid.pg → PG 결제 */
	LABEL_AUDIT,        /* audit_log.action: stock.adjust → 재고 조정 */
	LABEL_FIELD,        /* a key of an audit record's before/after JSON: stock → 재고 */
	LABEL_RECON_STATUS, /* recon_runs.status: done → 완료 */
	LABEL_RECON_CLASS,  /* reconcile_class_name: missing_here → 우리 쪽 누락 */
	LABEL_RECON_ACTION, /* recon_findings.action: marked_paid → 결제 확정 */
	LABEL_KIND__MAX
};

/* How a badge shows the state: class "is-<tone>" in static/jangteo.css. */
enum label_tone { LABEL_TONE_MUTED, LABEL_TONE_OK, LABEL_TONE_INFO, LABEL_TONE_WARN,
	LABEL_TONE_DANGER, LABEL_TONE__MAX };

struct label {
	enum label_kind kind;
	const char *code;   /* the database spelling */
	const char *text;   /* Korean */
	enum label_tone tone;
};

/* The row for code of kind, or NULL when the table has none (code NULL included). */
const struct label *labels_find(enum label_kind kind, const char *code);

/* The Korean text for code of kind; never NULL and never the code itself: an unknown code reads
 * "확인 중" (and is a bug the unit tests look for: every code of every enum has a row). */
const char *labels_text(enum label_kind kind, const char *code);

/* The tone's CSS word ("ok", "info", ...) for code of kind; "muted" when unknown. */
const char *labels_tone(enum label_kind kind, const char *code);

/* The row of kind number i in table order, for listing every choice of a kind (the couriers of
 * a form): fills *out and returns 1, or returns 0 past the last. */
int labels_nth(enum label_kind kind, size_t i, const struct label **out);

#define LABELS_ACCOUNT_MAX 128

/* A ledger account's Korean name for the console, from its code (lib/shop/ledger.h's chart):
 * "pg_receivable:toss" → "PG 미수금 (토스페이먼츠)", "points:12" → "회원 포인트 (회원 12)",
 * "seller_payable:3" → "판매자 지급 예정금 (판매자 3)", "cash_at_bank" → "은행 예금". An
 * unknown code reads "확인 중". Writes at most cap bytes (LABELS_ACCOUNT_MAX is enough) and
 * returns out. The code itself is shown beside it by the page. */
const char *labels_account(const char *code, char *out, size_t cap);

#define LABELS_ORDER_NO_MAX 32   /* "20261206-000123" and room for ids of any size */

/* The order number shoppers read and tell 고객센터: the order's creation date and its id,
 * "YYYYMMDD-" then the id in at least six digits ("20261206-000123"). created_at is the
 * database's "YYYY-MM-DD HH:MM:SS"; out holds LABELS_ORDER_NO_MAX bytes. Returns 0, or -1 (out
 * "") for a malformed date or an id < 1. The 24-character public id stays the key in URLs and
 * at the PG; this number is for people. */
int labels_order_no(const char *created_at, int64_t id, char *out, size_t cap);

/* Reads an order number back ("20261206-000123": 8 digits, '-', 1..18 digits): the id into
 * *id and the day, "2026-12-06", into day[11]. Returns 0, or -1 for anything else. The caller
 * checks both (an id alone would let a guessed number match another day's order). */
int labels_order_no_parse(const char *s, int64_t *id, char day[11]);

#endif
