"""httpfake: what the fakes share: a quiet keep-alive HTTP handler that answers with
TCP_NODELAY, reads its request head with a small parser (the standard library's goes through
the email package, most of a fake's CPU per request) and writes JSON, text or bytes; a server
run in a daemon thread; a fault-knob file read again only when it changed (Knob); and an
append-only log file kept open (AppendLog)."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


MAX_HEADER_LINE = 65536
MAX_HEADERS = 100


class Headers(dict):
    """A request's headers by lower-cased name (the last one of a repeated name wins); get()
    and [] take any case, as http.client's message does for the fakes' uses."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name):
        return dict.get(self, name.lower())

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())


class Knob:
    """A fault-knob file (<fakes>/<name>): lines() gives (stat, lines) when it exists, None
    when not, reading the file again only when its inode, size or mtime changed (one stat per
    request, no open or read while nothing changes)."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.seen = None
        self.cached = None

    def lines(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self.lock:
            if sig == self.seen:
                return self.cached
        try:
            with open(self.path) as fh:
                st = os.fstat(fh.fileno())
                lines = fh.read().splitlines()
        except FileNotFoundError:
            return None
        with self.lock:
            self.seen = (st.st_ino, st.st_size, st.st_mtime_ns)
            self.cached = (st, lines)
            return self.cached


class AppendLog:
    """A log or record file the tests read, appended one whole line per write() (O_APPEND,
    one system call) through a descriptor opened on first use and kept while the path still
    names its file (a file replaced or removed, as pg.py's plant does, is opened again)."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.fd = None

    def write(self, text):
        data = text.encode("utf-8")
        with self.lock:
            if self.fd is not None:
                try:
                    same = os.stat(self.path).st_ino == os.fstat(self.fd).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(self.fd)
                    self.fd = None
            if self.fd is None:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                                  0o644)
            os.write(self.fd, data)


class Handler(BaseHTTPRequestHandler):
    """Base of the fakes' handlers; a subclass sets server_version and its routes. The
    server's state object (serve's state) is self.st."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the body waits for
    # the client's delayed ACK (~40 ms per keep-alive request).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet: each fake keeps the log that matters
        pass

    def parse_request(self):
        """BaseHTTPRequestHandler.parse_request for "METHOD target HTTP/1.x" with a plain
        header parser (self.headers is a Headers); anything else goes the standard way."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0") or words[1].startswith("//"):
            return super().parse_request()
        self.requestline = line
        self.command, self.path, self.request_version = words
        self.close_connection = True
        hdrs = Headers()
        while True:
            raw = self.rfile.readline(MAX_HEADER_LINE + 1)
            if len(raw) > MAX_HEADER_LINE:
                self.send_error(431, "Line too long")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(hdrs) >= MAX_HEADERS:
                self.send_error(431, "Too many headers")
                return False
            name, sep, value = raw.decode("iso-8859-1").partition(":")
            if not sep or not name or name != name.strip():
                self.send_error(400, "Bad header line")
                return False
            hdrs[name.lower()] = value.strip()
        self.headers = hdrs
        conn = hdrs.get("connection", "").lower()
        if conn == "close":
            self.close_connection = True
        elif conn == "keep-alive" or words[2] == "HTTP/1.1":
            self.close_connection = False
        if hdrs.get("expect", "").lower() == "100-continue" and words[2] == "HTTP/1.1":
            if not self.handle_expect_100():
                return False
        return True

    @property
    def st(self):
        return self.server.state

    def _write(self, status, body=b"", ctype="application/json;charset=UTF-8", headers=()):
        """Answers status with body (a dict or list is sent as JSON, a str as UTF-8).
        Returns False when the client had gone (a timeout test)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False


class Server:
    """A running fake: shutdown() stops it."""

    def __init__(self, httpd, thread):
        self.httpd = httpd
        self.thread = thread

    def shutdown(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _HTTPServer(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: a payment worker opening its batch's connections
    # at once (lib/infra/http's http_do_many) overflowed it, and each dropped SYN cost its
    # request a one-second retransmit. A real PG's front listens far deeper.
    request_queue_size = 256


def serve(handler, state, host, port, name, fakes_dir=None):
    """Serves handler on host:port in a daemon thread named name, with state as the
    handlers' self.st; makes fakes_dir first when given. Returns a Server."""
    if fakes_dir is not None:
        os.makedirs(fakes_dir, exist_ok=True)
    httpd = _HTTPServer((host, port), handler)
    httpd.daemon_threads = True
    httpd.state = state
    t = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
    t.start()
    return Server(httpd, t)
