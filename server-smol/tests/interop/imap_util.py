"""Shared helpers for the IMAP interop scripts (standard library only).

Every check prints `ok <name>` or `FAIL <name>: ...`; `finish()` exits
non-zero when any check failed, so the Rust test fails with the whole list.
Values the Rust side compares are printed as `label<TAB>value` lines.
"""
import re
import ssl
import sys

_fails = []
_count = 0


def out(label, value):
    print(f"{label}\t{value}", flush=True)


def eq(name, got, want):
    """Records a check: `got` must equal `want` exactly."""
    global _count
    _count += 1
    if got == want:
        print(f"ok {name}", flush=True)
    else:
        _fails.append(name)
        print(f"FAIL {name}:\n    got  {got!r}\n    want {want!r}", flush=True)


def true(name, cond, detail=""):
    global _count
    _count += 1
    if cond:
        print(f"ok {name}", flush=True)
    else:
        _fails.append(name)
        print(f"FAIL {name}: {detail}", flush=True)


def finish():
    out("checks", _count)
    out("failed", len(_fails))
    if _fails:
        print("FAILED: " + ", ".join(_fails), flush=True)
        sys.exit(1)


def tls_context():
    # The server's certificate is self-signed.
    return ssl._create_unverified_context()


def code(data, name):
    """The words of `[NAME ...]` in a tagged response's text, or None."""
    for d in data or []:
        if isinstance(d, tuple):
            d = d[0]
        if d is None:
            continue
        s = d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d)
        m = re.search(r"\[" + re.escape(name) + r"(?: ([^\]]*))?\]", s)
        if m:
            return (m.group(1) or "").split()
    return None


def literal_items(data):
    """The (prefix, literal) pairs of an imaplib FETCH answer."""
    return [d for d in data if isinstance(d, tuple)]


def plain_items(data):
    """The non-literal lines of an imaplib FETCH answer, as str."""
    return [d.decode() for d in data if isinstance(d, bytes) and d != b")"]


def msg(subject, body="line one\r\nline two\r\n", extra=""):
    """A small CRLF message with a fixed date and the given subject."""
    return (
        "From: Alice Example <alice@example.org>\r\n"
        "To: bob@localhost\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@e2e.test>\r\n"
        f"{extra}"
        "\r\n"
        f"{body}"
    ).encode()
