#!/usr/bin/env python3
"""Product lines of `src/`: each file counted up to its first `#[cfg(test)]` line; files of
modules declared behind `#[cfg(test)]` or the `test-support` feature (test doubles) not counted.

    scripts/product-lines.py            # the working tree
    scripts/product-lines.py REV        # a commit
    scripts/product-lines.py A B        # B's count minus A's (net lines B adds)
"""
import re
import subprocess
import sys

GATE = re.compile(r'^\s*#\[cfg\((test|.*"test-support".*)\)\]\s*$')
MOD = re.compile(r'^\s*(pub(\([a-z]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;')
PATH = re.compile(r'^\s*#\[path\s*=\s*"([^"]+)"\]\s*$')


def files(rev):
    if rev is None:
        out = subprocess.run(["git", "ls-files", "src"], capture_output=True, text=True, check=True)
        names = [n for n in out.stdout.split() if n.endswith(".rs")]
        return {n: open(n, encoding="utf-8").read() for n in names}
    out = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "src"],
                         capture_output=True, text=True, check=True)
    names = [n for n in out.stdout.split() if n.endswith(".rs")]
    return {n: subprocess.run(["git", "show", f"{rev}:{n}"], capture_output=True, text=True,
                              check=True).stdout for n in names}


def gated(tree):
    """Path prefixes of modules declared behind a test or test-support gate (a `#[path = "…"]`
    between the gate and the `mod` names the file itself, relative to the declaring file's folder)."""
    out = []
    for name, text in tree.items():
        base = name.rsplit("/", 1)[0] if name.endswith(("/mod.rs", "/lib.rs", "/main.rs")) \
            else name[:-3]
        lines = text.splitlines()
        for i, line in enumerate(lines[1:], 1):
            m = MOD.match(line)
            if not m:
                continue
            if GATE.match(lines[i - 1]):
                out.append(f"{base}/{m.group(3)}")
            elif i >= 2 and PATH.match(lines[i - 1]) and GATE.match(lines[i - 2]):
                folder = name.rsplit("/", 1)[0]
                out.append(f"{folder}/{PATH.match(lines[i - 1]).group(1)[:-3]}")
    return out


def count(rev):
    tree = files(rev)
    skip = gated(tree)
    total = 0
    for name, text in tree.items():
        if any(name == p + ".rs" or name.startswith(p + "/") for p in skip):
            continue
        for line in text.splitlines():
            if line.strip() == "#[cfg(test)]":
                break
            total += 1
    return total


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 2:
        print(count(args[1]) - count(args[0]))
    else:
        print(count(args[0] if args else None))
