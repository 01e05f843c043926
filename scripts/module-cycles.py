#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

Usage: module-cycles.py CRATE_SRC_DIR...
       module-cycles.py --self-test   (the check finds a planted circle)

Builds each crate's module graph from its source: an edge a -> b for every
path into b that a names (`use crate::b::..`, `super::b`, `self::b`, a bare
`b::..` for a child module b, and `crate::b` in code), ignoring comments and
`#[cfg(test)] mod tests`. A child naming one of its ancestors (`super::Type`
in a file that splits the parent's `impl`) is the usual Rust layout and is
not counted; every other circle is: siblings and cousins must form a
layered graph, with shared types moved down a level (issue 10, "the
house"). Prints each circle (strongly connected component) with its edges
and exits 1 if there is any.
"""
import os
import re
import sys
from collections import defaultdict


def modules(src):
    """Module path (tuple) -> file, for every .rs file under src."""
    mods = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            p = os.path.join(root, f)
            rel = os.path.relpath(p, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            mods[tuple(rel)] = p
    return mods


def strip(text):
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # string literals (no escapes of quotes inside matter here)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


PATH = re.compile(r"(?<![\w:])(\w+)((?:::(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\w+))+)")


def expand(segs):
    """Expands a `{a, b::c}` group at the end of a path."""
    if segs and segs[-1].startswith("{"):
        out = []
        for item in split_top(segs[-1][1:-1]):
            item = item.strip()
            if not item:
                continue
            out.extend(expand(segs[:-1] + re.findall(r"\{.*\}|\w+", item)))
        return out
    return [segs]


def split_top(s):
    depth, cur, out = 0, "", []
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def graph(mods):
    edges = defaultdict(set)
    for m, p in mods.items():
        is_dir = os.path.basename(p) in ("mod.rs", "lib.rs", "main.rs")
        own = m if is_dir else m  # a file module's own path is m either way
        children = {c[-1] for c in mods if len(c) == len(m) + 1 and c[: len(m)] == m}
        text = strip(open(p, encoding="utf-8").read())
        for hit in PATH.finditer(text):
            head = hit.group(1)
            segs = [head] + re.findall(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\w+", hit.group(2))
            for path in expand(segs):
                if path[0] == "crate":
                    base, rest = (), path[1:]
                elif path[0] in ("super", "self"):
                    base, i = own, 0
                    while i < len(path) and path[i] in ("super", "self"):
                        if path[i] == "super":
                            base = base[:-1]
                        i += 1
                    rest = path[i:]
                elif head in children:
                    base, rest = m, path
                else:
                    continue
                target = base + tuple(rest)
                while target and target not in mods:
                    target = target[:-1]
                if target not in mods or target == m:
                    continue
                if m[: len(target)] == target:  # an ancestor
                    continue
                edges[m].add(target)
    return edges


def cycles(mods, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(mods):
        if v not in index:
            visit(v)
    return out


def self_test():
    """Plants a sibling circle (a <-> b), a child naming its parent and a
    circle named only in a comment; exactly the first must be found."""
    import tempfile

    with tempfile.TemporaryDirectory() as src:
        files = {
            "lib.rs": "mod a;\nmod b;\nmod c;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "use super::a::A;\npub struct B;\n",
            "c/mod.rs": "mod d;\nuse d::D;\n// use crate::a::A;\n",
            "c/d.rs": "use super::Thing;\npub struct D;\n",
        }
        for name, text in files.items():
            path = os.path.join(src, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        mods = modules(src)
        found = cycles(mods, graph(mods))
    assert found == [[("a",), ("b",)]], found
    print("self-test: the planted circle a <-> b is found, nothing else")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return
    bad = 0
    for src in sys.argv[1:]:
        mods = modules(src)
        edges = graph(mods)
        found = cycles(mods, edges)
        name = lambda m: "::".join(m) or "crate"
        for comp in found:
            bad += 1
            members = set(comp)
            print(f"{src}: circle of {len(comp)} modules:")
            for m in comp:
                print(f"  {name(m)} -> {', '.join(sorted(name(t) for t in edges[m] & members))}")
        print(f"{src}: {len(mods)} modules, {len(found)} circles")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
