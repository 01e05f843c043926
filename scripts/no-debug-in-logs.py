#!/usr/bin/env python3
"""Fails when a `tracing` macro formats a field with Rust's `Debug`.

Issue "The house": logs carry no `role=Submission`-style Debug output. A
field is `?x` / `x = ?y`, or `{:?}` / `{x:?}` in the message. Strings that
need quoting are written with `%` and an explicit escape instead.
usage: scripts/no-debug-in-logs.py  (from the repository root)
"""
import pathlib
import re
import sys

MACRO = re.compile(r"\b(?:tracing::)?(?:trace|debug|info|warn|error|event)!\s*\(")
DEBUG = re.compile(r":\?\}|\{:\?|(^|[,\s(])\?[A-Za-z_(]|=\s*\?")

bad = 0
for path in sorted(pathlib.Path(".").glob("*/src/**/*.rs")):
    if path.parts[0] in ("target", "fuzz"):
        continue
    text = path.read_text(encoding="utf-8")
    for m in MACRO.finditer(text):
        i, depth = m.end(), 1
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        body = text[m.end():i - 1]
        if DEBUG.search(body):
            line = text.count("\n", 0, m.start()) + 1
            print(f"{path}:{line}: Debug formatting in a log line: {' '.join(body.split())[:120]}")
            bad += 1
sys.exit(1 if bad else 0)
