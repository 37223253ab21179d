#!/usr/bin/env python3
"""Product lines of `src/`, per area (the top-level module) and in all: every line of a file but
its test items, wherever they stand. A test item is an item (a module block, a function, an impl,
a `use`, a statement, a field) gated by `#[cfg(test)]`, and a module gated by the `test-support`
feature (the test doubles, `testing` and `testkit`); the files of such a module (`mod tests;`,
with or without `#[path = "…"]`) are not counted at all. Tested by scripts/product_lines_test.py.

    scripts/product-lines.py            # the working tree
    scripts/product-lines.py REV        # a commit
    scripts/product-lines.py A B        # B's count minus A's (net lines B adds), per area
"""
import re
import subprocess
import sys

# Attributes as read without spaces: `cfg(test)`, `cfg(all(test,unix))`, `cfg(feature="test-support")`.
GATE_TEST = re.compile(r"^cfg\((test|all\(test,.*\)|any\(test,.*\))\)$")
GATE_SUPPORT = re.compile(r'^cfg\((?!not\().*"test-support".*\)$')
PATH = re.compile(r'^path="([^"]+)"$')
# Items that end at their `;` or their body's `}`; anything else (a field, an arm) also at a `,`.
ITEM = {"fn", "mod", "impl", "struct", "enum", "trait", "use", "const", "static", "type", "let",
        "macro_rules", "async", "unsafe", "extern", "pub"}


def tokens(text):
    """(kind, text, line) of `text`: `w` words, `s` strings and chars, `p` single punctuation;
    comments left out, lifetimes read as words."""
    out, i, line, n = [], 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    line += text[i] == "\n"
                    i += 1
        elif m := re.compile(r'b?r(#*)"').match(text, i):
            end = text.find('"' + m.group(1), m.end())
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append(("s", text[i:end], line))
            line += text.count("\n", i, end)
            i = end
        elif c == '"' or text.startswith('b"', i):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(("s", text[i:j + 1], line))
            line += text.count("\n", i, j + 1)
            i = j + 1
        elif m := re.compile(r"b?'(\\(x..|u\{[0-9a-fA-F]*\}|.)|[^\\'])'", re.S).match(text, i):
            out.append(("s", m.group(0), line))
            i = m.end()
        elif c.isalnum() or c in "_'":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(("w", text[i:j], line))
            i = j
        else:
            out.append(("p", c, line))
            i += 1
    return out


def attribute(toks, i):
    """The text inside the attribute starting at `toks[i]` (`#[…]` or `#![…]`) and the index after
    it, or None when `toks[i]` starts none."""
    j = i + 1 + (toks[i + 1][1] == "!" if i + 1 < len(toks) else 0)
    if toks[i][1] != "#" or j >= len(toks) or toks[j][1] != "[":
        return None
    depth, k = 0, j
    while k < len(toks):
        depth += {"[": 1, "(": 1, "{": 1, "]": -1, ")": -1, "}": -1}.get(toks[k][1], 0) \
            if toks[k][0] == "p" else 0
        if depth == 0:
            break
        k += 1
    text, prev = "", None
    for kind, t, _ in toks[j + 1:k]:
        text += (" " if kind == prev == "w" else "") + t
        prev = kind
    return text, k + 1


def item_end(toks, i):
    """The index of the last token of the item starting at `toks[i]` (after its attributes)."""
    ends_at_comma = toks[i][1] not in ITEM if i < len(toks) else False
    depth, k = 0, i
    while k < len(toks):
        kind, t, _ = toks[k]
        if kind == "p" and t in "([{":
            depth += 1
        elif kind == "p" and t in ")]}":
            depth -= 1
            if depth < 0:
                return k - 1
            if depth == 0 and t == "}":
                return k
        elif kind == "p" and depth == 0 and (t == ";" or (t == "," and ends_at_comma)):
            return k
        k += 1
    return len(toks) - 1


def scan(text):
    """The lines of `text` in test items (1-based), and the `(name, path attribute)` of each module
    a gate keeps out (`mod name;`)."""
    toks, skipped, gated, i = tokens(text), set(), [], 0
    while i < len(toks):
        found = attribute(toks, i)
        if not found:
            i += 1
            continue
        start, attrs, j = toks[i][2], [found[0]], found[1]
        while (more := attribute(toks, j)) and toks[j][1] == "#":
            attrs.append(more[0])
            j = more[1]
        if toks[i + 1][1] == "!":  # an inner attribute: the whole file
            if any(GATE_TEST.match(a) for a in attrs):
                return set(range(1, text.count("\n") + 2)), gated
            i = j
            continue
        words = [t[1] for t in toks[j:j + 7]]  # `pub(crate) mod x` puts `mod` fifth
        name = words[words.index("mod") + 1] if "mod" in words[:6] else None
        test = any(GATE_TEST.match(a) for a in attrs)
        support = name is not None and any(GATE_SUPPORT.match(a) for a in attrs)
        if not (test or support):
            i = j
            continue
        end = item_end(toks, j)
        skipped.update(range(start, toks[end][2] + 1))
        if name is not None and toks[end][1] == ";":
            path = next((PATH.match(a).group(1) for a in attrs if PATH.match(a)), None)
            gated.append((name, path))
        i = end + 1
    return skipped, gated


def files(rev):
    """`{path: text}` of the Rust files under `src/` at `rev` (None: the working tree)."""
    if rev is None:
        out = subprocess.run(["git", "ls-files", "src"], capture_output=True, text=True, check=True)
        names = [n for n in out.stdout.split() if n.endswith(".rs")]
        return {n: open(n, encoding="utf-8").read() for n in names}
    out = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "src"],
                         capture_output=True, text=True, check=True)
    names = [n for n in out.stdout.split() if n.endswith(".rs")]
    query = "".join(f"{rev}:{n}\n" for n in names).encode()
    raw = subprocess.run(["git", "cat-file", "--batch"], input=query, capture_output=True,
                         check=True).stdout
    tree, at = {}, 0
    for n in names:
        header_end = raw.index(b"\n", at)
        size = int(raw[at:header_end].split()[2])
        tree[n] = raw[header_end + 1:header_end + 1 + size].decode("utf-8")
        at = header_end + 1 + size + 1
    return tree


def module_dir(name):
    """The folder a file's `mod x;` declarations live in: `a/mod.rs` → `a`, `a/b.rs` → `a/b`."""
    return name.rsplit("/", 1)[0] if name.endswith(("/mod.rs", "/lib.rs", "/main.rs")) \
        else name[:-3]


def count(tree):
    """`{area: product lines}` of `tree`."""
    scans = {name: scan(text) for name, text in tree.items()}
    skip = []
    for name, (_, gated) in scans.items():
        for mod, path in gated:
            if path is None:
                skip.append(f"{module_dir(name)}/{mod}")
            else:
                skip.append(f"{name.rsplit('/', 1)[0]}/{path[:-3]}")
    areas = {}
    for name, text in tree.items():
        if any(name == p + ".rs" or name.startswith(p + "/") for p in skip):
            continue
        area = name.split("/")[1].removesuffix(".rs")
        lines = range(1, len(text.splitlines()) + 1)
        areas[area] = areas.get(area, 0) + len(lines) - len(scans[name][0].intersection(lines))
    return areas


def main(args):
    if len(args) == 2:
        before, after = count(files(args[0])), count(files(args[1]))
        deltas = {a: after.get(a, 0) - before.get(a, 0) for a in sorted(set(before) | set(after))}
        for area, d in sorted(deltas.items(), key=lambda kv: (-kv[1], kv[0])):
            if d:
                print(f"{area:<16}{d:+d}")
        print(f"{'total':<16}{sum(deltas.values()):+d}")
    elif len(args) <= 1:
        areas = count(files(args[0] if args else None))
        for area, n in sorted(areas.items()):
            print(f"{area:<16}{n}")
        print(f"{'total':<16}{sum(areas.values())}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
