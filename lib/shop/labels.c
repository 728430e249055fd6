/* labels: the Korean words for every code a shopper sees, in one table (see labels.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shop/labels.h"

#define MUTED LABEL_TONE_MUTED
#define OK LABEL_TONE_OK
#define INFO LABEL_TONE_INFO
#define WARN LABEL_TONE_WARN
#define DANGER LABEL_TONE_DANGER

static const struct label label_rows[] = {
	/* order statuses: the payment side of an order */
	{ LABEL_ORDER, "PENDING",            "결제대기",     WARN },
	{ LABEL_ORDER, "CONFIRMING",         "결제확인중",   INFO },
	{ LABEL_ORDER, "PAID",               "결제완료",     OK },
	{ LABEL_ORDER, "FAILED",             "결제실패",     DANGER },
	{ LABEL_ORDER, "UNKNOWN",            "결제확인지연", WARN },
	{ LABEL_ORDER, "EXPIRED",            "주문만료",     MUTED },
	{ LABEL_ORDER, "CANCELED",           "주문취소",     MUTED },
	{ LABEL_ORDER, "PARTIALLY_CANCELED", "부분취소",     WARN },
	/* payment methods */
	{ LABEL_PAY, "points",   "포인트",       MUTED },
	{ LABEL_PAY, "toss",     "토스페이먼츠", MUTED },
	{ LABEL_PAY, "kakaopay", "카카오페이",   MUTED },
	/* refunds */
	{ LABEL_REFUND, "REQUESTED", "환불처리중", INFO },
	{ LABEL_REFUND, "DONE",      "환불완료",   OK },
	{ LABEL_REFUND, "FAILED",    "환불실패",   DANGER },
	/* deliveries: the fulfilment side, beside the payment side */
	{ LABEL_DELIVERY, "PREPARING",        "배송준비중", INFO },
	{ LABEL_DELIVERY, "SHIPPED",          "배송중",     INFO },
	{ LABEL_DELIVERY, "DELIVERED",        "배송완료",   OK },
	{ LABEL_DELIVERY, "RETURN_REQUESTED", "반품요청",   WARN },
	{ LABEL_DELIVERY, "RETURNED",         "반품완료",   MUTED },
	/* couriers (the codes order_deliveries.courier takes) */
	{ LABEL_COURIER, "cj",     "CJ대한통운", MUTED },
	{ LABEL_COURIER, "hanjin", "한진택배",   MUTED },
	{ LABEL_COURIER, "lotte",  "롯데택배",   MUTED },
	{ LABEL_COURIER, "epost",  "우체국택배", MUTED },
	{ LABEL_COURIER, "logen",  "로젠택배",   MUTED },
	{ LABEL_COURIER, "etc",    "기타 택배",  MUTED },
	/* the timeline: what reaching each order status means, as a sentence */
	{ LABEL_EVENT, "PENDING",            "주문서를 접수했습니다",                 MUTED },
	{ LABEL_EVENT, "CONFIRMING",         "결제사에 결제 승인을 요청했습니다",     INFO },
	{ LABEL_EVENT, "PAID",               "결제가 완료되었습니다",                 OK },
	{ LABEL_EVENT, "FAILED",             "결제가 이루어지지 않았습니다",          DANGER },
	{ LABEL_EVENT, "UNKNOWN",            "결제사 응답을 확인하고 있습니다",       WARN },
	{ LABEL_EVENT, "EXPIRED",            "결제 기한이 지나 주문이 취소되었습니다", MUTED },
	{ LABEL_EVENT, "CANCELED",           "주문이 취소되었습니다",                 MUTED },
	{ LABEL_EVENT, "PARTIALLY_CANCELED", "일부 상품이 취소·환불되었습니다",       WARN },

	{ LABEL_ACCOUNT, "pg_receivable",      "PG 미수금",          MUTED },
	{ LABEL_ACCOUNT, "cash_at_bank",       "은행 예금",          MUTED },
	{ LABEL_ACCOUNT, "points",             "회원 포인트",        MUTED },
	{ LABEL_ACCOUNT, "sales_clearing",     "정산 대기 매출",     MUTED },
	{ LABEL_ACCOUNT, "seller_payable",     "판매자 지급 예정금", MUTED },
	{ LABEL_ACCOUNT, "refunds",            "환불",               MUTED },
	{ LABEL_ACCOUNT, "commission_revenue", "수수료 수익",        MUTED },
	{ LABEL_ACCOUNT, "pg_fees",            "PG 수수료",          MUTED },

	{ LABEL_ACCOUNT_KIND, "asset",     "자산", INFO },
	{ LABEL_ACCOUNT_KIND, "liability", "부채", WARN },
	{ LABEL_ACCOUNT_KIND, "revenue",   "수익", OK },
	{ LABEL_ACCOUNT_KIND, "expense",   "비용", DANGER },

	{ LABEL_POSTING, "paid.pg",       "PG 결제",       OK },
	{ LABEL_POSTING, "paid.points",   "포인트 결제",   OK },
	{ LABEL_POSTING, "settle",        "판매자 정산",   INFO },
	{ LABEL_POSTING, "refund.pg",     "PG 환불",       WARN },
	{ LABEL_POSTING, "refund.points", "포인트 환불",   WARN },
	{ LABEL_POSTING, "refund.settle", "환불 정산",     WARN },
	{ LABEL_POSTING, "points.charge", "포인트 충전",   INFO },
	{ LABEL_POSTING, "payout",        "판매자 지급",   INFO },
	{ LABEL_POSTING, "pg.fee",        "PG 수수료",     MUTED },

	{ LABEL_AUDIT, "product.create",     "상품 등록",       INFO },
	{ LABEL_AUDIT, "product.update",     "상품 수정",       INFO },
	{ LABEL_AUDIT, "product.deactivate", "판매 중지",       WARN },
	{ LABEL_AUDIT, "product.activate",   "판매 재개",       OK },
	{ LABEL_AUDIT, "stock.adjust",       "재고 조정",       INFO },
	{ LABEL_AUDIT, "refund.request",     "환불 요청",       WARN },
	{ LABEL_AUDIT, "wallet.payout",      "판매자 지급",     INFO },
	{ LABEL_AUDIT, "outbox.retry",       "작업 재시도",     MUTED },
	{ LABEL_AUDIT, "delivery.ship",      "발송 처리",       INFO },
	{ LABEL_AUDIT, "delivery.deliver",   "배송 완료",       OK },
	{ LABEL_AUDIT, "reconcile.run",      "정산 대사 실행",  WARN },

	{ LABEL_FIELD, "id",             "번호",          MUTED },
	{ LABEL_FIELD, "sellerId",       "판매자",        MUTED },
	{ LABEL_FIELD, "name",           "상품명",        MUTED },
	{ LABEL_FIELD, "description",    "설명",          MUTED },
	{ LABEL_FIELD, "price",          "가격",          MUTED },
	{ LABEL_FIELD, "listPrice",      "정가",          MUTED },
	{ LABEL_FIELD, "active",         "판매 상태",     MUTED },
	{ LABEL_FIELD, "stock",          "재고",          MUTED },
	{ LABEL_FIELD, "delta",          "조정 수량",     MUTED },
	{ LABEL_FIELD, "reason",         "사유",          MUTED },
	{ LABEL_FIELD, "status",         "상태",          MUTED },
	{ LABEL_FIELD, "refundedAmount", "환불된 금액",   MUTED },
	{ LABEL_FIELD, "refundId",       "환불 번호",     MUTED },
	{ LABEL_FIELD, "orderId",        "주문",          MUTED },
	{ LABEL_FIELD, "amount",         "금액",          MUTED },
	{ LABEL_FIELD, "lines",          "상품별 내역",   MUTED },
	{ LABEL_FIELD, "full",           "전액 환불",     MUTED },
	{ LABEL_FIELD, "payable",        "지급할 금액",   MUTED },
	{ LABEL_FIELD, "payoutId",       "지급 번호",     MUTED },
	{ LABEL_FIELD, "paid",           "지급액",        MUTED },
	{ LABEL_FIELD, "kind",           "작업 종류",     MUTED },
	{ LABEL_FIELD, "attempts",       "시도 횟수",     MUTED },
	{ LABEL_FIELD, "lastError",      "마지막 오류",   MUTED },
	{ LABEL_FIELD, "pictures",       "상품 이미지",   MUTED },
	{ LABEL_FIELD, "courier",        "택배사",        MUTED },
	{ LABEL_FIELD, "trackingNo",     "송장 번호",     MUTED },
	{ LABEL_FIELD, "pg",             "PG",            MUTED },
	{ LABEL_FIELD, "source",         "파일",          MUTED },
	{ LABEL_FIELD, "date",           "정산일",        MUTED },
	{ LABEL_FIELD, "dryRun",         "모의 대사",     MUTED },
	{ LABEL_FIELD, "rows",           "행 수",         MUTED },

	/* reconciliation (lib/shop/reconcile.h): a run, the class of a finding, what was done */
	{ LABEL_RECON_STATUS, "running", "진행 중", INFO },
	{ LABEL_RECON_STATUS, "done",    "완료",    OK },
	{ LABEL_RECON_STATUS, "failed",  "실패",    DANGER },
	{ LABEL_RECON_CLASS, "match",           "일치",         OK },
	{ LABEL_RECON_CLASS, "amount_mismatch", "금액 불일치",  DANGER },
	{ LABEL_RECON_CLASS, "missing_here",    "우리 쪽 누락", WARN },
	{ LABEL_RECON_CLASS, "missing_pg",      "PG 쪽 누락",   WARN },
	{ LABEL_RECON_CLASS, "duplicate",       "중복",         WARN },
	{ LABEL_RECON_ACTION, "none",                "조치 없음",                MUTED },
	{ LABEL_RECON_ACTION, "report",              "담당자 확인 필요",         WARN },
	{ LABEL_RECON_ACTION, "marked_paid",         "결제 확정",                OK },
	{ LABEL_RECON_ACTION, "canceled_at_pg",      "PG 결제 취소",             OK },
	{ LABEL_RECON_ACTION, "refund_recorded",     "환불 기록",                OK },
	{ LABEL_RECON_ACTION, "would_mark_paid",     "적용하면 결제 확정",       INFO },
	{ LABEL_RECON_ACTION, "would_cancel_at_pg",  "적용하면 PG 결제 취소",    INFO },
	{ LABEL_RECON_ACTION, "would_record_refund", "적용하면 환불 기록",       INFO },
};

static const char *const tone_names[LABEL_TONE__MAX] = {
	[LABEL_TONE_MUTED] = "muted", [LABEL_TONE_OK] = "ok", [LABEL_TONE_INFO] = "info",
	[LABEL_TONE_WARN] = "warn", [LABEL_TONE_DANGER] = "danger",
};

#define NROWS (sizeof(label_rows) / sizeof(label_rows[0]))

const struct label *
labels_find(enum label_kind kind, const char *code)
{
	size_t i;

	if (code == NULL)
		return NULL;
	for (i = 0; i < NROWS; i++)
		if (label_rows[i].kind == kind && strcmp(label_rows[i].code, code) == 0)
			return &label_rows[i];
	return NULL;
}

const char *
labels_text(enum label_kind kind, const char *code)
{
	const struct label *l = labels_find(kind, code);

	return l != NULL ? l->text : "확인 중";
}

const char *
labels_tone(enum label_kind kind, const char *code)
{
	const struct label *l = labels_find(kind, code);

	return l != NULL ? tone_names[l->tone] : tone_names[LABEL_TONE_MUTED];
}

int
labels_nth(enum label_kind kind, size_t i, const struct label **out)
{
	size_t k, seen = 0;

	for (k = 0; k < NROWS; k++) {
		if (label_rows[k].kind != kind)
			continue;
		if (seen++ == i) {
			*out = &label_rows[k];
			return 1;
		}
	}
	return 0;
}

const char *
labels_account(const char *code, char *out, size_t cap)
{
	const char *colon, *param, *what = NULL;
	char head[64];
	size_t n;

	if (cap == 0)
		return out;
	if (code == NULL) {
		snprintf(out, cap, "%s", labels_text(LABEL_ACCOUNT, NULL));
		return out;
	}
	colon = strchr(code, ':');
	n = colon != NULL ? (size_t)(colon - code) : strlen(code);
	if (n >= sizeof(head))
		n = sizeof(head) - 1;
	memcpy(head, code, n);
	head[n] = '\0';
	if (colon == NULL) {
		snprintf(out, cap, "%s", labels_text(LABEL_ACCOUNT, head));
		return out;
	}
	param = colon + 1;
	if (strcmp(head, "pg_receivable") == 0 || strcmp(head, "pg_fees") == 0)
		what = labels_find(LABEL_PAY, param) != NULL ? labels_text(LABEL_PAY, param) : param;
	if (strcmp(head, "points") == 0)
		snprintf(out, cap, "%s (회원 %s)", labels_text(LABEL_ACCOUNT, head), param);
	else if (strcmp(head, "seller_payable") == 0)
		snprintf(out, cap, "%s (판매자 %s)", labels_text(LABEL_ACCOUNT, head), param);
	else
		snprintf(out, cap, "%s (%s)", labels_text(LABEL_ACCOUNT, head),
		    what != NULL ? what : param);
	return out;
}

int
labels_order_no(const char *created_at, int64_t id, char *out, size_t cap)
{
	static const int digit_at[] = { 0, 1, 2, 3, 5, 6, 8, 9 };
	char date[9];
	size_t i;

	if (cap > 0)
		out[0] = '\0';
	if (created_at == NULL || strlen(created_at) < 10 || created_at[4] != '-' ||
	    created_at[7] != '-' || id < 1)
		return -1;
	for (i = 0; i < 8; i++) {
		char c = created_at[digit_at[i]];

		if (c < '0' || c > '9')
			return -1;
		date[i] = c;
	}
	date[8] = '\0';
	if (snprintf(out, cap, "%s-%06" PRId64, date, id) >= (int)cap) {
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int
labels_order_no_parse(const char *s, int64_t *id, char day[11])
{
	size_t i, n;
	int64_t v = 0;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n < 10 || n > 27 || s[8] != '-')
		return -1;
	for (i = 0; i < n; i++) {
		if (i == 8)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (i > 8)
			v = v * 10 + (s[i] - '0');
	}
	if (v < 1)
		return -1;
	snprintf(day, 11, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
	*id = v;
	return 0;
}
