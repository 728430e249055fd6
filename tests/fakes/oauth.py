"""oauth: fake Naver and Kakao login providers for the tests, on loopback, speaking the real
wire formats (see ../shared/reference/pg-api-contracts.md section 4). Standard library only.

Endpoints (the paths script/stack's config points at):
  GET      /naver/oauth2.0/authorize  response_type=code, client_id, redirect_uri, state
  GET|POST /naver/oauth2.0/token      grant_type=authorization_code, client_id, client_secret,
                                      code, state (query or form). Errors come with HTTP 200:
                                      {"error": "invalid_request", "error_description": ...}
  GET      /naver/v1/nid/me           Authorization: Bearer <token>
                                      -> {"resultcode": "00", "message": "success", "response": {...}}
                                      bad token: 401 {"resultcode": "024", ...}; none: 401 "028"
  GET      /kakao/oauth/authorize     response_type=code, client_id, redirect_uri[, state]
  POST     /kakao/oauth/token         form: grant_type, client_id, redirect_uri, code,
                                      client_secret. Errors with HTTP 400:
                                      {"error": "invalid_grant", "error_description", "error_code": "KOE320"}
  GET|POST /kakao/v2/user/me          Authorization: Bearer <token>
                                      -> {"id": 123, "kakao_account": {...}, "properties": {...}}
                                      bad token: 401 {"msg": "this access token does not exist", "code": -401}

Credentials are checked exactly as script/stack writes them (CLIENTS below). Codes are single
use and live CODE_TTL seconds; tokens live an hour. The authorize endpoint shows no consent
page: it answers 302 straight back to redirect_uri with code and state.

Who signs in: the authorize request's login_hint parameter (a real Kakao parameter; the tests
append it to the URL jangteo redirects to):
  - a JSON object: {"id": "subject", "email": "a@b.c", "name": "...", "verified": true,
    "valid": true}. id is required (digits only for Kakao, whose ids are numbers); email and
    name are left out of the profile when absent; verified/valid are Kakao's
    is_email_verified / is_email_valid (default true; Naver has no such flags);
  - the name of a built-in user (USERS below);
  - nothing: the built-in user "default".

Fault knobs: the file <fakes_dir>/oauth-fail, read at every request, one rule per line,
"[provider] step fault" (provider naver|kakao; without it the rule applies to both):
  authorize deny      back to redirect_uri with error=access_denied (the shopper said no)
  authorize error     back to redirect_uri with error=server_error
  token 500           HTTP 500 with an HTML body
  token timeout       sleeps TIMEOUT seconds before answering (longer than jangteo waits)
  token badjson       HTTP 200 with a body that is not JSON
  token refuse        the provider's "bad code" error (Naver: 200, Kakao: 400 KOE320)
  profile 500 | profile timeout | profile badjson
  profile 401         the provider's "bad token" answer
  profile noid        HTTP 200 in the right shape but without the user's id
TIMEOUT is the number in <fakes_dir>/oauth-timeout, else 15 (seconds).
Every request is appended to <fakes_dir>/oauth-log as "provider endpoint status" (no codes,
tokens or secrets), so tests can check a refused callback never reached the provider."""
import json
import os
import secrets
import threading
import time
import urllib.parse

import httpfake

CLIENTS = {
    "naver": ("jangteo-naver-local", "naver-local-secret"),
    "kakao": ("jangteo-kakao-local", "kakao-local-secret"),
}
CODE_TTL = 120
TOKEN_TTL = 3600

USERS = {
    "default": {"id": "1000001", "email": "fake.user@naver.com", "name": "가짜 회원"},
    "alice": {"id": "1000002", "email": "alice@example.com", "name": "앨리스"},
    "noemail": {"id": "1000003", "name": "이메일 없음"},
}


class _State:
    """Codes and tokens issued, shared by the handler threads."""

    def __init__(self, fakes_dir):
        self.fakes_dir = fakes_dir
        self.lock = threading.Lock()
        self.codes = {}    # code -> dict(provider, client_id, redirect_uri, state, user, expires)
        self.tokens = {}   # token -> dict(provider, user, expires)
        self.fail_knob = httpfake.Knob(os.path.join(fakes_dir, "oauth-fail"))
        self.timeout_knob = httpfake.Knob(os.path.join(fakes_dir, "oauth-timeout"))
        self.log_file = httpfake.AppendLog(os.path.join(fakes_dir, "oauth-log"))

    def faults(self, provider, step):
        """The faults configured for this provider and step (a set of words)."""
        got = self.fail_knob.lines()
        if got is None:
            return set()
        lines = got[1]
        out = set()
        for line in lines:
            words = line.split()
            if words and words[0] in CLIENTS:
                if words[0] != provider:
                    continue
                words = words[1:]
            if len(words) == 2 and words[0] == step:
                out.add(words[1])
        return out

    def timeout(self):
        got = self.timeout_knob.lines()
        try:
            return float("".join(got[1]).strip()) if got is not None else 15.0
        except ValueError:
            return 15.0

    def log(self, provider, endpoint, status):
        self.log_file.write("%s %s %d\n" % (provider, endpoint, status))


def _user(hint):
    """The user a login_hint names, or None when it is malformed."""
    if not hint:
        return dict(USERS["default"])
    if hint.startswith("{"):
        try:
            u = json.loads(hint)
        except ValueError:
            return None
        if not isinstance(u, dict) or not isinstance(u.get("id"), str) or not u["id"]:
            return None
        return u
    return dict(USERS[hint]) if hint in USERS else None


def _naver_profile(u):
    resp = {"id": u["id"], "gender": "U", "age": "20-29"}
    if u.get("name") is not None:
        resp["nickname"] = u["name"]
        resp["name"] = u["name"]
    if u.get("email") is not None:
        resp["email"] = u["email"]
    return {"resultcode": "00", "message": "success", "response": resp}


def _kakao_profile(u):
    acct = {"profile_nickname_needs_agreement": False, "has_email": u.get("email") is not None}
    props = {}
    if u.get("name") is not None:
        acct["profile"] = {"nickname": u["name"], "is_default_image": True,
                           "is_default_nickname": False}
        props["nickname"] = u["name"]
    if u.get("email") is not None:
        acct.update({"email_needs_agreement": False, "is_email_valid": u.get("valid", True),
                     "is_email_verified": u.get("verified", True), "email": u["email"]})
    return {"id": int(u["id"]), "connected_at": "2024-01-01T00:00:00Z", "properties": props,
            "kakao_account": acct}


class _Handler(httpfake.Handler):
    server_version = "fake-oauth/1"

    # ---- plumbing -------------------------------------------------------------------------

    def _send(self, status, body=b"", ctype="application/json;charset=UTF-8", headers=()):
        self._write(status, body, ctype, headers)  # a client that gave up is a timeout test
        self.st.log(self.provider, self.endpoint, status)

    def _params(self):
        """Query and (for a POST) urlencoded body parameters; a repeated one is an error."""
        url = urllib.parse.urlsplit(self.path)
        pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        if self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n).decode("utf-8") if n else ""
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if raw and ctype != "application/x-www-form-urlencoded":
                return None
            pairs += urllib.parse.parse_qsl(raw, keep_blank_values=True)
        out = {}
        for k, v in pairs:
            if k in out:
                return None
            out[k] = v
        return out

    def _fault(self, step):
        """Applies a configured fault for this step. True when it answered."""
        faults = self.st.faults(self.provider, step)
        if "timeout" in faults:
            time.sleep(self.st.timeout())
        if "500" in faults:
            self._send(500, "<html><body>Internal Server Error</body></html>", "text/html")
            return True
        if "badjson" in faults:
            self._send(200, "{\"access_token\": \"abc\", oops")
            return True
        return False

    def _bearer(self):
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return None, False
        tok = auth[len("Bearer "):]
        with self.st.lock:
            t = self.st.tokens.get(tok)
        if t is None or t["provider"] != self.provider or t["expires"] < time.time():
            return None, True
        return t["user"], True

    # ---- dispatch -------------------------------------------------------------------------

    ROUTES = {
        ("naver", "/naver/oauth2.0/authorize"): ("authorize", ("GET",)),
        ("naver", "/naver/oauth2.0/token"): ("token", ("GET", "POST")),
        ("naver", "/naver/v1/nid/me"): ("profile", ("GET",)),
        ("kakao", "/kakao/oauth/authorize"): ("authorize", ("GET",)),
        ("kakao", "/kakao/oauth/token"): ("token", ("POST",)),
        ("kakao", "/kakao/v2/user/me"): ("profile", ("GET", "POST")),
    }

    def _dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        self.provider = path.split("/")[1] if path.count("/") >= 2 else "-"
        self.endpoint = path
        route = self.ROUTES.get((self.provider, path))
        if route is None:
            return self._send(404, {"error": "not_found"})
        self.endpoint, methods = route
        if self.command not in methods:
            return self._send(405, {"error": "method_not_allowed"}, headers=[
                ("Allow", ", ".join(methods))])
        params = self._params()
        if params is None:
            return self._send(400, {"error": "invalid_request",
                                    "error_description": "bad parameters"})
        getattr(self, "_" + self.endpoint)(params)

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    # ---- endpoints ------------------------------------------------------------------------

    def _authorize(self, p):
        client_id, _ = CLIENTS[self.provider]
        redirect = p.get("redirect_uri", "")
        state = p.get("state")
        if (p.get("response_type") != "code" or p.get("client_id") != client_id or
                not redirect.startswith(("http://", "https://")) or
                (self.provider == "naver" and not state)):
            return self._send(400, "<html><body>잘못된 요청입니다.</body></html>",
                              "text/html;charset=UTF-8")
        sep = "&" if "?" in redirect else "?"
        faults = self.st.faults(self.provider, "authorize")
        back = {}
        if "deny" in faults or "error" in faults:
            back["error"] = "access_denied" if "deny" in faults else "server_error"
            back["error_description"] = ("User denied access" if "deny" in faults
                                         else "internal error")
        else:
            user = _user(p.get("login_hint", ""))
            if user is None or (self.provider == "kakao" and not user["id"].isdigit()):
                return self._send(400, "<html><body>unknown login_hint</body></html>",
                                  "text/html;charset=UTF-8")
            code = secrets.token_urlsafe(24)
            with self.st.lock:
                self.st.codes[code] = {"provider": self.provider, "client_id": client_id,
                                       "redirect_uri": redirect, "state": state, "user": user,
                                       "expires": time.time() + CODE_TTL}
            back["code"] = code
        if state is not None:
            back["state"] = state
        location = redirect + sep + urllib.parse.urlencode(back, quote_via=urllib.parse.quote)
        self._send(302, "", "text/html", headers=[("Location", location)])

    def _token_error(self, status_kakao, error, description, kakao_code):
        if self.provider == "naver":
            return self._send(200, {"error": error, "error_description": description})
        return self._send(status_kakao, {"error": error, "error_description": description,
                                         "error_code": kakao_code})

    def _token(self, p):
        if self._fault("token"):
            return
        client_id, secret = CLIENTS[self.provider]
        if "refuse" in self.st.faults(self.provider, "token"):
            return self._token_error(400, "invalid_grant", "authorization code not found",
                                     "KOE320")
        if p.get("grant_type") != "authorization_code":
            return self._token_error(400, "unsupported_grant_type", "bad grant_type", "KOE001")
        if p.get("client_id") != client_id or p.get("client_secret") != secret:
            return self._token_error(400, "invalid_client", "Bad client credentials",
                                     "KOE010")
        code = p.get("code", "")
        with self.st.lock:
            c = self.st.codes.pop(code, None)   # single use, whatever happens next
        if c is None or c["provider"] != self.provider or c["expires"] < time.time():
            if self.provider == "naver":
                return self._token_error(200, "invalid_request", "no valid data in session",
                                         "")
            return self._token_error(400, "invalid_grant",
                                     "authorization code not found for code=%s" % code,
                                     "KOE320")
        if self.provider == "naver" and p.get("state") != c["state"]:
            return self._token_error(200, "invalid_request", "invalid state", "")
        if self.provider == "kakao" and p.get("redirect_uri") != c["redirect_uri"]:
            return self._token_error(400, "invalid_grant", "Redirect URI mismatch.", "KOE303")
        tok = secrets.token_urlsafe(32)
        with self.st.lock:
            self.st.tokens[tok] = {"provider": self.provider, "user": c["user"],
                                   "expires": time.time() + TOKEN_TTL}
        if self.provider == "naver":
            return self._send(200, {"access_token": tok, "refresh_token": secrets.token_urlsafe(32),
                                    "token_type": "bearer", "expires_in": "3600"})
        self._send(200, {"token_type": "bearer", "access_token": tok, "expires_in": 21599,
                         "refresh_token": secrets.token_urlsafe(32),
                         "refresh_token_expires_in": 5183999,
                         "scope": "profile_nickname account_email"})

    def _profile(self, p):
        if self._fault("profile"):
            return
        faults = self.st.faults(self.provider, "profile")
        user, had_header = self._bearer()
        if user is None or "401" in faults:
            if self.provider == "naver":
                return self._send(401, {"resultcode": "028" if not had_header else "024",
                                        "message": "Authentication failed"})
            return self._send(401, {"msg": "this access token does not exist", "code": -401})
        body = _naver_profile(user) if self.provider == "naver" else _kakao_profile(user)
        if "noid" in faults:
            if self.provider == "naver":
                del body["response"]["id"]
            else:
                del body["id"]
        self._send(200, body)


def serve(host, port, fakes_dir):
    """Starts the fake providers on host:port in a daemon thread; returns an object whose
    shutdown() stops them. Knob files are read from fakes_dir."""
    return httpfake.serve(_Handler, _State(fakes_dir), host, port, "fake-oauth", fakes_dir)
