"""loadgen: the benchmarks' HTTP/1.1 client, cheap enough not to be the thing measured: one
keep-alive connection per Conn, driven by asyncio, the response head read in one
readuntil() and split by hand (no email parser, no per-header readline). Standard library
only; bench/flash_sale.py and bench/paid_pipeline.py use it.

    conn = Conn("127.0.0.1", 8080)
    status, headers, body = await conn.request("POST", "/api/v1/orders", {...}, b"{...}")

headers come back as {lower-case name: value}; a body is read by Content-Length or chunked
transfer coding; a server's "Connection: close" closes the connection (the next request opens
another)."""
import asyncio

MAX_HEAD = 65536


class Conn:
    """One keep-alive connection to host:port; reopened when the server closes it."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.r = self.w = None
        self.host_header = "Host: %s:%d\r\n" % (host, port)

    async def request(self, method, path, headers=None, body=None):
        """(status, {lower-case header: value}, body bytes)."""
        if self.w is None:
            self.r, self.w = await asyncio.open_connection(self.host, self.port, limit=MAX_HEAD)
        parts = ["%s %s HTTP/1.1\r\n" % (method, path), self.host_header]
        for k, v in (headers or {}).items():
            parts.append("%s: %s\r\n" % (k, v))
        if body is not None:
            parts.append("Content-Length: %d\r\n" % len(body))
        parts.append("\r\n")
        self.w.write("".join(parts).encode("latin-1") + (body or b""))
        try:
            head = await self.r.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            self.close()
            raise ConnectionError("closed by %s:%d" % (self.host, self.port))
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
        if "content-length" in hdrs:
            data = await self.r.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                n = int((await self.r.readline()).split(b";")[0], 16)
                if n == 0:
                    while (await self.r.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(await self.r.readexactly(n))
                await self.r.readexactly(2)
            data = b"".join(chunks)
        else:
            data = await self.r.read()
            self.close()
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, data

    def close(self):
        if self.w is not None:
            self.w.close()
        self.r = self.w = None
