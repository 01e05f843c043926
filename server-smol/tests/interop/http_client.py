#!/usr/bin/env python3
"""HTTP API checks with Python's urllib (and smtplib to deliver).

Usage:
  http_client.py longpoll BASE SMTP_HOST SMTP_PORT
  http_client.py sse BASE SMTP_HOST SMTP_PORT COUNT
  http_client.py metrics BASE
  http_client.py openapi BASE

BASE is http://host:port; the API token, if any, comes from $SANSMAIL_TOKEN.
Prints `label<TAB>value` lines for the Rust test to assert on; exits
non-zero on any failure.
"""

import json
import os
import smtplib
import sys
import threading
import time
import urllib.error
import urllib.request

TOKEN = os.environ.get("SANSMAIL_TOKEN", "")


def out(label, value):
    print(f"{label}\t{value}", flush=True)


def request(base, method, path, body=None, content_type=None, timeout=30):
    req = urllib.request.Request(base + path, data=body, method=method)
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def send(host, port, subject):
    msg = f"From: py@example.test\r\nTo: alice@localhost\r\nSubject: {subject}\r\n\r\nbody\r\n"
    with smtplib.SMTP(host, int(port), timeout=20) as s:
        s.sendmail("py@example.test", ["alice@localhost"], msg)
    return time.monotonic()


def longpoll(base, host, port):
    # Nothing arrives: the answer comes after `wait` seconds with total 0.
    t0 = time.monotonic()
    status, body, _ = request(base, "GET", "/api/v1/messages?wait=1&user=alice%40localhost")
    elapsed = time.monotonic() - t0
    out("empty_status", status)
    out("empty_total", json.loads(body)["total"])
    out("empty_elapsed_ms", int(elapsed * 1000))

    # A delivery ends the wait at once.
    answer = {}

    def poll():
        s, b, _ = request(base, "GET", "/api/v1/messages?wait=10&count=1&subject=longpoll")
        answer["at"] = time.monotonic()
        answer["status"] = s
        answer["body"] = json.loads(b)

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)  # let the request reach the server and wait
    sent_at = send(host, port, "longpoll one")
    t.join(15)
    out("poll_status", answer["status"])
    out("poll_total", answer["body"]["total"])
    out("poll_subject", answer["body"]["messages"][0]["subject"])
    out("poll_latency_ms", int((answer["at"] - sent_at) * 1000))

    # count=2 holds until the second matching message.
    answer.clear()
    t = threading.Thread(
        target=lambda: answer.update(
            zip(("status", "body", "h"), request(base, "GET", "/api/v1/messages?wait=10&count=3&subject=longpoll"))
        )
    )
    t0 = time.monotonic()
    t.start()
    time.sleep(0.3)
    out("count_waiting", int(t.is_alive()))
    send(host, port, "longpoll two")
    time.sleep(0.3)
    out("count_still_waiting", int(t.is_alive()))
    sent_at = send(host, port, "longpoll three")
    t.join(15)
    out("count_total", json.loads(answer["body"])["total"])
    out("count_elapsed_ok", int(time.monotonic() - t0 < 5))


def sse(base, host, port, count):
    count = int(count)
    req = urllib.request.Request(base + "/api/v1/events")
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    r = urllib.request.urlopen(req, timeout=20)
    out("sse_status", r.status)
    out("sse_content_type", r.headers.get("Content-Type"))
    subjects = []

    def read_events():
        event = None
        for raw in r:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: ") and event == "message":
                subjects.append(json.loads(line[len("data: "):])["subject"])
                if len(subjects) == count:
                    return

    t = threading.Thread(target=read_events, daemon=True)
    t.start()
    time.sleep(0.3)
    for i in range(count):
        send(host, port, f"sse {i}")
    t.join(15)
    out("sse_events", len(subjects))
    out("sse_subjects", ",".join(subjects))


def metrics(base):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
    from prometheus_client.parser import text_string_to_metric_families as prom_parse

    status, body, headers = request(base, "GET", "/metrics")
    text = body.decode("utf-8")
    out("metrics_status", status)
    # Both the Prometheus text parser and the stricter OpenMetrics one.
    prom = list(prom_parse(text))
    om = list(om_parse(text))
    out("om_families", len(om))
    for fam in prom:
        for s in fam.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out(f"{s.name}{{{labels}}}", s.value)


def openapi(base):
    from openapi_spec_validator import validate

    status, body, _ = request(base, "GET", "/openapi.json")
    doc = json.loads(body)
    validate(doc)
    out("openapi_valid", 1)
    routes = []
    for path, item in doc["paths"].items():
        for method in item:
            routes.append(f"{method.upper()} {path}")
            concrete = path.replace("{id}", "bm9uZQ").replace("{part}", "1").replace("{address}", "ghost%40localhost")
            if path == "/api/v1/events":
                continue  # a stream; served is checked by the sse test
            if path == "/api/v1/reset":
                continue  # would wipe the accounts the other checks use
            body = b"{}" if method in ("post",) else None
            st, b, _ = request(base, method.upper(), concrete, body, "application/json")
            served = st != 405 and not (st == 404 and json.loads(b or b"{}").get("error") == "not found")
            out(f"served {method.upper()} {path}", int(served))
    out("routes", "|".join(sorted(routes)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"longpoll": longpoll, "sse": sse, "metrics": metrics, "openapi": openapi}[cmd](*args)


if __name__ == "__main__":
    main()
