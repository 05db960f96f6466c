#!/usr/bin/env python3
"""Fails if any tracked file refers to a path above the repository root.

A user, a packager or a reviewer gets this repository and nothing else, so no test, script,
CMake file or document may read or link a file beside it (such as a reference directory
next to the checkout).
Two kinds of reference are caught:
  - a relative path (`../x`, `../../x`) that, resolved from the directory of the file naming
    it, leaves the repository;
  - a path that starts at the root (PROJECT_SOURCE_DIR, CMAKE_SOURCE_DIR, ANT_SOURCE_DIR, CMake
    presets' sourceDir, git's show-toplevel) and then goes up past it.
A path written from some other directory (a build dir, say) cannot be told apart, so docs
write such commands from the root or through a variable. The files checked are those git tracks (or, outside a git checkout, every file under the root
except build output and node_modules). Usage: self-contained.py [ROOT]; exit 0 clean, 1 found.
"""
import os
import re
import subprocess
import sys

# An optional base (a variable naming the root, or the file's own directory), a run of ../
# components, and the rest of the path. The rest is kept so that `../x` read from the root
# counts as leaving it. A bare `..` counts only where it ends a path (before a quote, bracket,
# space or the end of the line), so prose ellipses do not match.
PATH_UP = re.compile(
    r"(?P<base>\$\{?(?:PROJECT_SOURCE_DIR|CMAKE_SOURCE_DIR|ANT_SOURCE_DIR|sourceDir)\}?/"
    r"|\$\{?CMAKE_CURRENT_SOURCE_DIR\}?/"
    r"|git rev-parse --show-toplevel\)\"?/)?"
    r"(?<![A-Za-z0-9_.}])(?P<ups>(?:\.\./)+|\.\.(?=[\s\"'`)\]]|$))(?P<tail>[A-Za-z0-9_.\-/]*)"
)
# The team's reference directory beside our checkouts is named outright, wherever the file
# naming it sits: a script that first changes to some directory could still reach it.
SHARED = re.compile(r"\.\./shared\b")
SKIP_DIRS = {".git", "build", "node_modules"}


def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                             capture_output=True).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
            files += [os.path.relpath(os.path.join(d, n), root) for n in names]
        return files


def escapes(rel_file, match):
    """True if the matched path, read from where its base says, leaves the root."""
    base = match.group("base") or ""
    start = "" if base and "CURRENT" not in base else os.path.dirname(rel_file)
    ups = match.group("ups")
    if not ups.endswith("/"):
        ups += "/"
    target = os.path.normpath(os.path.join(start, ups + match.group("tail")))
    return target == ".." or target.startswith("../")


def check(root):
    findings = []
    for rel in tracked_files(root):
        path = os.path.join(root, rel)
        try:
            with open(path, "rb") as f:
                data = f.read(4 << 20)
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue  # binary
        text = data.decode("utf-8", "replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            if SHARED.search(line) or any(escapes(rel, m) for m in PATH_UP.finditer(line)):
                findings.append(f"{rel}:{lineno}: {line.strip()[:160]}")
    return findings


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    findings = check(root)
    for f in findings:
        print(f)
    if findings:
        print(f"self-contained: {len(findings)} reference(s) to paths above {root}",
              file=sys.stderr)
        return 1
    print(f"self-contained: no tracked file under {root} refers above it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
