#!/usr/bin/env python3
"""check_layers.py — the link graph of the built static libraries, checked against two rules.

  --layers NAME=ARCHIVE ...   listed top to bottom: a library may use only symbols defined in
                              itself or in libraries listed after it (no upward use, no cycle
                              between libraries: lib/ modules below services, graphql-api's
                              gql_transport above gql_login above gql_app).
  --acyclic NAME=ARCHIVE ...  inside each of these libraries no two object files call each other,
                              directly or through others (lib/graphql's stages call one way).

Reads `nm` output only; prints every violation with the symbol that makes it and exits 1, or
prints one summary line and exits 0. Not for: include-level rules (headers are checked by the
compiler), symbols of system libraries (ignored: only symbols defined by a listed archive count).
"""
import subprocess
import sys


def members(archive):
    """{object: (defined symbols, undefined symbols)} of one static archive."""
    out = {}
    for undefined in (False, True):
        args = ["nm", "-A", "-u" if undefined else "--defined-only", archive]
        text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        for line in text.splitlines():
            # "lib.a:member.o:0000000000000100 T sym" or "lib.a:member.o:         U sym"
            fields = line.split()
            if len(fields) < 3 or not fields[0].startswith(archive + ":"):
                continue
            obj = fields[0][len(archive) + 1:].split(":")[0]
            kind, sym = fields[-2], fields[-1]
            d, u = out.setdefault(obj, (set(), set()))
            if undefined:
                u.add(sym)
            elif kind in "TDRBGSVW" and kind.isupper():
                d.add(sym)
    return out


def parse(pairs):
    libs = []
    for p in pairs:
        name, _, path = p.partition("=")
        if not path:
            sys.exit(f"check_layers: '{p}' is not NAME=ARCHIVE")
        libs.append((name, path))
    return libs


def check_layers(libs, bad):
    owner = {}
    tables = {}
    for name, path in libs:
        tables[name] = members(path)
        for obj, (d, _) in tables[name].items():
            for s in d:
                owner.setdefault(s, name)
    rank = {name: i for i, (name, _) in enumerate(libs)}
    for name, _ in libs:
        for obj, (_, u) in sorted(tables[name].items()):
            for s in sorted(u):
                o = owner.get(s)
                if o is not None and rank[o] < rank[name]:
                    bad.append(f"{name} ({obj}) uses {s} of {o}, which is above it")
    return len(libs)


def find_cycle(graph):
    """One cycle of the directed graph as a list of nodes, or None."""
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def check_acyclic(libs, bad):
    for name, path in libs:
        t = members(path)
        owner = {s: obj for obj, (d, _) in t.items() for s in d}
        graph = {}
        why = {}
        for obj, (_, u) in t.items():
            for s in u:
                o = owner.get(s)
                if o is not None and o != obj:
                    graph.setdefault(obj, set()).add(o)
                    why.setdefault((obj, o), s)
        c = find_cycle(graph)
        if c:
            steps = ", ".join(f"{a} → {b} ({why[(a, b)]})" for a, b in zip(c, c[1:]))
            bad.append(f"{name}: its files call each other in a cycle: {steps}")
    return len(libs)


def main(argv):
    layers, acyclic, cur = [], [], None
    for a in argv:
        if a == "--layers":
            cur = layers
        elif a == "--acyclic":
            cur = acyclic
        elif cur is None:
            sys.exit("usage: check_layers.py --layers NAME=ARCHIVE... --acyclic NAME=ARCHIVE...")
        else:
            cur.append(a)
    bad = []
    n = check_layers(parse(layers), bad)
    m = check_acyclic(parse(acyclic), bad)
    for b in bad:
        print("FAIL", b)
    if bad:
        return 1
    print(f"layers: {n} libraries in order, {m} without cycles between their files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
