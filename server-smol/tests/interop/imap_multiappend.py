"""Python imaplib against sansmail: MULTIAPPEND (RFC 3502) and CATENATE
(RFC 4469). imaplib sends one literal per command, so these APPENDs go
out through its connection as raw protocol (`send`, `readline`, its own
tag and tagged-response reader); everything else is plain imaplib.

    imap_multiappend.py HOST IMAP_PORT USER PASS
"""
import imaplib
import sys

from imap_util import eq, finish, out, true

host, port, user, password = sys.argv[1:5]


def raw(m, pieces):
    """Sends one command in pieces, waiting for `+` after each
    synchronising literal announcement; returns (typ, text) of the tagged
    response."""
    tag = m._new_tag()
    m.tagged_commands[tag] = None
    for i, p in enumerate(pieces):
        if i == 0:
            p = tag + b" " + p
        m.send(p)
        if p.endswith(b"}\r\n") and not p.endswith(b"+}\r\n"):
            line = m.readline()
            if not line.startswith(b"+"):
                # A tagged refusal instead of the continuation.
                return line.split(b" ", 2)[1].decode(), line.split(b" ", 2)[2].strip().decode()
    typ, data = m._get_tagged_response(tag)
    return typ, data[-1].decode() if data else ""


def lit(n, sync=True):
    return b"{%d}\r\n" % n if sync else b"{%d+}\r\n" % n


# Bounded: a server that never answers fails the check instead of hanging.
m = imaplib.IMAP4(host, int(port), timeout=10)
m.login(user, password)
typ, caps = m.capability()
words = caps[0].decode().split()
true("capability MULTIAPPEND", "MULTIAPPEND" in words, caps)
true("capability CATENATE", "CATENATE" in words, caps)
m.create("Batch")
typ, data = m.select("Batch")
validity = m.untagged_responses.get("UIDVALIDITY", [b"?"])[-1].decode()

m1 = b"Subject: one\r\n\r\nfirst\r\n"
m2 = b"Subject: two\r\n\r\nsecond\r\n"
m3 = b"Subject: three\r\n\r\nthird\r\n"
typ, text = raw(
    m,
    [b"APPEND Batch (\\Seen) " + lit(len(m1)), m1,
     b" " + lit(len(m2)), m2,
     b" " + lit(len(m3), sync=False), m3, b"\r\n"],
)
eq("multiappend", (typ, text), ("OK", "[APPENDUID %s 1:3] APPEND completed" % validity))
typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
bodies = [d[1] for d in data if isinstance(d, tuple)]
eq("multiappend bodies", bodies, [m1, m2, m3])

# A malformed second message (a flag list in a flag list: BAD) stores
# nothing; its literal is never asked for.
typ, text = raw(m, [b"APPEND Batch " + lit(len(m1)), m1, b" ((x)) {3}\r\n"])
eq("bad second message", typ, "BAD")
typ, data = m.status("Batch", "(MESSAGES)")
eq("nothing stored", data[0], b"Batch (MESSAGES 3)")

# CATENATE: a header from message 1, a text part, the body of message 2.
t = b"X-Note: catenated\r\n\r\n"
typ, text = raw(
    m,
    [b'APPEND Batch CATENATE (URL "/Batch;UIDVALIDITY=' + validity.encode()
     + b'/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)" TEXT ' + lit(len(t)), t,
     b' URL "/Batch/;UID=2/;SECTION=TEXT")\r\n'],
)
eq("catenate", (typ, text), ("OK", "[APPENDUID %s 4] APPEND completed" % validity))
typ, data = m.uid("FETCH", "4", "(BODY.PEEK[])")
eq("catenate body", data[0][1], b"Subject: one\r\n\r\n" + t + b"second\r\n")
typ, text = raw(m, [b'APPEND Batch CATENATE (URL "/Batch/;UID=99")\r\n'])
eq("badurl", (typ, text), ("NO", "[BADURL /Batch/;UID=99] No such message"))
m.logout()
finish()
