"""AUTH PLAIN (RFC 4616) with the given credentials; prints the reply code.

smtplib's own auth() encodes credentials as ASCII, so the initial response
is built here from UTF-8 to allow non-ASCII passwords.

usage: auth_check.py HOST PORT USER PASSWORD
"""
import base64
import smtplib

from _util import args, call

host, port, user, password = args(4)
s = smtplib.SMTP(host, int(port), timeout=60)
s.ehlo("client.sansmail.test")
token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
call("auth", s.docmd, "AUTH", "PLAIN " + token)
s.close()
