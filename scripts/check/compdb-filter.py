#!/usr/bin/env python3
"""Writes a compile_commands.json holding only the src/ and tools/ translation units of a
build's compilation database, one entry per source file, for cppcheck and clang-tidy.

The crypto sources are compiled a second time for the constant-time test (tests/crypto) with
ANT_CT_TESTING; that copy is dropped so each file is analysed as the library builds it.
Usage: compdb-filter.py SOURCE_ROOT BUILD_DIR OUT_DIR. Prints the kept file paths, one a line.
"""
import json
import os
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    root, build, out = (os.path.realpath(a) for a in sys.argv[1:])
    src = os.path.join(build, "compile_commands.json")
    try:
        with open(src, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        print(f"compdb-filter: {src}: {e}", file=sys.stderr)
        return 2
    kept, seen = [], set()
    for e in entries:
        path = os.path.realpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(path, root)
        if rel.split(os.sep)[0] not in ("src", "tools"):
            continue
        if os.path.relpath(os.path.realpath(e["directory"]), build).split(os.sep)[0] == "tests":
            continue
        if path in seen:
            continue
        seen.add(path)
        kept.append(dict(e, file=path))
    if not kept:
        print(f"compdb-filter: no src/ or tools/ entries in {src}", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "compile_commands.json"), "w", encoding="utf-8") as f:
        json.dump(kept, f, indent=1)
    for e in kept:
        print(e["file"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
