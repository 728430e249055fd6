"""httpfake: what the HTTP fakes (oauth.py, pg.py, naver_shop.py) share: a quiet keep-alive
handler that answers with TCP_NODELAY and writes JSON, text or bytes, and a server run in a
daemon thread."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    """Base of the fakes' handlers; a subclass sets server_version and its routes. The
    server's state object (serve's state) is self.st."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the body waits for
    # the client's delayed ACK (~40 ms per keep-alive request).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet: each fake keeps the log that matters
        pass

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


def serve(handler, state, host, port, name, fakes_dir=None):
    """Serves handler on host:port in a daemon thread named name, with state as the
    handlers' self.st; makes fakes_dir first when given. Returns a Server."""
    if fakes_dir is not None:
        os.makedirs(fakes_dir, exist_ok=True)
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    httpd.state = state
    t = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
    t.start()
    return Server(httpd, t)
