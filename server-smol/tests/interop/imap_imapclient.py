"""A realistic imapclient (pip) session against sansmail.

    imap_imapclient.py HOST IMAP_PORT IMAPS_PORT SMTP_PORT USER PASS

Prints `SKIP: imapclient not installed` and exits 0 without the package.
"""
import smtplib
import sys
import time

try:
    import imapclient
except ImportError:
    print("SKIP: imapclient not installed")
    print("checks\t0\nfailed\t0\nskipped\t1")
    sys.exit(0)

from imapclient.imapclient import FLAGGED, SEEN, SENT, TRASH

from imap_util import eq, finish, msg, out, tls_context, true

host, port, sport, smtp_port, user, password = sys.argv[1:7]

c = imapclient.IMAPClient(host, port=int(port), ssl=False, timeout=20)
c.starttls(ssl_context=tls_context())
c.login(user, password)
caps = c.capabilities()
true("IDLE capability", b"IDLE" in caps, caps)
folders = {name: set(flags) for flags, _, name in c.list_folders()}
eq("folders", sorted(folders), ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"])
eq("find_special_folder Sent", c.find_special_folder(SENT), "Sent")
eq("find_special_folder Trash", c.find_special_folder(TRASH), "Trash")

raw1 = msg("client one")
raw2 = msg("client two", body="second body\r\n")
r1 = c.append("INBOX", raw1, flags=[SEEN])
r2 = c.append("INBOX", raw2)
true("append result mentions APPENDUID", b"APPENDUID" in r1, r1)
info = c.select_folder("INBOX")
eq("select EXISTS", info[b"EXISTS"], 2)
eq("select UIDNEXT", info[b"UIDNEXT"], 3)
true("select READ-WRITE", info.get(b"READ-WRITE") is True, info)
eq("search UNSEEN", c.search(["UNSEEN"]), [2])
eq("search SUBJECT", c.search(["SUBJECT", "client one"]), [1])
eq("search ALL", c.search("ALL"), [1, 2])
data = c.fetch([1, 2], ["FLAGS", "RFC822.SIZE", "BODY.PEEK[]", "ENVELOPE"])
eq("fetch keys", sorted(data), [1, 2])
# Both APPENDs are \Recent for this first IMAP4rev1 session (RFC 3501
# §6.3.11 and §2.3.2), the \Seen one too.
eq("flags 1", data[1][b"FLAGS"], (b"\\Seen", b"\\Recent"))
eq("flags 2", data[2][b"FLAGS"], (b"\\Recent",))
eq("size 1", data[1][b"RFC822.SIZE"], len(raw1))
eq("body 1", data[1][b"BODY[]"], raw1)
eq("body 2", data[2][b"BODY[]"], raw2)
eq("envelope subject", data[2][b"ENVELOPE"].subject, b"client two")
eq("envelope from", [(a.name, a.mailbox, a.host) for a in data[2][b"ENVELOPE"].from_],
   [(b"Alice Example", b"alice", b"example.org")])
eq("add_flags", c.add_flags([2], [FLAGGED]), {2: (b"\\Flagged", b"\\Recent")})
eq("search FLAGGED", c.search(["FLAGGED"]), [2])

# IDLE: a message delivered by SMTP is announced with EXISTS.
c.idle()
s = smtplib.SMTP(host, int(smtp_port), timeout=20)
s.sendmail("sender@example.org", [user], msg("via smtp during idle"))
s.quit()
sent_at = time.monotonic()
got = []
deadline = sent_at + 5
while time.monotonic() < deadline and (3, b"EXISTS") not in got:
    got.extend(c.idle_check(timeout=1))
waited = time.monotonic() - sent_at
c.idle_done()
true("IDLE EXISTS 3", (3, b"EXISTS") in got, got)
true("IDLE EXISTS within a second", waited < 1.0, waited)
eq("search after idle", c.search(["SUBJECT", "via smtp during idle"]), [3])

# Move to Archive and delete the rest, the way a mail client would.
c.move([1], "Archive")
eq("search after move", c.search("ALL"), [2, 3])
c.delete_messages([2])
resp = c.expunge()
# UID 2 is sequence number 1 once UID 1 has moved away.
eq("expunge responses", resp[1], [(1, b"EXPUNGE")])
eq("search after expunge", c.search("ALL"), [3])
eq("folder_status Archive", c.folder_status("Archive", ["MESSAGES", "UIDNEXT"]),
   {b"MESSAGES": 1, b"UIDNEXT": 2})
c.logout()

# imaps
c = imapclient.IMAPClient(host, port=int(sport), ssl=True, ssl_context=tls_context(), timeout=20)
c.login(user, password)
c.select_folder("Archive", readonly=True)
eq("imaps fetch moved body", c.fetch([1], ["BODY.PEEK[]"])[1][b"BODY[]"], raw1)
c.logout()
finish()
