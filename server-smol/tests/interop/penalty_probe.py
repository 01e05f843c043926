"""From one loopback source, one IMAP LOGIN with a wrong password, then one
with the right password (each on a new connection), timed.

    penalty_probe.py HOST PORT SRC USER PASSWORD

Prints `wrong` / `right` (the tagged status without the tag, up to the
response code: `OK` or `NO [AUTHENTICATIONFAILED]`) and `wrong_ms` /
`right_ms`.
"""
import socket
import sys
import time

from _util import out


def login(host, port, src, user, password):
    s = socket.create_connection((host, port), timeout=30, source_address=(src, 0))
    f = s.makefile("rb")
    greeting = f.readline()
    assert greeting.startswith(b"* OK"), greeting
    start = time.monotonic()
    s.sendall(b'a1 LOGIN "%s" "%s"\r\n' % (user.encode(), password.encode()))
    while True:
        line = f.readline()
        if not line or line.startswith(b"a1 "):
            break
    ms = (time.monotonic() - start) * 1000
    s.close()
    words = line[3:].decode().split()
    status = words[0] if words else "closed"
    if status == "NO" and len(words) > 1 and words[1].startswith("["):
        status += " " + words[1]
    return status, ms


host, port, src, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
status, ms = login(host, port, src, user, "wrong-" + password)
out("wrong", status)
out("wrong_ms", f"{ms:.1f}")
status, ms = login(host, port, src, user, password)
out("right", status)
out("right_ms", f"{ms:.1f}")
