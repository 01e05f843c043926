"""Times IMAP logins with imaplib: COUNT logins, one new connection each,
INTERVAL seconds apart; the time of LOGIN alone (greeting excluded).

    login_timing.py HOST PORT USER PASSWORD COUNT INTERVAL

Prints `login<TAB>i ms result` per login, e.g. `login\t0 12.3 OK`.
"""
import imaplib
import sys
import time

from _util import out

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
count, interval = int(sys.argv[5]), float(sys.argv[6])
for i in range(count):
    conn = imaplib.IMAP4(host, port, timeout=30)
    start = time.monotonic()
    try:
        typ, _ = conn.login(user, password)
    except imaplib.IMAP4.error as e:
        typ = f"NO {e}"
    ms = (time.monotonic() - start) * 1000
    out("login", f"{i} {ms:.1f} {typ}")
    try:
        conn.logout()
    except Exception:
        pass
    time.sleep(interval)
