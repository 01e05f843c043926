"""`[auth] plaintext = "never"`: AUTH only after STARTTLS.

usage: smtp_never.py HOST SUBMISSION_PORT
"""
import smtplib

from _util import args, call, out, tls_context

host, sub = args(2)
s = smtplib.SMTP(host, int(sub), timeout=60)
s.ehlo("client.sansmail.test")
out("pre.auth", s.esmtp_features.get("auth", "<none>").strip() or "<empty>")
out("pre.starttls", "yes" if s.has_extn("starttls") else "no")
call("pre.auth_cmd", s.docmd, "AUTH", "PLAIN")
call("starttls", s.starttls, context=tls_context())
s.ehlo("client.sansmail.test")
out("post.auth", " ".join(sorted(s.esmtp_features.get("auth", "<none>").upper().split())))
call("quit", s.quit)
