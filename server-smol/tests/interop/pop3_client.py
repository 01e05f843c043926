"""Python's poplib (a client we did not write) against sansmail's POP3.

usage: pop3_client.py MODE ARGS...

  fetch KIND HOST PORT USER PASS OUTDIR TOPLINES
      KIND is plain, stls (poplib.stls()) or ssl (POP3_SSL). Logs in with
      USER/PASS, prints STAT/LIST/UIDL, writes every message as
      OUTDIR/retr-N.eml and its TOP as OUTDIR/top-N.eml (poplib's lines
      re-joined with CRLF, each line CRLF-terminated), then NOOP and QUIT.
  dele HOST PORT USER PASS
      DELE+RSET+QUIT keeps, DELE then a dropped connection keeps,
      DELE+QUIT removes (first and last message).
  uidl HOST PORT USER PASS
      Two sessions, each printing the UIDL listing.
  inuse HOST PORT USER PASS
      A second session of the account while the first holds the maildrop.
  badpass HOST PORT USER PASS
      Wrong password, unknown user, then a retry on the same connection.
  never HOST PORT USER PASS
      `[auth] plaintext = "never"`: USER refused before STLS, fine after.

Every mode prints `label<TAB>value` lines; the Rust tests assert on them.
"""
import base64
import os
import poplib
import sys
import time

from _util import out, tls_context

TIMEOUT = 30


def text(r):
    """A server response (bytes) as text."""
    if isinstance(r, tuple):
        r = r[0]
    return r.decode("utf-8", "replace")


def attempt(fn, *a):
    """The response line of a poplib call, also when it is an -ERR."""
    try:
        return text(fn(*a))
    except poplib.error_proto as e:
        arg = e.args[0] if e.args else b""
        return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    except (OSError, EOFError) as e:
        return f"closed {type(e).__name__}"


def joined(lines):
    return b"".join(line + b"\r\n" for line in lines)


def listing(lines):
    return "|".join(line.decode("ascii", "replace") for line in lines)


def connect(kind, host, port):
    if kind == "ssl":
        return poplib.POP3_SSL(host, port, context=tls_context(), timeout=TIMEOUT)
    p = poplib.POP3(host, port, timeout=TIMEOUT)
    if kind == "stls":
        out("capa.before_stls", " ".join(sorted(p.capa())))
        out("stls", text(p.stls(tls_context())))
    return p


def login(host, port, user, password, label):
    """USER/PASS, retrying while the maildrop is still locked ([IN-USE]) by
    a session whose connection was just dropped."""
    for tries in range(100):
        p = poplib.POP3(host, port, timeout=TIMEOUT)
        p.user(user)
        try:
            p.pass_(password)
            out(f"{label}.inuse_retries", tries)
            return p
        except poplib.error_proto as e:
            if b"[IN-USE]" not in e.args[0]:
                raise
            p.close()
            time.sleep(0.1)
    sys.exit("maildrop still locked after 10 s")


def fetch(kind, host, port, user, password, outdir, toplines):
    p = connect(kind, host, port)
    out("welcome", text(p.getwelcome()))
    out("capa", " ".join(sorted(p.capa())))
    out("user", text(p.user(user)))
    out("pass", text(p.pass_(password)))
    count, size = p.stat()
    out("stat", f"{count} {size}")
    r, lines, _ = p.list()
    out("list", listing(lines))
    r, lines, _ = p.uidl()
    out("uidl", listing(lines))
    for n in range(1, count + 1):
        r, lines, _ = p.retr(n)
        out(f"retr.{n}", text(r))
        with open(os.path.join(outdir, f"retr-{n}.eml"), "wb") as f:
            f.write(joined(lines))
        r, lines, _ = p.top(n, toplines)
        out(f"top.{n}", text(r))
        with open(os.path.join(outdir, f"top-{n}.eml"), "wb") as f:
            f.write(joined(lines))
        out(f"list.{n}", text(p.list(n)))
        out(f"uidl.{n}", text(p.uidl(n)))
    out("noop", text(p.noop()))
    out("quit", text(p.quit()))


def dele(host, port, user, password):
    # 1: DELE, then RSET, then QUIT: nothing is removed.
    p = login(host, port, user, password, "s1")
    count, _ = p.stat()
    out("s1.stat", count)
    out("s1.dele", text(p.dele(1)))
    out("s1.stat_after_dele", " ".join(str(x) for x in p.stat()))
    out("s1.list_after_dele", listing(p.list()[1]))
    out("s1.retr_deleted", attempt(p.retr, 1))
    out("s1.top_deleted", attempt(p.top, 1, 0))
    out("s1.list_deleted", attempt(p.list, 1))
    out("s1.uidl_deleted", attempt(p.uidl, 1))
    out("s1.dele_again", attempt(p.dele, 1))
    out("s1.rset", text(p.rset()))
    out("s1.list_after_rset", listing(p.list()[1]))
    out("s1.quit", text(p.quit()))
    # 2: DELE, then the connection drops without QUIT: nothing is removed.
    p = login(host, port, user, password, "s2")
    out("s2.dele", text(p.dele(1)))
    p.close()
    # 3: DELE of the first and the last message, then QUIT: both go.
    p = login(host, port, user, password, "s3")
    count, _ = p.stat()
    out("s3.stat", count)
    out("s3.uidl", listing(p.uidl()[1]))
    out("s3.dele_first", text(p.dele(1)))
    out("s3.dele_last", text(p.dele(count)))
    out("s3.quit", text(p.quit()))
    # 4: what is left.
    p = login(host, port, user, password, "s4")
    out("s4.stat", p.stat()[0])
    out("s4.uidl", listing(p.uidl()[1]))
    out("s4.retr_gone", attempt(p.retr, count))
    out("s4.quit", text(p.quit()))


def uidl(host, port, user, password):
    for label in ("a", "b"):
        p = login(host, port, user, password, label)
        out(f"{label}.uidl", listing(p.uidl()[1]))
        out(f"{label}.quit", text(p.quit()))


def inuse(host, port, user, password):
    a = login(host, port, user, password, "a")
    out("a.stat", a.stat()[0])
    b = poplib.POP3(host, port, timeout=TIMEOUT)
    out("b.user", text(b.user(user)))
    out("b.pass", attempt(b.pass_, password))
    out("b.stat", attempt(b.stat))
    out("a.noop", text(a.noop()))
    out("a.quit", text(a.quit()))
    # The lock is released before the QUIT answer: no retry here.
    c = poplib.POP3(host, port, timeout=TIMEOUT)
    c.user(user)
    out("c.pass", attempt(c.pass_, password))
    out("c.stat", c.stat()[0])
    out("c.quit", text(c.quit()))
    b.close()


def badpass(host, port, user, password):
    p = poplib.POP3(host, port, timeout=TIMEOUT)
    p.user(user)
    out("wrong.pass", attempt(p.pass_, "not-" + password))
    out("wrong.stat", attempt(p.stat))
    out("retry.user", text(p.user(user)))
    out("retry.pass", attempt(p.pass_, password))
    out("retry.stat", p.stat()[0])
    out("retry.quit", text(p.quit()))
    q = poplib.POP3(host, port, timeout=TIMEOUT)
    q.user("nobody@localhost")
    out("unknown.pass", attempt(q.pass_, password))
    ir = base64.b64encode(f"\0{user}\0wrong".encode()).decode()
    out("unknown.auth_plain", attempt(q._shortcmd, "AUTH PLAIN " + ir))
    out("unknown.quit", attempt(q.quit))


def never(host, port, user, password):
    p = poplib.POP3(host, port, timeout=TIMEOUT)
    out("pre.capa", " ".join(sorted(p.capa())))
    out("pre.user", attempt(p.user, user))
    out("pre.pass", attempt(p.pass_, password))
    ir = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    out("pre.auth", attempt(p._shortcmd, "AUTH PLAIN " + ir))
    out("pre.stat", attempt(p.stat))
    out("stls", text(p.stls(tls_context())))
    out("post.capa", " ".join(sorted(p.capa())))
    out("post.user", text(p.user(user)))
    out("post.pass", text(p.pass_(password)))
    out("post.stat", p.stat()[0])
    out("post.quit", text(p.quit()))


def main():
    mode, *rest = sys.argv[1:]
    if mode == "fetch":
        kind, host, port, user, password, outdir, toplines = rest
        fetch(kind, host, int(port), user, password, outdir, int(toplines))
    else:
        host, port, user, password = rest
        {"dele": dele, "uidl": uidl, "inuse": inuse, "badpass": badpass, "never": never}[mode](
            host, int(port), user, password
        )


main()
