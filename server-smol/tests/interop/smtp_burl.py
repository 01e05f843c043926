"""BURL (RFC 4468) with Python's smtplib on the submission port.

usage: smtp_burl.py HOST PORT USER PASS FROM TO URL...

Prints the EHLO BURL keyword before and after AUTH, then for each URL one
transaction (MAIL, RCPT, `BURL <url> LAST`): `burl<i>  <code> <text>`.
"""
import smtplib
import sys

from _util import out


def main():
    host, port, user, password, sender, rcpt = sys.argv[1:7]
    urls = sys.argv[7:]
    s = smtplib.SMTP(host, int(port), timeout=20)
    s.ehlo("client.example")
    out("ehlo_before", s.esmtp_features.get("burl", "absent").strip() or "(bare)")
    s.login(user, password)
    s.ehlo("client.example")
    out("ehlo_after", s.esmtp_features.get("burl", "absent").strip() or "(bare)")
    for i, url in enumerate(urls):
        code, _ = s.mail(sender)
        out(f"mail{i}", code)
        code, _ = s.rcpt(rcpt)
        out(f"rcpt{i}", code)
        code, msg = s.docmd("BURL", url + " LAST")
        out(f"burl{i}", f"{code} {msg.decode('utf-8', 'replace')}")
        if code >= 400:
            s.rset()
    s.quit()


if __name__ == "__main__":
    main()
