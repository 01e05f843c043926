"""STARTTLS, AUTH PLAIN / LOGIN and implicit TLS with smtplib.

usage: smtp_submission.py HOST SUBMISSION_PORT SUBMISSIONS_PORT SMTP_PORT USER PASSWORD RCPT DIR
DIR holds sub-plain.eml, sub-login.eml, subs.eml and smtp-tls.eml.
"""
import os
import smtplib

from _util import args, call, out, read, tls_context

host, sub, subs, smtp_port, user, password, rcpt, d = args(8)
ctx = tls_context()


def send(prefix, s, sender, name):
    call(prefix + ".mail", s.mail, sender)
    call(prefix + ".rcpt", s.rcpt, rcpt)
    call(prefix + ".data", s.data, read(os.path.join(d, name)))


# Submission without AUTH: MAIL is refused (RFC 4954 §6: 530 5.7.0).
s = smtplib.SMTP(host, int(sub), timeout=60)
s.ehlo("client.sansmail.test")
out("noauth.starttls_offered", "yes" if s.has_extn("starttls") else "no")
call("noauth.mail", s.mail, user)
call("noauth.starttls", s.starttls, context=ctx)
s.ehlo("client.sansmail.test")
out("tls.starttls_offered", "yes" if s.has_extn("starttls") else "no")
out("tls.auth", " ".join(sorted(s.esmtp_features.get("auth", "").upper().split())))
s.user, s.password = user, password
call("plain.auth", s.auth, "PLAIN", s.auth_plain)
send("plain", s, user, "sub-plain.eml")
call("plain.quit", s.quit)

# AUTH LOGIN with the classic challenges (no initial response).
s = smtplib.SMTP(host, int(sub), timeout=60)
s.ehlo("client.sansmail.test")
s.starttls(context=ctx)
s.ehlo("client.sansmail.test")
s.user, s.password = user, password
call("login.auth", s.auth, "LOGIN", s.auth_login, initial_response_ok=False)
send("login", s, user, "sub-login.eml")
call("login.quit", s.quit)

# A wrong password.
s = smtplib.SMTP(host, int(sub), timeout=60)
s.ehlo("client.sansmail.test")
s.starttls(context=ctx)
s.ehlo("client.sansmail.test")
s.user, s.password = user, password + "-wrong"
call("wrong.auth", s.auth, "PLAIN", s.auth_plain)
call("wrong.mail", s.mail, user)
call("wrong.quit", s.quit)

# Implicit TLS (RFC 8314) on the submissions port.
s = smtplib.SMTP_SSL(host, int(subs), timeout=60, context=ctx)
s.ehlo("client.sansmail.test")
out("subs.starttls_offered", "yes" if s.has_extn("starttls") else "no")
s.user, s.password = user, password
call("subs.auth", s.auth, "PLAIN", s.auth_plain)
send("subs", s, user, "subs.eml")
call("subs.quit", s.quit)

# STARTTLS on the MX port, then an unauthenticated local delivery.
s = smtplib.SMTP(host, int(smtp_port), timeout=60)
s.ehlo("client.sansmail.test")
call("mx.starttls", s.starttls, context=ctx)
s.ehlo("client.sansmail.test")
send("mx", s, "sender@example.org", "smtp-tls.eml")
call("mx.quit", s.quit)
