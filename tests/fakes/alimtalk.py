"""alimtalk: a fake NHN Cloud KakaoTalk Bizmessage API (알림톡, API v2.3) for the tests and the
demo, on loopback, speaking the real wire format of "메시지 치환 발송 요청". Standard library
only.

  POST /alimtalk/v2.3/appkeys/{appkey}/messages
    headers  Content-Type: application/json;charset=UTF-8, X-Secret-Key (required),
             X-NC-API-IDEMPOTENCY-KEY (optional)
    body     {"senderKey", "templateCode", "recipientList": [{"recipientNo",
             "templateParameter": {...}, "resendParameter": {"isResend", "resendType",
             "resendTitle", "resendContent", "resendSendNo"}, "recipientGroupingKey"}, ...]}
             (requestDate, senderGroupingKey, createUser, statsId accepted and ignored)
    answer   HTTP 200 {"header": {"resultCode", "resultMessage", "isSuccessful"}, "message":
             {"requestId", "senderGroupingKey", "sendResults": [{"recipientSeq", "recipientNo",
             "resultCode", "resultMessage", "recipientGroupingKey"}]}}; a refused request has
             only the header (isSuccessful false), as the provider answers. Header codes:
               -1000 unknown appkey          -1001 wrong X-Secret-Key
               -1005 the same X-NC-API-IDEMPOTENCY-KEY within IDEMPOTENCY_TTL seconds:
                     nothing is sent again (the first request's messages stand)
               -2017 unknown senderKey       -3003 unknown templateCode
               -3004 a template variable without a value in templateParameter
               -2002 recipientList or recipientNo missing; -3002 a body that is not JSON
             Per recipient: resultCode 0, or -2004 for a recipientNo that is not 10..11 digits.
  Credentials and templates are this fake's (APPKEY, SECRET, SENDER_KEY, TEMPLATES below), as
  script/stack writes them into the config. A template's text is filled with the parameters
  (#{name} -> value), as the provider renders it for Kakao.

Delivery (what the provider does after answering; recorded at once here): a recipient whose
number is listed in <fakes_dir>/alimtalk-nokakao (one number per line, digits; read at every
request) has no KakaoTalk: with resendParameter.isResend and a resendSendNo the text goes as
SMS (at most 90 bytes of EUC-KR, counted here as 2 bytes per non-ASCII character) or LMS,
else it is not delivered ("failed"). Everyone else gets it in KakaoTalk ("kakao").

Records: every message taken is appended to <fakes_dir>/alimtalk-messages.jsonl: {"requestId",
"recipientSeq", "recipientNo", "templateCode", "templateParameter", "content", "delivery":
"kakao" | "sms" | "lms" | "failed", "resendSendNo", "idempotencyKey", "recipientGroupingKey",
"time"}.
  GET /fake/alimtalk/messages[?recipientNo=&recipientGroupingKey=&templateCode=] -> those
      records, oldest first.
Every request is appended to <fakes_dir>/alimtalk-log as "endpoint status ref" (ref: the
idempotency key or '-'; never the secret).

Fault knobs: <fakes_dir>/alimtalk-faults, read at every request; one rule per line ('#'
starts a comment):
    send <word>...
  words (at most one action):
    latency_ms=N   wait N ms before answering (the message is taken after the wait)
    status=N       answer HTTP N with {"header": {"resultCode": -9999, ...}} doing nothing
    error=CODE     answer header resultCode CODE (isSuccessful false) doing nothing
    reset          close the connection with a TCP reset, doing nothing
    timeout[=S]    hold the connection S seconds (default 10), close it, doing nothing
    drop           take the messages (recorded, idempotency key kept) and close without an
                   answer
    badjson        take the messages and answer 200 with a body that is not JSON
    count=N        the next N matching requests only (counted per rule line; editing the file
                   starts new counts)
    prob=P         each matching request with probability P
    to=NUMBER      only requests to this recipientNo (digits)
  e.g. "send status=500 count=2", "send drop count=1", "send latency_ms=3000 count=1".
A malformed line is ignored and reported once on stderr."""
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

import httpfake

APPKEY = "jangteo-alimtalk-local"
SECRET = "alimtalk-local-secret"
SENDER_KEY = "jangteo0sender0key0local0000000000000000"  # 40 characters, like a real one
IDEMPOTENCY_TTL = 600
TIMEOUT_DEFAULT = 10.0
BODY_MAX = 1 << 20
PATH_RE = re.compile(r"^/alimtalk/v2\.3/appkeys/([^/]+)/messages$")
VAR_RE = re.compile(r"#\{([^}]+)\}")
ACTIONS = ("status", "error", "reset", "timeout", "drop", "badjson")

# The templates "registered" at this fake provider (code -> text). Their variables are the
# ones the notify worker fills (docs/ARCHITECTURE.md, Notify).
TEMPLATES = {
    "JT_ORDER_PAID": (
        "[장터] 결제 완료 안내\n"
        "#{name}님, 주문하신 상품의 결제가 완료되었습니다.\n\n"
        "주문번호: #{orderId}\n"
        "주문상품: #{orderName}\n"
        "결제수단: #{payMethod}\n"
        "결제금액: #{amount}원\n\n"
        "주문 상세: #{url}"),
    "JT_ORDER_REFUNDED": (
        "[장터] 환불 완료 안내\n"
        "#{name}님, 요청하신 환불이 완료되었습니다.\n\n"
        "주문번호: #{orderId}\n"
        "환불번호: #{refundId}\n"
        "환불상품: #{items}\n"
        "환불금액: #{amount}원\n\n"
        "주문 상세: #{url}"),
    "JT_ORDER_SHIPPED": (
        "[장터] 배송 시작 안내\n"
        "#{name}님, 주문하신 상품이 발송되었습니다.\n\n"
        "주문번호: #{orderId}\n"
        "배송상품: #{items}\n"
        "택배사: #{courier}\n"
        "운송장 번호: #{trackingNo}\n\n"
        "주문 상세: #{url}"),
    "JT_ORDER_DELIVERED": (
        "[장터] 배송 완료 안내\n"
        "#{name}님, 주문하신 상품의 배송이 완료되었습니다.\n\n"
        "주문번호: #{orderId}\n"
        "배송상품: #{items}\n\n"
        "상품에 문제가 있으면 주문 상세에서 반품을 신청해 주세요: #{url}"),
}

MESSAGES = {
    0: "SUCCESS",
    -1000: "Invalid appKey.",
    -1001: "Invalid secretKey.",
    -1005: "The same 'X-NC-API-IDEMPOTENCY-KEY' was used within the last 10 minute.",
    -2002: "The '{}' must not be null.",
    -2004: "The 'recipientNo' must be between 10 and 11.",
    -2017: "Not exist plus friend.",
    -3002: "Field is not valid.",
    -3003: "Template does not exist.",
    -3004: "Please check template parameter.",
    -9999: "System error.",
}


def _warn(msg):
    sys.stderr.write("fake alimtalk: %s\n" % msg)
    sys.stderr.flush()


class _Rule:
    def __init__(self, line):
        words = line.split()
        if len(words) < 2 or words[0] != "send":
            raise ValueError("want: send word...")
        self.latency_ms = 0
        self.action = None
        self.arg = None
        self.count = None
        self.prob = None
        self.to = None
        for w in words[1:]:
            name, eq, val = w.partition("=")
            if name == "latency_ms" and eq and val.isdigit():
                self.latency_ms = int(val)
            elif name == "count" and eq and val.isdigit():
                self.count = int(val)
            elif name == "prob" and eq:
                self.prob = float(val)
                if not 0.0 <= self.prob <= 1.0:
                    raise ValueError("prob out of 0..1")
            elif name == "to" and eq and val.isdigit():
                self.to = val
            elif name in ACTIONS:
                if self.action is not None:
                    raise ValueError("two actions")
                self.action = name
                if name == "status":
                    if not (eq and val.isdigit() and 100 <= int(val) <= 599):
                        raise ValueError("status=N")
                    self.arg = int(val)
                elif name == "error":
                    if not (eq and re.match(r"^-?\d+$", val)):
                        raise ValueError("error=CODE")
                    self.arg = int(val)
                elif name == "timeout":
                    self.arg = float(val) if eq else TIMEOUT_DEFAULT
                elif eq:
                    raise ValueError("%s takes no value" % name)
            else:
                raise ValueError("unknown word %r" % w)


class _State:
    def __init__(self, fakes_dir):
        self.fakes_dir = fakes_dir
        self.lock = threading.Lock()
        self.idem = {}       # (appkey, key) -> time first used
        self.counts = {}     # (mtime_ns, size, lineno, text) -> remaining
        self.warned = set()
        self.seq = 0
        self.knob = httpfake.Knob(self.path("alimtalk-faults"))
        self.nokakao = httpfake.Knob(self.path("alimtalk-nokakao"))
        self.messages_file = httpfake.AppendLog(self.path("alimtalk-messages.jsonl"))
        self.log_file = httpfake.AppendLog(self.path("alimtalk-log"))

    def path(self, name):
        return os.path.join(self.fakes_dir, name)

    def faults(self, numbers):
        """(latency_ms, action, arg) of the rules matching a send to numbers."""
        latency, action, arg = 0, None, None
        got = self.knob.lines()
        if got is None:
            return latency, action, arg
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
                        _warn("alimtalk-faults line %d ignored (%s): %s" % (lineno, e, text))
                    continue
                if rule.to is not None and rule.to not in numbers:
                    continue
                key = (st.st_mtime_ns, st.st_size, lineno, text)
                if rule.count is not None and self.counts.setdefault(key, rule.count) <= 0:
                    continue
                if rule.prob is not None and random.random() >= rule.prob:
                    continue
                if rule.count is not None:
                    self.counts[key] -= 1
                latency += rule.latency_ms
                if rule.action is not None and action is None:
                    action, arg = rule.action, rule.arg
        return latency, action, arg

    def no_kakao(self):
        got = self.nokakao.lines()
        if got is None:
            return set()
        return {line.strip() for line in got[1] if line.strip()}

    def idem_claim(self, appkey, key):
        """True when key is new (now remembered), False when used within IDEMPOTENCY_TTL."""
        now = time.time()
        with self.lock:
            first = self.idem.get((appkey, key))
            if first is not None and now - first < IDEMPOTENCY_TTL:
                return False
            self.idem[(appkey, key)] = now
            return True

    def request_id(self):
        with self.lock:
            self.seq += 1
            return time.strftime("%Y%m%d%H%M%S") + "%06dfakeAT" % self.seq

    def record(self, recs):
        self.messages_file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))

    def records(self):
        try:
            with open(self.path("alimtalk-messages.jsonl"), encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        except FileNotFoundError:
            return []

    def log(self, endpoint, status, ref):
        self.log_file.write("%s %s %s\n" % (endpoint, status, ref or "-"))


def _sms_bytes(text):
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


class _Handler(httpfake.Handler):
    server_version = "fake-alimtalk/1"

    def _send(self, status, body, ref=None):
        if not self._write(status, body):
            self.close_connection = True
        self.st.log(self.endpoint, status, ref)

    def _header(self, code, ref=None, status=200):
        self._send(status, {"header": {"resultCode": code,
                                       "resultMessage": MESSAGES.get(code, "Error."),
                                       "isSuccessful": code == 0}}, ref)

    def _close(self, rst, ref):
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
            self.connection.close()
        except OSError:
            pass
        self.st.log(self.endpoint, "reset" if rst else "closed", ref)

    def do_GET(self):
        self.endpoint = "fake"
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/fake/alimtalk/messages":
            return self._send(404, {"header": {"resultCode": -9999, "resultMessage": "no such path",
                                               "isSuccessful": False}})
        q = dict(urllib.parse.parse_qsl(url.query))
        recs = [r for r in self.st.records()
                if all(q.get(k) in (None, r.get(k)) for k in
                       ("recipientNo", "recipientGroupingKey", "templateCode"))]
        self._send(200, recs)

    def do_POST(self):
        self.endpoint = "send"
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > BODY_MAX:
            self.close_connection = True
            return self._header(-3002, status=413)
        raw = self.rfile.read(n) if n else b""
        m = PATH_RE.match(urllib.parse.urlsplit(self.path).path)
        key = self.headers.get("X-NC-API-IDEMPOTENCY-KEY")
        if m is None:
            return self._send(404, {"header": {"resultCode": -9999, "resultMessage": "no such path",
                                               "isSuccessful": False}}, key)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        rcpts = body.get("recipientList") if isinstance(body, dict) else None
        numbers = {r.get("recipientNo") for r in rcpts if isinstance(r, dict)} \
            if isinstance(rcpts, list) else set()
        latency, action, arg = self.st.faults(numbers)
        if latency:
            time.sleep(latency / 1000.0)
        if action == "status":
            return self._send(arg, {"header": {"resultCode": -9999,
                                               "resultMessage": MESSAGES[-9999],
                                               "isSuccessful": False}}, key)
        if action == "error":
            return self._header(arg, key)
        if action == "reset":
            return self._close(True, key)
        if action == "timeout":
            time.sleep(arg)
            return self._close(False, key)
        status, answer = self._take(m.group(1), key, body)
        if action == "drop":
            return self._close(False, key)
        if action == "badjson":
            return self._send(200, b"{\"header\": {\"resultCode\": 0,", key)
        self._send(status, answer, key)

    def _take(self, appkey, key, body):
        """Checks and records a send; returns (HTTP status, answer)."""
        def refused(code):
            return 200, {"header": {"resultCode": code, "resultMessage": MESSAGES.get(code),
                                    "isSuccessful": False}}

        if appkey != APPKEY:
            return refused(-1000)
        if self.headers.get("X-Secret-Key") != SECRET:
            return refused(-1001)
        if not isinstance(body, dict):
            return refused(-3002)
        if body.get("senderKey") != SENDER_KEY:
            return refused(-2017)
        template = TEMPLATES.get(body.get("templateCode"))
        if template is None:
            return refused(-3003)
        rcpts = body.get("recipientList")
        if not isinstance(rcpts, list) or not rcpts or \
                not all(isinstance(r, dict) and isinstance(r.get("recipientNo"), str)
                        for r in rcpts):
            return refused(-2002)
        wanted = set(VAR_RE.findall(template))
        for r in rcpts:
            params = r.get("templateParameter") or {}
            if not isinstance(params, dict) or \
                    not all(isinstance(params.get(v), str) for v in wanted):
                return refused(-3004)
        if key is not None and not self.st.idem_claim(appkey, key):
            return refused(-1005)
        rid = self.st.request_id()
        no_kakao = self.st.no_kakao()
        results, recs = [], []
        for seq, r in enumerate(rcpts, 1):
            number = r["recipientNo"]
            grouping = r.get("recipientGroupingKey")
            if not (number.isdigit() and 10 <= len(number) <= 11):
                results.append({"recipientSeq": seq, "recipientNo": number, "resultCode": -2004,
                                "resultMessage": MESSAGES[-2004],
                                "recipientGroupingKey": grouping})
                continue
            params = r.get("templateParameter") or {}
            content = VAR_RE.sub(lambda mm: params.get(mm.group(1), ""), template)
            resend = r.get("resendParameter") or {}
            delivery = "kakao"
            if number in no_kakao:
                if resend.get("isResend") is True and resend.get("resendSendNo"):
                    delivery = "sms" if _sms_bytes(content) <= 90 else "lms"
                else:
                    delivery = "failed"
            recs.append({"requestId": rid, "recipientSeq": seq, "recipientNo": number,
                         "templateCode": body.get("templateCode"), "templateParameter": params,
                         "content": content, "delivery": delivery,
                         "resendSendNo": resend.get("resendSendNo"), "idempotencyKey": key,
                         "recipientGroupingKey": grouping,
                         "time": time.strftime("%Y-%m-%dT%H:%M:%S+09:00",
                                               time.gmtime(time.time() + 9 * 3600))})
            results.append({"recipientSeq": seq, "recipientNo": number, "resultCode": 0,
                            "resultMessage": "SUCCESS", "recipientGroupingKey": grouping})
        self.st.record(recs)
        return 200, {"header": {"resultCode": 0, "resultMessage": "SUCCESS",
                                "isSuccessful": True},
                     "message": {"requestId": rid, "senderGroupingKey": body.get(
                         "senderGroupingKey"), "sendResults": results}}


def serve(host, port, fakes_dir):
    return httpfake.serve(_Handler, _State(fakes_dir), host, port, "fake-alimtalk", fakes_dir)
