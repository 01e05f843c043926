"""A test HTTP receiver for webhooks and the pre-receive hook.

usage: http_receiver.py PORT_FILE OUT_DIR SECRET FAIL_FIRST

Binds 127.0.0.1:0 and writes the port to PORT_FILE once listening.
- POST /hook: verifies X-Sansmail-Signature (sha256=hex HMAC-SHA256(SECRET,
  body)) and records OUT_DIR/hook-<n>.json = {"sig_ok", "signature", "body",
  "t" (arrival, Unix seconds)};
  answers 500 to the first FAIL_FIRST posts, then 200.
- POST /check/<mode>: records OUT_DIR/check-<n>.json (the request body) and
  answers as <mode> says: accept, reject, tempfail, slow (sleeps 30 s),
  malformed (not JSON), huge (10 MB), error (HTTP 500).
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, out_dir, secret, fail_first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lock = threading.Lock()
counts = {"hook": 0, "check": 0}


def record(kind, obj):
    with lock:
        counts[kind] += 1
        n = counts[kind]
    path = os.path.join(out_dir, "%s-%04d.json" % (kind, n))
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(path + ".tmp", path)
    return n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/hook":
            sig = self.headers.get("X-Sansmail-Signature", "")
            want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            n = record("hook", {"sig_ok": hmac.compare_digest(sig, want), "signature": sig,
                                "body": body.decode("utf-8"), "t": time.time()})
            self.reply(500 if n <= fail_first else 200, b"{}")
            return
        if self.path.startswith("/check/"):
            mode = self.path[len("/check/"):]
            record("check", json.loads(body))
            if mode == "accept":
                self.reply(200, b'{"action":"accept"}')
            elif mode == "reject":
                self.reply(200, b'{"action":"reject","code":554,"text":"5.7.1 Spam detected"}')
            elif mode == "tempfail":
                self.reply(200, b'{"action":"tempfail","code":452,"text":"Greylisted, come back later"}')
            elif mode == "slow":
                time.sleep(30)
                self.reply(200, b'{"action":"accept"}')
            elif mode == "malformed":
                self.reply(200, b'{"action": accept')
            elif mode == "huge":
                self.reply(200, b'{"action":"accept","pad":"' + b" " * (10 * 1024 * 1024) + b'"}')
            else:
                self.reply(500, b"{}")
            return
        self.reply(404, b"{}")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
