"""smtplib against the `[smtp] listen` port without TLS.

usage: smtp_plain.py HOST PORT MAX_MESSAGE_SIZE DIR
DIR holds plain.eml, 8bit.eml and utf8.eml (CRLF, ending in CRLF).
"""
import os
import smtplib

from _util import args, call, out, read, reply

host, port, max_size, d = args(4)
max_size = int(max_size)

s = smtplib.SMTP(host, int(port), timeout=60)
code, _ = s.ehlo("client.sansmail.test")
out("ehlo", code)
for name, params in s.esmtp_features.items():
    out("feature:" + name.upper(), params.strip())

# A message to a local user.
call("plain.mail", s.mail, "sender@example.org")
call("plain.rcpt", s.rcpt, "alice@localhost")
call("plain.data", s.data, read(os.path.join(d, "plain.eml")))

# An unknown local user.
call("unknown.mail", s.mail, "sender@example.org")
call("unknown.rcpt", s.rcpt, "nobody@localhost")
call("unknown.rset", s.rset)

# A non-local domain without authentication: relaying is denied.
call("relay.mail", s.mail, "sender@example.org")
call("relay.rcpt", s.rcpt, "someone@example.com")
call("relay.rset", s.rset)

# Declared size over the limit (RFC 1870 §6.2).
call("size.mail", s.mail, "sender@example.org", [f"SIZE={max_size + 1}"])
call("size.rset", s.rset)

# Undeclared size over the limit: refused after the data.
big = b"Subject: big-oversize-token\r\n\r\n" + (b"x" * 998 + b"\r\n") * (max_size // 1000 + 2)
call("big.mail", s.mail, "sender@example.org")
call("big.rcpt", s.rcpt, "alice@localhost")
call("big.data", s.data, big)
call("big.noop", s.noop)

# An 8-bit body announced with BODY=8BITMIME (RFC 6152).
call("8bit.mail", s.mail, "sender@example.org", ["BODY=8BITMIME"])
call("8bit.rcpt", s.rcpt, "alice@localhost")
call("8bit.data", s.data, read(os.path.join(d, "8bit.eml")))

# A UTF-8 sender address with SMTPUTF8 (RFC 6531) to an ASCII local user.
call("utf8.mail", s.mail, "jösé@example.org", ["SMTPUTF8", "BODY=8BITMIME"])
call("utf8.rcpt", s.rcpt, "alice@localhost")
call("utf8.data", s.data, read(os.path.join(d, "utf8.eml")))

call("quit", s.quit)
