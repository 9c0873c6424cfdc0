#!/usr/bin/env python3
"""Finds import cycles between the source files of every crate in the workspace.

A file imports another when it names an item of the other's module: a `use` path, or a path written
in the code (`crate::store::Store`, `super::frame::Frame`, `child::helper()`). Declaring a module
(`mod child;`) is not an import, so a parent that only declares and re-exports its children, and
children that never reach back into their parent, make no cycle. Paths through a re-export resolve
to the file that re-exports, which is what a reader has to open.

Usage: python3 .ci/module-cycles.py [--graph] [CRATE_DIR ...]
  (no CRATE_DIR: every workspace member of ./Cargo.toml)
Exit status 0 when no crate has a cycle; 1 with each cycle's files and the lines that make it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TOKEN = re.compile(
    r"""(?P<comment>//[^\n]*|/\*.*?\*/)
      | (?P<string>b?r(?P<hashes>\#*)".*?"(?P=hashes)|b?"(?:\\.|[^"\\])*")
      | (?P<char>b?'(?:\\.|[^'\\])'(?!'))
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<path>::)
      | (?P<punct>[{}();,*])
      | (?P<newline>\n)
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


def tokens(text: str):
    """Yields (kind, value, line) with comments and literals dropped."""
    line = 1
    for m in TOKEN.finditer(text):
        kind = m.lastgroup if m.lastgroup != "hashes" else "string"
        value = m.group(0)
        if kind == "newline":
            line += 1
            continue
        if kind in ("comment", "string", "char"):
            line += value.count("\n")
            continue
        if kind == "other":
            if value.strip():
                yield ("punct", value, line)
            continue
        yield (kind, value, line)


class Crate:
    """The module tree of one crate target (a lib.rs or a main.rs and the files under it)."""

    def __init__(self, root: Path):
        self.root = root
        # module path (tuple) -> file that holds it (inline modules map to their file)
        self.modules: dict[tuple[str, ...], Path] = {}
        self.file_module: dict[Path, tuple[str, ...]] = {}
        # module path -> {name it re-exports -> absolute path of the item, or EXTERNAL}
        self.reexports: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        self.load(root, ())

    def load(self, file: Path, path: tuple[str, ...]):
        self.modules[path] = file
        self.file_module[file] = path
        text = file.read_text()
        # Directory holding this module's children.
        if file.name in ("lib.rs", "main.rs", "mod.rs") or path == ():
            child_dir = file.parent
        else:
            child_dir = file.parent / file.stem
        # `#[path = "file.rs"] mod name;`, relative to this file's directory.
        path_attrs = {
            name: file.parent / target
            for target, name in re.findall(
                r'#\[path\s*=\s*"([^"]+)"\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;',
                text,
            )
        }
        toks = list(tokens(text))
        depth = 0
        inline: list[tuple[str, int]] = []  # (name, depth at which its body opened)
        i = 0
        while i < len(toks):
            kind, value, _ = toks[i]
            if value == "{":
                depth += 1
            elif value == "}":
                depth -= 1
                if inline and inline[-1][1] == depth + 1:
                    inline.pop()
            elif kind == "ident" and value == "mod" and i + 2 < len(toks):
                name = toks[i + 1][1]
                after = toks[i + 2][1]
                here = path + tuple(n for n, _ in inline)
                if after == ";" and not inline:
                    # A file module: child_dir/name.rs or child_dir/name/mod.rs
                    candidates = [child_dir / f"{name}.rs", child_dir / name / "mod.rs"]
                    if name in path_attrs:
                        candidates = [path_attrs[name]]
                    for candidate in candidates:
                        if candidate.exists():
                            self.load(candidate, here + (name,))
                            break
                    else:
                        raise SystemExit(f"{file}: module {name} declared but not found")
                elif after == "{":
                    self.modules[here + (name,)] = file
                    depth += 1
                    inline.append((name, depth))
                    i += 3
                    continue
            i += 1

    def resolve(self, segments: list[str], hops: int = 0) -> Path | None:
        """The file that defines what an absolute path (from the crate root) names.

        The deepest module on the path, unless the next segment is a name that module
        re-exports (`pub use`): then the re-exported path is followed instead.
        """
        n = 0
        while n < len(segments) and tuple(segments[: n + 1]) in self.modules:
            n += 1
        module = tuple(segments[:n])
        if n < len(segments) and hops < 16:
            target = self.reexports.get(module, {}).get(segments[n])
            if target is not None:
                if target == EXTERNAL:
                    return None
                return self.resolve(list(target) + segments[n + 1 :], hops + 1)
        return self.modules.get(module)


# A re-export of another crate's item: no file of this crate.
EXTERNAL = ("<external>",)


def use_paths(toks, start):
    """Expands the use tree after `use` at toks[start].

    Returns ([(segments, name it is known by here)], index after the tree).
    """
    paths: list[tuple[list[str], str | None]] = []

    def tree(i, prefix):
        current = list(prefix)
        while i < len(toks):
            kind, value, _ = toks[i]
            if kind == "ident" and value == "as":
                alias = toks[i + 1][1]
                paths.append((current, alias))
                current = list(prefix)
                i += 2
                continue
            if kind == "ident":
                current.append(value)
                i += 1
            elif value == "::":
                i += 1
            elif value == "*":
                paths.append((current, None))
                return i + 1
            elif value == "{":
                i += 1
                while toks[i][1] != "}":
                    i = tree(i, current)
                    if toks[i][1] == ",":
                        i += 1
                return i + 1
            else:  # , } ;
                if len(current) > len(prefix):
                    paths.append((current, current[-1]))
                return i
        return i

    i = tree(start, [])
    return paths, i


def scan(crate: Crate, file: Path):
    """Yields ("use", here, segments, alias, public, line) and ("path", here, segments, line)."""
    toks = list(tokens(file.read_text()))
    depth = 0
    inline: list[tuple[str, int]] = []
    i = 0
    while i < len(toks):
        kind, value, line = toks[i]
        here = crate.file_module[file] + tuple(n for n, _ in inline)
        if value == "{":
            depth += 1
        elif value == "}":
            depth -= 1
            if inline and inline[-1][1] == depth + 1:
                inline.pop()
        if kind == "ident" and value == "mod" and i + 2 < len(toks) and toks[i + 2][1] == "{":
            depth += 1
            inline.append((toks[i + 1][1], depth))
            i += 3
            continue
        if kind == "ident" and value == "use":
            # `pub use` / `pub(crate) use`: look back past a visibility group.
            j = i - 1
            if j >= 0 and toks[j][1] == ")":
                while j >= 0 and toks[j][1] != "(":
                    j -= 1
                j -= 1
            public = j >= 0 and toks[j][1] == "pub"
            paths, i = use_paths(toks, i + 1)
            for segments, alias in paths:
                yield ("use", here, segments, alias, public, line)
            continue
        prev = toks[i - 1][1] if i else ""
        if kind == "ident" and prev != "::" and i + 1 < len(toks) and toks[i + 1][1] == "::":
            segments = [value]
            j = i + 1
            while j + 1 < len(toks) and toks[j][1] == "::" and toks[j + 1][0] == "ident":
                segments.append(toks[j + 1][1])
                j += 2
            yield ("path", here, segments, line)
            i = j
            continue
        i += 1


def edges_of(crate: Crate):
    """(from file, to file, line) for every import between two files of the crate."""
    events = {file: list(scan(crate, file)) for file in crate.file_module}
    crate.reexports = {}
    for file, items in events.items():
        for event in items:
            if event[0] == "use" and event[4] and event[3] is not None:
                _, here, segments, alias, _, _ = event
                target = normalize(crate, here, segments)
                crate.reexports.setdefault(here, {})[alias] = target or EXTERNAL
    found = []
    for file, items in events.items():
        for event in items:
            here, segments, line = event[1], event[2], event[-1]
            absolute_ = normalize(crate, here, segments)
            if absolute_ is None:
                continue
            target = crate.resolve(list(absolute_)) if absolute_ else None
            if target is not None and target != file:
                found.append((file, target, line))
    return found


def normalize(crate: Crate, here: tuple[str, ...], segments: list[str]) -> tuple[str, ...] | None:
    """A path written in module `here` as a path from the crate root; None outside the crate."""
    if not segments:
        return None
    head = segments[0]
    if head == "crate":
        return tuple(segments[1:])
    if head in ("self", "super"):
        base = list(here)
        rest = list(segments)
        while rest and rest[0] in ("self", "super"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
        return tuple(base + rest)
    # A relative path to a child module of `here`.
    if tuple(here) + (head,) in crate.modules:
        return tuple(here) + tuple(segments)
    return None


def cycles(nodes, edges):
    """Strongly connected components of more than one file (Tarjan)."""
    graph = {n: set() for n in nodes}
    for a, b, _ in edges:
        graph[a].add(b)
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for n in nodes:
        if n not in index:
            visit(n)
    return out


def members(workspace: Path):
    text = (workspace / "Cargo.toml").read_text()
    m = re.search(r"members\s*=\s*\[(.*?)\]", text, re.DOTALL)
    return [workspace / s for s in re.findall(r'"([^"]+)"', m.group(1))]


def main(argv):
    show_graph = "--graph" in argv
    dirs = [Path(a) for a in argv if not a.startswith("--")] or members(Path("."))
    failed = False
    for crate_dir in dirs:
        roots = [crate_dir / "src" / "lib.rs", crate_dir / "src" / "main.rs"]
        roots += sorted((crate_dir / "src" / "bin").glob("*.rs")) if (crate_dir / "src" / "bin").exists() else []
        roots += [crate_dir / "tests" / "tests.rs"]
        for root in roots:
            if not root.exists():
                continue
            crate = Crate(root)
            edges = edges_of(crate)
            if show_graph:
                for a, b in sorted({(a, b) for a, b, _ in edges}):
                    print(f"{a} -> {b}")
            for component in cycles(list(crate.file_module), edges):
                failed = True
                members_ = set(component)
                print(f"import cycle in {root}: {len(component)} files")
                for a, b, line in sorted(set(edges)):
                    if a in members_ and b in members_:
                        print(f"  {a}:{line} -> {b}")
    if failed:
        print("module-cycles: a file imports another that imports it back (directly or through others)")
        return 1
    print(f"module-cycles: no import cycles in {', '.join(str(d) for d in dirs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
