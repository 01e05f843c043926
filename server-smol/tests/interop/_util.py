"""Shared helpers for the interop client scripts (standard library only).

Every script prints `label<TAB>value` lines; the Rust tests assert on them.
"""
import smtplib
import ssl
import sys


def out(label, value):
    print(f"{label}\t{value}", flush=True)


def reply(label, r):
    """Prints `code first-word-of-text` for an smtplib (code, msg) pair."""
    code, msg = r
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    words = (msg or "").split()
    out(label, f"{code} {words[0] if words else ''}".rstrip())


def call(label, fn, *args, **kw):
    """Runs an smtplib call and reports its reply, also when it raises."""
    try:
        r = fn(*args, **kw)
    except smtplib.SMTPResponseException as e:
        r = (e.smtp_code, e.smtp_error)
    except smtplib.SMTPServerDisconnected as e:
        out(label, f"disconnected {e}")
        return None
    reply(label, r)
    return r


def tls_context():
    # The server's certificate is self-signed.
    return ssl._create_unverified_context()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def args(n):
    if len(sys.argv) != n + 1:
        sys.exit(f"usage: {sys.argv[0]} with {n} arguments")
    return sys.argv[1:]
