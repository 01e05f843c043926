"""A message nested 40,000 levels deep as message/rfc822 (about 1.3 MB),
sent with smtplib and appended with imaplib: each gets a clean reply, the
server keeps serving, and FETCH/SEARCH on the stored (truncated)
structure answer.

usage: mime_deep.py HOST SMTP_PORT IMAP_PORT USER PASSWORD
"""
import imaplib
import re
import smtplib
import sys

from imap_util import eq, finish, out, true

host, smtp_port, imap_port, user, password = sys.argv[1:6]
LEVEL = b"Content-Type: message/rfc822\r\n\r\n"
DEEP = LEVEL * 40_000 + b"Subject: bottom\r\n\r\nhi\r\n"
NORMAL = (
    b"From: <sender@example.org>\r\nSubject: after-the-deep-one\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n"
)


def smtp_send(label, s, message):
    code, _ = s.mail("sender@example.org")
    eq(f"{label} MAIL", code, 250)
    code, _ = s.rcpt(user)
    eq(f"{label} RCPT", code, 250)
    code, msg = s.data(message)
    out(f"{label} data", f"{code} {msg.decode('utf-8', 'replace')}")
    eq(f"{label} DATA", code, 250)


s = smtplib.SMTP(host, int(smtp_port), timeout=60)
eq("ehlo", s.ehlo()[0], 250)
smtp_send("deep", s, DEEP)
# The same connection, then a new one: the server is still there.
smtp_send("normal", s, NORMAL)
s.quit()
s = smtplib.SMTP(host, int(smtp_port), timeout=60)
eq("second connection noop", s.noop()[0], 250)
s.quit()

m = imaplib.IMAP4(host, int(imap_port), timeout=60)
m.login(user, password)
typ, data = m.append("INBOX", None, None, DEEP)
out("append", f"{typ} {data[0].decode('utf-8', 'replace')}")
eq("append deep", typ, "OK")
typ, data = m.select("INBOX")
eq("select", (typ, data[0]), ("OK", b"3"))

typ, data = m.fetch("3", "(RFC822.SIZE BODYSTRUCTURE)")
eq("fetch appended deep", typ, "OK")
resp = data[0] if isinstance(data[0], bytes) else data[0][0]
eq("deep size", re.search(rb"RFC822\.SIZE (\d+)", resp).group(1), str(len(DEEP)).encode())
# 32 levels of encapsulated message are followed (MAX_DEPTH); the 33rd
# message/rfc822 is a leaf shown with an empty envelope and body.
eq("deep levels", resp.count(b'("message" "rfc822" NIL NIL NIL "7bit" '), 33)
outer = re.search(rb'BODYSTRUCTURE \("message" "rfc822" NIL NIL NIL "7bit" (\d+) ', resp)
eq("deep outer octets", outer.group(1), str(len(DEEP) - len(LEVEL)).encode())
eq("deep empty leaf", resp.count(b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)'), 1)
out("deep bodystructure head", resp[:160].decode())

typ, data = m.fetch("3", "(BODY.PEEK[TEXT]<0.40>)")
eq("deep text", data[0][1], (LEVEL * 2)[:40])
typ, data = m.fetch("1", "(BODYSTRUCTURE)")
resp = data[0] if isinstance(data[0], bytes) else data[0][0]
eq("smtp deep levels", resp.count(b'("message" "rfc822" NIL NIL NIL "7bit" '), 33)

typ, data = m.search(None, "BODY", "hello")
eq("search body", (typ, data[0]), ("OK", b"2"))
typ, data = m.search(None, "TEXT", "after-the-deep-one")
eq("search text", (typ, data[0]), ("OK", b"2"))

typ, data = m.fetch("2", "(BODYSTRUCTURE)")
resp = data[0] if isinstance(data[0], bytes) else data[0][0]
eq(
    "normal bodystructure",
    resp,
    b'2 (BODYSTRUCTURE (("text" "plain" NIL NIL NIL "7bit" 5 1 NIL NIL NIL NIL) '
    b'"mixed" ("boundary" "b") NIL NIL NIL))',
)
eq("noop", m.noop()[0], "OK")
m.logout()
finish()
