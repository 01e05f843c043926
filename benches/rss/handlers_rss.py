#!/usr/bin/env python3
"""Peak memory of the server while the pipeline's named handlers take large
messages (issue 11: "the message is streamed to each handler").

Starts the given `sansmail` binary in a temporary directory with a route
`*@hooks.test -> [handler]`, a private `redis-server` (case `redis`) or an
in-process HTTP receiver that reads and discards each POST body and answers
200 (case `webhook`), and sends N concurrent SMTP messages of S MB each
(checks on receipt off, so `[smtp]` streams the body). It samples the
server's VmRSS from /proc/PID/status every 5 ms and reports, per case, the
RSS before, the peak during, and the growth; then it verifies that every
object arrived with the full `raw_base64` (redis: LLEN and the decoded
length of each; webhook: each body's JSON parsed and decoded).

Message kinds: `binary` = a short text part and a base64 attachment of
S MB (the usual large mail); `text` = one S MB text/plain body (the JSON's
`text` field is then S MB itself and is held in memory).

usage: handlers_rss.py BINARY [--size-mb 20] [--clients 10]
                              [--cases redis,webhook] [--kind binary|text]
Prints one `case<TAB>kind<TAB>clients<TAB>size_mb<TAB>before_kb<TAB>peak_kb<TAB>growth_kb` line per case.
"""
import argparse
import base64
import http.server
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("binary")
p.add_argument("--size-mb", type=int, default=20)
p.add_argument("--clients", type=int, default=10)
p.add_argument("--cases", default="redis,webhook")
p.add_argument("--kind", default="binary", choices=["binary", "text"])
args = p.parse_args()
args.binary = os.path.abspath(args.binary)
for tool in ["redis-server"]:
    if shutil.which(tool) is None:
        sys.exit(f"{tool} is required (scripts/ci-deps.sh)")

size = args.size_mb << 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def message(i):
    if args.kind == "text":
        line = b"the quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
        head = f"From: <s@example.org>\r\nSubject: big-{i}\r\n\r\n".encode()
        return head + line * ((size - len(head)) // len(line))
    raw = os.urandom(size * 3 // 4 // 1024 * 1024)
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return (f"From: <s@example.org>\r\nSubject: big-{i}\r\n".encode()
            + b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
            b"--zz\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
            b"--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64 + b"--zz--\r\n")


received = []  # webhook bodies' (to, decoded length)
lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = self.rfile.read(n)
        o = json.loads(body)
        with lock:
            received.append((o["to"], len(base64.b64decode(o["raw_base64"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def run_case(case, msgs):
    tmp = tempfile.mkdtemp(prefix="sansmail-hrss-")
    redis = None
    hook = None
    if case == "redis":
        rport = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", rport), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        handler = f'type = "redis"\nurl = "redis://127.0.0.1:{rport}"\nlist = "in"\n'
    else:
        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        handler = (f'type = "webhook"\nurl = "http://127.0.0.1:{hook.server_address[1]}/h"\n'
                   'secret = "s"\n')
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
listen = []
listen_tls = []
[pop3]
listen = []
listen_tls = []
[http]
listen = []
[limits]
max_message_size = {size + (16 << 20)}
[checks]
spf = false
dkim = false
dmarc = false
[[routes]]
recipient = "*@hooks.test"
to = ["h"]
[handlers.h]
{handler}""")
    cfg = os.path.join(tmp, "sansmail.toml")
    srv = subprocess.Popen([args.binary, "--config", cfg, "serve"], cwd=tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = None
    while port is None:
        line = srv.stdout.readline()
        if not line:
            sys.exit("server exited")
        m = re.match(r"listening smtp 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    threading.Thread(target=lambda: [None for _ in srv.stdout], daemon=True).start()

    def rss_kb():
        with open(f"/proc/{srv.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    peak = [0]
    stop = [False]

    def sample():
        while not stop[0]:
            peak[0] = max(peak[0], rss_kb())
            time.sleep(0.005)

    errors = []

    def send(i):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=120)
            refused = s.sendmail("s@example.org", [f"r{i}@hooks.test"], msgs[i])
            if refused:
                errors.append(repr(refused))
            s.quit()
        except Exception as e:
            errors.append(repr(e))

    before = rss_kb()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    ts = [threading.Thread(target=send, args=(i,)) for i in range(args.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if case == "webhook":
        deadline = time.time() + 120
        while len(received) < args.clients and time.time() < deadline:
            time.sleep(0.05)
    stop[0] = True
    sampler.join()
    check = []
    if case == "redis":
        check = redis_objects(rport)
    else:
        with lock:
            check = list(received)
            received.clear()
    expect = sorted((f"r{i}@hooks.test", len(msgs[i])) for i in range(args.clients))
    # The stored bytes are our Received: line plus the message.
    got = sorted(check)
    bad = [(g, e) for g, e in zip(got, expect) if g[0] != e[0] or g[1] <= e[1]]
    if len(got) != len(expect) or bad:
        errors.append(f"objects: got {[(t, n) for t, n in got]}, sent {expect}")
    srv.terminate()
    srv.wait(timeout=30)
    if redis:
        redis.terminate()
        redis.wait()
    if hook:
        hook.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    return before, peak[0], errors


def redis_objects(port):
    """LRANGE in 0 -1 over raw RESP: (to, decoded raw length) per object."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*4\r\n$6\r\nLRANGE\r\n$2\r\nin\r\n$1\r\n0\r\n$2\r\n-1\r\n")
    f = s.makefile("rb")
    head = f.readline()
    assert head.startswith(b"*"), head
    out = []
    for _ in range(int(head[1:])):
        n = int(f.readline()[1:])
        o = json.loads(f.read(n + 2)[:n])
        out.append((o["to"], len(base64.b64decode(o["raw_base64"]))))
    s.close()
    return out


msgs = [message(i) for i in range(args.clients)]
failed = False
for case in args.cases.split(","):
    before, peak, errors = run_case(case, msgs)
    print(f"{case}\t{args.kind}\t{args.clients}\t{args.size_mb}\t{before}\t{peak}\t{peak - before}")
    if errors:
        failed = True
        print(f"{case}: FAILED: {errors[:3]}", file=sys.stderr)
sys.exit(1 if failed else 0)
