#!/usr/bin/env python3
"""Server time per IMAP command, from sansmail's protocol trace.

    SANSMAIL_LOG=info,sansmail::trace=debug sansmail serve ... 2> LOG
    (drive it: imaptest, imapload, a client)
    benches/imap-trace-times.py LOG

The trace (server-smol/src/trace) logs every command line the session
took (`C: tag CMD ...`) and every reply line it wrote (`S: tag OK ...`)
with a microsecond timestamp. A session runs one command at a time, so a
command's *service* time is from when it was taken, or when the previous
tagged reply on that connection went out if it was pipelined behind
another, to its own tagged reply: what the server spent on it, waits for
locks, commits and fsyncs included, but not the time it queued behind the
same client's earlier commands (`latency` includes that). `share` is each
command's part of the summed service time: where a workload's time goes.
The trace itself costs CPU (one log line per line), so compare commands
with each other, not these times with untraced runs.
"""
import collections
import re
import sys

LINE = re.compile(r"^\S*?(\d\d):(\d\d):(\d\d\.\d+)Z\s+DEBUG imap (\S+) ([CS]): (\S+) ?(\S*) ?(\S*)")


def main(path):
    pending = collections.defaultdict(dict)  # connection -> tag -> (time, command)
    last_reply = {}
    service = collections.defaultdict(list)
    latency = collections.defaultdict(list)
    with open(path, "rb") as f:
        for raw in f:
            m = LINE.match(raw.replace(b"\0", b"").decode("utf-8", "replace"))
            if not m:
                continue
            h, mi, s, conn, side, tag, word, word2 = m.groups()
            t = int(h) * 3600 + int(mi) * 60 + float(s)
            if tag in ("*", "+") or tag.startswith("<"):  # untagged, continuation, literal sizes
                continue
            if side == "C":
                word = word.upper()
                if word == "UID":
                    word = "UID " + word2.upper()
                pending[conn][tag] = (t, word)
            elif tag in pending[conn]:
                taken, command = pending[conn].pop(tag)
                start = max(taken, last_reply.get(conn, 0.0))
                service[command].append(t - start)
                latency[command].append(t - taken)
                last_reply[conn] = t
    total = sum(sum(v) for v in service.values()) or 1.0
    print(f"{'command':12} {'n':>7} {'p50 ms':>8} {'p90 ms':>8} {'mean ms':>8} {'latency':>8} {'share':>6}")
    for command, v in sorted(service.items(), key=lambda kv: -sum(kv[1])):
        s = sorted(v)
        print(f"{command:12} {len(s):7} {1e3 * s[len(s) // 2]:8.3f} {1e3 * s[len(s) * 9 // 10]:8.3f} "
              f"{1e3 * sum(s) / len(s):8.3f} {1e3 * sum(latency[command]) / len(s):8.3f} "
              f"{100 * sum(s) / total:5.1f}%")
    print(f"summed service time {total:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
