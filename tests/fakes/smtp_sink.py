"""smtp_sink: a real SMTP server (RFC 5321 subset) that keeps every message it accepts as a
file, for the sign-up mail of the tests and the demo. Standard library only.

serve(host, port, maildir) starts it on a daemon thread and returns an object with
.shutdown(). Commands: EHLO/HELO, MAIL FROM, RCPT TO, DATA (with dot-unstuffing), RSET, NOOP,
QUIT; EHLO advertises 8BITMIME. Each accepted message is written to <maildir>/<n>.eml
atomically (a temporary file renamed into place), n counting up from 1, its first line
"X-Envelope-To: a@x, b@y" naming the envelope recipients.

Fault knob: a file <maildir>/../fakes/smtp-fail holding a number N makes the next N DATA
commands answer 451 (the file counts down, and is removed at 0)."""
import os
import socketserver
import threading

MAX_LINE = 4096               # bytes per command or data line (RFC 5321 says 1000; be lenient)
MAX_MESSAGE = 10 * 1024 * 1024


class _State:
    """What the server shares between connections: where mail goes and the counters."""

    def __init__(self, maildir):
        self.maildir = maildir
        self.fail_file = os.path.join(os.path.dirname(os.path.abspath(maildir)), "fakes",
                                      "smtp-fail")
        self.lock = threading.Lock()
        os.makedirs(maildir, exist_ok=True)
        existing = [int(f[:-4]) for f in os.listdir(maildir)
                    if f.endswith(".eml") and f[:-4].isdigit()]
        self.next_n = max(existing, default=0) + 1

    def take_failure(self):
        """True when the fault knob asks this DATA to fail; counts the knob down."""
        try:
            os.stat(self.fail_file)   # the usual case, no knob: no open, no read
        except FileNotFoundError:
            return False
        with self.lock:
            try:
                with open(self.fail_file) as f:
                    n = int(f.read().strip() or "0")
            except (OSError, ValueError):
                return False
            if n <= 0:
                return False
            n -= 1
            if n == 0:
                os.unlink(self.fail_file)
            else:
                tmp = self.fail_file + ".tmp"
                with open(tmp, "w") as f:
                    f.write("%d\n" % n)
                os.replace(tmp, self.fail_file)
            return True

    def save(self, rcpts, data):
        """Writes one message as <n>.eml atomically (a reader sees the whole file or none; not
        fsync'd: a sink's mail need not outlive a crash of the machine); returns n."""
        with self.lock:
            n = self.next_n
            self.next_n += 1
        head = ("X-Envelope-To: %s\r\n" % ", ".join(rcpts)).encode("utf-8")
        path = os.path.join(self.maildir, "%d.eml" % n)
        tmp = os.path.join(self.maildir, ".%d.eml.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(head + data)
        os.replace(tmp, path)
        return n


class _Handler(socketserver.StreamRequestHandler):
    """One SMTP session."""

    timeout = 60
    disable_nagle_algorithm = True  # replies are small writes; do not wait for delayed ACKs

    def reply(self, text):
        self.wfile.write((text + "\r\n").encode("utf-8"))
        self.wfile.flush()

    def readline(self):
        """One line without its CRLF, None at EOF, or a marker for a line over MAX_LINE."""
        line = self.rfile.readline(MAX_LINE + 2)
        if not line:
            return None
        if not line.endswith(b"\n"):
            # Too long: drop the rest of it.
            while True:
                more = self.rfile.readline(MAX_LINE)
                if not more or more.endswith(b"\n"):
                    break
            return b"\x00too-long"
        return line.rstrip(b"\r\n")

    def reset(self):
        self.mail_from = None
        self.rcpts = []

    def handle(self):
        state = self.server.state
        self.helo = None
        self.reset()
        self.reply("220 jangteo-smtp-sink ESMTP ready")
        while True:
            raw = self.readline()
            if raw is None:
                return
            if raw == b"\x00too-long":
                self.reply("500 5.5.2 line too long")
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.reply("500 5.5.2 bad command encoding")
                continue
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                if not arg.strip():
                    self.reply("501 5.5.4 EHLO needs a domain")
                    continue
                self.helo = arg.strip()
                self.reset()
                self.wfile.write(("250-jangteo-smtp-sink greets %s\r\n"
                                  "250-8BITMIME\r\n"
                                  "250-SIZE %d\r\n"
                                  "250 HELP\r\n" % (self.helo, MAX_MESSAGE)).encode("utf-8"))
                self.wfile.flush()
            elif verb == "HELO":
                if not arg.strip():
                    self.reply("501 5.5.4 HELO needs a domain")
                    continue
                self.helo = arg.strip()
                self.reset()
                self.reply("250 jangteo-smtp-sink")
            elif verb == "MAIL":
                if self.helo is None:
                    self.reply("503 5.5.1 say EHLO first")
                elif self.mail_from is not None:
                    self.reply("503 5.5.1 nested MAIL command")
                else:
                    addr = _path(arg, "FROM:")
                    if addr is None:
                        self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
                    else:
                        self.mail_from = addr
                        self.reply("250 2.1.0 OK")
            elif verb == "RCPT":
                if self.mail_from is None:
                    self.reply("503 5.5.1 need MAIL first")
                else:
                    addr = _path(arg, "TO:")
                    if not addr:
                        self.reply("501 5.5.4 syntax: RCPT TO:<address>")
                    elif len(self.rcpts) >= 100:
                        self.reply("452 4.5.3 too many recipients")
                    else:
                        self.rcpts.append(addr)
                        self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                if arg:
                    self.reply("501 5.5.4 DATA takes no argument")
                elif not self.rcpts:
                    self.reply("503 5.5.1 need RCPT first")
                elif state.take_failure():
                    self.reset()
                    self.reply("451 4.3.0 temporary failure (fault injected)")
                else:
                    self.reply("354 end data with <CR><LF>.<CR><LF>")
                    data = self.read_data()
                    if data is None:
                        return
                    if len(data) > MAX_MESSAGE:
                        self.reply("552 5.3.4 message too big")
                    else:
                        n = state.save(self.rcpts, data)
                        self.reply("250 2.0.0 OK queued as %d" % n)
                    self.reset()
            elif verb == "RSET":
                self.reset()
                self.reply("250 2.0.0 OK")
            elif verb == "NOOP":
                self.reply("250 2.0.0 OK")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            elif verb in ("VRFY", "EXPN"):
                self.reply("252 2.5.2 cannot verify")
            else:
                self.reply("500 5.5.1 command not recognized")

    def read_data(self):
        """The message up to the lone '.', dot-unstuffed, lines ended by CRLF; None at EOF."""
        out = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_LINE + 2)
            if not line:
                return None
            body = line.rstrip(b"\r\n")
            if body == b".":
                return b"".join(out)
            if body.startswith(b"."):
                body = body[1:]
            size += len(body) + 2
            if size <= MAX_MESSAGE:
                out.append(body + b"\r\n")


def _path(arg, prefix):
    """The address of "FROM:<a@b> BODY=8BITMIME" (prefix "FROM:"), '' for <>, None if bad."""
    if not arg.upper().startswith(prefix):
        return None
    rest = arg[len(prefix):].strip()
    if not rest.startswith("<") or ">" not in rest:
        return None
    addr = rest[1:rest.index(">")]
    params = rest[rest.index(">") + 1:].split()
    for p in params:
        if p.upper() not in ("BODY=8BITMIME", "BODY=7BIT") and not p.upper().startswith("SIZE="):
            return None
    if any(c in addr for c in "\r\n <>"):
        return None
    return addr


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256   # socketserver's 5 drops SYNs when many connect at once


class SmtpSink:
    """A running sink; shutdown() stops it and closes the socket."""

    def __init__(self, host, port, maildir):
        self.server = _Server((host, port), _Handler)
        self.server.state = _State(maildir)
        self.thread = threading.Thread(target=self.server.serve_forever, name="smtp-sink",
                                       daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server.server_address[1]

    def shutdown(self):
        self.server.shutdown()
        self.server.server_close()


def serve(host, port, maildir):
    """Starts the sink on host:port (port 0: any free port), saving mail in maildir."""
    return SmtpSink(host, port, maildir)
