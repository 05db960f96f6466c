#!/usr/bin/env python3
"""Fails if the object files of one module call each other in a circle.

ARCHITECTURE.md §1: dependencies point down, between modules and between the files of a
module. The module map is checked by hand against `nm`; this check does the file level
for every module of a build: for each object library `<build>/src/<m>/CMakeFiles/ant_<m>.dir`
(the `_faults` copy of the upgrade engine is the same sources and is skipped), an edge
a -> b is any symbol a.o references that b.o defines, and any strongly connected set of
more than one file is a circle. Each circle is printed with the symbols on its edges.

Usage: file-cycles.py BUILD_DIR             every module of a CMake build
       file-cycles.py --objects DIR...      each DIR (searched recursively for *.o) as one
                                            module (the self-test uses this)
Exit: 0 no circle, 1 a circle found, 2 usage error or nothing to check.
"""
import glob
import os
import subprocess
import sys


def symbols(obj):
    """(defined, undefined) global symbol names of one object file."""
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRCVW":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def circles(objs):
    """The strongly connected sets of more than one file, with the edge symbols."""
    defs, undefs = {}, {}
    for o in objs:
        name = os.path.basename(o)[: -len(".o")]
        name = name[: -len(".c")] if name.endswith(".c") else name
        defs[name], undefs[name] = symbols(o)
    graph = {a: {b for b in defs if b != a and undefs[a] & defs[b]} for a in defs}
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    result = []
    for comp in found:
        edges = [(a, b, sorted(undefs[a] & defs[b])) for a in comp for b in comp
                 if b in graph[a]]
        result.append((comp, edges))
    return result


def main(argv):
    if len(argv) >= 2 and argv[0] == "--objects":
        modules = {d: sorted(glob.glob(os.path.join(d, "**", "*.o"), recursive=True))
                   for d in argv[1:]}
    elif len(argv) == 1:
        dirs = glob.glob(os.path.join(argv[0], "src", "*", "CMakeFiles", "ant_*.dir"))
        modules = {os.path.basename(d)[: -len(".dir")]:
                   sorted(glob.glob(os.path.join(d, "**", "*.o"), recursive=True))
                   for d in dirs if not d.endswith("_faults.dir")}
    else:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: file-cycles.py BUILD_DIR | --objects DIR...", file=sys.stderr)
        return 2
    modules = {m: objs for m, objs in modules.items() if objs}
    if not modules:
        print("file-cycles: no object files found", file=sys.stderr)
        return 2
    bad = 0
    for module in sorted(modules):
        for comp, edges in circles(modules[module]):
            bad += 1
            print(f"file-cycles: {module}: {' '.join(comp)} call each other in a circle")
            for a, b, syms in edges:
                print(f"  {a} -> {b}: {' '.join(syms)}")
    if bad == 0:
        print(f"file-cycles: clean ({len(modules)} modules, "
              f"{sum(len(o) for o in modules.values())} objects)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
