"""Python imaplib against sansmail's IMAP listener.

    imap_imaplib.py SCENARIO HOST IMAP_PORT IMAPS_PORT USER PASS

Scenarios: mailboxes, messages, expunge, examine, tls, never, auth.
Each check is exact; see imap_util.py for the output format.
"""
import base64
import imaplib
import re
import sys
import time

from imap_util import code, eq, finish, literal_items, msg, out, plain_items, tls_context, true

scenario, host, port, sport, user, password = sys.argv[1:7]
port, sport = int(port), int(sport)


def login():
    m = imaplib.IMAP4(host, port)
    typ, _ = m.login(user, password)
    assert typ == "OK"
    return m


def names(m, pattern="*", cmd="list"):
    """{name: attributes} of LIST or LSUB."""
    typ, data = getattr(m, cmd)('""', pattern)
    assert typ == "OK", (typ, data)
    res = {}
    for d in data:
        if d is None:
            continue
        s = d.decode()
        mo = re.match(r'\(([^)]*)\) (?:"/"|NIL) (.*)$', s)
        assert mo, s
        name = mo.group(2)
        if name.startswith('"'):
            name = name[1:-1]
        res[name] = sorted(mo.group(1).split())
    return res


def mailboxes():
    m = login()
    typ, caps = m.capability()
    capset = caps[0].decode().split()
    for c in ["IMAP4rev1", "IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "NAMESPACE",
              "LIST-EXTENDED", "ESEARCH", "CONDSTORE", "ENABLE"]:
        true(f"capability {c}", c in capset, capset)
    true("capability LITERAL+ or LITERAL-", "LITERAL+" in capset or "LITERAL-" in capset, capset)
    true("no LOGINDISABLED after login", "LOGINDISABLED" not in capset, capset)
    eq("namespace", m.namespace(), ("OK", [b'(("" "/")) NIL NIL']))

    boxes = names(m)
    eq("default mailboxes", sorted(boxes), ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"])
    for name, attr in [("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"),
                       ("Junk", "\\Junk"), ("Archive", "\\Archive")]:
        true(f"LIST {name} has {attr}", attr in boxes.get(name, []), boxes.get(name))
    true("INBOX has no special-use", not any(a in boxes["INBOX"] for a in
         ["\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"]), boxes["INBOX"])
    # RFC 6154 §5.1: LIST (SPECIAL-USE) returns only special-use mailboxes.
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
    su = sorted(d.decode().rsplit(" ", 1)[1] for d in m.untagged_responses.pop("LIST", []))
    eq("LIST (SPECIAL-USE)", (typ, su), ("OK", ["Archive", "Drafts", "Junk", "Sent", "Trash"]))

    eq("create Work", m.create("Work")[0], "OK")
    eq("create Work/Projects", m.create("Work/Projects")[0], "OK")
    eq("create Work/Projects/2024", m.create("Work/Projects/2024")[0], "OK")
    typ, data = m.create("Work")
    eq("create existing", (typ, code(data, "ALREADYEXISTS")), ("NO", []))
    boxes = names(m, "Work*")
    eq("LIST Work*", sorted(boxes), ["Work", "Work/Projects", "Work/Projects/2024"])
    true("Work \\HasChildren", "\\HasChildren" in boxes["Work"], boxes["Work"])
    true("Work/Projects/2024 \\HasNoChildren", "\\HasNoChildren" in boxes["Work/Projects/2024"],
         boxes)
    eq("LIST Work/%", sorted(names(m, "Work/%")), ["Work/Projects"])

    # A message in a child must survive the parent's rename.
    typ, data = m.append("Work/Projects", None, None, msg("in child"))
    eq("append to child", typ, "OK")
    eq("rename Work -> Job", m.rename("Work", "Job")[0], "OK")
    eq("LIST after rename", sorted(n for n in names(m) if n.startswith(("Work", "Job"))),
       ["Job", "Job/Projects", "Job/Projects/2024"])
    eq("STATUS renamed child", m.status("Job/Projects", "(MESSAGES)"),
       ("OK", [b'Job/Projects (MESSAGES 1)']))
    typ, data = m.status("Work/Projects", "(MESSAGES)")
    eq("STATUS old name", typ, "NO")
    typ, data = m.rename("Job", "Job/Projects/Inside")
    eq("rename into own child refused", typ, "NO")
    typ, data = m.rename("Nonexistent", "Other")
    eq("rename nonexistent", typ, "NO")
    typ, data = m.rename("Job", "INBOX")
    eq("rename onto INBOX refused", typ, "NO")

    eq("subscribe Job/Projects", m.subscribe("Job/Projects")[0], "OK")
    lsub = names(m, "*", "lsub")
    true("LSUB has Job/Projects", "Job/Projects" in lsub, lsub)
    true("LSUB lacks Job/Projects/2024", "Job/Projects/2024" not in lsub, lsub)
    typ, data = m._simple_command("LIST", "(SUBSCRIBED)", '""', "Job*")
    sub = [d.decode() for d in m.untagged_responses.pop("LIST", [])]
    eq("LIST (SUBSCRIBED)", len(sub), 1)
    true("LIST (SUBSCRIBED) entry", sub and sub[0].endswith("Job/Projects")
         and "\\Subscribed" in sub[0], sub)
    eq("unsubscribe", m.unsubscribe("Job/Projects")[0], "OK")
    true("LSUB after unsubscribe", "Job/Projects" not in names(m, "*", "lsub"))

    eq("delete leaf", m.delete("Job/Projects/2024")[0], "OK")
    eq("delete Job/Projects", m.delete("Job/Projects")[0], "OK")
    eq("delete Job", m.delete("Job")[0], "OK")
    eq("LIST after deletes", sorted(names(m)), ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"])
    eq("delete INBOX refused", m.delete("INBOX")[0], "NO")
    eq("delete nonexistent", m.delete("Nope")[0], "NO")
    # INBOX is case-insensitive (RFC 9051 §5.1).
    typ, data = m.select("inbox")
    eq("select inbox lowercase", typ, "OK")
    m.logout()


def norecent(data):
    """FETCH lines as str with \\Recent removed (checked on its own)."""
    return [(d.decode() if isinstance(d, bytes) else d).replace(" \\Recent", "")
            .replace("\\Recent", "") for d in data if isinstance(d, (bytes, str))]


def fetch_one(m, uid, items):
    typ, data = m.uid("FETCH", str(uid), items)
    assert typ == "OK", (typ, data)
    return data


def messages():
    m = login()
    eq("create Box", m.create("Box")[0], "OK")
    eq("create Dest", m.create("Dest")[0], "OK")
    raw = msg("hello imap")
    date = imaplib.Time2Internaldate((2023, 1, 2, 10, 0, 0, 0, 2, 0))
    t0 = time.time()
    typ, data = m.append("Box", "(\\Flagged $Custom)", '"02-Jan-2023 10:00:00 +0000"', raw)
    eq("append OK", typ, "OK")
    appenduid = code(data, "APPENDUID")
    true("APPENDUID present", appenduid is not None and len(appenduid) == 2, data)
    typ, st = m.status("Box", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    mo = re.search(rb"UIDVALIDITY (\d+)", st[0])
    uidvalidity = mo.group(1).decode() if mo else None
    eq("APPENDUID uidvalidity", appenduid[0], uidvalidity)
    eq("APPENDUID uid", appenduid[1], "1")
    eq("STATUS after append", re.sub(rb"UIDVALIDITY \d+", b"UIDVALIDITY V", st[0]),
       b'Box (MESSAGES 1 UIDNEXT 2 UIDVALIDITY V UNSEEN 1)')

    typ, data = m.select("Box")
    eq("select OK", typ, "OK")
    eq("select EXISTS", m.untagged_responses.get("EXISTS"), [b"1"])
    eq("select UIDVALIDITY", m.untagged_responses.get("UIDVALIDITY"), [uidvalidity.encode()])
    eq("select UIDNEXT", m.untagged_responses.get("UIDNEXT"), [b"2"])
    true("select READ-WRITE", "READ-WRITE" in m.untagged_responses, m.untagged_responses)

    # Date-day-fixed may be " 2" (RFC 3501 §9); \Recent is checked in "examine".
    eq("FETCH FLAGS UID INTERNALDATE RFC822.SIZE",
       norecent(plain_items(fetch_one(m, 1, "(FLAGS UID INTERNALDATE RFC822.SIZE)"))),
       ['1 (FLAGS (\\Flagged $Custom) UID 1 INTERNALDATE " 2-Jan-2023 10:00:00 +0000" '
        f'RFC822.SIZE {len(raw)})'])
    data = fetch_one(m, 1, "(BODY.PEEK[])")
    lits = literal_items(data)
    eq("BODY[] exact bytes", [l[1] for l in lits], [raw])
    eq("BODY[] prefix", [l[0] for l in lits], [f"1 (UID 1 BODY[] {{{len(raw)}}}".encode()])
    data = fetch_one(m, 1, "(ENVELOPE)")
    env_addr = '(("Alice Example" NIL "alice" "example.org"))'
    eq("ENVELOPE", plain_items(data),
       ['1 (UID 1 ENVELOPE ("Mon, 02 Jan 2023 10:00:00 +0000" "hello imap" '
        f'{env_addr} {env_addr} {env_addr} ((NIL NIL "bob" "localhost")) NIL NIL NIL '
        '"<hello-imap@e2e.test>"))'])
    data = fetch_one(m, 1, "(BODYSTRUCTURE)")
    # Strings are case-insensitive (RFC 2045 §5.1).
    eq("BODYSTRUCTURE", [s.upper() for s in plain_items(data)],
       ['1 (UID 1 BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 20 2 '
        'NIL NIL NIL NIL))'])
    data = fetch_one(m, 1, "(BODY.PEEK[HEADER.FIELDS (Subject From)])")
    eq("HEADER.FIELDS", literal_items(data),
       [(b"1 (UID 1 BODY[HEADER.FIELDS (Subject From)] {64}",
         b"From: Alice Example <alice@example.org>\r\nSubject: hello imap\r\n\r\n")])
    data = fetch_one(m, 1, "(BODY.PEEK[TEXT])")
    eq("BODY[TEXT]", [l[1] for l in literal_items(data)], [b"line one\r\nline two\r\n"])
    data = fetch_one(m, 1, "(BODY.PEEK[]<6.13>)")
    eq("partial BODY[]<6.13>", literal_items(data),
       [(b"1 (UID 1 BODY[]<6> {13}", raw[6:19])])
    data = fetch_one(m, 1, f"(BODY.PEEK[]<{len(raw) - 4}.100>)")
    eq("partial past the end", [l[1] for l in literal_items(data)], [raw[-4:]])
    # Not PEEK: sets \Seen (RFC 9051 §6.4.5).
    data = fetch_one(m, 1, "(BODY[TEXT])")
    data = fetch_one(m, 1, "(FLAGS)")
    eq("BODY[TEXT] set \\Seen", norecent(plain_items(data)),
       ["1 (UID 1 FLAGS (\\Seen \\Flagged $Custom))"])

    # STORE / UID STORE.
    typ, data = m.store("1", "+FLAGS", "(\\Answered)")
    eq("STORE +FLAGS", (typ, norecent(data)), ("OK", ["1 (FLAGS (\\Seen \\Answered \\Flagged $Custom))"]))
    typ, data = m.uid("STORE", "1", "-FLAGS.SILENT", "($Custom)")
    eq("UID STORE -FLAGS.SILENT", (typ, data), ("OK", [None]))
    typ, data = m.uid("STORE", "1", "FLAGS", "(\\Draft)")
    eq("UID STORE FLAGS", (typ, norecent(data)), ("OK", ["1 (UID 1 FLAGS (\\Draft))"]))

    # Five more messages with distinct sizes for SEARCH.
    for i in range(2, 7):
        typ, data = m.append("Box", "(\\Seen)" if i % 2 == 0 else None, None,
                             msg(f"msg {i}", body="x" * (i * 100) + "\r\n"))
        eq(f"append {i}", (typ, code(data, "APPENDUID")), ("OK", [uidvalidity, str(i)]))
    m.noop()
    typ, data = m.uid("SEARCH", None, "ALL")
    eq("UID SEARCH ALL", (typ, data), ("OK", [b"1 2 3 4 5 6"]))
    typ, data = m.uid("SEARCH", None, "UNSEEN", "LARGER", "400", "NOT", "DRAFT")
    eq("UID SEARCH UNSEEN LARGER 400 NOT DRAFT", (typ, data), ("OK", [b"3 5"]))
    typ, data = m.uid("SEARCH", None, "OR", "SUBJECT", '"msg 4"', "FLAGGED", "SINCE", "1-Jan-2020")
    eq("UID SEARCH OR SUBJECT FLAGGED SINCE", (typ, data), ("OK", [b"4"]))
    typ, data = m.uid("SEARCH", None, "FROM", "alice", "BODY", "xxxxx", "UID", "2:5", "SEEN")
    eq("UID SEARCH FROM BODY UID SEEN", (typ, data), ("OK", [b"2 4"]))
    # RFC 3501 §6.4.4: the string is searched in the field's text after the
    # colon, angle brackets included (Thunderbird looks messages up this way).
    typ, data = m.uid("SEARCH", None, "HEADER", "Message-ID", "<msg-6@e2e.test>")
    eq("UID SEARCH HEADER Message-ID <id>", (typ, data), ("OK", [b"6"]))
    typ, data = m.search(None, "SMALLER", str(len(msg("msg 2", body="x" * 200 + "\r\n")) + 1))
    eq("SEARCH SMALLER size(2)+1", (typ, data), ("OK", [b"1 2"]))
    typ, data = m.uid("SEARCH", None, "HEADER", "Message-ID", "msg-6@e2e")
    eq("UID SEARCH HEADER substring", (typ, data), ("OK", [b"6"]))

    # COPY / UID COPY with COPYUID.
    typ, data = m.status("Dest", "(UIDVALIDITY)")
    dest_validity = re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1).decode()
    typ, data = m.copy("2:3", "Dest")
    eq("COPY 2:3 COPYUID", (typ, code(data, "COPYUID")), ("OK", [dest_validity, "2:3", "1:2"]))
    typ, data = m._simple_command("UID", "COPY", "6,4", "Dest")
    eq("UID COPY 6,4 COPYUID", (typ, code(data, "COPYUID")), ("OK", [dest_validity, "4,6", "3:4"]))
    typ, data = m.copy("1", "Nowhere")
    eq("COPY to missing mailbox", (typ, code(data, "TRYCREATE")), ("NO", []))
    # MOVE: source loses the message (EXPUNGE), target gets it (COPYUID).
    m.untagged_responses.pop("COPYUID", None)  # imaplib keeps the tagged codes there too
    typ, data = m._simple_command("UID", "MOVE", "5", "Dest")
    # RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGE.
    eq("UID MOVE 5 COPYUID", (typ, m.untagged_responses.pop("COPYUID", None)),
       ("OK", [f"{dest_validity} 5 5".encode()]))
    eq("UID MOVE EXPUNGE", m.untagged_responses.pop("EXPUNGE", None), [b"5"])
    typ, data = m.uid("SEARCH", None, "ALL")
    eq("UID SEARCH after MOVE", data, [b"1 2 3 4 6"])

    # The copies carry the same bytes and flags.
    typ, data = m.select("Dest", readonly=True)
    eq("EXAMINE Dest EXISTS", m.untagged_responses.get("EXISTS"), [b"5"])
    typ, data = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE)")
    # RFC 3501 §6.4.7: "the Recent flag SHOULD be set, in the copy"; the
    # copies, flagged or not, are still \Recent under EXAMINE (§6.3.2:
    # EXAMINE MUST NOT make messages lose \Recent).
    eq("Dest FLAGS", sorted(plain_items(data)), [
        "1 (UID 1 FLAGS (\\Seen \\Recent) RFC822.SIZE %d)" % len(msg("msg 2", body="x" * 200 + "\r\n")),
        "2 (UID 2 FLAGS (\\Recent) RFC822.SIZE %d)" % len(msg("msg 3", body="x" * 300 + "\r\n")),
        "3 (UID 3 FLAGS (\\Seen \\Recent) RFC822.SIZE %d)" % len(msg("msg 4", body="x" * 400 + "\r\n")),
        "4 (UID 4 FLAGS (\\Seen \\Recent) RFC822.SIZE %d)" % len(msg("msg 6", body="x" * 600 + "\r\n")),
        "5 (UID 5 FLAGS (\\Recent) RFC822.SIZE %d)" % len(msg("msg 5", body="x" * 500 + "\r\n")),
    ])
    data = fetch_one(m, 5, "(BODY.PEEK[])")
    eq("moved message bytes", [l[1] for l in literal_items(data)],
       [msg("msg 5", body="x" * 500 + "\r\n")])
    eq("STATUS Box", m.status("Box", "(MESSAGES UNSEEN)"), ("OK", [b'Box (MESSAGES 5 UNSEEN 2)']))
    m.logout()


def expunge():
    m = login()
    m.create("Exp")
    for i in range(1, 7):
        m.append("Exp", None, None, msg(f"exp {i}"))
    m.select("Exp")
    typ, data = m.store("2,3,5", "+FLAGS.SILENT", "(\\Deleted)")
    eq("STORE \\Deleted", typ, "OK")
    typ, data = m.expunge()
    eq("EXPUNGE 2,3,5 of 6", (typ, data), ("OK", [b"2", b"2", b"3"]))
    typ, data = m.uid("SEARCH", None, "ALL")
    eq("UIDs left", data, [b"1 4 6"])
    typ, data = m.fetch("1:*", "(UID)")
    eq("sequence numbers after EXPUNGE", data, [b"1 (UID 1)", b"2 (UID 4)", b"3 (UID 6)"])
    # UID EXPUNGE only touches the given UIDs (RFC 4315 §2.1).
    m.store("1:3", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = m.uid("EXPUNGE", "4:6")
    eq("UID EXPUNGE 4:6", (typ, m.untagged_responses.pop("EXPUNGE", None)), ("OK", [b"2", b"2"]))
    typ, data = m.fetch("1:*", "(UID FLAGS)")
    eq("after UID EXPUNGE", norecent(data), ["1 (UID 1 FLAGS (\\Deleted))"])
    # CLOSE expunges silently.
    eq("CLOSE", m.close()[0], "OK")
    eq("STATUS after CLOSE", m.status("Exp", "(MESSAGES UIDNEXT)"),
       ("OK", [b'Exp (MESSAGES 0 UIDNEXT 7)']))
    m.logout()


def examine():
    m = login()
    m.create("Ro")
    m.append("Ro", None, None, msg("ro 1"))
    # RFC 3501 §6.3.11: "In either case, the Recent flag is also set."
    eq("STATUS RECENT after APPEND", m.status("Ro", "(MESSAGES RECENT)"),
       ("OK", [b"Ro (MESSAGES 1 RECENT 1)"]))
    typ, data = m.select("Ro", readonly=True)
    true("EXAMINE READ-ONLY", "READ-ONLY" in m.untagged_responses, m.untagged_responses)
    eq("EXAMINE RECENT", m.untagged_responses.get("RECENT"), [b"1"])
    typ, data = m.store("1", "+FLAGS", "(\\Seen)")
    eq("STORE in EXAMINE", typ, "NO")
    typ, data = m.fetch("1", "(BODY[TEXT])")
    eq("EXAMINE FETCH FLAGS shows \\Recent", m.fetch("1", "(FLAGS)")[1], [b"1 (FLAGS (\\Recent))"])
    eq("FETCH BODY[] in EXAMINE, \\Recent aside", norecent(m.fetch("1", "(FLAGS)")[1]), ["1 (FLAGS ())"])
    typ, data = m.expunge()
    eq("EXPUNGE in EXAMINE", typ, "NO")
    typ, data = m.uid("MOVE", "1", "INBOX")
    eq("MOVE in EXAMINE", typ, "NO")
    typ, data = m.copy("1", "INBOX")
    eq("COPY from EXAMINE", typ, "OK")
    m.logout()


def auth():
    m = imaplib.IMAP4(host, port)
    typ, data = m.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
    eq("AUTHENTICATE PLAIN", typ, "OK")
    eq("authenticated state", m.state, "AUTH")
    m.logout()
    m = imaplib.IMAP4(host, port)
    try:
        m.authenticate("PLAIN", lambda _: f"\0{user}\0wrong".encode())
        ok = False
    except imaplib.IMAP4.error as e:
        ok = "AUTHENTICATIONFAILED" in str(e)
        detail = str(e)
    true("AUTHENTICATE PLAIN wrong password", ok)
    try:
        m.login(user, "wrong")
        ok = False
    except imaplib.IMAP4.error as e:
        ok = "AUTHENTICATIONFAILED" in str(e)
    true("LOGIN wrong password", ok)
    eq("LOGIN after failures", m.login(user, password)[0], "OK")
    m.logout()


def tls():
    m = imaplib.IMAP4(host, port)
    caps = m.capabilities
    true("STARTTLS advertised", "STARTTLS" in caps, caps)
    eq("STARTTLS", m.starttls(ssl_context=tls_context())[0], "OK")
    true("STARTTLS not advertised after", "STARTTLS" not in m.capabilities, m.capabilities)
    eq("LOGIN over STARTTLS", m.login(user, password)[0], "OK")
    eq("select over STARTTLS", m.select("INBOX")[0], "OK")
    m.logout()
    m = imaplib.IMAP4_SSL(host, sport, ssl_context=tls_context())
    true("no STARTTLS on imaps", "STARTTLS" not in m.capabilities, m.capabilities)
    eq("LOGIN over imaps", m.login(user, password)[0], "OK")
    raw = msg("over tls")
    typ, data = m.append("INBOX", None, None, raw)
    uid = code(data, "APPENDUID")[1]
    m.select("INBOX")
    typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
    eq("BODY[] over imaps", [l[1] for l in literal_items(data)], [raw])
    m.logout()


def never():
    m = imaplib.IMAP4(host, port)
    caps = m.capabilities
    true("LOGINDISABLED before STARTTLS", "LOGINDISABLED" in caps, caps)
    true("STARTTLS offered", "STARTTLS" in caps, caps)
    true("no AUTH=PLAIN before STARTTLS", "AUTH=PLAIN" not in caps, caps)
    tag = m._new_tag()
    m.send(tag + b" LOGIN " + user.encode() + b" " + imaplib.IMAP4._quote(m, password).encode()
           + b"\r\n")
    line = m._get_line()
    true("LOGIN NO has PRIVACYREQUIRED", line.startswith(tag + b" NO [PRIVACYREQUIRED]"), line)
    tag = m._new_tag()
    m.send(tag + b" AUTHENTICATE PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode())
           + b"\r\n")
    line = m._get_line()
    true("AUTHENTICATE before STARTTLS", line.startswith(tag + b" NO [PRIVACYREQUIRED]"), line)
    eq("STARTTLS", m.starttls(ssl_context=tls_context())[0], "OK")
    true("no LOGINDISABLED after STARTTLS", "LOGINDISABLED" not in m.capabilities, m.capabilities)
    eq("LOGIN after STARTTLS", m.login(user, password)[0], "OK")
    m.logout()
    m = imaplib.IMAP4_SSL(host, sport, ssl_context=tls_context())
    eq("LOGIN over imaps with plaintext=never", m.login(user, password)[0], "OK")
    m.logout()


{"mailboxes": mailboxes, "messages": messages, "expunge": expunge, "examine": examine,
 "auth": auth, "tls": tls, "never": never}[scenario]()
finish()
