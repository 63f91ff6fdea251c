#!/usr/bin/env python3
"""check_layers.py — the link graph of the built static libraries, checked against two rules.

  --layers NAME=ARCHIVE ...   listed top to bottom: a library may use only symbols defined in
                              itself or in libraries listed after it (no upward use, no cycle
                              between libraries: lib/ modules below services, graphql-api's
                              gql_transport above gql_login above gql_app).
  --acyclic NAME=ARCHIVE ...  inside each of these libraries no two object files call each other,
                              directly or through others (lib/graphql's stages call one way).
  --unused BUILD_DIR SRC_DIR  every function the --layers libraries export is called by some
                              object: another object of the build (services, tools, tests, bench),
                              or its own file, or a fuzz driver under SRC_DIR/tests/fuzz (the last
                              two read as text without comments: the compiler inlines calls within
                              a file, and the fuzz drivers are built apart, by clang). A function
                              nothing calls is dead code that still has to be read and kept right.

Reads `nm` output (and, for --unused, C sources as text); prints every violation with the symbol that makes it and exits 1, or
prints one summary line and exits 0. Not for: include-level rules (headers are checked by the
compiler), symbols of system libraries (ignored: only symbols defined by a listed archive count).
"""
import os
import re
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


def code_words(path):
    """The identifiers of a C file outside its comments and strings, with their counts."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    text = re.sub(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"", " ", text, flags=re.S)
    words = {}
    for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
        words[w] = words.get(w, 0) + 1
    return words


def check_unused(libs, dirs, bad):
    build, src = dirs
    called = set()
    for root, subdirs, files in os.walk(build):
        subdirs[:] = [d for d in subdirs if d != "_deps"]
        objs = [os.path.join(root, f) for f in files if f.endswith(".o")]
        if objs:
            text = subprocess.run(["nm", "-u"] + objs, check=True, capture_output=True,
                                  text=True).stdout
            called.update(line.split()[-1] for line in text.splitlines() if line.split())
    sources = {}  # "name.c.o" -> path of name.c (library file names are unique in the tree)
    fuzz = set()
    for top in ("lib", "services", "tools", os.path.join("tests", "fuzz")):
        for root, _, files in os.walk(os.path.join(src, top)):
            for f in files:
                if not f.endswith(".c"):
                    continue
                if top.endswith("fuzz"):
                    fuzz.update(code_words(os.path.join(root, f)))
                else:
                    sources.setdefault(f + ".o", os.path.join(root, f))
    count = 0
    for name, path in libs:
        for obj, (defined, _) in sorted(members(path).items()):
            funcs = text_symbols(path, obj) & defined
            count += len(funcs)
            own = None
            for s in sorted(funcs):
                if s in called or s in fuzz:
                    continue
                if own is None:
                    own = code_words(sources[obj]) if obj in sources else {}
                if own.get(s, 0) < 2:  # its definition only
                    bad.append(f"{name} ({obj}) exports {s}, which nothing calls")
    return count


_text = {}


def text_symbols(archive, obj):
    """The functions (T) an archive member defines."""
    if archive not in _text:
        out = subprocess.run(["nm", "-A", "--defined-only", archive], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 3 and f[-2] == "T":
                member = f[0][len(archive) + 1:].split(":")[0]
                _text.setdefault((archive, member), set()).add(f[-1])
        _text[archive] = True
    return _text.get((archive, obj), set())


def main(argv):
    layers, acyclic, unused, cur = [], [], [], None
    for a in argv:
        if a == "--layers":
            cur = layers
        elif a == "--acyclic":
            cur = acyclic
        elif a == "--unused":
            cur = unused
        elif cur is None:
            sys.exit("usage: check_layers.py --layers NAME=ARCHIVE... --acyclic NAME=ARCHIVE... "
                     "[--unused BUILD_DIR SRC_DIR]")
        else:
            cur.append(a)
    if unused and len(unused) != 2:
        sys.exit("check_layers.py: --unused takes BUILD_DIR SRC_DIR")
    bad = []
    n = check_layers(parse(layers), bad)
    m = check_acyclic(parse(acyclic), bad)
    k = check_unused(parse(layers), unused, bad) if unused else 0
    for b in bad:
        print("FAIL", b)
    if bad:
        return 1
    print(f"layers: {n} libraries in order, {m} without cycles between their files"
          + (f", all {k} exported functions called" if unused else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
