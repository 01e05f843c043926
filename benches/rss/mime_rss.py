#!/usr/bin/env python3
"""Peak memory of the server under large-message load (issue 9 item 2).

Starts the given `sansmail` binary in a temporary directory (every listener
on port 0), samples its VmRSS from /proc/PID/status every 5 ms and reports,
per case, the RSS before the case, the peak during it, and the growth:

  deliver  N concurrent unauthenticated SMTP deliveries of S MB each
  search   N concurrent IMAP clients: SEARCH TEXT <absent word> in a
           mailbox holding one S MB text message (read and matched)
  binary   N concurrent IMAP clients: FETCH 1 BINARY.PEEK[1] of an S MB
           base64 part (decoded on the server)

usage: mime_rss.py BINARY [--size-mb 20] [--clients 10] [--cases deliver,search,binary]
Prints one `case<TAB>clients<TAB>size_mb<TAB>before_kb<TAB>peak_kb<TAB>growth_kb` line per case.
"""
import argparse
import base64
import imaplib
import os
import re
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("binary")
p.add_argument("--size-mb", type=int, default=20)
p.add_argument("--clients", type=int, default=10)
p.add_argument("--cases", default="deliver,search,binary")
args = p.parse_args()
args.binary = os.path.abspath(args.binary)

USER, PASS = "alice@localhost", "alice-secret"
tmp = tempfile.mkdtemp(prefix="sansmail-rss-")
max_size = (args.size_mb + 8) << 20
with open(os.path.join(tmp, "sansmail.toml"), "w") as f:
    f.write(f"""data_dir = "data"
hostname = "localhost"
domains = ["localhost"]
[smtp]
listen = ["127.0.0.1:0"]
listen_tls = []
[submission]
listen = []
listen_tls = []
[imap]
listen = ["127.0.0.1:0"]
listen_tls = []
[pop3]
listen = []
listen_tls = []
[auth]
plaintext = "always"
failure_delay_ms = 0
[limits]
max_message_size = {max_size}
""")
cfg = os.path.join(tmp, "sansmail.toml")
subprocess.run([args.binary, "--config", cfg, "user", "add", USER, "--password-stdin"],
               input=PASS + "\n", text=True, cwd=tmp, check=True, capture_output=True)
srv = subprocess.Popen([args.binary, "--config", cfg, "serve"], cwd=tmp,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
ports = {}
while len(ports) < 2:
    line = srv.stdout.readline()
    if not line:
        sys.exit("server exited")
    m = re.match(r"listening (\w+) 127\.0\.0\.1:(\d+)", line)
    if m:
        ports[m.group(1)] = int(m.group(2))
threading.Thread(target=lambda: [None for _ in srv.stdout], daemon=True).start()


def stop_server():
    srv.terminate()
    srv.wait(timeout=30)
    subprocess.run(["rm", "-rf", tmp])


def rss_kb():
    with open(f"/proc/{srv.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    def __init__(self):
        self.peak = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_kb())
            time.sleep(0.005)

    def __enter__(self):
        self.before = rss_kb()
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.t.join()


size = args.size_mb << 20


def text_message(tag):
    line = b"the quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
    head = f"From: <s@example.org>\r\nTo: <{USER}>\r\nSubject: {tag}\r\n\r\n".encode()
    return head + line * ((size - len(head)) // len(line))


def binary_message():
    raw = os.urandom(size * 3 // 4 // 1024 * 1024)
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return (b"From: <s@example.org>\r\nSubject: bin\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
            b"--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64 + b"--zz--\r\n")


def run_threads(fn, n):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # reported, and the case fails
            errors.append(repr(e))

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print(f"client errors: {errors[:3]}", file=sys.stderr, flush=True)
        stop_server()
        sys.exit(1)


def report(case, s):
    print(f"{case}\t{args.clients}\t{args.size_mb}\t{s.before}\t{s.peak}\t{s.peak - s.before}", flush=True)


def deliver(i, msg):
    s = smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=300)
    s.sendmail("s@example.org", [USER], msg)
    s.quit()


def imap():
    m = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=300)
    m.login(USER, PASS)
    return m


cases = args.cases.split(",")
msg = text_message("rss")
time.sleep(0.5)
if "deliver" in cases:
    with Sampler() as s:
        run_threads(lambda i: deliver(i, msg), args.clients)
    report("deliver", s)
if "search" in cases:
    m = imap()
    m.create("Text")
    typ, _ = m.append("Text", None, None, text_message("search"))
    assert typ == "OK"
    m.logout()

    def search(i):
        m = imap()
        m.select("Text", readonly=True)
        typ, data = m.search(None, "TEXT", "absent-word-xyzzy")
        assert typ == "OK" and data[0] == b"", (typ, data)
        m.logout()
    with Sampler() as s:
        run_threads(search, args.clients)
    report("search", s)
if "binary" in cases:
    m = imap()
    m.create("Bin")
    typ, _ = m.append("Bin", None, None, binary_message())
    assert typ == "OK"
    m.logout()

    def binary(i):
        m = imap()
        m.select("Bin", readonly=True)
        typ, data = m.fetch("1", "(BINARY.PEEK[1])")
        assert typ == "OK", typ
        m.logout()
    with Sampler() as s:
        run_threads(binary, args.clients)
    report("binary", s)
stop_server()
