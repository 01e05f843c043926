"""STARTTLS command injection (RFC 3207 §4.2, CVE-2011-0411 class).

Sends `STARTTLS\\r\\nRSET\\r\\n` in one packet. The RSET must be discarded:
nothing may be answered before the TLS handshake, and the first reply over
TLS must be the one to our EHLO.

usage: starttls_inject.py HOST PORT
"""
import socket

from _util import args, out, tls_context

host, port = args(2)
sock = socket.create_connection((host, int(port)), timeout=30)


def line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            raise EOFError("closed")
        buf += c
    return buf.decode("utf-8", "replace").rstrip("\r\n")


def reply(sock):
    lines = [line(sock)]
    while lines[-1][3:4] == "-":
        lines.append(line(sock))
    return lines


out("greeting", reply(sock)[0][:3])
sock.sendall(b"EHLO client.sansmail.test\r\n")
out("ehlo", reply(sock)[-1][:3])
sock.sendall(b"STARTTLS\r\nRSET\r\n")
out("starttls", reply(sock)[0][:3])
sock.settimeout(1.5)
try:
    data = sock.recv(100)
    out("before_handshake", repr(data))
except socket.timeout:
    out("before_handshake", "silent")
sock.settimeout(30)
tls = tls_context().wrap_socket(sock)
out("tls", tls.version())
tls.sendall(b"EHLO client.sansmail.test\r\n")
first = reply(tls)
out("after_tls.first", first[0])
out("after_tls.lines", len(first))
tls.sendall(b"NOOP\r\n")
out("noop", reply(tls)[0][:3])
tls.sendall(b"QUIT\r\n")
out("quit", reply(tls)[0][:3])
