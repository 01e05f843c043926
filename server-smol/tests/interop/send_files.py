"""Sends each file as one message with smtplib (BODY=8BITMIME when needed).

usage: send_files.py HOST PORT FROM TO FILE...
Prints `FILE<TAB>code` for the end of each DATA.
"""
import smtplib
import sys

from _util import call, read

host, port, sender, rcpt, *files = sys.argv[1:]
s = smtplib.SMTP(host, int(port), timeout=60)
s.ehlo("client.sansmail.test")
for f in files:
    data = read(f)
    opts = ["BODY=8BITMIME"] if any(b > 127 for b in data) else []
    call(f + ".mail", s.mail, sender, opts)
    call(f + ".rcpt", s.rcpt, rcpt)
    call(f, s.data, data)
call("quit", s.quit)
