#!/usr/bin/env python3
"""Every source file of the workspace's crates is named in docs/architecture.md.

A file counts as named when the section of docs/architecture.md about its crate
mentions it: by its path under src/ (`store/topic_log.rs`), by its file name
(`topic_log.rs`), by a pattern (`kafka/<api>.rs`, `interval*.rs`), or, for a file
in a folder, by its folder (`group/`), which the section then describes as a whole.
Test modules (`tests.rs`, `*_tests.rs`, `test_support.rs`) need not be named.
Usage: python3 .ci/docs-files.py [ROOT]; exits 1 listing the files not named.
"""
import fnmatch
import pathlib
import re
import sys

# Each crate's source folder and the headings of docs/architecture.md whose sections describe it.
CRATES = {
    "protocol": ["Crates"],
    "producer": ["The producer", "A record through the producer"],
    "mock-broker": ["The mock broker", "A Kafka produce request through the broker"],
    "loadgen": ["loadgen"],
}
TEST_MODULES = re.compile(r"(^|/)(tests|test_support|[a-z_]+_tests)\.rs$")


def sections(text):
    """The text under each heading, by heading."""
    out, heading, lines = {}, None, []
    for line in text.splitlines():
        m = re.match(r"#{2,3} (.+)", line)
        if m:
            if heading:
                out[heading] = "\n".join(lines)
            heading, lines = m.group(1).strip(), []
        else:
            lines.append(line)
    if heading:
        out[heading] = "\n".join(lines)
    return out


def names_in(text):
    """Every backticked token, and every path-like word, that ends in `.rs` or `/`."""
    tokens = set(re.findall(r"`([^`\s]+)`", text))
    tokens |= set(re.findall(r"[\w<>*/.-]+\.rs\b", text))
    return {t for t in tokens if t.endswith(".rs") or t.endswith("/")}


def is_named(rel, names):
    path = pathlib.PurePosixPath(rel)
    if path.parent != pathlib.PurePosixPath(".") and (
        f"{path.parent}/" in names or any(n.endswith(f"/{path.parent}/") for n in names)
    ):
        return True
    for name in names:
        pattern = re.sub(r"<[^>]+>", "*", name)
        if "/" in pattern.rstrip("/") or pattern.endswith("/"):
            if (
                fnmatch.fnmatchcase(rel, pattern)
                or rel.endswith("/" + pattern)
                or pattern.endswith("/" + rel)
            ):
                return True
        elif fnmatch.fnmatchcase(path.name, pattern):
            return True
    return False


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    doc = root / "docs" / "architecture.md"
    by_heading = sections(doc.read_text())
    missing = []
    for crate, headings in CRATES.items():
        absent = [h for h in headings if h not in by_heading]
        if absent:
            print(f"docs-files: {doc} has no section {absent} for crate {crate}", file=sys.stderr)
            return 1
        names = set().union(*(names_in(by_heading[h]) for h in headings))
        src = root / crate / "src"
        for file in sorted(src.rglob("*.rs")):
            rel = file.relative_to(src).as_posix()
            if TEST_MODULES.search(rel) or is_named(rel, names):
                continue
            missing.append(f"{crate}/src/{rel}")
    if missing:
        print(f"docs-files: source files not named in {doc} (in their crate's section):", file=sys.stderr)
        for path in missing:
            print(f"  {path}", file=sys.stderr)
        return 1
    print(f"docs-files: every source file is named in {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
