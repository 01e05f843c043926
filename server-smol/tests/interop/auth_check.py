"""AUTH PLAIN with the given credentials; prints the reply code.

usage: auth_check.py HOST PORT USER PASSWORD
"""
import smtplib

from _util import args, call

host, port, user, password = args(4)
s = smtplib.SMTP(host, int(port), timeout=60)
s.ehlo("client.sansmail.test")
s.user, s.password = user, password
call("auth", s.auth, "PLAIN", s.auth_plain)
s.close()
