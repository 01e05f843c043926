"""Logs in every way a client can (SMTP AUTH PLAIN/LOGIN with and without an
initial response, IMAP LOGIN and AUTHENTICATE PLAIN, POP3 USER/PASS and AUTH
PLAIN), sends a message and reads it back, for the protocol-trace test.

usage: trace_logins.py HOST SUBMISSION_PORT IMAP_PORT POP3_PORT USER PASSWORD
Prints `label<TAB>value` lines; the message body holds TRACE-DATA-MARKER and
the APPEND literal TRACE-APPEND-MARKER.
"""
import base64
import imaplib
import poplib
import smtplib

from _util import args, call, out

host, sub, imap_port, pop_port, user, password = args(6)

# SMTP submission (plaintext is allowed from loopback).
for name, mech, ir in [("plain_ir", "PLAIN", True), ("plain", "PLAIN", False),
                       ("login_ir", "LOGIN", True), ("login", "LOGIN", False)]:
    s = smtplib.SMTP(host, int(sub), timeout=30)
    s.ehlo("client.sansmail.test")
    s.user, s.password = user, password
    fn = s.auth_plain if mech == "PLAIN" else s.auth_login
    call("smtp." + name, s.auth, mech, fn, initial_response_ok=ir)
    if name == "plain_ir":
        call("smtp.mail", s.mail, user)
        call("smtp.rcpt", s.rcpt, user)
        call("smtp.data", s.data,
             b"Subject: traced\r\n\r\nTRACE-DATA-MARKER line\r\n.leading dot\r\n")
    call("smtp." + name + ".quit", s.quit)

# IMAP LOGIN, APPEND (a literal), FETCH (a literal back).
m = imaplib.IMAP4(host, int(imap_port), timeout=30)
out("imap.login", m.login(user, password)[0])
out("imap.append", m.append("INBOX", None, None,
                            b"Subject: appended\r\n\r\nTRACE-APPEND-MARKER\r\n")[0])
out("imap.select", m.select("INBOX")[0])
typ, data = m.fetch("1", "(BODY.PEEK[])")
out("imap.fetch", typ)
out("imap.logout", m.logout()[0])

m = imaplib.IMAP4(host, int(imap_port), timeout=30)
blob = ("\0" + user + "\0" + password).encode()
out("imap.authenticate", m.authenticate("PLAIN", lambda _: blob)[0])
out("imap.logout2", m.logout()[0])

# POP3 USER/PASS and RETR, then AUTH PLAIN (RFC 5034).
p = poplib.POP3(host, int(pop_port), timeout=30)
p.user(user)
out("pop3.pass", p.pass_(password).decode().split()[0])
resp, lines, _ = p.retr(1)
out("pop3.retr", resp.decode().split()[0])
out("pop3.quit", p.quit().decode().split()[0])

p = poplib.POP3(host, int(pop_port), timeout=30)
p._putcmd("AUTH PLAIN")
out("pop3.challenge", p._getresp().decode())
out("pop3.auth", p._shortcmd(base64.b64encode(blob).decode()).decode().split()[0])
out("pop3.quit2", p.quit().decode().split()[0])
