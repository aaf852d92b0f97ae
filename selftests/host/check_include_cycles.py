#!/usr/bin/python3
"""iommuctl's layout: no two modules (a .c and its .h) depend on each other,
directly or around a circle, through their #include "x.h" lines.  Prints
the cycles it finds; exits 1 if there is one."""

import glob
import os
import re
import sys

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "iommuctl")


def graph():
    deps = {}
    for path in glob.glob(os.path.join(SRC, "*.[ch]")):
        mod = os.path.basename(path)[:-2]
        with open(path) as f:
            for inc in re.findall(r'^#include "(\w+)\.h"', f.read(), re.M):
                if inc != mod and os.path.exists(os.path.join(SRC, inc + ".h")):
                    deps.setdefault(mod, set()).add(inc)
    return deps


def cycles(deps):
    found, state = [], {}

    def visit(mod, path):
        state[mod] = "open"
        for dep in sorted(deps.get(mod, ())):
            if state.get(dep) == "open":
                found.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[mod] = "done"

    for mod in sorted(deps):
        if mod not in state:
            visit(mod, [mod])
    return found


if __name__ == "__main__":
    deps = graph()
    bad = cycles(deps)
    for c in bad:
        print(" -> ".join(c))
    if len(deps) < 20:
        print(f"only {len(deps)} modules found in {SRC}")
        sys.exit(1)
    sys.exit(1 if bad else 0)
