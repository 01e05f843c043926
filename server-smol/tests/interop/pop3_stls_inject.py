"""STLS command injection (RFC 2595 §4, the CVE-2011-0411 class for POP3).

Sends `STLS`, `CAPA`, `USER` and `PASS` in one packet. Everything after
STLS was sent in clear text and must be discarded: nothing may be answered
before the TLS handshake, and over TLS the session must still be
unauthenticated (STAT gets -ERR) until we log in ourselves.

usage: pop3_stls_inject.py HOST PORT USER PASS
"""
import socket

from _util import args, out, tls_context

host, port, user, password = args(4)
sock = socket.create_connection((host, int(port)), timeout=30)


def line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise EOFError("closed")
        buf += c
    return buf.decode("utf-8", "replace").rstrip("\r\n")


def command(s, cmd):
    s.sendall(cmd.encode() + b"\r\n")
    return line(s)


out("greeting", line(sock)[:3])
sock.sendall(
    b"STLS\r\nCAPA\r\nUSER " + user.encode() + b"\r\nPASS " + password.encode() + b"\r\n"
)
out("stls", line(sock))
sock.settimeout(1.5)
try:
    data = sock.recv(100)
    out("before_handshake", repr(data))
except socket.timeout:
    out("before_handshake", "silent")
sock.settimeout(30)
tls = tls_context().wrap_socket(sock)
out("tls", tls.version())
out("after_tls.stat", command(tls, "STAT"))
# RFC 2595 §4: STLS is refused once TLS is active.
out("after_tls.stls_again", command(tls, "STLS"))
out("after_tls.user", command(tls, "USER " + user))
out("after_tls.pass", command(tls, "PASS " + password))
out("after_tls.stat2", command(tls, "STAT"))
out("after_tls.quit", command(tls, "QUIT"))
