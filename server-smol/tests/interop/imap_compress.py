"""COMPRESS=DEFLATE (RFC 4978) from a raw-socket client using Python's zlib
with raw DEFLATE (wbits=-15) in both directions, and imaplib over the same
compressed connection.

usage: imap_compress.py SCENARIO HOST IMAP_PORT IMAPS_PORT USER PASS [COUNT]

Scenarios:
  session  LOGIN, COMPRESS DEFLATE, SELECT, FETCH, a second COMPRESS, a
           command pipelined in the same packet as COMPRESS, LOGOUT; over
           plain TCP and inside implicit TLS.
  imaplib  imaplib.IMAP4 with its socket wrapped after COMPRESS.
  bench    with COUNT messages in INBOX, counts the octets on the wire for
           FETCH 1:COUNT (BODY.PEEK[HEADER]) without and with compression.
"""
import imaplib
import socket
import sys
import time
import zlib

from imap_util import eq, finish, out, tls_context, true

MSG = (
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: Bob <bob@example.org>\r\n"
    b"Subject: compressed hello\r\n"
    b"Message-ID: <compress-1@example.org>\r\n"
    b"\r\n"
    b"Hello over DEFLATE.\r\n"
)


class Raw:
    """A line-oriented IMAP client that can switch to raw DEFLATE."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(20)
        self.buf = b""
        self.wire_in = 0
        self.deflate = None
        self.inflate = None

    def compress(self):
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)

    def encode(self, data):
        """What the client puts on the wire for `data` (sync-flushed)."""
        if self.deflate is None:
            return data
        return self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    def send(self, data, raw=False):
        self.sock.sendall(data if raw else self.encode(data))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.wire_in += len(chunk)
        if self.inflate is not None:
            chunk = self.inflate.decompress(chunk)
        self.buf += chunk

    def line(self):
        """One logical response line with its literals inlined."""
        result = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            i = self.buf.index(b"\r\n") + 2
            part, self.buf = self.buf[:i], self.buf[i:]
            result += part
            if part.endswith(b"}\r\n") and b"{" in part:
                n = int(part[part.rindex(b"{") + 1 : -3].rstrip(b"+"))
                while len(self.buf) < n:
                    self._fill()
                result += self.buf[:n]
                self.buf = self.buf[n:]
                continue
            return result

    def until(self, tag):
        lines = []
        while True:
            ln = self.line()
            lines.append(ln)
            if ln.startswith(tag + b" "):
                return lines

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)


def connect(host, port, tls):
    sock = socket.create_connection((host, port), timeout=20)
    if tls:
        sock = tls_context().wrap_socket(sock, server_hostname=host)
    c = Raw(sock)
    greeting = c.line()
    true("greeting", greeting.startswith(b"* OK"), greeting)
    return c


def login(c, user, password):
    lines = c.cmd(b"l1", b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
    true("login", lines[-1].startswith(b"l1 OK"), lines)
    return lines


def session(host, port, tls, user, password, name, n):
    c = connect(host, port, tls)
    pre = c.cmd(b"p1", b"CAPABILITY")
    true(f"{name} not offered before login", b"COMPRESS" not in pre[0], pre)
    eq(f"{name} refused before login", c.cmd(b"p2", b"COMPRESS DEFLATE")[-1],
       b"p2 BAD Log in first\r\n")
    lines = login(c, user, password)
    true(f"{name} offered after login", b" COMPRESS=DEFLATE" in lines[-1], lines)
    lit = b"a0 APPEND INBOX {%d+}\r\n" % len(MSG) + MSG + b"\r\n"
    c.send(lit)
    true(f"{name} append", c.until(b"a0")[-1].startswith(b"a0 OK"))
    eq(f"{name} unknown algorithm", c.cmd(b"c0", b"COMPRESS LZW")[-1],
       b"c0 BAD Unknown compression algorithm\r\n")
    # The OK is the last uncompressed octets (RFC 4978 §3); a command the
    # client compresses right after its COMPRESS, in the same packet, must
    # be read through the inflater.
    c.send(b"c1 COMPRESS DEFLATE\r\n")
    c.compress()
    c.send(b"c2 NOOP\r\n")
    plain = b""
    while not plain.endswith(b"\r\n"):
        b = c.sock.recv(1)
        if not b:
            break
        plain += b
    eq(f"{name} ok in plaintext", plain, b"c1 OK DEFLATE active\r\n")
    c.wire_in = 0
    eq(f"{name} pipelined after compress", c.until(b"c2")[-1], b"c2 OK NOOP completed\r\n")
    sel = c.cmd(b"c3", b"SELECT INBOX")
    true(f"{name} select", sel[-1].startswith(b"c3 OK [READ-WRITE]"), sel)
    true(f"{name} exists", b"* %d EXISTS\r\n" % n in sel, sel)
    fetch = c.cmd(b"c4", b"FETCH %d (UID BODY.PEEK[])" % n)
    want = b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (n, n, len(MSG)) + MSG + b")\r\n"
    eq(f"{name} fetch body", fetch[0], want)
    eq(f"{name} fetch ok", fetch[-1], b"c4 OK FETCH completed\r\n")
    eq(f"{name} compressionactive", c.cmd(b"c5", b"COMPRESS DEFLATE")[-1],
       b"c5 NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS\r\n")
    true(f"{name} wire is compressed", 0 < c.wire_in, c.wire_in)
    bye = c.cmd(b"c6", b"LOGOUT")
    eq(f"{name} logout", bye, [b"* BYE Logging out\r\n", b"c6 OK LOGOUT completed\r\n"])
    c.sock.close()


class CompressedSocket:
    """Wraps a socket for imaplib after COMPRESS: sendall compresses with
    a sync flush, makefile() returns a reader that inflates."""

    def __init__(self, sock):
        self.sock = sock
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.buf = b""

    def sendall(self, data):
        self.sock.sendall(self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += self.inflate.decompress(chunk)
        return True

    def readline(self, limit=-1):
        while b"\n" not in self.buf:
            if not self._fill():
                break
        i = self.buf.find(b"\n")
        i = len(self.buf) if i < 0 else i + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read(self, n):
        while len(self.buf) < n:
            if not self._fill():
                break
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


# imaplib refuses commands it does not know.
imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class CompressIMAP4(imaplib.IMAP4):
    """imaplib with COMPRESS=DEFLATE (imaplib has no support of its own)."""

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self.zsock = CompressedSocket(self.sock)
        return typ, data

    def send(self, data):
        if getattr(self, "zsock", None):
            self.zsock.sendall(data)
        else:
            super().send(data)

    def readline(self):
        if getattr(self, "zsock", None):
            return self.zsock.readline()
        return super().readline()

    def read(self, size):
        if getattr(self, "zsock", None):
            return self.zsock.read(size)
        return super().read(size)


def with_imaplib(host, port, user, password):
    m = CompressIMAP4(host, port)
    m.login(user, password)
    typ, data = m.capability()
    true("imaplib capability", b" COMPRESS=DEFLATE" in data[0], data)
    typ, data = m.compress()
    eq("imaplib compress", (typ, data), ("OK", [b"DEFLATE active"]))
    typ, data = m.select("INBOX")
    eq("imaplib select", (typ, data), ("OK", [b"1"]))
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    eq("imaplib fetch", data[0][1], b"Subject: compressed hello\r\n\r\n")
    typ, data = m.search(None, "SUBJECT", "compressed")
    eq("imaplib search", (typ, data), ("OK", [b"1"]))
    typ, data = m.logout()
    eq("imaplib logout", typ, "BYE")


def bench(host, port, user, password, count):
    c = connect(host, port, False)
    login(c, user, password)
    sel = c.cmd(b"s1", b"SELECT INBOX")
    true("bench exists", (b"* %d EXISTS\r\n" % count) in sel, sel[:3])
    query = b"FETCH 1:%d (BODY.PEEK[HEADER])" % count

    def measure(conn, tag):
        conn.wire_in = 0
        lines = conn.cmd(tag, query)
        true(f"bench fetch {tag.decode()}", lines[-1].startswith(tag + b" OK"), lines[-1])
        return conn.wire_in, sum(len(x) for x in lines), lines

    plain_wire, plain_data, plain_lines = measure(c, b"f1")
    c.send(b"z1 COMPRESS DEFLATE\r\n")
    eq("bench compress", c.line(), b"z1 OK DEFLATE active\r\n")
    c.compress()
    start = time.time()
    z_wire, z_data, z_lines = measure(c, b"f2")
    out("compressed_seconds", f"{time.time() - start:.3f}")
    eq("bench same answer", z_lines[:-1], plain_lines[:-1])
    out("messages", count)
    out("plain_octets", plain_wire)
    out("compressed_octets", z_wire)
    out("inflated_octets", z_data)
    out("ratio", f"{plain_wire / z_wire:.2f}")
    c.cmd(b"z2", b"LOGOUT")


def main():
    scenario, host, imap, imaps, user, password = sys.argv[1:7]
    if scenario == "session":
        session(host, int(imap), False, user, password, "plain", 1)
        session(host, int(imaps), True, user, password, "tls", 2)
    elif scenario == "imaplib":
        c = connect(host, int(imap), False)
        login(c, user, password)
        c.send(b"a0 APPEND INBOX {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
        true("append", c.until(b"a0")[-1].startswith(b"a0 OK"))
        c.cmd(b"a1", b"LOGOUT")
        with_imaplib(host, int(imap), user, password)
    elif scenario == "bench":
        bench(host, int(imap), user, password, int(sys.argv[7]))
    else:
        sys.exit(f"unknown scenario {scenario}")
    finish()


if __name__ == "__main__":
    main()
