"""pg: fake payment gateways for the tests and the demo, on loopback: Toss Payments core API v1
under /toss and KakaoPay's online single payment under /kakaopay, speaking the wire formats of
../shared/reference/pg-api-contracts.md sections 1 and 2, plus the hosted browser pages of
both, so a whole purchase works in a browser with no internet. Standard library only.

Credentials (exactly as script/stack writes them, see the constants below):
  Toss      Authorization: Basic base64("test_sk_jangteo_local:") (padding optional); client
            key test_ck_jangteo_local on the payment window. No/other scheme or wrong key:
            401 UNAUTHORIZED_KEY; a credential without ':': 403 INCORRECT_BASIC_AUTH_FORMAT.
  KakaoPay  Authorization: SECRET_KEY DEV_SECRET_jangteo_local, cid TC0ONETIME. Wrong key:
            401 {"error_code": -401, ...}.

Toss (prefix /toss; errors are {"code", "message"} with the documented HTTP status):
  GET  /toss/fake/checkout  the payment window: orderId (6..64 of [A-Za-z0-9_-]), amount,
       orderName, successUrl, failUrl, clientKey [, outcome]. Without outcome: an HTML page
       with the links "결제하기" (id=pay), "취소" (id=cancel) and "결제 실패" (id=fail), which
       are the same URL plus outcome. outcome=success: records a payment IN_PROGRESS
       (authenticated) and 302s to successUrl?paymentType=NORMAL&orderId=&paymentKey=&amount=;
       outcome=cancel: 302 failUrl?code=PAY_PROCESS_CANCELED&message=..&orderId=;
       outcome=fail: 302 failUrl?code=REJECT_CARD_COMPANY&message=..&orderId=.
       Bad parameters or client key: 400 HTML page.
  POST /toss/v1/payments/confirm  {paymentKey, orderId, amount} -> 200 Payment (DONE).
       404 NOT_FOUND_PAYMENT (unknown key); 400 INVALID_REQUEST (malformed body, orderId or
       amount differ from the authenticated ones); 400 ALREADY_PROCESSED_PAYMENT (already
       confirmed, under another or no Idempotency-Key); 404 NOT_FOUND_PAYMENT_SESSION (more
       than CONFIRM_WINDOW seconds after authentication: the payment becomes EXPIRED);
       400 DUPLICATED_ORDER_ID (another paymentKey of the orderId is approved);
       400 NOT_AVAILABLE_PAYMENT (the payment was ABORTED).
  GET  /toss/v1/payments/{paymentKey}, GET /toss/v1/payments/orders/{orderId}
       -> 200 Payment in any status (an order with several attempts answers its approved one,
       else the latest); 404 NOT_FOUND_PAYMENT.
  POST /toss/v1/payments/{paymentKey}/cancel  {cancelReason (1..200), cancelAmount?,
       refundableAmount?} -> 200 Payment, PARTIAL_CANCELED or CANCELED, cancels[] appended.
       No cancelAmount: the whole balance. 404 NOT_FOUND_PAYMENT; 400 ALREADY_CANCELED_PAYMENT;
       403 NOT_CANCELABLE_PAYMENT (not approved); 400 NOT_MATCHES_REFUNDABLE_AMOUNT
       (refundableAmount differs from the balance); 403 NOT_CANCELABLE_AMOUNT (more than the
       balance); 400 INVALID_REQUEST (malformed).
  GET  /toss/v1/transactions?startDate&endDate[&startingAfter&limit]  (yyyy-MM-ddTHH:mm:ss)
       -> [Transaction], approvals (status DONE) and cancels (CANCELED), oldest first.
  GET  /toss/v1/settlements?startDate&endDate[&dateType&page&size]  (yyyy-MM-dd)
       -> [Settlement] with fees (FEE_BP below); cancels have negative amounts.
  Idempotency-Key on any POST (1..300 characters, else 400 INVALID_IDEMPOTENCY_KEY): the key
  is scoped to (secret key, method, path) and kept IDEMPOTENCY_TTL seconds; a repeat gets the
  first answer replayed byte for byte (bodies are not compared, as at Toss); a repeat while
  the first is still running gets 409 IDEMPOTENT_REQUEST_PROCESSING. Answers produced by a
  fault rule are not stored (the "PG" never processed them), except after "drop"/"badjson",
  whose real answer is stored.
  TossPayments-Test-Code: <CODE> on any API request answers that documented error (TOSS_ERRORS)
  without doing anything (an unknown code: 400 INVALID_REQUEST).

KakaoPay (prefix /kakaopay; errors {"error_code": int, "error_message", "extras"}; the full
table is not public, these numbers are this fake's, after the legacy Kakao Developers table):
  POST /kakaopay/online/v1/payment/ready  {cid, partner_order_id, partner_user_id, item_name,
       quantity, total_amount, tax_free_amount, approval_url, cancel_url, fail_url [,
       vat_amount]} -> {tid, next_redirect_pc_url (this fake's pay page), ..., created_at}.
  GET  /kakaopay/fake/pay/{tid}[?outcome=approve|cancel|fail]  the pay page with the links
       "결제하기" (id=pay), "취소" (id=cancel), "결제 실패" (id=fail). approve: issues a pg_token
       (status AUTH_PASSWORD) and 302s to approval_url?pg_token=; cancel: QUIT_PAYMENT, 302
       cancel_url; fail: FAIL_AUTH_PASSWORD, 302 fail_url. Unknown, used or expired tid: 4xx page.
  POST /kakaopay/online/v1/payment/approve  {cid, tid, partner_order_id, partner_user_id,
       pg_token [, total_amount]} -> the approval object (SUCCESS_PAYMENT).
  POST /kakaopay/online/v1/payment/cancel  {cid, tid, cancel_amount, cancel_tax_free_amount
       [, cancel_vat_amount, cancel_available_amount, payload]} -> the cancel object.
  POST /kakaopay/online/v1/payment/order  {cid, tid} -> the order object (any status).
  Errors (HTTP 400 unless said): -2 malformed request or wrong cid; -401 (HTTP 401) wrong
  secret key; -701 approve before the shopper authenticated or a wrong pg_token; -702 the tid
  is already approved; -705 partner ids or total_amount differ from ready; -721 no such tid;
  -723 expired (KAKAO_READY_TTL seconds after ready); -780 approval failure (with extras
  method_result_code USER_LOCKED while another approve of the tid is running); -797 amount
  over KAKAO_MAX_AMOUNT; -798 cancel_available_amount differs from what is left, or more than
  that is cancelled; -799 not cancelable (not approved, already fully cancelled). KakaoPay has
  no Idempotency-Key: a tid and its pg_token approve once.

Fault knobs: <fakes_dir>/pg-faults, read at every request; one rule per line ('#' starts a
comment):
    <pg> <endpoint> <word>...
  pg: toss | kakaopay | *      endpoint: confirm lookup cancel ready approve order checkout
  settlements transactions | *   (checkout = the hosted pages of either PG; lookup = Toss GETs
  by key or order id; order = KakaoPay's lookup)
  words (at most one of the actions status..badjson per rule):
    latency_ms=N   wait N ms before answering (rules add up; the request stays "in flight")
    status=N       answer HTTP N with the PG's internal-error body (an HTML page on the
                   hosted pages), doing nothing
    error=CODE     answer the PG's documented error CODE (Toss code name, KakaoPay number),
                   doing nothing, except that a Toss confirm refused this way with a card/limit
                   code, or a KakaoPay approve with -780, leaves the payment ABORTED /
                   FAIL_PAYMENT, as the real PG would
    reset          close the connection with a TCP reset, doing nothing
    timeout[=S]    hold the connection S seconds (default TIMEOUT_DEFAULT), then close it
                   without an answer, doing nothing
    drop           do the work (approve, cancel, record it) and close without answering
    badjson        do the work and answer 200 with a body that is not JSON
    count=N        apply to the next N matching requests only (counted per rule line; editing
                   the file starts new counts)
    prob=P         apply with probability P (0..1) to each matching request
    order=ID       apply only to requests about this orderId / paymentKey / tid
  e.g. "toss confirm latency_ms=300", "toss confirm status=500 count=3",
  "kakaopay approve reset prob=0.1", "toss confirm timeout", "toss confirm drop".
  A malformed line is ignored and reported once on stderr. Every request is appended to
  <fakes_dir>/pg-log as "pg endpoint status ref" (no secrets, no tokens).

Records: every approval and cancel is appended to <fakes_dir>/pg-ledger.jsonl as one JSON
object per line: {"pg": "toss"|"kakaopay", "kind": "approve"|"cancel", "payment_key": the
paymentKey or tid, "order_id", "amount": won (of this approval / cancel, positive),
"balance": won still cancelable after it, "transaction_key": Toss transactionKey or KakaoPay
aid, "time": ISO 8601 with +09:00}.
  GET  /fake/records[?pg=&order_id=&kind=]  -> those records as a JSON array, oldest first.
  GET  /fake/settlement-file?pg=toss|kakaopay&date=YYYY-MM-DD  writes
       <fakes_dir>/settlement-<pg>-<date>.csv and answers it (text/csv; the path in the
       X-Fake-File header): the PG's transactions of that day (Korean time), oldest first.
       Columns (a header line first, comma-separated, no quoting needed):
         settlement_date  the date asked for, YYYY-MM-DD
         pg               toss | kakaopay
         type             approve | cancel
         payment_key      Toss paymentKey / KakaoPay tid
         order_id         orderId / partner_order_id
         transaction_key  Toss transactionKey / KakaoPay aid
         amount           won, positive for approve, negative for cancel
         fee              won, amount * FEE_BP / 10000 rounded toward zero (negative: refunded)
         net              amount - fee (what the merchant is paid, or pays back)
         transaction_at   ISO 8601 with +09:00
  GET|POST /fake/clock  [{"advance_seconds": N}] -> {"offset_seconds", "now"}: moves this
       fake's clock forward (expiry windows, timestamps, settlement dates) for every PG.
       POST {"offset_seconds": N} (N >= 0) sets the offset itself, so a test that moved the
       clock can put it back.
  POST /fake/plant  {"pg": "toss"|"kakaopay", "action": ..., ...} -> 200 {"payment_key",
       "order_id", "amount"}: plants a discrepancy for reconciliation tests (400 INVALID_REQUEST
       on a bad body, 404 NOT_FOUND_PAYMENT for an unknown payment_key). Actions:
         approve    {"order_id", "amount" [, "payment_key"]}: the PG approves a payment the
                    shop never confirmed: the named payment (Toss: authenticated, aborted or
                    expired; KakaoPay: any tid not approved yet) or, without payment_key, a
                    new one; recorded like any approval (lookups answer DONE).
         cancel     {"payment_key" [, "amount"]}: the PG cancels an approved payment (all of
                    its balance by default) without the shop asking; recorded like any cancel.
         alter      {"payment_key", "amount"}: the records (and so the settlement file and
                    API) show the approval with another amount; the payment is unchanged.
         duplicate  {"payment_key" [, "kind"]}: the records list the payment's first approve
                    (or cancel) record twice, same transaction key.
         hide       {"payment_key"}: the payment's records vanish from the records, the
                    settlement file and API (the payment itself is unchanged)."""
import base64
import datetime
import html
import json
import os
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
import urllib.parse

import httpfake

TOSS_SECRET = "test_sk_jangteo_local"
TOSS_CLIENT_KEY = "test_ck_jangteo_local"
TOSS_MID = "tjangteolocal"
KAKAO_SECRET = "DEV_SECRET_jangteo_local"
KAKAO_CID = "TC0ONETIME"

CONFIRM_WINDOW = 600          # seconds from authentication to confirm (Toss: 10 minutes)
KAKAO_READY_TTL = 900         # seconds a KakaoPay ready stays payable
KAKAO_MAX_AMOUNT = 100000000  # won: above it ready answers -797
IDEMPOTENCY_TTL = 15 * 86400  # Toss keeps keys 15 days
IDEMPOTENCY_KEY_MAX = 300
TIMEOUT_DEFAULT = 30.0        # seconds a "timeout" rule holds the connection
FEE_BP = {"toss": 330, "kakaopay": 300}   # settlement fee, basis points (3.3 %, 3.0 %)
KST = datetime.timezone(datetime.timedelta(hours=9))
BODY_MAX = 1 << 20

PGS = ("toss", "kakaopay")
ENDPOINTS = ("confirm", "lookup", "cancel", "ready", "approve", "order", "checkout",
             "settlements", "transactions")
ACTIONS = ("status", "error", "reset", "timeout", "drop", "badjson")

ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{6,64}$")

_GENERIC = "요청을 처리할 수 없습니다."
# Every documented Toss error: code -> (HTTP status, message).
TOSS_ERRORS = {
    "ALREADY_PROCESSED_PAYMENT": (400, "이미 처리된 결제 입니다."),
    "PROVIDER_ERROR": (400, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요."),
    "INVALID_REQUEST": (400, "잘못된 요청입니다."),
    "INVALID_API_KEY": (400, "잘못된 시크릿키 연동 정보 입니다."),
    "INVALID_REJECT_CARD": (400, "카드 사용이 거절되었습니다. 카드사 문의가 필요합니다."),
    "INVALID_CARD_EXPIRATION": (400, "카드 정보를 다시 확인해주세요. (유효기간)"),
    "INVALID_STOPPED_CARD": (400, "정지된 카드 입니다."),
    "INVALID_CARD_LOST_OR_STOLEN": (400, "분실 혹은 도난 카드입니다."),
    "INVALID_CARD_NUMBER": (400, "카드번호를 다시 확인해주세요."),
    "NOT_SUPPORTED_CARD_TYPE": (400, "지원되지 않는 카드 종류입니다."),
    "NOT_REGISTERED_CARD_COMPANY": (400, "카드를 사용 등록 후 이용해주세요."),
    "BELOW_MINIMUM_AMOUNT": (400, "신용카드는 결제금액이 100원 이상, 계좌는 200원이상부터 결제가 가능합니다."),
    "EXCEED_MAX_CARD_INSTALLMENT_PLAN": (400, "설정 가능한 최대 할부 개월 수를 초과했습니다."),
    "INVALID_CARD_INSTALLMENT_PLAN": (400, "할부 개월 정보가 잘못되었습니다."),
    "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT": (400, "할부가 지원되지 않는 카드 또는 가맹점 입니다."),
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN": (400, "할부가 지원되지 않는 카드입니다."),
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT": (400, "5만원 이상부터 할부가 가능합니다."),
    "EXCEED_MAX_DAILY_PAYMENT_COUNT": (400, "하루 결제 가능 횟수를 초과했습니다."),
    "EXCEED_MAX_PAYMENT_AMOUNT": (400, "하루 결제 가능 금액을 초과했습니다."),
    "EXCEED_MAX_AMOUNT": (400, "거래금액 한도를 초과했습니다."),
    "EXCEED_MAX_ONE_DAY_WITHDRAW_AMOUNT": (400, "1일 출금 한도를 초과했습니다."),
    "EXCEED_MAX_ONE_TIME_WITHDRAW_AMOUNT": (400, "1회 출금 한도를 초과했습니다."),
    "DUPLICATED_ORDER_ID": (400, "이미 승인 및 취소가 진행된 중복된 주문번호 입니다."),
    "UNAPPROVED_ORDER_ID": (400, "아직 승인되지 않은 주문번호입니다."),
    "CARD_PROCESSING_ERROR": (400, "카드사에서 오류가 발생했습니다."),
    "NOT_AVAILABLE_PAYMENT": (400, "결제가 불가능한 시간대입니다."),
    "INVALID_AUTHORIZE_AUTH": (400, "유효하지 않은 인증 방식입니다."),
    "NOT_FOUND_TERMINAL_ID": (400, "단말기번호(Terminal Id)가 없습니다."),
    "RESTRICTED_TRANSFER_ACCOUNT": (400, "계좌는 등록 후 12시간 뒤부터 결제할 수 있습니다."),
    "INVALID_UNREGISTERED_SUBMALL": (400, "등록되지 않은 서브몰입니다."),
    "NOT_REGISTERED_BUSINESS": (400, "등록되지 않은 사업자 번호입니다."),
    "INVALID_ACCOUNT_INFO_RE_REGISTER": (400, "유효하지 않은 계좌입니다. 계좌 재등록 후 시도해주세요."),
    "NOT_ALLOWED_POINT_USE": (400, "포인트 사용이 불가한 카드로 카드 포인트 결제에 실패했습니다."),
    "INVALID_EMAIL": (400, "유효하지 않은 이메일 주소 형식입니다."),
    "INVALID_REQUIRED_PARAM": (400, "필수 파라미터가 누락되었습니다."),
    "INVALID_BILL_KEY_REQUEST": (400, "빌링 인증이 완료되지 않았거나 유효하지 않은 빌링키입니다."),
    "NOT_MATCHES_CUSTOMER_KEY": (400, "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다."),
    "INVALID_IDEMPOTENCY_KEY": (400, "멱등키가 올바르지 않습니다."),
    "ALREADY_CANCELED_PAYMENT": (400, "이미 취소된 결제 입니다."),
    "ALREADY_REFUND_PAYMENT": (400, "이미 환불된 결제입니다."),
    "NOT_MATCHES_REFUNDABLE_AMOUNT": (400, "잔액 결과가 일치하지 않습니다."),
    "EXCEED_CANCEL_AMOUNT_DISCOUNT_AMOUNT": (400, "즉시할인금액보다 적은 금액은 부분취소가 불가능합니다."),
    "INVALID_REFUND_ACCOUNT_INFO": (400, "환불 계좌번호와 예금주명이 일치하지 않습니다."),
    "INVALID_REFUND_ACCOUNT_NUMBER": (400, "잘못된 환불 계좌번호입니다."),
    "INVALID_BANK": (400, "유효하지 않은 은행입니다."),
    "FORBIDDEN_BANK_REFUND_REQUEST": (400, "고객 계좌가 입금이 되지 않는 상태입니다."),
    "REFUND_REJECTED": (400, "환불이 거절됐습니다."),
    "UNAUTHORIZED_KEY": (401, "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다."),
    "REJECT_CARD_PAYMENT": (403, "한도초과 혹은 잔액부족으로 결제에 실패했습니다."),
    "REJECT_CARD_COMPANY": (403, "결제 승인이 거절되었습니다."),
    "REJECT_ACCOUNT_PAYMENT": (403, "잔액부족으로 결제에 실패했습니다."),
    "FORBIDDEN_REQUEST": (403, "허용되지 않은 요청입니다."),
    "INCORRECT_BASIC_AUTH_FORMAT": (403, "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요."),
    "EXCEED_MAX_AUTH_COUNT": (403, "최대 인증 횟수를 초과했습니다."),
    "EXCEED_MAX_ONE_DAY_AMOUNT": (403, "일일 한도를 초과했습니다."),
    "NOT_AVAILABLE_BANK": (403, "은행 서비스 시간이 아닙니다."),
    "INVALID_PASSWORD": (403, "결제 비밀번호가 일치하지 않습니다."),
    "FDS_ERROR": (403, "위험거래가 감지되어 결제가 제한됩니다."),
    "REJECT_TOSSPAY_INVALID_ACCOUNT": (403, "선택하신 출금 계좌가 출금이체 등록이 되어 있지 않아요."),
    "FORBIDDEN_CONSECUTIVE_REQUEST": (403, "반복적인 요청은 허용되지 않습니다. 잠시 후 다시 시도해주세요."),
    "NOT_CANCELABLE_AMOUNT": (403, "취소 할 수 없는 금액 입니다."),
    "NOT_CANCELABLE_PAYMENT": (403, "취소 할 수 없는 결제 입니다."),
    "NOT_ALLOWED_PARTIAL_REFUND": (403, "부분 환불이 불가능합니다."),
    "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT": (403, "입금 대기중인 결제는 부분 환불이 불가합니다."),
    "EXCEED_MAX_REFUND_DUE": (403, "환불 가능한 기간이 지났습니다."),
    "EXCEED_CANCEL_LIMIT": (403, "취소 한도를 초과했습니다."),
    "NOT_CANCELABLE_PAYMENT_FOR_DORMANT_USER": (403, "휴면 처리된 회원의 결제는 취소할 수 없습니다."),
    "NOT_FOUND_PAYMENT": (404, "존재하지 않는 결제 정보 입니다."),
    "NOT_FOUND_PAYMENT_SESSION": (404, "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다."),
    "NOT_FOUND": (404, "존재하지 않는 정보 입니다."),
    "IDEMPOTENT_REQUEST_PROCESSING": (409, "이전 멱등 요청이 처리 중입니다. 잠시 후 다시 시도해주세요."),
    "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING": (500, "결제가 완료되지 않았어요. 다시 시도해주세요."),
    "FAILED_INTERNAL_SYSTEM_PROCESSING": (500, "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요."),
    "UNKNOWN_PAYMENT_ERROR": (500, "결제에 실패했어요. 같은 문제가 반복된다면 은행이나 카드사로 문의해주세요."),
    "FAILED_CARD_COMPANY_RESPONSE": (500, "카드사에서 에러가 발생했습니다."),
    "FAILED_DB_PROCESSING": (500, "잘못된 요청 값으로 처리 중 DB 에러가 발생했습니다."),
    "FAILED_REFUND_PROCESS": (500, "은행 응답시간 지연이나 일시적인 오류로 환불요청에 실패했습니다."),
    "FAILED_METHOD_HANDLING_CANCEL": (500, "취소 중 결제 시 사용한 결제 수단 처리과정에서 일시적인 에러가 발생했습니다."),
    "FAILED_PARTIAL_REFUND": (500, "은행 점검, 해약 계좌 등의 사유로 부분 환불이 실패했습니다."),
    "COMMON_ERROR": (500, "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요."),
}
# Confirm refusals that leave the payment ABORTED when forced by an error= rule.
TOSS_ABORTING = {c for c, (s, _) in TOSS_ERRORS.items()
                 if s in (400, 403) and (c.startswith(("REJECT_", "INVALID_CARD", "EXCEED_MAX"))
                                         or c in ("INVALID_REJECT_CARD", "INVALID_STOPPED_CARD",
                                                  "FDS_ERROR", "INVALID_PASSWORD"))}

# This fake's KakaoPay errors: code -> (HTTP status, message).
KAKAO_ERRORS = {
    -2: (400, "잘못된 요청입니다."),
    -401: (401, "허용되지 않은 SECRET_KEY 입니다."),
    -701: (400, "결제 인증이 완료되지 않았습니다."),
    -702: (400, "이미 결제 완료된 TID 입니다."),
    -705: (400, "결제 준비 정보와 결제 승인 요청 정보가 일치하지 않습니다."),
    -721: (400, "존재하지 않는 TID 입니다."),
    -723: (400, "결제 유효 시간이 지났습니다."),
    -780: (400, "approval failure!"),
    -797: (400, "허용된 최대 결제 금액을 초과했습니다."),
    -798: (400, "취소 가능 금액이 일치하지 않습니다."),
    -799: (400, "취소할 수 없는 결제입니다."),
    -9798: (500, "서비스 점검중입니다."),
}

KAKAO_STATUS_LIVE = ("READY", "AUTH_PASSWORD")


def _warn(msg):
    sys.stderr.write("fake pg: %s\n" % msg)
    sys.stderr.flush()


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _vat(amount):
    """VAT included in amount (tax free 0): round(amount / 11), halves up."""
    return (amount * 2 + 11) // 22


# ---- fault rules ---------------------------------------------------------------------------

class _Rule:
    def __init__(self, line):
        words = line.split()
        if len(words) < 3:
            raise ValueError("want: pg endpoint word...")
        self.pg, self.endpoint = words[0], words[1]
        if self.pg != "*" and self.pg not in PGS:
            raise ValueError("unknown pg %r" % self.pg)
        if self.endpoint != "*" and self.endpoint not in ENDPOINTS:
            raise ValueError("unknown endpoint %r" % self.endpoint)
        self.latency_ms = 0
        self.action = None
        self.arg = None
        self.count = None
        self.prob = None
        self.order = None
        for w in words[2:]:
            name, eq, val = w.partition("=")
            if name == "latency_ms" and eq and val.isdigit():
                self.latency_ms = int(val)
            elif name == "count" and eq and val.isdigit():
                self.count = int(val)
            elif name == "prob" and eq:
                self.prob = float(val)
                if not 0.0 <= self.prob <= 1.0:
                    raise ValueError("prob out of 0..1")
            elif name == "order" and eq and val:
                self.order = val
            elif name in ACTIONS:
                if self.action is not None:
                    raise ValueError("two actions")
                self.action = name
                if name == "status":
                    if not (eq and val.isdigit() and 100 <= int(val) <= 599):
                        raise ValueError("status=N")
                    self.arg = int(val)
                elif name == "error":
                    if not (eq and val):
                        raise ValueError("error=CODE")
                    self.arg = val
                elif name == "timeout":
                    self.arg = float(val) if eq else TIMEOUT_DEFAULT
                elif eq:
                    raise ValueError("%s takes no value" % name)
            else:
                raise ValueError("unknown word %r" % w)

    def matches(self, pg, endpoint, refs):
        return ((self.pg == "*" or self.pg == pg) and
                (self.endpoint == "*" or self.endpoint == endpoint) and
                (self.order is None or self.order in refs))


class _Faults:
    """What the rules say about one request."""

    def __init__(self):
        self.latency_ms = 0
        self.action = None
        self.arg = None

    @property
    def before(self):
        """An action that answers instead of the PG (nothing is done)."""
        return self.action in ("status", "error", "reset", "timeout")

    @property
    def after(self):
        return self.action in ("drop", "badjson")


# ---- state ---------------------------------------------------------------------------------

class _State:
    """Everything the fake PGs remember, shared by the handler threads under one lock."""

    def __init__(self, fakes_dir):
        self.fakes_dir = fakes_dir
        self.lock = threading.Lock()   # never held while answering
        self.offset = 0.0
        self.toss = {}          # paymentKey -> payment dict
        self.toss_orders = {}   # orderId -> [paymentKey, ...] oldest first
        self.kakao = {}         # tid -> payment dict
        self.kakao_busy = set()  # tids with an approve running
        self.idem = {}          # (secret, method, path, key) -> dict(state, status, body, at)
        self.counts = {}        # (mtime_ns, size, lineno, text) -> remaining applications
        self.warned = set()
        self.knob = httpfake.Knob(self.path("pg-faults"))
        self.ledger_file = httpfake.AppendLog(self.path("pg-ledger.jsonl"))
        self.log_file = httpfake.AppendLog(self.path("pg-log"))

    def now(self):
        return time.time() + self.offset

    def path(self, name):
        return os.path.join(self.fakes_dir, name)

    # -- faults --

    def faults(self, pg, endpoint, refs):
        f = _Faults()
        got = self.knob.lines()
        if got is None:
            return f
        st, lines = got
        with self.lock:
            for lineno, raw in enumerate(lines, 1):
                text = raw.split("#", 1)[0].strip()
                if not text:
                    continue
                try:
                    rule = _Rule(text)
                except ValueError as e:
                    if text not in self.warned:
                        self.warned.add(text)
                        _warn("pg-faults line %d ignored (%s): %s" % (lineno, e, text))
                    continue
                if not rule.matches(pg, endpoint, refs):
                    continue
                key = (st.st_mtime_ns, st.st_size, lineno, text)
                if rule.count is not None and self.counts.setdefault(key, rule.count) <= 0:
                    continue
                if rule.prob is not None and random.random() >= rule.prob:
                    continue
                if rule.count is not None:
                    self.counts[key] -= 1
                f.latency_ms += rule.latency_ms
                if rule.action is not None and f.action is None:
                    f.action, f.arg = rule.action, rule.arg
        return f

    # -- records --

    def record(self, pg, kind, payment_key, order_id, amount, balance, transaction_key, at):
        rec = {"pg": pg, "kind": kind, "payment_key": payment_key, "order_id": order_id,
               "amount": amount, "balance": balance, "transaction_key": transaction_key,
               "time": _iso(at)}
        self.ledger_file.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def records(self):
        try:
            with open(self.path("pg-ledger.jsonl"), encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        except FileNotFoundError:
            return []

    def log(self, pg, endpoint, status, ref):
        line = "%s %s %s %s\n" % (pg, endpoint, status, ref or "-")
        self.log_file.write(line)

    # -- Toss idempotency --

    def idem_begin(self, scope):
        """('new'|'busy'|'replay', entry) for an Idempotency-Key scope; 'new' marks it busy."""
        with self.lock:
            e = self.idem.get(scope)
            if e is not None and self.now() - e["at"] > IDEMPOTENCY_TTL:
                e = None
            if e is None:
                self.idem[scope] = {"state": "busy", "at": self.now()}
                return "new", None
            return ("busy" if e["state"] == "busy" else "replay"), e

    def idem_end(self, scope, status, body):
        with self.lock:
            if status is None:
                self.idem.pop(scope, None)
            else:
                self.idem[scope] = {"state": "done", "at": self.idem[scope]["at"],
                                    "status": status, "body": body}


def _iso(t):
    return datetime.datetime.fromtimestamp(t, KST).isoformat(timespec="seconds")


def _kakao_time(t):
    return datetime.datetime.fromtimestamp(t, KST).strftime("%Y-%m-%dT%H:%M:%S")


def _with_query(url, params):
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


# ---- Toss payment objects ------------------------------------------------------------------

def _toss_refresh(st, p):
    """An authenticated payment not confirmed in time expires (called under the lock)."""
    if p["status"] == "IN_PROGRESS" and st.now() - p["auth_at"] > CONFIRM_WINDOW:
        p["status"] = "EXPIRED"
        p["failure"] = {"code": "EXPIRED_PAYMENT", "message": "결제 유효 시간이 만료되었습니다."}


def _toss_payment_json(p):
    approved = p["approved_at"] is not None
    vat = _vat(p["balance"])
    return {
        "mId": TOSS_MID, "version": "2022-11-16", "paymentKey": p["key"], "type": "NORMAL",
        "orderId": p["order_id"], "orderName": p["order_name"], "currency": "KRW",
        "method": "카드", "totalAmount": p["amount"], "balanceAmount": p["balance"],
        "suppliedAmount": p["balance"] - vat, "vat": vat, "taxFreeAmount": 0,
        "taxExemptionAmount": 0, "status": p["status"], "requestedAt": _iso(p["auth_at"]),
        "approvedAt": _iso(p["approved_at"]) if approved else None, "useEscrow": False,
        "cultureExpense": False, "lastTransactionKey": p["last_tx"],
        "isPartialCancelable": True,
        "card": {"amount": p["amount"], "issuerCode": "71", "acquirerCode": "71",
                 "number": "12345678****000*", "installmentPlanMonths": 0,
                 "isInterestFree": False, "interestPayer": None,
                 "approveNo": p["approve_no"], "useCardPoint": False, "cardType": "신용",
                 "ownerType": "개인",
                 "acquireStatus": "CANCELED" if p["status"] == "CANCELED" else "READY"}
        if approved else None,
        "virtualAccount": None, "transfer": None, "mobilePhone": None, "giftCertificate": None,
        "cashReceipt": None, "cashReceipts": None, "discount": None,
        "cancels": [dict(c) for c in p["cancels"]] or None, "secret": None, "easyPay": None,
        "country": "KR", "failure": p["failure"], "metadata": None,
        "receipt": {"url": "https://dashboard.example.invalid/receipt/%s" % p["key"]}
        if approved else None,
        "checkout": {"url": "https://api.example.invalid/v1/payments/%s/checkout" % p["key"]},
    }


def _kakao_amount(total):
    return {"total": total, "tax_free": 0, "vat": _vat(total), "point": 0, "discount": 0,
            "green_deposit": 0}


def _kakao_refresh(st, k):
    if k["status"] in KAKAO_STATUS_LIVE and st.now() - k["created"] > KAKAO_READY_TTL:
        k["status"] = "QUIT_PAYMENT"
        k["expired"] = True


def _kakao_common(k):
    return {"tid": k["tid"], "cid": KAKAO_CID, "partner_order_id": k["order_id"],
            "partner_user_id": k["user_id"], "payment_method_type": k["method"],
            "amount": _kakao_amount(k["total"]), "item_name": k["item_name"],
            "item_code": None, "quantity": k["quantity"],
            "created_at": _kakao_time(k["created"]),
            "approved_at": _kakao_time(k["approved_at"]) if k["approved_at"] else None}


# ---- the handler ---------------------------------------------------------------------------

class _Handler(httpfake.Handler):
    server_version = "fake-pg/1"

    # -- plumbing --

    def _send(self, status, body=b"", ctype="application/json;charset=UTF-8", headers=()):
        if not self._write(status, body, ctype, headers):
            self.close_connection = True
        self.st.log(self.pg, self.endpoint, status, self.ref)

    def _close(self, rst):
        """Closes the connection without an answer: RST when rst, else FIN."""
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.st.log(self.pg, self.endpoint, "reset" if rst else "closed", self.ref)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > BODY_MAX:
            return None
        return self.rfile.read(n) if n else b""

    def _page(self, status, title, inner):
        doc = ("<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\"><title>%s</title>"
               "</head><body><h1>%s</h1>%s</body></html>" % (html.escape(title),
                                                            html.escape(title), inner))
        self._send(status, doc, "text/html;charset=UTF-8")

    def _redirect(self, location):
        self._send(302, "", "text/html;charset=UTF-8", headers=[("Location", location)])

    def _toss_error(self, code, message=None):
        status, msg = TOSS_ERRORS.get(code, (400, _GENERIC))
        self._send(status, {"code": code, "message": message or msg})

    def _kakao_error(self, code, method_code=None, message=None):
        status, msg = KAKAO_ERRORS.get(code, (400, _GENERIC))
        body = {"error_code": code, "error_message": message or msg}
        if method_code is not None:
            body["extras"] = {"method_result_code": method_code,
                              "method_result_message": "진행중인 거래가 있습니다. 잠시 후 다시 시도해 주세요."
                              if method_code == "USER_LOCKED" else "결제 수단 승인 실패"}
        self._send(status, body)

    def _error(self, code):
        """The current PG's error (an error= rule or a forced test code)."""
        if self.pg == "kakaopay":
            try:
                n = int(code)
            except ValueError:
                n = -2
            if n == -780:
                return self._kakao_error(n, "CARD_REJECTED")
            return self._kakao_error(n)
        if code in TOSS_ERRORS:
            return self._toss_error(code)
        return self._send(400, {"code": code, "message": _GENERIC})

    def _internal(self, status):
        if self.endpoint == "checkout":
            return self._page(status, "오류", "<p>일시적인 오류가 발생했습니다.</p>")
        if self.pg == "kakaopay":
            return self._send(status, {"error_code": -9798,
                                       "error_message": KAKAO_ERRORS[-9798][1]})
        code = "FAILED_INTERNAL_SYSTEM_PROCESSING"
        return self._send(status, {"code": code, "message": TOSS_ERRORS[code][1]})

    def _apply_before(self, f):
        """Applies a fault that answers instead of the PG. True when it did."""
        if f.latency_ms and f.before:
            time.sleep(f.latency_ms / 1000.0)
        if f.action == "status":
            self._internal(f.arg)
        elif f.action == "error":
            self._forced_error_effect(f.arg)
            self._error(f.arg)
        elif f.action == "reset":
            self._close(True)
        elif f.action == "timeout":
            time.sleep(f.arg)
            self._close(False)
        else:
            return False
        return True

    def _finish(self, f, status, body, headers=()):
        """Answers a processed request, or drops / garbles it as the rules say."""
        if f.action == "drop":
            return self._close(False)
        if f.action == "badjson":
            return self._send(200, b"{\"paymentKey\": \"tfake_", headers=headers)
        return self._send(status, body, headers=headers)

    # -- dispatch --

    def _dispatch(self):
        self.pg, self.endpoint, self.ref = "-", "-", None
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        self.query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        raw = self._body() if self.command == "POST" else b""
        if raw is None:
            self.close_connection = True
            return self._send(413, {"code": "INVALID_REQUEST", "message": "body too large"})
        self.raw = raw
        if path.startswith("/fake/"):
            return self._admin(path)
        if path.startswith("/toss/"):
            self.pg = "toss"
            return self._toss(path[len("/toss"):])
        if path.startswith("/kakaopay/"):
            self.pg = "kakaopay"
            return self._kakao(path[len("/kakaopay"):])
        self._send(404, {"code": "NOT_FOUND", "message": "no such path"})

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _method(self, want):
        if self.command != want:
            self._send(405, {"code": "METHOD_NOT_ALLOWED", "message": "method not allowed"},
                       headers=[("Allow", want)])
            return False
        return True

    def _json(self):
        try:
            obj = json.loads(self.raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return obj if isinstance(obj, dict) else None

    # ---- admin ----------------------------------------------------------------------------

    def _admin(self, path):
        self.pg = "fake"
        self.endpoint = path[len("/fake/"):]
        if path == "/fake/records" and self._method("GET"):
            q = self.query
            recs = [r for r in self.st.records()
                    if all(q.get(k) in (None, r.get(k)) for k in ("pg", "order_id", "kind"))]
            return self._send(200, recs)
        if path == "/fake/settlement-file" and self._method("GET"):
            return self._settlement_file()
        if path == "/fake/plant" and self._method("POST"):
            status, body = self._plant(self._json())
            return self._send(status, body)
        if path == "/fake/clock":
            if self.command == "POST":
                obj = self._json() if self.raw else {}
                if obj is not None and "offset_seconds" in obj and "advance_seconds" not in obj:
                    off = obj["offset_seconds"]
                    if not (_is_int(off) or isinstance(off, float)) or off < 0:
                        return self._send(400, {"code": "INVALID_REQUEST",
                                                "message": "offset_seconds >= 0 required"})
                    with self.st.lock:
                        self.st.offset = off
                    return self._send(200, {"offset_seconds": self.st.offset,
                                            "now": _iso(self.st.now())})
                adv = obj.get("advance_seconds") if obj is not None else None
                if not (_is_int(adv) or isinstance(adv, float)) or adv < 0:
                    return self._send(400, {"code": "INVALID_REQUEST",
                                            "message": "advance_seconds >= 0 required"})
                with self.st.lock:
                    self.st.offset += adv
            return self._send(200, {"offset_seconds": self.st.offset,
                                    "now": _iso(self.st.now())})
        if path in ("/fake/records", "/fake/settlement-file", "/fake/plant"):
            return None  # _method answered 405
        self._send(404, {"code": "NOT_FOUND", "message": "no such path"})

    # -- planted discrepancies (reconciliation tests) --

    def _plant(self, obj):
        """/fake/plant: (status, body)."""
        def bad(msg):
            return 400, {"code": "INVALID_REQUEST", "message": msg}

        if obj is None or obj.get("pg") not in PGS:
            return bad("pg=toss|kakaopay required")
        action = obj.get("action")
        if action not in ("approve", "cancel", "alter", "duplicate", "hide"):
            return bad("action=approve|cancel|alter|duplicate|hide required")
        key = obj.get("payment_key")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 200):
            return bad("payment_key: 1..200 characters")
        amount = obj.get("amount")
        if amount is not None and (not _is_int(amount) or amount < 1):
            return bad("amount: a positive integer")
        if action != "approve" and key is None:
            return bad("payment_key required")
        with self.st.lock:
            if action == "approve":
                return self._plant_approve(obj["pg"], key, obj.get("order_id"), amount)
            if action == "cancel":
                return self._plant_cancel(obj["pg"], key, amount)
            return self._plant_records(obj["pg"], action, key, amount, obj.get("kind", "approve"))

    def _plant_approve(self, pg, key, order_id, amount):
        """Under the lock."""
        st, now = self.st, self.st.now()
        if not isinstance(order_id, str) or not re.match(r"^[A-Za-z0-9_-]{1,100}$", order_id):
            return 400, {"code": "INVALID_REQUEST", "message": "order_id required"}
        if pg == "toss":
            p = st.toss.get(key) if key is not None else None
            if key is not None and p is None:
                return 404, {"code": "NOT_FOUND_PAYMENT", "message": "no such payment"}
            if p is None:
                if amount is None:
                    return 400, {"code": "INVALID_REQUEST", "message": "amount required"}
                key = "tfake_%s%s" % (
                    datetime.datetime.fromtimestamp(now, KST).strftime("%Y%m%d%H%M%S"),
                    secrets.token_urlsafe(12).replace("-", "x").replace("_", "y"))
                p = {"key": key, "order_id": order_id, "order_name": "planted",
                     "amount": amount, "balance": amount, "status": "IN_PROGRESS",
                     "auth_at": now, "approved_at": None, "last_tx": None, "approve_no": None,
                     "cancels": [], "failure": None}
                st.toss[key] = p
                st.toss_orders.setdefault(order_id, []).append(key)
            if p["status"] in ("DONE", "CANCELED", "PARTIAL_CANCELED") or \
                    p["order_id"] != order_id or (amount is not None and amount != p["amount"]):
                return 400, {"code": "INVALID_REQUEST",
                             "message": "already approved, or another order or amount"}
            p.update(status="DONE", approved_at=now, failure=None, balance=p["amount"],
                     last_tx=secrets.token_hex(16).upper(),
                     approve_no="%08d" % random.randrange(10 ** 8))
            st.record("toss", "approve", key, order_id, p["amount"], p["balance"], p["last_tx"],
                      now)
            return 200, {"payment_key": key, "order_id": order_id, "amount": p["amount"]}
        k = st.kakao.get(key) if key is not None else None
        if key is not None and k is None:
            return 404, {"error_code": -721, "error_message": KAKAO_ERRORS[-721][1]}
        if k is None:
            if amount is None:
                return 400, {"code": "INVALID_REQUEST", "message": "amount required"}
            key = "T" + "".join(random.choice("0123456789") for _ in range(19))
            k = {"tid": key, "order_id": order_id, "user_id": "planted", "item_name": "planted",
                 "quantity": 1, "total": amount, "approval_url": "", "cancel_url": "",
                 "fail_url": "", "created": now, "status": "READY", "pg_token": None,
                 "aid": None, "approved_at": None, "canceled_at": None, "method": None,
                 "balance": 0, "canceled": 0, "actions": [], "expired": False}
            st.kakao[key] = k
        if k["status"] in ("SUCCESS_PAYMENT", "PART_CANCEL_PAYMENT", "CANCEL_PAYMENT") or \
                k["order_id"] != order_id or (amount is not None and amount != k["total"]):
            return 400, {"code": "INVALID_REQUEST",
                         "message": "already approved, or another order or amount"}
        k.update(status="SUCCESS_PAYMENT", approved_at=now, method="MONEY", balance=k["total"],
                 expired=False, aid="A" + secrets.token_hex(10)[:19].upper())
        k["actions"].append({"aid": k["aid"], "approved_at": _kakao_time(now),
                             "amount": k["total"], "point_amount": 0, "discount_amount": 0,
                             "green_deposit": 0, "payment_action_type": "PAYMENT",
                             "payment_method_type": "MONEY", "payload": None})
        st.record("kakaopay", "approve", key, order_id, k["total"], k["balance"], k["aid"], now)
        return 200, {"payment_key": key, "order_id": order_id, "amount": k["total"]}

    def _plant_cancel(self, pg, key, amount):
        """Under the lock."""
        st, now = self.st, self.st.now()
        p = (st.toss if pg == "toss" else st.kakao).get(key)
        if p is None:
            return 404, {"code": "NOT_FOUND_PAYMENT", "message": "no such payment"}
        if pg == "toss":
            ok = p["status"] in ("DONE", "PARTIAL_CANCELED")
        else:
            ok = p["status"] in ("SUCCESS_PAYMENT", "PART_CANCEL_PAYMENT")
        amount = p["balance"] if amount is None else amount
        if not ok or amount > p["balance"] or amount < 1:
            return 400, {"code": "INVALID_REQUEST", "message": "not cancelable"}
        p["balance"] -= amount
        if pg == "toss":
            p["status"] = "CANCELED" if p["balance"] == 0 else "PARTIAL_CANCELED"
            tx = secrets.token_hex(16).upper()
            p["last_tx"] = tx
            p["cancels"].append({
                "transactionKey": tx, "cancelReason": "planted", "cancelAmount": amount,
                "taxFreeAmount": 0, "taxExemptionAmount": 0, "refundableAmount": p["balance"],
                "cardDiscountAmount": 0, "transferDiscountAmount": 0,
                "easyPayDiscountAmount": 0, "canceledAt": _iso(now), "receiptKey": None,
                "cancelStatus": "DONE", "cancelRequestId": None})
        else:
            p["canceled"] += amount
            p["canceled_at"] = now
            p["status"] = "CANCEL_PAYMENT" if p["balance"] == 0 else "PART_CANCEL_PAYMENT"
            tx = "A" + secrets.token_hex(10)[:19].upper()
            p["actions"].append({"aid": tx, "approved_at": _kakao_time(now), "amount": amount,
                                 "point_amount": 0, "discount_amount": 0, "green_deposit": 0,
                                 "payment_action_type": "CANCEL",
                                 "payment_method_type": p["method"], "payload": "planted"})
        st.record(pg, "cancel", key, p["order_id"], amount, p["balance"], tx, now)
        return 200, {"payment_key": key, "order_id": p["order_id"], "amount": amount}

    def _plant_records(self, pg, action, key, amount, kind):
        """alter / duplicate / hide: rewrites the records file (under the lock)."""
        recs = self.st.records()
        mine = [r for r in recs if r["pg"] == pg and r["payment_key"] == key]
        if not mine:
            return 404, {"code": "NOT_FOUND_PAYMENT", "message": "no records of this payment"}
        if action == "alter":
            if amount is None:
                return 400, {"code": "INVALID_REQUEST", "message": "amount required"}
            for r in mine:
                if r["kind"] == "approve":
                    r["amount"] = amount
        elif action == "duplicate":
            first = [r for r in mine if r["kind"] == kind]
            if kind not in ("approve", "cancel") or not first:
                return 400, {"code": "INVALID_REQUEST", "message": "no such record to repeat"}
            recs.append(dict(first[0]))
        else:
            recs = [r for r in recs if not (r["pg"] == pg and r["payment_key"] == key)]
        tmp = self.st.path("pg-ledger.jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(tmp, self.st.path("pg-ledger.jsonl"))
        return 200, {"payment_key": key, "order_id": mine[0]["order_id"],
                     "amount": amount if amount is not None else mine[0]["amount"]}

    def _settlement_rows(self, pg, date):
        rows = []
        for r in self.st.records():
            if r["pg"] != pg or r["time"][:10] != date:
                continue
            sign = 1 if r["kind"] == "approve" else -1
            fee = r["amount"] * FEE_BP[pg] // 10000
            rows.append({"type": r["kind"], "payment_key": r["payment_key"],
                         "order_id": r["order_id"], "transaction_key": r["transaction_key"],
                         "amount": sign * r["amount"], "fee": sign * fee,
                         "net": sign * (r["amount"] - fee), "transaction_at": r["time"]})
        return rows

    def _settlement_file(self):
        pg, date = self.query.get("pg"), self.query.get("date", "")
        try:
            datetime.date.fromisoformat(date)
            ok = len(date) == 10
        except ValueError:
            ok = False
        if pg not in PGS or not ok:
            return self._send(400, {"code": "INVALID_REQUEST",
                                    "message": "pg=toss|kakaopay&date=YYYY-MM-DD required"})
        cols = ("settlement_date", "pg", "type", "payment_key", "order_id", "transaction_key",
                "amount", "fee", "net", "transaction_at")
        lines = [",".join(cols)]
        for row in self._settlement_rows(pg, date):
            row.update({"settlement_date": date, "pg": pg})
            lines.append(",".join(str(row[c]) for c in cols))
        text = "\n".join(lines) + "\n"
        name = self.st.path("settlement-%s-%s.csv" % (pg, date))
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(text)
        self._send(200, text, "text/csv;charset=UTF-8", headers=[("X-Fake-File", name)])

    # ---- Toss -----------------------------------------------------------------------------

    def _toss_auth(self):
        """None when the credential is right, else the error code."""
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return "UNAUTHORIZED_KEY"
        raw = auth[len("Basic "):].strip()
        try:
            cred = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return "UNAUTHORIZED_KEY"
        if ":" not in cred:
            return "INCORRECT_BASIC_AUTH_FORMAT"
        if cred.split(":", 1)[0] != TOSS_SECRET:
            return "UNAUTHORIZED_KEY"
        return None

    def _toss(self, path):
        if path == "/fake/checkout":
            self.endpoint = "checkout"
            return self._method("GET") and self._toss_checkout()
        parts = path.split("/")
        # "", "v1", "payments", ...
        if len(parts) < 3 or parts[1] != "v1":
            return self._send(404, {"code": "NOT_FOUND", "message": TOSS_ERRORS["NOT_FOUND"][1]})
        seg = [urllib.parse.unquote(s) for s in parts[2:]]
        if seg == ["payments", "confirm"]:
            self.endpoint = "confirm"
            return self._method("POST") and self._toss_api(self._toss_confirm)
        if len(seg) == 3 and seg[:2] == ["payments", "orders"]:
            self.endpoint = "lookup"
            return self._method("GET") and self._toss_api(lambda o: self._toss_lookup(None, seg[2]))
        if len(seg) == 2 and seg[0] == "payments":
            self.endpoint = "lookup"
            return self._method("GET") and self._toss_api(lambda o: self._toss_lookup(seg[1], None))
        if len(seg) == 3 and seg[0] == "payments" and seg[2] == "cancel":
            self.endpoint = "cancel"
            return self._method("POST") and self._toss_api(lambda o: self._toss_cancel(seg[1], o))
        if seg == ["transactions"]:
            self.endpoint = "transactions"
            return self._method("GET") and self._toss_api(lambda o: self._toss_transactions())
        if seg == ["settlements"]:
            self.endpoint = "settlements"
            return self._method("GET") and self._toss_api(lambda o: self._toss_settlements())
        self._send(404, {"code": "NOT_FOUND", "message": TOSS_ERRORS["NOT_FOUND"][1]})

    def _toss_refs(self, obj):
        """The orderIds and paymentKeys a request is about (for order= rules and the log)."""
        refs = set()
        parts = [urllib.parse.unquote(s) for s in urllib.parse.urlsplit(self.path).path.split("/")]
        if self.endpoint == "lookup" and "orders" in parts:
            refs.add(parts[-1])
        elif self.endpoint in ("lookup", "cancel") and len(parts) >= 5:
            refs.add(parts[4])
        if isinstance(obj, dict):
            for k in ("paymentKey", "orderId"):
                if isinstance(obj.get(k), str):
                    refs.add(obj[k])
        with self.st.lock:
            for r in list(refs):
                p = self.st.toss.get(r)
                if p is not None:
                    refs.add(p["order_id"])
        return refs

    def _toss_api(self, process):
        """Auth, test code, faults, idempotency, then process(obj) -> (status, body)."""
        bad = self._toss_auth()
        obj = self._json() if self.command == "POST" else None
        refs = self._toss_refs(obj)
        if obj is not None and isinstance(obj.get("orderId"), str):
            self.ref = obj["orderId"]
        elif refs:
            self.ref = sorted(refs)[0]
        if bad is not None:
            return self._toss_error(bad)
        test_code = self.headers.get("TossPayments-Test-Code")
        if test_code:
            if test_code in TOSS_ERRORS:
                return self._toss_error(test_code)
            return self._toss_error("INVALID_REQUEST", "알 수 없는 테스트 코드입니다: %s" % test_code[:64])
        key = self.headers.get("Idempotency-Key") if self.command == "POST" else None
        if key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
            return self._toss_error("INVALID_IDEMPOTENCY_KEY")
        f = self.st.faults("toss", self.endpoint, refs)
        if self._apply_before(f):
            return None
        scope = None
        if key is not None:
            scope = (TOSS_SECRET, self.command, urllib.parse.urlsplit(self.path).path, key)
            state, e = self.st.idem_begin(scope)
            if state == "busy":
                return self._toss_error("IDEMPOTENT_REQUEST_PROCESSING")
            if state == "replay":
                if f.latency_ms:
                    time.sleep(f.latency_ms / 1000.0)
                return self._finish(f, e["status"], e["body"])
        status, body = None, None
        try:
            if f.latency_ms:
                time.sleep(f.latency_ms / 1000.0)
            status, body = process(obj)
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        finally:
            if scope is not None:
                self.st.idem_end(scope, status, body)
        return self._finish(f, status, body)

    def _toss_checkout(self):
        q = self.query
        self.ref = q.get("orderId")
        f = self.st.faults("toss", "checkout", {q.get("orderId")})
        if self._apply_before(f):
            return None
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000.0)
        if q.get("clientKey") != TOSS_CLIENT_KEY:
            return self._page(400, "결제 오류", "<p>잘못된 클라이언트 키입니다.</p>")
        order_id, amount, name = q.get("orderId", ""), q.get("amount", ""), q.get("orderName", "")
        ok_url, fail_url = q.get("successUrl", ""), q.get("failUrl", "")
        if (not ORDER_ID_RE.match(order_id) or not re.match(r"^[1-9][0-9]{0,15}$", amount) or
                not 1 <= len(name) <= 100 or
                not ok_url.startswith(("http://", "https://")) or
                not fail_url.startswith(("http://", "https://"))):
            return self._page(400, "결제 오류", "<p>결제 요청 정보가 올바르지 않습니다.</p>")
        outcome = q.get("outcome")
        if outcome is None:
            links = "".join(
                "<p><a id=\"%s\" href=\"%s\">%s</a></p>" % (
                    i, html.escape("/toss/fake/checkout?" + urllib.parse.urlencode(
                        dict(q, outcome=o), quote_via=urllib.parse.quote)), label)
                for i, o, label in (("pay", "success", "결제하기"), ("cancel", "cancel", "취소"),
                                    ("fail", "fail", "결제 실패")))
            return self._page(200, "토스페이먼츠 결제 (테스트)",
                              "<p>주문명: %s</p><p>주문번호: %s</p><p>결제 금액: %s원</p>%s" % (
                                  html.escape(name), html.escape(order_id),
                                  "{:,}".format(int(amount)), links))
        if outcome == "cancel":
            return self._redirect(_with_query(fail_url, {
                "code": "PAY_PROCESS_CANCELED", "message": "사용자에 의해 결제가 취소되었습니다.",
                "orderId": order_id}))
        if outcome == "fail":
            return self._redirect(_with_query(fail_url, {
                "code": "REJECT_CARD_COMPANY", "message": TOSS_ERRORS["REJECT_CARD_COMPANY"][1],
                "orderId": order_id}))
        if outcome != "success":
            return self._page(400, "결제 오류", "<p>알 수 없는 결과입니다.</p>")
        now = self.st.now()
        key = "tfake_%s%s" % (datetime.datetime.fromtimestamp(now, KST).strftime("%Y%m%d%H%M%S"),
                              secrets.token_urlsafe(12).replace("-", "x").replace("_", "y"))
        p = {"key": key, "order_id": order_id, "order_name": name, "amount": int(amount),
             "balance": int(amount), "status": "IN_PROGRESS", "auth_at": now,
             "approved_at": None, "last_tx": None, "approve_no": None, "cancels": [],
             "failure": None}
        with self.st.lock:
            self.st.toss[key] = p
            self.st.toss_orders.setdefault(order_id, []).append(key)
        self.ref = order_id
        self._redirect(_with_query(ok_url, {"paymentType": "NORMAL", "orderId": order_id,
                                            "paymentKey": key, "amount": amount}))

    def _toss_confirm(self, obj):
        if (obj is None or not isinstance(obj.get("paymentKey"), str) or
                not isinstance(obj.get("orderId"), str) or not _is_int(obj.get("amount")) or
                obj["amount"] < 1):
            return TOSS_ERRORS["INVALID_REQUEST"][0], {
                "code": "INVALID_REQUEST", "message": TOSS_ERRORS["INVALID_REQUEST"][1]}
        st = self.st
        with st.lock:
            p = st.toss.get(obj["paymentKey"])
            err = self._toss_confirm_check(p, obj)
            if err is not None:
                status, msg = TOSS_ERRORS[err[0]]
                return status, {"code": err[0], "message": err[1] or msg}
            now = st.now()
            p["status"] = "DONE"
            p["approved_at"] = now
            p["last_tx"] = secrets.token_hex(16).upper()
            p["approve_no"] = "%08d" % random.randrange(10 ** 8)
            st.record("toss", "approve", p["key"], p["order_id"], p["amount"], p["balance"],
                      p["last_tx"], now)
            return 200, _toss_payment_json(p)

    def _toss_confirm_check(self, p, obj):
        """None when p may be confirmed with obj, else (code, message or None). Under lock."""
        if p is None:
            return "NOT_FOUND_PAYMENT", None
        _toss_refresh(self.st, p)
        if p["order_id"] != obj["orderId"]:
            return "INVALID_REQUEST", "주문번호가 결제 정보와 일치하지 않습니다."
        if p["status"] in ("DONE", "CANCELED", "PARTIAL_CANCELED"):
            return "ALREADY_PROCESSED_PAYMENT", None
        if p["status"] == "EXPIRED":
            return "NOT_FOUND_PAYMENT_SESSION", None
        if p["status"] == "ABORTED":
            return "NOT_AVAILABLE_PAYMENT", "결제가 이미 실패한 결제입니다."
        for k in self.st.toss_orders.get(p["order_id"], []):
            other = self.st.toss[k]
            if k != p["key"] and other["status"] in ("DONE", "CANCELED", "PARTIAL_CANCELED"):
                return "DUPLICATED_ORDER_ID", None
        if obj["amount"] != p["amount"]:
            return "INVALID_REQUEST", "결제 금액이 인증된 금액과 일치하지 않습니다."
        return None

    def _forced_error_effect(self, code):
        """An error= rule refusing a confirm / approve leaves the payment failed."""
        obj = self._json() if self.command == "POST" else None
        if obj is None:
            return
        with self.st.lock:
            if self.pg == "toss" and self.endpoint == "confirm" and code in TOSS_ABORTING:
                p = self.st.toss.get(obj.get("paymentKey"))
                if p is not None and p["status"] == "IN_PROGRESS":
                    p["status"] = "ABORTED"
                    p["failure"] = {"code": code, "message": TOSS_ERRORS[code][1]}
            elif self.pg == "kakaopay" and self.endpoint == "approve" and str(code) == "-780":
                k = self.st.kakao.get(obj.get("tid"))
                if k is not None and k["status"] in KAKAO_STATUS_LIVE:
                    k["status"] = "FAIL_PAYMENT"

    def _toss_find(self, key, order_id):
        """The payment asked about (under lock), or None."""
        if key is not None:
            return self.st.toss.get(key)
        keys = self.st.toss_orders.get(order_id, [])
        for k in keys:
            if self.st.toss[k]["status"] in ("DONE", "CANCELED", "PARTIAL_CANCELED"):
                return self.st.toss[k]
        return self.st.toss[keys[-1]] if keys else None

    def _toss_lookup(self, key, order_id):
        with self.st.lock:
            p = self._toss_find(key, order_id)
            if p is None:
                return 404, {"code": "NOT_FOUND_PAYMENT",
                             "message": TOSS_ERRORS["NOT_FOUND_PAYMENT"][1]}
            _toss_refresh(self.st, p)
            return 200, _toss_payment_json(p)

    def _toss_cancel(self, key, obj):
        def err(code, message=None):
            return TOSS_ERRORS[code][0], {"code": code, "message": message or TOSS_ERRORS[code][1]}

        if obj is None:
            return err("INVALID_REQUEST")
        reason, amount, refundable = (obj.get("cancelReason"), obj.get("cancelAmount"),
                                      obj.get("refundableAmount"))
        if (not isinstance(reason, str) or not 1 <= len(reason) <= 200 or
                (amount is not None and (not _is_int(amount) or amount < 1)) or
                (refundable is not None and (not _is_int(refundable) or refundable < 0))):
            return err("INVALID_REQUEST")
        st = self.st
        with st.lock:
            p = st.toss.get(key)
            if p is None:
                return err("NOT_FOUND_PAYMENT")
            _toss_refresh(st, p)
            if p["status"] == "CANCELED":
                return err("ALREADY_CANCELED_PAYMENT")
            if p["status"] not in ("DONE", "PARTIAL_CANCELED"):
                return err("NOT_CANCELABLE_PAYMENT")
            if refundable is not None and refundable != p["balance"]:
                return err("NOT_MATCHES_REFUNDABLE_AMOUNT")
            amount = p["balance"] if amount is None else amount
            if amount > p["balance"]:
                return err("NOT_CANCELABLE_AMOUNT")
            now = st.now()
            p["balance"] -= amount
            p["status"] = "CANCELED" if p["balance"] == 0 else "PARTIAL_CANCELED"
            tx = secrets.token_hex(16).upper()
            p["last_tx"] = tx
            p["cancels"].append({
                "transactionKey": tx, "cancelReason": reason, "cancelAmount": amount,
                "taxFreeAmount": 0, "taxExemptionAmount": 0, "refundableAmount": p["balance"],
                "cardDiscountAmount": 0, "transferDiscountAmount": 0,
                "easyPayDiscountAmount": 0, "canceledAt": _iso(now), "receiptKey": None,
                "cancelStatus": "DONE", "cancelRequestId": None})
            st.record("toss", "cancel", p["key"], p["order_id"], amount, p["balance"], tx, now)
            return 200, _toss_payment_json(p)

    def _toss_transactions(self):
        q = self.query

        def parse(s):
            try:
                return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S")
            except (TypeError, ValueError):
                return None

        start, end = parse(q.get("startDate")), parse(q.get("endDate"))
        limit = q.get("limit", "100")
        if start is None or end is None or not limit.isdigit() or not 1 <= int(limit) <= 5000:
            return 400, {"code": "INVALID_REQUEST", "message": TOSS_ERRORS["INVALID_REQUEST"][1]}
        out = []
        after = q.get("startingAfter")
        skipping = after is not None
        for r in self.st.records():
            if r["pg"] != "toss":
                continue
            at = datetime.datetime.fromisoformat(r["time"]).replace(tzinfo=None)
            if not start <= at <= end:
                continue
            if skipping:
                skipping = r["transaction_key"] != after
                continue
            out.append({"mId": TOSS_MID, "transactionKey": r["transaction_key"],
                        "paymentKey": r["payment_key"], "orderId": r["order_id"],
                        "method": "카드", "customerKey": None, "useEscrow": False,
                        "receiptUrl": None,
                        "status": "DONE" if r["kind"] == "approve" else "CANCELED",
                        "transactionAt": r["time"], "currency": "KRW", "amount": r["amount"]})
        return 200, out[:int(limit)]

    def _toss_settlements(self):
        q = self.query

        def parse(s):
            try:
                return datetime.date.fromisoformat(s) if s and len(s) == 10 else None
            except ValueError:
                return None

        start, end = parse(q.get("startDate")), parse(q.get("endDate"))
        page, size = q.get("page", "1"), q.get("size", "100")
        date_type = q.get("dateType", "soldDate")
        if (start is None or end is None or not page.isdigit() or int(page) < 1 or
                not size.isdigit() or not 1 <= int(size) <= 5000 or
                date_type not in ("soldDate", "paidOutDate")):
            return 400, {"code": "INVALID_REQUEST", "message": TOSS_ERRORS["INVALID_REQUEST"][1]}
        out = []
        for r in self.st.records():
            if r["pg"] != "toss":
                continue
            sold = datetime.date.fromisoformat(r["time"][:10])
            paid = sold + datetime.timedelta(days=2)
            day = sold if date_type == "soldDate" else paid
            if not start <= day <= end:
                continue
            sign = 1 if r["kind"] == "approve" else -1
            fee = r["amount"] * FEE_BP["toss"] // 10000
            fee_vat = _vat(fee)
            out.append({"mId": TOSS_MID, "paymentKey": r["payment_key"],
                        "transactionKey": r["transaction_key"], "orderId": r["order_id"],
                        "currency": "KRW", "method": "카드", "amount": sign * r["amount"],
                        "interestFee": 0, "fees": [{"type": "BASE", "fee": sign * fee}],
                        "supplyAmount": sign * (fee - fee_vat), "vat": sign * fee_vat,
                        "payOutAmount": sign * (r["amount"] - fee), "approvedAt": r["time"],
                        "soldDate": sold.isoformat(), "paidOutDate": paid.isoformat(),
                        "card": None, "easyPay": None, "giftCertificate": None,
                        "mobilePhone": None, "transfer": None, "virtualAccount": None,
                        "cancel": {"cancelAmount": r["amount"]} if sign < 0 else None})
        first = (int(page) - 1) * int(size)
        return 200, out[first:first + int(size)]

    # ---- KakaoPay ---------------------------------------------------------------------------

    def _kakao(self, path):
        parts = path.split("/")
        if len(parts) == 4 and parts[1:3] == ["fake", "pay"]:
            self.endpoint = "checkout"
            return self._method("GET") and self._kakao_pay(urllib.parse.unquote(parts[3]))
        calls = {"ready": self._kakao_ready, "approve": self._kakao_approve,
                 "cancel": self._kakao_cancel, "order": self._kakao_order}
        if len(parts) == 5 and parts[1:4] == ["online", "v1", "payment"] and parts[4] in calls:
            self.endpoint = parts[4]
            return self._method("POST") and self._kakao_api(calls[parts[4]])
        self._send(404, {"error_code": -2, "error_message": "no such API"})

    def _kakao_api(self, process):
        obj = self._json()
        refs = set()
        if obj is not None:
            for k in ("tid", "partner_order_id"):
                if isinstance(obj.get(k), str):
                    refs.add(obj[k])
            with self.st.lock:
                k = self.st.kakao.get(obj.get("tid")) if isinstance(obj.get("tid"), str) else None
                if k is not None:
                    refs.add(k["order_id"])
                    self.ref = k["order_id"]
        if self.ref is None and obj is not None and isinstance(obj.get("partner_order_id"), str):
            self.ref = obj["partner_order_id"]
        if (self.headers.get("Authorization") or "") != "SECRET_KEY " + KAKAO_SECRET:
            return self._kakao_error(-401)
        f = self.st.faults("kakaopay", self.endpoint, refs)
        if self._apply_before(f):
            return None
        if obj is None:
            return self._kakao_error(-2)
        if obj.get("cid") != KAKAO_CID:
            return self._kakao_error(-2, message="허용되지 않은 cid 입니다.")
        status, body = process(obj, f)
        return self._finish(f, status, body)

    @staticmethod
    def _kerr(code, method_code=None, message=None):
        status, msg = KAKAO_ERRORS[code]
        body = {"error_code": code, "error_message": message or msg}
        if method_code is not None:
            body["extras"] = {"method_result_code": method_code,
                              "method_result_message": "진행중인 거래가 있습니다. 잠시 후 다시 시도해 주세요."}
        return status, body

    def _kakao_ready(self, obj, f):
        s = lambda k, n: isinstance(obj.get(k), str) and 1 <= len(obj[k]) <= n  # noqa: E731
        url = lambda k: s(k, 255) and obj[k].startswith(("http://", "https://"))  # noqa: E731
        if (not s("partner_order_id", 100) or not s("partner_user_id", 100) or
                not s("item_name", 100) or not _is_int(obj.get("quantity")) or
                obj["quantity"] < 1 or not _is_int(obj.get("total_amount")) or
                obj["total_amount"] < 1 or not _is_int(obj.get("tax_free_amount")) or
                not 0 <= obj["tax_free_amount"] <= obj["total_amount"] or
                not url("approval_url") or not url("cancel_url") or not url("fail_url")):
            return self._kerr(-2)
        if obj["total_amount"] > KAKAO_MAX_AMOUNT:
            return self._kerr(-797)
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000.0)
        now = self.st.now()
        with self.st.lock:
            tid = "T" + "".join(random.choice("0123456789") for _ in range(19))
            while tid in self.st.kakao:
                tid = "T" + "".join(random.choice("0123456789") for _ in range(19))
            self.st.kakao[tid] = {
                "tid": tid, "order_id": obj["partner_order_id"],
                "user_id": obj["partner_user_id"], "item_name": obj["item_name"],
                "quantity": obj["quantity"], "total": obj["total_amount"],
                "approval_url": obj["approval_url"], "cancel_url": obj["cancel_url"],
                "fail_url": obj["fail_url"], "created": now, "status": "READY",
                "pg_token": None, "aid": None, "approved_at": None, "canceled_at": None,
                "method": None, "balance": 0, "canceled": 0, "actions": [], "expired": False}
        host, port = self.server.server_address[:2]
        page = "http://%s:%d/kakaopay/fake/pay/%s" % (host, port, tid)
        return 200, {"tid": tid, "tms_result": False, "next_redirect_app_url": page + "?view=app",
                     "next_redirect_mobile_url": page + "?view=mobile",
                     "next_redirect_pc_url": page, "android_app_scheme": None,
                     "ios_app_scheme": None, "created_at": _kakao_time(now)}

    def _kakao_pay(self, tid):
        self.ref = tid
        f = self.st.faults("kakaopay", "checkout", {tid})
        if self._apply_before(f):
            return None
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000.0)
        outcome = self.query.get("outcome")
        with self.st.lock:
            page, target = self._kakao_pay_step(tid, outcome)
        if page is not None:
            return self._page(*page)
        self._redirect(target)

    def _kakao_pay_step(self, tid, outcome):
        """The pay page's effect, under the lock: ((status, title, html), None) for a page to
        show, or (None, url) for a redirect."""
        k = self.st.kakao.get(tid)
        if k is None:
            return (404, "카카오페이 결제 오류", "<p>존재하지 않는 결제입니다.</p>"), None
        self.ref = k["order_id"]
        _kakao_refresh(self.st, k)
        if k["expired"]:
            return (400, "카카오페이 결제 오류", "<p>결제 시간이 초과되었습니다.</p>"), None
        if k["status"] != "READY":
            return (400, "카카오페이 결제 오류", "<p>이미 처리된 결제입니다.</p>"), None
        if outcome is None:
            links = "".join("<p><a id=\"%s\" href=\"%s\">%s</a></p>" % (
                i, html.escape("/kakaopay/fake/pay/%s?outcome=%s" % (tid, o)), label)
                for i, o, label in (("pay", "approve", "결제하기"), ("cancel", "cancel", "취소"),
                                    ("fail", "fail", "결제 실패")))
            return (200, "카카오페이 결제 (테스트)",
                    "<p>상품명: %s</p><p>결제 금액: %s원</p>%s" % (
                        html.escape(k["item_name"]), "{:,}".format(k["total"]), links)), None
        if outcome == "approve":
            k["status"] = "AUTH_PASSWORD"
            k["pg_token"] = secrets.token_hex(10)
            return None, _with_query(k["approval_url"], {"pg_token": k["pg_token"]})
        if outcome == "cancel":
            k["status"] = "QUIT_PAYMENT"
            return None, k["cancel_url"]
        if outcome == "fail":
            k["status"] = "FAIL_AUTH_PASSWORD"
            return None, k["fail_url"]
        return (400, "카카오페이 결제 오류", "<p>알 수 없는 결과입니다.</p>"), None

    def _kakao_approve(self, obj, f):
        s = lambda k: isinstance(obj.get(k), str) and obj[k] != ""  # noqa: E731
        if (not s("tid") or not s("partner_order_id") or not s("partner_user_id") or
                not s("pg_token") or
                ("total_amount" in obj and not _is_int(obj["total_amount"]))):
            return self._kerr(-2)
        st, tid = self.st, obj["tid"]
        with st.lock:
            if tid in st.kakao_busy:
                return self._kerr(-780, "USER_LOCKED")
            st.kakao_busy.add(tid)
        try:
            if f.latency_ms:
                time.sleep(f.latency_ms / 1000.0)
            with st.lock:
                k = st.kakao.get(tid)
                if k is None:
                    return self._kerr(-721)
                _kakao_refresh(st, k)
                if k["status"] in ("SUCCESS_PAYMENT", "PART_CANCEL_PAYMENT", "CANCEL_PAYMENT"):
                    return self._kerr(-702)
                if k["expired"]:
                    return self._kerr(-723)
                if (obj["partner_order_id"] != k["order_id"] or
                        obj["partner_user_id"] != k["user_id"] or
                        obj.get("total_amount", k["total"]) != k["total"]):
                    return self._kerr(-705)
                if k["status"] != "AUTH_PASSWORD" or obj["pg_token"] != k["pg_token"]:
                    return self._kerr(-701)
                now = st.now()
                k["status"] = "SUCCESS_PAYMENT"
                k["approved_at"] = now
                k["aid"] = "A" + secrets.token_hex(10)[:19].upper()
                k["method"] = "MONEY"
                k["balance"] = k["total"]
                k["actions"].append({"aid": k["aid"], "approved_at": _kakao_time(now),
                                     "amount": k["total"], "point_amount": 0,
                                     "discount_amount": 0, "green_deposit": 0,
                                     "payment_action_type": "PAYMENT",
                                     "payment_method_type": "MONEY", "payload": None})
                st.record("kakaopay", "approve", tid, k["order_id"], k["total"], k["balance"],
                          k["aid"], now)
                body = dict(_kakao_common(k), aid=k["aid"], card_info=None, payload=None)
                return 200, body
        finally:
            with st.lock:
                st.kakao_busy.discard(tid)

    def _kakao_cancel(self, obj, f):
        amount, tax_free = obj.get("cancel_amount"), obj.get("cancel_tax_free_amount")
        avail = obj.get("cancel_available_amount")
        payload = obj.get("payload")
        if (not isinstance(obj.get("tid"), str) or not _is_int(amount) or amount < 1 or
                not _is_int(tax_free) or tax_free < 0 or tax_free > amount or
                (avail is not None and (not _is_int(avail) or avail < 0)) or
                (payload is not None and (not isinstance(payload, str) or len(payload) > 200))):
            return self._kerr(-2)
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000.0)
        st = self.st
        with st.lock:
            k = st.kakao.get(obj["tid"])
            if k is None:
                return self._kerr(-721)
            if k["status"] not in ("SUCCESS_PAYMENT", "PART_CANCEL_PAYMENT"):
                return self._kerr(-799)
            if (avail is not None and avail != k["balance"]) or amount > k["balance"]:
                return self._kerr(-798)
            now = st.now()
            k["balance"] -= amount
            k["canceled"] += amount
            k["canceled_at"] = now
            k["status"] = "CANCEL_PAYMENT" if k["balance"] == 0 else "PART_CANCEL_PAYMENT"
            aid = "A" + secrets.token_hex(10)[:19].upper()
            k["actions"].append({"aid": aid, "approved_at": _kakao_time(now), "amount": amount,
                                 "point_amount": 0, "discount_amount": 0, "green_deposit": 0,
                                 "payment_action_type": "CANCEL",
                                 "payment_method_type": k["method"], "payload": payload})
            st.record("kakaopay", "cancel", k["tid"], k["order_id"], amount, k["balance"], aid,
                      now)
            return 200, dict(_kakao_common(k), aid=aid, status=k["status"],
                             approved_cancel_amount=_kakao_amount(amount),
                             canceled_amount=_kakao_amount(k["canceled"]),
                             cancel_available_amount=_kakao_amount(k["balance"]),
                             canceled_at=_kakao_time(now), payload=payload)

    def _kakao_order(self, obj, f):
        if not isinstance(obj.get("tid"), str):
            return self._kerr(-2)
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000.0)
        with self.st.lock:
            k = self.st.kakao.get(obj["tid"])
            if k is None:
                return self._kerr(-721)
            _kakao_refresh(self.st, k)
            return 200, dict(_kakao_common(k), status=k["status"],
                             canceled_amount=_kakao_amount(k["canceled"]),
                             cancel_available_amount=_kakao_amount(k["balance"]),
                             canceled_at=_kakao_time(k["canceled_at"]) if k["canceled_at"]
                             else None,
                             selected_card_info=None,
                             payment_action_details=[dict(a) for a in k["actions"]])


def serve(host, port, fakes_dir):
    """Starts the fake PGs on host:port in a daemon thread; returns an object whose
    shutdown() stops them. Knob and record files live in fakes_dir."""
    return httpfake.serve(_Handler, _State(fakes_dir), host, port, "fake-pg", fakes_dir)
